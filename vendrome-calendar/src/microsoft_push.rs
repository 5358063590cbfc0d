//! Microsoft Graph change notifications (learn.microsoft.com graph/change-notifications-delivery-webhooks,
//! graph/api/resources/subscription): a subscription on the member's events per connected
//! Microsoft calendar, created when it connects, renewed by `PATCH` at half its lifetime (created
//! again if Graph no longer has it), deleted when it disconnects.
//!
//! Renewals and recreations all go through the sync queue as `renew_subscription` jobs, at most
//! one live per integration: the half-life pass queues one for each subscription due rather than
//! calling Graph itself, so each subscription is renewed at most once a [`RESUBSCRIBE_EVERY`]
//! (also when Graph grants less lifetime than asked, which leaves it due at every pass), a
//! failure is retried with the queue's backoff, and a subscription whose recreation a lifecycle
//! event has queued already is not renewed or recreated a second time by the pass.
//!
//! The subscription's `clientState` is a per-subscription random secret of which only the
//! SHA-256 is stored; a notification is believed only when its `subscriptionId` is one we hold
//! and its `clientState` hashes to that one's (compared in constant time). A change queues the
//! integration's delta sync (held once per integration by the queue, so duplicates and late
//! notifications add nothing); the lifecycle events `subscriptionRemoved` and `missed` mark the
//! subscription expired and queue its creation again as a `renew_subscription` job (at most one a
//! minute per integration) and a sync (the delta link catches up on whatever was missed), so the
//! notification is answered without waiting for Graph; `reauthorizationRequired` renews it.
//! The validation handshake (`?validationToken=`) is the route's: it answers the token at once.

use vendrome_core::calendar::integrations::{Integration, PushSubscription};
use vendrome_core::enums::{CalendarProvider, CalendarSyncJobKind};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::oauth::state_hash;
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::microsoft_calendar::MAX_SUBSCRIPTION;
use crate::push::{new_secret, secret_matches, Notified};
use crate::runner::SyncRunner;
use crate::sync::{Attempt, SyncEngine, SyncReport};

/// Subscriptions one renewal pass renews at most.
const RENEW_BATCH: u32 = 100;

/// The least time between two recreations of one integration's subscription.
pub const RESUBSCRIBE_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// One notification of a Graph notification body (`value[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphNotification {
    pub subscription_id: String,
    pub client_state: Option<String>,
    /// `subscriptionRemoved`, `missed`, `reauthorizationRequired`; `None` for a change.
    pub lifecycle_event: Option<String>,
}

impl SyncEngine {
    /// The lifetime asked of a subscription.
    fn subscription_ttl(&self) -> Option<std::time::Duration> {
        let app = self.microsoft.as_ref()?;
        app.config().webhook_url.as_ref()?;
        Some(app.config().channel_ttl.min(MAX_SUBSCRIPTION))
    }

    /// Renews the integration's subscription (or creates one: when it has none, Graph no longer
    /// has it, or `recreate`); whether one is open afterwards. A provider failure is logged and
    /// a refused credential recorded (`revoked`).
    ///
    /// Errors: only the store's.
    pub(crate) async fn open_subscription(
        &self,
        integration: &Integration,
        recreate: bool,
    ) -> Result<bool> {
        let (Some(app), Some(ttl)) = (&self.microsoft, self.subscription_ttl()) else {
            return Ok(false);
        };
        let Some(address) = app.config().webhook_url.clone() else {
            return Ok(false);
        };
        let calendar = app.microsoft_calendar(
            &integration.external_calendar_id,
            self.integrations.credentials(integration)?,
        );
        let renewed = match (&integration.subscription, recreate) {
            (Some(current), false) => calendar
                .renew(&current.id, ttl)
                .await
                .map(|s| s.map(|s| (s, current.secret_hash.clone()))),
            _ => Ok(None),
        };
        let opened = match renewed {
            Ok(Some(kept)) => Ok(kept),
            Ok(None) => {
                if let (Some(old), true) = (&integration.subscription, recreate) {
                    if let Err(error) = calendar.unsubscribe(&old.id).await {
                        tracing::warn!(integration = %integration.id, %error, "deleting a replaced Graph subscription failed");
                    }
                }
                let secret = new_secret();
                calendar
                    .subscribe(&address, &secret, ttl)
                    .await
                    .map(|s| (s, state_hash(&secret)))
            }
            Err(e) => Err(e),
        };
        self.keep_refreshed(integration, &calendar).await?;
        let opened = opened.map(|(subscription, secret_hash)| PushSubscription {
            id: subscription.id,
            resource_id: None,
            secret_hash,
            expires_at: subscription.expires_at,
        });
        self.record_opened(integration, opened, "a Graph subscription")
            .await
    }

