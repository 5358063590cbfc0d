//! A local fake of the Microsoft identity platform's OAuth 2 endpoints and Microsoft Graph's
//! calendar API, holding one mailbox's events in memory and implementing only the documented
//! behaviour the sync relies on (learn.microsoft.com):
//!
//! - entra/identity-platform/v2-oauth2-auth-code-flow: the authorization endpoint (PKCE `S256`,
//!   scopes `offline_access Calendars.ReadWrite`) redirects back with `code` and `state`; the
//!   token endpoint trades a code for tokens only with the verifier whose SHA-256 is the
//!   challenge, and a refresh token for new tokens (`invalid_grant` once consent is withdrawn).
//! - graph/delta-query-events and graph/api/event-delta: `GET /me/calendarView/delta` with
//!   `startDateTime`/`endDateTime` lists the window's events page by page
//!   (`@odata.nextLink`), the last page carrying `@odata.deltaLink`; calling the delta link
//!   gives what changed since, deleted events as `{"id", "@removed": {"reason": "deleted"}}`;
//!   a delta token no longer kept is 410 Gone with `syncStateNotFound`.
//! - graph/api/event-get, event-update, user-post-events: `@odata.etag` changes with every change;
//!   an update with `If-Match` on an older one is 412; `GET` with
//!   `Prefer: outlook.timezone="UTC"` gives `start` and `end` in UTC (the series' pattern keeps
//!   its `recurrenceTimeZone`).
//! - graph/api/resources/event, patternedrecurrence, event-list-instances, event-delete: an event
//!   with a `recurrence` is a `seriesMaster`; `calendarView/delta` lists it as its occurrences
//!   in the window (`type: occurrence`, `seriesMasterId`, `originalStart`, times in UTC), never
//!   as the master; `GET /me/events/{id}/instances?startDateTime&endDateTime` lists its
//!   occurrences there; `DELETE /me/events/{id}` deletes an event, or one occurrence of a series
//!   (then gone from its instances, and in the next delta `@removed` under the occurrence's own
//!   id; the master is unchanged). The fake expands `daily` and `weekly` patterns only, with
//!   `numbered`, `endDate` and `noEnd` ranges.
//! - graph/api/resources/event (`type: exception`, `originalStart`) and event-list-instances
//!   ("the occurrences and exceptions"): an occurrence changed on its own in Outlook is listed,
//!   by the delta and by `instances`, as an `exception` under the occurrence's id, with its own
//!   times, subject and `@odata.etag` and its `originalStart`; deleted (`DELETE` on that id) it
//!   is `@removed` in the next delta; put back in its series it is listed again as a plain
//!   `occurrence`. (Graph's `instances` places an exception in the window by its new time; the
//!   fake by its original one.)
//! - graph/api/resources/datetimetimezone and recurrencerange: `timeZone` and
//!   `recurrenceTimeZone` may be Windows zone names; the fake knows those of [`WINDOWS_ZONES`]
//!   besides IANA names.
//! - graph/api/subscription-post-subscriptions, subscription-update, subscription-delete, and
//!   graph/change-notifications-delivery-webhooks: a subscription with `clientState` and an
//!   expiry, extended by `PATCH`, deleted by `DELETE`.
//!
//! Requests without a valid access token are 401.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "vendrome-graph-client";
pub const CLIENT_SECRET: &str = "fake-graph-secret";
pub const ACCOUNT: &str = "bob@contoso.example";

/// What the fake holds and saw.
#[derive(Default)]
pub struct Fake {
    /// id → (change number, event resource, deleted).
    pub events: BTreeMap<String, (u64, Value, bool)>,
    pub version: u64,
    /// Delta tokens from before this change number are no longer kept (410).
    pub tokens_valid_from: u64,
    pub page_size: usize,
    /// code → PKCE challenge.
    pub codes: HashMap<String, String>,
    pub access_tokens: HashSet<String>,
    pub refresh_tokens: HashSet<String>,
    /// Every token issued, to look for in the database and the log.
    pub issued: Vec<String>,
    /// Subscriptions: id → (clientState, notificationUrl, expirationDateTime).
    pub subscriptions: BTreeMap<String, (String, String, String)>,
    pub deleted_subscriptions: Vec<String>,
    /// Every request: `delta`, `delta next`, `get`, `insert`, `update`, `instances`, `delete`,
    /// `subscribe`, `renew`, `unsubscribe`, `me`, `token code`, `token refresh`, with ` 401`
    /// when refused for its token.
    pub requests: Vec<String>,
    /// The window of the last initial delta query.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Occurrences deleted from series: (change number, master id, start).
    pub deleted_occurrences: Vec<(u64, String, DateTime<Utc>)>,
    /// Occurrences changed on their own: (master id, original start) → (change number, their
    /// start, end and subject; `None` once put back in their series).
    pub exceptions: Exceptions,
    pub issued_count: u64,
}

