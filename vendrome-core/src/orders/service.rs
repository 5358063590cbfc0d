//! [`OrderService`]: placing product orders and moving them through their life, over
//! [`OrderRepo`] only (payments settle orders through the payments orchestrator, not here).
//!
//! Prices come from the products, never from the buyer. Shipping is 0: the schema has no
//! shipping rates yet, so `shipping_amount` is stored as 0 and the total is the subtotal. The
//! platform fee is [`OrderConfig::fee_bps`] of the total, rounded half-up to the minor unit
//! ([`Money::share_bps`]), and is deducted from the seller's payout, not added to the total.

use std::collections::HashSet;
use std::sync::Arc;

use super::{
    transition, CreateOrderOutcome, LineRequest, NewOrder, Order, OrderAction, OrderActor,
    OrderItem, OrderRepo, OrderRole, StatusChange, AUTO_COMPLETE_AFTER, DEFAULT_EXPIRY,
    DEFAULT_PLATFORM_FEE_BPS, QUANTITY_RANGE,
};
use crate::access::Caller;
use crate::enums::{OrderStatus, UserRole};
use crate::events::{DomainEvent, OrderChanged};
use crate::ids::{OrderId, OrderItemId};
use crate::money::Money;
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::{Error, Result};

/// How many lines one order may have.
pub const MAX_LINES: usize = 20;

/// The order service's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderConfig {
    /// The platform's fee in basis points of the total (`--platform-fee-bps`).
    pub fee_bps: u32,
    /// How long an order waits for payment (`--order-expiry`).
    pub expiry: std::time::Duration,
}

impl Default for OrderConfig {
    fn default() -> Self {
        Self {
            fee_bps: DEFAULT_PLATFORM_FEE_BPS,
            expiry: DEFAULT_EXPIRY,
        }
    }
}

/// What a buyer asks for (`POST /v1/orders`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    pub lines: Vec<LineRequest>,
    /// The request's `Idempotency-Key`: the same key finds the same order.
    pub idempotency_key: String,
    pub shipping_address: Option<serde_json::Value>,
    pub note: Option<String>,
}

/// Places orders and moves them; see the module docs.
pub struct OrderService {
    repo: Arc<dyn OrderRepo>,
    config: OrderConfig,
}

