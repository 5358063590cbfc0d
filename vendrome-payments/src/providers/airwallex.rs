//! Airwallex's notifications (airwallex.com/docs, "Listen for webhook events" and the payment
//! acceptance event list): `x-timestamp` and `x-signature` verified by
//! [`crate::notifications::airwallex`] (five minutes either way), then the event
//! `{id, name, created_at, data: {object}}`:
//!
//! - `payment_intent.succeeded`, `payment_intent.cancelled`: the PaymentIntent `object.id`
//!   moved; `object.merchant_order_id` is our payment id;
//! - `payment_attempt.failed`: the intent `object.payment_intent_id` failed;
//! - `refund.received`, `refund.accepted`, `refund.settled`, `refund.failed`: the refund
//!   `object.id` of `object.payment_intent_id` moved;
//! - anything else is recorded and not acted on.
//!
//! Airwallex writes amounts as JSON numbers in major units; they are not read (a float), the
//! payment's own amount stands.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::json;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::Money;
use vendrome_core::payments::provider::{
    CreatePayment, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
    WebhookSubject,
};
use vendrome_core::time::Timestamp;

use super::http::{rejected, unreadable, with_decimal_amount, Rest};
use super::{
    decimal_money, failure, json_body, listen_only, required, rfc3339, text, Notifications,
    ProviderSettings,
};
use crate::notifications::airwallex;

/// Airwallex's notifications, checked with the endpoint's secret.
pub struct AirwallexNotifications {
    secret: String,
}

impl AirwallexNotifications {
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            secret: settings.notification_secret().to_owned(),
        }
    }
}

/// Reads a verified Airwallex event.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when it is not JSON or lacks what its type needs.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let payload = json_body(body)?;
    let event_id = required(&payload, "/id")?;
    let event_type = required(&payload, "/name")?;
    let payment = |reference: String, status: PaymentStatus| WebhookSubject::Payment {
        reference,
        payment_id: text(&payload, "/data/object/merchant_order_id"),
        status,
        amount: None,
        failure: failure(
            status,
            &text(&payload, "/data/object/failure_code").unwrap_or_else(|| "payment_failed".into()),
            text(&payload, "/data/object/failure_message"),
        ),
    };
    let subject = match event_type.as_str() {
        "payment_intent.succeeded" => payment(
            required(&payload, "/data/object/id")?,
            PaymentStatus::Succeeded,
        ),
        "payment_intent.cancelled" => payment(
            required(&payload, "/data/object/id")?,
            PaymentStatus::Cancelled,
        ),
        "payment_attempt.failed" => payment(
            required(&payload, "/data/object/payment_intent_id")?,
            PaymentStatus::Failed,
        ),
        "refund.received" | "refund.accepted" | "refund.settled" | "refund.failed" => {
            WebhookSubject::Refund {
                reference: required(&payload, "/data/object/id")?,
                charge_reference: required(&payload, "/data/object/payment_intent_id")?,
                status: match event_type.as_str() {
                    "refund.settled" => PaymentStatus::Succeeded,
                    "refund.failed" => PaymentStatus::Failed,
                    _ => PaymentStatus::Processing,
                },
                amount: None,
            }
        }
        _ => WebhookSubject::Other,
    };
    Ok(WebhookEvent {
        event_id,
        event_type,
        occurred_at: rfc3339(text(&payload, "/created_at")),
        subject,
        payload,
    })
}

#[async_trait]
impl Notifications for AirwallexNotifications {
    fn provider(&self) -> ProviderId {
        ProviderId::Airwallex
    }

    async fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        airwallex::verify(headers, &self.secret, body, now, airwallex::TOLERANCE)?;
        parse(body)
    }
}

/// How long a login token is used (Airwallex's last 30 minutes).
const TOKEN_LIFE: std::time::Duration = std::time::Duration::from_secs(25 * 60);

/// Airwallex's API with a client id and key, and the login token in use.
struct Api {
    rest: Rest,
    client_id: String,
    api_key: String,
    token: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
}

