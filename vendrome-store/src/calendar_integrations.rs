//! [`IntegrationRepo`] on both databases: `calendar_integrations` rows with their sealed
//! credentials (ciphertexts and the sealing key's id; never a plaintext).

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::calendar::integrations::{
    Conflict, ConnectAttempt, EventLink, Integration, IntegrationRepo, NewIntegration, Pulled,
    PulledEvent, PushSubscription, SealedCredentials, SyncOutcome,
};
use vendrome_core::enums::{CalendarIntegrationStatus, CalendarProvider};
use vendrome_core::ids::{CalendarConflictId, CalendarEventId, CalendarIntegrationId, UserId};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::calendar_links::{ConflictRow, LinkRow, LINK_COLUMNS};
use crate::calendar_pull::SAVE_LINK;
use crate::error::{unexpected, unique_violation, SqlxResultExt as _};
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

pub(crate) const COLUMNS: &str =
    "id, user_id, provider, status, provider_account_id, account_email, \
     external_calendar_id, access_token_ciphertext, refresh_token_ciphertext, token_key_id, \
     token_expires_at, sync_cursor, last_synced_at, last_error, created_at, updated_at, \
     subscription_id, subscription_resource_id, subscription_secret_hash, subscription_expires_at";

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: Uuid,
    user_id: Uuid,
    provider: DbEnum<CalendarProvider>,
    status: DbEnum<CalendarIntegrationStatus>,
    provider_account_id: String,
    account_email: Option<String>,
    external_calendar_id: String,
    access_token_ciphertext: Option<Vec<u8>>,
    refresh_token_ciphertext: Option<Vec<u8>>,
    token_key_id: Option<String>,
    token_expires_at: Option<Timestamp>,
    sync_cursor: Option<String>,
    last_synced_at: Option<Timestamp>,
    last_error: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    subscription_id: Option<String>,
    subscription_resource_id: Option<String>,
    subscription_secret_hash: Option<String>,
    subscription_expires_at: Option<Timestamp>,
}

