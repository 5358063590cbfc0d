//! Stripe's objects and errors in our terms: the fields of a PaymentIntent, a Refund and a
//! BalanceTransaction the adapter reads, their statuses, money (integer minor units and a
//! lower-case ISO 4217 code on Stripe's side), and async-stripe's errors as [`ProviderError`].

use std::collections::HashMap;

use ::stripe::{ApiErrorsType, StripeError};
use serde::Deserialize;
use vendrome_core::enums::PaymentStatus;
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    Failure, NextAction, ProviderError, ProviderPayment, ProviderRefund, SettledTransaction,
};
use vendrome_core::time::Timestamp;

/// The metadata key carrying our payment id on a PaymentIntent.
pub const PAYMENT_ID: &str = "payment_id";
/// The metadata key carrying our refund's payment id on a Refund.
pub const REFUND_ID: &str = "refund_id";

/// The fields of a PaymentIntent the adapter reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Intent {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
}

/// A PaymentIntent's `last_payment_error`.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The fields of a Refund the adapter reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub charge: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

/// A page of a list.
#[derive(Debug, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// The fields of a BalanceTransaction the adapter reads, listed with `expand[]=data.source`.
#[derive(Debug, Deserialize)]
pub struct BalanceTransaction {
    pub id: String,
    /// Signed: positive into the balance (a charge), negative out of it (a refund).
    pub amount: i64,
    pub currency: String,
    pub created: i64,
    #[serde(default)]
    pub fee: Option<i64>,
    #[serde(rename = "type")]
    pub kind: String,
    /// The expanded source object (a Charge, a Refund), or its id when not expanded.
    #[serde(default)]
    pub source: Option<serde_json::Value>,
}

/// Our money from Stripe's amount and currency code.
pub fn money(amount: i64, currency: &str) -> Result<Money, String> {
    Currency::parse(&currency.to_ascii_uppercase())
        .map(|c| Money::new(amount, c))
        .map_err(|_| format!("Stripe answered an unknown currency {currency:?}"))
}

/// Stripe's currency code for ours: the ISO code in lower case. Stripe's amounts are in the
/// currency's minor unit, as ours are, so the amount goes across unchanged.
pub fn stripe_currency(currency: Currency) -> stripe_types::Currency {
    currency
        .as_str()
        .to_ascii_lowercase()
        .parse()
        .expect("parsing a currency code is infallible")
}

/// A PaymentIntent's status in ours. `requires_payment_method` is the payer's turn (a new
/// intent, or one whose last attempt failed and may be retried with another card): the failure
/// becomes final only through `payment_intent.payment_failed`. `requires_capture` is
/// authorised but not yet captured: still processing.
pub fn intent_status(status: &str) -> PaymentStatus {
    match status {
        "succeeded" => PaymentStatus::Succeeded,
        "processing" | "requires_capture" => PaymentStatus::Processing,
        "canceled" => PaymentStatus::Cancelled,
        "requires_payment_method" | "requires_confirmation" | "requires_action" => {
            PaymentStatus::RequiresAction
        }
        _ => PaymentStatus::Pending,
    }
}

/// A Refund's status in ours.
pub fn refund_status(status: &str) -> PaymentStatus {
    match status {
        "succeeded" => PaymentStatus::Succeeded,
        "failed" => PaymentStatus::Failed,
        "canceled" => PaymentStatus::Cancelled,
        "requires_action" => PaymentStatus::RequiresAction,
        _ => PaymentStatus::Processing,
    }
}

impl PaymentError {
    /// As our failure: the decline code when there is one (`insufficient_funds`), else the code.
    pub fn failure(&self) -> Failure {
        Failure {
            code: self
                .decline_code
                .clone()
                .or_else(|| self.code.clone())
                .unwrap_or_else(|| "payment_failed".to_owned()),
            message: self.message.clone().unwrap_or_default(),
        }
    }
}

