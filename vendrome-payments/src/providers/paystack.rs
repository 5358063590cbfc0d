//! Paystack's notifications (paystack.com/docs/payments/webhooks): `x-paystack-signature`
//! verified by [`crate::notifications::paystack`], then the event `{event, data}`:
//!
//! - `charge.success`: the transaction `data.reference` (ours: the payment id we initialized it
//!   with) succeeded;
//! - `refund.pending`, `refund.processing`, `refund.processed`, `refund.failed`: the refund of
//!   `data.transaction_reference` moved;
//! - anything else is recorded and not acted on.
//!
//! Paystack sends no event id: the event's is `event:data.id` (a refund without an id is known
//! by its `refund_reference`), so a redelivery is a duplicate.

use async_trait::async_trait;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{Headers, WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::time::Timestamp;

use super::{json_body, minor_money, required, rfc3339, text, Notifications, ProviderSettings};
use crate::notifications::paystack;

/// Paystack's notifications, checked with the secret key.
pub struct PaystackNotifications {
    secret_key: String,
}

impl PaystackNotifications {
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            secret_key: settings.notification_secret().to_owned(),
        }
    }
}

/// Reads a verified Paystack event.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when it is not JSON or lacks what its type needs.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let payload = json_body(body)?;
    let event_type = required(&payload, "/event")?;
    let data_id = text(&payload, "/data/id")
        .or_else(|| text(&payload, "/data/refund_reference"))
        .ok_or_else(|| WebhookError::Malformed("no data.id".into()))?;
    let amount = minor_money(
        text(&payload, "/data/amount"),
        text(&payload, "/data/currency"),
    );
    let subject = match event_type.as_str() {
        "charge.success" => {
            let reference = required(&payload, "/data/reference")?;
            WebhookSubject::Payment {
                payment_id: Some(reference.clone()),
                reference,
                status: PaymentStatus::Succeeded,
                amount,
                failure: None,
            }
        }
        "refund.pending" | "refund.processing" | "refund.processed" | "refund.failed" => {
            let status = match event_type.as_str() {
                "refund.processed" => PaymentStatus::Succeeded,
                "refund.failed" => PaymentStatus::Failed,
                _ => PaymentStatus::Processing,
            };
            WebhookSubject::Refund {
                reference: data_id.clone(),
                charge_reference: required(&payload, "/data/transaction_reference")?,
                status,
                amount,
            }
        }
        _ => WebhookSubject::Other,
    };
    Ok(WebhookEvent {
        event_id: format!("{event_type}:{data_id}"),
        occurred_at: rfc3339(text(&payload, "/data/paid_at")),
        event_type,
        subject,
        payload,
    })
}

#[async_trait]
impl Notifications for PaystackNotifications {
    fn provider(&self) -> ProviderId {
        ProviderId::Paystack
    }

    async fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        paystack::verify(headers, &self.secret_key, body)?;
        parse(body)
    }
}