impl From<Row> for Integration {
    fn from(r: Row) -> Self {
        let credentials = match (r.token_key_id, r.access_token_ciphertext) {
            (Some(key_id), Some(access)) => Some(SealedCredentials {
                key_id,
                access,
                refresh: r.refresh_token_ciphertext,
            }),
            _ => None,
        };
        let subscription = match (
            r.subscription_id,
            r.subscription_secret_hash,
            r.subscription_expires_at,
        ) {
            (Some(id), Some(secret_hash), Some(expires_at)) => Some(PushSubscription {
                id,
                resource_id: r.subscription_resource_id,
                secret_hash,
                expires_at,
            }),
            _ => None,
        };
        Self {
            id: CalendarIntegrationId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            provider: r.provider.0,
            status: r.status.0,
            provider_account_id: r.provider_account_id,
            account_email: r.account_email,
            external_calendar_id: r.external_calendar_id,
            credentials,
            token_expires_at: r.token_expires_at,
            sync_cursor: r.sync_cursor,
            last_synced_at: r.last_synced_at,
            last_error: r.last_error,
            subscription,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[async_trait]
impl IntegrationRepo for Store {
    #[tracing::instrument(skip_all, fields(id = %new.id, user = %new.user_id))]
    async fn create_integration(&self, new: &NewIntegration) -> Result<Integration> {
        let sql = format!(
            "INSERT INTO calendar_integrations (id, user_id, provider, status, provider_account_id, \
             account_email, external_calendar_id, access_token_ciphertext, refresh_token_ciphertext, \
             token_key_id, token_expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
        );
        let row: std::result::Result<Row, sqlx::Error> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(new.id.as_uuid())
                .bind(new.user_id.as_uuid())
                .bind(DbEnum(new.provider))
                .bind(&new.provider_account_id)
                .bind(&new.account_email)
                .bind(&new.external_calendar_id)
                .bind(&new.credentials.access)
                .bind(&new.credentials.refresh)
                .bind(&new.credentials.key_id)
                .bind(new.token_expires_at)
                .bind(new.now)
                .fetch_one(pool)
                .await
        });
        match row {
            Ok(row) => Ok(row.into()),
            Err(e) if unique_violation(&e).is_some() => Err(Error::conflict(
                "integration_exists",
                "this calendar is already connected",
            )),
            Err(e) => Err(unexpected(e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn integration(&self, id: CalendarIntegrationId) -> Result<Option<Integration>> {
        let sql = format!("SELECT {COLUMNS} FROM calendar_integrations WHERE id = $1");
        let row: Option<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip(self))]
    async fn integrations_of(
        &self,
        user: UserId,
        after: Option<CalendarIntegrationId>,
        limit: u32,
    ) -> Result<Vec<Integration>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM calendar_integrations \
             WHERE user_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
        );
        let rows: Vec<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(user.as_uuid())
                .bind(after.map(|a| a.as_uuid()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn delete_integration(&self, id: CalendarIntegrationId) -> Result<bool> {
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM calendar_integrations WHERE id = $1")
                .bind(id.as_uuid())
                .execute(pool)
                .await
                .map(|r| r.rows_affected() == 1)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn sealed_with_other_keys(
        &self,
        key_id: &str,
        after: Option<CalendarIntegrationId>,
        limit: u32,
    ) -> Result<Vec<Integration>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM calendar_integrations \
             WHERE token_key_id IS NOT NULL AND token_key_id <> $1 AND ($2 IS NULL OR id > $2) \
             ORDER BY id LIMIT $3"
        );
        let rows: Vec<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(key_id)
                .bind(after.map(|a| a.as_uuid()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip(self, outcome))]
    async fn record_sync(
        &self,
        id: CalendarIntegrationId,
        outcome: &SyncOutcome,
        now: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            match outcome {
                SyncOutcome::Synced { cursor } => sqlx::query(
                    "UPDATE calendar_integrations SET sync_cursor = $1, last_synced_at = $2, \
                     last_error = NULL, updated_at = $2, \
                     status = CASE WHEN status = 'error' THEN 'active' ELSE status END \
                     WHERE id = $3",
                )
                .bind(cursor)
                .bind(now)
                .bind(id.as_uuid())
                .execute(pool)
                .await,
                SyncOutcome::Failed { error } => sqlx::query(
                    "UPDATE calendar_integrations SET last_error = $1, updated_at = $2, \
                     status = CASE WHEN status = 'active' THEN 'error' ELSE status END \
                     WHERE id = $3",
                )
                .bind(error)
                .bind(now)
                .bind(id.as_uuid())
                .execute(pool)
                .await,
                SyncOutcome::Rejected { error } => sqlx::query(
                    "UPDATE calendar_integrations SET last_error = $1, updated_at = $2, \
                     status = 'revoked' WHERE id = $3",
                )
                .bind(error)
                .bind(now)
                .bind(id.as_uuid())
                .execute(pool)
                .await,
            }
            .map(drop)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn event_link(
        &self,
        integration: CalendarIntegrationId,
        external_event_id: &str,
    ) -> Result<Option<EventLink>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM calendar_event_links \
             WHERE integration_id = $1 AND external_event_id = $2"
        );
        let row: Option<LinkRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(integration.as_uuid())
                .bind(external_event_id)
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip(self))]
    async fn event_links(&self, integration: CalendarIntegrationId) -> Result<Vec<EventLink>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM calendar_event_links WHERE integration_id = $1 \
             ORDER BY external_event_id"
        );
        let rows: Vec<LinkRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(integration.as_uuid()).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn link_of_event(
        &self,
        integration: CalendarIntegrationId,
        event: CalendarEventId,
    ) -> Result<Option<EventLink>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM calendar_event_links \
             WHERE integration_id = $1 AND event_id = $2"
        );
        let row: Option<LinkRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(integration.as_uuid())
                .bind(event.as_uuid())
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip_all, fields(id = %conflict.id))]
    async fn record_conflict(&self, conflict: &Conflict) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO calendar_conflicts (id, user_id, integration_id, event_id, \
                 external_event_id, ours_won, ours_updated_at, theirs_updated_at, loser_ics, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(conflict.id.as_uuid())
            .bind(conflict.user_id.as_uuid())
            .bind(conflict.integration_id.map(|i| i.as_uuid()))
            .bind(conflict.event_id.map(|e| e.as_uuid()))
            .bind(&conflict.external_event_id)
            .bind(conflict.ours_won)
            .bind(conflict.ours_updated_at)
            .bind(conflict.theirs_updated_at)
            .bind(&conflict.loser_ics)
            .bind(conflict.created_at)
            .execute(pool)
            .await
            .map(drop)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn conflicts_of(
        &self,
        user: UserId,
        after: Option<CalendarConflictId>,
        limit: u32,
    ) -> Result<Vec<Conflict>> {
        let rows: Vec<ConflictRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, user_id, integration_id, event_id, external_event_id, ours_won, \
                 ours_updated_at, theirs_updated_at, loser_ics, created_at FROM calendar_conflicts \
                 WHERE user_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
            )
            .bind(user.as_uuid())
            .bind(after.map(|a| a.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn save_link(&self, link: &EventLink) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(SAVE_LINK)
                .bind(link.event_id.as_uuid())
                .bind(link.integration_id.as_uuid())
                .bind(&link.external_event_id)
                .bind(&link.etag)
                .bind(link.last_synced_at)
                .execute(pool)
                .await
                .map(drop)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, events), fields(events = events.len()))]
    async fn store_pulled(
        &self,
        integration: CalendarIntegrationId,
        owner: UserId,
        events: &[PulledEvent],
        now: Timestamp,
    ) -> Result<Vec<Pulled>> {
        self.store_pulled_events(integration, owner, events, now)
            .await
    }

    #[tracing::instrument(skip(self, external_event_ids), fields(events = external_event_ids.len()))]
    async fn delete_pulled(
        &self,
        integration: CalendarIntegrationId,
        external_event_ids: &[String],
        now: Timestamp,
    ) -> Result<usize> {
        self.delete_pulled_events(integration, external_event_ids, now)
            .await
    }

    #[tracing::instrument(skip(self))]
    async fn delete_link(
        &self,
        integration: CalendarIntegrationId,
        external_event_id: &str,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "DELETE FROM calendar_event_links WHERE integration_id = $1 AND external_event_id = $2",
            )
            .bind(integration.as_uuid())
            .bind(external_event_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, credentials))]
    async fn reconnect(
        &self,
        id: CalendarIntegrationId,
        credentials: &SealedCredentials,
        now: Timestamp,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE calendar_integrations SET access_token_ciphertext = $1, \
                 refresh_token_ciphertext = $2, token_key_id = $3, status = 'active', \
                 last_error = NULL, updated_at = $4 WHERE id = $5",
            )
            .bind(&credentials.access)
            .bind(&credentials.refresh)
            .bind(&credentials.key_id)
            .bind(now)
            .bind(id.as_uuid())
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, credentials))]
    async fn reseal(
        &self,
        id: CalendarIntegrationId,
        previous_key_id: &str,
        credentials: &SealedCredentials,
        now: Timestamp,
    ) -> Result<bool> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE calendar_integrations SET access_token_ciphertext = $1, \
                 refresh_token_ciphertext = $2, token_key_id = $3, updated_at = $4 \
                 WHERE id = $5 AND token_key_id = $6",
            )
            .bind(&credentials.access)
            .bind(&credentials.refresh)
            .bind(&credentials.key_id)
            .bind(now)
            .bind(id.as_uuid())
            .bind(previous_key_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, credentials))]
    async fn store_tokens(
        &self,
        id: CalendarIntegrationId,
        credentials: &SealedCredentials,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE calendar_integrations SET access_token_ciphertext = $1, \
                 refresh_token_ciphertext = $2, token_key_id = $3, token_expires_at = $4, \
                 updated_at = $5 WHERE id = $6",
            )
            .bind(&credentials.access)
            .bind(&credentials.refresh)
            .bind(&credentials.key_id)
            .bind(expires_at)
            .bind(now)
            .bind(id.as_uuid())
            .execute(pool)
            .await
            .map(|_| ())
        })
        .or_unexpected()
    }

    async fn set_subscription(
        &self,
        id: CalendarIntegrationId,
        subscription: Option<&PushSubscription>,
        now: Timestamp,
    ) -> Result<()> {
        self.set_push_subscription(id, subscription, now).await
    }

    async fn integration_by_subscription(
        &self,
        provider: CalendarProvider,
        subscription_id: &str,
    ) -> Result<Option<Integration>> {
        self.integration_by_push_subscription(provider, subscription_id)
            .await
    }

    async fn subscriptions_due(
        &self,
        provider: CalendarProvider,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Integration>> {
        self.push_subscriptions_due(provider, before, limit).await
    }

    async fn save_connect_attempt(&self, attempt: &ConnectAttempt) -> Result<()> {
        self.insert_connect_attempt(attempt).await
    }

    async fn take_connect_attempt(
        &self,
        state_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ConnectAttempt>> {
        self.delete_connect_attempt(state_hash, now).await
    }
}
