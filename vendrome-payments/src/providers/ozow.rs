//! Ozow's notifications (hub.ozow.com, "Step 2: process Ozow response" and "Outcome"): posted
//! form fields whose `Hash` is checked by [`crate::notifications::ozow`], then read:
//! `TransactionReference` is ours (the payment id: Ozow has no idempotency key, so the unique
//! reference is our dedupe), `TransactionId` Ozow's, `Amount` a decimal in `CurrencyCode`, and
//! `Status` one of `Complete`, `Cancelled`, `Error`, `Abandoned`, `PendingInvestigation`,
//! `Pending`. Ozow warns notifications repeat: the event's id is `TransactionId:Status`, so a
//! repeat is a duplicate.

use async_trait::async_trait;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{Headers, WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::time::Timestamp;

use super::{decimal_money, failure, Notifications, ProviderSettings};
use crate::notifications::{field, form_fields, ozow};

/// Ozow's notifications, checked with the site's private key.
pub struct OzowNotifications {
    private_key: String,
}

impl OzowNotifications {
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            private_key: settings.notification_secret().to_owned(),
        }
    }
}

/// The status an Ozow `Status` means.
#[must_use]
pub fn status(raw: &str) -> PaymentStatus {
    match raw {
        "Complete" => PaymentStatus::Succeeded,
        "Cancelled" | "Abandoned" => PaymentStatus::Cancelled,
        "Error" => PaymentStatus::Failed,
        _ => PaymentStatus::Processing,
    }
}

/// Reads verified notification fields.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when a field it needs is missing.
pub fn parse(fields: &[(String, String)]) -> Result<WebhookEvent, WebhookError> {
    let need = |name: &str| {
        field(fields, name)
            .map(str::to_owned)
            .ok_or_else(|| WebhookError::Malformed(format!("no {name}")))
    };
    let transaction_id = need("TransactionId")?;
    let reference = need("TransactionReference")?;
    let raw_status = need("Status")?;
    let status = status(&raw_status);
    let amount = decimal_money(
        field(fields, "Amount").map(str::to_owned),
        field(fields, "CurrencyCode").map(str::to_owned),
    );
    let payload = serde_json::Value::Object(
        fields
            .iter()
            .filter(|(name, _)| name != "Hash")
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    );
    Ok(WebhookEvent {
        event_id: format!("{transaction_id}:{raw_status}"),
        event_type: raw_status.clone(),
        occurred_at: None,
        subject: WebhookSubject::Payment {
            payment_id: Some(reference.clone()),
            reference,
            status,
            amount,
            failure: failure(
                status,
                &raw_status,
                field(fields, "StatusMessage").map(str::to_owned),
            ),
        },
        payload,
    })
}

#[async_trait]
impl Notifications for OzowNotifications {
    fn provider(&self) -> ProviderId {
        ProviderId::Ozow
    }

    async fn verify(
        &self,
        _headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        let fields = form_fields(body)?;
        ozow::verify(&fields, &self.private_key)?;
        parse(&fields)
    }
}
