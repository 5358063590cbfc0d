//! [`UserRepo`] in memory.

use async_trait::async_trait;

use super::{page_of, InMemory};
use crate::audit::AuditContext;
use crate::auth::PasswordHash;
use crate::enums::{UserRole, VerificationLevel};
use crate::ids::UserId;
use crate::page::{Cursor, Limit, Page};
use crate::time::{self, Timestamp};
use crate::users::{Email, NewUser, ProfileUpdate, User, UserRepo};
use crate::{Error, Result};

fn email_taken() -> Error {
    Error::conflict("email_taken", "an account with this email exists")
}

fn handle_taken() -> Error {
    Error::conflict("handle_taken", "this handle is taken")
}

impl InMemory {
    /// Applies `change` to the user and their password hash, or [`Error::NotFound`] `user`.
    fn change_user(
        &self,
        id: UserId,
        change: impl FnOnce(&mut User, &mut Option<String>),
    ) -> Result<User> {
        let mut world = self.world();
        let (user, hash) = world
            .users
            .iter_mut()
            .find(|(u, _)| u.id == id)
            .ok_or(Error::not_found("user"))?;
        change(user, hash);
        user.updated_at = time::now();
        Ok(user.clone())
    }
}

#[async_trait]
impl UserRepo for InMemory {
    async fn mark_email_verified(&self, id: UserId, email: &Email, at: Timestamp) -> Result<bool> {
        let mut world = self.world();
        match world.users.iter_mut().find(|(u, _)| u.id == id) {
            Some((user, _)) if user.email == *email && user.email_verified_at.is_none() => {
                user.email_verified_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn create_user(&self, new: NewUser) -> Result<User> {
        let mut world = self.world();
        if world.users.iter().any(|(u, _)| u.email == new.email) {
            return Err(email_taken());
        }
        if new.handle.is_some() && world.users.iter().any(|(u, _)| u.handle == new.handle) {
            return Err(handle_taken());
        }
        let now = time::now();
        let user = User {
            id: UserId::new(),
            email: new.email,
            email_verified_at: None,
            display_name: new.display_name,
            handle: new.handle,
            headline: None,
            avatar_url: None,
            role: new.role,
            verification_level: VerificationLevel::Unverified,
            disabled_at: None,
            created_at: now,
            updated_at: now,
        };
        world.users.push((user.clone(), new.password_hash));
        world.announce("user.created");
        Ok(user)
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.world().user(id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let world = self.world();
        Ok(world
            .users
            .iter()
            .map(|(u, _)| u)
            .find(|u| u.email == *email)
            .cloned())
    }

    async fn list_users(&self, after: Option<UserId>, limit: Limit) -> Result<Page<User>> {
        let world = self.world();
        let start = match after {
            Some(id) => world
                .users
                .iter()
                .position(|(u, _)| u.id == id)
                .map_or(0, |i| i + 1),
            None => 0,
        };
        let users: Vec<User> = world.users[start..]
            .iter()
            .map(|(u, _)| u.clone())
            .collect();
        let mut page = page_of(users, None, limit)?;
        page.next_cursor = page
            .next_cursor
            .and(page.items.last().map(|u| Cursor::encode(&u.id)));
        Ok(page)
    }

    async fn credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<(User, Option<PasswordHash>)>> {
        let world = self.world();
        Ok(world
            .users
            .iter()
            .find(|(u, _)| u.email == *email)
            .map(|(u, hash)| (u.clone(), hash.clone().map(PasswordHash::from_phc))))
    }

    async fn password_hash(&self, id: UserId) -> Result<Option<PasswordHash>> {
        let world = self.world();
        Ok(world
            .users
            .iter()
            .find(|(u, _)| u.id == id)
            .and_then(|(_, hash)| hash.clone().map(PasswordHash::from_phc)))
    }

    async fn set_password(&self, id: UserId, hash: &str, _audit: &AuditContext) -> Result<()> {
        self.change_user(id, |_, stored| *stored = Some(hash.to_owned()))
            .map(drop)
    }

    async fn update_profile(
        &self,
        id: UserId,
        update: ProfileUpdate,
        _audit: &AuditContext,
    ) -> Result<User> {
        {
            let world = self.world();
            let others = || world.users.iter().map(|(u, _)| u).filter(|u| u.id != id);
            if let Some(email) = &update.email {
                if others().any(|u| u.email == *email) {
                    return Err(email_taken());
                }
            }
            if let Some(Some(handle)) = &update.handle {
                if others().any(|u| u.handle.as_ref() == Some(handle)) {
                    return Err(handle_taken());
                }
            }
        }
        let empty = update.is_empty();
        let user = self.change_user(id, |user, _| {
            if let Some(name) = update.display_name {
                user.display_name = name;
            }
            if let Some(handle) = update.handle {
                user.handle = handle;
            }
            if let Some(headline) = update.headline {
                user.headline = headline;
            }
            if let Some(avatar) = update.avatar_url {
                user.avatar_url = avatar;
            }
            if let Some(email) = update.email {
                user.email = email;
                user.email_verified_at = None;
            }
        })?;
        if !empty {
            self.world().announce("user.updated");
        }
        Ok(user)
    }

    async fn set_role(&self, id: UserId, role: UserRole, _audit: &AuditContext) -> Result<User> {
        self.change_user(id, |user, _| user.role = role)
    }

    async fn set_verification_level(
        &self,
        id: UserId,
        level: VerificationLevel,
        _audit: &AuditContext,
    ) -> Result<User> {
        let user = self.change_user(id, |user, _| user.verification_level = level)?;
        self.world().announce("user.verification_level_changed");
        Ok(user)
    }

    async fn set_disabled(
        &self,
        id: UserId,
        disabled: bool,
        _audit: &AuditContext,
    ) -> Result<User> {
        let user = self.change_user(id, |user, _| {
            user.disabled_at = disabled.then(time::now);
        })?;
        self.world().announce(if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        });
        Ok(user)
    }
}
