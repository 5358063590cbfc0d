//! A member's connections to external calendars (Google, Microsoft Graph, CalDAV) and their
//! storage port.
//!
//! Credentials (OAuth access and refresh tokens, a CalDAV password) are stored only sealed:
//! AES-256-GCM ciphertexts made by `vendrome-calendar`, with the id of the key that sealed them
//! on the row, so keys can be rotated by re-sealing row by row. This module never sees a key or
//! a plaintext credential.

use async_trait::async_trait;

use crate::calendar::EventFields;
use crate::enums::{CalendarIntegrationStatus, CalendarProvider};
use crate::ids::{CalendarConflictId, CalendarEventId, CalendarIntegrationId, UserId};
use crate::time::Timestamp;
use crate::Result;

/// Credentials as stored: ciphertexts and the id of the key that sealed them.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredentials {
    pub key_id: String,
    /// The access token, or a CalDAV password.
    pub access: Vec<u8>,
    /// The OAuth refresh token, `None` for CalDAV.
    pub refresh: Option<Vec<u8>>,
}

impl std::fmt::Debug for SealedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCredentials")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A new connection to an external calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegration {
    pub id: CalendarIntegrationId,
    pub user_id: UserId,
    pub provider: CalendarProvider,
    /// The provider's account (an OAuth subject, or the CalDAV user name).
    pub provider_account_id: String,
    pub account_email: Option<String>,
    /// The calendar synced (`primary`, or a CalDAV collection URL).
    pub external_calendar_id: String,
    pub credentials: SealedCredentials,
    pub token_expires_at: Option<Timestamp>,
    pub now: Timestamp,
}

/// A stored connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: CalendarIntegrationId,
    pub user_id: UserId,
    pub provider: CalendarProvider,
    pub status: CalendarIntegrationStatus,
    pub provider_account_id: String,
    pub account_email: Option<String>,
    pub external_calendar_id: String,
    /// `None` once the credentials were dropped (a revoked consent).
    pub credentials: Option<SealedCredentials>,
    pub token_expires_at: Option<Timestamp>,
    /// The provider's delta cursor (Google syncToken, Graph deltaLink, CalDAV sync-token).
    pub sync_cursor: Option<String>,
    pub last_synced_at: Option<Timestamp>,
    pub last_error: Option<String>,
    /// The provider's push channel (a Google watch channel), when one is open.
    pub subscription: Option<PushSubscription>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A push channel a provider notifies changes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    /// Our id for it (a Google channel id).
    pub id: String,
    /// The provider's id of what it watches (Google `resourceId`), needed to stop it.
    pub resource_id: Option<String>,
    /// SHA-256 (hex) of the per-channel secret every notification must carry.
    pub secret_hash: String,
    pub expires_at: Timestamp,
}

/// An OAuth connection in flight: made by `…/{provider}/start`, consumed once by its callback.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectAttempt {
    /// SHA-256 (hex) of the `state` parameter.
    pub state_hash: String,
    pub user_id: UserId,
    pub provider: CalendarProvider,
    pub pkce_verifier: String,
    /// SHA-256 (hex) of the secret in the httpOnly cookie of the browser that started it.
    pub browser_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for ConnectAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectAttempt")
            .field("user_id", &self.user_id)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Which provider item a native event mirrors, in one integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLink {
    pub event_id: CalendarEventId,
    pub integration_id: CalendarIntegrationId,
    /// The provider's id for it (a CalDAV resource href, a Google or Graph event id).
    pub external_event_id: String,
    /// The provider's version of it when last read or written (CalDAV/HTTP ETag).
    pub etag: Option<String>,
    pub last_synced_at: Timestamp,
}

/// An edit that lost to a later one on the other side, kept whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub id: CalendarConflictId,
    pub user_id: UserId,
    pub integration_id: Option<CalendarIntegrationId>,
    pub event_id: Option<CalendarEventId>,
    pub external_event_id: String,
    /// Whether our version won (the provider's is the loser kept), or theirs did.
    pub ours_won: bool,
    /// When our version was last changed.
    pub ours_updated_at: Timestamp,
    /// When the provider's was (its LAST-MODIFIED), if it said.
    pub theirs_updated_at: Option<Timestamp>,
    /// The losing version as iCalendar text.
    pub loser_ics: String,
    pub created_at: Timestamp,
}

/// A remote event to keep as its member's event, linked to its remote resource (see
/// [`IntegrationRepo::store_pulled`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledEvent {
    pub ical_uid: String,
    pub fields: EventFields,
    /// The member's event already linked to it, updated in place (a provider may give an event
    /// we wrote another UID); `None`: keyed by its UID.
    pub linked: Option<CalendarEventId>,
    /// The provider's id for it and its version.
    pub external_event_id: String,
    pub etag: Option<String>,
}

/// What became of a [`PulledEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulled {
    Created,
    Updated,
    /// The member's event with its UID (or linked to it) follows a booking or mentorship
    /// session: left as it is, and not linked.
    Managed,
}

/// How a sync ended, for [`IntegrationRepo::record_sync`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Done: the provider's new delta cursor.
    Synced { cursor: Option<String> },
    /// Failed: why (no credential in it), the cursor kept.
    Failed { error: String },
    /// The provider refused the credentials (401/403): retrying cannot help until the member
    /// reconnects. Why, the cursor kept.
    Rejected { error: String },
}

/// Storage of calendar integrations.
#[async_trait]
pub trait IntegrationRepo: Send + Sync {
    /// Stores a new integration, `active`.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) `integration_exists` when the member already
    /// has this provider account and calendar connected; otherwise only
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_integration(&self, new: &NewIntegration) -> Result<Integration>;

    /// The integration, `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn integration(&self, id: CalendarIntegrationId) -> Result<Option<Integration>>;

