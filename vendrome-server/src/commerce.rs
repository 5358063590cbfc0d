//! Checkout's composition: the order service's settings, the payment providers in routing order
//! (the sandbox last, when it is on), and how `vendrome serve` decides them from its
//! configuration.
//!
//! The sandbox is on by default on the embedded default and off on PostgreSQL unless asked for
//! (`--payments-sandbox`). Its webhook secret is configured, or generated into the data dir on
//! the embedded default (as the signing key is); a PostgreSQL deployment with the sandbox on
//! refuses to start without one.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rand::RngCore as _;
use vendrome_core::bookings::BookingConfig;
use vendrome_core::investments::{InvestmentConfig, InvestmentRules, InvestmentService};
use vendrome_core::money::Currency;
use vendrome_core::orders::{OrderConfig, OrderService, DEFAULT_EXPIRY, DEFAULT_PLATFORM_FEE_BPS};
use vendrome_core::payments::provider::PaymentProvider;
use vendrome_payments::providers::ProviderSettings;
use vendrome_payments::routing::RoutingPolicy;
use vendrome_payments::{Payments, Ports, Sandbox, SandboxConfig, Stripe, StripeConfig};
use vendrome_store::Store;

use crate::config::Config;

/// The file the embedded default keeps its generated sandbox webhook secret in.
pub const SANDBOX_SECRET_FILE: &str = "sandbox-webhook-secret";

/// Orders' and payments' settings (`vendrome serve` options).
#[derive(Debug, Clone)]
pub struct CommerceSettings {
    /// The platform's fee in basis points of an order's total (`--platform-fee-bps`).
    pub platform_fee_bps: u32,
    /// How long an order waits for payment (`--order-expiry`).
    pub order_expiry: Duration,
    /// Whether the sandbox provider is on; `None`: on for the embedded default only.
    pub sandbox: Option<bool>,
    /// The secret the sandbox signs its webhooks with; generated into the data dir on the
    /// embedded default when unset.
    pub sandbox_webhook_secret: Option<String>,
    /// Stripe, when configured (`VENDROME_STRIPE_*`).
    pub stripe: Option<StripeConfig>,
    /// The investment rules' JSON file (`--investment-rules`); the documented defaults when
    /// unset.
    pub investment_rules: Option<std::path::PathBuf>,
    /// Per-currency thresholds above which a backer must be identity-verified
    /// (`--kyc-threshold ZAR=2500000`), over the rules' own.
    pub kyc_thresholds: Vec<(Currency, i64)>,
    /// The other providers that are configured (`VENDROME_<PROVIDER>_*`, each on with its
    /// notification secret), in configuration order.
    pub providers: Vec<ProviderSettings>,
    /// The routing rules and health thresholds (`--payment-routing FILE`); the default: every
    /// configured provider in configuration order.
    pub routing: RoutingPolicy,
}

impl Default for CommerceSettings {
    fn default() -> Self {
        Self {
            platform_fee_bps: DEFAULT_PLATFORM_FEE_BPS,
            order_expiry: DEFAULT_EXPIRY,
            sandbox: None,
            sandbox_webhook_secret: None,
            stripe: None,
            investment_rules: None,
            kyc_thresholds: Vec::new(),
            providers: Vec::new(),
            routing: RoutingPolicy::default(),
        }
    }
}

impl CommerceSettings {
    pub fn order_config(&self) -> OrderConfig {
        OrderConfig {
            fee_bps: self.platform_fee_bps,
            expiry: self.order_expiry,
        }
    }

    pub fn sandbox_enabled(&self, embedded: bool) -> bool {
        self.sandbox.unwrap_or(embedded)
    }
}

/// What the application state builds orders and payments from.
pub struct CommerceOptions {
    pub orders: OrderConfig,
    /// The sandbox provider's settings; `None` when it is off.
    pub sandbox: Option<SandboxConfig>,
    /// The other providers' adapters, in configuration order (ahead of the sandbox).
    pub providers: Vec<Arc<dyn PaymentProvider>>,
    /// The verification gates and cross-border corridors of investments.
    pub investment_rules: InvestmentRules,
    /// The routing rules and health thresholds.
    pub routing: RoutingPolicy,
}

