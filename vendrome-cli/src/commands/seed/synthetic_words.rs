//! The synthetic network's vocabulary and random picks: names, topics, words, power-law
//! choices, and ids made from times.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::Rng;
use uuid::Uuid;
use vendrome_core::time::Timestamp;

pub(super) const TOPICS: [&str; 40] = [
    "fintech",
    "agritech",
    "healthtech",
    "edtech",
    "climate",
    "solar",
    "logistics",
    "retail",
    "ecommerce",
    "saas",
    "ai",
    "cybersecurity",
    "manufacturing",
    "construction",
    "real-estate",
    "tourism",
    "fashion",
    "food",
    "coffee",
    "textiles",
    "mining",
    "energy",
    "water",
    "mobility",
    "payments",
    "lending",
    "insurance",
    "export",
    "import",
    "design",
    "marketing",
    "hiring",
    "mentorship",
    "fundraising",
    "angel-investing",
    "venture-capital",
    "crowdfunding",
    "women-in-business",
    "startups",
    "smes",
];
pub(super) const FIRST: [&str; 24] = [
    "Amara", "Kwame", "Lindiwe", "Thabo", "Zanele", "Sipho", "Nomsa", "Tariq", "Fatima", "Chen",
    "Priya", "Diego", "Ana", "Lucas", "Sofia", "Ivan", "Mei", "Omar", "Leila", "Jonas", "Eva",
    "Kofi", "Ngozi", "Ravi",
];
pub(super) const LAST: [&str; 20] = [
    "Okafor", "Mensah", "Dlamini", "Naidoo", "Botha", "Khumalo", "Haddad", "Wang", "Patel",
    "Silva", "Costa", "Novak", "Mokoena", "Adeyemi", "Osei", "Ibrahim", "Nkosi", "Petrov",
    "Santos", "Van Wyk",
];
pub(super) const HEADLINES: [&str; 8] = [
    "Founder",
    "Angel investor",
    "Mentor to early-stage founders",
    "Supplier of packaging",
    "Freelance designer",
    "Operations lead",
    "Impact investor",
    "Export consultant",
];
/// Content words of generated text, most common first (the first 32 are the words of the
/// network's earliest versions, so benchmarks that name them still find them).
const VOCABULARY: &str = include_str!("vocabulary.txt");
/// Words between content words, as in real sentences.
const FUNCTION_WORDS: [&str; 16] = [
    "the", "a", "our", "we", "for", "with", "to", "and", "in", "on", "this", "new", "is", "are",
    "of", "your",
];

fn vocabulary() -> &'static [&'static str] {
    static WORDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| VOCABULARY.split_whitespace().collect())
}
pub(super) const CURRENCIES: [&str; 4] = ["ZAR", "USD", "EUR", "KES"];
pub(super) const REACTIONS: [&str; 5] = ["like", "celebrate", "support", "insightful", "curious"];
pub(super) const STAGES: [&str; 7] = [
    "idea",
    "pre_seed",
    "seed",
    "series_a",
    "series_b",
    "growth",
    "established",
];
pub(super) const INSTRUMENTS: [&str; 5] = [
    "equity",
    "convertible_note",
    "safe",
    "debt",
    "revenue_share",
];

/// A power-law pick in `0..n`: low indices far more often (`r^3` concentrates mass near 0).
pub(super) fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let r: f64 = rng.random();
    ((r * r * r) * n as f64) as usize % n
}

pub(super) fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// `words` words of text: about a third function words, the rest content words picked with
/// a mild skew (the most common word is in about one post in five, a typical one in a few per
/// hundred), so search sees the word frequencies of real posts rather than a tiny vocabulary.
pub(super) fn sentence(rng: &mut StdRng, words: usize) -> String {
    let vocabulary = vocabulary();
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        if rng.random_range(0..3) == 0 {
            out.push_str(pick(rng, &FUNCTION_WORDS));
        } else {
            let r: f64 = rng.random();
            let at = (r.powf(1.5) * vocabulary.len() as f64) as usize;
            out.push_str(vocabulary[at.min(vocabulary.len() - 1)]);
        }
    }
    out
}

/// A UUIDv7 whose timestamp is `at` (as the API's ids are), random in its other bits.
pub(super) fn v7_at(rng: &mut StdRng, at: Timestamp) -> Uuid {
    let ms = at.timestamp_millis() as u64;
    let mut bytes: [u8; 16] = rng.random();
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    Uuid::from_bytes(bytes)
}

pub(super) fn micros(at: Timestamp) -> Timestamp {
    Timestamp::from_timestamp_micros(at.timestamp_micros()).expect("in range")
}

/// `k` distinct picks from `0..n` other than `except`.
pub(super) fn distinct(
    rng: &mut StdRng,
    n: usize,
    k: usize,
    except: usize,
    skew: bool,
) -> Vec<usize> {
    let k = k.min(n.saturating_sub(1));
    let mut seen = HashSet::with_capacity(k);
    let mut out = Vec::with_capacity(k);
    let mut tries = 0;
    while out.len() < k && tries < k * 20 {
        tries += 1;
        let i = if skew {
            skewed(rng, n)
        } else {
            rng.random_range(0..n)
        };
        if i != except && seen.insert(i) {
            out.push(i);
        }
    }
    out
}

/// Typed payloads' shared vocabulary.
pub(super) fn currency(rng: &mut StdRng) -> &'static str {
    pick(rng, &CURRENCIES)
}

pub(super) fn stage(rng: &mut StdRng) -> &'static str {
    pick(rng, &STAGES)
}

pub(super) fn instrument(rng: &mut StdRng) -> &'static str {
    pick(rng, &INSTRUMENTS)
}

pub(super) fn title(rng: &mut StdRng) -> String {
    let mut t = sentence(rng, 3);
    if let Some(first) = t.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    t
}
