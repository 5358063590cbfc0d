//! How the adapters call their providers' REST APIs with reqwest: one timeout per request, no
//! retries of their own (a retry is the orchestrator's, with the same idempotency key), and one
//! reading of answers into [`ProviderError`]:
//!
//! - no connection, or an answer 5xx, 429 or 409 (a request with the same key under way) →
//!   [`ProviderError::Unavailable`]: nothing happened, or the same key finds what did;
//! - no answer in time after sending → [`ProviderError::Timeout`] (the outcome is unknown);
//! - another 4xx → the adapter's own reading of the provider's error body (a decline, or a
//!   rejected request);
//! - 2xx → the JSON body (an empty body reads as `null`).

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use vendrome_core::payments::provider::{Failure, ProviderError};

/// How long one request may take before its outcome counts as unknown.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A provider API's client and base URL.
#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
}

impl Rest {
    /// A client for the API at `base` (with or without a trailing slash).
    #[must_use]
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The full URL of `path` (which starts with `/`).
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A GET of `path`.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    /// A POST to `path`.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    /// Sends `request`; a 4xx answer other than 409 and 429 is read by `refused` (its status and
    /// body).
    ///
    /// # Errors
    ///
    /// As the module documentation says.
    pub async fn send(
        &self,
        request: RequestBuilder,
        refused: impl FnOnce(StatusCode, &serde_json::Value) -> ProviderError,
    ) -> Result<serde_json::Value, ProviderError> {
        Ok(self.send_text(request, refused).await?.1)
    }

    /// [`send`](Self::send), with the body's text too (a CSV, a plain `VALID`).
    ///
    /// # Errors
    ///
    /// As the module documentation says.
    pub async fn send_text(
        &self,
        request: RequestBuilder,
        refused: impl FnOnce(StatusCode, &serde_json::Value) -> ProviderError,
    ) -> Result<(String, serde_json::Value), ProviderError> {
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        let body = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
        };
        if status.is_success() {
            Ok((text, body))
        } else if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::CONFLICT
        {
            Err(ProviderError::Unavailable(format!("answered {status}")))
        } else {
            Err(refused(status, &body))
        }
    }
}

fn transport(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout
    } else {
        ProviderError::Unavailable(error.to_string())
    }
}

/// A request refused as made, with the provider's code and message when it gave them.
#[must_use]
pub fn rejected(
    code: Option<String>,
    message: Option<String>,
    status: StatusCode,
) -> ProviderError {
    ProviderError::Rejected(Failure {
        code: code.unwrap_or_else(|| format!("http_{}", status.as_u16())),
        message: message.unwrap_or_else(|| format!("the provider answered {status}")),
    })
}

/// An answer that does not read as the API documents: treated like no answer, so the same key
/// finds what happened.
#[must_use]
pub fn unreadable(what: &str) -> ProviderError {
    ProviderError::Unavailable(format!("unreadable answer: no {what}"))
}

/// `body` (a JSON object) as text with `field` set to `amount` as a JSON number in major units,
/// written from its exact decimal string (`10.50`): never through a float.
#[must_use]
pub fn with_decimal_amount(
    body: &serde_json::Value,
    field: &str,
    amount: vendrome_core::money::Money,
) -> String {
    let rest = body.to_string();
    let field = serde_json::Value::String(field.to_owned());
    let inner = rest.strip_prefix('{').unwrap_or(&rest);
    let separator = if inner.starts_with('}') { "" } else { "," };
    format!("{{{field}:{}{separator}{inner}", amount.to_decimal_string())
}

#[cfg(test)]
mod tests {
    use vendrome_core::money::{Currency, Money};

    use super::*;

    #[test]
    fn decimal_amounts_are_written_exactly() {
        let usd: Currency = "USD".parse().unwrap();
        let body = with_decimal_amount(
            &serde_json::json!({"a": 1}),
            "amount",
            Money::new(1005, usd),
        );
        assert_eq!(body, r#"{"amount":10.05,"a":1}"#);
        let empty = with_decimal_amount(&serde_json::json!({}), "amount", Money::new(7, usd));
        assert_eq!(empty, r#"{"amount":0.07}"#);
    }
}
