//! Ozow's notification (hub.ozow.com, "Step 2: process Ozow response" and its response table):
//! the `Hash` field is the SHA-512 (hex) of the lower-cased concatenation of the fields below, in
//! this order, followed by the site's private key. Ozow warns that notifications may repeat: the
//! inbox dedupes them on `TransactionId` and `Status`. We compare the whole hash, case-blind.

use sha2::{Digest as _, Sha512};
use vendrome_core::payments::provider::WebhookError;

use super::{constant_time_eq, field, invalid};

/// The fields the hash covers, in Ozow's order.
pub const HASHED_FIELDS: [&str; 13] = [
    "SiteCode",
    "TransactionId",
    "TransactionReference",
    "Amount",
    "Status",
    "Optional1",
    "Optional2",
    "Optional3",
    "Optional4",
    "Optional5",
    "CurrencyCode",
    "IsTest",
    "StatusMessage",
];

/// The `Hash` of `fields` with `private_key` (absent fields count as empty).
#[must_use]
pub fn sign(fields: &[(String, String)], private_key: &str) -> String {
    let mut text = String::new();
    for name in HASHED_FIELDS {
        text.push_str(field(fields, name).unwrap_or(""));
    }
    text.push_str(private_key);
    hex::encode(Sha512::digest(text.to_lowercase().as_bytes()))
}

/// Checks the `Hash` field.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when it is missing or does not match.
pub fn verify(fields: &[(String, String)], private_key: &str) -> Result<(), WebhookError> {
    let given = field(fields, "Hash").ok_or_else(|| invalid("no Hash field"))?;
    let expected = sign(fields, private_key);
    if constant_time_eq(
        given.trim().to_ascii_lowercase().as_bytes(),
        expected.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(invalid("Hash does not match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_covers_the_documented_fields_in_order() {
        let mut fields: Vec<(String, String)> = [
            ("SiteCode", "TSTSTE0001"),
            ("TransactionId", "7b6f1b1e"),
            ("TransactionReference", "pay-1"),
            ("Amount", "25.00"),
            ("Status", "Complete"),
            ("CurrencyCode", "ZAR"),
            ("IsTest", "true"),
            ("StatusMessage", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let hash = sign(&fields, "PrivateKey1");
        assert_eq!(hash.len(), 128);
        fields.push(("Hash".to_owned(), hash.to_uppercase()));
        assert!(verify(&fields, "PrivateKey1").is_ok(), "case-blind");
        assert!(
            verify(&fields, "privatekey1").is_ok(),
            "the key is lower-cased too"
        );
        assert!(verify(&fields, "PrivateKey2").is_err(), "wrong key");
        fields[3].1 = "2500.00".to_owned();
        assert!(verify(&fields, "PrivateKey1").is_err(), "tampered amount");
        fields[3].1 = "25.00".to_owned();
        fields[4].1 = "Cancelled".to_owned();
        assert!(verify(&fields, "PrivateKey1").is_err(), "tampered status");
        fields.pop();
        assert!(verify(&fields, "PrivateKey1").is_err(), "no hash");
    }
}
