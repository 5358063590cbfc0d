//! The ledger's background loops as `serve` runs them (`tasks::checkout`), two instances on one
//! database, with short intervals: the fold of balance deltas that several writers append, and
//! the daily reconciliation against a provider's settled transactions, recorded once per period.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeDelta;
use serde_json::json;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus, UserRole};
use vendrome_core::ledger::{AccountCode, Entry, LedgerRepo as _, PostOutcome, Posting};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    CreatePayment, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
};
use vendrome_core::time::{self, Timestamp};
use vendrome_server::tasks::checkout::{self, Schedule};

use crate::checkout_tasks::{count, Loops, PATIENCE};
use crate::orders::{ledger_is_clean, order, product};
use crate::support::{expect_status, spawn_with, Backend, Setup, TestApp};

both_stores!(
    two_instances_fold_the_deltas_of_several_writers_exactly,
    two_instances_reconcile_each_day_once
);

fn zar() -> Currency {
    Currency::parse("ZAR").unwrap()
}

/// Every loop passing every 20 ms, on `clock`.
fn every_20ms(clock: vendrome_payments::Clock) -> Schedule {
    Schedule::every(Duration::from_millis(20), clock)
}

/// A second instance on `app`'s database.
async fn second_instance(app: &TestApp, backend: Backend) -> TestApp {
    let mut setup = Setup::new(backend);
    setup.database = Some(app.db.clone());
    spawn_with(setup).await.expect("the first one's database")
}

