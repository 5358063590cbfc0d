//! PayPal webhooks, verified offline (no API call per event). Follows PayPal's REST webhooks
//! guide ("Verify the signature", developer.paypal.com/api/rest/webhooks/rest) for the headers,
//! and the message format used by PayPal's SDKs:
//!
//! - headers `paypal-transmission-id`, `paypal-transmission-time`, `paypal-transmission-sig`
//!   (base64), `paypal-cert-url`, `paypal-auth-algo` (`SHA256withRSA`);
//! - the signed message is `{transmission id}|{transmission time}|{webhook id}|{crc32}`, where the
//!   webhook id is ours (configured, never sent) and the CRC32 (IEEE) of the raw body is written
//!   as an unsigned decimal;
//! - the signature is RSA PKCS#1 v1.5 with SHA-256, checked with the public key of the X.509
//!   certificate at `paypal-cert-url`. Only an `https` URL on `paypal.com` or a subdomain is
//!   fetched, and each certificate is fetched once and cached by URL ([`CertificateCache`]), so
//!   a storm of events costs one fetch. The TLS connection to PayPal's host is what vouches for
//!   the certificate.
//!
//! The online alternative, `POST /v1/notifications/verify-webhook-signature`, needs an OAuth
//! token and a round trip per event; the adapter may use it as a fallback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use vendrome_core::payments::provider::{Headers, WebhookError};

use super::invalid;
use crate::signature::header;

/// The only algorithm PayPal signs with.
pub const AUTH_ALGO: &str = "SHA256withRSA";

/// The signed message.
#[must_use]
pub fn message(
    transmission_id: &str,
    transmission_time: &str,
    webhook_id: &str,
    body: &[u8],
) -> String {
    format!(
        "{transmission_id}|{transmission_time}|{webhook_id}|{}",
        crc32fast::hash(body)
    )
}

/// Whether `url` may be fetched for a certificate: `https`, on `paypal.com` or a subdomain, with
/// no credentials or port.
#[must_use]
pub fn allowed_cert_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let host_ok = parsed
        .host_str()
        .is_some_and(|host| host == "paypal.com" || host.ends_with(".paypal.com"));
    parsed.scheme() == "https"
        && host_ok
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.port().is_none()
}

/// Where certificates come from (HTTPS in production, a map in tests).
#[async_trait]
pub trait CertificateSource: Send + Sync {
    /// The certificate at `url`, PEM or DER.
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String>;
}

/// Fetches certificates over HTTPS.
pub struct HttpsCertificates {
    client: reqwest::Client,
}

impl HttpsCertificates {
    #[must_use]
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl CertificateSource for HttpsCertificates {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let response = response.error_for_status().map_err(|e| e.to_string())?;
        Ok(response.bytes().await.map_err(|e| e.to_string())?.to_vec())
    }
}

/// Certificates by URL (DER), fetched once each.
pub struct CertificateCache {
    source: Arc<dyn CertificateSource>,
    certificates: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CertificateCache {
    #[must_use]
    pub fn new(source: Arc<dyn CertificateSource>) -> Self {
        Self {
            source,
            certificates: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// (hits, misses) so far.
    #[must_use]
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    async fn get(&self, url: &str) -> Result<Arc<Vec<u8>>, WebhookError> {
        if !allowed_cert_url(url) {
            return Err(invalid("the certificate URL is not on paypal.com"));
        }
        if let Some(der) = self.certificates.lock().expect("cache lock").get(url) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(der));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let raw = self
            .source
            .fetch(url)
            .await
            .map_err(|e| invalid(format!("the certificate could not be fetched: {e}")))?;
        let der = Arc::new(to_der(&raw)?);
        self.certificates
            .lock()
            .expect("cache lock")
            .insert(url.to_owned(), Arc::clone(&der));
        Ok(der)
    }
}

fn to_der(raw: &[u8]) -> Result<Vec<u8>, WebhookError> {
    if raw.starts_with(b"-----BEGIN") {
        let parsed = pem::parse(raw).map_err(|_| invalid("the certificate is not PEM"))?;
        Ok(parsed.into_contents())
    } else {
        Ok(raw.to_vec())
    }
}

/// Checks that `signature` over `message` was made by the key of certificate `der`.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when the certificate cannot be read or the signature does
/// not match.
pub fn verify_with_certificate(
    der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), WebhookError> {
    let der = CertificateDer::from(der);
    let certificate = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| invalid(format!("the certificate cannot be read: {e}")))?;
    certificate
        .verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| invalid("signature does not match"))
}