    /// `user`'s integrations by id (creation order), the first `limit` after `after`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn integrations_of(
        &self,
        user: UserId,
        after: Option<CalendarIntegrationId>,
        limit: u32,
    ) -> Result<Vec<Integration>>;

    /// Deletes the integration (its links and sync jobs with it); `false` when it was gone.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn delete_integration(&self, id: CalendarIntegrationId) -> Result<bool>;

    /// Up to `limit` integrations with credentials sealed by a key other than `key_id`, by id,
    /// after `after`: what a key rotation re-seals.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn sealed_with_other_keys(
        &self,
        key_id: &str,
        after: Option<CalendarIntegrationId>,
        limit: u32,
    ) -> Result<Vec<Integration>>;

    /// Records a sync's outcome: a success stores the cursor, sets `last_synced_at` and clears
    /// `last_error` and an `error` status back to `active`; a failure sets `last_error` and the
    /// `error` status; a rejection sets `last_error` and the `revoked` status (whatever it was),
    /// which only [`IntegrationRepo::reconnect`] ends. An integration that is not `active` or
    /// `error` otherwise keeps its status.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn record_sync(
        &self,
        id: CalendarIntegrationId,
        outcome: &SyncOutcome,
        now: Timestamp,
    ) -> Result<()>;

    /// The link of the provider item `external_event_id` in the integration, if any.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn event_link(
        &self,
        integration: CalendarIntegrationId,
        external_event_id: &str,
    ) -> Result<Option<EventLink>>;

    /// Every link of the integration (a full resync compares them with what the provider has).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn event_links(&self, integration: CalendarIntegrationId) -> Result<Vec<EventLink>>;

    /// The link of native event `event` in the integration, if any.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn link_of_event(
        &self,
        integration: CalendarIntegrationId,
        event: CalendarEventId,
    ) -> Result<Option<EventLink>>;

    /// Adds an entry to the conflict log.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn record_conflict(&self, conflict: &Conflict) -> Result<()>;

    /// `user`'s conflict log by id (oldest first), the first `limit` after `after`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn conflicts_of(
        &self,
        user: UserId,
        after: Option<CalendarConflictId>,
        limit: u32,
    ) -> Result<Vec<Conflict>>;

    /// Stores the link, replacing the one of its event in its integration.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn save_link(&self, link: &EventLink) -> Result<()>;

    /// Keeps a batch of events pulled from `integration` as events of `owner`, in one
    /// transaction: each updated in place when `linked` names a live event, else imported by its
    /// UID as [`CalendarRepo::upsert_by_uid`](crate::calendar::CalendarRepo::upsert_by_uid)
    /// does, and its link saved (etag, `last_synced_at` = `now`). What became of each, in order.
    ///
    /// MUST leave an event that follows a booking or mentorship session as it is (deleted or
    /// not) and not link it: [`Pulled::Managed`].
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails (nothing of
    /// the batch is kept then).
    async fn store_pulled(
        &self,
        integration: CalendarIntegrationId,
        owner: UserId,
        events: &[PulledEvent],
        now: Timestamp,
    ) -> Result<Vec<Pulled>>;

    /// Forgets the remote events `external_event_ids` of `integration`, in one transaction: their
    /// links go, and the events linked to them are deleted, except those that follow a booking
    /// or mentorship session, which stay as they are (only their booking or session deletes
    /// them). The number of events deleted.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn delete_pulled(
        &self,
        integration: CalendarIntegrationId,
        external_event_ids: &[String],
        now: Timestamp,
    ) -> Result<usize>;

    /// Deletes the link of `external_event_id`; `false` when there was none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn delete_link(
        &self,
        integration: CalendarIntegrationId,
        external_event_id: &str,
    ) -> Result<bool>;

    /// Replaces the integration's credentials with new ones from its member (a reconnection):
    /// the status back to `active`, `last_error` cleared, the cursor and links kept; `false`
    /// when the integration is gone.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn reconnect(
        &self,
        id: CalendarIntegrationId,
        credentials: &SealedCredentials,
        now: Timestamp,
    ) -> Result<bool>;

    /// Replaces the integration's credentials if they are still sealed by `previous_key_id`
    /// (a compare-and-set: a token refreshed meanwhile is not overwritten); `false` otherwise.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn reseal(
        &self,
        id: CalendarIntegrationId,
        previous_key_id: &str,
        credentials: &SealedCredentials,
        now: Timestamp,
    ) -> Result<bool>;

    /// Replaces the integration's credentials and their expiry after a token refresh, its
    /// status and everything else kept.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn store_tokens(
        &self,
        id: CalendarIntegrationId,
        credentials: &SealedCredentials,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<()>;

    /// Sets (or with `None` clears) the integration's push channel.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn set_subscription(
        &self,
        id: CalendarIntegrationId,
        subscription: Option<&PushSubscription>,
        now: Timestamp,
    ) -> Result<()>;

    /// The integration of `provider` whose push channel is `subscription_id`, if any.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn integration_by_subscription(
        &self,
        provider: CalendarProvider,
        subscription_id: &str,
    ) -> Result<Option<Integration>>;

    /// Up to `limit` syncing integrations (`active` or `error`) of `provider` whose push channel
    /// expires before `before`: what the runner renews.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn subscriptions_due(
        &self,
        provider: CalendarProvider,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Integration>>;

    /// Stores an OAuth connection in flight.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn save_connect_attempt(&self, attempt: &ConnectAttempt) -> Result<()>;

    /// Takes (deletes and returns) the connection in flight of `state_hash` if it has not
    /// expired at `now`; `None` otherwise (so a state is used once).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn take_connect_attempt(
        &self,
        state_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ConnectAttempt>>;
}
