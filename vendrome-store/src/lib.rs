//! Vendrome's persistence adapters: every port of `vendrome-core` implemented once, in SQL both
//! PostgreSQL and SQLite run (see [`db`] for how), plus the migrations runner and the event bus
//! adapters.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use vendrome_core::flags::FlagRepo;
//! let store = vendrome_store::Store::open("sqlite://vendrome.db").await?;
//! store.migrate().await?;
//! for flag in store.list_flags().await? {
//!     println!("{} {}", flag.name.as_str(), flag.enabled);
//! }
//! # Ok(()) }
//! ```

pub mod bus;
pub mod db;
pub mod ephemeral;
pub mod migrate;
#[cfg(feature = "testing")]
pub mod testing;

mod account_tokens;
mod audit;
mod badges;
mod blocks;
mod bookings;
mod calendar;
mod calendar_feed;
mod calendar_integrations;
mod calendar_links;
mod calendar_mirror;
mod calendar_pull;
mod calendar_push;
mod calendar_sync_jobs;
mod deal_matches;
mod engagement;
mod error;
mod feed_windows;
mod feeds;
mod flags;
mod graph;
mod graph_topics;
mod group_commit;
mod idempotency;
mod identities;
mod investment_reserve;
mod investment_rows;
mod investment_settlement;
mod investments;
mod ledger;
mod ledger_postgres;
mod marketing;
mod marketing_ingest;
mod mentors;
mod mentorship;
mod messaging;
mod messaging_groups;
mod messaging_settings;
mod orders;
mod orders_postgres;
mod outbox;
mod payments;
mod pg_search;
#[cfg(test)]
mod plans;
mod post_reads;
mod post_rows;
mod posts;
mod profiles;
mod ratings;
mod reconciliation;
mod reviews;
mod rows;
mod search_source;
mod sessions;
mod settle_batches;
mod settlement_postgres;
mod sql_enum;
mod sql_text;
mod trending;
mod users;
mod webhooks;
mod writes;

use std::sync::Arc;

pub use db::{Db, Dialect, PoolSize};
pub use pg_search::PgSearch;
pub use sql_enum::DbEnum;

/// Every persistence port on one database. Cheap to clone (it holds a pool).
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    batches: Arc<Batches>,
}

/// The writes in flight that share transactions ([`group_commit`]).
#[derive(Default)]
struct Batches {
    reserves: Arc<investment_reserve::ReserveBatches>,
    settlements: Arc<settle_batches::SettleBatches>,
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches").finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `postgres://…` or `sqlite:…` with the default pool size.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, PoolSize::default()).await
    }

    pub async fn open_with(url: &str, size: PoolSize) -> anyhow::Result<Self> {
        Ok(Self::from_db(Db::connect(url, size).await?))
    }

    pub fn from_db(db: Db) -> Self {
        Self {
            db,
            batches: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        migrate::apply_pending(&self.db, |_| {}).await
    }

    /// One round trip to the database, for readiness checks.
    pub async fn ping(&self) -> anyhow::Result<()> {
        Ok(self.db.ping().await?)
    }
}
