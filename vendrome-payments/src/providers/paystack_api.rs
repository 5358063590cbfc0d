//! The Paystack adapter (paystack.com/docs/api: Transactions, Refunds, Settlements):
//!
//! - `create`: `POST /transaction/initialize` with our payment id as the `reference` (Paystack
//!   has no idempotency header and refuses a reference twice, so the reference is our dedupe:
//!   a retry that meets "Duplicate Transaction Reference" reads the transaction instead), the
//!   amount in subunits; the payer goes to `authorization_url`. Paystack requires a customer
//!   email; providers are not given the payer's address, so it is a per-payment alias at
//!   `VENDROME_PAYSTACK_CUSTOMER_EMAIL_DOMAIN`.
//! - `status`: `GET /transaction/verify/{reference}`.
//! - `refund`: `POST /refund` with our refund id as the `merchant_note`; Paystack has no
//!   idempotency for refunds either, so the refunds of the transaction are listed first
//!   (`GET /refund?transaction=`) and one carrying our id is answered instead of a second.
//! - `settled_transactions`: `GET /settlement?from&to`, then each settlement's
//!   `GET /settlement/{id}/transactions`, keyed on the transaction's reference (ours); both
//!   lists read page by page (`page`, `perPage`, `meta.pageCount`).
//!
//! Paystack's answers are `{status, message, data}`; a `status: false` 4xx is a refusal.

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
use super::paystack::PaystackNotifications;
use super::{minor_money, rfc3339, text, Notifications, ProviderSettings};

/// Items asked for per page of a list.
const PER_PAGE: u64 = 100;

/// Paystack's answer to a reference it has seen.
const DUPLICATE: &str = "Duplicate Transaction Reference";

fn refused(status: StatusCode, body: &Value) -> ProviderError {
    rejected(text(body, "/code"), text(body, "/message"), status)
}

/// A transaction's status as ours.
#[must_use]
pub fn transaction_status(raw: &str) -> PaymentStatus {
    match raw {
        "success" | "reversed" => PaymentStatus::Succeeded,
        "failed" => PaymentStatus::Failed,
        "abandoned" => PaymentStatus::RequiresAction,
        _ => PaymentStatus::Processing,
    }
}

/// The Paystack adapter: see the module documentation.
pub struct Paystack {
    notifications: PaystackNotifications,
    rest: Rest,
    secret_key: String,
    email_domain: String,
}

impl Paystack {
    /// The adapter: the secret key both signs notifications and opens the API.
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            notifications: PaystackNotifications::new(settings),
            rest: Rest::new(settings.get("API_BASE").unwrap_or_default()),
            secret_key: settings.notification_secret().to_owned(),
            email_domain: settings
                .get("CUSTOMER_EMAIL_DOMAIN")
                .unwrap_or_default()
                .to_owned(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        self.rest
            .send(request.bearer_auth(&self.secret_key), refused)
            .await
    }

    /// Every item of the list at `path` (with `query`), page by page: Paystack pages lists by
    /// `page` (from 1) and `perPage`, and says how many pages there are in `meta.pageCount`.
    async fn all_pages(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, ProviderError> {
        let mut items = Vec::new();
        for page in 1_u64.. {
            let answer = self
                .send(
                    self.rest
                        .get(path)
                        .query(query)
                        .query(&[("perPage", PER_PAGE), ("page", page)]),
                )
                .await?;
            let data = answer
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let empty = data.is_empty();
            items.extend(data);
            let pages = answer
                .pointer("/meta/pageCount")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            if empty || page >= pages {
                break;
            }
        }
        Ok(items)
    }

    async fn verify(
        &self,
        reference: &str,
        asked: Option<Money>,
    ) -> Result<ProviderPayment, ProviderError> {
        let answer = self
            .send(self.rest.get(&format!("/transaction/verify/{reference}")))
            .await?;
        let status = transaction_status(&text(&answer, "/data/status").unwrap_or_default());
        Ok(ProviderPayment {
            reference: reference.to_owned(),
            status,
            amount: minor_money(
                text(&answer, "/data/amount"),
                text(&answer, "/data/currency"),
            )
            .or(asked)
            .ok_or_else(|| unreadable("amount"))?,
            next_action: NextAction::None,
            failure: (status == PaymentStatus::Failed).then(|| Failure {
                code: "payment_failed".to_owned(),
                message: text(&answer, "/data/gateway_response")
                    .unwrap_or_else(|| "failed".to_owned()),
            }),
        })
    }

    /// Our refund among the transaction's refunds, if Paystack has it already.
    async fn existing_refund(
        &self,
        request: &RefundPayment,
    ) -> Result<Option<Value>, ProviderError> {
        let answer = self
            .send(
                self.rest
                    .get("/refund")
                    .query(&[("transaction", request.charge_reference.as_str())]),
            )
            .await?;
        Ok(answer
            .get("data")
            .and_then(Value::as_array)
            .and_then(|refunds| {
                refunds
                    .iter()
                    .find(|r| {
                        text(r, "/merchant_note").as_deref() == Some(request.refund_id.as_str())
                    })
                    .cloned()
            }))
    }
}

fn refund_status(raw: Option<String>) -> PaymentStatus {
    match raw.as_deref() {
        Some("processed") => PaymentStatus::Succeeded,
        Some("failed") => PaymentStatus::Failed,
        _ => PaymentStatus::Processing,
    }
}

#[async_trait]
impl PaymentProvider for Paystack {
    fn id(&self) -> ProviderId {
        ProviderId::Paystack
    }

