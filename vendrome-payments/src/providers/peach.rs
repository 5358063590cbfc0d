//! Peach Payments' notifications, two schemes (see [`crate::notifications::peach`]):
//!
//! - payments webhooks (Peach support article 47001189554): the body decrypts with the webhook
//!   key, which is the check, into `{type, payload}` with the transaction's `payload.id`,
//!   `paymentType` (`DB` a debit, `RF` a refund of `referencedId`), `amount` (decimal),
//!   `currency`, `merchantTransactionId` (our payment id: Peach has no idempotency key, so this
//!   unique id is our dedupe) and `result.code`;
//! - Checkout's posted results (developer.peachpayments.com, "Checkout authentication"), when
//!   the Checkout secret token is set: the same fields as form parameters (`result.code`, …)
//!   with an HMAC `signature`.
//!
//! The result code decides the status as Peach's "Result codes" page groups them
//! ([`result_status`]). Peach sends no event id: the event's is `id:result.code`.

use async_trait::async_trait;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{Headers, WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::time::Timestamp;

use super::{decimal_money, failure, json_body, required, text, Notifications, ProviderSettings};
use crate::notifications::{field, form_fields, peach};
use crate::signature::header;

/// Peach's notifications: decrypted with the webhook key, or Checkout's signed with the token.
pub struct PeachNotifications {
    key_hex: String,
    secret_token: Option<String>,
}

impl PeachNotifications {
    /// # Errors
    ///
    /// When the webhook key is not 32 or 64 hex characters.
    pub fn new(settings: &ProviderSettings) -> Result<Self, String> {
        let key_hex = settings.notification_secret().trim().to_owned();
        match hex::decode(&key_hex) {
            Ok(key) if key.len() == 16 || key.len() == 32 => {}
            _ => return Err("VENDROME_PEACH_WEBHOOK_KEY is not 32 or 64 hex characters".into()),
        }
        Ok(Self {
            key_hex,
            secret_token: settings.get("SECRET_TOKEN").map(str::to_owned),
        })
    }
}

/// The status a result code means: success (`000.000.`, `000.100.1`, `000.3`, `000.6`, and
/// `000.400.0`/`000.400.100` after review), pending (`000.200`, `800.400.5`, `100.400.500`),
/// else failed.
#[must_use]
pub fn result_status(code: &str) -> PaymentStatus {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| code.starts_with(p));
    if starts(&["000.000.", "000.100.1", "000.3", "000.6", "000.400.100"])
        || (code.starts_with("000.400.0") && !code.starts_with("000.400.03"))
    {
        PaymentStatus::Succeeded
    } else if starts(&["000.200", "800.400.5", "100.400.500"]) {
        PaymentStatus::Processing
    } else {
        PaymentStatus::Failed
    }
}

/// A transaction's fields, however they came.
struct Transaction {
    id: String,
    payment_type: Option<String>,
    referenced_id: Option<String>,
    merchant_transaction_id: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    code: String,
    description: Option<String>,
}

fn event(tx: Transaction, payload: serde_json::Value) -> WebhookEvent {
    let status = result_status(&tx.code);
    let amount = decimal_money(tx.amount, tx.currency);
    let subject = match (tx.payment_type.as_deref(), tx.referenced_id) {
        (Some("RF"), Some(charge)) => WebhookSubject::Refund {
            reference: tx.id.clone(),
            charge_reference: charge,
            status,
            amount,
        },
        (Some("DB" | "CP") | None, _) => WebhookSubject::Payment {
            reference: tx.id.clone(),
            payment_id: tx.merchant_transaction_id,
            status,
            amount,
            failure: failure(status, &tx.code, tx.description),
        },
        _ => WebhookSubject::Other,
    };
    WebhookEvent {
        event_id: format!("{}:{}", tx.id, tx.code),
        event_type: format!(
            "{}:{}",
            tx.payment_type.as_deref().unwrap_or("payment"),
            tx.code
        ),
        occurred_at: None,
        subject,
        payload,
    }
}

/// Reads a decrypted payments webhook.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when it is not JSON or lacks the transaction's id or result.
pub fn parse(plain: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let payload = json_body(plain)?;
    let tx = Transaction {
        id: required(&payload, "/payload/id")?,
        payment_type: text(&payload, "/payload/paymentType"),
        referenced_id: text(&payload, "/payload/referencedId"),
        merchant_transaction_id: text(&payload, "/payload/merchantTransactionId"),
        amount: text(&payload, "/payload/amount"),
        currency: text(&payload, "/payload/currency"),
        code: required(&payload, "/payload/result/code")?,
        description: text(&payload, "/payload/result/description"),
    };
    Ok(event(tx, payload))
}

/// Reads a verified Checkout result (form fields).
///
/// # Errors
///
/// [`WebhookError::Malformed`] when it lacks the transaction's id or result.
pub fn parse_checkout(fields: &[(String, String)]) -> Result<WebhookEvent, WebhookError> {
    let get = |name: &str| field(fields, name).map(str::to_owned);
    let need = |name: &str| get(name).ok_or_else(|| WebhookError::Malformed(format!("no {name}")));
    let tx = Transaction {
        id: need("id")?,
        payment_type: get("paymentType"),
        referenced_id: get("referencedId"),
        merchant_transaction_id: get("merchantTransactionId"),
        amount: get("amount"),
        currency: get("currency"),
        code: need("result.code")?,
        description: get("result.description"),
    };
    let payload = serde_json::Value::Object(
        fields
            .iter()
            .filter(|(name, _)| name != "signature")
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    );
    Ok(event(tx, payload))
}

#[async_trait]
impl Notifications for PeachNotifications {
    fn provider(&self) -> ProviderId {
        ProviderId::Peach
    }

    async fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        match (
            &self.secret_token,
            header(headers, "x-initialization-vector"),
        ) {
            (Some(token), None) => {
                let fields = form_fields(body)?;
                peach::verify_checkout(token, &fields)?;
                parse_checkout(&fields)
            }
            _ => parse(&peach::decrypt(headers, &self.key_hex, body)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_group_as_peach_lists_them() {
        assert_eq!(result_status("000.000.000"), PaymentStatus::Succeeded);
        assert_eq!(result_status("000.100.110"), PaymentStatus::Succeeded);
        assert_eq!(result_status("000.400.000"), PaymentStatus::Succeeded);
        assert_eq!(result_status("000.400.030"), PaymentStatus::Failed);
        assert_eq!(result_status("000.200.000"), PaymentStatus::Processing);
        assert_eq!(result_status("800.100.151"), PaymentStatus::Failed);
    }
}
