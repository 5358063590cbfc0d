//! Reviews of completed orders and bookings, their one reply, and the rating aggregates of
//! listings and members; see `vendrome_core::reviews`.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::ids::{BookingId, OrderId, PostId, ReviewId, UserId};
use vendrome_core::reviews::{
    EditReview, RatingSummary, Review, ReviewSort, ReviewTarget, ReviewsOf, WriteReview,
};
use vendrome_core::validation::ValidationErrors;

use super::page::PageQuery;
use super::posts::{post_id, Deleted};
use super::users::user_id;
use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// The reviewed member's reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyView {
    pub body: String,
    pub replied_at: DateTime<Utc>,
}

/// A review of a completed order or booking, by its buyer or client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: ReviewId,
    /// The buyer or client who wrote it.
    pub author: UserId,
    /// The seller or provider it is about.
    pub subject: UserId,
    pub order_id: Option<OrderId>,
    pub booking_id: Option<BookingId>,
    /// 1 to 5.
    pub rating: u8,
    pub body: Option<String>,
    /// The seller's or provider's one reply, when there is one.
    pub reply: Option<ReplyView>,
    pub created_at: DateTime<Utc>,
    /// When the author last edited it (its creation until then).
    pub updated_at: DateTime<Utc>,
}

impl From<Review> for ReviewView {
    fn from(r: Review) -> Self {
        let reply = match (r.reply_body, r.replied_at) {
            (Some(body), Some(replied_at)) => Some(ReplyView { body, replied_at }),
            _ => None,
        };
        Self {
            id: r.id,
            author: r.author_id,
            subject: r.subject_user_id,
            order_id: r.order_id,
            booking_id: r.booking_id,
            rating: r.rating.get(),
            body: r.body,
            reply,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Ratings, kept as integers: `average` is `sum / count` as a decimal with two places, rounded
/// half-up (`"4.67"`), `null` when nothing was rated.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    pub count: i64,
    pub sum: i64,
    #[schema(example = "4.67")]
    pub average: Option<String>,
    /// How many ratings of 1, 2, 3, 4 and 5 stars, in that order.
    pub histogram: Vec<i64>,
}

impl From<RatingSummary> for RatingView {
    fn from(s: RatingSummary) -> Self {
        Self {
            count: s.count,
            sum: s.sum,
            average: s.average(),
            histogram: s.histogram.to_vec(),
        }
    }
}

/// A member's ratings: as seller or provider (from reviews), and as mentor (from their
/// mentees' feedback).
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRatingsView {
    pub seller: RatingView,
    pub mentor: RatingView,
}

/// A new review: of an order or of a booking, exactly one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReviewRequest {
    /// A completed order the caller bought.
    pub order_id: Option<OrderId>,
    /// A completed booking the caller was the client of.
    pub booking_id: Option<BookingId>,
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Up to 5,000 characters.
    pub body: Option<String>,
}

/// A change of a review; what is absent stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditReviewRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i64>,
    /// Up to 5,000 characters; empty removes the text.
    pub body: Option<String>,
}

/// The reviewed member's reply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// 1 to 2,000 characters.
    pub body: String,
}

/// A page of reviews.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewsQuery {
    #[param(schema_with = sorts)]
    pub sort: Option<String>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn sorts() -> utoipa::openapi::Object {
    super::page::one_of(
        "`newest` (the default) or `highest` (highest rating first, newest first among equals).",
        ["newest", "highest"],
    )
}

impl ReviewsQuery {
    fn parse(
        &self,
    ) -> Result<
        (
            ReviewSort,
            Option<vendrome_core::page::Cursor>,
            vendrome_core::page::Limit,
        ),
        ApiError,
    > {
        let sort = match self.sort.as_deref() {
            None | Some("newest") => ReviewSort::Newest,
            Some("highest") => ReviewSort::Highest,
            Some(_) => {
                return Err(ValidationErrors::single(
                    "sort",
                    "invalid_choice",
                    "is `newest` or `highest`",
                )
                .into())
            }
        };
        let (cursor, limit) = PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .parse()?;
        Ok((sort, cursor, limit))
    }
}

