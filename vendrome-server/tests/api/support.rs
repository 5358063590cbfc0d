//! `spawn_app`: the real application on a free port, on a fresh database, with a client.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::oneshot;

use vendrome_core::auth::AuthPolicy;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::UserId;
use vendrome_core::rate_limit::RateLimiter;
use vendrome_server::auth::KeyRing;
use vendrome_server::state::StateOptions;
use vendrome_server::{AppState, Config};
use vendrome_store::testing::{self, TestStore};

/// Runs a test body against an app on SQLite and, when reachable, on PostgreSQL.
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// The secret the test apps' sandbox signs its webhooks with.
pub const SANDBOX_SECRET: &str = "test-sandbox-webhook-secret";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: SocketAddr,
    pub client: Client,
    pub state: AppState,
    pub db: Arc<TestStore>,
    /// Every message the app mailed.
    pub mail: Arc<vendrome_server::mail::MemoryMailer>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    indexer: tokio::sync::Mutex<Option<vendrome_search::Indexer>>,
    background_stop: tokio::sync::watch::Sender<bool>,
}

/// Options for [`spawn_with`].
pub struct Setup {
    pub backend: Backend,
    pub config: Config,
    /// Extra routes (test-only endpoints), made from the app's state and given the standard
    /// layers too.
    pub extra: Option<Box<dyn FnOnce(AppState) -> Router<AppState> + Send>>,
    /// Session lifetimes and rate-limit budgets.
    pub policy: AuthPolicy,
    /// The rate limiter; in memory when `None`.
    pub limiter: Option<Arc<dyn RateLimiter>>,
    /// Run the background tasks too (the outbox relay, the realtime router, typing expiry).
    pub background: bool,
    /// Search with PostgreSQL full-text search instead of the embedded index (PostgreSQL only).
    pub fulltext: bool,
    /// The home-feed cache's sizes.
    pub home_cache: vendrome_core::posts::home_cache::HomeCacheConfig,
    /// Anonymous searches per client address.
    pub search_limit: vendrome_core::rate_limit::Rule,
    /// The signing keys (`kid:secret`); new ones when `None`.
    pub signing_keys: Option<String>,
    /// Another instance's database, to run a second instance on it.
    pub database: Option<Arc<TestStore>>,
    /// The cache of live sessions, when the test wires it (to revocation notices).
    pub session_guard: Option<Arc<vendrome_server::session_guard::SessionGuard>>,
    /// Payment providers ahead of the sandbox, in routing order (none by default).
    pub providers: Vec<Arc<dyn vendrome_core::payments::provider::PaymentProvider>>,
    /// The calendar credential keys (`kid:secret`); a new one when `None`.
    pub calendar_keys: Option<String>,
    /// The calendar sync queue's pace (`serve`'s by default).
    pub calendar_sync: vendrome_calendar::RunnerConfig,
}

impl Setup {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            config: Config::default(),
            extra: None,
            policy: AuthPolicy::default(),
            limiter: None,
            background: false,
            fulltext: false,
            home_cache: Default::default(),
            search_limit: vendrome_server::rate_limits::RateLimits::default().search_ip,
            signing_keys: None,
            database: None,
            session_guard: None,
            providers: Vec::new(),
            calendar_keys: None,
            calendar_sync: vendrome_calendar::RunnerConfig::default(),
        }
    }
}

/// The app on SQLite with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_with(Setup::new(Backend::Sqlite))
        .await
        .expect("SQLite is always available")
}

