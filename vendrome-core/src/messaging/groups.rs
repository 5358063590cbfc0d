//! Group conversations: a title, an owner, admins who add and remove members, members who
//! leave, and a member limit.
//!
//! Events (`aggregate_type` `conversation`): `conversation.created` (`kind` `group`),
//! `conversation.member_added` and `conversation.member_removed`
//! (`{conversation_id, user_id, by}`), `conversation.updated` (`{conversation_id, title, by}`)
//! and `conversation.member_role_changed` (`{conversation_id, user_id, role, by}`).

use async_trait::async_trait;

use super::MessagingService;
use crate::access::Caller;
use crate::enums::ParticipantRole;
use crate::ids::{ConversationId, UserId};
use crate::validation::{invalid, ValidationErrors};
use crate::{Error, Result};

/// How many members a group may have, by default (its creator included).
pub const DEFAULT_GROUP_LIMIT: usize = 100;

/// A group's title: at most 100 characters as sent, not empty once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTitle(String);

impl GroupTitle {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let text = raw.trim();
        if text.is_empty() || raw.chars().count() > 100 {
            return Err(invalid("invalid_length", "must be 1 to 100 characters"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Storage of group membership.
#[async_trait]
pub trait GroupRepo: Send + Sync {
    /// Creates a group with `creator` as owner and `members` as members, and writes
    /// `conversation.created`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails (an unknown
    /// member among `members` included: the service checks them first).
    async fn create_group(
        &self,
        creator: UserId,
        title: GroupTitle,
        members: &[UserId],
    ) -> Result<ConversationId>;

    /// Whether the conversation is a group (`None` when it does not exist).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn is_group(&self, conversation: ConversationId) -> Result<Option<bool>>;

    /// A current participant's role (`None` when not, or no longer, in it).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn role(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Option<ParticipantRole>>;

    /// Adds (or brings back) a member unless the group already has `limit` members, and writes
    /// `conversation.member_added`. The count and the add are one step: concurrent adds never
    /// take a group past `limit`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. A member
    /// already in is `Ok(false)`.
    async fn add_member(
        &self,
        conversation: ConversationId,
        user: UserId,
        by: UserId,
        limit: usize,
    ) -> Result<Added>;

    /// Makes the current member `to` the owner and the owner `from` an admin, in one
    /// transaction, writing `conversation.member_role_changed` for each; `false` (nothing
    /// written) when `from` is not the owner or `to` not a current member.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn transfer_ownership(
        &self,
        conversation: ConversationId,
        from: UserId,
        to: UserId,
    ) -> Result<bool>;

    /// Renames a group; writes `conversation.updated`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn rename_group(
        &self,
        conversation: ConversationId,
        title: GroupTitle,
        by: UserId,
    ) -> Result<()>;

    /// Gives a current member `role`; `false` when it was theirs already (nothing written).
    /// Writes `conversation.member_role_changed`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unchanged
    /// role is `Ok(false)`.
    async fn set_role(
        &self,
        conversation: ConversationId,
        user: UserId,
        role: ParticipantRole,
        by: UserId,
    ) -> Result<bool>;

    /// A conversation's title (groups only) and its current members with their roles, the
    /// owner first, then admins, then members.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// conversation has no title and no members.
    async fn members(
        &self,
        conversation: ConversationId,
    ) -> Result<(Option<String>, Vec<(UserId, ParticipantRole)>)>;

    /// Marks a member as gone (history stays theirs); `false` when not in. Writes
    /// `conversation.member_removed`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. Someone not in
    /// it is `Ok(false)`.
    async fn remove_member(
        &self,
        conversation: ConversationId,
        user: UserId,
        by: UserId,
    ) -> Result<bool>;
}

/// What [`GroupRepo::add_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The member is in now.
    Added,
    /// The member was in already: nothing changed.
    AlreadyIn,
    /// The group is at its limit: nothing changed.
    Full,
}

fn is_admin(role: Option<ParticipantRole>) -> bool {
    matches!(role, Some(ParticipantRole::Owner | ParticipantRole::Admin))
}

impl MessagingService {
    /// Creates a group of the caller and `members`. MUST return [`Error::Invalid`] for an empty,
    /// oversized or repeated member list or one naming the caller (field `member_ids`),
    /// [`Error::NotFound`] for an unknown member, and [`Error::Forbidden`] `blocked` or
    /// `connections_only` for a member the caller may not add (see [`Self::add_member`]).
    pub async fn create_group(
        &self,
        caller: &Caller,
        title: GroupTitle,
        members: Vec<UserId>,
    ) -> Result<ConversationId> {
        let field_error = |code, message: String| -> Error {
            ValidationErrors::single("member_ids", code, message).into()
        };
        // The bound first: an oversized list is refused before anything else is looked at.
        if members.len() + 1 > self.group_limit {
            return Err(field_error(
                "too_many",
                format!("a group has at most {} members", self.group_limit),
            ));
        }
        let unique: std::collections::HashSet<UserId> = members.iter().copied().collect();
        if members.is_empty() || unique.len() != members.len() || unique.contains(&caller.user_id) {
            return Err(field_error(
                "invalid_members",
                "name at least one other member, each once, not yourself".into(),
            ));
        }
        for member in &members {
            self.graph
                .user_summary(*member)
                .await?
                .ok_or(Error::not_found("user"))?;
            self.may_add(caller, *member).await?;
        }
        self.groups
            .create_group(caller.user_id, title, &members)
            .await
    }