    /// Cards in any currency the account takes (Paystack refuses the others).
    fn methods(&self) -> Vec<MethodOffer> {
        vec![MethodOffer {
            provider: ProviderId::Paystack,
            method: "card".to_owned(),
            currencies: Vec::new(),
        }]
    }

    #[tracing::instrument(skip(self, request), fields(payment_id = %request.payment_id))]
    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let mut body = json!({
            "email": format!("payment-{}@{}", request.payment_id, self.email_domain),
            "amount": request.amount.amount,
            "currency": request.amount.currency.as_str(),
            "reference": request.payment_id,
            "metadata": {"payment_id": request.payment_id, "description": request.description},
        });
        if let Some(url) = &request.return_url {
            body["callback_url"] = json!(url);
        }
        match self
            .send(self.rest.post("/transaction/initialize").json(&body))
            .await
        {
            Ok(answer) => Ok(ProviderPayment {
                reference: request.payment_id.clone(),
                status: PaymentStatus::RequiresAction,
                amount: request.amount,
                next_action: NextAction::Redirect {
                    url: text(&answer, "/data/authorization_url")
                        .ok_or_else(|| unreadable("authorization_url"))?,
                },
                failure: None,
            }),
            // Made by an earlier try whose answer was lost: the transaction as it stands.
            Err(ProviderError::Rejected(f)) if f.message.contains(DUPLICATE) => {
                self.verify(&request.payment_id, Some(request.amount)).await
            }
            Err(other) => Err(other),
        }
    }

    async fn capture(&self, _: &str, _: Money, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    #[tracing::instrument(skip(self, request), fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let refund = match self.existing_refund(request).await? {
            Some(refund) => refund,
            None => {
                let body = json!({
                    "transaction": request.charge_reference,
                    "amount": request.amount.amount,
                    "merchant_note": request.refund_id,
                });
                let answer = self.send(self.rest.post("/refund").json(&body)).await?;
                answer.get("data").cloned().unwrap_or_default()
            }
        };
        Ok(ProviderRefund {
            reference: text(&refund, "/id").ok_or_else(|| unreadable("refund id"))?,
            status: refund_status(text(&refund, "/status")),
            amount: request.amount,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        self.verify(reference, None).await
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
        let day = |t: Timestamp| t.format("%Y-%m-%d").to_string();
        let settlements = self
            .all_pages("/settlement", &[("from", day(from)), ("to", day(to))])
            .await?;
        let mut settled = Vec::new();
        for settlement in &settlements {
            let id = text(settlement, "/id").ok_or_else(|| unreadable("settlement id"))?;
            let at = rfc3339(text(settlement, "/settlement_date"))
                .ok_or_else(|| unreadable("settlement_date"))?;
            let listed = self
                .all_pages(&format!("/settlement/{id}/transactions"), &[])
                .await?;
            for tx in &listed {
                let currency = text(tx, "/currency");
                settled.push(SettledTransaction {
                    reference: text(tx, "/reference").ok_or_else(|| unreadable("reference"))?,
                    amount: minor_money(text(tx, "/amount"), currency.clone())
                        .ok_or_else(|| unreadable("amount"))?,
                    provider_fee: minor_money(text(tx, "/fees"), currency),
                    settled_at: rfc3339(text(tx, "/paid_at")).unwrap_or(at),
                });
            }
        }
        Ok(settled)
    }
}
