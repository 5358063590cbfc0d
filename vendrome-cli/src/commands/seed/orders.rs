//! `fixtures/orders.json`: product orders among the fixture users, one or more in every status
//! an order can reach, taken there through the same services as the API: the order service,
//! and the payments orchestrator with the sandbox provider (its signed webhook handled by the
//! same pipeline as a provider's), so every payment is posted to the ledger as real use would
//! post it and `vendrome ledger check` stays clean.
//!
//! Idempotent: an order is placed with its fixture key as the buyer's idempotency key, so a
//! second run finds the same order; then only the moves still missing between the order's
//! status and the fixture's outcome are made. An order that moved on by itself meanwhile (a
//! pending one that has since expired) is left as it is.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};
use vendrome_core::access::Caller;
use vendrome_core::enums::{OrderStatus, PaymentProvider};
use vendrome_core::ids::PostId;
use vendrome_core::orders::{LineRequest, Order, PlaceOrder};
use vendrome_core::payments::Payment;
use vendrome_core::time;
use vendrome_core::users::{Email, UserRepo as _};
use vendrome_core::SqlEnum as _;
use vendrome_payments::{CheckoutRequest, SandboxOutcome};
use vendrome_server::commerce::{Commerce, CommerceOptions};
use vendrome_store::Store;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFixture {
    key: String,
    buyer: String,
    items: Vec<ItemFixture>,
    note: Option<String>,
    outcome: Outcome,
    /// What the seller refunds of a `partially_refunded` order, in minor units.
    refund_amount: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFixture {
    /// A product post's key in `social.json`.
    post: String,
    quantity: i32,
}

/// Where a fixture order's life stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// Placed, not paid (it expires 30 minutes after seeding, once `serve` runs).
    PendingPayment,
    /// Paid through the sandbox.
    Paid,
    /// Paid and shipped by the seller.
    Fulfilled,
    /// Paid, shipped, and confirmed by the buyer.
    Completed,
    /// Called off by the buyer before paying; its stock given back.
    Cancelled,
    /// Placed two hours before seeding and never paid: cancelled by the expiry pass `serve`
    /// runs every 30 seconds, run here once.
    Expired,
    /// Paid, then called off by the seller: refunded in full.
    Refunded,
    /// Paid, and part of it refunded by the seller (`refund_amount`).
    PartiallyRefunded,
}

/// What a run did.
#[derive(Default, Serialize)]
pub struct OrdersSummary {
    /// Orders placed by this run (the others were found by their key).
    pub orders_placed: usize,
    /// Moves made (payments, fulfilments, completions, cancels, refunds).
    pub orders_moved: usize,
}

