//! Ranking: the best hits by text relevance × [`boost`] (engagement and recency), found without
//! scoring every match.
//!
//! A query runs as two parts (see `query.rs`): the text clauses, which score, and a filter that
//! admits documents and scores nothing. Each segment is searched with tantivy's pruning
//! (`Weight::for_each_pruning`: block-max WAND when the text is a union or an intersection of
//! terms), so only documents that can still enter the top are offered at all. The threshold it
//! prunes with is the worst boosted score kept, divided by the largest boost any document from
//! the current one to the segment's end can have ([`crate::bounds`]): a document below it
//! cannot enter whatever its boost. A segment's documents are sorted by their boost when
//! indexed, so that bound falls as the walk goes on. Offered documents are boosted, and those
//! that would enter the top are checked against the viewer's visibility and the filter.
//!
//! The order is the same as scoring every match: score, then the earlier document first.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{EnableScoring, Query, Scorer, Weight};
use tantivy::{DocAddress, DocId, DocSet as _, Score, Searcher, SegmentOrdinal, SegmentReader};
use vendrome_core::search::{boost, RECENCY_HALF_LIFE_DAYS};

use crate::bounds::{Admits, SegmentBounds};
use crate::columns::{Columns, Sees};
use crate::segments::Segments;

/// Relative room left under a pruning threshold, so that rounding never prunes a document
/// that ties the floor.
const SLACK: Score = 1e-4;

/// The hits ranked `offset..offset + limit` among the documents the text matches and `filter`
/// admits.
pub struct Ranked {
    now: i64,
    offset: usize,
    limit: usize,
    /// Built with scoring disabled; `None` admits every document.
    filter: Option<Box<dyn Weight>>,
    /// Whose connections-only posts may rank.
    sees: Arc<Sees>,
    segments: Arc<Segments>,
    /// The documents the text and the filter can let in (which bounds apply).
    admits: Admits,
    /// The highest worst-kept score of any segment searched so far (`f32` bits; 0 for none):
    /// that segment alone has enough documents above it, so no document below it can rank.
    floor: AtomicU32,
}

impl Ranked {
    pub fn new(
        now: i64,
        offset: usize,
        limit: usize,
        filter: Option<Box<dyn Weight>>,
        segments: Arc<Segments>,
        admits: Admits,
    ) -> Self {
        Self {
            now,
            offset,
            limit: limit.max(1),
            filter,
            sees: Arc::new(Sees::Everything),
            segments,
            admits,
            floor: AtomicU32::new(0),
        }
    }

    /// Ranks only the posts `sees` lets the viewer see (every document by default).
    pub fn seeing(mut self, sees: Arc<Sees>) -> Self {
        self.sees = sees;
        self
    }

    /// How many documents `query` matches that the filter admits and the viewer may see.
    pub fn count(&self, searcher: &Searcher, query: &dyn Query) -> tantivy::Result<usize> {
        let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
        let mut count = 0;
        for (ordinal, reader) in searcher.segment_readers().iter().enumerate() {
            let mut ranked = self.for_segment(ordinal as SegmentOrdinal, reader)?;
            let alive = reader.alive_bitset();
            weight.for_each_no_score(reader, &mut |docs| {
                for &doc in docs {
                    if alive.is_none_or(|alive| alive.is_alive(doc)) && ranked.lets_in(doc) {
                        count += 1;
                    }
                }
            })?;
        }
        Ok(count)
    }

    /// Runs `query` over every segment of `searcher`, the one with the largest possible boost
    /// first: the floor its best documents set lets the others skip most of their postings.
    pub fn run(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
    ) -> tantivy::Result<Vec<(Score, DocAddress)>> {
        let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
        let mut segments = Vec::with_capacity(searcher.segment_readers().len());
        for (ordinal, reader) in searcher.segment_readers().iter().enumerate() {
            let bound = self
                .segments
                .of(reader, self.now)?
                .bounds
                .from(0, self.admits);
            segments.push((bound, ordinal as SegmentOrdinal, reader));
        }
        segments.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut fruits = Vec::with_capacity(segments.len());
        for (_, ordinal, reader) in segments {
            fruits.push(self.collect_segment(weight.as_ref(), ordinal, reader)?);
        }
        self.merge_fruits(fruits)
    }

