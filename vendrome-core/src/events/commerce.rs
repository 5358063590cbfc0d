//! Payloads of the commerce events: orders and the payments made for them.

use serde::{Deserialize, Serialize};

use super::about;
use crate::enums::{OrderStatus, PaymentProvider, PaymentStatus};
use crate::ids::{OrderId, PaymentId, UserId};
use crate::money::Currency;

/// An order was placed or moved: `order.created`, `order.paid`, `order.cancelled`,
/// `order.fulfilled`, `order.completed`, `order.refunded`. Buyer and seller hear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderChanged {
    pub order_id: OrderId,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    /// The status after the change.
    pub status: OrderStatus,
    pub total_amount: i64,
    /// Refunded so far (0 until a refund).
    pub refunded_amount: i64,
    pub currency: Currency,
}

/// A payment reached an outcome: `payment.succeeded`, `payment.failed`, `payment.refunded`.
/// The payer and the payee (the seller, for an order) hear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentChanged {
    pub payment_id: PaymentId,
    pub order_id: Option<OrderId>,
    pub payer_id: UserId,
    pub payee_id: Option<UserId>,
    pub provider: PaymentProvider,
    /// The status after the change.
    pub status: PaymentStatus,
    pub amount: i64,
    pub currency: Currency,
}

about!("order" by order_id: OrderChanged);
about!("payment" by payment_id: PaymentChanged);
