//! [`UserRepo`] on both databases.

use async_trait::async_trait;
use serde_json::json;
use sqlx::QueryBuilder;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::auth::{reasons, PasswordHash};
use vendrome_core::enums::{UserRole, VerificationLevel};
use vendrome_core::events::{
    AccountChange, DisabledChange, DomainEvent, FieldsChanged, LevelChange, RoleChange, UserCreated,
};
use vendrome_core::ids::UserId;
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::users::{Email, NewUser, ProfileUpdate, User, UserRepo};
use vendrome_core::{time, Error, Result};

use crate::error::{unique_violation, SqlxResultExt as _};
use crate::rows::{CredentialsRow, UserRow, USER_COLUMNS};
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

#[async_trait]
impl UserRepo for Store {
    #[tracing::instrument(skip_all, fields(email = %new.email.as_str()))]
    async fn create_user(&self, new: NewUser) -> Result<User> {
        let now = time::now();
        let id = UserId::new();
        let sql = format!(
            "INSERT INTO users (id, email, display_name, handle, password_hash, role, verification_level, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'unverified', $7, $7) RETURNING {USER_COLUMNS}"
        );
        let row: UserRow = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: UserRow = sqlx::query_as(&sql)
                .bind(id.as_uuid())
                .bind(new.email.as_str())
                .bind(new.display_name.as_str())
                .bind(new.handle.as_ref().map(|h| h.as_str()))
                .bind(&new.password_hash)
                .bind(DbEnum(new.role))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let event = NewEvent::new(DomainEvent::UserCreated(UserCreated {
                user_id: id,
                display_name: new.display_name.as_str().to_owned(),
                handle: new.handle.as_ref().map(|h| h.as_str().to_owned()),
            }));
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })
        .map_err(unique_conflict)?;
        User::try_from(row)
    }

    #[tracing::instrument(skip(self))]
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(User::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(User::try_from).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list_users(&self, after: Option<UserId>, limit: Limit) -> Result<Page<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
        );
        let rows: Vec<UserRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(after.map(|id| id.as_uuid())).bind(limit.probe()).fetch_all(pool).await
        })
        .or_unexpected()?;
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_probe(users, limit, |u| u.id))
    }

    #[tracing::instrument(skip_all)]
    async fn credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<(User, Option<PasswordHash>)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        let row: Option<CredentialsRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(|row| {
            Ok((
                User::try_from(row.user)?,
                row.password_hash.map(PasswordHash::from_phc),
            ))
        })
        .transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn password_hash(&self, id: UserId) -> Result<Option<PasswordHash>> {
        let hash: Option<Option<String>> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(hash.flatten().map(PasswordHash::from_phc))
    }

    #[tracing::instrument(skip(self, email))]
    async fn mark_email_verified(&self, id: UserId, email: &Email, at: Timestamp) -> Result<bool> {
        let marked = with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE users SET email_verified_at = $3, updated_at = $3 \
                 WHERE id = $1 AND email = $2 AND email_verified_at IS NULL",
            )
            .bind(id.as_uuid())
            .bind(email.as_str())
            .bind(at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .or_unexpected()?;
        Ok(marked == 1)
    }

    #[tracing::instrument(skip(self, hash, audit))]
    async fn set_password(&self, id: UserId, hash: &str, audit: &AuditContext) -> Result<()> {
        let now = time::now();
        let changed = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_uuid())
                .bind(hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                let event = NewAuditEvent {
                    action: "user.password_changed".into(),
                    target_type: "user".into(),
                    target_id: id.to_string(),
                    details: json!({}),
                };
                tx.record_audit(&event, audit, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(changed)
        })
        .or_unexpected()?;
        if changed == 1 {
            Ok(())
        } else {
            Err(Error::not_found("user"))
        }
    }

    #[tracing::instrument(skip(self, update, audit))]
    async fn update_profile(
        &self,
        id: UserId,
        update: ProfileUpdate,
        audit: &AuditContext,
    ) -> Result<User> {
        if update.is_empty() {
            return self.user_by_id(id).await?.ok_or(Error::not_found("user"));
        }
        let now = time::now();
        let changed_fields: Vec<&str> = [
            ("display_name", update.display_name.is_some()),
            ("handle", update.handle.is_some()),
            ("headline", update.headline.is_some()),
            ("avatar_url", update.avatar_url.is_some()),
            ("email", update.email.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect();
        let row: Option<UserRow> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let mut query = QueryBuilder::new("UPDATE users SET updated_at = ");
            query.push_bind(now);
            if let Some(name) = &update.display_name {
                query.push(", display_name = ").push_bind(name.as_str());
            }
            if let Some(handle) = &update.handle {
                query.push(", handle = ").push_bind(handle.as_ref().map(|h| h.as_str()));
            }
            if let Some(headline) = &update.headline {
                query.push(", headline = ").push_bind(headline.as_deref());
            }
            if let Some(url) = &update.avatar_url {
                query.push(", avatar_url = ").push_bind(url.as_deref());
            }
            if let Some(email) = &update.email {
                query.push(", email_verified_at = NULL, email = ").push_bind(email.as_str());
            }
            query.push(" WHERE id = ").push_bind(id.as_uuid());
            query.push(format!(" RETURNING {USER_COLUMNS}"));
            let row: Option<UserRow> = query.build_query_as().fetch_optional(&mut *tx).await?;
            if row.is_some() {
                let event = NewEvent::new(DomainEvent::UserUpdated(FieldsChanged {
                    user_id: id,
                    fields: changed_fields.iter().map(|f| (*f).to_owned()).collect(),
                }));
                tx.append_event(&event, now).await?;
                if update.email.is_some() {
                    let audit_event = NewAuditEvent {
                        action: "user.email_changed".into(),
                        target_type: "user".into(),
                        target_id: id.to_string(),
                        details: json!({}),
                    };
                    tx.record_audit(&audit_event, audit, now).await?;
                }
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(row)
        })
        .map_err(unique_conflict)?;
        row.map(User::try_from)
            .transpose()?
            .ok_or(Error::not_found("user"))
    }

    async fn set_role(&self, id: UserId, role: UserRole, audit: &AuditContext) -> Result<User> {
        self.apply_admin_change(id, AdminChange::Role(role), audit)
            .await
    }

    async fn set_verification_level(
        &self,
        id: UserId,
        level: VerificationLevel,
        audit: &AuditContext,
    ) -> Result<User> {
        self.apply_admin_change(id, AdminChange::Level(level), audit)
            .await
    }

    async fn set_disabled(&self, id: UserId, disabled: bool, audit: &AuditContext) -> Result<User> {
        self.apply_admin_change(id, AdminChange::Disabled(disabled), audit)
            .await
    }
}

