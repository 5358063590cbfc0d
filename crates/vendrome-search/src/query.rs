//! A [`SearchQuery`] as a tantivy query.
//!
//! Every query term must match somewhere (title or body). A term matches by its stem (scored by
//! BM25, titles twice as much as bodies), by a synonym (a stem or a phrase of stems), by a word
//! within its typo budget, or — for the last term — as the beginning of a word; typo and prefix
//! matches score a constant below an exact match.
//!
//! Queries run in two tiers ([`Tier`]), as Meilisearch ranks typos before other signals: the
//! documents matching every term exactly (stem or synonym) come first, then those that need a
//! typo or a prefix. The exact tier alone answers most pages, and it is the cheaper query.
//!
//! Filters (kind, type, topic, profile fields, level) only select: they score nothing. Post
//! visibility excludes the connections-only posts of authors outside the viewer's audience.

use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;
use vendrome_core::profiles::levels_from;
use vendrome_core::search::analysis::QueryTerm;
use vendrome_core::search::{Audience, SearchKind, SearchQuery};
use vendrome_core::SqlEnum as _;

use crate::schema::Fields;

const TITLE_BOOST: f32 = 2.0;
const SYNONYM_BOOST: f32 = 0.8;
const TYPO_SCORE: f32 = 0.3;
const PREFIX_SCORE: f32 = 0.5;

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

pub fn build(fields: &Fields, query: &SearchQuery, tier: Tier) -> Box<dyn Query> {
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let kind = match query.kind {
        SearchKind::Posts => "post",
        SearchKind::Profiles => "profile",
        SearchKind::Topics => "topic",
    };
    must.push((Occur::Must, exact(fields.kind, kind)));
    for term in &query.terms {
        must.push((Occur::Must, term_clause(fields, term, tier)));
    }
    let filters = &query.filters;
    match query.kind {
        SearchKind::Posts => {
            if let Some(post_type) = filters.post_type {
                must.push((Occur::Must, exact(fields.post_type, post_type.as_str())));
            }
            if let Some(topic) = &filters.topic {
                must.push((Occur::Must, exact(fields.topic, topic)));
            }
            // Posts the viewer may not see: for connections only, by someone outside the audience.
            must.push((Occur::MustNot, hidden(fields, &query.audience)));
        }
        SearchKind::Profiles => {
            let text_filters = [
                (fields.industry, filters.industry.clone()),
                (fields.country, filters.country_code.clone()),
                (fields.city, filters.city.as_ref().map(|c| c.to_lowercase())),
                (fields.skill, filters.skill.clone()),
                (
                    fields.looking_for,
                    filters.looking_for.map(|l| l.as_str().to_owned()),
                ),
            ];
            for (field, value) in text_filters {
                if let Some(value) = value {
                    must.push((Occur::Must, exact(field, &value)));
                }
            }
        }
        SearchKind::Topics => {}
    }
    if query.kind != SearchKind::Topics {
        if let Some(min) = filters.min_verification {
            let levels = levels_from(min)
                .into_iter()
                .map(|level| Term::from_field_text(fields.level, level.as_str()));
            must.push((Occur::Must, filter(TermSetQuery::new(levels))));
        }
    }
    Box::new(BooleanQuery::new(must))
}

/// Documents with `value` in `field`, adding nothing to the score.
fn exact(field: Field, value: &str) -> Box<dyn Query> {
    filter(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// A clause that only selects: scoring it (BM25 of a `kind` or `visibility` term, which most
/// documents have) would cost a computation per match and add a constant to every score.
fn filter(query: impl Query) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

/// The posts `audience` may not see: `connections` posts, except the audience's own. Excluding
/// them costs a seek per candidate; including the public ones instead would walk the postings
/// of nearly every post.
fn hidden(fields: &Fields, audience: &Audience) -> Box<dyn Query> {
    let connections = exact(fields.visibility, "connections");
    match audience {
        Audience::Public => connections,
        Audience::Member(authors) => {
            let authors = authors
                .iter()
                .map(|a| Term::from_field_text(fields.author, &a.to_string()));
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, connections),
                (Occur::MustNot, filter(TermSetQuery::new(authors))),
            ]))
        }
    }
}

/// Any of the ways one query term can match, in either the title or the body.
fn term_clause(fields: &Fields, term: &QueryTerm, tier: Tier) -> Box<dyn Query> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let scored = [
        (fields.title_stems, fields.title_words, TITLE_BOOST),
        (fields.body_stems, fields.body_words, 1.0),
    ];
    for (stems, words, boost) in scored {
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
            should.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(Box::new(fuzzy), TYPO_SCORE * boost)),
            ));
        }
        if term.prefix {
            let prefix = FuzzyTermQuery::new_prefix(word, 0, true);
            should.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(Box::new(prefix), PREFIX_SCORE * boost)),
            ));
        }
    }
    Box::new(BooleanQuery::new(should))
}
