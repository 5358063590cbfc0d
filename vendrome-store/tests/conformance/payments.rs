//! Payments: attempts started once per key and refused for a paid order or past the refundable
//! amount; settlement applied once under concurrency with its posting, order move and events in
//! one transaction; leases on abandoned attempts; reconciliation runs.

use std::sync::Arc;

use chrono::Duration;
use vendrome_core::audit::{AuditContext, AuditRepo, NewAuditEvent};
use vendrome_core::enums::{
    OrderStatus, PaymentAttemptPhase, PaymentKind, PaymentProvider, PaymentStatus,
    ReconciliationStatus,
};
use vendrome_core::events::{DomainEvent, PaymentChanged};
use vendrome_core::ids::{PaymentId, ReconciliationRunId};
use vendrome_core::ledger::{postings, LedgerRepo};
use vendrome_core::money::Money;
use vendrome_core::orders::{Order, OrderRepo};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::Limit;
use vendrome_core::payments::{
    Discrepancy, NewPayment, NextAction, Payment, PaymentRepo, ProviderCalled, ReconciliationRepo,
    RunOutcome, SettleOutcome, Settlement, StartOutcome,
};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::Store;

use crate::graph::user;
use crate::orders::{change, count_events, event_for, new_order, placed, product, zar};

conformance!(
    an_attempt_starts_once_and_not_for_a_paid_order,
    refunds_cannot_exceed_the_charge,
    ten_concurrent_settlements_apply_once,
    settling_backwards_is_stale,
    abandoned_attempts_are_leased_to_one_claimer,
    a_reconciliation_window_runs_once
);

pub async fn order_of(store: &Store, price: i64) -> Order {
    let (seller, buyer) = (user(store).await, user(store).await);
    let post = product(store, seller, price, Some(5)).await;
    placed(store, &new_order(buyer, seller, &[(post, 1)], price, "o")).await
}

pub fn charge(order: &Order, key: &str) -> NewPayment {
    NewPayment {
        id: PaymentId::new(),
        kind: PaymentKind::Charge,
        provider: PaymentProvider::Sandbox,
        payer_id: order.buyer_id,
        payee_id: Some(order.seller_id),
        order_id: Some(order.id),
        booking_id: None,
        marketing_campaign_id: None,
        commitment_id: None,
        refund_of: None,
        amount: order.total(),
        fee_amount: order.platform_fee_amount,
        idempotency_key: format!("order:{}:{key}", order.id),
        method: Some("card".into()),
        return_url: Some("https://shop.example.com/back".into()),
        created_at: time::now(),
    }
}

pub fn refund(charge: &Payment, amount: i64, key: &str) -> NewPayment {
    NewPayment {
        id: PaymentId::new(),
        kind: PaymentKind::Refund,
        provider: charge.provider,
        payer_id: charge.payer_id,
        payee_id: charge.payee_id,
        order_id: None,
        booking_id: None,
        marketing_campaign_id: None,
        commitment_id: None,
        refund_of: Some(charge.id),
        amount: Money::new(amount, charge.amount.currency),
        fee_amount: 0,
        idempotency_key: format!("refund:{}:{key}", charge.id),
        method: None,
        return_url: None,
        created_at: time::now(),
    }
}

pub async fn started(store: &Store, payment: &NewPayment) -> Payment {
    match store.start(payment).await.unwrap() {
        StartOutcome::Started(p) => p,
        other => panic!("expected a start, got {other:?}"),
    }
}

/// The settlement a succeeded charge of `order` makes.
pub fn succeeded(payment: &Payment, order: &Order, at: Timestamp) -> Settlement {
    let payee = payment.payee_id.unwrap();
    let posting = postings::charge_succeeded(
        payment.id,
        payment.provider,
        payment.amount,
        Money::new(payment.fee_amount, payment.amount.currency),
        payee,
    )
    .unwrap();
    let announce = PaymentChanged {
        payment_id: payment.id,
        order_id: payment.order_id,
        payer_id: payment.payer_id,
        payee_id: payment.payee_id,
        provider: payment.provider,
        status: PaymentStatus::Succeeded,
        amount: payment.amount.amount,
        currency: payment.amount.currency,
    };
    Settlement {
        payment_id: payment.id,
        status: PaymentStatus::Succeeded,
        reference: Some(format!("sb_{}", payment.id)),
        failure_code: None,
        failure_message: None,
        posting: Some(posting),
        refund_share: None,
        order_change: Some(change(
            order,
            OrderStatus::PendingPayment,
            OrderStatus::Paid,
            at,
        )),
        order_refund: None,
        booking_move: None,
        campaign_funded: None,
        commitment_move: None,
        events: vec![
            NewEvent::new(DomainEvent::PaymentSucceeded(announce)),
            event_for(order, OrderStatus::Paid),
        ],
        at,
    }
}

