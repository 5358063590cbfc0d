//! [`WebhookInbox::process`](vendrome_core::payments::WebhookInbox::process) on PostgreSQL in
//! batches ([`GroupCommit`]): deliveries that arrive while one batch runs share the next
//! transaction.
//!
//! A delivery alone is ten round trips (begin, record, lock the payment, lock the order, the
//! settlement's five writes, commit). A batch records all its events in one statement, locks
//! all their payments in one and all those payments' orders in one, then writes each
//! settlement as a delivery alone does: a delivery in a batch of `n` costs five round trips and
//! `5 / n` of the batch's, and the batch waits for one flush.
//!
//! Each delivery is still decided on its own, from its payment as the transaction holds it:
//! - a second delivery of one event in the batch is its duplicate, as it would be after the
//!   first's commit;
//! - a second delivery about one payment (or one order) reads it again, after the first's
//!   writes;
//! - events are recorded in (provider, event id) order and payments and orders locked in id
//!   order, so concurrent batches (of two instances) queue on each other instead of
//!   deadlocking, and a delivery alone takes its one event and payment the same way.
//!
//! A batch whose plan refuses one delivery (its transaction must leave nothing of it, and a
//! batch cannot undo one item's record) or that fails as a whole runs again one delivery at a
//! time ([`batch_or_each`]), each then exactly as alone.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use futures::FutureExt as _;
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;
use vendrome_core::ids::WebhookEventId;
use vendrome_core::payments::{Delivery, Plan};
use vendrome_core::time::Timestamp;
use vendrome_core::SqlEnum as _;

use crate::db::{Db, Dialect};
use crate::group_commit::{batch_or_each, GroupCommit, Runner};
use crate::orders::{OrderRow, ORDER_COLUMNS};
use crate::payments::{PaymentRow, PAYMENT_COLUMNS};
use crate::webhooks::{process_alone, DeliverySteps as _, Done};

/// A delivery and what decides it.
pub(crate) struct Item {
    delivery: Delivery,
    plan: Plan,
}

/// The deliveries in flight (one queue for all).
pub(crate) type DeliveryBatches = GroupCommit<(), Item, sqlx::Result<Done>>;

/// Records every delivery of a batch `processed` in (provider, event id) order, or takes over a
/// failed or abandoned one, as `RECORD_PROCESSED` does for one; answers the stored row of each
/// that was recorded (the others are duplicates).
const RECORD_ALL: &str = "INSERT INTO payment_webhook_events (id, provider, provider_event_id, \
    event_type, signature_verified, payload, status, attempts, received_at, processed_at) \
    SELECT v.id, v.provider::payment_provider, v.event_id, v.event_type, true, v.payload, \
    'processed', 1, v.at, v.at \
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[]) \
    AS v(id, provider, event_id, event_type, payload, at) \
    ORDER BY v.provider, v.event_id \
    ON CONFLICT (provider, provider_event_id) DO UPDATE \
    SET status = excluded.status, attempts = payment_webhook_events.attempts + 1, \
    processed_at = excluded.processed_at, last_error = NULL, locked_until = NULL \
    WHERE payment_webhook_events.status IN ('received', 'failed') \
    AND (payment_webhook_events.locked_until IS NULL \
    OR payment_webhook_events.locked_until <= excluded.received_at) \
    RETURNING id, provider::text, provider_event_id";

/// The reason a batch is run again one delivery at a time.
const REFUSED: &str = "a delivery of the batch was refused";

/// Processes `delivery` in the next batch.
pub(crate) async fn process(
    batches: &Arc<DeliveryBatches>,
    db: &Db,
    delivery: Delivery,
    plan: Plan,
) -> sqlx::Result<Done> {
    let db = db.clone();
    let run: Runner<Item, sqlx::Result<Done>> = Arc::new(move |items| {
        let db = db.clone();
        async move {
            batch_or_each(&items, "webhook deliveries", |items| {
                let db = db.clone();
                async move {
                    match &db {
                        Db::Postgres(pool) if items.len() > 1 => batch(pool, items).await,
                        _ => {
                            let mut done = Vec::with_capacity(items.len());
                            for item in items {
                                done.push(process_alone(&db, &item.delivery, &item.plan).await?);
                            }
                            Ok(done)
                        }
                    }
                }
                .boxed()
            })
            .await
        }
        .boxed()
    });
    batches.submit((), Item { delivery, plan }, run).await?
}

