//! [`NatsRevocations`]: session revocations announced to every server instance over NATS.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt as _;
use tokio::task::JoinHandle;
use vendrome_core::auth::RevocationNotices;
use vendrome_core::ids::UserId;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What an instance does when told that a user's sessions ended.
pub type OnRevoked = Arc<dyn Fn(UserId) + Send + Sync>;

/// Every instance subscribes to `{prefix}.revoked` and hears each announcement (its own
/// included), carrying the user's id. Plain NATS: an instance that is not connected when a
/// notice passes misses it, and falls back to re-checking its cached sessions at their expiry.
pub struct NatsRevocations {
    client: async_nats::Client,
    subject: String,
    listener: JoinHandle<()>,
}

impl NatsRevocations {
    /// Connects to `nats://host:port` and starts hearing announcements into `on_revoked`.
    /// Returns once the subscription is live.
    pub async fn connect(url: &str, prefix: &str, on_revoked: OnRevoked) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .name("vendrome-sessions")
            .connect(url)
            .await
            .context("could not connect to NATS")?;
        let subject = format!("{prefix}.revoked");
        let mut subscriber = client
            .subscribe(subject.clone())
            .await
            .context("subscribe to session revocations")?;
        // The server reads one connection in order: once it answered this flush's ping, the
        // subscription is in place.
        client
            .flush()
            .await
            .context("confirm the revocation subscription")?;
        let listener = tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                match std::str::from_utf8(&message.payload)
                    .ok()
                    .and_then(|id| id.parse::<UserId>().ok())
                {
                    Some(user) => on_revoked(user),
                    None => tracing::warn!("dropped a malformed session revocation"),
                }
            }
        });
        Ok(Self {
            client,
            subject,
            listener,
        })
    }
}

impl Drop for NatsRevocations {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl std::fmt::Debug for NatsRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsRevocations")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RevocationNotices for NatsRevocations {
    async fn announce(&self, user: UserId) -> anyhow::Result<()> {
        self.client
            .publish(self.subject.clone(), user.to_string().into())
            .await
            .context("announce a session revocation")?;
        self.client
            .flush()
            .await
            .context("announce a session revocation")
    }
}
