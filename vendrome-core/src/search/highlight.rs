//! Highlighted snippets: the part of a text around the first matching word, as fragments the
//! client renders as it likes (no markup to escape, no offsets to convert).

use serde::Serialize;

use super::analysis::{self, QueryTerm};

/// Characters of context kept before the first match.
const LEAD_CHARS: usize = 60;
/// The longest snippet, in characters, before an ellipsis.
const SNIPPET_CHARS: usize = 200;

/// A stretch of a snippet: matched words have `hit` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

/// Which field of a result matched, and a snippet of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Highlight {
    /// The field's name in the result (`body`, `headline`, `name`, …).
    pub field: &'static str,
    pub fragments: Vec<Fragment>,
}

/// The snippet of the first field (in the order given) with a word matching any term; `None`
/// when no field matches (a result found by a synonym, say).
pub fn highlight(terms: &[QueryTerm], fields: &[(&'static str, &str)]) -> Option<Highlight> {
    fields.iter().find_map(|(name, text)| {
        let fragments = snippet(terms, text)?;
        Some(Highlight {
            field: name,
            fragments,
        })
    })
}

/// The fragments of `text` around its first match, or `None` when nothing matches.
pub fn snippet(terms: &[QueryTerm], text: &str) -> Option<Vec<Fragment>> {
    // The matched words up to the end of the snippet, which starts near the first one.
    let mut hits: Vec<(usize, usize)> = Vec::new();
    let mut window: Option<(usize, usize)> = None;
    let mut lower = String::new();
    for word in analysis::words(text) {
        if window.is_some_and(|(_, end)| word.end > end) {
            break;
        }
        analysis::lowercase_into(&mut lower, word.text);
        if analysis::matches_any(terms, &lower) {
            if window.is_none() {
                let start = back_to_word_start(text, word.start);
                window = Some((start, forward_chars(text, start, SNIPPET_CHARS)));
            }
            hits.push((word.start, word.end));
        }
    }
    let (start, end) = window?;
    let mut fragments = Vec::new();
    let mut at = start;
    let push = |fragments: &mut Vec<Fragment>, text: String, hit: bool| {
        if !text.is_empty() {
            fragments.push(Fragment { text, hit });
        }
    };
    if start > 0 {
        push(&mut fragments, "…".to_owned(), false);
    }
    for (hit_start, hit_end) in hits.into_iter().filter(|(s, e)| *s >= start && *e <= end) {
        push(&mut fragments, text[at..hit_start].to_owned(), false);
        push(&mut fragments, text[hit_start..hit_end].to_owned(), true);
        at = hit_end;
    }
    push(&mut fragments, text[at..end].to_owned(), false);
    if end < text.len() {
        push(&mut fragments, "…".to_owned(), false);
    }
    Some(merge_plain(fragments))
}

/// The byte offset about [`LEAD_CHARS`] characters before `at`, moved to the start of a word.
fn back_to_word_start(text: &str, at: usize) -> usize {
    let before: Vec<(usize, char)> = text[..at].char_indices().collect();
    if before.len() <= LEAD_CHARS {
        return 0;
    }
    let mut start = before[before.len() - LEAD_CHARS].0;
    // Skip forward to the next word start so the snippet does not open mid-word.
    if let Some(space) = text[start..at].find(char::is_whitespace) {
        start += space;
        start += text[start..].len() - text[start..].trim_start().len();
    }
    start
}

/// The byte offset `chars` characters after `from` (or the end of the text).
fn forward_chars(text: &str, from: usize, chars: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(offset, _)| from + offset)
}

fn merge_plain(fragments: Vec<Fragment>) -> Vec<Fragment> {
    let mut merged: Vec<Fragment> = Vec::with_capacity(fragments.len());
    for fragment in fragments {
        match merged.last_mut() {
            Some(last) if !last.hit && !fragment.hit => last.text.push_str(&fragment.text),
            _ => merged.push(fragment),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::analysis::parse_query;

    fn render(fragments: &[Fragment]) -> String {
        fragments
            .iter()
            .map(|f| {
                if f.hit {
                    format!("[{}]", f.text)
                } else {
                    f.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn marks_stems_typos_and_the_prefix() {
        let terms = parse_query("investor solaar pan");
        let found = snippet(&terms, "Investors back solar panels.").unwrap();
        assert_eq!(render(&found), "[Investors] back [solar] [panels].");
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{} the needle {}", "hay ".repeat(50), "straw ".repeat(80));
        let found = snippet(&parse_query("needle "), &text).unwrap();
        let rendered = render(&found);
        assert!(
            rendered.starts_with('…') && rendered.ends_with('…'),
            "{rendered}"
        );
        assert!(rendered.contains("[needle]"));
        assert!(rendered.chars().count() < 220);
    }

    #[test]
    fn no_match_no_snippet() {
        assert_eq!(snippet(&parse_query("rust "), "golang only"), None);
        let terms = parse_query("berlin ");
        let found = highlight(&terms, &[("headline", "Founder"), ("city", "Berlin")]).unwrap();
        assert_eq!(found.field, "city");
    }
}
