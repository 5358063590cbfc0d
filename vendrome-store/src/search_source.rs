//! [`SearchSource`] on both databases: the documents search indexers keep, read in a fixed
//! number of statements per batch.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::{
    ConnectionStatus, LookingFor, PostType, PostVisibility, VerificationLevel,
};
use vendrome_core::graph::Topic;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::search::{PostDoc, ProfileDoc, SearchSource};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::graph_topics::{TopicRow, TOPIC_COLUMNS};
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::{with_db, DbEnum, Dialect, Store};

/// Separates aggregated values (skills may hold commas; nothing holds a control character).
const SEP: char = '\u{1f}';

#[derive(sqlx::FromRow)]
struct PostDocRow {
    id: Uuid,
    author_id: Uuid,
    author_level: DbEnum<VerificationLevel>,
    post_type: DbEnum<PostType>,
    visibility: DbEnum<PostVisibility>,
    body: String,
    engagement: i64,
    created_at: Timestamp,
    topics: Option<String>,
}

impl From<PostDocRow> for PostDoc {
    fn from(row: PostDocRow) -> Self {
        PostDoc {
            id: PostId::from_uuid(row.id),
            author_id: UserId::from_uuid(row.author_id),
            author_level: row.author_level.0,
            post_type: row.post_type.0,
            visibility: row.visibility.0,
            body: row.body,
            topics: split(row.topics),
            engagement: row.engagement,
            created_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProfileDocRow {
    id: Uuid,
    display_name: String,
    handle: Option<String>,
    headline: Option<String>,
    verification_level: DbEnum<VerificationLevel>,
    created_at: Timestamp,
    company_name: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    country_code: Option<String>,
    city: Option<String>,
    about: Option<String>,
    connections: i64,
    skills: Option<String>,
    looking_for: Option<String>,
}

impl From<ProfileDocRow> for ProfileDoc {
    fn from(row: ProfileDocRow) -> Self {
        ProfileDoc {
            user_id: UserId::from_uuid(row.id),
            display_name: row.display_name,
            handle: row.handle,
            headline: row.headline,
            company: row.company_name,
            job_title: row.job_title,
            industry: row.industry,
            country_code: row.country_code.map(|c| c.trim().to_owned()),
            city: row.city,
            about: row.about,
            skills: split(row.skills),
            looking_for: split(row.looking_for)
                .iter()
                .filter_map(|raw| {
                    use vendrome_core::SqlEnum as _;
                    LookingFor::from_label(raw)
                })
                .collect(),
            verification_level: row.verification_level.0,
            connections: row.connections,
            joined_at: row.created_at,
        }
    }
}

fn split(joined: Option<String>) -> Vec<String> {
    let mut values: Vec<String> = joined
        .unwrap_or_default()
        .split(SEP)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    values.sort();
    values
}

fn aggregate(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("string_agg({expr}, chr(31))"),
        Dialect::Sqlite => format!("group_concat({expr}, char(31))"),
    }
}

fn post_select(dialect: Dialect) -> SqlText {
    SqlText::new(
        dialect,
        &format!(
            "SELECT p.id, p.author_id, u.verification_level AS author_level, p.post_type, p.visibility, p.body, \
             p.reaction_count + 3 * p.comment_count + 4 * p.repost_count + 5 * p.share_count AS engagement, \
             p.created_at, (SELECT {} FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.post_id = p.id) AS topics \
             FROM posts p JOIN users u ON u.id = p.author_id WHERE p.deleted_at IS NULL AND u.disabled_at IS NULL",
            aggregate(dialect, "t.slug")
        ),
    )
}

fn profile_select(dialect: Dialect) -> SqlText {
    SqlText::new(
        dialect,
        &format!(
            "SELECT u.id, u.display_name, u.handle, u.headline, u.verification_level, u.created_at, \
             bp.company_name, bp.job_title, bp.industry, bp.country_code, bp.city, bp.about, \
             COALESCE(bp.connection_count, 0) AS connections, \
             (SELECT {} FROM business_profile_skills s WHERE s.user_id = u.id) AS skills, \
             (SELECT {} FROM business_profile_looking_for l WHERE l.user_id = u.id) AS looking_for \
             FROM users u LEFT JOIN business_profiles bp ON bp.user_id = u.id WHERE u.disabled_at IS NULL",
            aggregate(dialect, "s.skill"),
            aggregate(dialect, "CAST(l.looking_for AS TEXT)"),
        ),
    )
}

fn in_list(sql: &mut SqlText, column: &str, ids: impl Iterator<Item = Uuid>) {
    sql.push(" AND ").push(column).push(" IN (NULL");
    for id in ids {
        sql.push(", ").uuid(id);
    }
    sql.push(")");
}

impl Store {
    async fn fetch_posts(&self, sql: SqlText) -> Result<Vec<PostDoc>> {
        let rows: Vec<PostDocRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, PostDocRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(PostDoc::from).collect())
    }

    async fn fetch_profiles(&self, sql: SqlText) -> Result<Vec<ProfileDoc>> {
        let rows: Vec<ProfileDocRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, ProfileDocRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(ProfileDoc::from).collect())
    }

