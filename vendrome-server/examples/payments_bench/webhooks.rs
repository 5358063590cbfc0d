//! The webhook half: Stripe payments made straight through the store's ports, their signed
//! `payment_intent.*` events delivered over HTTP, and the raw floor beside them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use reqwest::Client;
use serde_json::json;
use vendrome_core::access::Caller;
use vendrome_core::enums::{PaymentKind, PaymentProvider, PaymentStatus, UserRole};
use vendrome_core::ids::{PaymentId, PostId, UserId};
use vendrome_core::orders::{LineRequest, OrderConfig, OrderService, PlaceOrder};
use vendrome_core::payments::provider::NextAction;
use vendrome_core::payments::{NewPayment, PaymentRepo as _, ProviderCalled, StartOutcome};
use vendrome_payments::signature;
use vendrome_store::{Db, Store};

use crate::support::Level;

/// The Stripe webhook secret the server is started with and the events are signed with.
pub const WEBHOOK_SECRET: &str = "whsec_vendrome_payments_bench";

/// One delivery: the provider's event id and its body.
pub struct Delivery {
    pub event_id: String,
    pub body: Vec<u8>,
}

/// A buyer and a product of someone else's.
#[derive(Clone, Copy)]
pub struct Purchase {
    pub buyer: UserId,
    pub product: PostId,
}

/// Pairs of a member and another member's product, from the seeded network (stock untracked).
pub async fn purchases(store: &Store, count: usize) -> anyhow::Result<Vec<Purchase>> {
    let untrack = "UPDATE post_products SET stock_quantity = NULL";
    let sql = "SELECT u.id, p.id FROM users u \
        JOIN (SELECT p.id, p.author_id, row_number() OVER (ORDER BY p.id) AS n \
              FROM posts p JOIN post_products pp ON pp.post_id = p.id WHERE p.deleted_at IS NULL) p \
          ON p.author_id <> u.id \
        WHERE p.n <= 20 ORDER BY random() LIMIT $1";
    let rows: Vec<(uuid::Uuid, uuid::Uuid)> = match store.db() {
        Db::Postgres(pool) => {
            sqlx::query(untrack).execute(pool).await?;
            sqlx::query_as(sql)
                .bind(count as i64)
                .fetch_all(pool)
                .await?
        }
        Db::Sqlite(pool) => {
            sqlx::query(untrack).execute(pool).await?;
            sqlx::query_as(sql)
                .bind(count as i64)
                .fetch_all(pool)
                .await?
        }
    };
    if rows.is_empty() {
        bail!("the database has no products: was it seeded?");
    }
    Ok(rows
        .into_iter()
        .map(|(buyer, product)| Purchase {
            buyer: UserId::from_uuid(buyer),
            product: PostId::from_uuid(product),
        })
        .collect())
}

