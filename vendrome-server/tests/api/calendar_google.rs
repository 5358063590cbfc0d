//! Google calendars against a local fake of Google's documented API (`google_fake`): the
//! connect flow (PKCE checked by the fake's token endpoint, a `state` used once), a full sync
//! following `pageToken`, incremental syncs by `syncToken` costing one request per change set,
//! 410 Gone → a full resync that deletes what is no longer listed, token expiry (one refresh, one
//! retry) and withdrawn consent (`revoked`, never retried), watch channels (the `sync`
//! handshake, duplicate and late notifications making one job, wrong tokens and unknown
//! channels ignored, renewal, stop on disconnect), writes with `If-Match` and the conflict
//! policy, and no token in plaintext in the database or the log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use vendrome_calendar::google::ProviderConfig;
use vendrome_calendar::Secret;
use vendrome_core::access::Caller;
use vendrome_core::calendar::integrations::{ConnectAttempt, IntegrationRepo as _};
use vendrome_core::calendar::sync_jobs::SyncJobRepo as _;
use vendrome_core::enums::{
    CalendarIntegrationStatus, CalendarProvider, CalendarSyncJobStatus, UserRole,
};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::oauth::state_hash;
use vendrome_core::time;
use vendrome_store::with_db;

use crate::google_fake::{self, Fake, Shared, ACCOUNT, CLIENT_ID, CLIENT_SECRET};
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    calendar_google_needs_a_configured_client,
    calendar_google_connects_and_syncs_by_sync_token,
    calendar_google_refreshes_tokens_and_stops_at_withdrawn_consent,
    calendar_google_push_notifications_queue_one_sync,
    calendar_google_expired_channels_that_cannot_reopen_are_forgotten,
    calendar_google_writes_with_etags_and_settles_conflicts,
    calendar_google_tokens_never_reach_the_database_or_logs,
);

const WEBHOOK: &str = "https://api.example.com/v1/calendar/webhooks/google";

fn config(fake: std::net::SocketAddr, push: bool) -> ProviderConfig {
    ProviderConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        auth_url: format!("http://{fake}/o/oauth2/auth"),
        token_url: format!("http://{fake}/token"),
        api_url: format!("http://{fake}/calendar/v3"),
        redirect_url: "https://api.example.com/v1/calendar/integrations/google/callback".into(),
        webhook_url: push.then(|| WEBHOOK.to_owned()),
        channel_ttl: Duration::from_secs(24 * 3600),
        revoke_url: Some(format!("http://{fake}/revoke")),
    }
}

/// The app with Google pointed at a new fake (page size `page_size`).
pub(crate) async fn with_fake(
    backend: Backend,
    page_size: usize,
    push: bool,
) -> Option<(TestApp, Shared)> {
    let fake: Shared = Arc::new(Mutex::new(Fake {
        page_size,
        ..Fake::default()
    }));
    let address = google_fake::start(fake.clone()).await;
    let mut setup = Setup::new(backend);
    setup.config.calendar_google = Some(config(address, push));
    Some((spawn_with(setup).await?, fake))
}

/// What the member's browser does: Google's consent screen sends it back with a code and the
/// state; the code and state, as the callback gets them.
pub(crate) async fn consent(authorize_url: &str) -> (String, String) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(authorize_url).send().await.unwrap();
    assert_eq!(response.status(), 302, "{}", response.text().await.unwrap());
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    (param("code"), param("state"))
}

/// Starts connecting at `provider` in a browser holding `cookie` (a new browser when `None`):
/// the authorization URL and the browser's cookie (`name=value`) afterwards.
pub(crate) async fn start_in(
    app: &TestApp,
    provider: &str,
    token: &str,
    cookie: Option<&str>,
) -> (String, String) {
    let mut request = app
        .get(&format!("/v1/calendar/integrations/{provider}/start"))
        .bearer_auth(token);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let set = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    if let Some(set) = &set {
        for part in [
            "vendrome_calendar_connect=",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/v1/calendar/integrations",
        ] {
            assert!(set.contains(part), "{set}");
        }
    }
    let cookie = set
        .map(|s| s.split(';').next().unwrap().to_owned())
        .or(cookie.map(str::to_owned))
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let url = body["data"]["authorize_url"].as_str().unwrap().to_owned();
    (url, cookie)
}

