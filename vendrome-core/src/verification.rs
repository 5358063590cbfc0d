//! Verification: the badges a member earned (email, identity, business registration…) and
//! their verification level, which admins set. Reading is public; changes are admin-only and
//! audited.

use std::sync::Arc;

use async_trait::async_trait;

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::enums::{BadgeKind, UserRole, VerificationLevel};
use crate::ids::{BadgeId, UserId};
use crate::time::Timestamp;
use crate::users::{User, UserRepo};
use crate::{Error, Result};

/// A live badge.
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    pub id: BadgeId,
    pub user_id: UserId,
    pub kind: BadgeKind,
    pub verified_by: Option<UserId>,
    pub verified_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// A user's verification as others see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub user_id: UserId,
    pub level: VerificationLevel,
    pub badges: Vec<Badge>,
}

/// Storage of badges.
#[async_trait]
pub trait BadgeRepo: Send + Sync {
    /// The user's live (not revoked, not expired) badges.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn badges(&self, user: UserId, now: Timestamp) -> Result<Vec<Badge>>;

    /// Grants a badge, audited as `user.badge_granted`. MUST return
    /// [`Error::Conflict`] `badge_exists` when a live badge of this kind exists and
    /// [`Error::NotFound`] for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) `badge_exists`,
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn grant_badge(
        &self,
        user: UserId,
        kind: BadgeKind,
        audit: &AuditContext,
    ) -> Result<Badge>;

    /// Revokes the live badge of this kind, audited as `user.badge_revoked`. MUST return
    /// [`Error::NotFound`] when there is none.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `badge` when the user holds no live badge of
    /// this kind; [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn revoke_badge(&self, user: UserId, kind: BadgeKind, audit: &AuditContext)
        -> Result<()>;
}

/// Roles, badges and verification levels.
#[derive(Clone)]
pub struct VerificationService {
    users: Arc<dyn UserRepo>,
    badges: Arc<dyn BadgeRepo>,
}

impl VerificationService {
    pub fn new(users: Arc<dyn UserRepo>, badges: Arc<dyn BadgeRepo>) -> Self {
        Self { users, badges }
    }

    /// Anyone's verification. MUST return [`Error::NotFound`] for an unknown or disabled user.
    pub async fn verification(&self, user: UserId) -> Result<Verification> {
        let found = self
            .users
            .user_by_id(user)
            .await?
            .filter(|u| !u.is_disabled());
        let found = found.ok_or(Error::not_found("user"))?;
        let badges = self.badges.badges(user, crate::time::now()).await?;
        Ok(Verification {
            user_id: user,
            level: found.verification_level,
            badges,
        })
    }

    /// MUST return [`Error::Forbidden`] `admin_only` unless the caller is an admin.
    pub async fn grant_badge(
        &self,
        caller: &Caller,
        user: UserId,
        kind: BadgeKind,
        audit: &AuditContext,
    ) -> Result<Badge> {
        caller.require_admin()?;
        self.badges.grant_badge(user, kind, audit).await
    }

    /// MUST return [`Error::Forbidden`] `admin_only` unless the caller is an admin.
    pub async fn revoke_badge(
        &self,
        caller: &Caller,
        user: UserId,
        kind: BadgeKind,
        audit: &AuditContext,
    ) -> Result<()> {
        caller.require_admin()?;
        self.badges.revoke_badge(user, kind, audit).await
    }

    /// MUST return [`Error::Forbidden`] `admin_only` unless the caller is an admin.
    pub async fn set_level(
        &self,
        caller: &Caller,
        user: UserId,
        level: VerificationLevel,
        audit: &AuditContext,
    ) -> Result<User> {
        caller.require_admin()?;
        self.users.set_verification_level(user, level, audit).await
    }

    /// MUST return [`Error::Forbidden`] `admin_only` unless the caller is an admin, and
    /// [`Error::Conflict`] `last_admin` when an admin would disable themselves.
    pub async fn set_disabled(
        &self,
        caller: &Caller,
        user: UserId,
        disabled: bool,
        audit: &AuditContext,
    ) -> Result<User> {
        caller.require_admin()?;
        if user == caller.user_id && disabled {
            return Err(Error::conflict(
                "last_admin",
                "an admin cannot disable themselves; ask another admin",
            ));
        }
        self.users.set_disabled(user, disabled, audit).await
    }

    /// MUST return [`Error::Forbidden`] `admin_only` unless the caller is an admin, and
    /// [`Error::Conflict`] `last_admin` when an admin would demote themselves (someone must
    /// remain able to administer).
    pub async fn set_role(
        &self,
        caller: &Caller,
        user: UserId,
        role: UserRole,
        audit: &AuditContext,
    ) -> Result<User> {
        caller.require_admin()?;
        if user == caller.user_id && role != UserRole::Admin {
            return Err(Error::conflict(
                "last_admin",
                "an admin cannot demote themselves; ask another admin",
            ));
        }
        self.users.set_role(user, role, audit).await
    }
}
