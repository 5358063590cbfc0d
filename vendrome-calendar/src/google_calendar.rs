//! One connected Google calendar as a [`RemoteCalendar`], after Google's documents:
//!
//! - developers.google.com/calendar/api/guides/sync: a full `events.list` follows `pageToken`
//!   to the last page, which alone carries `nextSyncToken`; an incremental one sends
//!   `syncToken` and gets every change, deleted events included (`status: cancelled`); a 410
//!   Gone means the token expired: list everything again (the engine then deletes links to
//!   events no longer listed).
//! - /v3/reference/events/list, /v3/reference/events (`etag`, `iCalUID`, `updated`), writes
//!   conditioned with `If-Match: <etag>` (412 on a newer version).
//! - /guides/push, /v3/reference/events/watch and /v3/reference/channels/stop: a watch channel
//!   (`id`, `type: web_hook`, `address`, `token`, `expiration` in ms) is opened on the events
//!   collection and stopped with its `id` and `resourceId`.
//!
//! Every call carries the access token; a 401 refreshes it once (the refreshed tokens are handed
//! to the caller to seal and store) and retries once; a refused refresh (`invalid_grant`) is
//! [`RemoteError::Rejected`], never retried. A series is synced as its RRULE; its instances
//! cancelled or changed on their own (`recurringEventId`) are read into it by
//! [`crate::google_series`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use vendrome_core::calendar::CalendarEvent;
use vendrome_core::enums::CalendarVisibility;
use vendrome_core::time::{self, Timestamp};

use crate::google_series;
use crate::ics::ImportedEvent;
use crate::oauth_app::OAuthApp;
use crate::provider::{
    master_version, Change, Listing, Refreshed, RemoteCalendar, RemoteError, RemoteItem, Written,
};
use crate::secrets::Credentials;
use crate::session::{read, refusal, Session};

/// An open watch channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchChannel {
    pub id: String,
    pub resource_id: Option<String>,
    pub expires_at: Timestamp,
}

/// A Google calendar reached with one member's tokens.
pub struct GoogleCalendar {
    session: Session,
    calendar_id: String,
}

