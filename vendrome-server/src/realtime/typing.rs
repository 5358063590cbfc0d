//! Typing indicators that end by themselves: each typist this instance announced is watched
//! until their indicator's time runs out without a refresh, and then the others hear
//! `typing.stopped`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;
use vendrome_core::ids::{ConversationId, UserId};

use super::{frames, Realtime};

/// How often expired typists are looked for.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// A typist: who types where.
type Typist = (ConversationId, UserId);

/// The typists announced from this instance: when each one's indicator ends unless refreshed,
/// and who is to be told.
#[derive(Default)]
pub(crate) struct Typists {
    entries: Mutex<HashMap<Typist, (Instant, Vec<UserId>)>>,
}

impl Typists {
    /// Watches `user` typing in `conversation` until `until`.
    pub(crate) fn watch(
        &self,
        conversation: ConversationId,
        user: UserId,
        audience: Vec<UserId>,
        until: Instant,
    ) {
        self.entries
            .lock()
            .expect("typists lock")
            .insert((conversation, user), (until, audience));
    }

    /// Stops watching (the typist stopped, or sent their message).
    pub(crate) fn forget(&self, conversation: ConversationId, user: UserId) {
        self.entries
            .lock()
            .expect("typists lock")
            .remove(&(conversation, user));
    }

    fn expired(&self, now: Instant) -> Vec<(ConversationId, UserId, Vec<UserId>)> {
        let mut entries = self.entries.lock().expect("typists lock");
        let due: Vec<_> = entries
            .iter()
            .filter(|(_, (until, _))| *until <= now)
            .map(|(key, _)| *key)
            .collect();
        due.into_iter()
            .filter_map(|key| {
                entries
                    .remove(&key)
                    .map(|(_, audience)| (key.0, key.1, audience))
            })
            .collect()
    }
}

/// Announces `typing.stopped` for every typist whose indicator ran out, until `stop`. A typist
/// refreshed through another instance is still typing in the shared state: they are watched
/// again instead.
pub(crate) async fn sweep(realtime: Realtime, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => continue,
        }
        for (conversation, user, audience) in realtime.typing.expired(Instant::now()) {
            match realtime.presence.is_typing(conversation, user).await {
                Ok(true) => realtime.typing.watch(
                    conversation,
                    user,
                    audience,
                    Instant::now() + realtime.config.typing_ttl / 2,
                ),
                Ok(false) => announce_stop(&realtime, conversation, user, &audience).await,
                Err(error) => tracing::warn!(error = %error, "typing state unavailable"),
            }
        }
    }
}

/// Tells `audience` that `user` stopped typing in `conversation`.
pub(crate) async fn announce_stop(
    realtime: &Realtime,
    conversation: ConversationId,
    user: UserId,
    audience: &[UserId],
) {
    let frame = frames::ephemeral(
        "typing.stopped",
        &json!({ "conversation_id": conversation, "user_id": user }),
    );
    realtime.publish(audience, &frame).await;
}