fn span(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn too_large() -> Error {
    ValidationErrors::single("items", "out_of_range", "the order's amounts are too large").into()
}

/// The event a move to `to` writes.
fn event(order: &Order, to: OrderStatus) -> NewEvent {
    let payload = OrderChanged {
        order_id: order.id,
        buyer_id: order.buyer_id,
        seller_id: order.seller_id,
        status: to,
        total_amount: order.total_amount,
        refunded_amount: order.refunded_amount,
        currency: order.currency,
    };
    NewEvent::new(match to {
        OrderStatus::PendingPayment => DomainEvent::OrderCreated(payload),
        OrderStatus::Paid => DomainEvent::OrderPaid(payload),
        OrderStatus::Cancelled => DomainEvent::OrderCancelled(payload),
        OrderStatus::Fulfilled => DomainEvent::OrderFulfilled(payload),
        OrderStatus::Completed => DomainEvent::OrderCompleted(payload),
        OrderStatus::Refunded => DomainEvent::OrderRefunded(payload),
    })
}

/// Checks the shape of the request: 1 to [`MAX_LINES`] lines, quantities in
/// [`QUANTITY_RANGE`], no post twice.
fn validate_lines(lines: &[LineRequest]) -> Result<()> {
    let mut errors = ValidationErrors::new();
    if lines.is_empty() || lines.len() > MAX_LINES {
        errors.add(
            "items",
            "out_of_range",
            format!("an order has 1 to {MAX_LINES} items"),
        );
    }
    let mut seen = HashSet::new();
    for (n, line) in lines.iter().enumerate() {
        if !QUANTITY_RANGE.contains(&line.quantity) {
            errors.add(
                &format!("items.{n}.quantity"),
                "out_of_range",
                format!(
                    "must be between {} and {}",
                    QUANTITY_RANGE.start(),
                    QUANTITY_RANGE.end()
                ),
            );
        }
        if !seen.insert(line.post_id) {
            errors.add(
                &format!("items.{n}.post_id"),
                "duplicate",
                "each product appears once; raise its quantity instead",
            );
        }
    }
    errors.into_result().map_err(Error::from)
}

impl OrderService {
    pub fn new(repo: Arc<dyn OrderRepo>, config: OrderConfig) -> Self {
        Self { repo, config }
    }

    /// Places an order for `caller`, or finds the one placed with the same key.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a malformed request or a post that is not a live product;
    /// [`Error::Unprocessable`] `mixed_sellers`, `mixed_currencies` or `own_listing`;
    /// [`Error::Conflict`] `out_of_stock`, naming the post.
    pub async fn place(&self, caller: &Caller, input: PlaceOrder, now: Timestamp) -> Result<Order> {
        validate_lines(&input.lines)?;
        let ids: Vec<_> = input.lines.iter().map(|l| l.post_id).collect();
        let products = self.repo.products(&ids).await?;
        let mut errors = ValidationErrors::new();
        let mut priced = Vec::with_capacity(input.lines.len());
        for (n, line) in input.lines.iter().enumerate() {
            match products.iter().find(|p| p.post_id == line.post_id) {
                Some(product) => priced.push((line, product)),
                None => errors.add(
                    &format!("items.{n}.post_id"),
                    "not_a_product",
                    "is not a product on sale",
                ),
            }
        }
        errors.into_result()?;
        let (_, first) = priced[0];
        if priced.iter().any(|(_, p)| p.seller_id != first.seller_id) {
            return Err(Error::unprocessable(
                "mixed_sellers",
                "an order holds the products of one seller; place one order per seller",
            ));
        }
        let currency = first.price.currency;
        if priced.iter().any(|(_, p)| p.price.currency != currency) {
            return Err(Error::unprocessable(
                "mixed_currencies",
                "an order is paid in one currency; these products are priced in several",
            ));
        }
        if first.seller_id == caller.user_id {
            return Err(Error::unprocessable(
                "own_listing",
                "a member cannot buy their own listing",
            ));
        }
        let mut subtotal = Money::zero(currency);
        let mut items = Vec::with_capacity(priced.len());
        for (line, product) in priced {
            let amount = product
                .price
                .checked_mul(i64::from(line.quantity))
                .map_err(|_| too_large())?;
            subtotal = subtotal.checked_add(amount).map_err(|_| too_large())?;
            items.push(OrderItem {
                id: OrderItemId::new(),
                post_id: product.post_id,
                title: product.title.clone(),
                unit_amount: product.price.amount,
                quantity: line.quantity,
                line_amount: amount.amount,
            });
        }
        let shipping = Money::zero(currency);
        let total = subtotal.checked_add(shipping).map_err(|_| too_large())?;
        let fee = total
            .share_bps(self.config.fee_bps)
            .map_err(|_| too_large())?;
        let order = NewOrder {
            id: OrderId::new(),
            buyer_id: caller.user_id,
            seller_id: first.seller_id,
            currency,
            items,
            subtotal_amount: subtotal.amount,
            shipping_amount: shipping.amount,
            platform_fee_amount: fee.amount.min(total.amount),
            total_amount: total.amount,
            idempotency_key: input.idempotency_key,
            shipping_address: input.shipping_address,
            note: input.note,
            created_at: now,
            expires_at: now + span(self.config.expiry),
        };
        match self.repo.create_order(&order).await? {
            CreateOrderOutcome::Created(order) | CreateOrderOutcome::Existing(order) => Ok(order),
            CreateOrderOutcome::OutOfStock { post_id } => Err(Error::conflict(
                "out_of_stock",
                format!("post {post_id} does not have the quantity asked for in stock"),
            )),
        }
    }

    /// The order, for its buyer, its seller or an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `order` when there is none or the caller is none of them.
    pub async fn get(&self, caller: &Caller, id: OrderId) -> Result<Order> {
        let order = self.load(id).await?;
        actor(caller, &order)?;
        Ok(order)
    }

    /// The caller's orders as buyer or seller, newest first, optionally of one status.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn list(
        &self,
        caller: &Caller,
        role: OrderRole,
        status: Option<OrderStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Order>> {
        let (items, next_cursor) = self
            .repo
            .orders_of(caller.user_id, role, status, after, limit)
            .await?;
        Ok(Page { items, next_cursor })
    }

    /// The seller ships a paid order.
    ///
    /// # Errors
    ///
    /// See [`OrderService::act`].
    pub async fn fulfil(&self, caller: &Caller, id: OrderId, now: Timestamp) -> Result<Order> {
        self.act(caller, id, OrderAction::Fulfil, now).await
    }

    /// The buyer confirms a fulfilled order arrived.
    ///
    /// # Errors
    ///
    /// See [`OrderService::act`].
    pub async fn complete(&self, caller: &Caller, id: OrderId, now: Timestamp) -> Result<Order> {
        self.act(caller, id, OrderAction::Complete, now).await
    }

    /// The buyer or the seller calls off an unpaid order; its stock is given back. A paid order
    /// is called off by refunding it (the payments orchestrator).
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] `invalid_order_transition` when the order is no longer unpaid; and
    /// see [`OrderService::act`].
    pub async fn cancel(&self, caller: &Caller, id: OrderId, now: Timestamp) -> Result<Order> {
        let order = self.load(id).await?;
        actor(caller, &order)?;
        if order.status != OrderStatus::PendingPayment {
            return Err(Error::conflict(
                "invalid_order_transition",
                format!(
                    "an order that is {} is cancelled by refunding it",
                    order.status
                ),
            ));
        }
        self.act(caller, id, OrderAction::Cancel, now).await
    }

    /// Makes `action` on the order as the caller's part in it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `order` for a caller who is not its buyer, seller or an admin;
    /// [`Error::Forbidden`] `not_order_party_action` and [`Error::Conflict`]
    /// `invalid_order_transition` from [`transition`] (also when another change came first).
    pub async fn act(
        &self,
        caller: &Caller,
        id: OrderId,
        action: OrderAction,
        now: Timestamp,
    ) -> Result<Order> {
        let order = self.load(id).await?;
        let who = actor(caller, &order)?;
        self.apply(&order, action, who, now).await?.ok_or_else(|| {
            Error::conflict(
                "invalid_order_transition",
                "the order changed meanwhile; read it again",
            )
        })
    }

    /// Cancels up to `limit` unpaid orders past their expiry, giving their stock back; answers
    /// how many this call cancelled (another instance may cancel some first).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn expire_due(&self, now: Timestamp, limit: u32) -> Result<usize> {
        let due = self.repo.expired_orders(now, limit).await?;
        self.system_moves(due, OrderAction::Cancel, now).await
    }

    /// Completes up to `limit` orders fulfilled more than [`AUTO_COMPLETE_AFTER`] ago; answers
    /// how many this call completed.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn complete_due(&self, now: Timestamp, limit: u32) -> Result<usize> {
        let before = now - span(AUTO_COMPLETE_AFTER);
        let due = self.repo.fulfilled_before(before, limit).await?;
        self.system_moves(due, OrderAction::Complete, now).await
    }

    async fn system_moves(
        &self,
        due: Vec<OrderId>,
        action: OrderAction,
        now: Timestamp,
    ) -> Result<usize> {
        let mut moved = 0;
        for id in due {
            let Some(order) = self.repo.order(id).await? else {
                continue;
            };
            match self.apply(&order, action, OrderActor::System, now).await {
                Ok(Some(_)) => moved += 1,
                // Someone moved it first (a payment, the buyer, another instance).
                Ok(None) | Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(moved)
    }

    async fn apply(
        &self,
        order: &Order,
        action: OrderAction,
        who: OrderActor,
        now: Timestamp,
    ) -> Result<Option<Order>> {
        let to = transition(order.status, action, who)?;
        let change = StatusChange {
            order_id: order.id,
            from: order.status,
            to,
            at: now,
        };
        self.repo.change_status(change, event(order, to)).await
    }

    async fn load(&self, id: OrderId) -> Result<Order> {
        self.repo.order(id).await?.ok_or(Error::not_found("order"))
    }
}

/// The caller's part in the order; not found for anyone else, so an order's existence is not
/// revealed.
fn actor(caller: &Caller, order: &Order) -> Result<OrderActor> {
    if caller.user_id == order.buyer_id {
        Ok(OrderActor::Buyer)
    } else if caller.user_id == order.seller_id {
        Ok(OrderActor::Seller)
    } else if caller.role == UserRole::Admin {
        Ok(OrderActor::Admin)
    } else {
        Err(Error::not_found("order"))
    }
}