fn review_id(raw: &str) -> Result<ReviewId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("review"))
}

/// Review a completed order (its buyer) or booking (its client), once.
#[utoipa::path(post, path = "/v1/reviews", tag = "reviews", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key answers the first response.")),
    request_body = CreateReviewRequest,
    responses(
        (status = 201, description = "The review.", body = Envelope<ReviewView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_a_buyer`: not the caller's order or booking, or not completed; `blocked`.", body = ErrorEnvelope),
        (status = 409, description = "`already_reviewed`; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`rating`, `body`, `order_id`: exactly one of `order_id` and `booking_id`).", body = ErrorEnvelope),
    ))]
pub async fn create_review(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateReviewRequest>,
) -> ApiResult<ApiSuccess<ReviewView>> {
    let target = match (body.order_id, body.booking_id) {
        (Some(order), None) => ReviewTarget::Order(order),
        (None, Some(booking)) => ReviewTarget::Booking(booking),
        _ => {
            return Err(ValidationErrors::single(
                "order_id",
                "one_of",
                "name exactly one of `order_id` and `booking_id`",
            )
            .into())
        }
    };
    let input = WriteReview {
        target,
        rating: body.rating,
        body: body.body,
    };
    let review = state
        .reviews
        .write(&auth.caller, input, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::created(review.into()))
}

/// One review.
#[utoipa::path(get, path = "/v1/reviews/{id}", tag = "reviews",
    params(("id" = ReviewId, Path, description = "The review.")),
    responses(
        (status = 200, description = "The review.", body = Envelope<ReviewView>),
        (status = 401, description = "A token was sent and is not valid (`token_invalid`, `token_expired`, `session_revoked`).", body = ErrorEnvelope),
        (status = 404, description = "No such review (or it was deleted).", body = ErrorEnvelope),
    ))]
pub async fn get_review(
    State(state): State<AppState>,
    MaybeAuthenticated(_caller): MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<ReviewView>> {
    let review = state.reviews.get(review_id(&id)?).await?;
    Ok(ApiSuccess::ok(review.into()))
}

/// Edit a review (its author, within 30 days of writing it).
#[utoipa::path(patch, path = "/v1/reviews/{id}", tag = "reviews", security(("bearer" = [])),
    params(("id" = ReviewId, Path, description = "The review.")),
    request_body = EditReviewRequest,
    responses(
        (status = 200, description = "The review now.", body = Envelope<ReviewView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_author`.", body = ErrorEnvelope),
        (status = 404, description = "No such review.", body = ErrorEnvelope),
        (status = 409, description = "`edit_window_passed`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`rating`, `body`).", body = ErrorEnvelope),
    ))]
pub async fn edit_review(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditReviewRequest>,
) -> ApiResult<ApiSuccess<ReviewView>> {
    let edit = EditReview {
        rating: body.rating,
        body: body.body,
    };
    let review = state
        .reviews
        .edit(
            &auth.caller,
            review_id(&id)?,
            edit,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::ok(review.into()))
}

/// Delete a review (its author, or a moderator); its rating leaves the aggregates.
#[utoipa::path(delete, path = "/v1/reviews/{id}", tag = "reviews", security(("bearer" = [])),
    params(("id" = ReviewId, Path, description = "The review.")),
    responses(
        (status = 200, description = "Deleted.", body = Envelope<Deleted>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_author`.", body = ErrorEnvelope),
        (status = 404, description = "No such review.", body = ErrorEnvelope),
    ))]
pub async fn delete_review(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<Deleted>> {
    state
        .reviews
        .delete(&auth.caller, review_id(&id)?, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::ok(Deleted { deleted: true }))
}

/// Reply to a review (the reviewed seller or provider), once.
#[utoipa::path(post, path = "/v1/reviews/{id}/reply", tag = "reviews", security(("bearer" = [])),
    params(("id" = ReviewId, Path, description = "The review."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key answers the first response.")),
    request_body = ReplyRequest,
    responses(
        (status = 201, description = "The review with its reply.", body = Envelope<ReviewView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_review_subject`.", body = ErrorEnvelope),
        (status = 404, description = "No such review.", body = ErrorEnvelope),
        (status = 409, description = "`already_replied`; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`body`: `required`, `too_long`).", body = ErrorEnvelope),
    ))]
