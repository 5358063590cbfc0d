//! [`ReviewService`]: who may review, reply, edit and delete, over [`ReviewRepo`] only.

use std::sync::Arc;

use super::{
    CreateReviewOutcome, NewReview, Rating, RatingSummary, Review, ReviewEdit, ReviewRepo,
    ReviewSort, ReviewTarget, ReviewsOf, EDIT_WINDOW,
};
use crate::access::Caller;
use crate::enums::{RatingScope, UserRole};
use crate::events::{DomainEvent, ReviewChanged};
use crate::ids::{PostId, ReviewId, UserId};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::{Error, Result};

/// The longest review text, in characters.
pub const BODY_MAX: usize = 5_000;

/// The longest reply, in characters.
pub const REPLY_MAX: usize = 2_000;

/// A new review (`POST /v1/reviews`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReview {
    pub target: ReviewTarget,
    /// 1 to 5, checked here.
    pub rating: i64,
    pub body: Option<String>,
}

/// A change of a review (`PATCH /v1/reviews/{id}`): what is `None` stays as it is; an empty
/// body removes the text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditReview {
    pub rating: Option<i64>,
    pub body: Option<String>,
}

/// See the module docs.
#[derive(Clone)]
pub struct ReviewService {
    repo: Arc<dyn ReviewRepo>,
}

