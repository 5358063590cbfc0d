//! Airwallex webhooks: `x-signature` is the lower-case hex HMAC-SHA256 of the `x-timestamp`
//! header's value followed directly by the raw body (no separator), keyed with the endpoint's
//! secret. Follows Airwallex's "Listen for webhook events — code examples" (the Java sample's
//! `valueToDigest = timestamp + payload`). Airwallex states no replay window; the timestamp is
//! in milliseconds, and we refuse one more than five minutes from now, either way.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vendrome_core::payments::provider::{Headers, WebhookError};
use vendrome_core::time::Timestamp;

use super::{invalid, within};
use crate::signature::header;

/// The window a notification's timestamp must fall in.
pub const TOLERANCE: Duration = Duration::from_secs(300);

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

/// The `x-signature` value for `body` sent at `timestamp` (the header's text, milliseconds).
#[must_use]
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Checks an Airwallex notification.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when a header is missing or malformed, the timestamp is
/// outside `tolerance`, or the signature does not match.
pub fn verify(
    headers: &Headers,
    secret: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let timestamp = header(headers, "x-timestamp").ok_or_else(|| invalid("no x-timestamp"))?;
    let signature = header(headers, "x-signature").ok_or_else(|| invalid("no x-signature"))?;
    let millis: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| invalid("x-timestamp is not a number"))?;
    within(millis.div_euclid(1000), now.timestamp(), tolerance)?;
    let signature = hex::decode(signature.trim()).map_err(|_| invalid("x-signature is not hex"))?;
    mac(secret, timestamp, body)
        .verify_slice(&signature)
        .map_err(|_| invalid("signature does not match"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "airwallex-endpoint-secret";
    const BODY: &[u8] = br#"{"id":"evt_1","name":"payment_intent.succeeded"}"#;

    fn headers(timestamp: &str, signature: &str) -> Vec<(String, String)> {
        vec![
            ("x-timestamp".to_owned(), timestamp.to_owned()),
            ("x-signature".to_owned(), signature.to_owned()),
        ]
    }

    #[test]
    fn signatures_verify_within_the_window() {
        let sent = 1_790_000_000_123_i64;
        let now = |ms: i64| Timestamp::from_timestamp_millis(ms).unwrap();
        let good = sign(SECRET, &sent.to_string(), BODY);
        let check = |h: &[(String, String)], body: &[u8], at: i64| {
            verify(h, SECRET, body, now(at), TOLERANCE).is_ok()
        };
        let h = headers(&sent.to_string(), &good);
        assert!(check(&h, BODY, sent), "good");
        assert!(check(&h, BODY, sent + 299_000), "late but inside");
        assert!(!check(&h, BODY, sent + 301_000), "too old");
        assert!(!check(&h, BODY, sent - 301_000), "from the future");
        assert!(!check(&h, br#"{"id":"evt_2"}"#, sent), "tampered body");
        let other = sign("another-secret", &sent.to_string(), BODY);
        assert!(
            !check(&headers(&sent.to_string(), &other), BODY, sent),
            "wrong key"
        );
        let moved = (sent + 1).to_string();
        assert!(
            !check(&headers(&moved, &good), BODY, sent),
            "timestamp changed"
        );
        assert!(!check(&headers("soon", &good), BODY, sent), "not a number");
        assert!(
            !check(&headers(&sent.to_string(), "zz"), BODY, sent),
            "not hex"
        );
        assert!(!check(&[], BODY, sent), "no headers");
    }
}
