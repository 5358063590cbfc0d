//! How many statements a feed page and a webhook delivery cost, counted from the driver's own
//! statement log.
//!
//! In their own test binary, with its subscriber installed as the global default before the
//! first statement runs (the driver's log callsites are then always live), and one test at a
//! time ([`SERIAL`]), so that no other test's statements are counted. PostgreSQL only: the
//! SQLite driver runs statements on its worker thread, and in-process statements cost no round
//! trip anyway.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;
use vendrome_core::access::Caller;
use vendrome_core::enums::{PostType, PostVisibility, UserRole};
use vendrome_core::graph::GraphRepo as _;
use vendrome_core::ids::UserId;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::posts::feed::{Feed, FeedService};
use vendrome_core::posts::{NewPost, PostBody, PostPayload, PostRepo as _, TopicSlug};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_core::SqlEnum as _;
use vendrome_store::Store;

/// Counts the driver's statement log events, leaving out its own lookups of enum types (made
/// once per new connection).
#[derive(Clone, Default)]
struct Statements(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        if !summary.0.contains("pg_catalog") && !summary.0.contains("regtype") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The one subscriber of this process, installed by the first test to ask.
fn statements() -> Statements {
    static INSTALLED: OnceLock<Statements> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let statements = Statements::default();
            tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(statements.clone()),
            )
            .expect("no other subscriber in this process");
            statements
        })
        .clone()
}

/// Held by each test for its whole run: the count is the process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Statements {
    fn now(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct Summary(String);

impl tracing::field::Visit for Summary {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

async fn user(store: &Store, name: &str) -> UserId {
    store
        .create_user(NewUser {
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            display_name: DisplayName::parse(name).unwrap(),
            handle: None,
            password_hash: None,
            role: UserRole::Member,
        })
        .await
        .unwrap()
        .id
}

fn payload(post_type: PostType) -> PostPayload {
    let fields = match post_type {
        PostType::Text => None,
        PostType::Product => {
            Some(serde_json::json!({"title": "Mug", "price_minor": 1500, "currency": "ZAR"}))
        }
        PostType::Service => Some(
            serde_json::json!({"title": "Audit", "rate_minor": 100, "currency": "ZAR", "rate_unit": "daily"}),
        ),
        PostType::Crowdfunding => Some(
            serde_json::json!({"title": "Solar", "goal_minor": 1000, "currency": "USD", "instrument": "reward", "ends_at": "2030-01-01T00:00:00Z"}),
        ),
        PostType::InvestmentOffer => Some(
            serde_json::json!({"title": "Angel", "ticket_min_minor": 1, "ticket_max_minor": 2, "currency": "EUR"}),
        ),
        PostType::InvestmentRequest => Some(
            serde_json::json!({"title": "Seed", "amount_sought_minor": 100, "currency": "EUR", "instrument": "equity", "stage": "seed"}),
        ),
        PostType::MentorshipRequest => {
            Some(serde_json::json!({"area": "Sales", "format": "virtual"}))
        }
    };
    PostPayload::parse(post_type, fields.as_ref()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_page_costs_two_statements_at_any_length_and_depth() {
    let statements = statements();
    let _alone = SERIAL.lock().await;
    let Some(db) = vendrome_store::testing::postgres().await else {
        return;
    };
    let store = db.store.clone();
    let author = user(&store, "prolific").await;
    let reader = user(&store, "reader").await;
    store.follow(reader, author).await.unwrap();
    // Every type in every page: 60 posts cycling through the seven types, all with topics.
    for post_type in PostType::ALL.iter().copied().cycle().take(60) {
        store
            .create_post(NewPost {
                author_id: author,
                body: PostBody::parse("Hello network").unwrap(),
                visibility: PostVisibility::Public,
                topics: vec![TopicSlug::parse("fintech").unwrap()],
                payload: payload(post_type),
                media: Default::default(),
            })
            .await
            .unwrap();
    }
    let feeds = FeedService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let caller = Caller {
        user_id: reader,
        role: UserRole::Member,
    };
    let home = Feed::Home(reader);
    let deep: Option<Cursor> = feeds
        .page(Some(&caller), &home, None, Limit::parse(40).unwrap())
        .await
        .unwrap()
        .next_cursor;
    let mut counts = Vec::new();
    for (limit, cursor) in [(7, None), (20, None), (7, deep.clone()), (20, deep)] {
        let before = statements.0.load(Ordering::SeqCst);
        let page = feeds
            .page(
                Some(&caller),
                &home,
                cursor.as_ref(),
                Limit::parse(limit).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), limit as usize);
        counts.push(statements.0.load(Ordering::SeqCst) - before);
    }
    // One for the entries of every source, one for the posts with everything they show.
    assert_eq!(counts, [2, 2, 2, 2]);
}

#[path = "statements/webhook.rs"]
mod webhook;
