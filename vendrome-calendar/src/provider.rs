//! [`RemoteCalendar`]: what the sync engine ([`crate::sync`]) and the writes
//! ([`crate::writeback`]) ask of any provider — CalDAV, Google Calendar, Microsoft Graph — so
//! they drive each one alike: the changes since a cursor (every event when there is none or the
//! provider no longer knows it), the data of changed events the listing did not carry, and a
//! write conditioned on the version last seen.

use async_trait::async_trait;
use vendrome_core::calendar::CalendarEvent;
use vendrome_core::time::Timestamp;

use crate::caldav::DavError;
use crate::ics::ImportedEvent;
use crate::secrets::Credentials;

/// One remote event's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteItem {
    /// The provider's id for it (a CalDAV href, a Google or Graph event id).
    pub id: String,
    /// Its version (HTTP ETag).
    pub etag: String,
    /// The event, `None` when it does not read as one (left out of the sync).
    pub event: Option<ImportedEvent>,
    /// Its text as iCalendar, kept whole in the conflict log when it loses.
    pub text: String,
    /// The window `[from, to)` a series' exceptions were read within, when the provider gives
    /// them only there (Graph: the synced window); `None` when every exception was read. The
    /// stored event's exceptions outside it are kept by a pull ([`keep_exceptions_outside`]).
    pub exceptions_within: Option<(Timestamp, Timestamp)>,
}

/// `item`'s series with the exceptions of `stored` (the event it replaces) that lie outside the
/// window its own were read within: the provider said nothing about those starts, so they stay
/// as they were, and only the ones inside the window are replaced. Nothing changes for an item
/// whose exceptions were all read, or that is not a series.
pub(crate) fn keep_exceptions_outside(item: &mut RemoteItem, stored: &[Timestamp]) {
    let (Some((from, to)), Some(event)) = (item.exceptions_within, item.event.as_mut()) else {
        return;
    };
    if event.recurrence.is_none() {
        return;
    }
    let before = event.exceptions.len();
    event
        .exceptions
        .extend(stored.iter().filter(|t| **t < from || **t >= to).copied());
    if event.exceptions.len() == before {
        return;
    }
    event.exceptions.sort();
    event.exceptions.dedup();
    item.text = crate::google_calendar::event_text(event);
}

/// A remote event created or changed: its version, and its data when the listing carried it
/// (CalDAV's does not: the engine fetches only those whose version it does not hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    pub etag: String,
    pub item: Option<RemoteItem>,
}

/// What changed since a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Every remote event is listed (no cursor, or the provider refused it): links to events
    /// not listed are deleted.
    pub full: bool,
    pub changed: Vec<Change>,
    /// Events removed (or cancelled) remotely.
    pub removed: Vec<String>,
    /// Remote ids that may have named an event of their own and no longer do (Graph: an
    /// occurrence changed on its own, back in its series): an event linked to one is deleted; one
    /// not linked means nothing (unlike [`Self::removed`], no series is read again for it).
    pub superseded: Vec<String>,
    /// The cursor to ask from next time.
    pub cursor: Option<String>,
}

/// What a write left at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub id: String,
    /// The new version, `None` when the provider did not say.
    pub etag: Option<String>,
}

/// OAuth tokens obtained by a refresh during a call, to be sealed and stored by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    pub credentials: Credentials,
    pub expires_at: Option<Timestamp>,
}

/// How a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// 412: the event is no longer at the version the write was conditioned on.
    #[error("the event changed at the provider (412)")]
    Conflict,
    /// The provider refused the credentials (a refused refresh, a 401/403 on them): only the
    /// member reconnecting can help. The reason, without any credential.
    #[error("{0}")]
    Rejected(String),
    /// Any other failure (worth retrying). The reason, without any credential or URL.
    #[error("{0}")]
    Failed(String),
}

impl From<DavError> for RemoteError {
    fn from(e: DavError) -> Self {
        match e {
            DavError::Conflict => Self::Conflict,
            DavError::Unauthorized(_) => Self::Rejected(e.to_string()),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// The version of a series read with exceptions kept outside its master (Graph's deleted
/// occurrences, Google's cancelled and moved instances): the master's `etag`, followed by a
/// digest (FNV-1a over their seconds) of those exceptions when there are any, since they can
/// change while the master does not.
pub(crate) fn series_version(etag: &str, exceptions: &[Timestamp]) -> String {
    if exceptions.is_empty() {
        return etag.to_owned();
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for t in exceptions {
        for byte in t.timestamp().to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{etag};x{hash:016x}")
}

/// The master's own etag in a [`series_version`] (what a conditional write sends).
pub(crate) fn master_version(version: &str) -> &str {
    version.split_once(";x").map_or(version, |(etag, _)| etag)
}

/// One connected calendar at its provider.
#[async_trait]
pub trait RemoteCalendar: Send + Sync {
    /// The changes since `cursor` (every event when `None`; the provider refusing the cursor
    /// also gives every event, `full` set); `None` when the provider says nothing changed.
    async fn changes(&self, cursor: Option<&str>) -> Result<Option<Listing>, RemoteError>;

    /// The data of the events `ids` (those gone meanwhile left out).
    async fn fetch(&self, ids: &[String]) -> Result<Vec<RemoteItem>, RemoteError>;

    /// Writes `event` as the remote event `id` (a new one when `None`), only if it is still
    /// at version `etag` (only if absent when `None`).
    ///
    /// Errors: [`RemoteError::Conflict`] when it is not.
    async fn write(
        &self,
        id: Option<&str>,
        etag: Option<&str>,
        event: &CalendarEvent,
    ) -> Result<Written, RemoteError>;

    /// Whether the provider may report an occurrence of a series removed under the
    /// occurrence's own id, which names no series (Graph's `calendarView/delta`): an incremental
    /// listing with a removal that matches no linked event then has the engine read the linked
    /// series again ([`Self::fetch`] answers a series whole, its removed occurrences as
    /// EXDATEs).
    fn removes_occurrences(&self) -> bool {
        false
    }

    /// The id a new event gets when the client chooses it (a CalDAV href), `None` when the
    /// provider assigns it on creation.
    fn new_id(&self, _event: &CalendarEvent) -> Option<String> {
        None
    }

    /// HTTP requests made so far.
    fn requests(&self) -> usize;

    /// New tokens, when a call refreshed them.
    fn refreshed(&self) -> Option<Refreshed> {
        None
    }
}
