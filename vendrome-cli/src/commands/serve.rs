//! `vendrome serve`

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use vendrome_server::{App, Config};

use crate::Common;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "VENDROME_BIND", default_value = Config::DEFAULT_BIND)]
    bind: SocketAddr,
    /// Origins allowed to call the API from a browser, comma-separated (`*` for any).
    #[arg(long, env = "VENDROME_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Access-token signing keys, `kid:base64url-secret[,…]` (first signs, all verify).
    #[arg(long, env = "VENDROME_SIGNING_KEYS", hide_env_values = true)]
    signing_keys: Option<String>,
    /// Calendar credential keys, `kid:base64url-secret[,…]` (first seals, all open); make one
    /// with `vendrome calendar keys generate`.
    #[arg(long, env = "VENDROME_CALENDAR_KEYS", hide_env_values = true)]
    calendar_keys: Option<String>,
    /// Seconds a request may take before it is answered 503. An Idempotency-Key whose request
    /// never finished (its process died) may be taken over after twice this.
    #[arg(long, env = "VENDROME_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// The largest request body accepted, in bytes.
    #[arg(long, env = "VENDROME_BODY_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    body_limit_bytes: usize,
    /// The API's address as browsers and OAuth providers reach it; redirect URIs are
    /// `{public}/v1/auth/oauth/{provider}/callback`. Required once a provider is configured
    /// (`VENDROME_OAUTH_{GOOGLE,FACEBOOK,LINKEDIN}_*`, see `vendrome_server::oauth`).
    #[arg(long, env = "VENDROME_PUBLIC_URL")]
    public_url: Option<String>,
    /// Valkey/Redis (`redis://host:6379`) for rate-limit counters, presence and typing shared by
    /// several instances;
    /// unset keeps them in this process.
    #[arg(long, env = "VENDROME_VALKEY_URL")]
    valkey_url: Option<String>,
    /// NATS (`nats://host:4222`) that carries realtime frames between instances; unset
    /// delivers them inside this process (one instance).
    #[arg(long, env = "VENDROME_NATS_URL")]
    nats_url: Option<String>,
    /// Which engine answers search: `embedded` (a tantivy index under the data directory, fed
    /// from the outbox) or `postgres` (full-text search over the tables; PostgreSQL only).
    #[arg(long, env = "VENDROME_SEARCH", default_value = "embedded")]
    search: vendrome_server::config::SearchBackend,
    /// How many members' home feeds the in-memory cache keeps (with the posts they show);
    /// 0 turns the cache off.
    #[arg(long, env = "VENDROME_FEED_CACHE_MEMBERS", default_value_t = 20_000)]
    feed_cache_members: usize,
    /// Whether home feeds carry sponsored items of running marketing campaigns (at most one
    /// per page, to members who opted in).
    #[arg(long, env = "VENDROME_SPONSORED_DELIVERY", default_value_t = true, action = clap::ArgAction::Set)]
    sponsored_delivery: bool,
    /// Which requests get a log line: `all`, `errors` (answered 4xx or 5xx) or `off`. Server
    /// errors and requests slower than `--slow-request-ms` are logged whatever the setting.
    #[arg(long, env = "VENDROME_ACCESS_LOG", default_value = "errors")]
    access_log: vendrome_server::access_log::AccessLog,
    /// Requests that take at least this many milliseconds are logged (WARN `slow request`).
    #[arg(long, env = "VENDROME_SLOW_REQUEST_MS", default_value_t = 1000)]
    slow_request_ms: u64,
    /// The load balancers and proxies whose `X-Forwarded-For` / `Forwarded` headers are
    /// believed, comma-separated CIDRs or addresses (`10.0.0.0/8,fd00::/8`). A request from one
    /// of them is from the right-most forwarded address that is not; unset, the client is the
    /// TCP peer.
    #[arg(long, env = "VENDROME_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// A file of rate limits, one `rule = limit/window` a line (`login_ip = 60/1m`); single
    /// rules can also be set with `VENDROME_RATE_LIMIT_<RULE>=limit/window`, which win.
    #[arg(long, env = "VENDROME_RATE_LIMITS")]
    rate_limits: Option<std::path::PathBuf>,
    /// Serve `/metrics` on this address only, instead of with the API.
    #[arg(long, env = "VENDROME_METRICS_BIND")]
    metrics_bind: Option<SocketAddr>,
    /// SMTP server for mail to members (`smtp://user:pass@host:587?tls=required`,
    /// `smtps://…`); unset writes each message as an `.eml` file under `<data dir>/mail/`.
    #[arg(long, env = "VENDROME_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of mail to members (`Vendrome <no-reply@example.com>`).
    #[arg(long, env = "VENDROME_MAIL_FROM")]
    mail_from: Option<String>,
    /// The frontend's address mailed links point at (`{url}/verify-email?token=…`,
    /// `{url}/reset-password?token=…`); unset, the first OAuth redirect origin, else the
    /// public URL.
    #[arg(long, env = "VENDROME_APP_URL")]
    app_url: Option<String>,
    /// The platform's fee on product orders, in basis points of the total (500 = 5 %), rounded
    /// half-up to the minor unit and deducted from the seller's payout.
    #[arg(long, env = "VENDROME_PLATFORM_FEE_BPS", default_value_t = 500, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    platform_fee_bps: u32,
    /// How long an unpaid order keeps its stock before it expires: seconds, or a number with s,
    /// m, h or d.
    #[arg(long, env = "VENDROME_ORDER_EXPIRY", default_value = "30m", value_parser = vendrome_server::rate_limits::parse_duration)]
    order_expiry: Duration,
    /// Turn the sandbox payment provider on (`true`) or off (`false`): checkout with no provider
    /// account, paid on a page this server serves. Default: on for the embedded SQLite default,
    /// off on PostgreSQL.
    #[arg(long, env = "VENDROME_PAYMENTS_SANDBOX", num_args = 0..=1, default_missing_value = "true")]
    payments_sandbox: Option<bool>,
    /// The secret the sandbox signs its webhooks with. Unset on the embedded default: generated
    /// into `<data dir>/sandbox-webhook-secret`. Required on PostgreSQL with the sandbox on.
    #[arg(
        long,
        env = "VENDROME_PAYMENTS_SANDBOX_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    payments_sandbox_webhook_secret: Option<String>,
    /// The payment routing rules (TOML: eligible providers per currency, country and method,
    /// volume splits, health thresholds); every configured provider in configuration order
    /// when unset.
    #[arg(long, env = "VENDROME_PAYMENT_ROUTING")]
    payment_routing: Option<std::path::PathBuf>,
    #[command(flatten)]
    stripe: super::stripe_args::StripeArgs,
    /// A JSON file of investment rules: per-currency amounts above which a backer must be
    /// identity-verified, and the cross-border corridors commitments may take (with the amount
    /// above which they wait for an admin's review). Unset: identity verification above
    /// R25,000 / $1,500 / €1,500 / £1,250, and corridors only within the Common Monetary Area
    /// (ZA, NA, LS, SZ), reviewed above R10,000. Hooks for FICA and exchange-control rules,
    /// not legal advice.
    #[arg(long, env = "VENDROME_INVESTMENT_RULES")]
    investment_rules: Option<std::path::PathBuf>,
    /// A currency's amount (minor units) above which a commitment needs an identity-verified
    /// backer, over the rules file's: `ZAR=2500000`. Repeat for several currencies.
    #[arg(long, env = "VENDROME_KYC_THRESHOLD", value_delimiter = ',', value_parser = parse_kyc_threshold)]
    kyc_threshold: Vec<(vendrome_core::money::Currency, i64)>,
    /// How often each connected external calendar is synced (its sync queued once per period,
    /// whichever instance queues it): seconds, or a number with s, m, h or d.
    #[arg(long, env = "VENDROME_CALENDAR_SYNC_PERIOD", default_value = "15m", value_parser = vendrome_server::rate_limits::parse_duration)]
    calendar_sync_period: Duration,
    /// Attempts of one calendar sync (retried with exponential backoff and jitter) before it is
    /// a dead letter (`vendrome calendar sync-status`).
    #[arg(long, env = "VENDROME_CALENDAR_SYNC_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    calendar_sync_max_attempts: u32,
    /// The Google Calendar OAuth client's id: with its secret and `VENDROME_PUBLIC_URL`, members
    /// may connect Google calendars (redirect URI `{public}/v1/calendar/integrations/google/callback`).
    #[arg(long, env = "VENDROME_CALENDAR_GOOGLE_CLIENT_ID")]
    calendar_google_client_id: Option<String>,
    /// The Google Calendar OAuth client's secret.
    #[arg(
        long,
        env = "VENDROME_CALENDAR_GOOGLE_CLIENT_SECRET",
        hide_env_values = true
    )]
    calendar_google_client_secret: Option<String>,
    /// Google's authorization endpoint.
    #[arg(long, env = "VENDROME_CALENDAR_GOOGLE_AUTH_URL", default_value = vendrome_calendar::google::AUTH_URL)]
    calendar_google_auth_url: String,
    /// Google's token endpoint.
    #[arg(long, env = "VENDROME_CALENDAR_GOOGLE_TOKEN_URL", default_value = vendrome_calendar::google::TOKEN_URL)]
    calendar_google_token_url: String,
    /// Google's token revocation endpoint (a disconnected calendar's refresh token is revoked
    /// there); empty: not revoked.
    #[arg(long, env = "VENDROME_CALENDAR_GOOGLE_REVOKE_URL", default_value = vendrome_calendar::google::REVOKE_URL)]
    calendar_google_revoke_url: String,
    /// The Google Calendar API's base.
    #[arg(long, env = "VENDROME_CALENDAR_GOOGLE_API_URL", default_value = vendrome_calendar::google::API_URL)]
    calendar_google_api_url: String,
    /// Whether Google calendars get watch channels (push notifications to
    /// `{public}/v1/calendar/webhooks/google`, which Google requires to be https); off: periodic
    /// syncs only.
    #[arg(long, env = "VENDROME_CALENDAR_GOOGLE_PUSH", default_value_t = true, action = clap::ArgAction::Set)]
    calendar_google_push: bool,
    /// The Microsoft identity platform application's (client) id: with its secret and
    /// `VENDROME_PUBLIC_URL`, members may connect Outlook / Microsoft 365 calendars (redirect URI
    /// `{public}/v1/calendar/integrations/microsoft/callback`).
    #[arg(long, env = "VENDROME_CALENDAR_MICROSOFT_CLIENT_ID")]
    calendar_microsoft_client_id: Option<String>,
    /// The Microsoft application's client secret.
    #[arg(
        long,
        env = "VENDROME_CALENDAR_MICROSOFT_CLIENT_SECRET",
        hide_env_values = true
    )]
    calendar_microsoft_client_secret: Option<String>,
    /// Microsoft's authorization endpoint (`common` tenant by default).
    #[arg(long, env = "VENDROME_CALENDAR_MICROSOFT_AUTH_URL", default_value = vendrome_calendar::microsoft::AUTH_URL)]
    calendar_microsoft_auth_url: String,
    /// Microsoft's token endpoint.
    #[arg(long, env = "VENDROME_CALENDAR_MICROSOFT_TOKEN_URL", default_value = vendrome_calendar::microsoft::TOKEN_URL)]
    calendar_microsoft_token_url: String,
    /// Microsoft Graph's base.
    #[arg(long, env = "VENDROME_CALENDAR_MICROSOFT_API_URL", default_value = vendrome_calendar::microsoft::API_URL)]
    calendar_microsoft_api_url: String,
    /// Whether Microsoft calendars get Graph subscriptions (change notifications to
    /// `{public}/v1/calendar/webhooks/microsoft`, https); off: periodic syncs only.
    #[arg(long, env = "VENDROME_CALENDAR_MICROSOFT_PUSH", default_value_t = true, action = clap::ArgAction::Set)]
    calendar_microsoft_push: bool,
    /// Do not apply pending migrations at start-up.
    #[arg(long)]
    no_migrate: bool,
    /// Answer every write 503 `read_only` (reads keep working), whatever the `read_only` flag
    /// says: for rollbacks and maintenance.
    #[arg(long, env = "VENDROME_READ_ONLY")]
    read_only: bool,
}