pub type Shared = Arc<Mutex<Fake>>;

/// An exception's start, end and subject.
pub type Changed = (DateTime<Utc>, DateTime<Utc>, String);

/// The exceptions of every series, by master id and original start.
pub type Exceptions = BTreeMap<(String, DateTime<Utc>), (u64, Option<Changed>)>;

fn utc_of(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

impl Fake {
    fn issue(&mut self, prefix: &str) -> String {
        self.issued_count += 1;
        let token = format!("{prefix}-{}-{}", self.issued_count, uuid::Uuid::new_v4());
        self.issued.push(token.clone());
        token
    }

    fn store(&mut self, id: &str, mut event: Value, deleted: bool) {
        self.version += 1;
        let version = self.version;
        event["id"] = json!(id);
        event["@odata.etag"] = json!(format!("W/\"{id}-{version}\""));
        event["lastModifiedDateTime"] = json!(chrono::Utc::now().to_rfc3339());
        if event.get("iCalUId").is_none() {
            event["iCalUId"] = json!(format!("040000008200E0-{id}"));
        }
        // A series is its master (graph/api/resources/event: `type`).
        let kind = if event.get("recurrence").is_some_and(|r| !r.is_null()) {
            "seriesMaster"
        } else {
            "singleInstance"
        };
        event["type"] = json!(kind);
        self.events.insert(id.to_owned(), (version, event, deleted));
    }

    /// A remote event from `start` to `end` (`2027-01-04T09:00:00`, UTC).
    pub fn create(&mut self, id: &str, title: &str, start: &str, end: &str) {
        self.store(
            id,
            json!({"subject": title, "start": {"dateTime": format!("{start}.0000000"), "timeZone": "UTC"},
                   "end": {"dateTime": format!("{end}.0000000"), "timeZone": "UTC"},
                   "isAllDay": false, "sensitivity": "normal"}),
            false,
        );
    }

    pub fn rename(&mut self, id: &str, title: &str) {
        let mut event = self.events[id].1.clone();
        event["subject"] = json!(title);
        self.store(id, event, false);
    }

    pub fn delete(&mut self, id: &str) {
        let event = self.events[id].1.clone();
        self.store(id, event, true);
    }

    /// A series made in Outlook: its first occurrence from `start` to `end`, local times in
    /// `zone`, repeating by the patternedRecurrence `recurrence`.
    pub fn create_series(
        &mut self,
        id: &str,
        title: &str,
        (start, end): (&str, &str),
        zone: &str,
        recurrence: Value,
    ) {
        self.store(
            id,
            json!({"subject": title, "start": {"dateTime": start, "timeZone": zone},
                   "end": {"dateTime": end, "timeZone": zone}, "isAllDay": false,
                   "sensitivity": "normal", "recurrence": recurrence}),
            false,
        );
    }

    /// Deletes the occurrence of series `master` that starts at `start` (RFC 3339), as Outlook
    /// does when one occurrence is deleted.
    pub fn delete_occurrence(&mut self, master: &str, start: &str) {
        let start = DateTime::parse_from_rfc3339(start)
            .unwrap()
            .with_timezone(&Utc);
        self.version += 1;
        self.exceptions.remove(&(master.to_owned(), start));
        self.deleted_occurrences
            .push((self.version, master.to_owned(), start));
    }

    /// Changes the occurrence of series `master` at `original` on its own, as Outlook does when
    /// one occurrence is moved or renamed: from `start` to `end` (RFC 3339), titled `subject`.
    pub fn move_occurrence(
        &mut self,
        master: &str,
        original: &str,
        (start, end): (&str, &str),
        subject: &str,
    ) {
        self.version += 1;
        let changed = (utc_of(start), utc_of(end), subject.to_owned());
        self.exceptions.insert(
            (master.to_owned(), utc_of(original)),
            (self.version, Some(changed)),
        );
    }

    /// Puts the exception of series `master` at `original` back in its series.
    pub fn revert_occurrence(&mut self, master: &str, original: &str) {
        self.version += 1;
        self.exceptions
            .insert((master.to_owned(), utc_of(original)), (self.version, None));
    }

    /// Occurrence `start` of series `master` as `calendarView` and `instances` list it: an
    /// `exception` when it was changed on its own.
    fn instance(&self, master: &Value, start: DateTime<Utc>) -> Value {
        let id = master["id"].as_str().unwrap_or_default();
        let mut listed = occurrence(master, start);
        if let Some((version, Some((from, to, subject)))) =
            self.exceptions.get(&(id.to_owned(), start))
        {
            let key = occurrence_key(id, start);
            listed["type"] = json!("exception");
            listed["@odata.etag"] = json!(format!("W/\"{key}-{version}\""));
            listed["subject"] = json!(subject);
            listed["start"] = utc_time(*from);
            listed["end"] = utc_time(*to);
        }
        listed
    }

    /// The starts of the occurrences of series `master` deleted so far.
    pub fn deleted_starts(&self, master: &str) -> Vec<DateTime<Utc>> {
        self.deleted_occurrences
            .iter()
            .filter(|(_, m, _)| m == master)
            .map(|(_, _, start)| *start)
            .collect()
    }

    /// The starts of series `master`'s occurrences in `[from, to)` not deleted.
    fn occurrences(
        &self,
        master: &Value,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let id = master["id"].as_str().unwrap_or_default();
        let deleted = self.deleted_starts(id);
        expand(master, to)
            .into_iter()
            .filter(|s| *s >= from && !deleted.contains(s))
            .collect()
    }

    pub fn expire_delta_tokens(&mut self) {
        self.tokens_valid_from = self.version + 1;
    }

    pub fn expire_access_tokens(&mut self) {
        self.access_tokens.clear();
    }

    pub fn revoke(&mut self) {
        self.access_tokens.clear();
        self.refresh_tokens.clear();
    }

    pub fn take_requests(&mut self) -> Vec<String> {
        std::mem::take(&mut self.requests)
    }
}

pub async fn start(fake: Shared) -> SocketAddr {
    {
        let mut f = fake.lock().unwrap();
        if f.page_size == 0 {
            f.page_size = 100;
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/oauth2/v2.0/authorize", get(authorize))
        .route("/oauth2/v2.0/token", post(token))
        .route("/v1.0/me", get(me))
        .route("/v1.0/me/calendarView/delta", get(delta))
        .route("/v1.0/me/events", post(insert))
        .route(
            "/v1.0/me/events/{id}",
            get(get_event).patch(update).delete(delete_event),
        )
        .route("/v1.0/me/events/{id}/instances", get(instances))
        .route("/v1.0/subscriptions", post(subscribe))
        .route(
            "/v1.0/subscriptions/{id}",
            axum::routing::patch(renew).delete(unsubscribe),
        )
        .with_state((fake, address));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

type AppState = (Shared, SocketAddr);

fn error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": code}})),
    )
        .into_response()
}

fn authorized(fake: &mut Fake, headers: &HeaderMap, what: &str) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok = token.is_some_and(|t| fake.access_tokens.contains(t));
    fake.requests.push(if ok {
        what.to_owned()
    } else {
        format!("{what} 401")
    });
    ok
}

async fn authorize(
    State((fake, _)): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    for (key, value) in [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("code_challenge_method", "S256"),
    ] {
        if q.get(key).map(String::as_str) != Some(value) {
            return error(StatusCode::BAD_REQUEST, &format!("{key} must be {value}"));
        }
    }
    let scopes: Vec<&str> = q
        .get("scope")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    if !scopes.contains(&"offline_access") || !scopes.contains(&"Calendars.ReadWrite") {
        return error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let (Some(challenge), Some(redirect), Some(state)) = (
        q.get("code_challenge"),
        q.get("redirect_uri"),
        q.get("state"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let code = format!("code-{}", uuid::Uuid::new_v4());
    fake.lock()
        .unwrap()
        .codes
        .insert(code.clone(), challenge.clone());
    let mut location = reqwest::Url::parse(redirect).unwrap();
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    (StatusCode::FOUND, [("location", location.to_string())]).into_response()
}

fn token_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": code}))).into_response()
}

async fn token(
    State((fake, _)): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return token_error("invalid_client");
    }
    let grant = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            fake.requests.push("token code".into());
            let Some(challenge) = form.get("code").and_then(|c| fake.codes.remove(c)) else {
                return token_error("invalid_grant");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
        }
        Some("refresh_token") => {
            fake.requests.push("token refresh".into());
            let known = form
                .get("refresh_token")
                .is_some_and(|r| fake.refresh_tokens.remove(r));
            known
        }
        _ => return token_error("unsupported_grant_type"),
    };
    if !grant {
        return token_error("invalid_grant");
    }
    // Microsoft hands out a new refresh token with every grant.
    let access = fake.issue("access");
    let refresh = fake.issue("refresh");
    fake.access_tokens.insert(access.clone());
    fake.refresh_tokens.insert(refresh.clone());
    Json(
        json!({"access_token": access, "refresh_token": refresh, "expires_in": 3599,
                "token_type": "Bearer", "scope": "offline_access Calendars.ReadWrite"}),
    )
    .into_response()
}

async fn me(State((fake, _)): State<AppState>, headers: HeaderMap) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "me") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    Json(json!({"id": "7f1e-bob", "mail": ACCOUNT, "userPrincipalName": ACCOUNT})).into_response()
}

