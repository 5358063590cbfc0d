//! The feed port: keyset order across timestamp precisions, and a page's fixed query count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;
use vendrome_core::access::Caller;
use vendrome_core::enums::{PostVisibility, UserRole};
use vendrome_core::graph::GraphRepo as _;
use vendrome_core::ids::PostId;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::posts::feed::{Feed, FeedRepo as _, FeedService};
use vendrome_core::posts::PostRepo as _;
use vendrome_store::{Db, Store};

use crate::posts::{new_post, payloads, user};

conformance!(
    orders_entries_across_timestamp_precisions,
    a_page_costs_the_same_queries_at_any_length
);

async fn orders_entries_across_timestamp_precisions(store: Store) {
    let author = user(&store, "precise").await;
    // Times that print with no fraction, milliseconds and microseconds: their stored text
    // forms differ in length, their order must not.
    let times = [
        "2026-03-01T10:00:00.000001Z",
        "2026-03-01T10:00:00.5Z",
        "2026-03-01T10:00:00Z",
        "2026-03-01T10:00:00.499999Z",
        "2026-03-01T09:59:59.999999Z",
    ];
    let mut expected = Vec::new();
    for at in times {
        let id = store
            .create_post(new_post(
                author,
                payloads()[0].clone(),
                PostVisibility::Public,
            ))
            .await
            .unwrap();
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        let sql = "UPDATE posts SET created_at = $1 WHERE id = $2";
        match store.db() {
            Db::Postgres(pool) => drop(
                sqlx::query(sql)
                    .bind(at)
                    .bind(id.as_uuid())
                    .execute(pool)
                    .await
                    .unwrap(),
            ),
            Db::Sqlite(pool) => drop(
                sqlx::query(sql)
                    .bind(at)
                    .bind(id.as_uuid())
                    .execute(pool)
                    .await
                    .unwrap(),
            ),
        }
        expected.push((at, id));
    }
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<PostId> = expected.into_iter().map(|(_, id)| id).collect();

    let entries = store
        .feed_entries(&Feed::Author(author), None, None, 10)
        .await
        .unwrap();
    let ids: Vec<PostId> = entries[0].iter().map(|e| e.key.post).collect();
    assert_eq!(ids, expected);

    // One entry a page: each cursor continues exactly after its entry.
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let entries = store
            .feed_entries(&Feed::Author(author), None, before, 1)
            .await
            .unwrap();
        let Some(entry) = entries[0].first() else {
            break;
        };
        walked.push(entry.key.post);
        before = Some(entry.key);
    }
    assert_eq!(walked, expected);
}

/// Counts the statements sqlx runs while a future is polled.
#[derive(Clone, Default)]
struct QueryCounter(Arc<AtomicUsize>);

impl<S> Layer<S> for QueryCounter
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        // This subscriber is the default only while the measured future is polled, so it hears
        // only the statements that future runs.
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        // The driver's own lookups of enum types, once per new connection, are not the page's.
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        if !summary.0.contains("pg_catalog") && !summary.0.contains("regtype") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
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

async fn a_page_costs_the_same_queries_at_any_length(store: Store) {
    let author = user(&store, "prolific").await;
    let reader = user(&store, "reader").await;
    store.follow(reader, author).await.unwrap();
    // Every type in every page: 60 posts cycling through the seven types.
    for payload in payloads().into_iter().cycle().take(60) {
        store
            .create_post(new_post(author, payload, PostVisibility::Public))
            .await
            .unwrap();
    }
    let feeds = FeedService::new(Arc::new(store.clone()), Arc::new(store.clone()));
    let caller = Caller {
        user_id: reader,
        role: UserRole::Member,
    };
    let mut counts = Vec::new();
    let deep: Option<Cursor> = {
        let page = feeds
            .page(
                Some(&caller),
                &Feed::Home(reader),
                None,
                Limit::parse(40).unwrap(),
            )
            .await
            .unwrap();
        page.next_cursor
    };
    // The SQLite driver runs (and logs) statements on its own worker thread, outside the
    // measured future: there is nothing to count there (and no network round trip either), so
    // only the pages' lengths are checked.
    let counting = matches!(store.db(), Db::Postgres(_));
    // One subscriber for the whole test, so the tracing callsites' interest stays settled.
    let counter = QueryCounter::default();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(counter.clone()));
    let home = Feed::Home(reader);
    for (limit, cursor) in [(7, None), (20, None), (7, deep.clone()), (20, deep)] {
        counter.0.store(0, Ordering::Relaxed);
        let page = feeds.page(
            Some(&caller),
            &home,
            cursor.as_ref(),
            Limit::parse(limit).unwrap(),
        );
        let page = if counting {
            page.with_subscriber(dispatch.clone()).await
        } else {
            page.await
        }
        .unwrap();
        assert_eq!(page.items.len(), limit as usize);
        counts.push(counter.0.load(Ordering::Relaxed));
    }
    if !counting {
        return;
    }
    assert!(counts[0] > 0, "no statements were counted");
    assert!(counts.iter().all(|c| *c == counts[0]), "{counts:?}");
    // One for the entries of every source, one for the posts with everything they show.
    assert_eq!(counts[0], 2, "{counts:?}");
}
