//! The seven providers beside Stripe: PayPal, Airwallex, Yoco, Peach Payments, Payfast, Ozow and
//! Paystack. Each is off until its notification secret is set ([`settings`]); each module reads
//! its provider's notifications (verified on the raw bytes by [`crate::notifications`] first)
//! into a [`WebhookEvent`].
//!
//! Each adapter (`paypal_api`, `airwallex`, `yoco`, `peach_api`, `payfast_api`, `ozow_api`,
//! `paystack_api`) calls its provider's API with reqwest ([`http`]). A provider configured with
//! its notification secret only listens: its webhook endpoint verifies and records what it
//! sends, and it takes no payments (it offers no method, so routing never picks it; a call to
//! its API answers `provider_listen_only`). Paystack's secret key is both.

pub mod airwallex;
pub mod http;
pub mod ozow;
pub mod ozow_api;
pub mod payfast;
pub mod payfast_api;
pub mod paypal;
pub mod paypal_api;
pub mod paystack;
pub mod paystack_api;
pub mod peach;
pub mod peach_api;
pub mod settings;
pub mod yoco;

use std::sync::Arc;

use async_trait::async_trait;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    Failure, Headers, PaymentProvider, ProviderError, WebhookError, WebhookEvent,
};
use vendrome_core::time::Timestamp;

pub use self::settings::ProviderSettings;

/// The header name under which the server passes the address a webhook came from (after its
/// trusted proxies). It starts with `:`, which no HTTP header name can, so a sender cannot set
/// it; Payfast's source check reads it.
pub const SOURCE_ADDRESS: &str = ":source-address";

/// A provider's notifications: verified on the raw bytes, then read.
#[async_trait]
pub trait Notifications: Send + Sync {
    /// Which provider sends them.
    fn provider(&self) -> ProviderId;

    /// Verifies a notification (headers, raw body) received at `now`, then reads it.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSignature`] when it does not verify, [`WebhookError::Malformed`]
    /// when a verified body cannot be read.
    async fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError>;
}

/// What a provider without API credentials answers a call to its API.
#[must_use]
pub fn listen_only(provider: ProviderId) -> ProviderError {
    ProviderError::Rejected(Failure {
        code: "provider_listen_only".to_owned(),
        message: format!(
            "{provider} is configured for its notifications only (no API credentials)"
        ),
    })
}

/// Whether `provider` publishes the transactions it settled, so that reconciliation has
/// something to read: Yoco, Peach (through Checkout) and Ozow do not (their adapters answer
/// [`ProviderError::Unsupported`]), nor does the sandbox, which moves no money.
#[must_use]
pub fn has_settlement_listing(provider: ProviderId) -> bool {
    !matches!(
        provider,
        ProviderId::Yoco | ProviderId::Peach | ProviderId::Ozow | ProviderId::Sandbox
    )
}

/// The adapter `settings` describe.
///
/// # Errors
///
/// A setting that cannot be used (a Peach key that is not hex, a URL that is not one), named.
pub fn build(settings: &ProviderSettings) -> Result<Arc<dyn PaymentProvider>, String> {
    Ok(match settings.provider() {
        ProviderId::Paypal => {
            let notifications = paypal::PaypalNotifications::new(settings);
            Arc::new(paypal_api::Paypal::new(settings, notifications))
        }
        ProviderId::Airwallex => Arc::new(airwallex::Airwallex::new(settings)),
        ProviderId::Yoco => Arc::new(yoco::Yoco::new(settings)),
        ProviderId::Peach => Arc::new(peach_api::Peach::new(settings)?),
        ProviderId::Payfast => Arc::new(payfast_api::Payfast::new(settings)),
        ProviderId::Ozow => Arc::new(ozow_api::Ozow::new(settings)),
        ProviderId::Paystack => Arc::new(paystack_api::Paystack::new(settings)),
        other => return Err(format!("{other} is not configured through these settings")),
    })
}

/// A verified JSON body.
pub(crate) fn json_body(body: &[u8]) -> Result<serde_json::Value, WebhookError> {
    serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))
}

/// The string (or number, as written) at `pointer` in `value`.
pub(crate) fn text(value: &serde_json::Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The field `pointer` of `value`, which a notification of this type must have.
pub(crate) fn required(value: &serde_json::Value, pointer: &str) -> Result<String, WebhookError> {
    text(value, pointer).ok_or_else(|| WebhookError::Malformed(format!("no {pointer}")))
}

/// An RFC 3339 time, when it is one.
pub(crate) fn rfc3339(raw: Option<String>) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(&raw?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// A decimal amount in major units (`"10.50"`) with its currency code, exactly.
pub(crate) fn decimal_money(amount: Option<String>, currency: Option<String>) -> Option<Money> {
    let currency: Currency = currency?.to_ascii_uppercase().parse().ok()?;
    Money::from_decimal_str(amount?.trim(), currency).ok()
}

/// An amount in minor units (`4500` cents) with its currency code.
pub(crate) fn minor_money(amount: Option<String>, currency: Option<String>) -> Option<Money> {
    let currency: Currency = currency?.to_ascii_uppercase().parse().ok()?;
    Some(Money::new(amount?.trim().parse().ok()?, currency))
}

/// A failure reason for a failed payment.
pub(crate) fn failure(
    status: PaymentStatus,
    code: &str,
    message: Option<String>,
) -> Option<Failure> {
    (status == PaymentStatus::Failed).then(|| Failure {
        code: code.to_owned(),
        message: message.unwrap_or_else(|| code.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly() {
        let zar: Currency = "ZAR".parse().unwrap();
        assert_eq!(
            decimal_money(Some("10.05".into()), Some("zar".into())),
            Some(Money::new(1005, zar))
        );
        assert_eq!(
            decimal_money(Some("10.005".into()), Some("ZAR".into())),
            None
        );
        assert_eq!(
            minor_money(Some("4500".into()), Some("ZAR".into())),
            Some(Money::new(4500, zar))
        );
        let value = serde_json::json!({"a": {"n": 12, "s": "x"}});
        assert_eq!(text(&value, "/a/n").as_deref(), Some("12"));
        assert_eq!(text(&value, "/a/s").as_deref(), Some("x"));
        assert!(required(&value, "/b").is_err());
    }
}
