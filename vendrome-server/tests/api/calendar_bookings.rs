//! Bookings and mentorship sessions as calendar events of both parties: made on confirmation (a
//! paid booking only once paid), moved by a reschedule, cancelled with the booking or session,
//! and the other way round (deleting either party's event cancels the booking or session, and
//! so the other party's event); their times refused to a PATCH; never duplicated by a retry.

use serde_json::{json, Value};
use vendrome_core::bookings::{changed_event, BookingChange, BookingRepo as _};
use vendrome_core::enums::{BookingStatus, UserRole};
use vendrome_core::ids::PaymentId;
use vendrome_core::payments::PaymentRepo as _;
use vendrome_payments::SandboxOutcome;

use crate::bookings::{book, open_all_week, slots};
use crate::paid_bookings::{checkout, deliver, paid_service};
use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    a_confirmed_booking_is_an_event_of_both_parties,
    a_booking_waits_for_confirmation_and_retries_make_no_second_event,
    rescheduling_a_booking_moves_both_events,
    cancelling_a_booking_cancels_both_events,
    deleting_either_event_cancels_the_booking_with_its_refund,
    a_paid_booking_has_its_events_once_paid,
    the_times_of_a_managed_event_are_the_booking_s,
    a_mentorship_session_is_an_event_of_both_parties
);

/// The events of the member's calendar in the next 30 days that follow `key` (`booking_id` or
/// `mentorship_session_id`) = `id`.
async fn linked(app: &TestApp, token: &str, key: &str, id: &str) -> Vec<Value> {
    let from = chrono::Utc::now().to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", from.as_str()),
                ("to", to.as_str()),
                ("limit", "100"),
            ])
            .bearer_auth(token),
    )
    .await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["event"].clone())
        .filter(|e| e[key] == id)
        .collect()
}

/// The member's one event of booking `id`.
pub(crate) async fn booking_event(app: &TestApp, token: &str, id: &str) -> Value {
    let events = linked(app, token, "booking_id", id).await;
    assert_eq!(events.len(), 1, "one event of booking {id}: {events:?}");
    events[0].clone()
}

