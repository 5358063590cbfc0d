//! [`SyncEngine`]: a connected CalDAV calendar mirrored into its member's native calendar.
//!
//! Each remote event becomes an event of the member (keyed by its iCalendar UID, `busy` unless
//! its `CLASS` says otherwise, so it counts as busy time and blocks booking slots), linked to its
//! resource by href and etag in `calendar_event_links`. A sync asks the collection for what
//! changed since the stored sync token (RFC 6578 `sync-collection`), so its cost follows the
//! changes, not the calendar: members whose etag the link already holds are skipped, the others
//! fetched with one `calendar-multiget` per batch, removed ones deleted. Without a token, or when
//! the server refuses it (403 `valid-sync-token`), the sync is full: every member is listed and
//! links to members no longer there are deleted with their events. A server without
//! `sync-collection` is asked for its collection's ctag instead (kept as the cursor, `ctag:…`):
//! unchanged, the sync is one request; changed, its members' etags are listed and only those
//! that moved are fetched.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use vendrome_core::calendar::integrations::{
    EventLink, Integration, IntegrationRepo, Pulled, PulledEvent, SyncOutcome,
};
use vendrome_core::calendar::{CalendarRepo, EventScope};
use vendrome_core::enums::{CalendarIntegrationStatus, CalendarProvider};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::sql_enum::SqlEnum as _;
use vendrome_core::time;
use vendrome_core::{Error, Result};

use crate::caldav::{CaldavClient, DavError};
use crate::exchange::input;
use crate::integrations::IntegrationService;
use crate::oauth_app::OAuthApp;
use crate::provider::{keep_exceptions_outside, RemoteCalendar, RemoteError};
use crate::CalendarService;

/// How many pulled events are kept per transaction.
const PULL_BATCH: usize = 500;

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Whether every member was listed (no token, or the token was refused).
    pub full: bool,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Remote events left out (each named in the log): those that do not read as valid events,
    /// and those carrying the UID of an event that follows a booking or mentorship session,
    /// which only the booking or session changes.
    pub skipped: usize,
    /// Events changed on both sides since the last sync (the later edit kept, the other logged).
    pub conflicts: usize,
    /// HTTP requests made.
    pub requests: usize,
}

/// Syncs integrations, recording each outcome on the integration.
#[derive(Clone)]
pub struct SyncEngine {
    pub(crate) integrations: IntegrationService,
    pub(crate) repo: Arc<dyn IntegrationRepo>,
    pub(crate) events: Arc<dyn CalendarRepo>,
    pub(crate) calendar: CalendarService,
    /// The Google Calendar client, when one is configured.
    pub(crate) google: Option<Arc<OAuthApp>>,
    /// The Microsoft Graph client, when one is configured.
    pub(crate) microsoft: Option<Arc<OAuthApp>>,
}

impl SyncEngine {
    pub fn new(
        integrations: IntegrationService,
        repo: Arc<dyn IntegrationRepo>,
        events: Arc<dyn CalendarRepo>,
        calendar: CalendarService,
    ) -> Self {
        Self {
            integrations,
            repo,
            events,
            calendar,
            google: None,
            microsoft: None,
        }
    }

    /// Syncs Microsoft calendars through `microsoft`.
    pub fn with_microsoft(mut self, microsoft: Arc<OAuthApp>) -> Self {
        self.microsoft = Some(microsoft);
        self
    }

    /// Syncs Google calendars through `google`.
    pub fn with_google(mut self, google: Arc<OAuthApp>) -> Self {
        self.google = Some(google);
        self
    }

    /// Syncs integration `id` from its provider and records the outcome (`last_synced_at` and
    /// the new cursor, or `last_error`; a refused credential also the `revoked` status).
    ///
    /// Errors: [`Error::NotFound`] (`calendar integration`); [`Error::Conflict`]
    /// `calendar_reconnect_required` when it is `revoked` or `paused`;
    /// [`Error::Unavailable`] `calendar_sync_failed` when the provider failed or refused (the
    /// reason, without any credential, is also the integration's `last_error`).
    pub async fn sync(&self, id: CalendarIntegrationId) -> Result<SyncReport> {
        match self.attempt(id).await? {
            Attempt::Synced(report) => Ok(report),
            Attempt::Failed(error) | Attempt::Rejected(error) => {
                Err(Error::unavailable("calendar_sync_failed", error))
            }
            Attempt::Gone => Err(Error::not_found("calendar integration")),
            Attempt::Idle(status) => Err(reconnect_required(status)),
        }
    }

