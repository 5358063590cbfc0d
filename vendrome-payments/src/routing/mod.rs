//! Routing: which configured providers may take a payment and in which order ([`policy`]),
//! and which of them are in rotation ([`health`]). The orchestrator asks [`Routing::order`]
//! for a checkout's candidates, tries them in turn while one fails with a retryable error, and
//! records each call's outcome with [`Routing::record`].

pub mod health;
pub mod policy;

use std::time::Duration;

use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_core::money::Currency;
use vendrome_core::payments::provider::ProviderError;
use vendrome_core::time::Timestamp;

pub use self::health::{CallOutcome, Health, HealthConfig, HealthSnapshot, HealthState};
pub use self::policy::{Route, RoutingPolicy};

/// The routing policy and the providers' health.
pub struct Routing {
    policy: RoutingPolicy,
    health: Health,
}

impl Default for Routing {
    fn default() -> Self {
        Self::new(RoutingPolicy::default())
    }
}

impl Routing {
    #[must_use]
    pub fn new(policy: RoutingPolicy) -> Self {
        Self {
            health: Health::new(policy.health),
            policy,
        }
    }

    /// The providers to try for a payment, in order: the matching route's (or `configured`, in
    /// configuration order, when none matches), each kept only if `configured` has it; those in
    /// rotation first, eliminated ones after them (tried only when every other one failed).
    #[must_use]
    pub fn order(
        &self,
        configured: &[ProviderId],
        currency: Currency,
        country: Option<&str>,
        method: Option<&str>,
        key: Option<&str>,
        now: Timestamp,
    ) -> Vec<ProviderId> {
        let listed = self
            .policy
            .eligible(currency, country, method, key)
            .unwrap_or_else(|| configured.to_vec());
        let (mut ready, out): (Vec<_>, Vec<_>) = listed
            .into_iter()
            .filter(|p| configured.contains(p))
            .partition(|p| !matches!(self.health.state(*p, now), HealthState::Eliminated { .. }));
        ready.extend(out);
        ready
    }

    /// Whether `provider` is out of rotation at `now`.
    #[must_use]
    pub fn eliminated(&self, provider: ProviderId, now: Timestamp) -> bool {
        matches!(
            self.health.state(provider, now),
            HealthState::Eliminated { .. }
        )
    }

    /// Records a provider call's result.
    pub fn record<T>(
        &self,
        provider: ProviderId,
        result: &Result<T, ProviderError>,
        latency: Duration,
        now: Timestamp,
    ) {
        let outcome = match result {
            Ok(_)
            | Err(
                ProviderError::Declined(_)
                | ProviderError::Rejected(_)
                | ProviderError::Unsupported,
            ) => CallOutcome::Answered,
            Err(ProviderError::Unavailable(_)) => CallOutcome::Error,
            Err(ProviderError::Timeout) => CallOutcome::Timeout,
        };
        let label = match outcome {
            CallOutcome::Answered => "answered",
            CallOutcome::Error => "error",
            CallOutcome::Timeout => "timeout",
        };
        metrics::counter!(health::CALLS, "provider" => provider.to_string(), "outcome" => label)
            .increment(1);
        metrics::histogram!(health::LATENCY, "provider" => provider.to_string())
            .record(latency.as_secs_f64());
        self.health.record(provider, outcome, latency, now);
    }

    /// Each of `providers`' windows at `now`.
    #[must_use]
    pub fn snapshots(&self, providers: &[ProviderId], now: Timestamp) -> Vec<HealthSnapshot> {
        providers
            .iter()
            .map(|p| self.health.snapshot(*p, now))
            .collect()
    }
}

/// Whether a failed create may move to the next provider: nothing happened at this one (no
/// connection, a 5xx, a "try again"). A timeout may have made something, and a decline or a
/// refusal is an answer, so neither moves on.
#[must_use]
pub fn retryable(error: &ProviderError) -> bool {
    matches!(error, ProviderError::Unavailable(_))
}
