//! A member's secret calendar feed: one token per member, handed out once and stored only as a
//! SHA-256 hash, rotated by issuing another and revoked by deleting it.

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::ids::UserId;
use crate::time::Timestamp;
use crate::Result;

/// A feed token in the clear (256 random bits, URL-safe base64). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct FeedToken(String);

impl std::fmt::Debug for FeedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeedToken(***)")
    }
}

impl FeedToken {
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
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Storage of feed tokens (one per member).
#[async_trait]
pub trait CalendarFeedRepo: Send + Sync {
    /// Stores `hash` as `user`'s feed token, replacing the one they had (which stops working).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn set_feed_token(&self, user: UserId, hash: &str, now: Timestamp) -> Result<()>;

    /// Deletes `user`'s feed token; `false` when they had none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn revoke_feed_token(&self, user: UserId) -> Result<bool>;

    /// The member whose feed token has this hash, `None` for an unknown or revoked one.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn feed_owner(&self, hash: &str) -> Result<Option<UserId>>;
}

#[cfg(test)]
mod tests {
    use super::FeedToken;

    #[test]
    fn tokens_parse_back_and_hide_in_debug() {
        let token = FeedToken::generate();
        assert_eq!(FeedToken::parse(token.expose()), Some(token.clone()));
        assert_eq!(token.hash().len(), 64);
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_eq!(FeedToken::parse("short"), None);
    }
}