impl Intent {
    /// Our view of the intent. Its `next_action` is the client secret while the payer has
    /// something to do (the browser confirms with Stripe.js), else none.
    pub fn provider_payment(&self) -> Result<ProviderPayment, ProviderError> {
        let status = intent_status(&self.status);
        let next_action = match (&self.client_secret, status) {
            (Some(secret), PaymentStatus::RequiresAction) => NextAction::ClientSecret {
                client_secret: secret.clone(),
            },
            _ => NextAction::None,
        };
        Ok(ProviderPayment {
            reference: self.id.clone(),
            status,
            amount: money(self.amount, &self.currency).map_err(ProviderError::Unavailable)?,
            next_action,
            failure: self.last_payment_error.as_ref().map(PaymentError::failure),
        })
    }
}

impl Refund {
    /// Our view of the refund.
    pub fn provider_refund(&self) -> Result<ProviderRefund, ProviderError> {
        Ok(ProviderRefund {
            reference: self.id.clone(),
            status: refund_status(&self.status),
            amount: money(self.amount, &self.currency).map_err(ProviderError::Unavailable)?,
        })
    }
}

impl BalanceTransaction {
    /// The settled transaction reconciliation compares, keyed as our payments are:
    ///
    /// - a `charge` or `payment` (its source a Charge): the Charge's `payment_intent`, the
    ///   reference of our charge payment (the charge id only for a charge made without an
    ///   intent, which we never make);
    /// - a `refund` or `payment_refund` (its source a Refund): the Refund's id, the reference
    ///   of our refund payment;
    /// - anything else (payouts, Stripe's fees, adjustments, transfers): `None`, it settles
    ///   nothing we took.
    ///
    /// The amount keeps Stripe's sign; the fee is Stripe's, in the same currency.
    pub fn settled(&self) -> Result<Option<SettledTransaction>, ProviderError> {
        let source = self.source.as_ref();
        let source_id = || {
            source.and_then(|s| {
                s.as_str()
                    .or_else(|| s.get("id").and_then(serde_json::Value::as_str))
            })
        };
        let reference = match self.kind.as_str() {
            "charge" | "payment" => source
                .and_then(|s| s.get("payment_intent"))
                .and_then(serde_json::Value::as_str)
                .or_else(source_id),
            "refund" | "payment_refund" => source_id(),
            _ => return Ok(None),
        };
        let Some(reference) = reference else {
            return Err(ProviderError::Unavailable(format!(
                "balance transaction {} has no source",
                self.id
            )));
        };
        let amount = money(self.amount, &self.currency).map_err(ProviderError::Unavailable)?;
        let settled_at = Timestamp::from_timestamp(self.created, 0).ok_or_else(|| {
            ProviderError::Unavailable(format!("balance transaction {} has no time", self.id))
        })?;
        Ok(Some(SettledTransaction {
            reference: reference.to_owned(),
            amount,
            provider_fee: self.fee.map(|fee| Money::new(fee, amount.currency)),
            settled_at,
        }))
    }
}

/// An async-stripe error as ours: a card error (Stripe's 402) is a decline; another answer in
/// 4xx a rejection, except 409 (the same idempotency key in flight) and 429 (rate limited),
/// which like 5xx, a connection failure or an unreadable answer mean "try again with the same
/// key"; a request without an answer in [`super::client::REQUEST_TIMEOUT`] is a timeout.
pub fn provider_error(error: &StripeError) -> ProviderError {
    match error {
        StripeError::Stripe(api, status) => {
            let failure = Failure {
                code: api
                    .decline_code
                    .clone()
                    .or_else(|| api.code.as_ref().map(|c| c.as_str().to_owned()))
                    .unwrap_or_else(|| api.type_.as_str().to_owned()),
                message: api.message.clone().unwrap_or_default(),
            };
            match (status, &api.type_) {
                (_, ApiErrorsType::CardError) | (402, _) => ProviderError::Declined(failure),
                (409 | 429, _) | (500.., _) => {
                    ProviderError::Unavailable(format!("Stripe answered {status}: {failure:?}"))
                }
                _ => ProviderError::Rejected(failure),
            }
        }
        StripeError::Timeout => ProviderError::Timeout,
        StripeError::ClientError(why) | StripeError::JSONDeserialize(why) => {
            ProviderError::Unavailable(why.clone())
        }
        StripeError::ConfigError(why) => ProviderError::Rejected(Failure {
            code: "stripe_configuration".to_owned(),
            message: why.clone(),
        }),
    }
}
