//! What operators do to accounts from the command line, through the same rules as the API:
//! accounts are made by [`AuthService::create_account`] (registration's own validation and
//! hashing) and sessions end through the session port, audited as the CLI's.

use crate::audit::AuditContext;
use crate::enums::UserRole;
use crate::ids::UserId;
use crate::users::User;
use crate::Result;

use super::service::{AuthService, NewAccount};
use super::sessions::reasons;

impl AuthService {
    /// Creates an account with a password and the given role, signing no one in (an
    /// operator's action: no rate limit applies).
    ///
    /// MUST return [`Error::Invalid`](crate::Error::Invalid) naming every bad field (the same
    /// rules as registration), or [`Error::Conflict`](crate::Error::Conflict) `email_taken`.
    pub async fn create_account_as_operator(
        &self,
        account: NewAccount,
        role: UserRole,
    ) -> Result<User> {
        self.create_account(account, role).await
    }

    /// Ends every session of `user`, audited with `via: "cli"` and the reason
    /// `revoked_by_admin`; returns how many refresh tokens ended.
    ///
    /// MUST return `Ok(0)` for a user without live sessions (or unknown).
    pub async fn end_sessions_as_operator(&self, user: UserId) -> Result<u64> {
        self.sessions
            .revoke_user_sessions(
                user,
                None,
                reasons::REVOKED_BY_ADMIN,
                Some(&AuditContext::cli()),
            )
            .await
    }
}