/// `None` when the backend is PostgreSQL and it is unreachable outside CI (already reported).
pub async fn spawn_with(setup: Setup) -> Option<TestApp> {
    let db = match (setup.database, setup.backend) {
        (Some(db), _) => db,
        (None, Backend::Sqlite) => Arc::new(testing::sqlite().await),
        (None, Backend::Postgres) => Arc::new(testing::postgres().await?),
    };
    let keys = KeyRing::parse(
        &setup
            .signing_keys
            .clone()
            .unwrap_or_else(KeyRing::generate_spec),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let defaults = StateOptions::default();
    let mail = Arc::new(vendrome_server::mail::MemoryMailer::default());
    let options = StateOptions {
        limiter: setup.limiter.unwrap_or(defaults.limiter),
        policy: setup.policy,
        secure_cookies: true,
        oauth: setup.config.oauth.clone(),
        realtime: Some(vendrome_server::realtime::Realtime::in_process(
            setup.config.realtime.clone(),
        )),
        search: if setup.fulltext {
            vendrome_server::state::SearchOptions::Engine(Arc::new(
                vendrome_store::PgSearch::new(db.store.clone()).unwrap(),
            ))
        } else {
            defaults.search
        },
        home_cache: setup.home_cache,
        read_only: setup.config.read_only,
        search_limit: setup.search_limit,
        mailer: mail.clone(),
        mail_link_base: "https://app.example.com".into(),
        session_guard: setup.session_guard.unwrap_or(defaults.session_guard),
        commerce: vendrome_server::commerce::CommerceOptions {
            sandbox: Some(vendrome_payments::SandboxConfig {
                public_base_url: format!("http://{address}"),
                webhook_secret: SANDBOX_SECRET.to_owned(),
            }),
            providers: setup.providers,
            ..Default::default()
        },
        // Every page reads the running campaigns afresh, so a test sees its own changes.
        sponsored_delivery: Some(vendrome_core::marketing::DeliveryConfig {
            refresh: chrono::Duration::zero(),
            ..Default::default()
        }),
        calendar_keys: Some(Arc::new(
            vendrome_calendar::CalendarKeys::parse(
                &setup
                    .calendar_keys
                    .unwrap_or_else(vendrome_calendar::CalendarKeys::generate_spec),
            )
            .unwrap(),
        )),
        calendar_sync: setup.calendar_sync,
        calendar_google: setup.config.calendar_google.clone(),
        calendar_microsoft: setup.config.calendar_microsoft.clone(),
    };
    let state = AppState::with_options(db.store.clone(), keys, options);
    let router = match setup.extra {
        Some(extra) => {
            let (api, _) = vendrome_server::routes::api().split_for_parts();
            let routes = api.merge(extra(state.clone())).with_state(state.clone());
            vendrome_server::app::with_layers(routes, &setup.config)
        }
        None => vendrome_server::app::router(state.clone(), &setup.config),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let (background_stop, background_stopped) = tokio::sync::watch::channel(false);
    if setup.background {
        vendrome_server::tasks::spawn(&state, background_stopped);
    }
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Some(TestApp {
        address,
        client,
        state,
        db,
        mail,
        stop: Some(stop),
        server: Some(server),
        indexer: tokio::sync::Mutex::new(None),
        background_stop,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn put(&self, path: &str) -> RequestBuilder {
        self.client.put(self.url(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.client.patch(self.url(path))
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.client.delete(self.url(path))
    }

    /// Registers an account through the API; returns the `data` of the answer.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let body = serde_json::json!({ "email": email, "password": password, "display_name": "Test Person" });
        let (status, body) = json(
            self.post("/v1/auth/register")
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["data"].clone()
    }

    /// Signs in through the API; returns the status and the whole answer.
    pub async fn login(&self, email: &str, password: &str) -> (u16, Value) {
        let body = serde_json::json!({ "email": email, "password": password });
        json(
            self.post("/v1/auth/login")
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A new user with `role`, stored, and a valid access token for them.
    pub async fn user(&self, role: UserRole) -> (UserId, String) {
        use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
        let id = UserId::new();
        let new = NewUser {
            email: Email::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
            display_name: DisplayName::parse("Test User").unwrap(),
            handle: None,
            password_hash: None,
            role,
        };
        let user = self.db.store.create_user(new).await.unwrap();
        (user.id, self.state.keys.issue(user.id, role, None).unwrap())
    }

    /// Connects the members of tokens `a` and `b` (`b_id`): `a` asks, `b` accepts.
    pub async fn connect(&self, a: &str, b_id: impl std::fmt::Display, b: &str) {
        let body = succeed(
            self.post("/v1/connections")
                .bearer_auth(a)
                .json(&serde_json::json!({ "user_id": b_id.to_string() })),
        )
        .await;
        let id = body["data"]["id"].as_str().unwrap();
        succeed(
            self.post(&format!("/v1/connections/{id}/accept"))
                .bearer_auth(b),
        )
        .await;
    }

    /// Opens a new direct conversation of the token's user with `other` (asserting 201); its id.
    pub async fn start_conversation(&self, token: &str, other: UserId) -> String {
        let started = expect_status(
            self.post("/v1/conversations")
                .bearer_auth(token)
                .json(&serde_json::json!({ "user_id": other })),
            201,
        )
        .await;
        started["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Brings the embedded search index up to date with every change so far (a no-op for
    /// PostgreSQL full-text search, which reads the tables).
    pub async fn sync_search(&self) {
        let Some((index, location)) = self.state.search_index.clone() else {
            return;
        };
        let mut indexer = self.indexer.lock().await;
        if indexer.is_none() {
            let store = Arc::new(self.db.store.clone());
            *indexer = Some(
                vendrome_search::Indexer::start(
                    index,
                    location,
                    store.clone(),
                    store,
                    vendrome_search::IndexerConfig::default(),
                )
                .await
                .unwrap(),
            );
        }
        indexer.as_mut().unwrap().catch_up().await.unwrap();
    }

    /// Waits (up to 10 s) until a message to `to` has been mailed, and returns the token of the
    /// link in the latest one.
    pub async fn mailed_token(&self, to: &str) -> String {
        let mail = tokio::time::timeout(Duration::from_secs(10), self.mail.next_to(to))
            .await
            .unwrap_or_else(|_| panic!("no mail to {to} within 10 s"));
        let link = mail.link.expect("the mail carries a link");
        assert!(mail.text.contains(&link), "the link is in the text");
        link.split_once("token=")
            .expect("the link carries a token")
            .1
            .to_owned()
    }

    /// Verifies the address of the account behind `token` through the API.
    pub async fn verify_email(&self, token: &str, email: &str) {
        let requested = expect_status(
            self.post("/v1/auth/email/verify-request")
                .bearer_auth(token),
            202,
        )
        .await;
        assert_eq!(requested["data"]["sent"], true, "{requested}");
        let link = self.mailed_token(email).await;
        let verified = succeed(
            self.post("/v1/auth/email/verify")
                .json(&serde_json::json!({ "token": link })),
        )
        .await;
        assert_eq!(verified["data"]["email_verified"], true, "{verified}");
    }

    /// A valid access token for a new user with `role`.
    pub async fn token(&self, role: UserRole) -> String {
        self.user(role).await.1
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.background_stop.send(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The status and JSON body of a response; asserts the body is JSON.
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let value = serde_json::from_str(&body)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {body:?}"));
    (status, value)
}

/// Asserts an error envelope with `status` and `code`, and returns it.
pub async fn expect_error(response: Response, status: u16, code: &str) -> Value {
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let (actual, body) = json(response).await;
    assert_eq!(
        (actual, body["error"]["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["details"].is_object(), "{body}");
    assert_eq!(
        body["meta"]["request_id"].as_str(),
        request_id.as_deref(),
        "meta.request_id matches the header"
    );
    body
}

/// Sends `request`, asserts a 2xx answer, and returns its JSON body.
pub async fn succeed(request: RequestBuilder) -> Value {
    let (status, body) = json(request.send().await.unwrap()).await;
    assert!((200..300).contains(&status), "{status}: {body}");
    body
}

/// Sends `request`, asserts the answer's status, and returns its JSON body.
pub async fn expect_status(request: RequestBuilder, status: u16) -> Value {
    let (got, body) = json(request.send().await.unwrap()).await;
    assert_eq!(got, status, "{body}");
    body
}
