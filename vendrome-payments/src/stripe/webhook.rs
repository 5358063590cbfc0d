//! Stripe's webhook events, verified and read.
//!
//! The body is verified first, on its raw bytes ([`crate::signature`], header
//! `Stripe-Signature`, 300 s). Then an Event (`{id, type, created, data: {object}}`) is read as:
//!
//! - `payment_intent.succeeded`, `.processing`, `.requires_action`, `.canceled`: the
//!   PaymentIntent's new status ([`super::convert::intent_status`]);
//!   `payment_intent.payment_failed`: failed, with `last_payment_error` as the reason. The
//!   payment id is the intent's `metadata.payment_id`.
//! - `refund.created`, `refund.updated`, `refund.failed`: the Refund's status; the charge
//!   reference is its `payment_intent` (its `charge` only without one).
//! - `charge.refunded`: the Charge's newest refund, when the event carries the charge's
//!   `refunds` list (older API versions); else nothing, the `refund.*` events tell it.
//! - anything else: [`WebhookSubject::Other`], recorded and not acted on.

use serde::Deserialize;
use vendrome_core::enums::PaymentStatus;
use vendrome_core::payments::provider::{WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::time::Timestamp;

use super::convert::{self, Intent, List, Refund, PAYMENT_ID};

/// The header Stripe signs its webhooks under.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: serde_json::Value,
}

/// The parts of a Charge `charge.refunded` is read through.
#[derive(Deserialize)]
struct Charge {
    #[serde(default)]
    refunds: Option<List<Refund>>,
}

/// Reads a verified event body.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when it is not an Event, or its object is not what its type says.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let malformed = |e: &dyn std::fmt::Display| WebhookError::Malformed(e.to_string());
    let payload: serde_json::Value = serde_json::from_slice(body).map_err(|e| malformed(&e))?;
    let event: Event = serde_json::from_value(payload.clone()).map_err(|e| malformed(&e))?;
    let object = event.data.object;
    let subject = match event.event_type.as_str() {
        "payment_intent.succeeded"
        | "payment_intent.processing"
        | "payment_intent.requires_action"
        | "payment_intent.canceled"
        | "payment_intent.payment_failed" => {
            let intent: Intent = serde_json::from_value(object).map_err(|e| malformed(&e))?;
            let failed = event.event_type == "payment_intent.payment_failed";
            let status = if failed {
                PaymentStatus::Failed
            } else {
                convert::intent_status(&intent.status)
            };
            WebhookSubject::Payment {
                reference: intent.id.clone(),
                payment_id: intent.metadata.get(PAYMENT_ID).cloned(),
                status,
                amount: convert::money(intent.amount, &intent.currency).ok(),
                failure: if failed {
                    intent
                        .last_payment_error
                        .as_ref()
                        .map(convert::PaymentError::failure)
                } else {
                    None
                },
            }
        }
        "refund.created" | "refund.updated" | "refund.failed" => {
            let refund: Refund = serde_json::from_value(object).map_err(|e| malformed(&e))?;
            refund_subject(&refund)
        }
        "charge.refunded" => {
            let charge: Charge = serde_json::from_value(object).map_err(|e| malformed(&e))?;
            charge
                .refunds
                .and_then(|list| list.data.into_iter().next())
                .map_or(WebhookSubject::Other, |refund| refund_subject(&refund))
        }
        _ => WebhookSubject::Other,
    };
    Ok(WebhookEvent {
        event_id: event.id,
        event_type: event.event_type,
        occurred_at: Timestamp::from_timestamp(event.created, 0),
        subject,
        payload,
    })
}

fn refund_subject(refund: &Refund) -> WebhookSubject {
    WebhookSubject::Refund {
        reference: refund.id.clone(),
        charge_reference: refund
            .payment_intent
            .clone()
            .or_else(|| refund.charge.clone())
            .unwrap_or_default(),
        status: convert::refund_status(&refund.status),
        amount: convert::money(refund.amount, &refund.currency).ok(),
    }
}