/// A row of a delta listing.
enum Row<'a> {
    Event(&'a Value),
    Occurrence(&'a Value, DateTime<Utc>),
    Removed(String),
}

/// `$skiptoken`: `<offset>-<version the listing started at>-<since, or "full">`; `$deltatoken`:
/// the version the last listing ended at.
async fn delta(
    State((fake, address)): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    let what = if q.contains_key("$skiptoken") {
        "delta next"
    } else {
        "delta"
    };
    if !authorized(&mut fake, &headers, what) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let (offset, at, since) = if let Some(skip) = q.get("$skiptoken") {
        let parts: Vec<&str> = skip.split('-').collect();
        let since = parts[2].parse::<u64>().ok();
        (parts[0].parse().unwrap(), parts[1].parse().unwrap(), since)
    } else if let Some(delta) = q.get("$deltatoken") {
        let since: u64 = delta.parse().unwrap();
        if since < fake.tokens_valid_from {
            return error(StatusCode::GONE, "syncStateNotFound");
        }
        (0usize, fake.version, Some(since))
    } else {
        let Some(window) = window_of(&q) else {
            return error(StatusCode::BAD_REQUEST, "ErrorInvalidParameter");
        };
        fake.window = Some(window);
        (0usize, fake.version, None)
    };
    let (from, to) = fake.window.unwrap_or_else(|| {
        let now = Utc::now();
        (
            now - chrono::Duration::days(3650),
            now + chrono::Duration::days(3650),
        )
    });
    // Only the page's events are copied: a listing of a large mailbox costs the fake little.
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (version, event, deleted) in fake.events.values() {
        let listed = match since {
            Some(since) => *version > since && *version <= at,
            None => !deleted && *version <= at,
        };
        if !listed {
            continue;
        }
        let id = event["id"].as_str().unwrap_or_default();
        let series = event.get("recurrence").is_some_and(|r| !r.is_null());
        match (series, *deleted) {
            (false, false) => rows.push(Row::Event(event)),
            (false, true) => rows.push(Row::Removed(id.to_owned())),
            (true, false) => rows.extend(
                fake.occurrences(event, from, to)
                    .into_iter()
                    .map(|start| Row::Occurrence(event, start)),
            ),
            (true, true) => rows.extend(
                fake.occurrences(event, from, to)
                    .into_iter()
                    .map(|start| Row::Removed(occurrence_key(id, start))),
            ),
        }
    }
    if let Some(since) = since {
        for (version, master, start) in &fake.deleted_occurrences {
            if *version > since && *version <= at {
                rows.push(Row::Removed(occurrence_key(master, *start)));
            }
        }
        // Occurrences changed on their own, or put back, since.
        for ((master, start), (version, _)) in &fake.exceptions {
            if *version <= since || *version > at {
                continue;
            }
            if let Some((_, event, false)) = fake.events.get(master) {
                if !fake.deleted_starts(master).contains(start) {
                    rows.push(Row::Occurrence(event, *start));
                }
            }
        }
    }
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(fake.page_size)
        .map(|row| match row {
            Row::Event(event) => (*event).clone(),
            Row::Occurrence(master, start) => fake.instance(master, *start),
            Row::Removed(id) => json!({"@odata.type": "#microsoft.graph.event", "id": id,
                                       "@removed": {"reason": "deleted"}}),
        })
        .collect();
    let base = format!("http://{address}/v1.0/me/calendarView/delta");
    let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
                          "value": page});
    if offset + fake.page_size < rows.len() {
        let since = since.map_or("full".to_owned(), |s| s.to_string());
        body["@odata.nextLink"] = json!(format!(
            "{base}?$skiptoken={}-{at}-{since}",
            offset + fake.page_size
        ));
    } else {
        body["@odata.deltaLink"] = json!(format!("{base}?$deltatoken={at}"));
    }
    Json(body).into_response()
}

