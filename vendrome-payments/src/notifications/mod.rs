//! How each provider signs the notifications it sends, verified on the raw bytes before anything
//! parses them. One module per scheme; each has `verify` (and `sign`, for tests, fakes and the
//! benchmark). The facts and their sources are in the payment-providers notes the project was
//! planned from; each module names the provider document it follows.
//!
//! | provider | scheme | module |
//! |---|---|---|
//! | Stripe | `Stripe-Signature: t=,v1=` HMAC-SHA256 of `{t}.{body}`, 300 s | [`crate::signature`] |
//! | PayPal | RSA-SHA256 over `id\|time\|webhook id\|crc32(body)`, cert from `*.paypal.com` | [`paypal`] |
//! | Airwallex | HMAC-SHA256 hex of `x-timestamp` + body, replay window | [`airwallex`] |
//! | Yoco | Standard Webhooks (`webhook-id.timestamp.body`, base64, `whsec_`), 3 min | [`standard`] |
//! | Peach | AES-GCM encrypted body (payments); HMAC-SHA256 `signature` field (Checkout) | [`peach`] |
//! | Payfast | MD5 over the posted fields in order + passphrase (ITN) | [`payfast`] |
//! | Ozow | SHA-512 over the documented fields in order + private key, lower-cased | [`ozow`] |
//! | Paystack | `x-paystack-signature`: HMAC-SHA512 hex of the body | [`paystack`] |
//!
//! Every comparison is constant-time: MACs through `Mac::verify_slice`, digests through
//! [`constant_time_eq`]. A replayed notification that verifies is the inbox's business: the
//! provider's event id is stored under a unique constraint before anything acts on it.

pub mod airwallex;
pub mod ozow;
pub mod payfast;
pub mod paypal;
pub mod paystack;
pub mod peach;
pub mod standard;

use std::time::Duration;

use subtle::ConstantTimeEq as _;
use vendrome_core::payments::provider::WebhookError;

/// A refusal with its reason (logged, never shown to the sender).
pub(crate) fn invalid(why: impl Into<String>) -> WebhookError {
    WebhookError::InvalidSignature(why.into())
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Refuses a timestamp (unix seconds) further than `tolerance` from `now` (unix seconds),
/// either way.
pub(crate) fn within(timestamp: i64, now: i64, tolerance: Duration) -> Result<(), WebhookError> {
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(invalid("timestamp outside the tolerance"));
    }
    Ok(())
}

/// The form fields of an `application/x-www-form-urlencoded` body, in the order they came.
///
/// # Errors
///
/// [`WebhookError::Malformed`] when the body is not UTF-8 after decoding.
pub fn form_fields(body: &[u8]) -> Result<Vec<(String, String)>, WebhookError> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((form_decode(key)?, form_decode(value)?))
        })
        .collect()
}

fn form_decode(raw: &[u8]) -> Result<String, WebhookError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(|c| (*c as char).to_digit(16));
                let lo = bytes.next().and_then(|c| (*c as char).to_digit(16));
                match (hi, lo) {
                    #[allow(clippy::cast_possible_truncation)] // two hex digits fit a byte
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err(WebhookError::Malformed("bad percent-escape".into())),
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| WebhookError::Malformed("form field is not UTF-8".into()))
}

/// The value of form field `name`, if present.
#[must_use]
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_in_order() {
        let fields = form_fields(b"b=2+3&a=%41%7e&empty=&bare").unwrap();
        assert_eq!(
            fields,
            vec![
                ("b".to_owned(), "2 3".to_owned()),
                ("a".to_owned(), "A~".to_owned()),
                ("empty".to_owned(), String::new()),
                ("bare".to_owned(), String::new()),
            ]
        );
        assert!(form_fields(b"a=%4").is_err());
        assert!(form_fields(b"a=%ff").is_err());
    }

    #[test]
    fn equality_needs_equal_lengths_and_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn the_window_is_symmetric() {
        let t = Duration::from_secs(180);
        assert!(within(1_000, 1_180, t).is_ok());
        assert!(within(1_000, 820, t).is_ok());
        assert!(within(1_000, 1_181, t).is_err());
        assert!(within(1_000, 819, t).is_err());
    }
}
