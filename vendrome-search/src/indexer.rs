//! The indexer: follows the outbox into the index, and rebuilds the index from the database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{watch, Notify};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::outbox::{OutboxEvent, OutboxRepo};
use vendrome_core::search::{keys_for, DocKey, SearchSource};

use crate::generations::IndexDir;
use crate::index::{CommitInfo, Generation};
use crate::SearchIndex;
use vendrome_core::outbox::{Checkpoint, DEFAULT_GRACE};

/// Events a rebuilt index replays from before its start, for transactions that were still
/// committing when the rebuild began (replaying is harmless).
const REBUILD_REPLAY: i64 = 1_000;

/// Where the index lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// In memory, rebuilt from the database at every start (tests, embedding).
    Memory,
    /// Generations under a directory (`<data dir>/search` for `vendrome serve`).
    Disk(IndexDir),
}

/// How an indexer paces itself.
#[derive(Debug, Clone)]
pub struct IndexerConfig {
    /// Events read per pass.
    pub batch: u32,
    /// How often an idle indexer looks for events (it is also woken after local changes).
    pub poll: Duration,
    /// See [`Checkpoint`].
    pub grace: Duration,
    /// Documents per statement while rebuilding.
    pub rebuild_batch: u32,
    /// Indexing threads while rebuilding.
    pub rebuild_threads: usize,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        Self {
            batch: 1_000,
            poll: Duration::from_millis(250),
            grace: DEFAULT_GRACE,
            rebuild_batch: 2_000,
            rebuild_threads: 2,
        }
    }
}

/// Keeps a [`SearchIndex`] up to date with the outbox. One per process; every process keeps its
/// own index, all fed from the same outbox.
pub struct Indexer {
    index: SearchIndex,
    location: Location,
    source: Arc<dyn SearchSource>,
    outbox: Arc<dyn OutboxRepo>,
    config: IndexerConfig,
    checkpoint: Checkpoint,
    committed: i64,
    last_commit: Instant,
    generation: Option<String>,
}

impl Indexer {
    /// Opens the current generation (building one first when there is none) and serves it
    /// through `index`.
    pub async fn start(
        index: SearchIndex,
        location: Location,
        source: Arc<dyn SearchSource>,
        outbox: Arc<dyn OutboxRepo>,
        config: IndexerConfig,
    ) -> anyhow::Result<Self> {
        let mut indexer = Self {
            index,
            location,
            source,
            outbox,
            checkpoint: Checkpoint::new(0, config.grace),
            config,
            committed: 0,
            last_commit: Instant::now(),
            generation: None,
        };
        match indexer.location.clone() {
            Location::Memory => {
                let generation = build(
                    Generation::in_memory()?,
                    &*indexer.source,
                    &*indexer.outbox,
                    indexer.config.rebuild_batch,
                    &|_, _| {},
                )
                .await?;
                indexer.serve(generation, None)?;
            }
            Location::Disk(dir) => {
                let current = dir.current()?;
                let stale = current
                    .as_ref()
                    .is_some_and(|name| !Generation::has_current_schema(&dir.path(name)));
                if stale {
                    tracing::warn!(dir = %dir.root().display(), "the search index was built by another version or with another synonym list: rebuilding it");
                }
                if current.is_none() || stale {
                    tracing::info!(dir = %dir.root().display(), "building the search index");
                    reindex(
                        &dir,
                        &*indexer.source,
                        &*indexer.outbox,
                        &indexer.config,
                        &|_, _| {},
                    )
                    .await?;
                }
                indexer.switch_if_published(&dir).await?;
            }
        }
        Ok(indexer)
    }

    /// Every outbox event up to here is in the index.
    pub fn checkpoint(&self) -> i64 {
        self.checkpoint.done()
    }

    fn serve(&mut self, generation: Generation, name: Option<String>) -> anyhow::Result<()> {
        let info = generation.committed()?;
        self.checkpoint = Checkpoint::new(info.outbox_seq, self.config.grace);
        self.committed = info.outbox_seq;
        self.generation = name;
        self.index.set(Arc::new(generation));
        Ok(())
    }

