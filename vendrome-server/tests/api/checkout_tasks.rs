//! Checkout's background loops as `serve` runs them (`tasks::checkout`), with a clock set ahead
//! and short intervals: an unpaid order expires and gives its stock back once with two
//! instances' loops running, and so does an unpaid booking, freeing its slot; a fulfilled order completes on its own; the completer finishes an
//! attempt whose outcome never came back. Each test waits for the outcome in the store, then
//! stops the loops: each loop makes a whole pass before it looks at the stop signal, so every
//! loop has passed over the due work by the time the test checks that it was done once.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::PaymentId;
use vendrome_core::ledger::LedgerRepo as _;
use vendrome_core::payments::PaymentRepo as _;
use vendrome_payments::SandboxOutcome;
use vendrome_server::tasks::checkout::{self, Schedule};
use vendrome_server::AppState;
use vendrome_store::Db;

use crate::bookings::{book, open_all_week, slots};
use crate::orders::{ledger_is_clean, order, product};
use crate::paid_bookings::paid_service;
use crate::support::{expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    two_instances_expire_an_unpaid_order_and_give_its_stock_back_once,
    two_instances_expire_an_unpaid_booking_and_free_its_slot_once,
    a_fulfilled_order_completes_on_its_own,
    the_completer_finishes_a_payment_whose_outcome_was_lost
);

/// How long an outcome may take to show in the store.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Every loop passing every 20 ms, on a clock `ahead` of the wall clock.
fn schedule(ahead: TimeDelta) -> Schedule {
    Schedule::every(
        Duration::from_millis(20),
        std::sync::Arc::new(move || vendrome_core::time::now() + ahead),
    )
}

/// Loops started by a test, stopped together.
pub struct Loops {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Loops {
    pub fn new() -> Self {
        Self {
            stop: watch::channel(false).0,
            handles: Vec::new(),
        }
    }

    pub fn start<F, Fut>(&mut self, task: F, state: &AppState, schedule: &Schedule)
    where
        F: FnOnce(AppState, Schedule, watch::Receiver<bool>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let running = task(state.clone(), schedule.clone(), self.stop.subscribe());
        self.handles.push(tokio::spawn(running));
    }

    /// Stops every loop and waits until each has returned.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        for handle in self.handles {
            handle.await.unwrap();
        }
    }
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    succeed(app.get(path).bearer_auth(token)).await["data"].clone()
}

