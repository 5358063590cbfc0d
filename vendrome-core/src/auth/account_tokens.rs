//! Single-use tokens handed to a member out of band: the link of an address verification or a
//! password reset (mailed), and the one-time code a browser sign-in brings back to the frontend.
//! Each is 256 random bits, stored only as its SHA-256 hash, and taken (deleted) when used.

use async_trait::async_trait;

use crate::ids::UserId;
use crate::time::Timestamp;
use crate::Result;

/// What a token is for; a token is only ever taken for its own purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Proves control of the address in `bound_to`.
    VerifyEmail,
    /// Sets a new password for the account whose address is `bound_to`.
    ResetPassword,
    /// Trades a finished browser sign-in for tokens, from the browser whose cookie hash is
    /// `bound_to`.
    OAuthExchange,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::OAuthExchange => "oauth_exchange",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            TokenPurpose::VerifyEmail,
            TokenPurpose::ResetPassword,
            TokenPurpose::OAuthExchange,
        ]
        .into_iter()
        .find(|p| p.as_str() == raw)
    }
}

/// A token as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountToken {
    /// Hex SHA-256 of the token.
    pub hash: String,
    pub purpose: TokenPurpose,
    pub user_id: UserId,
    /// What the token is tied to (an email address, a browser's cookie hash).
    pub bound_to: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Storage of single-use tokens.
#[async_trait]
pub trait AccountTokenRepo: Send + Sync {
    /// Stores a token (and forgets the expired ones).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn save_token(&self, token: AccountToken) -> Result<()>;

    /// Takes the token with this hash and purpose: deletes it and returns it, atomically, so
    /// that of concurrent callers at most one gets it. MUST return `None` when there is none (or
    /// only one of another purpose, which stays) or it expired at or before `now`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn take_token(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<AccountToken>>;

    /// Deletes every token of `user` for `purpose`; returns how many.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn delete_tokens(&self, user: UserId, purpose: TokenPurpose) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::TokenPurpose;

    #[test]
    fn purposes_round_trip() {
        for purpose in [
            TokenPurpose::VerifyEmail,
            TokenPurpose::ResetPassword,
            TokenPurpose::OAuthExchange,
        ] {
            assert_eq!(TokenPurpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(TokenPurpose::parse("other"), None);
    }
}