pub async fn run(common: &Common, args: Args) -> anyhow::Result<()> {
    let calendar_google = google_calendar(&args)?;
    let calendar_microsoft = microsoft_calendar(&args)?;
    let config = Config {
        calendar_google,
        calendar_microsoft,
        database_url: common.database_url.clone(),
        data_dir: common.data_dir.clone(),
        bind: args.bind,
        cors_origins: args
            .cors_origins
            .into_iter()
            .filter(|o| !o.trim().is_empty())
            .collect(),
        signing_keys: args.signing_keys,
        calendar_keys: args.calendar_keys,
        calendar_sync: vendrome_server::config::CalendarSyncSettings {
            period: args.calendar_sync_period.max(Duration::from_secs(1)),
            max_attempts: args.calendar_sync_max_attempts,
        },
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        body_limit: args.body_limit_bytes,
        migrate: !args.no_migrate,
        valkey_url: args.valkey_url,
        nats_url: args.nats_url,
        realtime: vendrome_server::realtime::RealtimeConfig::default(),
        search: args.search,
        feed_cache_members: args.feed_cache_members,
        sponsored_delivery: args.sponsored_delivery,
        read_only: args.read_only,
        access_log: vendrome_server::access_log::AccessLogPolicy {
            mode: args.access_log,
            slow: Duration::from_millis(args.slow_request_ms),
        },
        mail: vendrome_server::mail::MailSettings {
            smtp_url: args.smtp_url.filter(|u| !u.trim().is_empty()),
            from: args.mail_from.filter(|f| !f.trim().is_empty()),
            link_base: args.app_url.filter(|u| !u.trim().is_empty()),
        },
        oauth: vendrome_server::oauth::OAuthSettings::from_env(args.public_url)
            .context("the OAuth configuration is not valid")?,
        trusted_proxies: vendrome_server::client_addr::TrustedProxies::parse(&args.trusted_proxies)
            .map_err(anyhow::Error::msg)
            .context("VENDROME_TRUSTED_PROXIES is not valid")?,
        rate_limits: vendrome_server::rate_limits::RateLimits::load(
            args.rate_limits.as_deref(),
            std::env::vars(),
        )
        .context("the rate limits are not valid")?,
        metrics_bind: args.metrics_bind,
        commerce: vendrome_server::commerce::CommerceSettings {
            platform_fee_bps: args.platform_fee_bps,
            order_expiry: args.order_expiry,
            sandbox: args.payments_sandbox,
            sandbox_webhook_secret: args
                .payments_sandbox_webhook_secret
                .filter(|s| !s.trim().is_empty()),
            stripe: args.stripe.config(),
            investment_rules: args.investment_rules,
            kyc_thresholds: args.kyc_threshold,
            providers: vendrome_payments::providers::settings::from_env(),
            routing: match &args.payment_routing {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    vendrome_payments::routing::RoutingPolicy::parse(&text).map_err(|e| {
                        anyhow::anyhow!(
                            "the payment routing file {} is not valid: {e}",
                            path.display()
                        )
                    })?
                }
                None => vendrome_payments::routing::RoutingPolicy::default(),
            },
        },
    };
    let app = App::build(config).await?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("could not listen on {}", args.bind))?;
    app.serve(listener, vendrome_server::app::shutdown_signal())
        .await
}

