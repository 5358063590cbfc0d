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
//!   an update with `If-Match` on an older one is 412.
//! - graph/api/subscription-post-subscriptions, subscription-update, subscription-delete, and
//!   graph/change-notifications-delivery-webhooks: a subscription with `clientState` and an
//!   expiry, extended by `PATCH`, deleted by `DELETE`.
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
    /// Every request: `delta`, `delta next`, `get`, `insert`, `update`, `subscribe`, `renew`,
    /// `unsubscribe`, `me`, `token code`, `token refresh`, with ` 401` when refused for its
    /// token.
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
        .route("/v1.0/me/events/{id}", get(get_event).patch(update))
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
        if !q.contains_key("startDateTime") || !q.contains_key("endDateTime") {
            return error(StatusCode::BAD_REQUEST, "ErrorInvalidParameter");
        }
        (0usize, fake.version, None)
    };
    // Only the page's events are copied: a listing of a large mailbox costs the fake little.
    let matching: Vec<(&Value, bool)> = fake
        .events
        .values()
        .filter(|(version, _, deleted)| match since {
            Some(since) => *version > since && *version <= at,
            None => !deleted && *version <= at,
        })
        .map(|(_, event, deleted)| (event, *deleted))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(fake.page_size)
        .map(|(event, deleted)| {
            if *deleted {
                json!({"@odata.type": "#microsoft.graph.event", "id": event["id"],
                       "@removed": {"reason": "deleted"}})
            } else {
                (*event).clone()
            }
        })
        .collect();
    let base = format!("http://{address}/v1.0/me/calendarView/delta");
    let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
                          "value": page});
    if offset + fake.page_size < matching.len() {
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
    match fake.events.get(&id) {
        Some((_, event, false)) => Json(event.clone()).into_response(),
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
