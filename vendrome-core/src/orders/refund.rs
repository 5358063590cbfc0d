//! A succeeded refund's effect on its order: the refunded total grows, and the refund that
//! brings it to the order's total moves the order to `refunded`.
//!
//! Two refunds of one order may settle at the same moment, so neither may decide from the order
//! as it was read before settling: the store locks the order inside the settling transaction
//! and hands [`OrderRefund::apply`] the status and refunded total it finds there.

use super::{transition, OrderAction, OrderActor, StatusChange};
use crate::enums::OrderStatus;
use crate::events::{DomainEvent, OrderChanged};
use crate::ids::{OrderId, UserId};
use crate::money::Currency;
use crate::outbox::NewEvent;
use crate::time::Timestamp;

/// A refund of `amount` of an order, to be added to its refunded total by the settlement of
/// the refund. The other fields never change once an order exists; they fill the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRefund {
    pub order_id: OrderId,
    pub buyer_id: UserId,
    pub seller_id: UserId,
    pub total_amount: i64,
    pub currency: Currency,
    /// What this refund gives back.
    pub amount: i64,
}

/// What [`OrderRefund::apply`] makes of the order as the settling transaction found it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundApplied {
    /// The order's refunded total after this refund.
    pub refunded_amount: i64,
    /// The move to `refunded`, when this refund completes the total of an order that may make
    /// it.
    pub change: Option<StatusChange>,
    /// `order.refunded`, with the status and refunded total after this refund.
    pub event: NewEvent,
}

impl OrderRefund {
    /// Applies the refund to an order found in `status` with `refunded_before` already
    /// refunded. Every refund writes one `order.refunded` event carrying the running total;
    /// only the one that brings it to the order's total carries (and makes) the move to
    /// `refunded`.
    pub fn apply(&self, status: OrderStatus, refunded_before: i64, at: Timestamp) -> RefundApplied {
        let refunded_amount = refunded_before + self.amount;
        let change = (refunded_amount >= self.total_amount)
            .then(|| transition(status, OrderAction::RefundInFull, OrderActor::System).ok())
            .flatten()
            .map(|to| StatusChange {
                order_id: self.order_id,
                from: status,
                to,
                at,
            });
        let event = NewEvent::new(DomainEvent::OrderRefunded(OrderChanged {
            order_id: self.order_id,
            buyer_id: self.buyer_id,
            seller_id: self.seller_id,
            status: change.map_or(status, |c| c.to),
            total_amount: self.total_amount,
            refunded_amount,
            currency: self.currency,
        }));
        RefundApplied {
            refunded_amount,
            change,
            event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund(amount: i64) -> OrderRefund {
        OrderRefund {
            order_id: OrderId::new(),
            buyer_id: UserId::new(),
            seller_id: UserId::new(),
            total_amount: 1_000,
            currency: Currency::parse("ZAR").unwrap(),
            amount,
        }
    }

    fn payload(applied: &RefundApplied) -> &OrderChanged {
        match &applied.event.event {
            DomainEvent::OrderRefunded(p) => p,
            other => panic!("expected order.refunded, got {other:?}"),
        }
    }

    #[test]
    fn a_partial_refund_keeps_the_status_and_carries_the_running_total() {
        let applied = refund(400).apply(OrderStatus::Paid, 300, crate::time::now());
        assert_eq!(applied.refunded_amount, 700);
        assert_eq!(applied.change, None);
        assert_eq!(payload(&applied).status, OrderStatus::Paid);
        assert_eq!(payload(&applied).refunded_amount, 700);
    }

    #[test]
    fn the_refund_that_completes_the_total_moves_the_order() {
        let at = crate::time::now();
        let applied = refund(600).apply(OrderStatus::Fulfilled, 400, at);
        let change = applied.change.expect("the order moves");
        assert_eq!(
            (change.from, change.to, change.at),
            (OrderStatus::Fulfilled, OrderStatus::Refunded, at)
        );
        assert_eq!(payload(&applied).status, OrderStatus::Refunded);
        assert_eq!(payload(&applied).refunded_amount, 1_000);
    }

    #[test]
    fn an_order_that_cannot_move_stays_where_it_is() {
        let applied = refund(1_000).apply(OrderStatus::Refunded, 0, crate::time::now());
        assert_eq!(applied.change, None);
        assert_eq!(payload(&applied).status, OrderStatus::Refunded);
    }
}
