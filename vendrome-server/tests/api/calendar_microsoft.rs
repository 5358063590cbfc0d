//! Microsoft calendars against a local fake of Microsoft Graph's documented API
//! (`graph_fake`): the connect flow (PKCE checked by the fake's token endpoint, the
//! `offline_access Calendars.ReadWrite` scopes), a full delta listing following
//! `@odata.nextLink`, incremental syncs from the stored `@odata.deltaLink` with `@removed`
//! deletions, 410 `syncStateNotFound` → a full resync, the subscription validation handshake,
//! notifications checked by `clientState` (duplicates making one job), lifecycle events
//! answered without calling Graph and recreating the subscription in a job (at most once a
//! minute), renewal at half-life, deletion on disconnect, writes with
//! `If-Match` and the conflict policy, token refresh and withdrawn consent (`revoked`); series
//! written as patterned recurrences (their exceptions deleted instance by instance) and read
//! back as one event each, their deleted occurrences as exceptions, their occurrences changed
//! on their own as exceptions plus events of their own, their exceptions outside the synced
//! window kept, their Windows zone names read as IANA zones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use vendrome_calendar::{ProviderConfig, Secret};
use vendrome_core::calendar::integrations::IntegrationRepo as _;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::time;

use crate::calendar_google::{
    callback_in, consent, contains, counts, integration, start_in, stored_bytes, sync, titles,
    Captured,
};
use crate::graph_fake::{self, Fake, Shared, ACCOUNT, CLIENT_ID, CLIENT_SECRET};
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    calendar_microsoft_connects_and_syncs_by_delta_link,
    calendar_microsoft_subscriptions_handshake_notify_and_renew,
    calendar_microsoft_subscription_renewals_are_paced_and_never_doubled,
    calendar_microsoft_writes_refreshes_and_stops_at_withdrawn_consent,
    calendar_microsoft_writes_series_as_patterned_recurrences,
    calendar_microsoft_reads_series_back_as_one_event,
    calendar_microsoft_pull_keeps_exceptions_outside_the_window,
    calendar_microsoft_shows_changed_occurrences_once_at_their_new_time,
    calendar_microsoft_reads_windows_zone_names,
    calendar_microsoft_tokens_never_reach_the_database_or_logs,
);

const WEBHOOK: &str = "https://api.example.com/v1/calendar/webhooks/microsoft";

async fn with_fake(backend: Backend, page_size: usize, push: bool) -> Option<(TestApp, Shared)> {
    let fake: Shared = Arc::new(Mutex::new(Fake {
        page_size,
        ..Fake::default()
    }));
    let address = graph_fake::start(fake.clone()).await;
    let mut setup = Setup::new(backend);
    setup.config.calendar_microsoft = Some(ProviderConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        auth_url: format!("http://{address}/oauth2/v2.0/authorize"),
        token_url: format!("http://{address}/oauth2/v2.0/token"),
        api_url: format!("http://{address}/v1.0"),
        redirect_url: "https://api.example.com/v1/calendar/integrations/microsoft/callback".into(),
        webhook_url: push.then(|| WEBHOOK.to_owned()),
        channel_ttl: Duration::from_secs(24 * 3600),
        revoke_url: None,
    });
    Some((spawn_with(setup).await?, fake))
}

async fn start(app: &TestApp, token: &str) -> String {
    start_in(app, "microsoft", token, None).await.0
}

async fn connect(app: &TestApp, token: &str) -> Value {
    let (url, cookie) = start_in(app, "microsoft", token, None).await;
    let (code, state) = consent(&url).await;
    let response = callback_in(app, "microsoft", &code, &state, Some(&cookie)).await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["data"].clone()
}

fn requests(fake: &Shared) -> Vec<String> {
    fake.lock().unwrap().take_requests()
}

