//! One connected Microsoft calendar (Graph v1.0) as a [`RemoteCalendar`], after Microsoft's
//! documents on learn.microsoft.com:
//!
//! - graph/delta-query-events and graph/api/event-delta: `GET /me/calendarView/delta` with a
//!   `startDateTime`/`endDateTime` window, following `@odata.nextLink` page by page to the last,
//!   which carries `@odata.deltaLink`, kept as the cursor and called as is next time; removed
//!   events come as `{"id", "@removed": {"reason"}}`; a delta link the service no longer knows is
//!   410 Gone (`syncStateNotFound`): list everything again.
//! - graph/api/event-update and event-get: writes conditioned with `If-Match: <@odata.etag>`
//!   (412 on a newer version); new events `POST /me/events`.
//! - graph/api/resources/event, event-list-instances: the delta lists a series as its
//!   occurrences; each series is read as one event ([`crate::graph_series`]).
//! - graph/change-notifications-delivery-webhooks and graph/api/resources/subscription:
//!   subscriptions on `me/events` with a `clientState` secret and a lifecycle URL, renewed by
//!   `PATCH` of `expirationDateTime`, deleted on disconnect.
//!
//! Links Graph hands out (`nextLink`, `deltaLink`) are followed only on the configured API's
//! origin, so the access token never goes elsewhere. Times are asked in UTC
//! (`Prefer: outlook.timezone="UTC"`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use vendrome_core::calendar::CalendarEvent;
use vendrome_core::enums::CalendarVisibility;
use vendrome_core::time::{self, Timestamp};

use crate::google_calendar::event_text;
use crate::graph_recurrence::patterned;
use crate::graph_series::{self, series_of};
use crate::ics::ImportedEvent;
use crate::oauth_app::OAuthApp;
use crate::provider::{
    master_version, Change, Listing, Refreshed, RemoteCalendar, RemoteError, RemoteItem, Written,
};
use crate::recurrence::{parse_zone, Rule};
use crate::secrets::Credentials;
use crate::session::{read, refusal, Session};

/// The longest subscription lifetime asked for on events: 4,230 minutes (under three days),
/// valid under every published limit.
pub const MAX_SUBSCRIPTION: Duration = Duration::from_secs(4230 * 60);

/// How far back and ahead of the first sync the synced window reaches.
pub(crate) const WINDOW_BACK: chrono::Duration = chrono::Duration::days(90);
pub(crate) const WINDOW_AHEAD: chrono::Duration = chrono::Duration::days(730);

/// An open subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub expires_at: Timestamp,
}

/// A Microsoft calendar reached with one member's tokens.
pub struct MicrosoftCalendar {
    session: Session,
    calendar_id: String,
}

