//! Payloads of the graph events: follows, blocks, topic follows and connections.

use serde::{Deserialize, Serialize};

use super::about;
use crate::ids::{ConnectionId, TopicId, UserId};

/// `user.followed`, `user.unfollowed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowChanged {
    pub follower_id: UserId,
    pub followee_id: UserId,
}

/// `user.blocked`, with what the block ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserBlocked {
    pub blocker_id: UserId,
    pub blocked_id: UserId,
    /// Follows ended, either way (0 to 2).
    pub follows_ended: u64,
    /// Whether an accepted connection between them ended.
    pub connection_ended: bool,
    /// Pending connection requests cancelled, either way.
    pub requests_cancelled: u64,
}

/// `user.unblocked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockEnded {
    pub blocker_id: UserId,
    pub blocked_id: UserId,
}

/// `topic.followed`, `topic.unfollowed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicFollowChanged {
    pub user_id: UserId,
    pub topic_id: TopicId,
    pub slug: String,
}

/// `connection.requested`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRequested {
    pub connection_id: ConnectionId,
    pub requester_id: UserId,
    pub addressee_id: UserId,
    pub note: Option<String>,
}

/// A request answered or a connection ended: `connection.accepted`, `connection.declined`,
/// `connection.withdrawn`, `connection.removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionChanged {
    pub connection_id: ConnectionId,
    pub requester_id: UserId,
    pub addressee_id: UserId,
    /// Who made the move.
    pub actor_id: UserId,
}

about!("user" by followee_id: FollowChanged);
about!("user" by blocker_id: UserBlocked, BlockEnded);
about!("topic" by topic_id: TopicFollowChanged);
about!("connection" by connection_id: ConnectionRequested, ConnectionChanged);
