//! Payfast's Instant Transaction Notifications (Payfast's PHP SDK,
//! `lib/PaymentIntegrations/Notification.php`, and the ITN guide), accepted only when all four
//! checks pass:
//!
//! 1. the MD5 `signature` over the posted fields with the passphrase
//!    ([`crate::notifications::payfast::verify_signature`]);
//! 2. the sender's address ([`super::SOURCE_ADDRESS`], as the server resolved it) is one the
//!    configured hosts resolve to (Payfast's four by default);
//! 3. `amount_gross` is exactly the payment's amount: the notification carries it as the
//!    subject's amount, and the webhook pipeline refuses a settlement whose amount is not the
//!    payment's (`amount_mismatch`);
//! 4. the same parameter string, posted back to `{PROCESS_BASE}/eng/query/validate`, answers
//!    `VALID`.
//!
//! Then `m_payment_id` is ours (the payment id), `pf_payment_id` Payfast's, `payment_status`
//! `COMPLETE`, `FAILED`, `CANCELLED` or `PENDING`. The event's id is
//! `pf_payment_id:payment_status`.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{Headers, WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::time::Timestamp;

use super::{decimal_money, failure, Notifications, ProviderSettings, SOURCE_ADDRESS};
use crate::notifications::{field, form_fields, invalid, payfast};
use crate::signature::header;

/// How long the validate call may take.
pub const VALIDATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Payfast's ITNs, checked four ways.
pub struct PayfastNotifications {
    passphrase: String,
    validate_url: String,
    source_hosts: Vec<String>,
    http: reqwest::Client,
}

impl PayfastNotifications {
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        let base = settings.get("PROCESS_BASE").unwrap_or_default();
        Self {
            passphrase: settings.notification_secret().to_owned(),
            validate_url: format!("{}/eng/query/validate", base.trim_end_matches('/')),
            source_hosts: settings
                .get("SOURCE_HOSTS")
                .unwrap_or_default()
                .split(',')
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
            http: reqwest::Client::builder()
                .timeout(VALIDATE_TIMEOUT)
                .build()
                .unwrap_or_default(),
        }
    }

    /// Check 2: the sender is one of the hosts.
    async fn check_source(&self, headers: &Headers) -> Result<(), WebhookError> {
        let source: IpAddr = header(headers, SOURCE_ADDRESS)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| invalid("the sender's address is unknown"))?;
        for host in &self.source_hosts {
            if let Ok(addresses) = tokio::net::lookup_host((host.as_str(), 443)).await {
                if addresses.map(|a| a.ip()).any(|ip| ip == source) {
                    return Ok(());
                }
            }
        }
        Err(invalid(format!("{source} is not one of Payfast's hosts")))
    }

    /// Check 4: Payfast confirms the notification.
    async fn validate(&self, fields: &[(String, String)]) -> Result<(), WebhookError> {
        let answer = self
            .http
            .post(&self.validate_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(payfast::validation_body(fields))
            .send()
            .await
            .map_err(|e| invalid(format!("the validate call failed: {e}")))?;
        let text = answer
            .text()
            .await
            .map_err(|e| invalid(format!("the validate call failed: {e}")))?;
        if text.trim() == "VALID" {
            Ok(())
        } else {
            Err(invalid("Payfast did not confirm the notification"))
        }
    }
}

/// The status a `payment_status` means.
#[must_use]
pub fn status(raw: &str) -> PaymentStatus {
    match raw {
        "COMPLETE" => PaymentStatus::Succeeded,
        "FAILED" => PaymentStatus::Failed,
        "CANCELLED" => PaymentStatus::Cancelled,
        _ => PaymentStatus::Processing,
    }
}

/// Reads verified ITN fields (Payfast takes rand only).
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
    let ours = need("m_payment_id")?;
    let theirs = need("pf_payment_id")?;
    let raw_status = need("payment_status")?;
    let status = status(&raw_status);
    let payload = serde_json::Value::Object(
        fields
            .iter()
            .filter(|(name, _)| name != "signature")
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    );
    Ok(WebhookEvent {
        event_id: format!("{theirs}:{raw_status}"),
        event_type: raw_status.clone(),
        occurred_at: None,
        subject: WebhookSubject::Payment {
            payment_id: Some(ours.clone()),
            reference: ours,
            status,
            amount: decimal_money(need("amount_gross").ok(), Some("ZAR".to_owned())),
            failure: failure(status, &raw_status, None),
        },
        payload,
    })
}

#[async_trait]
impl Notifications for PayfastNotifications {
    fn provider(&self) -> ProviderId {
        ProviderId::Payfast
    }

    async fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        let fields = form_fields(body)?;
        payfast::verify_signature(&fields, Some(&self.passphrase))?;
        self.check_source(headers).await?;
        let event = parse(&fields)?;
        self.validate(&fields).await?;
        Ok(event)
    }
}
