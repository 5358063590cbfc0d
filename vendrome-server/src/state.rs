//! What every handler can reach: the services, built once by the composition root.

use std::sync::Arc;

use tokio::sync::Notify;

use vendrome_calendar::{
    CalendarKeys, CalendarService, IcsService, IntegrationService, RunnerConfig, SyncEngine,
    SyncRunner,
};
use vendrome_core::auth::{AccountRecovery, AuthPolicy, AuthService};
use vendrome_core::bookings::BookingService;
use vendrome_core::flags::FlagService;
use vendrome_core::graph::GraphService;
use vendrome_core::idempotency::IdempotencyRepo;
use vendrome_core::investments::InvestmentService;
use vendrome_core::ledger::LedgerRepo;
use vendrome_core::mail::Mailer;
use vendrome_core::marketing::{Delivery, DeliveryConfig, MarketingService};
use vendrome_core::mentorship::MentorshipService;
use vendrome_core::messaging::MessagingService;
use vendrome_core::oauth::OAuthService;
use vendrome_core::orders::OrderService;
use vendrome_core::payments::{PaymentRepo, ReconciliationRepo};
use vendrome_core::posts::engagement::EngagementService;
use vendrome_core::posts::feed::FeedService;
use vendrome_core::posts::home_cache::{HomeCache, HomeCacheConfig};
use vendrome_core::posts::PostService;
use vendrome_core::profiles::ProfileService;
use vendrome_core::rate_limit::RateLimiter;
use vendrome_core::reviews::ReviewService;
use vendrome_core::search::{SearchEngine, SearchService};
use vendrome_core::trending::TrendingService;
use vendrome_core::verification::VerificationService;
use vendrome_payments::{Payments, Sandbox};
use vendrome_search::{Location, SearchIndex};
use vendrome_store::bus::InProcessBus;
use vendrome_store::ephemeral::MemoryRateLimiter;
use vendrome_store::Store;

use crate::auth::KeyRing;
use crate::commerce::{Commerce, CommerceOptions};
use crate::mail::MemoryMailer;
use crate::managed_events::CancelThroughOwner;
use crate::oauth::{OAuthProviders, OAuthSettings};
use crate::password_hasher::Argon2Hasher;
use crate::realtime::{Realtime, RealtimeConfig};
use crate::session_guard::SessionGuard;

