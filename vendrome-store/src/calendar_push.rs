//! The provider-connection half of `calendar_integrations` on both databases: push channels
//! (`subscription_*` columns: our channel id, the provider's resource id, SHA-256 of the
//! channel's secret, its expiry) and OAuth connections in flight (`calendar_connect_attempts`,
//! taken once). `IntegrationRepo`'s methods for them (in `calendar_integrations`) call these.

use uuid::Uuid;
use vendrome_core::calendar::integrations::{ConnectAttempt, Integration, PushSubscription};
use vendrome_core::enums::CalendarProvider;
use vendrome_core::ids::{CalendarIntegrationId, UserId};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::calendar_integrations::{Row, COLUMNS};
use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

impl Store {
    #[tracing::instrument(skip(self, subscription))]
    pub(crate) async fn set_push_subscription(
        &self,
        id: CalendarIntegrationId,
        subscription: Option<&PushSubscription>,
        now: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE calendar_integrations SET subscription_id = $1, \
                 subscription_resource_id = $2, subscription_secret_hash = $3, \
                 subscription_expires_at = $4, updated_at = $5 WHERE id = $6",
            )
            .bind(subscription.map(|s| s.id.as_str()))
            .bind(subscription.and_then(|s| s.resource_id.as_deref()))
            .bind(subscription.map(|s| s.secret_hash.as_str()))
            .bind(subscription.map(|s| s.expires_at))
            .bind(now)
            .bind(id.as_uuid())
            .execute(pool)
            .await
            .map(|_| ())
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    pub(crate) async fn integration_by_push_subscription(
        &self,
        provider: CalendarProvider,
        subscription_id: &str,
    ) -> Result<Option<Integration>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM calendar_integrations \
             WHERE provider = $1 AND subscription_id = $2"
        );
        let row: Option<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(DbEnum(provider))
                .bind(subscription_id)
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip(self))]
    pub(crate) async fn push_subscriptions_due(
        &self,
        provider: CalendarProvider,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Integration>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM calendar_integrations \
             WHERE provider = $1 AND status IN ('active', 'error') \
             AND token_key_id IS NOT NULL \
             AND subscription_expires_at IS NOT NULL AND subscription_expires_at < $2 \
             ORDER BY id LIMIT $3"
        );
        let rows: Vec<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(DbEnum(provider))
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip_all, fields(user = %attempt.user_id))]
    pub(crate) async fn insert_connect_attempt(&self, attempt: &ConnectAttempt) -> Result<()> {
        // Attempts never finished are dropped as new ones start.
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM calendar_connect_attempts WHERE expires_at < $1")
                .bind(attempt.created_at)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .or_unexpected()?;
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO calendar_connect_attempts (state_hash, user_id, provider, \
                 pkce_verifier, browser_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&attempt.state_hash)
            .bind(attempt.user_id.as_uuid())
            .bind(DbEnum(attempt.provider))
            .bind(&attempt.pkce_verifier)
            .bind(&attempt.browser_hash)
            .bind(attempt.created_at)
            .bind(attempt.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn delete_connect_attempt(
        &self,
        state_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ConnectAttempt>> {
        let row: Option<AttemptRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "DELETE FROM calendar_connect_attempts WHERE state_hash = $1 \
                 RETURNING state_hash, user_id, provider, pkce_verifier, browser_hash, created_at, \
                 expires_at",
            )
            .bind(state_hash)
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(row.filter(|r| r.expires_at > now).map(|r| ConnectAttempt {
            state_hash: r.state_hash,
            user_id: UserId::from_uuid(r.user_id),
            provider: r.provider.0,
            pkce_verifier: r.pkce_verifier,
            browser_hash: r.browser_hash,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }))
    }
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    state_hash: String,
    user_id: Uuid,
    provider: DbEnum<CalendarProvider>,
    pkce_verifier: String,
    browser_hash: String,
    created_at: Timestamp,
    expires_at: Timestamp,
}