    /// Switches to the published generation when a rebuild replaced it.
    async fn switch_if_published(&mut self, dir: &IndexDir) -> anyhow::Result<()> {
        let Some(name) = dir.current()? else {
            return Ok(());
        };
        if self.generation.as_deref() == Some(name.as_str()) {
            return Ok(());
        }
        let path = dir.path(&name);
        // The old generation's writer must go before the new one can be opened for writing
        // (only if it were the same directory; distinct ones just release their lock).
        let generation = tokio::task::spawn_blocking(move || Generation::open(&path)).await??;
        tracing::info!(generation = %name, "serving search index generation");
        self.serve(generation, Some(name.clone()))?;
        dir.remove_others(&name);
        Ok(())
    }

    /// Applies the next batch of events; returns how many were new.
    pub async fn pass(&mut self) -> anyhow::Result<usize> {
        if let Location::Disk(dir) = self.location.clone() {
            self.switch_if_published(&dir).await?;
        }
        let generation = self
            .index
            .generation()
            .context("no search index generation")?;
        let fresh = self
            .checkpoint
            .unapplied(self.outbox.as_ref(), self.config.batch)
            .await?;
        let lag = fresh.first().map_or(0.0, |e| seconds_since(e.created_at));
        metrics::gauge!("vendrome_search_index_lag_seconds").set(lag);
        let now = Instant::now();
        if fresh.is_empty() {
            self.checkpoint.tick(now);
        } else {
            self.apply(&generation, &fresh).await?;
            self.checkpoint.record(fresh.iter().map(|e| e.seq), now);
        }
        let due = !fresh.is_empty()
            || (self.checkpoint.done() != self.committed
                && self.last_commit.elapsed() >= Duration::from_secs(5));
        if due {
            let info = CommitInfo {
                outbox_seq: self.checkpoint.done(),
            };
            let committing = generation.clone();
            tokio::task::spawn_blocking(move || committing.commit(info)).await??;
            self.committed = info.outbox_seq;
            self.last_commit = Instant::now();
            for event in &fresh {
                metrics::histogram!("vendrome_search_index_delay_seconds")
                    .record(seconds_since(event.created_at));
            }
            metrics::counter!("vendrome_search_events_indexed_total").increment(fresh.len() as u64);
        }
        Ok(fresh.len())
    }

    /// Re-reads the documents the events touched and writes them (or deletes what is gone).
    async fn apply(
        &self,
        generation: &Arc<Generation>,
        events: &[OutboxEvent],
    ) -> anyhow::Result<()> {
        let mut keys: BTreeSet<DocKey> = BTreeSet::new();
        for event in events {
            match &event.event {
                Ok(domain) => keys.extend(keys_for(domain)),
                // Written by a newer version; the documents it touched are re-read by the next
                // rebuild.
                Err(unreadable) => {
                    tracing::warn!(seq = event.seq, error = %unreadable, "search indexer skipped an event");
                }
            }
        }
        let mut posts: Vec<PostId> = Vec::new();
        let mut users: Vec<UserId> = Vec::new();
        let mut authors: Vec<UserId> = Vec::new();
        let mut topics: BTreeSet<String> = BTreeSet::new();
        for key in keys {
            match key {
                DocKey::Post(id) => posts.push(id),
                DocKey::Profile(id) => users.push(id),
                DocKey::PostsBy(id) => authors.push(id),
                DocKey::Topic(slug) => {
                    topics.insert(slug);
                }
            }
        }
        let post_docs = self.source.post_docs(&posts).await?;
        let by_author = self.source.post_docs_by(&authors).await?;
        topics.extend(post_docs.iter().flat_map(|p| p.topics.iter().cloned()));
        let topics: Vec<String> = topics.into_iter().collect();
        let topic_docs = self.source.topic_docs(&topics).await?;
        let profile_docs = self.source.profile_docs(&users).await?;
        let generation = generation.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            for id in &posts {
                if !post_docs.iter().any(|p| p.id == *id) {
                    generation.delete_post(*id);
                }
            }
            for author in &authors {
                generation.delete_posts_by(*author)?;
            }
            generation.put_posts(&post_docs)?;
            generation.put_posts(&by_author)?;
            for id in &users {
                if !profile_docs.iter().any(|p| p.user_id == *id) {
                    generation.delete_profile(*id);
                }
            }
            generation.put_profiles(&profile_docs)?;
            for slug in &topics {
                if !topic_docs.iter().any(|t| &t.slug == slug) {
                    generation.delete_topic(slug);
                }
            }
            generation.put_topics(&topic_docs)?;
            Ok(())
        })
        .await??;
        Ok(())
    }

    /// Applies events until none are left (for tests, benchmarks and start-up).
    pub async fn catch_up(&mut self) -> anyhow::Result<()> {
        while self.pass().await? > 0 {}
        Ok(())
    }

    /// Follows the outbox until `stop` turns true, waking early when `wake` is notified.
    pub async fn run(mut self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let pause = match self.pass().await {
                Ok(applied) if applied >= self.config.batch as usize => Duration::ZERO,
                Ok(_) => self.config.poll,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "search indexer pass failed");
                    Duration::from_secs(2)
                }
            };
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = wake.notified() => {
                    // Let the relay and the change's own transaction settle into one batch.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ = stop.changed() => {}
            }
        }
    }
}

