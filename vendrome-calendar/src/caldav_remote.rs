//! A CalDAV collection as a [`RemoteCalendar`]: its changes since a sync token (RFC 6578
//! `sync-collection`; a token the server refuses, 403 `valid-sync-token`, means listing every
//! member), or for a server without `sync-collection` its ctag (kept as the cursor, `ctag:…`):
//! unchanged, nothing to do after one request; changed, every member with its etag (a full
//! listing). Members' data comes from `calendar-multiget`, asked only for the members whose etag
//! the engine does not hold.

use async_trait::async_trait;
use vendrome_core::calendar::CalendarEvent;

use crate::caldav::{CaldavClient, Changes, DavError, Precondition};
use crate::ics;
use crate::provider::{Change, Listing, RemoteCalendar, RemoteError, RemoteItem, Written};
use crate::writeback::event_ics;

/// How a ctag is kept as an integration's cursor (told apart from an RFC 6578 sync token).
const CTAG: &str = "ctag:";

fn listing(changes: Changes, full: bool) -> Listing {
    Listing {
        full,
        changed: changes
            .changed
            .into_iter()
            .map(|(id, etag)| Change {
                id,
                etag,
                item: None,
            })
            .collect(),
        removed: changes.removed,
        superseded: Vec::new(),
        cursor: changes.token,
    }
}

impl CaldavClient {
    /// The changes of a collection without `sync-collection`: `None` when its ctag is still
    /// `previous`; else every member with its etag, the new ctag as the cursor.
    async fn by_ctag(&self, previous: Option<&str>) -> Result<Option<Listing>, DavError> {
        let ctag = self.ctag().await?;
        if ctag.is_some() && ctag.as_deref() == previous {
            return Ok(None);
        }
        // Read after the ctag: a change made in between moves the ctag again, so it is seen
        // next time.
        let changes = Changes {
            changed: self.etags().await?,
            removed: Vec::new(),
            token: ctag.map(|c| format!("{CTAG}{c}")),
        };
        Ok(Some(listing(changes, true)))
    }
}

#[async_trait]
impl RemoteCalendar for CaldavClient {
    async fn changes(&self, cursor: Option<&str>) -> Result<Option<Listing>, RemoteError> {
        // A server without sync-collection, seen before: straight to its ctag.
        if let Some(ctag) = cursor.and_then(|c| c.strip_prefix(CTAG)) {
            return Ok(self.by_ctag(Some(ctag)).await?);
        }
        match self.sync_collection(cursor).await {
            Err(DavError::InvalidSyncToken) => {
                Ok(Some(listing(self.sync_collection(None).await?, true)))
            }
            Err(DavError::SyncUnsupported) => Ok(self.by_ctag(None).await?),
            other => Ok(Some(listing(other?, cursor.is_none()))),
        }
    }

    async fn fetch(&self, ids: &[String]) -> Result<Vec<RemoteItem>, RemoteError> {
        Ok(self
            .multiget(ids)
            .await?
            .into_iter()
            .map(|r| RemoteItem {
                event: ics::read_calendar(&r.ics)
                    .ok()
                    .and_then(|events| events.into_iter().next()),
                id: r.href,
                etag: r.etag,
                text: r.ics,
                exceptions_within: None,
            })
            .collect())
    }

    async fn write(
        &self,
        id: Option<&str>,
        etag: Option<&str>,
        event: &CalendarEvent,
    ) -> Result<Written, RemoteError> {
        let href = id.map_or_else(|| self.new_href(&event.ical_uid), str::to_owned);
        let condition = etag.map_or(Precondition::Absent, Precondition::Matches);
        let etag = self.put(&href, &event_ics(event), condition).await?;
        Ok(Written { id: href, etag })
    }

    fn new_id(&self, event: &CalendarEvent) -> Option<String> {
        Some(self.new_href(&event.ical_uid))
    }

    fn requests(&self) -> usize {
        CaldavClient::requests(self)
    }
}
