//! A [`SearchQuery`] as a tantivy query.
//!
//! Every query term must match somewhere in the texts of the kind searched (a post's text; a
//! profile's or topic's title or body, see `schema.rs`). A term matches by its stem (scored by
//! BM25, titles twice as much as bodies), by a synonym, by a word within its typo budget, or —
//! for the last term — as the beginning of a word. A one-word member of synonym groups matches by
//! the group terms that hold it and its one-word synonyms instead of its stem, all of them
//! scored as one term (see `groups.rs`); a member of several words matches as a phrase, at 0.8.
//! Typo and prefix
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
//! `columns.rs`.) A filter is selective when its term holds under 1/8 of the documents of the
//! kind searched: then intersecting with it skips more than checking it on every candidate
//! would. A selective filter joins the intersection as a term scored × 0, so that an
//! intersection of single terms stays one that tantivy prunes by block maxima (block-max WAND
//! over an intersection).
//!
//! A post type other than text is not a filter of the exact tier: the stems of such posts are
//! indexed under their type too, so "mentor" among mentorship requests is the union of the
//! typed group terms holding it and its synonyms (6,000 postings in the benchmark) rather than
//! an intersection of the type's 50,000 with the groups' 116,000 — an
//! intersection with a union, which tantivy neither prunes nor seeks cheaply. Their BM25
//! statistics are those of the typed field (a word's frequency among posts of the typed kinds),
//! which orders the matches of one type as well. The loose tier matches typos and prefixes in
//! the untyped fields and intersects with the type.

use std::collections::BTreeSet;

use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};
use vendrome_core::enums::PostType;
use vendrome_core::search::analysis::{self, QueryTerm};
use vendrome_core::search::synonyms;
use vendrome_core::search::{SearchKind, SearchQuery};
use vendrome_core::SqlEnum as _;

use crate::groups::indexed_as;
use crate::schema::{is_typed, kind_name, typed_stem, Fields, Text, PREFIX_LENGTHS};
use crate::segments::{Automaton, Expansion, Segments};

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