/// Waits until `sql` counts `want`, for up to [`PATIENCE`].
async fn until_count(app: &TestApp, sql: &str, want: i64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let n = count(app, sql).await;
        if n == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sql} stayed at {n}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn two_instances_fold_the_deltas_of_several_writers_exactly(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let other = second_instance(&app, backend).await;
    let clearing = AccountCode::provider_clearing(ProviderId::Sandbox, zar());
    let fees = AccountCode::platform_fees(zar());
    let schedule = every_20ms(Arc::new(time::now));
    let mut loops = Loops::new();
    loops.start(checkout::fold_ledger_balances, &app.state, &schedule);
    loops.start(checkout::fold_ledger_balances, &other.state, &schedule);

    // Four writers, ten postings each, to the same two accounts, while both loops fold.
    let writers: Vec<_> = (0..4i64)
        .map(|w| {
            let store = app.db.store.clone();
            let (clearing, fees) = (clearing.clone(), fees.clone());
            tokio::spawn(async move {
                for n in 0..10i64 {
                    let amount = Money::new(100 + w * 10 + n, zar());
                    let posting = Posting::new(
                        format!("test:fold:{w}:{n}"),
                        "a move to the shared accounts",
                        None,
                        vec![
                            Entry::debit(clearing.clone(), amount),
                            Entry::credit(fees.clone(), amount),
                        ],
                    )
                    .unwrap();
                    let posted = store.post(&posting, time::now()).await.unwrap();
                    assert_eq!(posted, PostOutcome::Posted);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    until_count(&app, "SELECT COUNT(*) FROM ledger_balance_deltas", 0).await;
    loops.stop().await;

    // Σ (100 + 10w + n) over w < 4, n < 10.
    let expected: i64 = (0..4)
        .flat_map(|w| (0..10).map(move |n| 100 + w * 10 + n))
        .sum();
    for code in [&clearing, &fees] {
        let stored = count(
            &app,
            &format!(
                "SELECT balance FROM ledger_accounts WHERE code = '{}'",
                code.as_str()
            ),
        )
        .await;
        assert_eq!(stored, expected, "{} holds every posting", code.as_str());
        let read = app.db.store.account(code).await.unwrap().unwrap();
        assert_eq!(read.balance, expected);
    }
    ledger_is_clean(&app).await;
}

/// A card provider that settles every charge at once, and reports each as settled when it was
/// made.
#[derive(Default)]
struct SettlingProvider {
    charges: Mutex<Vec<SettledTransaction>>,
}

#[async_trait]
impl PaymentProvider for SettlingProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Stripe
    }

    fn methods(&self) -> Vec<MethodOffer> {
        vec![MethodOffer {
            provider: ProviderId::Stripe,
            method: "card".into(),
            currencies: vec![zar()],
        }]
    }

    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let mut charges = self.charges.lock().unwrap();
        let reference = format!("pi_settling_{}", charges.len() + 1);
        charges.push(SettledTransaction {
            reference: reference.clone(),
            amount: request.amount,
            provider_fee: None,
            settled_at: time::now(),
        });
        Ok(ProviderPayment {
            reference,
            status: PaymentStatus::Succeeded,
            amount: request.amount,
            next_action: NextAction::None,
            failure: None,
        })
    }

    async fn capture(&self, _: &str, _: Money, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    async fn refund(&self, _: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    async fn status(&self, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    async fn verify_webhook(
        &self,
        _: &Headers,
        _: &[u8],
        _: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        Err(WebhookError::InvalidSignature("no webhooks here".into()))
    }

    async fn settled_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        let charges = self.charges.lock().unwrap();
        Ok(charges
            .iter()
            .filter(|c| from <= c.settled_at && c.settled_at < to)
            .cloned()
            .collect())
    }
}

/// A clock `days` ahead of the wall clock that counts how often it is read (once per pass of
/// the reconciliation loop).
#[derive(Default)]
struct DaysAhead {
    days: AtomicI64,
    reads: AtomicUsize,
}

impl DaysAhead {
    fn clock(self: &Arc<Self>) -> vendrome_payments::Clock {
        let me = self.clone();
        Arc::new(move || {
            me.reads.fetch_add(1, Ordering::SeqCst);
            time::now() + TimeDelta::days(me.days.load(Ordering::SeqCst))
        })
    }

    /// Waits until the loops have made `passes` more passes.
    async fn passes(&self, passes: usize) {
        let until = self.reads.load(Ordering::SeqCst) + passes;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.reads.load(Ordering::SeqCst) < until {
            assert!(tokio::time::Instant::now() < deadline, "the loops stalled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn two_instances_reconcile_each_day_once(backend: Backend) {
    let provider = Arc::new(SettlingProvider::default());
    let with_provider = || {
        let mut setup = Setup::new(backend);
        setup.providers = vec![provider.clone()];
        setup
    };
    let Some(app) = spawn_with(with_provider()).await else {
        return;
    };
    let mut second = with_provider();
    second.database = Some(app.db.clone());
    let other = spawn_with(second).await.expect("the first one's database");
    let seller = app.token(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let lamp = product(&app, &seller, 40_000, "ZAR", None).await;
    let placed = order(&app, &buyer, &[(&lamp, 1)]).await;
    let paid = expect_status(
        app.post(&format!(
            "/v1/orders/{}/checkout",
            placed["id"].as_str().unwrap()
        ))
        .bearer_auth(&buyer)
        .json(&json!({ "provider": "stripe" })),
        201,
    )
    .await;
    assert_eq!(paid["data"]["status"], "succeeded", "{paid}");

    // A day on, "yesterday" is today: both instances' loops reconcile it, many times over.
    let clock = Arc::new(DaysAhead::default());
    clock.days.store(1, Ordering::SeqCst);
    let mut loops = Loops::new();
    let schedule = every_20ms(clock.clock());
    loops.start(checkout::reconcile_daily, &app.state, &schedule);
    loops.start(checkout::reconcile_daily, &other.state, &schedule);
    let runs = "SELECT COUNT(*) FROM reconciliation_runs WHERE provider = 'stripe'";
    let clean_runs = "SELECT COUNT(*) FROM reconciliation_runs \
        WHERE provider = 'stripe' AND status = 'clean' AND matched = 1";
    until_count(&app, clean_runs, 1).await;
    clock.passes(20).await;
    assert_eq!(count(&app, runs).await, 1, "one run for the day");

    // Another day on: the next day is reconciled once too (nothing settled in it).
    clock.days.store(2, Ordering::SeqCst);
    until_count(&app, runs, 2).await;
    clock.passes(20).await;
    loops.stop().await;
    assert_eq!(count(&app, runs).await, 2, "one run per day");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM reconciliation_runs WHERE provider = 'stripe' AND status = 'clean'"
        )
        .await,
        2
    );
    ledger_is_clean(&app).await;
}
