//! [`NatsFanout`]: frames between server instances over NATS, one subject per user, and one
//! that every instance hears for frames to everyone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt as _;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use vendrome_core::ids::UserId;
use vendrome_core::realtime::{Fanout, Frame, FrameSink};

/// The header that carries a frame's id next to its text.
const FRAME_ID: &str = "Vendrome-Frame-Id";

/// How long connecting may take before start-up fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Frames published on `{prefix}.user.{user id}`; each instance subscribes to the subjects of
/// the users who have a socket open on it, so a frame crosses to exactly the instances that
/// need it, and reaches each of them once.
///
/// Subscriptions are counted: every [`Fanout::subscribe`] needs its [`Fanout::unsubscribe`], and
/// the NATS subscription lives while the count is above zero, so sockets of one user opening and
/// closing in any order never leave a live socket unsubscribed.
///
/// Frames for every socket go on `{prefix}.all`, which each instance subscribes to for its whole
/// life (from [`NatsFanout::connect`]).
///
/// Plain NATS (no JetStream): a frame published while an instance is not subscribed is not kept
/// for it. Nothing is lost by that: messages are in the database, and a socket that reconnects
/// asks for what it missed.
pub struct NatsFanout {
    client: async_nats::Client,
    prefix: String,
    sink: Arc<dyn FrameSink>,
    subscriptions: Mutex<HashMap<UserId, (usize, JoinHandle<()>)>>,
    everyone: JoinHandle<()>,
}

impl Drop for NatsFanout {
    fn drop(&mut self) {
        self.everyone.abort();
    }
}

/// A frame as a NATS message carries it: its id in a header, its text as the payload.
fn frame_of(message: &async_nats::Message) -> Option<Frame> {
    let id = message
        .headers
        .as_ref()
        .and_then(|h| h.get(FRAME_ID))
        .and_then(|v| v.as_str().parse::<uuid::Uuid>().ok());
    match (id, std::str::from_utf8(&message.payload)) {
        (Some(id), Ok(text)) => Some(Frame {
            id,
            text: Arc::from(text),
        }),
        _ => {
            tracing::warn!(subject = %message.subject, "dropped a malformed realtime frame");
            None
        }
    }
}

impl NatsFanout {
    /// Connects to `nats://host:port` (several servers comma-separated); subjects start with
    /// `prefix` (`vendrome.rt` by default, so several deployments can share a server).
    pub async fn connect(
        url: &str,
        prefix: &str,
        sink: Arc<dyn FrameSink>,
    ) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .name("vendrome")
            .connect(url)
            .await
            .context("could not connect to NATS")?;
        let mut everyone = client
            .subscribe(format!("{prefix}.all"))
            .await
            .context("subscribe to NATS")?;
        let to_all = sink.clone();
        let everyone = tokio::spawn(async move {
            while let Some(message) = everyone.next().await {
                if let Some(frame) = frame_of(&message) {
                    to_all.deliver_to_all(frame);
                }
            }
        });
        let fanout = Self {
            client,
            prefix: prefix.to_owned(),
            sink,
            subscriptions: Mutex::new(HashMap::new()),
            everyone,
        };
        fanout.round_trip().await?;
        Ok(fanout)
    }

    fn headers(frame: &Frame) -> async_nats::HeaderMap {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(FRAME_ID, frame.id.to_string().as_str());
        headers
    }

    fn subject(&self, user: UserId) -> String {
        format!("{}.user.{user}", self.prefix)
    }

    /// Returns once the server has taken every command this client sent before it, so that a
    /// subscription is live before [`Fanout::subscribe`] returns. A flush is not enough: it only
    /// writes to the socket, and another instance's frame can reach the server before the
    /// server reads the subscription, which then never sees that frame. The server reads one
    /// connection in order and answers a request nobody listens to with "no responders", so
    /// that answer comes after the subscription was taken.
    async fn round_trip(&self) -> anyhow::Result<()> {
        let subject = format!("{}.sync", self.prefix);
        match self.client.request(subject, bytes::Bytes::new()).await {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
            Err(error) => Err(error).context("confirm a NATS subscription"),
        }
    }
}

impl std::fmt::Debug for NatsFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsFanout")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Fanout for NatsFanout {
    async fn publish(&self, users: &[UserId], frame: &Frame) -> anyhow::Result<()> {
        let payload = bytes::Bytes::copy_from_slice(frame.text.as_bytes());
        let headers = Self::headers(frame);
        for user in users {
            self.client
                .publish_with_headers(self.subject(*user), headers.clone(), payload.clone())
                .await
                .context("publish a frame to NATS")?;
        }
        Ok(())
    }

    async fn broadcast(&self, frame: &Frame) -> anyhow::Result<()> {
        let payload = bytes::Bytes::copy_from_slice(frame.text.as_bytes());
        self.client
            .publish_with_headers(
                format!("{}.all", self.prefix),
                Self::headers(frame),
                payload,
            )
            .await
            .context("publish a frame to NATS")
    }

    async fn subscribe(&self, user: UserId) -> anyhow::Result<()> {
        let mut subscriptions = self.subscriptions.lock().await;
        if let Some((count, _)) = subscriptions.get_mut(&user) {
            *count += 1;
            return Ok(());
        }
        let mut subscriber = self
            .client
            .subscribe(self.subject(user))
            .await
            .context("subscribe to NATS")?;
        self.round_trip().await?;
        let sink = self.sink.clone();
        let task = tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                if let Some(frame) = frame_of(&message) {
                    sink.deliver(user, frame);
                }
            }
        });
        subscriptions.insert(user, (1, task));
        Ok(())
    }

    async fn unsubscribe(&self, user: UserId) {
        let mut subscriptions = self.subscriptions.lock().await;
        if let Some((count, _)) = subscriptions.get_mut(&user) {
            *count -= 1;
            if *count == 0 {
                if let Some((_, task)) = subscriptions.remove(&user) {
                    // Dropping the subscriber with its task unsubscribes it from the server.
                    task.abort();
                }
            }
        }
    }
}
