//! The PayPal adapter (developer.paypal.com, Orders v2, Payments v2, Transaction Search v1):
//!
//! - `create`: `POST /v2/checkout/orders` (`intent: CAPTURE`, one purchase unit with our
//!   payment id as `custom_id` and `invoice_id`, the amount a decimal string) with
//!   `PayPal-Request-Id` = our key, PayPal's idempotency; the payer approves at the
//!   `payer-action` (or `approve`) link.
//! - `status`: `GET /v2/checkout/orders/{id}`; an order the payer `APPROVED` is captured there
//!   and then (`PayPal-Request-Id` `capture-{order id}`, so however many polls capture it, it
//!   is captured once), which is how the completer finishes a PayPal payment.
//! - `capture`: `POST /v2/checkout/orders/{id}/capture` with the given key.
//! - `refund`: the order's capture, then `POST /v2/payments/captures/{capture}/refund` with
//!   `PayPal-Request-Id`.
//! - `settled_transactions`: `GET /v1/reporting/transactions` (31 days at most per call, paged),
//!   successful (`S`) ones: a capture keyed on its order (read once from
//!   `GET /v2/payments/captures/{id}`, since our payments keep the order id), a refund on its
//!   own id, negative.
//!
//! An access token (`POST /v1/oauth2/token`, client credentials) is kept until shortly before
//! it expires.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::Money;
use vendrome_core::payments::provider::{
    CreatePayment, Failure, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
};
use vendrome_core::time::Timestamp;

use super::http::{rejected, unreadable, Rest};
use super::paypal::PaypalNotifications;
use super::{decimal_money, listen_only, rfc3339, text, Notifications, ProviderSettings};

/// The header PayPal dedupes POSTs on.
pub const REQUEST_ID: &str = "PayPal-Request-Id";

struct Api {
    rest: Rest,
    client_id: String,
    client_secret: String,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

fn refused(status: StatusCode, body: &Value) -> ProviderError {
    let issue = text(body, "/details/0/issue");
    let message = text(body, "/details/0/description").or_else(|| text(body, "/message"));
    match issue.as_deref() {
        Some("INSTRUMENT_DECLINED" | "PAYER_ACTION_REQUIRED" | "TRANSACTION_REFUSED") => {
            ProviderError::Declined(Failure {
                code: issue.unwrap_or_default().to_ascii_lowercase(),
                message: message.unwrap_or_else(|| "declined".to_owned()),
            })
        }
        _ => rejected(issue.or_else(|| text(body, "/name")), message, status),
    }
}

impl Api {
    async fn token(&self) -> Result<String, ProviderError> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let answer = self
            .rest
            .send(
                self.rest
                    .post("/v1/oauth2/token")
                    .basic_auth(&self.client_id, Some(&self.client_secret))
                    .form(&[("grant_type", "client_credentials")]),
                refused,
            )
            .await?;
        let token = text(&answer, "/access_token").ok_or_else(|| unreadable("access_token"))?;
        let life = answer
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(300);
        let until = Instant::now() + Duration::from_secs(life.saturating_sub(60));
        *held = Some((token.clone(), until));
        Ok(token)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let token = self.token().await?;
        self.rest.send(request.bearer_auth(token), refused).await
    }
}

/// An order's status as ours (a captured order by its capture's status).
fn order_status(order: &Value) -> PaymentStatus {
    match text(order, "/status").as_deref() {
        Some("COMPLETED") => {
            match text(order, "/purchase_units/0/payments/captures/0/status").as_deref() {
                Some("PENDING") => PaymentStatus::Processing,
                Some("DECLINED" | "FAILED") => PaymentStatus::Failed,
                _ => PaymentStatus::Succeeded,
            }
        }
        Some("VOIDED") => PaymentStatus::Cancelled,
        Some("APPROVED") => PaymentStatus::Processing,
        _ => PaymentStatus::RequiresAction,
    }
}

