//! Yoco's notifications (developer.yoco.com, "Webhooks" and "Verifying the events"): Standard
//! Webhooks headers verified by [`crate::notifications::standard`] with Yoco's three minutes,
//! then the event `{id, type, createdDate, payload}`:
//!
//! - `payment.succeeded`, `payment.failed`: the checkout `payload.metadata.checkoutId` (the
//!   reference our create keeps) moved; `payload.metadata.paymentId` is ours when echoed;
//! - `refund.succeeded`, `refund.failed`: the refund `payload.id` of that checkout moved;
//! - anything else is recorded and not acted on.
//!
//! Amounts are integer cents (`payload.amount`, `payload.currency`).

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::json;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    CreatePayment, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
    WebhookSubject,
};
use vendrome_core::time::Timestamp;

use super::http::{rejected, unreadable, Rest};
use super::{
    failure, json_body, listen_only, minor_money, required, rfc3339, text, Notifications,
    ProviderSettings,
};
use crate::notifications::standard;

/// Our payment id in a checkout's metadata.
pub const PAYMENT_ID: &str = "paymentId";

/// Yoco's notifications, checked with the `whsec_…` secret.
pub struct YocoNotifications {
    secret: String,
}

impl YocoNotifications {
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            secret: settings.notification_secret().to_owned(),
        }
    }
}

/// Reads a verified Yoco event.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when it is not JSON or lacks what its type needs.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let payload = json_body(body)?;
    let event_id = required(&payload, "/id")?;
    let event_type = required(&payload, "/type")?;
    let amount = minor_money(
        text(&payload, "/payload/amount"),
        text(&payload, "/payload/currency"),
    );
    let checkout = || required(&payload, "/payload/metadata/checkoutId");
    let subject = match event_type.as_str() {
        "payment.succeeded" | "payment.failed" => {
            let status = if event_type == "payment.succeeded" {
                PaymentStatus::Succeeded
            } else {
                PaymentStatus::Failed
            };
            WebhookSubject::Payment {
                reference: checkout()?,
                payment_id: text(&payload, &format!("/payload/metadata/{PAYMENT_ID}")),
                status,
                amount,
                failure: failure(
                    status,
                    "payment_failed",
                    text(&payload, "/payload/failureReason"),
                ),
            }
        }
        "refund.succeeded" | "refund.failed" => WebhookSubject::Refund {
            reference: required(&payload, "/payload/id")?,
            charge_reference: checkout()?,
            status: if event_type == "refund.succeeded" {
                PaymentStatus::Succeeded
            } else {
                PaymentStatus::Failed
            },
            amount,
        },
        _ => WebhookSubject::Other,
    };
    Ok(WebhookEvent {
        event_id,
        event_type,
        occurred_at: rfc3339(text(&payload, "/createdDate")),
        subject,
        payload,
    })
}

#[async_trait]
impl Notifications for YocoNotifications {
    fn provider(&self) -> ProviderId {
        ProviderId::Yoco
    }

    async fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        standard::verify(headers, &self.secret, body, now, standard::YOCO_TOLERANCE)?;
        parse(body)
    }
}

/// Yoco's checkout API with the secret key.
struct Api {
    rest: Rest,
    secret_key: String,
}

/// The Yoco adapter (developer.yoco.com, "Accept payments" and "Accept refunds"): a hosted
/// checkout per payment, in rand only; refunds by checkout; no capture, and no public
/// settlement listing (reconciliation has nothing to read).
///
/// - `create`: `POST /api/checkouts` with `Idempotency-Key` (Yoco's own), the amount in cents,
///   `metadata.paymentId` ours; the payer goes to `redirectUrl`.
/// - `status`: `GET /api/checkouts/{id}` (`created`/`started` → waiting for the payer,
///   `processing`, `completed` → succeeded, `expired`/`cancelled`, `failed`).
/// - `refund`: `POST /api/checkouts/{id}/refund` with `Idempotency-Key`, answered 202: the
///   result comes as `refund.succeeded` or `refund.failed`.
pub struct Yoco {
    notifications: YocoNotifications,
    api: Option<Api>,
}

impl Yoco {
    /// The adapter; without `SECRET_KEY` it only listens.
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            notifications: YocoNotifications::new(settings),
            api: settings.get("SECRET_KEY").map(|key| Api {
                rest: Rest::new(settings.get("API_BASE").unwrap_or_default()),
                secret_key: key.to_owned(),
            }),
        }
    }

    fn api(&self) -> Result<&Api, ProviderError> {
        self.api
            .as_ref()
            .ok_or_else(|| listen_only(ProviderId::Yoco))
    }
}

