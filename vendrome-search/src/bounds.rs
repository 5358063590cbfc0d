//! Upper bounds of the ranking boost, from any document of a segment onward.
//!
//! Ranking multiplies text relevance by a boost between 0.5 and about 2 (engagement and
//! recency), so a pruning threshold on relevance alone must divide the worst boosted score kept
//! by the largest boost any document still to come can have. The index keeps each segment's
//! documents sorted by their boost when indexed, highest first (see `index.rs`), so that bound
//! falls as a search walks a segment: past the engaging and recent posts it is the boost of the
//! others, and most of their postings can be skipped.
//!
//! For each segment and run of [`CHUNK`] documents, [`SegmentBounds`] records the largest
//! boost of any document from that run to the segment's end, separately for posts and for the
//! other kinds (a posts query admits only posts, and profiles sort last: their boost would
//! otherwise bound every post). Bounds are computed at one moment and stay valid later, since a
//! document's boost only falls with age and its engagement is fixed within a segment (a change
//! re-adds the document elsewhere). They are refreshed hourly to stay tight.

use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet as _, Score, SegmentReader, Term, TERMINATED};
use vendrome_core::search::SearchKind;

use crate::columns::Columns;

/// Documents per bound.
const CHUNK_BITS: u32 = 6;
pub const CHUNK: u32 = 1 << CHUNK_BITS;
/// Bounds older than this are recomputed (they stay valid, only less tight).
pub const REFRESH_SECONDS: i64 = 3_600;

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

/// One segment's bounds (see the module docs).
pub struct SegmentBounds {
    /// The moment they were computed for.
    pub(crate) at: i64,
    posts: Vec<Score>,
    others: Vec<Score>,
}

impl SegmentBounds {
    pub(crate) fn compute(
        segment: &SegmentReader,
        columns: &Columns,
        kind: Field,
        now: i64,
    ) -> tantivy::Result<Self> {
        let max_doc = segment.max_doc();
        let chunks = max_doc.div_ceil(CHUNK) as usize + 1;
        let mut posts: Vec<Score> = vec![0.0; chunks];
        let mut others: Vec<Score> = vec![0.0; chunks];
        let post = Term::from_field_text(kind, crate::schema::kind_name(SearchKind::Posts));
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
            slot[chunk] = slot[chunk].max(columns.boost(doc, now));
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
