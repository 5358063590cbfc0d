//! How text becomes searchable words, shared by every search engine and by the highlighter, so
//! that indexing, querying and highlighting can never disagree.
//!
//! A *word* is a run of letters and digits, lower-cased. A *stem* is the word reduced by the
//! English Snowball stemmer (the algorithm PostgreSQL's `english` configuration uses), so
//! `investing`, `invests` and `invested` all match `invest`. Typo tolerance follows the length of
//! the word the user typed, as Meilisearch does: none below 5 characters, one edit from 5, two
//! from 9. The last word of a query also matches as a prefix (search as you type) unless the
//! query ends with a space.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// Words longer than this are not indexed or searched (tokens of that size are noise: hashes,
/// base64, URLs glued together).
pub const MAX_WORD_CHARS: usize = 40;
/// Words of a query beyond this many are ignored.
pub const MAX_QUERY_WORDS: usize = 10;
/// A prefix shorter than this matches only whole words (one letter would match half the index).
pub const MIN_PREFIX_CHARS: usize = 2;

/// One word of a text with where it is: `start..end` are byte offsets into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

/// The words of `text`, in order.
pub fn words(text: &str) -> impl Iterator<Item = Word<'_>> {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || loop {
        let (start, c) = rest.next()?;
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(at, c)) = rest.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            end = at + c.len_utf8();
            rest.next();
        }
        let word = &text[start..end];
        if word.chars().count() <= MAX_WORD_CHARS {
            return Some(Word {
                text: word,
                start,
                end,
            });
        }
    })
}

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// How many stems each thread remembers before it starts afresh.
const REMEMBERED_STEMS: usize = 16_384;

/// The stem of a lower-case word.
pub fn stem(word: &str) -> String {
    with_stem(word, str::to_owned)
}

/// `f` of the stem of a lower-case word. Each thread remembers the stems it has made: a text's
/// vocabulary is small next to its length, and stemming was most of what highlighting a page
/// of results cost.
pub fn with_stem<T>(word: &str, f: impl FnOnce(&str) -> T) -> T {
    thread_local! {
        static STEMS: RefCell<HashMap<Box<str>, Box<str>>> = RefCell::new(HashMap::new());
    }
    STEMS.with(|cell| {
        // `f` may stem words itself: then it stems them afresh.
        let Ok(mut stems) = cell.try_borrow_mut() else {
            return f(&stemmer().stem(word));
        };
        if let Some(stem) = stems.get(word) {
            return f(stem);
        }
        if stems.len() >= REMEMBERED_STEMS {
            stems.clear();
        }
        let stem: Box<str> = stemmer().stem(word).into();
        let result = f(&stem);
        stems.insert(word.into(), stem);
        result
    })
}

/// Replaces `out` with `word` in lower case (as `str::to_lowercase` makes it), reusing its
/// allocation.
pub fn lowercase_into(out: &mut String, word: &str) {
    out.clear();
    if word.is_ascii() {
        out.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&word.to_lowercase());
    }
}

/// The text as the stemmed field of an index holds it: stems separated by single spaces.
pub fn stems(text: &str) -> String {
    join(words(text).map(|w| stem(&w.text.to_lowercase())))
}

/// The text as the exact-word field of an index holds it: lower-case words separated by spaces.
pub fn lower_words(text: &str) -> String {
    join(words(text).map(|w| w.text.to_lowercase()))
}

fn join(parts: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for part in parts {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&part);
    }
    out
}

/// Whether PostgreSQL's `english` text-search configuration drops the word (its Snowball stop
/// list): the full-text path cannot match such a word, so it leaves it out of the query.
pub fn is_stop_word(word: &str) -> bool {
    const STOP: &[&str] = &[
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "did",
        "do",
        "does",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "s",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "t",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ];
    STOP.binary_search(&word).is_ok()
}

/// Edits a word of `chars` characters may have and still match.
pub fn typo_budget(chars: usize) -> u8 {
    match chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// One word of a query, with everything an engine needs to match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    /// As typed, lower-cased.
    pub word: String,
    pub stem: String,
    /// Edits allowed (see [`typo_budget`]).
    pub typos: u8,
    /// The last word of a search-as-you-type query: also matches longer words it begins.
    pub prefix: bool,
    /// Other ways to say the same thing, each a phrase of one or more stems.
    pub synonyms: Vec<Vec<String>>,
}

