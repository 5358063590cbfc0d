//! One generation of the index: a tantivy index with its writer and reader, and the outbox
//! position it has applied (stored in each commit's payload, so a checkpoint is durable exactly
//! when the documents it covers are).

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader, TantivyDocument,
    Term,
};
use vendrome_core::graph::Topic;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::search::{boost, Hit, PostDoc, ProfileDoc, SearchQuery};

use crate::query::Tier;
use crate::schema::{post_key, profile_key, topic_key, Fields};

/// Memory the writer may buffer before it flushes a segment.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

/// What a commit's payload records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Every outbox event up to this `seq` is in the index.
    pub outbox_seq: i64,
}

/// One tantivy index, open for reading and writing.
pub struct Generation {
    index: Index,
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
}

impl Generation {
    /// Creates an index in `dir` (which must be empty or absent).
    pub fn create(dir: &Path, threads: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let (schema, _) = Fields::schema();
        let index = Index::create_in_dir(dir, schema)
            .with_context(|| format!("creating the search index in {}", dir.display()))?;
        Self::from_index(index, threads)
    }

    /// Opens the index in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("opening the search index in {}", dir.display()))?;
        Self::from_index(index, 1)
    }

    /// An index in memory (for tests and embedding; rebuilt at every start).
    pub fn in_memory() -> anyhow::Result<Self> {
        let (schema, _) = Fields::schema();
        Self::from_index(Index::create_in_ram(schema), 1)
    }

    fn from_index(mut index: Index, threads: usize) -> anyhow::Result<Self> {
        Fields::register_tokenizer(&index);
        // A query's segments are searched in parallel, one thread per core.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        index.set_multithread_executor(cores)?;
        let (_, fields) = Fields::schema();
        let writer = index
            .writer_with_num_threads(threads.max(1), WRITER_HEAP * threads.max(1))
            .context(
                "opening the search index writer (is another process using this data directory?)",
            )?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            fields,
            reader,
            writer: Mutex::new(writer),
        })
    }

    /// The position of the last commit (0 for a new index).
    pub fn committed(&self) -> anyhow::Result<CommitInfo> {
        read_info(&self.index)
    }

    /// Whether no process holds the writer of the index in `dir`.
    pub fn is_unused(dir: &Path) -> bool {
        let Ok(index) = Index::open_in_dir(dir) else {
            return true;
        };
        Fields::register_tokenizer(&index);
        index.writer::<TantivyDocument>(15_000_000).is_ok()
    }

    /// The position of the last commit of the index in `dir`, without opening a writer (safe
    /// while a server writes to it).
    pub fn committed_in(dir: &Path) -> anyhow::Result<CommitInfo> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("opening the search index in {}", dir.display()))?;
        read_info(&index)
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the documents of these posts (adding them when new).
    pub fn put_posts(&self, posts: &[PostDoc]) -> anyhow::Result<()> {
        let writer = self.writer();
        for post in posts {
            writer.delete_term(Term::from_field_text(
                self.fields.key,
                &post_key(&post.id.to_string()),
            ));
            writer.add_document(self.fields.post(post))?;
        }
        Ok(())
    }

    pub fn put_profiles(&self, profiles: &[ProfileDoc]) -> anyhow::Result<()> {
        let writer = self.writer();
        for profile in profiles {
            writer.delete_term(Term::from_field_text(
                self.fields.key,
                &profile_key(&profile.user_id.to_string()),
            ));
            writer.add_document(self.fields.profile(profile))?;
        }
        Ok(())
    }

    pub fn put_topics(&self, topics: &[Topic]) -> anyhow::Result<()> {
        let writer = self.writer();
        for topic in topics {
            writer.delete_term(Term::from_field_text(
                self.fields.key,
                &topic_key(&topic.slug),
            ));
            writer.add_document(self.fields.topic(topic))?;
        }
        Ok(())
    }

    pub fn delete_post(&self, id: PostId) {
        self.writer().delete_term(Term::from_field_text(
            self.fields.key,
            &post_key(&id.to_string()),
        ));
    }

    pub fn delete_profile(&self, id: UserId) {
        self.writer().delete_term(Term::from_field_text(
            self.fields.key,
            &profile_key(&id.to_string()),
        ));
    }

    pub fn delete_topic(&self, slug: &str) {
        self.writer()
            .delete_term(Term::from_field_text(self.fields.key, &topic_key(slug)));
    }

    /// Drops every post by `author`.
    pub fn delete_posts_by(&self, author: UserId) -> anyhow::Result<()> {
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.kind, "post"),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.author, &author.to_string()),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        self.writer().delete_query(Box::new(query))?;
        Ok(())
    }

    /// Makes every change so far durable and searchable, with `info` as the checkpoint.
    pub fn commit(&self, info: CommitInfo) -> anyhow::Result<()> {
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&serde_json::to_string(&info)?);
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Waits for background merges (before a generation is handed over).
    pub fn finish(self) -> anyhow::Result<()> {
        let writer = self.writer.into_inner().unwrap_or_else(|p| p.into_inner());
        writer.wait_merging_threads()?;
        Ok(())
    }

    /// How many documents are searchable.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs a query: the hits ranked `offset..offset + limit`. Exact matches rank before
    /// matches that need a typo or a prefix (see `query.rs`); each tier is ordered by
    /// relevance × `boost`.
    pub fn search(&self, query: &SearchQuery) -> anyhow::Result<Vec<(Hit, f32)>> {
        let searcher = self.reader.searcher();
        let limit = query.limit.max(1) as usize;
        let offset = query.offset as usize;
        let exact = crate::query::build(&self.fields, query, Tier::Exact);
        let mut top = searcher.search(&exact, &ranked(query.now.timestamp(), limit, offset))?;
        if top.len() < limit && crate::query::has_loose_terms(query) {
            // The exact matches end on this page (or before it, when it is empty: only then
            // are they counted).
            let exact_total = match top.len() {
                0 if offset > 0 => searcher.search(&exact, &Count)?,
                found => offset + found,
            };
            // The page runs past the exact matches: continue with the loose-only ones.
            let loose_only = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    crate::query::build(&self.fields, query, Tier::Loose),
                ),
                (Occur::MustNot, exact),
            ]);
            let skip = offset.saturating_sub(exact_total);
            let more = searcher.search(
                &loose_only,
                &ranked(query.now.timestamp(), limit - top.len(), skip),
            )?;
            top.extend(more);
        }
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(key) = doc.get_first(self.fields.key).and_then(|v| v.as_str()) else {
                continue;
            };
            if let Some(hit) = parse_key(key) {
                hits.push((hit, score));
            }
        }
        Ok(hits)
    }
}