/// The callback at `provider` with `code` and `state`, from a browser holding `cookie`.
pub(crate) async fn callback_in(
    app: &TestApp,
    provider: &str,
    code: &str,
    state: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .get(&format!("/v1/calendar/integrations/{provider}/callback"))
        .query(&[("code", code), ("state", state)]);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn start(app: &TestApp, token: &str) -> (String, String) {
    start_in(app, "google", token, None).await
}

async fn callback(app: &TestApp, code: &str, state: &str, cookie: &str) -> reqwest::Response {
    callback_in(app, "google", code, state, Some(cookie)).await
}

/// Connects the member's Google calendar; the integration.
pub(crate) async fn connect(app: &TestApp, token: &str) -> Value {
    let (url, cookie) = start(app, token).await;
    let (code, state) = consent(&url).await;
    let response = callback(app, &code, &state, &cookie).await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["data"].clone()
}

pub(crate) async fn sync(app: &TestApp, token: &str, id: &str) -> Value {
    succeed(
        app.post(&format!("/v1/calendar/integrations/{id}/sync"))
            .bearer_auth(token),
    )
    .await["data"]
        .clone()
}

pub(crate) fn counts(report: &Value) -> [i64; 4] {
    ["created", "updated", "deleted", "requests"].map(|k| report[k].as_i64().unwrap())
}

pub(crate) async fn titles(app: &TestApp, token: &str) -> Vec<String> {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2027-01-01T00:00:00Z"),
                ("to", "2027-02-01T00:00:00Z"),
            ])
            .bearer_auth(token),
    )
    .await;
    let mut titles: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["event"]["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

fn requests(fake: &Shared) -> Vec<String> {
    fake.lock().unwrap().take_requests()
}

pub(crate) async fn integration(app: &TestApp, token: &str, id: &str) -> Value {
    let listed = succeed(app.get("/v1/calendar/integrations").bearer_auth(token)).await;
    listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
        .unwrap()
}

async fn calendar_google_needs_a_configured_client(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    expect_error(
        app.get("/v1/calendar/integrations/google/start")
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        503,
        "calendar_provider_not_configured",
    )
    .await;
    expect_error(
        app.get("/v1/calendar/integrations/microsoft/start")
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        503,
        "calendar_provider_not_configured",
    )
    .await;
    expect_error(
        app.get("/v1/calendar/integrations/google/start")
            .send()
            .await
            .unwrap(),
        401,
        "token_missing",
    )
    .await;
    let missing = expect_error(
        app.get("/v1/calendar/integrations/google/callback")
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert!(missing.to_string().contains("state"), "{missing}");
}

async fn calendar_google_connects_and_syncs_by_sync_token(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 2, false).await else {
        return;
    };
    {
        let mut f = fake.lock().unwrap();
        f.create(
            "e1",
            "Board",
            "2027-01-04T09:00:00Z",
            "2027-01-04T10:00:00Z",
        );
        f.create(
            "e2",
            "Dentist",
            "2027-01-05T09:00:00Z",
            "2027-01-05T10:00:00Z",
        );
        f.create(
            "e3",
            "Review",
            "2027-01-06T09:00:00Z",
            "2027-01-06T10:00:00Z",
        );
    }
    let (me_id, me) = app.user(UserRole::Member).await;

    // The authorization URL asks for offline access with PKCE (the fake refuses otherwise).
    let (url, cookie) = start(&app, &me).await;
    for part in [
        "access_type=offline",
        "prompt=consent",
        "code_challenge_method=S256",
    ] {
        assert!(url.contains(part), "{url}");
    }

    // An expired state is refused, even in its own browser; unfinished attempts are dropped as
    // new ones start.
    let browser = cookie.split_once('=').unwrap().1.to_owned();
    let stale = |state: &str| ConnectAttempt {
        state_hash: state_hash(state),
        user_id: me_id,
        provider: CalendarProvider::Google,
        pkce_verifier: "verifier".into(),
        browser_hash: state_hash(&browser),
        created_at: time::now() - chrono::Duration::minutes(20),
        expires_at: time::now() - chrono::Duration::minutes(10),
    };
    for state in ["expired-1", "expired-2"] {
        app.db
            .store
            .save_connect_attempt(&stale(state))
            .await
            .unwrap();
    }
    expect_error(
        callback(&app, "any-code", "expired-1", &cookie).await,
        400,
        "calendar_connect_state_invalid",
    )
    .await;
    start_in(&app, "google", &me, Some(&cookie)).await;
    let left: Vec<(String,)> = with_db!(app.db.store.db(), pool => {
        sqlx::query_as("SELECT state_hash FROM calendar_connect_attempts WHERE state_hash = $1")
            .bind(state_hash("expired-2"))
            .fetch_all(pool)
            .await
    })
    .unwrap();
    assert!(left.is_empty(), "the expired attempt is still stored");
    let (code, state) = consent(&url).await;
    // The state brought back by another browser (no cookie, or another browser's): refused, and
    // the attempt is spent.
    let (_, elsewhere) = start(&app, &me).await;
    for other in [None, Some(elsewhere.as_str())] {
        expect_error(
            callback_in(&app, "google", &code, &state, other).await,
            400,
            "calendar_connect_state_invalid",
        )
        .await;
    }
    expect_error(
        callback(&app, &code, &state, &cookie).await,
        400,
        "calendar_connect_state_invalid",
    )
    .await;
    // A code presented with another start's state carries the wrong PKCE verifier: refused.
    let (other, _) = start_in(&app, "google", &me, Some(&cookie)).await;
    let (_, other_state) = consent(&other).await;
    expect_error(
        callback(&app, &code, &other_state, &cookie).await,
        503,
        "calendar_connect_failed",
    )
    .await;
    // The code was spent on that refusal at the fake; a fresh consent connects.
    let connected = connect(&app, &me).await;
    let id = connected["id"].as_str().unwrap().to_owned();
    assert_eq!(connected["provider"], "google", "{connected}");
    assert_eq!(connected["status"], "active");
    assert_eq!(connected["account"], ACCOUNT);
    assert_eq!(connected["calendar"], "primary");
    // A state is used once.
    let (url, cookie) = start(&app, &me).await;
    let (code, state) = consent(&url).await;
    assert_eq!(callback(&app, &code, &state, &cookie).await.status(), 200);
    expect_error(
        callback(&app, &code, &state, &cookie).await,
        400,
        "calendar_connect_state_invalid",
    )
    .await;
    requests(&fake);

    // The first sync lists everything, page by page (2 a page): the last page has the token.
    let first = sync(&app, &me, &id).await;
    assert_eq!(first["full"], true, "{first}");
    assert_eq!(counts(&first), [3, 0, 0, 2], "{first}");
    assert_eq!(requests(&fake), ["list", "list"]);
    assert_eq!(titles(&app, &me).await, ["Board", "Dentist", "Review"]);

    // Nothing changed: one incremental request.
    let idle = sync(&app, &me, &id).await;
    assert_eq!(counts(&idle), [0, 0, 0, 1], "{idle}");
    assert_eq!(idle["full"], false);
    assert_eq!(requests(&fake), ["list sync"]);

    // A remote update, delete and create: only the changes are listed (three, two a page) and
    // applied.
    {
        let mut f = fake.lock().unwrap();
        f.rename("e1", "Board (moved)");
        f.cancel("e2");
        f.create(
            "e4",
            "Offsite",
            "2027-01-07T09:00:00Z",
            "2027-01-07T10:00:00Z",
        );
    }
    let delta = sync(&app, &me, &id).await;
    assert_eq!(counts(&delta), [1, 1, 1, 2], "{delta}");
    assert_eq!(requests(&fake), ["list sync", "list sync"]);
    assert_eq!(
        titles(&app, &me).await,
        ["Board (moved)", "Offsite", "Review"]
    );

    // The sync token expires (410): a full resync; an event deleted meanwhile is not listed,
    // so its copy goes; unchanged ones are not rewritten and nothing is duplicated.
    {
        let mut f = fake.lock().unwrap();
        f.expire_sync_tokens();
        f.rename("e3", "Review (v2)");
        f.cancel("e4");
    }
    let resync = sync(&app, &me, &id).await;
    assert_eq!(resync["full"], true, "{resync}");
    assert_eq!(counts(&resync), [0, 1, 1, 2], "{resync}");
    assert_eq!(requests(&fake), ["list sync", "list"]);
    assert_eq!(titles(&app, &me).await, ["Board (moved)", "Review (v2)"]);
    let again = sync(&app, &me, &id).await;
    assert_eq!(counts(&again), [0, 0, 0, 1], "{again}");
    let listed = integration(&app, &me, &id).await;
    assert!(listed["last_synced_at"].is_string(), "{listed}");
}

async fn calendar_google_refreshes_tokens_and_stops_at_withdrawn_consent(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 250, false).await else {
        return;
    };
    fake.lock().unwrap().create(
        "e1",
        "Board",
        "2027-01-04T09:00:00Z",
        "2027-01-04T10:00:00Z",
    );
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    sync(&app, &me, &id).await;
    requests(&fake);

    // The access token expires: one refresh, the request again, and the new token kept.
    fake.lock().unwrap().expire_access_tokens();
    let refreshed = sync(&app, &me, &id).await;
    assert_eq!(counts(&refreshed), [0, 0, 0, 3], "{refreshed}");
    assert_eq!(
        requests(&fake),
        ["list sync 401", "token refresh", "list sync"]
    );
    let row = vendrome_core::calendar::integrations::IntegrationRepo::integration(
        &app.db.store,
        id.parse::<CalendarIntegrationId>().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let latest = fake.lock().unwrap().issued.last().unwrap().clone();
    assert_eq!(
        app.state
            .calendar_integrations
            .credentials(&row)
            .unwrap()
            .access
            .expose(),
        latest
    );
    assert!(row.token_expires_at.is_some_and(|t| t > time::now()));
    sync(&app, &me, &id).await;
    assert_eq!(
        requests(&fake),
        ["list sync"],
        "the stored token is the new one"
    );

    // An access token known to have expired is refreshed before the request, not after a 401.
    let sealed = row.credentials.clone().unwrap();
    let past = time::now() - chrono::Duration::minutes(5);
    app.db
        .store
        .store_tokens(row.id, &sealed, Some(past), time::now())
        .await
        .unwrap();
    fake.lock().unwrap().expire_access_tokens();
    let ahead = sync(&app, &me, &id).await;
    assert_eq!(counts(&ahead), [0, 0, 0, 2], "{ahead}");
    assert_eq!(requests(&fake), ["token refresh", "list sync"]);

    // The member withdraws consent: the refresh is refused, the integration `revoked`, its job
    // dead at once, and nothing is asked of Google again.
    fake.lock().unwrap().revoke();
    expect_error(
        app.post(&format!("/v1/calendar/integrations/{id}/sync"))
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        503,
        "calendar_sync_failed",
    )
    .await;
    assert_eq!(requests(&fake), ["list sync 401", "token refresh"]);
    let revoked = integration(&app, &me, &id).await;
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    assert!(revoked["last_error"]
        .as_str()
        .unwrap()
        .contains("invalid_grant"));
    let jobs = app
        .db
        .store
        .sync_jobs_of(id.parse().unwrap(), 100)
        .await
        .unwrap();
    assert!(jobs
        .iter()
        .all(|j| j.status != CalendarSyncJobStatus::Pending));
    assert!(jobs.iter().any(|j| j.status == CalendarSyncJobStatus::Dead));
    let later = time::now() + chrono::Duration::days(1);
    let runs = app
        .state
        .calendar_runner
        .run_due(&move || later, 10)
        .await
        .unwrap();
    assert!(runs.is_empty(), "{runs:?}");
    assert_eq!(
        app.state.calendar_runner.enqueue_due(later).await.unwrap(),
        0
    );
    expect_error(
        app.post(&format!("/v1/calendar/integrations/{id}/sync"))
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        409,
        "calendar_reconnect_required",
    )
    .await;
    assert!(requests(&fake).is_empty());

    // Connecting again reconnects the same integration, active, with fresh tokens.
    let again = connect(&app, &me).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["status"], "active");
    assert_eq!(counts(&sync(&app, &me, &id).await)[3], 1);
}