/// A text trimmed, `None` when empty; `too_long` past `max` characters.
fn text(raw: Option<String>, max: usize) -> Result<Option<String>, ValidationErrors> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if raw.chars().count() > max {
        return Err(invalid("too_long", format!("at most {max} characters")));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

fn event(review: &Review, rating: Rating, wrap: fn(ReviewChanged) -> DomainEvent) -> NewEvent {
    NewEvent::new(wrap(ReviewChanged {
        review_id: review.id,
        author_id: review.author_id,
        subject_user_id: review.subject_user_id,
        order_id: review.order_id,
        booking_id: review.booking_id,
        rating: rating.get(),
    }))
}

fn not_a_buyer(message: &str) -> Error {
    Error::forbidden("not_a_buyer", message)
}

impl ReviewService {
    pub fn new(repo: Arc<dyn ReviewRepo>) -> Self {
        Self { repo }
    }

    /// The caller reviews an order they bought or a booking they were the client of, once it
    /// is completed.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a rating out of 1–5 or a text too long; [`Error::Forbidden`]
    /// `not_a_buyer` when the order or booking does not exist, is not the caller's, or is not
    /// completed, and `blocked` when a block stands between the caller and the seller;
    /// [`Error::Conflict`] `already_reviewed`.
    pub async fn write(
        &self,
        caller: &Caller,
        input: WriteReview,
        now: Timestamp,
    ) -> Result<Review> {
        let mut errors = ValidationErrors::new();
        let rating = errors.check("rating", Rating::parse(input.rating));
        let body = errors.check("body", text(input.body, BODY_MAX));
        errors.into_result()?;
        let (Some(rating), Some(body)) = (rating, body) else {
            unreachable!("checked above")
        };
        let Some(target) = self.repo.reviewable(input.target).await? else {
            return Err(not_a_buyer("only the buyer or client may review it"));
        };
        if target.buyer_id != caller.user_id {
            return Err(not_a_buyer("only the buyer or client may review it"));
        }
        if target.blocked {
            return Err(Error::forbidden(
                "blocked",
                "a block stands between you and the seller",
            ));
        }
        if !target.completed {
            return Err(not_a_buyer(
                "only a completed order or booking may be reviewed",
            ));
        }
        let review = NewReview {
            id: ReviewId::new(),
            author_id: caller.user_id,
            subject_user_id: target.subject_id,
            target: input.target,
            rating,
            body,
            posts: target.posts,
            created_at: now,
        };
        let (order_id, booking_id) = match input.target {
            ReviewTarget::Order(o) => (Some(o), None),
            ReviewTarget::Booking(b) => (None, Some(b)),
        };
        let created = NewEvent::new(DomainEvent::ReviewCreated(ReviewChanged {
            review_id: review.id,
            author_id: review.author_id,
            subject_user_id: review.subject_user_id,
            order_id,
            booking_id,
            rating: rating.get(),
        }));
        match self.repo.create_review(&review, created).await? {
            CreateReviewOutcome::Created(review) => Ok(review),
            CreateReviewOutcome::AlreadyReviewed => Err(Error::conflict(
                "already_reviewed",
                "you have reviewed this order or booking already",
            )),
        }
    }

    /// The live review.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `review`.
    pub async fn get(&self, id: ReviewId) -> Result<Review> {
        self.repo
            .review(id)
            .await?
            .ok_or(Error::not_found("review"))
    }

    /// The author changes the rating or the text, within [`EDIT_WINDOW`] of writing it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `review`; [`Error::Forbidden`] `not_author`; [`Error::Conflict`]
    /// `edit_window_passed`; [`Error::Invalid`] for a rating out of 1–5 or a text too long.
    pub async fn edit(
        &self,
        caller: &Caller,
        id: ReviewId,
        input: EditReview,
        now: Timestamp,
    ) -> Result<Review> {
        let review = self.get(id).await?;
        if review.author_id != caller.user_id {
            return Err(Error::forbidden(
                "not_author",
                "only its author edits a review",
            ));
        }
        let window = chrono::Duration::from_std(EDIT_WINDOW).unwrap_or(chrono::Duration::MAX);
        if now - review.created_at > window {
            return Err(Error::conflict(
                "edit_window_passed",
                "a review may be edited for 30 days after it was written",
            ));
        }
        let mut errors = ValidationErrors::new();
        let rating = match input.rating {
            Some(n) => errors.check("rating", Rating::parse(n)),
            None => Some(review.rating),
        };
        let body = match input.body {
            Some(b) => errors.check("body", text(Some(b), BODY_MAX)),
            None => Some(review.body.clone()),
        };
        errors.into_result()?;
        let (Some(rating), Some(body)) = (rating, body) else {
            unreachable!("checked above")
        };
        let edit = ReviewEdit {
            id,
            rating,
            body,
            at: now,
        };
        self.repo
            .edit_review(&edit, event(&review, rating, DomainEvent::ReviewUpdated))
            .await?
            .ok_or(Error::not_found("review"))
    }

    /// The reviewed seller or provider replies, once.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `review`; [`Error::Forbidden`] `not_review_subject`;
    /// [`Error::Conflict`] `already_replied`; [`Error::Invalid`] for an empty or too long reply.
    pub async fn reply(
        &self,
        caller: &Caller,
        id: ReviewId,
        body: String,
        now: Timestamp,
    ) -> Result<Review> {
        let review = self.get(id).await?;
        if review.subject_user_id != caller.user_id {
            return Err(Error::forbidden(
                "not_review_subject",
                "only the reviewed seller or provider replies to a review",
            ));
        }
        let mut errors = ValidationErrors::new();
        let body = errors.check("body", text(Some(body), REPLY_MAX));
        errors.into_result()?;
        let Some(Some(body)) = body else {
            return Err(ValidationErrors::single("body", "required", "a reply has text").into());
        };
        let already = || {
            Error::conflict(
                "already_replied",
                "a review has one reply, and this one has it",
            )
        };
        if review.reply_body.is_some() {
            return Err(already());
        }
        self.repo
            .reply_to_review(
                id,
                &body,
                now,
                event(&review, review.rating, DomainEvent::ReviewReplied),
            )
            .await?
            .ok_or_else(already)
    }

    /// The author, or a moderator, deletes a review; its rating leaves the aggregates.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `review`; [`Error::Forbidden`] `not_author`.
    pub async fn delete(&self, caller: &Caller, id: ReviewId, now: Timestamp) -> Result<()> {
        let review = self.get(id).await?;
        let moderator = caller.role.rank() >= UserRole::Moderator.rank();
        if review.author_id != caller.user_id && !moderator {
            return Err(Error::forbidden(
                "not_author",
                "only its author or a moderator deletes a review",
            ));
        }
        let event = event(&review, review.rating, DomainEvent::ReviewDeleted);
        if self.repo.delete_review(id, now, event).await? {
            Ok(())
        } else {
            Err(Error::not_found("review"))
        }
    }

    /// Live reviews of a listing or a member, newest or highest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn list(
        &self,
        viewer: Option<&Caller>,
        of: ReviewsOf,
        sort: ReviewSort,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Review>> {
        let viewer = viewer.map(|c| c.user_id);
        let (items, next_cursor) = self.repo.reviews_of(of, viewer, sort, after, limit).await?;
        Ok(Page { items, next_cursor })
    }

    /// A listing's rating.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn listing_rating(&self, post: PostId) -> Result<RatingSummary> {
        self.repo.rating(RatingScope::Listing, post.as_uuid()).await
    }

    /// A member's ratings as seller or provider, and as mentor.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn member_ratings(&self, user: UserId) -> Result<(RatingSummary, RatingSummary)> {
        let seller = self
            .repo
            .rating(RatingScope::Seller, user.as_uuid())
            .await?;
        let mentor = self
            .repo
            .rating(RatingScope::Mentor, user.as_uuid())
            .await?;
        Ok((seller, mentor))
    }
}