async fn calendar_microsoft_connects_and_syncs_by_delta_link(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 2, false).await else {
        return;
    };
    {
        let mut f = fake.lock().unwrap();
        f.create("m1", "Board", "2027-01-04T09:00:00", "2027-01-04T10:00:00");
        f.create(
            "m2",
            "Dentist",
            "2027-01-05T09:00:00",
            "2027-01-05T10:00:00",
        );
        f.create("m3", "Review", "2027-01-06T09:00:00", "2027-01-06T10:00:00");
    }
    let me = app.token(UserRole::Member).await;
    let url = start(&app, &me).await;
    for part in [
        "offline_access",
        "Calendars.ReadWrite",
        "code_challenge_method=S256",
    ] {
        assert!(url.contains(part), "{url}");
    }
    let connected = connect(&app, &me).await;
    let id = connected["id"].as_str().unwrap().to_owned();
    assert_eq!(connected["provider"], "microsoft", "{connected}");
    assert_eq!(connected["account"], ACCOUNT);
    assert_eq!(connected["status"], "active");
    assert_eq!(requests(&fake), ["token code", "me"]);

    // A full listing, following nextLink (two a page) to the page with the deltaLink.
    let first = sync(&app, &me, &id).await;
    assert_eq!(first["full"], true, "{first}");
    assert_eq!(counts(&first), [3, 0, 0, 2], "{first}");
    assert_eq!(requests(&fake), ["delta", "delta next"]);
    assert_eq!(titles(&app, &me).await, ["Board", "Dentist", "Review"]);

    // Nothing changed: the delta link alone.
    let idle = sync(&app, &me, &id).await;
    assert_eq!(counts(&idle), [0, 0, 0, 1], "{idle}");
    assert_eq!(requests(&fake), ["delta"]);

    // An update, a deletion (`@removed`) and a creation: only they are listed and applied.
    {
        let mut f = fake.lock().unwrap();
        f.rename("m1", "Board (moved)");
        f.delete("m2");
        f.create(
            "m4",
            "Offsite",
            "2027-01-07T09:00:00",
            "2027-01-07T10:00:00",
        );
    }
    let delta = sync(&app, &me, &id).await;
    assert_eq!(delta["full"], false, "{delta}");
    assert_eq!(counts(&delta), [1, 1, 1, 2], "{delta}");
    assert_eq!(requests(&fake), ["delta", "delta next"]);
    assert_eq!(
        titles(&app, &me).await,
        ["Board (moved)", "Offsite", "Review"]
    );

    // The delta token is no longer kept (410 syncStateNotFound): everything again; what was
    // deleted meanwhile goes, nothing is duplicated.
    {
        let mut f = fake.lock().unwrap();
        f.expire_delta_tokens();
        f.rename("m3", "Review (v2)");
        f.delete("m4");
    }
    let resync = sync(&app, &me, &id).await;
    assert_eq!(resync["full"], true, "{resync}");
    assert_eq!(counts(&resync), [0, 1, 1, 2], "{resync}");
    assert_eq!(requests(&fake), ["delta", "delta"]);
    assert_eq!(titles(&app, &me).await, ["Board (moved)", "Review (v2)"]);
    assert_eq!(counts(&sync(&app, &me, &id).await), [0, 0, 0, 1]);
}

async fn notify(app: &TestApp, body: Value) -> Value {
    expect_status(app.post("/v1/calendar/webhooks/microsoft").json(&body), 202).await["data"]
        .clone()
}

fn subscription(fake: &Shared) -> (String, String) {
    let f = fake.lock().unwrap();
    assert_eq!(f.subscriptions.len(), 1, "{:?}", f.subscriptions.keys());
    let (id, (state, url, _)) = f.subscriptions.iter().next().unwrap();
    assert_eq!(url, WEBHOOK);
    (id.clone(), state.clone())
}