    /// Syncs integration `id` once and records the outcome on it, as [`Self::sync`], telling the
    /// caller (the sync queue) whether retrying may help.
    ///
    /// Errors: only the store's.
    pub async fn attempt(&self, id: CalendarIntegrationId) -> Result<Attempt> {
        let Some(integration) = self.repo.integration(id).await? else {
            return Ok(Attempt::Gone);
        };
        if !crate::runner::syncs(integration.status) {
            return Ok(Attempt::Idle(integration.status));
        }
        let result = match self.remote(&integration) {
            Ok(remote) => {
                let pulled = self.pull(&integration, remote.as_ref()).await;
                self.keep_refreshed(&integration, remote.as_ref()).await?;
                pulled
            }
            Err(failure) => Err(failure),
        };
        match result {
            Ok((report, cursor)) => {
                self.repo
                    .record_sync(id, &SyncOutcome::Synced { cursor }, time::now())
                    .await?;
                Ok(Attempt::Synced(report))
            }
            Err(SyncFailure::Store(e)) => Err(e),
            Err(failure) => {
                let rejected = failure.rejects_credentials();
                let error = failure.to_string();
                self.failed(id, failure).await?;
                Ok(if rejected {
                    Attempt::Rejected(error)
                } else {
                    Attempt::Failed(error)
                })
            }
        }
    }

    /// The error to answer for `failure`; a provider's failure is first recorded on the
    /// integration (`last_error`, the `error` status; `revoked` when it refused the
    /// credentials).
    pub(crate) async fn failed(
        &self,
        id: CalendarIntegrationId,
        failure: SyncFailure,
    ) -> Result<Error> {
        if let SyncFailure::Store(e) = failure {
            return Ok(e);
        }
        let rejected = failure.rejects_credentials();
        let error = failure.to_string();
        tracing::warn!(integration = %id, %error, rejected, "calendar sync failed");
        let outcome = if rejected {
            SyncOutcome::Rejected {
                error: error.clone(),
            }
        } else {
            SyncOutcome::Failed {
                error: error.clone(),
            }
        };
        self.repo.record_sync(id, &outcome, time::now()).await?;
        Ok(Error::unavailable("calendar_sync_failed", error))
    }

    /// The integration's calendar at its provider.
    pub(crate) fn remote(
        &self,
        integration: &Integration,
    ) -> std::result::Result<Box<dyn RemoteCalendar>, SyncFailure> {
        let credentials = self.integrations.credentials(integration)?;
        match integration.provider {
            CalendarProvider::Caldav => Ok(Box::new(
                CaldavClient::new(
                    &integration.external_calendar_id,
                    &integration.provider_account_id,
                    credentials.access,
                )
                .map_err(RemoteError::from)?,
            )),
            CalendarProvider::Google => match &self.google {
                Some(google) => Ok(Box::new(
                    google
                        .calendar(&integration.external_calendar_id, credentials)
                        .expiring(integration.token_expires_at),
                )),
                None => Err(SyncFailure::Other(
                    "google calendars are not synced by this server (no Google client configured)"
                        .to_owned(),
                )),
            },
            CalendarProvider::Microsoft => match &self.microsoft {
                Some(microsoft) => Ok(Box::new(
                    microsoft
                        .microsoft_calendar(&integration.external_calendar_id, credentials)
                        .expiring(integration.token_expires_at),
                )),
                None => Err(SyncFailure::Other(
                    "microsoft calendars are not synced by this server (no Microsoft client configured)"
                        .to_owned(),
                )),
            },
        }
    }

    /// Seals and stores the tokens a provider call refreshed, if it did.
    pub(crate) async fn keep_refreshed(
        &self,
        integration: &Integration,
        remote: &dyn RemoteCalendar,
    ) -> Result<()> {
        if let Some(fresh) = remote.refreshed() {
            let sealed = self.integrations.seal(integration.id, &fresh.credentials)?;
            self.repo
                .store_tokens(integration.id, &sealed, fresh.expires_at, time::now())
                .await?;
        }
        Ok(())
    }

