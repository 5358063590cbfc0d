//! Bookings over HTTP: availability read back as set, slots, twenty concurrent clients for one
//! slot making one booking, the moves of a booking heard by both parties on their sockets, and
//! the refusals (own service, a start not offered, completion before the end).

use futures::future::join_all;
use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{
    expect_error, expect_status, json as read, spawn_with, succeed, Backend, Setup, TestApp,
};
use crate::ws_client::Ws;

both_stores!(
    availability_is_read_back_as_set,
    twenty_clients_for_one_slot_make_one_booking,
    a_booking_lives_and_both_parties_hear_it,
    bookings_refuse_what_is_not_offered
);

/// Publishes a service of the token's member (one hour at `rate` cents); its post id.
pub async fn service(app: &TestApp, provider: &str, rate: i64) -> String {
    let body = expect_status(
        app.post("/v1/posts").bearer_auth(provider).json(&json!({
            "type": "service",
            "body": "Advice",
            "payload": { "title": "Tax advice", "rate_minor": rate, "currency": "ZAR",
                "rate_unit": "fixed", "duration_minutes": 60 },
        })),
        201,
    )
    .await;
    body["data"]["id"].as_str().unwrap().to_owned()
}

/// Opens the token's member all day, every day, in Johannesburg.
pub async fn open_all_week(app: &TestApp, provider: &str) {
    let weekly: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    succeed(
        app.put("/v1/me/availability")
            .bearer_auth(provider)
            .json(&json!({
                "timezone": "Africa/Johannesburg", "weekly": weekly, "max_days_ahead": 30,
            })),
    )
    .await;
}

/// The service's slots of the next few days.
pub async fn slots(app: &TestApp, post: &str) -> Vec<Value> {
    let from = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let body = succeed(app.get(&format!("/v1/services/{post}/slots")).query(&[
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("timezone", "Europe/London"),
    ]))
    .await;
    body["data"].as_array().unwrap().clone()
}

pub fn book(app: &TestApp, client: &str, post: &str, starts_at: &Value) -> reqwest::RequestBuilder {
    app.post(&format!("/v1/services/{post}/bookings"))
        .bearer_auth(client)
        .json(&json!({ "starts_at": starts_at, "timezone": "Europe/London" }))
}