fn refused(status: StatusCode, body: &serde_json::Value) -> ProviderError {
    rejected(
        text(body, "/errorCode").or_else(|| text(body, "/errorType")),
        text(body, "/displayMessage").or_else(|| text(body, "/description")),
        status,
    )
}

/// A checkout's status as ours.
#[must_use]
pub fn checkout_status(raw: &str) -> PaymentStatus {
    match raw {
        "completed" | "succeeded" => PaymentStatus::Succeeded,
        "processing" => PaymentStatus::Processing,
        "expired" | "cancelled" => PaymentStatus::Cancelled,
        "failed" => PaymentStatus::Failed,
        _ => PaymentStatus::RequiresAction,
    }
}

fn checkout(
    body: &serde_json::Value,
    asked: Option<Money>,
) -> Result<ProviderPayment, ProviderError> {
    let reference = text(body, "/id").ok_or_else(|| unreadable("checkout id"))?;
    let status = checkout_status(&text(body, "/status").unwrap_or_default());
    let amount = minor_money(text(body, "/amount"), text(body, "/currency"))
        .or(asked)
        .ok_or_else(|| unreadable("amount"))?;
    let next_action = match text(body, "/redirectUrl") {
        Some(url) if status == PaymentStatus::RequiresAction => NextAction::Redirect { url },
        _ => NextAction::None,
    };
    Ok(ProviderPayment {
        reference,
        status,
        amount,
        next_action,
        failure: failure(status, "payment_failed", None),
    })
}

#[async_trait]
impl PaymentProvider for Yoco {
    fn id(&self) -> ProviderId {
        ProviderId::Yoco
    }

    /// Cards in rand, with API credentials.
    fn methods(&self) -> Vec<MethodOffer> {
        self.api
            .iter()
            .map(|_| MethodOffer {
                provider: ProviderId::Yoco,
                method: "card".to_owned(),
                currencies: vec![Currency::parse("ZAR").expect("ISO 4217")],
            })
            .collect()
    }

    #[tracing::instrument(skip(self, request), fields(payment_id = %request.payment_id))]
    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        if request.amount.currency.as_str() != "ZAR" {
            return Err(rejected(
                Some("unsupported_currency".into()),
                Some("Yoco takes rand only".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        let mut body = json!({
            "amount": request.amount.amount,
            "currency": "ZAR",
            "metadata": {PAYMENT_ID: request.payment_id, "description": request.description},
        });
        if let Some(url) = &request.return_url {
            for key in ["successUrl", "cancelUrl", "failureUrl"] {
                body[key] = json!(url);
            }
        }
        let answer = api
            .rest
            .send(
                api.rest
                    .post("/api/checkouts")
                    .bearer_auth(&api.secret_key)
                    .header("Idempotency-Key", &request.idempotency_key)
                    .json(&body),
                refused,
            )
            .await?;
        checkout(&answer, Some(request.amount))
    }

    async fn capture(&self, _: &str, _: Money, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    #[tracing::instrument(skip(self, request), fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let api = self.api()?;
        let answer = api
            .rest
            .send(
                api.rest
                    .post(&format!(
                        "/api/checkouts/{}/refund",
                        request.charge_reference
                    ))
                    .bearer_auth(&api.secret_key)
                    .header("Idempotency-Key", &request.idempotency_key)
                    .json(&json!({
                        "amount": request.amount.amount,
                        "metadata": {"refundId": request.refund_id},
                    })),
                refused,
            )
            .await?;
        Ok(ProviderRefund {
            reference: text(&answer, "/refundId")
                .or_else(|| text(&answer, "/id"))
                .ok_or_else(|| unreadable("refund id"))?,
            status: match text(&answer, "/status").as_deref() {
                Some("succeeded") => PaymentStatus::Succeeded,
                Some("failed") => PaymentStatus::Failed,
                _ => PaymentStatus::Processing,
            },
            amount: request.amount,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let answer = api
            .rest
            .send(
                api.rest
                    .get(&format!("/api/checkouts/{reference}"))
                    .bearer_auth(&api.secret_key),
                refused,
            )
            .await?;
        checkout(&answer, None)
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        self.notifications.verify(headers, body, now).await
    }

    /// Yoco has no public settlement listing.
    async fn settled_transactions(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        Err(ProviderError::Unsupported)
    }
}
