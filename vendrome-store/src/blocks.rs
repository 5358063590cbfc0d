//! [`BlockRepo`] on both databases: a block and everything it ends, in one transaction.

use async_trait::async_trait;
use vendrome_core::enums::ConnectionStatus;
use vendrome_core::events::{BlockEnded, DomainEvent, UserBlocked};
use vendrome_core::graph::blocks::{BlockEntry, BlockRepo};
use vendrome_core::ids::UserId;
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::{time, Result};

use crate::error::SqlxResultExt as _;
use crate::graph::{ordered, sub_counts};
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

/// Moves the pair's open connection rows from `$from` to `$to`, for requests sent by `$by`
/// (`None`: either side); evaluates to how many moved.
macro_rules! end_connections {
    ($tx:expr, $a:expr, $b:expr, $from:expr, $to:expr, $now:expr) => {
        sqlx::query(
            "UPDATE connections SET status = $3, updated_at = $5, \
             responded_at = CASE WHEN responded_at IS NULL THEN $5 ELSE responded_at END \
             WHERE requester_id = $1 AND addressee_id = $2 AND status = $4",
        )
        .bind($a)
        .bind($b)
        .bind(DbEnum($to))
        .bind(DbEnum($from))
        .bind($now)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
    };
}

#[async_trait]
impl BlockRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn block(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        let now = time::now();
        let (me, them) = (blocker.as_uuid(), blocked.as_uuid());
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO user_blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            )
            .bind(me)
            .bind(them)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                return Ok(false);
            }
            // Follows both ways, each with its counters.
            let mut follows_ended = 0u64;
            for (follower, followee) in [(blocker, blocked), (blocked, blocker)] {
                let deleted = sqlx::query("DELETE FROM user_follows WHERE follower_id = $1 AND followee_id = $2")
                    .bind(follower.as_uuid())
                    .bind(followee.as_uuid())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 1 {
                    follows_ended += 1;
                    sub_counts!(tx, ordered((follower, [0, 1, 0]), (followee, [1, 0, 0])), now)?;
                }
            }
            // An accepted connection ends (both lose one); pending requests are cancelled.
            let removed = end_connections!(tx, me, them, ConnectionStatus::Accepted, ConnectionStatus::Removed, now)
                + end_connections!(tx, them, me, ConnectionStatus::Accepted, ConnectionStatus::Removed, now);
            if removed > 0 {
                sub_counts!(tx, ordered((blocker, [0, 0, 1]), (blocked, [0, 0, 1])), now)?;
            }
            let cancelled = end_connections!(tx, me, them, ConnectionStatus::Pending, ConnectionStatus::Withdrawn, now)
                + end_connections!(tx, them, me, ConnectionStatus::Pending, ConnectionStatus::Declined, now);
            let event = NewEvent::new(DomainEvent::UserBlocked(UserBlocked {
                blocker_id: blocker,
                blocked_id: blocked,
                follows_ended,
                connection_ended: removed > 0,
                requests_cancelled: cancelled,
            }));
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        let now = time::now();
        let event = NewEvent::new(DomainEvent::UserUnblocked(BlockEnded {
            blocker_id: blocker,
            blocked_id: blocked,
        }));
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let deleted = sqlx::query("DELETE FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .bind(blocker.as_uuid())
                .bind(blocked.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if deleted {
                tx.append_event(&event, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(deleted)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, after))]
    async fn blocks(
        &self,
        blocker: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<BlockEntry>> {
        let page = self
            .people_list(
                "user_blocks",
                blocker,
                "blocker_id",
                "blocked_id",
                after,
                limit,
            )
            .await?;
        Ok(page.map(|(user, since)| BlockEntry { user, since }))
    }
}
