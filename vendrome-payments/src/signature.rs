//! Webhook signatures in Stripe's scheme: a header `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`,
//! where each `v1` is HMAC-SHA256 over `{t}.{body}` with the endpoint's secret. Stripe uses it
//! with `Stripe-Signature`; the sandbox with its own header and secret.
//!
//! Verification works on the raw bytes, compares in constant time (`Mac::verify_slice`),
//! accepts when any `v1` matches (a secret being rolled has two), and refuses a timestamp
//! further than the tolerance from now, either way.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vendrome_core::payments::provider::{Headers, WebhookError};
use vendrome_core::time::Timestamp;

/// Stripe's tolerance, which the sandbox keeps too.
pub const DEFAULT_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(300);

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at `timestamp` (unix seconds) with `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let signature = hex::encode(mac(secret, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

/// The value of header `name` (compared case-insensitively), if present.
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Checks the signature header `value` of `body` against `secret`.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when the header is missing or malformed, its timestamp is
/// further than `tolerance` from `now`, or no `v1` matches.
pub fn verify(
    value: Option<&str>,
    secret: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: std::time::Duration,
) -> Result<(), WebhookError> {
    let invalid = |why: &str| WebhookError::InvalidSignature(why.to_owned());
    let value = value.ok_or_else(|| invalid("no signature header"))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| invalid("no timestamp"))?;
    if signatures.is_empty() {
        return Err(invalid("no v1 signature"));
    }
    let age = now.timestamp().abs_diff(timestamp);
    if age > tolerance.as_secs() {
        return Err(invalid("timestamp outside the tolerance"));
    }
    let expected = mac(secret, timestamp, body);
    let matches = signatures.iter().any(|candidate| {
        hex::decode(candidate).is_ok_and(|bytes| expected.clone().verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(invalid("no signature matches"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    fn at(seconds: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn check(value: Option<&str>, now: i64) -> Result<(), WebhookError> {
        verify(value, SECRET, BODY, at(now), DEFAULT_TOLERANCE)
    }

    #[test]
    fn signatures_verify_as_stripe_describes() {
        let t = 1_790_000_000;
        let good = sign(SECRET, t, BODY);
        let other = sign("whsec_other", t, BODY);
        let other_v1 = other.split_once(",v1=").unwrap().1;
        let good_v1 = good.split_once(",v1=").unwrap().1;
        let cases: Vec<(&str, Option<String>, i64, bool)> = vec![
            ("good", Some(good.clone()), t, true),
            ("good, 299 s later", Some(good.clone()), t + 299, true),
            (
                "several v1, the second right",
                Some(format!("t={t},v1={other_v1},v1={good_v1}")),
                t,
                true,
            ),
            (
                "v0 and unknown parts ignored",
                Some(format!("t={t},v0=abc,v1={good_v1},x=1")),
                t,
                true,
            ),
            ("wrong secret", Some(other.clone()), t, false),
            ("outside the tolerance", Some(good.clone()), t + 301, false),
            ("from the future", Some(good.clone()), t - 301, false),
            ("missing header", None, t, false),
            ("no v1", Some(format!("t={t}")), t, false),
            ("no timestamp", Some(format!("v1={good_v1}")), t, false),
            ("not hex", Some(format!("t={t},v1=zz")), t, false),
        ];
        for (name, value, now, ok) in cases {
            assert_eq!(check(value.as_deref(), now).is_ok(), ok, "{name}");
        }
        let tampered = verify(
            Some(&good),
            SECRET,
            br#"{"id":"evt_2"}"#,
            at(t),
            DEFAULT_TOLERANCE,
        );
        assert!(tampered.is_err(), "tampered body");
    }
}
