//! [`FlagRepo`] on both databases.

use async_trait::async_trait;
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::events::{DomainEvent, FlagUpdated};
use vendrome_core::flags::{Flag, FlagName, FlagRepo, FlagUpdate, Member};
use vendrome_core::ids::UserId;
use vendrome_core::outbox::NewEvent;
use vendrome_core::validation::ValidationErrors;
use vendrome_core::{time, Error, Result};

use crate::error::SqlxResultExt as _;
use crate::rows::{FlagMemberRow, FlagRow, FLAG_COLUMNS};
use crate::sql_text::{bind_args, SqlText};
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

/// What an update came to, decided inside its transaction.
enum Outcome {
    Done(Box<Flag>),
    NoSuchFlag,
    UnknownUsers(Vec<UserId>),
}

/// A flag's state as its audit event records it.
fn audited(flag: &Flag) -> serde_json::Value {
    json!({
        "enabled": flag.enabled,
        "rollout_percent": flag.rollout_percent.get(),
        "cohorts": flag.cohorts,
    })
}

#[async_trait]
impl FlagRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn list_flags(&self) -> Result<Vec<Flag>> {
        let sql = format!("SELECT {FLAG_COLUMNS} FROM feature_flags ORDER BY name");
        let rows: Vec<FlagRow> =
            with_db!(&self.db, pool => sqlx::query_as(&sql).fetch_all(pool).await)
                .or_unexpected()?;
        rows.into_iter().map(Flag::try_from).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn flag(&self, name: &FlagName) -> Result<Option<Flag>> {
        let sql = format!("SELECT {FLAG_COLUMNS} FROM feature_flags WHERE name = $1");
        let row: Option<FlagRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(name.as_str()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(Flag::try_from).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn flag_member(&self, user: UserId) -> Result<Option<Member>> {
        let sql = "SELECT u.id, u.role, u.verification_level, bp.country_code \
                   FROM users u LEFT JOIN business_profiles bp ON bp.user_id = u.id \
                   WHERE u.id = $1";
        let row: Option<FlagMemberRow> = with_db!(&self.db, pool => {
            sqlx::query_as(sql).bind(user.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Member::from))
    }

    #[tracing::instrument(skip(self, update, audit))]
    async fn update_flag(
        &self,
        name: &FlagName,
        update: FlagUpdate,
        audit: &AuditContext,
    ) -> Result<Flag> {
        let now = time::now();
        // A no-op UPDATE first: it reads the state before the change and, on SQLite, takes the
        // write lock before anything is read (a read-then-write transaction can fail to upgrade
        // under contention).
        let lock = format!(
            "UPDATE feature_flags SET name = name WHERE name = $1 RETURNING {FLAG_COLUMNS}"
        );
        let change = format!(
            "UPDATE feature_flags SET enabled = $2, rollout_percent = COALESCE($3, rollout_percent), \
             cohorts = COALESCE($4, cohorts), updated_at = $5 WHERE name = $1 RETURNING {FLAG_COLUMNS}"
        );
        let percent = update.rollout_percent.map(|p| i16::from(p.get()));
        let named: Vec<Uuid> = update
            .cohorts
            .iter()
            .flat_map(|c| c.users.iter().map(UserId::as_uuid))
            .collect();
        let mut known = SqlText::new(self.dialect(), "SELECT id FROM users WHERE id IN (NULL");
        for id in &named {
            known.push(", ").uuid(*id);
        }
        known.push(")");
        let cohorts = update.cohorts.as_ref().map(Json);
        let outcome = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let Some(before) = sqlx::query_as::<_, FlagRow>(&lock)
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok::<_, sqlx::Error>(Ok(Outcome::NoSuchFlag));
            };
            if !named.is_empty() {
                let found: Vec<Uuid> = bind_args!(sqlx::query_scalar(&known.text), known)
                    .fetch_all(&mut *tx)
                    .await?;
                let unknown: Vec<UserId> = named
                    .iter()
                    .filter(|id| !found.contains(id))
                    .map(|id| UserId::from_uuid(*id))
                    .collect();
                if !unknown.is_empty() {
                    return Ok(Ok(Outcome::UnknownUsers(unknown)));
                }
            }
            let after: FlagRow = sqlx::query_as(&change)
                .bind(name.as_str())
                .bind(update.enabled)
                .bind(percent)
                .bind(cohorts)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let (before, after) = match (Flag::try_from(before), Flag::try_from(after)) {
                (Ok(before), Ok(after)) => (before, after),
                (Err(error), _) | (_, Err(error)) => return Ok(Err(error)),
            };
            let announced = FlagUpdated {
                name: name.as_str().to_owned(),
                enabled: after.enabled,
                rollout_percent: i16::from(after.rollout_percent.get()),
            };
            tx.append_event(&NewEvent::new(DomainEvent::FlagUpdated(announced)), now).await?;
            let event = NewAuditEvent {
                action: "flag.updated".into(),
                target_type: "flag".into(),
                target_id: name.as_str().into(),
                details: json!({
                    "reason": update.reason.as_str(),
                    "before": audited(&before),
                    "after": audited(&after),
                }),
            };
            tx.record_audit(&event, audit, now).await?;
            tx.commit().await?;
            Ok(Ok(Outcome::Done(Box::new(after))))
        })
        .or_unexpected()??;
        match outcome {
            Outcome::Done(flag) => Ok(*flag),
            Outcome::NoSuchFlag => Err(Error::not_found("flag")),
            Outcome::UnknownUsers(ids) => {
                let listed: Vec<String> = ids.iter().map(|id| id.as_uuid().to_string()).collect();
                Err(ValidationErrors::single(
                    "cohorts.include_users",
                    "unknown_users",
                    format!("no account has these ids: {}", listed.join(", ")),
                )
                .into())
            }
        }
    }
}
