//! The port conformance suite: every test runs once on SQLite and once on PostgreSQL, so the two
//! stores cannot drift apart. One test binary (to keep link time down), one module per port.
//!
//! A test is an `async fn(Store)` registered with [`conformance!`], which makes a `sqlite` and a
//! `postgres` test of it, each on a fresh database.

/// Registers port tests to run on both stores.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = vendrome_store::testing::sqlite().await;
                    super::$name(db.store.clone()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(db) = vendrome_store::testing::postgres().await else { return };
                    super::$name(db.store.clone()).await;
                }
            }
        )*
    };
}

/// For the tests that run on PostgreSQL alone: the concurrency SQLite's single writer rules out.
mod postgres_only {
    use std::sync::Arc;

    use sqlx::PgPool;
    use tokio::task::JoinHandle;
    use vendrome_store::testing::TestStore;
    use vendrome_store::Store;

    /// A fresh database (kept while the first part is held), its store and its pool; `None`
    /// where PostgreSQL is absent outside CI.
    pub async fn database() -> Option<(TestStore, Arc<Store>, PgPool)> {
        let db = vendrome_store::testing::postgres().await?;
        let store = Arc::new(db.store.clone());
        let vendrome_store::db::Db::Postgres(pool) = store.db().clone() else {
            unreachable!("a PostgreSQL store");
        };
        Some((db, store, pool))
    }

    /// How many backends of this database wait for a lock now.
    pub async fn waiting_for_a_lock(pool: &PgPool) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    }

    /// Waits until a backend of this database waits for a lock (true), or `task` ends before
    /// one does (false).
    pub async fn until_one_waits<T>(pool: &PgPool, task: &JoinHandle<T>) -> bool {
        loop {
            if waiting_for_a_lock(pool).await > 0 {
                return true;
            }
            if task.is_finished() {
                return false;
            }
            tokio::task::yield_now().await;
        }
    }
}

mod abuse;
mod account_tokens;
mod audit;
mod booking_events;
mod bookings;
mod calendar;
mod calendar_ics;
mod calendar_integrations;
mod calendar_pull;
mod calendar_sync_jobs;
mod deal_matches;
mod enums;
mod events;
mod fanout;
mod feeds;
mod flags;
mod graph;
mod idempotency;
mod identities;
mod investments;
mod ledger;
mod marketing;
mod marketing_audience;
mod mentorship;
mod messaging;
mod messaging_content;
mod messaging_realtime;
mod migrations;
mod order_service;
mod orders;
mod outbox;
mod paid_bookings;
mod payments;
mod posts;
mod presence;
mod profiles;
mod rate_limit;
mod refunds;
mod reviews;
mod sessions;
mod trending;
mod users;
mod webhook_processing;
mod webhooks;
