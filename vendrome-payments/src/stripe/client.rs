//! The adapter's configuration and its way of calling Stripe's API.
//!
//! Requests are async-stripe's typed builders, sent by its hyper client (the secret key, the
//! pinned `Stripe-Version`, `Idempotency-Key`, the per-attempt timeout, Stripe's error envelope).
//! Responses are read by the adapter itself into the few fields it uses
//! ([`super::convert`]): async-stripe's generated types require every field of the API version
//! they were generated from, and an account pinned to another version, or localstripe (the fake
//! the peer test runs against), leaves some out. A response that cannot be read is treated like
//! an unreachable provider: the same idempotency key finds what happened.

use std::time::Duration;

use ::stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use serde::de::DeserializeOwned;
use vendrome_core::payments::provider::{Failure, ProviderError};

use super::convert;

/// Stripe's API, where the adapter goes unless told otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";

/// How long one request may take before its outcome counts as unknown
/// ([`ProviderError::Timeout`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the Stripe adapter is set up. The server reads it from `VENDROME_STRIPE_SECRET_KEY`,
/// `VENDROME_STRIPE_WEBHOOK_SECRET` and `VENDROME_STRIPE_API_BASE` ([`StripeConfig::from_env`]).
#[derive(Clone)]
pub struct StripeConfig {
    /// The account's secret API key (`sk_…`).
    pub secret_key: String,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: String,
    /// Where the API is, with or without a trailing slash: [`DEFAULT_API_BASE`], or a fake
    /// (`http://127.0.0.1:8420`) in tests.
    pub api_base: String,
}

impl StripeConfig {
    /// The configuration in the environment, or `None` when `VENDROME_STRIPE_SECRET_KEY` is not
    /// set (Stripe is then not configured). The webhook secret defaults to empty, which no
    /// signature matches; the API base to [`DEFAULT_API_BASE`].
    pub fn from_env() -> Option<Self> {
        let secret_key = std::env::var("VENDROME_STRIPE_SECRET_KEY")
            .ok()
            .filter(|k| !k.is_empty())?;
        Some(Self {
            secret_key,
            webhook_secret: std::env::var("VENDROME_STRIPE_WEBHOOK_SECRET").unwrap_or_default(),
            api_base: std::env::var("VENDROME_STRIPE_API_BASE")
                .ok()
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
        })
    }
}

/// Shows where the API is; never the secrets.
impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// async-stripe's client with the adapter's way of sending and reading.
#[derive(Clone)]
pub(super) struct Api {
    client: ::stripe::Client,
}

impl Api {
    /// A client for `config`, with [`REQUEST_TIMEOUT`] per request and no retries of its own
    /// (a retry is the orchestrator's, with the same key).
    pub(super) fn new(config: &StripeConfig) -> Result<Self, ProviderError> {
        let client = ::stripe::ClientBuilder::new(config.secret_key.clone())
            .url(config.api_base.clone())
            .timeout(REQUEST_TIMEOUT)
            .request_strategy(RequestStrategy::Once)
            .build()
            .map_err(|e| {
                ProviderError::Rejected(Failure {
                    code: "stripe_configuration".to_owned(),
                    message: e.to_string(),
                })
            })?;
        Ok(Self { client })
    }

    /// Sends `request` (with `Idempotency-Key: idempotency_key` when given) and reads the answer
    /// as `T`.
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        request: &impl StripeRequest,
        idempotency_key: Option<&str>,
    ) -> Result<T, ProviderError> {
        let mut request = request.build().customize::<miniserde::json::Value>();
        if let Some(key) = idempotency_key {
            let key = IdempotencyKey::new(key).map_err(|e| {
                ProviderError::Rejected(Failure {
                    code: "invalid_idempotency_key".to_owned(),
                    message: e.to_string(),
                })
            })?;
            request = request.request_strategy(RequestStrategy::Idempotent(key));
        }
        let value = request
            .send(&self.client)
            .await
            .map_err(|e: StripeError| convert::provider_error(&e))?;
        serde_json::from_str(&miniserde::json::to_string(&value)).map_err(|e| {
            ProviderError::Unavailable(format!("Stripe's answer could not be read: {e}"))
        })
    }
}