    /// The text score a document needs to rank when no document from it onward has a boost
    /// above `bound`.
    fn threshold(&self, bound: Score) -> Score {
        let floor = Score::from_bits(self.floor.load(AtomicOrdering::Relaxed));
        if floor <= 0.0 {
            return Score::MIN;
        }
        // Slack, so that rounding never prunes a document that ties the floor.
        floor / bound * (1.0 - SLACK)
    }

    fn raise_floor(&self, worst: Score) {
        // Scores are positive, and positive floats order as their bits do.
        self.floor
            .fetch_max(worst.max(0.0).to_bits(), AtomicOrdering::Relaxed);
    }
}

impl Collector for Ranked {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = SegmentRanked;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentRanked> {
        let filter = match &self.filter {
            Some(weight) => Some(weight.scorer(reader, 1.0)?),
            None => None,
        };
        let kept = self.segments.of(reader, self.now)?;
        Ok(SegmentRanked {
            segment,
            now: self.now,
            filter,
            sees: self.sees.clone(),
            columns: kept.columns,
            bounds: kept.bounds,
            top: Top::new(self.offset + self.limit),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(
        &self,
        segments: Vec<Vec<(Score, DocAddress)>>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<(Score, DocAddress)> = segments.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(all.into_iter().skip(self.offset).take(self.limit).collect())
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<(Score, DocAddress)>> {
        let mut ranked = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        let start = self.threshold(ranked.bounds.from(0, self.admits));
        weight.for_each_pruning(start, reader, &mut |doc, score| {
            if alive.is_none_or(|alive| alive.is_alive(doc)) {
                if let Some(worst) = ranked.offer(doc, score) {
                    self.raise_floor(worst);
                }
            }
            // Every document after this one has a boost of at most this bound.
            let bound = ranked.bounds.from(doc + 1, self.admits);
            let own = ranked
                .top
                .worst()
                .map_or(Score::MIN, |worst| tied(worst, bound));
            self.threshold(bound).max(own)
        })?;
        Ok(ranked.harvest())
    }
}

/// The largest text score that, boosted by at most `bound`, is at most `worst`. A later document
/// of the segment that kept `worst` scoring no more cannot enter its top: at best it ties, and
/// the earlier document wins a tie. (The floor of all segments is used with [`SLACK`] instead:
/// a document of another segment may win a tie.) Without this, documents tying the worst kept,
/// common among short texts of equal boost, were each offered and refused.
fn tied(worst: Score, bound: Score) -> Score {
    if bound <= 0.0 {
        return Score::INFINITY;
    }
    let mut score = worst / bound;
    while score * bound > worst {
        score = score.next_down();
    }
    while score.next_up() * bound <= worst {
        score = score.next_up();
    }
    score
}

/// One segment's part of [`Ranked`].
pub struct SegmentRanked {
    segment: SegmentOrdinal,
    now: i64,
    filter: Option<Box<dyn Scorer>>,
    sees: Arc<Sees>,
    columns: Arc<Columns>,
    bounds: Arc<SegmentBounds>,
    top: Top,
}

impl SegmentRanked {
    /// Keeps `doc` if it ranks among the best so far, the viewer may see it and the filter
    /// admits it (checked in that order: the first is the cheapest and rejects the most);
    /// returns the worst boosted score kept once the top is full.
    fn offer(&mut self, doc: DocId, score: Score) -> Option<Score> {
        let boosted = score * self.columns.boost(doc, self.now);
        if !self.top.would_keep(boosted, doc) || !self.lets_in(doc) {
            return self.top.worst();
        }
        self.top.push(boosted, doc)
    }

    /// Whether the viewer may see `doc` and the filter admits it.
    fn lets_in(&mut self, doc: DocId) -> bool {
        self.columns.visible(doc, &self.sees) && self.admits(doc)
    }

    fn admits(&mut self, doc: DocId) -> bool {
        let Some(filter) = &mut self.filter else {
            return true;
        };
        // Documents are offered in increasing order, so the filter only moves forward.
        if filter.doc() < doc {
            filter.seek(doc);
        }
        filter.doc() == doc
    }
}

impl SegmentCollector for SegmentRanked {
    type Fruit = Vec<(Score, DocAddress)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.offer(doc, score);
    }

    fn harvest(self) -> Self::Fruit {
        let segment = self.segment;
        self.top
            .into_sorted()
            .into_iter()
            .map(|(score, doc)| (score, DocAddress::new(segment, doc)))
            .collect()
    }
}

/// `boost` for every document a query matches: its engagement factor from a table for the
/// common values, and the recency in single precision (the two logarithms in double precision
/// were a tenth of a query's time).
pub(crate) fn fast_boost(engagement: i64, created: i64, now: i64) -> f32 {
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
    let half_lives = age_days / RECENCY_HALF_LIFE_DAYS as f32;
    engagement * (0.5 + 0.5 * (-half_lives).exp2())
}

/// The best `keep` (score, document) pairs offered: a heap with the worst on top.
struct Top {
    keep: usize,
    heap: BinaryHeap<Worst>,
}

/// Ordered so that the worse entry is the greater: a lower score, or the later document.
#[derive(Clone, Copy)]
struct Worst(Score, DocId);

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Worst {}

impl Top {
    fn new(keep: usize) -> Self {
        Self {
            keep,
            heap: BinaryHeap::with_capacity(keep + 1),
        }
    }

    /// Whether `push` would keep this entry.
    fn would_keep(&self, score: Score, doc: DocId) -> bool {
        self.heap.len() < self.keep || self.heap.peek().is_some_and(|w| Worst(score, doc) < *w)
    }

    fn push(&mut self, score: Score, doc: DocId) -> Option<Score> {
        let entry = Worst(score, doc);
        if self.heap.len() < self.keep {
            self.heap.push(entry);
        } else if self.heap.peek().is_some_and(|worst| entry < *worst) {
            self.heap.pop();
            self.heap.push(entry);
        }
        self.worst()
    }

    fn worst(&self) -> Option<Score> {
        (self.heap.len() == self.keep)
            .then(|| self.heap.peek().map(|w| w.0))
            .flatten()
    }

    /// Best first.
    fn into_sorted(self) -> Vec<(Score, DocId)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Worst(score, doc)| (score, doc))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{
        BooleanQuery, BoostQuery, ConstScoreQuery, EnableScoring, Occur, Query, TermQuery,
    };
    use tantivy::schema::{IndexRecordOption, Schema, FAST, INDEXED, STRING, TEXT};
    use tantivy::{doc, Index, IndexWriter, Term};
    use uuid::Uuid;

    use super::*;
    use crate::columns::{AUTHOR, CONNECTIONS_ONLY};

    /// Three segments of documents with random words, engagement and age, some deleted, sorted
    /// newest first (and unsorted), and of short texts that mostly tie: the pruned ranking
    /// equals scoring every match and boosting it, for unions (block-max WAND), single terms,
    /// intersections, with and without a filter, on every page.
    #[test]
    fn pruning_ranks_as_scoring_every_match() -> tantivy::Result<()> {
        for sorted in [true, false] {
            pruning_ranks_as_scoring_every_match_in(sorted, false)?;
        }
        // Short texts, nearly all of one boost: most matches tie, within and across segments.
        pruning_ranks_as_scoring_every_match_in(true, true)
    }

    fn pruning_ranks_as_scoring_every_match_in(sorted: bool, ties: bool) -> tantivy::Result<()> {
        let mut schema = Schema::builder();
        let key = schema.add_text_field("key", STRING);
        let text = schema.add_text_field("text", TEXT);
        let kind = schema.add_text_field("kind", STRING);
        let engagement = schema.add_i64_field("engagement", FAST);
        let created = schema.add_i64_field("created", FAST);
        let connections_only = schema.add_u64_field(CONNECTIONS_ONLY, FAST | INDEXED);
        let [author_high, author_low] =
            AUTHOR.map(|name| schema.add_u64_field(name, FAST | INDEXED));
        let mut settings = tantivy::IndexSettings::default();
        if sorted {
            settings.sort_by_field = Some(tantivy::IndexSortByField {
                field: "created".into(),
                order: tantivy::Order::Desc,
            });
        }
        let index = Index::builder()
            .schema(schema.build())
            .settings(settings)
            .create_in_ram()?;
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        let now = 1_800_000_000_i64;
        let mut random = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            random % n
        };
        let words = ["alpha", "beta", "gamma", "delta", "epsilon"];
        for segment in 0..3 {
            for i in 0..700 {
                let length = if ties { 1 + next(2) } else { 1 + next(12) };
                let body: Vec<&str> = (0..length).map(|_| words[next(5) as usize]).collect();
                let age = if ties || next(10) == 0 {
                    0
                } else {
                    now - next(400 * 86_400) as i64
                };
                // With ties, the last segment's first document has a larger boost: that
                // segment is searched first, and the others' documents must still win its ties.
                let engagement_value = match (ties, segment, i) {
                    (true, 2, 0) => 6_000,
                    (true, _, _) => 0,
                    (false, _, _) => next(6_000) as i64,
                };
                // Three authors, whose ids' halves are both their number.
                let author = 1 + next(3);
                writer.add_document(doc!(
                    key => format!("{segment}-{i}"),
                    text => body.join(" "),
                    kind => if next(10) == 0 { "other" } else { "post" },
                    engagement => engagement_value,
                    created => age,
                    connections_only => u64::from(next(4) == 0),
                    author_high => author,
                    author_low => author,
                ))?;
            }
            for i in (0..700).step_by(7) {
                writer.delete_term(Term::from_field_text(key, &format!("{segment}-{i}")));
            }
            writer.commit()?;
        }
        let reader = index.reader()?;
        let searcher = reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 3);