pub async fn reply_to_review(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplyRequest>,
) -> ApiResult<ApiSuccess<ReviewView>> {
    let review = state
        .reviews
        .reply(
            &auth.caller,
            review_id(&id)?,
            body.body,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::created(review.into()))
}

/// The reviews of a listing's orders and bookings.
#[utoipa::path(get, path = "/v1/posts/{id}/reviews", tag = "reviews",
    params(("id" = PostId, Path, description = "The listing."), ReviewsQuery),
    responses(
        (status = 200, description = "A page of reviews.", body = Envelope<Vec<ReviewView>>),
        (status = 401, description = "A token was sent and is not valid (`token_invalid`, `token_expired`, `session_revoked`).", body = ErrorEnvelope),
        (status = 404, description = "Not a post id.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (sort, limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn post_reviews(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ReviewsQuery>,
) -> ApiResult<ApiSuccess<Vec<ReviewView>>> {
    let of = ReviewsOf::Post(post_id(&id)?);
    let (sort, cursor, limit) = query.parse()?;
    let page = state
        .reviews
        .list(caller.as_ref(), of, sort, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, ReviewView::from))
}

/// The reviews of a member as seller or provider.
#[utoipa::path(get, path = "/v1/users/{id}/reviews", tag = "reviews",
    params(("id" = UserId, Path, description = "The member."), ReviewsQuery),
    responses(
        (status = 200, description = "A page of reviews.", body = Envelope<Vec<ReviewView>>),
        (status = 401, description = "A token was sent and is not valid (`token_invalid`, `token_expired`, `session_revoked`).", body = ErrorEnvelope),
        (status = 404, description = "Not a user id.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (sort, limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn user_reviews(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ReviewsQuery>,
) -> ApiResult<ApiSuccess<Vec<ReviewView>>> {
    let of = ReviewsOf::User(user_id(&id)?);
    let (sort, cursor, limit) = query.parse()?;
    let page = state
        .reviews
        .list(caller.as_ref(), of, sort, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, ReviewView::from))
}

/// A listing's rating: count, sum, average and histogram of its reviews.
#[utoipa::path(get, path = "/v1/posts/{id}/rating", tag = "reviews",
    params(("id" = PostId, Path, description = "The listing.")),
    responses(
        (status = 200, description = "The rating (all zero when nothing was rated).", body = Envelope<RatingView>),
        (status = 401, description = "A token was sent and is not valid (`token_invalid`, `token_expired`, `session_revoked`).", body = ErrorEnvelope),
        (status = 404, description = "Not a post id.", body = ErrorEnvelope),
    ))]
pub async fn post_rating(
    State(state): State<AppState>,
    MaybeAuthenticated(_caller): MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<RatingView>> {
    let summary = state.reviews.listing_rating(post_id(&id)?).await?;
    Ok(ApiSuccess::ok(summary.into()))
}

/// A member's ratings as seller or provider and as mentor.
#[utoipa::path(get, path = "/v1/users/{id}/ratings", tag = "reviews",
    params(("id" = UserId, Path, description = "The member.")),
    responses(
        (status = 200, description = "The ratings (all zero when nothing was rated).", body = Envelope<MemberRatingsView>),
        (status = 401, description = "A token was sent and is not valid (`token_invalid`, `token_expired`, `session_revoked`).", body = ErrorEnvelope),
        (status = 404, description = "Not a user id.", body = ErrorEnvelope),
    ))]
pub async fn user_ratings(
    State(state): State<AppState>,
    MaybeAuthenticated(_caller): MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<MemberRatingsView>> {
    let (seller, mentor) = state.reviews.member_ratings(user_id(&id)?).await?;
    Ok(ApiSuccess::ok(MemberRatingsView {
        seller: seller.into(),
        mentor: mentor.into(),
    }))
}
