//! Messaging: direct conversations (exactly one per pair, started by anyone or only by
//! connections, as the member chooses), messages with attachments and idempotent sends,
//! per-participant read pointers, and the inbox with unread counts from one grouped query;
//! edits and deletions by the sender within a window. Group conversations are in [`groups`];
//! the realtime gateway (in `vendrome-server`) delivers the events below as they happen.
//!
//! Read state is a pointer per participant (`conversation_participants.last_read_message_id`):
//! a message is unread when its id (UUIDv7, so time-ordered) is greater than the pointer and
//! someone else sent it.
//!
//! Events (`aggregate_type` `conversation`, `aggregate_id` the conversation):
//!
//! | `event_type` | payload |
//! |---|---|
//! | `conversation.created` | `{conversation_id, kind, participant_ids}` |
//! | `conversation.updated` | `{conversation_id, title, by}` (groups) |
//! | `conversation.member_added`, `conversation.member_removed` | `{conversation_id, user_id, by}` |
//! | `conversation.member_role_changed` | `{conversation_id, user_id, role, by}` |
//! | `message.created` | `{conversation_id, message_id, sender_id}`; the event id is the message id |
//! | `message.updated` | `{conversation_id, message_id}` |
//! | `message.deleted` | `{conversation_id, message_id}` |
//! | `message.read` | `{conversation_id, user_id, message_id}` |

use std::sync::Arc;

use async_trait::async_trait;

pub mod attachments;
pub mod groups;
mod settings;

pub use attachments::{Attachment, MessageContent};

use crate::access::Caller;
use crate::enums::DirectMessagePolicy;
use crate::graph::{blocked, GraphRepo};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::{Error, Result};

/// A message's text: 1 to 4,000 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let text = raw.trim();
        if text.is_empty() || raw.chars().count() > Self::MAX_CHARS {
            return Err(invalid("invalid_length", "must be 1 to 4,000 characters"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's own id for a message, so that a resent message is stored once: 1 to 100 visible
/// ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        if raw.is_empty() || raw.len() > 100 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "invalid_format",
                "must be 1 to 100 visible ASCII characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_id: Option<UserId>,
    /// Empty when the message is only attachments.
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
}

/// One conversation in a member's inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    pub conversation_id: ConversationId,
    pub kind: crate::enums::ConversationKind,
    /// Groups only.
    pub title: Option<String>,
    /// The other participants (for a direct conversation, the one other member).
    pub others: Vec<UserId>,
    pub last_message: Option<Message>,
    /// Messages from others newer than the member's read pointer.
    pub unread: i64,
    /// The last message's time, else the conversation's creation.
    pub last_activity: Timestamp,
}

/// Storage of conversations and messages.
#[async_trait]
pub trait MessagingRepo: Send + Sync {
    /// The direct conversation of `a` and `b`, created (with `conversation.created`) when there
    /// is none; `true` when created now. Exactly one per pair, also under concurrent calls.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn direct_conversation(&self, a: UserId, b: UserId) -> Result<(ConversationId, bool)>;

    /// The direct conversation of `a` and `b`, when there is one.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn existing_direct(&self, a: UserId, b: UserId) -> Result<Option<ConversationId>>;

    /// Who may start a direct conversation with `user` (`anyone` unless they chose otherwise).
    /// MUST return [`Error::NotFound`] with `user` for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn direct_message_policy(&self, user: UserId) -> Result<DirectMessagePolicy>;

    /// Sets who may start a direct conversation with `user` and writes
    /// `user.messaging_settings_updated` (`{user_id, direct_messages}`). MUST return
    /// [`Error::NotFound`] with `user` for an unknown user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown user;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn set_direct_message_policy(
        &self,
        user: UserId,
        policy: DirectMessagePolicy,
    ) -> Result<()>;

    /// The current participants of a conversation (empty when it does not exist).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn participants(&self, conversation: ConversationId) -> Result<Vec<UserId>>;

    /// Stores a message (with `message.created`) and moves the conversation's activity time. With
    /// a `client_id` the sender already used, answers the stored message and changes nothing.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. A `client_id`
    /// used before answers the stored message, not an error.
    async fn send_message(
        &self,
        conversation: ConversationId,
        sender: UserId,
        content: MessageContent,
        client_id: Option<ClientMessageId>,
    ) -> Result<Message>;

    /// A live message.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. A deleted or
    /// unknown message is `Ok(None)`.
    async fn message_by_id(&self, id: MessageId) -> Result<Option<Message>>;

    /// Replaces a live message's text (its attachments stay) and marks it edited
    /// (`message.updated`). MUST return
    /// [`Error::NotFound`] with `message` when it is not live.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `message` when the message is not live;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn edit_message(&self, id: MessageId, body: MessageBody) -> Result<Message>;

    /// Soft-deletes a live message (`message.deleted`): it leaves history, the last message and
    /// unread counts. MUST return [`Error::NotFound`] with `message` when it is not live.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `message` when the message is not live;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn delete_message(&self, id: MessageId) -> Result<()>;

    /// Up to `fetch` live messages from `from`: newest first for [`HistoryFrom::Latest`] and
    /// [`HistoryFrom::Before`], oldest first for [`HistoryFrom::After`]; the anchor itself is
    /// never included.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn messages(
        &self,
        conversation: ConversationId,
        from: HistoryFrom,
        fetch: i64,
    ) -> Result<Vec<Message>>;

    /// Moves `user`'s read pointer to `message` when that is newer (never back); writes
    /// `message.read` when it moved. MUST return [`Error::NotFound`] with `message` when the
    /// message is not in the conversation.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `message` when the message is not in the
    /// conversation; [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn mark_read(
        &self,
        conversation: ConversationId,
        user: UserId,
        message: MessageId,
    ) -> Result<bool>;

    /// Live messages newer than `after` in the conversations `user` takes part in now, oldest
    /// first, at most `limit` (what a reconnecting socket missed).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn messages_since(
        &self,
        user: UserId,
        after: MessageId,
        limit: i64,
    ) -> Result<Vec<Message>>;

    /// The other current participants of `conversation` with no block between them and
    /// `user` either way: who sees `user` typing.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn unblocked_others(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Vec<UserId>>;

    /// The members who share a conversation with `user` now (never `user`, nor anyone with a
    /// block between them and `user` either way), at most `limit`, most recent conversations
    /// first: who hears of `user`'s presence.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn partners(&self, user: UserId, limit: i64) -> Result<Vec<UserId>>;

    /// `user`'s conversations, latest activity first, each with its last message and unread
    /// count: a fixed number of statements per page, whatever the number of conversations.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn inbox(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<InboxEntry>>;
}

