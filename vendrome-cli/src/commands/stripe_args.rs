//! Stripe's options, shared by `serve` and `reconcile`.

/// Stripe's settings as options of `vendrome serve` and `vendrome reconcile` (each also read
/// from its environment variable; the values are never printed).
#[derive(clap::Args, Debug, Clone)]
pub struct StripeArgs {
    /// Stripe's secret API key (`sk_…`); Stripe takes payments when it is set.
    #[arg(long, env = "VENDROME_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// The signing secret of Stripe's webhook endpoint (`whsec_…`); required with the key.
    #[arg(long, env = "VENDROME_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// Where Stripe's API is (a fake such as localstripe in tests).
    #[arg(long, env = "VENDROME_STRIPE_API_BASE", default_value = vendrome_payments::stripe::DEFAULT_API_BASE)]
    pub stripe_api_base: String,
}

impl StripeArgs {
    /// Stripe's configuration, `None` when no secret key is set.
    pub fn config(&self) -> Option<vendrome_payments::StripeConfig> {
        let secret_key = self.stripe_secret_key.clone().filter(|k| !k.is_empty())?;
        Some(vendrome_payments::StripeConfig {
            secret_key,
            webhook_secret: self.stripe_webhook_secret.clone().unwrap_or_default(),
            api_base: self.stripe_api_base.clone(),
        })
    }
}
