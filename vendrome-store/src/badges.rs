//! [`BadgeRepo`] on both databases.

use async_trait::async_trait;
use serde_json::json;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::enums::BadgeKind;
use vendrome_core::ids::{BadgeId, UserId};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::verification::{Badge, BadgeRepo};
use vendrome_core::{Error, Result};

use crate::error::{unique_violation, SqlxResultExt as _};
use crate::rows::{BadgeRow, BADGE_COLUMNS};
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

fn badge_audit(action: &str, user: UserId, kind: BadgeKind) -> NewAuditEvent {
    NewAuditEvent {
        action: action.into(),
        target_type: "user".into(),
        target_id: user.to_string(),
        details: json!({ "badge": kind }),
    }
}

#[async_trait]
impl BadgeRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn badges(&self, user: UserId, now: Timestamp) -> Result<Vec<Badge>> {
        let sql = format!(
            "SELECT {BADGE_COLUMNS} FROM user_verification_badges WHERE user_id = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2) ORDER BY verified_at, id"
        );
        let rows: Vec<BadgeRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(user.as_uuid()).bind(now).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Badge::from).collect())
    }

    #[tracing::instrument(skip(self, audit))]
    async fn grant_badge(
        &self,
        user: UserId,
        kind: BadgeKind,
        audit: &AuditContext,
    ) -> Result<Badge> {
        let now = time::now();
        let sql = format!(
            "INSERT INTO user_verification_badges (id, user_id, kind, verified_by, verified_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {BADGE_COLUMNS}"
        );
        let row: BadgeRow = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: BadgeRow = sqlx::query_as(&sql)
                .bind(BadgeId::new().as_uuid())
                .bind(user.as_uuid())
                .bind(DbEnum(kind))
                .bind(audit.actor_id.map(|a| a.as_uuid()))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.record_audit(&badge_audit("user.badge_granted", user, kind), audit, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })
        .map_err(|error| {
            if unique_violation(&error).is_some() {
                Error::conflict("badge_exists", "the user already holds this badge")
            } else if error
                .as_database_error()
                .is_some_and(|e| e.is_foreign_key_violation())
            {
                Error::not_found("user")
            } else {
                crate::error::unexpected(error)
            }
        })?;
        Ok(row.into())
    }

    #[tracing::instrument(skip(self, audit))]
    async fn revoke_badge(
        &self,
        user: UserId,
        kind: BadgeKind,
        audit: &AuditContext,
    ) -> Result<()> {
        let now = time::now();
        let revoked = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let revoked = sqlx::query(
                "UPDATE user_verification_badges SET revoked_at = $3 WHERE user_id = $1 AND kind = $2 AND revoked_at IS NULL",
            )
            .bind(user.as_uuid())
            .bind(DbEnum(kind))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if revoked > 0 {
                tx.record_audit(&badge_audit("user.badge_revoked", user, kind), audit, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(revoked)
        })
        .or_unexpected()?;
        if revoked > 0 {
            Ok(())
        } else {
            Err(Error::not_found("badge"))
        }
    }
}