/// Shared application state: the [`Services`] behind one pointer, so that the clone every
/// request's extractors make is one reference count, not one per service.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What every handler and task reaches through [`AppState`].
pub struct Services {
    pub store: Store,
    pub auth: AuthService,
    pub verification: VerificationService,
    pub flags: FlagService,
    /// The flags as the metrics labels read them (see [`crate::flag_metrics`]).
    pub flag_snapshot: Arc<crate::flag_metrics::FlagSnapshot>,
    /// Connections, follows, topics, suggestions.
    pub graph: GraphService,
    /// Posts, and engagement with them.
    pub posts: PostService,
    pub engagement: EngagementService,
    /// Home feed, member and topic feeds, typed listings.
    pub feeds: FeedService,
    /// Conversations and messages.
    pub messaging: MessagingService,
    /// Business profiles and the directory.
    pub profiles: ProfileService,
    /// The native calendar.
    pub calendar: CalendarService,
    /// The calendar as iCalendar: feeds and imports.
    pub calendar_ics: IcsService,
    /// Connections to external calendars, their credentials sealed.
    pub calendar_integrations: IntegrationService,
    /// Syncs integrations from their providers.
    pub calendar_sync: SyncEngine,
    /// The calendar sync queue's worker of this instance (periodic syncs, retries, the syncs
    /// members ask for).
    pub calendar_runner: SyncRunner,
    /// Product orders: placing them and moving them through their life.
    pub orders: OrderService,
    /// Availability, slots and bookings of services.
    pub bookings: BookingService,
    /// The payment orchestrator over the configured providers.
    pub payments: Payments,
    /// Reviews of completed orders and bookings, and the ratings they make.
    pub reviews: ReviewService,
    /// Mentorships and the directory of mentors.
    pub mentorship: MentorshipService,
    /// Marketing campaigns, consent, ingest and stats.
    pub marketing: MarketingService,
    /// The home feeds' sponsored items, when delivery is on.
    pub delivery: Option<Arc<Delivery>>,
    /// Investment campaigns, commitments and the deal flow.
    pub investments: InvestmentService,
    /// The sandbox provider when it is on: its page and its signed outcomes.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Payments read without a caller (the sandbox page, which carries no token).
    pub payment_records: Arc<dyn PaymentRepo>,
    /// The ledger, for the admin's reads.
    pub ledger: Arc<dyn LedgerRepo>,
    /// Reconciliation runs, for the admin's reads.
    pub reconciliation: Arc<dyn ReconciliationRepo>,
    /// The trending lists (scored by a background task).
    pub trending: TrendingService,
    /// Sign-in and linking through providers, and the providers themselves.
    pub oauth: OAuthService,
    /// Address verification and password reset by mailed links.
    pub recovery: AccountRecovery,
    pub oauth_providers: Arc<OAuthProviders>,
    pub idempotency: Arc<dyn IdempotencyRepo>,
    pub keys: Arc<KeyRing>,
    pub session_guard: Arc<SessionGuard>,
    /// Where the outbox relay publishes; realtime and other in-process consumers subscribe.
    pub bus: InProcessBus,
    /// Whether refresh-token cookies are marked `Secure` (off only for plain-HTTP development).
    pub secure_cookies: bool,
    /// The WebSocket gateway: local sockets, the fanout between instances, presence.
    pub realtime: Realtime,
    /// Wakes the outbox relay at once after a change, rather than at its next poll.
    pub relay_wake: Arc<Notify>,
    /// Answers `GET /v1/search`.
    pub search: SearchService,
    /// The embedded index and where it lives, for the indexer task; `None` when another engine
    /// answers search.
    pub search_index: Option<(SearchIndex, Location)>,
    /// Wakes the search indexer after a change (as `relay_wake` does the relay).
    pub search_wake: Arc<Notify>,
    /// The home feeds' cache (inside `feeds`), told of every change made through this instance.
    pub home_cache: Arc<HomeCache>,
    /// Started with `--read-only`: writes are refused whatever the flag says
    /// (see [`crate::read_only`]).
    pub forced_read_only: bool,
    /// The `read_only` flag as last read (see [`crate::read_only`]).
    pub read_only_flag: crate::read_only::ReadOnlyFlag,
    /// Searches per client address without a signed-in member.
    pub search_limit: vendrome_core::rate_limit::Rule,
}

/// Which engine answers search.
#[derive(Clone)]
pub enum SearchOptions {
    /// The embedded index at this location, kept by an indexer task.
    Embedded(Location),
    /// Another engine (PostgreSQL full-text search).
    Engine(Arc<dyn SearchEngine>),
}

/// The choices the composition root makes for the state.
pub struct StateOptions {
    pub limiter: Arc<dyn RateLimiter>,
    pub policy: AuthPolicy,
    pub secure_cookies: bool,
    /// The OAuth providers (none by default).
    pub oauth: OAuthSettings,
    /// The realtime gateway's parts; in this process by default.
    pub realtime: Option<Realtime>,
    /// The embedded index in memory by default.
    pub search: SearchOptions,
    /// The home feeds' cache.
    pub home_cache: HomeCacheConfig,
    /// Read-only mode whatever the `read_only` flag says (`serve --read-only`).
    pub read_only: bool,
    /// Searches per client address without a signed-in member.
    pub search_limit: vendrome_core::rate_limit::Rule,
    /// Where mail goes; kept in memory by default.
    pub mailer: Arc<dyn Mailer>,
    /// What mailed links start with (the frontend's address).
    pub mail_link_base: String,
    /// The cache of live sessions (made here by default; made first by a composition root that
    /// wires it to revocation notices from other instances).
    pub session_guard: Arc<SessionGuard>,
    /// Orders and payments: the fee, the expiry, the providers (the sandbox by default).
    pub commerce: CommerceOptions,
    /// Sponsored items in home feeds (on by default; `--sponsored-delivery false` turns it off).
    pub sponsored_delivery: Option<DeliveryConfig>,
    /// The keys calendar credentials are sealed with; `None` (the default): no calendar can be
    /// connected.
    pub calendar_keys: Option<Arc<CalendarKeys>>,
    /// The calendar sync queue's period, attempts, backoff and lease.
    pub calendar_sync: RunnerConfig,
    /// The Google Calendar client; `None` (the default): Google calendars cannot be connected.
    pub calendar_google: Option<vendrome_calendar::google::ProviderConfig>,
    /// The Microsoft Graph client; `None` (the default): Microsoft calendars cannot be connected.
    pub calendar_microsoft: Option<vendrome_calendar::ProviderConfig>,
}

