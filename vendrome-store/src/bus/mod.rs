//! Event bus adapters. The in-process bus is the default: events published by this process's
//! relay reach this process's subscribers.
//!
//! The realtime fanout's adapters live here too: [`LocalFanout`] hands frames straight to this
//! process's sockets, [`NatsFanout`] carries them between instances on one NATS subject per user.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;
use vendrome_core::outbox::{EventBus, PublishedEvent};

mod local;
#[cfg(feature = "nats")]
mod nats;

pub use local::LocalFanout;
#[cfg(feature = "nats")]
pub use nats::NatsFanout;

/// A broadcast channel inside one process. Subscribers that fall more than `capacity` events
/// behind miss the oldest ones (and are told so by `RecvError::Lagged`); they catch up from the
/// database.
#[derive(Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Arc<PublishedEvent>>,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PublishedEvent>> {
        self.sender.subscribe()
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &PublishedEvent) -> anyhow::Result<()> {
        // No subscriber is not a failure: the event is durable in the outbox either way.
        let _ = self.sender.send(Arc::new(event.clone()));
        Ok(())
    }
}