impl std::fmt::Debug for GoogleCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCalendar")
            .field("calendar_id", &self.calendar_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventsPage {
    #[serde(default)]
    pub(crate) items: Vec<GoogleEvent>,
    pub(crate) next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleEvent {
    pub(crate) id: String,
    #[serde(default)]
    etag: String,
    pub(crate) status: Option<String>,
    #[serde(rename = "iCalUID")]
    pub(crate) ical_uid: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: Option<GoogleTime>,
    end: Option<GoogleTime>,
    recurrence: Option<Vec<String>>,
    pub(crate) recurring_event_id: Option<String>,
    /// An instance's place in its series.
    pub(crate) original_start_time: Option<GoogleTime>,
    visibility: Option<String>,
    updated: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoogleTime {
    date_time: Option<String>,
    date: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelAnswer {
    resource_id: Option<String>,
    expiration: Option<Value>,
}

impl OAuthApp {
    /// The API client of calendar `calendar_id` with `credentials`.
    pub fn calendar(
        self: &Arc<Self>,
        calendar_id: &str,
        credentials: Credentials,
    ) -> GoogleCalendar {
        GoogleCalendar {
            session: Session::new(self.clone(), credentials),
            calendar_id: calendar_id.to_owned(),
        }
    }
}

impl GoogleCalendar {
    /// Its access token expires at `at`: refreshed before the first request once it has.
    pub fn expiring(mut self, at: Option<Timestamp>) -> Self {
        self.session = self.session.expiring(at);
        self
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn events(&self, rest: &[&str]) -> Result<reqwest::Url, RemoteError> {
        let mut segments = vec!["calendars", self.calendar_id.as_str(), "events"];
        segments.extend(rest);
        self.session.url(&segments)
    }

    /// The calendar's id as Google names it (the account's address for `primary`).
    pub async fn account(&self) -> Result<String, RemoteError> {
        #[derive(Deserialize)]
        struct Calendar {
            id: String,
        }
        let url = self
            .session
            .url(&["calendars", self.calendar_id.as_str()])?;
        let response = self
            .session
            .send(|http, access| http.get(url.clone()).bearer_auth(access))
            .await?;
        Ok(read::<Calendar>(response).await?.id)
    }

    /// Opens a watch channel `id` on the calendar's events, notifying `address` with `token`.
    pub async fn watch(
        &self,
        address: &str,
        id: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<WatchChannel, RemoteError> {
        let url = self.events(&["watch"])?;
        let wanted =
            time::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(1));
        let body = json!({
            "id": id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "expiration": wanted.timestamp_millis().to_string(),
        });
        let response = self
            .session
            .send(|http, access| http.post(url.clone()).bearer_auth(access).json(&body))
            .await?;
        let answer: ChannelAnswer = read(response).await?;
        let expires_at = answer
            .expiration
            .and_then(|e| match e {
                Value::String(s) => s.parse::<i64>().ok(),
                Value::Number(n) => n.as_i64(),
                _ => None,
            })
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or(wanted);
        Ok(WatchChannel {
            id: id.to_owned(),
            resource_id: answer.resource_id,
            expires_at,
        })
    }

    /// Stops watch channel `id` (a channel Google no longer knows counts as stopped).
    pub async fn stop(&self, id: &str, resource_id: Option<&str>) -> Result<(), RemoteError> {
        let url = self.session.url(&["channels", "stop"])?;
        let body = json!({ "id": id, "resourceId": resource_id });
        let response = self
            .session
            .send(|http, access| http.post(url.clone()).bearer_auth(access).json(&body))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(()),
            status if status.is_success() => Ok(()),
            status => Err(refusal(status)),
        }
    }

    async fn list(&self, sync_token: Option<&str>) -> Result<Option<Listing>, RemoteError> {
        let url = self.events(&[])?;
        let mut listing = Listing {
            full: sync_token.is_none(),
            ..Listing::default()
        };
        let mut page_token: Option<String> = None;
        // Series and their instances, settled once every page is read.
        let mut masters = Vec::new();
        let mut instances = Vec::new();
        loop {
            let mut query: Vec<(&str, &str)> = Vec::new();
            if let Some(token) = sync_token {
                query.push(("syncToken", token));
            }
            if let Some(page) = &page_token {
                query.push(("pageToken", page));
            }
            let response = self
                .session
                .send(|http, access| http.get(url.clone()).query(&query).bearer_auth(access))
                .await?;
            if response.status() == StatusCode::GONE && sync_token.is_some() {
                return Ok(None);
            }
            let page: EventsPage = read(response).await?;
            for event in page.items {
                if event.recurring_event_id.is_some() {
                    instances.push(event);
                } else if event.status.as_deref() == Some("cancelled") {
                    listing.removed.push(event.id);
                } else if event.recurrence.is_some() {
                    masters.push(event);
                } else {
                    let item = remote_item(event);
                    listing.changed.push(Change {
                        id: item.id.clone(),
                        etag: item.etag.clone(),
                        item: Some(item),
                    });
                }
            }
            match page.next_page_token {
                Some(next) => page_token = Some(next),
                None => {
                    listing.cursor = page.next_sync_token;
                    google_series::settle(self, &mut listing, masters, instances).await?;
                    return Ok(Some(listing));
                }
            }
        }
    }
}

#[async_trait]
impl RemoteCalendar for GoogleCalendar {
    async fn changes(&self, cursor: Option<&str>) -> Result<Option<Listing>, RemoteError> {
        if let Some(listing) = self.list(cursor).await? {
            return Ok(Some(listing));
        }
        // 410 Gone: the sync token expired; everything again.
        Ok(self.list(None).await?.map(|mut l| {
            l.full = true;
            l
        }))
    }

    async fn fetch(&self, ids: &[String]) -> Result<Vec<RemoteItem>, RemoteError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let url = self.events(&[id.as_str()])?;
            let response = self
                .session
                .send(|http, access| http.get(url.clone()).bearer_auth(access))
                .await?;
            if matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::GONE) {
                continue;
            }
            let event: GoogleEvent = read(response).await?;
            if event.status.as_deref() != Some("cancelled") {
                found.push(remote_item(event));
            }
        }
        Ok(found)
    }

    async fn write(
        &self,
        id: Option<&str>,
        etag: Option<&str>,
        event: &CalendarEvent,
    ) -> Result<Written, RemoteError> {
        let mut body = google_body(event);
        let (method, url, etag) = match id {
            None => {
                body["iCalUID"] = json!(event.ical_uid);
                (Method::POST, self.events(&[])?, None)
            }
            Some(id) => (Method::PUT, self.events(&[id])?, etag.map(master_version)),
        };
        let response = self.session.write_json(method, &url, etag, &body).await?;
        let stored: GoogleEvent = read(response).await?;
        Ok(Written {
            id: stored.id,
            etag: (!stored.etag.is_empty()).then_some(stored.etag),
        })
    }

    fn requests(&self) -> usize {
        self.session.requests()
    }

    fn refreshed(&self) -> Option<Refreshed> {
        self.session.refreshed()
    }
}

/// A Google event as the engine reads it; `event` is `None` for what does not make one of ours
/// (no start).
pub(crate) fn remote_item(event: GoogleEvent) -> RemoteItem {
    let imported = imported(&event);
    RemoteItem {
        text: imported.as_ref().map(event_text).unwrap_or_default(),
        id: event.id,
        etag: event.etag,
        event: imported,
        // Google lists a series' exceptions whole (its EXDATE lines, its cancelled and moved
        // instances, none cut by a window).
        exceptions_within: None,
    }
}

pub(crate) fn instant(t: &GoogleTime) -> Option<(Timestamp, bool)> {
    if let Some(dt) = &t.date_time {
        return DateTime::parse_from_rfc3339(dt)
            .ok()
            .map(|d| (d.with_timezone(&Utc), false));
    }
    let date = NaiveDate::parse_from_str(t.date.as_deref()?, "%Y-%m-%d").ok()?;
    Some((Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?), true))
}

