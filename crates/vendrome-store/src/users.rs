//! [`UserRepo`] on both databases.

use async_trait::async_trait;
use serde_json::json;
use vendrome_core::ids::UserId;
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Limit, Page};
use vendrome_core::users::{Email, NewUser, User, UserRepo};
use vendrome_core::{time, Error, Result};

use crate::error::{unique_violation, SqlxResultExt as _};
use crate::rows::{UserRow, USER_COLUMNS};
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
            let event = NewEvent::new(
                "user.created",
                "user",
                id,
                json!({ "user_id": id, "display_name": new.display_name.as_str(), "handle": new.handle.as_ref().map(|h| h.as_str()) }),
            );
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })
        .map_err(|error| match unique_violation(&error) {
            Some(c) if c.contains("email") => Error::conflict("email_taken", "an account with this email exists"),
            Some(c) if c.contains("handle") => Error::conflict("handle_taken", "this handle is taken"),
            _ => crate::error::unexpected(error),
        })?;
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
}
