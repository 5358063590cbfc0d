//! [`FlagRepo`] on both databases.

use async_trait::async_trait;
use serde_json::json;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::events::{DomainEvent, FlagUpdated};
use vendrome_core::flags::{Flag, FlagName, FlagRepo, FlagUpdate};
use vendrome_core::outbox::NewEvent;
use vendrome_core::{time, Error, Result};

use crate::error::SqlxResultExt as _;
use crate::rows::{FlagRow, FLAG_COLUMNS};
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

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

    #[tracing::instrument(skip(self, audit))]
    async fn update_flag(
        &self,
        name: &FlagName,
        update: FlagUpdate,
        audit: &AuditContext,
    ) -> Result<Flag> {
        let now = time::now();
        // The UPDATE comes first so that on SQLite the transaction takes the write lock before
        // it reads anything (a read-then-write transaction can fail to upgrade under contention).
        let sql = format!(
            "UPDATE feature_flags SET enabled = $2, rollout_percent = COALESCE($3, rollout_percent), updated_at = $4 \
             WHERE name = $1 RETURNING {FLAG_COLUMNS}"
        );
        let percent = update.rollout_percent.map(|p| i16::from(p.get()));
        let row: Option<FlagRow> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<FlagRow> = sqlx::query_as(&sql)
                .bind(name.as_str())
                .bind(update.enabled)
                .bind(percent)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = &row {
                let state = json!({ "name": row.name(), "enabled": update.enabled, "rollout_percent": row.percent() });
                let flag = FlagUpdated {
                    name: row.name().to_owned(),
                    enabled: update.enabled,
                    rollout_percent: row.percent(),
                };
                tx.append_event(&NewEvent::new(DomainEvent::FlagUpdated(flag)), now).await?;
                let event = NewAuditEvent {
                    action: "flag.updated".into(),
                    target_type: "flag".into(),
                    target_id: name.as_str().into(),
                    details: json!({ "after": state }),
                };
                tx.record_audit(&event, audit, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        row.map(Flag::try_from)
            .transpose()?
            .ok_or(Error::not_found("flag"))
    }
}
