//! Vendrome search: an embedded [tantivy](https://docs.rs/tantivy) index of profiles, posts and
//! topics, kept up to date from the transactional outbox.
//!
//! - [`SearchIndex`] is the [`SearchEngine`] a process queries: the index generation in use.
//! - [`Indexer`] follows the outbox (at least once; applying an event re-reads its documents,
//!   so repeats are harmless), persists its [`Checkpoint`] in each commit, and switches to a
//!   new generation when [`reindex`] publishes one.
//! - Every process keeps its own index, fed from the same outbox table: nothing is shared but
//!   the database.
//!
//! Matching rules (words, stems, typos, prefixes, synonyms) live in
//! `vendrome_core::search::analysis`, shared with the PostgreSQL full-text path and the
//! highlighter. This crate knows nothing of SQL or HTTP.

mod bounds;
mod columns;
mod generations;
mod groups;
mod index;
mod indexer;
mod merging;
mod query;
mod ranking;
mod schema;
mod segments;

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use vendrome_core::search::{Hit, SearchEngine, SearchQuery};
use vendrome_core::workers::Workers;

pub use generations::IndexDir;
pub use index::{CommitInfo, Generation};
pub use indexer::{build, reindex, Indexer, IndexerConfig, Location, Progress, Reindexed};
pub use vendrome_core::outbox::{Checkpoint, DEFAULT_GRACE};

/// The index a process searches: whichever generation its [`Indexer`] serves. Cheap to clone.
///
/// Searches run on a pool of one thread per core: under load they queue and run one per core
/// rather than all at once, time-sliced, as on tokio's blocking pool.
#[derive(Clone)]
pub struct SearchIndex {
    current: Arc<RwLock<Option<Arc<Generation>>>>,
    workers: Workers,
}

impl Default for SearchIndex {
    fn default() -> Self {
        Self {
            current: Arc::default(),
            workers: Workers::per_core("vendrome-search"),
        }
    }
}

impl SearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// The generation in use (none until the indexer has opened or built one).
    pub fn generation(&self) -> Option<Arc<Generation>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, generation: Arc<Generation>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(generation);
    }
}

#[async_trait]
impl SearchEngine for SearchIndex {
    async fn search(&self, query: &SearchQuery) -> vendrome_core::Result<Vec<(Hit, f32)>> {
        let Some(generation) = self.generation() else {
            return Err(vendrome_core::Error::Unavailable {
                code: "search_unavailable",
                message: "the search index is being built; retry shortly".into(),
            });
        };
        let query = query.clone();
        self.workers
            .run(move || generation.search(&query))
            .await?
            .map_err(vendrome_core::Error::Unexpected)
    }
}