async fn get_event(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "get") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let in_utc = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("outlook.timezone=\"UTC\""));
    match fake.events.get(&id) {
        Some((_, event, false)) => {
            let mut event = event.clone();
            if in_utc {
                for key in ["start", "end"] {
                    if let Some(t) = parse_time(&event[key]) {
                        event[key] = utc_time(t);
                    }
                }
            }
            Json(event).into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "ErrorItemNotFound"),
    }
}

async fn insert(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Json(event): Json<Value>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "insert") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let id = format!("AAMk{}", uuid::Uuid::new_v4().simple());
    fake.store(&id, event, false);
    (StatusCode::CREATED, Json(fake.events[&id].1.clone())).into_response()
}

async fn update(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(changes): Json<Value>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "update") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let Some((_, current, false)) = fake.events.get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound");
    };
    if let Some(wanted) = headers.get("if-match").and_then(|v| v.to_str().ok()) {
        if current["@odata.etag"] != wanted {
            return error(StatusCode::PRECONDITION_FAILED, "ErrorIrresolvableConflict");
        }
    }
    let mut event = current;
    for (key, value) in changes.as_object().unwrap() {
        event[key] = value.clone();
    }
    fake.store(&id, event, false);
    Json(fake.events[&id].1.clone()).into_response()
}