        let term = |word: &str, boost: f32| -> Box<dyn Query> {
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(text, word),
                    IndexRecordOption::WithFreqs,
                )),
                boost,
            ))
        };
        let union = |a: &str, b: &str| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(vec![
                (Occur::Should, term(a, 2.0)),
                (Occur::Should, term(b, 1.0)),
            ]))
        };
        let texts: Vec<Box<dyn Query>> = vec![
            union("alpha", "beta"),
            term("gamma", 1.0),
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, union("alpha", "delta")),
                (Occur::Must, union("epsilon", "beta")),
            ])),
        ];
        let posts: Box<dyn Query> = Box::new(TermQuery::new(
            Term::from_field_text(kind, "post"),
            IndexRecordOption::Basic,
        ));
        let segments = Arc::new(Segments::new(kind));
        let u64_term = |field, value| -> Box<dyn Query> {
            let term = Term::from_field_u64(field, value);
            Box::new(TermQuery::new(term, IndexRecordOption::Basic))
        };
        // What each viewer may not see: the connections-only posts (of authors other than 1).
        let sees = [
            (Sees::Everything, None),
            (Sees::Public, Some(u64_term(connections_only, 1))),
            (
                Sees::Audience([Uuid::from_u128(1 << 64 | 1)].into()),
                Some(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, u64_term(connections_only, 1)),
                    (Occur::MustNot, u64_term(author_low, 1)),
                ])) as Box<dyn Query>),
            ),
        ];
        for text in &texts {
            for filter in [None, Some(posts.box_clone())] {
                let admits = match filter {
                    Some(_) => Admits::Posts,
                    None => Admits::Any,
                };
                for ((sees, hidden), offset) in sees
                    .iter()
                    .flat_map(|s| [0, 10, 45, 300].map(|offset| (s, offset)))
                {
                    let sees = Arc::new(sees.clone());
                    let weight = filter
                        .as_ref()
                        .map(|f| f.weight(EnableScoring::disabled_from_searcher(&searcher)))
                        .transpose()?;
                    let ranked = Ranked::new(now, offset, 10, weight, segments.clone(), admits)
                        .seeing(sees.clone());
                    // In the searcher's order, and in the order `run` picks.
                    let pruned = searcher.search(text, &ranked)?;
                    let weight = filter
                        .as_ref()
                        .map(|f| f.weight(EnableScoring::disabled_from_searcher(&searcher)))
                        .transpose()?;
                    let ranked =
                        Ranked::new(now, offset, 10, weight, segments.clone(), admits).seeing(sees);
                    assert_eq!(ranked.run(&searcher, text.as_ref())?, pruned);

                    let mut all = vec![(Occur::Must, text.box_clone())];
                    all.extend(filter.as_ref().map(|f| {
                        let f: Box<dyn Query> = Box::new(ConstScoreQuery::new(f.box_clone(), 0.0));
                        (Occur::Must, f)
                    }));
                    all.extend(hidden.as_ref().map(|h| (Occur::MustNot, h.box_clone())));
                    let matching =
                        BooleanQuery::new(all.iter().map(|(o, q)| (*o, q.box_clone())).collect());
                    assert_eq!(
                        ranked.count(&searcher, text.as_ref())?,
                        searcher.search(&matching, &Count)?
                    );
                    let every = TopDocs::with_limit(10).and_offset(offset).tweak_score(
                        move |segment: &SegmentReader| {
                            let columns = Columns::open(segment);
                            move |doc: DocId, score: Score| score * columns.boost(doc, now)
                        },
                    );
                    let expected = searcher.search(&BooleanQuery::new(all), &every)?;
                    assert_eq!(
                        pruned.len(),
                        expected.len(),
                        "{text:?} {offset} {sorted} {ties}"
                    );
                    for ((score, address), (want, want_address)) in pruned.iter().zip(&expected) {
                        assert_eq!(
                            address, want_address,
                            "{text:?} {filter:?} {offset} {sorted} {ties}"
                        );
                        assert!((score - want).abs() <= want * 1e-5, "{score} vs {want}");
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn tied_is_the_largest_score_that_cannot_beat_the_worst() {
        let mut random = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..100_000 {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let worst = (random % 1_000_000) as Score / 1_000.0 + 0.001;
            let bound = 0.5 + (random >> 32) as Score % 1_500.0 / 1_000.0;
            let score = tied(worst, bound);
            assert!(score * bound <= worst, "{worst} {bound}");
            assert!(score.next_up() * bound > worst, "{worst} {bound}");
        }
        assert_eq!(tied(1.0, 0.0), Score::INFINITY);
    }

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

    #[test]
    fn the_top_keeps_the_best_and_the_earlier_of_equals() {
        let mut top = Top::new(3);
        assert_eq!(top.push(1.0, 10), None);
        assert_eq!(top.push(3.0, 11), None);
        assert_eq!(top.push(2.0, 12), Some(1.0));
        assert_eq!(top.push(0.5, 13), Some(1.0), "a worse one is not kept");
        assert_eq!(
            top.push(2.0, 14),
            Some(2.0),
            "an equal one after the kept one"
        );
        assert_eq!(top.push(2.0, 9), Some(2.0));
        assert_eq!(top.into_sorted(), vec![(3.0, 11), (2.0, 9), (2.0, 12)]);
    }
}
