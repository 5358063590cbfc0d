//! A local fake of Google's OAuth 2 endpoints and the Calendar API v3, holding one calendar's
//! events in memory and implementing only the documented behaviour the sync relies on:
//!
//! - developers.google.com/identity/protocols/oauth2/web-server: the authorization endpoint
//!   (`response_type=code`, `access_type=offline`, `prompt=consent`, PKCE `S256`) redirects back
//!   with `code` and `state`; the token endpoint trades a code for tokens only with the verifier
//!   whose SHA-256 is the challenge, and a refresh token for a new access token (`invalid_grant`
//!   once the consent is withdrawn).
//! - developers.google.com/calendar/api/guides/sync and /v3/reference/events/list: a listing
//!   without `syncToken` gives the events that are not cancelled, page by page (`pageToken`),
//!   the last page alone carrying `nextSyncToken`; with `syncToken` it gives every event changed
//!   since, cancelled ones included (`status: cancelled`); an expired token is 410 Gone.
//! - /v3/reference/events and events/list without `singleEvents`: a series is its master (with
//!   `recurrence` lines) and its exceptions, instances changed or cancelled on their own, each
//!   with `recurringEventId`, `originalStartTime` and the series' `iCalUID`; a listing without
//!   `syncToken` includes cancelled instances (not cancelled events) even without
//!   `showDeleted`; `iCalUID=` lists the events with that UID (cancelled ones with
//!   `showDeleted=true`).
//! - /v3/reference/events (get, insert, update): `etag` changes with every change; an update
//!   with `If-Match` on an older etag is 412.
//! - /guides/push, /v3/reference/events/watch, /v3/reference/channels/stop: a channel is opened
//!   with `{id, type: web_hook, address, token, expiration}` and answered with its `resourceId`
//!   and `expiration` (ms); stopped with `{id, resourceId}`.
//!
//! - /identity/protocols/oauth2/web-server#tokenrevoke: `POST /revoke` with `token=`.
//!
//! Requests without a valid access token are 401.

use std::collections::{BTreeMap, HashMap, HashSet};
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

pub const CLIENT_ID: &str = "vendrome-test-client";
pub const CLIENT_SECRET: &str = "fake-client-secret";
pub const ACCOUNT: &str = "alice@example.com";

/// What the fake holds and saw.
#[derive(Default)]
pub struct Fake {
    /// id → (change number, event resource).
    pub events: BTreeMap<String, (u64, Value)>,
    /// The last change number.
    pub version: u64,
    /// Sync tokens from before this change number are expired (410).
    pub tokens_valid_from: u64,
    /// Items per listing page.
    pub page_size: usize,
    /// code → (PKCE challenge, redirect URI).
    pub codes: HashMap<String, (String, String)>,
    pub access_tokens: HashSet<String>,
    pub refresh_tokens: HashSet<String>,
    /// Every token issued (access and refresh), to look for in the database and the log.
    pub issued: Vec<String>,
    /// Open channels: id → (token, address, resource id).
    pub channels: BTreeMap<String, (String, String, String)>,
    pub stopped: Vec<String>,
    /// Watch requests are answered 503.
    pub fail_watch: bool,
    /// Every request: `list`, `list sync`, `list ical`, `get`, `insert`, `update`, `watch`, `stop`,
    /// `calendar`, `token code`, `token refresh`, with ` 401` when refused for its token.
    pub requests: Vec<String>,
    pub issued_count: u64,
}

pub type Shared = Arc<Mutex<Fake>>;

impl Fake {
    fn issue(&mut self, prefix: &str) -> String {
        self.issued_count += 1;
        let token = format!("{prefix}-{}-{}", self.issued_count, uuid::Uuid::new_v4());
        self.issued.push(token.clone());
        token
    }

    /// Stores `event` (a new version of it) as the next change.
    pub fn put(&mut self, id: &str, mut event: Value) {
        self.version += 1;
        let version = self.version;
        event["id"] = json!(id);
        event["etag"] = json!(format!("\"{id}-{version}\""));
        event["updated"] = json!(chrono::Utc::now().to_rfc3339());
        if event.get("iCalUID").is_none() {
            event["iCalUID"] = json!(format!("{id}@google.com"));
        }
        event["status"] = event.get("status").cloned().unwrap_or(json!("confirmed"));
        self.events.insert(id.to_owned(), (version, event));
    }

