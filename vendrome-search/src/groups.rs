//! The tokenizer of the stems fields: splits analysed text on spaces, as the words fields' does,
//! and puts in place of each stem that is a one-word member of synonym groups the stem's group
//! term (see `vendrome_core::search::synonyms`). A stem under a post type
//! (`mentorship_request:coach`, see `schema.rs`) becomes its group term under the same type
//! (`mentorship_request:=mentor+mentorship`). A document keeps its length and its positions (a
//! phrase's stems are looked up as the index holds them: see `query.rs`).
//!
//! The tokenizer's name carries the synonym list's fingerprint, and the schema names each
//! field's tokenizer: an index built with another list has another schema, and is rebuilt as an
//! index of another version is.

use std::sync::OnceLock;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use vendrome_core::search::synonyms;

/// The name the stems fields' tokenizer is registered under.
pub fn tokenizer_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("vendrome_stems_{}", synonyms::fingerprint()))
}

/// The term the stems fields hold for `stem` (a stem, or a type and a stem: see `schema.rs`).
pub fn indexed_as(stem: &str) -> std::borrow::Cow<'_, str> {
    let (typed, own) = match stem.find(':') {
        Some(at) => stem.split_at(at + 1),
        None => ("", stem),
    };
    match synonyms::group_term(own) {
        Some(group) => format!("{typed}{group}").into(),
        None => stem.into(),
    }
}

/// Splits analysed text on spaces, each stem indexed as [`indexed_as`] names it.
#[derive(Clone, Default)]
pub struct StemsTokenizer {
    token: Token,
}

impl Tokenizer for StemsTokenizer {
    type TokenStream<'a> = StemsTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> StemsTokenStream<'a> {
        self.token.reset();
        StemsTokenStream {
            text,
            stems: text.split_ascii_whitespace(),
            token: &mut self.token,
        }
    }
}

pub struct StemsTokenStream<'a> {
    text: &'a str,
    stems: std::str::SplitAsciiWhitespace<'a>,
    token: &'a mut Token,
}

impl TokenStream for StemsTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(stem) = self.stems.next() else {
            return false;
        };
        let from = stem.as_ptr() as usize - self.text.as_ptr() as usize;
        self.token.offset_from = from;
        self.token.offset_to = from + stem.len();
        self.token.position = self.token.position.wrapping_add(1);
        self.token.text.clear();
        self.token.text.push_str(&indexed_as(stem));
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each token's position, text, and the text its offsets span.
    fn tokens(text: &str) -> Vec<(usize, String, String)> {
        let mut tokenizer = StemsTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let token = stream.token();
            let spanned = text[token.offset_from..token.offset_to].to_owned();
            out.push((token.position, token.text.clone(), spanned));
        }
        out
    }

    fn owned(tokens: &[(usize, &str, &str)]) -> Vec<(usize, String, String)> {
        tokens
            .iter()
            .map(|(p, t, s)| (*p, t.to_string(), s.to_string()))
            .collect()
    }

    #[test]
    fn a_stem_of_synonym_groups_is_their_term_at_its_place() {
        let expected = owned(&[
            (0, "solar", "solar"),
            (1, "=marketing", "market"),
            (2, "=mentor+mentorship", "coach"),
            (3, "pilot", "pilot"),
        ]);
        assert_eq!(tokens("solar market  coach pilot"), expected);
    }

    #[test]
    fn a_typed_stems_group_term_is_under_its_type() {
        let expected = owned(&[
            (0, "product:=marketing", "product:growth"),
            (1, "product:pilot", "product:pilot"),
        ]);
        assert_eq!(tokens("product:growth product:pilot"), expected);
    }

    #[test]
    fn the_name_carries_the_lists_fingerprint() {
        assert!(tokenizer_name().ends_with(synonyms::fingerprint()));
    }
}