impl std::fmt::Debug for MicrosoftCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftCalendar")
            .field("calendar_id", &self.calendar_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DeltaPage {
    #[serde(default)]
    value: Vec<Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphEvent {
    id: String,
    #[serde(rename = "iCalUId")]
    ical_uid: Option<String>,
    subject: Option<String>,
    body: Option<GraphBody>,
    location: Option<GraphLocation>,
    pub(crate) start: Option<GraphTime>,
    end: Option<GraphTime>,
    #[serde(default)]
    is_all_day: bool,
    sensitivity: Option<String>,
    last_modified_date_time: Option<String>,
}

#[derive(Deserialize)]
struct GraphBody {
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphLocation {
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphTime {
    date_time: String,
    pub(crate) time_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionAnswer {
    id: String,
    expiration_date_time: String,
}

impl OAuthApp {
    /// The Graph client of calendar `calendar_id` (`primary`: the member's default calendar)
    /// with `credentials`.
    pub fn microsoft_calendar(
        self: &Arc<Self>,
        calendar_id: &str,
        credentials: Credentials,
    ) -> MicrosoftCalendar {
        MicrosoftCalendar {
            session: Session::new(self.clone(), credentials),
            calendar_id: calendar_id.to_owned(),
        }
    }
}

pub(crate) const PREFER: &str = "outlook.timezone=\"UTC\", odata.maxpagesize=100";

impl MicrosoftCalendar {
    /// Its access token expires at `at`: refreshed before the first request once it has.
    pub fn expiring(mut self, at: Option<Timestamp>) -> Self {
        self.session = self.session.expiring(at);
        self
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn events_url(&self, rest: &[&str]) -> Result<reqwest::Url, RemoteError> {
        let mut segments = vec!["me"];
        if self.calendar_id != "primary" {
            segments.extend(["calendars", self.calendar_id.as_str()]);
        }
        segments.push("events");
        segments.extend(rest);
        self.session.url(&segments)
    }

    /// `link` if it is on the configured API's origin.
    pub(crate) fn followable(&self, link: &str) -> Result<reqwest::Url, RemoteError> {
        let base = self.session.url(&[])?;
        let url = reqwest::Url::parse(link).map_err(|_| {
            RemoteError::Failed("Graph handed out a link that does not parse".into())
        })?;
        if url.origin() != base.origin() {
            return Err(RemoteError::Failed(
                "Graph handed out a link to another origin; not followed".into(),
            ));
        }
        Ok(url)
    }

    /// The signed-in member's address (`mail`, else `userPrincipalName`, else their id).
    pub async fn account(&self) -> Result<String, RemoteError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Me {
            id: String,
            mail: Option<String>,
            user_principal_name: Option<String>,
        }
        let url = self.session.url(&["me"])?;
        let response = self
            .session
            .send(|http, access| http.get(url.clone()).bearer_auth(access))
            .await?;
        let me: Me = read(response).await?;
        Ok(me.mail.or(me.user_principal_name).unwrap_or(me.id))
    }

    /// Every page from `first`; `None` when the delta link is no longer known (410 or
    /// `syncStateNotFound`).
    async fn pages(&self, first: reqwest::Url, full: bool) -> Result<Option<Listing>, RemoteError> {
        let mut listing = Listing {
            full,
            ..Listing::default()
        };
        // Series touched by the listing (their master ids), each read once at the end.
        let mut series = BTreeSet::new();
        let mut next = first;
        loop {
            let url = next.clone();
            let response = self
                .session
                .send(|http, access| {
                    http.get(url.clone())
                        .bearer_auth(access)
                        .header("Prefer", PREFER)
                })
                .await?;
            let status = response.status();
            if status == StatusCode::GONE {
                return Ok(None);
            }
            if status.is_client_error() && status != StatusCode::UNAUTHORIZED {
                let text = response.text().await.unwrap_or_default();
                if text.contains("syncStateNotFound") || text.contains("resyncRequired") {
                    return Ok(None);
                }
                return Err(refusal(status));
            }
            let page: DeltaPage = read(response).await?;
            for item in page.value {
                let Some(id) = item.get("id").and_then(Value::as_str).map(str::to_owned) else {
                    continue;
                };
                if item.get("@removed").is_some() {
                    listing.removed.push(id);
                    continue;
                }
                if let Some(master) = series_of(&item) {
                    // A plain occurrence may be an exception back in its series: an event kept
                    // for it goes.
                    if item.get("type").and_then(Value::as_str) == Some("occurrence") {
                        listing.superseded.push(id);
                    }
                    series.insert(master);
                    continue;
                }
                let remote = remote_item(item);
                listing.changed.push(Change {
                    id: remote.id.clone(),
                    etag: remote.etag.clone(),
                    item: Some(remote),
                });
            }
            match (page.next_link, page.delta_link) {
                (Some(link), _) => next = self.followable(&link)?,
                (None, Some(delta)) => {
                    listing.cursor = Some(delta);
                    break;
                }
                (None, None) => {
                    return Err(RemoteError::Failed(
                        "Graph's last delta page has no deltaLink".into(),
                    ))
                }
            }
        }
        for master in series {
            match self.read_event(&master).await? {
                Some((item, moved)) => {
                    for item in std::iter::once(item).chain(moved) {
                        listing.changed.push(Change {
                            id: item.id.clone(),
                            etag: item.etag.clone(),
                            item: Some(item),
                        });
                    }
                }
                None => listing.removed.push(master),
            }
        }
        Ok(Some(listing))
    }

    fn initial(&self) -> Result<reqwest::Url, RemoteError> {
        let mut segments = vec!["me"];
        if self.calendar_id != "primary" {
            segments.extend(["calendars", self.calendar_id.as_str()]);
        }
        segments.extend(["calendarView", "delta"]);
        let mut url = self.session.url(&segments)?;
        let (from, to) = graph_series::window();
        url.query_pairs_mut()
            .append_pair("startDateTime", &stamp(from))
            .append_pair("endDateTime", &stamp(to));
        Ok(url)
    }

    /// Subscribes `address` to changes of the member's events (and its lifecycle events), for
    /// `ttl` (at most [`MAX_SUBSCRIPTION`]), with `client_state` echoed in every notification.
    pub async fn subscribe(
        &self,
        address: &str,
        client_state: &str,
        ttl: Duration,
    ) -> Result<Subscription, RemoteError> {
        let url = self.session.url(&["subscriptions"])?;
        let body = json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "lifecycleNotificationUrl": address,
            "resource": "me/events",
            "expirationDateTime": expiry(ttl),
            "clientState": client_state,
        });
        let response = self
            .session
            .send(|http, access| http.post(url.clone()).bearer_auth(access).json(&body))
            .await?;
        subscription(read(response).await?)
    }

    /// Extends subscription `id` for `ttl`; `None` when Graph no longer has it.
    pub async fn renew(
        &self,
        id: &str,
        ttl: Duration,
    ) -> Result<Option<Subscription>, RemoteError> {
        let url = self.session.url(&["subscriptions", id])?;
        let body = json!({ "expirationDateTime": expiry(ttl) });
        let response = self
            .session
            .send(|http, access| http.patch(url.clone()).bearer_auth(access).json(&body))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        subscription(read(response).await?).map(Some)
    }

    /// Deletes subscription `id` (one Graph no longer has counts as deleted).
    pub async fn unsubscribe(&self, id: &str) -> Result<(), RemoteError> {
        let url = self.session.url(&["subscriptions", id])?;
        let response = self
            .session
            .send(|http, access| http.delete(url.clone()).bearer_auth(access))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(()),
            status if status.is_success() => Ok(()),
            status => Err(refusal(status)),
        }
    }
}

/// An instant as Graph's query parameters take it.
pub(crate) fn stamp(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn expiry(ttl: Duration) -> String {
    let ttl =
        chrono::Duration::from_std(ttl.min(MAX_SUBSCRIPTION)).unwrap_or(chrono::Duration::hours(1));
    (time::now() + ttl).to_rfc3339()
}

fn subscription(answer: SubscriptionAnswer) -> Result<Subscription, RemoteError> {
    let expires_at = DateTime::parse_from_rfc3339(&answer.expiration_date_time)
        .map_err(|_| RemoteError::Failed("Graph's subscription expiry does not read".into()))?
        .with_timezone(&Utc);
    Ok(Subscription {
        id: answer.id,
        expires_at,
    })
}

#[async_trait]
impl RemoteCalendar for MicrosoftCalendar {
    async fn changes(&self, cursor: Option<&str>) -> Result<Option<Listing>, RemoteError> {
        if let Some(delta) = cursor {
            if let Some(listing) = self.pages(self.followable(delta)?, false).await? {
                return Ok(Some(listing));
            }
        }
        // No delta link, or Graph forgot it: everything in the window again.
        match self.pages(self.initial()?, true).await? {
            Some(listing) => Ok(Some(listing)),
            None => Err(RemoteError::Failed(
                "Graph refused a fresh delta query".into(),
            )),
        }
    }

    async fn fetch(&self, ids: &[String]) -> Result<Vec<RemoteItem>, RemoteError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some((item, moved)) = self.read_event(id).await? {
                found.push(item);
                found.extend(moved);
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
        let body = graph_body(event);
        let series = body.get("recurrence").is_some();
        let (method, url, etag) = match id {
            None => (Method::POST, self.events_url(&[])?, None),
            Some(id) => (
                Method::PATCH,
                self.events_url(&[id])?,
                etag.map(master_version),
            ),
        };
        let response = self.session.write_json(method, &url, etag, &body).await?;
        let stored: Value = read(response).await?;
        let mut item = remote_item(stored);
        if series {
            // Its exceptions deleted one by one, then read back as a sync reads it, so that the
            // version kept is the one the next listing shows.
            self.delete_exceptions(&item.id, event).await?;
            if let Some((read_back, _)) = self.read_event(&item.id).await? {
                item = read_back;
            }
        }
        Ok(Written {
            id: item.id,
            etag: (!item.etag.is_empty()).then_some(item.etag),
        })
    }

    fn removes_occurrences(&self) -> bool {
        true
    }

    fn requests(&self) -> usize {
        self.session.requests()
    }

    fn refreshed(&self) -> Option<Refreshed> {
        self.session.refreshed()
    }
}

pub(crate) fn remote_item(value: Value) -> RemoteItem {
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let etag = value
        .get("@odata.etag")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let imported = graph_event(value).and_then(|e| imported(&e));
    RemoteItem {
        text: imported.as_ref().map(event_text).unwrap_or_default(),
        id,
        etag,
        event: imported,
        exceptions_within: None,
    }
}

pub(crate) fn instant(t: &GraphTime) -> Option<Timestamp> {
    if let Ok(d) = DateTime::parse_from_rfc3339(&t.date_time) {
        return Some(d.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(&t.date_time, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    match t.time_zone.as_deref() {
        None | Some("UTC") => Some(Utc.from_utc_datetime(&naive)),
        Some(zone) => {
            let zone = crate::graph_zones::zone_of(zone)?;
            zone.from_local_datetime(&naive)
                .earliest()
                .map(|d| d.with_timezone(&Utc))
        }
    }
}

/// A Graph event resource, when it reads as one.
pub(crate) fn graph_event(value: Value) -> Option<GraphEvent> {
    serde_json::from_value(value).ok()
}

pub(crate) fn imported(event: &GraphEvent) -> Option<ImportedEvent> {
    let starts_at = instant(event.start.as_ref()?)?;
    let ends_at = instant(event.end.as_ref()?)?;
    let uid = event.ical_uid.clone().unwrap_or_else(|| event.id.clone());
    let class = event.sensitivity.as_deref().and_then(|s| match s {
        "private" => Some("PRIVATE".to_owned()),
        "confidential" | "personal" => Some("CONFIDENTIAL".to_owned()),
        _ => None,
    });
    Some(ImportedEvent {
        line: 0,
        uid,
        title: event
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "Busy".to_owned()),
        description: event
            .body
            .as_ref()
            .and_then(|b| b.content.clone())
            .filter(|c| !c.is_empty()),
        location: event
            .location
            .as_ref()
            .and_then(|l| l.display_name.clone())
            .filter(|l| !l.is_empty()),
        url: None,
        starts_at,
        ends_at,
        all_day: event.is_all_day,
        timezone: "UTC".to_owned(),
        recurrence: None,
        exceptions: Vec::new(),
        class,
        last_modified: event
            .last_modified_date_time
            .as_deref()
            .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
            .map(|d| d.with_timezone(&Utc)),
    })
}

/// Our event as a Graph event resource, times in UTC; a series with its `patternedRecurrence`
/// ([`crate::graph_recurrence`]), its times local to its zone so it repeats at the same local
/// time across daylight-saving changes (one Graph has no pattern for is written as its first
/// occurrence).
fn graph_body(event: &CalendarEvent) -> Value {
    let f = &event.fields;
    let recurrence = f.recurrence.as_deref().and_then(|raw| {
        let rule = Rule::parse(raw).ok()?;
        let zone = parse_zone(&f.timezone).ok()?;
        let pattern = patterned(&rule, f.starts_at, zone);
        if pattern.is_none() {
            tracing::warn!(event = %event.id, "Graph has no pattern for this series: its first occurrence is written");
        }
        Some((pattern?, zone))
    });
    let when = |t: Timestamp| match &recurrence {
        Some((_, zone)) => json!({
            "dateTime": t.with_timezone(zone).format("%Y-%m-%dT%H:%M:%S").to_string(),
            "timeZone": zone.name(),
        }),
        None => json!({ "dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC" }),
    };
    let mut body = json!({
        "subject": f.title,
        "body": { "contentType": "text", "content": f.description.clone().unwrap_or_default() },
        "location": { "displayName": f.location.clone().unwrap_or_default() },
        "start": when(f.starts_at),
        "end": when(f.ends_at),
        "isAllDay": f.all_day,
        "sensitivity": match f.visibility {
            CalendarVisibility::Private => "private",
            _ => "normal",
        },
    });
    if let Some((pattern, _)) = recurrence {
        body["recurrence"] = pattern;
    }
    body
}
