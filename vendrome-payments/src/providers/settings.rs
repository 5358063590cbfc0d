//! The seven providers' settings, `VENDROME_<PROVIDER>_<NAME>`, read from one table
//! ([`VARIABLES`]) that also documents them (`.env.example` and the README list the same
//! variables; a test holds `.env.example` to this table).
//!
//! A provider is configured when its notification secret is set ([`NOTIFICATION_SECRETS`]): its
//! webhook endpoint then verifies what it sends. Its API credentials are optional; without them
//! it only listens (its notifications are verified and recorded, and routing never sends it a
//! payment).

use std::collections::HashMap;

use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_core::SqlEnum as _;

/// One setting of one provider.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub provider: ProviderId,
    /// The part after `VENDROME_<PROVIDER>_`.
    pub name: &'static str,
    /// Never printed: `Debug` shows `<redacted>`.
    pub secret: bool,
    /// The value when unset.
    pub default: Option<&'static str>,
    /// What it is, for `.env.example` and the README.
    pub about: &'static str,
}

const fn var(
    provider: ProviderId,
    name: &'static str,
    secret: bool,
    default: Option<&'static str>,
    about: &'static str,
) -> Variable {
    Variable {
        provider,
        name,
        secret,
        default,
        about,
    }
}

use ProviderId::{Airwallex, Ozow, Payfast, Paypal, Paystack, Peach, Yoco};

/// The setting that turns each provider on: the secret its notifications are verified with.
pub const NOTIFICATION_SECRETS: [(ProviderId, &str); 7] = [
    (Paypal, "WEBHOOK_ID"),
    (Airwallex, "WEBHOOK_SECRET"),
    (Yoco, "WEBHOOK_SECRET"),
    (Peach, "WEBHOOK_KEY"),
    (Payfast, "PASSPHRASE"),
    (Ozow, "PRIVATE_KEY"),
    (Paystack, "SECRET_KEY"),
];

/// Every provider setting.
pub const VARIABLES: &[Variable] = &[
    var(Paypal, "WEBHOOK_ID", true, None, "the id of the webhook registered with PayPal (its notifications are signed over it)"),
    var(Paypal, "CLIENT_ID", false, None, "the REST app's client id (with the secret: orders, captures, refunds)"),
    var(Paypal, "CLIENT_SECRET", true, None, "the REST app's secret"),
    var(Paypal, "API_BASE", false, Some("https://api-m.paypal.com"), "the REST API (https://api-m.sandbox.paypal.com for the sandbox)"),
    var(Airwallex, "WEBHOOK_SECRET", true, None, "the webhook endpoint's secret"),
    var(Airwallex, "CLIENT_ID", false, None, "the API client id (with the key: payment intents, refunds, settlements)"),
    var(Airwallex, "API_KEY", true, None, "the API key"),
    var(Airwallex, "API_BASE", false, Some("https://api.airwallex.com"), "the API (https://api-demo.airwallex.com for the demo environment)"),
    var(Yoco, "WEBHOOK_SECRET", true, None, "the webhook's signing secret (`whsec_…`)"),
    var(Yoco, "SECRET_KEY", true, None, "the secret key (`sk_…`: checkouts, refunds)"),
    var(Yoco, "API_BASE", false, Some("https://payments.yoco.com"), "the checkout API"),
    var(Peach, "WEBHOOK_KEY", true, None, "the payments webhooks' decryption key (64 or 32 hex characters)"),
    var(Peach, "ENTITY_ID", false, None, "the Checkout entity id (with the token: checkouts, status, refunds)"),
    var(Peach, "SECRET_TOKEN", true, None, "the Checkout secret token (signs requests, verifies Checkout's signature field)"),
    var(Peach, "CHECKOUT_BASE", false, Some("https://secure.peachpayments.com"), "Checkout (https://testsecure.peachpayments.com for tests)"),
    var(Peach, "API_BASE", false, Some("https://api.peachpayments.com"), "the Checkout refund API (https://testapi.peachpayments.com for tests)"),
    var(Payfast, "PASSPHRASE", true, None, "the passphrase set on the Payfast account (signs ITNs and API calls)"),
    var(Payfast, "MERCHANT_ID", false, None, "the merchant id (with the key: hosted payments, refunds, transaction history)"),
    var(Payfast, "MERCHANT_KEY", true, None, "the merchant key"),
    var(Payfast, "PROCESS_BASE", false, Some("https://www.payfast.co.za"), "where payments are posted and ITNs validated (https://sandbox.payfast.co.za for the sandbox)"),
    var(Payfast, "API_BASE", false, Some("https://api.payfast.co.za"), "the merchant API"),
    var(Payfast, "SOURCE_HOSTS", false, Some("www.payfast.co.za,sandbox.payfast.co.za,w1w.payfast.co.za,w2w.payfast.co.za"), "the hosts an ITN may come from, comma-separated (resolved on each ITN)"),
    var(Ozow, "PRIVATE_KEY", true, None, "the site's private key (hashes requests and notifications)"),
    var(Ozow, "SITE_CODE", false, None, "the site code (with the API key: payment requests, status, refunds)"),
    var(Ozow, "API_KEY", true, None, "the API key"),
    var(Ozow, "API_BASE", false, Some("https://api.ozow.com"), "the API"),
    var(Paystack, "SECRET_KEY", true, None, "the secret key (`sk_…`: the API, and the key notifications are signed with)"),
    var(Paystack, "API_BASE", false, Some("https://api.paystack.co"), "the API"),
    var(Paystack, "CUSTOMER_EMAIL_DOMAIN", false, Some("payments.invalid"), "the domain of the per-payment customer address Paystack requires (payers' own addresses are not given to providers)"),
];

