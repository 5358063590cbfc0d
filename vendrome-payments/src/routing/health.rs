//! Provider health: a sliding window of each provider's recent call outcomes, and elimination
//! (hyperswitch's name for it) of a provider whose errors pass a threshold, for a cool-down,
//! after which one call probes it back into rotation.
//!
//! States: `healthy` → (errors ≥ `error_percent` of at least `min_calls` in the window)
//! → `eliminated` until the cool-down ends → `probing`: the next call is let through; its
//! success makes the provider `healthy` again (with an empty window), its failure `eliminated`
//! for another cool-down. Kept in memory per instance: each instance judges what it sees.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_core::time::Timestamp;

/// The thresholds (`[health]` in the routing file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// How many recent outcomes are kept per provider.
    pub window: usize,
    /// Fewer outcomes than this never eliminate.
    pub min_calls: usize,
    /// The share of errors (connection failures, timeouts, 5xx) that eliminates, in percent.
    pub error_percent: u8,
    /// How long an eliminated provider stays out before it is probed.
    pub cooldown_secs: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            window: 20,
            min_calls: 5,
            error_percent: 50,
            cooldown_secs: 30,
        }
    }
}

/// One call's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// An answer (a decline or a refusal is an answer: the provider is up).
    Answered,
    /// No connection, a 5xx or a "try again".
    Error,
    /// Sent, but no answer in time.
    Timeout,
}

/// Where a provider is in rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    /// Out of rotation until `until`.
    Eliminated {
        until: Timestamp,
    },
    /// The cool-down is over: the next call decides.
    Probing,
}

impl HealthState {
    /// The state's name, for metrics and the admin view.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Eliminated { .. } => "eliminated",
            Self::Probing => "probing",
        }
    }
}

/// A provider's window as the admin view and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthSnapshot {
    pub provider: ProviderId,
    pub state: HealthState,
    pub calls: usize,
    pub errors: usize,
    pub timeouts: usize,
    /// Errors and timeouts over calls, in percent (0 without calls).
    pub error_percent: u8,
    /// The mean latency of the window's calls, in milliseconds.
    pub mean_latency_ms: u64,
}

#[derive(Default)]
struct Window {
    outcomes: VecDeque<(CallOutcome, Duration)>,
    eliminated_until: Option<Timestamp>,
}

/// Every provider's window.
pub struct Health {
    config: HealthConfig,
    windows: Mutex<HashMap<ProviderId, Window>>,
}

