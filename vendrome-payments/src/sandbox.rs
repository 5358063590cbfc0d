//! The sandbox provider: checkout with no provider account, like hyperswitch's dummy connector.
//! No money moves.
//!
//! - `create` answers `requires_action` with a redirect to
//!   `{public_base_url}/v1/payments/sandbox/{payment_id}`, where the server shows Pay and
//!   Decline; the reference is `sbx_` and a digest of our idempotency key, so a retried create
//!   (even after a restart) gets the same reference.
//! - The outcome comes back as a webhook ([`Sandbox::outcome_webhook`]) signed like Stripe's
//!   (HMAC-SHA256 over `{t}.{body}`, 300 s tolerance) under header
//!   [`SIGNATURE_HEADER`] with the sandbox's own secret, and the server posts it through the same
//!   webhook path as every provider.
//! - Refunds succeed at once (reference `sbx_re_…`).
//!
//! State: what it has answered, in memory only (payments by reference with their outcome, and
//! refunds), for `status` and `settled_transactions`. After a restart it knows nothing: `status`
//! of a reference it does not know answers `requires_action` (the payer may still press a
//! button), and reconciliation sees only what this process settled.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    CreatePayment, Failure, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
    WebhookSubject,
};
use vendrome_core::payments::Payment;
use vendrome_core::time::{self, Timestamp};

use crate::signature;

/// The header the sandbox signs its webhooks under.
pub const SIGNATURE_HEADER: &str = "vendrome-sandbox-signature";

/// How the sandbox is set up.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where the server is reached from a browser, without a trailing slash
    /// (`http://127.0.0.1:8080`).
    pub public_base_url: String,
    /// The secret its webhooks are signed with.
    pub webhook_secret: String,
}

/// The outcome the payer picks on the sandbox page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxOutcome {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone)]
struct Known {
    payment_id: String,
    amount: Money,
    status: PaymentStatus,
    settled_at: Option<Timestamp>,
}

/// The sandbox provider. See the module documentation for what it keeps.
pub struct Sandbox {
    config: SandboxConfig,
    /// Payments and refunds by reference.
    known: Mutex<HashMap<String, Known>>,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            config,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reference(prefix: &str, idempotency_key: &str) -> String {
        let digest = Sha256::digest(idempotency_key.as_bytes());
        format!("{prefix}{}", hex::encode(&digest[..12]))
    }

    /// The page the payer is sent to.
    pub fn page_url(&self, payment_id: &str) -> String {
        format!(
            "{}/v1/payments/sandbox/{payment_id}",
            self.config.public_base_url
        )
    }

    /// A signed webhook telling that `payment` reached `outcome`: the headers (lower-cased names)
    /// and the body, for the server to pass to the webhook handler as a provider would send it.
    pub fn outcome_webhook(
        &self,
        payment: &Payment,
        outcome: SandboxOutcome,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let now = time::now();
        let reference = payment
            .provider_reference
            .clone()
            .unwrap_or_else(|| Self::reference("sbx_", &payment.idempotency_key));
        let status = match outcome {
            SandboxOutcome::Succeeded => PaymentStatus::Succeeded,
            SandboxOutcome::Failed => PaymentStatus::Failed,
        };
        self.known().insert(
            reference.clone(),
            Known {
                payment_id: payment.id.to_string(),
                amount: payment.amount,
                status,
                settled_at: (status == PaymentStatus::Succeeded).then_some(now),
            },
        );
        let body = serde_json::json!({
            "id": format!("evt_sbx_{}", uuid::Uuid::now_v7().simple()),
            "type": format!("payment.{status}"),
            "created": now.timestamp(),
            "data": {
                "reference": reference,
                "payment_id": payment.id.to_string(),
                "status": status,
                "amount": payment.amount.amount,
                "currency": payment.amount.currency,
            },
        });
        let body = serde_json::to_vec(&body).expect("JSON values serialise");
        let header = signature::sign(&self.config.webhook_secret, now.timestamp(), &body);
        (vec![(SIGNATURE_HEADER.to_owned(), header)], body)
    }
}