impl Default for CommerceOptions {
    /// The default settings, with the sandbox on at the default address and a fresh secret.
    fn default() -> Self {
        Self {
            orders: OrderConfig::default(),
            sandbox: Some(SandboxConfig {
                public_base_url: format!("http://{}", Config::DEFAULT_BIND),
                webhook_secret: new_secret(),
            }),
            providers: Vec::new(),
            investment_rules: InvestmentRules::default(),
            routing: RoutingPolicy::default(),
        }
    }
}

/// The services of checkout, over one store.
pub struct Commerce {
    pub orders: OrderService,
    /// Paid bookings take the orders' fee and payment window.
    pub bookings: BookingConfig,
    pub payments: Payments,
    pub sandbox: Option<Arc<Sandbox>>,
    /// Campaigns and commitments; their fee is the orders'.
    pub investments: InvestmentService,
}

impl Commerce {
    pub fn new(store: &Arc<Store>, options: CommerceOptions) -> Self {
        let sandbox = options.sandbox.map(|c| Arc::new(Sandbox::new(c)));
        let mut providers = options.providers;
        if let Some(sandbox) = &sandbox {
            providers.push(sandbox.clone());
        }
        let ports = Ports {
            payments: store.clone(),
            orders: store.clone(),
            inbox: store.clone(),
            ledger: store.clone(),
            reconciliation: store.clone(),
        };
        Self {
            orders: OrderService::new(store.clone(), options.orders),
            bookings: BookingConfig {
                fee_bps: options.orders.fee_bps,
                payment_window: options.orders.expiry,
            },
            payments: Payments::new(ports, providers)
                .with_bookings(store.clone())
                .with_marketing(store.clone())
                .with_investments(store.clone())
                .with_routing(options.routing),
            sandbox,
            investments: InvestmentService::new(store.clone(), options.investment_rules)
                .with_config(InvestmentConfig {
                    fee_bps: options.orders.fee_bps,
                }),
        }
    }
}

/// A random secret: 32 bytes, hex.
pub fn new_secret() -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    hex::encode(secret)
}

/// The options `vendrome serve` runs with, from its configuration.
///
/// # Errors
///
/// The sandbox is on outside the embedded default without a webhook secret, or the generated
/// secret cannot be read or written.
pub fn options(config: &Config) -> anyhow::Result<CommerceOptions> {
    let settings = &config.commerce;
    let sandbox = if settings.sandbox_enabled(config.is_embedded()) {
        let webhook_secret = match &settings.sandbox_webhook_secret {
            Some(secret) => secret.clone(),
            None if config.is_embedded() => load_or_create_secret(&config.data_dir)?,
            None => anyhow::bail!(
                "the payments sandbox is on without a webhook secret: set VENDROME_PAYMENTS_SANDBOX_WEBHOOK_SECRET"
            ),
        };
        Some(SandboxConfig {
            public_base_url: public_base_url(config),
            webhook_secret,
        })
    } else {
        None
    };
    Ok(CommerceOptions {
        orders: settings.order_config(),
        sandbox,
        providers: providers(config)?,
        investment_rules: investment_rules(settings)?,
        routing: settings.routing.clone(),
    })
}

/// The investment rules: the file's (or the defaults), with `--kyc-threshold` over them.
///
/// # Errors
///
/// The file cannot be read, or is not rules (the message says what is wrong).
pub fn investment_rules(settings: &CommerceSettings) -> anyhow::Result<InvestmentRules> {
    let mut rules = match &settings.investment_rules {
        Some(path) => {
            let raw = std::fs::read_to_string(path).with_context(|| {
                format!("could not read the investment rules {}", path.display())
            })?;
            InvestmentRules::from_json(&raw).map_err(|e| {
                anyhow::anyhow!("the investment rules {} are not valid: {e}", path.display())
            })?
        }
        None => InvestmentRules::default(),
    };
    for (currency, amount) in &settings.kyc_thresholds {
        rules = rules.with_kyc_threshold(*currency, *amount);
    }
    Ok(rules)
}

