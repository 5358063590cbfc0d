//! Rate limits: a fixed budget of hits per key per window (a sliding window, so a burst at the
//! edge of two windows cannot double the budget). The [`RateLimiter`] port is in-memory in one
//! process and Valkey/Redis-backed for several instances.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;

/// A named budget: at most `limit` hits per `window` for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable and unique per rule: it namespaces the keys (`login_ip`, `register_ip`, …).
    pub name: &'static str,
    pub limit: u32,
    pub window: Duration,
}

/// What a rate limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within budget; `remaining` more hits fit in the window.
    Allowed { remaining: u32 },
    /// Over budget: the next hit may succeed after `retry_after`.
    Limited { retry_after: Duration },
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// Counting hits per key.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit of `key` under `rule` and decides. A refused hit is not counted, so a
    /// client that keeps retrying is not locked out for longer than the window.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the counters cannot be reached; a
    /// refusal is [`Decision::Limited`], not an error.
    async fn hit(&self, rule: &Rule, key: &str) -> Result<Decision>;

    /// Decides without counting.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the counters cannot be reached.
    async fn peek(&self, rule: &Rule, key: &str) -> Result<Decision>;

    /// Forgets every hit of `key` under `rule`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the counters cannot be reached.
    async fn reset(&self, rule: &Rule, key: &str) -> Result<()>;

    /// Takes back the most recent counted hit of `key` under `rule` (the attempt it paid for
    /// turned out not to count: a failure budget is charged before a check and refunded when it
    /// passes). Nothing to take back is not an error.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the counters' store fails.
    async fn refund(&self, rule: &Rule, key: &str) -> Result<()>;
}
