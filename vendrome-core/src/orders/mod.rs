//! Product orders: what a buyer bought from one seller, in one currency, and where the order is
//! in its life ([`OrderStatus`], whose moves [`transition`] allows).
//!
//! Creating an order reserves the products' stock in the same database transaction; an unpaid
//! order expires and gives its stock back exactly once. The order's amounts are fixed when it is
//! created (title and unit price are copied), so later edits to a listing change no order.

mod refund;
mod service;
mod status;

use async_trait::async_trait;
use serde::Serialize;

pub use self::refund::{OrderRefund, RefundApplied};
pub use self::service::{OrderConfig, OrderService, PlaceOrder, MAX_LINES};
pub use self::status::{transition, OrderAction, OrderActor};
use crate::enums::OrderStatus;
use crate::ids::{OrderId, OrderItemId, PostId, UserId};
use crate::money::{Currency, Money};
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

/// Quantities a line may ask for.
pub const QUANTITY_RANGE: std::ops::RangeInclusive<i32> = 1..=100;

/// The default platform commission: 500 basis points, 5 %.
pub const DEFAULT_PLATFORM_FEE_BPS: u32 = 500;

/// How long an order waits for payment before it expires, by default.
pub const DEFAULT_EXPIRY: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// How long after fulfilment an order completes on its own, when the buyer does not say so.
pub const AUTO_COMPLETE_AFTER: std::time::Duration = std::time::Duration::from_secs(14 * 86_400);

/// One line as the buyer asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRequest {
    pub post_id: PostId,
    pub quantity: i32,
}

/// A product as an order needs it: from `post_products`, with its post's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub post_id: PostId,
    pub seller_id: UserId,
    pub title: String,
    pub price: Money,
    /// `None`: stock is not tracked and never runs out.
    pub stock_quantity: Option<i32>,
}

/// One line of an order, priced when the order was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderItem {
    pub id: OrderItemId,
    pub post_id: PostId,
    pub title: String,
    pub unit_amount: i64,
    pub quantity: i32,
    pub line_amount: i64,
}

/// An order as the store is asked to create it; every amount already computed and checked by
/// core ([`Order::price`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub id: OrderId,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    pub currency: Currency,
    pub items: Vec<OrderItem>,
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub platform_fee_amount: i64,
    pub total_amount: i64,
    /// The buyer's `Idempotency-Key`: a retry with it finds this order.
    pub idempotency_key: String,
    pub shipping_address: Option<serde_json::Value>,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl NewOrder {
    /// The order as the store holds it once created: awaiting payment, nothing refunded, its
    /// lines in product id order (as the store reads them back).
    pub fn created(&self) -> Order {
        let mut items = self.items.clone();
        items.sort_by_key(|line| line.post_id.as_uuid());
        Order {
            id: self.id,
            buyer_id: self.buyer_id,
            seller_id: self.seller_id,
            status: OrderStatus::PendingPayment,
            currency: self.currency,
            items,
            subtotal_amount: self.subtotal_amount,
            shipping_amount: self.shipping_amount,
            platform_fee_amount: self.platform_fee_amount,
            total_amount: self.total_amount,
            refunded_amount: 0,
            shipping_address: self.shipping_address.clone(),
            note: self.note.clone(),
            created_at: self.created_at,
            updated_at: self.created_at,
            expires_at: self.expires_at,
            paid_at: None,
            fulfilled_at: None,
            completed_at: None,
            cancelled_at: None,
        }
    }
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    pub status: OrderStatus,
    pub currency: Currency,
    pub items: Vec<OrderItem>,
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub platform_fee_amount: i64,
    pub total_amount: i64,
    /// What has been refunded so far (never more than `total_amount`).
    pub refunded_amount: i64,
    pub shipping_address: Option<serde_json::Value>,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub fulfilled_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
}

impl Order {
    pub fn total(&self) -> Money {
        Money::new(self.total_amount, self.currency)
    }

    pub fn platform_fee(&self) -> Money {
        Money::new(self.platform_fee_amount, self.currency)
    }
}

/// Why the store refused to create an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOrderOutcome {
    Created(Order),
    /// The buyer already made an order with this idempotency key: that order, unchanged.
    Existing(Order),
    /// A line asked for more than the product has in stock; nothing was reserved.
    OutOfStock {
        post_id: PostId,
    },
}

/// Which of a member's orders a list returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRole {
    Buyer,
    Seller,
}

/// A move of an order's status, with the instant it happens. The store applies it only if the
/// order is still in `from` (a compare-and-set), so two racing moves cannot both happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub order_id: OrderId,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub at: Timestamp,
}

/// Storage of orders and the stock they reserve.
#[async_trait]
pub trait OrderRepo: Send + Sync {
    /// The products behind `posts` that are live product posts (not deleted), in any order;
    /// ids that are not live products are left out.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn products(&self, posts: &[PostId]) -> Result<Vec<Product>>;

    /// In one transaction: finds an order of the buyer with the same idempotency key
    /// ([`CreateOrderOutcome::Existing`]), or reserves each line's quantity from tracked stock
    /// (untracked stock is not touched) and stores the order in `pending_payment`. When any line
    /// cannot be reserved, nothing is reserved or stored ([`CreateOrderOutcome::OutOfStock`]).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_order(&self, order: &NewOrder) -> Result<CreateOrderOutcome>;

    /// The order, `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn order(&self, id: OrderId) -> Result<Option<Order>>;

    /// A member's orders as buyer or seller, newest first, optionally of one status; with the
    /// cursor of the next page when there is one.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn orders_of(
        &self,
        user: UserId,
        role: OrderRole,
        status: Option<OrderStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Order>, Option<Cursor>)>;

    /// Applies `change` if the order is still in `change.from`, and gives stock back when the
    /// order leaves `pending_payment` for `cancelled`; `None` when it was not in `from` (someone
    /// else moved it first). Writes `event` to the outbox in the same transaction.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn change_status(
        &self,
        change: StatusChange,
        event: crate::outbox::NewEvent,
    ) -> Result<Option<Order>>;

    /// Up to `limit` orders still `pending_payment` whose `expires_at` is before `now`, oldest
    /// first; the expiry task cancels each with [`change_status`](Self::change_status).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn expired_orders(&self, now: Timestamp, limit: u32) -> Result<Vec<OrderId>>;

    /// Up to `limit` orders `fulfilled` before `before` and not yet completed, oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn fulfilled_before(&self, before: Timestamp, limit: u32) -> Result<Vec<OrderId>>;
}