async fn an_attempt_starts_once_and_not_for_a_paid_order(store: Store) {
    let order = order_of(&store, 2_000).await;
    let first = charge(&order, "k1");
    let payment = started(&store, &first).await;
    assert_eq!(
        (payment.status, payment.phase, payment.amount),
        (
            PaymentStatus::Pending,
            PaymentAttemptPhase::Started,
            order.total()
        )
    );
    assert_eq!(payment.method.as_deref(), Some("card"));
    let mut retry = first.clone();
    retry.id = PaymentId::new();
    assert_eq!(
        store.start(&retry).await.unwrap(),
        StartOutcome::Existing(payment.clone())
    );

    let called = store
        .provider_called(&ProviderCalled {
            payment_id: payment.id,
            reference: "sb_ref_1".into(),
            status: PaymentStatus::RequiresAction,
            next_action: NextAction::Redirect {
                url: "https://pay.example.com/1".into(),
            },
            at: time::now(),
        })
        .await
        .unwrap();
    assert_eq!(called.phase, PaymentAttemptPhase::ProviderCalled);
    assert_eq!(called.status, PaymentStatus::RequiresAction);
    assert_eq!(called.provider_reference.as_deref(), Some("sb_ref_1"));
    assert!(matches!(
        called.next_action,
        Some(NextAction::Redirect { .. })
    ));
    assert_eq!(
        store
            .payment_by_reference(PaymentProvider::Sandbox, "sb_ref_1")
            .await
            .unwrap()
            .map(|p| p.id),
        Some(payment.id)
    );

    let settled = store
        .settle(&succeeded(&called, &order, time::now()))
        .await
        .unwrap();
    assert!(
        matches!(settled, SettleOutcome::Applied(ref p) if p.phase == PaymentAttemptPhase::Finished)
    );
    // A new attempt (another key) for the paid order is refused, and nothing is stored.
    let third = charge(&order, "k3");
    match store.start(&third).await.unwrap() {
        StartOutcome::AlreadyPaid(paid) => assert_eq!(paid.id, payment.id),
        other => panic!("expected AlreadyPaid, got {other:?}"),
    }
    assert_eq!(store.payment(third.id).await.unwrap(), None);
}

async fn refunds_cannot_exceed_the_charge(store: Store) {
    let order = order_of(&store, 1_000).await;
    let payment = started(&store, &charge(&order, "c")).await;
    let at = time::now();
    let SettleOutcome::Applied(paid) = store
        .settle(&succeeded(&payment, &order, at))
        .await
        .unwrap()
    else {
        panic!("the charge settles");
    };
    started(&store, &refund(&paid, 600, "r1")).await;
    assert_eq!(
        store.start(&refund(&paid, 500, "r2")).await.unwrap(),
        StartOutcome::ExceedsRefundable { refundable: 400 }
    );
    let second = started(&store, &refund(&paid, 400, "r3")).await;
    // A failed refund gives its amount back to what may be refunded.
    let failed = Settlement {
        payment_id: second.id,
        status: PaymentStatus::Failed,
        reference: None,
        failure_code: Some("card_declined".into()),
        failure_message: Some("declined".into()),
        posting: None,
        refund_share: None,
        order_change: None,
        order_refund: None,
        booking_move: None,
        campaign_funded: None,
        commitment_move: None,
        events: Vec::new(),
        at,
    };
    let SettleOutcome::Applied(failed) = store.settle(&failed).await.unwrap() else {
        panic!("the refund fails");
    };
    assert_eq!(failed.failure_code.as_deref(), Some("card_declined"));
    assert_eq!(failed.phase, PaymentAttemptPhase::Finished);
    started(&store, &refund(&paid, 400, "r4")).await;
    let for_order = store.payments_for_order(order.id).await.unwrap();
    assert_eq!(
        for_order.len(),
        1,
        "refunds hang off the charge, not the order"
    );
}

