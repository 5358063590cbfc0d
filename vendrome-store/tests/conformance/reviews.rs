//! Reviews: once per order or booking, aggregates moved in the review's transaction (exact under
//! concurrent reviews of one seller), edits and deletions that move them back, one reply, and
//! paging newest or highest first.

use std::sync::Arc;

use serde_json::json;
use vendrome_core::enums::{BookingStatus, OrderStatus, PostType, PostVisibility, RatingScope};
use vendrome_core::events::{DomainEvent, ReviewChanged};
use vendrome_core::graph::blocks::BlockRepo as _;
use vendrome_core::ids::{BookingId, PostId, ReviewId, UserId};
use vendrome_core::orders::OrderRepo;
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_core::reviews::{
    CreateReviewOutcome, NewReview, Rating, RatingSummary, Review, ReviewEdit, ReviewRepo,
    ReviewSort, ReviewTarget, ReviewsOf,
};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::{with_db, DbEnum, Store};

use crate::graph::user;
use crate::orders::{change, count_events, event_for, new_order, placed, product};
use crate::posts::new_post;

conformance!(
    a_review_moves_the_aggregates_once_per_order,
    twenty_concurrent_reviews_of_one_seller_add_up_exactly,
    edits_and_deletions_move_the_aggregates_back,
    a_review_has_one_reply,
    reviews_page_newest_and_highest_first,
    a_completed_booking_is_reviewable_and_blocks_are_reported,
    a_viewer_does_not_see_reviews_across_a_block
);

fn rating(n: i64) -> Rating {
    Rating::parse(n).unwrap()
}

/// A completed order of `post` (sold by `seller`) bought by a new member: the buyer and the
/// order's target.
pub async fn completed_order(
    store: &Store,
    seller: UserId,
    post: PostId,
) -> (UserId, ReviewTarget) {
    let buyer = user(store).await;
    let key = format!("k-{}", buyer);
    let order = placed(store, &new_order(buyer, seller, &[(post, 1)], 1500, &key)).await;
    let now = time::now();
    let mut current = order;
    for (from, to) in [
        (OrderStatus::PendingPayment, OrderStatus::Paid),
        (OrderStatus::Paid, OrderStatus::Fulfilled),
        (OrderStatus::Fulfilled, OrderStatus::Completed),
    ] {
        current = store
            .change_status(change(&current, from, to, now), event_for(&current, to))
            .await
            .unwrap()
            .expect("moved");
    }
    (buyer, ReviewTarget::Order(current.id))
}

pub fn review_of(
    author: UserId,
    subject: UserId,
    target: ReviewTarget,
    stars: i64,
    posts: Vec<PostId>,
) -> NewReview {
    NewReview {
        id: ReviewId::new(),
        author_id: author,
        subject_user_id: subject,
        target,
        rating: rating(stars),
        body: Some("Fine mug".into()),
        posts,
        created_at: time::now(),
    }
}

fn event(review: &NewReview) -> NewEvent {
    let (order_id, booking_id) = match review.target {
        ReviewTarget::Order(o) => (Some(o), None),
        ReviewTarget::Booking(b) => (None, Some(b)),
    };
    NewEvent::new(DomainEvent::ReviewCreated(ReviewChanged {
        review_id: review.id,
        author_id: review.author_id,
        subject_user_id: review.subject_user_id,
        order_id,
        booking_id,
        rating: review.rating.get(),
    }))
}

pub async fn written(store: &Store, review: &NewReview) -> Review {
    match store.create_review(review, event(review)).await.unwrap() {
        CreateReviewOutcome::Created(r) => r,
        other => panic!("expected a new review, got {other:?}"),
    }
}

async fn summaries(store: &Store, post: PostId, seller: UserId) -> (RatingSummary, RatingSummary) {
    (
        store
            .rating(RatingScope::Listing, post.as_uuid())
            .await
            .unwrap(),
        store
            .rating(RatingScope::Seller, seller.as_uuid())
            .await
            .unwrap(),
    )
}

