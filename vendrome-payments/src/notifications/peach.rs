//! Peach Payments notifications, two schemes:
//!
//! - **Payments webhooks** (Peach support articles 47001189554 and 47001098733): the body is the
//!   hex of an AES-GCM ciphertext, with the 12-byte IV in `X-Initialization-Vector` and the
//!   16-byte tag in `X-Authentication-Tag` (both hex). The key is the listener's secret: 64 hex
//!   characters (AES-256), or 32 on the older "Payments API" product (AES-128). Decryption is the
//!   verification: a changed byte fails the tag. [`decrypt`] gives the plaintext JSON.
//! - **Checkout** (developer.peachpayments.com, "Checkout authentication"): a `signature` field
//!   among the posted parameters, the hex HMAC-SHA256 of every other parameter's name and value
//!   concatenated in name order (empty values included, no separators), keyed with the Checkout
//!   secret token ([`verify_checkout`]).
//!
//! Neither carries a timestamp; Peach's duplicates are the inbox's business.

use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use sha2::Sha256;
use vendrome_core::payments::provider::{Headers, WebhookError};

use super::{field, invalid};
use crate::signature::header;

fn cipher_key(key_hex: &str) -> Result<LessSafeKey, WebhookError> {
    let key = hex::decode(key_hex.trim()).map_err(|_| invalid("the webhook key is not hex"))?;
    let algorithm = match key.len() {
        32 => &AES_256_GCM,
        16 => &AES_128_GCM,
        _ => return Err(invalid("the webhook key is neither 16 nor 32 bytes")),
    };
    let unbound = UnboundKey::new(algorithm, &key).map_err(|_| invalid("unusable key"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Decrypts a payments webhook: the plaintext body, when the key, IV and tag agree with it.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when a header is missing or malformed, the body is not hex,
/// or the authentication tag does not match.
pub fn decrypt(headers: &Headers, key_hex: &str, body: &[u8]) -> Result<Vec<u8>, WebhookError> {
    let iv = header(headers, "x-initialization-vector").ok_or_else(|| invalid("no IV"))?;
    let tag = header(headers, "x-authentication-tag").ok_or_else(|| invalid("no tag"))?;
    let iv: [u8; 12] = hex::decode(iv.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| invalid("the IV is not 12 bytes of hex"))?;
    let tag = hex::decode(tag.trim()).map_err(|_| invalid("the tag is not hex"))?;
    if tag.len() != 16 {
        return Err(invalid("the tag is not 16 bytes"));
    }
    let text = std::str::from_utf8(body).map_err(|_| invalid("the body is not hex"))?;
    let mut data = hex::decode(text.trim()).map_err(|_| invalid("the body is not hex"))?;
    data.extend_from_slice(&tag);
    let plain = cipher_key(key_hex)?
        .open_in_place(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut data)
        .map_err(|_| invalid("the body does not decrypt with this key"))?;
    Ok(plain.to_vec())
}

/// Encrypts `plain` as Peach does: the hex body, the IV header and the tag header.
///
/// # Errors
///
/// When the key is not 16 or 32 bytes of hex.
pub fn encrypt(
    key_hex: &str,
    iv: [u8; 12],
    plain: &[u8],
) -> Result<(String, String, String), WebhookError> {
    let mut data = plain.to_vec();
    let tag = cipher_key(key_hex)?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut data)
        .map_err(|_| invalid("encryption failed"))?;
    Ok((
        hex::encode(data),
        hex::encode(iv),
        hex::encode(tag.as_ref()),
    ))
}

fn checkout_mac(secret: &str, params: &[(String, String)]) -> Hmac<Sha256> {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "signature")
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The Checkout `signature` of `params` (any `signature` among them is left out).
#[must_use]
pub fn sign_checkout(secret: &str, params: &[(String, String)]) -> String {
    hex::encode(checkout_mac(secret, params).finalize().into_bytes())
}

/// Checks a Checkout notification's `signature` field.
///
/// # Errors
///
/// [`WebhookError::InvalidSignature`] when the field is missing, not hex, or does not match.
pub fn verify_checkout(secret: &str, params: &[(String, String)]) -> Result<(), WebhookError> {
    let signature = field(params, "signature").ok_or_else(|| invalid("no signature field"))?;
    let signature = hex::decode(signature.trim()).map_err(|_| invalid("signature is not hex"))?;
    checkout_mac(secret, params)
        .verify_slice(&signature)
        .map_err(|_| invalid("signature does not match"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn headers(iv: &str, tag: &str) -> Vec<(String, String)> {
        vec![
            ("x-initialization-vector".to_owned(), iv.to_owned()),
            ("x-authentication-tag".to_owned(), tag.to_owned()),
        ]
    }

    #[test]
    fn encrypted_bodies_open_only_with_the_key_and_tag() {
        let plain = br#"{"type":"PAYMENT","payload":{"id":"8ac7a4a1"}}"#;
        let (body, iv, tag) = encrypt(KEY, [7; 12], plain).unwrap();
        let h = headers(&iv, &tag);
        assert_eq!(decrypt(&h, KEY, body.as_bytes()).unwrap(), plain);
        let mut flipped = body.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(decrypt(&h, KEY, &flipped).is_err(), "tampered body");
        let other = KEY.replace("1f", "20");
        assert!(decrypt(&h, &other, body.as_bytes()).is_err(), "wrong key");
        assert!(
            decrypt(&headers(&iv, &"00".repeat(16)), KEY, body.as_bytes()).is_err(),
            "tag"
        );
        assert!(
            decrypt(&headers("00", &tag), KEY, body.as_bytes()).is_err(),
            "short IV"
        );
        assert!(decrypt(&[], KEY, body.as_bytes()).is_err(), "no headers");
        let short_key = &KEY[..32];
        let (body, iv, tag) = encrypt(short_key, [1; 12], plain).unwrap();
        assert_eq!(
            decrypt(&headers(&iv, &tag), short_key, body.as_bytes()).unwrap(),
            plain
        );
    }

    #[test]
    fn checkout_signatures_cover_every_field_in_name_order() {
        let mut params: Vec<(String, String)> = [
            ("merchantTransactionId", "ord-1"),
            ("amount", "100.00"),
            ("result.code", "000.100.110"),
            ("empty", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let signature = sign_checkout("token", &params);
        params.push(("signature".to_owned(), signature.clone()));
        assert!(verify_checkout("token", &params).is_ok());
        assert!(verify_checkout("other", &params).is_err(), "wrong key");
        params[1].1 = "1000.00".to_owned();
        assert!(
            verify_checkout("token", &params).is_err(),
            "tampered amount"
        );
        params[1].1 = "100.00".to_owned();
        params[3].1 = "x".to_owned();
        assert!(
            verify_checkout("token", &params).is_err(),
            "empty field counts"
        );
        params.pop();
        assert!(verify_checkout("token", &params).is_err(), "no signature");
    }
}