async fn calendar_microsoft_subscriptions_handshake_notify_and_renew(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, true).await else {
        return;
    };
    // The validation handshake: the decoded token, in plain text, at once.
    let response = app
        .post("/v1/calendar/webhooks/microsoft?validationToken=Validation%3A%20Testing%20client%2Bapp")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(
        response.text().await.unwrap(),
        "Validation: Testing client+app"
    );

    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    assert_eq!(requests(&fake), ["token code", "me", "subscribe"]);
    let (subscription_id, client_state) = subscription(&fake);
    let now = time::now();
    app.state
        .calendar_runner
        .run_due(&move || now, 10)
        .await
        .unwrap();
    requests(&fake);
    let change = |state: &str, sub: &str| {
        json!({"value": [{"subscriptionId": sub, "clientState": state, "changeType": "updated",
                          "resource": "Users/7f1e-bob/Events/AAMk1", "tenantId": "t"}]})
    };

    // A change queues one sync; the same again, twice in one body, adds nothing.
    assert_eq!(
        notify(&app, change(&client_state, &subscription_id)).await,
        json!({"accepted": 1, "queued": 1})
    );
    let twice = json!({"value": [change(&client_state, &subscription_id)["value"][0],
                                 change(&client_state, &subscription_id)["value"][0]]});
    assert_eq!(
        notify(&app, twice).await,
        json!({"accepted": 2, "queued": 0})
    );
    // A wrong clientState, or a subscription we do not hold: ignored.
    assert_eq!(
        notify(&app, change("not-the-state", &subscription_id)).await,
        json!({"accepted": 0, "queued": 0})
    );
    assert_eq!(
        notify(
            &app,
            change(&client_state, "0b8a6f3e-0000-4000-8000-000000000000")
        )
        .await,
        json!({"accepted": 0, "queued": 0})
    );
    expect_error(
        app.post("/v1/calendar/webhooks/microsoft")
            .body("not json")
            .send()
            .await
            .unwrap(),
        400,
        "malformed_json",
    )
    .await;
    let now = time::now();
    let runs = app
        .state
        .calendar_runner
        .run_due(&move || now, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(requests(&fake), ["delta"]);

    // Graph removed the subscription: answered without a call to Graph (it wants an answer
    // within seconds); a job creates it again, and a sync is queued.
    let removed = json!({"value": [{"subscriptionId": subscription_id, "clientState": client_state,
                                    "lifecycleEvent": "subscriptionRemoved"}]});
    assert_eq!(
        notify(&app, removed).await,
        json!({"accepted": 1, "queued": 1})
    );
    assert_eq!(requests(&fake), Vec::<String>::new());
    let runner = &app.state.calendar_runner;
    let now = time::now();
    let runs = runner.run_due(&move || now, 10).await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let mut made = requests(&fake);
    made.sort();
    assert_eq!(made, ["delta", "subscribe", "unsubscribe"]);
    let (recreated, new_state) = subscription(&fake);
    assert_ne!(recreated, subscription_id);
    let stored = app
        .db
        .store
        .integration(id.parse::<CalendarIntegrationId>().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.subscription.unwrap().id, recreated);
    // The old subscription's notifications are ignored now; the new one's taken.
    assert_eq!(
        notify(&app, change(&client_state, &subscription_id)).await["accepted"],
        0
    );
    assert_eq!(
        notify(&app, change(&new_state, &recreated)).await["accepted"],
        1
    );
    // Missed notifications: created again too, but at most once a minute: within the minute
    // only the sync runs; a minute after the last recreation, the subscription is recreated.
    let missed = json!({"value": [{"subscriptionId": recreated, "clientState": new_state,
                                   "lifecycleEvent": "missed"}]});
    assert_eq!(notify(&app, missed.clone()).await["accepted"], 1);
    assert_eq!(notify(&app, missed).await["accepted"], 1);
    let later = time::now();
    let runs = runner.run_due(&move || later, 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(requests(&fake), ["delta"]);
    assert_eq!(subscription(&fake).0, recreated);
    let a_minute_on = later + chrono::Duration::seconds(61);
    let runs = runner.run_due(&move || a_minute_on, 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(requests(&fake), ["unsubscribe", "subscribe"]);
    let (third, third_state) = subscription(&fake);
    assert_ne!(third, recreated);
    // Reauthorization required: the subscription is renewed (kept), nothing queued.
    let reauthorize = json!({"value": [{"subscriptionId": third, "clientState": third_state,
                                        "lifecycleEvent": "reauthorizationRequired"}]});
    assert_eq!(
        notify(&app, reauthorize).await,
        json!({"accepted": 1, "queued": 0})
    );
    assert_eq!(requests(&fake), ["renew"]);
    assert_eq!(subscription(&fake).0, third);

    // Disconnecting deletes it and forgets the tokens: Microsoft has no per-grant revocation
    // endpoint, so the subscription's deletion is the only request, and the integration's row,
    // the only place its sealed tokens were, is gone.
    let integration = id.parse::<CalendarIntegrationId>().unwrap();
    let sealed = app
        .db
        .store
        .integration(integration)
        .await
        .unwrap()
        .unwrap();
    assert!(sealed.credentials.is_some_and(|c| c.refresh.is_some()));
    succeed(
        app.delete(&format!("/v1/calendar/integrations/{id}"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(requests(&fake), ["unsubscribe"]);
    assert!(fake.lock().unwrap().subscriptions.is_empty());
    assert_eq!(app.db.store.integration(integration).await.unwrap(), None);
}

/// The half-life pass queues `renew_subscription` jobs rather than calling Graph: one per
/// subscription at most once a minute, and none where one is live (a lifecycle event's).
async fn calendar_microsoft_subscription_renewals_are_paced_and_never_doubled(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, true).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    connect(&app, &me).await;
    let runner = &app.state.calendar_runner;
    let now = time::now();
    runner.run_due(&move || now, 10).await.unwrap();
    requests(&fake);
    let (first, client_state) = subscription(&fake);

    // Not yet half its lifetime: nothing queued. Past it: a job, not a call to Graph; a second
    // pass adds nothing while it is queued. The job renews the subscription.
    assert_eq!(runner.renew_channels(now).await.unwrap(), 0);
    let later = now + chrono::Duration::hours(13);
    assert_eq!(runner.renew_channels(later).await.unwrap(), 1);
    assert_eq!(runner.renew_channels(later).await.unwrap(), 0);
    assert_eq!(requests(&fake), Vec::<String>::new());
    assert_eq!(runner.run_due(&move || later, 10).await.unwrap().len(), 1);
    assert_eq!(requests(&fake), ["renew"]);
    assert_eq!(subscription(&fake).0, first);

    // Renewed for less than the pass looks ahead (the lifetime counts from the real clock, as if
    // Graph had granted less than asked), it is due again at once: its next renewal is paced,
    // a minute after the last.
    assert_eq!(runner.renew_channels(later).await.unwrap(), 1);
    assert!(runner.run_due(&move || later, 10).await.unwrap().is_empty());
    let a_minute_on = later + chrono::Duration::seconds(61);
    assert_eq!(
        runner
            .run_due(&move || a_minute_on, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(requests(&fake), ["renew"]);

    // Graph removed it: the lifecycle event marks it expired and queues its recreation (a minute
    // after the last job) and a sync. The pass meanwhile neither renews nor recreates it.
    let removed = json!({"value": [{"subscriptionId": first, "clientState": client_state,
                                    "lifecycleEvent": "subscriptionRemoved"}]});
    assert_eq!(
        notify(&app, removed).await,
        json!({"accepted": 1, "queued": 1})
    );
    let meanwhile = a_minute_on + chrono::Duration::seconds(30);
    assert_eq!(runner.renew_channels(meanwhile).await.unwrap(), 0);
    assert_eq!(requests(&fake), Vec::<String>::new());
    assert_eq!(
        runner.run_due(&move || meanwhile, 10).await.unwrap().len(),
        1
    );
    assert_eq!(requests(&fake), ["delta"]);
    // The job recreates it, once.
    let due = a_minute_on + chrono::Duration::seconds(61);
    assert_eq!(runner.run_due(&move || due, 10).await.unwrap().len(), 1);
    assert_eq!(requests(&fake), ["unsubscribe", "subscribe"]);
    assert_ne!(subscription(&fake).0, first);
    assert!(runner.run_due(&move || due, 10).await.unwrap().is_empty());
}

async fn calendar_microsoft_writes_series_as_patterned_recurrences(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, false).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    let written = |recurrence: &'static str| {
        let (app, me, id, fake) = (&app, &me, &id, &fake);
        async move {
            let event = expect_status(
                app.post("/v1/calendar/events")
                    .bearer_auth(me)
                    .json(&json!({
                    "title": "Weekly", "starts_at": "2027-03-22T09:00:00Z",
                    "ends_at": "2027-03-22T10:00:00Z", "timezone": "Europe/London",
                    "recurrence": recurrence, "visibility": "busy"})),
                201,
            )
            .await["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let pushed = succeed(
                app.put(&format!("/v1/calendar/integrations/{id}/events/{event}"))
                    .bearer_auth(me),
            )
            .await;
            let remote = pushed["data"]["external_event_id"].as_str().unwrap();
            fake.lock().unwrap().events[remote].1.clone()
        }
    };
    // A weekly series: its pattern and range, its times local to its zone, so 09:00 in London
    // stays 09:00 after the clocks change on 28 March.
    let weekly = written("FREQ=WEEKLY;BYDAY=MO;COUNT=6").await;
    assert_eq!(
        weekly["recurrence"],
        json!({"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                           "firstDayOfWeek": "monday"},
               "range": {"type": "numbered", "numberOfOccurrences": 6,
                         "startDate": "2027-03-22", "recurrenceTimeZone": "Europe/London"}}),
        "{weekly}"
    );
    assert_eq!(
        weekly["start"],
        json!({"dateTime": "2027-03-22T09:00:00", "timeZone": "Europe/London"})
    );
    // A rule Graph has no pattern for: its first occurrence, in UTC.
    let hourly = written("FREQ=HOURLY;COUNT=3").await;
    assert_eq!(hourly.get("recurrence"), None, "{hourly}");
    assert_eq!(hourly["start"]["timeZone"], "UTC");
}

async fn calendar_microsoft_writes_refreshes_and_stops_at_withdrawn_consent(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, false).await else {
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
            "ends_at": "2027-01-11T10:00:00Z", "timezone": "UTC", "visibility": "busy"})),
        201,
    )
    .await["data"]
        .clone();
    let event_id = event["id"].as_str().unwrap().to_owned();
    let push = |app: &TestApp| {
        app.put(&format!("/v1/calendar/integrations/{id}/events/{event_id}"))
            .bearer_auth(&me)
    };
    let created = succeed(push(&app)).await["data"].clone();
    assert_eq!(created["created"], true, "{created}");
    let remote_id = created["external_event_id"].as_str().unwrap().to_owned();
    assert_eq!(requests(&fake), ["insert"]);
    assert_eq!(
        fake.lock().unwrap().events[&remote_id].1["subject"],
        "Pitch"
    );
    // Our write comes back in the delta at the version we hold: nothing changes, no duplicate.
    assert_eq!(counts(&sync(&app, &me, &id).await), [0, 0, 0, 1]);
    assert_eq!(titles(&app, &me).await, ["Pitch"]);

    // Changed at Graph: the sync updates our event in place (Graph gave it its own iCalUId).
    fake.lock().unwrap().rename(&remote_id, "Pitch (moved)");
    assert_eq!(counts(&sync(&app, &me, &id).await), [0, 1, 0, 1]);
    assert_eq!(titles(&app, &me).await, ["Pitch (moved)"]);

    // Changed at Graph a minute ago, then here: the write meets 412, ours wins, theirs logged.
    {
        let mut f = fake.lock().unwrap();
        f.rename(&remote_id, "Pitch (their edit)");
        let before = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        f.events.get_mut(&remote_id).unwrap().1["lastModifiedDateTime"] = json!(before);
    }
    requests(&fake);
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
        fake.lock().unwrap().events[&remote_id].1["subject"],
        "Pitch (our edit)"
    );
    let conflicts = succeed(app.get("/v1/calendar/conflicts").bearer_auth(&me)).await;
    assert!(conflicts["data"][0]["loser_ics"]
        .as_str()
        .unwrap()
        .contains("SUMMARY:Pitch (their edit)"));

    // The access token expires: one refresh (a new refresh token too), the request again.
    fake.lock().unwrap().expire_access_tokens();
    assert_eq!(counts(&sync(&app, &me, &id).await)[3], 3);
    assert_eq!(requests(&fake), ["delta 401", "token refresh", "delta"]);
    assert_eq!(
        counts(&sync(&app, &me, &id).await)[3],
        1,
        "the new tokens are kept"
    );
    requests(&fake);

    // Consent withdrawn: revoked, never retried.
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
    assert_eq!(requests(&fake), ["delta 401", "token refresh"]);
    assert_eq!(integration(&app, &me, &id).await["status"], "revoked");
    let later = time::now() + chrono::Duration::days(1);
    assert!(app
        .state
        .calendar_runner
        .run_due(&move || later, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(requests(&fake).is_empty());
}

/// Connecting, syncing, a refresh (Microsoft rotates refresh tokens), a notification and a
/// refused refresh, logged at TRACE with every span's fields on this task: no token the fake
/// issued, nor the subscription's clientState, appears in the log or in the database.
async fn calendar_microsoft_tokens_never_reach_the_database_or_logs(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, true).await else {
        return;
    };
    fake.lock()
        .unwrap()
        .create("m1", "Board", "2027-01-04T09:00:00", "2027-01-04T10:00:00");
    let (me, _) = app.user(UserRole::Member).await;
    let caller = vendrome_core::access::Caller {
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
    let provider = vendrome_core::enums::CalendarProvider::Microsoft;
    let browser = "browser-secret-of-the-member";
    let url = engine.start(&caller, provider, browser).await.unwrap();
    let (code, state) = consent(&url).await;
    let integration = engine
        .finish(provider, &code, &state, Some(browser))
        .await
        .unwrap();
    tracing::debug!(?integration, "connected");
    engine.sync(integration.id).await.unwrap();
    fake.lock().unwrap().expire_access_tokens();
    engine.sync(integration.id).await.unwrap();
    let (subscription_id, client_state) = subscription(&fake);
    let notified = app
        .state
        .calendar_runner
        .microsoft_notification(
            &vendrome_calendar::microsoft_push::GraphNotification {
                subscription_id,
                client_state: Some(client_state.clone()),
                lifecycle_event: None,
            },
            time::now(),
        )
        .await
        .unwrap();
    tracing::debug!(?notified, "notified");
    let stored = app
        .db
        .store
        .integration(integration.id)
        .await
        .unwrap()
        .unwrap();
    tracing::debug!(?stored, "stored");
    fake.lock().unwrap().revoke();
    let failed = engine.sync(integration.id).await.unwrap_err();
    tracing::debug!(?failed, "refused");

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let bytes = stored_bytes(&app).await;
    let mut secrets = fake.lock().unwrap().issued.clone();
    assert!(secrets.len() >= 4, "{secrets:?}");
    secrets.push(client_state);
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

/// `(start, title)` of the member's occurrences from March to May 2027, in order.
async fn spring(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2027-03-01T00:00:00Z"),
                ("to", "2027-05-01T00:00:00Z"),
            ])
            .bearer_auth(token),
    )
    .await;
    let mut found: Vec<(String, String)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["occurrence_starts_at"].as_str().unwrap().to_owned(),
                o["event"]["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

/// The member's events (not occurrences) titled `title` from March to May 2027.
async fn events_titled(app: &TestApp, token: &str, title: &str) -> Vec<Value> {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2027-03-01T00:00:00Z"),
                ("to", "2027-05-01T00:00:00Z"),
            ])
            .bearer_auth(token),
    )
    .await;
    let mut events: Vec<Value> = Vec::new();
    for o in body["data"].as_array().unwrap() {
        let event = &o["event"];
        if event["title"] == title && !events.iter().any(|e| e["id"] == event["id"]) {
            events.push(event.clone());
        }
    }
    events
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(s, t)| ((*s).to_owned(), (*t).to_owned()))
        .collect()
}