/// The words of a query, at most [`MAX_QUERY_WORDS`]. Every term must match (in any field).
pub fn parse_query(query: &str) -> Vec<QueryTerm> {
    let trailing_space = query.ends_with(char::is_whitespace);
    let mut terms: Vec<QueryTerm> = words(query)
        .take(MAX_QUERY_WORDS)
        .map(|w| {
            let word = w.text.to_lowercase();
            QueryTerm {
                stem: stem(&word),
                typos: typo_budget(word.chars().count()),
                prefix: false,
                synonyms: super::synonyms::others(&stem(&word)).to_vec(),
                word,
            }
        })
        .collect();
    if let Some(last) = terms.last_mut() {
        last.prefix = !trailing_space && last.word.chars().count() >= MIN_PREFIX_CHARS;
    }
    terms
}

/// Whether a word of a document matches a query term: same stem, within the typo budget, or
/// (for the last term) beginning with it.
pub fn matches(term: &QueryTerm, word: &str) -> bool {
    matches_any(std::slice::from_ref(term), word)
}

/// Whether a lower-case word of a document matches any of `terms` ([`matches`]), cheapest test
/// first. The word is stemmed only when its stem could be one of theirs: Snowball's English
/// rules rewrite a word's ending and never its first letter, so a word whose first letter
/// begins none of the terms' stems has none of them.
pub fn matches_any(terms: &[QueryTerm], word: &str) -> bool {
    if terms
        .iter()
        .any(|t| word == t.word || (t.prefix && word.starts_with(&t.word)))
    {
        return true;
    }
    let first = word.chars().next();
    if terms.iter().any(|t| t.stem.chars().next() == first)
        && with_stem(word, |stem| terms.iter().any(|t| t.stem == stem))
    {
        return true;
    }
    terms.iter().any(|t| within_typos(t, word))
}

/// Whether `word` is within `term`'s typo budget of it.
fn within_typos(term: &QueryTerm, word: &str) -> bool {
    let typos = usize::from(term.typos);
    // Each edit changes the length by at most one (character, so at most four bytes).
    typos > 0
        && word.len().abs_diff(term.word.len()) <= typos * 4
        && within_edits(word, &term.word, typos)
}

