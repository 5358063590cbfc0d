//! Standard Webhooks, the scheme Yoco signs with (developer.yoco.com, "Verifying the events";
//! standardwebhooks.com's specification): `webhook-signature` holds space-separated
//! `v1,<base64>` signatures, each the HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`,
//! keyed with the base64-decoded secret after its `whsec_` prefix. Any `v1` may match (a secret
//! being rolled has two). Yoco asks for a three-minute window ([`YOCO_TOLERANCE`]).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use vendrome_core::payments::provider::{Headers, WebhookError};
use vendrome_core::time::Timestamp;

use super::{invalid, within};
use crate::signature::header;

/// Yoco's window.
pub const YOCO_TOLERANCE: Duration = Duration::from_secs(180);

/// The key bytes of a `whsec_…` secret.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when the secret is not base64 (a configuration error,
/// refused like a bad signature so that nothing is acted on).
pub fn key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| invalid("the webhook secret is not base64"))
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for message `id` sent at `timestamp` (unix seconds).
///
/// # Errors
///
/// When the secret is not base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, WebhookError> {
    let key = key(secret)?;
    let mac = mac(&key, id, &timestamp.to_string(), body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Checks a Standard Webhooks notification.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when a header is missing or malformed, the timestamp is
/// outside `tolerance`, or no `v1` signature matches.
pub fn verify(
    headers: &Headers,
    secret: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let id = header(headers, "webhook-id").ok_or_else(|| invalid("no webhook-id"))?;
    let timestamp =
        header(headers, "webhook-timestamp").ok_or_else(|| invalid("no webhook-timestamp"))?;
    let signatures =
        header(headers, "webhook-signature").ok_or_else(|| invalid("no webhook-signature"))?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| invalid("webhook-timestamp is not a number"))?;
    within(seconds, now.timestamp(), tolerance)?;
    let expected = mac(&key(secret)?, id, timestamp.trim(), body);
    let matches = signatures
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|bytes| expected.clone().verify_slice(&bytes).is_ok());
    if matches {
        Ok(())
    } else {
        Err(invalid("no signature matches"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example secret of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment.succeeded"}"#;

    fn headers(id: &str, t: i64, signature: &str) -> Vec<(String, String)> {
        vec![
            ("webhook-id".to_owned(), id.to_owned()),
            ("webhook-timestamp".to_owned(), t.to_string()),
            ("webhook-signature".to_owned(), signature.to_owned()),
        ]
    }

    #[test]
    fn signatures_verify_as_the_specification_describes() {
        let t = 1_790_000_000;
        let at = |s: i64| Timestamp::from_timestamp(s, 0).unwrap();
        let good = sign(SECRET, "msg_1", t, BODY).unwrap();
        let other = sign("whsec_b3RoZXJzZWNyZXRvdGhlcnNlY3JldA==", "msg_1", t, BODY).unwrap();
        let check = |h: &[(String, String)], body: &[u8], now: i64| {
            verify(h, SECRET, body, at(now), YOCO_TOLERANCE).is_ok()
        };
        assert!(check(&headers("msg_1", t, &good), BODY, t), "good");
        assert!(
            check(&headers("msg_1", t, &format!("{other} {good}")), BODY, t),
            "second of two"
        );
        assert!(
            check(&headers("msg_1", t, &good), BODY, t + 180),
            "at the edge"
        );
        assert!(
            !check(&headers("msg_1", t, &good), BODY, t + 181),
            "expired"
        );
        assert!(
            !check(&headers("msg_1", t, &good), BODY, t - 181),
            "from the future"
        );
        assert!(!check(&headers("msg_1", t, &other), BODY, t), "wrong key");
        assert!(!check(&headers("msg_2", t, &good), BODY, t), "another id");
        assert!(
            !check(&headers("msg_1", t, &good), b"{}", t),
            "tampered body"
        );
        assert!(
            !check(&headers("msg_1", t, "v2,abc"), BODY, t),
            "unknown version"
        );
        assert!(!check(&[], BODY, t), "no headers");
        assert!(verify(
            &headers("msg_1", t, &good),
            "whsec_!!",
            BODY,
            at(t),
            YOCO_TOLERANCE
        )
        .is_err());
    }
}