fn order(body: &Value, amount: Money) -> Result<ProviderPayment, ProviderError> {
    let status = order_status(body);
    let link = |rel: &str| {
        body.get("links")?
            .as_array()?
            .iter()
            .find(|l| l.get("rel").and_then(Value::as_str) == Some(rel))
            .and_then(|l| text(l, "/href"))
    };
    let next_action = match link("payer-action").or_else(|| link("approve")) {
        Some(url) if status == PaymentStatus::RequiresAction => NextAction::Redirect { url },
        _ => NextAction::None,
    };
    Ok(ProviderPayment {
        reference: text(body, "/id").ok_or_else(|| unreadable("order id"))?,
        status,
        amount,
        next_action,
        failure: (status == PaymentStatus::Failed).then(|| Failure {
            code: "capture_declined".to_owned(),
            message: "PayPal declined the capture".to_owned(),
        }),
    })
}

fn order_amount(body: &Value) -> Result<Money, ProviderError> {
    decimal_money(
        text(body, "/purchase_units/0/amount/value"),
        text(body, "/purchase_units/0/amount/currency_code"),
    )
    .ok_or_else(|| unreadable("amount"))
}

/// The PayPal adapter: see the module documentation.
pub struct Paypal {
    notifications: PaypalNotifications,
    api: Option<Api>,
}

impl Paypal {
    /// The adapter over `notifications`; without `CLIENT_ID` and `CLIENT_SECRET` it only
    /// listens.
    #[must_use]
    pub fn new(settings: &ProviderSettings, notifications: PaypalNotifications) -> Self {
        Self {
            notifications,
            api: settings
                .pair("CLIENT_ID", "CLIENT_SECRET")
                .map(|(client_id, client_secret)| Api {
                    rest: Rest::new(settings.get("API_BASE").unwrap_or_default()),
                    client_id,
                    client_secret,
                    token: tokio::sync::Mutex::new(None),
                }),
        }
    }

    fn api(&self) -> Result<&Api, ProviderError> {
        self.api
            .as_ref()
            .ok_or_else(|| listen_only(ProviderId::Paypal))
    }

    async fn capture_order(&self, api: &Api, id: &str, key: &str) -> Result<Value, ProviderError> {
        api.send(
            api.rest
                .post(&format!("/v2/checkout/orders/{id}/capture"))
                .header(REQUEST_ID, key)
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await
    }

    /// The order a capture belongs to.
    async fn order_of_capture(&self, api: &Api, capture: &str) -> Result<String, ProviderError> {
        let answer = api
            .send(api.rest.get(&format!("/v2/payments/captures/{capture}")))
            .await?;
        text(&answer, "/supplementary_data/related_ids/order_id")
            .ok_or_else(|| unreadable("order_id"))
    }
}

/// A Transaction Search time: `2026-12-06T10:00:00+0000` (an offset without a colon), or
/// RFC 3339.
fn paypal_time(raw: Option<String>) -> Option<Timestamp> {
    let raw = raw?;
    chrono::DateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M:%S%z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| rfc3339(Some(raw)))
}

/// Transactions asked for per page (PayPal's largest).
const PAGE_SIZE: u32 = 500;

#[async_trait]
impl PaymentProvider for Paypal {
    fn id(&self) -> ProviderId {
        ProviderId::Paypal
    }

    /// The PayPal wallet in any currency PayPal takes, with API credentials.
    fn methods(&self) -> Vec<MethodOffer> {
        self.api
            .iter()
            .map(|_| MethodOffer {
                provider: ProviderId::Paypal,
                method: "paypal".to_owned(),
                currencies: Vec::new(),
            })
            .collect()
    }