    /// The remote changes since the integration's cursor into its member's calendar; the report
    /// and the new cursor.
    pub(crate) async fn pull(
        &self,
        integration: &Integration,
        remote: &dyn RemoteCalendar,
    ) -> std::result::Result<(SyncReport, Option<String>), SyncFailure> {
        let mut report = SyncReport::default();
        let Some(listing) = remote.changes(integration.sync_cursor.as_deref()).await? else {
            // Nothing changed, nothing to do.
            report.requests = remote.requests();
            return Ok((report, integration.sync_cursor.clone()));
        };
        report.full = listing.full;
        let id = integration.id;
        // A full sync compares with every link; an incremental one reads only the changed ones.
        let known: Option<HashMap<String, EventLink>> = if report.full {
            let links = self.repo.event_links(id).await?;
            Some(
                links
                    .into_iter()
                    .map(|l| (l.external_event_id.clone(), l))
                    .collect(),
            )
        } else {
            None
        };
        let listed: HashSet<String> = listing.changed.iter().map(|c| c.id.clone()).collect();
        let mut wanted = Vec::new();
        let mut ready = Vec::new();
        let mut links: HashMap<String, EventLink> = HashMap::new();
        for change in listing.changed {
            let link = match &known {
                Some(map) => map.get(&change.id).cloned(),
                None => self.repo.event_link(id, &change.id).await?,
            };
            if link.as_ref().and_then(|l| l.etag.as_deref()) == Some(change.etag.as_str()) {
                continue;
            }
            if let Some(link) = link {
                links.insert(change.id.clone(), link);
            }
            match change.item {
                Some(item) => ready.push(item),
                None => wanted.push(change.id),
            }
        }
        if !wanted.is_empty() {
            ready.extend(remote.fetch(&wanted).await?);
        }
        // A removed occurrence named by its own id: the linked series are read again, and
        // those the provider no longer has are deleted.
        let mut series_gone = Vec::new();
        if !report.full && remote.removes_occurrences() {
            let mut unmatched = false;
            for removed in &listing.removed {
                if self.repo.event_link(id, removed).await?.is_none() {
                    unmatched = true;
                    break;
                }
            }
            if unmatched {
                let series = self.linked_series(integration, &listed).await?;
                let ids: Vec<String> = series.keys().cloned().collect();
                let found = remote.fetch(&ids).await?;
                let found_ids: HashSet<String> = found.iter().map(|i| i.id.clone()).collect();
                series_gone.extend(ids.into_iter().filter(|i| !found_ids.contains(i)));
                for item in found {
                    let Some(link) = series.get(&item.id) else {
                        continue;
                    };
                    if link.etag.as_deref() == Some(item.etag.as_str()) {
                        continue;
                    }
                    links.insert(item.id.clone(), link.clone());
                    ready.push(item);
                }
            }
        }
        let mut batch = Vec::new();
        for mut item in ready {
            if item.event.is_none() {
                tracing::warn!(integration = %id, remote = %item.id, "a remote event does not read as an event; left out");
                report.skipped += 1;
                continue;
            }
            // Changed here too since the last sync: the later edit wins, the other is logged.
            let mut linked = None;
            if let Some(link) = links.get(&item.id) {
                if let Some(local) = self.events.event(link.event_id).await? {
                    linked = Some(local.id);
                    // Exceptions the provider did not read (outside its window) stay.
                    keep_exceptions_outside(&mut item, &local.fields.exceptions);
                    if local.updated_at > link.last_synced_at {
                        report.conflicts += 1;
                        let external = item.id.clone();
                        let ours_won = self
                            .resolve(integration, remote, &local, Some(item), &external)
                            .await?;
                        if !ours_won {
                            report.updated += 1;
                        }
                        continue;
                    }
                }
            }
            let Some(event) = item.event.clone() else {
                continue;
            };
            let uid = event.uid.clone();
            let fields = match self.calendar.check(integration.user_id, input(event)).await {
                Ok(fields) => fields,
                Err(Error::Invalid(broken)) => {
                    tracing::warn!(integration = %id, remote = %item.id, %broken, "a remote event is not a valid event; left out");
                    report.skipped += 1;
                    continue;
                }
                Err(other) => return Err(other.into()),
            };
            batch.push(PulledEvent {
                ical_uid: uid,
                fields,
                linked,
                external_event_id: item.id,
                etag: Some(item.etag),
            });
            if batch.len() == PULL_BATCH {
                self.keep(integration, &mut batch, &mut report).await?;
            }
        }
        self.keep(integration, &mut batch, &mut report).await?;
        // Removed events, and on a full sync every linked one not listed as present (a provider
        // may also list removed events in a full listing: each is deleted once). An event that
        // follows a booking or session stays: only its booking or session deletes it.
        let mut gone: BTreeSet<String> = listing.removed.iter().cloned().collect();
        gone.extend(series_gone);
        // A full sync deletes every link not listed already.
        if !report.full {
            gone.extend(
                listing
                    .superseded
                    .iter()
                    .filter(|s| !listed.contains(*s))
                    .cloned(),
            );
        }
        if let Some(map) = &known {
            gone.extend(map.keys().filter(|h| !listed.contains(*h)).cloned());
        }
        let gone: Vec<String> = gone.into_iter().collect();
        for chunk in gone.chunks(PULL_BATCH) {
            report.deleted += self.repo.delete_pulled(id, chunk, time::now()).await?;
        }
        report.requests = remote.requests();
        Ok((report, listing.cursor))
    }
}

