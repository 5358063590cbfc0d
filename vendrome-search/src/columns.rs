//! What a search reads of each document it ranks, from fast fields: the boost's inputs, who may
//! see a post, and the document's id. Opening a column decodes its block index, so each
//! segment's columns are opened once and kept with it (see `segments.rs`), not per query.
//!
//! Reading a hit's id from two columns instead of its stored document skips decompressing a
//! block of the document store per hit; deciding visibility from two columns instead of a query
//! skips building a scorer of the viewer's audience in every segment.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use tantivy::columnar::{Column, ColumnIndex, ColumnValues};
use tantivy::{DocId, Score, SegmentReader};
use uuid::Uuid;

use crate::ranking::fast_boost;

/// The fast fields' names (the schema declares them, see `schema.rs`).
pub const ENGAGEMENT: &str = "engagement";
pub const CREATED: &str = "created";
/// The order a segment keeps its documents in (see `index.rs`): the boost when indexed.
pub const RANK: &str = "rank";
pub const CONNECTIONS_ONLY: &str = "connections_only";
pub const AUTHOR: [&str; 2] = ["author_high", "author_low"];
pub const ID: [&str; 2] = ["id_high", "id_low"];

/// A UUID as the two 64-bit halves its columns hold.
pub fn halves(id: Uuid) -> [u64; 2] {
    let bits = id.as_u128();
    [(bits >> 64) as u64, bits as u64]
}

/// One segment's columns. A column a segment lacks reads as 0 (an index of tests, say, with
/// only some of them).
pub struct Columns {
    engagement: Option<Arc<dyn ColumnValues<i64>>>,
    created: Option<Arc<dyn ColumnValues<i64>>>,
    connections_only: Option<Arc<dyn ColumnValues<u64>>>,
    author: Option<[Arc<dyn ColumnValues<u64>>; 2]>,
    id: Option<[Arc<dyn ColumnValues<u64>>; 2]>,
}

impl Columns {
    pub fn open(reader: &SegmentReader) -> Self {
        let fast = reader.fast_fields();
        let i64s = |name: &str| fast.i64(name).ok().map(values);
        let u64s = |name: &str| fast.u64(name).ok().map(values);
        let pair = |[high, low]: [&str; 2]| Some([u64s(high)?, u64s(low)?]);
        Self {
            engagement: i64s(ENGAGEMENT),
            created: i64s(CREATED),
            connections_only: u64s(CONNECTIONS_ONLY),
            author: pair(AUTHOR),
            id: pair(ID),
        }
    }

    /// The document's ranking boost at `now` (see `vendrome_core::search::boost`).
    pub fn boost(&self, doc: DocId, now: i64) -> Score {
        let engagement = self.engagement.as_ref().map_or(0, |c| c.get_val(doc));
        let created = self.created.as_ref().map_or(0, |c| c.get_val(doc));
        fast_boost(engagement, created, now)
    }

    /// A post's or a profile's id (`None` for a topic, or in an index without ids).
    pub fn id(&self, doc: DocId) -> Option<Uuid> {
        let id = uuid_at(self.id.as_ref()?, doc);
        (!id.is_nil()).then_some(id)
    }

    /// Whether `sees` lets the viewer see the document: everything but a connections-only post
    /// by someone outside their audience.
    pub fn visible(&self, doc: DocId, sees: &Sees) -> bool {
        let connections_only = self
            .connections_only
            .as_ref()
            .is_some_and(|c| c.get_val(doc) == 1);
        if !connections_only {
            return true;
        }
        match sees {
            Sees::Everything => true,
            Sees::Public => false,
            Sees::Audience(audience) => self
                .author
                .as_ref()
                .is_some_and(|author| audience.contains(&uuid_at(author, doc))),
        }
    }
}

/// A column's values by document: read straight when every document has one (as every
/// document the schema fills does), else each document's first value or 0.
fn values<T>(column: Column<T>) -> Arc<dyn ColumnValues<T>>
where
    T: Default + PartialOrd + Copy + Debug + Send + Sync + 'static,
{
    match column.index {
        ColumnIndex::Full => column.values,
        _ => column.first_or_default_col(T::default()),
    }
}

fn uuid_at([high, low]: &[Arc<dyn ColumnValues<u64>>; 2], doc: DocId) -> Uuid {
    Uuid::from_u128((u128::from(high.get_val(doc)) << 64) | u128::from(low.get_val(doc)))
}

/// Whose connections-only posts a search may rank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sees {
    /// Every document (profiles and topics; tests).
    Everything,
    /// An anonymous viewer: public posts only.
    Public,
    /// A member: public posts, and connections-only posts by these authors (the member and
    /// their accepted connections).
    Audience(HashSet<Uuid>),
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, FAST};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;

    #[test]
    fn ids_and_visibility_read_back_from_the_columns() -> tantivy::Result<()> {
        let mut schema = Schema::builder();
        let connections_only = schema.add_u64_field(CONNECTIONS_ONLY, FAST);
        let [author_high, author_low] = AUTHOR.map(|name| schema.add_u64_field(name, FAST));
        let [id_high, id_low] = ID.map(|name| schema.add_u64_field(name, FAST));
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        let (friend, stranger) = (Uuid::now_v7(), Uuid::now_v7());
        let posts = [
            (Uuid::now_v7(), friend, false),
            (Uuid::now_v7(), friend, true),
            (Uuid::now_v7(), stranger, true),
            (Uuid::from_u128(u128::MAX - 1), stranger, false),
        ];
        for (id, author, only) in posts {
            let [ah, al] = halves(author);
            let [ih, il] = halves(id);
            writer.add_document(doc!(
                connections_only => u64::from(only),
                author_high => ah, author_low => al, id_high => ih, id_low => il,
            ))?;
        }
        writer.commit()?;
        let searcher = index.reader()?.searcher();
        let columns = Columns::open(searcher.segment_reader(0));
        let audience = Sees::Audience(HashSet::from([friend]));
        for (doc, (id, author, only)) in posts.iter().enumerate() {
            let doc = doc as DocId;
            assert_eq!(columns.id(doc), Some(*id));
            assert!(columns.visible(doc, &Sees::Everything));
            assert_eq!(columns.visible(doc, &Sees::Public), !only);
            assert_eq!(
                columns.visible(doc, &audience),
                !only || *author == friend,
                "{doc}"
            );
        }
        Ok(())
    }
}
