//! `WebhookInbox::process`, a delivery in one transaction: concurrent deliveries of one event
//! settle the payment once (one posting); an older event never moves a status back; a delivery
//! about nothing we know is recorded `ignored`; a delivery whose plan fails writes nothing, so
//! its redelivery is processed afresh.

use std::sync::Arc;

use serde_json::json;
use vendrome_core::enums::{OrderStatus, PaymentProvider, PaymentStatus};
use vendrome_core::ledger::LedgerRepo;
use vendrome_core::orders::{Order, OrderRepo};
use vendrome_core::payments::{
    can_move, Delivery, DeliveryTarget, Found, NextAction, Payment, PaymentRepo, Processed,
    ProviderCalled, Settlement, WebhookInbox,
};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::Error;
use vendrome_store::Store;

use crate::orders::count_events;
use crate::payments::{charge, order_of, started, succeeded};

conformance!(
    concurrent_deliveries_of_one_event_post_once,
    concurrent_events_of_one_payment_settle_it_once,
    an_older_event_never_moves_a_status_back,
    unknown_payments_are_ignored_and_failures_write_nothing
);

/// An order with a charge the provider knows as `reference`, at `processing`.
async fn charged(store: &Store, reference: &str) -> (Order, Payment) {
    let order = order_of(store, 10_000).await;
    let payment = started(store, &charge(&order, "c")).await;
    let payment = store
        .provider_called(&ProviderCalled {
            payment_id: payment.id,
            reference: reference.into(),
            status: PaymentStatus::Processing,
            next_action: NextAction::None,
            at: time::now(),
        })
        .await
        .unwrap();
    (order, payment)
}

fn delivery(event_id: &str, reference: &str, at: Timestamp) -> Delivery {
    Delivery {
        provider: PaymentProvider::Sandbox,
        event_id: event_id.into(),
        event_type: "payment.updated".into(),
        payload: json!({ "id": event_id }),
        target: Some(DeliveryTarget {
            reference: reference.into(),
            payment_id: None,
        }),
        at,
    }
}

/// What the orchestrator would decide: the payment moves to `status` (a success with its
/// posting, the order's move and events), when it may.
fn plan_to(
    status: PaymentStatus,
    at: Timestamp,
) -> impl Fn(&Found) -> vendrome_core::Result<Option<Settlement>> {
    move |found: &Found| {
        if !can_move(found.payment.status, status) {
            return Ok(None);
        }
        let order = found.order.as_ref().expect("a charge of an order");
        assert!(
            order.items.is_empty(),
            "the order is read without its lines"
        );
        let mut settlement = succeeded(&found.payment, order, at);
        if status != PaymentStatus::Succeeded {
            settlement.status = status;
            settlement.posting = None;
            settlement.order_change = None;
            settlement.events = Vec::new();
        }
        Ok(Some(settlement))
    }
}

async fn deliver_concurrently(store: &Arc<Store>, deliveries: Vec<Delivery>) -> Vec<Processed> {
    let tasks: Vec<_> = deliveries
        .into_iter()
        .map(|d| {
            let store = store.clone();
            tokio::spawn(async move {
                let plan = plan_to(PaymentStatus::Succeeded, d.at);
                store.process(&d, &plan).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

async fn assert_paid_once(store: &Store, order: &Order, payment: &Payment) {
    let check = store.check().await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!(check.transactions, 1, "one posting");
    assert_eq!(
        store.order(order.id).await.unwrap().unwrap().status,
        OrderStatus::Paid
    );
    assert_eq!(count_events(store, "payment.succeeded").await, 1);
    assert_eq!(count_events(store, "order.paid").await, 1);
    let paid = store.payment(payment.id).await.unwrap().unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);
}

async fn concurrent_deliveries_of_one_event_post_once(store: Store) {
    let (order, payment) = charged(&store, "pi_dup").await;
    let store = Arc::new(store);
    let at = time::now();
    let outcomes = deliver_concurrently(
        &store,
        (0..8).map(|_| delivery("evt_dup", "pi_dup", at)).collect(),
    )
    .await;
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, Processed::Applied(p) if p.status == PaymentStatus::Succeeded))
        .count();
    let duplicates = outcomes
        .iter()
        .filter(|o| **o == Processed::Duplicate)
        .count();
    assert_eq!((applied, duplicates), (1, 7), "{outcomes:?}");
    assert_paid_once(&store, &order, &payment).await;
    // Recorded once, processed, with nothing left to retry.
    assert!(store.unprocessed(time::now(), 10).await.unwrap().is_empty());
    // A redelivery much later is still a duplicate.
    let later = delivery("evt_dup", "pi_dup", at + chrono::Duration::hours(1));
    let plan = plan_to(PaymentStatus::Succeeded, later.at);
    assert_eq!(
        store.process(&later, &plan).await.unwrap(),
        Processed::Duplicate
    );
}

async fn concurrent_events_of_one_payment_settle_it_once(store: Store) {
    let (order, payment) = charged(&store, "pi_two").await;
    let store = Arc::new(store);
    let at = time::now();
    let deliveries = (0..6)
        .map(|n| delivery(&format!("evt_{n}"), "pi_two", at))
        .collect();
    let outcomes = deliver_concurrently(&store, deliveries).await;
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, Processed::Applied(_)))
        .count();
    let stale = outcomes
        .iter()
        .filter(|o| matches!(o, Processed::Stale(p) if p.status == PaymentStatus::Succeeded))
        .count();
    assert_eq!((applied, stale), (1, 5), "{outcomes:?}");
    assert_paid_once(&store, &order, &payment).await;
}

