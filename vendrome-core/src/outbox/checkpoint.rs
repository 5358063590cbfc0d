//! Where a reader of the outbox (the search indexer, the home-feed cache) is, with commit-order
//! gaps handled.
//!
//! Outbox `seq`s are handed out when a transaction inserts its event, but transactions commit in
//! their own order: a reader can see `seq` 12 before 11 exists. So the checkpoint is the highest
//! `seq` below which every event was either applied or has been missing for longer than the
//! grace period (a rolled-back transaction leaves a gap for ever). Events above the checkpoint
//! are applied as soon as they are seen and remembered, so gaps delay nothing but the
//! checkpoint; after a restart the events above it are applied again, which is harmless because
//! applying an event re-reads its documents from the database.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{OutboxEvent, OutboxRepo};
use crate::Result;

/// How far below the highest applied event a reader looks again for late commits.
const GAP_WINDOW: i64 = 10_000;

/// How long a missing `seq` is waited for before it is taken as rolled back. Transactions that
/// write events are short; this is far longer than any of them.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Checkpoint {
    done: i64,
    /// Applied events above `done`.
    seen: BTreeSet<i64>,
    /// Missing `seq`s above `done`, with when they were first noticed.
    gaps: BTreeMap<i64, Instant>,
    grace: Duration,
}

impl Checkpoint {
    pub fn new(done: i64, grace: Duration) -> Self {
        Self {
            done,
            seen: BTreeSet::new(),
            gaps: BTreeMap::new(),
            grace,
        }
    }

    /// Every event up to here is applied (or given up on).
    pub fn done(&self) -> i64 {
        self.done
    }

    /// The highest event applied (`done` when nothing above it is).
    pub fn highest(&self) -> i64 {
        self.seen
            .last()
            .copied()
            .unwrap_or(self.done)
            .max(self.done)
    }

    /// Whether the event still needs applying.
    pub fn is_new(&self, seq: i64) -> bool {
        seq > self.done && !self.seen.contains(&seq)
    }

    /// Records applied events and moves the checkpoint over everything contiguous.
    pub fn record(&mut self, seqs: impl IntoIterator<Item = i64>, now: Instant) {
        for seq in seqs {
            if seq > self.done {
                self.seen.insert(seq);
                self.gaps.remove(&seq);
            }
        }
        let Some(&highest) = self.seen.last() else {
            return;
        };
        for missing in self.done + 1..highest {
            if !self.seen.contains(&missing) {
                self.gaps.entry(missing).or_insert(now);
            }
        }
        loop {
            let next = self.done + 1;
            if self.seen.remove(&next) {
                self.done = next;
            } else if self
                .gaps
                .get(&next)
                .is_some_and(|since| now.duration_since(*since) >= self.grace)
            {
                self.gaps.remove(&next);
                self.done = next;
            } else {
                break;
            }
        }
    }

    /// The events not applied yet: the next `batch` above the highest applied one and, while
    /// gaps remain below it, the window where a transaction may still commit late. New events
    /// are read from above the highest applied one, so a gap never makes a reader read the same
    /// batch again.
    pub async fn unapplied(&self, outbox: &dyn OutboxRepo, batch: u32) -> Result<Vec<OutboxEvent>> {
        let (done, highest) = (self.done, self.highest());
        let mut events = Vec::new();
        if highest > done {
            let span = (highest - done).min(GAP_WINDOW) as u32;
            events.extend(outbox.events_after(done, span).await?);
        }
        events.extend(outbox.events_after(highest, batch).await?);
        events.retain(|e| self.is_new(e.seq));
        Ok(events)
    }

    /// Gives up on gaps older than the grace period without new events arriving.
    pub fn tick(&mut self, now: Instant) {
        self.record(std::iter::empty(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_events_move_the_checkpoint() {
        let mut checkpoint = Checkpoint::new(0, DEFAULT_GRACE);
        checkpoint.record([1, 2, 3], Instant::now());
        assert_eq!(checkpoint.done(), 3);
        assert!(!checkpoint.is_new(2));
        assert!(checkpoint.is_new(4));
    }

    #[test]
    fn a_gap_holds_the_checkpoint_until_it_fills() {
        let now = Instant::now();
        let mut checkpoint = Checkpoint::new(10, DEFAULT_GRACE);
        checkpoint.record([11, 13, 14], now);
        assert_eq!(checkpoint.done(), 11);
        assert!(
            !checkpoint.is_new(13),
            "applied events are not applied twice"
        );
        assert_eq!(checkpoint.highest(), 14, "reading resumes above the gap");
        checkpoint.record([12], now);
        assert_eq!(checkpoint.done(), 14);
        assert_eq!(checkpoint.highest(), 14);
    }

    #[test]
    fn a_gap_older_than_the_grace_period_is_given_up() {
        let start = Instant::now();
        let mut checkpoint = Checkpoint::new(0, Duration::from_secs(5));
        checkpoint.record([1, 3], start);
        assert_eq!(checkpoint.done(), 1);
        checkpoint.tick(start + Duration::from_secs(4));
        assert_eq!(checkpoint.done(), 1);
        checkpoint.tick(start + Duration::from_secs(5));
        assert_eq!(checkpoint.done(), 3);
    }
}