fn imported(event: &GoogleEvent) -> Option<ImportedEvent> {
    let (starts_at, all_day) = instant(event.start.as_ref()?)?;
    let (ends_at, _) = instant(event.end.as_ref()?)?;
    let timezone = match (&event.start.as_ref()?.time_zone, all_day) {
        (Some(zone), false) => zone.clone(),
        _ => "UTC".to_owned(),
    };
    let ical = event.ical_uid.clone().unwrap_or_else(|| event.id.clone());
    // An instance changed on its own is an event of its own, once, beside its series.
    let (uid, lines) = match (&event.recurring_event_id, &event.original_start_time) {
        (Some(_), Some(original)) => {
            let (at, _) = instant(original)?;
            (format!("{ical}#{}", at.format("%Y%m%dT%H%M%SZ")), None)
        }
        (Some(_), None) => return None,
        _ => (ical, event.recurrence.as_ref()),
    };
    let recurrence = lines.and_then(|lines| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("RRULE:").map(str::to_owned))
    });
    let exceptions = lines
        .map(|lines| exdates(lines, &timezone))
        .unwrap_or_default();
    let class = event.visibility.as_deref().and_then(|v| match v {
        "public" => Some("PUBLIC".to_owned()),
        "private" => Some("PRIVATE".to_owned()),
        "confidential" => Some("CONFIDENTIAL".to_owned()),
        _ => None,
    });
    Some(ImportedEvent {
        line: 0,
        uid,
        title: event
            .summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "Busy".to_owned()),
        description: event.description.clone(),
        location: event.location.clone(),
        url: None,
        starts_at,
        ends_at,
        all_day,
        timezone,
        recurrence,
        exceptions,
        class,
        last_modified: event
            .updated
            .as_deref()
            .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
            .map(|d| d.with_timezone(&Utc)),
    })
}

/// The start instants an event's `EXDATE` lines leave out (`EXDATE;TZID=Europe/London:…`,
/// `EXDATE:…Z`, `EXDATE;VALUE=DATE:…`; several values comma-separated), floating times read in
/// the event's zone.
fn exdates(lines: &[String], timezone: &str) -> Vec<Timestamp> {
    let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let mut out = Vec::new();
    for line in lines {
        let Some(rest) = line.strip_prefix("EXDATE") else {
            continue;
        };
        let Some((params, values)) = rest.split_once(':') else {
            continue;
        };
        let tzid = params.split(';').find_map(|p| p.strip_prefix("TZID="));
        out.extend(
            values
                .split(',')
                .filter_map(|v| crate::ics::parse_instant(v.trim(), tzid, zone))
                .map(|(instant, _)| instant),
        );
    }
    out
}

