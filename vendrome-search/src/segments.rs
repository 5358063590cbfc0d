//! What a generation's searches keep of each segment between queries: its fast-field columns
//! (opened once), its boost bounds (computed at first use, again once stale) and the words its
//! typo and prefix automata matched (see [`Expansion`]). A segment never changes once written,
//! so all stay valid for as long as it lives; segments merged away are forgotten.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::SegmentReader;

use crate::bounds::{SegmentBounds, REFRESH_SECONDS};
use crate::columns::Columns;

/// One segment's kept data.
#[derive(Clone)]
pub struct Segment {
    pub columns: Arc<Columns>,
    pub bounds: Arc<SegmentBounds>,
}

/// A typo's or a prefix's automaton over one field's words: walking a segment's term dictionary
/// with it was a fifth of a typo query's time, for the same few words every time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Expansion {
    pub field: Field,
    pub word: String,
    pub automaton: Automaton,
}

/// What an [`Expansion`]'s word matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Automaton {
    /// Words this many edits away (transpositions count as one).
    Typos(u8),
    /// Words it begins.
    Prefix,
}

/// The words of one segment each expansion matched, as its finder listed them.
type Expanded = HashMap<Expansion, Arc<[Vec<u8>]>>;

/// The segments a generation's searches have seen.
pub struct Segments {
    /// Holds `post` for every post (the bounds keep posts apart).
    kind: Field,
    entries: Mutex<HashMap<SegmentId, Segment>>,
    expanded: Mutex<HashMap<SegmentId, Expanded>>,
}

impl Segments {
    /// Expansions kept per segment; past it they are forgotten and found again.
    const KEPT_PER_SEGMENT: usize = 1_024;

    pub fn new(kind: Field) -> Self {
        Self {
            kind,
            entries: Mutex::new(HashMap::new()),
            expanded: Mutex::new(HashMap::new()),
        }
    }

    /// The words of `segment` that `expansion` matches, as `find` lists them (it walks the
    /// segment's term dictionary): found once per segment and kept.
    pub fn expand(
        &self,
        segment: &SegmentReader,
        expansion: &Expansion,
        find: impl FnOnce() -> tantivy::Result<Vec<Vec<u8>>>,
    ) -> tantivy::Result<Arc<[Vec<u8>]>> {
        let id = segment.segment_id();
        let kept = self
            .lock_expanded()
            .get(&id)
            .and_then(|words| words.get(expansion).cloned());
        if let Some(words) = kept {
            return Ok(words);
        }
        let words: Arc<[Vec<u8>]> = find()?.into();
        let mut expanded = self.lock_expanded();
        let of_segment = expanded.entry(id).or_default();
        if of_segment.len() >= Self::KEPT_PER_SEGMENT {
            of_segment.clear();
        }
        of_segment.insert(expansion.clone(), words.clone());
        Ok(words)
    }

    /// `segment`'s columns, and bounds valid at `now`.
    pub fn of(&self, segment: &SegmentReader, now: i64) -> tantivy::Result<Segment> {
        let id = segment.segment_id();
        let kept = self.lock().get(&id).cloned();
        if let Some(kept) = &kept {
            let at = kept.bounds.at;
            if at <= now && now - at < REFRESH_SECONDS {
                return Ok(kept.clone());
            }
        }
        let columns = match kept {
            Some(kept) => kept.columns,
            None => Arc::new(Columns::open(segment)),
        };
        let bounds = Arc::new(SegmentBounds::compute(segment, &columns, self.kind, now)?);
        let fresh = Segment { columns, bounds };
        let mut entries = self.lock();
        match entries.get(&id) {
            // Bounds computed for a later moment are not valid now.
            Some(kept) if kept.bounds.at > now => {}
            _ => {
                entries.insert(id, fresh.clone());
            }
        }
        Ok(fresh)
    }

    /// Forgets segments other than `live` (merged away or deleted).
    pub fn retain(&self, live: &[SegmentId]) {
        let mut entries = self.lock();
        if entries.len() > live.len() {
            entries.retain(|id, _| live.contains(id));
        }
        drop(entries);
        let mut expanded = self.lock_expanded();
        if expanded.len() > live.len() {
            expanded.retain(|id, _| live.contains(id));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Segment>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_expanded(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Expanded>> {
        self.expanded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, FAST, STRING};
    use tantivy::{doc, Index, IndexWriter};

    use tantivy::{DocId, Score};

    use super::*;
    use crate::bounds::{Admits, CHUNK};
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
        let segments = Segments::new(kind);
        let of = segments.of(segment, now)?.bounds;
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
        let later = segments.of(segment, now + 60)?;
        assert!(Arc::ptr_eq(&of, &later.bounds));
        let earlier = segments.of(segment, now - 60)?;
        assert!(!Arc::ptr_eq(&of, &earlier.bounds));
        assert!(earlier.bounds.from(0, Admits::Posts) >= of.from(0, Admits::Posts));
        // The columns are opened once for the segment's whole life.
        assert!(Arc::ptr_eq(&later.columns, &earlier.columns));
        segments.retain(&[]);
        assert!(segments.lock().is_empty());
        Ok(())
    }
}
