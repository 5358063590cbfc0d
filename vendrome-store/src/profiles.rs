//! [`ProfileRepo`] on both databases: a member's profile (their `users` row joined with the
//! `business_profiles` row made on demand, skills and wants), its changes, and the directory.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::{ConnectionStatus, LookingFor, VerificationLevel};
use vendrome_core::events::{DomainEvent, FieldsChanged};
use vendrome_core::graph::UserSummary;
use vendrome_core::ids::UserId;
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::profiles::{
    levels_from, DirectoryEntry, DirectoryFilter, DirectorySort, Profile, ProfileCard,
    ProfileChanges, ProfileRepo, Relation,
};
use vendrome_core::time::Timestamp;
use vendrome_core::{time, Error, Result};

use crate::db::Dialect;
use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

/// The member and business columns both reads take.
const CARD_COLUMNS: &str = "u.id, u.display_name, u.handle, u.avatar_url, u.verification_level, \
    u.headline, u.created_at, bp.company_name, bp.job_title, bp.industry, bp.country_code, bp.city, \
    COALESCE(bp.connection_count, 0) AS connections";

#[derive(sqlx::FromRow)]
struct CardRow {
    id: Uuid,
    display_name: String,
    handle: Option<String>,
    avatar_url: Option<String>,
    verification_level: DbEnum<VerificationLevel>,
    headline: Option<String>,
    created_at: Timestamp,
    company_name: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    country_code: Option<String>,
    city: Option<String>,
    connections: i64,
}

