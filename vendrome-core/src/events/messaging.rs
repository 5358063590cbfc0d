//! Payloads of the messaging events. All are about a conversation, so the relay keeps a
//! conversation's events in order; realtime frames carry these payloads as they are.

use serde::{Deserialize, Serialize};

use super::about;
use crate::enums::{ConversationKind, ParticipantRole};
use crate::ids::{ConversationId, MessageId, UserId};

/// `conversation.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationCreated {
    pub conversation_id: ConversationId,
    pub kind: ConversationKind,
    pub participant_ids: Vec<UserId>,
}

/// `conversation.updated`: a group's new title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationUpdated {
    pub conversation_id: ConversationId,
    pub title: String,
    pub by: UserId,
}

/// `conversation.member_added`, `conversation.member_removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberChanged {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub by: UserId,
}

/// `conversation.member_role_changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRoleChanged {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub role: ParticipantRole,
    pub by: UserId,
}

/// `message.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageCreated {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub sender_id: UserId,
}

/// `message.updated`, `message.deleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageChanged {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
}

/// `message.read`: the reader's new read pointer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRead {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub message_id: MessageId,
}

about!("conversation" by conversation_id:
    ConversationCreated,
    ConversationUpdated,
    MemberChanged,
    MemberRoleChanged,
    MessageCreated,
    MessageChanged,
    MessageRead,
);