/// How long after sending a message its sender may still edit or delete it, by default.
pub const DEFAULT_EDIT_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The rules of messaging.
#[derive(Clone)]
pub struct MessagingService {
    repo: Arc<dyn MessagingRepo>,
    groups: Arc<dyn groups::GroupRepo>,
    graph: Arc<dyn GraphRepo>,
    edit_window: std::time::Duration,
    group_limit: usize,
}

impl MessagingService {
    pub fn new(
        repo: Arc<dyn MessagingRepo>,
        groups: Arc<dyn groups::GroupRepo>,
        graph: Arc<dyn GraphRepo>,
    ) -> Self {
        Self {
            repo,
            groups,
            graph,
            edit_window: DEFAULT_EDIT_WINDOW,
            group_limit: groups::DEFAULT_GROUP_LIMIT,
        }
    }

    /// The same service with another group size limit (members, creator included).
    pub fn with_group_limit(mut self, limit: usize) -> Self {
        self.group_limit = limit;
        self
    }

    /// The same service with another edit-and-delete window.
    pub fn with_edit_window(mut self, window: std::time::Duration) -> Self {
        self.edit_window = window;
        self
    }

    /// The message, when the caller sent it and may still change it: [`Error::NotFound`] when
    /// it is not live or the caller is not in its conversation, [`Error::Forbidden`]
    /// `not_sender` for someone else's, [`Error::Conflict`] `edit_window_passed` after the
    /// window.
    async fn changeable(&self, caller: &Caller, id: MessageId) -> Result<Message> {
        let message = self.message(caller, id).await?;
        if message.sender_id != Some(caller.user_id) {
            return Err(Error::forbidden(
                "not_sender",
                "only its sender may change a message",
            ));
        }
        let age = crate::time::now() - message.created_at;
        if age.to_std().unwrap_or_default() > self.edit_window {
            return Err(Error::conflict(
                "edit_window_passed",
                format!(
                    "messages can be changed for {} s after sending",
                    self.edit_window.as_secs()
                ),
            ));
        }
        Ok(message)
    }

    /// Edits one's own message within the window.
    pub async fn edit(&self, caller: &Caller, id: MessageId, body: MessageBody) -> Result<Message> {
        self.changeable(caller, id).await?;
        self.repo.edit_message(id, body).await
    }

    /// Deletes one's own message within the window.
    pub async fn delete(&self, caller: &Caller, id: MessageId) -> Result<()> {
        self.changeable(caller, id).await?;
        self.repo.delete_message(id).await
    }

    /// Opens (or finds) the caller's direct conversation with `other`. MUST return
    /// [`Error::Invalid`] for oneself (field `user_id`), [`Error::NotFound`] for an unknown user,
    /// [`Error::Forbidden`] `blocked` across a block and `connections_only` when `other` takes
    /// new conversations from connections only and the two are not connected.
    pub async fn start_direct(
        &self,
        caller: &Caller,
        other: UserId,
    ) -> Result<(ConversationId, bool)> {
        if other == caller.user_id {
            return Err(ValidationErrors::single(
                "user_id",
                "self_conversation",
                "you cannot message yourself",
            )
            .into());
        }
        self.graph
            .user_summary(other)
            .await?
            .ok_or(Error::not_found("user"))?;
        if self.graph.is_blocked(caller.user_id, other).await? {
            return Err(blocked());
        }
        self.may_start(caller, other).await?;
        self.repo.direct_conversation(caller.user_id, other).await
    }

