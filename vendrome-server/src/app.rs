//! The composition root: builds the services from configuration, wires the router and its
//! layers, runs the server and its background tasks until a shutdown signal.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use vendrome_calendar::CalendarKeys;

use vendrome_core::posts::home_cache::HomeCacheConfig;
use vendrome_core::rate_limit::RateLimiter;
use vendrome_core::realtime::{Fanout, PresenceRepo};
use vendrome_store::bus::{LocalFanout, NatsFanout};
use vendrome_store::ephemeral::{
    MemoryPresence, MemoryRateLimiter, ValkeyPresence, ValkeyRateLimiter,
};
use vendrome_store::Store;

use crate::auth::KeyRing;
use crate::config::Config;
use crate::error::ApiError;
use crate::realtime::{Hub, Realtime};
use crate::state::{AppState, StateOptions};
use crate::{metrics, middleware, request_id, routes, tasks};

/// The HTTP application: every route with every layer.
pub fn router(state: AppState, config: &Config) -> Router {
    let (api, _) = routes::api().split_for_parts();
    let router = api
        .route_layer(from_fn_with_state(
            crate::idempotency::Keys::new(state.clone(), config.request_timeout),
            crate::idempotency::layer,
        ))
        .route_layer(from_fn_with_state(state.clone(), crate::read_only::layer))
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::flag_metrics::layer,
        ))
        .route_layer(from_fn_with_state(
            middleware::Wake {
                tasks: std::sync::Arc::new([state.relay_wake.clone(), state.search_wake.clone()]),
                home_cache: state.home_cache.clone(),
            },
            middleware::wake_relay,
        ))
        .route("/v1/openapi.json", get(routes::docs::openapi_json))
        .route("/docs", get(routes::docs::page));
    // On its own address when one is configured, so that it need not be public.
    let router = if config.metrics_bind.is_none() {
        router.route("/metrics", get(metrics::render))
    } else {
        router
    };
    let router = router
        .merge(routes::chat::routes())
        .fallback(|| async { ApiError::for_status(axum::http::StatusCode::NOT_FOUND) })
        .with_state(state);
    with_layers(router, config)
}

/// `/metrics` alone, for [`Config::metrics_bind`].
pub fn metrics_router() -> Router {
    metrics::handle();
    Router::new()
        .route("/metrics", get(metrics::render))
        .fallback(|| async { ApiError::for_status(axum::http::StatusCode::NOT_FOUND) })
}

/// The layers every route gets, outermost last: request id and logging, metrics, the error
/// envelope guarantee, panic recovery, the client address, CORS, the deadline and the body
/// limit.
pub fn with_layers(router: Router, config: &Config) -> Router {
    metrics::handle();
    router
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(from_fn_with_state(
            config.request_timeout,
            middleware::deadline,
        ))
        .layer(cors(&config.cors_origins))
        .layer(from_fn_with_state(
            Arc::new(config.trusted_proxies.clone()),
            crate::client_addr::layer,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            axum::response::IntoResponse::into_response(ApiError::internal())
        }))
        .layer(from_fn(middleware::envelope_errors))
        .layer(from_fn(metrics::track))
        .layer(from_fn_with_state(
            config.access_log,
            request_id::middleware,
        ))
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            request_id::HEADER.clone(),
        ])
        .expose_headers([
            request_id::HEADER.clone(),
            header::RETRY_AFTER,
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return layer.allow_origin(AllowOrigin::any());
    }
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    layer.allow_origin(allowed).allow_credentials(true)
}

/// The calendar credential keys: configured, or (embedded default) a file in the data dir made
/// on first start; `None` on PostgreSQL without them (no calendar can be connected: instances
/// must share one key set, so none is made up).
pub fn calendar_keys(config: &Config) -> anyhow::Result<Option<Arc<CalendarKeys>>> {
    let spec = match &config.calendar_keys {
        Some(spec) => spec.clone(),
        None if config.is_embedded() => {
            let path = config.data_dir.join("calendar-keys");
            if path.exists() {
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?
            } else {
                let spec = CalendarKeys::generate_spec();
                crate::auth::write_private(&path, &spec)
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::warn!(
                    path = %path.display(),
                    "no calendar key configured: generated one in the data dir (set VENDROME_CALENDAR_KEYS in production)"
                );
                spec
            }
        }
        None => {
            tracing::warn!(
                "no calendar key configured (VENDROME_CALENDAR_KEYS): external calendars cannot be connected"
            );
            return Ok(None);
        }
    };
    let keys = CalendarKeys::parse(&spec).context("VENDROME_CALENDAR_KEYS is not valid")?;
    Ok(Some(Arc::new(keys)))
}

/// A built application, ready to serve.
pub struct App {
    pub config: Config,
    pub state: AppState,
}

