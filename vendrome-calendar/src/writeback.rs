//! Two-way sync: a member's native event written to a connected calendar, and the conflict
//! policy shared with [`crate::sync`].
//!
//! A write is conditioned on the version we last saw (`If-Match: <etag>`, or `If-None-Match: *`
//! for an event the provider does not have yet). When the provider refuses it (412), or a sync
//! finds an event changed on both sides since the last sync, the later edit wins: our
//! `updated_at` against the provider's `LAST-MODIFIED` (`DTSTAMP` when it has none; a version
//! that says neither loses to ours). The loser is kept whole, as iCalendar text, in the conflict
//! log (`GET /v1/calendar/conflicts`), never silently lost.

use vendrome_core::access::Caller;
use vendrome_core::calendar::integrations::{Conflict, EventLink, Integration};
use vendrome_core::calendar::CalendarEvent;
use vendrome_core::ids::{CalendarConflictId, CalendarEventId, CalendarIntegrationId};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::{Error, Result};

use crate::ics::{self, ImportedEvent};
use crate::provider::{RemoteCalendar, RemoteError, RemoteItem};
use crate::sync::{SyncEngine, SyncFailure};

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The provider's id for the event (a CalDAV href).
    pub external_event_id: String,
    /// Whether the provider did not have it before.
    pub created: bool,
    /// `Some(ours_won)` when the write met a newer remote version.
    pub conflict: Option<bool>,
}

/// Our event as a one-event calendar, as written to a provider.
pub(crate) fn event_ics(event: &CalendarEvent) -> String {
    ics::write_calendar("Vendrome", std::slice::from_ref(event), time::now())
}

/// Whether our version (changed at `ours`) beats theirs (changed at `theirs`, if it said).
pub(crate) fn ours_wins(ours: Timestamp, theirs: Option<Timestamp>) -> bool {
    theirs.is_none_or(|t| ours > t)
}

/// The conflict-log entry of a lost edit.
pub(crate) fn conflict(
    integration: &Integration,
    event: &CalendarEvent,
    href: &str,
    theirs: Option<&ImportedEvent>,
    ours_won: bool,
    loser_ics: String,
) -> Conflict {
    Conflict {
        id: CalendarConflictId::new(),
        user_id: integration.user_id,
        integration_id: Some(integration.id),
        event_id: Some(event.id),
        external_event_id: href.to_owned(),
        ours_won,
        ours_updated_at: event.updated_at,
        theirs_updated_at: theirs.and_then(|t| t.last_modified),
        loser_ics,
        created_at: time::now(),
    }
}

impl SyncEngine {
    /// Writes the caller's event `event` to their integration `integration` (creating it there,
    /// or replacing the version last seen), resolving a conflicting remote edit by the policy
    /// above.
    ///
    /// Errors: [`Error::NotFound`] (`calendar integration`, `calendar event`) for anything not
    /// the caller's; [`Error::Unavailable`] `calendar_sync_failed` when the provider fails or
    /// refuses.
    pub async fn push(
        &self,
        caller: &Caller,
        integration: CalendarIntegrationId,
        event: CalendarEventId,
    ) -> Result<PushReport> {
        let integration = self.integrations.get(caller, integration).await?;
        let event = match self.events.event(event).await? {
            Some(e) if e.owner_id == caller.user_id => e,
            _ => return Err(Error::not_found("calendar event")),
        };
        let remote = match self.remote(&integration) {
            Ok(remote) => remote,
            Err(failure) => return Err(self.failed(integration.id, failure).await?),
        };
        let pushed = self.push_to(&integration, remote.as_ref(), &event).await;
        self.keep_refreshed(&integration, remote.as_ref()).await?;
        match pushed {
            Ok(report) => Ok(report),
            Err(failure) => Err(self.failed(integration.id, failure).await?),
        }
    }

    async fn push_to(
        &self,
        integration: &Integration,
        remote: &dyn RemoteCalendar,
        event: &CalendarEvent,
    ) -> std::result::Result<PushReport, SyncFailure> {
        let link = self.repo.link_of_event(integration.id, event.id).await?;
        let (id, condition) = match &link {
            Some(l) => (Some(l.external_event_id.clone()), l.etag.clone()),
            None => (remote.new_id(event), None),
        };
        match remote
            .write(id.as_deref(), condition.as_deref(), event)
            .await
        {
            Ok(written) => {
                self.link(integration, event.id, &written.id, written.etag)
                    .await?;
                Ok(PushReport {
                    external_event_id: written.id,
                    created: link.is_none(),
                    conflict: None,
                })
            }
            Err(RemoteError::Conflict) => {
                let id = id.unwrap_or_default();
                let theirs = remote.fetch(std::slice::from_ref(&id)).await?;
                let ours_won = self
                    .resolve(integration, remote, event, theirs.into_iter().next(), &id)
                    .await?;
                Ok(PushReport {
                    external_event_id: id,
                    created: false,
                    conflict: Some(ours_won),
                })
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Settles an event changed on both sides: writes ours over theirs (conditioned on their
    /// version) or takes theirs, and logs the loser. Returns whether ours won.
    pub(crate) async fn resolve(
        &self,
        integration: &Integration,
        remote: &dyn RemoteCalendar,
        event: &CalendarEvent,
        item: Option<RemoteItem>,
        id: &str,
    ) -> std::result::Result<bool, SyncFailure> {
        let theirs = item.as_ref().and_then(|i| i.event.clone());
        // An event that follows a booking or session changes only with it: ours always wins.
        let ours_won = event.managed_by.is_some()
            || ours_wins(
                event.updated_at,
                theirs.as_ref().and_then(|t| t.last_modified),
            );
        match (ours_won, &item, theirs.clone()) {
            (false, Some(item), Some(imported)) => {
                let fields = self
                    .calendar
                    .check(
                        integration.user_id,
                        crate::exchange::input(imported.clone()),
                    )
                    .await?;
                self.events.update_event(event.id, &fields).await?;
                self.link(integration, event.id, id, Some(item.etag.clone()))
                    .await?;
                self.repo
                    .record_conflict(&conflict(
                        integration,
                        event,
                        id,
                        Some(&imported),
                        false,
                        event_ics(event),
                    ))
                    .await?;
                Ok(false)
            }
            _ => {
                let condition = item.as_ref().map(|i| i.etag.as_str());
                let written = remote.write(Some(id), condition, event).await?;
                self.link(integration, event.id, &written.id, written.etag)
                    .await?;
                if let Some(item) = item {
                    self.repo
                        .record_conflict(&conflict(
                            integration,
                            event,
                            id,
                            theirs.as_ref(),
                            true,
                            item.text,
                        ))
                        .await?;
                }
                Ok(true)
            }
        }
    }

    pub(crate) async fn link(
        &self,
        integration: &Integration,
        event: CalendarEventId,
        href: &str,
        etag: Option<String>,
    ) -> Result<()> {
        self.repo
            .save_link(&EventLink {
                event_id: event,
                integration_id: integration.id,
                external_event_id: href.to_owned(),
                etag,
                last_synced_at: time::now(),
            })
            .await
    }
}