#[derive(serde::Deserialize)]
struct Body {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    data: Data,
}

#[derive(serde::Deserialize)]
struct Data {
    reference: String,
    payment_id: String,
    status: PaymentStatus,
    amount: i64,
    currency: Currency,
}

#[async_trait]
impl PaymentProvider for Sandbox {
    fn id(&self) -> ProviderId {
        ProviderId::Sandbox
    }

    /// Cards in every currency: the sandbox takes anything.
    fn methods(&self) -> Vec<MethodOffer> {
        vec![MethodOffer {
            provider: ProviderId::Sandbox,
            method: "card".to_owned(),
            currencies: Vec::new(),
        }]
    }

    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let reference = Self::reference("sbx_", &request.idempotency_key);
        let mut known = self.known();
        let entry = known.entry(reference.clone()).or_insert_with(|| Known {
            payment_id: request.payment_id.clone(),
            amount: request.amount,
            status: PaymentStatus::RequiresAction,
            settled_at: None,
        });
        Ok(ProviderPayment {
            reference,
            status: entry.status,
            amount: entry.amount,
            next_action: NextAction::Redirect {
                url: self.page_url(&request.payment_id),
            },
            failure: None,
        })
    }

    async fn capture(
        &self,
        _reference: &str,
        _amount: Money,
        _idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let reference = Self::reference("sbx_re_", &request.idempotency_key);
        self.known()
            .entry(reference.clone())
            .or_insert_with(|| Known {
                payment_id: request.refund_id.clone(),
                amount: request.amount,
                status: PaymentStatus::Succeeded,
                settled_at: Some(time::now()),
            });
        Ok(ProviderRefund {
            reference,
            status: PaymentStatus::Succeeded,
            amount: request.amount,
        })
    }

    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let known = self.known().get(reference).cloned();
        match known {
            Some(k) => Ok(ProviderPayment {
                reference: reference.to_owned(),
                status: k.status,
                amount: k.amount,
                next_action: NextAction::Redirect {
                    url: self.page_url(&k.payment_id),
                },
                failure: (k.status == PaymentStatus::Failed).then(|| Failure {
                    code: "sandbox_declined".to_owned(),
                    message: "declined on the sandbox page".to_owned(),
                }),
            }),
            None => Err(ProviderError::Rejected(Failure {
                code: "unknown_reference".to_owned(),
                message: format!("the sandbox has no payment {reference} in this process"),
            })),
        }
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        signature::verify(
            signature::header(headers, SIGNATURE_HEADER),
            &self.config.webhook_secret,
            body,
            now,
            signature::DEFAULT_TOLERANCE,
        )?;
        let payload: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let parsed: Body = serde_json::from_value(payload.clone())
            .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let failure = (parsed.data.status == PaymentStatus::Failed).then(|| Failure {
            code: "sandbox_declined".to_owned(),
            message: "declined on the sandbox page".to_owned(),
        });
        Ok(WebhookEvent {
            event_id: parsed.id,
            event_type: parsed.event_type,
            occurred_at: chrono::DateTime::from_timestamp(parsed.created, 0),
            subject: WebhookSubject::Payment {
                reference: parsed.data.reference,
                payment_id: Some(parsed.data.payment_id),
                status: parsed.data.status,
                amount: Some(Money::new(parsed.data.amount, parsed.data.currency)),
                failure,
            },
            payload,
        })
    }

    async fn settled_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        Ok(self
            .known()
            .iter()
            .filter_map(|(reference, k)| {
                let at = k.settled_at.filter(|at| from <= *at && *at < to)?;
                let sign = if reference.starts_with("sbx_re_") {
                    -1
                } else {
                    1
                };
                Some(SettledTransaction {
                    reference: reference.clone(),
                    amount: Money::new(sign * k.amount.amount, k.amount.currency),
                    provider_fee: None,
                    settled_at: at,
                })
            })
            .collect())
    }
}
