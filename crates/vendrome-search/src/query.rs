//! A [`SearchQuery`] as a tantivy query.
//!
//! Every query term must match somewhere in the texts of the kind searched (a post's text; a
//! profile's or topic's title or body, see `schema.rs`). A term matches by its stem (scored by
//! BM25, titles twice as much as bodies), by a synonym (a stem or a phrase of stems), by a word
//! within its typo budget, or — for the last term — as the beginning of a word. Typo and prefix
//! matches are the words of the index the automaton finds, each scored by BM25 at 0.3 (typo)
//! or 0.5 (prefix) of an exact match; a typo's words are matched by their stems (see [`loose`]).
//! A post prefix of two or three letters is one term of the posts' prefix field instead; a
//! longer prefix matching over 64 words matches by automaton, at a constant score.
//!
//! Queries run in two tiers ([`Tier`]), as Meilisearch ranks typos before other signals: the
//! documents matching every term exactly (stem or synonym) come first, then those that need a
//! typo or a prefix. The exact tier alone answers most pages, and it is the cheaper query.
//!
//! Filters (type, topic, profile fields, level) only select: they score nothing. A query is
//! built in two parts: [`text`] (the terms and the selective filters), which finds and scores,
//! and [`admitted`] (the broad filters), which most documents pass and is checked only on the
//! documents that can rank. (Post visibility is checked there too, from fast fields: see
//! `columns.rs`.) A filter is selective
//! when its term holds under 1/8 of the documents: then intersecting with it skips more than
//! checking it on every candidate would. A selective filter joins the intersection as a term
//! scored × 0, so that an intersection of single terms stays one that tantivy prunes by block
//! maxima (block-max WAND over an intersection).

use std::collections::BTreeSet;

use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};
use vendrome_core::search::analysis::{self, QueryTerm};
use vendrome_core::search::{SearchKind, SearchQuery};
use vendrome_core::SqlEnum as _;

use crate::schema::{Fields, Text, PREFIX_LENGTHS};

const SYNONYM_BOOST: f32 = 0.8;
const TYPO_SCORE: f32 = 0.3;
const PREFIX_SCORE: f32 = 0.5;
/// The most words a typo or prefix clause expands to before it matches by automaton instead.
const MAX_EXPANSIONS: usize = 64;

/// Which matches a query admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Stems and synonyms only.
    Exact,
    /// Typos and prefixes too.
    Loose,
}

/// Whether any term of the query can match loosely (otherwise the exact tier is the whole
/// answer).
pub fn has_loose_terms(query: &SearchQuery) -> bool {
    query.terms.iter().any(|t| t.typos > 0 || t.prefix)
}

/// A filter selecting fewer than this share of all documents leads the text's intersection
/// (few of the text's matches would pass it); a broader one is checked only on the documents
/// that can rank, as pruning leaves them (measured on the benchmark's queries: a post type,
/// 5 % of posts, is faster intersected; a topic on a third of them, checked).
const SELECTIVE: f64 = 1.0 / 8.0;

/// A query's filters, split by how much they select (see [`SELECTIVE`]).
pub struct Filters {
    /// Part of the text query: they drive the intersection.
    selective: Vec<Box<dyn Query>>,
    /// Checked on each document offered for ranking, with the visibility rule.
    broad: Vec<Box<dyn Query>>,
}

