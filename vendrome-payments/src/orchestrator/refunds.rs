//! Refunds: payments of kind `refund` against an order's charge, with their own recovery points
//! and provider key. Partial refunds add up to at most the charge.

use vendrome_core::access::Caller;
use vendrome_core::enums::{
    OrderStatus, PaymentAttemptPhase, PaymentKind, PaymentStatus, UserRole,
};
use vendrome_core::ids::{OrderId, PaymentId};
use vendrome_core::money::Money;
use vendrome_core::orders::{transition, Order, OrderAction, OrderActor};
use vendrome_core::payments::provider::{NextAction, ProviderError, RefundPayment};
use vendrome_core::payments::{is_final, NewPayment, Payment, StartOutcome};
use vendrome_core::{Error, Result};

use super::settle::Outcome;
use super::{provider_error, provider_key, Payments};

fn exceeds(refundable: i64) -> Error {
    Error::unprocessable(
        "refund_exceeds_total",
        format!("refunds would add up to more than the total; {refundable} may still be refunded"),
    )
}

impl Payments {
    /// The order, and the caller's part in it as the state machine knows it. Strangers do not
    /// learn that the order exists.
    async fn order_for(&self, order_id: OrderId, caller: &Caller) -> Result<(Order, OrderActor)> {
        let order = self
            .ports
            .orders
            .order(order_id)
            .await?
            .ok_or(Error::not_found("order"))?;
        let actor = if caller.role == UserRole::Admin {
            OrderActor::Admin
        } else if caller.user_id == order.seller_id {
            OrderActor::Seller
        } else if caller.user_id == order.buyer_id {
            OrderActor::Buyer
        } else {
            return Err(Error::not_found("order"));
        };
        Ok((order, actor))
    }

    /// Refunds `amount` (the rest of the order's total when `None`) of a paid or fulfilled
    /// order, for its seller or an admin. The refund is keyed by the order and the caller's
    /// `idempotency_key`; a refund that brings the refunded total to the order's total moves the
    /// order to `refunded`.
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] (`order`) when there is no such order or the caller is no party;
    /// - [`Error::Forbidden`] `not_order_party_action` for the buyer;
    /// - [`Error::Conflict`] `invalid_order_transition` when the order is not paid or fulfilled;
    /// - [`Error::Unprocessable`] `refund_exceeds_total` when the refunds would exceed the
    ///   total (or the amount is not positive), `payment_rejected` when the provider refused;
    /// - [`Error::PaymentRequired`] `payment_declined` when the provider declined the refund;
    /// - [`Error::Unavailable`] `provider_unavailable` (retry with the same key);
    /// - [`Error::Unexpected`] when the storage fails.
    pub async fn refund(
        &self,
        order_id: OrderId,
        caller: &Caller,
        amount: Option<i64>,
        idempotency_key: &str,
    ) -> Result<Payment> {
        let (order, actor) = self.order_for(order_id, caller).await?;
        transition(order.status, OrderAction::RefundInFull, actor)?;
        let key = format!("order:{order_id}:refund:{idempotency_key}");
        self.refund_order(&order, amount, key).await
    }

    /// The seller (or an admin) calls off a paid order that is not fulfilled: its whole total
    /// is refunded and the order ends `refunded`. Unpaid orders are cancelled by the order
    /// service, not here.
    ///
    /// # Errors
    ///
    /// As [`refund`](Self::refund); [`Error::Conflict`] `invalid_order_transition` for an order
    /// that is not `paid`, [`Error::Forbidden`] `not_order_party_action` for the buyer.
    pub async fn cancel_paid(&self, order_id: OrderId, caller: &Caller) -> Result<Payment> {
        let (order, actor) = self.order_for(order_id, caller).await?;
        let to = transition(order.status, OrderAction::Cancel, actor)?;
        if to != OrderStatus::Refunded {
            return Err(Error::conflict(
                "invalid_order_transition",
                "only a paid order is cancelled with a refund",
            ));
        }
        self.refund_order(&order, None, format!("order:{order_id}:cancel"))
            .await
    }

    async fn refund_order(
        &self,
        order: &Order,
        amount: Option<i64>,
        key: String,
    ) -> Result<Payment> {
        let charge = self
            .ports
            .payments
            .payments_for_order(order.id)
            .await?
            .into_iter()
            .find(|p| p.kind == PaymentKind::Charge && p.status == PaymentStatus::Succeeded)
            .ok_or_else(|| {
                Error::conflict(
                    "invalid_order_transition",
                    "the order has no succeeded payment",
                )
            })?;
        let refundable = order.total_amount - order.refunded_amount;
        let amount = amount.unwrap_or(refundable);
        if amount <= 0 || amount > refundable {
            return Err(exceeds(refundable));
        }
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Refund,
            provider: charge.provider,
            payer_id: charge.payer_id,
            payee_id: charge.payee_id,
            order_id: Some(order.id),
            booking_id: None,
            marketing_campaign_id: None,
            commitment_id: None,
            refund_of: Some(charge.id),
            amount: Money::new(amount, charge.amount.currency),
            fee_amount: 0,
            idempotency_key: key,
            method: None,
            return_url: None,
            created_at: self.now(),
        };
        let refund = match self.ports.payments.start(&new).await? {
            StartOutcome::Started(p) | StartOutcome::Existing(p) => p,
            StartOutcome::ExceedsRefundable { refundable } => return Err(exceeds(refundable)),
            StartOutcome::AlreadyPaid(_) => {
                return Err(anyhow::anyhow!("a refund answered as a charge").into())
            }
        };
        self.drive_refund(refund).await
    }

    /// Takes a refund from its last recovery point as far as the provider lets it go now.
    pub(super) async fn drive_refund(&self, refund: Payment) -> Result<Payment> {
        if refund.phase != PaymentAttemptPhase::Started {
            return Ok(refund);
        }
        let provider = self.configured(refund.provider)?;
        let charge_id = refund
            .refund_of
            .ok_or_else(|| anyhow::anyhow!("refund {} names no charge", refund.id))?;
        let charge_reference = self
            .ports
            .payments
            .payment(charge_id)
            .await?
            .and_then(|c| c.provider_reference)
            .ok_or_else(|| {
                anyhow::anyhow!("the charge of refund {} has no reference", refund.id)
            })?;
        let request = RefundPayment {
            idempotency_key: provider_key(refund.id),
            refund_id: refund.id.to_string(),
            charge_reference,
            amount: refund.amount,
        };
        match provider.refund(&request).await {
            Ok(answer) => {
                let called = self
                    .record_answer(&refund, &answer.reference, answer.status, NextAction::None)
                    .await?;
                if is_final(answer.status) {
                    return self
                        .settled(&called, Outcome::new(answer.status, Some(answer.reference)))
                        .await;
                }
                Ok(called)
            }
            Err(ProviderError::Timeout) => Ok(refund),
            Err(ProviderError::Declined(f) | ProviderError::Rejected(f)) => {
                let declined = provider_error(&ProviderError::Declined(f.clone()));
                self.settled(&refund, Outcome::failed(f)).await?;
                Err(declined)
            }
            Err(e) => Err(provider_error(&e)),
        }
    }
}