/// The environment variable of `variable`: `VENDROME_<PROVIDER>_<NAME>`.
#[must_use]
pub fn env_name(variable: &Variable) -> String {
    format!(
        "VENDROME_{}_{}",
        variable.provider.as_str().to_ascii_uppercase(),
        variable.name
    )
}

/// One provider's settings, as read.
#[derive(Clone)]
pub struct ProviderSettings {
    provider: ProviderId,
    values: HashMap<&'static str, String>,
}

impl ProviderSettings {
    /// Which provider these are for.
    #[must_use]
    pub fn provider(&self) -> ProviderId {
        self.provider
    }

    /// The setting `name`: its value, else its default; `None` when neither.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).or_else(|| {
            VARIABLES
                .iter()
                .find(|v| v.provider == self.provider && v.name == name)
                .and_then(|v| v.default)
        })
    }

    /// The notification secret, which every configured provider has.
    #[must_use]
    pub fn notification_secret(&self) -> &str {
        let name = NOTIFICATION_SECRETS
            .iter()
            .find(|(p, _)| *p == self.provider)
            .map_or("", |(_, name)| *name);
        self.get(name).unwrap_or_default()
    }

    /// Both settings, when both are set (an API's pair of credentials).
    #[must_use]
    pub fn pair(&self, first: &str, second: &str) -> Option<(String, String)> {
        Some((self.get(first)?.to_owned(), self.get(second)?.to_owned()))
    }

    /// The settings of `provider` from `values` (the name after the prefix → value), for tests
    /// and embedding programs.
    #[must_use]
    pub fn new(provider: ProviderId, values: &[(&str, &str)]) -> Self {
        let values = VARIABLES
            .iter()
            .filter(|v| v.provider == provider)
            .filter_map(|v| {
                let (_, value) = values.iter().find(|(name, _)| *name == v.name)?;
                Some((v.name, (*value).to_owned()))
            })
            .collect();
        Self { provider, values }
    }
}

/// Shows the settings that are set, secrets as `<redacted>`.
impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        map.entry(&"provider", &self.provider.as_str());
        for variable in VARIABLES.iter().filter(|v| v.provider == self.provider) {
            if let Some(value) = self.values.get(variable.name) {
                let shown = if variable.secret { "<redacted>" } else { value };
                map.entry(&variable.name, &shown);
            }
        }
        map.finish()
    }
}

/// The configured providers' settings, in [`NOTIFICATION_SECRETS`]' order, from `lookup` (an
/// environment variable's value by name; empty values count as unset).
pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Vec<ProviderSettings> {
    NOTIFICATION_SECRETS
        .iter()
        .filter_map(|(provider, secret)| {
            let values: HashMap<&'static str, String> = VARIABLES
                .iter()
                .filter(|v| v.provider == *provider)
                .filter_map(|v| Some((v.name, lookup(&env_name(v)).filter(|s| !s.is_empty())?)))
                .collect();
            values.contains_key(secret).then_some(ProviderSettings {
                provider: *provider,
                values,
            })
        })
        .collect()
}

/// The configured providers' settings in the process environment.
#[must_use]
pub fn from_env() -> Vec<ProviderSettings> {
    from_lookup(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_on_with_its_notification_secret_only() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("VENDROME_PAYSTACK_SECRET_KEY", "sk_test_1"),
            ("VENDROME_YOCO_SECRET_KEY", "sk_test_2"),
            ("VENDROME_OZOW_PRIVATE_KEY", ""),
            ("VENDROME_PEACH_WEBHOOK_KEY", "00ff"),
            ("VENDROME_PEACH_API_BASE", "http://127.0.0.1:1"),
        ]);
        let settings = from_lookup(|name| env.get(name).map(|v| (*v).to_owned()));
        let on: Vec<_> = settings.iter().map(ProviderSettings::provider).collect();
        assert_eq!(
            on,
            [Peach, Paystack],
            "Yoco has no webhook secret, Ozow's is empty"
        );
        assert_eq!(settings[0].notification_secret(), "00ff");
        assert_eq!(settings[0].get("API_BASE"), Some("http://127.0.0.1:1"));
        assert_eq!(
            settings[0].get("CHECKOUT_BASE"),
            Some("https://secure.peachpayments.com"),
            "the default"
        );
        assert_eq!(settings[0].get("ENTITY_ID"), None);
        let shown = format!("{:?}", settings[1]);
        assert!(
            !shown.contains("sk_test_1") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn every_provider_has_its_secret_in_the_table() {
        for (provider, name) in NOTIFICATION_SECRETS {
            let variable = VARIABLES
                .iter()
                .find(|v| v.provider == provider && v.name == name)
                .expect("listed");
            assert!(variable.secret && variable.default.is_none());
        }
        assert_eq!(env_name(&VARIABLES[0]), "VENDROME_PAYPAL_WEBHOOK_ID");
    }

    /// `.env.example` lists every provider variable.
    #[test]
    fn the_example_environment_lists_every_variable() {
        let example = include_str!("../../../.env.example");
        for variable in VARIABLES {
            let name = env_name(variable);
            assert!(
                example.contains(&format!("# {name}=")),
                "{name} is not in .env.example"
            );
        }
    }
}