async fn calendar_microsoft_reads_series_back_as_one_event(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 3, false).await else {
        return;
    };
    // Made in Outlook: six Mondays at 09:00 in London from 22 March (the clocks change on the
    // 28th), and a one-off meeting.
    {
        let mut f = fake.lock().unwrap();
        f.create_series(
            "s1",
            "Standup",
            ("2027-03-22T09:00:00", "2027-03-22T09:30:00"),
            "Europe/London",
            json!({"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                               "firstDayOfWeek": "monday"},
                   "range": {"type": "numbered", "numberOfOccurrences": 6,
                             "startDate": "2027-03-22", "recurrenceTimeZone": "Europe/London"}}),
        );
        f.create("m1", "Board", "2027-03-24T09:00:00", "2027-03-24T10:00:00");
    }
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    requests(&fake);

    // The delta lists the series as its six occurrences (three a page): it is read once, its
    // master and its instances, and kept as one event.
    let first = sync(&app, &me, &id).await;
    assert_eq!(counts(&first), [2, 0, 0, 5], "{first}");
    assert_eq!(
        requests(&fake),
        ["delta", "delta next", "delta next", "get", "instances"]
    );
    let standup = events_titled(&app, &me, "Standup").await;
    assert_eq!(standup.len(), 1, "{standup:?}");
    assert_eq!(standup[0]["timezone"], "Europe/London");
    assert_eq!(standup[0]["exceptions"], json!([]));
    let mondays = [
        "2027-03-22T09:00:00Z",
        "2027-03-29T08:00:00Z",
        "2027-04-05T08:00:00Z",
        "2027-04-12T08:00:00Z",
        "2027-04-19T08:00:00Z",
        "2027-04-26T08:00:00Z",
    ];
    let mut expected: Vec<(&str, &str)> = mondays.iter().map(|m| (*m, "Standup")).collect();
    expected.push(("2027-03-24T09:00:00Z", "Board"));
    expected.sort();
    assert_eq!(spring(&app, &me).await, pairs(&expected));

    // One occurrence deleted in Outlook: the delta names only the occurrence (`@removed`), so
    // the linked series is read again; the occurrence it lacks becomes an exception.
    fake.lock()
        .unwrap()
        .delete_occurrence("s1", "2027-03-29T08:00:00Z");
    let deleted = sync(&app, &me, &id).await;
    assert_eq!(counts(&deleted), [0, 1, 0, 3], "{deleted}");
    assert_eq!(requests(&fake), ["delta", "get", "instances"]);
    let standup = events_titled(&app, &me, "Standup").await;
    assert_eq!(standup.len(), 1, "{standup:?}");
    assert_eq!(standup[0]["exceptions"], json!(["2027-03-29T08:00:00Z"]));
    expected.retain(|(s, _)| *s != "2027-03-29T08:00:00Z");
    assert_eq!(spring(&app, &me).await, pairs(&expected));
    assert_eq!(counts(&sync(&app, &me, &id).await), [0, 0, 0, 1]);
    assert_eq!(requests(&fake), ["delta"]);

    // The series renamed in Outlook: its occurrences listed again, the one event updated.
    fake.lock().unwrap().rename("s1", "Standup (v2)");
    let renamed = sync(&app, &me, &id).await;
    assert_eq!(counts(&renamed), [0, 1, 0, 4], "{renamed}");
    assert_eq!(requests(&fake), ["delta", "delta next", "get", "instances"]);
    let standup = events_titled(&app, &me, "Standup (v2)").await;
    assert_eq!(standup.len(), 1, "{standup:?}");
    assert_eq!(standup[0]["exceptions"], json!(["2027-03-29T08:00:00Z"]));

    // Our own series with an exception: written with its pattern, then the excepted instance
    // deleted (a patternedRecurrence cannot hold it), then read back for its version.
    let retro = expect_status(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
            "title": "Retro", "starts_at": "2027-03-31T08:00:00Z",
            "ends_at": "2027-03-31T09:00:00Z", "timezone": "Europe/London",
            "recurrence": "FREQ=WEEKLY;BYDAY=WE;COUNT=4",
            "exceptions": ["2027-04-07T08:00:00Z"], "visibility": "busy"})),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pushed = succeed(
        app.put(&format!("/v1/calendar/integrations/{id}/events/{retro}"))
            .bearer_auth(&me),
    )
    .await["data"]
        .clone();
    let remote = pushed["external_event_id"].as_str().unwrap().to_owned();
    assert_eq!(
        requests(&fake),
        ["insert", "instances", "delete", "get", "instances"]
    );
    let excepted = chrono::DateTime::parse_from_rfc3339("2027-04-07T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(fake.lock().unwrap().deleted_starts(&remote), [excepted]);
    // Pushed again: the instance is already gone, nothing more is deleted.
    succeed(
        app.put(&format!("/v1/calendar/integrations/{id}/events/{retro}"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(requests(&fake), ["update", "instances", "get", "instances"]);
    assert_eq!(fake.lock().unwrap().deleted_starts(&remote), [excepted]);

    // The pull meets our series at the version we hold: not duplicated, not changed. (The
    // deleted instance's `@removed` names no linked event, so the other linked series is read
    // again too.)
    let ours = sync(&app, &me, &id).await;
    assert_eq!(counts(&ours), [0, 0, 0, 6], "{ours}");
    let mut made = requests(&fake);
    made.sort();
    assert_eq!(
        made,
        [
            "delta",
            "delta next",
            "get",
            "get",
            "instances",
            "instances"
        ]
    );
    assert_eq!(events_titled(&app, &me, "Retro").await.len(), 1);
    for wednesday in [
        "2027-03-31T08:00:00Z",
        "2027-04-14T08:00:00Z",
        "2027-04-21T08:00:00Z",
    ] {
        expected.push((wednesday, "Retro"));
    }
    for (_, title) in &mut expected {
        if *title == "Standup" {
            *title = "Standup (v2)";
        }
    }
    expected.sort();
    assert_eq!(spring(&app, &me).await, pairs(&expected));

    // The whole series deleted in Outlook: its occurrences come as `@removed`; the series
    // Graph no longer has is deleted here, the other kept.
    fake.lock().unwrap().delete("s1");
    let gone = sync(&app, &me, &id).await;
    assert_eq!(counts(&gone)[..3], [0, 0, 1], "{gone}");
    expected.retain(|(_, t)| *t != "Standup (v2)");
    assert_eq!(spring(&app, &me).await, pairs(&expected));
}

/// The exceptions of event `event` as the API shows them.
async fn exceptions_of(app: &TestApp, token: &str, event: &str) -> Value {
    succeed(
        app.get(&format!("/v1/calendar/events/{event}"))
            .bearer_auth(token),
    )
    .await["data"]["exceptions"]
        .clone()
}

async fn calendar_microsoft_pull_keeps_exceptions_outside_the_window(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, false).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    // Our own Monday series since January 2025, with one exception two years back (far outside
    // the synced window, which reaches 90 days back) and one inside it.
    let weekly = expect_status(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
            "title": "Standup", "starts_at": "2025-01-06T09:00:00Z",
            "ends_at": "2025-01-06T09:30:00Z", "timezone": "Europe/London",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO",
            "exceptions": ["2025-02-03T09:00:00Z", "2027-03-29T08:00:00Z"],
            "visibility": "busy"})),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pushed = succeed(
        app.put(&format!("/v1/calendar/integrations/{id}/events/{weekly}"))
            .bearer_auth(&me),
    )
    .await;
    let remote = pushed["data"]["external_event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fake.lock().unwrap().deleted_starts(&remote).len(), 2);
    let both = json!(["2025-02-03T09:00:00Z", "2027-03-29T08:00:00Z"]);
    let first = sync(&app, &me, &id).await;
    assert_eq!(counts(&first)[..3], [0, 0, 0], "{first}");
    assert_eq!(exceptions_of(&app, &me, &weekly).await, both);

    // Renamed in Outlook: the pull replaces the series, whose exceptions Graph gives only
    // within the window. The one two years back stays; the one inside is Graph's again.
    fake.lock().unwrap().rename(&remote, "Standup (v2)");
    let renamed = sync(&app, &me, &id).await;
    assert_eq!(counts(&renamed)[..3], [0, 1, 0], "{renamed}");
    assert_eq!(exceptions_of(&app, &me, &weekly).await, both);

    // Another occurrence deleted in Outlook, inside the window: added beside the others.
    fake.lock()
        .unwrap()
        .delete_occurrence(&remote, "2027-04-05T08:00:00Z");
    let deleted = sync(&app, &me, &id).await;
    assert_eq!(counts(&deleted)[..3], [0, 1, 0], "{deleted}");
    assert_eq!(
        exceptions_of(&app, &me, &weekly).await,
        json!([
            "2025-02-03T09:00:00Z",
            "2027-03-29T08:00:00Z",
            "2027-04-05T08:00:00Z"
        ])
    );
}

async fn calendar_microsoft_shows_changed_occurrences_once_at_their_new_time(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, false).await else {
        return;
    };
    fake.lock().unwrap().create_series(
        "s1",
        "Standup",
        ("2027-03-22T09:00:00", "2027-03-22T09:30:00"),
        "Europe/London",
        json!({"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                           "firstDayOfWeek": "monday"},
               "range": {"type": "numbered", "numberOfOccurrences": 6,
                         "startDate": "2027-03-22", "recurrenceTimeZone": "Europe/London"}}),
    );
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    assert_eq!(counts(&sync(&app, &me, &id).await)[..3], [1, 0, 0]);
    let mondays = [
        "2027-03-22T09:00:00Z",
        "2027-03-29T08:00:00Z",
        "2027-04-05T08:00:00Z",
        "2027-04-12T08:00:00Z",
        "2027-04-19T08:00:00Z",
        "2027-04-26T08:00:00Z",
    ];
    let series: Vec<(&str, &str)> = mondays.iter().map(|m| (*m, "Standup")).collect();
    let with = |changes: &[(&str, &str)], without: &[&str]| {
        let mut expected: Vec<(&str, &str)> = series
            .iter()
            .filter(|(s, _)| !without.contains(s))
            .copied()
            .collect();
        expected.extend_from_slice(changes);
        expected.sort();
        pairs(&expected)
    };

    // One occurrence moved to Tuesday afternoon and renamed in Outlook: the delta lists it as an
    // exception; the series gains an exception at its original start, and the moved occurrence
    // is an event of its own, shown once, at its new time.
    fake.lock().unwrap().move_occurrence(
        "s1",
        "2027-04-05T08:00:00Z",
        ("2027-04-06T13:00:00Z", "2027-04-06T13:30:00Z"),
        "Standup (moved)",
    );
    let moved = sync(&app, &me, &id).await;
    assert_eq!(counts(&moved)[..3], [1, 1, 0], "{moved}");
    assert_eq!(
        spring(&app, &me).await,
        with(
            &[("2027-04-06T13:00:00Z", "Standup (moved)")],
            &["2027-04-05T08:00:00Z"]
        )
    );
    let standup = events_titled(&app, &me, "Standup").await;
    assert_eq!(standup[0]["exceptions"], json!(["2027-04-05T08:00:00Z"]));
    let single = events_titled(&app, &me, "Standup (moved)").await;
    assert_eq!(single.len(), 1, "{single:?}");
    assert_eq!(single[0]["recurrence"], Value::Null);

    // Moved again: the same event follows it; the series is unchanged.
    fake.lock().unwrap().move_occurrence(
        "s1",
        "2027-04-05T08:00:00Z",
        ("2027-04-07T15:00:00Z", "2027-04-07T15:30:00Z"),
        "Standup (moved)",
    );
    let again = sync(&app, &me, &id).await;
    assert_eq!(counts(&again)[..3], [0, 1, 0], "{again}");
    assert_eq!(
        spring(&app, &me).await,
        with(
            &[("2027-04-07T15:00:00Z", "Standup (moved)")],
            &["2027-04-05T08:00:00Z"]
        )
    );
    assert_eq!(
        events_titled(&app, &me, "Standup (moved)").await[0]["id"],
        single[0]["id"]
    );

    // Put back in its series in Outlook: listed as a plain occurrence again; its event goes and
    // the series has no exception.
    fake.lock()
        .unwrap()
        .revert_occurrence("s1", "2027-04-05T08:00:00Z");
    let reverted = sync(&app, &me, &id).await;
    assert_eq!(counts(&reverted)[..3], [0, 1, 1], "{reverted}");
    assert_eq!(spring(&app, &me).await, with(&[], &[]));
    assert_eq!(
        events_titled(&app, &me, "Standup").await[0]["exceptions"],
        json!([])
    );

    // Another moved, then deleted in Outlook: its event goes (`@removed` under its id), and
    // the series keeps the exception, the occurrence being gone.
    fake.lock().unwrap().move_occurrence(
        "s1",
        "2027-04-12T08:00:00Z",
        ("2027-04-13T10:00:00Z", "2027-04-13T10:30:00Z"),
        "Standup",
    );
    let moved = sync(&app, &me, &id).await;
    assert_eq!(counts(&moved)[..3], [1, 1, 0], "{moved}");
    assert_eq!(
        spring(&app, &me).await,
        with(
            &[("2027-04-13T10:00:00Z", "Standup")],
            &["2027-04-12T08:00:00Z"]
        )
    );
    fake.lock()
        .unwrap()
        .delete_occurrence("s1", "2027-04-12T08:00:00Z");
    let deleted = sync(&app, &me, &id).await;
    assert_eq!(counts(&deleted)[..3], [0, 0, 1], "{deleted}");
    assert_eq!(
        spring(&app, &me).await,
        with(&[], &["2027-04-12T08:00:00Z"])
    );
    let standup = events_titled(&app, &me, "Standup").await;
    assert_eq!(standup.len(), 1, "{standup:?}");
    assert_eq!(standup[0]["exceptions"], json!(["2027-04-12T08:00:00Z"]));
}