/// A remote version as iCalendar text, for the conflict log.
pub(crate) fn event_text(e: &ImportedEvent) -> String {
    let stamp = |t: Timestamp| t.format("%Y%m%dT%H%M%SZ").to_string();
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace(';', "\\;")
            .replace(',', "\\,")
            .replace('\n', "\\n")
    };
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Vendrome//Google Calendar copy//EN".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", escape(&e.uid)),
        format!("SUMMARY:{}", escape(&e.title)),
        format!("DTSTART:{}", stamp(e.starts_at)),
        format!("DTEND:{}", stamp(e.ends_at)),
    ];
    if let Some(d) = &e.description {
        lines.push(format!("DESCRIPTION:{}", escape(d)));
    }
    if let Some(l) = &e.location {
        lines.push(format!("LOCATION:{}", escape(l)));
    }
    if let Some(r) = &e.recurrence {
        lines.push(format!("RRULE:{r}"));
    }
    if let Some(m) = e.last_modified {
        lines.push(format!("LAST-MODIFIED:{}", stamp(m)));
    }
    lines.push("END:VEVENT".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    lines.join("\r\n") + "\r\n"
}

/// Our event as a Google event resource.
fn google_body(event: &CalendarEvent) -> Value {
    let f = &event.fields;
    let when = |t: Timestamp| {
        if f.all_day {
            let zone: chrono_tz::Tz = f.timezone.parse().unwrap_or(chrono_tz::UTC);
            json!({ "date": t.with_timezone(&zone).format("%Y-%m-%d").to_string() })
        } else {
            json!({ "dateTime": t.to_rfc3339(), "timeZone": f.timezone })
        }
    };
    let mut body = json!({
        "summary": f.title,
        "description": f.description,
        "location": f.location,
        "start": when(f.starts_at),
        "end": when(f.ends_at),
        "visibility": match f.visibility {
            CalendarVisibility::Public => "public",
            CalendarVisibility::Private => "private",
            CalendarVisibility::Busy => "default",
        },
    });
    if let Some(rule) = &f.recurrence {
        let mut lines = vec![format!("RRULE:{rule}")];
        lines.extend(
            f.exceptions
                .iter()
                .map(|x| format!("EXDATE:{}", x.format("%Y%m%dT%H%M%SZ"))),
        );
        body["recurrence"] = json!(lines);
    }
    body
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// A Google series with its RRULE and EXDATE lines (zoned, UTC and several values) reads
    /// as one recurring event with its exceptions; an instance changed on its own is an event of
    /// its own, with a UID of its own.
    #[test]
    fn a_series_keeps_its_rule_and_exceptions() {
        let event: super::GoogleEvent = serde_json::from_value(json!({
            "id": "s1", "etag": "\"1\"", "status": "confirmed", "iCalUID": "s1@google.com",
            "summary": "Standup",
            "start": {"dateTime": "2027-01-04T09:00:00Z", "timeZone": "Europe/London"},
            "end": {"dateTime": "2027-01-04T09:15:00Z", "timeZone": "Europe/London"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=10",
                           "EXDATE;TZID=Europe/London:20270105T090000",
                           "EXDATE:20270106T090000Z,20270107T090000Z"],
            "updated": "2026-12-01T10:00:00.000Z"
        }))
        .unwrap();
        let imported = super::imported(&event).unwrap();
        assert_eq!(imported.recurrence.as_deref(), Some("FREQ=DAILY;COUNT=10"));
        assert_eq!(imported.timezone, "Europe/London");
        let days: Vec<String> = imported
            .exceptions
            .iter()
            .map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string())
            .collect();
        assert_eq!(
            days,
            [
                "2027-01-05T09:00Z",
                "2027-01-06T09:00Z",
                "2027-01-07T09:00Z"
            ]
        );
        let instance: super::GoogleEvent = serde_json::from_value(json!({
            "id": "s1_20270108", "recurringEventId": "s1", "summary": "Standup (moved)",
            "iCalUID": "s1@google.com",
            "originalStartTime": {"dateTime": "2027-01-08T09:00:00Z", "timeZone": "Europe/London"},
            "start": {"dateTime": "2027-01-08T10:00:00Z"}, "end": {"dateTime": "2027-01-08T10:15:00Z"}
        }))
        .unwrap();
        let moved = super::imported(&instance).unwrap();
        assert_eq!(moved.uid, "s1@google.com#20270108T090000Z");
        assert_eq!(moved.recurrence, None);
        assert_eq!(moved.title, "Standup (moved)");
        let orphan: super::GoogleEvent = serde_json::from_value(json!({
            "id": "s1_x", "recurringEventId": "s1",
            "start": {"dateTime": "2027-01-08T10:00:00Z"}, "end": {"dateTime": "2027-01-08T10:15:00Z"}
        }))
        .unwrap();
        assert!(super::imported(&orphan).is_none());
    }
}
