//! Google push notifications (developers.google.com/calendar/api/guides/push): a watch channel
//! per connected Google calendar, opened when it connects, reopened by the runner before it
//! expires (Google does not renew channels), stopped when it disconnects; and the notifications
//! it brings, which queue a delta sync.
//!
//! A channel's id is a random UUID; its token is a per-channel random secret of which only the
//! SHA-256 is stored. A notification is believed only when it names a channel we hold and its
//! `X-Goog-Channel-Token` hashes to that channel's (compared in constant time). `sync` (sent once
//! when a channel opens) is acknowledged; any other state queues the integration's delta sync,
//! which the queue holds once per integration (a duplicate or late notification adds nothing,
//! and the sync reads whatever changed since the stored token, in whatever order notifications
//! came). Notifications for channels we do not hold, or with a wrong token, are answered 200 and
//! ignored: Google stops sending to channels it no longer holds, and nothing tells a prober which
//! channels exist.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use vendrome_core::access::Caller;
use vendrome_core::calendar::integrations::{Integration, PushSubscription, SyncOutcome};
use vendrome_core::enums::CalendarProvider;
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::oauth::{constant_time_eq, state_hash};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::Result;

use crate::provider::RemoteError;
use crate::runner::SyncRunner;
use crate::sync::SyncEngine;

/// How long before its expiry a channel is reopened.
pub const RENEW_MARGIN: chrono::Duration = chrono::Duration::hours(1);

/// Channels one renewal pass reopens at most.
const RENEW_BATCH: u32 = 100;

/// What a push notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    /// Not one of our channels, or not its token: nothing done.
    Ignored,
    /// The channel's `sync` message: nothing to do.
    Acknowledged,
    /// A delta sync is queued (`false`: one was queued already).
    Queued(bool),
}

/// A new per-channel secret: 32 random bytes, base64url.
pub(crate) fn new_secret() -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    URL_SAFE_NO_PAD.encode(secret)
}

/// Whether `presented` is the secret whose SHA-256 is `hash` (compared in constant time).
pub(crate) fn secret_matches(presented: Option<&str>, hash: &str) -> bool {
    presented.is_some_and(|p| constant_time_eq(state_hash(p).as_bytes(), hash.as_bytes()))
}

impl SyncEngine {
    /// Opens a new watch channel for a Google integration (when push is configured), stops the
    /// one it replaces, and stores it; whether one was opened. A provider failure is logged
    /// (the periodic sync still runs) and a refused credential recorded (`revoked`).
    ///
    /// Errors: only the store's.
    pub async fn open_channel(&self, integration: &Integration) -> Result<bool> {
        match integration.provider {
            CalendarProvider::Google => self.open_google_channel(integration).await,
            CalendarProvider::Microsoft => self.open_subscription(integration, false).await,
            CalendarProvider::Caldav => Ok(false),
        }
    }

    async fn open_google_channel(&self, integration: &Integration) -> Result<bool> {
        let Some(google) = &self.google else {
            return Ok(false);
        };
        let Some(address) = google.config().webhook_url.clone() else {
            return Ok(false);
        };
        let calendar = google.calendar(
            &integration.external_calendar_id,
            self.integrations.credentials(integration)?,
        );
        let id = uuid::Uuid::new_v4().to_string();
        let secret = new_secret();
        let opened = calendar
            .watch(&address, &id, &secret, google.config().channel_ttl)
            .await;
        let stopped = match (&opened, &integration.subscription) {
            (Ok(_), Some(old)) => calendar.stop(&old.id, old.resource_id.as_deref()).await,
            _ => Ok(()),
        };
        self.keep_refreshed(integration, &calendar).await?;
        if let Err(error) = stopped {
            tracing::warn!(integration = %integration.id, %error, "stopping a replaced Google channel failed; it expires on its own");
        }
        let opened = opened.map(|channel| PushSubscription {
            id: channel.id,
            resource_id: channel.resource_id,
            secret_hash: state_hash(&secret),
            expires_at: channel.expires_at,
        });
        self.record_opened(integration, opened, "a Google watch channel")
            .await
    }

    /// Records what opening a push subscription (`what`) came to, answering whether it is open:
    /// kept on the integration; a refused credential recorded as its sync outcome; any other
    /// failure logged (the next renewal tries again).
    ///
    /// Errors: only the store's.
    pub(crate) async fn record_opened(
        &self,
        integration: &Integration,
        opened: std::result::Result<PushSubscription, RemoteError>,
        what: &str,
    ) -> Result<bool> {
        match opened {
            Ok(subscription) => {
                self.repo
                    .set_subscription(integration.id, Some(&subscription), time::now())
                    .await?;
                Ok(true)
            }
            Err(RemoteError::Rejected(error)) => {
                self.repo
                    .record_sync(
                        integration.id,
                        &SyncOutcome::Rejected { error },
                        time::now(),
                    )
                    .await?;
                Ok(false)
            }
            Err(error) => {
                tracing::warn!(integration = %integration.id, %error, "opening {what} failed");
                Ok(false)
            }
        }
    }

