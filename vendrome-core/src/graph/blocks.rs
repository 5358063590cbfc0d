//! Blocks: a member hides themselves from another. While a block stands in either direction the
//! two see none of each other's posts (every feed and lookup), and neither may follow or ask to
//! connect. Blocking ends what is between them at once, in one transaction: follows both ways,
//! an accepted connection, pending requests.
//!
//! Events (`aggregate_type` `user`, `aggregate_id` the blocker):
//!
//! | `event_type` | payload |
//! |---|---|
//! | `user.blocked` | `{blocker_id, blocked_id, follows_ended, connection_ended, requests_cancelled}` |
//! | `user.unblocked` | `{blocker_id, blocked_id}` |

use async_trait::async_trait;

use super::{GraphService, UserSummary};
use crate::access::Caller;
use crate::ids::UserId;
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::Result;

/// Someone the caller blocked.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockEntry {
    pub user: UserSummary,
    pub since: Timestamp,
}

/// Storage of blocks.
#[async_trait]
pub trait BlockRepo: Send + Sync {
    /// Blocks `blocked` for `blocker`; `false` when already blocked (nothing changes then).
    /// In the same transaction: deletes the follows between them both ways, moves an accepted
    /// connection to `removed` and a pending request to `withdrawn` (sent by the blocker) or
    /// `declined` (sent to them), keeps every counter exact, and writes `user.blocked`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. Blocking twice
    /// is `Ok(false)`.
    async fn block(&self, blocker: UserId, blocked: UserId) -> Result<bool>;

    /// Lifts the block; `false` when there was none. Writes `user.unblocked`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. No block is
    /// `Ok(false)`.
    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<bool>;

    /// Whom `blocker` blocked, newest first; `after` is a cursor this method handed out
    /// (MUST return [`crate::Error::Invalid`] for any other).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn blocks(
        &self,
        blocker: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<BlockEntry>>;
}

impl GraphService {
    /// Blocks `whom` (idempotent). MUST return [`crate::Error::Invalid`] for oneself (field `id`)
    /// and [`crate::Error::NotFound`] for an unknown user.
    pub async fn block(&self, caller: &Caller, whom: UserId) -> Result<()> {
        self.check_other(caller, whom, "self_block", "you cannot block yourself")
            .await?;
        self.blocks.block(caller.user_id, whom).await.map(drop)
    }

    /// Lifts a block (idempotent); the same errors as [`GraphService::block`].
    pub async fn unblock(&self, caller: &Caller, whom: UserId) -> Result<()> {
        self.check_other(caller, whom, "self_block", "you cannot block yourself")
            .await?;
        self.blocks.unblock(caller.user_id, whom).await.map(drop)
    }

    /// Whom the caller blocked, newest first.
    pub async fn blocked(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<BlockEntry>> {
        self.blocks.blocks(caller.user_id, after, limit).await
    }

    pub(super) async fn check_other(
        &self,
        caller: &Caller,
        whom: UserId,
        code: &'static str,
        message: &str,
    ) -> Result<()> {
        if whom == caller.user_id {
            return Err(ValidationErrors::single("id", code, message).into());
        }
        self.existing_user(whom).await.map(drop)
    }
}
