//! The caller's own account: reading it, changing the profile, changing the password.

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::ids::{SessionId, UserId};
use crate::users::{DisplayName, Email, Handle, ProfileUpdate, User};
use crate::validation::{invalid, web_url, ValidationErrors};
use crate::{Error, Result};

use super::password::{Password, DECOY_HASH};
use super::service::AuthService;
use super::sessions::reasons;

/// A profile change as submitted: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub display_name: Option<String>,
    pub handle: Option<Option<String>>,
    pub headline: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub email: Option<String>,
    /// Required to change the email.
    pub current_password: Option<String>,
}

impl AuthService {
    /// Changes the caller's password after checking the current one; ends every other session.
    ///
    /// MUST return [`Error::Forbidden`] `current_password_incorrect` for a wrong current
    /// password, [`Error::RateLimited`] past the account's failure budget, and
    /// [`Error::Invalid`] for a new one that breaks the policy.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current_session: Option<SessionId>,
        current: &str,
        new: &str,
        audit: &AuditContext,
    ) -> Result<()> {
        let mut errors = ValidationErrors::new();
        let current = errors.check("current_password", Password::candidate(current));
        let new = errors.check("new_password", Password::new_secret(new));
        errors.into_result()?;
        self.check_password(caller.user_id, &current.unwrap())
            .await?;
        let hash = self.hasher.hash(&new.unwrap()).await?;
        self.users
            .set_password(caller.user_id, hash.as_str(), audit)
            .await?;
        self.sessions
            .revoke_user_sessions(
                caller.user_id,
                current_session,
                reasons::PASSWORD_CHANGED,
                None,
            )
            .await?;
        Ok(())
    }

    /// Checks the caller's current password against the account's failure budget (the one
    /// sign-in uses): charged first, refunded when the password is right.
    ///
    /// MUST return [`Error::RateLimited`] past the budget.
    async fn check_password(&self, user: UserId, password: &Password) -> Result<()> {
        let account = self
            .users
            .user_by_id(user)
            .await?
            .ok_or(Error::not_found("user"))?;
        let budget = self.policy.limits.account_failures;
        self.throttle(&budget, account.email.as_str()).await?;
        let stored = self.users.password_hash(user).await?;
        let hash = stored.clone().unwrap_or_else(|| DECOY_HASH.clone());
        let verified = self.hasher.verify(password, &hash).await?;
        if stored.is_some() && verified {
            self.limiter.refund(&budget, account.email.as_str()).await?;
            Ok(())
        } else {
            Err(Error::forbidden(
                "current_password_incorrect",
                "the current password is not right",
            ))
        }
    }

    /// The caller's account.
    pub async fn me(&self, caller: &Caller) -> Result<User> {
        self.users
            .user_by_id(caller.user_id)
            .await?
            .ok_or(Error::not_found("user"))
    }

    /// Changes the caller's own profile. An email change needs the current password and marks
    /// the new address unverified.
    ///
    /// MUST return [`Error::Invalid`] naming every bad field, [`Error::Conflict`] `email_taken` or
    /// `handle_taken`, [`Error::Forbidden`] `current_password_incorrect`, and
    /// [`Error::RateLimited`] past the account's failure budget.
    pub async fn update_profile(
        &self,
        caller: &Caller,
        changes: ProfileChanges,
        audit: &AuditContext,
    ) -> Result<User> {
        let mut errors = ValidationErrors::new();
        let mut update = ProfileUpdate::default();
        if let Some(name) = &changes.display_name {
            update.display_name = errors.check("display_name", DisplayName::parse(name));
        }
        if let Some(handle) = &changes.handle {
            update.handle = match handle {
                Some(h) => errors.check("handle", Handle::parse(h)).map(Some),
                None => Some(None),
            };
        }
        if let Some(headline) = &changes.headline {
            errors.check("headline", bounded_text(headline.as_deref(), 200));
            update.headline = Some(
                headline
                    .as_deref()
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned),
            );
        }
        if let Some(url) = &changes.avatar_url {
            if let Some(url) = url {
                errors.check("avatar_url", web_url(url));
            }
            update.avatar_url = Some(url.clone());
        }
        if let Some(email) = &changes.email {
            update.email = errors.check("email", Email::parse(email));
            if changes.current_password.is_none() {
                errors.add(
                    "current_password",
                    "required",
                    "is needed to change the email",
                );
            }
        }
        errors.into_result()?;
        if update.email.is_some() {
            let password = Password::candidate(changes.current_password.as_deref().unwrap_or(""))
                .map_err(|_| {
                Error::forbidden(
                    "current_password_incorrect",
                    "the current password is not right",
                )
            })?;
            self.check_password(caller.user_id, &password).await?;
        }
        self.users
            .update_profile(caller.user_id, update, audit)
            .await
    }
}

fn bounded_text(text: Option<&str>, max: usize) -> Result<(), ValidationErrors> {
    match text {
        Some(t) if t.chars().count() > max => Err(invalid(
            "too_long",
            format!("must be at most {max} characters"),
        )),
        Some(t) if t.chars().any(char::is_control) => Err(invalid(
            "invalid_characters",
            "must not contain control characters",
        )),
        _ => Ok(()),
    }
}