    #[tracing::instrument(skip(self, request), fields(payment_id = %request.payment_id))]
    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let mut body = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "custom_id": request.payment_id,
                "invoice_id": request.payment_id,
                "description": request.description,
                "amount": {
                    "currency_code": request.amount.currency.as_str(),
                    "value": request.amount.to_decimal_string(),
                },
            }],
        });
        if let Some(url) = &request.return_url {
            body["payment_source"] =
                json!({"paypal": {"experience_context": {"return_url": url, "cancel_url": url}}});
        }
        let answer = api
            .send(
                api.rest
                    .post("/v2/checkout/orders")
                    .header(REQUEST_ID, &request.idempotency_key)
                    .json(&body),
            )
            .await?;
        order(&answer, request.amount)
    }

    #[tracing::instrument(skip(self, amount, idempotency_key))]
    async fn capture(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let answer = self.capture_order(api, reference, idempotency_key).await?;
        order(&answer, amount)
    }

    #[tracing::instrument(skip(self, request), fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let api = self.api()?;
        let read = api
            .send(
                api.rest
                    .get(&format!("/v2/checkout/orders/{}", request.charge_reference)),
            )
            .await?;
        let capture = text(&read, "/purchase_units/0/payments/captures/0/id").ok_or_else(|| {
            rejected(
                Some("not_captured".into()),
                Some("the order has no capture to refund".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        })?;
        let answer = api
            .send(
                api.rest
                    .post(&format!("/v2/payments/captures/{capture}/refund"))
                    .header(REQUEST_ID, &request.idempotency_key)
                    .json(&json!({
                        "amount": {
                            "currency_code": request.amount.currency.as_str(),
                            "value": request.amount.to_decimal_string(),
                        },
                        "custom_id": request.refund_id,
                    })),
            )
            .await?;
        Ok(ProviderRefund {
            reference: text(&answer, "/id").ok_or_else(|| unreadable("refund id"))?,
            status: match text(&answer, "/status").as_deref() {
                Some("COMPLETED") => PaymentStatus::Succeeded,
                Some("FAILED") => PaymentStatus::Failed,
                Some("CANCELLED") => PaymentStatus::Cancelled,
                _ => PaymentStatus::Processing,
            },
            amount: request.amount,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let mut answer = api
            .send(api.rest.get(&format!("/v2/checkout/orders/{reference}")))
            .await?;
        let amount = order_amount(&answer)?;
        if text(&answer, "/status").as_deref() == Some("APPROVED") {
            answer = self
                .capture_order(api, reference, &format!("capture-{reference}"))
                .await?;
        }
        order(&answer, amount)
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        self.notifications.verify(headers, body, now).await
    }

    #[tracing::instrument(skip(self))]
    async fn settled_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        let api = self.api()?;
        let mut settled = Vec::new();
        let mut start = from;
        while start < to {
            let end = (start + chrono::Duration::days(31)).min(to);
            let mut page: u32 = 1;
            loop {
                let query = [
                    (
                        "start_date",
                        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ),
                    (
                        "end_date",
                        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ),
                    ("fields", "transaction_info".to_owned()),
                    ("transaction_status", "S".to_owned()),
                    ("page_size", PAGE_SIZE.to_string()),
                    ("page", page.to_string()),
                ];
                let answer = api
                    .send(api.rest.get("/v1/reporting/transactions").query(&query))
                    .await?;
                let details = answer
                    .get("transaction_details")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for detail in &details {
                    let info = detail.get("transaction_info").cloned().unwrap_or_default();
                    if text(&info, "/transaction_status").as_deref() != Some("S") {
                        continue;
                    }
                    let id = text(&info, "/transaction_id")
                        .ok_or_else(|| unreadable("transaction_id"))?;
                    let amount = decimal_money(
                        text(&info, "/transaction_amount/value"),
                        text(&info, "/transaction_amount/currency_code"),
                    )
                    .ok_or_else(|| unreadable("transaction_amount"))?;
                    // Money out (a refund, T11xx) keeps its own id; money in is keyed on its order.
                    let reference = if amount.amount < 0 {
                        id
                    } else {
                        self.order_of_capture(api, &id).await?
                    };
                    let fee = decimal_money(
                        text(&info, "/fee_amount/value")
                            .map(|v| v.trim_start_matches('-').to_owned()),
                        text(&info, "/fee_amount/currency_code"),
                    );
                    settled.push(SettledTransaction {
                        reference,
                        amount,
                        provider_fee: fee,
                        settled_at: paypal_time(text(&info, "/transaction_updated_date"))
                            .or_else(|| paypal_time(text(&info, "/transaction_initiation_date")))
                            .ok_or_else(|| unreadable("transaction date"))?,
                    });
                }
                let pages = answer
                    .get("total_pages")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                if u64::from(page) >= pages {
                    break;
                }
                page += 1;
            }
            start = end;
        }
        Ok(settled)
    }
}