    /// Stops the integration's channel if it has one (a failure is logged: the channel then
    /// expires on its own, and its notifications are ignored once the integration is gone).
    ///
    /// Errors: only the store's.
    pub async fn close_channel(&self, integration: &Integration) -> Result<()> {
        if integration.provider == CalendarProvider::Microsoft {
            return self.close_subscription(integration).await;
        }
        let (Some(google), Some(channel)) = (&self.google, &integration.subscription) else {
            return Ok(());
        };
        if integration.provider != CalendarProvider::Google {
            return Ok(());
        }
        let calendar = google.calendar(
            &integration.external_calendar_id,
            self.integrations.credentials(integration)?,
        );
        if let Err(error) = calendar
            .stop(&channel.id, channel.resource_id.as_deref())
            .await
        {
            tracing::warn!(integration = %integration.id, %error, "stopping a Google channel failed; it expires on its own");
        }
        Ok(())
    }

    /// Reopens the channels of Google integrations that expire before `now` + [`RENEW_MARGIN`];
    /// how many were opened. A channel that could not be reopened and has expired is forgotten,
    /// so it is not tried again every pass (the periodic sync goes on; reconnecting opens one).
    /// Graph subscriptions are renewed by jobs instead ([`SyncRunner::renew_channels`]).
    ///
    /// Errors: only the store's.
    pub async fn renew_channels(&self, now: Timestamp) -> Result<usize> {
        if self
            .google
            .as_ref()
            .is_none_or(|g| g.config().webhook_url.is_none())
        {
            return Ok(0);
        }
        let due = self
            .repo
            .subscriptions_due(CalendarProvider::Google, now + RENEW_MARGIN, RENEW_BATCH)
            .await?;
        let mut opened = 0;
        for integration in &due {
            if self.open_channel(integration).await? {
                opened += 1;
            } else {
                self.forget_expired_channel(integration, now).await?;
            }
        }
        Ok(opened)
    }

    /// Clears the integration's push channel if it has expired at `now`.
    pub(crate) async fn forget_expired_channel(
        &self,
        integration: &Integration,
        now: Timestamp,
    ) -> Result<()> {
        if integration
            .subscription
            .as_ref()
            .is_some_and(|s| s.expires_at <= now)
        {
            tracing::warn!(integration = %integration.id, "an expired push channel could not be reopened; forgotten");
            self.repo
                .set_subscription(integration.id, None, now)
                .await?;
        }
        Ok(())
    }

    /// Disconnects the caller's integration: its channel stopped (a Google channel, a Graph
    /// subscription deleted), a Google refresh token revoked (a failure is logged), then
    /// everything deleted, the sealed tokens with it. Microsoft has no per-grant revocation
    /// endpoint: deleting the subscription and forgetting the tokens is what can be done there.
    ///
    /// Errors: as [`crate::IntegrationService::disconnect`].
    pub async fn disconnect(&self, caller: &Caller, id: CalendarIntegrationId) -> Result<()> {
        let integration = self.integrations.get(caller, id).await?;
        self.close_channel(&integration).await?;
        let app = match integration.provider {
            CalendarProvider::Google => self.google.as_ref(),
            CalendarProvider::Microsoft | CalendarProvider::Caldav => None,
        };
        if let (Some(app), Some(_)) = (app, &integration.credentials) {
            let credentials = self.integrations.credentials(&integration)?;
            let token = credentials.refresh.unwrap_or(credentials.access);
            if let Err(error) = app.revoke(&token).await {
                tracing::warn!(integration = %id, %error, "revoking a disconnected calendar's token failed");
            }
        }
        self.integrations.disconnect(caller, id).await
    }
}

impl SyncRunner {
    /// A Google notification: channel `channel_id` with `token`, in `state`
    /// (`X-Goog-Resource-State`).
    ///
    /// Errors: only the store's.
    pub async fn google_notification(
        &self,
        channel_id: &str,
        token: Option<&str>,
        state: &str,
        now: Timestamp,
    ) -> Result<Notified> {
        let Some(integration) = self
            .engine()
            .repo
            .integration_by_subscription(CalendarProvider::Google, channel_id)
            .await?
        else {
            return Ok(Notified::Ignored);
        };
        let Some(channel) = &integration.subscription else {
            return Ok(Notified::Ignored);
        };
        if !secret_matches(token, &channel.secret_hash) {
            tracing::warn!(integration = %integration.id, "a Google notification with a wrong channel token; ignored");
            return Ok(Notified::Ignored);
        }
        if state == "sync" {
            return Ok(Notified::Acknowledged);
        }
        Ok(Notified::Queued(self.queue(integration.id, now).await?))
    }

    /// The renewal pass: Google channels about to expire reopened (see
    /// [`SyncEngine::renew_channels`]), Graph subscriptions past half their lifetime given a
    /// `renew_subscription` job (see `microsoft_push`); how many channels were reopened and
    /// jobs queued.
    ///
    /// Errors: only the store's.
    pub async fn renew_channels(&self, now: Timestamp) -> Result<usize> {
        let queued = self.queue_renewals(now).await?;
        Ok(queued + self.engine().renew_channels(now).await?)
    }
}
