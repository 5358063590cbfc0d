//! [`ReviewRepo`] on both databases: reviews, the listings they are about (`review_posts`) and
//! the rating aggregates they move (`ratings.rs`).
//!
//! Creating a review starts with its insert (`ON CONFLICT DO NOTHING` on the author's order or
//! booking, so a second review of one writes nothing); an edit or a deletion starts with an
//! `UPDATE` of the review's row that returns the rating it had, which locks the row on PostgreSQL
//! and takes SQLite's write lock, so the aggregates move from the rating really stored. Every
//! transaction begins with a write.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::RatingScope;
use vendrome_core::ids::{BookingId, OrderId, PostId, ReviewId, UserId};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::reviews::{
    CreateReviewOutcome, NewReview, Rating, RatingSummary, Review, ReviewEdit, ReviewRepo,
    ReviewSort, ReviewTarget, Reviewable, ReviewsOf,
};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::error::SqlxResultExt as _;
use crate::ratings::{RatingDelta, RatingWrites as _, StatsRow};
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::{commit_if_changed, TxWrites as _};
use crate::{with_db, Store};

const REVIEW_COLUMNS: &str = "r.id, r.author_id, r.subject_user_id, r.order_id, r.booking_id, \
    CAST(r.rating AS integer) AS rating, r.body, r.reply_body, r.replied_at, r.created_at, r.updated_at";

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: Uuid,
    author_id: Uuid,
    subject_user_id: Uuid,
    order_id: Option<Uuid>,
    booking_id: Option<Uuid>,
    rating: i32,
    body: Option<String>,
    reply_body: Option<String>,
    replied_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

fn stored_rating(n: i32) -> Result<Rating> {
    Rating::parse(i64::from(n))
        .map_err(|_| Error::Unexpected(anyhow::anyhow!("stored rating {n} is not 1 to 5")))
}

