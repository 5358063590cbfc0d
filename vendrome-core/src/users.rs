//! User accounts: the validated pieces of a user ([`Email`], [`DisplayName`], [`Handle`]), the
//! [`User`] entity and the [`UserRepo`] port.

use async_trait::async_trait;

use crate::audit::AuditContext;
use crate::auth::PasswordHash;
use crate::enums::{UserRole, VerificationLevel};
use crate::ids::UserId;
use crate::page::{Limit, Page};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::Result;

/// An email address, trimmed and lower-cased. Only its shape is checked here (one `@`, a dotted
/// domain, no spaces); whether it receives mail is for verification to find out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(invalid("required", "must not be empty"));
        }
        if raw.chars().count() > Self::MAX_LEN || email.chars().count() > Self::MAX_LEN {
            return Err(invalid(
                "too_long",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let well_formed = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !well_formed {
            return Err(invalid(
                "invalid_format",
                "must be an email address such as ada@example.com",
            ));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown beside everything a user does: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(invalid("required", "must not be empty"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(invalid(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid(
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A unique, URL-safe name (`@ada_lovelace`): 3 to 30 of `a-z`, `0-9` and `_`, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let handle = raw.trim().trim_start_matches('@').to_lowercase();
        if !(3..=30).contains(&handle.len()) {
            return Err(invalid("invalid_length", "must be 3 to 30 characters"));
        }
        if !handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(invalid(
                "invalid_format",
                "may hold only letters, digits and underscores",
            ));
        }
        Ok(Self(handle))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub email_verified_at: Option<Timestamp>,
    pub display_name: DisplayName,
    pub handle: Option<Handle>,
    pub headline: Option<String>,
    pub avatar_url: Option<String>,
    pub role: UserRole,
    pub verification_level: VerificationLevel,
    pub disabled_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub display_name: DisplayName,
    pub handle: Option<Handle>,
    /// A PHC-format password hash; `None` for accounts that sign in only through a provider.
    pub password_hash: Option<String>,
    pub role: UserRole,
}

/// A change to a user's own profile: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    pub display_name: Option<DisplayName>,
    pub handle: Option<Option<Handle>>,
    pub headline: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    /// A new email, stored unverified.
    pub email: Option<Email>,
}

impl ProfileUpdate {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Storage of user accounts.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Creates the user and, in the same transaction, its `user.created` outbox event.
    ///
    /// MUST return [`Error::Conflict`](crate::Error::Conflict) with code `email_taken` when
    /// another account has the email, and `handle_taken` when another has the handle.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) `email_taken` or `handle_taken`;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn create_user(&self, new: NewUser) -> Result<User>;

    /// The user with this id, or `None`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>>;

    /// The user with this email, or `None`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;

    /// Users in creation order, starting after `after`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn list_users(&self, after: Option<UserId>, limit: Limit) -> Result<Page<User>>;

    /// The user with this email and their password hash (`None` for provider-only accounts).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<(User, Option<PasswordHash>)>>;

    /// The user's password hash, if they have one.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn password_hash(&self, id: UserId) -> Result<Option<PasswordHash>>;

    /// Marks the user's address verified at `at`, when it is still `email` (an address changed
    /// since stays unverified). Returns whether it did.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn mark_email_verified(&self, id: UserId, email: &Email, at: Timestamp) -> Result<bool>;

    /// Sets a new password hash, with a `user.password_changed` audit event in the same
    /// transaction. MUST return [`Error::NotFound`](crate::Error::NotFound) for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_password(&self, id: UserId, hash: &str, audit: &AuditContext) -> Result<()>;

    /// Applies a profile change (an empty one changes nothing) and writes `user.updated` to the
    /// outbox. MUST return [`Error::Conflict`](crate::Error::Conflict) `email_taken` or
    /// `handle_taken`, and [`Error::NotFound`](crate::Error::NotFound) for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) `email_taken` or `handle_taken`,
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn update_profile(
        &self,
        id: UserId,
        update: ProfileUpdate,
        audit: &AuditContext,
    ) -> Result<User>;

    /// Sets the role, audited as `user.role_changed`. MUST return
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_role(&self, id: UserId, role: UserRole, audit: &AuditContext) -> Result<User>;

    /// Sets the verification level, audited as `user.verification_level_changed`. MUST return
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_verification_level(
        &self,
        id: UserId,
        level: VerificationLevel,
        audit: &AuditContext,
    ) -> Result<User>;

    /// Disables (or re-enables) the account, audited; disabling ends every session of the user
    /// in the same transaction. MUST return [`Error::NotFound`](crate::Error::NotFound) for an
    /// unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_disabled(&self, id: UserId, disabled: bool, audit: &AuditContext) -> Result<User>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn display_name_bounds() {
        assert!(DisplayName::parse("  ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("bad\u{0}name").is_err());
        assert_eq!(
            DisplayName::parse(" Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
    }

    #[test]
    fn handle_rules() {
        assert_eq!(Handle::parse("@Ada_1815").unwrap().as_str(), "ada_1815");
        for bad in ["ab", "has space", "dash-ed", &"x".repeat(31)] {
            assert!(Handle::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
