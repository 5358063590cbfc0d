//! [`WebhookInbox`] on both databases: verified deliveries, deduplicated by the provider's event
//! id with `ON CONFLICT (provider, provider_event_id) DO NOTHING`, so of several concurrent
//! deliveries of one event exactly one is recorded.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::enums::{PaymentProvider as ProviderId, WebhookEventStatus};
use vendrome_core::ids::WebhookEventId;
use vendrome_core::payments::{StoredWebhook, WebhookInbox};
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
        let inserted = with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO payment_webhook_events (id, provider, provider_event_id, event_type, \
                 signature_verified, payload, status, attempts, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) \
                 ON CONFLICT (provider, provider_event_id) DO NOTHING",
            )
            .bind(id.as_uuid())
            .bind(DbEnum(provider))
            .bind(event_id)
            .bind(event_type)
            .bind(true)
            .bind(Json(payload))
            .bind(DbEnum(WebhookEventStatus::Received))
            .bind(at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .or_unexpected()?;
        Ok((inserted == 1).then_some(id))
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
                "UPDATE payment_webhook_events SET status = $2, attempts = attempts + 1, last_error = $3, \
                 processed_at = COALESCE($4, processed_at) WHERE id = $1",
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
