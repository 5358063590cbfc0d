//! [`CalendarFeedRepo`] on both databases: one hashed feed token per member.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::calendar::feed::CalendarFeedRepo;
use vendrome_core::ids::UserId;
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::{with_db, Store};

#[async_trait]
impl CalendarFeedRepo for Store {
    #[tracing::instrument(skip(self, hash))]
    async fn set_feed_token(&self, user: UserId, hash: &str, now: Timestamp) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO calendar_feed_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, \
                 created_at = excluded.created_at",
            )
            .bind(user.as_uuid())
            .bind(hash)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn revoke_feed_token(&self, user: UserId) -> Result<bool> {
        with_db!(&self.db, pool => {
            sqlx::query("DELETE FROM calendar_feed_tokens WHERE user_id = $1")
                .bind(user.as_uuid())
                .execute(pool)
                .await
                .map(|r| r.rows_affected() == 1)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip_all)]
    async fn feed_owner(&self, hash: &str) -> Result<Option<UserId>> {
        let owner: Option<(Uuid,)> = with_db!(&self.db, pool => {
            sqlx::query_as("SELECT user_id FROM calendar_feed_tokens WHERE token_hash = $1")
                .bind(hash)
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(owner.map(|(id,)| UserId::from_uuid(id)))
    }
}