/// The member's busy blocks in the next 30 days.
async fn busy(app: &TestApp, token: &str, whom: impl std::fmt::Display) -> Vec<Value> {
    let from = chrono::Utc::now().to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    succeed(
        app.get(&format!("/v1/users/{whom}/free-busy"))
            .query(&[("from", from.as_str()), ("to", to.as_str())])
            .bearer_auth(token),
    )
    .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn feed(app: &TestApp, token: &str) -> String {
    let body = expect_status(app.post("/v1/calendar/feed-token").bearer_auth(token), 201).await;
    let url = body["data"]["url"].as_str().unwrap().to_owned();
    app.get(&url).send().await.unwrap().text().await.unwrap()
}

/// A free service of the provider that confirms its bookings at once, open all week; its post.
pub(crate) async fn auto_confirmed(app: &TestApp, provider: &str) -> String {
    let post = paid_service(app, provider, 0, json!({ "auto_confirm": true })).await;
    open_all_week(app, provider).await;
    post
}

pub(crate) async fn booked(app: &TestApp, client: &str, post: &str, slot: &Value) -> Value {
    expect_status(book(app, client, post, slot), 201).await["data"].clone()
}

pub(crate) fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn a_confirmed_booking_is_an_event_of_both_parties(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (provider_id, provider) = app.user(UserRole::Member).await;
    let (_, client) = app.user(UserRole::Member).await;
    let post = auto_confirmed(&app, &provider).await;
    let slot = slots(&app, &post).await[2]["starts_at"].clone();
    let booking = booked(&app, &client, &post, &slot).await;
    assert_eq!(booking["status"], "confirmed", "{booking}");
    let id = id_of(&booking);

    let mine = booking_event(&app, &provider, &id).await;
    let theirs = booking_event(&app, &client, &id).await;
    assert_ne!(mine["id"], theirs["id"], "one copy each");
    assert_eq!(mine["owner_id"], json!(provider_id));
    for event in [&mine, &theirs] {
        assert_eq!(
            event["ical_uid"],
            format!("booking-{id}@vendrome"),
            "{event}"
        );
        assert_eq!(event["title"], "Tax advice with Test User");
        assert_eq!(event["visibility"], "busy");
        assert_eq!(event["sequence"], 0);
        assert_eq!(
            event["starts_at"].as_str().map(at),
            booking["starts_at"].as_str().map(at)
        );
        assert_eq!(
            event["ends_at"].as_str().map(at),
            booking["ends_at"].as_str().map(at)
        );
    }
    // Busy in free/busy, and in each party's feed.
    let blocks = busy(&app, &provider, provider_id).await;
    assert!(
        blocks
            .iter()
            .any(|b| b["starts_at"].as_str().map(at) == booking["starts_at"].as_str().map(at)),
        "{blocks:?}"
    );
    for token in [&provider, &client] {
        let text = feed(&app, token).await;
        assert!(
            text.contains(&format!("UID:booking-{id}@vendrome")),
            "{text}"
        );
    }
}

async fn a_booking_waits_for_confirmation_and_retries_make_no_second_event(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = paid_service(&app, &provider, 0, json!({})).await;
    open_all_week(&app, &provider).await;
    let slot = slots(&app, &post).await[0]["starts_at"].clone();
    let request = || book(&app, &client, &post, &slot).header("idempotency-key", "calbook-1");
    let booking = expect_status(request(), 201).await["data"].clone();
    assert_eq!(booking["status"], "requested");
    let id = id_of(&booking);
    // Requested: not in anyone's calendar yet.
    assert!(linked(&app, &provider, "booking_id", &id).await.is_empty());
    assert!(linked(&app, &client, "booking_id", &id).await.is_empty());

    succeed(
        app.post(&format!("/v1/bookings/{id}/confirm"))
            .bearer_auth(&provider),
    )
    .await;
    // The booking retried and the confirmation repeated: still one event each.
    let retried = expect_status(request(), 201).await["data"].clone();
    assert_eq!(retried["id"], booking["id"]);
    expect_error(
        app.post(&format!("/v1/bookings/{id}/confirm"))
            .bearer_auth(&provider)
            .send()
            .await
            .unwrap(),
        409,
        "invalid_booking_transition",
    )
    .await;
    let mine = booking_event(&app, &provider, &id).await;
    booking_event(&app, &client, &id).await;
    assert_eq!(mine["sequence"], 0);
}

/// A timestamp as an instant, whatever its written form.
fn at(raw: &str) -> chrono::DateTime<chrono::Utc> {
    raw.parse().unwrap()
}

async fn rescheduling_a_booking_moves_both_events(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = auto_confirmed(&app, &provider).await;
    let offered = slots(&app, &post).await;
    let booking = booked(&app, &client, &post, &offered[3]["starts_at"]).await;
    let id = id_of(&booking);
    let old_start = at(booking["starts_at"].as_str().unwrap());

    // The provider's windows now start on the half hour: the slot half an hour later overlaps
    // the booking's own time and its own calendar event, which must not keep it from moving.
    let weekly: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:30", "end": "24:00"}))
        .collect();
    succeed(app.put("/v1/me/availability").bearer_auth(&provider).json(
        &json!({ "timezone": "Africa/Johannesburg", "weekly": weekly, "max_days_ahead": 30 }),
    ))
    .await;
    let new_start = old_start + chrono::Duration::minutes(30);
    let moved = succeed(
        app.post(&format!("/v1/bookings/{id}/reschedule"))
            .bearer_auth(&client)
            .json(&json!({ "starts_at": new_start })),
    )
    .await["data"]
        .clone();
    assert_eq!(at(moved["starts_at"].as_str().unwrap()), new_start);
    assert_eq!(moved["status"], "confirmed");
    for token in [&provider, &client] {
        let event = booking_event(&app, token, &id).await;
        assert_eq!(
            at(event["starts_at"].as_str().unwrap()),
            new_start,
            "{event}"
        );
        assert_eq!(
            at(event["ends_at"].as_str().unwrap()),
            new_start + chrono::Duration::hours(1)
        );
        assert_eq!(event["sequence"], 1, "{event}");
    }
    // Its new time is taken; a move to a start not offered is refused.
    let now_offered = slots(&app, &post).await;
    assert!(now_offered
        .iter()
        .all(|s| at(s["starts_at"].as_str().unwrap()) != new_start));
    expect_error(
        app.post(&format!("/v1/bookings/{id}/reschedule"))
            .bearer_auth(&provider)
            .json(&json!({ "starts_at": old_start }))
            .send()
            .await
            .unwrap(),
        409,
        "slot_unavailable",
    )
    .await;
    // Moving it where it is changes nothing.
    succeed(
        app.post(&format!("/v1/bookings/{id}/reschedule"))
            .bearer_auth(&provider)
            .json(&json!({ "starts_at": new_start })),
    )
    .await;
    assert_eq!(booking_event(&app, &provider, &id).await["sequence"], 1);
    let stranger = app.token(UserRole::Member).await;
    expect_error(
        app.post(&format!("/v1/bookings/{id}/reschedule"))
            .bearer_auth(&stranger)
            .json(&json!({ "starts_at": new_start }))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

async fn cancelling_a_booking_cancels_both_events(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (provider_id, provider) = app.user(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = auto_confirmed(&app, &provider).await;
    let slot = slots(&app, &post).await[1]["starts_at"].clone();
    let id = id_of(&booked(&app, &client, &post, &slot).await);
    let events = [
        booking_event(&app, &provider, &id).await,
        booking_event(&app, &client, &id).await,
    ];

    succeed(
        app.post(&format!("/v1/bookings/{id}/cancel"))
            .bearer_auth(&client),
    )
    .await;
    for (token, event) in [&provider, &client].into_iter().zip(&events) {
        assert!(linked(&app, token, "booking_id", &id).await.is_empty());
        expect_error(
            app.get(&format!(
                "/v1/calendar/events/{}",
                event["id"].as_str().unwrap()
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
            404,
            "not_found",
        )
        .await;
        assert!(!feed(&app, token)
            .await
            .contains(&format!("booking-{id}@vendrome")));
    }
    assert!(busy(&app, &provider, provider_id).await.is_empty());
}

async fn deleting_either_event_cancels_the_booking_with_its_refund(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = auto_confirmed(&app, &provider).await;
    let offered = slots(&app, &post).await;

    // The client deletes theirs: the booking is cancelled, the provider's event with it.
    let id = id_of(&booked(&app, &client, &post, &offered[0]["starts_at"]).await);
    let theirs = booking_event(&app, &client, &id).await;
    let deleted = succeed(
        app.delete(&format!("/v1/calendar/events/{}", id_of(&theirs)))
            .bearer_auth(&client),
    )
    .await;
    assert_eq!(deleted["data"]["deleted"], true);
    let read = succeed(app.get(&format!("/v1/bookings/{id}")).bearer_auth(&client)).await;
    assert_eq!(read["data"]["status"], "cancelled", "{read}");
    assert!(linked(&app, &provider, "booking_id", &id).await.is_empty());

    // The provider deletes theirs: the same, from the other side.
    let id = id_of(&booked(&app, &client, &post, &offered[2]["starts_at"]).await);
    let mine = booking_event(&app, &provider, &id).await;
    succeed(
        app.delete(&format!("/v1/calendar/events/{}", id_of(&mine)))
            .bearer_auth(&provider),
    )
    .await;
    let read = succeed(
        app.get(&format!("/v1/bookings/{id}"))
            .bearer_auth(&provider),
    )
    .await;
    assert_eq!(read["data"]["status"], "cancelled");
    assert!(linked(&app, &client, "booking_id", &id).await.is_empty());
    // Deleting it again finds nothing.
    expect_error(
        app.delete(&format!("/v1/calendar/events/{}", id_of(&mine)))
            .bearer_auth(&provider)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // A booking whose rules no longer allow cancelling it (completed) keeps its events: the
    // deletion answers what its cancel endpoint would.
    let id = id_of(&booked(&app, &client, &post, &offered[4]["starts_at"]).await);
    let booking = app
        .db
        .store
        .booking(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let done = BookingChange {
        booking_id: booking.id,
        from: BookingStatus::Confirmed,
        to: BookingStatus::Completed,
        at: chrono::Utc::now(),
        refund_amount: 0,
        cancel_reason: None,
    };
    let event = changed_event(&booking, BookingStatus::Completed, 0);
    app.db
        .store
        .change_status(&done, event)
        .await
        .unwrap()
        .unwrap();
    let theirs = booking_event(&app, &client, &id).await;
    let path = format!("/v1/calendar/events/{}", id_of(&theirs));
    for token in [&client, &provider] {
        let events = linked(&app, token, "booking_id", &id).await;
        let path = format!("/v1/calendar/events/{}", id_of(&events[0]));
        expect_error(
            app.delete(&path).bearer_auth(token).send().await.unwrap(),
            409,
            "invalid_booking_transition",
        )
        .await;
    }
    succeed(app.get(&path).bearer_auth(&client)).await;
    booking_event(&app, &provider, &id).await;

    // A paid booking deleted by its client inside the window is refunded per the policy, as
    // its cancel endpoint would (half, here).
    let settings = json!({ "auto_confirm": true, "cancellation_window_hours": 240 });
    let paid = paid_service(&app, &provider, 10_000, settings).await;
    let slot = slots(&app, &paid).await[0]["starts_at"].clone();
    let id = id_of(&booked(&app, &client, &paid, &slot).await);
    pay(&app, &client, &id).await;
    let theirs = booking_event(&app, &client, &id).await;
    succeed(
        app.delete(&format!("/v1/calendar/events/{}", id_of(&theirs)))
            .bearer_auth(&client),
    )
    .await;
    let read = succeed(app.get(&format!("/v1/bookings/{id}")).bearer_auth(&client)).await;
    assert_eq!(read["data"]["status"], "cancelled");
    assert_eq!(read["data"]["refund_amount"], 5_000, "{read}");
    assert!(linked(&app, &provider, "booking_id", &id).await.is_empty());
}

/// Pays the client's booking through the sandbox (its webhook delivered twice).
async fn pay(app: &TestApp, client: &str, id: &str) {
    let paying = expect_status(checkout(app, client, id), 201).await["data"].clone();
    let payment_id: PaymentId = paying["id"].as_str().unwrap().parse().unwrap();
    let payment = app.db.store.payment(payment_id).await.unwrap().unwrap();
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let (headers, body) = sandbox.outcome_webhook(&payment, SandboxOutcome::Succeeded);
    assert_eq!(deliver(app, &headers, &body).await, "applied");
    assert_eq!(deliver(app, &headers, &body).await, "duplicate");
}

async fn a_paid_booking_has_its_events_once_paid(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = paid_service(&app, &provider, 20_000, json!({ "auto_confirm": true })).await;
    open_all_week(&app, &provider).await;
    let slot = slots(&app, &post).await[1]["starts_at"].clone();
    let booking = booked(&app, &client, &post, &slot).await;
    assert_eq!(booking["status"], "awaiting_payment");
    let id = id_of(&booking);
    assert!(linked(&app, &provider, "booking_id", &id).await.is_empty());
    assert!(linked(&app, &client, "booking_id", &id).await.is_empty());

    pay(&app, &client, &id).await;
    let read = succeed(app.get(&format!("/v1/bookings/{id}")).bearer_auth(&client)).await;
    assert_eq!(read["data"]["status"], "confirmed");
    for token in [&provider, &client] {
        assert_eq!(booking_event(&app, token, &id).await["sequence"], 0);
    }
}

async fn the_times_of_a_managed_event_are_the_booking_s(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let client = app.token(UserRole::Member).await;
    let post = auto_confirmed(&app, &provider).await;
    let slot = slots(&app, &post).await[0]["starts_at"].clone();
    let id = id_of(&booked(&app, &client, &post, &slot).await);
    let event = booking_event(&app, &client, &id).await;
    let path = format!("/v1/calendar/events/{}", id_of(&event));
    let later = at(event["starts_at"].as_str().unwrap()) + chrono::Duration::hours(2);
    for change in [
        json!({ "starts_at": later, "ends_at": later + chrono::Duration::hours(1) }),
        json!({ "title": "Something else" }),
        json!({ "recurrence": "FREQ=DAILY;COUNT=3" }),
    ] {
        let body = expect_error(
            app.patch(&path)
                .bearer_auth(&client)
                .json(&change)
                .send()
                .await
                .unwrap(),
            409,
            "calendar_event_managed",
        )
        .await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("/v1/bookings/{id}")), "{message}");
    }
    // What is the owner's own changes; the times stay the booking's.
    let changed = succeed(
        app.patch(&path)
            .bearer_auth(&client)
            .json(&json!({ "location": "Room 4", "starts_at": event["starts_at"] })),
    )
    .await["data"]
        .clone();
    assert_eq!(changed["location"], "Room 4");
    assert_eq!(changed["starts_at"], event["starts_at"]);
    assert_eq!(changed["booking_id"], json!(id));
}

async fn a_mentorship_session_is_an_event_of_both_parties(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (mentor_id, mentor) = app.user(UserRole::Member).await;
    let (mentee_id, mentee) = app.user(UserRole::Member).await;
    let m = expect_status(
        app.post("/v1/mentorships").bearer_auth(&mentee).json(
            &json!({"mentor_id": mentor_id, "goals": ["Raise a round"], "format": "virtual"}),
        ),
        201,
    )
    .await["data"]
        .clone();
    let m_id = id_of(&m);
    succeed(
        app.post(&format!("/v1/mentorships/{m_id}/accept"))
            .bearer_auth(&mentor),
    )
    .await;
    let start = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    let schedule = |s: chrono::DateTime<chrono::Utc>| {
        app.post(&format!("/v1/mentorships/{m_id}/sessions"))
            .bearer_auth(&mentee)
            .json(&json!({"starts_at": s, "ends_at": s + chrono::Duration::hours(1), "topic": "Deck"}))
    };
    let first = id_of(&expect_status(schedule(start), 201).await["data"]);
    let second =
        id_of(&expect_status(schedule(start + chrono::Duration::days(1)), 201).await["data"]);

    let session_event = |token: String, session: String| {
        let app = &app;
        async move {
            let events = linked(app, &token, "mentorship_session_id", &session).await;
            assert!(events.len() <= 1, "{events:?}");
            events.into_iter().next()
        }
    };
    let of_mentor = session_event(mentor.clone(), first.clone()).await.unwrap();
    let of_mentee = session_event(mentee.clone(), first.clone()).await.unwrap();
    assert_eq!(of_mentor["owner_id"], json!(mentor_id));
    assert_eq!(of_mentee["owner_id"], json!(mentee_id));
    for e in [&of_mentor, &of_mentee] {
        assert_eq!(
            e["ical_uid"],
            format!("mentorship-session-{first}@vendrome")
        );
        assert_eq!(e["mentorship_id"], json!(m_id));
        assert_eq!(e["title"], "Mentorship session with Test User");
        assert_eq!(e["description"], "Deck");
        assert_eq!(e["visibility"], "busy");
    }
    expect_error(
        app.patch(&format!("/v1/calendar/events/{}", id_of(&of_mentee)))
            .bearer_auth(&mentee)
            .json(&json!({"ends_at": start + chrono::Duration::hours(3)}))
            .send()
            .await
            .unwrap(),
        409,
        "calendar_event_managed",
    )
    .await;

    // Moved by the mentor: both events move.
    let moved = start + chrono::Duration::hours(3);
    succeed(
        app.patch(&format!("/v1/mentorships/{m_id}/sessions/{first}"))
            .bearer_auth(&mentor)
            .json(&json!({"starts_at": moved, "ends_at": moved + chrono::Duration::minutes(45)})),
    )
    .await;
    for token in [&mentor, &mentee] {
        let e = session_event(token.clone(), first.clone()).await.unwrap();
        assert_eq!(at(e["starts_at"].as_str().unwrap()), moved);
        assert_eq!(
            at(e["ends_at"].as_str().unwrap()),
            moved + chrono::Duration::minutes(45)
        );
        assert_eq!(e["sequence"], 1);
    }

    // The mentee deletes their event of the first session: the session is cancelled, the
    // mentor's event with it.
    succeed(
        app.delete(&format!("/v1/calendar/events/{}", id_of(&of_mentee)))
            .bearer_auth(&mentee),
    )
    .await;
    assert!(session_event(mentor.clone(), first.clone()).await.is_none());
    let detail = succeed(
        app.get(&format!("/v1/mentorships/{m_id}"))
            .bearer_auth(&mentor),
    )
    .await;
    let sessions = detail["data"]["sessions"].as_array().unwrap();
    let cancelled = sessions.iter().find(|s| s["id"] == json!(first)).unwrap();
    assert!(cancelled["cancelled_at"].is_string(), "{cancelled}");

    // The second, cancelled through its own endpoint: both events go; again, nothing to cancel.
    assert!(session_event(mentor.clone(), second.clone())
        .await
        .is_some());
    let path = format!("/v1/mentorships/{m_id}/sessions/{second}");
    succeed(app.delete(&path).bearer_auth(&mentor)).await;
    assert!(session_event(mentor.clone(), second.clone())
        .await
        .is_none());
    assert!(session_event(mentee.clone(), second.clone())
        .await
        .is_none());
    expect_error(
        app.delete(&path).bearer_auth(&mentee).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    // Cancelling the mentorship cancels its sessions to come, and their events.
    let third =
        id_of(&expect_status(schedule(start + chrono::Duration::days(3)), 201).await["data"]);
    assert!(session_event(mentee.clone(), third.clone()).await.is_some());
    succeed(
        app.post(&format!("/v1/mentorships/{m_id}/cancel"))
            .bearer_auth(&mentee),
    )
    .await;
    assert!(session_event(mentor.clone(), third.clone()).await.is_none());
    assert!(session_event(mentee.clone(), third.clone()).await.is_none());
    let stranger = app.token(UserRole::Member).await;
    expect_error(
        app.patch(&path)
            .bearer_auth(&stranger)
            .json(&json!({"starts_at": moved, "ends_at": moved + chrono::Duration::hours(1)}))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}
