//! A webhook is recorded and acted on in one transaction of the store: when it fails, nothing of
//! it is written but a `failed` record, and the provider's redelivery processes it again; one
//! already processed is a duplicate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore};
use vendrome_core::enums::{
    OrderStatus, PaymentProvider as ProviderId, PaymentStatus, WebhookEventStatus,
};
use vendrome_core::ids::WebhookEventId;
use vendrome_core::payments::{
    Delivery, PaymentRepo, Plan, Processed, StoredWebhook, WebhookInbox,
};
use vendrome_core::testing::InMemory;
use vendrome_core::time::Timestamp;
use vendrome_core::Result;
use vendrome_payments::{CheckoutRequest, WebhookOutcome};

use crate::support::{Next, World};

/// A checkout left waiting for the buyer, and a delivery of its `succeeded` webhook.
async fn awaiting_webhook(w: &World) -> (vendrome_core::ids::PaymentId, String) {
    w.provider.answer(Next::RequiresAction);
    let p = w
        .payments
        .checkout(w.order, &w.buyer, CheckoutRequest::default(), "k")
        .await
        .unwrap();
    (p.id, p.provider_reference.unwrap())
}

#[tokio::test]
async fn a_redelivery_after_a_failed_processing_pays_the_order_once() {
    let w = World::new().await;
    let (payment, reference) = awaiting_webhook(&w).await;
    let (headers, body) = w.provider.webhook(
        "evt_ok",
        &reference,
        None,
        PaymentStatus::Succeeded,
        w.now(),
    );
    w.store.fail_next("WebhookInbox::process");
    assert!(w
        .payments
        .handle_webhook("stripe", &headers, &body)
        .await
        .is_err());
    let stored = w.store.webhooks();
    assert_eq!(
        (stored.len(), stored[0].status, stored[0].attempts),
        (1, WebhookEventStatus::Failed, 1)
    );
    assert_eq!(w.order_status().await, OrderStatus::PendingPayment);

    // The provider redelivers the same event: it is processed again.
    let outcome = w
        .payments
        .handle_webhook("stripe", &headers, &body)
        .await
        .unwrap();
    assert!(
        matches!(outcome, WebhookOutcome::Applied(ref p) if p.status == PaymentStatus::Succeeded),
        "{outcome:?}"
    );
    let stored = w.store.webhooks();
    assert_eq!(
        (stored.len(), stored[0].status, stored[0].attempts),
        (1, WebhookEventStatus::Processed, 2)
    );
    // Once processed, a further redelivery does nothing.
    assert_eq!(
        w.payments
            .handle_webhook("stripe", &headers, &body)
            .await
            .unwrap(),
        WebhookOutcome::Duplicate
    );
    let paid = w.store.payment(payment).await.unwrap().unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    assert_eq!(w.store.posting_count(), 1);
    w.assert_ledger_clean().await;
}

#[tokio::test]
async fn a_delivery_whose_failure_was_never_recorded_is_held_then_taken_over() {
    let w = World::new().await;
    let (payment, reference) = awaiting_webhook(&w).await;
    let (headers, body) = w.provider.webhook(
        "evt_ok",
        &reference,
        None,
        PaymentStatus::Succeeded,
        w.now(),
    );
    // The delivery's transaction fails (nothing of it is written), then so does recording the
    // failure's outcome: the delivery stays `received`, held as if it were still processing.
    w.store.fail_next("WebhookInbox::process");
    w.store.fail_next("WebhookInbox::mark");
    assert!(w
        .payments
        .handle_webhook("stripe", &headers, &body)
        .await
        .is_err());
    assert_eq!(w.store.webhooks()[0].status, WebhookEventStatus::Received);
    assert_eq!(w.order_status().await, OrderStatus::PendingPayment);
    assert_eq!(
        w.payments
            .handle_webhook("stripe", &headers, &body)
            .await
            .unwrap(),
        WebhookOutcome::Duplicate
    );
    // Once the hold has lapsed, a redelivery takes it over and pays the order, once.
    w.advance(61);
    let (headers, body) = w.provider.webhook(
        "evt_ok",
        &reference,
        None,
        PaymentStatus::Succeeded,
        w.now(),
    );
    assert!(matches!(
        w.payments
            .handle_webhook("stripe", &headers, &body)
            .await
            .unwrap(),
        WebhookOutcome::Applied(_)
    ));
    let stored = w.store.webhooks();
    assert_eq!(
        (stored.len(), stored[0].status, stored[0].attempts),
        (1, WebhookEventStatus::Processed, 2)
    );
    let paid = w.store.payment(payment).await.unwrap().unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    assert_eq!(w.order_status().await, OrderStatus::Paid);
    assert_eq!(w.store.posting_count(), 1);
    w.assert_ledger_clean().await;
}