async fn subscribe(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "subscribe") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let (Some(url), Some(state), Some(expiry), Some("me/events")) = (
        body["notificationUrl"].as_str(),
        body["clientState"].as_str(),
        body["expirationDateTime"].as_str(),
        body["resource"].as_str(),
    ) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest");
    };
    if state.len() > 128 || body["lifecycleNotificationUrl"].as_str().is_none() {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest");
    }
    let id = uuid::Uuid::new_v4().to_string();
    fake.subscriptions.insert(
        id.clone(),
        (state.to_owned(), url.to_owned(), expiry.to_owned()),
    );
    (
        StatusCode::CREATED,
        Json(
            json!({"id": id, "resource": "me/events", "changeType": body["changeType"],
                    "notificationUrl": url, "expirationDateTime": expiry}),
        ),
    )
        .into_response()
}

async fn renew(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "renew") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let Some(expiry) = body["expirationDateTime"].as_str().map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest");
    };
    match fake.subscriptions.get_mut(&id) {
        Some(subscription) => {
            subscription.2 = expiry.clone();
            Json(json!({"id": id, "expirationDateTime": expiry})).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound"),
    }
}

async fn unsubscribe(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "unsubscribe") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    match fake.subscriptions.remove(&id) {
        Some(_) => {
            fake.deleted_subscriptions.push(id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound"),
    }
}

/// A few Windows zone names and their zones, after Unicode CLDR's windowsZones.xml (territory
/// "001").
pub const WINDOWS_ZONES: [(&str, chrono_tz::Tz); 3] = [
    ("Pacific Standard Time", chrono_tz::America::Los_Angeles),
    ("Eastern Standard Time", chrono_tz::America::New_York),
    ("GMT Standard Time", chrono_tz::Europe::London),
];

/// The zone `name` names, IANA or Windows.
fn zone(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok().or_else(|| {
        WINDOWS_ZONES
            .iter()
            .find(|(windows, _)| *windows == name)
            .map(|(_, zone)| *zone)
    })
}

fn parse_time(time: &Value) -> Option<DateTime<Utc>> {
    let raw = time["dateTime"].as_str()?;
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let zone = zone(time["timeZone"].as_str().unwrap_or("UTC"))?;
    Some(
        zone.from_local_datetime(&naive)
            .earliest()?
            .with_timezone(&Utc),
    )
}

/// The starts (before `to`) of the series `master`: its pattern from its range's start date, at
/// its start's local time in its range's zone.
fn expand(master: &Value, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let (Some(start), Some(pattern), Some(range)) = (
        parse_time(&master["start"]),
        master["recurrence"].get("pattern"),
        master["recurrence"].get("range"),
    ) else {
        return Vec::new();
    };
    let zone =
        zone(range["recurrenceTimeZone"].as_str().unwrap_or("UTC")).unwrap_or(chrono_tz::UTC);
    let local = start.with_timezone(&zone);
    let first = local.date_naive();
    let interval = i64::try_from(pattern["interval"].as_u64().unwrap_or(1).max(1)).unwrap();
    let days: Vec<String> = pattern["daysOfWeek"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let week_start =
        |d: NaiveDate| d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
    let count = range["numberOfOccurrences"].as_u64();
    let end_date = range["endDate"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let mut found = Vec::new();
    let last = to.date_naive() + chrono::Duration::days(1);
    let mut day = first;
    loop {
        if day > last {
            break;
        }
        if count.is_some_and(|c| found.len() as u64 >= c) || end_date.is_some_and(|e| day > e) {
            break;
        }
        let matches = match pattern["type"].as_str() {
            Some("daily") => (day - first).num_days() % interval == 0,
            Some("weekly") => {
                let weeks = (week_start(day) - week_start(first)).num_days() / 7;
                let name = day.format("%A").to_string().to_lowercase();
                weeks % interval == 0 && days.contains(&name)
            }
            _ => return found,
        };
        if matches {
            let Some(at) = zone
                .from_local_datetime(&day.and_time(local.time()))
                .earliest()
            else {
                day += chrono::Duration::days(1);
                continue;
            };
            let at = at.with_timezone(&Utc);
            if at >= to {
                break;
            }
            found.push(at);
        }
        day += chrono::Duration::days(1);
    }
    found
}

/// Occurrence `start` of series `master`, as `calendarView` and `instances` list it.
fn occurrence(master: &Value, start: DateTime<Utc>) -> Value {
    let length = match (parse_time(&master["start"]), parse_time(&master["end"])) {
        (Some(s), Some(e)) => e - s,
        _ => chrono::Duration::zero(),
    };
    let id = master["id"].as_str().unwrap_or_default();
    let utc = utc_time;
    json!({"@odata.type": "#microsoft.graph.event",
           "@odata.etag": master["@odata.etag"],
           "id": occurrence_key(id, start),
           "type": "occurrence", "seriesMasterId": id, "iCalUId": master["iCalUId"],
           "originalStart": start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
           "subject": master["subject"], "isAllDay": master["isAllDay"],
           "sensitivity": master["sensitivity"],
           "lastModifiedDateTime": master["lastModifiedDateTime"],
           "start": utc(start), "end": utc(start + length)})
}

/// An instant as the fake lists times (`Prefer: outlook.timezone="UTC"`).
fn utc_time(t: DateTime<Utc>) -> Value {
    json!({"dateTime": t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string(), "timeZone": "UTC"})
}

/// The id of series `master`'s occurrence at `start`.
fn occurrence_key(master: &str, start: DateTime<Utc>) -> String {
    format!("{master}_{}", start.format("%Y%m%dT%H%M%SZ"))
}

/// The series and start an occurrence id names.
fn occurrence_id(id: &str) -> Option<(&str, DateTime<Utc>)> {
    let (master, stamp) = id.rsplit_once('_')?;
    let naive = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()?;
    Some((master, Utc.from_utc_datetime(&naive)))
}

fn window_of(q: &HashMap<String, String>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let at = |key: &str| {
        DateTime::parse_from_rfc3339(q.get(key)?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    Some((at("startDateTime")?, at("endDateTime")?))
}

async fn instances(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "instances") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    let Some((from, to)) = window_of(&q) else {
        return error(StatusCode::BAD_REQUEST, "ErrorInvalidParameter");
    };
    let Some((_, master, false)) = fake.events.get(&id) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound");
    };
    let value: Vec<Value> = fake
        .occurrences(master, from, to)
        .into_iter()
        .map(|start| fake.instance(master, start))
        .collect();
    Json(json!({"value": value})).into_response()
}

async fn delete_event(
    State((fake, _)): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "delete") {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    }
    if let Some((master, start)) = occurrence_id(&id) {
        let live = match fake.events.get(master) {
            Some((_, event, false)) => {
                expand(event, start + chrono::Duration::seconds(1)).contains(&start)
            }
            _ => false,
        };
        if !live || fake.deleted_starts(master).contains(&start) {
            return error(StatusCode::NOT_FOUND, "ErrorItemNotFound");
        }
        let master = master.to_owned();
        fake.version += 1;
        let version = fake.version;
        fake.exceptions.remove(&(master.clone(), start));
        fake.deleted_occurrences.push((version, master, start));
        return StatusCode::NO_CONTENT.into_response();
    }
    match fake.events.get(&id) {
        Some((_, _, false)) => {
            fake.delete(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "ErrorItemNotFound"),
    }
}
