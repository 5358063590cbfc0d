//! The synonym list (`synonyms.txt`): groups of words that mean the same to a searcher.
//!
//! Members are compared by their stems. A query word whose stem is a one-word member of a group
//! matches every other member of every group it is in ([`others`]): the PostgreSQL path and the
//! highlighter expand queries so.
//!
//! The embedded index indexes a stem that is a one-word member as its *group term* instead: one
//! term for the set of groups the stem is in ([`group_term`]: `market`, of "marketing", and
//! `growth` are both `=marketing`). A query word in groups reads the group terms of every set
//! that shares a group with its own ([`group_terms_matching`]) instead of the union of its
//! members' stems — "growth" reads one posting list rather than those of `growth` and `market`,
//! which in the benchmark hold 215,000 and 146,000 of 1M posts — and a word and its one-word
//! synonyms are scored as one term, as Lucene's `SynonymQuery` scores them. It matches the
//! documents the expansion matched, and each document keeps its length (no term is added).
//! Members of several words still match as phrases. Because the index holds the group terms, it
//! records the list it was built with ([`fingerprint`]), and an index built with another list
//! is rebuilt.

use std::collections::HashMap;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::analysis::{stem, words};

/// What begins a group's term: no stem holds it (stems are letters and digits).
pub const GROUP_MARK: char = '=';

/// The list the binary carries.
const LIST: &str = include_str!("synonyms.txt");

/// The other members of the groups `stem` is a one-word member of, each a phrase of stems
/// (one stem for a one-word member); empty for a word in no group.
pub fn others(stem: &str) -> &'static [Vec<String>] {
    table().get(stem).map_or(&[], |entry| &entry.others)
}

/// The term the embedded index holds `stem` as: [`GROUP_MARK`] and the names of the groups it is
/// a one-word member of (each group's first member, its words joined by `_`), joined by `+`;
/// `None` for a stem in no group.
pub fn group_term(stem: &str) -> Option<&'static str> {
    table().get(stem).map(|entry| entry.term.as_str())
}

/// The group terms that hold `stem`'s matches: of every set of groups sharing a group with
/// `stem`'s own; empty for a stem in no group.
pub fn group_terms_matching(stem: &str) -> &'static [String] {
    table().get(stem).map_or(&[], |entry| &entry.matching)
}

/// The list's SHA-256, as 16 hex digits: what an index records of the list it was built with.
pub fn fingerprint() -> &'static str {
    static FINGERPRINT: OnceLock<String> = OnceLock::new();
    FINGERPRINT.get_or_init(|| fingerprint_of(LIST))
}

