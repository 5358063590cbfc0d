//! The calendar sync queue's worker as `serve` runs it (`tasks::calendar::sync_calendars`, over
//! `SyncRunner`): a failing server is retried with backoff and dead-lettered after the last
//! attempt (on a clock the test sets, so no waiting); against a real Radicale (tests named
//! `calendar_caldav_*`, run by `scripts/peers/caldav.sh`), an event created remotely shows up in
//! the member's calendar without anyone asking for a sync, a refused password marks the
//! integration `revoked` and stops its syncs until the member gives a new one, and two instances'
//! workers run each job once.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vendrome_calendar::{Attempt, RunnerConfig};
use vendrome_core::calendar::sync_jobs::{SyncJob, SyncJobRepo as _};
use vendrome_core::enums::{CalendarSyncJobStatus, UserRole};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::time::{self, Timestamp};
use vendrome_server::AppState;

use crate::caldav::{vevent, Radicale};
use crate::checkout_tasks::PATIENCE;
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    calendar_runner_backs_off_and_dead_letters_a_failing_server,
    calendar_caldav_runner_syncs_remote_events_on_its_own,
    calendar_caldav_runner_stops_at_a_refused_password_until_reconnected,
    calendar_caldav_runner_two_instances_run_each_job_once
);

/// A quick pace: every pass 20 ms apart, a sync per `period`.
fn quick(period: Duration) -> RunnerConfig {
    RunnerConfig {
        period,
        max_attempts: 3,
        lease: Duration::from_secs(60),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(200),
        poll: Duration::from_millis(20),
    }
}

/// Every instance of a test seals and opens credentials with this key.
const KEYS: &str = "c1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn setup(backend: Backend, config: RunnerConfig) -> Setup {
    let mut setup = Setup::new(backend);
    setup.calendar_sync = config;
    setup.calendar_keys = Some(KEYS.into());
    setup
}

/// Workers started by a test, stopped together.
struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    fn start(states: &[&AppState]) -> Self {
        let stop = watch::channel(false).0;
        let handles = states
            .iter()
            .map(|state| {
                tokio::spawn(vendrome_server::tasks::calendar::sync_calendars(
                    (*state).clone(),
                    Arc::new(time::now),
                    stop.subscribe(),
                ))
            })
            .collect();
        Self { stop, handles }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        for handle in self.handles {
            handle.await.unwrap();
        }
    }
}

