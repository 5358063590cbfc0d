//! [`Hub`]: this instance's open sockets by member, each with a bounded queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, Notify};
use vendrome_core::ids::UserId;
use vendrome_core::realtime::{Frame, FrameSink};

/// A frame on its way to sockets: its id and its text, one allocation shared by every socket
/// of this instance it goes to (a queue slot is one pointer).
pub type Outgoing = Arc<(uuid::Uuid, Utf8Bytes)>;

struct Slot {
    id: u64,
    queue: mpsc::Sender<Outgoing>,
    overflow: Arc<Notify>,
}

/// A socket's place in the hub: its queue's receiving end, and the signal that the queue
/// overflowed (the socket must then close as a slow consumer).
pub struct Registration {
    pub id: u64,
    pub queue: mpsc::Receiver<Outgoing>,
    pub overflow: Arc<Notify>,
}

/// The sockets open on this instance. Delivery never waits: a frame goes into each socket's
/// bounded queue, and a full queue marks its socket for closing instead of growing.
#[derive(Default)]
pub struct Hub {
    sockets: Mutex<HashMap<UserId, Vec<Slot>>>,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a socket of `user` with room for `capacity` frames.
    pub fn register(&self, user: UserId, capacity: usize) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, queue) = mpsc::channel(capacity.max(1));
        let overflow = Arc::new(Notify::new());
        self.sockets
            .lock()
            .expect("hub lock")
            .entry(user)
            .or_default()
            .push(Slot {
                id,
                queue: sender,
                overflow: overflow.clone(),
            });
        metrics::gauge!("realtime_connections").increment(1.0);
        Registration {
            id,
            queue,
            overflow,
        }
    }

    /// Removes a socket.
    pub fn unregister(&self, user: UserId, id: u64) {
        let mut sockets = self.sockets.lock().expect("hub lock");
        if let Some(slots) = sockets.get_mut(&user) {
            let before = slots.len();
            slots.retain(|s| s.id != id);
            if slots.len() < before {
                metrics::gauge!("realtime_connections").decrement(1.0);
            }
            if slots.is_empty() {
                sockets.remove(&user);
            }
        }
    }

    /// Sockets open on this instance.
    pub fn connections(&self) -> usize {
        self.sockets
            .lock()
            .expect("hub lock")
            .values()
            .map(Vec::len)
            .sum()
    }
}

fn offer(slot: &Slot, outgoing: &Outgoing) {
    if let Err(mpsc::error::TrySendError::Full(_)) = slot.queue.try_send(outgoing.clone()) {
        slot.overflow.notify_one();
    }
}

impl FrameSink for Hub {
    fn deliver(&self, user: UserId, frame: Frame) {
        let outgoing = Arc::new((frame.id, Utf8Bytes::from(&*frame.text)));
        let sockets = self.sockets.lock().expect("hub lock");
        for slot in sockets.get(&user).into_iter().flatten() {
            offer(slot, &outgoing);
        }
    }

    fn deliver_to_all(&self, frame: Frame) {
        let outgoing = Arc::new((frame.id, Utf8Bytes::from(&*frame.text)));
        let sockets = self.sockets.lock().expect("hub lock");
        for slot in sockets.values().flatten() {
            offer(slot, &outgoing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u128) -> Frame {
        Frame {
            id: uuid::Uuid::from_u128(n),
            text: Arc::from("{}"),
        }
    }

    #[tokio::test]
    async fn every_socket_of_the_member_gets_the_frame_and_a_full_queue_overflows() {
        let hub = Hub::new();
        let user = UserId::new();
        let mut a = hub.register(user, 2);
        let b = hub.register(user, 8);
        let other = hub.register(UserId::new(), 8);
        for n in 0..3 {
            hub.deliver(user, frame(n));
        }
        assert_eq!(hub.connections(), 3);
        assert_eq!(a.queue.recv().await.unwrap().0, uuid::Uuid::from_u128(0));
        assert_eq!(b.queue.len(), 3, "the roomy socket has every frame");
        assert!(other.queue.is_empty(), "nothing for someone else");
        // The third frame did not fit into `a`'s queue of two: its overflow is signalled.
        tokio::time::timeout(std::time::Duration::from_secs(1), a.overflow.notified())
            .await
            .expect("overflow signalled");
        hub.unregister(user, a.id);
        hub.unregister(user, b.id);
        assert_eq!(hub.connections(), 1);
    }

    #[tokio::test]
    async fn a_frame_for_everyone_reaches_every_socket() {
        let hub = Hub::new();
        let user = UserId::new();
        let mut sockets = [
            hub.register(user, 4),
            hub.register(user, 4),
            hub.register(UserId::new(), 4),
        ];
        hub.deliver_to_all(frame(7));
        for socket in &mut sockets {
            assert_eq!(
                socket.queue.recv().await.unwrap().0,
                uuid::Uuid::from_u128(7)
            );
        }
    }
}