/// `count` orders, each with a Stripe charge at `processing` under its own `pi_…` reference,
/// made through the store's ports as checkout would leave them; the deliveries for them: each
/// `payment_intent.succeeded` twice in a row (sent concurrently when there are clients for it),
/// then an older `payment_intent.processing` for every third, after all the successes.
pub async fn prepare(
    store: &Store,
    purchases: &[Purchase],
    count: usize,
    tag: &str,
) -> anyhow::Result<Vec<Delivery>> {
    let orders = OrderService::new(Arc::new(store.clone()), OrderConfig::default());
    let now = chrono::Utc::now();
    let results: Vec<anyhow::Result<(PaymentId, String, i64, String)>> =
        futures::stream::iter(0..count)
            .map(|n| {
                let orders = &orders;
                let purchase = purchases[n % purchases.len()];
                async move {
                    let caller = Caller {
                        user_id: purchase.buyer,
                        role: UserRole::Member,
                    };
                    let input = PlaceOrder {
                        lines: vec![LineRequest {
                            post_id: purchase.product,
                            quantity: 1,
                        }],
                        idempotency_key: format!("bench-{tag}-{n}"),
                        shipping_address: None,
                        note: None,
                    };
                    let order = orders.place(&caller, input, now).await?;
                    let new = NewPayment {
                        id: PaymentId::new(),
                        kind: PaymentKind::Charge,
                        provider: PaymentProvider::Stripe,
                        payer_id: order.buyer_id,
                        payee_id: Some(order.seller_id),
                        order_id: Some(order.id),
                        booking_id: None,
                        marketing_campaign_id: None,
                        commitment_id: None,
                        refund_of: None,
                        amount: order.total(),
                        fee_amount: order.platform_fee_amount,
                        idempotency_key: format!("order:{}:bench", order.id),
                        method: Some("card".into()),
                        return_url: None,
                        created_at: now,
                    };
                    let StartOutcome::Started(payment) = store.start(&new).await? else {
                        bail!("order {} already had a charge", order.id);
                    };
                    let reference = format!("pi_bench_{}", payment.id.as_uuid().simple());
                    store
                        .provider_called(&ProviderCalled {
                            payment_id: payment.id,
                            reference: reference.clone(),
                            status: PaymentStatus::Processing,
                            next_action: NextAction::None,
                            at: now,
                        })
                        .await?;
                    Ok((
                        payment.id,
                        reference,
                        order.total_amount,
                        order.currency.as_str().to_lowercase(),
                    ))
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
    let payments = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let created = now.timestamp();
    let event = |n: usize, kind: &str, status: &str, at: i64| {
        let (id, reference, amount, currency) = &payments[n];
        let event_id = format!("evt_bench_{tag}_{n}_{kind}");
        let body = json!({
            "id": event_id,
            "object": "event",
            "type": format!("payment_intent.{status}"),
            "created": at,
            "livemode": false,
            "data": { "object": {
                "id": reference,
                "object": "payment_intent",
                "amount": amount,
                "currency": currency,
                "status": status,
                "metadata": { "payment_id": id.to_string() },
            }},
        });
        Delivery {
            event_id,
            body: serde_json::to_vec(&body).expect("a JSON value serialises"),
        }
    };
    let mut deliveries = Vec::with_capacity(count * 2 + count / 3 + 1);
    for n in 0..count {
        deliveries.push(event(n, "s", "succeeded", created + 2));
        deliveries.push(event(n, "s", "succeeded", created + 2));
    }
    for n in (0..count).step_by(3) {
        deliveries.push(event(n, "p", "processing", created + 1));
    }
    Ok(deliveries)
}

/// Every delivery once, `clients` at a time, signed when it is sent.
pub async fn deliver(
    client: &Client,
    base: &str,
    deliveries: &[Delivery],
    clients: usize,
) -> Level {
    let url = format!("{base}/v1/payments/webhooks/stripe");
    let started = Instant::now();
    let results: Vec<Option<Duration>> = futures::stream::iter(deliveries)
        .map(|delivery| {
            let url = &url;
            async move {
                let sent = Instant::now();
                let header = signature::sign(
                    WEBHOOK_SECRET,
                    chrono::Utc::now().timestamp(),
                    &delivery.body,
                );
                let response = client
                    .post(url)
                    .header("Stripe-Signature", header)
                    .header("Content-Type", "application/json")
                    .body(delivery.body.clone())
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())?;
                response.bytes().await.ok()?;
                Some(sent.elapsed())
            }
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    crate::level(clients, started.elapsed(), &results)
}

/// The floor: each delivery signed, verified (HMAC-SHA256 on the raw bytes), its event id read
/// and inserted once into a scratch table on the same database, `clients` at a time.
pub async fn floor(
    store: &Store,
    deliveries: &[Delivery],
    clients: usize,
) -> anyhow::Result<Level> {
    let Db::Postgres(pool) = store.db() else {
        bail!("the floor runs on PostgreSQL");
    };
    sqlx::query("DROP TABLE IF EXISTS bench_webhook_floor")
        .execute(pool)
        .await?;
    sqlx::query("CREATE TABLE bench_webhook_floor (event_id TEXT PRIMARY KEY, received_at TIMESTAMPTZ NOT NULL)")
        .execute(pool)
        .await?;
    let started = Instant::now();
    let results: Vec<Option<Duration>> = futures::stream::iter(deliveries)
        .map(|delivery| async move {
            let sent = Instant::now();
            let now = chrono::Utc::now();
            let header = signature::sign(WEBHOOK_SECRET, now.timestamp(), &delivery.body);
            signature::verify(
                Some(&header),
                WEBHOOK_SECRET,
                &delivery.body,
                now,
                signature::DEFAULT_TOLERANCE,
            )
            .ok()?;
            let event: serde_json::Value = serde_json::from_slice(&delivery.body).ok()?;
            let id = event["id"].as_str()?;
            debug_assert_eq!(id, delivery.event_id);
            sqlx::query(
                "INSERT INTO bench_webhook_floor (event_id, received_at) VALUES ($1, $2) \
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await
            .ok()?;
            Some(sent.elapsed())
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let level = crate::level(clients, started.elapsed(), &results);
    sqlx::query("DROP TABLE bench_webhook_floor")
        .execute(pool)
        .await
        .context("dropping the floor's table")?;
    Ok(level)
}

/// Ledger postings so far, and how many distinct payments they are for.
pub async fn postings(store: &Store) -> anyhow::Result<(i64, i64)> {
    let sql = "SELECT COUNT(*), COUNT(DISTINCT payment_transaction_id) FROM ledger_transactions";
    Ok(match store.db() {
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await?,
        Db::Sqlite(pool) => sqlx::query_as(sql).fetch_one(pool).await?,
    })
}