async fn ten_concurrent_settlements_apply_once(store: Store) {
    let order = order_of(&store, 10_000).await;
    let payment = started(&store, &charge(&order, "c")).await;
    let settlement = succeeded(&payment, &order, time::now());
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, settlement) = (store.clone(), settlement.clone());
            tokio::spawn(async move { store.settle(&settlement).await.unwrap() })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap() {
            SettleOutcome::Applied(p) => {
                assert_eq!(p.status, PaymentStatus::Succeeded);
                applied += 1;
            }
            SettleOutcome::Stale(p) => assert_eq!(p.status, PaymentStatus::Succeeded),
        }
    }
    assert_eq!(applied, 1);
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!(check.transactions, 1);
    let order = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(count_events(&store, "order.paid").await, 1);
    assert_eq!(count_events(&store, "payment.succeeded").await, 1);
    let paid = store.payment(payment.id).await.unwrap().unwrap();
    assert!(paid.succeeded_at.is_some());
    assert_eq!(paid.provider_reference, Some(format!("sb_{}", payment.id)));
}

async fn settling_backwards_is_stale(store: Store) {
    let order = order_of(&store, 3_000).await;
    let payment = started(&store, &charge(&order, "c")).await;
    let mut processing = succeeded(&payment, &order, time::now());
    processing.status = PaymentStatus::Processing;
    processing.posting = None;
    processing.order_change = None;
    processing.events = Vec::new();
    let SettleOutcome::Applied(moved) = store.settle(&processing).await.unwrap() else {
        panic!("pending moves to processing");
    };
    assert_eq!(
        moved.phase,
        PaymentAttemptPhase::Started,
        "not final: phase unchanged"
    );
    store
        .settle(&succeeded(&payment, &order, time::now()))
        .await
        .unwrap();
    let events = count_events(&store, "payment.succeeded").await;
    match store.settle(&processing).await.unwrap() {
        SettleOutcome::Stale(p) => assert_eq!(p.status, PaymentStatus::Succeeded),
        other => panic!("expected Stale, got {other:?}"),
    }
    assert_eq!(count_events(&store, "payment.succeeded").await, events);
    let mut unknown = processing.clone();
    unknown.payment_id = PaymentId::new();
    assert!(matches!(
        store.settle(&unknown).await,
        Err(vendrome_core::Error::NotFound { what: "payment" })
    ));
}

