//! The life of a session after sign-in: rotation on refresh, sign-out, listing and revocation.

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::enums::UserRole;
use crate::ids::{RefreshTokenId, SessionId, UserId};
use crate::time;
use crate::{Error, Result};

use super::refresh::RefreshToken;
use super::service::{address, after, AuthService, SignedIn};
use super::sessions::{reasons, ClientInfo, NewSessionToken, SessionToken};

impl AuthService {
    /// Trades a refresh token for a new access token and the token's successor.
    ///
    /// MUST return [`Error::Unauthenticated`] `refresh_token_invalid` for a token never issued,
    /// `session_expired` past the session's lifetimes, and `session_revoked` for an ended
    /// session — including the one that just ended because a rotated token came back after
    /// the grace window (RFC 9700 §4.14.2). Within the window the same successor is returned.
    pub async fn refresh(&self, presented: &str, client: &ClientInfo) -> Result<SignedIn> {
        self.throttle(&self.policy.limits.refresh_per_ip, address(client))
            .await?;
        let not_ours =
            || Error::unauthenticated("refresh_token_invalid", "the refresh token is not valid");
        let token = RefreshToken::parse(presented).ok_or_else(not_ours)?;
        let row = self
            .sessions
            .token_by_hash(&token.hash())
            .await?
            .ok_or_else(not_ours)?;
        let now = time::now();
        if row.revoked_at.is_some() {
            return Err(revoked());
        }
        if row.is_expired(now) {
            return Err(Error::unauthenticated(
                "session_expired",
                "the session has expired; sign in again",
            ));
        }
        let successor = token.successor(&self.rotation_key);
        if row.replaced_by.is_none() {
            let next = NewSessionToken {
                id: RefreshTokenId::new(),
                session_id: row.session_id,
                user_id: row.user_id,
                token_hash: successor.hash(),
                client: client.clone(),
                started_at: row.started_at,
                now,
                expires_at: row.expires_at,
                idle_expires_at: after(now, self.policy.idle_timeout).min(row.expires_at),
            };
            if self.sessions.rotate(row.id, next).await? {
                return self.successor_session(&row, successor).await;
            }
        }
        // Already rotated (just now by a concurrent request, or earlier).
        let row = self
            .sessions
            .token_by_id(row.id)
            .await?
            .ok_or_else(not_ours)?;
        let within_grace = row
            .rotated_at
            .is_some_and(|at| now <= after(at, self.policy.reuse_grace));
        if row.revoked_at.is_none() && within_grace {
            return self.successor_session(&row, successor).await;
        }
        let audit = AuditContext {
            ip: client.ip.clone(),
            via: Some("system"),
            ..AuditContext::default()
        };
        self.sessions
            .revoke_session(row.session_id, reasons::REFRESH_TOKEN_REUSED, Some(&audit))
            .await?;
        Err(revoked())
    }

    async fn successor_session(
        &self,
        row: &SessionToken,
        successor: RefreshToken,
    ) -> Result<SignedIn> {
        let user = self
            .users
            .user_by_id(row.user_id)
            .await?
            .ok_or_else(revoked)?;
        if user.is_disabled() {
            return Err(revoked());
        }
        self.signed_in(user, row.session_id, successor, None)
    }

    /// The user's role as stored now, or `None` when the account is gone or disabled.
    pub async fn current_role(&self, user: UserId) -> Result<Option<UserRole>> {
        let user = self.users.user_by_id(user).await?;
        Ok(user.filter(|u| !u.is_disabled()).map(|u| u.role))
    }

    /// Ends the caller's current session.
    pub async fn logout(&self, session: SessionId) -> Result<()> {
        self.sessions
            .revoke_session(session, reasons::LOGOUT, None)
            .await?;
        Ok(())
    }

    /// Ends every session of the user; returns how many tokens ended.
    pub async fn logout_all(&self, user: UserId) -> Result<u64> {
        self.sessions
            .revoke_user_sessions(user, None, reasons::LOGOUT_ALL, None)
            .await
    }

    /// The user's live sessions.
    pub async fn sessions(&self, user: UserId) -> Result<Vec<SessionToken>> {
        self.sessions.active_sessions(user, time::now()).await
    }

    /// Whether a session is live: access tokens of ended sessions are refused with it.
    pub async fn session_is_active(&self, session: SessionId) -> Result<bool> {
        self.sessions.session_is_active(session, time::now()).await
    }

    /// Ends one of the caller's sessions, or — for an admin — anyone's, audited.
    ///
    /// MUST return [`Error::NotFound`] when the session is not the caller's (and the caller is
    /// no admin) or does not exist.
    pub async fn revoke_session(
        &self,
        caller: &Caller,
        owner: UserId,
        session: SessionId,
        audit: &AuditContext,
    ) -> Result<()> {
        let live = self.sessions.active_sessions(owner, time::now()).await?;
        if !live.iter().any(|s| s.session_id == session) {
            return Err(Error::not_found("session"));
        }
        if owner == caller.user_id {
            self.sessions
                .revoke_session(session, reasons::REVOKED_BY_OWNER, None)
                .await?;
        } else {
            caller.require_admin()?;
            self.sessions
                .revoke_session(session, reasons::REVOKED_BY_ADMIN, Some(audit))
                .await?;
        }
        Ok(())
    }
}

fn revoked() -> Error {
    Error::unauthenticated("session_revoked", "the session has ended; sign in again")
}