/// What a query is built against: the searcher, and what the generation keeps of its segments.
#[derive(Clone, Copy)]
pub struct Reading<'a> {
    pub searcher: &'a Searcher,
    pub segments: &'a Segments,
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
    /// A post type whose posts' stems are indexed under it (see `schema.rs`): the exact tier
    /// matches the typed stems and needs no filter; the loose tier (typos and prefixes, matched
    /// in the untyped fields) intersects with the type.
    typed: Option<PostType>,
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
        typed: None,
    };
    // Each filter as the one term it admits. (The text fields are the kind's own: no filter on
    // the kind is needed.)
    let mut all: Vec<Term> = Vec::new();
    let one = |field: Field, value: &str| Term::from_field_text(field, value);
    match query.kind {
        SearchKind::Posts => {
            match filters.post_type {
                Some(post_type) if is_typed(post_type) => split.typed = Some(post_type),
                Some(post_type) => all.push(one(fields.post_type, post_type.as_str())),
                None => {}
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
    let levels = match query.kind {
        SearchKind::Posts => Some(fields.level),
        SearchKind::Profiles => Some(fields.profile_level),
        SearchKind::Topics => None,
    };
    if let (Some(field), Some(min)) = (levels, filters.min_verification) {
        // Each document holds every level up to its own.
        all.push(one(field, min.as_str()));
    }
    // Every filter field is of one kind's documents: a term's share is of that kind's.
    let kind = Term::from_field_text(fields.kind, kind_name(query.kind));
    let documents = searcher.doc_freq(&kind)?.max(1) as f64;
    for term in all {
        let selective = (searcher.doc_freq(&term)? as f64) < documents * SELECTIVE;
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
    reading: Reading<'_>,
) -> tantivy::Result<Box<dyn Query>> {
    let typed = filters.typed.filter(|_| tier == Tier::Exact);
    let mut must: Vec<Box<dyn Query>> = query
        .terms
        .iter()
        .map(|term| term_clause(fields, query.kind, term, tier, typed, reading))
        .collect::<tantivy::Result<_>>()?;
    must.extend(filters.selective.iter().map(|q| q.box_clone()));
    if let (Some(post_type), Tier::Loose) = (filters.typed, tier) {
        must.push(unscored(Term::from_field_text(
            fields.post_type,
            post_type.as_str(),
        )));
    }
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

/// Where a query term's stems are looked up.
#[derive(Clone, Copy)]
enum Stems {
    /// A text's stems.
    Of(Field),
    /// The stems of posts of one type, under it.
    Typed(Field, PostType),
}

impl Stems {
    /// The term holding `stem` (a stem, or a group term), as the index holds it (see
    /// `groups.rs`).
    fn term(self, stem: &str) -> Term {
        match self {
            Stems::Of(field) => Term::from_field_text(field, &indexed_as(stem)),
            Stems::Typed(field, post_type) => {
                Term::from_field_text(field, &indexed_as(&typed_stem(post_type, stem)))
            }
        }
    }
}

/// The stems or group terms that match `term` exactly: the group terms holding its stem and its
/// one-word synonyms, or its stem.
fn exact_terms(term: &QueryTerm) -> Vec<&str> {
    match synonyms::group_terms_matching(&term.stem) {
        [] => vec![term.stem.as_str()],
        groups => groups.iter().map(String::as_str).collect(),
    }
}

/// Any of the ways one query term can match, in any text of `kind` (with `typed`, in the stems
/// of posts of that type: the exact tier only).
fn term_clause(
    fields: &Fields,
    kind: SearchKind,
    term: &QueryTerm,
    tier: Tier,
    typed: Option<PostType>,
    reading: Reading<'_>,
) -> tantivy::Result<Box<dyn Query>> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    // A word of synonym groups reads their terms (see `groups.rs`); any other word, its stem.
    let exact = exact_terms(term);
    for (Text { stems, words }, boost) in fields.texts(kind) {
        let lookup = match typed {
            Some(post_type) => Stems::Typed(fields.post_typed, post_type),
            None => Stems::Of(stems),
        };
        for stem in &exact {
            let query = TermQuery::new(lookup.term(stem), IndexRecordOption::WithFreqs);
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(query), boost)),
            ));
        }
        for phrase in term.synonyms.iter().filter(|s| s.len() > 1) {
            let query = PhraseQuery::new(phrase.iter().map(|s| lookup.term(s)).collect());
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(query), boost * SYNONYM_BOOST)),
            ));
        }
        if tier == Tier::Exact {
            continue;
        }
        let expansion = |automaton| Expansion {
            field: words,
            word: term.word.clone(),
            automaton,
        };
        if term.typos > 0 {
            let typo = expansion(Automaton::Typos(term.typos));
            let stemmed = Some((stems, exact.as_slice()));
            should.extend(loose(reading, typo, TYPO_SCORE * boost, stemmed)?);
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
                let prefix = expansion(Automaton::Prefix);
                should.extend(loose(reading, prefix, PREFIX_SCORE * boost, None)?);
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

/// The words of a field that `expansion`'s automaton matches, as one scored term each (BM25 ×
/// `weight`), so that a term's clause stays a union of terms that block-max WAND can prune; past
/// [`MAX_EXPANSIONS`] words (a short prefix), the automaton itself with a constant score. Each
/// segment's words are found once (see `segments.rs`).
///
/// With `stemmed` (a stems field and the terms the query term matches exactly), the words are
/// matched by their stems (as the index holds them) instead, leaving out those terms (its clause
/// has them already): "margn" becomes the one term `margin` rather than "margin" and "margins",
/// and a typo of "revenue" that is a form of it adds nothing. A clause of one term keeps a query of several words an intersection of
/// terms, which tantivy prunes by block maxima. (A stem also matches that stem's other forms,
/// as an exact match does.)
fn loose(
    reading: Reading<'_>,
    expansion: Expansion,
    weight: f32,
    stemmed: Option<(Field, &[&str])>,
) -> tantivy::Result<Vec<(Occur, Box<dyn Query>)>> {
    let field = expansion.field;
    let word = Term::from_field_text(field, &expansion.word);
    let automaton = match expansion.automaton {
        Automaton::Typos(typos) => FuzzyTermQuery::new(word, typos, true),
        Automaton::Prefix => FuzzyTermQuery::new_prefix(word, 0, true),
    };
    let mut expanded: BTreeSet<Vec<u8>> = BTreeSet::new();
    for segment in reading.searcher.segment_readers() {
        let words = reading.segments.expand(segment, &expansion, || {
            let dfa = automaton.automaton()?;
            let index = segment.inverted_index(field)?;
            let mut stream = index.terms().search(&dfa).into_stream()?;
            let mut words = Vec::new();
            // One past the most kept: enough to tell there are too many.
            while words.len() <= MAX_EXPANSIONS && stream.advance() {
                words.push(stream.key().to_vec());
            }
            Ok(words)
        })?;
        expanded.extend(words.iter().cloned());
        if expanded.len() > MAX_EXPANSIONS {
            let query = ConstScoreQuery::new(Box::new(automaton), weight);
            return Ok(vec![(Occur::Should, Box::new(query))]);
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
            .map(|word| indexed_as(&analysis::stem(word)).into_owned())
            .filter(|stem| !own.contains(&stem.as_str()))
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