    /// The other participants, when the caller is one; else [`Error::NotFound`].
    async fn others(&self, caller: &Caller, conversation: ConversationId) -> Result<Vec<UserId>> {
        let participants = self.repo.participants(conversation).await?;
        if !participants.contains(&caller.user_id) {
            return Err(Error::not_found("conversation"));
        }
        Ok(participants
            .into_iter()
            .filter(|p| *p != caller.user_id)
            .collect())
    }

    /// Sends a message. MUST return [`Error::NotFound`] unless the caller takes part and
    /// [`Error::Forbidden`] `blocked` when a block stands with the other member of a direct
    /// conversation.
    pub async fn send(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        content: impl Into<MessageContent>,
        client_id: Option<ClientMessageId>,
    ) -> Result<Message> {
        let others = self.others(caller, conversation).await?;
        if let [other] = others.as_slice() {
            if self.graph.is_blocked(caller.user_id, *other).await? {
                return Err(blocked());
            }
        }
        self.repo
            .send_message(conversation, caller.user_id, content.into(), client_id)
            .await
    }

    /// A page of history from `from`; a `cursor` from an earlier page continues that page's
    /// walk, in its direction, and takes precedence.
    pub async fn messages(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        from: HistoryFrom,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Message>> {
        self.others(caller, conversation).await?;
        let from = match cursor {
            Some(cursor) => HistoryFrom::from_cursor(cursor)?,
            None => from,
        };
        let forward = matches!(from, HistoryFrom::After(_));
        let rows = self
            .repo
            .messages(conversation, from, limit.probe())
            .await?;
        Ok(Page::from_probe(rows, limit, |m: &Message| {
            (if forward { "after" } else { "before" }, m.id)
        }))
    }

    pub async fn mark_read(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<bool> {
        self.others(caller, conversation).await?;
        self.repo
            .mark_read(conversation, caller.user_id, message)
            .await
    }

    /// Every participant of a conversation the caller takes part in (the caller included); else
    /// [`Error::NotFound`].
    pub async fn members(
        &self,
        caller: &Caller,
        conversation: ConversationId,
    ) -> Result<Vec<UserId>> {
        let participants = self.repo.participants(conversation).await?;
        if !participants.contains(&caller.user_id) {
            return Err(Error::not_found("conversation"));
        }
        Ok(participants)
    }

    /// Who hears of the caller's typing in a conversation they take part in: the other
    /// participants, less anyone with a block between them and the caller; else
    /// [`Error::NotFound`].
    pub async fn typing_audience(
        &self,
        caller: &Caller,
        conversation: ConversationId,
    ) -> Result<Vec<UserId>> {
        self.members(caller, conversation).await?;
        self.repo
            .unblocked_others(conversation, caller.user_id)
            .await
    }

    /// A message in one of the caller's conversations; else [`Error::NotFound`].
    pub async fn message(&self, caller: &Caller, id: MessageId) -> Result<Message> {
        let message = self
            .repo
            .message_by_id(id)
            .await?
            .ok_or(Error::not_found("message"))?;
        self.others(caller, message.conversation_id)
            .await
            .map_err(|_| Error::not_found("message"))?;
        Ok(message)
    }

    /// Live messages newer than `after` in the caller's conversations, oldest first; `limit`
    /// at most.
    pub async fn messages_since(
        &self,
        caller: &Caller,
        after: MessageId,
        limit: i64,
    ) -> Result<Vec<Message>> {
        self.repo.messages_since(caller.user_id, after, limit).await
    }

    /// Who shares a conversation with the caller (at most `limit`, latest first).
    pub async fn partners(&self, caller: &Caller, limit: i64) -> Result<Vec<UserId>> {
        self.repo.partners(caller.user_id, limit).await
    }

    pub async fn inbox(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<InboxEntry>> {
        self.repo.inbox(caller.user_id, after, limit).await
    }
}

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryFrom {
    /// The newest messages, going back.
    Latest,
    /// Messages older than this one, newest first.
    Before(MessageId),
    /// Messages newer than this one, oldest first.
    After(MessageId),
}

impl HistoryFrom {
    fn from_cursor(cursor: &Cursor) -> Result<Self> {
        let (direction, id): (String, MessageId) = cursor.decode().map_err(|e| {
            Error::Invalid(ValidationErrors::single(
                "cursor",
                "invalid_cursor",
                e.to_string(),
            ))
        })?;
        match direction.as_str() {
            "before" => Ok(Self::Before(id)),
            "after" => Ok(Self::After(id)),
            _ => Err(ValidationErrors::single(
                "cursor",
                "invalid_cursor",
                "is not a cursor this list handed out",
            )
            .into()),
        }
    }
}

/// `a:b` with the smaller id first: the key that makes a pair's direct conversation unique.
pub fn direct_key(a: UserId, b: UserId) -> String {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    format!("{x}:{y}")
}
