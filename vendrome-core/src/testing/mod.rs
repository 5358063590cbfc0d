//! In-memory fakes of the ports core's services use most (users, posts, the graph with blocks,
//! messaging with groups, audit events, and commerce: orders, payments, webhooks, the ledger,
//! reconciliation), so that a service rule can be unit-tested without HTTP or a
//! database. Available to core's own tests and, with the `testing` feature, to other crates.
//!
//! [`InMemory`] is one world behind every port it implements: a user made through
//! [`UserRepo`](crate::users::UserRepo) is the author a post names and the member a conversation
//! holds. The fakes keep the ports' documented contracts (the `# Errors` sections) for the
//! cases a service can reach; they are not a second store, and the conformance suite in
//! `vendrome-store` remains the judge of the real adapters. Every change appends its outbox
//! event type to [`InMemory::events`], so a test can see what a service asked to announce.

mod audit;
mod bookings;
mod commerce;
mod graph;
mod ledger;
mod messaging;
mod payments;
mod posts;
mod users;

pub use bookings::InMemoryBookings;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::enums::{ConversationKind, DirectMessagePolicy, ParticipantRole};
use crate::graph::{Connection, Topic, UserSummary};
use crate::ids::{ConversationId, MessageId, TopicId, UserId};
use crate::messaging::Message;
use crate::page::{Cursor, Limit, Page};
use crate::posts::Post;
use crate::time::Timestamp;
use crate::users::User;
use crate::Result;

/// The fakes' shared world; clones share it.
#[derive(Clone, Default)]
pub struct InMemory {
    world: Arc<Mutex<World>>,
    commerce: Arc<Mutex<commerce::Commerce>>,
}

#[derive(Default)]
struct World {
    /// In creation order, each with its password hash.
    users: Vec<(User, Option<String>)>,
    connections: Vec<Connection>,
    /// `(follower, followee, since)`.
    follows: Vec<(UserId, UserId, Timestamp)>,
    /// `(blocker, blocked, since)`.
    blocks: Vec<(UserId, UserId, Timestamp)>,
    /// Posts with their deletion flag.
    posts: Vec<(Post, bool)>,
    conversations: Vec<Conversation>,
    /// Messages with their deletion flag and the sender's client id.
    messages: Vec<(Message, bool, Option<String>)>,
    policies: Vec<(UserId, DirectMessagePolicy)>,
    /// Topics, made by the posts that name them.
    topics: Vec<Topic>,
    /// `(member, topic)`.
    topic_follows: Vec<(UserId, TopicId)>,
    events: Vec<String>,
    /// Audit events, in the order they were recorded.
    audit: Vec<crate::audit::AuditEvent>,
}

struct Conversation {
    id: ConversationId,
    kind: ConversationKind,
    title: Option<String>,
    created_at: Timestamp,
    participants: Vec<Participant>,
}

struct Participant {
    user: UserId,
    role: ParticipantRole,
    present: bool,
    last_read: Option<MessageId>,
}

impl InMemory {
    pub fn new() -> Self {
        Self::default()
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Orders, payments, webhooks, the ledger and reconciliation runs. Taken before `world`
    /// when both are needed, never while `world` is held.
    fn commerce(&self) -> MutexGuard<'_, commerce::Commerce> {
        self.commerce.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The outbox event types written so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.world().events.clone()
    }

    /// The audit events recorded so far, in order.
    pub fn audit_events(&self) -> Vec<crate::audit::AuditEvent> {
        self.world().audit.clone()
    }
}

impl World {
    fn announce(&mut self, event_type: &str) {
        self.events.push(event_type.to_owned());
    }

    fn user(&self, id: UserId) -> Option<&User> {
        self.users.iter().map(|(u, _)| u).find(|u| u.id == id)
    }

    fn summary(&self, id: UserId) -> Option<UserSummary> {
        self.user(id).map(|u| UserSummary {
            id: u.id,
            display_name: u.display_name.as_str().to_owned(),
            handle: u.handle.as_ref().map(|h| h.as_str().to_owned()),
            avatar_url: u.avatar_url.clone(),
            verification_level: u.verification_level,
        })
    }

    fn blocked(&self, a: UserId, b: UserId) -> bool {
        self.blocks
            .iter()
            .any(|&(x, y, _)| (x, y) == (a, b) || (x, y) == (b, a))
    }

    fn connected(&self, a: UserId, b: UserId) -> bool {
        use crate::enums::ConnectionStatus;
        self.connections.iter().any(|c| {
            c.status == ConnectionStatus::Accepted
                && ((c.requester_id, c.addressee_id) == (a, b)
                    || (c.requester_id, c.addressee_id) == (b, a))
        })
    }
}

/// A page of `items` (already in the list's order) after an offset cursor this helper handed
/// out. MUST return [`Error::Invalid`](crate::Error::Invalid) for any other cursor.
fn page_of<T>(items: Vec<T>, after: Option<&Cursor>, limit: Limit) -> Result<Page<T>> {
    let start: usize = after.map(Cursor::decode).transpose()?.unwrap_or(0);
    let rows: Vec<(usize, T)> = items
        .into_iter()
        .enumerate()
        .skip(start)
        .take(limit.get() as usize + 1)
        .collect();
    Ok(Page::from_probe(rows, limit, |(i, _)| i + 1).map(|(_, item)| item))
}