async fn an_older_event_never_moves_a_status_back(store: Store) {
    let (order, payment) = charged(&store, "pi_old").await;
    let at = time::now();
    let newer = delivery("evt_new", "pi_old", at);
    let outcome = store
        .process(&newer, &plan_to(PaymentStatus::Succeeded, at))
        .await
        .unwrap();
    assert!(matches!(outcome, Processed::Applied(_)), "{outcome:?}");
    // The older `processing` event arrives after the success: nothing moves.
    let older = delivery("evt_older", "pi_old", at);
    let outcome = store
        .process(&older, &plan_to(PaymentStatus::Processing, at))
        .await
        .unwrap();
    assert!(
        matches!(outcome, Processed::Stale(ref p) if p.status == PaymentStatus::Succeeded),
        "{outcome:?}"
    );
    // Even a plan that insists is refused by the store's own check.
    let insist = |found: &Found| -> vendrome_core::Result<Option<Settlement>> {
        let mut s = succeeded(&found.payment, found.order.as_ref().unwrap(), at);
        s.status = PaymentStatus::Failed;
        Ok(Some(s))
    };
    let outcome = store
        .process(&delivery("evt_insist", "pi_old", at), &insist)
        .await
        .unwrap();
    assert!(matches!(outcome, Processed::Stale(_)), "{outcome:?}");
    assert_paid_once(&store, &order, &payment).await;
}

async fn unknown_payments_are_ignored_and_failures_write_nothing(store: Store) {
    let (order, payment) = charged(&store, "pi_known").await;
    let at = time::now();
    let plan = plan_to(PaymentStatus::Succeeded, at);
    // About a reference nobody has: recorded as ignored, so a redelivery is a duplicate.
    let stray = delivery("evt_stray", "pi_nobody", at);
    assert_eq!(
        store.process(&stray, &plan).await.unwrap(),
        Processed::Ignored
    );
    assert_eq!(
        store.process(&stray, &plan).await.unwrap(),
        Processed::Duplicate
    );
    // An event we do not act on: ignored too.
    let mut other = delivery("evt_other", "pi_known", at);
    other.target = None;
    assert_eq!(
        store.process(&other, &plan).await.unwrap(),
        Processed::Ignored
    );

    // The plan fails: nothing is written, not even the event id.
    let failing = |_: &Found| -> vendrome_core::Result<Option<Settlement>> {
        Err(Error::Unexpected(anyhow::anyhow!("the plan failed")))
    };
    let d = delivery("evt_known", "pi_known", at);
    assert!(store.process(&d, &failing).await.is_err());
    assert!(store.unprocessed(time::now(), 10).await.unwrap().is_empty());
    assert_eq!(
        store.payment(payment.id).await.unwrap().unwrap().status,
        PaymentStatus::Processing
    );
    // The provider redelivers it: processed afresh, found by our id when the reference is
    // unknown (the answer to our create was lost).
    let mut d = d;
    d.target = Some(DeliveryTarget {
        reference: "pi_lost".into(),
        payment_id: Some(payment.id),
    });
    let outcome = store.process(&d, &plan).await.unwrap();
    assert!(matches!(outcome, Processed::Applied(_)), "{outcome:?}");
    assert_paid_once(&store, &order, &payment).await;
    // Another provider's echo of our id finds nothing.
    let mut foreign = delivery("evt_foreign", "pi_x", at);
    foreign.provider = PaymentProvider::Stripe;
    foreign.target = Some(DeliveryTarget {
        reference: "pi_x".into(),
        payment_id: Some(payment.id),
    });
    assert_eq!(
        store.process(&foreign, &plan).await.unwrap(),
        Processed::Ignored
    );
}
