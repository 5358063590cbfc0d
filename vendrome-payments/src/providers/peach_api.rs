//! The Peach Payments adapter, Checkout V1 (developer.peachpayments.com: "Checkout",
//! "Checkout authentication", "Query a checkout's status", "Refund"); every request's
//! parameters are signed with the secret token (HMAC-SHA256 over the sorted names and values,
//! [`crate::notifications::peach::sign_checkout`]).
//!
//! - `create`: `POST {CHECKOUT_BASE}/checkout/initiate` (form, `Referer` the return URL) with
//!   our payment id as `merchantTransactionId`, the amount a decimal string, `paymentType=DB`;
//!   the payer goes to the answer's `redirectUrl`. Peach has no idempotency key: the
//!   `merchantTransactionId` is our dedupe, so a checkout Peach already has under it (the status
//!   query) is answered instead of a second one. Our payment id is the adapter's reference.
//! - `status`: `GET {CHECKOUT_BASE}/status?authentication.entityId&merchantTransactionId`, the
//!   latest checkout for it; its `result.code` as [`super::peach::result_status`] groups it.
//! - `refund`: `POST {API_BASE}/v1/checkout/refund` (`paymentType=RF`) for the debit's `id`.
//! - No capture through Checkout, and no settlement listing (Peach reconciles in its
//!   dashboard): reconciliation has nothing to read.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::Value;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::Money;
use vendrome_core::payments::provider::{
    CreatePayment, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
};
use vendrome_core::time::Timestamp;

use super::http::{rejected, unreadable, Rest};
use super::peach::{result_status, PeachNotifications};
use super::{decimal_money, failure, listen_only, text, Notifications, ProviderSettings};
use crate::notifications::peach::sign_checkout;

struct Api {
    checkout: Rest,
    api: Rest,
    entity_id: String,
    secret_token: String,
}

impl Api {
    /// `params` with the entity id and their signature.
    fn signed(&self, mut params: Vec<(String, String)>) -> Vec<(String, String)> {
        params.push(("authentication.entityId".to_owned(), self.entity_id.clone()));
        let signature = sign_checkout(&self.secret_token, &params);
        params.push(("signature".to_owned(), signature));
        params
    }
}

/// Peach's refusal, its result code as ours (`not_found` for a 404: no such checkout).
fn refused(status: StatusCode, body: &Value) -> ProviderError {
    let code = if status == StatusCode::NOT_FOUND {
        Some(NOT_FOUND.to_owned())
    } else {
        text(body, "/result/code")
    };
    rejected(code, text(body, "/result/description"), status)
}

const NOT_FOUND: &str = "not_found";

/// The Peach adapter: see the module documentation.
pub struct Peach {
    notifications: PeachNotifications,
    api: Option<Api>,
}

impl Peach {
    /// The adapter; without `ENTITY_ID` and `SECRET_TOKEN` it only listens.
    ///
    /// # Errors
    ///
    /// When the webhook key is not 32 or 64 hex characters.
    pub fn new(settings: &ProviderSettings) -> Result<Self, String> {
        Ok(Self {
            notifications: PeachNotifications::new(settings)?,
            api: settings
                .pair("ENTITY_ID", "SECRET_TOKEN")
                .map(|(entity_id, secret_token)| Api {
                    checkout: Rest::new(settings.get("CHECKOUT_BASE").unwrap_or_default()),
                    api: Rest::new(settings.get("API_BASE").unwrap_or_default()),
                    entity_id,
                    secret_token,
                }),
        })
    }

    fn api(&self) -> Result<&Api, ProviderError> {
        self.api
            .as_ref()
            .ok_or_else(|| listen_only(ProviderId::Peach))
    }

    /// The latest checkout under our payment id; `None` when Peach has none.
    async fn latest(&self, api: &Api, reference: &str) -> Result<Option<Value>, ProviderError> {
        let query = api.signed(vec![(
            "merchantTransactionId".to_owned(),
            reference.to_owned(),
        )]);
        match api
            .checkout
            .send(api.checkout.get("/status").query(&query), refused)
            .await
        {
            Ok(found) => Ok(Some(found)),
            Err(ProviderError::Rejected(f)) if f.code == NOT_FOUND => Ok(None),
            Err(other) => Err(other),
        }
    }
}