/// The Stripe adapter for `config`, `None` when Stripe is not configured.
///
/// # Errors
///
/// A secret key without a webhook secret (its webhooks could never be verified), or an adapter
/// that cannot be built.
pub fn stripe_provider(
    config: &Option<StripeConfig>,
) -> anyhow::Result<Option<Arc<dyn PaymentProvider>>> {
    let Some(config) = config else {
        return Ok(None);
    };
    anyhow::ensure!(
        !config.webhook_secret.is_empty(),
        "VENDROME_STRIPE_SECRET_KEY is set without VENDROME_STRIPE_WEBHOOK_SECRET: Stripe's webhooks could not be verified"
    );
    let stripe = Stripe::new(config).map_err(|e| anyhow::anyhow!("stripe: {e}"))?;
    Ok(Some(Arc::new(stripe)))
}

/// The adapters of the providers `settings` configure, in their order.
///
/// # Errors
///
/// A setting an adapter cannot use, named.
pub fn configured_providers(
    settings: &[ProviderSettings],
) -> anyhow::Result<Vec<Arc<dyn PaymentProvider>>> {
    settings
        .iter()
        .map(|s| {
            vendrome_payments::providers::build(s)
                .map_err(|e| anyhow::anyhow!("{}: {e}", s.provider()))
        })
        .collect()
}

/// The configured providers' adapters in routing order: Stripe when `VENDROME_STRIPE_*` is set,
/// then the others configured by `VENDROME_<PROVIDER>_*`. The sandbox, when on, is added after
/// them by [`Commerce::new`].
fn providers(config: &Config) -> anyhow::Result<Vec<Arc<dyn PaymentProvider>>> {
    let mut providers: Vec<_> = stripe_provider(&config.commerce.stripe)?
        .into_iter()
        .collect();
    providers.extend(configured_providers(&config.commerce.providers)?);
    Ok(providers)
}

/// Where browsers reach the server: the public URL when set, else the listening address.
fn public_base_url(config: &Config) -> String {
    config
        .oauth
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind))
        .trim_end_matches('/')
        .to_owned()
}

fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(SANDBOX_SECRET_FILE);
    if path.exists() {
        let secret = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return Ok(secret.trim().to_owned());
    }
    let secret = new_secret();
    crate::auth::write_private(&path, &secret)
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "payments sandbox on: generated its webhook secret in the data dir"
    );
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(database_url: Option<&str>, commerce: CommerceSettings) -> Config {
        Config {
            database_url: database_url.map(str::to_owned),
            data_dir: std::env::temp_dir().join(format!("vendrome-commerce-{}", new_secret())),
            commerce,
            ..Config::default()
        }
    }

    #[test]
    fn the_sandbox_is_on_by_default_only_on_the_embedded_default() {
        let embedded = config(None, CommerceSettings::default());
        std::fs::create_dir_all(&embedded.data_dir).unwrap();
        let options = options(&embedded).unwrap();
        let generated = options.sandbox.expect("on for the embedded default");
        assert_eq!(
            std::fs::read_to_string(embedded.data_dir.join(SANDBOX_SECRET_FILE)).unwrap(),
            generated.webhook_secret,
            "the secret is kept in the data dir"
        );
        assert_eq!(
            super::options(&embedded)
                .unwrap()
                .sandbox
                .unwrap()
                .webhook_secret,
            generated.webhook_secret,
            "and read again on the next start"
        );
        std::fs::remove_dir_all(&embedded.data_dir).unwrap();

        let postgres = config(
            Some("postgres://x@127.0.0.1/x"),
            CommerceSettings::default(),
        );
        assert!(super::options(&postgres).unwrap().sandbox.is_none());

        let asked = CommerceSettings {
            sandbox: Some(true),
            ..CommerceSettings::default()
        };
        let without_secret = config(Some("postgres://x@127.0.0.1/x"), asked.clone());
        assert!(super::options(&without_secret).is_err());
        let with_secret = config(
            Some("postgres://x@127.0.0.1/x"),
            CommerceSettings {
                sandbox_webhook_secret: Some("s3cret".into()),
                ..asked
            },
        );
        let sandbox = super::options(&with_secret).unwrap().sandbox.unwrap();
        assert_eq!(sandbox.webhook_secret, "s3cret");
        assert_eq!(sandbox.public_base_url, "http://127.0.0.1:8080");
    }
}
