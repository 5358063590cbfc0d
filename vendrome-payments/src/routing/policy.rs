//! The routing file (`--payment-routing FILE`, TOML): for each currency, country and method,
//! the eligible providers in order, with an optional volume split; and the health thresholds.
//!
//! ```toml
//! # Rand card payments: Yoco first for 70 % of attempts, Peach first for 30 %, then Payfast.
//! [[route]]
//! currency = "ZAR"
//! method = "card"
//! providers = ["yoco", "peach", "payfast"]
//! split = { yoco = 70, peach = 30 }
//!
//! # Everything else: PayPal, then Stripe.
//! [[route]]
//! providers = ["paypal", "stripe"]
//!
//! [health]
//! window = 20
//! min_calls = 5
//! error_percent = 50
//! cooldown_secs = 30
//! ```
//!
//! The first route whose `currency`, `country` and `method` (each optional) all match is used.
//! With no file, or no matching route, the default applies: every configured provider in
//! configuration order (Stripe, then the others as configured, the sandbox last).

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_core::money::Currency;

use super::health::HealthConfig;

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub currency: Option<Currency>,
    /// ISO 3166-1 alpha-2 of the payer.
    pub country: Option<String>,
    pub method: Option<String>,
    /// The eligible providers, in the order they are tried.
    pub providers: Vec<ProviderId>,
    /// Percentages of attempts that go first to each listed provider (adding up to 100).
    #[serde(default)]
    pub split: BTreeMap<ProviderId, u8>,
}

impl Route {
    fn matches(&self, currency: Currency, country: Option<&str>, method: Option<&str>) -> bool {
        self.currency.is_none_or(|c| c == currency)
            && self
                .country
                .as_deref()
                .is_none_or(|c| country.is_some_and(|asked| asked.eq_ignore_ascii_case(c)))
            && self
                .method
                .as_deref()
                .is_none_or(|m| method.is_none_or(|asked| asked == m))
    }

    /// The providers in the order this attempt tries them: the split's pick for `key` first.
    fn order(&self, key: Option<&str>) -> Vec<ProviderId> {
        let mut order = self.providers.clone();
        if let (Some(key), false) = (key, self.split.is_empty()) {
            let bucket = u64::from_be_bytes(
                Sha256::digest(key.as_bytes())[..8]
                    .try_into()
                    .expect("8 bytes"),
            ) % 100;
            let mut edge = 0u64;
            let first = self.split.iter().find(|(_, percent)| {
                edge += u64::from(**percent);
                bucket < edge
            });
            if let Some((first, _)) = first {
                order.retain(|p| p != first);
                order.insert(0, *first);
            }
        }
        order
    }
}

/// The routing file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingPolicy {
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub health: HealthConfig,
}

impl RoutingPolicy {
    /// Reads a routing file's text.
    ///
    /// # Errors
    ///
    /// A TOML or shape error, or a split that does not add up to 100 or names a provider the
    /// route does not list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let policy: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, route) in policy.routes.iter().enumerate() {
            if route.providers.is_empty() {
                return Err(format!("route {}: no providers", i + 1));
            }
            if !route.split.is_empty() {
                let total: u32 = route.split.values().map(|p| u32::from(*p)).sum();
                if total != 100 {
                    return Err(format!(
                        "route {}: the split adds up to {total}, not 100",
                        i + 1
                    ));
                }
                if let Some(stray) = route.split.keys().find(|p| !route.providers.contains(p)) {
                    return Err(format!(
                        "route {}: the split names {stray}, which the route does not list",
                        i + 1
                    ));
                }
            }
        }
        Ok(policy)
    }

    /// The providers eligible for a payment, in the order to try them; `None` when no route
    /// matches (the default order applies). `key` picks the split's first choice.
    #[must_use]
    pub fn eligible(
        &self,
        currency: Currency,
        country: Option<&str>,
        method: Option<&str>,
        key: Option<&str>,
    ) -> Option<Vec<ProviderId>> {
        self.routes
            .iter()
            .find(|r| r.matches(currency, country, method))
            .map(|r| r.order(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        [[route]]
        currency = "ZAR"
        country = "ZA"
        providers = ["yoco", "peach", "payfast"]
        split = { yoco = 70, peach = 30 }

        [[route]]
        providers = ["paypal", "stripe"]

        [health]
        cooldown_secs = 5
    "#;

    #[test]
    fn routes_match_in_order_and_split_by_key() {
        let policy = RoutingPolicy::parse(FILE).unwrap();
        assert_eq!(policy.health.cooldown_secs, 5);
        assert_eq!(policy.health.window, 20, "defaults for the rest");
        let zar: Currency = "ZAR".parse().unwrap();
        let usd: Currency = "USD".parse().unwrap();
        assert_eq!(
            policy.eligible(usd, None, None, None),
            Some(vec![ProviderId::Paypal, ProviderId::Stripe])
        );
        assert_eq!(
            policy.eligible(zar, Some("NG"), None, None),
            Some(vec![ProviderId::Paypal, ProviderId::Stripe]),
            "another country"
        );
        let mut first = BTreeMap::new();
        for n in 0..1000 {
            let order = policy
                .eligible(zar, Some("za"), None, Some(&format!("k{n}")))
                .unwrap();
            assert_eq!(order.len(), 3);
            assert_eq!(order[2], ProviderId::Payfast);
            *first.entry(order[0]).or_insert(0) += 1;
        }
        let yoco = first[&ProviderId::Yoco];
        assert!((640..760).contains(&yoco), "about 70 %: {first:?}");
        let same = |k: &str| policy.eligible(zar, Some("ZA"), None, Some(k));
        assert_eq!(same("k1"), same("k1"), "a retry goes the same way");
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(RoutingPolicy::parse("[[route]]\nproviders = []").is_err());
        assert!(RoutingPolicy::parse("[[route]]\nproviders = [\"nope\"]").is_err());
        assert!(
            RoutingPolicy::parse("[[route]]\nproviders = [\"yoco\"]\nsplit = { yoco = 60 }")
                .is_err()
        );
        assert!(
            RoutingPolicy::parse("[[route]]\nproviders = [\"yoco\"]\nsplit = { peach = 100 }")
                .is_err()
        );
        assert!(RoutingPolicy::parse("[[route]]\nproviders = [\"yoco\"]\nwhat = 1").is_err());
        assert_eq!(RoutingPolicy::parse("").unwrap(), RoutingPolicy::default());
    }
}