impl From<CardRow> for ProfileCard {
    fn from(row: CardRow) -> Self {
        ProfileCard {
            user: UserSummary {
                id: UserId::from_uuid(row.id),
                display_name: row.display_name,
                handle: row.handle,
                avatar_url: row.avatar_url,
                verification_level: row.verification_level.0,
            },
            headline: row.headline,
            company: row.company_name,
            job_title: row.job_title,
            industry: row.industry,
            country_code: row.country_code,
            city: row.city,
            connections: row.connections,
            joined_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    #[sqlx(flatten)]
    card: CardRow,
    website_url: Option<String>,
    about: Option<String>,
    cover_url: Option<String>,
    followers: i64,
    following: i64,
}

#[derive(sqlx::FromRow)]
struct DirectoryRow {
    #[sqlx(flatten)]
    card: CardRow,
    relation_status: Option<DbEnum<ConnectionStatus>>,
    relation_requester: Option<Uuid>,
}

#[async_trait]
impl ProfileRepo for Store {
    async fn profile(&self, user: UserId) -> Result<Option<Profile>> {
        let sql = format!(
            "SELECT {CARD_COLUMNS}, bp.website_url, bp.about, bp.cover_url, \
             COALESCE(bp.follower_count, 0) AS followers, COALESCE(bp.following_count, 0) AS following \
             FROM users u LEFT JOIN business_profiles bp ON bp.user_id = u.id \
             WHERE u.id = $1 AND u.disabled_at IS NULL"
        );
        let found: Option<(ProfileRow, Vec<String>, Vec<DbEnum<LookingFor>>)> = with_db!(&self.db, pool => {
            let Some(row) = sqlx::query_as::<_, ProfileRow>(&sql)
                .bind(user.as_uuid())
                .fetch_optional(pool)
                .await?
            else {
                return Ok(None);
            };
            let skills: Vec<String> = sqlx::query_scalar(
                "SELECT skill FROM business_profile_skills WHERE user_id = $1 ORDER BY skill",
            )
            .bind(user.as_uuid())
            .fetch_all(pool)
            .await?;
            let wants: Vec<DbEnum<LookingFor>> = sqlx::query_scalar(
                "SELECT looking_for FROM business_profile_looking_for WHERE user_id = $1 ORDER BY looking_for",
            )
            .bind(user.as_uuid())
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>(Some((row, skills, wants)))
        })
        .or_unexpected()?;
        Ok(found.map(|(row, skills, wants)| {
            let mut looking_for: Vec<LookingFor> = wants.into_iter().map(|w| w.0).collect();
            looking_for.sort();
            Profile {
                card: row.card.into(),
                website_url: row.website_url,
                about: row.about,
                cover_url: row.cover_url,
                skills,
                looking_for,
                followers: row.followers,
                following: row.following,
            }
        }))
    }

    async fn user_by_handle(&self, handle: &str) -> Result<Option<UserId>> {
        let id: Option<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT id FROM users WHERE handle = $1")
                .bind(handle)
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(id.map(UserId::from_uuid))
    }

    #[tracing::instrument(skip(self, changes))]
    async fn update_profile(&self, user: UserId, changes: &ProfileChanges) -> Result<()> {
        let now = time::now();
        let event = NewEvent::new(DomainEvent::ProfileUpdated(FieldsChanged {
            user_id: user,
            fields: changes.fields().into_iter().map(str::to_owned).collect(),
        }));
        // Each text column: set to the new value when the change names it, else kept.
        let columns: [(&str, &Option<Option<String>>); 8] = [
            ("company_name", &changes.company),
            ("job_title", &changes.job_title),
            ("industry", &changes.industry),
            ("country_code", &changes.country_code),
            ("city", &changes.city),
            ("website_url", &changes.website_url),
            ("about", &changes.about),
            ("cover_url", &changes.cover_url),
        ];
        let mut update = SqlText::new(self.dialect(), "UPDATE business_profiles SET updated_at = ");
        update.bind(Arg::At(now));
        let mut nulls = Vec::new();
        for (column, change) in columns {
            match change {
                Some(Some(value)) => {
                    update
                        .push(&format!(", {column} = "))
                        .bind(Arg::Text(value.clone()));
                }
                Some(None) => nulls.push(column),
                None => {}
            }
        }
        for column in nulls {
            update.push(&format!(", {column} = NULL"));
        }
        update.push(" WHERE user_id = ").uuid(user.as_uuid());
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // Writes first, so a SQLite transaction never has to upgrade from reading to writing
            // (which fails when another writer committed in between). The row exists afterwards
            // exactly when the member does.
            sqlx::query(
                "INSERT INTO business_profiles (user_id, created_at, updated_at) \
                 SELECT id, $2, $2 FROM users WHERE id = $1 \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let updated = bind_args!(sqlx::query(&update.text), update)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(skills) = &changes.skills {
                sqlx::query("DELETE FROM business_profile_skills WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                for skill in skills {
                    sqlx::query("INSERT INTO business_profile_skills (user_id, skill) VALUES ($1, $2)")
                        .bind(user.as_uuid())
                        .bind(skill.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if let Some(wants) = &changes.looking_for {
                sqlx::query("DELETE FROM business_profile_looking_for WHERE user_id = $1")
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                for want in wants {
                    sqlx::query("INSERT INTO business_profile_looking_for (user_id, looking_for) VALUES ($1, $2)")
                        .bind(user.as_uuid())
                        .bind(DbEnum(*want))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()?
        .then_some(())
        .ok_or(Error::not_found("user"))
    }

    #[tracing::instrument(skip(self, after))]
    async fn directory(
        &self,
        filter: &DirectoryFilter,
        viewer: Option<UserId>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<DirectoryEntry>> {
        let viewer_id = viewer.map_or(Uuid::nil(), |v| v.as_uuid());
        let dialect = self.dialect();
        // The open connection (pending or accepted) between the viewer and the member, if any:
        // one probe of the index that keeps at most one open connection per pair.
        // Written as each database's partial index states its condition (literals, not
        // parameters, so that the planner can match it).
        use vendrome_core::SqlEnum as _;
        let (pending, accepted) = (
            ConnectionStatus::Pending.as_str(),
            ConnectionStatus::Accepted.as_str(),
        );
        let (least, greatest, open) = match dialect {
            Dialect::Postgres => (
                "least",
                "greatest",
                format!("c.status IN ('{pending}', '{accepted}')"),
            ),
            Dialect::Sqlite => (
                "min",
                "max",
                format!("(c.status = '{pending}' OR c.status = '{accepted}')"),
            ),
        };
        let mut sql = SqlText::new(
            dialect,
            &format!(
                "SELECT {CARD_COLUMNS}, c.status AS relation_status, c.requester_id AS relation_requester \
                 FROM users u LEFT JOIN business_profiles bp ON bp.user_id = u.id \
                 LEFT JOIN connections c ON {open} \
                 AND {least}(c.requester_id, c.addressee_id) = {least}("
            ),
        );
        sql.uuid(viewer_id)
            .push(&format!(
                ", u.id) AND {greatest}(c.requester_id, c.addressee_id) = {greatest}("
            ))
            .uuid(viewer_id)
            .push(", u.id) WHERE u.disabled_at IS NULL");
        if let Some(industry) = &filter.industry {
            sql.push(" AND bp.industry = ")
                .bind(Arg::Text(industry.clone()));
        }
        if let Some(country) = &filter.country_code {
            sql.push(" AND bp.country_code = ")
                .bind(Arg::Text(country.clone()));
        }
        if let Some(city) = &filter.city {
            sql.push(" AND lower(bp.city) = ")
                .bind(Arg::Text(city.to_lowercase()));
        }
        if let Some(skill) = &filter.skill {
            sql.push(" AND EXISTS (SELECT 1 FROM business_profile_skills s WHERE s.user_id = u.id AND s.skill = ")
                .bind(Arg::Text(skill.as_str().to_owned()))
                .push(")");
        }
        if let Some(want) = filter.looking_for {
            sql.push(" AND EXISTS (SELECT 1 FROM business_profile_looking_for l WHERE l.user_id = u.id AND l.looking_for = ")
                .enum_value(want)
                .push(")");
        }
        if let Some(only) = &filter.only {
            sql.push(" AND u.id IN (");
            for (i, id) in only.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.uuid(id.as_uuid());
            }
            if only.is_empty() {
                sql.push("NULL");
            }
            sql.push(")");
        }
        if let Some(min) = filter.min_verification {
            sql.push(" AND u.verification_level IN (");
            for (i, level) in levels_from(min).into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.enum_value(level);
            }
            sql.push(")");
        }
        match filter.sort {
            DirectorySort::Newest => {
                if let Some(cursor) = after {
                    let (at, id): (Timestamp, Uuid) = cursor.decode()?;
                    sql.push(" AND (u.created_at, u.id) < (")
                        .bind(Arg::At(at))
                        .push(", ")
                        .uuid(id)
                        .push(")");
                }
                sql.push(" ORDER BY u.created_at DESC, u.id DESC");
            }
            DirectorySort::MostConnected => {
                if let Some(cursor) = after {
                    let (count, id): (i64, Uuid) = cursor.decode()?;
                    sql.push(" AND (COALESCE(bp.connection_count, 0), u.id) < (")
                        .bind(Arg::Int(count))
                        .push(", ")
                        .uuid(id)
                        .push(")");
                }
                sql.push(" ORDER BY COALESCE(bp.connection_count, 0) DESC, u.id DESC");
            }
        }
        sql.push(" LIMIT ").bind(Arg::Int(limit.probe()));
        let rows: Vec<DirectoryRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, DirectoryRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let entries = rows
            .into_iter()
            .map(|row| {
                let relation = match (row.relation_status.map(|s| s.0), row.relation_requester) {
                    _ if Some(row.card.id) == viewer.map(|v| v.as_uuid()) => Relation::Myself,
                    (Some(ConnectionStatus::Accepted), _) => Relation::Connected,
                    (Some(ConnectionStatus::Pending), Some(r)) if r == viewer_id => {
                        Relation::RequestSent
                    }
                    (Some(ConnectionStatus::Pending), _) => Relation::RequestReceived,
                    _ => Relation::None,
                };
                DirectoryEntry {
                    card: row.card.into(),
                    relation,
                }
            })
            .collect();
        let sort = filter.sort;
        Ok(Page::from_probe(
            entries,
            limit,
            move |e: &DirectoryEntry| match sort {
                DirectorySort::Newest => serde_json::json!([e.card.joined_at, e.card.user.id]),
                DirectorySort::MostConnected => {
                    serde_json::json!([e.card.connections, e.card.user.id])
                }
            },
        ))
    }
}