async fn availability_is_read_back_as_set(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    expect_error(
        app.get("/v1/me/availability")
            .bearer_auth(&provider)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let set = json!({
        "timezone": "Europe/London",
        "weekly": [{"day": "mon", "start": "09:00", "end": "17:00"}],
        "exceptions": [{"date": "2030-12-25", "closed": true},
            {"date": "2030-12-27", "closed": false, "start": "10:00", "end": "12:00"}],
        "buffer_minutes": 15, "min_notice_minutes": 120, "max_days_ahead": 30,
    });
    let stored = succeed(
        app.put("/v1/me/availability")
            .bearer_auth(&provider)
            .json(&set),
    )
    .await;
    let read = succeed(app.get("/v1/me/availability").bearer_auth(&provider)).await;
    assert_eq!(stored["data"], read["data"]);
    assert_eq!(read["data"]["exceptions"][0]["date"], "2030-12-25");
    assert_eq!(read["data"]["weekly"], set["weekly"]);
    let body = expect_error(
        app.put("/v1/me/availability")
            .bearer_auth(&provider)
            .json(&json!({
                "timezone": "Nowhere/Else",
                "weekly": [{"day": "mon", "start": "17:00", "end": "09:00"}],
            }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let fields = &body["error"]["details"]["fields"];
    assert!(
        fields["timezone"].is_array() && fields["weekly.0"].is_array(),
        "{body}"
    );
}

async fn twenty_clients_for_one_slot_make_one_booking(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let post = service(&app, &provider, 0).await;
    open_all_week(&app, &provider).await;
    let offered = slots(&app, &post).await;
    assert!(offered.len() >= 24, "{offered:?}");
    let slot = offered[0]["starts_at"].clone();
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(app.token(UserRole::Member).await);
    }
    let answers = join_all(
        clients
            .iter()
            .map(|c| async { read(book(&app, c, &post, &slot).send().await.unwrap()).await }),
    )
    .await;
    let made = answers.iter().filter(|(status, _)| *status == 201).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 409 && body["error"]["code"] == "slot_unavailable")
        .count();
    assert_eq!((made, refused), (1, 19), "{answers:?}");
    // The slot is gone from the list.
    let after = slots(&app, &post).await;
    assert!(after.iter().all(|s| s["starts_at"] != slot));
}

async fn a_booking_lives_and_both_parties_hear_it(backend: Backend) {
    let mut setup = Setup::new(backend);
    setup.background = true;
    let Some(app) = spawn_with(setup).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = service(&app, &provider, 0).await;
    open_all_week(&app, &provider).await;
    let mut provider_ws = Ws::signed_in(&app, &provider).await;
    let mut client_ws = Ws::signed_in(&app, &client).await;
    let slot = slots(&app, &post).await[2]["starts_at"].clone();
    let request = || book(&app, &client, &post, &slot).header("idempotency-key", "book-1");
    let made = expect_status(request(), 201).await["data"].clone();
    assert_eq!(made["status"], "requested");
    assert_eq!(made["starts_at"], slot);
    let again = expect_status(request(), 201).await["data"].clone();
    assert_eq!(again["id"], made["id"]);
    let id = made["id"].as_str().unwrap();
    for ws in [&mut provider_ws, &mut client_ws] {
        let frame = ws.expect("booking.requested").await;
        assert_eq!(frame["data"]["booking_id"], id, "{frame}");
    }
    // Only the provider confirms.
    expect_error(
        app.post(&format!("/v1/bookings/{id}/confirm"))
            .bearer_auth(&client)
            .send()
            .await
            .unwrap(),
        403,
        "not_booking_party_action",
    )
    .await;
    let confirmed = succeed(
        app.post(&format!("/v1/bookings/{id}/confirm"))
            .bearer_auth(&provider),
    )
    .await;
    assert_eq!(confirmed["data"]["status"], "confirmed");
    for ws in [&mut provider_ws, &mut client_ws] {
        ws.expect("booking.confirmed").await;
    }
    // Completion waits for the end.
    expect_error(
        app.post(&format!("/v1/bookings/{id}/complete"))
            .bearer_auth(&provider)
            .send()
            .await
            .unwrap(),
        409,
        "booking_not_ended",
    )
    .await;
    let listed = succeed(
        app.get("/v1/me/bookings?role=provider&status=confirmed")
            .bearer_auth(&provider),
    )
    .await;
    assert_eq!(listed["data"][0]["id"], id);
    let none = succeed(
        app.get("/v1/me/bookings?role=client")
            .bearer_auth(&provider),
    )
    .await;
    assert_eq!(none["data"], json!([]));
    // A stranger does not see it.
    let stranger = app.token(UserRole::Member).await;
    expect_error(
        app.get(&format!("/v1/bookings/{id}"))
            .bearer_auth(&stranger)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    // The client cancels well before the start: a full refund of a free booking is 0.
    let cancelled = succeed(
        app.post(&format!("/v1/bookings/{id}/cancel"))
            .bearer_auth(&client)
            .json(&json!({"reason": "moved"})),
    )
    .await;
    assert_eq!(cancelled["data"]["status"], "cancelled");
    assert_eq!(cancelled["data"]["cancel_reason"], "moved");
    for ws in [&mut provider_ws, &mut client_ws] {
        ws.expect("booking.cancelled").await;
    }
    expect_error(
        app.post(&format!("/v1/bookings/{id}/cancel"))
            .bearer_auth(&provider)
            .send()
            .await
            .unwrap(),
        409,
        "invalid_booking_transition",
    )
    .await;
    // Its time is offered again.
    assert!(slots(&app, &post)
        .await
        .iter()
        .any(|s| s["starts_at"] == slot));
}

async fn bookings_refuse_what_is_not_offered(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let free = service(&app, &provider, 0).await;
    let paid = service(&app, &provider, 50_000).await;
    // No availability yet: nothing is offered.
    assert!(slots(&app, &free).await.is_empty());
    open_all_week(&app, &provider).await;
    let slot = slots(&app, &free).await[0]["starts_at"].clone();
    expect_error(
        book(&app, &provider, &free, &slot).send().await.unwrap(),
        422,
        "own_listing",
    )
    .await;
    // A priced service is booked awaiting payment (see `paid_bookings`).
    let waiting = expect_status(book(&app, &client, &paid, &slot), 201).await;
    assert_eq!(waiting["data"]["status"], "awaiting_payment");
    let off_grid = json!(
        (chrono::DateTime::parse_from_rfc3339(slot.as_str().unwrap()).unwrap()
            + chrono::Duration::minutes(30))
        .to_rfc3339()
    );
    expect_error(
        book(&app, &client, &free, &off_grid).send().await.unwrap(),
        409,
        "slot_unavailable",
    )
    .await;
    let past = json!("2020-01-01T10:00:00Z");
    expect_error(
        book(&app, &client, &free, &past).send().await.unwrap(),
        409,
        "slot_unavailable",
    )
    .await;
    expect_error(
        app.get(&format!("/v1/services/{}/slots", uuid::Uuid::now_v7()))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.get(&format!("/v1/services/{free}/slots?timezone=Nowhere"))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
}
