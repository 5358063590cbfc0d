//! Checkout: a charge of an order, for its buyer, through the recovery points.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::enums::{
    OrderStatus, PaymentAttemptPhase, PaymentKind, PaymentProvider as ProviderId, PaymentStatus,
};
use vendrome_core::ids::{OrderId, PaymentId};
use vendrome_core::money::Currency;
use vendrome_core::payments::provider::{
    CreatePayment, Failure, NextAction, PaymentProvider, ProviderError,
};
use vendrome_core::payments::{is_final, NewPayment, Payment, ProviderCalled, StartOutcome};
use vendrome_core::{Error, Result};

use super::settle::Outcome;
use super::{provider_error, provider_key, Payments};

/// What the buyer asks of a checkout. The amount is never part of it: it is the order's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// A configured provider; `None` lets routing pick the first that takes the currency.
    pub provider: Option<ProviderId>,
    /// A method the provider offers (`card`), `None` for its default.
    pub method: Option<String>,
    /// Where a hosted page sends the payer back.
    pub return_url: Option<String>,
    /// ISO 3166-1 alpha-2 of the payer, for routing rules that name a country.
    pub country: Option<String>,
}

/// The failure code of a phase whose provider was unavailable and whose attempt moved on to
/// the next provider.
pub const FALLBACK_CODE: &str = "provider_unavailable_fell_back";

fn already_paid() -> Error {
    Error::conflict("already_paid", "the order is already paid")
}

impl Payments {
    /// The providers a charge may go to, in the order to try them: the one asked for, or the
    /// routing's eligible providers that take the currency and method (those out of rotation
    /// last). `key` is the attempt's, which picks a volume split's first choice.
    pub(super) fn route(
        &self,
        currency: Currency,
        request: &CheckoutRequest,
        key: &str,
    ) -> Result<Vec<Arc<dyn PaymentProvider>>> {
        if let Some(id) = request.provider {
            return Ok(vec![self.configured(id)?]);
        }
        let takes = |p: &Arc<dyn PaymentProvider>| {
            p.methods().iter().any(|m| {
                (m.currencies.is_empty() || m.currencies.contains(&currency))
                    && request
                        .method
                        .as_ref()
                        .is_none_or(|wanted| *wanted == m.method)
            })
        };
        let order = self.routing.order(
            &self.provider_ids(),
            currency,
            request.country.as_deref(),
            request.method.as_deref(),
            Some(key),
            self.now(),
        );
        let candidates: Vec<_> = order
            .iter()
            .filter_map(|id| self.provider(*id).cloned())
            .filter(takes)
            .collect();
        if candidates.is_empty() {
            return Err(Error::not_configured(
                "provider_not_configured",
                format!("no configured payment provider takes {currency}"),
            ));
        }
        Ok(candidates)
    }

    /// Charges through `candidates` in turn: each is a phase of the attempt, a payment of its
    /// own keyed `key` (the first) or `key:phase:<n>`. A phase whose provider is unavailable
    /// (nothing happened there: no connection, a 5xx) is recorded `failed`
    /// ([`FALLBACK_CODE`]) when another candidate follows, and the next phase begins; any
    /// other answer ends the attempt. A retry with the same key walks the same phases,
    /// skipping those already failed over, so no provider is charged twice.
    pub(super) async fn charge_through(
        &self,
        candidates: &[Arc<dyn PaymentProvider>],
        new: NewPayment,
    ) -> Result<Payment> {
        let key = new.idempotency_key.clone();
        let last = candidates.len().saturating_sub(1);
        let mut unavailable = None;
        for (phase, provider) in candidates.iter().enumerate() {
            let attempt = NewPayment {
                id: PaymentId::new(),
                provider: provider.id(),
                idempotency_key: if phase == 0 {
                    key.clone()
                } else {
                    format!("{key}:phase:{phase}")
                },
                ..new.clone()
            };
            let payment = match self.ports.payments.start(&attempt).await? {
                StartOutcome::Started(p) | StartOutcome::Existing(p) => p,
                StartOutcome::AlreadyPaid(_) => return Err(already_paid()),
                StartOutcome::ExceedsRefundable { .. } => {
                    return Err(anyhow::anyhow!("a charge answered as a refund").into())
                }
            };
            if payment.status == PaymentStatus::Failed
                && payment.failure_code.as_deref() == Some(FALLBACK_CODE)
            {
                continue;
            }
            match self.drive_charge(payment.clone()).await {
                Err(Error::Unavailable {
                    code: "provider_unavailable",
                    message,
                }) if phase < last => {
                    tracing::warn!(provider = %payment.provider, %message, "provider unavailable: the next one takes the attempt");
                    let failure = Failure {
                        code: FALLBACK_CODE.to_owned(),
                        message,
                    };
                    self.settled(&payment, Outcome::failed(failure)).await?;
                    unavailable = Some(payment.provider);
                }
                other => return other,
            }
        }
        Err(Error::unavailable(
            "provider_unavailable",
            format!("no payment provider could be reached (last: {unavailable:?}); retry with the same key"),
        ))
    }