fn payment(
    reference: &str,
    found: &Value,
    asked: Option<Money>,
) -> Result<ProviderPayment, ProviderError> {
    let code = text(found, "/result/code").ok_or_else(|| unreadable("result.code"))?;
    let status = match result_status(&code) {
        // A checkout the payer has not finished yet.
        PaymentStatus::Processing if text(found, "/id").is_none() => PaymentStatus::RequiresAction,
        other => other,
    };
    Ok(ProviderPayment {
        reference: reference.to_owned(),
        status,
        amount: decimal_money(text(found, "/amount"), text(found, "/currency"))
            .or(asked)
            .ok_or_else(|| unreadable("amount"))?,
        next_action: match text(found, "/redirectUrl") {
            Some(url) if status == PaymentStatus::RequiresAction => NextAction::Redirect { url },
            _ => NextAction::None,
        },
        failure: failure(status, &code, text(found, "/result/description")),
    })
}

#[async_trait]
impl PaymentProvider for Peach {
    fn id(&self) -> ProviderId {
        ProviderId::Peach
    }

    /// Cards in any currency the entity takes, with Checkout credentials.
    fn methods(&self) -> Vec<MethodOffer> {
        self.api
            .iter()
            .map(|_| MethodOffer {
                provider: ProviderId::Peach,
                method: "card".to_owned(),
                currencies: Vec::new(),
            })
            .collect()
    }

    #[tracing::instrument(skip(self, request), fields(payment_id = %request.payment_id))]
    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        if let Some(found) = self.latest(api, &request.payment_id).await? {
            return payment(&request.payment_id, &found, Some(request.amount));
        }
        let url = request.return_url.clone().unwrap_or_default();
        let params = api.signed(vec![
            (
                "merchantTransactionId".to_owned(),
                request.payment_id.clone(),
            ),
            ("amount".to_owned(), request.amount.to_decimal_string()),
            (
                "currency".to_owned(),
                request.amount.currency.as_str().to_owned(),
            ),
            ("paymentType".to_owned(), "DB".to_owned()),
            ("nonce".to_owned(), request.idempotency_key.clone()),
            ("shopperResultUrl".to_owned(), url.clone()),
        ]);
        let answer = api
            .checkout
            .send(
                api.checkout
                    .post("/checkout/initiate")
                    .header("Referer", url)
                    .header("Accept", "application/json")
                    .form(&params),
                refused,
            )
            .await?;
        Ok(ProviderPayment {
            reference: request.payment_id.clone(),
            status: PaymentStatus::RequiresAction,
            amount: request.amount,
            next_action: NextAction::Redirect {
                url: text(&answer, "/redirectUrl").ok_or_else(|| unreadable("redirectUrl"))?,
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
        let debit = self
            .latest(api, &request.charge_reference)
            .await?
            .and_then(|found| text(&found, "/id"))
            .ok_or_else(|| {
                rejected(
                    Some("not_paid".into()),
                    Some("Peach has no debit to refund".into()),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            })?;
        let params = api.signed(vec![
            ("id".to_owned(), debit),
            ("amount".to_owned(), request.amount.to_decimal_string()),
            (
                "currency".to_owned(),
                request.amount.currency.as_str().to_owned(),
            ),
            ("paymentType".to_owned(), "RF".to_owned()),
        ]);
        let answer = api
            .api
            .send(api.api.post("/v1/checkout/refund").form(&params), refused)
            .await?;
        let code = text(&answer, "/result/code").ok_or_else(|| unreadable("result.code"))?;
        Ok(ProviderRefund {
            reference: text(&answer, "/id").ok_or_else(|| unreadable("refund id"))?,
            status: result_status(&code),
            amount: request.amount,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        match self.latest(api, reference).await? {
            Some(found) => payment(reference, &found, None),
            None => Err(rejected(
                Some("not_found".into()),
                Some("Peach has no checkout for it".into()),
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

    /// Peach has no settlement listing through Checkout.
    async fn settled_transactions(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        Err(ProviderError::Unsupported)
    }
}
