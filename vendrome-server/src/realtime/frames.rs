//! The JSON frames of `/v1/ws`: what the server sends (one envelope, an id per frame) and what
//! clients may send. `docs/realtime.md` documents both.

use serde::{Deserialize, Serialize};
use serde_json::json;
use vendrome_core::ids::{ConversationId, MessageId, UserId};
use vendrome_core::realtime::{Frame, PresenceStatus};
use vendrome_core::time::Timestamp;

/// A server frame: `{"id", "type", "at", "data"}`, serialized once for every socket it goes to.
/// Frames of outbox events carry the event's id (for `message.created`, the message's id);
/// others get a fresh UUIDv7, so ids always grow with time.
pub fn frame(id: uuid::Uuid, kind: &str, at: Timestamp, data: &impl Serialize) -> Frame {
    let text = json!({ "id": id, "type": kind, "at": at, "data": data }).to_string();
    Frame {
        id,
        text: text.into(),
    }
}

/// A frame that is not an outbox event, made now.
pub fn ephemeral(kind: &str, data: &impl Serialize) -> Frame {
    frame(uuid::Uuid::now_v7(), kind, vendrome_core::time::now(), data)
}

/// What a client may send, as `{"type": …, …}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum ClientFrame {
    /// The first frame of a socket opened without an `Authorization` header.
    #[serde(rename = "auth")]
    Auth {
        token: String,
        /// Resume: the id of the last frame the client saw.
        last_event_id: Option<uuid::Uuid>,
    },
    /// Starts or refreshes the caller's typing indicator (it lasts a few seconds).
    #[serde(rename = "typing.start")]
    TypingStart { conversation_id: ConversationId },
    #[serde(rename = "typing.stop")]
    TypingStop { conversation_id: ConversationId },
    /// The message reached this client; its sender hears `message.delivered`.
    #[serde(rename = "message.delivered")]
    Delivered { message_id: MessageId },
    /// The caller read up to this message (moves the read pointer, as the REST call does).
    #[serde(rename = "message.read")]
    Read {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// `online` or `away`; closing the socket is going offline.
    #[serde(rename = "presence.set")]
    PresenceSet { status: PresenceStatus },
    /// The status of up to 100 members the caller shares a conversation with.
    #[serde(rename = "presence.query")]
    PresenceQuery { user_ids: Vec<UserId> },
    #[serde(rename = "ping")]
    Ping,
}

/// One member's presence, as `presence.updated` and `presence.state` carry it.
#[derive(Debug, Serialize)]
pub struct PresenceView {
    pub user_id: UserId,
    pub status: PresenceStatus,
}

/// An error answered to one client frame; the socket stays open.
pub fn error(code: &str, message: &str) -> Frame {
    ephemeral("error", &json!({ "code": code, "message": message }))
}