impl App {
    /// Opens the store (creating the data dir and SQLite file on the embedded default),
    /// applies migrations, loads or makes the signing keys.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "could not create the data dir {}",
                config.data_dir.display()
            )
        })?;
        // Keys first: a misconfiguration fails before anything touches the database.
        let keys = match &config.signing_keys {
            Some(spec) => KeyRing::parse(spec).context("VENDROME_SIGNING_KEYS is not valid")?,
            None if config.is_embedded() => {
                let (keys, created) = KeyRing::load_or_create(&config.data_dir)?;
                if created {
                    tracing::warn!(
                        path = %config.data_dir.join("signing-keys").display(),
                        "no signing key configured: generated one in the data dir (set VENDROME_SIGNING_KEYS in production)"
                    );
                }
                keys
            }
            None => anyhow::bail!(
                "no signing key configured: set VENDROME_SIGNING_KEYS (generate one with `vendrome keys generate`)"
            ),
        };
        let calendar_keys = calendar_keys(&config)?;
        let url = config.effective_database_url();
        let store = Store::open(&url).await?;
        if config.migrate {
            let applied = store.migrate().await?;
            if applied > 0 {
                tracing::info!(applied, "applied migrations");
            }
        }
        // Rate-limit counters: in this process, or shared by every instance through Valkey.
        let limiter: Arc<dyn RateLimiter> = match &config.valkey_url {
            Some(url) => Arc::new(ValkeyRateLimiter::connect(url).await.with_context(|| {
                format!(
                    "could not reach Valkey at {}",
                    vendrome_store::db::redact(url)
                )
            })?),
            None => Arc::new(MemoryRateLimiter::new()),
        };
        let mailer: Arc<dyn vendrome_core::mail::Mailer> = match &config.mail.smtp_url {
            Some(url) => Arc::new(crate::mail::SmtpMailer::new(
                url,
                config.mail.from.as_deref(),
            )?),
            None => Arc::new(crate::mail::FileMailer::new(
                config.data_dir.join("mail"),
                config.mail.from.as_deref(),
            )?),
        };
        let session_guard = Arc::new(crate::session_guard::SessionGuard::new());
        if let Some(url) = &config.nats_url {
            let guard = session_guard.clone();
            let notices = vendrome_store::bus::NatsRevocations::connect(
                url,
                "vendrome.sessions",
                Arc::new(move |user| guard.forget_user(user)),
            )
            .await
            .with_context(|| {
                format!(
                    "could not reach NATS at {}",
                    vendrome_store::db::redact(url)
                )
            })?;
            session_guard.announce_through(Arc::new(notices));
        }
        let options = StateOptions {
            oauth: config.oauth.clone(),
            mailer,
            session_guard,
            mail_link_base: config.mail_link_base(),
            limiter,
            policy: vendrome_core::auth::AuthPolicy {
                limits: config.rate_limits.login,
                ..vendrome_core::auth::AuthPolicy::default()
            },
            search_limit: config.rate_limits.search_ip,
            realtime: Some(realtime(&config).await?),
            search: search(&config, &store)?,
            home_cache: HomeCacheConfig {
                members: config.feed_cache_members,
                ..HomeCacheConfig::default()
            },
            read_only: config.read_only,
            commerce: crate::commerce::options(&config)?,
            sponsored_delivery: config
                .sponsored_delivery
                .then(vendrome_core::marketing::DeliveryConfig::default),
            calendar_keys,
            calendar_google: config.calendar_google.clone(),
            calendar_microsoft: config.calendar_microsoft.clone(),
            calendar_sync: vendrome_calendar::RunnerConfig {
                period: config.calendar_sync.period,
                max_attempts: config.calendar_sync.max_attempts,
                ..vendrome_calendar::RunnerConfig::default()
            },
            ..StateOptions::default()
        };
        Ok(Self {
            state: AppState::with_options(store, keys, options),
            config,
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then finishes in-flight requests and stops
    /// the background tasks.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let background = tasks::spawn(&self.state, stopped);
        let router = router(self.state.clone(), &self.config);
        tracing::info!(address = %listener.local_addr()?, database = self.state.store.dialect().name(), "serving");
        let metrics_server = match self.config.metrics_bind {
            Some(address) => {
                let listener = TcpListener::bind(address)
                    .await
                    .with_context(|| format!("could not listen on {address} for metrics"))?;
                tracing::info!(address = %address, "serving metrics");
                let mut stopped = stop.subscribe();
                Some(tokio::spawn(async move {
                    let _ = axum::serve(listener, metrics_router())
                        .with_graceful_shutdown(async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        })
                        .await;
                }))
            }
            None => None,
        };
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        // Upgraded sockets are no longer hyper's: close them with 1001 before the tasks stop.
        self.state.realtime.close_all().await;
        let _ = stop.send(true);
        for task in background.into_iter().chain(metrics_server) {
            let _ = task.await;
        }
        self.state.store.db().close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The search engine the configuration asks for: the embedded index under the data directory,
/// or PostgreSQL full-text search.
fn search(config: &Config, store: &Store) -> anyhow::Result<crate::state::SearchOptions> {
    Ok(match config.search {
        crate::config::SearchBackend::Embedded => {
            crate::state::SearchOptions::Embedded(vendrome_search::Location::Disk(
                vendrome_search::IndexDir::new(config.data_dir.join("search")),
            ))
        }
        crate::config::SearchBackend::Postgres => crate::state::SearchOptions::Engine(Arc::new(
            vendrome_store::PgSearch::new(store.clone())?,
        )),
    })
}

/// The realtime gateway the configuration asks for: frames over NATS and presence in Valkey
/// when their URLs are set, else in this process.
async fn realtime(config: &Config) -> anyhow::Result<Realtime> {
    let hub = Arc::new(Hub::new());
    let fanout: Arc<dyn Fanout> = match &config.nats_url {
        Some(url) => Arc::new(
            NatsFanout::connect(url, "vendrome.rt", hub.clone())
                .await
                .with_context(|| {
                    format!(
                        "could not reach NATS at {}",
                        vendrome_store::db::redact(url)
                    )
                })?,
        ),
        None => Arc::new(LocalFanout::new(hub.clone())),
    };
    let presence: Arc<dyn PresenceRepo> = match &config.valkey_url {
        Some(url) => Arc::new(ValkeyPresence::connect(url).await.with_context(|| {
            format!(
                "could not reach Valkey at {}",
                vendrome_store::db::redact(url)
            )
        })?),
        None => Arc::new(MemoryPresence::new()),
    };
    Ok(Realtime::new(
        hub,
        fanout,
        presence,
        config.realtime.clone(),
    ))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}
