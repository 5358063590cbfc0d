//! One generation of the index: a tantivy index with its writer and reader, and the outbox
//! position it has applied (stored in each commit's payload, so a checkpoint is durable exactly
//! when the documents it covers are).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{AllQuery, BooleanQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{
    Index, IndexReader, IndexSettings, IndexSortByField, IndexWriter, Order, ReloadPolicy,
    TantivyDocument, Term,
};
use vendrome_core::graph::Topic;
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::search::{Audience, Hit, PostDoc, ProfileDoc, SearchKind, SearchQuery};

use crate::bounds::Admits;
use crate::columns::Sees;
use crate::query::{Reading, Tier};
use crate::ranking::Ranked;
use crate::schema::{kind_name, post_key, profile_key, topic_key, Fields};
use crate::segments::Segments;

/// Memory each indexing thread may buffer before it flushes a segment.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

/// Merges run one at a time (tantivy's default is four). Each merge holds the merged segment's
/// dictionaries and columns in memory while it writes them; on two cores, four at once cost
/// memory and bought no speed: the first start's build of 1M posts peaked at ~1.5 GB with four.
const MERGE_THREADS: usize = 1;

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
    segments: Arc<Segments>,
}

/// How a new index keeps its documents: each segment by its boost when indexed, highest first
/// (the `rank` fast field), so that a search's pruning bound falls as it walks a segment (see
/// `bounds.rs`). Indexes made before this setting work
/// the same, only without the skipping.
fn settings() -> IndexSettings {
    IndexSettings {
        sort_by_field: Some(IndexSortByField {
            field: crate::columns::RANK.into(),
            order: Order::Desc,
        }),
        ..IndexSettings::default()
    }
}

impl Generation {
    /// Creates an index in `dir` (which must be empty or absent).
    pub fn create(dir: &Path, threads: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let (schema, _) = Fields::schema();
        let index = Index::builder()
            .schema(schema)
            .settings(settings())
            .create_in_dir(dir)
            .with_context(|| format!("creating the search index in {}", dir.display()))?;
        Self::from_index(index, threads)
    }

