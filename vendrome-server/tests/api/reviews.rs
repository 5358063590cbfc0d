//! Reviews over HTTP: only the buyer of a completed order reviews it, once; the seller replies
//! once; the author edits within 30 days; the author or a moderator deletes; the ratings of the
//! listing and the seller follow; blocks stop reviews and hide them from review lists; both
//! parties hear the events; the client of a completed booking reviews it like an order.

use serde_json::{json, Value};
use vendrome_core::enums::{OrderStatus, UserRole};
use vendrome_core::events::{DomainEvent, OrderChanged};
use vendrome_core::ids::OrderId;
use vendrome_core::orders::{OrderRepo as _, StatusChange};
use vendrome_core::outbox::NewEvent;
use vendrome_store::with_db;

use crate::orders::{order, product};
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};
use crate::ws_client::Ws;

both_stores!(
    only_the_buyer_of_a_completed_order_reviews_it_once,
    the_seller_replies_once_and_the_author_edits_within_thirty_days,
    authors_and_moderators_delete_and_the_ratings_follow,
    a_block_stops_a_review,
    review_events_reach_both_parties,
    a_completed_booking_is_reviewed_and_blocks_hide_reviews
);

/// Moves an order through paid and fulfilled to completed in the store (what checkout, the
/// seller and the buyer do over HTTP elsewhere).
pub async fn complete(app: &TestApp, order: &Value) {
    let id: OrderId = order["id"].as_str().unwrap().parse().unwrap();
    for (from, to, wrap) in [
        (
            OrderStatus::PendingPayment,
            OrderStatus::Paid,
            DomainEvent::OrderPaid as fn(_) -> _,
        ),
        (
            OrderStatus::Paid,
            OrderStatus::Fulfilled,
            DomainEvent::OrderFulfilled,
        ),
        (
            OrderStatus::Fulfilled,
            OrderStatus::Completed,
            DomainEvent::OrderCompleted,
        ),
    ] {
        let current = app.db.store.order(id).await.unwrap().unwrap();
        let event = NewEvent::new(wrap(OrderChanged {
            order_id: id,
            buyer_id: current.buyer_id,
            seller_id: current.seller_id,
            status: to,
            total_amount: current.total_amount,
            refunded_amount: 0,
            currency: current.currency,
        }));
        let change = StatusChange {
            order_id: id,
            from,
            to,
            at: vendrome_core::time::now(),
        };
        app.db
            .store
            .change_status(change, event)
            .await
            .unwrap()
            .expect("moved");
    }
}

/// A seller (id, token), a buyer's token, the product's post id and a completed order of it.
async fn sold(app: &TestApp) -> (String, String, String, String, Value) {
    let (seller_id, seller) = app.user(UserRole::Member).await;
    let buyer = app.token(UserRole::Member).await;
    let post = product(app, &seller, 2_500, "ZAR", None).await;
    let placed = order(app, &buyer, &[(&post, 1)]).await;
    complete(app, &placed).await;
    (seller_id.to_string(), seller, buyer, post, placed)
}

fn review_request(app: &TestApp, token: &str, body: Value) -> reqwest::RequestBuilder {
    app.post("/v1/reviews").bearer_auth(token).json(&body)
}

async fn write(app: &TestApp, token: &str, order: &Value, rating: i64) -> Value {
    expect_status(
        review_request(
            app,
            token,
            json!({"order_id": order["id"], "rating": rating, "body": " Great mug "}),
        ),
        201,
    )
    .await["data"]
        .clone()
}

async fn rating(app: &TestApp, path: &str) -> Value {
    succeed(app.get(path)).await["data"].clone()
}

