//! Realtime ports: delivering frames to the sockets of users wherever they are connected
//! ([`Fanout`]), and the short-lived state of who is online and who is typing
//! ([`PresenceRepo`]).
//!
//! One process needs neither a broker nor a cache: the in-process fanout hands frames straight to
//! the local sockets and presence lives in memory. Several instances share both: frames travel
//! through NATS on one subject per user, presence and typing live in Valkey under keys that
//! expire by themselves.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, UserId};
use crate::Result;

/// A frame for sockets, serialized once: its id (what clients resume from and drop repeats by)
/// and its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub id: uuid::Uuid,
    pub text: Arc<str>,
}

/// Where frames for this process's sockets arrive: the gateway's registry of sockets.
pub trait FrameSink: Send + Sync {
    /// Hands `frame` to every socket `user` has open in this process. Never blocks.
    ///
    /// # Errors
    ///
    /// None: a frame that cannot be queued closes that socket instead.
    fn deliver(&self, user: UserId, frame: Frame);

    /// Hands `frame` to every socket open in this process, whoever it belongs to. Never blocks.
    ///
    /// # Errors
    ///
    /// None: a frame that cannot be queued closes that socket instead.
    fn deliver_to_all(&self, frame: Frame);
}

/// Carries frames to users' sockets on whichever instance holds them.
///
/// A frame published for a user reaches each instance that [subscribed](Fanout::subscribe) to
/// that user once; the gateway subscribes while the user has a socket open on it.
#[async_trait]
pub trait Fanout: Send + Sync {
    /// Sends `frame` to every socket of every user in `users`.
    ///
    /// # Errors
    ///
    /// Any error the transport gives (an `anyhow::Error`); frames are best-effort, a socket that
    /// missed one resumes from its last frame id.
    async fn publish(&self, users: &[UserId], frame: &Frame) -> anyhow::Result<()>;

    /// Sends `frame` to every socket on every instance (news for everyone, such as a flag
    /// change). Each instance receives it once.
    ///
    /// # Errors
    ///
    /// Any error the transport gives (an `anyhow::Error`); like every frame, best-effort.
    async fn broadcast(&self, frame: &Frame) -> anyhow::Result<()>;

    /// Starts receiving `user`'s frames into this instance's sink. Returns once frames published
    /// from now on will arrive.
    ///
    /// # Errors
    ///
    /// Any error the transport gives (an `anyhow::Error`): the member's frames from other instances
    /// will not arrive.
    async fn subscribe(&self, user: UserId) -> anyhow::Result<()>;

    /// Stops receiving `user`'s frames.
    ///
    /// # Errors
    ///
    /// None: it cannot fail (dropping the subscription is local).
    async fn unsubscribe(&self, user: UserId);
}

/// What a member shows others: online, away (connected but idle), or offline (no live socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Offline,
    Away,
    Online,
}

impl PresenceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Away => "away",
            Self::Online => "online",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "offline" => Some(Self::Offline),
            "away" => Some(Self::Away),
            "online" => Some(Self::Online),
            _ => None,
        }
    }

    /// A member's status from their live sockets' own: the most present of them, offline with
    /// none.
    pub fn of_sockets(sockets: impl IntoIterator<Item = Self>) -> Self {
        sockets.into_iter().max().unwrap_or(Self::Offline)
    }
}

/// A member's status before and after a change to one of their sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceChange {
    pub before: PresenceStatus,
    pub after: PresenceStatus,
}

impl PresenceChange {
    /// The status others should now be told, when it changed.
    pub fn changed(self) -> Option<PresenceStatus> {
        (self.before != self.after).then_some(self.after)
    }
}

/// Presence and typing state, every entry with a time to live: a socket that stops
/// heartbeating, or a typist who stops refreshing, is gone once it ends.
#[async_trait]
pub trait PresenceRepo: Send + Sync {
    /// Records that `socket` of `user` is alive with `status` for `ttl` more. Sockets whose time
    /// ran out no longer count, in this and every other answer.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the presence store cannot be
    /// reached.
    async fn heartbeat(
        &self,
        user: UserId,
        socket: &str,
        status: PresenceStatus,
        ttl: Duration,
    ) -> Result<PresenceChange>;

    /// Forgets `socket` of `user` (it closed).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the presence store cannot be
    /// reached.
    async fn leave(&self, user: UserId, socket: &str) -> Result<PresenceChange>;

    /// The status of each of `users`, in the same order.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the presence store cannot be
    /// reached.
    async fn statuses(&self, users: &[UserId]) -> Result<Vec<PresenceStatus>>;

    /// Marks `user` typing in `conversation` for `ttl`; `true` when they were not typing
    /// before (others should be told).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the presence store cannot be
    /// reached.
    async fn start_typing(
        &self,
        conversation: ConversationId,
        user: UserId,
        ttl: Duration,
    ) -> Result<bool>;

    /// Ends `user`'s typing in `conversation`; `true` when they were typing.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the presence store cannot be
    /// reached.
    async fn stop_typing(&self, conversation: ConversationId, user: UserId) -> Result<bool>;

    /// Whether `user`'s typing in `conversation` is still live (refreshed within its ttl).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the presence store cannot be
    /// reached.
    async fn is_typing(&self, conversation: ConversationId, user: UserId) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_as_present_as_their_most_present_socket() {
        use PresenceStatus::*;
        assert_eq!(PresenceStatus::of_sockets([]), Offline);
        assert_eq!(PresenceStatus::of_sockets([Away, Online, Away]), Online);
        assert_eq!(PresenceStatus::of_sockets([Away]), Away);
        for status in [Offline, Away, Online] {
            assert_eq!(PresenceStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn only_a_change_is_announced() {
        let same = PresenceChange {
            before: PresenceStatus::Online,
            after: PresenceStatus::Online,
        };
        assert_eq!(same.changed(), None);
        let left = PresenceChange {
            before: PresenceStatus::Online,
            after: PresenceStatus::Offline,
        };
        assert_eq!(left.changed(), Some(PresenceStatus::Offline));
    }
}
