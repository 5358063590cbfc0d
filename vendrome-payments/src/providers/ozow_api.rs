//! The Ozow adapter (hub.ozow.com: "Post payment request", "Get transaction by reference",
//! "Refunds"): instant EFT in rand.
//!
//! - `create`: `POST /PostPaymentRequest` with the `ApiKey` header, our payment id as the
//!   `TransactionReference` (and the adapter's reference), the amount a decimal number, and
//!   `HashCheck` (SHA-512 of the request's fields in Ozow's order and the private key, lower
//!   case); the payer goes to the answer's `url`. Ozow documents no idempotency: the reference
//!   is our dedupe, so a transaction Ozow already has under it is answered instead of a second
//!   request.
//! - `status`: `GET /GetTransactionByReference?siteCode&transactionReference`, the latest.
//! - `refund`: an access token (`POST /token`, `grant_type=password` with the site code and API
//!   key), then `POST /secure/refunds/submit` for Ozow's `transactionId`; refunds are paid from
//!   the merchant's prefunded float, and the result comes by notification.
//! - No capture, and no documented settlement listing: reconciliation has nothing to read.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha512};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    CreatePayment, Failure, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
};
use vendrome_core::time::Timestamp;

use super::http::{rejected, unreadable, with_decimal_amount, Rest};
use super::ozow::{status as ozow_status, OzowNotifications};
use super::{decimal_money, listen_only, text, Notifications, ProviderSettings};

/// The request fields `HashCheck` covers, in Ozow's order.
pub const REQUEST_HASHED: [&str; 17] = [
    "SiteCode",
    "CountryCode",
    "CurrencyCode",
    "Amount",
    "TransactionReference",
    "BankReference",
    "Optional1",
    "Optional2",
    "Optional3",
    "Optional4",
    "Optional5",
    "Customer",
    "CancelUrl",
    "ErrorUrl",
    "SuccessUrl",
    "NotifyUrl",
    "IsTest",
];

/// `HashCheck` of `fields` (name → text) with `private_key`.
#[must_use]
pub fn hash_check(fields: &[(&str, String)], private_key: &str) -> String {
    let mut text = String::new();
    for name in REQUEST_HASHED {
        if let Some((_, value)) = fields.iter().find(|(n, _)| *n == name) {
            text.push_str(value);
        }
    }
    text.push_str(private_key);
    hex::encode(Sha512::digest(text.to_lowercase().as_bytes()))
}

struct Api {
    rest: Rest,
    site_code: String,
    api_key: String,
}

fn refused(status: StatusCode, body: &Value) -> ProviderError {
    rejected(
        None,
        text(body, "/errorMessage").or_else(|| text(body, "/message")),
        status,
    )
}

/// The Ozow adapter: see the module documentation.
pub struct Ozow {
    notifications: OzowNotifications,
    private_key: String,
    api: Option<Api>,
}

impl Ozow {
    /// The adapter; without `SITE_CODE` and `API_KEY` it only listens.
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            notifications: OzowNotifications::new(settings),
            private_key: settings.notification_secret().to_owned(),
            api: settings
                .pair("SITE_CODE", "API_KEY")
                .map(|(site_code, api_key)| Api {
                    rest: Rest::new(settings.get("API_BASE").unwrap_or_default()),
                    site_code,
                    api_key,
                }),
        }
    }

    fn api(&self) -> Result<&Api, ProviderError> {
        self.api
            .as_ref()
            .ok_or_else(|| listen_only(ProviderId::Ozow))
    }

    /// The latest transaction Ozow has under our reference, if any.
    async fn latest(&self, api: &Api, reference: &str) -> Result<Option<Value>, ProviderError> {
        let answer = api
            .rest
            .send(
                api.rest
                    .get("/GetTransactionByReference")
                    .header("ApiKey", &api.api_key)
                    .header("Accept", "application/json")
                    .query(&[
                        ("siteCode", api.site_code.as_str()),
                        ("transactionReference", reference),
                    ]),
                refused,
            )
            .await?;
        Ok(answer.as_array().and_then(|all| all.last().cloned()))
    }
}

fn payment(
    reference: &str,
    tx: &Value,
    asked: Option<Money>,
) -> Result<ProviderPayment, ProviderError> {
    let raw = text(tx, "/status").unwrap_or_default();
    let status = ozow_status(&raw);
    Ok(ProviderPayment {
        reference: reference.to_owned(),
        status,
        amount: decimal_money(
            text(tx, "/amount"),
            text(tx, "/currency").or_else(|| Some("ZAR".into())),
        )
        .or(asked)
        .ok_or_else(|| unreadable("amount"))?,
        next_action: NextAction::None,
        failure: (status == PaymentStatus::Failed).then(|| Failure {
            code: raw.clone(),
            message: text(tx, "/statusMessage").unwrap_or(raw),
        }),
    })
}