impl Api {
    /// A bearer token: the cached one, or a new login (`POST /api/v1/authentication/login`).
    async fn token(&self) -> Result<String, ProviderError> {
        let mut held = self.token.lock().await;
        if let Some((token, at)) = held.as_ref() {
            if at.elapsed() < TOKEN_LIFE {
                return Ok(token.clone());
            }
        }
        let answer = self
            .rest
            .send(
                self.rest
                    .post("/api/v1/authentication/login")
                    .header("x-client-id", &self.client_id)
                    .header("x-api-key", &self.api_key),
                refused,
            )
            .await?;
        let token = text(&answer, "/token").ok_or_else(|| unreadable("token"))?;
        *held = Some((token.clone(), std::time::Instant::now()));
        Ok(token)
    }

    /// Sends `request` with the token; a 401 forgets it, so the next call logs in again.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, ProviderError> {
        let token = self.token().await?;
        let result = self.rest.send(request.bearer_auth(token), refused).await;
        if let Err(ProviderError::Rejected(f)) = &result {
            if f.code == "http_401" {
                *self.token.lock().await = None;
            }
        }
        result
    }

    /// A JSON POST whose `amount` is written exactly.
    fn post(&self, path: &str, body: &serde_json::Value, amount: Money) -> reqwest::RequestBuilder {
        self.rest
            .post(path)
            .header("content-type", "application/json")
            .body(with_decimal_amount(body, "amount", amount))
    }
}

fn refused(status: StatusCode, body: &serde_json::Value) -> ProviderError {
    rejected(text(body, "/code"), text(body, "/message"), status)
}

/// A PaymentIntent's status as ours.
#[must_use]
pub fn intent_status(raw: &str) -> PaymentStatus {
    match raw {
        "SUCCEEDED" => PaymentStatus::Succeeded,
        "CANCELLED" => PaymentStatus::Cancelled,
        "PENDING" | "REQUIRES_CAPTURE" => PaymentStatus::Processing,
        _ => PaymentStatus::RequiresAction,
    }
}

fn intent(body: &serde_json::Value, amount: Money) -> Result<ProviderPayment, ProviderError> {
    let status = intent_status(&text(body, "/status").unwrap_or_default());
    let next_action = match text(body, "/client_secret") {
        Some(client_secret) if status == PaymentStatus::RequiresAction => {
            NextAction::ClientSecret { client_secret }
        }
        _ => NextAction::None,
    };
    Ok(ProviderPayment {
        reference: text(body, "/id").ok_or_else(|| unreadable("intent id"))?,
        status,
        amount,
        next_action,
        failure: None,
    })
}

/// The Airwallex adapter (airwallex.com/docs/api, Payment Acceptance): PaymentIntents confirmed
/// in the browser with their client secret, captures, refunds and financial transactions for
/// reconciliation. Amounts are decimal numbers in major units, written from
/// [`Money::to_decimal_string`] and read from the number's text. Airwallex's idempotency is the
/// `request_id` in each create, capture and refund body: ours.
pub struct Airwallex {
    notifications: AirwallexNotifications,
    api: Option<Api>,
}

impl Airwallex {
    /// The adapter; without `CLIENT_ID` and `API_KEY` it only listens.
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            notifications: AirwallexNotifications::new(settings),
            api: settings
                .pair("CLIENT_ID", "API_KEY")
                .map(|(client_id, api_key)| Api {
                    rest: Rest::new(settings.get("API_BASE").unwrap_or_default()),
                    client_id,
                    api_key,
                    token: tokio::sync::Mutex::new(None),
                }),
        }
    }

    fn api(&self) -> Result<&Api, ProviderError> {
        self.api
            .as_ref()
            .ok_or_else(|| listen_only(ProviderId::Airwallex))
    }
}

/// How many financial transactions are asked for per page.
const PAGE: u32 = 100;

#[async_trait]
impl PaymentProvider for Airwallex {
    fn id(&self) -> ProviderId {
        ProviderId::Airwallex
    }