impl SyncEngine {
    /// The integration's links to series (recurring events) not among `listed`, by remote id.
    async fn linked_series(
        &self,
        integration: &Integration,
        listed: &HashSet<String>,
    ) -> Result<HashMap<String, EventLink>> {
        let links = self.repo.event_links(integration.id).await?;
        if links.is_empty() {
            return Ok(HashMap::new());
        }
        // Every event of the member, in one query: a century either way holds them all.
        let now = time::now();
        let century = chrono::Duration::days(36_525);
        let recurring: HashSet<_> = self
            .events
            .events_between(
                integration.user_id,
                EventScope::Calendar,
                now - century,
                now + century,
            )
            .await?
            .into_iter()
            .filter(|e| e.owner_id == integration.user_id && e.fields.recurrence.is_some())
            .map(|e| e.id)
            .collect();
        Ok(links
            .into_iter()
            .filter(|l| recurring.contains(&l.event_id) && !listed.contains(&l.external_event_id))
            .map(|l| (l.external_event_id.clone(), l))
            .collect())
    }

    /// Stores `batch` (emptied) as the integration's member's events in one transaction,
    /// counting what became of each.
    async fn keep(
        &self,
        integration: &Integration,
        batch: &mut Vec<PulledEvent>,
        report: &mut SyncReport,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let outcomes = self
            .repo
            .store_pulled(integration.id, integration.user_id, batch, time::now())
            .await?;
        for (pulled, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Pulled::Created => report.created += 1,
                Pulled::Updated => report.updated += 1,
                Pulled::Managed => {
                    tracing::warn!(integration = %integration.id, remote = %pulled.external_event_id, "a remote event carries the UID of a booking's or session's event; left out");
                    report.skipped += 1;
                }
            }
        }
        batch.clear();
        Ok(())
    }
}

/// Why a sync stopped: the store (an error of ours, returned as is) or the provider (recorded on
/// the integration).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncFailure {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("{0}")]
    Other(String),
    #[error(transparent)]
    Store(Error),
}

impl SyncFailure {
    /// Whether the provider refused the credentials (401/403 other than RFC 6578's
    /// `valid-sync-token`): only the member reconnecting can help.
    pub(crate) fn rejects_credentials(&self) -> bool {
        matches!(self, Self::Remote(RemoteError::Rejected(_)))
    }
}

/// How one sync attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Synced(SyncReport),
    /// The provider failed or could not be reached: worth retrying (the reason).
    Failed(String),
    /// The provider refused the credentials: the integration is now `revoked` until its member
    /// reconnects; retrying cannot help.
    Rejected(String),
    /// The integration no longer exists.
    Gone,
    /// The integration is not syncing (`revoked` or `paused`): nothing was asked of the provider.
    Idle(CalendarIntegrationStatus),
}

/// [`Error::Conflict`] `calendar_reconnect_required` for an integration in `status`.
pub(crate) fn reconnect_required(status: CalendarIntegrationStatus) -> Error {
    Error::conflict(
        "calendar_reconnect_required",
        format!(
            "the integration is {}: reconnect it with new credentials first",
            status.as_str()
        ),
    )
}

impl From<DavError> for SyncFailure {
    fn from(e: DavError) -> Self {
        Self::Remote(e.into())
    }
}

impl From<Error> for SyncFailure {
    fn from(e: Error) -> Self {
        Self::Store(e)
    }
}
