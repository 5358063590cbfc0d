//! [`MemoryRateLimiter`]: a sliding-log rate limiter in process memory, for one process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vendrome_core::rate_limit::{Decision, RateLimiter, Rule};
use vendrome_core::Result;

/// How many calls pass between two sweeps that forget every key whose window has passed.
const SWEEP_EVERY: u64 = 1024;

/// The default cap on tracked keys (rule and key pairs). A key under a rule of limit 10 costs
/// about 250 bytes, so the cap bounds the limiter to some 25 MB.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// A sliding-log rate limiter in process memory: every counted hit's instant is kept until it
/// leaves its window, so `retry_after` is exact. Correct only within one process: several server
/// instances need `ValkeyRateLimiter` to share one budget.
///
/// Memory stays bounded. Every [`SWEEP_EVERY`] calls, keys whose last hit left its window are
/// forgotten (they hold nothing that could refuse a hit). When a new key would pass `max_keys`,
/// the limiter sweeps at once and, if every key is still live, forgets the least recently hit
/// tenth of them. That fails open for those keys — a flood of distinct keys can make the limiter
/// forget old budgets, never refuse new ones — so keep the cap well above the keys one window
/// sees.
///
/// The clock is the process's monotonic clock ([`Instant`]), untouched by wall-clock changes.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    state: Mutex<State>,
    max_keys: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Rule name, then key.
    logs: HashMap<&'static str, HashMap<String, Log>>,
    keys: usize,
    calls: u64,
}

/// The counted hits of one key under one rule, oldest first.
#[derive(Debug)]
struct Log {
    hits: VecDeque<Instant>,
    /// The window of the rule last applied, so a sweep knows when the log has expired.
    window: Duration,
}

impl MemoryRateLimiter {
    /// A limiter tracking at most [`DEFAULT_MAX_KEYS`] keys.
    pub fn new() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }

    /// A limiter tracking at most `max_keys` keys (at least one).
    pub fn with_max_keys(max_keys: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_keys: max_keys.max(1),
        }
    }

    /// How many keys (over all rules) the limiter holds now, expired ones included until the next
    /// sweep.
    pub fn tracked_keys(&self) -> usize {
        self.lock().keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent after every statement that could panic, so a poisoned lock
        // holds nothing half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn decide(&self, rule: &Rule, key: &str, count: bool) -> Decision {
        let now = Instant::now();
        let mut state = self.lock();
        state.calls += 1;
        if state.calls.is_multiple_of(SWEEP_EVERY) {
            state.sweep(now);
        }
        if let Some(log) = state
            .logs
            .get_mut(rule.name)
            .and_then(|keys| keys.get_mut(key))
        {
            return log.decide(rule, now, count);
        }
        let mut log = Log {
            hits: VecDeque::new(),
            window: rule.window,
        };
        let decision = log.decide(rule, now, count);
        if !log.hits.is_empty() {
            state.make_room(now, self.max_keys);
            state
                .logs
                .entry(rule.name)
                .or_default()
                .insert(key.to_owned(), log);
            state.keys += 1;
        }
        decision
    }
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// Forgets every key whose last hit has left its window.
    fn sweep(&mut self, now: Instant) {
        self.retain(|log| log.is_live(now));
    }

    /// Makes room for one more key under `max_keys`.
    fn make_room(&mut self, now: Instant, max_keys: usize) {
        if self.keys < max_keys {
            return;
        }
        self.sweep(now);
        if self.keys < max_keys {
            return;
        }
        // Every key is live: forget the least recently hit tenth (at least one), found in linear
        // time, so a flood of new keys pays for a scan once per tenth of the cap, not per key.
        let mut last_hits: Vec<Instant> = self
            .logs
            .values()
            .flat_map(HashMap::values)
            .filter_map(|log| log.hits.back().copied())
            .collect();
        let evict = (max_keys / 10).max(1).min(last_hits.len());
        let (_, threshold, _) = last_hits.select_nth_unstable(evict - 1);
        let threshold = *threshold;
        self.retain(|log| log.hits.back().is_some_and(|last| *last > threshold));
    }

    fn retain(&mut self, mut keep: impl FnMut(&Log) -> bool) {
        let mut kept = 0;
        self.logs.retain(|_, keys| {
            keys.retain(|_, log| keep(log));
            kept += keys.len();
            !keys.is_empty()
        });
        self.keys = kept;
    }
}

impl Log {
    /// Decides a hit at `now` under `rule`, recording it when `count` and it is allowed.
    fn decide(&mut self, rule: &Rule, now: Instant, count: bool) -> Decision {
        self.window = rule.window;
        // A hit counts while less than `window` has passed since it.
        while self
            .hits
            .front()
            .is_some_and(|first| now.duration_since(*first) >= rule.window)
        {
            self.hits.pop_front();
        }
        let used = u32::try_from(self.hits.len()).unwrap_or(u32::MAX);
        if used < rule.limit {
            if count {
                self.hits.push_back(now);
            }
            return Decision::Allowed {
                remaining: rule.limit - used - u32::from(count),
            };
        }
        // The next hit fits once `used - limit + 1` hits have left: the oldest, unless the rule's
        // limit was lowered while more were counted. That hit is less than `window` old, so the
        // wait is greater than zero. A rule of limit 0 never allows a hit; say "a window".
        let retry_after = match self.hits.get((used - rule.limit) as usize) {
            Some(hit) => rule.window.saturating_sub(now.duration_since(*hit)),
            None => rule.window,
        };
        Decision::Limited {
            retry_after: retry_after.max(Duration::from_nanos(1)),
        }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.hits
            .back()
            .is_some_and(|last| now.duration_since(*last) < self.window)
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    #[tracing::instrument(level = "debug", skip_all, fields(rule = rule.name))]
    async fn hit(&self, rule: &Rule, key: &str) -> Result<Decision> {
        Ok(self.decide(rule, key, true))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(rule = rule.name))]
    async fn peek(&self, rule: &Rule, key: &str) -> Result<Decision> {
        Ok(self.decide(rule, key, false))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(rule = rule.name))]
    async fn reset(&self, rule: &Rule, key: &str) -> Result<()> {
        let mut state = self.lock();
        let Some(keys) = state.logs.get_mut(rule.name) else {
            return Ok(());
        };
        let removed = keys.remove(key).is_some();
        if keys.is_empty() {
            state.logs.remove(rule.name);
        }
        if removed {
            state.keys -= 1;
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(rule = rule.name))]
    async fn refund(&self, rule: &Rule, key: &str) -> Result<()> {
        let mut state = self.lock();
        if let Some(log) = state
            .logs
            .get_mut(rule.name)
            .and_then(|keys| keys.get_mut(key))
        {
            log.hits.pop_back();
        }
        Ok(())
    }
}