    /// The group's admin check: [`Error::NotFound`] unless the caller is in the conversation,
    /// [`Error::Conflict`] `not_a_group` for a direct one.
    async fn group_role(
        &self,
        caller: &Caller,
        conversation: ConversationId,
    ) -> Result<Option<ParticipantRole>> {
        let role = self.groups.role(conversation, caller.user_id).await?;
        if role.is_none() {
            return Err(Error::not_found("conversation"));
        }
        if self.groups.is_group(conversation).await? != Some(true) {
            return Err(Error::conflict(
                "not_a_group",
                "a direct conversation has no members to change",
            ));
        }
        Ok(role)
    }

    /// Adds a member (admins only). MUST return [`Error::Forbidden`] `not_admin` for others,
    /// `blocked` when a block stands between the caller and the member (either way) and
    /// `connections_only` when the member takes conversations from connections only and the
    /// caller is not one; [`Error::Conflict`] `group_full` at the limit (also under concurrent
    /// adds).
    pub async fn add_member(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<()> {
        let role = self.group_role(caller, conversation).await?;
        if !is_admin(role) {
            return Err(Error::forbidden(
                "not_admin",
                "only the group's admins add members",
            ));
        }
        self.graph
            .user_summary(user)
            .await?
            .ok_or(Error::not_found("user"))?;
        if self.groups.role(conversation, user).await?.is_some() {
            return Ok(());
        }
        self.may_add(caller, user).await?;
        match self
            .groups
            .add_member(conversation, user, caller.user_id, self.group_limit)
            .await?
        {
            Added::Added | Added::AlreadyIn => Ok(()),
            Added::Full => Err(Error::conflict(
                "group_full",
                format!("a group has at most {} members", self.group_limit),
            )),
        }
    }

    /// Whether the caller may put `user` in a group: [`Error::Forbidden`] `blocked` across a
    /// block, `connections_only` when `user` takes conversations from connections only and the
    /// two are not connected.
    async fn may_add(&self, caller: &Caller, user: UserId) -> Result<()> {
        if self.graph.is_blocked(caller.user_id, user).await? {
            return Err(crate::graph::blocked());
        }
        if self.repo.direct_message_policy(user).await? == crate::enums::DirectMessagePolicy::Anyone
        {
            return Ok(());
        }
        let connected = self
            .graph
            .open_connection(caller.user_id, user)
            .await?
            .is_some_and(|c| c.status == crate::enums::ConnectionStatus::Accepted);
        if connected {
            Ok(())
        } else {
            Err(Error::forbidden(
                "connections_only",
                "this member joins conversations of their connections only",
            ))
        }
    }

    /// Removes a member (admins), or leaves (anyone, for themselves). MUST return
    /// [`Error::Forbidden`] `not_admin` for a member removing another, `owner` for removing the
    /// owner, `not_owner` for an admin removing another admin (only the owner does), and
    /// [`Error::Conflict`] `owner_must_transfer` when the owner leaves without handing over
    /// ownership first.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<()> {
        let role = self.group_role(caller, conversation).await?;
        if user == caller.user_id {
            if role == Some(ParticipantRole::Owner) {
                return Err(Error::conflict(
                    "owner_must_transfer",
                    "hand the group over to another member before leaving it",
                ));
            }
        } else {
            if !is_admin(role) {
                return Err(Error::forbidden(
                    "not_admin",
                    "only the group's admins remove members",
                ));
            }
            match self.groups.role(conversation, user).await? {
                Some(ParticipantRole::Owner) => {
                    return Err(Error::forbidden(
                        "owner",
                        "the group's owner cannot be removed",
                    ))
                }
                Some(ParticipantRole::Admin) if role != Some(ParticipantRole::Owner) => {
                    return Err(Error::forbidden(
                        "not_owner",
                        "only the group's owner removes an admin",
                    ))
                }
                _ => {}
            }
        }
        self.groups
            .remove_member(conversation, user, caller.user_id)
            .await
            .map(drop)
    }
}

impl MessagingService {
    /// Renames a group (its admins only: [`Error::Forbidden`] `not_admin` for others).
    pub async fn rename_group(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        title: GroupTitle,
    ) -> Result<()> {
        if !is_admin(self.group_role(caller, conversation).await?) {
            return Err(Error::forbidden(
                "not_admin",
                "only the group's admins rename it",
            ));
        }
        self.groups
            .rename_group(conversation, title, caller.user_id)
            .await
    }

