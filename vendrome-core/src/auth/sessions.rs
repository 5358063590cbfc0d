//! Sessions: one sign-in on one device. A session is the family of its rotating refresh tokens;
//! each row of the [`SessionRepo`] is one token of one session.

use async_trait::async_trait;

use crate::audit::AuditContext;
use crate::ids::{RefreshTokenId, SessionId, UserId};
use crate::time::Timestamp;
use crate::Result;

/// Where a request came from, as far as the adapter knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// One refresh token of a session, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionToken {
    pub id: RefreshTokenId,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub token_hash: String,
    /// The token this one was rotated into, and when.
    pub replaced_by: Option<RefreshTokenId>,
    pub rotated_at: Option<Timestamp>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub started_at: Timestamp,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    /// The session's absolute end, and this token's inactivity deadline.
    pub expires_at: Timestamp,
    pub idle_expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoke_reason: Option<String>,
}

impl SessionToken {
    /// Whether the session has run out, absolutely or for inactivity.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at || now >= self.idle_expires_at
    }
}

/// A token to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSessionToken {
    pub id: RefreshTokenId,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub token_hash: String,
    pub client: ClientInfo,
    pub started_at: Timestamp,
    pub now: Timestamp,
    pub expires_at: Timestamp,
    pub idle_expires_at: Timestamp,
}

/// Why sessions end (stored as `revoke_reason`).
pub mod reasons {
    pub const LOGOUT: &str = "logout";
    pub const LOGOUT_ALL: &str = "logout_all";
    pub const REVOKED_BY_OWNER: &str = "revoked_by_owner";
    pub const REVOKED_BY_ADMIN: &str = "revoked_by_admin";
    pub const REFRESH_TOKEN_REUSED: &str = "refresh_token_reused";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const ACCOUNT_DISABLED: &str = "account_disabled";
    /// An admin lowered the member's role: their tokens carried the old one.
    pub const ROLE_LOWERED: &str = "role_lowered";
    pub const PASSWORD_RESET: &str = "password_reset";
}

/// Tells every server instance that sessions of a user ended, so that none keeps trusting what
/// it cached about them (each instance remembers live sessions for a while to spare the
/// database a query per request).
#[async_trait]
pub trait RevocationNotices: Send + Sync {
    /// Announces that sessions of `user` ended. MUST return an error when the notice could not
    /// be handed to the carrier (instances then learn it at their next check).
    ///
    /// # Errors
    ///
    /// Any error of the transport (an `anyhow::Error`); the caller logs it and goes on.
    async fn announce(&self, user: UserId) -> anyhow::Result<()>;
}

/// Storage of sessions and their refresh tokens.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores the first token of a new session.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_session(&self, token: NewSessionToken) -> Result<()>;

    /// The token with this hash, whatever its state, or `None`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// hash is `Ok(None)`.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<SessionToken>>;

    /// The token with this id, or `None`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown id
    /// is `Ok(None)`.
    async fn token_by_id(&self, id: RefreshTokenId) -> Result<Option<SessionToken>>;

    /// Atomically marks `old` rotated into `successor` and stores `successor`. MUST return
    /// `false`, changing nothing, when `old` was already rotated or revoked (a concurrent refresh
    /// won), so that one token never has two successors.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. A lost race is
    /// `Ok(false)`, not an error.
    async fn rotate(&self, old: RefreshTokenId, successor: NewSessionToken) -> Result<bool>;

    /// Ends one session (every token of it). Returns how many tokens it ended; an audit event
    /// `session.revoked` is written in the same transaction when `audit` is given.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown or
    /// ended session is `Ok(0)`.
    async fn revoke_session(
        &self,
        session: SessionId,
        reason: &str,
        audit: Option<&AuditContext>,
    ) -> Result<u64>;

    /// Ends every session of `user` but `except`, like [`SessionRepo::revoke_session`].
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. A user without
    /// live sessions (or unknown) is `Ok(0)`.
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
        reason: &str,
        audit: Option<&AuditContext>,
    ) -> Result<u64>;

    /// The user's live sessions, each as its current token, most recently used first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn active_sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<SessionToken>>;

    /// Whether a session is live (not revoked, not expired) at `now`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// session is `Ok(false)`.
    async fn session_is_active(&self, session: SessionId, now: Timestamp) -> Result<bool>;
}
