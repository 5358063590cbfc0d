//! [`MemoryPresence`]: presence and typing in this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::realtime::{PresenceChange, PresenceRepo, PresenceStatus};
use vendrome_core::Result;

/// One member's live sockets: each one's status and when it expires.
type Sockets = HashMap<String, (PresenceStatus, Instant)>;

/// Presence and typing for one process: each socket's status and each typist with the instant
/// they expire. Expired entries are dropped whenever their member is next looked at.
#[derive(Debug, Default)]
pub struct MemoryPresence {
    sockets: Mutex<HashMap<UserId, Sockets>>,
    typing: Mutex<HashMap<(ConversationId, UserId), Instant>>,
}

impl MemoryPresence {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `change` to `user`'s live sockets and reports the status before and after.
    fn update(&self, user: UserId, change: impl FnOnce(&mut Sockets)) -> PresenceChange {
        let now = Instant::now();
        let mut all = self.sockets.lock().expect("presence lock");
        let sockets = all.entry(user).or_default();
        sockets.retain(|_, (_, until)| *until > now);
        let before = PresenceStatus::of_sockets(sockets.values().map(|(s, _)| *s));
        change(sockets);
        let after = PresenceStatus::of_sockets(sockets.values().map(|(s, _)| *s));
        if sockets.is_empty() {
            all.remove(&user);
        }
        PresenceChange { before, after }
    }
}

#[async_trait]
impl PresenceRepo for MemoryPresence {
    async fn heartbeat(
        &self,
        user: UserId,
        socket: &str,
        status: PresenceStatus,
        ttl: Duration,
    ) -> Result<PresenceChange> {
        let until = Instant::now() + ttl;
        Ok(self.update(user, |sockets| {
            sockets.insert(socket.to_owned(), (status, until));
        }))
    }

    async fn leave(&self, user: UserId, socket: &str) -> Result<PresenceChange> {
        Ok(self.update(user, |sockets| {
            sockets.remove(socket);
        }))
    }

    async fn statuses(&self, users: &[UserId]) -> Result<Vec<PresenceStatus>> {
        let now = Instant::now();
        let all = self.sockets.lock().expect("presence lock");
        Ok(users
            .iter()
            .map(|user| {
                PresenceStatus::of_sockets(all.get(user).into_iter().flat_map(|sockets| {
                    sockets
                        .values()
                        .filter(|(_, until)| *until > now)
                        .map(|(s, _)| *s)
                }))
            })
            .collect())
    }

    async fn start_typing(
        &self,
        conversation: ConversationId,
        user: UserId,
        ttl: Duration,
    ) -> Result<bool> {
        let now = Instant::now();
        let previous = self
            .typing
            .lock()
            .expect("typing lock")
            .insert((conversation, user), now + ttl);
        Ok(previous.is_none_or(|until| until <= now))
    }

    async fn stop_typing(&self, conversation: ConversationId, user: UserId) -> Result<bool> {
        let removed = self
            .typing
            .lock()
            .expect("typing lock")
            .remove(&(conversation, user));
        Ok(removed.is_some_and(|until| until > Instant::now()))
    }

    async fn is_typing(&self, conversation: ConversationId, user: UserId) -> Result<bool> {
        let mut typing = self.typing.lock().expect("typing lock");
        let live = typing
            .get(&(conversation, user))
            .is_some_and(|until| *until > Instant::now());
        if !live {
            typing.remove(&(conversation, user));
        }
        Ok(live)
    }
}