/// Processes `items` (two or more) in one transaction; an error when one is refused.
async fn batch(pool: &PgPool, items: &[Item]) -> sqlx::Result<Vec<Done>> {
    let dialect = Dialect::Postgres;
    tracing::debug!(deliveries = items.len(), "a batch of webhook deliveries");
    let mut tx = pool.begin().await?;

    // The first delivery of each event is recorded; the others are its duplicates.
    let mut seen = HashSet::new();
    let firsts: Vec<usize> = (0..items.len())
        .filter(|&i| {
            let d = &items[i].delivery;
            seen.insert((d.provider, d.event_id.as_str()))
        })
        .collect();
    let column = |f: fn(&Delivery) -> String| -> Vec<String> {
        firsts.iter().map(|&i| f(&items[i].delivery)).collect()
    };
    let recorded: Vec<(Uuid, String, String)> = sqlx::query_as(RECORD_ALL)
        .bind(
            firsts
                .iter()
                .map(|_| WebhookEventId::new().as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(column(|d| d.provider.as_str().to_owned()))
        .bind(column(|d| d.event_id.clone()))
        .bind(column(|d| d.event_type.clone()))
        .bind(
            firsts
                .iter()
                .map(|&i| Json(&items[i].delivery.payload))
                .collect::<Vec<_>>(),
        )
        .bind(
            firsts
                .iter()
                .map(|&i| items[i].delivery.at)
                .collect::<Vec<Timestamp>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
    let stored: HashMap<(String, String), Uuid> = recorded
        .into_iter()
        .map(|(id, provider, event)| ((provider, event), id))
        .collect();
    let stored_of = |i: usize| {
        let d = &items[i].delivery;
        stored
            .get(&(d.provider.as_str().to_owned(), d.event_id.clone()))
            .copied()
    };

    // The payments the recorded deliveries name, and their orders, locked in id order.
    let targeted: Vec<usize> = firsts
        .iter()
        .copied()
        .filter(|&i| stored_of(i).is_some() && items[i].delivery.target.is_some())
        .collect();
    let reference = |i: usize| {
        let d = &items[i].delivery;
        let target = d.target.as_ref().expect("a targeted delivery");
        (d.provider.as_str().to_owned(), target.reference.clone())
    };
    let (providers, references): (Vec<String>, Vec<String>) =
        targeted.iter().map(|&i| reference(i)).unzip();
    let payments: Vec<PaymentRow> = sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payment_transactions \
         WHERE (provider, provider_reference) IN \
         (SELECT p::payment_provider, r FROM unnest($1::text[], $2::text[]) AS x(p, r)) \
         ORDER BY id FOR UPDATE"
    ))
    .bind(&providers)
    .bind(&references)
    .fetch_all(&mut *tx)
    .await?;
    let order_ids: Vec<Uuid> = payments
        .iter()
        .filter_map(|p| p.order_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let orders: Vec<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = ANY($1) ORDER BY o.id FOR UPDATE"
    ))
    .bind(&order_ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut payments: HashMap<(String, String), PaymentRow> = payments
        .into_iter()
        .filter_map(|p| {
            let key = (
                p.provider.0.as_str().to_owned(),
                p.provider_reference.clone()?,
            );
            Some((key, p))
        })
        .collect();
    let mut orders: HashMap<Uuid, OrderRow> = orders.into_iter().map(|o| (o.id, o)).collect();

    // Each delivery, in its payment's id order (those about no payment found last).
    let mut found: Vec<(usize, Option<PaymentRow>)> = Vec::with_capacity(items.len());
    for i in firsts {
        let prefetched = match stored_of(i) {
            Some(_) if items[i].delivery.target.is_some() => payments.remove(&reference(i)),
            _ => None,
        };
        found.push((i, prefetched));
    }
    found.sort_by_key(|(_, p)| p.as_ref().map_or(Uuid::max(), |p| p.id));
    let mut answers: Vec<Option<Done>> = (0..items.len()).map(|_| None).collect();
    for (i, prefetched) in found {
        let Item { delivery: d, plan } = &items[i];
        let Some(stored) = stored_of(i) else {
            answers[i] = Some(Done::Duplicate);
            continue;
        };
        // A payment another delivery of this batch named first is read again, after its writes.
        let row = match prefetched {
            Some(row) => Some(row),
            None => tx.find_payment(dialect, d).await?,
        };
        let order = row
            .as_ref()
            .and_then(|p| p.order_id)
            .and_then(|id| orders.remove(&id));
        match tx
            .settle_found(dialect, stored, d, row, order, plan)
            .await?
        {
            Done::Refused(_) => return Err(sqlx::Error::Protocol(REFUSED.into())),
            done => answers[i] = Some(done),
        }
    }
    tx.commit().await?;
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or(Done::Duplicate))
        .collect())
}