    /// Pays `order_id` for its buyer: the amount is the order's total. The attempt is keyed by
    /// the order and the caller's `idempotency_key`, so a retry finds it and finishes it from
    /// its last recovery point without calling the provider again once it answered.
    ///
    /// Answers the payment as it is: `succeeded`/`failed` when the provider decided at once,
    /// `requires_action` with a next action, or `pending` when the provider's answer did not
    /// arrive in time (the completer or a webhook settles it).
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] (`order`) when there is no such order or the caller is no party;
    /// - [`Error::Forbidden`] `not_order_party_action` when the caller is not the buyer;
    /// - [`Error::Conflict`] `already_paid` for an order that is paid (with another key),
    ///   `invalid_order_transition` for one that can no longer be paid;
    /// - [`Error::NotConfigured`] `provider_not_configured` when the provider asked for, or any
    ///   for the currency, is not configured;
    /// - [`Error::PaymentRequired`] `payment_declined` when the provider declined (the payment
    ///   is recorded `failed`), [`Error::Unprocessable`] `payment_rejected` when it refused the
    ///   request;
    /// - [`Error::Unavailable`] `provider_unavailable` when it could not be reached (retry with
    ///   the same key);
    /// - [`Error::Unexpected`] when the storage fails.
    pub async fn checkout(
        &self,
        order_id: OrderId,
        caller: &Caller,
        request: CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<Payment> {
        let order = self
            .ports
            .orders
            .order(order_id)
            .await?
            .filter(|o| o.buyer_id == caller.user_id || o.seller_id == caller.user_id)
            .ok_or(Error::not_found("order"))?;
        if order.buyer_id != caller.user_id {
            return Err(Error::forbidden(
                "not_order_party_action",
                "only the buyer may pay for an order",
            ));
        }
        let key = format!("order:{order_id}:{idempotency_key}");
        match order.status {
            OrderStatus::PendingPayment => {}
            OrderStatus::Paid
            | OrderStatus::Fulfilled
            | OrderStatus::Completed
            | OrderStatus::Refunded => {
                // A retry of the request that paid answers that payment.
                let payments = self.ports.payments.payments_for_order(order_id).await?;
                return payments
                    .into_iter()
                    .find(|p| p.idempotency_key == key)
                    .ok_or_else(already_paid);
            }
            OrderStatus::Cancelled => {
                return Err(Error::conflict(
                    "invalid_order_transition",
                    "a cancelled order cannot be paid",
                ))
            }
        }
        let candidates = self.route(order.currency, &request, &key)?;
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Charge,
            provider: candidates[0].id(),
            payer_id: order.buyer_id,
            payee_id: Some(order.seller_id),
            order_id: Some(order_id),
            booking_id: None,
            marketing_campaign_id: None,
            commitment_id: None,
            refund_of: None,
            amount: order.total(),
            fee_amount: order.platform_fee_amount,
            idempotency_key: key,
            method: request.method,
            return_url: request.return_url,
            created_at: self.now(),
        };
        self.charge_through(&candidates, new).await
    }

    /// Takes a charge from its last recovery point to as far as the provider lets it go now.
    pub(super) async fn drive_charge(&self, payment: Payment) -> Result<Payment> {
        match payment.phase {
            PaymentAttemptPhase::Finished => Ok(payment),
            // The provider answered; what is left comes from the completer's polling or a
            // webhook, so a retry does not call the provider again.
            PaymentAttemptPhase::ProviderCalled => Ok(payment),
            PaymentAttemptPhase::Started => {
                let provider = self.configured(payment.provider)?;
                let request = CreatePayment {
                    idempotency_key: provider_key(payment.id),
                    payment_id: payment.id.to_string(),
                    amount: payment.amount,
                    description: match (
                        payment.order_id,
                        payment.booking_id,
                        payment.marketing_campaign_id,
                    ) {
                        (Some(order), _, _) => format!("order {order}"),
                        (None, Some(booking), _) => format!("booking {booking}"),
                        (None, None, Some(campaign)) => format!("ad budget of campaign {campaign}"),
                        (None, None, None) => format!("payment {}", payment.id),
                    },
                    method: payment.method.clone(),
                    return_url: payment.return_url.clone(),
                };
                let started = std::time::Instant::now();
                let answer = provider.create(&request).await;
                self.routing
                    .record(provider.id(), &answer, started.elapsed(), self.now());
                match answer {
                    Ok(answer) => {
                        let called = self
                            .record_answer(
                                &payment,
                                &answer.reference,
                                answer.status,
                                answer.next_action,
                            )
                            .await?;
                        if is_final(answer.status) {
                            let mut outcome = Outcome::new(answer.status, Some(answer.reference));
                            outcome.failure = answer.failure;
                            return self.settled(&called, outcome).await;
                        }
                        Ok(called)
                    }
                    Err(ProviderError::Timeout) => Ok(payment),
                    Err(e @ (ProviderError::Declined(_) | ProviderError::Rejected(_))) => {
                        let failure = match &e {
                            ProviderError::Declined(f) | ProviderError::Rejected(f) => f.clone(),
                            _ => unreachable!("matched above"),
                        };
                        self.settled(&payment, Outcome::failed(failure)).await?;
                        Err(provider_error(&e))
                    }
                    Err(e) => Err(provider_error(&e)),
                }
            }
        }
    }

    /// The second recovery point. A final answer is recorded as `processing` here and written
    /// by `settle` with its effects, since a status already recorded as final could not move
    /// again; a crash between the two leaves `processing`, which the completer polls.
    pub(super) async fn record_answer(
        &self,
        payment: &Payment,
        reference: &str,
        status: PaymentStatus,
        next_action: NextAction,
    ) -> Result<Payment> {
        let status = if is_final(status) {
            PaymentStatus::Processing
        } else {
            status
        };
        self.ports
            .payments
            .provider_called(&ProviderCalled {
                payment_id: payment.id,
                reference: reference.to_owned(),
                status,
                next_action,
                at: self.now(),
            })
            .await
    }

    /// Settles and answers the payment as it is afterwards.
    pub(super) async fn settled(&self, payment: &Payment, outcome: Outcome) -> Result<Payment> {
        use vendrome_core::payments::SettleOutcome;
        match self.settle(payment, outcome).await? {
            SettleOutcome::Applied(p) | SettleOutcome::Stale(p) => Ok(p),
        }
    }
}