/// Whether `a` becomes `b` in at most `limit` edits (insertions, deletions, substitutions and
/// swaps of neighbours: the optimal string alignment distance, as `strsim::osa_distance`).
/// Highlighting asks this of nearly every word of a snippet, so ASCII words up to
/// [`EDIT_WORD_BYTES`] are compared on the stack, after a test of the letters they hold
/// ([`letters`]) that turns away most words at once, and the comparison stops at the first row of
/// the table whose every cell is past `limit` (no later cell can come back under it: each is
/// at least the cheapest cell of the row above).
pub fn within_edits(a: &str, b: &str, limit: usize) -> bool {
    let ascii = a.is_ascii() && b.is_ascii();
    if !ascii || a.len().max(b.len()) > EDIT_WORD_BYTES {
        return a.chars().count().abs_diff(b.chars().count()) <= limit
            && strsim::osa_distance(a, b) <= limit;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > limit
        || (letters(a) ^ letters(b)).count_ones() as usize > 2 * limit
    {
        return false;
    }
    // Rows i - 2, i - 1 and i of the table: cell j is the distance of a[..i] and b[..j].
    let mut before: [usize; EDIT_WORD_BYTES + 1] = [0; EDIT_WORD_BYTES + 1];
    let mut above: [usize; EDIT_WORD_BYTES + 1] = std::array::from_fn(|j| j);
    let mut row: [usize; EDIT_WORD_BYTES + 1] = [0; EDIT_WORD_BYTES + 1];
    for i in 1..=a.len() {
        row[0] = i;
        let mut cheapest = i;
        for j in 1..=b.len() {
            let substitution = above[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut cell = substitution.min(above[j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cell = cell.min(before[j - 2] + 1);
            }
            row[j] = cell;
            cheapest = cheapest.min(cell);
        }
        if cheapest > limit {
            return false;
        }
        std::mem::swap(&mut before, &mut above);
        std::mem::swap(&mut above, &mut row);
    }
    above[b.len()] <= limit
}

/// Which bytes occur in `word`, one bit each (bytes equal modulo 64 share one). An edit inserts,
/// deletes or replaces one byte, or swaps two neighbours, so it changes at most two bits: words
/// whose sets differ in more than twice the edit budget are further apart than that.
fn letters(word: &[u8]) -> u64 {
    word.iter().fold(0, |set, byte| set | 1 << (byte & 63))
}

/// The longest ASCII word [`within_edits`] compares without allocating.
const EDIT_WORD_BYTES: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    /// `within_edits` agrees with `strsim::osa_distance` on every pair of a set of words close
    /// to each other (swaps, doubled and dropped letters, other alphabets), at every limit.
    #[test]
    fn within_edits_is_the_osa_distance_bounded() {
        let words = [
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "acb",
            "bac",
            "pilot",
            "pilto",
            "ipolt",
            "pivot",
            "pilots",
            "plot",
            "polit",
            "community",
            "comunity",
            "communtiy",
            "commmunity",
            "immunity",
            "logistics",
            "logistcs",
            "lgoistics",
            "revenue",
            "revenu",
            "reveune",
            "margin",
            "margn",
            "über",
            "uber",
            "ubre",
            "ébauche",
            "ebauche",
            "caféé",
            "cafe",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
        ];
        for a in words {
            for b in words {
                let distance = strsim::osa_distance(a, b);
                for limit in 0..4 {
                    assert_eq!(
                        within_edits(a, b, limit),
                        distance <= limit,
                        "{a:?} {b:?} within {limit} (distance {distance})"
                    );
                }
            }
        }
    }

    /// What `matches_any` relies on to skip stemming.
    #[test]
    fn stemming_keeps_the_first_letter() {
        let vocabulary = include_str!("synonyms.txt").to_owned()
            + " yelling yesterday ies skies dying lying early only ugly news y yy yes \
               ional ational agreed feed succeeded generously ébauches île über";
        for word in words(&vocabulary) {
            let word = word.text.to_lowercase();
            assert_eq!(stem(&word).chars().next(), word.chars().next(), "{word}");
        }
    }

    #[test]
    fn remembered_stems_are_the_stemmers() {
        for word in ["investing", "invests", "happy", "généralement", "b2b"] {
            let fresh = stemmer().stem(word).into_owned();
            assert_eq!(stem(word), fresh);
            assert_eq!(stem(word), fresh, "{word}, remembered");
        }
        // Stemming inside `f` stems afresh rather than failing.
        with_stem("investing", |outer| {
            assert_eq!(with_stem("invested", str::to_owned), outer);
        });
    }

    #[test]
    fn lower_case_in_place_is_to_lowercase() {
        let mut out = String::from("left over");
        for word in ["Pilot", "ÉCOLE", "ΟΔΟΣ", "İstanbul", "b2b"] {
            lowercase_into(&mut out, word);
            assert_eq!(out, word.to_lowercase());
        }
    }

    #[test]
    fn words_split_on_anything_but_letters_and_digits() {
        let found: Vec<&str> = words("Hello, wörld! B2B-sales #fintech")
            .map(|w| w.text)
            .collect();
        assert_eq!(found, ["Hello", "wörld", "B2B", "sales", "fintech"]);
        let word = words("  café au lait").next().unwrap();
        assert_eq!((word.start, word.end), (2, 7));
    }

    #[test]
    fn stems_join_the_forms_of_a_word() {
        assert_eq!(stems("Investing in investors"), "invest in investor");
        assert_eq!(stem("invested"), stem("investing"));
    }

    #[test]
    fn stop_words_are_postgresqls() {
        assert!(is_stop_word("the") && is_stop_word("yourselves") && is_stop_word("a"));
        assert!(!is_stop_word("solar"));
    }

    #[test]
    fn typo_budget_grows_with_length() {
        assert_eq!([3, 4, 5, 8, 9, 20].map(typo_budget), [0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn the_last_word_is_a_prefix_unless_the_query_ends_with_a_space() {
        let terms = parse_query("solar panl");
        assert_eq!(terms.len(), 2);
        assert!(!terms[0].prefix && terms[1].prefix);
        assert!(!parse_query("solar ").last().unwrap().prefix);
        assert!(!parse_query("a").last().unwrap().prefix);
    }

    #[test]
    fn matching_allows_stems_typos_and_prefixes() {
        let terms = parse_query("investmnt fou");
        assert!(matches(&terms[0], "investment"));
        assert!(matches(&terms[1], "founder"));
        let exact = parse_query("rust ");
        assert!(
            !matches(&exact[0], "rusty"),
            "a four-letter word allows no typo"
        );
        assert!(matches(&parse_query("investing ")[0], "invests"));
    }
}