fn seconds_since(at: vendrome_core::time::Timestamp) -> f64 {
    (vendrome_core::time::now() - at).num_milliseconds().max(0) as f64 / 1000.0
}

/// Reports rebuild progress: documents written so far, and the total expected.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// Fills `generation`, which must be new (empty), with every document in the database and
/// commits it with a checkpoint taken before the first read. The scans read each document once,
/// so documents are added without deleting a previous version first (see
/// [`Generation::add_posts`]).
pub async fn build(
    generation: Generation,
    source: &dyn SearchSource,
    outbox: &dyn OutboxRepo,
    batch: u32,
    progress: Progress<'_>,
) -> anyhow::Result<Generation> {
    let start = (outbox.last_seq().await? - REBUILD_REPLAY).max(0);
    let total: u64 = source.doc_counts().await?.iter().sum();
    let generation = Arc::new(generation);
    let mut written = 0u64;
    let mut after_post: Option<PostId> = None;
    loop {
        let docs = source.scan_posts(after_post, batch).await?;
        let Some(last) = docs.last() else { break };
        after_post = Some(last.id);
        written += docs.len() as u64;
        let writing = generation.clone();
        tokio::task::spawn_blocking(move || writing.add_posts(&docs)).await??;
        progress(written, total);
    }
    let mut after_user: Option<UserId> = None;
    loop {
        let docs = source.scan_profiles(after_user, batch).await?;
        let Some(last) = docs.last() else { break };
        after_user = Some(last.user_id);
        written += docs.len() as u64;
        let writing = generation.clone();
        tokio::task::spawn_blocking(move || writing.add_profiles(&docs)).await??;
        progress(written, total);
    }
    let mut after_topic: Option<String> = None;
    loop {
        let docs = source.scan_topics(after_topic.as_deref(), batch).await?;
        let Some(last) = docs.last() else { break };
        after_topic = Some(last.slug.clone());
        written += docs.len() as u64;
        let writing = generation.clone();
        tokio::task::spawn_blocking(move || writing.add_topics(&docs)).await??;
        progress(written, total);
    }
    let committing = generation.clone();
    tokio::task::spawn_blocking(move || committing.commit(CommitInfo { outbox_seq: start }))
        .await??;
    Arc::try_unwrap(generation).map_err(|_| anyhow::anyhow!("the new generation is still shared"))
}

/// What a rebuild did.
#[derive(Debug, Clone)]
pub struct Reindexed {
    pub generation: String,
    pub documents: u64,
    pub seconds: f64,
}

/// Builds a new generation beside the current one and publishes it; a running server switches
/// to it at its next pass and deletes the old one.
pub async fn reindex(
    dir: &IndexDir,
    source: &dyn SearchSource,
    outbox: &dyn OutboxRepo,
    config: &IndexerConfig,
    progress: Progress<'_>,
) -> anyhow::Result<Reindexed> {
    let started = Instant::now();
    let name = dir.new_name();
    let path = dir.path(&name);
    let threads = config.rebuild_threads;
    let generation =
        tokio::task::spawn_blocking(move || Generation::create(&path, threads)).await??;
    let generation = build(generation, source, outbox, config.rebuild_batch, progress).await?;
    let documents = generation.num_docs();
    // Merges finish and the writer's lock goes before anyone else opens it.
    tokio::task::spawn_blocking(move || generation.finish()).await??;
    dir.publish(&name)?;
    dir.remove_unused(&name);
    Ok(Reindexed {
        generation: name,
        documents,
        seconds: started.elapsed().as_secs_f64(),
    })
}
