//! PayPal's notifications (developer.paypal.com, "Webhooks" and "Webhook event names"):
//! verified offline by [`crate::notifications::paypal`] (RSA-SHA256 with the certificate from
//! `paypal-cert-url`, fetched only from paypal.com and cached by URL), then the event
//! `{id, event_type, create_time, resource}`:
//!
//! - `PAYMENT.CAPTURE.COMPLETED`, `.PENDING`, `.DENIED`, `.DECLINED`: the capture of the order
//!   `resource.supplementary_data.related_ids.order_id` (the reference our create keeps; the
//!   capture's own id when absent) moved; `resource.custom_id` is our payment id;
//! - `PAYMENT.CAPTURE.REFUNDED` and `PAYMENT.REFUND.*`: the refund `resource.id` of the capture
//!   its `up` link names moved;
//! - anything else is recorded and not acted on.
//!
//! Amounts are `{currency_code, value}` with a decimal string, read exactly.

use std::sync::Arc;

use async_trait::async_trait;
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::payments::provider::{Headers, WebhookError, WebhookEvent, WebhookSubject};
use vendrome_core::time::Timestamp;

use super::{
    decimal_money, failure, json_body, required, rfc3339, text, Notifications, ProviderSettings,
};
use crate::notifications::paypal::{self, CertificateCache, CertificateSource, HttpsCertificates};

/// PayPal's notifications, checked against our webhook id.
pub struct PaypalNotifications {
    webhook_id: String,
    certificates: Arc<CertificateCache>,
}

impl PaypalNotifications {
    /// Certificates fetched over HTTPS.
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self::with_certificates(
            settings,
            Arc::new(HttpsCertificates::new(reqwest::Client::new())),
        )
    }

    /// Certificates from `source` (tests, which cannot reach paypal.com).
    #[must_use]
    pub fn with_certificates(
        settings: &ProviderSettings,
        source: Arc<dyn CertificateSource>,
    ) -> Self {
        Self {
            webhook_id: settings.notification_secret().to_owned(),
            certificates: Arc::new(CertificateCache::new(source)),
        }
    }

    /// The certificate cache's (hits, misses).
    #[must_use]
    pub fn cache_counts(&self) -> (u64, u64) {
        self.certificates.counts()
    }
}

/// The capture id a refund's `up` link points at.
fn up_link(resource: &serde_json::Value) -> Option<String> {
    resource
        .get("links")?
        .as_array()?
        .iter()
        .find(|link| link.get("rel").and_then(|r| r.as_str()) == Some("up"))?
        .get("href")?
        .as_str()?
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .map(str::to_owned)
}

/// Reads a verified PayPal event.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when it is not JSON or lacks what its type needs.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let payload = json_body(body)?;
    let event_id = required(&payload, "/id")?;
    let event_type = required(&payload, "/event_type")?;
    let amount = decimal_money(
        text(&payload, "/resource/amount/value"),
        text(&payload, "/resource/amount/currency_code"),
    );
    let capture_status = match event_type.as_str() {
        "PAYMENT.CAPTURE.COMPLETED" => Some(PaymentStatus::Succeeded),
        "PAYMENT.CAPTURE.PENDING" => Some(PaymentStatus::Processing),
        "PAYMENT.CAPTURE.DENIED" | "PAYMENT.CAPTURE.DECLINED" => Some(PaymentStatus::Failed),
        _ => None,
    };
    let refund_status = match event_type.as_str() {
        "PAYMENT.CAPTURE.REFUNDED" | "PAYMENT.REFUND.COMPLETED" => Some(PaymentStatus::Succeeded),
        "PAYMENT.REFUND.PENDING" => Some(PaymentStatus::Processing),
        "PAYMENT.REFUND.FAILED" | "PAYMENT.REFUND.DENIED" => Some(PaymentStatus::Failed),
        _ => None,
    };
    let subject = if let Some(status) = capture_status {
        WebhookSubject::Payment {
            reference: text(
                &payload,
                "/resource/supplementary_data/related_ids/order_id",
            )
            .map_or_else(|| required(&payload, "/resource/id"), Ok)?,
            payment_id: text(&payload, "/resource/custom_id"),
            status,
            amount,
            failure: failure(status, &event_type, text(&payload, "/summary")),
        }
    } else if let Some(status) = refund_status {
        let resource = payload.get("resource").cloned().unwrap_or_default();
        WebhookSubject::Refund {
            reference: required(&payload, "/resource/id")?,
            charge_reference: up_link(&resource)
                .ok_or_else(|| WebhookError::Malformed("a refund without its capture".into()))?,
            status,
            amount,
        }
    } else {
        WebhookSubject::Other
    };
    Ok(WebhookEvent {
        event_id,
        event_type,
        occurred_at: rfc3339(text(&payload, "/create_time")),
        subject,
        payload,
    })
}

#[async_trait]
impl Notifications for PaypalNotifications {
    fn provider(&self) -> ProviderId {
        ProviderId::Paypal
    }

    async fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        paypal::verify(headers, &self.webhook_id, body, &self.certificates).await?;
        parse(body)
    }
}
