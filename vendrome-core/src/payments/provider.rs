//! The port every payment service provider's adapter implements: one method per capability.
//!
//! Adapters convert [`Money`] to the provider's own unit exactly (minor units for Stripe, Yoco
//! and Paystack; decimal strings through [`Money::to_decimal_string`] for the others), send our
//! idempotency key with every call that creates something, and verify webhooks on the raw bytes
//! before parsing anything.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::enums::{PaymentProvider as ProviderId, PaymentStatus};
use crate::money::{Currency, Money};
use crate::time::Timestamp;

/// What the payer must do next, as the checkout answer tells the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    /// Send the payer to this page (a hosted checkout, the sandbox's page).
    Redirect { url: String },
    /// Confirm in the browser with the provider's library (Stripe's PaymentIntent secret).
    ClientSecret { client_secret: String },
    /// Nothing: the outcome will come by webhook or status polling.
    None,
}

/// A request to take a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePayment {
    /// Ours, derived from the attempt: the provider must see the same key on every retry.
    pub idempotency_key: String,
    /// Our payment id, sent as the provider's reference/metadata so webhooks and settlement
    /// reports can be matched even before we know the provider's id.
    pub payment_id: String,
    pub amount: Money,
    pub description: String,
    /// A payment method the provider offers (`card`, `eft`), `None` for its default.
    pub method: Option<String>,
    /// Where a hosted page sends the payer back.
    pub return_url: Option<String>,
}

/// The provider's view of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    /// The provider's id of the payment (a PaymentIntent id, a checkout id).
    pub reference: String,
    pub status: PaymentStatus,
    pub amount: Money,
    pub next_action: NextAction,
    /// The provider's reason, for a failed payment.
    pub failure: Option<Failure>,
}

/// A provider's reason for a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// A request to refund (part of) a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPayment {
    pub idempotency_key: String,
    /// Our refund's payment id.
    pub refund_id: String,
    /// The provider's id of the charge.
    pub charge_reference: String,
    pub amount: Money,
}

/// The provider's view of a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    pub reference: String,
    pub status: PaymentStatus,
    pub amount: Money,
}

/// What a verified webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The provider's event id: stored under a unique constraint before anything acts on it.
    pub event_id: String,
    pub event_type: String,
    /// When the provider says the event happened: an older event never moves a status back.
    pub occurred_at: Option<Timestamp>,
    pub subject: WebhookSubject,
    /// The parsed body, stored as the event's payload.
    pub payload: serde_json::Value,
}

/// What a webhook is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookSubject {
    /// A charge moved to `status`.
    Payment {
        reference: String,
        /// Our payment id, when the provider echoes it (metadata, merchant reference).
        payment_id: Option<String>,
        status: PaymentStatus,
        amount: Option<Money>,
        failure: Option<Failure>,
    },
    /// A refund moved to `status`.
    Refund {
        reference: String,
        charge_reference: String,
        status: PaymentStatus,
        amount: Option<Money>,
    },
    /// An event type we do not act on.
    Other,
}

/// Request headers, names lower-cased; the port knows nothing of HTTP types.
pub type Headers = [(String, String)];

/// A transaction the provider settled, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettledTransaction {
    /// The provider's id of the payment or refund it settles (what our ledger keys on).
    pub reference: String,
    /// Positive for money in (a charge), negative for money out (a refund).
    pub amount: Money,
    /// The provider's own fee, when it reports one.
    pub provider_fee: Option<Money>,
    pub settled_at: Timestamp,
}

/// Why a provider call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the payment (a decline, insufficient funds).
    #[error("declined: {0:?}")]
    Declined(Failure),
    /// The request was wrong for this provider (an unsupported currency or method).
    #[error("rejected: {0:?}")]
    Rejected(Failure),
    /// The provider could not be reached or answered with a server error: nothing happened
    /// there, or the same idempotency key will find what did.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The request was sent but no answer came in time: the outcome is unknown until status
    /// polling or a webhook settles it.
    #[error("provider timed out")]
    Timeout,
    /// The provider does not offer this capability (capture, for a provider without it).
    #[error("not supported by this provider")]
    Unsupported,
}

/// Why a webhook was refused. Nothing is stored for it but a counter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing, malformed or wrong signature, or outside the provider's time tolerance.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// Signed correctly but not a body we can read.
    #[error("unreadable payload: {0}")]
    Malformed(String),
}

/// A payment method a provider offers, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodOffer {
    pub provider: ProviderId,
    pub method: String,
    pub currencies: Vec<Currency>,
}

/// A payment service provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Which provider this is.
    ///
    /// # Errors
    ///
    /// None: it is the adapter's constant.
    fn id(&self) -> ProviderId;

    /// The methods it offers, and in which currencies (an empty list of currencies: any).
    ///
    /// # Errors
    ///
    /// None: it is the adapter's configuration, read without calling the provider.
    fn methods(&self) -> Vec<MethodOffer>;

    /// Creates a payment (an intent or a hosted checkout) for `request.amount`.
    ///
    /// # Errors
    ///
    /// [`ProviderError`] as each variant says.
    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError>;

    /// Captures an authorised payment.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Unsupported`] where the provider captures on its own; otherwise as
    /// each variant says.
    async fn capture(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError>;

    /// Refunds (part of) a payment.
    ///
    /// # Errors
    ///
    /// [`ProviderError`] as each variant says.
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError>;

    /// The payment's state at the provider now.
    ///
    /// # Errors
    ///
    /// [`ProviderError`] as each variant says.
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError>;

    /// Verifies a webhook on its raw bytes and headers (constant-time comparison, the
    /// provider's time tolerance around `now`), then parses it.
    ///
    /// # Errors
    ///
    /// [`WebhookError`] as each variant says.
    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError>;

    /// The transactions the provider settled in `[from, to)`.
    ///
    /// # Errors
    ///
    /// [`ProviderError`] as each variant says.
    async fn settled_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError>;
}
