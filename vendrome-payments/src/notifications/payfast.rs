//! Payfast's Instant Transaction Notification (ITN), following Payfast's PHP SDK
//! (`Payfast/payfast-php-sdk`, `lib/PaymentIntegrations/Notification.php`) and the ITN guide.
//! A notification is accepted only when all four checks pass:
//!
//! 1. **Signature** ([`verify_signature`]): the MD5 (lower-case hex) of the posted fields as
//!    `name=urlencode(value)` joined with `&`, in the order they were posted and stopping at
//!    `signature`, followed by `&passphrase=urlencode(passphrase)` when one is set. `urlencode`
//!    is PHP's: letters, digits and `-_.` stay, a space becomes `+`, the rest `%XX` upper-case.
//! 2. **Source**: the request came from one of Payfast's hosts ([`VALID_HOSTS`]); the adapter
//!    resolves them, this module only lists them.
//! 3. **Amount** ([`check_amount`]): `amount_gross` is the amount we asked for. The SDK allows a
//!    difference of 0.01 in floating point; we compare exactly in minor units.
//! 4. **Validate call**: the same parameter string, without the passphrase
//!    ([`validation_body`]), posted back to `/eng/query/validate` answers `VALID` (the adapter
//!    makes the call).

use md5::{Digest as _, Md5};
use vendrome_core::money::Money;
use vendrome_core::payments::provider::WebhookError;

use super::{constant_time_eq, field, invalid};

/// The hosts an ITN may come from (live and sandbox).
pub const VALID_HOSTS: [&str; 4] = [
    "www.payfast.co.za",
    "sandbox.payfast.co.za",
    "w1w.payfast.co.za",
    "w2w.payfast.co.za",
];

/// PHP's `urlencode`.
#[must_use]
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The parameter string: the fields before `signature`, in posted order, encoded.
#[must_use]
pub fn validation_body(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .take_while(|(name, _)| name != "signature")
        .map(|(name, value)| format!("{name}={}", urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The signature of `fields` with `passphrase`.
#[must_use]
pub fn sign(fields: &[(String, String)], passphrase: Option<&str>) -> String {
    let mut text = validation_body(fields);
    if let Some(passphrase) = passphrase.filter(|p| !p.is_empty()) {
        text.push_str("&passphrase=");
        text.push_str(&urlencode(passphrase));
    }
    hex::encode(Md5::digest(text.as_bytes()))
}

/// Check 1: the `signature` field.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when it is missing or does not match.
pub fn verify_signature(
    fields: &[(String, String)],
    passphrase: Option<&str>,
) -> Result<(), WebhookError> {
    let given = field(fields, "signature").ok_or_else(|| invalid("no signature field"))?;
    let expected = sign(fields, passphrase);
    if constant_time_eq(
        given.trim().to_ascii_lowercase().as_bytes(),
        expected.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(invalid("signature does not match"))
    }
}

/// Check 3: `amount_gross` is exactly `expected`.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when the field is missing, not a decimal in the
/// currency, or another amount.
pub fn check_amount(fields: &[(String, String)], expected: Money) -> Result<(), WebhookError> {
    let raw = field(fields, "amount_gross").ok_or_else(|| invalid("no amount_gross"))?;
    let paid = Money::from_decimal_str(raw.trim(), expected.currency)
        .map_err(|_| invalid("amount_gross is not an amount"))?;
    if paid == expected {
        Ok(())
    } else {
        Err(invalid(format!(
            "amount_gross {paid} is not the {expected} asked for"
        )))
    }
}

#[cfg(test)]
mod tests {
    use vendrome_core::money::Currency;

    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn php_urlencode_is_reproduced() {
        assert_eq!(urlencode("a b+c/é~*'"), "a+b%2Bc%2F%C3%A9%7E%2A%27");
        assert_eq!(urlencode("Az09-_."), "Az09-_.");
    }

    #[test]
    fn signatures_cover_the_fields_before_signature_in_posted_order() {
        let mut itn = fields(&[
            ("m_payment_id", "pay-1"),
            ("pf_payment_id", "1089250"),
            ("payment_status", "COMPLETE"),
            ("item_name", "Order #1 & more"),
            ("amount_gross", "200.00"),
            ("name_first", ""),
        ]);
        let signature = sign(&itn, Some("jt7NOE43FZPn"));
        itn.push(("signature".to_owned(), signature));
        itn.push(("after".to_owned(), "ignored".to_owned()));
        assert!(verify_signature(&itn, Some("jt7NOE43FZPn")).is_ok());
        assert!(
            verify_signature(&itn, Some("other")).is_err(),
            "wrong passphrase"
        );
        assert!(verify_signature(&itn, None).is_err(), "passphrase left out");
        itn[7].1 = "changed".to_owned();
        assert!(
            verify_signature(&itn, Some("jt7NOE43FZPn")).is_ok(),
            "after signature"
        );
        itn[4].1 = "2000.00".to_owned();
        assert!(
            verify_signature(&itn, Some("jt7NOE43FZPn")).is_err(),
            "tampered amount"
        );
        itn.swap(0, 1);
        itn[4].1 = "200.00".to_owned();
        assert!(
            verify_signature(&itn, Some("jt7NOE43FZPn")).is_err(),
            "order matters"
        );
        assert!(
            verify_signature(&fields(&[("a", "1")]), None).is_err(),
            "no signature"
        );
    }

    #[test]
    fn the_amount_must_be_the_one_asked_for_exactly() {
        let zar = Currency::parse("ZAR").unwrap();
        let itn = fields(&[("amount_gross", "200.00")]);
        assert!(check_amount(&itn, Money::new(20_000, zar)).is_ok());
        assert!(check_amount(&itn, Money::new(19_999, zar)).is_err());
        assert!(check_amount(
            &fields(&[("amount_gross", "200.001")]),
            Money::new(20_000, zar)
        )
        .is_err());
        assert!(check_amount(&fields(&[]), Money::new(20_000, zar)).is_err());
    }
}