    /// Makes a member an admin, or an admin a member again, or (the owner only) hands the group
    /// over: `owner` makes the member the owner and the caller an admin. Admins promote; only
    /// the owner demotes another admin (an admin may step down). MUST return
    /// [`Error::NotFound`] `member` for someone not in the group, [`Error::Forbidden`] `owner`
    /// for a change to the owner's role, `not_admin` or `not_owner` for a caller without the
    /// right.
    pub async fn set_member_role(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        user: UserId,
        role: ParticipantRole,
    ) -> Result<()> {
        let mine = self.group_role(caller, conversation).await?;
        let theirs = self
            .groups
            .role(conversation, user)
            .await?
            .ok_or(Error::not_found("member"))?;
        if theirs == ParticipantRole::Owner {
            return Err(Error::forbidden(
                "owner",
                "the group's owner keeps their role until they hand it over",
            ));
        }
        if role == ParticipantRole::Owner {
            if mine != Some(ParticipantRole::Owner) {
                return Err(Error::forbidden(
                    "not_owner",
                    "only the group's owner hands it over",
                ));
            }
            return self
                .groups
                .transfer_ownership(conversation, caller.user_id, user)
                .await
                .map(drop);
        }
        if !is_admin(mine) {
            return Err(Error::forbidden(
                "not_admin",
                "only the group's admins change roles",
            ));
        }
        let stepping_down = user == caller.user_id;
        if theirs == ParticipantRole::Admin
            && role == ParticipantRole::Member
            && mine != Some(ParticipantRole::Owner)
            && !stepping_down
        {
            return Err(Error::forbidden(
                "not_owner",
                "only the group's owner demotes an admin",
            ));
        }
        self.groups
            .set_role(conversation, user, role, caller.user_id)
            .await
            .map(drop)
    }

    /// A conversation the caller is in: its title (groups) and its members with their roles.
    pub async fn conversation_members(
        &self,
        caller: &Caller,
        conversation: ConversationId,
    ) -> Result<(Option<String>, Vec<(UserId, ParticipantRole)>)> {
        self.members(caller, conversation).await?;
        self.groups.members(conversation).await
    }
}