impl ReviewRow {
    fn into_review(self) -> Result<Review> {
        Ok(Review {
            id: ReviewId::from_uuid(self.id),
            author_id: UserId::from_uuid(self.author_id),
            subject_user_id: UserId::from_uuid(self.subject_user_id),
            order_id: self.order_id.map(OrderId::from_uuid),
            booking_id: self.booking_id.map(BookingId::from_uuid),
            rating: stored_rating(self.rating)?,
            body: self.body,
            reply_body: self.reply_body,
            replied_at: self.replied_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The parties of an order or booking, whether it is completed, and whether a block stands
/// between them.
const ORDER_PARTIES: &str = "SELECT o.buyer_id, o.seller_id, o.status = 'completed' AS completed, \
    EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = o.buyer_id AND b.blocked_id = o.seller_id) \
      OR (b.blocker_id = o.seller_id AND b.blocked_id = o.buyer_id)) AS blocked \
    FROM orders o WHERE o.id = $1";

const BOOKING_PARTIES: &str = "SELECT k.client_id, k.provider_id, k.status = 'completed' AS completed, \
    EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = k.client_id AND b.blocked_id = k.provider_id) \
      OR (b.blocker_id = k.provider_id AND b.blocked_id = k.client_id)) AS blocked \
    FROM bookings k WHERE k.id = $1";

const ORDER_POSTS: &str =
    "SELECT DISTINCT product_post_id FROM order_items WHERE order_id = $1 ORDER BY product_post_id";

const BOOKING_POSTS: &str = "SELECT service_post_id FROM bookings WHERE id = $1";

/// The first write of an edit or deletion: stamps the live review and answers the rating it
/// has and whom it is about.
const TOUCH: &str = "UPDATE reviews SET updated_at = $2 WHERE id = $1 AND deleted_at IS NULL \
    RETURNING CAST(rating AS integer), subject_user_id";

const DELETE: &str = "UPDATE reviews SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL \
    RETURNING CAST(rating AS integer), subject_user_id";

const REVIEW_POSTS: &str = "SELECT post_id FROM review_posts WHERE review_id = $1 ORDER BY post_id";

impl Store {
    async fn load_reviews(&self, sql: SqlText) -> Result<Vec<Review>> {
        let rows: Vec<ReviewRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, ReviewRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(ReviewRow::into_review).collect()
    }
}

/// Moves the aggregates of a review's listings (in id order) and then of the reviewed member.
macro_rules! shift_all {
    ($tx:expr, $posts:expr, $subject:expr, $delta:expr) => {{
        for post in $posts {
            $tx.shift_rating(RatingScope::Listing, post, $delta).await?;
        }
        $tx.shift_rating(RatingScope::Seller, $subject, $delta)
            .await?;
    }};
}

#[async_trait]
impl ReviewRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn reviewable(&self, target: ReviewTarget) -> Result<Option<Reviewable>> {
        let (parties, posts, id) = match target {
            ReviewTarget::Order(o) => (ORDER_PARTIES, ORDER_POSTS, o.as_uuid()),
            ReviewTarget::Booking(b) => (BOOKING_PARTIES, BOOKING_POSTS, b.as_uuid()),
        };
        let found: Option<(Uuid, Uuid, bool, bool)> = with_db!(&self.db, pool => {
            sqlx::query_as(parties).bind(id).fetch_optional(pool).await
        })
        .or_unexpected()?;
        let Some((buyer, subject, completed, blocked)) = found else {
            return Ok(None);
        };
        let posts: Vec<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(posts).bind(id).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(Some(Reviewable {
            buyer_id: UserId::from_uuid(buyer),
            subject_id: UserId::from_uuid(subject),
            completed,
            posts: posts.into_iter().map(PostId::from_uuid).collect(),
            blocked,
        }))
    }

    #[tracing::instrument(skip_all, fields(review = %review.id))]
    async fn create_review(
        &self,
        review: &NewReview,
        event: NewEvent,
    ) -> Result<CreateReviewOutcome> {
        let (order, booking) = match review.target {
            ReviewTarget::Order(o) => (Some(o.as_uuid()), None),
            ReviewTarget::Booking(b) => (None, Some(b.as_uuid())),
        };
        let mut posts: Vec<Uuid> = review.posts.iter().map(PostId::as_uuid).collect();
        posts.sort();
        posts.dedup();
        let subject = review.subject_user_id.as_uuid();
        let delta = RatingDelta::added(review.rating);
        let created = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO reviews (id, author_id, subject_user_id, order_id, booking_id, rating, body, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING",
            )
            .bind(review.id.as_uuid())
            .bind(review.author_id.as_uuid())
            .bind(subject)
            .bind(order)
            .bind(booking)
            .bind(i16::from(review.rating.get()))
            .bind(&review.body)
            .bind(review.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                return Ok(false);
            }
            for post in &posts {
                sqlx::query("INSERT INTO review_posts (review_id, post_id) VALUES ($1, $2)")
                    .bind(review.id.as_uuid())
                    .bind(*post)
                    .execute(&mut *tx)
                    .await?;
            }
            shift_all!(tx, posts.iter().copied(), subject, delta);
            tx.append_event(&event, review.created_at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()?;
        if !created {
            return Ok(CreateReviewOutcome::AlreadyReviewed);
        }
        self.review(review.id)
            .await?
            .map(CreateReviewOutcome::Created)
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("a review just written is missing")))
    }

    #[tracing::instrument(skip(self))]
    async fn review(&self, id: ReviewId) -> Result<Option<Review>> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!(
                "SELECT {REVIEW_COLUMNS} FROM reviews r WHERE r.deleted_at IS NULL AND r.id = "
            ),
        );
        sql.uuid(id.as_uuid());
        Ok(self.load_reviews(sql).await?.pop())
    }