impl Default for StateOptions {
    fn default() -> Self {
        Self {
            limiter: Arc::new(MemoryRateLimiter::new()),
            policy: AuthPolicy::default(),
            secure_cookies: true,
            oauth: OAuthSettings::default(),
            realtime: None,
            search: SearchOptions::Embedded(Location::Memory),
            home_cache: HomeCacheConfig::default(),
            read_only: false,
            search_limit: crate::rate_limits::RateLimits::default().search_ip,
            mailer: Arc::new(MemoryMailer::default()),
            mail_link_base: format!("http://{}", crate::config::Config::DEFAULT_BIND),
            session_guard: Arc::new(SessionGuard::new()),
            commerce: CommerceOptions::default(),
            sponsored_delivery: Some(DeliveryConfig::default()),
            calendar_keys: None,
            calendar_sync: RunnerConfig::default(),
            calendar_google: None,
            calendar_microsoft: None,
        }
    }
}

/// The account and session service over `store`, signing with `keys`: the one the API uses,
/// and the one the CLI's account verbs use.
pub fn auth_service(
    store: Arc<Store>,
    keys: Arc<KeyRing>,
    limiter: Arc<dyn RateLimiter>,
    policy: AuthPolicy,
) -> AuthService {
    AuthService::new(
        store.clone(),
        store,
        Arc::new(Argon2Hasher::new()),
        keys.clone(),
        limiter,
        &keys.derived_secret("refresh rotation and device keys"),
        policy,
    )
}

impl AppState {
    /// After a change of the member's consent, profile or followed topics: sponsored delivery
    /// reads them afresh on their next page.
    pub fn audience_changed(&self, member: vendrome_core::ids::UserId) {
        if let Some(delivery) = &self.delivery {
            delivery.forget(member);
        }
    }

    /// The services over one store, with in-memory rate limits and the default policy.
    pub fn new(store: Store, keys: KeyRing) -> Self {
        Self::with_options(store, keys, StateOptions::default())
    }