/// The filters of `query` (kind, post type, topic, profile fields, verification), each placed
/// by the share of documents its terms hold in `searcher`.
pub fn filters(
    fields: &Fields,
    query: &SearchQuery,
    searcher: &Searcher,
) -> tantivy::Result<Filters> {
    let filters = &query.filters;
    let mut split = Filters {
        selective: Vec::new(),
        broad: Vec::new(),
    };
    // Each filter as the one term it admits. (The text fields are the kind's own: no filter on
    // the kind is needed.)
    let mut all: Vec<Term> = Vec::new();
    let one = |field: Field, value: &str| Term::from_field_text(field, value);
    match query.kind {
        SearchKind::Posts => {
            if let Some(post_type) = filters.post_type {
                all.push(one(fields.post_type, post_type.as_str()));
            }
            if let Some(topic) = &filters.topic {
                all.push(one(fields.topic, topic));
            }
        }
        SearchKind::Profiles => {
            let profile_filters = [
                (fields.industry, filters.industry.clone()),
                (fields.country, filters.country_code.clone()),
                (fields.city, filters.city.as_ref().map(|c| c.to_lowercase())),
                (fields.skill, filters.skill.clone()),
                (
                    fields.looking_for,
                    filters.looking_for.map(|l| l.as_str().to_owned()),
                ),
            ];
            for (field, value) in profile_filters {
                if let Some(value) = value {
                    all.push(one(field, &value));
                }
            }
        }
        SearchKind::Topics => {}
    }
    if query.kind != SearchKind::Topics {
        if let Some(min) = filters.min_verification {
            // Each document holds every level up to its own.
            all.push(one(fields.level, min.as_str()));
        }
    }
    let documents = searcher.num_docs().max(1) as f64;
    for term in all {
        // Profile queries always intersect: they walk profiles only, and the level field is
        // shared with posts (their author's level), so its frequency says nothing of profiles.
        let selective = query.kind != SearchKind::Posts
            || (searcher.doc_freq(&term)? as f64) < documents * SELECTIVE;
        if selective {
            split.selective.push(unscored(term));
        } else {
            split.broad.push(exact_term(term));
        }
    }
    Ok(split)
}

/// The text part of a query for `tier`: every term, and the selective filters (so that they
/// lead the intersection). It scores the matches.
pub fn text(
    fields: &Fields,
    query: &SearchQuery,
    tier: Tier,
    filters: &Filters,
    searcher: &Searcher,
) -> tantivy::Result<Box<dyn Query>> {
    let mut must: Vec<Box<dyn Query>> = query
        .terms
        .iter()
        .map(|term| term_clause(fields, query.kind, term, tier, searcher))
        .collect::<tantivy::Result<_>>()?;
    must.extend(filters.selective.iter().map(|q| q.box_clone()));
    Ok(match must.len() {
        // One clause is kept as it is: a union of terms is what block-max WAND prunes.
        1 => must.remove(0),
        _ => Box::new(BooleanQuery::new(
            must.into_iter().map(|q| (Occur::Must, q)).collect(),
        )),
    })
}

/// What is checked only on the documents that can rank (see `ranking.rs`): the broad filters.
/// `None` when there is nothing to check.
pub fn admitted(filters: &Filters) -> Option<Box<dyn Query>> {
    let must: Vec<(Occur, Box<dyn Query>)> = filters
        .broad
        .iter()
        .map(|q| (Occur::Must, q.box_clone()))
        .collect();
    (!must.is_empty()).then(|| -> Box<dyn Query> { Box::new(BooleanQuery::new(must)) })
}

/// Documents with `term`, as a term scored × 0: in an intersection of terms it keeps the
/// intersection one tantivy prunes by block maxima (a constant-score clause would not).
fn unscored(term: Term) -> Box<dyn Query> {
    let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
    Box::new(BoostQuery::new(Box::new(query), 0.0))
}