/// Checks a PayPal notification against our `webhook_id`.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when a header is missing, the algorithm is not
/// `SHA256withRSA`, the certificate URL is not PayPal's or cannot be fetched, or the signature
/// does not match.
pub async fn verify(
    headers: &Headers,
    webhook_id: &str,
    body: &[u8],
    certificates: &CertificateCache,
) -> Result<(), WebhookError> {
    let get = |name: &str| header(headers, name).ok_or_else(|| invalid(format!("no {name}")));
    let id = get("paypal-transmission-id")?;
    let time = get("paypal-transmission-time")?;
    let signature = get("paypal-transmission-sig")?;
    let cert_url = get("paypal-cert-url")?;
    let algo = get("paypal-auth-algo")?;
    if algo != AUTH_ALGO {
        return Err(invalid("unsupported paypal-auth-algo"));
    }
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| invalid("signature is not base64"))?;
    let der = certificates.get(cert_url).await?;
    verify_with_certificate(
        &der,
        message(id, time, webhook_id, body).as_bytes(),
        &signature,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paypal_https_urls_are_fetched() {
        for good in [
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42",
            "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
            "https://paypal.com/cert",
        ] {
            assert!(allowed_cert_url(good), "{good}");
        }
        for bad in [
            "http://api.paypal.com/cert",
            "https://api.paypal.com.evil.example/cert",
            "https://evilpaypal.com/cert",
            "https://user@api.paypal.com/cert",
            "https://api.paypal.com:8443/cert",
            "https://127.0.0.1/cert",
            "not a url",
        ] {
            assert!(!allowed_cert_url(bad), "{bad}");
        }
    }

    #[test]
    fn the_message_ends_with_the_bodys_crc32_in_decimal() {
        // CRC-32 (IEEE) of "123456789" is 0xCBF43926, the standard check value.
        assert_eq!(
            message("id", "2026-12-06T10:00:00Z", "WH-1", b"123456789"),
            "id|2026-12-06T10:00:00Z|WH-1|3421780262"
        );
    }

    /// A self-signed test certificate and its key (made with `openssl req -x509`), standing in
    /// for PayPal's.
    const CERT: &[u8] = include_bytes!("../../tests/data/paypal-test-cert.pem");
    const KEY: &[u8] = include_bytes!("../../tests/data/paypal-test-key.pk8");
    const URL: &str = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-test";

    /// The signature header for `message`, made with the test key.
    pub(crate) fn sign(message: &str) -> String {
        let pair = ring::signature::RsaKeyPair::from_pkcs8(KEY).unwrap();
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .unwrap();
        STANDARD.encode(signature)
    }

    struct Counted(std::sync::atomic::AtomicU64);

    #[async_trait]
    impl CertificateSource for Counted {
        async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
            assert_eq!(url, URL);
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(CERT.to_vec())
        }
    }

    fn headers(id: &str, signature: &str, url: &str, algo: &str) -> Vec<(String, String)> {
        [
            ("paypal-transmission-id", id),
            ("paypal-transmission-time", "2026-12-06T10:00:00Z"),
            ("paypal-transmission-sig", signature),
            ("paypal-cert-url", url),
            ("paypal-auth-algo", algo),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[tokio::test]
    async fn signatures_verify_with_the_cached_certificate() {
        let source = Arc::new(Counted(AtomicU64::new(0)));
        let cache = CertificateCache::new(source.clone());
        let body = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
        let good = sign(&message("t-1", "2026-12-06T10:00:00Z", "WH-ID", body));
        let check = |h: Vec<(String, String)>, webhook_id: &'static str, body: &'static [u8]| {
            let cache = &cache;
            async move { verify(&h, webhook_id, body, cache).await.is_ok() }
        };
        for _ in 0..3 {
            assert!(check(headers("t-1", &good, URL, AUTH_ALGO), "WH-ID", body).await);
        }
        assert_eq!(source.0.load(Ordering::Relaxed), 1, "fetched once");
        assert_eq!(cache.counts(), (2, 1));
        assert!(
            !check(headers("t-1", &good, URL, AUTH_ALGO), "WH-ID", b"{}").await,
            "tampered"
        );
        assert!(
            !check(headers("t-1", &good, URL, AUTH_ALGO), "WH-OTHER", body).await,
            "webhook id"
        );
        assert!(
            !check(headers("t-2", &good, URL, AUTH_ALGO), "WH-ID", body).await,
            "transmission"
        );
        assert!(
            !check(headers("t-1", &good, URL, "SHA1withRSA"), "WH-ID", body).await,
            "algo"
        );
        let evil = "https://paypal.com.evil.example/cert";
        assert!(
            !check(headers("t-1", &good, evil, AUTH_ALGO), "WH-ID", body).await,
            "cert host"
        );
        assert!(
            !check(headers("t-1", "AAAA", URL, AUTH_ALGO), "WH-ID", body).await,
            "signature"
        );
        assert_eq!(source.0.load(Ordering::Relaxed), 1, "still fetched once");
    }
}