    pub fn with_options(store: Store, keys: KeyRing, options: StateOptions) -> Self {
        let shared = Arc::new(store.clone());
        let keys = Arc::new(keys);
        let auth = auth_service(
            shared.clone(),
            keys.clone(),
            options.limiter,
            options.policy,
        );
        let oauth = OAuthService::new(shared.clone(), shared.clone(), shared.clone(), auth.clone());
        let recovery = AccountRecovery::new(
            auth.clone(),
            shared.clone(),
            options.mailer,
            options.mail_link_base,
        );
        let posts = PostService::new(shared.clone());
        let engagement = EngagementService::new(shared.clone(), posts.clone());
        let cached = options.home_cache.members > 0;
        let home_cache = Arc::new(HomeCache::new(
            shared.clone(),
            shared.clone(),
            shared.clone(),
            options.home_cache,
        ));
        let mut feeds = FeedService::new(shared.clone(), shared.clone());
        if cached {
            feeds = feeds.with_home_cache(home_cache.clone());
        }
        let delivery = options
            .sponsored_delivery
            .map(|config| Arc::new(Delivery::new(shared.clone(), config)));
        if let Some(delivery) = &delivery {
            feeds = feeds.with_delivery(delivery.clone());
        }
        let (engine, search_index): (Arc<dyn SearchEngine>, _) = match options.search {
            SearchOptions::Embedded(location) => {
                let index = SearchIndex::new();
                (Arc::new(index.clone()), Some((index, location)))
            }
            SearchOptions::Engine(engine) => (engine, None),
        };
        let mut search = SearchService::new(engine, shared.clone(), shared.clone(), shared.clone());
        if cached {
            search = search.with_cache(home_cache.clone());
        }
        let commerce = Commerce::new(&shared, options.commerce);
        let integrations = IntegrationService::new(shared.clone(), options.calendar_keys);
        let mut calendar_sync = SyncEngine::new(
            integrations.clone(),
            shared.clone(),
            shared.clone(),
            CalendarService::new(shared.clone(), shared.clone()),
        );
        if let Some(config) = options.calendar_google {
            match vendrome_calendar::OAuthApp::google(config) {
                Ok(google) => calendar_sync = calendar_sync.with_google(Arc::new(google)),
                Err(error) => {
                    tracing::error!(%error, "the Google Calendar client could not be built: Google calendars are disabled");
                }
            }
        }
        if let Some(config) = options.calendar_microsoft {
            match vendrome_calendar::OAuthApp::microsoft(config) {
                Ok(app) => calendar_sync = calendar_sync.with_microsoft(Arc::new(app)),
                Err(error) => {
                    tracing::error!(%error, "the Microsoft Graph client could not be built: Microsoft calendars are disabled");
                }
            }
        }
        let calendar_runner =
            SyncRunner::new(calendar_sync.clone(), shared.clone(), options.calendar_sync);
        Self(Arc::new(Services {
            auth,
            oauth,
            recovery,
            oauth_providers: Arc::new(OAuthProviders::new(&options.oauth)),
            verification: VerificationService::new(shared.clone(), shared.clone()),
            flags: FlagService::new(shared.clone()),
            flag_snapshot: Arc::new(crate::flag_metrics::FlagSnapshot::new(FlagService::new(
                shared.clone(),
            ))),
            graph: GraphService::new(shared.clone(), shared.clone()),
            posts,
            engagement,
            feeds,
            messaging: MessagingService::new(shared.clone(), shared.clone(), shared.clone()),
            profiles: ProfileService::new(shared.clone()),
            // Deleting a party's copy of a booking's or session's event cancels it.
            calendar: CalendarService::new(shared.clone(), shared.clone()).with_managed(Arc::new(
                CancelThroughOwner {
                    payments: commerce.payments.clone(),
                    mentorship: MentorshipService::new(shared.clone()),
                },
            )),
            calendar_ics: IcsService::new(
                CalendarService::new(shared.clone(), shared.clone()),
                shared.clone(),
                shared.clone(),
            ),
            calendar_integrations: integrations,
            calendar_sync,
            calendar_runner,
            orders: commerce.orders,
            // A provider's calendar (native events and those synced from a connected calendar)
            // leaves its busy time free of slots.
            bookings: BookingService::new(
                shared.clone(),
                shared.clone(),
                Arc::new(CalendarService::new(shared.clone(), shared.clone())),
            )
            .with_config(commerce.bookings),
            payments: commerce.payments,
            reviews: ReviewService::new(shared.clone()),
            mentorship: MentorshipService::new(shared.clone()),
            marketing: MarketingService::new(shared.clone()),
            delivery,
            investments: commerce.investments,
            sandbox: commerce.sandbox,
            payment_records: shared.clone(),
            ledger: shared.clone(),
            reconciliation: shared.clone(),
            trending: TrendingService::new(shared.clone()),
            idempotency: shared,
            store,
            keys,
            session_guard: options.session_guard,
            bus: InProcessBus::default(),
            secure_cookies: options.secure_cookies,
            realtime: options
                .realtime
                .unwrap_or_else(|| Realtime::in_process(RealtimeConfig::default())),
            relay_wake: Arc::new(Notify::new()),
            search,
            search_index,
            search_wake: Arc::new(Notify::new()),
            home_cache,
            forced_read_only: options.read_only,
            read_only_flag: Default::default(),
            search_limit: options.search_limit,
        }))
    }
}