async fn notify(app: &TestApp, channel: &str, token: Option<&str>, state: &str) -> Value {
    let mut request = app
        .post("/v1/calendar/webhooks/google")
        .header("X-Goog-Channel-ID", channel)
        .header("X-Goog-Resource-ID", "resource-1")
        .header("X-Goog-Resource-State", state)
        .header("X-Goog-Message-Number", "2");
    if let Some(token) = token {
        request = request.header("X-Goog-Channel-Token", token);
    }
    succeed(request).await["data"].clone()
}

fn channel(fake: &Shared) -> (String, String) {
    let f = fake.lock().unwrap();
    let (id, (token, address, _)) = f.channels.iter().next().unwrap();
    assert_eq!(address, WEBHOOK);
    (id.clone(), token.clone())
}

async fn calendar_google_push_notifications_queue_one_sync(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 250, true).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    assert_eq!(requests(&fake), ["token code", "calendar", "watch"]);
    let (channel_id, token) = channel(&fake);
    assert!(uuid::Uuid::parse_str(&channel_id).is_ok(), "{channel_id}");
    // The callback queued the first sync; run it.
    let now = time::now();
    let runs = app
        .state
        .calendar_runner
        .run_due(&move || now, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    requests(&fake);
    let live = |jobs: Vec<vendrome_core::calendar::sync_jobs::SyncJob>| {
        jobs.iter()
            .filter(|j| j.status == CalendarSyncJobStatus::Pending)
            .count()
    };
    let jobs = || async {
        app.db
            .store
            .sync_jobs_of(id.parse().unwrap(), 100)
            .await
            .unwrap()
    };

    // The handshake is acknowledged, nothing queued.
    let sync_state = notify(&app, &channel_id, Some(&token), "sync").await;
    assert_eq!(sync_state, json!({"accepted": true, "queued": false}));
    assert_eq!(live(jobs().await), 0);

    // A change queues one delta sync; a duplicate and a late one add nothing.
    let first = notify(&app, &channel_id, Some(&token), "exists").await;
    assert_eq!(first, json!({"accepted": true, "queued": true}));
    let duplicate = notify(&app, &channel_id, Some(&token), "exists").await;
    assert_eq!(duplicate, json!({"accepted": true, "queued": false}));
    let late = notify(&app, &channel_id, Some(&token), "not_exists").await;
    assert_eq!(late, json!({"accepted": true, "queued": false}));
    assert_eq!(live(jobs().await), 1);

    // A wrong token, no token, or a channel we do not hold: ignored.
    for (channel, token) in [
        (channel_id.as_str(), Some("not-the-token")),
        (channel_id.as_str(), None),
        ("3f1a2b7c-0000-4000-8000-000000000000", Some(token.as_str())),
    ] {
        let ignored = notify(&app, channel, token, "exists").await;
        assert_eq!(ignored, json!({"accepted": false, "queued": false}));
    }
    expect_error(
        app.post("/v1/calendar/webhooks/google")
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;

    // The queued sync runs once.
    fake.lock().unwrap().create(
        "e1",
        "Board",
        "2027-01-04T09:00:00Z",
        "2027-01-04T10:00:00Z",
    );
    let now = time::now();
    let runs = app
        .state
        .calendar_runner
        .run_due(&move || now, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(requests(&fake), ["list sync"]);
    assert_eq!(titles(&app, &me).await, ["Board"]);

    // Not due yet: nothing renewed. Within a day of expiry (the test's channels live one):
    // a new channel, the old one stopped, its notifications ignored from then on.
    assert_eq!(
        app.state
            .calendar_runner
            .renew_channels(time::now())
            .await
            .unwrap(),
        0
    );
    let soon = time::now() + chrono::Duration::hours(23) + chrono::Duration::minutes(30);
    assert_eq!(
        app.state
            .calendar_runner
            .renew_channels(soon)
            .await
            .unwrap(),
        1
    );
    assert_eq!(requests(&fake), ["watch", "stop"]);
    assert_eq!(
        fake.lock().unwrap().stopped,
        std::slice::from_ref(&channel_id)
    );
    let (renewed, renewed_token) = channel(&fake);
    assert_ne!(renewed, channel_id);
    let stale = notify(&app, &channel_id, Some(&token), "exists").await;
    assert_eq!(stale["accepted"], false);
    let fresh = notify(&app, &renewed, Some(&renewed_token), "exists").await;
    assert_eq!(fresh["accepted"], true);

    // Disconnecting stops the channel.
    succeed(
        app.delete(&format!("/v1/calendar/integrations/{id}"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(fake.lock().unwrap().stopped, [channel_id, renewed.clone()]);
    // …and revokes the refresh token at Google.
    assert_eq!(requests(&fake), ["stop", "revoke"]);
    assert!(fake.lock().unwrap().refresh_tokens.is_empty());
    assert!(fake.lock().unwrap().channels.is_empty());
    let gone = notify(&app, &renewed, Some(&renewed_token), "exists").await;
    assert_eq!(gone["accepted"], false);
}

async fn calendar_google_expired_channels_that_cannot_reopen_are_forgotten(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 250, true).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let id: CalendarIntegrationId = connect(&app, &me).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    requests(&fake);
    fake.lock().unwrap().fail_watch = true;
    // Expired, and Google refuses a new channel: forgotten, not tried again every pass.
    let expired = time::now() + chrono::Duration::days(2);
    let runner = &app.state.calendar_runner;
    assert_eq!(runner.renew_channels(expired).await.unwrap(), 0);
    assert_eq!(requests(&fake), ["watch"]);
    let stored = app.db.store.integration(id).await.unwrap().unwrap();
    assert!(stored.subscription.is_none(), "{stored:?}");
    assert_eq!(stored.status, CalendarIntegrationStatus::Active);
    assert_eq!(runner.renew_channels(expired).await.unwrap(), 0);
    assert!(requests(&fake).is_empty());
}

async fn calendar_google_writes_with_etags_and_settles_conflicts(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 250, false).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    sync(&app, &me, &id).await;
    requests(&fake);
    let event = expect_status(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
            "title": "Pitch", "starts_at": "2027-01-11T09:00:00Z",
            "ends_at": "2027-01-11T10:00:00Z", "timezone": "Europe/London",
            "visibility": "busy"})),
        201,
    )
    .await["data"]
        .clone();
    let event_id = event["id"].as_str().unwrap().to_owned();
    let push = |app: &TestApp| {
        app.put(&format!("/v1/calendar/integrations/{id}/events/{event_id}"))
            .bearer_auth(&me)
    };

    // Created at Google with our UID.
    let created = succeed(push(&app)).await["data"].clone();
    assert_eq!(created["created"], true, "{created}");
    assert!(created["conflict_ours_won"].is_null());
    let remote_id = created["external_event_id"].as_str().unwrap().to_owned();
    assert_eq!(requests(&fake), ["insert"]);
    {
        let f = fake.lock().unwrap();
        let stored = &f.events[&remote_id].1;
        assert_eq!(stored["summary"], "Pitch");
        assert_eq!(stored["iCalUID"], event["ical_uid"]);
    }
    // Our own write comes back in the next delta: already at that etag, nothing changes.
    let echo = sync(&app, &me, &id).await;
    assert_eq!(counts(&echo), [0, 0, 0, 1], "{echo}");

    // Changed here: replaced at Google, conditioned on the etag it had.
    succeed(
        app.patch(&format!("/v1/calendar/events/{event_id}"))
            .bearer_auth(&me)
            .json(&json!({"title": "Pitch (v2)"})),
    )
    .await;
    let updated = succeed(push(&app)).await["data"].clone();
    assert_eq!(updated["created"], false, "{updated}");
    assert!(updated["conflict_ours_won"].is_null());
    assert_eq!(
        fake.lock().unwrap().events[&remote_id].1["summary"],
        "Pitch (v2)"
    );
    requests(&fake);

    // Changed at Google, then here (later): the write meets 412, ours wins, theirs is logged.
    {
        // Their edit, a minute ago.
        let mut f = fake.lock().unwrap();
        f.rename(&remote_id, "Pitch (their edit)");
        let before = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        f.events.get_mut(&remote_id).unwrap().1["updated"] = json!(before);
    }
    succeed(
        app.patch(&format!("/v1/calendar/events/{event_id}"))
            .bearer_auth(&me)
            .json(&json!({"title": "Pitch (our edit)"})),
    )
    .await;
    let settled = succeed(push(&app)).await["data"].clone();
    assert_eq!(settled["conflict_ours_won"], true, "{settled}");
    assert_eq!(requests(&fake), ["update", "get", "update"]);
    assert_eq!(
        fake.lock().unwrap().events[&remote_id].1["summary"],
        "Pitch (our edit)"
    );
    let conflicts = succeed(app.get("/v1/calendar/conflicts").bearer_auth(&me)).await;
    let logged = &conflicts["data"][0];
    assert_eq!(logged["ours_won"], true, "{conflicts}");
    assert_eq!(logged["external_event_id"], remote_id.as_str());
    assert!(logged["loser_ics"]
        .as_str()
        .unwrap()
        .contains("SUMMARY:Pitch (their edit)"));
    assert_eq!(titles(&app, &me).await, ["Pitch (our edit)"]);
}