/// Reads `path` until `field` is `want`, for up to [`PATIENCE`].
async fn until(app: &TestApp, token: &str, path: &str, field: &str, want: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let data = get(app, token, path).await;
        if data[field] == want {
            return data;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never had {field} {want}: {data}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    match app.db.store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// A sandbox checkout of `placed` for the buyer, waiting on the buyer's choice; its `data`.
async fn checkout(app: &TestApp, buyer: &str, placed: &Value) -> Value {
    let id = placed["id"].as_str().unwrap();
    expect_status(
        app.post(&format!("/v1/orders/{id}/checkout"))
            .bearer_auth(buyer)
            .json(&json!({ "provider": "sandbox" })),
        201,
    )
    .await["data"]
        .clone()
}

async fn two_instances_expire_an_unpaid_order_and_give_its_stock_back_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let mut second = Setup::new(backend);
    second.database = Some(app.db.clone());
    let other = spawn_with(second).await.expect("the first one's database");
    let seller = app.token(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let mug = product(&app, &seller, 2_500, "ZAR", Some(3)).await;
    let placed = order(&app, &buyer, &[(&mug, 2)]).await;
    let order_path = format!("/v1/orders/{}", placed["id"].as_str().unwrap());
    let stock = |post: Value| post["payload"]["stock_quantity"].clone();
    assert_eq!(
        stock(get(&app, &seller, &format!("/v1/posts/{mug}")).await),
        1
    );

    // Both instances' expiry loops, 31 minutes on: past the 30-minute expiry.
    let ahead = schedule(TimeDelta::minutes(31));
    let mut loops = Loops::new();
    loops.start(checkout::expire_orders, &app.state, &ahead);
    loops.start(checkout::expire_orders, &other.state, &ahead);
    let expired = until(&app, &buyer, &order_path, "status", "cancelled").await;
    loops.stop().await;

    assert!(expired["cancelled_at"].is_string(), "{expired}");
    assert_eq!(
        stock(get(&app, &seller, &format!("/v1/posts/{mug}")).await),
        3,
        "the stock is given back once"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'order.cancelled'"
        )
        .await,
        1,
        "one cancellation"
    );
}

async fn two_instances_expire_an_unpaid_booking_and_free_its_slot_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let mut second = Setup::new(backend);
    second.database = Some(app.db.clone());
    let other = spawn_with(second).await.expect("the first one's database");
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = paid_service(&app, &provider, 30_000, json!({})).await;
    open_all_week(&app, &provider).await;
    let slot = slots(&app, &post).await[0]["starts_at"].clone();
    let made = expect_status(book(&app, &client, &post, &slot), 201).await["data"].clone();
    assert_eq!(made["status"], "awaiting_payment");
    let path = format!("/v1/bookings/{}", made["id"].as_str().unwrap());
    assert!(slots(&app, &post)
        .await
        .iter()
        .all(|s| s["starts_at"] != slot));

    // Not yet: 29 minutes on, within the 30-minute payment window.
    let early = schedule(TimeDelta::minutes(29));
    let mut loops = Loops::new();
    loops.start(checkout::expire_bookings, &app.state, &early);
    tokio::time::sleep(Duration::from_millis(200)).await;
    loops.stop().await;
    assert_eq!(
        get(&app, &client, &path).await["status"],
        "awaiting_payment"
    );

    // Both instances' loops, 31 minutes on.
    let ahead = schedule(TimeDelta::minutes(31));
    let mut loops = Loops::new();
    loops.start(checkout::expire_bookings, &app.state, &ahead);
    loops.start(checkout::expire_bookings, &other.state, &ahead);
    let expired = until(&app, &client, &path, "status", "cancelled").await;
    loops.stop().await;
    assert_eq!(expired["refund_amount"], 0, "{expired}");
    assert!(
        slots(&app, &post)
            .await
            .iter()
            .any(|s| s["starts_at"] == slot),
        "the slot is offered again"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'booking.cancelled'"
        )
        .await,
        1,
        "one cancellation"
    );
    // It can no longer be paid.
    let id = made["id"].as_str().unwrap();
    let refused = crate::support::json(
        app.post(&format!("/v1/bookings/{id}/checkout"))
            .bearer_auth(&client)
            .json(&json!({ "provider": "sandbox" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.0, 409, "{refused:?}");
    assert_eq!(refused.1["error"]["code"], "invalid_booking_transition");
}

async fn a_fulfilled_order_completes_on_its_own(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let seller = app.token(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let lamp = product(&app, &seller, 40_000, "ZAR", None).await;
    let placed = order(&app, &buyer, &[(&lamp, 1)]).await;
    let order_path = format!("/v1/orders/{}", placed["id"].as_str().unwrap());
    let paying = checkout(&app, &buyer, &placed).await;
    succeed(
        app.post(&format!(
            "/v1/payments/sandbox/{}/complete",
            paying["id"].as_str().unwrap()
        ))
        .json(&json!({ "outcome": "succeeded" })),
    )
    .await;
    succeed(
        app.post(&format!("{order_path}/fulfil"))
            .bearer_auth(&seller),
    )
    .await;

    // Fourteen days after fulfilment, and a day more.
    let ahead = schedule(TimeDelta::days(15));
    let mut loops = Loops::new();
    loops.start(checkout::auto_complete_orders, &app.state, &ahead);
    loops.start(checkout::auto_complete_orders, &app.state, &ahead);
    let completed = until(&app, &buyer, &order_path, "status", "completed").await;
    loops.stop().await;

    assert!(completed["completed_at"].is_string(), "{completed}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'order.completed'"
        )
        .await,
        1
    );
    ledger_is_clean(&app).await;
}

async fn the_completer_finishes_a_payment_whose_outcome_was_lost(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let seller = app.token(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let lamp = product(&app, &seller, 40_000, "ZAR", None).await;
    let placed = order(&app, &buyer, &[(&lamp, 1)]).await;
    let order_path = format!("/v1/orders/{}", placed["id"].as_str().unwrap());
    let paying = checkout(&app, &buyer, &placed).await;
    assert_eq!(paying["status"], "requires_action", "{paying}");
    // The payer pressed Pay, and the sandbox's webhook never arrived.
    let id: PaymentId = paying["id"].as_str().unwrap().parse().unwrap();
    let payment = app.db.store.payment(id).await.unwrap().unwrap();
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let _lost = sandbox.outcome_webhook(&payment, SandboxOutcome::Succeeded);

    // Two completer loops, two minutes on: the attempt has been left for more than a minute.
    let ahead = schedule(TimeDelta::minutes(2));
    let mut loops = Loops::new();
    loops.start(checkout::complete_abandoned, &app.state, &ahead);
    loops.start(checkout::complete_abandoned, &app.state, &ahead);
    let paid = until(
        &app,
        &buyer,
        &format!("/v1/payments/{id}"),
        "status",
        "succeeded",
    )
    .await;
    loops.stop().await;

    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(get(&app, &buyer, &order_path).await["status"], "paid");
    let postings = app.db.store.postings_for_payment(id).await.unwrap();
    let transactions: std::collections::HashSet<_> =
        postings.iter().map(|e| e.transaction_id).collect();
    assert_eq!(transactions.len(), 1, "one posting: {postings:?}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'payment.succeeded'"
        )
        .await,
        1
    );
    ledger_is_clean(&app).await;
}