/// An admin's change to one account.
#[derive(Debug, Clone, Copy)]
enum AdminChange {
    Role(UserRole),
    Level(VerificationLevel),
    Disabled(bool),
}

impl AdminChange {
    fn action(self) -> &'static str {
        match self {
            AdminChange::Role(_) => "user.role_changed",
            AdminChange::Level(_) => "user.verification_level_changed",
            AdminChange::Disabled(true) => "user.disabled",
            AdminChange::Disabled(false) => "user.enabled",
        }
    }

    /// The event that announces the change.
    fn event(self, user_id: UserId) -> DomainEvent {
        match self {
            AdminChange::Role(role) => DomainEvent::UserRoleChanged(AccountChange {
                user_id,
                change: RoleChange { role },
            }),
            AdminChange::Level(verification_level) => {
                DomainEvent::UserVerificationLevelChanged(AccountChange {
                    user_id,
                    change: LevelChange { verification_level },
                })
            }
            AdminChange::Disabled(disabled) => {
                let change = AccountChange {
                    user_id,
                    change: DisabledChange { disabled },
                };
                if disabled {
                    DomainEvent::UserDisabled(change)
                } else {
                    DomainEvent::UserEnabled(change)
                }
            }
        }
    }

    fn details(self) -> serde_json::Value {
        match self {
            AdminChange::Role(role) => json!({ "role": role }),
            AdminChange::Level(level) => json!({ "verification_level": level }),
            AdminChange::Disabled(disabled) => json!({ "disabled": disabled }),
        }
    }
}

fn unique_conflict(error: sqlx::Error) -> Error {
    match unique_violation(&error) {
        Some(c) if c.contains("email") => {
            Error::conflict("email_taken", "an account with this email exists")
        }
        Some(c) if c.contains("handle") => Error::conflict("handle_taken", "this handle is taken"),
        _ => crate::error::unexpected(error),
    }
}

impl Store {
    async fn apply_admin_change(
        &self,
        id: UserId,
        change: AdminChange,
        audit: &AuditContext,
    ) -> Result<User> {
        let now = time::now();
        let set = match change {
            AdminChange::Role(_) => "role = $3",
            AdminChange::Level(_) => "verification_level = $3",
            AdminChange::Disabled(true) => "disabled_at = $2",
            AdminChange::Disabled(false) => "disabled_at = NULL",
        };
        let sql = format!(
            "UPDATE users SET {set}, updated_at = $2 WHERE id = $1 RETURNING {USER_COLUMNS}"
        );
        let row: Option<UserRow> = with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            // The role before the change, read under the row's lock: lowering it ends the
            // sessions, whose access tokens carry the old role. On SQLite the lock is a write,
            // so the transaction holds the write lock before it reads (a read first would make
            // the later upgrade fail with SQLITE_BUSY under concurrent writers).
            let lock = dialect.pick(
                "SELECT role FROM users WHERE id = $1 FOR UPDATE",
                "UPDATE users SET id = id WHERE id = $1 RETURNING role",
            );
            let before: Option<DbEnum<UserRole>> =
                sqlx::query_scalar(lock).bind(id.as_uuid()).fetch_optional(&mut *tx).await?;
            let query = sqlx::query_as(&sql).bind(id.as_uuid()).bind(now);
            let query = match change {
                AdminChange::Role(role) => query.bind(DbEnum(role)),
                AdminChange::Level(level) => query.bind(DbEnum(level)),
                AdminChange::Disabled(_) => query,
            };
            let row: Option<UserRow> = query.fetch_optional(&mut *tx).await?;
            if row.is_some() {
                let event = NewAuditEvent {
                    action: change.action().into(),
                    target_type: "user".into(),
                    target_id: id.to_string(),
                    details: change.details(),
                };
                tx.record_audit(&event, audit, now).await?;
                let announce = NewEvent::new(change.event(id));
                tx.append_event(&announce, now).await?;
                let revoke = match (change, before) {
                    (AdminChange::Disabled(true), _) => Some(reasons::ACCOUNT_DISABLED),
                    (AdminChange::Role(role), Some(DbEnum(was))) if role.rank() < was.rank() => {
                        Some(reasons::ROLE_LOWERED)
                    }
                    _ => None,
                };
                if let Some(reason) = revoke {
                    sqlx::query(
                        "UPDATE auth_sessions SET revoked_at = $2, revoke_reason = $3 WHERE user_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id.as_uuid())
                    .bind(now)
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        row.map(User::try_from)
            .transpose()?
            .ok_or(Error::not_found("user"))
    }
}