    async fn fetch_topics(&self, sql: SqlText) -> Result<Vec<Topic>> {
        let rows: Vec<TopicRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, TopicRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Topic::from).collect())
    }
}

#[async_trait]
impl SearchSource for Store {
    async fn post_docs(&self, ids: &[PostId]) -> Result<Vec<PostDoc>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = post_select(self.dialect());
        in_list(&mut sql, "p.id", ids.iter().map(PostId::as_uuid));
        self.fetch_posts(sql).await
    }

    async fn post_docs_by(&self, authors: &[UserId]) -> Result<Vec<PostDoc>> {
        if authors.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = post_select(self.dialect());
        in_list(&mut sql, "p.author_id", authors.iter().map(UserId::as_uuid));
        self.fetch_posts(sql).await
    }

    async fn profile_docs(&self, ids: &[UserId]) -> Result<Vec<ProfileDoc>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = profile_select(self.dialect());
        in_list(&mut sql, "u.id", ids.iter().map(UserId::as_uuid));
        self.fetch_profiles(sql).await
    }

    async fn topic_docs(&self, slugs: &[String]) -> Result<Vec<Topic>> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {TOPIC_COLUMNS} FROM topics t WHERE t.slug IN (NULL"),
        );
        for slug in slugs {
            sql.push(", ").bind(Arg::Text(slug.clone()));
        }
        sql.push(")");
        self.fetch_topics(sql).await
    }

    async fn scan_posts(&self, after: Option<PostId>, limit: u32) -> Result<Vec<PostDoc>> {
        let mut sql = post_select(self.dialect());
        if let Some(after) = after {
            sql.push(" AND p.id > ").uuid(after.as_uuid());
        }
        sql.push(" ORDER BY p.id LIMIT ")
            .bind(Arg::Int(i64::from(limit)));
        self.fetch_posts(sql).await
    }

    async fn scan_profiles(&self, after: Option<UserId>, limit: u32) -> Result<Vec<ProfileDoc>> {
        let mut sql = profile_select(self.dialect());
        if let Some(after) = after {
            sql.push(" AND u.id > ").uuid(after.as_uuid());
        }
        sql.push(" ORDER BY u.id LIMIT ")
            .bind(Arg::Int(i64::from(limit)));
        self.fetch_profiles(sql).await
    }

    async fn scan_topics(&self, after: Option<&str>, limit: u32) -> Result<Vec<Topic>> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {TOPIC_COLUMNS} FROM topics t WHERE t.slug > "),
        );
        sql.bind(Arg::Text(after.unwrap_or_default().to_owned()));
        sql.push(" ORDER BY t.slug LIMIT ")
            .bind(Arg::Int(i64::from(limit)));
        self.fetch_topics(sql).await
    }

    async fn doc_counts(&self) -> Result<[u64; 3]> {
        let (posts, profiles, topics): (i64, i64, i64) = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM posts WHERE deleted_at IS NULL), \
                 (SELECT COUNT(*) FROM users WHERE disabled_at IS NULL), (SELECT COUNT(*) FROM topics)",
            )
            .fetch_one(pool)
            .await
        })
        .or_unexpected()?;
        Ok([posts, profiles, topics].map(|n| n.max(0) as u64))
    }

    async fn audience(&self, viewer: UserId) -> Result<Vec<UserId>> {
        let mut sql = SqlText::new(
            self.dialect(),
            "SELECT CASE WHEN c.requester_id = $1 THEN c.addressee_id ELSE c.requester_id END \
             FROM connections c WHERE (c.requester_id = $1 OR c.addressee_id = $1) AND c.status = ",
        );
        sql.args.push(Arg::Uuid(viewer.as_uuid()));
        sql.enum_value(ConnectionStatus::Accepted);
        let rows: Vec<(Uuid,)> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, (Uuid,)>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let mut audience: Vec<UserId> = rows
            .into_iter()
            .map(|(id,)| UserId::from_uuid(id))
            .collect();
        audience.push(viewer);
        Ok(audience)
    }
}
