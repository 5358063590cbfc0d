//! A Graph series kept as one event, after learn.microsoft.com graph/api/resources/event
//! (`type`: `singleInstance`, `occurrence`, `exception`, `seriesMaster`; `seriesMasterId`,
//! `originalStart`), graph/api/event-list-instances and graph/api/event-delete.
//!
//! `calendarView/delta` lists a series as its occurrences and exceptions, never as its master.
//! Here a series is one event, as natively (an RRULE minus EXDATEs): the listing's occurrences
//! only say which series to read, and each is read once per sync, its master by
//! `GET /me/events/{id}` (its `patternedRecurrence` read back as an RRULE by
//! [`crate::graph_recurrence::rrule_of`]) and its occurrences within the synced window by
//! `GET /me/events/{id}/instances`. An occurrence of the rule that Graph no longer lists (deleted
//! in Outlook: the documents say only that it is gone from the instances; the delta reports it
//! as `@removed` under its own id) becomes an EXDATE. A cancelled occurrence (`isCancelled`)
//! counts as deleted.
//!
//! An `exception` (an occurrence changed on its own in Outlook: moved, renamed) is shown once, at
//! its new time, as Google's moved instances are ([`crate::google_series`]): an EXDATE of the
//! series at its `originalStart`, plus an event of its own linked to the exception's id, with the
//! UID `<series UID>#<original start>`. Deleted in Outlook, it comes in the delta as `@removed`
//! under that id, and its event goes (the EXDATE stays: the occurrence is gone). Back in its
//! series (listed as a plain `occurrence` under that id again), its event goes and the series
//! reads without the EXDATE ([`crate::provider::Listing::superseded`]).
//!
//! Instances are read only within the synced window, so the EXDATEs read are only those inside
//! it: the item says so ([`RemoteItem::exceptions_within`]), and a pull replacing a stored
//! series keeps the stored exceptions outside the window ([`crate::provider::keep_exceptions_outside`]).
//!
//! The link of a series is its master's id; its version is the master's `@odata.etag`, followed
//! by a digest of its EXDATEs when it has any ([`crate::provider::series_version`]), since
//! deleting an occurrence need not change the master. Writing a series with exceptions deletes its instance at each excepted start after
//! the write (a 404, already gone, is fine), because a `patternedRecurrence` cannot hold them.

use std::collections::HashSet;

use chrono::DateTime;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use vendrome_core::calendar::CalendarEvent;
use vendrome_core::time::{self, Timestamp};

use crate::google_calendar::event_text;
use crate::graph_recurrence::rrule_of;
use crate::microsoft_calendar::{
    graph_event, imported, instant, remote_item, stamp, MicrosoftCalendar, PREFER, WINDOW_AHEAD,
    WINDOW_BACK,
};
use crate::provider::{series_version, RemoteError, RemoteItem};
use crate::recurrence::{Rule, Series};
use crate::session::{read, refusal};

/// The most occurrences of one series expanded to find its deleted ones; a longer series is
/// read without EXDATEs.
const EXPANSION_BUDGET: usize = 10_000;

/// The window a sync reads, from now.
pub(crate) fn window() -> (Timestamp, Timestamp) {
    let now = time::now();
    (now - WINDOW_BACK, now + WINDOW_AHEAD)
}