    /// Cards in any currency Airwallex takes, with API credentials.
    fn methods(&self) -> Vec<MethodOffer> {
        self.api
            .iter()
            .map(|_| MethodOffer {
                provider: ProviderId::Airwallex,
                method: "card".to_owned(),
                currencies: Vec::new(),
            })
            .collect()
    }

    #[tracing::instrument(skip(self, request), fields(payment_id = %request.payment_id))]
    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let mut body = json!({
            "request_id": request.idempotency_key,
            "currency": request.amount.currency.as_str(),
            "merchant_order_id": request.payment_id,
            "descriptor": request.description,
        });
        if let Some(url) = &request.return_url {
            body["return_url"] = json!(url);
        }
        let answer = api
            .send(api.post("/api/v1/pa/payment_intents/create", &body, request.amount))
            .await?;
        intent(&answer, request.amount)
    }

    #[tracing::instrument(skip(self, amount, idempotency_key))]
    async fn capture(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let path = format!("/api/v1/pa/payment_intents/{reference}/capture");
        let answer = api
            .send(api.post(&path, &json!({"request_id": idempotency_key}), amount))
            .await?;
        intent(&answer, amount)
    }

    #[tracing::instrument(skip(self, request), fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let api = self.api()?;
        let body = json!({
            "request_id": request.idempotency_key,
            "payment_intent_id": request.charge_reference,
            "metadata": {"refund_id": request.refund_id},
        });
        let answer = api
            .send(api.post("/api/v1/pa/refunds/create", &body, request.amount))
            .await?;
        Ok(ProviderRefund {
            reference: text(&answer, "/id").ok_or_else(|| unreadable("refund id"))?,
            status: match text(&answer, "/status").as_deref() {
                Some("SETTLED") => PaymentStatus::Succeeded,
                Some("FAILED") => PaymentStatus::Failed,
                _ => PaymentStatus::Processing,
            },
            amount: request.amount,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let answer = api
            .send(
                api.rest
                    .get(&format!("/api/v1/pa/payment_intents/{reference}")),
            )
            .await?;
        let amount = decimal_money(text(&answer, "/amount"), text(&answer, "/currency"))
            .ok_or_else(|| unreadable("amount"))?;
        intent(&answer, amount)
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        self.notifications.verify(headers, body, now).await
    }

    /// `GET /api/v1/financial_transactions` by creation time, page by page: the settled
    /// ones, a PaymentIntent's keyed on its id (money in), a refund's on its id (money out).
    #[tracing::instrument(skip(self))]
    async fn settled_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        let api = self.api()?;
        let mut settled = Vec::new();
        for page in 0.. {
            let query = [
                ("from_created_at", from.to_rfc3339()),
                ("to_created_at", to.to_rfc3339()),
                ("page_num", page.to_string()),
                ("page_size", PAGE.to_string()),
            ];
            let answer = api
                .send(api.rest.get("/api/v1/financial_transactions").query(&query))
                .await?;
            let items = answer
                .get("items")
                .and_then(|i| i.as_array())
                .cloned()
                .unwrap_or_default();
            for item in &items {
                if text(item, "/status").as_deref() != Some("SETTLED") {
                    continue;
                }
                let amount = decimal_money(
                    text(item, "/amount").map(|a| a.trim_start_matches('-').to_owned()),
                    text(item, "/currency"),
                )
                .ok_or_else(|| unreadable("amount"))?;
                let refund = text(item, "/source_type").as_deref() == Some("REFUND");
                settled.push(SettledTransaction {
                    reference: text(item, "/source_id").ok_or_else(|| unreadable("source_id"))?,
                    amount: if refund {
                        Money::new(-amount.amount, amount.currency)
                    } else {
                        amount
                    },
                    provider_fee: decimal_money(text(item, "/fee"), text(item, "/currency")),
                    settled_at: rfc3339(text(item, "/settled_at"))
                        .or_else(|| rfc3339(text(item, "/created_at")))
                        .ok_or_else(|| unreadable("settled_at"))?,
                });
            }
            if answer.get("has_more").and_then(serde_json::Value::as_bool) != Some(true) {
                break;
            }
        }
        Ok(settled)
    }
}
