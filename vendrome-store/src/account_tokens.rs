//! [`AccountTokenRepo`] on both databases.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::auth::{AccountToken, AccountTokenRepo, TokenPurpose};
use vendrome_core::ids::UserId;
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::error::SqlxResultExt as _;
use crate::{with_db, Store};

const COLUMNS: &str = "token_hash, purpose, user_id, bound_to, created_at, expires_at";

#[derive(sqlx::FromRow)]
struct TokenRow {
    token_hash: String,
    purpose: String,
    user_id: Uuid,
    bound_to: Option<String>,
    created_at: Timestamp,
    expires_at: Timestamp,
}

impl TryFrom<TokenRow> for AccountToken {
    type Error = Error;

    fn try_from(row: TokenRow) -> Result<Self> {
        let purpose = TokenPurpose::parse(&row.purpose).ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!("unknown token purpose {:?}", row.purpose))
        })?;
        Ok(Self {
            hash: row.token_hash,
            purpose,
            user_id: UserId::from_uuid(row.user_id),
            bound_to: row.bound_to,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

#[async_trait]
impl AccountTokenRepo for Store {
    #[tracing::instrument(skip_all, fields(purpose = token.purpose.as_str()))]
    async fn save_token(&self, token: AccountToken) -> Result<()> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1")
                .bind(token.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO account_tokens (token_hash, purpose, user_id, bound_to, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&token.hash)
            .bind(token.purpose.as_str())
            .bind(token.user_id.as_uuid())
            .bind(&token.bound_to)
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, hash))]
    async fn take_token(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<AccountToken>> {
        // One DELETE … RETURNING: of concurrent callers with one token, exactly one gets the row.
        let sql = format!(
            "DELETE FROM account_tokens WHERE token_hash = $1 AND purpose = $2 RETURNING {COLUMNS}"
        );
        let row: Option<TokenRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(hash)
                .bind(purpose.as_str())
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(row
            .map(AccountToken::try_from)
            .transpose()?
            .filter(|t| t.expires_at > now))
    }

    #[tracing::instrument(skip(self))]
    async fn delete_tokens(&self, user: UserId, purpose: TokenPurpose) -> Result<u64> {
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2")
                .bind(user.as_uuid())
                .bind(purpose.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .or_unexpected()
    }
}
