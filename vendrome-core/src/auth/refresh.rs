//! Refresh tokens: 256 random bits, handed out once and stored only as a SHA-256 hash.
//!
//! Rotation derives the successor from the presented token with an HMAC under a server-side
//! key. The successor is therefore the same however many times (and by however many tabs at
//! once) one token is rotated, without the store ever holding a token in the clear — which is
//! what lets a rotated token presented again within the grace window get "the same successor".

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// A refresh token in the clear. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

/// The server-side key successors are derived with (32 bytes or more).
#[derive(Clone)]
pub struct RotationKey(Vec<u8>);

impl RotationKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        assert!(bytes.len() >= 32, "a rotation key has at least 32 bytes");
        Self(bytes)
    }
}

impl RefreshToken {
    const BYTES: usize = 32;

    /// A new random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token a client presented; `None` when it cannot be one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        (bytes.len() == Self::BYTES).then(|| Self(raw.trim().to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: hex SHA-256.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }

    /// The token this one rotates into.
    pub fn successor(&self, key: &RotationKey) -> RefreshToken {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes keys of any length");
        mac.update(b"vendrome refresh rotation\0");
        mac.update(self.0.as_bytes());
        RefreshToken(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_parseable_and_hashed() {
        let a = RefreshToken::generate();
        assert_ne!(a, RefreshToken::generate());
        assert_eq!(RefreshToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(RefreshToken::parse("short"), None);
        assert_eq!(a.hash().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn successors_are_deterministic_per_key() {
        let key = RotationKey::new(vec![7; 32]);
        let token = RefreshToken::generate();
        let next = token.successor(&key);
        assert_eq!(next, token.successor(&key));
        assert_ne!(next, token);
        assert_ne!(next, token.successor(&RotationKey::new(vec![8; 32])));
        assert_eq!(
            RefreshToken::parse(next.expose()),
            Some(next.clone()),
            "a successor is a token like any other"
        );
    }
}