/// The Google Calendar client, when its id is set: its secret and the public URL are then
/// required.
fn google_calendar(
    args: &Args,
) -> anyhow::Result<Option<vendrome_calendar::google::ProviderConfig>> {
    let Some(client_id) = args
        .calendar_google_client_id
        .clone()
        .filter(|id| !id.trim().is_empty())
    else {
        return Ok(None);
    };
    let secret = args
        .calendar_google_client_secret
        .clone()
        .filter(|s| !s.trim().is_empty())
        .context("VENDROME_CALENDAR_GOOGLE_CLIENT_SECRET is required with its client id")?;
    let public = args
        .public_url
        .as_deref()
        .context("VENDROME_PUBLIC_URL is required for Google calendars (the redirect URI)")?
        .trim_end_matches('/');
    Ok(Some(vendrome_calendar::google::ProviderConfig {
        client_id,
        client_secret: vendrome_calendar::Secret::new(secret),
        auth_url: args.calendar_google_auth_url.clone(),
        token_url: args.calendar_google_token_url.clone(),
        api_url: args.calendar_google_api_url.clone(),
        redirect_url: format!("{public}/v1/calendar/integrations/google/callback"),
        webhook_url: args
            .calendar_google_push
            .then(|| format!("{public}/v1/calendar/webhooks/google")),
        channel_ttl: Duration::from_secs(7 * 24 * 3600),
        revoke_url: Some(args.calendar_google_revoke_url.clone()).filter(|u| !u.trim().is_empty()),
    }))
}

