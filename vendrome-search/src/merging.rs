//! Which segments merge: tantivy's log merge policy, with no merged segment above
//! [`MAX_SEGMENT_DOCS`] documents.
//!
//! Ranking prunes a segment by the largest boost of any of its documents still to come
//! (`bounds.rs`). Segments written one after another cover stretches of time, so each one's
//! bound is the boost of its own posts; one segment of every post would be bounded by the most
//! engaged post of all time until the walk passed it, and would skip far less (measured on the
//! benchmark's 1.1M documents: a one-word query scored 4× as many postings in one segment as
//! in eight). Capped segments keep a few dozen segments at most for millions of documents, and a
//! query's cost per segment (a term lookup each) stays small.

use tantivy::index::SegmentMeta;
use tantivy::merge_policy::{LogMergePolicy, MergeCandidate, MergePolicy};

/// The most documents a merge may produce.
pub const MAX_SEGMENT_DOCS: u32 = 1 << 17;

#[derive(Debug, Default)]
pub struct CappedMerges {
    log: LogMergePolicy,
}

impl MergePolicy for CappedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let docs = |id| {
            segments
                .iter()
                .find(|s| s.id() == id)
                .map_or(0, SegmentMeta::num_docs)
        };
        let mut capped = Vec::new();
        for MergeCandidate(ids) in self.log.compute_merge_candidates(segments) {
            // Consecutive runs of the candidate that fit under the cap (the log policy lists
            // a level largest first).
            let mut run: Vec<_> = Vec::new();
            let mut total = 0;
            for id in ids {
                let n = docs(id);
                if total + n > MAX_SEGMENT_DOCS && !run.is_empty() {
                    capped.push(std::mem::take(&mut run));
                    total = 0;
                }
                if n < MAX_SEGMENT_DOCS {
                    run.push(id);
                    total += n;
                }
            }
            capped.push(run);
        }
        capped
            .into_iter()
            .filter(|run| run.len() > 1)
            .map(MergeCandidate)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, INDEXED};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;

    /// Ten segments of 20,000 documents: the log policy would merge them into one of 200,000;
    /// capped, no merge makes a segment above the cap, and some merge still happens.
    #[test]
    fn merges_stay_under_the_cap() {
        let mut schema = Schema::builder();
        let n = schema.add_u64_field("n", INDEXED);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
        for segment in 0..10u64 {
            for i in 0..20_000u64 {
                writer
                    .add_document(doc!(n => segment * 20_000 + i))
                    .unwrap();
            }
            writer.commit().unwrap();
        }
        let metas = index.searchable_segment_metas().unwrap();
        assert_eq!(metas.len(), 10);
        let candidates = CappedMerges::default().compute_merge_candidates(&metas);
        assert!(!candidates.is_empty());
        for MergeCandidate(ids) in candidates {
            let docs: u32 = ids
                .iter()
                .map(|id| metas.iter().find(|m| m.id() == *id).unwrap().num_docs())
                .sum();
            assert!(ids.len() > 1 && docs <= MAX_SEGMENT_DOCS, "{docs}");
        }
    }
}