impl Health {
    #[must_use]
    pub fn new(config: HealthConfig) -> Self {
        Self {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Where `provider` is at `now`.
    #[must_use]
    pub fn state(&self, provider: ProviderId, now: Timestamp) -> HealthState {
        let windows = self.windows.lock().expect("health lock");
        match windows.get(&provider).and_then(|w| w.eliminated_until) {
            Some(until) if now < until => HealthState::Eliminated { until },
            Some(_) => HealthState::Probing,
            None => HealthState::Healthy,
        }
    }

    /// Records a call's outcome at `now`, and moves the provider's state.
    pub fn record(
        &self,
        provider: ProviderId,
        outcome: CallOutcome,
        latency: Duration,
        now: Timestamp,
    ) {
        let mut windows = self.windows.lock().expect("health lock");
        let window = windows.entry(provider).or_default();
        let probing = window.eliminated_until.is_some_and(|until| now >= until);
        if probing {
            if outcome == CallOutcome::Answered {
                *window = Window::default();
            } else {
                window.eliminated_until = Some(now + self.cooldown());
            }
        }
        window.outcomes.push_back((outcome, latency));
        while window.outcomes.len() > self.config.window {
            window.outcomes.pop_front();
        }
        let calls = window.outcomes.len();
        let failed = window
            .outcomes
            .iter()
            .filter(|(o, _)| *o != CallOutcome::Answered)
            .count();
        if window.eliminated_until.is_none()
            && calls >= self.config.min_calls
            && failed * 100 >= usize::from(self.config.error_percent) * calls
        {
            window.eliminated_until = Some(now + self.cooldown());
        }
        drop(windows);
        self.publish(provider, now);
    }

    fn cooldown(&self) -> chrono::Duration {
        chrono::Duration::seconds(
            i64::try_from(self.config.cooldown_secs).unwrap_or(i64::MAX / 1000),
        )
    }

    /// The window of `provider` at `now`.
    #[must_use]
    pub fn snapshot(&self, provider: ProviderId, now: Timestamp) -> HealthSnapshot {
        let state = self.state(provider, now);
        let windows = self.windows.lock().expect("health lock");
        let (calls, errors, timeouts, latency) = windows.get(&provider).map_or((0, 0, 0, 0), |w| {
            let count = |kind| w.outcomes.iter().filter(|(o, _)| *o == kind).count();
            let total: u128 = w.outcomes.iter().map(|(_, l)| l.as_millis()).sum();
            let mean = total.checked_div(w.outcomes.len() as u128).unwrap_or(0);
            (
                w.outcomes.len(),
                count(CallOutcome::Error),
                count(CallOutcome::Timeout),
                u64::try_from(mean).unwrap_or(u64::MAX),
            )
        });
        let error_percent = ((errors + timeouts) * 100).checked_div(calls).unwrap_or(0);
        HealthSnapshot {
            provider,
            state,
            calls,
            errors,
            timeouts,
            error_percent: u8::try_from(error_percent).unwrap_or(100),
            mean_latency_ms: latency,
        }
    }

    /// Sets the provider's gauges (`/metrics`).
    fn publish(&self, provider: ProviderId, now: Timestamp) {
        let snapshot = self.snapshot(provider, now);
        let label = provider.to_string();
        for state in ["healthy", "eliminated", "probing"] {
            let on = if snapshot.state.name() == state {
                1.0
            } else {
                0.0
            };
            metrics::gauge!(STATE, "provider" => label.clone(), "state" => state).set(on);
        }
        metrics::gauge!(ERROR_PERCENT, "provider" => label.clone())
            .set(f64::from(snapshot.error_percent));
        metrics::gauge!(WINDOW_CALLS, "provider" => label)
            .set(u32::try_from(snapshot.calls).map_or(f64::MAX, f64::from));
    }
}

/// `1` for the provider's current state (`healthy`, `eliminated`, `probing`), `0` for the others.
pub const STATE: &str = "vendrome_payments_provider_state";
/// The window's errors and timeouts over its calls, in percent.
pub const ERROR_PERCENT: &str = "vendrome_payments_provider_error_percent";
/// The calls in the window.
pub const WINDOW_CALLS: &str = "vendrome_payments_provider_window_calls";
/// Every provider call by outcome (`answered`, `error`, `timeout`).
pub const CALLS: &str = "vendrome_payments_provider_calls_total";
/// Provider call latency (histogram, seconds).
pub const LATENCY: &str = "vendrome_payments_provider_call_seconds";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_eliminate_and_a_probe_brings_back() {
        let health = Health::new(HealthConfig {
            window: 4,
            min_calls: 3,
            error_percent: 50,
            cooldown_secs: 30,
        });
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let p = ProviderId::Yoco;
        let ms = Duration::from_millis(10);
        health.record(p, CallOutcome::Error, ms, at(0));
        health.record(p, CallOutcome::Answered, ms, at(1));
        assert_eq!(
            health.state(p, at(1)),
            HealthState::Healthy,
            "too few calls"
        );
        health.record(p, CallOutcome::Timeout, ms, at(2));
        assert_eq!(
            health.state(p, at(2)),
            HealthState::Eliminated { until: at(32) }
        );
        assert_eq!(health.state(p, at(32)), HealthState::Probing);
        health.record(p, CallOutcome::Error, ms, at(33));
        assert_eq!(
            health.state(p, at(40)),
            HealthState::Eliminated { until: at(63) },
            "a failed probe"
        );
        health.record(p, CallOutcome::Answered, ms, at(63));
        assert_eq!(health.state(p, at(63)), HealthState::Healthy, "probed back");
        assert_eq!(health.snapshot(p, at(63)).calls, 1, "a fresh window");
        assert_eq!(
            health.state(ProviderId::Paystack, at(0)),
            HealthState::Healthy
        );
    }
}