    /// Opens the index in `dir`, which must have this version's fields (see
    /// [`Generation::has_current_schema`]).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let index = Index::open_in_dir(dir)
            .with_context(|| format!("opening the search index in {}", dir.display()))?;
        if index.schema() != Fields::schema().0 {
            anyhow::bail!(
                "the search index in {} was built by another version of Vendrome or with \
                 another synonym list; rebuild it with `vendrome search reindex`",
                dir.display()
            );
        }
        Self::from_index(index, 1)
    }

    /// Whether the index in `dir` has this version's fields, tokenizers included (an index
    /// built by another version, or with another synonym list, is rebuilt, not opened).
    pub fn has_current_schema(dir: &Path) -> bool {
        Index::open_in_dir(dir).is_ok_and(|index| index.schema() == Fields::schema().0)
    }

    /// An index in memory (for tests and embedding; rebuilt at every start).
    pub fn in_memory() -> anyhow::Result<Self> {
        let (schema, _) = Fields::schema();
        let index = Index::builder()
            .schema(schema)
            .settings(settings())
            .create_in_ram()?;
        Self::from_index(index, 1)
    }

    fn from_index(index: Index, threads: usize) -> anyhow::Result<Self> {
        Fields::register_tokenizers(&index);
        let (_, fields) = Fields::schema();
        let options = IndexWriterOptions::builder()
            .num_worker_threads(threads.max(1))
            .memory_budget_per_thread(WRITER_HEAP)
            .num_merge_threads(MERGE_THREADS)
            .build();
        let writer = index.writer_with_options(options).context(
            "opening the search index writer (is another process using this data directory?)",
        )?;
        writer.set_merge_policy(Box::new(crate::merging::CappedMerges::default()));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            segments: Arc::new(Segments::new(fields.kind)),
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
        Fields::register_tokenizers(&index);
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

    /// Adds these posts to a generation that holds none of them yet (a rebuild, whose scan
    /// reads each document once), deleting nothing first.
    ///
    /// A delete costs memory until the next commit: tantivy queues each one as a term query's
    /// weight of about 1.2 KB (a 256-entry BM25 table among it), and a rebuild commits once, at
    /// its end. Putting the benchmark's 1M posts with [`Generation::put_posts`] held 1.2 GB of
    /// queued deletes that matched nothing.
    pub fn add_posts(&self, posts: &[PostDoc]) -> anyhow::Result<()> {
        let writer = self.writer();
        for post in posts {
            writer.add_document(self.fields.post(post))?;
        }
        Ok(())
    }

    /// As [`Generation::add_posts`], for profiles.
    pub fn add_profiles(&self, profiles: &[ProfileDoc]) -> anyhow::Result<()> {
        let writer = self.writer();
        for profile in profiles {
            writer.add_document(self.fields.profile(profile))?;
        }
        Ok(())
    }

    /// As [`Generation::add_posts`], for topics.
    pub fn add_topics(&self, topics: &[Topic]) -> anyhow::Result<()> {
        let writer = self.writer();
        for topic in topics {
            writer.add_document(self.fields.topic(topic))?;
        }
        Ok(())
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
                    Term::from_field_text(self.fields.kind, kind_name(SearchKind::Posts)),
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
    /// relevance × `boost` (see `ranking.rs`).
    pub fn search(&self, query: &SearchQuery) -> anyhow::Result<Vec<(Hit, f32)>> {
        let searcher = self.reader.searcher();
        let limit = query.limit.max(1) as usize;
        let offset = query.offset as usize;
        let now = query.now.timestamp();
        let filters = crate::query::filters(&self.fields, query, &searcher)?;
        let admitted = crate::query::admitted(&filters);
        let admits = match query.kind {
            SearchKind::Posts => Admits::Posts,
            SearchKind::Profiles | SearchKind::Topics => Admits::Others,
        };
        let sees = Arc::new(match (query.kind, &query.audience) {
            (SearchKind::Posts, Audience::Public) => Sees::Public,
            (SearchKind::Posts, Audience::Member(authors)) => {
                Sees::Audience(authors.iter().map(|&a| a.into()).collect())
            }
            _ => Sees::Everything,
        });
        let live: Vec<_> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect();
        self.segments.retain(&live);
        let ranked = |filter: Option<&dyn Query>, offset, limit| -> tantivy::Result<Ranked> {
            let filter = filter
                .map(|q| q.weight(EnableScoring::disabled_from_searcher(&searcher)))
                .transpose()?;
            let segments = self.segments.clone();
            let ranked = Ranked::new(now, offset, limit, filter, segments, admits);
            Ok(ranked.seeing(sees.clone()))
        };
        let reading = Reading {
            searcher: &searcher,
            segments: &self.segments,
        };
        let exact = crate::query::text(&self.fields, query, Tier::Exact, &filters, reading)?;
        let mut top = ranked(admitted.as_deref(), offset, limit)?.run(&searcher, exact.as_ref())?;
        if top.len() < limit && crate::query::has_loose_terms(query) {
            // The exact matches end on this page (or before it, when it is empty: only then
            // are they counted).
            let exact_total = match top.len() {
                0 if offset > 0 => {
                    ranked(admitted.as_deref(), 0, 1)?.count(&searcher, exact.as_ref())?
                }
                found => offset + found,
            };
            // The page runs past the exact matches: continue with the loose-only ones. Being
            // no exact match is checked like the other filters, on the documents that can rank.
            let loose = crate::query::text(&self.fields, query, Tier::Loose, &filters, reading)?;
            let admitted: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
                (Occur::Must, admitted.unwrap_or_else(|| Box::new(AllQuery))),
                (Occur::MustNot, exact),
            ]));
            let skip = offset.saturating_sub(exact_total);
            let more = ranked(Some(admitted.as_ref()), skip, limit - top.len())?
                .run(&searcher, loose.as_ref())?;
            top.extend(more);
        }
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let hit = match query.kind {
                SearchKind::Posts | SearchKind::Profiles => {
                    let segment = searcher.segment_reader(address.segment_ord);
                    let columns = self.segments.of(segment, now)?.columns;
                    columns.id(address.doc_id).map(|id| match query.kind {
                        SearchKind::Posts => Hit::Post(PostId::from_uuid(id)),
                        _ => Hit::Profile(UserId::from_uuid(id)),
                    })
                }
                // A topic's key is its slug, in the document store.
                SearchKind::Topics => {
                    let doc: TantivyDocument = searcher.doc(address)?;
                    doc.get_first(self.fields.key)
                        .and_then(|v| v.as_str())
                        .and_then(parse_key)
                }
            };
            hits.extend(hit.map(|hit| (hit, score)));
        }
        Ok(hits)
    }
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
    use vendrome_core::enums::{PostType, PostVisibility, VerificationLevel};
    use vendrome_core::search::analysis::parse_query;
    use vendrome_core::search::{Audience, SearchFilters};

    use super::*;

    fn post(body: String, topic: &str, days_old: i64) -> PostDoc {
        PostDoc {
            id: PostId::new(),
            author_id: UserId::new(),
            author_level: VerificationLevel::EmailVerified,
            post_type: PostType::Text,
            visibility: PostVisibility::Public,
            body,
            topics: vec![topic.to_owned()],
            engagement: 0,
            created_at: vendrome_core::time::now() - chrono::Duration::days(days_old),
        }
    }

    fn search(generation: &Generation, q: &str, topic: Option<&str>) -> Vec<PostId> {
        let filters = SearchFilters {
            topic: topic.map(str::to_owned),
            ..SearchFilters::default()
        };
        search_with(generation, q, &filters)
    }

    fn search_with(generation: &Generation, q: &str, filters: &SearchFilters) -> Vec<PostId> {
        let mut found = Vec::new();
        loop {
            let query = SearchQuery {
                terms: parse_query(q),
                kind: SearchKind::Posts,
                filters: filters.clone(),
                audience: Audience::Public,
                offset: found.len() as u32,
                limit: 25,
                now: vendrome_core::time::now(),
            };
            let page = generation.search(&query).unwrap();
            if page.is_empty() {
                return found;
            }
            found.extend(page.into_iter().map(|(hit, _)| match hit {
                Hit::Post(id) => id,
                other => panic!("{other:?}"),
            }));
        }
    }

    /// "growth" and "marketing" are one synonym group, and "marketing" is stemmed to `market`:
    /// every post with one of those words holds the group's term instead of the stem, and each
    /// of the words finds them all, a post of one word scoring as a post of the other of the
    /// same length.
    #[test]
    fn a_word_and_its_one_word_synonyms_are_one_term() {
        let generation = Generation::in_memory().unwrap();
        let docs: Vec<PostDoc> = ["growth plans", "marketing plans", "market stall", "solar"]
            .into_iter()
            .map(|body| post(body.to_owned(), "fintech", 1))
            .collect();
        generation.put_posts(&docs).unwrap();
        generation.commit(CommitInfo { outbox_seq: 1 }).unwrap();
        let searcher = generation.reader.searcher();
        let group = Term::from_field_text(generation.fields.post.stems, "=marketing");
        assert_eq!(searcher.doc_freq(&group).unwrap(), 3);
        let stem = Term::from_field_text(generation.fields.post.stems, "growth");
        assert_eq!(searcher.doc_freq(&stem).unwrap(), 0);
        let mut grouped: Vec<PostId> = docs[..3].iter().map(|d| d.id).collect();
        grouped.sort();
        for q in ["growth ", "marketing ", "market "] {
            let mut found = search(&generation, q, None);
            found.sort();
            assert_eq!(found, grouped, "{q}");
        }
        let query = SearchQuery {
            terms: parse_query("growth "),
            kind: SearchKind::Posts,
            filters: SearchFilters::default(),
            audience: Audience::Public,
            offset: 0,
            limit: 25,
            now: vendrome_core::time::now(),
        };
        let scores: Vec<f32> = generation
            .search(&query)
            .unwrap()
            .into_iter()
            .map(|(_, score)| score)
            .collect();
        assert_eq!(scores.len(), 3);
        assert!(
            scores.iter().all(|s| (s - scores[0]).abs() < 1e-6),
            "{scores:?}"
        );
    }

    /// The stems fields name their tokenizer by the synonym list it was built with: an index
    /// whose stems were grouped by another list is not this version's, and is rebuilt.
    #[test]
    fn an_index_built_with_another_synonym_list_is_not_current() {
        let (schema, _) = Fields::schema();
        let mut other = tantivy::schema::Schema::builder();
        for (_, entry) in schema.fields() {
            let entry = match entry.field_type() {
                tantivy::schema::FieldType::Str(options)
                    if options.get_indexing_options().is_some_and(|indexing| {
                        indexing.tokenizer() == crate::groups::tokenizer_name()
                    }) =>
                {
                    let indexing = options.get_indexing_options().unwrap().clone();
                    let options = options.clone().set_indexing_options(
                        indexing.set_tokenizer("vendrome_stems_0000000000000000"),
                    );
                    tantivy::schema::FieldEntry::new_text(entry.name().to_owned(), options)
                }
                _ => entry.clone(),
            };
            other.add_field(entry);
        }
        let temp = tempfile::tempdir().unwrap();
        let (old, current) = (temp.path().join("old"), temp.path().join("current"));
        std::fs::create_dir_all(&old).unwrap();
        Index::create_in_dir(&old, other.build()).unwrap();
        Generation::create(&current, 1).unwrap();
        assert!(!Generation::has_current_schema(&old));
        assert!(Generation::open(&old).is_err());
        assert!(Generation::has_current_schema(&current));
    }

    /// 100 posts in two segments, each with a word beginning "ab" (two and three letters are
    /// terms of the prefix field; four expand to the words they begin), 60 with "logistics" (a
    /// typo away from the query, and of the stem of "logistic") and 40 with "logistic", 40 tagged fintech (a broad filter) and
    /// one in ten climate (a selective one): pages of loose and filtered matches hold every
    /// matching post exactly once.
    #[test]
    fn loose_matches_and_filters_find_every_post_once() {
        let generation = Generation::in_memory().unwrap();
        let letters = |i: usize| {
            let a = (b'a' + (i / 26) as u8) as char;
            let b = (b'a' + (i % 26) as u8) as char;
            format!("ab{a}{b}")
        };
        let mut docs = Vec::new();
        for i in 0..100 {
            let topic = match i % 10 {
                0 => "climate",
                n if n % 2 == 0 => "fintech",
                _ => "agritech",
            };
            let word = if i < 60 { "logistics" } else { "logistic" };
            docs.push(post(
                format!("{} {word} report", letters(i)),
                topic,
                i as i64,
            ));
        }
        generation.put_posts(&docs[..50]).unwrap();
        generation.commit(CommitInfo { outbox_seq: 1 }).unwrap();
        generation.put_posts(&docs[50..]).unwrap();
        generation.commit(CommitInfo { outbox_seq: 2 }).unwrap();
        let ids = |keep: &dyn Fn(usize) -> bool| -> Vec<PostId> {
            let mut ids: Vec<PostId> = (0..100).filter(|i| keep(*i)).map(|i| docs[i].id).collect();
            ids.sort();
            ids
        };
        let sorted = |mut found: Vec<PostId>| {
            found.sort();
            found
        };

        assert_eq!(sorted(search(&generation, "ab", None)), ids(&|_| true));
        assert_eq!(
            sorted(search(&generation, "abc", None)),
            ids(&|i| i / 26 == 2)
        );
        // Two and three letters match by the prefix field, four by the words it begins.
        assert_eq!(
            sorted(search(&generation, "abcd", None)),
            ids(&|i| i == 2 * 26 + 3)
        );
        // "logistics" and "logistic" share a stem: every post matches "logistic" exactly.
        let exact = search(&generation, "logistic ", None);
        assert_eq!(sorted(exact), ids(&|_| true));
        // One edit from "logistics" (two from "logistic"): a typo finds what the word it is
        // one edit from finds, its stem's every form.
        assert_eq!(
            sorted(search(&generation, "logistcs ", None)),
            ids(&|_| true)
        );
        assert_eq!(
            sorted(search(&generation, "logistcs ", Some("fintech"))),
            ids(&|i| i % 10 != 0 && i % 2 == 0)
        );
        // Two edits from both: nothing.
        assert!(search(&generation, "logstcs ", None).is_empty());
        assert_eq!(
            sorted(search(&generation, "ab", Some("climate"))),
            ids(&|i| i % 10 == 0)
        );
        // Among equal matches, newest first (their boost is higher).
        assert_eq!(
            search(&generation, "report ", None),
            (0..100).map(|i| docs[i].id).collect::<Vec<_>>()
        );

        // A third segment: its words are found too (each segment's typo and prefix words are
        // found once and kept).
        let mut later = Vec::new();
        for i in 0..10 {
            later.push(post(format!("abzz{i} logistics report"), "agritech", 0));
        }
        generation.put_posts(&later).unwrap();
        generation.commit(CommitInfo { outbox_seq: 3 }).unwrap();
        let mut with_later = ids(&|_| true);
        with_later.extend(later.iter().map(|p| p.id));
        with_later.sort();
        assert_eq!(sorted(search(&generation, "logistcs ", None)), with_later);
        assert_eq!(sorted(search(&generation, "abz", None)), {
            let mut abz: Vec<PostId> = later.iter().map(|p| p.id).collect();
            abz.sort();
            abz
        });
    }

    /// Posts of a type other than text are matched by their typed stems when a query filters
    /// by that type (exactly), and through the type filter when they need a typo or a prefix:
    /// both find every post of the type, and only those.
    #[test]
    fn a_post_type_filter_finds_every_post_of_the_type_once() {
        let generation = Generation::in_memory().unwrap();
        let types = [
            PostType::Product,
            PostType::Text,
            PostType::MentorshipRequest,
        ];
        let mut docs = Vec::new();
        for i in 0..90 {
            let mut doc = post(format!("logistics pilot{i} mentor"), "fintech", i as i64);
            doc.post_type = types[i % 3];
            docs.push(doc);
        }
        generation.put_posts(&docs[..45]).unwrap();
        generation.commit(CommitInfo { outbox_seq: 1 }).unwrap();
        generation.put_posts(&docs[45..]).unwrap();
        generation.commit(CommitInfo { outbox_seq: 2 }).unwrap();
        // The typed stems hold the posts of their type, and text posts have none.
        let searcher = generation.reader.searcher();
        let stem = vendrome_core::search::analysis::stem("logistics");
        for (post_type, posts) in [(PostType::Product, 30), (PostType::Text, 0)] {
            let typed = crate::schema::typed_stem(post_type, &stem);
            let term = Term::from_field_text(generation.fields.post_typed, &typed);
            assert_eq!(searcher.doc_freq(&term).unwrap(), posts);
        }
        for post_type in types {
            let filters = SearchFilters {
                post_type: Some(post_type),
                ..SearchFilters::default()
            };
            let mut want: Vec<PostId> = docs
                .iter()
                .filter(|d| d.post_type == post_type)
                .map(|d| d.id)
                .collect();
            want.sort();
            // Exact, a synonym ("coach" is one of "mentor"), a typo, a prefix.
            for q in ["logistics ", "coach ", "logistcs ", "pilo"] {
                let mut found = search_with(&generation, q, &filters);
                found.sort();
                assert_eq!(found, want, "{q} {post_type:?}");
            }
        }
    }
}
