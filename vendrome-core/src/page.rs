//! Keyset pagination: a bounded [`Limit`] and an opaque [`Cursor`] that encodes where the last
//! page ended. Offsets are never used, so page 1000 costs what page 1 costs and a page does not
//! shift when rows are added in front of it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::validation::{invalid, ValidationErrors};

/// How many items a page may hold: 1 to [`Limit::MAX`], [`Limit::DEFAULT`] when unsaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    pub const MAX: u32 = 100;
    pub const DEFAULT: Limit = Limit(20);

    pub fn parse(n: u32) -> Result<Self, ValidationErrors> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(invalid(
                "out_of_range",
                format!("must be between 1 and {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// One more than the limit: fetching it tells whether another page follows.
    pub fn probe(self) -> i64 {
        i64::from(self.0) + 1
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An opaque position in a list, handed to clients as `meta.next_cursor`.
///
/// It wraps a serialisable keyset (for example the last item's id); clients must treat the string
/// as opaque. A cursor that does not decode to the keyset expected is a validation error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    pub fn encode<K: Serialize>(key: &K) -> Self {
        let json = serde_json::to_vec(key).expect("a keyset always serialises");
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    pub fn decode<K: DeserializeOwned>(&self) -> Result<K, ValidationErrors> {
        let bad = || invalid("invalid_cursor", "is not a cursor this list handed out");
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }

    pub fn from_string(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says that more follow.
    pub fn from_probe<K: Serialize>(mut rows: Vec<T>, limit: Limit, key: impl Fn(&T) -> K) -> Self {
        let has_more = rows.len() > limit.get() as usize;
        rows.truncate(limit.get() as usize);
        let next_cursor = if has_more {
            rows.last().map(|last| Cursor::encode(&key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn has_more(&self) -> bool {
        self.next_cursor.is_some()
    }

    /// The same page with every item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded() {
        assert!(Limit::parse(0).is_err());
        assert!(Limit::parse(101).is_err());
        assert_eq!(Limit::parse(100).unwrap().get(), 100);
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor::encode(&("2026-01-01T00:00:00Z", 42));
        let back: (String, i32) = cursor.decode().unwrap();
        assert_eq!(back, ("2026-01-01T00:00:00Z".to_owned(), 42));
        assert!(Cursor::from_string("%%%".into())
            .decode::<(String, i32)>()
            .is_err());
        assert!(Cursor::from_string("e30".into())
            .decode::<(String, i32)>()
            .is_err());
    }

    #[test]
    fn page_from_probe_sets_cursor_only_when_more_follow() {
        let limit = Limit::parse(2).unwrap();
        let page = Page::from_probe(vec![1, 2, 3], limit, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.unwrap().decode::<i32>().unwrap(), 2);
        let last = Page::from_probe(vec![1, 2], limit, |n| *n);
        assert!(last.next_cursor.is_none());
    }
}