/// The Microsoft Graph client, when its id is set: its secret and the public URL are then
/// required.
fn microsoft_calendar(args: &Args) -> anyhow::Result<Option<vendrome_calendar::ProviderConfig>> {
    let Some(client_id) = args
        .calendar_microsoft_client_id
        .clone()
        .filter(|id| !id.trim().is_empty())
    else {
        return Ok(None);
    };
    let secret = args
        .calendar_microsoft_client_secret
        .clone()
        .filter(|s| !s.trim().is_empty())
        .context("VENDROME_CALENDAR_MICROSOFT_CLIENT_SECRET is required with its client id")?;
    let public = args
        .public_url
        .as_deref()
        .context("VENDROME_PUBLIC_URL is required for Microsoft calendars (the redirect URI)")?
        .trim_end_matches('/');
    Ok(Some(vendrome_calendar::ProviderConfig {
        client_id,
        client_secret: vendrome_calendar::Secret::new(secret),
        auth_url: args.calendar_microsoft_auth_url.clone(),
        token_url: args.calendar_microsoft_token_url.clone(),
        api_url: args.calendar_microsoft_api_url.clone(),
        redirect_url: format!("{public}/v1/calendar/integrations/microsoft/callback"),
        webhook_url: args
            .calendar_microsoft_push
            .then(|| format!("{public}/v1/calendar/webhooks/microsoft")),
        channel_ttl: vendrome_calendar::microsoft::MAX_SUBSCRIPTION,
        revoke_url: None,
    }))
}