    /// A remote event from `start` to `end` (RFC 3339).
    pub fn create(&mut self, id: &str, title: &str, start: &str, end: &str) {
        self.put(
            id,
            json!({"summary": title, "start": {"dateTime": start, "timeZone": "UTC"},
                   "end": {"dateTime": end, "timeZone": "UTC"}}),
        );
    }

    /// A remote series from `start` to `end` (RFC 3339, UTC) repeating by `rrule`.
    pub fn create_series(
        &mut self,
        id: &str,
        title: &str,
        (start, end): (&str, &str),
        rrule: &str,
    ) {
        self.put(
            id,
            json!({"summary": title, "start": {"dateTime": start, "timeZone": "UTC"},
                   "end": {"dateTime": end, "timeZone": "UTC"},
                   "recurrence": [format!("RRULE:{rrule}")]}),
        );
    }

    /// The instance of series `master` at `original` (RFC 3339, UTC) as an exception with
    /// `fields`, Google's id for it (`<master>_<original, basic format>`).
    fn instance(&mut self, master: &str, original: &str, mut fields: Value) -> String {
        let at = chrono::DateTime::parse_from_rfc3339(original).unwrap();
        let id = format!("{master}_{}", at.format("%Y%m%dT%H%M%SZ"));
        fields["recurringEventId"] = json!(master);
        fields["originalStartTime"] = json!({"dateTime": original, "timeZone": "UTC"});
        fields["iCalUID"] = self.events[master].1["iCalUID"].clone();
        self.put(&id, fields);
        id
    }

    /// Cancels one instance of series `master` (the one at `original`).
    pub fn cancel_instance(&mut self, master: &str, original: &str) -> String {
        self.instance(master, original, json!({"status": "cancelled"}))
    }

    /// Moves one instance of series `master` (the one at `original`) to `start`..`end`,
    /// titled `title`.
    pub fn move_instance(
        &mut self,
        master: &str,
        original: &str,
        (start, end): (&str, &str),
        title: &str,
    ) -> String {
        self.instance(
            master,
            original,
            json!({"summary": title, "start": {"dateTime": start, "timeZone": "UTC"},
                   "end": {"dateTime": end, "timeZone": "UTC"}}),
        )
    }

    /// Renames a remote event.
    pub fn rename(&mut self, id: &str, title: &str) {
        let mut event = self.events[id].1.clone();
        event["summary"] = json!(title);
        self.put(id, event);
    }

    /// Deletes a remote event (it stays as `cancelled` for incremental listings).
    pub fn cancel(&mut self, id: &str) {
        let mut event = self.events[id].1.clone();
        event["status"] = json!("cancelled");
        self.put(id, event);
    }

    /// Every sync token handed out so far expires.
    pub fn expire_sync_tokens(&mut self) {
        self.tokens_valid_from = self.version + 1;
    }

    /// Every access token expires (refresh tokens keep working).
    pub fn expire_access_tokens(&mut self) {
        self.access_tokens.clear();
    }

    /// The member withdraws consent: every token stops working.
    pub fn revoke(&mut self) {
        self.access_tokens.clear();
        self.refresh_tokens.clear();
    }

    /// The requests since the last call.
    pub fn take_requests(&mut self) -> Vec<String> {
        std::mem::take(&mut self.requests)
    }
}

/// Starts the fake; its address.
pub async fn start(fake: Shared) -> SocketAddr {
    {
        let mut f = fake.lock().unwrap();
        if f.page_size == 0 {
            f.page_size = 250;
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/o/oauth2/auth", get(authorize))
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .route("/calendar/v3/calendars/{calendar}", get(calendar))
        .route(
            "/calendar/v3/calendars/{calendar}/events",
            get(list).post(insert),
        )
        .route(
            "/calendar/v3/calendars/{calendar}/events/watch",
            post(watch),
        )
        .route(
            "/calendar/v3/calendars/{calendar}/events/{id}",
            get(get_event).put(update),
        )
        .route("/calendar/v3/channels/stop", post(stop))
        .with_state(fake);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

fn error(status: StatusCode, reason: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": reason,
                              "errors": [{"reason": reason}]}})),
    )
        .into_response()
}

