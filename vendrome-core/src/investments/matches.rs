//! The deal flow: investment offers (an investor's ticket) matched to investment requests (a
//! business seeking capital) in the same currency, scored by what they share. Each field that
//! matches adds its [`MatchReason::points`]:
//!
//! | reason | when | points |
//! |---|---|---|
//! | `industry` | both authors' profiles name the same industry | 30 |
//! | `amount` | the amount sought lies within the offer's ticket range | 25 |
//! | `stage` | the offer takes any stage, or the request's | 20 |
//! | `instrument` | the offer takes any instrument, or the request's | 15 |
//! | `country` | both authors' profiles name the same country | 10 |
//!
//! A pair that shares nothing is no match; deleted posts and pairs a block stands between are
//! left out. The store computes the score in SQL (one statement per page, ordered by score,
//! then the caller's post, then the other post) from the same weights.

use serde::Serialize;

use crate::enums::PostType;
use crate::ids::{PostId, UserId};

/// One field an offer and a request share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchReason {
    Industry,
    Amount,
    Stage,
    Instrument,
    Country,
}

impl MatchReason {
    /// Every reason, in the order a match lists them.
    pub const ALL: [MatchReason; 5] = [
        MatchReason::Industry,
        MatchReason::Amount,
        MatchReason::Stage,
        MatchReason::Instrument,
        MatchReason::Country,
    ];

    /// What the reason adds to a score.
    pub const fn points(self) -> i64 {
        match self {
            MatchReason::Industry => 30,
            MatchReason::Amount => 25,
            MatchReason::Stage => 20,
            MatchReason::Instrument => 15,
            MatchReason::Country => 10,
        }
    }
}

/// An offer or request matched to one of the caller's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealMatch {
    /// The caller's post the match is for.
    pub own_post_id: PostId,
    /// The other party's post (an offer when the caller's is a request, and the reverse).
    pub post_id: PostId,
    pub post_type: PostType,
    pub author_id: UserId,
    pub title: String,
    pub score: i64,
    /// What matched, in [`MatchReason::ALL`] order; their points add up to `score`.
    pub reasons: Vec<MatchReason>,
}

impl DealMatch {
    /// The score of `reasons`.
    pub fn score_of(reasons: &[MatchReason]) -> i64 {
        reasons.iter().map(|r| r.points()).sum()
    }
}