async fn calendar_microsoft_reads_windows_zone_names(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 100, false).await else {
        return;
    };
    // Made in Outlook in California, its zones named as Windows names them: four Mondays at
    // 09:00 from 1 March; the clocks change on 14 March.
    fake.lock().unwrap().create_series(
        "p1",
        "Pacific sync",
        ("2027-03-01T09:00:00", "2027-03-01T09:30:00"),
        "Pacific Standard Time",
        json!({"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                           "firstDayOfWeek": "sunday"},
               "range": {"type": "numbered", "numberOfOccurrences": 4,
                         "startDate": "2027-03-01",
                         "recurrenceTimeZone": "Pacific Standard Time"}}),
    );
    let me = app.token(UserRole::Member).await;
    let id = connect(&app, &me).await["id"].as_str().unwrap().to_owned();
    let first = sync(&app, &me, &id).await;
    assert_eq!(counts(&first)[..3], [1, 0, 0], "{first}");
    let series = events_titled(&app, &me, "Pacific sync").await;
    assert_eq!(series.len(), 1, "{series:?}");
    assert_eq!(series[0]["timezone"], "America/Los_Angeles");
    assert_eq!(series[0]["exceptions"], json!([]));
    // 09:00 local on both sides of the change: 17:00 UTC in PST, 16:00 UTC in PDT.
    assert_eq!(
        spring(&app, &me).await,
        pairs(&[
            ("2027-03-01T17:00:00Z", "Pacific sync"),
            ("2027-03-08T17:00:00Z", "Pacific sync"),
            ("2027-03-15T16:00:00Z", "Pacific sync"),
            ("2027-03-22T16:00:00Z", "Pacific sync"),
        ])
    );
}
