//! The transactional outbox: every state change others must hear about writes an event row in
//! the same transaction as the change; a [`Relay`] later publishes pending rows to the
//! [`EventBus`] at least once, in creation order, and consumers are idempotent on
//! [`OutboxEvent::event_id`].

use std::time::Duration;

use async_trait::async_trait;

mod checkpoint;
pub use checkpoint::{Checkpoint, DEFAULT_GRACE};

use crate::events::{DomainEvent, UnreadableEvent};
use crate::ids::EventId;
use crate::time::Timestamp;
use crate::Result;

/// An event to append to the outbox: a [`DomainEvent`] and the id consumers deduplicate on.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: EventId,
    pub event: DomainEvent,
}

impl NewEvent {
    /// The event with a fresh id.
    pub fn new(event: DomainEvent) -> Self {
        Self {
            event_id: EventId::new(),
            event,
        }
    }
}

/// An event as stored, read back (claimed by a relay, or read by a consumer that keeps its own
/// checkpoint). Its payload was parsed once, when the row was read.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// Position in creation order.
    pub seq: i64,
    pub event_id: EventId,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The event, or why this version cannot read it (a type or schema version written by a
    /// newer version). Relays retry unreadable events later instead of publishing them;
    /// checkpoint readers skip them.
    pub event: std::result::Result<DomainEvent, UnreadableEvent>,
    /// Failed publication attempts so far.
    pub attempts: i32,
    pub created_at: Timestamp,
}

impl OutboxEvent {
    /// The stored wire name, readable or not.
    pub fn event_type(&self) -> &str {
        match &self.event {
            Ok(event) => event.event_type(),
            Err(unreadable) => &unreadable.event_type,
        }
    }
}

/// An event as the relay publishes it: read, with its [`DomainEvent`].
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    pub seq: i64,
    pub event_id: EventId,
    /// The id of what it is about (a conversation, a post): subscribers that keep an order
    /// per aggregate shard on it.
    pub aggregate_id: String,
    pub event: DomainEvent,
    pub created_at: Timestamp,
}

impl PublishedEvent {
    fn new(stored: &OutboxEvent, event: &DomainEvent) -> Self {
        Self {
            seq: stored.seq,
            event_id: stored.event_id,
            aggregate_id: stored.aggregate_id.clone(),
            event: event.clone(),
            created_at: stored.created_at,
        }
    }
}

/// Storage side of the outbox, used by relays.
#[async_trait]
pub trait OutboxRepo: Send + Sync {
    /// Appends one event on its own transaction (for changes made outside the store).
    async fn append(&self, event: NewEvent) -> Result<()>;

    /// Leases up to `limit` pending events that are due, oldest first, to `owner` until
    /// `now + lease`. An event leased to a live relay is never handed to another: two relays on
    /// one database never hold the same event at the same time.
    async fn claim(&self, owner: &str, limit: u32, lease: Duration) -> Result<Vec<OutboxEvent>>;

    /// Marks events published. Only events still leased to `owner` are changed; MUST return the
    /// number changed.
    async fn mark_published(&self, owner: &str, seqs: &[i64]) -> Result<u64>;

    /// Records a failed attempt: the event becomes due again at `retry_at`, or `dead` (never
    /// retried) when `dead` is true. Releases the lease.
    async fn mark_failed(
        &self,
        owner: &str,
        seq: i64,
        error: &str,
        retry_at: Timestamp,
        dead: bool,
    ) -> Result<()>;

    /// Releases leases without counting an attempt (events left unsent after a failure earlier
    /// in the batch, to keep them in order).
    async fn release(&self, owner: &str, seqs: &[i64]) -> Result<()>;

    /// How many events wait for publication, and the age of the oldest in seconds.
    async fn backlog(&self) -> Result<Backlog>;