async fn only_the_buyer_of_a_completed_order_reviews_it_once(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (seller_id, seller, buyer, post, placed) = sold(&app).await;
    let stranger = app.token(UserRole::Member).await;
    let unpaid = order(&app, &buyer, &[(&post, 1)]).await;

    let ask = |token: &str, order: &Value, rating: i64| {
        review_request(
            &app,
            token,
            json!({"order_id": order["id"], "rating": rating}),
        )
    };
    for token in [&stranger, &seller] {
        expect_error(
            ask(token, &placed, 5).send().await.unwrap(),
            403,
            "not_a_buyer",
        )
        .await;
    }
    expect_error(
        ask(&buyer, &unpaid, 5).send().await.unwrap(),
        403,
        "not_a_buyer",
    )
    .await;
    let unknown = json!({"id": OrderId::new()});
    expect_error(
        ask(&buyer, &unknown, 5).send().await.unwrap(),
        403,
        "not_a_buyer",
    )
    .await;
    for bad in [0, 6] {
        expect_error(
            ask(&buyer, &placed, bad).send().await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
    }
    let neither = review_request(&app, &buyer, json!({"rating": 4}));
    expect_error(neither.send().await.unwrap(), 422, "validation_failed").await;
    let both = review_request(
        &app,
        &buyer,
        json!({"order_id": placed["id"], "booking_id": placed["id"], "rating": 4}),
    );
    expect_error(both.send().await.unwrap(), 422, "validation_failed").await;
    let unauthenticated = app
        .post("/v1/reviews")
        .json(&json!({"order_id": placed["id"], "rating": 4}));
    expect_status(unauthenticated, 401).await;

    let review = write(&app, &buyer, &placed, 4).await;
    assert_eq!(review["rating"], 4);
    assert_eq!(review["body"], "Great mug");
    assert_eq!(review["order_id"], placed["id"]);
    assert_eq!(review["subject"], json!(seller_id));
    assert_eq!(review["reply"], Value::Null);
    expect_error(
        ask(&buyer, &placed, 5).send().await.unwrap(),
        409,
        "already_reviewed",
    )
    .await;

    let by_post = succeed(app.get(&format!("/v1/posts/{post}/reviews"))).await;
    assert_eq!(by_post["data"].as_array().unwrap().len(), 1, "{by_post}");
    assert_eq!(by_post["data"][0]["id"], review["id"]);
    let by_seller = succeed(app.get(&format!("/v1/users/{seller_id}/reviews?sort=highest"))).await;
    assert_eq!(by_seller["data"][0]["id"], review["id"]);
    expect_error(
        app.get(&format!("/v1/users/{seller_id}/reviews?sort=best"))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let listing = rating(&app, &format!("/v1/posts/{post}/rating")).await;
    assert_eq!(
        listing,
        json!({"count": 1, "sum": 4, "average": "4.00", "histogram": [0, 0, 0, 1, 0]})
    );
    let member = rating(&app, &format!("/v1/users/{seller_id}/ratings")).await;
    assert_eq!(member["seller"]["count"], 1);
    assert_eq!(
        member["mentor"],
        json!({"count": 0, "sum": 0, "average": null, "histogram": [0, 0, 0, 0, 0]})
    );
}

async fn the_seller_replies_once_and_the_author_edits_within_thirty_days(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, seller, buyer, post, placed) = sold(&app).await;
    let review = write(&app, &buyer, &placed, 5).await;
    let id = review["id"].as_str().unwrap();
    let reply = |token: &str, text: &str| {
        app.post(&format!("/v1/reviews/{id}/reply"))
            .bearer_auth(token)
            .json(&json!({"body": text}))
    };
    expect_error(
        reply(&buyer, "Me too").send().await.unwrap(),
        403,
        "not_review_subject",
    )
    .await;
    expect_error(
        reply(&seller, "   ").send().await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let replied = expect_status(reply(&seller, "Thank you!"), 201).await["data"].clone();
    assert_eq!(replied["reply"]["body"], "Thank you!");
    assert!(replied["reply"]["replied_at"].is_string());
    expect_error(
        reply(&seller, "Again").send().await.unwrap(),
        409,
        "already_replied",
    )
    .await;

    let edit = |token: &str, body: Value| {
        app.patch(&format!("/v1/reviews/{id}"))
            .bearer_auth(token)
            .json(&body)
    };
    expect_error(
        edit(&seller, json!({"rating": 1})).send().await.unwrap(),
        403,
        "not_author",
    )
    .await;
    let edited = succeed(edit(&buyer, json!({"rating": 2, "body": ""}))).await["data"].clone();
    assert_eq!(edited["rating"], 2);
    assert_eq!(edited["body"], Value::Null);
    assert_eq!(edited["reply"]["body"], "Thank you!");
    let listing = rating(&app, &format!("/v1/posts/{post}/rating")).await;
    assert_eq!(listing["histogram"], json!([0, 1, 0, 0, 0]));
    assert_eq!(listing["average"], "2.00");

    // Thirty-one days later the review can no longer be edited.
    let old = vendrome_core::time::now() - chrono::Duration::days(31);
    let uuid: uuid::Uuid = id.parse().unwrap();
    with_db!(app.db.store.db(), pool => {
        sqlx::query("UPDATE reviews SET created_at = $2 WHERE id = $1")
            .bind(uuid)
            .bind(old)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .unwrap();
    expect_error(
        edit(&buyer, json!({"rating": 5})).send().await.unwrap(),
        409,
        "edit_window_passed",
    )
    .await;
}

async fn authors_and_moderators_delete_and_the_ratings_follow(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (seller_id, seller, buyer, post, placed) = sold(&app).await;
    let other_buyer = app.token(UserRole::Member).await;
    let second = order(&app, &other_buyer, &[(&post, 1)]).await;
    complete(&app, &second).await;
    let moderator = app.token(UserRole::Moderator).await;
    let first = write(&app, &buyer, &placed, 5).await;
    let other = write(&app, &other_buyer, &second, 2).await;
    let listing = rating(&app, &format!("/v1/posts/{post}/rating")).await;
    assert_eq!(listing["average"], "3.50", "{listing}");

    let delete = |token: &str, review: &Value| {
        app.delete(&format!("/v1/reviews/{}", review["id"].as_str().unwrap()))
            .bearer_auth(token)
    };
    expect_error(
        delete(&seller, &first).send().await.unwrap(),
        403,
        "not_author",
    )
    .await;
    succeed(delete(&buyer, &first)).await;
    succeed(delete(&moderator, &other)).await;
    expect_error(
        app.get(&format!("/v1/reviews/{}", first["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let listing = rating(&app, &format!("/v1/posts/{post}/rating")).await;
    assert_eq!(listing["count"], 0);
    assert_eq!(listing["average"], Value::Null);
    let member = rating(&app, &format!("/v1/users/{seller_id}/ratings")).await;
    assert_eq!(member["seller"]["count"], 0);
    let left = succeed(app.get(&format!("/v1/users/{seller_id}/reviews"))).await;
    assert!(left["data"].as_array().unwrap().is_empty());
    // A deleted review still counts as the order's one review.
    expect_error(
        review_request(&app, &buyer, json!({"order_id": placed["id"], "rating": 3}))
            .send()
            .await
            .unwrap(),
        409,
        "already_reviewed",
    )
    .await;
}

async fn a_block_stops_a_review(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (seller_id, _, buyer, _, placed) = sold(&app).await;
    succeed(
        app.put(&format!("/v1/users/{seller_id}/block"))
            .bearer_auth(&buyer),
    )
    .await;
    expect_error(
        review_request(&app, &buyer, json!({"order_id": placed["id"], "rating": 1}))
            .send()
            .await
            .unwrap(),
        403,
        "blocked",
    )
    .await;
}

async fn review_events_reach_both_parties(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.background = true;
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let (_, seller, buyer, _, placed) = sold(&app).await;
    let mut buyer_ws = Ws::signed_in(&app, &buyer).await;
    let mut seller_ws = Ws::signed_in(&app, &seller).await;
    let review = write(&app, &buyer, &placed, 3).await;
    for ws in [&mut buyer_ws, &mut seller_ws] {
        let frame = ws.expect("review.created").await;
        assert_eq!(frame["data"]["review_id"], review["id"], "{frame}");
        assert_eq!(frame["data"]["rating"], 3);
    }
    let id = review["id"].as_str().unwrap();
    expect_status(
        app.post(&format!("/v1/reviews/{id}/reply"))
            .bearer_auth(&seller)
            .json(&json!({"body": "Thanks"})),
        201,
    )
    .await;
    for ws in [&mut buyer_ws, &mut seller_ws] {
        let frame = ws.expect("review.replied").await;
        assert_eq!(frame["data"]["review_id"], review["id"], "{frame}");
    }
}

async fn a_completed_booking_is_reviewed_and_blocks_hide_reviews(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (provider_id, provider) = app.user(UserRole::Member).await;
    let (client_id, client) = app.user(UserRole::Member).await;
    let post = crate::bookings::service(&app, &provider, 0).await;
    crate::bookings::open_all_week(&app, &provider).await;
    let slot = crate::bookings::slots(&app, &post).await[0]["starts_at"].clone();
    let booked = expect_status(crate::bookings::book(&app, &client, &post, &slot), 201).await;
    let id = booked["data"]["id"].as_str().unwrap().to_owned();
    succeed(
        app.post(&format!("/v1/bookings/{id}/confirm"))
            .bearer_auth(&provider),
    )
    .await;
    // Not completed yet: not reviewable.
    expect_error(
        review_request(&app, &client, json!({"booking_id": id, "rating": 5}))
            .send()
            .await
            .unwrap(),
        403,
        "not_a_buyer",
    )
    .await;
    // The session took place a week ago (moved in the store), and the provider completes it.
    let start = chrono::Utc::now() - chrono::Duration::days(7);
    let end = start + chrono::Duration::hours(1);
    let uuid: uuid::Uuid = id.parse().unwrap();
    with_db!(app.db.store.db(), pool => {
        sqlx::query("UPDATE bookings SET starts_at = $2, ends_at = $3, blocked_until = $3 WHERE id = $1")
            .bind(uuid)
            .bind(start)
            .bind(end)
            .execute(pool)
            .await
            .map(drop)
    })
    .unwrap();
    succeed(
        app.post(&format!("/v1/bookings/{id}/complete"))
            .bearer_auth(&provider),
    )
    .await;
    // Only its client reviews it, once; the provider replies.
    expect_error(
        review_request(&app, &provider, json!({"booking_id": id, "rating": 5}))
            .send()
            .await
            .unwrap(),
        403,
        "not_a_buyer",
    )
    .await;
    let review = expect_status(
        review_request(
            &app,
            &client,
            json!({"booking_id": id, "rating": 4, "body": "Clear advice"}),
        ),
        201,
    )
    .await["data"]
        .clone();
    assert_eq!(review["booking_id"], id, "{review}");
    assert_eq!(review["order_id"], Value::Null);
    expect_error(
        review_request(&app, &client, json!({"booking_id": id, "rating": 4}))
            .send()
            .await
            .unwrap(),
        409,
        "already_reviewed",
    )
    .await;
    let review_id = review["id"].as_str().unwrap();
    expect_status(
        app.post(&format!("/v1/reviews/{review_id}/reply"))
            .bearer_auth(&provider)
            .json(&json!({"body": "Thank you"})),
        201,
    )
    .await;
    let ratings = succeed(app.get(&format!("/v1/users/{provider_id}/ratings"))).await;
    assert_eq!(ratings["data"]["seller"]["count"], 1, "{ratings}");

    // A reader who blocked the client, and one the client blocked, no longer see the review;
    // anyone else does.
    let path = format!("/v1/users/{provider_id}/reviews");
    let (_, blocker) = app.user(UserRole::Member).await;
    let (blocked_id, blocked) = app.user(UserRole::Member).await;
    succeed(
        app.put(&format!("/v1/users/{client_id}/block"))
            .bearer_auth(&blocker),
    )
    .await;
    succeed(
        app.put(&format!("/v1/users/{blocked_id}/block"))
            .bearer_auth(&client),
    )
    .await;
    for reader in [&blocker, &blocked] {
        let listed = succeed(app.get(&path).bearer_auth(reader)).await;
        assert_eq!(listed["data"], json!([]), "{listed}");
        let on_post = succeed(
            app.get(&format!("/v1/posts/{post}/reviews"))
                .bearer_auth(reader),
        )
        .await;
        assert_eq!(on_post["data"], json!([]), "{on_post}");
    }
    let anyone = succeed(app.get(&path)).await;
    assert_eq!(anyone["data"][0]["id"], review_id, "{anyone}");
    let provider_sees = succeed(app.get(&path).bearer_auth(&provider)).await;
    assert_eq!(provider_sees["data"].as_array().unwrap().len(), 1);
}
