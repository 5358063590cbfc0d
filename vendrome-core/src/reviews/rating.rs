//! A rating of 1 to 5 and the integer aggregates of many ([`RatingSummary`]).

use serde::Serialize;

use crate::validation::{invalid, ValidationErrors};

/// A rating: 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Rating(u8);

impl Rating {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 5;

    /// # Errors
    ///
    /// `out_of_range` unless `n` is 1 to 5.
    pub fn parse(n: i64) -> Result<Self, ValidationErrors> {
        match u8::try_from(n) {
            Ok(n) if (Self::MIN..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(invalid("out_of_range", "must be between 1 and 5")),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// The aggregates of many ratings, kept as integers: how many, their sum, and how many of each
/// value (`histogram[0]` counts the 1s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatingSummary {
    pub count: i64,
    pub sum: i64,
    pub histogram: [i64; 5],
}

impl RatingSummary {
    /// The summary of `ratings`, as the store should hold it.
    pub fn of(ratings: impl IntoIterator<Item = Rating>) -> Self {
        let mut summary = Self::default();
        for r in ratings {
            summary.count += 1;
            summary.sum += i64::from(r.get());
            summary.histogram[usize::from(r.get() - 1)] += 1;
        }
        summary
    }

    /// The average in hundredths of a star, rounded half-up (`467` for 4.666…); `None` when
    /// nothing was rated. Computed from the integers, so it is exact whatever the count.
    pub fn average_hundredths(&self) -> Option<i64> {
        if self.count <= 0 {
            return None;
        }
        let sum = i128::from(self.sum) * 100;
        let count = i128::from(self.count);
        // Half-up: (2 × sum × 100 + count) / (2 × count), all positive.
        i64::try_from((2 * sum + count) / (2 * count)).ok()
    }

    /// The average as a decimal with two places (`"4.67"`); `None` when nothing was rated.
    pub fn average(&self) -> Option<String> {
        self.average_hundredths()
            .map(|h| format!("{}.{:02}", h / 100, h % 100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five() {
        for n in [0, 6, -1, 256] {
            assert!(Rating::parse(n).is_err(), "{n}");
        }
        assert_eq!(Rating::parse(5).unwrap().get(), 5);
        assert_eq!(Rating::parse(1).unwrap().get(), 1);
    }

    #[test]
    fn the_average_is_exact_and_rounded_half_up() {
        let r = |n| Rating::parse(n).unwrap();
        assert_eq!(RatingSummary::default().average(), None);
        let summary = RatingSummary::of([r(5), r(4), r(5)]);
        assert_eq!(summary.histogram, [0, 0, 0, 1, 2]);
        assert_eq!(summary.average().as_deref(), Some("4.67"));
        assert_eq!(
            RatingSummary::of([r(1), r(2)]).average().as_deref(),
            Some("1.50")
        );
        assert_eq!(RatingSummary::of([r(5)]).average().as_deref(), Some("5.00"));
        // 1/8 of a star above 4: 4.125 rounds up to 4.13.
        let eighth = RatingSummary::of([r(5), r(4), r(4), r(4), r(4), r(4), r(4), r(4)]);
        assert_eq!(eighth.average().as_deref(), Some("4.13"));
    }
}