/// An inbox that holds every delivery until the test lets them go, counting those that reach it.
struct Gated {
    store: InMemory,
    reached: AtomicUsize,
    arrived: Notify,
    gate: Semaphore,
}

#[async_trait]
impl WebhookInbox for Gated {
    async fn process(&self, d: &Delivery, plan: &Plan<'_>) -> Result<Processed> {
        self.reached.fetch_add(1, Ordering::SeqCst);
        self.arrived.notify_one();
        let _pass = self.gate.acquire().await.expect("the gate stays open");
        self.store.process(d, plan).await
    }

    async fn record(
        &self,
        provider: ProviderId,
        event_id: &str,
        event_type: &str,
        payload: &serde_json::Value,
        at: Timestamp,
    ) -> Result<Option<WebhookEventId>> {
        self.store
            .record(provider, event_id, event_type, payload, at)
            .await
    }

    async fn mark(
        &self,
        id: WebhookEventId,
        status: WebhookEventStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        self.store.mark(id, status, error, at).await
    }

    async fn unprocessed(&self, before: Timestamp, limit: u32) -> Result<Vec<StoredWebhook>> {
        self.store.unprocessed(before, limit).await
    }
}

#[tokio::test]
async fn a_delivery_of_an_event_under_way_waits_for_it_and_is_a_duplicate() {
    let gated = Arc::new(std::sync::OnceLock::<Arc<Gated>>::new());
    let w = {
        let gated = gated.clone();
        World::with_inbox(move |store| {
            let inbox = Arc::new(Gated {
                store: store.clone(),
                reached: AtomicUsize::new(0),
                arrived: Notify::new(),
                gate: Semaphore::new(0),
            });
            let _ = gated.set(inbox.clone());
            inbox
        })
        .await
    };
    let gated = gated.get().expect("the world's inbox").clone();
    let (payment, reference) = awaiting_webhook(&w).await;
    let webhook = || {
        w.provider.webhook(
            "evt_twice",
            &reference,
            None,
            PaymentStatus::Succeeded,
            w.now(),
        )
    };
    let deliver = || {
        let (headers, body) = webhook();
        let payments = w.payments.clone();
        tokio::spawn(async move { payments.handle_webhook("stripe", &headers, &body).await })
    };
    let first = deliver();
    gated.arrived.notified().await;
    let second = deliver();
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(!second.is_finished(), "the second waits for the first");
    assert_eq!(gated.reached.load(Ordering::SeqCst), 1);

    gated.gate.add_permits(10);
    assert!(matches!(
        first.await.unwrap().unwrap(),
        WebhookOutcome::Applied(_)
    ));
    assert_eq!(second.await.unwrap().unwrap(), WebhookOutcome::Duplicate);
    // The second never reached the store; the order is paid once.
    assert_eq!(gated.reached.load(Ordering::SeqCst), 1);
    assert_eq!(w.store.posting_count(), 1);
    assert_eq!(
        w.store.payment(payment).await.unwrap().unwrap().status,
        PaymentStatus::Succeeded
    );
    // A later redelivery goes to the store, which answers it as a duplicate.
    let (headers, body) = webhook();
    assert_eq!(
        w.payments
            .handle_webhook("stripe", &headers, &body)
            .await
            .unwrap(),
        WebhookOutcome::Duplicate
    );
    assert_eq!(gated.reached.load(Ordering::SeqCst), 2);
}