/// Every text column of `calendar_integrations` (and the connections in flight), and the
/// ciphertexts, as bytes.
pub(crate) async fn stored_bytes(app: &TestApp) -> Vec<Vec<u8>> {
    type Row = (
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
    );
    let rows: Vec<Row> = with_db!(app.db.store.db(), pool => {
        sqlx::query_as(
            "SELECT provider_account_id, account_email, external_calendar_id, token_key_id, \
             sync_cursor, subscription_id, subscription_resource_id, subscription_secret_hash, \
             last_error, access_token_ciphertext, refresh_token_ciphertext \
             FROM calendar_integrations",
        )
        .fetch_all(pool)
        .await
    })
    .unwrap();
    assert!(!rows.is_empty());
    let attempts: Vec<(String, String)> = with_db!(app.db.store.db(), pool => {
        sqlx::query_as("SELECT state_hash, pkce_verifier FROM calendar_connect_attempts")
            .fetch_all(pool)
            .await
    })
    .unwrap();
    let mut out = Vec::new();
    for r in rows {
        for text in [Some(r.0), r.1, Some(r.2), r.3, r.4, r.5, r.6, r.7, r.8]
            .into_iter()
            .flatten()
        {
            out.push(text.into_bytes());
        }
        out.extend(r.9);
        out.extend(r.10);
    }
    for (hash, verifier) in attempts {
        out.push(hash.into_bytes());
        out.push(verifier.into_bytes());
    }
    out
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What a subscriber writes, shared with the test.
#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Connecting, syncing, a refresh, a refused refresh and a notification, logged at TRACE with
/// every span's fields, all on this task: no token Google issued, nor the channel's secret,
/// appears in the log or in any column of the database.
async fn calendar_google_tokens_never_reach_the_database_or_logs(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 250, true).await else {
        return;
    };
    fake.lock().unwrap().create(
        "e1",
        "Board",
        "2027-01-04T09:00:00Z",
        "2027-01-04T10:00:00Z",
    );
    let (me, _) = app.user(UserRole::Member).await;
    let caller = Caller {
        user_id: me,
        role: UserRole::Member,
    };
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let engine = &app.state.calendar_sync;
    let browser = "browser-secret-of-the-member";
    let url = engine.start_google(&caller, browser).await.unwrap();
    let (code, state) = consent(&url).await;
    let integration = engine
        .finish_google(&code, &state, Some(browser))
        .await
        .unwrap();
    tracing::debug!(?integration, "connected");
    let report = engine.sync(integration.id).await.unwrap();
    tracing::debug!(?report, "synced");
    fake.lock().unwrap().expire_access_tokens();
    engine.sync(integration.id).await.unwrap();
    let (channel_id, secret) = channel(&fake);
    let notified = app
        .state
        .calendar_runner
        .google_notification(&channel_id, Some(&secret), "exists", time::now())
        .await
        .unwrap();
    tracing::debug!(?notified, "notified");
    let stored = vendrome_core::calendar::integrations::IntegrationRepo::integration(
        &app.db.store,
        integration.id,
    )
    .await
    .unwrap()
    .unwrap();
    let credentials = app
        .state
        .calendar_integrations
        .credentials(&stored)
        .unwrap();
    tracing::debug!(?credentials, ?stored, "opened");
    fake.lock().unwrap().revoke();
    let failed = engine.sync(integration.id).await.unwrap_err();
    tracing::debug!(?failed, "refused");

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let bytes = stored_bytes(&app).await;
    let mut secrets = fake.lock().unwrap().issued.clone();
    assert!(secrets.len() >= 3, "{secrets:?}");
    secrets.push(secret);
    secrets.push(code);
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret} is in the log");
        assert!(
            bytes.iter().all(|b| !contains(b, secret.as_bytes())),
            "{secret} is in the database"
        );
    }
    assert!(log.contains("calendar sync failed"), "{log}");
}
