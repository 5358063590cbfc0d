//! A webhook is recorded and acted on in one transaction of the store: when it fails, nothing of
//! it is written but a `failed` record, and the provider's redelivery processes it again; one
//! already processed is a duplicate.

use vendrome_core::enums::{OrderStatus, PaymentStatus, WebhookEventStatus};
use vendrome_core::payments::PaymentRepo;
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
