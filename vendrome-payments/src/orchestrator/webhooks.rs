//! The webhook pipeline: verify on the raw bytes; wait for a delivery of the same event this
//! instance is processing right now, if any ([`super::in_flight`]); then one transaction of the
//! store (`WebhookInbox::process`) stores the provider's event id once, finds and locks the
//! payment, and settles it forward only, with the settlement decided here ([`settlement`]).

use vendrome_core::enums::{
    PaymentKind, PaymentProvider as ProviderId, PaymentStatus, WebhookEventStatus,
};
use vendrome_core::ids::PaymentId;
use vendrome_core::money::Money;
use vendrome_core::payments::provider::{Headers, WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::payments::{Delivery, DeliveryTarget, Found, Payment, Processed};
use vendrome_core::{Error, Result};

use super::in_flight::Turn;
use super::settle::{settlement, Outcome};
use super::Payments;

/// The counter of refused webhooks (bad or missing signature, unreadable body), by provider.
pub const REJECTED_WEBHOOKS: &str = "vendrome_payments_webhooks_rejected_total";

/// What a delivery did; every one is answered 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The payment moved and its effects were written.
    Applied(Payment),
    /// The payment was already at or past the event's status (an older event): nothing moved.
    Stale(Payment),
    /// This provider's event id was already processed or ignored, or its processing is under
    /// way right now: nothing was done. A redelivery of an event whose processing failed is
    /// processed again instead.
    Duplicate,
    /// Correctly signed but about nothing we know (an unknown payment, an event type we do not
    /// act on): recorded as `ignored`.
    Ignored,
}

impl Payments {
    /// Handles a delivery to `/v1/payments/webhooks/{provider_name}` with its raw body.
    ///
    /// # Errors
    ///
    /// - [`Error::NotConfigured`] `provider_not_configured` for a provider that is unknown or not
    ///   configured;
    /// - [`Error::BadRequest`] `invalid_signature` when the signature does not verify (nothing
    ///   is stored; [`REJECTED_WEBHOOKS`] is incremented), `invalid_webhook_payload` for a
    ///   signed body that cannot be read, `amount_mismatch` for a charge said to have succeeded
    ///   with another amount than the payment's (nothing moves; the delivery is stored
    ///   `failed`);
    /// - [`Error::Unexpected`] when the storage fails (nothing is written; the delivery is
    ///   then stored `failed`, best effort, and a redelivery processes it afresh).
    pub async fn handle_webhook(
        &self,
        provider_name: &str,
        headers: &Headers,
        body: &[u8],
    ) -> Result<WebhookOutcome> {
        let not_configured = || {
            Error::not_configured(
                "provider_not_configured",
                format!("no payment provider {provider_name:?} is configured"),
            )
        };
        let id = <ProviderId as vendrome_core::SqlEnum>::from_label(provider_name)
            .ok_or_else(not_configured)?;
        let provider = self.provider(id).cloned().ok_or_else(not_configured)?;
        let now = self.now();
        let event = match provider.verify_webhook(headers, body, now).await {
            Ok(event) => event,
            Err(e) => {
                metrics::counter!(REJECTED_WEBHOOKS, "provider" => provider_name.to_owned())
                    .increment(1);
                return Err(match e {
                    WebhookError::InvalidSignature(why) => Error::bad_request(
                        "invalid_signature",
                        format!("the webhook's signature does not verify: {why}"),
                    ),
                    WebhookError::Malformed(why) => Error::bad_request(
                        "invalid_webhook_payload",
                        format!("the webhook's body cannot be read: {why}"),
                    ),
                });
            }
        };
        // A delivery of an event this instance is processing right now waits for it.
        let lead = match self.in_flight.enter(id, &event.event_id).await {
            Turn::Lead(lead) => lead,
            Turn::Processed => return Ok(WebhookOutcome::Duplicate),
        };
        let handled = self.process_verified(id, event, now).await;
        lead.finish(handled.is_ok());
        handled
    }

    /// Processes a verified `event` of the provider `id` in the store (one transaction).
    async fn process_verified(
        &self,
        id: ProviderId,
        event: WebhookEvent,
        now: vendrome_core::time::Timestamp,
    ) -> Result<WebhookOutcome> {
        let (target, outcome) = match target_of(&event) {
            Some((target, outcome)) => (Some(target), Some(outcome)),
            None => (None, None),
        };
        let delivery = Delivery {
            provider: id,
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            payload: event.payload.clone(),
            target,
            at: now,
        };
        let announced = announced_amount(&event);
        let plan = |found: &Found| match &outcome {
            Some(outcome) => {
                check_amount(found, outcome, announced)?;
                settlement(found, outcome, now)
            }
            None => Ok(None),
        };
        match self.ports.inbox.process(&delivery, &plan).await {
            Ok(processed) => Ok(match processed {
                Processed::Applied(p) => WebhookOutcome::Applied(p),
                Processed::Stale(p) => WebhookOutcome::Stale(p),
                Processed::Duplicate => WebhookOutcome::Duplicate,
                Processed::Ignored => WebhookOutcome::Ignored,
            }),
            Err(e) => {
                // Nothing of the delivery was written; it is stored `failed` for the operators
                // (best effort) and processed afresh when the provider redelivers it.
                let message = e.to_string();
                let inbox = &self.ports.inbox;
                let recorded = inbox
                    .record(id, &event.event_id, &event.event_type, &event.payload, now)
                    .await;
                if let Ok(Some(stored)) = recorded {
                    let marked = inbox
                        .mark(
                            stored,
                            WebhookEventStatus::Failed,
                            Some(&message),
                            self.now(),
                        )
                        .await;
                    if let Err(error) = marked {
                        tracing::warn!(%error, "could not record a failed webhook delivery");
                    }
                }
                Err(e)
            }
        }
    }
}

/// The amount a verified event says a charge was paid with, if it says one.
fn announced_amount(event: &WebhookEvent) -> Option<Money> {
    match &event.subject {
        WebhookSubject::Payment { amount, .. } => *amount,
        _ => None,
    }
}

/// Refuses a charge's success for another amount than the payment's: a notification whose
/// amount was changed on the way (Payfast's third check) or a payment made for less.
fn check_amount(found: &Found, outcome: &Outcome, announced: Option<Money>) -> Result<()> {
    let payment = &found.payment;
    match announced {
        Some(paid)
            if payment.kind == PaymentKind::Charge
                && outcome.status == PaymentStatus::Succeeded
                && paid != payment.amount =>
        {
            Err(Error::bad_request(
                "amount_mismatch",
                format!(
                    "the provider says {paid} was paid; the payment is for {}",
                    payment.amount
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// The payment a verified event is about and what it says happened to it; `None` for an event
/// we do not act on.
fn target_of(event: &WebhookEvent) -> Option<(DeliveryTarget, Outcome)> {
    match &event.subject {
        WebhookSubject::Payment {
            reference,
            payment_id,
            status,
            failure,
            ..
        } => {
            let mut outcome = Outcome::new(*status, Some(reference.clone()));
            outcome.failure = failure.clone();
            let target = DeliveryTarget {
                reference: reference.clone(),
                // Our id, echoed by the provider: the answer to our create may have been lost.
                payment_id: payment_id
                    .as_deref()
                    .and_then(|raw| raw.parse::<PaymentId>().ok()),
            };
            Some((target, outcome))
        }
        WebhookSubject::Refund {
            reference, status, ..
        } => Some((
            DeliveryTarget {
                reference: reference.clone(),
                payment_id: None,
            },
            Outcome::new(*status, Some(reference.clone())),
        )),
        WebhookSubject::Other => None,
    }
}
