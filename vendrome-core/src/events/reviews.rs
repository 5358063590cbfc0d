//! Payloads of the review and mentorship events.

use serde::{Deserialize, Serialize};

use super::about;
use crate::enums::MentorshipStatus;
use crate::ids::{BookingId, MentorshipId, OrderId, ReviewId, UserId};

/// A review was written, edited, replied to or deleted: `review.created`, `review.updated`,
/// `review.replied`, `review.deleted`. Its author and the reviewed member hear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewChanged {
    pub review_id: ReviewId,
    pub author_id: UserId,
    /// The seller or provider reviewed.
    pub subject_user_id: UserId,
    pub order_id: Option<OrderId>,
    pub booking_id: Option<BookingId>,
    /// The rating after the change, 1 to 5.
    pub rating: u8,
}

/// A mentorship was asked for or moved: `mentorship.requested`, `mentorship.accepted`,
/// `mentorship.declined`, `mentorship.cancelled`, `mentorship.paused`, `mentorship.resumed`,
/// `mentorship.completed`. Both parties hear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentorshipChanged {
    pub mentorship_id: MentorshipId,
    pub mentor_id: UserId,
    pub mentee_id: UserId,
    /// The status after the change.
    pub status: MentorshipStatus,
    /// Who made the change.
    pub by: UserId,
}

/// Something was added to an active mentorship: `mentorship.goal_added`,
/// `mentorship.goal_completed`, `mentorship.session_scheduled`, `mentorship.feedback_given`
/// (both parties hear them) and `mentorship.note_added` (only its writer hears it: notes are
/// private). `item_id` is the goal's, session's or note's id; the feedback's is the writer's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MentorshipActivity {
    pub mentorship_id: MentorshipId,
    pub mentor_id: UserId,
    pub mentee_id: UserId,
    pub item_id: uuid::Uuid,
    pub by: UserId,
}

about!("review" by review_id: ReviewChanged);
about!("mentorship" by mentorship_id: MentorshipChanged, MentorshipActivity);