    /// Deletes the integration's subscription if it has one (a failure is logged: it then
    /// expires on its own, and its notifications are ignored once the integration is gone).
    ///
    /// Errors: only the store's.
    pub(crate) async fn close_subscription(&self, integration: &Integration) -> Result<()> {
        let (Some(app), Some(subscription)) = (&self.microsoft, &integration.subscription) else {
            return Ok(());
        };
        let calendar = app.microsoft_calendar(
            &integration.external_calendar_id,
            self.integrations.credentials(integration)?,
        );
        if let Err(error) = calendar.unsubscribe(&subscription.id).await {
            tracing::warn!(integration = %integration.id, %error, "deleting a Graph subscription failed; it expires on its own");
        }
        Ok(())
    }
}

impl SyncRunner {
    /// The half-life pass: a `renew_subscription` job for each subscription past half its
    /// lifetime at `now` ([`Self::queue_resubscribe`]: paced per subscription, none added where
    /// one is live); how many were queued. The job renews it, or creates it again when it has
    /// expired.
    ///
    /// Errors: only the store's.
    pub(crate) async fn queue_renewals(&self, now: Timestamp) -> Result<usize> {
        let engine = self.engine();
        let Some(ttl) = engine.subscription_ttl() else {
            return Ok(0);
        };
        let half = chrono::Duration::from_std(ttl / 2).unwrap_or(chrono::Duration::hours(1));
        let due = engine
            .repo
            .subscriptions_due(CalendarProvider::Microsoft, now + half, RENEW_BATCH)
            .await?;
        let mut queued = 0;
        for integration in &due {
            if self.queue_resubscribe(integration.id, now).await? {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// One Graph notification (a change or a lifecycle event).
    ///
    /// Errors: only the store's.
    pub async fn microsoft_notification(
        &self,
        notification: &GraphNotification,
        now: Timestamp,
    ) -> Result<Notified> {
        let engine = self.engine();
        let Some(integration) = engine
            .repo
            .integration_by_subscription(CalendarProvider::Microsoft, &notification.subscription_id)
            .await?
        else {
            return Ok(Notified::Ignored);
        };
        let Some(subscription) = &integration.subscription else {
            return Ok(Notified::Ignored);
        };
        if !secret_matches(
            notification.client_state.as_deref(),
            &subscription.secret_hash,
        ) {
            tracing::warn!(integration = %integration.id, "a Graph notification with a wrong clientState; ignored");
            return Ok(Notified::Ignored);
        }
        match notification.lifecycle_event.as_deref() {
            Some("subscriptionRemoved" | "missed") => {
                // Graph wants the answer within seconds: the subscription is marked expired (so
                // it is created again rather than renewed) and its recreation queued as a job.
                let expired = PushSubscription {
                    expires_at: now,
                    ..subscription.clone()
                };
                engine
                    .repo
                    .set_subscription(integration.id, Some(&expired), now)
                    .await?;
                self.queue_resubscribe(integration.id, now).await?;
            }
            Some("reauthorizationRequired") => {
                engine.open_subscription(&integration, false).await?;
                return Ok(Notified::Acknowledged);
            }
            _ => {}
        }
        Ok(Notified::Queued(self.queue(integration.id, now).await?))
    }

    /// Queues the creation again of integration `id`'s subscription (a `renew_subscription`
    /// job), due `now` unless one was due less than [`RESUBSCRIBE_EVERY`] ago (then due that
    /// long after it), so a subscription is recreated at most once a minute however many
    /// lifecycle events arrive; whether one was queued (`false`: one is queued already).
    ///
    /// Errors: only the store's.
    pub async fn queue_resubscribe(
        &self,
        id: CalendarIntegrationId,
        now: Timestamp,
    ) -> Result<bool> {
        let last = self
            .jobs()
            .sync_jobs_of(id, 100)
            .await?
            .into_iter()
            .find(|job| job.kind == CalendarSyncJobKind::RenewSubscription)
            .map(|job| job.available_at);
        let due = last.map_or(now, |last| now.max(last + RESUBSCRIBE_EVERY));
        self.jobs()
            .schedule_sync_job(
                id,
                CalendarSyncJobKind::RenewSubscription,
                self.config().max_attempts,
                due,
            )
            .await
    }
}

impl SyncEngine {
    /// Opens integration `id`'s subscription again (a `renew_subscription` job): created anew
    /// when it has none or it is marked expired, else renewed. One that has expired and could not
    /// be opened is forgotten (the job's retries create it again; the periodic sync goes on).
    ///
    /// Errors: only the store's.
    pub async fn resubscribe(&self, id: CalendarIntegrationId, now: Timestamp) -> Result<Attempt> {
        let Some(integration) = self.repo.integration(id).await? else {
            return Ok(Attempt::Gone);
        };
        if !crate::runner::syncs(integration.status) {
            return Ok(Attempt::Idle(integration.status));
        }
        if self.subscription_ttl().is_none() {
            // Push is not configured: nothing to open.
            return Ok(Attempt::Synced(SyncReport::default()));
        }
        let recreate = integration
            .subscription
            .as_ref()
            .is_none_or(|s| s.expires_at <= now);
        Ok(if self.open_subscription(&integration, recreate).await? {
            Attempt::Synced(SyncReport::default())
        } else {
            self.forget_expired_channel(&integration, now).await?;
            Attempt::Failed("the Graph subscription could not be opened".to_owned())
        })
    }
}
