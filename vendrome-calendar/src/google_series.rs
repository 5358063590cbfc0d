//! Google's per-instance overrides of a series, after developers.google.com/calendar/api
//! /v3/reference/events (`recurringEventId`, `originalStartTime`, `status`) and
//! /v3/reference/events/list (`iCalUID`, `showDeleted`; without `singleEvents`, a listing holds
//! a series as its master and its exceptions: instances changed on their own, and cancelled
//! instances, which a full listing includes even without `showDeleted`).
//!
//! A series stays one event here, as natively (an RRULE minus EXDATEs), and its overrides are
//! read into that shape:
//!
//! - a cancelled instance is an EXDATE of the series at its `originalStartTime`;
//! - an instance changed on its own (moved, renamed) is an EXDATE of the series there, plus an
//!   event of its own, linked to the instance's id and with the UID `<series UID>#<original
//!   start>`, so the member sees it once, at its new time. Cancelled later, that event goes
//!   and the EXDATE stays.
//!
//! A full listing carries each series' master and exceptions together. An incremental one
//! carries only what changed (a master without its exceptions, or an instance without its
//! master), so each series it touches is read whole by one more `events.list` with its
//! `iCalUID` and `showDeleted=true`. The series' version is its master's etag followed by a
//! digest of the EXDATEs its instances make ([`crate::provider::series_version`]): an override
//! changes the series even when the master does not.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use vendrome_core::time::Timestamp;

use crate::google_calendar::{
    event_text, instant, remote_item, EventsPage, GoogleCalendar, GoogleEvent,
};
use crate::provider::{series_version, Change, Listing, RemoteError};
use crate::session::read;

/// The series' masters and instances a listing held, settled into `listing`: each series one
/// change (its overrides as EXDATEs), each moved instance one change, each cancelled instance
/// one removal. An incremental listing reads each series it touches whole first.
pub(crate) async fn settle(
    calendar: &GoogleCalendar,
    listing: &mut Listing,
    masters: Vec<GoogleEvent>,
    instances: Vec<GoogleEvent>,
) -> Result<(), RemoteError> {
    let mut series: BTreeMap<String, (Option<GoogleEvent>, Vec<GoogleEvent>)> = BTreeMap::new();
    for master in masters {
        let id = master.id.clone();
        series.entry(id).or_default().0 = Some(master);
    }
    for instance in instances {
        let Some(of) = instance.recurring_event_id.clone() else {
            continue;
        };
        series.entry(of).or_default().1.push(instance);
    }
    for (id, (master, instances)) in series {
        let (master, instances) = if listing.full {
            (master, instances)
        } else {
            let uid = master
                .as_ref()
                .and_then(|m| m.ical_uid.clone())
                .or_else(|| instances.iter().find_map(|i| i.ical_uid.clone()));
            match uid {
                Some(uid) => whole(calendar, &id, &uid).await?,
                None => (master, instances),
            }
        };
        keep(listing, &id, master, instances);
    }
    Ok(())
}

/// Series `id` (iCalendar UID `uid`) read whole: its master (`None` when it is gone) and every
/// exception, cancelled ones included.
async fn whole(
    calendar: &GoogleCalendar,
    id: &str,
    uid: &str,
) -> Result<(Option<GoogleEvent>, Vec<GoogleEvent>), RemoteError> {
    let url = calendar.events(&[])?;
    let mut master = None;
    let mut instances = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut query = vec![("iCalUID", uid), ("showDeleted", "true")];
        if let Some(page) = &page_token {
            query.push(("pageToken", page.as_str()));
        }
        let response = calendar
            .session()
            .send(|http, access| http.get(url.clone()).query(&query).bearer_auth(access))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok((None, Vec::new()));
        }
        let page: EventsPage = read(response).await?;
        for event in page.items {
            if event.recurring_event_id.as_deref() == Some(id) {
                instances.push(event);
            } else if event.id == id && event.status.as_deref() != Some("cancelled") {
                master = Some(event);
            }
        }
        match page.next_page_token {
            Some(next) => page_token = Some(next),
            None => return Ok((master, instances)),
        }
    }
}

/// Series `id` into `listing`: its overrides as EXDATEs of its master, moved instances as their
/// own changes, cancelled ones as removals (a moved instance linked before goes); without a
/// master, the series itself is removed.
fn keep(listing: &mut Listing, id: &str, master: Option<GoogleEvent>, instances: Vec<GoogleEvent>) {
    let mut overridden: Vec<Timestamp> = Vec::new();
    for instance in instances {
        let original = instance
            .original_start_time
            .as_ref()
            .and_then(instant)
            .map(|(t, _)| t);
        if let Some(original) = original {
            overridden.push(original);
        }
        if instance.status.as_deref() == Some("cancelled") || master.is_none() {
            listing.removed.push(instance.id);
            continue;
        }
        let item = remote_item(instance);
        listing.changed.push(Change {
            id: item.id.clone(),
            etag: item.etag.clone(),
            item: Some(item),
        });
    }
    let Some(master) = master else {
        listing.removed.push(id.to_owned());
        return;
    };
    overridden.sort();
    overridden.dedup();
    let mut item = remote_item(master);
    item.etag = series_version(&item.etag, &overridden);
    if let Some(event) = item.event.as_mut() {
        if event.recurrence.is_some() {
            event.exceptions.extend(overridden);
            event.exceptions.sort();
            event.exceptions.dedup();
        }
        item.text = event_text(event);
    }
    // The master may already be listed (a full listing): replaced by its settled version.
    listing.changed.retain(|c| c.id != id);
    listing.changed.push(Change {
        id: item.id.clone(),
        etag: item.etag.clone(),
        item: Some(item),
    });
}