async fn abandoned_attempts_are_leased_to_one_claimer(store: Store) {
    let mut ids = Vec::new();
    for _ in 0..4 {
        let order = order_of(&store, 500).await;
        ids.push(started(&store, &charge(&order, "c")).await.id);
    }
    let later = time::now() + Duration::minutes(5);
    let idle_since = later - Duration::minutes(1);
    let lease = std::time::Duration::from_secs(60);
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_abandoned(idle_since, later, lease, 3)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed: Vec<PaymentId> = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap().iter().map(|p| p.id));
    }
    claimed.sort_by_key(|id| id.as_uuid());
    let mut expected = ids.clone();
    expected.sort_by_key(|id| id.as_uuid());
    assert_eq!(claimed, expected, "each attempt to exactly one claimer");
    // Leased: nobody gets them until the lease ends; then they are claimed again.
    assert!(store
        .claim_abandoned(idle_since, later, lease, 10)
        .await
        .unwrap()
        .is_empty());
    let after_lease = later + Duration::minutes(2);
    assert_eq!(
        store
            .claim_abandoned(idle_since, after_lease, lease, 10)
            .await
            .unwrap()
            .len(),
        4
    );
    // Nothing is abandoned that was touched after `idle_since`.
    let early = time::now() - Duration::minutes(10);
    assert!(store
        .claim_abandoned(early, after_lease + Duration::minutes(5), lease, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn a_reconciliation_window_runs_once(store: Store) {
    let from = time::now() - Duration::days(1);
    let to = from + Duration::days(1);
    let at = time::now();
    let provider = PaymentProvider::Sandbox;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .start_run(ReconciliationRunId::new(), provider, from, to, at)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut runs = Vec::new();
    for task in tasks {
        runs.extend(task.await.unwrap());
    }
    assert_eq!(runs.len(), 1);
    let run = runs.pop().unwrap();
    assert_eq!(
        (run.status, run.matched),
        (ReconciliationStatus::Running, 0)
    );
    let found = vec![Discrepancy::MissingInLedger {
        reference: "pi_1".into(),
        amount: Money::new(100, zar()),
    }];
    let outcome = RunOutcome {
        status: ReconciliationStatus::Discrepancies,
        matched: 3,
        discrepancies: found.clone(),
    };
    let audit = vec![NewAuditEvent {
        action: "reconciliation.discrepancy".into(),
        target_type: "reconciliation_run".into(),
        target_id: run.id.to_string(),
        details: serde_json::json!({"discrepancy": found[0]}),
    }];
    let system = AuditContext {
        via: Some("system"),
        ..AuditContext::default()
    };
    store
        .finish_run(run.id, &outcome, &audit, &system, at)
        .await
        .unwrap();
    // The run's audit events were written with it.
    let recorded = store
        .events_for_target(
            "reconciliation_run",
            &run.id.to_string(),
            None,
            Limit::default(),
        )
        .await
        .unwrap();
    assert_eq!(recorded.items.len(), 1);
    assert_eq!(recorded.items[0].action, "reconciliation.discrepancy");
    assert_eq!(recorded.items[0].details["via"], "system");
    let stored = store.run(run.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.status,
            stored.matched,
            stored.discrepancies,
            stored.finished_at
        ),
        (ReconciliationStatus::Discrepancies, 3, found, Some(at))
    );
    // A window with discrepancies may run again; once clean, it may not.
    let again = store
        .start_run(ReconciliationRunId::new(), provider, from, to, at)
        .await
        .unwrap()
        .unwrap();
    store
        .finish_run(
            again.id,
            &RunOutcome {
                status: ReconciliationStatus::Clean,
                matched: 4,
                discrepancies: Vec::new(),
            },
            &[],
            &system,
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .start_run(ReconciliationRunId::new(), provider, from, to, at)
            .await
            .unwrap(),
        None
    );
    // A run left running past the hour is taken as lost: its window may start again.
    let other_from = to;
    let lost = store
        .start_run(
            ReconciliationRunId::new(),
            provider,
            other_from,
            other_from + Duration::days(1),
            at,
        )
        .await
        .unwrap()
        .unwrap();
    let much_later = at + Duration::hours(2);
    let retried = store
        .start_run(
            ReconciliationRunId::new(),
            provider,
            other_from,
            other_from + Duration::days(1),
            much_later,
        )
        .await
        .unwrap();
    assert!(retried.is_some());
    assert_eq!(
        store.run(lost.id).await.unwrap().unwrap().status,
        ReconciliationStatus::Failed
    );
}

/// A charge started while the order's payment settles in another transaction (holding the
/// order's row, as a settlement does) waits for it, then sees the order paid: it is refused with
/// the charge that paid, and nothing is stored. PostgreSQL only: SQLite runs one writer at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_charge_started_during_a_settlement_sees_the_order_paid() {
    let Some((_db, store, pool)) = crate::postgres_only::database().await else {
        return;
    };
    let order = order_of(&store, 900).await;
    let first = started(&store, &charge(&order, "first")).await;
    let mut settling = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE")
        .bind(order.id.as_uuid())
        .execute(&mut *settling)
        .await
        .unwrap();
    let second = charge(&order, "second");
    let starting = {
        let (store, second) = (store.clone(), second.clone());
        tokio::spawn(async move { store.start(&second).await.unwrap() })
    };
    // The second start must be waiting for the order's row before the settlement commits.
    assert!(
        crate::postgres_only::until_one_waits(&pool, &starting).await,
        "the start did not wait for the order"
    );
    // What a settlement writes for the order: its charge succeeded, the order paid.
    sqlx::query("UPDATE payment_transactions SET status = 'succeeded', attempt_phase = 'finished' WHERE id = $1")
        .bind(first.id.as_uuid())
        .execute(&mut *settling)
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET status = 'paid', paid_at = now() WHERE id = $1")
        .bind(order.id.as_uuid())
        .execute(&mut *settling)
        .await
        .unwrap();
    settling.commit().await.unwrap();
    match starting.await.unwrap() {
        StartOutcome::AlreadyPaid(paid) => assert_eq!(paid.id, first.id),
        other => panic!("expected AlreadyPaid, got {other:?}"),
    }
    assert_eq!(store.payment(second.id).await.unwrap(), None);
}