    #[tracing::instrument(skip_all, fields(review = %edit.id))]
    async fn edit_review(&self, edit: &ReviewEdit, event: NewEvent) -> Result<Option<Review>> {
        let id = edit.id.as_uuid();
        let edited = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let found: Option<(i32, Uuid)> = sqlx::query_as(TOUCH)
                .bind(id)
                .bind(edit.at)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((was, subject)) = found else {
                return Ok(false);
            };
            let was = Rating::parse(i64::from(was))
                .map_err(|_| sqlx::Error::Protocol(format!("stored rating {was} is not 1 to 5")))?;
            if was != edit.rating {
                let posts: Vec<Uuid> = sqlx::query_scalar(REVIEW_POSTS).bind(id).fetch_all(&mut *tx).await?;
                let delta = RatingDelta::changed(was, edit.rating);
                shift_all!(tx, posts, subject, delta);
            }
            sqlx::query("UPDATE reviews SET rating = $2, body = $3 WHERE id = $1")
                .bind(id)
                .bind(i16::from(edit.rating.get()))
                .bind(&edit.body)
                .execute(&mut *tx)
                .await?;
            tx.append_event(&event, edit.at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()?;
        if !edited {
            return Ok(None);
        }
        self.review(edit.id).await
    }

    #[tracing::instrument(skip(self, body, event))]
    async fn reply_to_review(
        &self,
        id: ReviewId,
        body: &str,
        at: Timestamp,
        event: NewEvent,
    ) -> Result<Option<Review>> {
        let replied = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE reviews SET reply_body = $2, replied_at = $3 \
                 WHERE id = $1 AND deleted_at IS NULL AND reply_body IS NULL",
            )
            .bind(id.as_uuid())
            .bind(body)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, changed, &event, at).await
        })
        .or_unexpected()?;
        if !replied {
            return Ok(None);
        }
        self.review(id).await
    }

    #[tracing::instrument(skip(self, event))]
    async fn delete_review(&self, id: ReviewId, at: Timestamp, event: NewEvent) -> Result<bool> {
        let id = id.as_uuid();
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let found: Option<(i32, Uuid)> = sqlx::query_as(DELETE)
                .bind(id)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((was, subject)) = found else {
                return Ok(false);
            };
            let was = Rating::parse(i64::from(was))
                .map_err(|_| sqlx::Error::Protocol(format!("stored rating {was} is not 1 to 5")))?;
            let posts: Vec<Uuid> = sqlx::query_scalar(REVIEW_POSTS).bind(id).fetch_all(&mut *tx).await?;
            shift_all!(tx, posts, subject, RatingDelta::removed(was));
            tx.append_event(&event, at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn reviews_of(
        &self,
        of: ReviewsOf,
        viewer: Option<UserId>,
        sort: ReviewSort,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Review>, Option<Cursor>)> {
        let mut sql = SqlText::new(self.dialect(), &format!("SELECT {REVIEW_COLUMNS} FROM "));
        match of {
            ReviewsOf::Post(post) => {
                sql.push(
                    "review_posts rp JOIN reviews r ON r.id = rp.review_id WHERE rp.post_id = ",
                );
                sql.uuid(post.as_uuid());
            }
            ReviewsOf::User(user) => {
                sql.push("reviews r WHERE r.subject_user_id = ");
                sql.uuid(user.as_uuid());
            }
        }
        sql.push(" AND r.deleted_at IS NULL");
        if let Some(viewer) = viewer {
            // Neither the viewer's blocks nor those against the viewer.
            sql.push(" AND NOT EXISTS (SELECT 1 FROM user_blocks k WHERE (k.blocker_id = ");
            sql.uuid(viewer.as_uuid());
            sql.push(" AND k.blocked_id = r.author_id) OR (k.blocker_id = r.author_id AND k.blocked_id = ");
            sql.uuid(viewer.as_uuid());
            sql.push("))");
        }
        match sort {
            ReviewSort::Newest => {
                if let Some(cursor) = after {
                    let (at, id): (Timestamp, Uuid) = cursor.decode()?;
                    sql.push(" AND (r.created_at, r.id) < (");
                    sql.bind(Arg::At(at)).push(", ").uuid(id).push(")");
                }
                sql.push(" ORDER BY r.created_at DESC, r.id DESC LIMIT ");
            }
            ReviewSort::Highest => {
                if let Some(cursor) = after {
                    let (rating, at, id): (i64, Timestamp, Uuid) = cursor.decode()?;
                    sql.push(" AND (r.rating < ");
                    sql.bind(Arg::Int(rating));
                    sql.push(" OR (r.rating = ");
                    sql.bind(Arg::Int(rating));
                    sql.push(" AND (r.created_at, r.id) < (");
                    sql.bind(Arg::At(at)).push(", ").uuid(id).push(")))");
                }
                sql.push(" ORDER BY r.rating DESC, r.created_at DESC, r.id DESC LIMIT ");
            }
        }
        sql.bind(Arg::Int(limit.probe()));
        let reviews = self.load_reviews(sql).await?;
        let page = match sort {
            ReviewSort::Newest => {
                Page::from_probe(reviews, limit, |r| (r.created_at, r.id.as_uuid()))
            }
            ReviewSort::Highest => Page::from_probe(reviews, limit, |r| {
                (i64::from(r.rating.get()), r.created_at, r.id.as_uuid())
            }),
        };
        Ok((page.items, page.next_cursor))
    }

    #[tracing::instrument(skip(self))]
    async fn rating(&self, scope: RatingScope, subject: Uuid) -> Result<RatingSummary> {
        let row: Option<StatsRow> = with_db!(&self.db, pool => {
            sqlx::query_as(crate::ratings::READ)
                .bind(DbEnum(scope))
                .bind(subject)
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(crate::ratings::summary(row))
    }
}