/// Places and moves the fixture orders; `posts` are `social.json`'s posts by key.
pub async fn load(
    store: &Store,
    fixtures: Vec<OrderFixture>,
    posts: &HashMap<String, PostId>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<OrdersSummary> {
    let commerce = Commerce::new(&Arc::new(store.clone()), CommerceOptions::default());
    let sandbox = commerce
        .sandbox
        .clone()
        .context("the default commerce options have the sandbox on")?;
    let mut summary = OrdersSummary::default();
    for (i, fixture) in fixtures.into_iter().enumerate() {
        let what = format!("orders.json item {i} ({})", fixture.key);
        let buyer = caller(store, &fixture.buyer)
            .await
            .with_context(|| what.clone())?;
        let lines = fixture
            .items
            .iter()
            .map(|item| {
                Ok(LineRequest {
                    post_id: *posts.get(&item.post).with_context(|| {
                        format!("{what}: social.json has no post `{}`", item.post)
                    })?,
                    quantity: item.quantity,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let now = time::now();
        let placed_at = if fixture.outcome == Outcome::Expired {
            now - chrono::Duration::hours(2)
        } else {
            now
        };
        let input = PlaceOrder {
            lines,
            idempotency_key: format!("fixture:{}", fixture.key),
            shipping_address: None,
            note: fixture.note.clone(),
        };
        let order = commerce
            .orders
            .place(&buyer, input, placed_at)
            .await
            .with_context(|| what.clone())?;
        if order.created_at == placed_at {
            summary.orders_placed += 1;
        }
        let seller = Caller {
            user_id: order.seller_id,
            role: store
                .user_by_id(order.seller_id)
                .await?
                .ok_or_else(|| anyhow!("{what}: the seller is gone"))?
                .role,
        };
        let mover = Mover {
            commerce: &commerce,
            sandbox: &sandbox,
            buyer,
            seller,
            key: &fixture.key,
        };
        summary.orders_moved += mover
            .advance(order, fixture.outcome, fixture.refund_amount)
            .await
            .with_context(|| what.clone())?;
        bar.inc(1);
    }
    Ok(summary)
}

/// Takes `order` to `completed` as its buyer and seller would: paid with the sandbox (its
/// signed webhook handled by the server's pipeline, so the payment is posted to the ledger),
/// shipped, confirmed. `key` names the checkout's idempotency key. The order as it ends.
pub async fn complete(
    commerce: &Commerce,
    buyer: &Caller,
    seller: &Caller,
    key: &str,
    order: Order,
) -> anyhow::Result<Order> {
    let sandbox = commerce
        .sandbox
        .clone()
        .context("the commerce options have the sandbox on")?;
    let id = order.id;
    let mover = Mover {
        commerce,
        sandbox: &sandbox,
        buyer: *buyer,
        seller: *seller,
        key,
    };
    mover.advance(order, Outcome::Completed, None).await?;
    commerce.orders.get(buyer, id).await.map_err(Into::into)
}

/// The fixture member with this email, as a caller.
pub(super) async fn caller(store: &Store, email: &str) -> anyhow::Result<Caller> {
    let parsed = Email::parse(email).map_err(|e| anyhow!("{email}: {e}"))?;
    let user = store
        .user_by_email(&parsed)
        .await?
        .with_context(|| format!("{email} is not in users.json"))?;
    Ok(Caller {
        user_id: user.id,
        role: user.role,
    })
}

/// Moves one fixture order towards its outcome.
struct Mover<'a> {
    commerce: &'a Commerce,
    sandbox: &'a vendrome_payments::Sandbox,
    buyer: Caller,
    seller: Caller,
    key: &'a str,
}

impl Mover<'_> {
    /// Makes the moves still missing towards `target`; how many it made.
    async fn advance(
        &self,
        mut order: Order,
        target: Outcome,
        refund_amount: Option<i64>,
    ) -> anyhow::Result<usize> {
        let orders = &self.commerce.orders;
        let mut moves = 0;
        if order.status == OrderStatus::PendingPayment {
            match target {
                Outcome::PendingPayment => return Ok(0),
                Outcome::Cancelled => {
                    orders.cancel(&self.buyer, order.id, time::now()).await?;
                    return Ok(1);
                }
                Outcome::Expired => {
                    // The expiry pass `serve` runs: it takes every unpaid order past its expiry.
                    orders.expire_due(time::now(), 100).await?;
                    return Ok(1);
                }
                _ => {
                    order = self.pay(&order).await?;
                    moves += 1;
                }
            }
        }
        if order.status == OrderStatus::Paid {
            match target {
                Outcome::Fulfilled | Outcome::Completed => {
                    order = orders.fulfil(&self.seller, order.id, time::now()).await?;
                    moves += 1;
                }
                Outcome::Refunded => {
                    order = self
                        .commerce
                        .payments
                        .cancel_order(orders, &self.seller, order.id, time::now())
                        .await?;
                    moves += 1;
                }
                Outcome::PartiallyRefunded if order.refunded_amount == 0 => {
                    let amount = refund_amount
                        .context("a partially_refunded order names its refund_amount")?;
                    let key = format!("fixture:{}:refund", self.key);
                    self.commerce
                        .payments
                        .refund(order.id, &self.seller, Some(amount), &key)
                        .await?;
                    moves += 1;
                }
                _ => {}
            }
        }
        if target == Outcome::Completed && order.status == OrderStatus::Fulfilled {
            orders.complete(&self.buyer, order.id, time::now()).await?;
            moves += 1;
        }
        Ok(moves)
    }

    /// Checks out with the sandbox and presses Pay: the sandbox's signed webhook is handled as
    /// the server handles it. The order, paid.
    async fn pay(&self, order: &Order) -> anyhow::Result<Order> {
        let key = format!("fixture:{}:checkout", self.key);
        let payment = self
            .commerce
            .payments
            .checkout(order.id, &self.buyer, sandbox_checkout(), &key)
            .await?;
        press_pay(self.commerce, self.sandbox, &payment).await?;
        self.commerce
            .orders
            .get(&self.buyer, order.id)
            .await
            .map_err(Into::into)
    }
}

/// A checkout with the sandbox provider, as the fixtures pay.
pub(super) fn sandbox_checkout() -> CheckoutRequest {
    CheckoutRequest {
        provider: Some(PaymentProvider::Sandbox),
        method: None,
        return_url: None,
        country: None,
    }
}

/// Presses Pay on a sandbox `payment`: its signed webhook is handled as the server handles it.
pub(super) async fn press_pay(
    commerce: &Commerce,
    sandbox: &vendrome_payments::Sandbox,
    payment: &Payment,
) -> anyhow::Result<()> {
    let (headers, body) = sandbox.outcome_webhook(payment, SandboxOutcome::Succeeded);
    commerce
        .payments
        .handle_webhook(PaymentProvider::Sandbox.as_str(), &headers, &body)
        .await?;
    Ok(())
}