/// Whether the request carries a valid access token (else it is logged as refused).
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
    State(fake): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let wanted = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("code_challenge_method", "S256"),
    ];
    for (key, value) in wanted {
        if q.get(key).map(String::as_str) != Some(value) {
            return error(StatusCode::BAD_REQUEST, &format!("{key} must be {value}"));
        }
    }
    let (Some(challenge), Some(redirect), Some(state)) = (
        q.get("code_challenge"),
        q.get("redirect_uri"),
        q.get("state"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "missing parameters");
    };
    if !q.get("scope").is_some_and(|s| s.contains("auth/calendar")) {
        return error(StatusCode::BAD_REQUEST, "no calendar scope");
    }
    let code = format!("code-{}", uuid::Uuid::new_v4());
    fake.lock()
        .unwrap()
        .codes
        .insert(code.clone(), (challenge.clone(), redirect.clone()));
    let mut location = reqwest::Url::parse(redirect).unwrap();
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    (StatusCode::FOUND, [("location", location.to_string())]).into_response()
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

async fn token(State(fake): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut fake = fake.lock().unwrap();
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return token_error("invalid_client");
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            fake.requests.push("token code".into());
            let Some((challenge, redirect)) = form.get("code").and_then(|c| fake.codes.remove(c))
            else {
                return token_error("invalid_grant");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != challenge || form.get("redirect_uri") != Some(&redirect) {
                return token_error("invalid_grant");
            }
            let access = fake.issue("access");
            let refresh = fake.issue("refresh");
            fake.access_tokens.insert(access.clone());
            fake.refresh_tokens.insert(refresh.clone());
            Json(json!({"access_token": access, "refresh_token": refresh,
                        "expires_in": 3599, "token_type": "Bearer",
                        "scope": "https://www.googleapis.com/auth/calendar.events"}))
            .into_response()
        }
        Some("refresh_token") => {
            fake.requests.push("token refresh".into());
            let known = form
                .get("refresh_token")
                .is_some_and(|r| fake.refresh_tokens.contains(r));
            if !known {
                return token_error("invalid_grant");
            }
            let access = fake.issue("access");
            fake.access_tokens.insert(access.clone());
            Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer"}))
                .into_response()
        }
        _ => token_error("unsupported_grant_type"),
    }
}

/// developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke: a refresh token
/// revoked ends it and the access tokens made from it (here: all of them).
async fn revoke(State(fake): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut fake = fake.lock().unwrap();
    fake.requests.push("revoke".into());
    match form.get("token") {
        Some(token) if fake.refresh_tokens.remove(token) => {
            fake.access_tokens.clear();
            StatusCode::OK.into_response()
        }
        _ => token_error("invalid_token"),
    }
}

async fn calendar(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(calendar): Path<String>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "calendar") {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    if calendar != "primary" && calendar != ACCOUNT {
        return error(StatusCode::NOT_FOUND, "notFound");
    }
    Json(json!({"kind": "calendar#calendar", "id": ACCOUNT, "summary": ACCOUNT})).into_response()
}

