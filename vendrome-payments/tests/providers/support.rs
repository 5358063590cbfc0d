//! What the fakes share: a server on a free port, and the adapter's settings pointing at it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::CreatePayment;
use vendrome_payments::providers::ProviderSettings;

/// Serves `router` on a free port of 127.0.0.1; its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// The settings of `provider` with `values` and its API at `base`.
pub fn settings(provider: ProviderId, base: &str, values: &[(&str, &str)]) -> ProviderSettings {
    let mut all: Vec<(&str, &str)> = values.to_vec();
    all.push(("API_BASE", base));
    ProviderSettings::new(provider, &all)
}

/// A request for `minor` of `currency`.
pub fn payment(key: &str, minor: i64, currency: &str) -> CreatePayment {
    CreatePayment {
        idempotency_key: key.to_owned(),
        payment_id: uuid::Uuid::now_v7().to_string(),
        amount: money(minor, currency),
        description: "Order 1".to_owned(),
        method: None,
        return_url: Some("https://app.example.com/paid".to_owned()),
    }
}

pub fn money(minor: i64, currency: &str) -> Money {
    Money::new(minor, Currency::parse(currency).unwrap())
}

/// A switch that makes a fake answer 503 for its next `n` requests.
#[derive(Clone, Default)]
pub struct Outage(Arc<AtomicU32>);

impl Outage {
    pub fn fail_next(&self, n: u32) {
        self.0.store(n, Ordering::SeqCst);
    }

    /// 503 while an outage lasts.
    pub fn check(&self) -> Option<Response> {
        let left = self.0.load(Ordering::SeqCst);
        if left == 0 {
            return None;
        }
        self.0.store(left - 1, Ordering::SeqCst);
        Some((StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response())
    }
}