async fn a_review_moves_the_aggregates_once_per_order(store: Store) {
    let seller = user(&store).await;
    let post = product(&store, seller, 1500, None).await;
    let (buyer, target) = completed_order(&store, seller, post).await;
    let found = store.reviewable(target).await.unwrap().expect("the order");
    assert_eq!((found.buyer_id, found.subject_id), (buyer, seller));
    assert!(found.completed && !found.blocked);
    assert_eq!(found.posts, vec![post]);

    let first = review_of(buyer, seller, target, 4, vec![post]);
    let review = written(&store, &first).await;
    assert_eq!(review.rating, rating(4));
    assert_eq!(
        review.order_id,
        Some(match target {
            ReviewTarget::Order(o) => o,
            ReviewTarget::Booking(_) => unreachable!(),
        })
    );
    // A second review of the same order writes nothing.
    let again = review_of(buyer, seller, target, 1, vec![post]);
    assert_eq!(
        store.create_review(&again, event(&again)).await.unwrap(),
        CreateReviewOutcome::AlreadyReviewed
    );
    let expected = RatingSummary::of([rating(4)]);
    assert_eq!(summaries(&store, post, seller).await, (expected, expected));
    assert_eq!(count_events(&store, "review.created").await, 1);
    // Nothing rated: all zero.
    let other = user(&store).await;
    assert_eq!(
        store
            .rating(RatingScope::Seller, other.as_uuid())
            .await
            .unwrap(),
        RatingSummary::default()
    );
}