fn fingerprint_of(list: &str) -> String {
    let digest = Sha256::digest(list.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// What the list says of one stem.
#[derive(Debug, Default)]
struct Entry {
    others: Vec<Vec<String>>,
    /// The groups it is in, by their names.
    groups: Vec<String>,
    /// Its [`group_term`].
    term: String,
    /// Its [`group_terms_matching`].
    matching: Vec<String>,
}

fn table() -> &'static HashMap<String, Entry> {
    static TABLE: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    TABLE.get_or_init(|| parse(LIST))
}

fn parse(list: &str) -> HashMap<String, Entry> {
    let mut table: HashMap<String, Entry> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    for line in list.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let members: Vec<Vec<String>> = line
            .split(',')
            .map(|m| words(m).map(|w| stem(&w.text.to_lowercase())).collect())
            .filter(|m: &Vec<String>| !m.is_empty())
            .collect();
        let Some(first) = line.split(',').next() else {
            continue;
        };
        let mut name: String = words(first)
            .map(|w| w.text.to_lowercase())
            .collect::<Vec<_>>()
            .join("_");
        // Two lines beginning with the same member are two groups.
        if names.contains(&name) {
            name = format!("{name}_{}", names.len());
        }
        names.push(name.clone());
        for member in &members {
            let [single] = member.as_slice() else {
                continue;
            };
            let entry = table.entry(single.clone()).or_default();
            if !entry.groups.contains(&name) {
                entry.groups.push(name.clone());
            }
            for other in &members {
                if other != member && !entry.others.contains(other) {
                    entry.others.push(other.clone());
                }
            }
        }
    }
    for entry in table.values_mut() {
        entry.term = format!("{GROUP_MARK}{}", entry.groups.join("+"));
    }
    let sets: Vec<(Vec<String>, String)> = table
        .values()
        .map(|entry| (entry.groups.clone(), entry.term.clone()))
        .collect();
    for entry in table.values_mut() {
        let mut matching: Vec<String> = sets
            .iter()
            .filter(|(groups, _)| groups.iter().any(|g| entry.groups.contains(g)))
            .map(|(_, term)| term.clone())
            .collect();
        matching.sort();
        matching.dedup();
        entry.matching = matching;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_expand_both_ways() {
        let vc = others(&stem("vc"));
        assert!(vc.contains(&vec!["ventur".to_owned(), "capit".to_owned()]));
        let startup = others(&stem("startups"));
        assert!(startup.iter().any(|s| s == &["start", "up"]));
        assert!(others(&stem("backer")).contains(&vec![stem("investor")]));
        assert!(others(&stem("solar")).is_empty());
    }

    #[test]
    fn a_stem_is_indexed_as_the_set_of_groups_it_is_in() {
        // "marketing" is stemmed to `market`, so `market` is in its group.
        assert_eq!(group_term(&stem("growth")), Some("=marketing"));
        assert_eq!(group_term(&stem("market")), Some("=marketing"));
        assert_eq!(group_terms_matching(&stem("growth")), ["=marketing"]);
        // "mentoring" and "coaching" are `mentor` and `coach`, of two groups.
        assert_eq!(group_term(&stem("coach")), Some("=mentor+mentorship"));
        assert_eq!(group_term(&stem("mentoring")), Some("=mentor+mentorship"));
        assert_eq!(group_term(&stem("adviser")), Some("=mentor"));
        assert_eq!(group_term(&stem("mentorship")), Some("=mentorship"));
        // "advisor" matches what shares a group with it: not "mentorship".
        assert_eq!(
            group_terms_matching(&stem("advisor")),
            ["=mentor", "=mentor+mentorship"]
        );
        assert_eq!(
            group_terms_matching(&stem("coaching")),
            ["=mentor", "=mentor+mentorship", "=mentorship"]
        );
        // A member of several words has no group term; nor has a word in no group.
        assert_eq!(group_term("capit"), None);
        assert_eq!(group_term(&stem("solar")), None);
        assert!(group_terms_matching(&stem("solar")).is_empty());
    }

    /// A query word matches by group terms exactly the stems it matched by its own stem and
    /// its one-word synonyms.
    #[test]
    fn group_terms_match_what_the_synonyms_match() {
        for (stem, entry) in table() {
            let mut by_synonyms: Vec<&str> = entry
                .others
                .iter()
                .filter_map(|other| match other.as_slice() {
                    [single] => Some(single.as_str()),
                    _ => None,
                })
                .chain([stem.as_str()])
                .collect();
            by_synonyms.sort();
            by_synonyms.dedup();
            let mut by_terms: Vec<&str> = table()
                .iter()
                .filter(|(_, other)| entry.matching.contains(&other.term))
                .map(|(stem, _)| stem.as_str())
                .collect();
            by_terms.sort();
            assert_eq!(by_terms, by_synonyms, "{stem}");
        }
    }

    #[test]
    fn groups_are_named_by_their_first_member_once() {
        let table = parse("venture capital, vc\nvc, venture capitalist\nventure capital, funds");
        assert_eq!(table["vc"].term, "=venture_capital+vc");
        assert_eq!(table["fund"].term, "=venture_capital_2");
        // The other members, once each and never the stem itself.
        assert_eq!(
            table["vc"].others,
            [
                vec!["ventur".to_owned(), "capit".to_owned()],
                vec!["ventur".to_owned(), "capitalist".to_owned()]
            ]
        );
    }

    #[test]
    fn any_edit_of_the_list_changes_its_fingerprint() {
        assert_eq!(fingerprint(), fingerprint_of(LIST));
        assert_eq!(fingerprint().len(), 16);
        assert_ne!(
            fingerprint_of(LIST),
            fingerprint_of(&format!("{LIST}solar, photovoltaic\n"))
        );
        assert_ne!(fingerprint_of("a, b"), fingerprint_of("a, c"));
    }
}