/// Documents with `term`, adding nothing to the score: scoring a broad filter's term would
/// cost a computation per match and add a constant to every score.
fn exact_term(term: Term) -> Box<dyn Query> {
    let query = TermQuery::new(term, IndexRecordOption::Basic);
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

/// Any of the ways one query term can match, in any text of `kind`.
fn term_clause(
    fields: &Fields,
    kind: SearchKind,
    term: &QueryTerm,
    tier: Tier,
    searcher: &Searcher,
) -> tantivy::Result<Box<dyn Query>> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (Text { stems, words }, boost) in fields.texts(kind) {
        let stem = TermQuery::new(
            Term::from_field_text(stems, &term.stem),
            IndexRecordOption::WithFreqs,
        );
        should.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(stem), boost)),
        ));
        for synonym in &term.synonyms {
            let query: Box<dyn Query> = match synonym.as_slice() {
                [single] => Box::new(TermQuery::new(
                    Term::from_field_text(stems, single),
                    IndexRecordOption::WithFreqs,
                )),
                phrase => Box::new(PhraseQuery::new(
                    phrase
                        .iter()
                        .map(|s| Term::from_field_text(stems, s))
                        .collect(),
                )),
            };
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(query, boost * SYNONYM_BOOST)),
            ));
        }
        if tier == Tier::Exact {
            continue;
        }
        let word = Term::from_field_text(words, &term.word);
        if term.typos > 0 {
            let fuzzy = FuzzyTermQuery::new(word.clone(), term.typos, true);
            let stemmed = Some((stems, term.stem.as_str()));
            should.extend(loose(searcher, words, fuzzy, TYPO_SCORE * boost, stemmed)?);
        }
        if term.prefix {
            let length = term.word.chars().count();
            if kind == SearchKind::Posts && PREFIX_LENGTHS.contains(&length) {
                // A short prefix begins hundreds of words: it is one term of its own.
                let prefix = TermQuery::new(
                    Term::from_field_text(fields.post_prefixes, &term.word),
                    IndexRecordOption::WithFreqs,
                );
                let weight = PREFIX_SCORE * boost;
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(prefix), weight)),
                ));
            } else {
                let prefix = FuzzyTermQuery::new_prefix(word, 0, true);
                should.extend(loose(searcher, words, prefix, PREFIX_SCORE * boost, None)?);
            }
        }
    }
    // No clause is required by count: tantivy promotes a lone required clause to a conjunction
    // of one, which it scores document by document; a union (of one term or many) it prunes by
    // block-max WAND. A union still matches only documents with at least one clause.
    Ok(Box::new(BooleanQuery::with_minimum_required_clauses(
        should, 0,
    )))
}

/// The words of `field` that `automaton` matches, as one scored term each (BM25 × `weight`),
/// so that a term's clause stays a union of terms that block-max WAND can prune; past
/// [`MAX_EXPANSIONS`] words (a short prefix), the automaton itself with a constant score.
///
/// With `stemmed` (a stems field and the query term's own stem), the words are matched by their
/// stems instead, leaving out the term's own (its clause has it already): "margn" becomes the one
/// term `margin` rather than "margin" and "margins", and a typo of "revenue" that is a form of
/// it adds nothing. A clause of one term keeps a query of several words an intersection of
/// terms, which tantivy prunes by block maxima. (A stem also matches that stem's other forms,
/// as an exact match does.)
fn loose(
    searcher: &Searcher,
    field: Field,
    automaton: FuzzyTermQuery,
    weight: f32,
    stemmed: Option<(Field, &str)>,
) -> tantivy::Result<Vec<(Occur, Box<dyn Query>)>> {
    let mut expanded: BTreeSet<Vec<u8>> = BTreeSet::new();
    let dfa = automaton.automaton()?;
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(field)?;
        let mut stream = index.terms().search(&dfa).into_stream()?;
        while stream.advance() {
            expanded.insert(stream.key().to_vec());
            if expanded.len() > MAX_EXPANSIONS {
                let query = ConstScoreQuery::new(Box::new(automaton), weight);
                return Ok(vec![(Occur::Should, Box::new(query))]);
            }
        }
    }
    let terms: BTreeSet<Term> = match stemmed {
        None => expanded
            .iter()
            .map(|word| Term::from_field_bytes(field, word))
            .collect(),
        Some((stems, own)) => expanded
            .iter()
            .filter_map(|word| std::str::from_utf8(word).ok())
            .map(analysis::stem)
            .filter(|stem| stem != own)
            .map(|stem| Term::from_field_text(stems, &stem))
            .collect(),
    };
    Ok(terms
        .into_iter()
        .map(|term| -> (Occur, Box<dyn Query>) {
            let term = TermQuery::new(term, IndexRecordOption::WithFreqs);
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), weight)),
            )
        })
        .collect())
}