/// `CUR=AMOUNT`: an ISO 4217 code and a non-negative amount in minor units.
fn parse_kyc_threshold(raw: &str) -> Result<(vendrome_core::money::Currency, i64), String> {
    let (currency, amount) = raw
        .split_once('=')
        .ok_or_else(|| format!("`{raw}` is not CUR=AMOUNT (ZAR=2500000)"))?;
    let currency = vendrome_core::money::Currency::parse(currency.trim())
        .map_err(|_| format!("`{currency}` is not an ISO 4217 code"))?;
    let amount: i64 = amount
        .trim()
        .parse()
        .ok()
        .filter(|a: &i64| *a >= 0)
        .ok_or_else(|| format!("`{amount}` is not an amount in minor units"))?;
    Ok((currency, amount))
}

#[cfg(test)]
mod tests {
    use clap::Args as _;

    /// `.env.example` documents every variable `serve` reads.
    #[test]
    fn env_example_lists_every_serve_variable() {
        let example = include_str!("../../../.env.example");
        let command = super::Args::augment_args(clap::Command::new("serve"));
        let mut seen = 0;
        for arg in command.get_arguments() {
            let Some(name) = arg.get_env() else {
                continue;
            };
            let name = name.to_str().unwrap();
            seen += 1;
            assert!(
                example.contains(&format!("# {name}=")) || example.contains(&format!("\n{name}=")),
                "{name} is not in .env.example"
            );
        }
        assert!(seen > 20, "only {seen} variables read");
        for name in [
            "VENDROME_CALENDAR_SYNC_PERIOD",
            "VENDROME_CALENDAR_SYNC_MAX_ATTEMPTS",
            "VENDROME_CALENDAR_GOOGLE_CLIENT_ID",
            "VENDROME_CALENDAR_GOOGLE_CLIENT_SECRET",
            "VENDROME_CALENDAR_GOOGLE_AUTH_URL",
            "VENDROME_CALENDAR_GOOGLE_TOKEN_URL",
            "VENDROME_CALENDAR_GOOGLE_API_URL",
            "VENDROME_CALENDAR_GOOGLE_REVOKE_URL",
            "VENDROME_CALENDAR_GOOGLE_PUSH",
            "VENDROME_CALENDAR_MICROSOFT_CLIENT_ID",
            "VENDROME_CALENDAR_MICROSOFT_CLIENT_SECRET",
            "VENDROME_CALENDAR_MICROSOFT_AUTH_URL",
            "VENDROME_CALENDAR_MICROSOFT_TOKEN_URL",
            "VENDROME_CALENDAR_MICROSOFT_API_URL",
            "VENDROME_CALENDAR_MICROSOFT_PUSH",
        ] {
            assert!(example.contains(name), "{name} is not in .env.example");
        }
    }
}