/// The top `limit` after `offset`, by text relevance × `boost` (engagement and recency).
fn ranked(
    now: i64,
    limit: usize,
    offset: usize,
) -> impl tantivy::collector::Collector<Fruit = Vec<(Score, tantivy::DocAddress)>> {
    TopDocs::with_limit(limit.max(1))
        .and_offset(offset)
        .tweak_score(move |segment: &SegmentReader| {
            let fast = segment.fast_fields();
            let engagement = fast
                .i64("engagement")
                .ok()
                .map(|c| c.first_or_default_col(0));
            let created = fast.i64("created").ok().map(|c| c.first_or_default_col(0));
            move |doc: DocId, score: Score| {
                let engagement = engagement.as_ref().map_or(0, |c| c.get_val(doc));
                let created = created.as_ref().map_or(0, |c| c.get_val(doc));
                score * fast_boost(engagement, created, now)
            }
        })
}

/// `boost` for every document a query matches: its engagement factor from a table for the
/// common values, and the recency in single precision (the two logarithms in double precision
/// were a tenth of a query's time).
fn fast_boost(engagement: i64, created: i64, now: i64) -> f32 {
    const TABLE: usize = 4096;
    static FACTORS: std::sync::LazyLock<Vec<f32>> =
        std::sync::LazyLock::new(|| (0..TABLE as i64).map(|e| boost(e, None) as f32).collect());
    let engagement = match usize::try_from(engagement.max(0)) {
        Ok(e) if e < TABLE => FACTORS[e],
        _ => boost(engagement, None) as f32,
    };
    if created <= 0 {
        return engagement;
    }
    let age_days = (now - created).max(0) as f32 / 86_400.0;
    let half_lives = age_days / vendrome_core::search::RECENCY_HALF_LIFE_DAYS as f32;
    engagement * (0.5 + 0.5 * (-half_lives).exp2())
}

fn read_info(index: &Index) -> anyhow::Result<CommitInfo> {
    let metas = index.load_metas()?;
    Ok(match metas.payload {
        Some(payload) => serde_json::from_str(&payload).context("reading the index payload")?,
        None => CommitInfo::default(),
    })
}

fn parse_key(key: &str) -> Option<Hit> {
    let (kind, id) = key.split_once(':')?;
    match kind {
        "p" => Some(Hit::Post(id.parse().ok()?)),
        "u" => Some(Hit::Profile(id.parse().ok()?)),
        "t" => Some(Hit::Topic(id.to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_boost_is_the_boost() {
        let now = 1_800_000_000;
        for engagement in [0, 1, 7, 4095, 4096, 1_000_000] {
            for age_days in [None, Some(0.0), Some(0.5), Some(29.0), Some(400.0)] {
                let created = age_days.map_or(0, |d: f64| now - (d * 86_400.0) as i64);
                let exact = boost(engagement, age_days);
                let fast = f64::from(fast_boost(engagement, created, now));
                assert!(
                    (fast - exact).abs() <= exact * 1e-5,
                    "{engagement} {age_days:?}: {fast} vs {exact}"
                );
            }
        }
    }
}