#[derive(Deserialize)]
struct InstancesPage {
    #[serde(default)]
    value: Vec<Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// Whether a listed event is one occurrence of a series (`Some(master id)`), or a master itself.
pub(crate) fn series_of(item: &Value) -> Option<String> {
    match item.get("type").and_then(Value::as_str) {
        Some("occurrence" | "exception") => item
            .get("seriesMasterId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Some("seriesMaster") => item.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The instant an instance stands for in its series: its `originalStart` (an exception's place
/// in the rule), else its start.
fn original_start(instance: &Value) -> Option<Timestamp> {
    if let Some(original) = instance.get("originalStart").and_then(Value::as_str) {
        if let Ok(t) = DateTime::parse_from_rfc3339(original) {
            return Some(t.with_timezone(&chrono::Utc));
        }
    }
    let start = serde_json::from_value(instance.get("start")?.clone()).ok()?;
    instant(&start)
}

/// The master `master` as one event: its rule, and as EXDATEs the rule's starts in
/// `[from, to)` that are not among `present`.
pub(crate) fn series_item(
    master: Value,
    present: &HashSet<i64>,
    from: Timestamp,
    to: Timestamp,
) -> RemoteItem {
    let recurrence = master.get("recurrence").cloned().filter(|r| !r.is_null());
    let mut item = remote_item(master.clone());
    let (Some(recurrence), Some(event)) = (recurrence, graph_event(master)) else {
        return item;
    };
    let Some(mut imported) = imported(&event) else {
        return item;
    };
    let Some((raw, zone)) = rrule_of(&recurrence) else {
        tracing::warn!(remote = %item.id, "a Graph series has a pattern not documented: read as its first occurrence");
        return item;
    };
    let zone = zone
        .or_else(|| {
            event
                .start
                .as_ref()
                .and_then(|s| s.time_zone.as_deref())
                .and_then(crate::graph_zones::zone_of)
        })
        .unwrap_or(chrono_tz::UTC);
    let Ok(rule) = Rule::parse(&raw) else {
        return item;
    };
    let duration = imported.ends_at - imported.starts_at;
    let exceptions = Series::new(&rule, zone, imported.starts_at, duration, &[])
        .ok()
        .and_then(|series| series.between(from, to, EXPANSION_BUDGET))
        .map(|occurrences| {
            occurrences
                .into_iter()
                .map(|(start, _)| start)
                .filter(|start| *start >= from && !present.contains(&start.timestamp()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    item.etag = series_version(&item.etag, &exceptions);
    item.exceptions_within = Some((from, to));
    imported.timezone = zone.name().to_owned();
    imported.recurrence = Some(rule.as_string());
    imported.exceptions = exceptions;
    item.text = event_text(&imported);
    item.event = Some(imported);
    item
}

/// Exception `instance` of the series whose UID is `series_uid`, as an event of its own at its
/// own time, with the UID `<series UID>#<original start>` (an instance carries its series' UID);
/// `None` when it does not read as an event.
fn moved_item(instance: Value, series_uid: Option<&str>) -> Option<RemoteItem> {
    let original = original_start(&instance)?;
    let mut item = remote_item(instance);
    let event = item.event.as_mut()?;
    let series_uid = series_uid.unwrap_or(event.uid.as_str()).to_owned();
    event.uid = format!("{series_uid}#{}", original.format("%Y%m%dT%H%M%SZ"));
    event.recurrence = None;
    event.exceptions.clear();
    item.text = event_text(event);
    Some(item)
}

impl MicrosoftCalendar {
    /// Event `id` (a series: its master and its instances in the synced window, as one item),
    /// and the events of the series' exceptions in the window; `None` when Graph no longer has
    /// it.
    pub(crate) async fn read_event(
        &self,
        id: &str,
    ) -> Result<Option<(RemoteItem, Vec<RemoteItem>)>, RemoteError> {
        let url = self.events_url(&[id])?;
        let response = self
            .session()
            .send(|http, access| {
                http.get(url.clone())
                    .bearer_auth(access)
                    .header("Prefer", PREFER)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let master: Value = read(response).await?;
        if master.get("recurrence").is_none_or(Value::is_null) {
            return Ok(Some((remote_item(master), Vec::new())));
        }
        let (from, to) = window();
        let mut present = HashSet::new();
        let mut exceptions = Vec::new();
        for instance in self.instances(id, from, to).await? {
            if instance.get("isCancelled").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if instance.get("type").and_then(Value::as_str) == Some("exception") {
                exceptions.push(instance);
            } else if let Some(start) = original_start(&instance) {
                present.insert(start.timestamp());
            }
        }
        let series = series_item(master, &present, from, to);
        let uid = series.event.as_ref().map(|e| e.uid.clone());
        let moved = exceptions
            .into_iter()
            .filter_map(|instance| moved_item(instance, uid.as_deref()))
            .collect();
        Ok(Some((series, moved)))
    }

    /// The instances of series `id` in `[from, to)`, every page.
    async fn instances(
        &self,
        id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Value>, RemoteError> {
        let mut url = self.events_url(&[id, "instances"])?;
        url.query_pairs_mut()
            .append_pair("startDateTime", &stamp(from))
            .append_pair("endDateTime", &stamp(to));
        let mut found = Vec::new();
        loop {
            let page_url = url.clone();
            let response = self
                .session()
                .send(|http, access| {
                    http.get(page_url.clone())
                        .bearer_auth(access)
                        .header("Prefer", PREFER)
                })
                .await?;
            let page: InstancesPage = read(response).await?;
            found.extend(page.value);
            match page.next_link {
                Some(link) => url = self.followable(&link)?,
                None => return Ok(found),
            }
        }
    }

    /// Deletes the instances of series `id` that start at one of `event`'s exceptions (a 404,
    /// one already gone, is fine).
    pub(crate) async fn delete_exceptions(
        &self,
        id: &str,
        event: &CalendarEvent,
    ) -> Result<(), RemoteError> {
        let exceptions = &event.fields.exceptions;
        let (Some(first), Some(last)) = (exceptions.iter().min(), exceptions.iter().max()) else {
            return Ok(());
        };
        let wanted: HashSet<i64> = exceptions.iter().map(|t| t.timestamp()).collect();
        let length = event.fields.ends_at - event.fields.starts_at;
        let to = *last + length.max(chrono::Duration::seconds(1));
        for instance in self.instances(id, *first, to).await? {
            let hit = original_start(&instance).is_some_and(|t| wanted.contains(&t.timestamp()));
            let Some(instance_id) = instance.get("id").and_then(Value::as_str) else {
                continue;
            };
            if !hit {
                continue;
            }
            let url = self.events_url(&[instance_id])?;
            let response = self
                .session()
                .send(|http, access| http.delete(url.clone()).bearer_auth(access))
                .await?;
            match response.status() {
                StatusCode::NOT_FOUND => {}
                status if status.is_success() => {}
                status => return Err(refusal(status)),
            }
        }
        Ok(())
    }
}
