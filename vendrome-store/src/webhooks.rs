//! [`WebhookInbox`] on both databases: verified deliveries, deduplicated by the provider's event
//! id. One upsert stores a first delivery or takes a redelivery over: `ON CONFLICT (provider,
//! provider_event_id) DO UPDATE … WHERE` the stored one is `received` or `failed` and its
//! `locked_until` has lapsed. The conflicting row is locked while the condition is checked
//! (PostgreSQL re-reads it after a concurrent writer commits; SQLite has one writer), so of
//! several concurrent deliveries of one event exactly one gets a row back.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::enums::{PaymentProvider as ProviderId, WebhookEventStatus};
use vendrome_core::ids::WebhookEventId;
use vendrome_core::payments::{StoredWebhook, WebhookInbox, WEBHOOK_LEASE};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: Uuid,
    provider: DbEnum<ProviderId>,
    provider_event_id: String,
    event_type: String,
    payload: Json<serde_json::Value>,
    status: DbEnum<WebhookEventStatus>,
    attempts: i32,
    received_at: Timestamp,
}

impl From<WebhookRow> for StoredWebhook {
    fn from(r: WebhookRow) -> Self {
        StoredWebhook {
            id: WebhookEventId::from_uuid(r.id),
            provider: r.provider.0,
            provider_event_id: r.provider_event_id,
            event_type: r.event_type,
            payload: r.payload.0,
            status: r.status.0,
            attempts: r.attempts,
            received_at: r.received_at,
        }
    }
}

#[async_trait]
impl WebhookInbox for Store {
    #[tracing::instrument(skip(self, payload))]
    async fn record(
        &self,
        provider: ProviderId,
        event_id: &str,
        event_type: &str,
        payload: &serde_json::Value,
        at: Timestamp,
    ) -> Result<Option<WebhookEventId>> {
        let id = WebhookEventId::new();
        let until =
            at + chrono::Duration::from_std(WEBHOOK_LEASE).unwrap_or(chrono::Duration::hours(1));
        let handed_out: Option<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "INSERT INTO payment_webhook_events (id, provider, provider_event_id, event_type, \
                 signature_verified, payload, status, attempts, received_at, locked_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) \
                 ON CONFLICT (provider, provider_event_id) DO UPDATE \
                 SET status = excluded.status, attempts = payment_webhook_events.attempts + 1, \
                 locked_until = excluded.locked_until \
                 WHERE payment_webhook_events.status IN ('received', 'failed') \
                 AND (payment_webhook_events.locked_until IS NULL OR payment_webhook_events.locked_until <= $8) \
                 RETURNING id",
            )
            .bind(id.as_uuid())
            .bind(DbEnum(provider))
            .bind(event_id)
            .bind(event_type)
            .bind(true)
            .bind(Json(payload))
            .bind(DbEnum(WebhookEventStatus::Received))
            .bind(at)
            .bind(until)
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(handed_out.map(WebhookEventId::from_uuid))
    }

    #[tracing::instrument(skip(self))]
    async fn mark(
        &self,
        id: WebhookEventId,
        status: WebhookEventStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        let processed_at = matches!(
            status,
            WebhookEventStatus::Processed | WebhookEventStatus::Ignored
        )
        .then_some(at);
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE payment_webhook_events SET status = $2, last_error = $3, \
                 processed_at = COALESCE($4, processed_at), locked_until = NULL WHERE id = $1",
            )
            .bind(id.as_uuid())
            .bind(DbEnum(status))
            .bind(error)
            .bind(processed_at)
            .execute(pool)
            .await
            .map(drop)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn unprocessed(&self, before: Timestamp, limit: u32) -> Result<Vec<StoredWebhook>> {
        let rows: Vec<WebhookRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, provider, provider_event_id, event_type, payload, status, attempts, received_at \
                 FROM payment_webhook_events WHERE status IN ('received', 'failed') AND received_at < $1 \
                 ORDER BY received_at, id LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(StoredWebhook::from).collect())
    }
}
