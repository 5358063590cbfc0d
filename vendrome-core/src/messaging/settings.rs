//! A member's messaging settings: who may start a direct conversation with them (anyone, or
//! only their connections). The setting guards new conversations only; one that exists stays
//! open.

use super::MessagingService;
use crate::access::Caller;
use crate::enums::{ConnectionStatus, DirectMessagePolicy};
use crate::ids::UserId;
use crate::{Error, Result};

impl MessagingService {
    /// Who may start a direct conversation with the caller.
    pub async fn direct_message_policy(&self, caller: &Caller) -> Result<DirectMessagePolicy> {
        self.repo.direct_message_policy(caller.user_id).await
    }

    pub async fn set_direct_message_policy(
        &self,
        caller: &Caller,
        policy: DirectMessagePolicy,
    ) -> Result<()> {
        self.repo
            .set_direct_message_policy(caller.user_id, policy)
            .await
    }

    /// Whether the caller may open a direct conversation with `other`: yes when one exists, or
    /// `other` takes messages from anyone, or the two are connected; else [`Error::Forbidden`]
    /// `connections_only`.
    pub(super) async fn may_start(&self, caller: &Caller, other: UserId) -> Result<()> {
        if self.repo.direct_message_policy(other).await? == DirectMessagePolicy::Anyone
            || self
                .repo
                .existing_direct(caller.user_id, other)
                .await?
                .is_some()
        {
            return Ok(());
        }
        let connected = self
            .graph
            .open_connection(caller.user_id, other)
            .await?
            .is_some_and(|c| c.status == ConnectionStatus::Accepted);
        if connected {
            Ok(())
        } else {
            Err(Error::forbidden(
                "connections_only",
                "this member takes new conversations from their connections only",
            ))
        }
    }
}