/// Page tokens: `<offset>:<version the listing started at>`; sync tokens: `s<version>`.
async fn list(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    let incremental = q.contains_key("syncToken");
    let what = match (incremental, q.contains_key("iCalUID")) {
        (true, _) => "list sync",
        (false, true) => "list ical",
        (false, false) => "list",
    };
    if !authorized(&mut fake, &headers, what) {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    if let Some(uid) = q.get("iCalUID") {
        let deleted = q.get("showDeleted").is_some_and(|v| v == "true");
        let items: Vec<Value> = fake
            .events
            .values()
            .filter(|(_, e)| {
                e["iCalUID"] == uid.as_str() && (deleted || e["status"] != "cancelled")
            })
            .map(|(_, e)| e.clone())
            .collect();
        let at = fake.version;
        return Json(json!({"kind": "calendar#events", "items": items,
                           "nextSyncToken": format!("s{at}")}))
        .into_response();
    }
    let since = match q.get("syncToken") {
        Some(token) => {
            let Some(since) = token.strip_prefix('s').and_then(|v| v.parse::<u64>().ok()) else {
                return error(StatusCode::BAD_REQUEST, "invalid");
            };
            if since < fake.tokens_valid_from {
                return error(StatusCode::GONE, "fullSyncRequired");
            }
            Some(since)
        }
        None => None,
    };
    let (offset, at) = match q.get("pageToken") {
        Some(page) => {
            let (offset, at) = page.split_once(':').unwrap();
            (offset.parse::<usize>().unwrap(), at.parse::<u64>().unwrap())
        }
        None => (0, fake.version),
    };
    // Only the page's events are copied: a listing of a large calendar costs the fake little.
    let matching: Vec<&Value> = fake
        .events
        .values()
        .filter(|(version, event)| match since {
            Some(since) => *version > since && *version <= at,
            // Cancelled instances of a series are listed (not cancelled events).
            None => {
                (event["status"] != "cancelled" || event.get("recurringEventId").is_some())
                    && *version <= at
            }
        })
        .map(|(_, event)| event)
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(fake.page_size)
        .map(|event| (*event).clone())
        .collect();
    let mut body = json!({"kind": "calendar#events", "items": page});
    if offset + fake.page_size < matching.len() {
        body["nextPageToken"] = json!(format!("{}:{at}", offset + fake.page_size));
    } else {
        body["nextSyncToken"] = json!(format!("s{at}"));
    }
    Json(body).into_response()
}

async fn get_event(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "get") {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    match fake.events.get(&id) {
        Some((_, event)) => Json(event.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "notFound"),
    }
}

async fn insert(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(_): Path<String>,
    Json(event): Json<Value>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "insert") {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    let id = format!("g{}", uuid::Uuid::new_v4().simple());
    fake.put(&id, event);
    Json(fake.events[&id].1.clone()).into_response()
}

async fn update(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    Json(mut event): Json<Value>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "update") {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    let Some((_, current)) = fake.events.get(&id) else {
        return error(StatusCode::NOT_FOUND, "notFound");
    };
    if let Some(wanted) = headers.get("if-match").and_then(|v| v.to_str().ok()) {
        if current["etag"] != wanted {
            return error(StatusCode::PRECONDITION_FAILED, "conditionNotMet");
        }
    }
    event["iCalUID"] = current["iCalUID"].clone();
    fake.put(&id, event);
    Json(fake.events[&id].1.clone()).into_response()
}

async fn watch(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(_): Path<String>,
    Json(channel): Json<Value>,
) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "watch") {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    if fake.fail_watch {
        return error(StatusCode::SERVICE_UNAVAILABLE, "backendError");
    }
    let (Some(id), Some("web_hook"), Some(address)) = (
        channel["id"].as_str(),
        channel["type"].as_str(),
        channel["address"].as_str(),
    ) else {
        return error(StatusCode::BAD_REQUEST, "invalid channel");
    };
    if id.len() > 64 || fake.channels.contains_key(id) {
        return error(StatusCode::BAD_REQUEST, "channelIdNotUnique");
    }
    let resource = format!("resource-{}", fake.channels.len() + 1);
    let token = channel["token"].as_str().unwrap_or_default().to_owned();
    fake.channels
        .insert(id.to_owned(), (token, address.to_owned(), resource.clone()));
    let expiration = channel["expiration"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| (chrono::Utc::now().timestamp_millis() + 3_600_000).to_string());
    Json(
        json!({"kind": "api#channel", "id": id, "resourceId": resource,
                "resourceUri": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
                "expiration": expiration}),
    )
    .into_response()
}

async fn stop(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut fake = fake.lock().unwrap();
    if !authorized(&mut fake, &headers, "stop") {
        return error(StatusCode::UNAUTHORIZED, "authError");
    }
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    match fake.channels.get(&id) {
        Some((_, _, resource)) if body["resourceId"] == resource.as_str() => {
            fake.channels.remove(&id);
            fake.stopped.push(id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "notFound"),
    }
}
