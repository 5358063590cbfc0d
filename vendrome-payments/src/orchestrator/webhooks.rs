//! The webhook pipeline: verify on the raw bytes, store the provider's event id once, find the
//! payment, settle it forward only.

use vendrome_core::enums::{PaymentProvider as ProviderId, WebhookEventStatus};
use vendrome_core::ids::PaymentId;
use vendrome_core::payments::provider::{Headers, WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::payments::{Payment, SettleOutcome};
use vendrome_core::{Error, Result};

use super::settle::Outcome;
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
    ///   signed body that cannot be read;
    /// - [`Error::Unexpected`] when the storage fails (the delivery is marked `failed`).
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
        let Some(stored) = self
            .ports
            .inbox
            .record(id, &event.event_id, &event.event_type, &event.payload, now)
            .await?
        else {
            return Ok(WebhookOutcome::Duplicate);
        };
        match self.apply_webhook(id, &event).await {
            Ok(outcome) => {
                let status = match outcome {
                    WebhookOutcome::Ignored => WebhookEventStatus::Ignored,
                    _ => WebhookEventStatus::Processed,
                };
                self.ports
                    .inbox
                    .mark(stored, status, None, self.now())
                    .await?;
                Ok(outcome)
            }
            Err(e) => {
                let message = e.to_string();
                self.ports
                    .inbox
                    .mark(
                        stored,
                        WebhookEventStatus::Failed,
                        Some(&message),
                        self.now(),
                    )
                    .await?;
                Err(e)
            }
        }
    }

    async fn apply_webhook(
        &self,
        provider: ProviderId,
        event: &WebhookEvent,
    ) -> Result<WebhookOutcome> {
        let (reference, payment_id, outcome) = match &event.subject {
            WebhookSubject::Payment {
                reference,
                payment_id,
                status,
                failure,
                ..
            } => {
                let mut outcome = Outcome::new(*status, Some(reference.clone()));
                outcome.failure = failure.clone();
                (reference, payment_id.as_deref(), outcome)
            }
            WebhookSubject::Refund {
                reference, status, ..
            } => (
                reference,
                None,
                Outcome::new(*status, Some(reference.clone())),
            ),
            WebhookSubject::Other => return Ok(WebhookOutcome::Ignored),
        };
        let mut payment = self
            .ports
            .payments
            .payment_by_reference(provider, reference)
            .await?;
        if payment.is_none() {
            // Our id, echoed by the provider: the answer to our create may have been lost.
            if let Some(id) = payment_id.and_then(|raw| raw.parse::<PaymentId>().ok()) {
                payment = self
                    .ports
                    .payments
                    .payment(id)
                    .await?
                    .filter(|p| p.provider == provider);
            }
        }
        let Some(payment) = payment else {
            return Ok(WebhookOutcome::Ignored);
        };
        Ok(match self.settle(&payment, outcome).await? {
            SettleOutcome::Applied(p) => WebhookOutcome::Applied(p),
            SettleOutcome::Stale(p) => WebhookOutcome::Stale(p),
        })
    }
}
