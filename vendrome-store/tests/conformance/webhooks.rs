//! The webhook inbox: a delivery recorded once under concurrency; a redelivery of an event
//! processed or ignored is a duplicate, one still `received` or `failed` is handed back once its
//! hold has lapsed, to exactly one of several concurrent deliveries.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use vendrome_core::enums::{PaymentProvider, WebhookEventStatus};
use vendrome_core::ids::WebhookEventId;
use vendrome_core::payments::{WebhookInbox, WEBHOOK_LEASE};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::Store;

conformance!(
    webhooks_are_recorded_once_under_concurrency,
    a_failed_or_abandoned_delivery_is_handed_back_to_one_redelivery
);

async fn webhooks_are_recorded_once_under_concurrency(store: Store) {
    let store = Arc::new(store);
    let at = time::now();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record(
                        PaymentProvider::Sandbox,
                        "evt_1",
                        "payment.succeeded",
                        &json!({"id": "evt_1"}),
                        at,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut recorded = Vec::new();
    for task in tasks {
        recorded.extend(task.await.unwrap());
    }
    assert_eq!(recorded.len(), 1);
    // The same event id of another provider is another event.
    let stripe = store
        .record(PaymentProvider::Stripe, "evt_1", "x", &json!({}), at)
        .await
        .unwrap()
        .unwrap();
    let later = at + Duration::seconds(1);
    let pending = store.unprocessed(later, 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].payload, json!({"id": "evt_1"}));
    store
        .mark(recorded[0], WebhookEventStatus::Processed, None, later)
        .await
        .unwrap();
    store
        .mark(stripe, WebhookEventStatus::Failed, Some("boom"), later)
        .await
        .unwrap();
    let pending = store.unprocessed(later, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].id, pending[0].status, pending[0].attempts),
        (stripe, WebhookEventStatus::Failed, 1)
    );
}

/// Delivers `event_id` from `clients` tasks at once; the ids handed out.
async fn deliver_concurrently(
    store: &Arc<Store>,
    event_id: &'static str,
    clients: usize,
    at: Timestamp,
) -> Vec<WebhookEventId> {
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record(
                        PaymentProvider::Sandbox,
                        event_id,
                        "payment.succeeded",
                        &json!({"id": event_id}),
                        at,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut handed_out = Vec::new();
    for task in tasks {
        handed_out.extend(task.await.unwrap());
    }
    handed_out
}

async fn status_of(store: &Store, id: WebhookEventId, at: Timestamp) -> (WebhookEventStatus, i32) {
    let stored = store.unprocessed(at, 100).await.unwrap();
    let w = stored
        .iter()
        .find(|w| w.id == id)
        .expect("the delivery is still unprocessed");
    (w.status, w.attempts)
}

async fn a_failed_or_abandoned_delivery_is_handed_back_to_one_redelivery(store: Store) {
    let store = Arc::new(store);
    let lease = Duration::from_std(WEBHOOK_LEASE).unwrap();
    let at = time::now();
    let first = deliver_concurrently(&store, "evt_failing", 1, at).await;
    assert_eq!(first.len(), 1);
    let id = first[0];
    // While its processing holds it, a redelivery is a duplicate.
    let soon = at + Duration::seconds(1);
    assert!(deliver_concurrently(&store, "evt_failing", 3, soon)
        .await
        .is_empty());
    store
        .mark(id, WebhookEventStatus::Failed, Some("boom"), soon)
        .await
        .unwrap();
    assert_eq!(
        status_of(&store, id, soon + Duration::seconds(1)).await,
        (WebhookEventStatus::Failed, 1)
    );

    // A failed delivery goes back to exactly one of ten concurrent redeliveries.
    let redelivered = soon + Duration::seconds(1);
    assert_eq!(
        deliver_concurrently(&store, "evt_failing", 10, redelivered).await,
        vec![id]
    );
    let after = redelivered + Duration::seconds(1);
    assert_eq!(
        status_of(&store, id, after).await,
        (WebhookEventStatus::Received, 2)
    );
    // That processing never records its outcome: held until the lease lapses, then taken over.
    assert!(deliver_concurrently(&store, "evt_failing", 3, after)
        .await
        .is_empty());
    let lapsed = redelivered + lease;
    assert_eq!(
        deliver_concurrently(&store, "evt_failing", 10, lapsed).await,
        vec![id]
    );
    assert_eq!(
        status_of(&store, id, lapsed + Duration::seconds(1)).await,
        (WebhookEventStatus::Received, 3)
    );

    // Once processed, no redelivery gets it, even long after.
    store
        .mark(id, WebhookEventStatus::Processed, None, lapsed)
        .await
        .unwrap();
    let much_later = lapsed + Duration::hours(1);
    assert!(deliver_concurrently(&store, "evt_failing", 3, much_later)
        .await
        .is_empty());
    assert!(store.unprocessed(much_later, 100).await.unwrap().is_empty());

    // Nor an ignored one.
    let ignored = deliver_concurrently(&store, "evt_ignored", 1, at).await;
    store
        .mark(ignored[0], WebhookEventStatus::Ignored, None, at)
        .await
        .unwrap();
    assert!(deliver_concurrently(&store, "evt_ignored", 3, much_later)
        .await
        .is_empty());
}