async fn twenty_concurrent_reviews_of_one_seller_add_up_exactly(store: Store) {
    let seller = user(&store).await;
    let post = product(&store, seller, 1500, None).await;
    let mut reviews = Vec::new();
    for n in 0..20 {
        let (buyer, target) = completed_order(&store, seller, post).await;
        reviews.push(review_of(buyer, seller, target, n % 5 + 1, vec![post]));
    }
    let expected = RatingSummary::of(reviews.iter().map(|r| r.rating));
    let store = Arc::new(store);
    let tasks: Vec<_> = reviews
        .into_iter()
        .map(|review| {
            let store = store.clone();
            tokio::spawn(async move { store.create_review(&review, event(&review)).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(
            task.await.unwrap().unwrap(),
            CreateReviewOutcome::Created(_)
        ));
    }
    assert_eq!(expected.count, 20);
    assert_eq!(summaries(&store, post, seller).await, (expected, expected));
    assert_eq!(count_events(&store, "review.created").await, 20);
}

async fn edits_and_deletions_move_the_aggregates_back(store: Store) {
    let seller = user(&store).await;
    let post = product(&store, seller, 1500, None).await;
    let (a, first) = completed_order(&store, seller, post).await;
    let (b, second) = completed_order(&store, seller, post).await;
    let kept = written(&store, &review_of(a, seller, first, 5, vec![post])).await;
    let edited = written(&store, &review_of(b, seller, second, 2, vec![post])).await;

    let at = time::now();
    let edit = ReviewEdit {
        id: edited.id,
        rating: rating(3),
        body: None,
        at,
    };
    let now = store
        .edit_review(&edit, updated(&edited, 3))
        .await
        .unwrap()
        .expect("live");
    assert_eq!((now.rating, now.body.as_deref()), (rating(3), None));
    let expected = RatingSummary::of([rating(5), rating(3)]);
    assert_eq!(summaries(&store, post, seller).await, (expected, expected));

    assert!(store
        .delete_review(edited.id, at, updated(&edited, 3))
        .await
        .unwrap());
    assert_eq!(store.review(edited.id).await.unwrap(), None);
    // Deleted once: a second deletion and an edit of it find nothing.
    assert!(!store
        .delete_review(edited.id, at, updated(&edited, 3))
        .await
        .unwrap());
    assert_eq!(
        store.edit_review(&edit, updated(&edited, 3)).await.unwrap(),
        None
    );
    let expected = RatingSummary::of([rating(5)]);
    assert_eq!(summaries(&store, post, seller).await, (expected, expected));
    assert!(store
        .delete_review(kept.id, at, updated(&kept, 5))
        .await
        .unwrap());
    let zero = RatingSummary::default();
    assert_eq!(summaries(&store, post, seller).await, (zero, zero));
}

fn updated(review: &Review, stars: u8) -> NewEvent {
    NewEvent::new(DomainEvent::ReviewUpdated(ReviewChanged {
        review_id: review.id,
        author_id: review.author_id,
        subject_user_id: review.subject_user_id,
        order_id: review.order_id,
        booking_id: review.booking_id,
        rating: stars,
    }))
}

async fn a_review_has_one_reply(store: Store) {
    let seller = user(&store).await;
    let post = product(&store, seller, 1500, None).await;
    let (buyer, target) = completed_order(&store, seller, post).await;
    let review = written(&store, &review_of(buyer, seller, target, 4, vec![post])).await;
    let at = time::now();
    let replied = store
        .reply_to_review(review.id, "Thank you", at, updated(&review, 4))
        .await
        .unwrap()
        .expect("first reply");
    assert_eq!(replied.reply_body.as_deref(), Some("Thank you"));
    assert_eq!(replied.replied_at, Some(at));
    assert_eq!(
        store
            .reply_to_review(review.id, "Again", at, updated(&review, 4))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .review(review.id)
            .await
            .unwrap()
            .unwrap()
            .reply_body
            .as_deref(),
        Some("Thank you")
    );
}

async fn walk(store: &Store, of: ReviewsOf, sort: ReviewSort, size: u32) -> Vec<ReviewId> {
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let (items, next) = store
            .reviews_of(of, None, sort, cursor.as_ref(), Limit::parse(size).unwrap())
            .await
            .unwrap();
        assert!(items.len() <= size as usize);
        seen.extend(items.iter().map(|r| r.id));
        match next {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

async fn reviews_page_newest_and_highest_first(store: Store) {
    let seller = user(&store).await;
    let post = product(&store, seller, 1500, None).await;
    let mut written_in_order = Vec::new();
    for (n, stars) in [3, 5, 1, 5, 4].into_iter().enumerate() {
        let (buyer, target) = completed_order(&store, seller, post).await;
        let mut review = review_of(buyer, seller, target, stars, vec![post]);
        review.created_at = Timestamp::from_timestamp(1_800_000_000 + n as i64 * 60, 0).unwrap();
        written_in_order.push(written(&store, &review).await);
    }
    let newest: Vec<ReviewId> = written_in_order.iter().rev().map(|r| r.id).collect();
    let mut highest = written_in_order.clone();
    highest.sort_by_key(|r| std::cmp::Reverse((r.rating, r.created_at)));
    let highest: Vec<ReviewId> = highest.iter().map(|r| r.id).collect();
    for of in [ReviewsOf::Post(post), ReviewsOf::User(seller)] {
        for size in [1, 2, 5, 100] {
            assert_eq!(
                walk(&store, of, ReviewSort::Newest, size).await,
                newest,
                "{of:?} {size}"
            );
            assert_eq!(
                walk(&store, of, ReviewSort::Highest, size).await,
                highest,
                "{of:?} {size}"
            );
        }
    }
    // A deleted review leaves the lists.
    let gone = &written_in_order[0];
    assert!(store
        .delete_review(gone.id, time::now(), updated(gone, 3))
        .await
        .unwrap());
    let left = walk(&store, ReviewsOf::User(seller), ReviewSort::Newest, 2).await;
    assert_eq!(left, newest[..4].to_vec());
    // Another seller's list is empty.
    let other = user(&store).await;
    assert!(walk(&store, ReviewsOf::User(other), ReviewSort::Highest, 3)
        .await
        .is_empty());
}

/// A service post of `provider` and a booking of it by `client` in `status`, written straight
/// into the `bookings` table (the bookings service lives elsewhere).
pub async fn booking(
    store: &Store,
    provider: UserId,
    client: UserId,
    status: BookingStatus,
) -> (PostId, BookingId) {
    let fields = json!({"title": "Audit", "rate_minor": 90000, "currency": "ZAR", "rate_unit": "hourly", "duration_minutes": 60, "is_remote": true});
    let payload = PostPayload::parse(PostType::Service, Some(&fields)).unwrap();
    let post = store
        .create_post(new_post(provider, payload, PostVisibility::Public))
        .await
        .unwrap();
    let id = BookingId::new();
    let starts = time::now() - chrono::Duration::days(2);
    with_db!(store.db(), pool => {
        sqlx::query(
            "INSERT INTO bookings (id, service_post_id, client_id, provider_id, status, starts_at, ends_at, \
             timezone, currency, amount, idempotency_key, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'Africa/Johannesburg', 'ZAR', 90000, $8, $6, $6)",
        )
        .bind(id.as_uuid())
        .bind(post.as_uuid())
        .bind(client.as_uuid())
        .bind(provider.as_uuid())
        .bind(DbEnum(status))
        .bind(starts)
        .bind(starts + chrono::Duration::hours(1))
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|_| ())
    })
    .unwrap();
    (post, id)
}

async fn a_completed_booking_is_reviewable_and_blocks_are_reported(store: Store) {
    let provider = user(&store).await;
    let client = user(&store).await;
    let (post, done) = booking(&store, provider, client, BookingStatus::Completed).await;
    let (_, pending) = booking(&store, provider, client, BookingStatus::Confirmed).await;
    let found = store
        .reviewable(ReviewTarget::Booking(done))
        .await
        .unwrap()
        .expect("the booking");
    assert_eq!((found.buyer_id, found.subject_id), (client, provider));
    assert!(found.completed && !found.blocked);
    assert_eq!(found.posts, vec![post]);
    let confirmed = store
        .reviewable(ReviewTarget::Booking(pending))
        .await
        .unwrap()
        .expect("the booking");
    assert!(!confirmed.completed);
    assert_eq!(
        store
            .reviewable(ReviewTarget::Booking(BookingId::new()))
            .await
            .unwrap(),
        None
    );

    let review = written(
        &store,
        &review_of(client, provider, ReviewTarget::Booking(done), 5, vec![post]),
    )
    .await;
    assert_eq!(review.booking_id, Some(done));
    let expected = RatingSummary::of([rating(5)]);
    assert_eq!(
        summaries(&store, post, provider).await,
        (expected, expected)
    );

    store.block(provider, client).await.unwrap();
    let found = store
        .reviewable(ReviewTarget::Booking(done))
        .await
        .unwrap()
        .unwrap();
    assert!(found.blocked);
}

async fn a_viewer_does_not_see_reviews_across_a_block(store: Store) {
    let seller = user(&store).await;
    let post = product(&store, seller, 1500, None).await;
    let mut authors = Vec::new();
    for stars in [4, 5, 2] {
        let (buyer, target) = completed_order(&store, seller, post).await;
        written(&store, &review_of(buyer, seller, target, stars, vec![post])).await;
        authors.push(buyer);
    }
    let (viewer, blocker) = (user(&store).await, authors[2]);
    // The viewer blocks the first author; the third author blocks the viewer.
    store.block(viewer, authors[0]).await.unwrap();
    store.block(blocker, viewer).await.unwrap();
    for of in [ReviewsOf::Post(post), ReviewsOf::User(seller)] {
        let (seen, _) = store
            .reviews_of(
                of,
                Some(viewer),
                ReviewSort::Newest,
                None,
                Limit::parse(10).unwrap(),
            )
            .await
            .unwrap();
        let seen: Vec<UserId> = seen.iter().map(|r| r.author_id).collect();
        assert_eq!(seen, vec![authors[1]], "{of:?}");
        // Anyone else, and an anonymous reader, see all three.
        let (all, _) = store
            .reviews_of(
                of,
                None,
                ReviewSort::Newest,
                None,
                Limit::parse(10).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        let (other, _) = store
            .reviews_of(
                of,
                Some(seller),
                ReviewSort::Highest,
                None,
                Limit::parse(10).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(other.len(), 3);
    }
}
