//! Paystack webhooks: `x-paystack-signature` is the lower-case hex HMAC-SHA512 of the raw body,
//! keyed with the account's secret API key (Paystack's "Webhooks — verifying events"; the same
//! as hyperswitch's Paystack connector). Paystack sends no timestamp, so there is no window;
//! duplicates are the inbox's business (`event` + `data.id`).

use hmac::{Hmac, Mac};
use sha2::Sha512;
use vendrome_core::payments::provider::{Headers, WebhookError};

use super::invalid;
use crate::signature::header;

/// The header Paystack signs under.
pub const SIGNATURE_HEADER: &str = "x-paystack-signature";

fn mac(secret_key: &str, body: &[u8]) -> Hmac<Sha512> {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

/// The signature header's value for `body`.
#[must_use]
pub fn sign(secret_key: &str, body: &[u8]) -> String {
    hex::encode(mac(secret_key, body).finalize().into_bytes())
}

/// Checks a Paystack notification.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when the header is missing, not hex, or does not match.
pub fn verify(headers: &Headers, secret_key: &str, body: &[u8]) -> Result<(), WebhookError> {
    let signature = header(headers, SIGNATURE_HEADER).ok_or_else(|| invalid("no signature"))?;
    let signature = hex::decode(signature.trim()).map_err(|_| invalid("signature is not hex"))?;
    mac(secret_key, body)
        .verify_slice(&signature)
        .map_err(|_| invalid("signature does not match"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_on_the_raw_body() {
        let body = br#"{"event":"charge.success","data":{"id":1,"reference":"r1"}}"#;
        let good = sign("sk_test_1", body);
        assert_eq!(good.len(), 128);
        let h = |v: &str| vec![(SIGNATURE_HEADER.to_owned(), v.to_owned())];
        assert!(verify(&h(&good), "sk_test_1", body).is_ok());
        assert!(
            verify(&h(&good.to_uppercase()), "sk_test_1", body).is_ok(),
            "hex case"
        );
        assert!(verify(&h(&good), "sk_test_2", body).is_err(), "wrong key");
        assert!(
            verify(&h(&good), "sk_test_1", b"{}").is_err(),
            "tampered body"
        );
        assert!(verify(&h("nothex"), "sk_test_1", body).is_err());
        assert!(verify(&[], "sk_test_1", body).is_err(), "no header");
    }
}
