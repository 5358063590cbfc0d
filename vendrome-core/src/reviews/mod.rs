//! Reviews from real buyers: the buyer of a completed order, or the client of a completed
//! booking, rates the seller or provider once (1 to 5, an optional text); the reviewed member
//! replies once; the author edits within [`EDIT_WINDOW`]; the author or a moderator deletes.
//!
//! Every review moves the rating aggregates ([`RatingSummary`]) of each listing it is about and
//! of the reviewed member, in the review's own transaction. Aggregates are integers (a count, a
//! sum and a histogram); the average is computed from them when read, never accumulated.

mod rating;
mod service;

use async_trait::async_trait;

pub use self::rating::{Rating, RatingSummary};
pub use self::service::{EditReview, ReviewService, WriteReview, BODY_MAX, REPLY_MAX};
use crate::enums::RatingScope;
use crate::ids::{BookingId, OrderId, PostId, ReviewId, UserId};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

/// How long after writing it the author may edit a review.
pub const EDIT_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// What a review is of: an order or a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewTarget {
    Order(OrderId),
    Booking(BookingId),
}

/// An order or booking as a review needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewable {
    /// The buyer or client: the one member who may review it.
    pub buyer_id: UserId,
    /// The seller or provider: who the review is about.
    pub subject_id: UserId,
    /// Whether the order or booking is `completed`.
    pub completed: bool,
    /// The listings it is about: the order's products, or the booked service.
    pub posts: Vec<PostId>,
    /// Whether either party blocks the other.
    pub blocked: bool,
}

/// A review as the store is asked to create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub id: ReviewId,
    pub author_id: UserId,
    pub subject_user_id: UserId,
    pub target: ReviewTarget,
    pub rating: Rating,
    pub body: Option<String>,
    /// The listings whose aggregates it joins.
    pub posts: Vec<PostId>,
    pub created_at: Timestamp,
}

/// A stored, live review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: ReviewId,
    pub author_id: UserId,
    pub subject_user_id: UserId,
    pub order_id: Option<OrderId>,
    pub booking_id: Option<BookingId>,
    pub rating: Rating,
    pub body: Option<String>,
    pub reply_body: Option<String>,
    pub replied_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What creating a review did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateReviewOutcome {
    Created(Review),
    /// The author has reviewed this order or booking before (a deleted review included).
    AlreadyReviewed,
}

/// Whose reviews a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewsOf {
    /// The reviews of orders and bookings of a listing.
    Post(PostId),
    /// The reviews of a member as seller or provider.
    User(UserId),
}

/// The order of a list of reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewSort {
    #[default]
    Newest,
    /// Highest rating first, newest first among equals.
    Highest,
}

/// A change of a live review's rating or text, by its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewEdit {
    pub id: ReviewId,
    pub rating: Rating,
    pub body: Option<String>,
    pub at: Timestamp,
}

/// Storage of reviews and the rating aggregates they move.
#[async_trait]
pub trait ReviewRepo: Send + Sync {
    /// The order or booking as a review needs it; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn reviewable(&self, target: ReviewTarget) -> Result<Option<Reviewable>>;

    /// In one transaction: stores the review unless its author reviewed the same order or
    /// booking before ([`CreateReviewOutcome::AlreadyReviewed`], nothing written), links it to
    /// its listings, adds its rating to the aggregates of each listing and of the reviewed
    /// member ([`RatingScope::Listing`], [`RatingScope::Seller`]), and writes `event`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_review(
        &self,
        review: &NewReview,
        event: NewEvent,
    ) -> Result<CreateReviewOutcome>;

    /// The live (not deleted) review; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn review(&self, id: ReviewId) -> Result<Option<Review>>;

    /// In one transaction, behind a lock on the review's row: replaces its rating and text,
    /// moves the aggregates from the rating it had to the new one, and writes `event`; `None`
    /// when the review is not live.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn edit_review(&self, edit: &ReviewEdit, event: NewEvent) -> Result<Option<Review>>;

    /// Stores the reply if the live review has none yet, with `event`; `None` when it has one
    /// (or is not live).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn reply_to_review(
        &self,
        id: ReviewId,
        body: &str,
        at: Timestamp,
        event: NewEvent,
    ) -> Result<Option<Review>>;

    /// Marks the live review deleted and takes its rating out of the aggregates, with `event`,
    /// in one transaction; `false` when it was not live.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn delete_review(&self, id: ReviewId, at: Timestamp, event: NewEvent) -> Result<bool>;

    /// Live reviews of a listing or a member in `sort` order, with the cursor of the next page.
    /// For a `viewer`, MUST leave out the reviews of authors the viewer blocked or who blocked
    /// the viewer (as other lists do).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out;
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn reviews_of(
        &self,
        of: ReviewsOf,
        viewer: Option<UserId>,
        sort: ReviewSort,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Review>, Option<Cursor>)>;

    /// The aggregates of a listing (`scope` [`RatingScope::Listing`], a post's id) or a member
    /// (the other scopes, a user's id); all zero when nothing was rated.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn rating(&self, scope: RatingScope, subject: uuid::Uuid) -> Result<RatingSummary>;
}