    /// Up to `limit` events with `seq > after`, in `seq` order, published or not: for consumers
    /// that keep their own checkpoint (search indexers). A transaction that commits late can
    /// add an event below a `seq` already read; such readers re-read a window (see
    /// `vendrome_search::Checkpoint`).
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<OutboxEvent>>;

    /// The highest `seq` written so far (0 when the outbox is empty).
    async fn last_seq(&self) -> Result<i64>;
}

/// The relay's backlog, for metrics and readiness.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Backlog {
    pub pending: u64,
    pub oldest_age_seconds: f64,
}

/// Where published events go: in-process broadcast by default, NATS for several instances.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Delivers one event to subscribers. An error makes the relay retry it later.
    async fn publish(&self, event: &PublishedEvent) -> anyhow::Result<()>;
}

/// How a relay paces itself.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Identifies this relay's leases (host, process and a random part).
    pub owner: String,
    pub batch_size: u32,
    /// How long a claimed batch stays this relay's; a relay that dies mid-batch frees its events
    /// when the lease ends.
    pub lease: Duration,
    /// Attempts after which an event is marked dead.
    pub max_attempts: i32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl RelayConfig {
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            batch_size: 100,
            lease: Duration::from_secs(30),
            max_attempts: 20,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
        }
    }

    /// The delay before attempt `attempts + 1`: doubling from the base, capped.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.clamp(0, 31) as u32);
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// What one pass of the relay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayPass {
    pub published: u64,
    pub failed: u64,
}

/// Publishes pending outbox events to a bus. Safe to run in several processes at once.
pub struct Relay<R: ?Sized, B: ?Sized> {
    config: RelayConfig,
    repo: std::sync::Arc<R>,
    bus: std::sync::Arc<B>,
}

impl<R: OutboxRepo + ?Sized, B: EventBus + ?Sized> Relay<R, B> {
    pub fn new(config: RelayConfig, repo: std::sync::Arc<R>, bus: std::sync::Arc<B>) -> Self {
        Self { config, repo, bus }
    }

    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// Claims one batch and publishes it in order. On the first failure the failed event is
    /// scheduled for retry and the rest of the batch is released unsent, so no event overtakes
    /// an earlier one of this batch.
    pub async fn run_once(&self) -> Result<RelayPass> {
        let owner = &self.config.owner;
        let batch = self
            .repo
            .claim(owner, self.config.batch_size, self.config.lease)
            .await?;
        let mut published = Vec::with_capacity(batch.len());
        let mut pass = RelayPass::default();
        for (i, event) in batch.iter().enumerate() {
            let published_now = match &event.event {
                Ok(domain) => self.bus.publish(&PublishedEvent::new(event, domain)).await,
                // Written by a newer version: a relay of that version publishes it later.
                Err(unreadable) => Err(anyhow::Error::new(unreadable.clone())),
            };
            match published_now {
                Ok(()) => published.push(event.seq),
                Err(error) => {
                    pass.failed = 1;
                    let attempts = event.attempts + 1;
                    let dead = attempts >= self.config.max_attempts;
                    let delay = chrono::Duration::from_std(self.config.backoff(event.attempts))
                        .unwrap_or(chrono::Duration::MAX);
                    let retry_at = crate::time::now() + delay;
                    self.repo
                        .mark_failed(owner, event.seq, &format!("{error:#}"), retry_at, dead)
                        .await?;
                    let rest: Vec<i64> = batch[i + 1..].iter().map(|e| e.seq).collect();
                    if !rest.is_empty() {
                        self.repo.release(owner, &rest).await?;
                    }
                    break;
                }
            }
        }
        if !published.is_empty() {
            pass.published = self.repo.mark_published(owner, &published).await?;
        }
        Ok(pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let config = RelayConfig::new("t");
        assert_eq!(config.backoff(0), Duration::from_millis(500));
        assert_eq!(config.backoff(1), Duration::from_secs(1));
        assert_eq!(config.backoff(3), Duration::from_secs(4));
        assert_eq!(config.backoff(40), Duration::from_secs(300));
    }
}