async fn connect(app: &TestApp, token: &str, url: &str, password: &str) -> String {
    expect_status(
        app.post("/v1/calendar/integrations/caldav")
            .bearer_auth(token)
            .json(&json!({"url": url, "username": "alice", "password": password})),
        201,
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn integration(app: &TestApp, token: &str, id: &str) -> Value {
    let listed = succeed(app.get("/v1/calendar/integrations").bearer_auth(token)).await;
    listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap()
        .clone()
}

async fn jobs(app: &TestApp, id: &str) -> Vec<SyncJob> {
    let id: CalendarIntegrationId = id.parse().unwrap();
    app.db.store.sync_jobs_of(id, 100).await.unwrap()
}

/// Polls `check` until it holds, for up to [`PATIENCE`].
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn titles(app: &TestApp, token: &str) -> Vec<String> {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2027-01-01T00:00:00Z"),
                ("to", "2027-02-01T00:00:00Z"),
                ("limit", "100"),
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

/// A write by another client of the server.
async fn put(collection: &str, name: &str, password: &str, ics: &str) {
    let status = reqwest::Client::new()
        .put(format!("{collection}{name}.ics"))
        .basic_auth("alice", Some(password))
        .header("content-type", "text/calendar")
        .body(ics.to_owned())
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

async fn calendar_runner_backs_off_and_dead_letters_a_failing_server(backend: Backend) {
    let config = RunnerConfig {
        period: Duration::from_secs(3600),
        max_attempts: 3,
        lease: Duration::from_secs(60),
        backoff_base: Duration::from_secs(10),
        backoff_cap: Duration::from_secs(15),
        poll: Duration::from_millis(20),
    };
    let Some(app) = spawn_with(setup(backend, config)).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let id = connect(
        &app,
        &me,
        "http://127.0.0.1:9/alice/gone/",
        "pw-never-logged",
    )
    .await;
    let runner = &app.state.calendar_runner;
    let t0 = time::now();
    let at = |t: Timestamp| move || t;

    // The period's job, queued once.
    assert_eq!(runner.enqueue_due(t0).await.unwrap(), 1);
    assert_eq!(runner.enqueue_due(t0).await.unwrap(), 0);

    // First attempt fails: back to pending for 5 to 10 s (the base, its upper half jittered).
    let runs = runner.run_due(&at(t0), 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert!(matches!(runs[0].attempt, Attempt::Failed(_)), "{runs:?}");
    assert_eq!(runs[0].status, Some(CalendarSyncJobStatus::Pending));
    let job = jobs(&app, &id).await.remove(0);
    assert_eq!(job.attempts, 1);
    assert!(
        job.available_at >= t0 + secs(5) && job.available_at <= t0 + secs(10),
        "{job:?}"
    );
    let error = job.last_error.as_deref().unwrap();
    assert!(error.contains("CalDAV request failed"), "{error}");
    let failed = integration(&app, &me, &id).await;
    assert_eq!(failed["status"], "error", "{failed}");
    assert!(!failed["last_error"]
        .as_str()
        .unwrap()
        .contains("pw-never-logged"));

    // Not retried before its time; the period does not queue a second one meanwhile.
    assert!(runner
        .run_due(&at(t0 + secs(4)), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(runner.enqueue_due(t0 + secs(4)).await.unwrap(), 0);

    // Second attempt, then a wait doubled (10 to 15 s: the cap).
    let t1 = t0 + secs(10);
    let runs = runner.run_due(&at(t1), 10).await.unwrap();
    assert_eq!(runs[0].status, Some(CalendarSyncJobStatus::Pending));
    let job = jobs(&app, &id).await.remove(0);
    assert_eq!(job.attempts, 2);
    assert!(
        job.available_at >= t1 + secs(7) && job.available_at <= t1 + secs(15),
        "{job:?}"
    );

    // The third and last attempt: a dead letter.
    let t2 = t1 + secs(15);
    let runs = runner.run_due(&at(t2), 10).await.unwrap();
    assert_eq!(runs[0].status, Some(CalendarSyncJobStatus::Dead));
    let all = jobs(&app, &id).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].status, all[0].attempts),
        (CalendarSyncJobStatus::Dead, 3)
    );
    assert!(runner
        .run_due(&at(t2 + secs(3600)), 10)
        .await
        .unwrap()
        .is_empty());
    let status = app.db.store.sync_queue_status().await.unwrap();
    assert_eq!((status.dead, status.pending), (1, 0));

    // The next period tries again with a new job.
    assert_eq!(runner.enqueue_due(t2).await.unwrap(), 0);
    assert_eq!(
        runner.enqueue_due(t0 + secs(3601)).await.unwrap(),
        1,
        "one job per period"
    );

    // The same through the loop `serve` runs (another instance on the database, with short
    // waits), on the wall clock: three attempts, then dead.
    let mut quick_setup = setup(backend, quick(Duration::from_secs(3600)));
    quick_setup.database = Some(app.db.clone());
    let quick_app = spawn_with(quick_setup)
        .await
        .expect("the first one's database");
    let other = connect(&app, &me, "http://127.0.0.1:9/alice/also-gone/", "pw").await;
    let workers = Workers::start(&[&quick_app.state]);
    let (a, o) = (&app, other.as_str());
    until("the failing job is a dead letter", move || async move {
        jobs(a, o).await.first().map(|j| j.status) == Some(CalendarSyncJobStatus::Dead)
    })
    .await;
    workers.stop().await;
    let all = jobs(&app, &other).await;
    assert_eq!((all.len(), all[0].attempts), (1, 3), "{all:?}");
    let error = all[0].last_error.as_deref().unwrap();
    assert!(error.contains("CalDAV request failed"), "{error}");
}

async fn calendar_caldav_runner_syncs_remote_events_on_its_own(backend: Backend) {
    let Some(radicale) = Radicale::start() else {
        return;
    };
    let Some(app) = spawn_with(setup(backend, quick(Duration::from_millis(300)))).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let collection = radicale.calendar("alice", "work").await;
    put(
        &collection,
        "e1",
        "x",
        &vevent(
            "e1@elsewhere",
            "Board",
            "20270104T090000Z",
            "20270104T100000Z",
        ),
    )
    .await;
    let id = connect(&app, &me, &collection, "x").await;
    assert!(titles(&app, &me).await.is_empty());

    // Nobody asks for a sync: the worker's period does it.
    let workers = Workers::start(&[&app.state]);
    let (a, m) = (&app, me.as_str());
    until("the remote event shows", move || async move {
        titles(a, m).await == ["Board"]
    })
    .await;
    // A later remote change arrives by the next period.
    put(
        &collection,
        "e2",
        "x",
        &vevent(
            "e2@elsewhere",
            "Dentist",
            "20270105T090000Z",
            "20270105T100000Z",
        ),
    )
    .await;
    until("the second remote event shows", move || async move {
        titles(a, m).await == ["Board", "Dentist"]
    })
    .await;
    // A sync token the server no longer knows (its 403 valid-sync-token) is a full resync, not a
    // refused credential: the integration stays active.
    vendrome_store::with_db!(app.db.store.db(), pool => {
        sqlx::query("UPDATE calendar_integrations SET sync_cursor = 'http://radicale.org/ns/sync/unknown'")
            .execute(pool)
            .await
            .map(drop)
            .unwrap()
    });
    put(
        &collection,
        "e3",
        "x",
        &vevent(
            "e3@elsewhere",
            "Offsite",
            "20270106T090000Z",
            "20270106T170000Z",
        ),
    )
    .await;
    until("the third remote event shows", move || async move {
        titles(a, m).await == ["Board", "Dentist", "Offsite"]
    })
    .await;
    workers.stop().await;

    let state = integration(&app, &me, &id).await;
    assert_eq!(state["status"], "active", "{state}");
    assert!(state["last_error"].is_null(), "{state}");
    let all = jobs(&app, &id).await;
    assert!(all.len() >= 3, "{all:?}");
    assert!(
        all.iter()
            .all(|j| j.status == CalendarSyncJobStatus::Succeeded && j.attempts == 1),
        "{all:?}"
    );
}

async fn calendar_caldav_runner_stops_at_a_refused_password_until_reconnected(backend: Backend) {
    let Some(radicale) = Radicale::start_with_password("alice", "right-pw") else {
        return;
    };
    let Some(app) = spawn_with(setup(backend, quick(Duration::from_millis(200)))).await else {
        return;
    };
    let me = app.token(UserRole::Member).await;
    let collection = radicale.calendar("alice", "work").await;
    put(
        &collection,
        "e1",
        "right-pw",
        &vevent(
            "e1@elsewhere",
            "Board",
            "20270104T090000Z",
            "20270104T100000Z",
        ),
    )
    .await;
    let id = connect(&app, &me, &collection, "wrong-pw").await;

    let workers = Workers::start(&[&app.state]);
    let (a, m, i) = (&app, me.as_str(), id.as_str());
    until("the integration is revoked", move || async move {
        integration(a, m, i).await["status"] == "revoked"
    })
    .await;
    workers.stop().await;
    let revoked = integration(&app, &me, &id).await;
    let error = revoked["last_error"].as_str().unwrap();
    assert!(error.contains("401"), "{error}");
    assert!(!error.contains("wrong-pw"), "{error}");
    // Dead at its first attempt, not retried.
    let all = jobs(&app, &id).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        (all[0].status, all[0].attempts),
        (CalendarSyncJobStatus::Dead, 1)
    );
    // No later period queues it, and a sync asked for is refused.
    let runner = &app.state.calendar_runner;
    let much_later = time::now() + secs(86_400);
    assert_eq!(runner.enqueue_due(much_later).await.unwrap(), 0);
    assert_eq!(jobs(&app, &id).await.len(), 1);
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
    assert!(titles(&app, &me).await.is_empty());

    // New credentials: bad input is refused, someone else's integration is not found.
    let path = format!("/v1/calendar/integrations/{id}/credentials");
    expect_error(
        app.put(&path)
            .bearer_auth(&me)
            .json(&json!({ "password": "" }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let stranger = app.token(UserRole::Member).await;
    expect_error(
        app.put(&path)
            .bearer_auth(&stranger)
            .json(&json!({ "password": "right-pw" }))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let reconnected = succeed(
        app.put(&path)
            .bearer_auth(&me)
            .json(&json!({ "password": "right-pw" })),
    )
    .await["data"]
        .clone();
    assert_eq!(reconnected["status"], "active", "{reconnected}");
    assert!(reconnected["last_error"].is_null(), "{reconnected}");

    // A sync is queued at once, and the worker runs it.
    let workers = Workers::start(&[&app.state]);
    let (a, m) = (&app, me.as_str());
    until("the remote event shows", move || async move {
        titles(a, m).await == ["Board"]
    })
    .await;
    workers.stop().await;
    let state = integration(&app, &me, &id).await;
    assert_eq!(state["status"], "active", "{state}");
    assert!(state["last_synced_at"].is_string(), "{state}");
}

async fn calendar_caldav_runner_two_instances_run_each_job_once(backend: Backend) {
    const MEMBERS: usize = 6;
    let Some(radicale) = Radicale::start() else {
        return;
    };
    // One period for the whole test: each integration gets exactly one job.
    let config = quick(Duration::from_secs(3600));
    let Some(app) = spawn_with(setup(backend, config.clone())).await else {
        return;
    };
    let mut second = setup(backend, config);
    second.database = Some(app.db.clone());
    let other = spawn_with(second).await.expect("the first one's database");
    let mut members = Vec::new();
    for n in 0..MEMBERS {
        let token = app.token(UserRole::Member).await;
        let collection = radicale.calendar("alice", &format!("cal{n}")).await;
        put(
            &collection,
            "e",
            "x",
            &vevent(
                &format!("e{n}@elsewhere"),
                &format!("Meeting {n}"),
                "20270104T090000Z",
                "20270104T100000Z",
            ),
        )
        .await;
        let id = connect(&app, &token, &collection, "x").await;
        members.push((token, id));
    }

    let workers = Workers::start(&[&app.state, &other.state]);
    for (token, id) in &members {
        let (a, t, i) = (&app, token.as_str(), id.as_str());
        until("every integration synced", move || async move {
            integration(a, t, i).await["last_synced_at"].is_string()
        })
        .await;
    }
    // Let both workers make further passes over the queue before stopping them.
    for (_, id) in &members {
        let (a, i) = (&app, id.as_str());
        until("every job settled", move || async move {
            jobs(a, i)
                .await
                .iter()
                .all(|j| j.status == CalendarSyncJobStatus::Succeeded)
        })
        .await;
    }
    workers.stop().await;

    for (n, (token, id)) in members.iter().enumerate() {
        let all = jobs(&app, id).await;
        assert_eq!(all.len(), 1, "one job per period: {all:?}");
        assert_eq!(
            (all[0].status, all[0].attempts),
            (CalendarSyncJobStatus::Succeeded, 1),
            "run once: {all:?}"
        );
        assert_eq!(titles(&app, token).await, [format!("Meeting {n}")]);
    }
    let status = app.db.store.sync_queue_status().await.unwrap();
    assert_eq!((status.pending, status.running, status.dead), (0, 0, 0));
}
