//! Server configuration: one struct, filled by the CLI from options and `VENDROME_*` variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `vendrome serve` needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// `postgres://…` or `sqlite:…`; `None` means a SQLite file in [`Config::data_dir`].
    pub database_url: Option<String>,
    /// Where the embedded defaults keep their files (SQLite database, signing key).
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Origins allowed to call the API from a browser (`https://app.example.com`); `*` allows
    /// any origin (without credentials). Empty: no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Signing keys (`kid:secret,…`). Without them the embedded default makes one in the data
    /// dir; a PostgreSQL deployment refuses to start.
    pub signing_keys: Option<String>,
    /// Calendar credential keys (`kid:secret,…`, 32-byte AES-256 keys; first seals, all open).
    /// Without them the embedded default makes one in the data dir; on PostgreSQL no external
    /// calendar can be connected.
    pub calendar_keys: Option<String>,
    /// How long a request may take before it is answered 503 `request_timeout`.
    pub request_timeout: Duration,
    /// The largest request body accepted.
    pub body_limit: usize,
    /// Apply pending migrations at start-up.
    pub migrate: bool,
    /// OAuth providers and the public URL their redirect URIs are built from (see
    /// [`crate::oauth::OAuthSettings`]); none by default.
    pub oauth: crate::oauth::OAuthSettings,
    /// Valkey/Redis (`redis://…`) for state several instances share (rate-limit counters,
    /// presence, typing);
    /// `None` keeps it in this process.
    pub valkey_url: Option<String>,
    /// NATS (`nats://…`) for realtime frames between instances; `None` delivers them in this
    /// process.
    pub nats_url: Option<String>,
    /// The realtime gateway's pacing and bounds.
    pub realtime: crate::realtime::RealtimeConfig,
    /// Which engine answers `GET /v1/search`.
    pub search: SearchBackend,
    /// How many members' home feeds the in-memory cache keeps; 0 turns the cache off (every
    /// read goes to the database).
    pub feed_cache_members: usize,
    /// Sponsored items in home feeds (marketing campaigns' delivery); on by default.
    pub sponsored_delivery: bool,
    /// Refuse every write with 503 `read_only` whatever the `read_only` flag says
    /// (see [`crate::read_only`]).
    pub read_only: bool,
    /// Which requests get a log line, and what counts as slow.
    pub access_log: crate::access_log::AccessLogPolicy,
    /// The load balancers and proxies whose `X-Forwarded-For`/`Forwarded` headers are believed
    /// (see [`crate::client_addr`]); none by default (the client is the TCP peer).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Every rate-limit rule (see [`crate::rate_limits`]).
    pub rate_limits: crate::rate_limits::RateLimits,
    /// Serve `/metrics` on this address only (not on [`Config::bind`]); `None` serves it with the
    /// API.
    pub metrics_bind: Option<SocketAddr>,
    /// Mail to members (verification and password-reset links): SMTP, or `.eml` files under
    /// `<data dir>/mail/` by default.
    pub mail: crate::mail::MailSettings,
    /// Orders and payments: the platform fee, order expiry, the sandbox provider.
    pub commerce: crate::commerce::CommerceSettings,
    /// The calendar sync queue: how often each connected calendar is synced, how many attempts
    /// a sync gets before it is a dead letter.
    pub calendar_sync: CalendarSyncSettings,
    /// The Google Calendar client (`VENDROME_CALENDAR_GOOGLE_*`); `None`: Google calendars
    /// cannot be connected.
    pub calendar_google: Option<vendrome_calendar::google::ProviderConfig>,
    /// The Microsoft Graph client (`VENDROME_CALENDAR_MICROSOFT_*`); `None`: Microsoft calendars
    /// cannot be connected.
    pub calendar_microsoft: Option<vendrome_calendar::ProviderConfig>,
}

/// `vendrome serve`'s calendar sync options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSyncSettings {
    /// Between two syncs of one connected calendar.
    pub period: Duration,
    /// Attempts of one sync (retried with exponential backoff) before it is a dead letter.
    pub max_attempts: u32,
}

impl Default for CalendarSyncSettings {
    fn default() -> Self {
        let runner = vendrome_calendar::RunnerConfig::default();
        Self {
            period: runner.period,
            max_attempts: runner.max_attempts,
        }
    }
}

/// Which engine answers search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchBackend {
    /// The embedded tantivy index under `<data dir>/search`, fed from the outbox (the default).
    #[default]
    Embedded,
    /// PostgreSQL full-text search and trigrams over the tables (no local index).
    Postgres,
}

impl std::str::FromStr for SearchBackend {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "embedded" => Ok(Self::Embedded),
            "postgres" => Ok(Self::Postgres),
            _ => Err(format!(
                "unknown search backend {raw:?}: use embedded or postgres"
            )),
        }
    }
}

impl Config {
    /// Where mailed links point: the configured base, else the first frontend origin OAuth may
    /// return to, else the public URL, else the listening address.
    pub fn mail_link_base(&self) -> String {
        self.mail
            .link_base
            .clone()
            .or_else(|| self.oauth.redirect_origins.first().cloned())
            .or_else(|| self.oauth.public_url.clone())
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }

    pub const DEFAULT_BIND: &'static str = "127.0.0.1:8080";
    pub const DEFAULT_DATA_DIR: &'static str = "./vendrome-data";

    /// The database URL in force: the configured one, or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| embedded_database_url(&self.data_dir))
    }

    pub fn is_embedded(&self) -> bool {
        !self.effective_database_url().starts_with("postgres")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from(Self::DEFAULT_DATA_DIR),
            bind: Self::DEFAULT_BIND
                .parse()
                .expect("the default address parses"),
            cors_origins: Vec::new(),
            signing_keys: None,
            calendar_keys: None,
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
            migrate: true,
            oauth: crate::oauth::OAuthSettings::default(),
            valkey_url: None,
            nats_url: None,
            realtime: crate::realtime::RealtimeConfig::default(),
            search: SearchBackend::default(),
            feed_cache_members: vendrome_core::posts::home_cache::HomeCacheConfig::default()
                .members,
            sponsored_delivery: true,
            read_only: false,
            access_log: crate::access_log::AccessLogPolicy::default(),
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            rate_limits: crate::rate_limits::RateLimits::default(),
            metrics_bind: None,
            mail: crate::mail::MailSettings::default(),
            commerce: crate::commerce::CommerceSettings::default(),
            calendar_sync: CalendarSyncSettings::default(),
            calendar_google: None,
            calendar_microsoft: None,
        }
    }
}

/// The SQLite database of the embedded default.
pub fn embedded_database_url(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}", data_dir.join("vendrome.db").display())
}
