//! [`LocalFanout`]: frames for this process's sockets, delivered in place.

use std::sync::Arc;

use async_trait::async_trait;
use vendrome_core::ids::UserId;
use vendrome_core::realtime::{Fanout, Frame, FrameSink};

/// The fanout of a single process: publishing is delivering to the local sockets.
#[derive(Clone)]
pub struct LocalFanout {
    sink: Arc<dyn FrameSink>,
}

impl LocalFanout {
    pub fn new(sink: Arc<dyn FrameSink>) -> Self {
        Self { sink }
    }
}

#[async_trait]
impl Fanout for LocalFanout {
    async fn publish(&self, users: &[UserId], frame: &Frame) -> anyhow::Result<()> {
        for user in users {
            self.sink.deliver(*user, frame.clone());
        }
        Ok(())
    }

    async fn broadcast(&self, frame: &Frame) -> anyhow::Result<()> {
        self.sink.deliver_to_all(frame.clone());
        Ok(())
    }

    async fn subscribe(&self, _user: UserId) -> anyhow::Result<()> {
        Ok(())
    }

    async fn unsubscribe(&self, _user: UserId) {}
}
