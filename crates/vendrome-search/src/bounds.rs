//! Upper bounds of the ranking boost, from any document of a segment onward.
//!
//! Ranking multiplies text relevance by a boost between 0.5 and about 2 (engagement and
//! recency), so a pruning threshold on relevance alone must divide the worst boosted score kept
//! by the largest boost any document still to come can have. The index keeps each segment's
//! documents sorted by creation time, newest first (see `index.rs`), so that bound falls as a
//! search walks a segment: past the recent posts it is the boost of older ones, and most of
//! their postings can be skipped.
//!
//! For each segment and run of [`CHUNK`] documents, [`SegmentBounds`] records the largest
//! boost of any document from that run to the segment's end, separately for posts and for the
//! other kinds (a posts query admits only posts, and profiles sort last: their boost would
//! otherwise bound every post). Bounds are computed at one moment and stay valid later, since a
//! document's boost only falls with age and its engagement is fixed within a segment (a change
//! re-adds the document elsewhere). They are refreshed hourly to stay tight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet as _, Score, SegmentReader, Term, TERMINATED};

use crate::ranking::Boosts;

/// Documents per bound.
const CHUNK_BITS: u32 = 6;
pub const CHUNK: u32 = 1 << CHUNK_BITS;
/// Bounds older than this are recomputed (they stay valid, only less tight).
const REFRESH_SECONDS: i64 = 3_600;

/// Which documents a query can rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admits {
    Posts,
    /// Profiles and topics.
    Others,
    /// Every kind (tests rank documents of any kind).
    #[cfg(test)]
    Any,
}

/// The bounds of each segment a generation's searches have seen.
pub struct Bounds {
    kind: Field,
    segments: Mutex<HashMap<SegmentId, Arc<SegmentBounds>>>,
}

impl Bounds {
    /// `kind` holds `post` for every post.
    pub fn new(kind: Field) -> Self {
        Self {
            kind,
            segments: Mutex::new(HashMap::new()),
        }
    }

    /// The bounds of `segment` valid at `now` (computed on first use, and again once stale).
    pub fn of(&self, segment: &SegmentReader, now: i64) -> tantivy::Result<Arc<SegmentBounds>> {
        let id = segment.segment_id();
        if let Some(found) = self.lock().get(&id) {
            if found.at <= now && now - found.at < REFRESH_SECONDS {
                return Ok(found.clone());
            }
        }
        let computed = Arc::new(SegmentBounds::compute(segment, self.kind, now)?);
        let mut segments = self.lock();
        match segments.get(&id) {
            // Bounds computed for a later moment are not valid now.
            Some(kept) if kept.at > now => {}
            _ => {
                segments.insert(id, computed.clone());
            }
        }
        Ok(computed)
    }

    /// Forgets segments other than `live` (merged away or deleted).
    pub fn retain(&self, live: &[SegmentId]) {
        let mut segments = self.lock();
        if segments.len() > live.len() {
            segments.retain(|id, _| live.contains(id));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentBounds>>> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One segment's bounds (see the module docs).
pub struct SegmentBounds {
    /// The moment they were computed for.
    at: i64,
    posts: Vec<Score>,
    others: Vec<Score>,
}

impl SegmentBounds {
    fn compute(segment: &SegmentReader, kind: Field, now: i64) -> tantivy::Result<Self> {
        let max_doc = segment.max_doc();
        let chunks = max_doc.div_ceil(CHUNK) as usize + 1;
        let mut posts: Vec<Score> = vec![0.0; chunks];
        let mut others: Vec<Score> = vec![0.0; chunks];
        let boosts = Boosts::new(segment, now);
        let post = Term::from_field_text(kind, "post");
        let mut post_docs = segment
            .inverted_index(kind)?
            .read_postings(&post, IndexRecordOption::Basic)?;
        let mut next_post = post_docs.as_mut().map_or(TERMINATED, |p| p.doc());
        for doc in 0..max_doc {
            let is_post = doc == next_post;
            if is_post {
                next_post = post_docs.as_mut().map_or(TERMINATED, |p| p.advance());
            }
            let chunk = (doc >> CHUNK_BITS) as usize;
            let slot = if is_post { &mut posts } else { &mut others };
            slot[chunk] = slot[chunk].max(boosts.at(doc));
        }
        for bounds in [&mut posts, &mut others] {
            for chunk in (0..chunks - 1).rev() {
                bounds[chunk] = bounds[chunk].max(bounds[chunk + 1]);
            }
        }
        Ok(Self {
            at: now,
            posts,
            others,
        })
    }

    /// No document from `doc` to the segment's end that `admits` lets in has a larger boost
    /// (0 when there is none).
    pub fn from(&self, doc: DocId, admits: Admits) -> Score {
        let chunk = (doc >> CHUNK_BITS) as usize;
        let at = |bounds: &[Score]| bounds.get(chunk).copied().unwrap_or(0.0);
        match admits {
            Admits::Posts => at(&self.posts),
            Admits::Others => at(&self.others),
            #[cfg(test)]
            Admits::Any => at(&self.posts).max(at(&self.others)),
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, FAST, STRING};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;
    use crate::ranking::fast_boost;

    /// Every bound is at least the boost of every later document of its kind, and equals the
    /// largest one.
    #[test]
    fn bounds_cover_every_later_document() -> tantivy::Result<()> {
        let mut schema = Schema::builder();
        let kind = schema.add_text_field("kind", STRING);
        let engagement = schema.add_i64_field("engagement", FAST);
        let created = schema.add_i64_field("created", FAST);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        let now = 1_800_000_000_i64;
        let mut docs = Vec::new();
        for i in 0..1_000_i64 {
            let is_post = i % 3 != 0;
            let e = (i * 7919) % 300;
            let c = if is_post {
                now - (i * 4_099) % 30_000_000
            } else {
                0
            };
            writer.add_document(doc!(
                kind => if is_post { "post" } else { "profile" },
                engagement => e,
                created => c,
            ))?;
            docs.push((is_post, fast_boost(e, c, now)));
        }
        writer.commit()?;
        let searcher = index.reader()?.searcher();
        let segment = searcher.segment_reader(0);
        let bounds = Bounds::new(kind);
        let of = bounds.of(segment, now)?;
        for doc in 0..docs.len() as DocId {
            let start = (doc / CHUNK * CHUNK) as usize;
            let later = |posts: bool| {
                docs[start..]
                    .iter()
                    .filter(|(p, _)| *p == posts)
                    .map(|(_, b)| *b)
                    .fold(0.0, Score::max)
            };
            assert_eq!(of.from(doc, Admits::Posts), later(true), "{doc}");
            assert_eq!(of.from(doc, Admits::Others), later(false), "{doc}");
            assert_eq!(
                of.from(doc, Admits::Any),
                later(true).max(later(false)),
                "{doc}"
            );
        }
        assert_eq!(of.from(docs.len() as DocId + CHUNK, Admits::Any), 0.0);
        // Later moments reuse the bounds; an earlier one gets its own.
        assert!(Arc::ptr_eq(&of, &bounds.of(segment, now + 60)?));
        assert!(!Arc::ptr_eq(&of, &bounds.of(segment, now - 60)?));
        assert!(bounds.of(segment, now - 60)?.from(0, Admits::Posts) >= of.from(0, Admits::Posts));
        bounds.retain(&[]);
        assert!(bounds.lock().is_empty());
        Ok(())
    }
}