#[async_trait]
impl PaymentProvider for Ozow {
    fn id(&self) -> ProviderId {
        ProviderId::Ozow
    }

    /// Instant EFT in rand, with API credentials.
    fn methods(&self) -> Vec<MethodOffer> {
        self.api
            .iter()
            .map(|_| MethodOffer {
                provider: ProviderId::Ozow,
                method: "eft".to_owned(),
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
                Some("Ozow takes rand only".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        if let Some(tx) = self.latest(api, &request.payment_id).await? {
            return payment(&request.payment_id, &tx, Some(request.amount));
        }
        let url = request.return_url.clone().unwrap_or_default();
        let fields: Vec<(&str, String)> = vec![
            ("SiteCode", api.site_code.clone()),
            ("CountryCode", "ZA".to_owned()),
            ("CurrencyCode", "ZAR".to_owned()),
            ("Amount", request.amount.to_decimal_string()),
            ("TransactionReference", request.payment_id.clone()),
            (
                "BankReference",
                request.payment_id.chars().take(20).collect(),
            ),
            ("CancelUrl", url.clone()),
            ("ErrorUrl", url.clone()),
            ("SuccessUrl", url),
            ("IsTest", "false".to_owned()),
        ];
        let mut body = serde_json::Map::new();
        for (name, value) in fields.iter().filter(|(n, _)| *n != "Amount") {
            body.insert((*name).to_owned(), json!(value));
        }
        body.insert(
            "HashCheck".to_owned(),
            json!(hash_check(&fields, &self.private_key)),
        );
        let answer = api
            .rest
            .send(
                api.rest
                    .post("/PostPaymentRequest")
                    .header("ApiKey", &api.api_key)
                    .header("Accept", "application/json")
                    .header("content-type", "application/json")
                    .body(with_decimal_amount(
                        &Value::Object(body),
                        "Amount",
                        request.amount,
                    )),
                refused,
            )
            .await?;
        if let Some(error) = text(&answer, "/errorMessage").filter(|e| !e.is_empty()) {
            return Err(rejected(
                None,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        Ok(ProviderPayment {
            reference: request.payment_id.clone(),
            status: PaymentStatus::RequiresAction,
            amount: request.amount,
            next_action: NextAction::Redirect {
                url: text(&answer, "/url").ok_or_else(|| unreadable("url"))?,
            },
            failure: None,
        })
    }

    async fn capture(&self, _: &str, _: Money, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    #[tracing::instrument(skip(self, request), fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let api = self.api()?;
        let tx = self
            .latest(api, &request.charge_reference)
            .await?
            .ok_or_else(|| {
                rejected(
                    Some("not_found".into()),
                    Some("Ozow has no such transaction".into()),
                    StatusCode::NOT_FOUND,
                )
            })?;
        let transaction_id =
            text(&tx, "/transactionId").ok_or_else(|| unreadable("transactionId"))?;
        let token = api
            .rest
            .send(
                api.rest
                    .post("/token")
                    .header("ApiKey", &api.api_key)
                    .form(&[
                        ("grant_type", "password"),
                        ("SiteCode", api.site_code.as_str()),
                    ]),
                refused,
            )
            .await?;
        let token = text(&token, "/access_token").ok_or_else(|| unreadable("access_token"))?;
        let body = json!({"transactionId": transaction_id, "refundReason": request.refund_id});
        let answer = api
            .rest
            .send(
                api.rest
                    .post("/secure/refunds/submit")
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(with_decimal_amount(&body, "amount", request.amount)),
                refused,
            )
            .await?;
        Ok(ProviderRefund {
            reference: text(&answer, "/refundId").ok_or_else(|| unreadable("refundId"))?,
            status: PaymentStatus::Processing,
            amount: request.amount,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        match self.latest(api, reference).await? {
            Some(tx) => payment(reference, &tx, None),
            None => Err(rejected(
                Some("not_found".into()),
                Some("Ozow has no such transaction".into()),
                StatusCode::NOT_FOUND,
            )),
        }
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        self.notifications.verify(headers, body, now).await
    }

    /// Ozow documents no settlement listing.
    async fn settled_transactions(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        Err(ProviderError::Unsupported)
    }
}
