//! The native calendar over HTTP: events CRUD, recurrence across daylight-saving changes,
//! invitations and answers, visibility, and free/busy for connections.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    calendar_events_crud_and_visibility,
    calendar_recurrence_expands_in_the_event_zone,
    calendar_invitations_answers_and_free_busy,
    calendar_input_is_validated
);

fn starts(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["occurrence_starts_at"].as_str().unwrap().to_owned())
        .collect()
}

async fn window(app: &TestApp, token: &str, from: &str, to: &str) -> Value {
    succeed(
        app.get("/v1/calendar/events")
            .query(&[("from", from), ("to", to), ("limit", "100")])
            .bearer_auth(token),
    )
    .await
}

async fn calendar_events_crud_and_visibility(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, me) = app.user(UserRole::Member).await;
    let (_, other) = app.user(UserRole::Member).await;

    let created = expect_status(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
                "title": "Pitch rehearsal",
                "description": "Slides v3",
                "starts_at": "2026-07-01T10:00:00Z",
                "ends_at": "2026-07-01T11:30:00Z",
                "timezone": "Africa/Johannesburg",
                "location": "Cape Town",
                "video_url": "https://meet.example.com/pitch",
                "visibility": "private",
            })),
        201,
    )
    .await;
    let event = &created["data"];
    let id = event["id"].as_str().unwrap().to_owned();
    assert_eq!(event["title"], "Pitch rehearsal");
    assert_eq!(event["sequence"], 0);
    assert_eq!(event["recurrence"], Value::Null);
    assert_eq!(event["status"], "confirmed");
    assert_eq!(event["my_response"], Value::Null);

    let fetched = succeed(
        app.get(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(fetched["data"], created["data"]);
    // Private: another member does not learn it exists, nor may change it.
    expect_error(
        app.get(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.patch(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&other)
            .json(&json!({ "title": "Mine now" }))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // Made public, it can be read by others but still changed only by its owner.
    let patched = succeed(
        app.patch(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&me)
            .json(&json!({ "visibility": "public", "description": null, "title": "Pitch" })),
    )
    .await;
    assert_eq!(patched["data"]["sequence"], 1);
    assert_eq!(patched["data"]["description"], Value::Null);
    assert_eq!(patched["data"]["location"], "Cape Town", "kept");
    succeed(
        app.get(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&other),
    )
    .await;
    expect_error(
        app.patch(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&other)
            .json(&json!({ "title": "Mine now" }))
            .send()
            .await
            .unwrap(),
        403,
        "not_event_owner",
    )
    .await;
    expect_error(
        app.delete(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap(),
        403,
        "not_event_owner",
    )
    .await;

    // It is in my calendar, not in theirs.
    let mine = window(&app, &me, "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z").await;
    assert_eq!(starts(&mine), ["2026-07-01T10:00:00Z"]);
    assert_eq!(mine["data"][0]["event"]["id"], id.as_str());
    let theirs = window(&app, &other, "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z").await;
    assert_eq!(starts(&theirs), Vec::<String>::new());

    let deleted = succeed(
        app.delete(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&me),
    )
    .await;
    assert_eq!(deleted["data"]["deleted"], true);
    expect_error(
        app.get(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let mine = window(&app, &me, "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z").await;
    assert!(starts(&mine).is_empty());
    app.stop().await;
}

async fn calendar_recurrence_expands_in_the_event_zone(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, me) = app.user(UserRole::Member).await;
    // 09:00 London every Monday from 19 October 2026 (BST ends 25 October), one week skipped.
    succeed(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
                "title": "London standup",
                "starts_at": "2026-10-19T08:00:00Z",
                "ends_at": "2026-10-19T08:15:00Z",
                "timezone": "Europe/London",
                "recurrence": "FREQ=WEEKLY;BYDAY=MO",
                "exceptions": ["2026-11-02T09:00:00Z"],
                "visibility": "busy",
            })),
    )
    .await;
    // 09:00 Johannesburg daily (no daylight saving: always 07:00 UTC), three times.
    succeed(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
                "title": "Joburg check-in",
                "starts_at": "2026-10-24T07:00:00Z",
                "ends_at": "2026-10-24T07:30:00Z",
                "timezone": "Africa/Johannesburg",
                "recurrence": "RRULE:FREQ=DAILY;COUNT=3",
                "visibility": "busy",
            })),
    )
    .await;
    let got = window(&app, &me, "2026-10-18T00:00:00Z", "2026-11-17T00:00:00Z").await;
    assert_eq!(
        starts(&got),
        [
            "2026-10-19T08:00:00Z",
            "2026-10-24T07:00:00Z",
            "2026-10-25T07:00:00Z",
            "2026-10-26T07:00:00Z",
            "2026-10-26T09:00:00Z",
            "2026-11-09T09:00:00Z",
            "2026-11-16T09:00:00Z",
        ]
    );
    let first = &got["data"][0];
    assert_eq!(first["occurrence_ends_at"], "2026-10-19T08:15:00Z");
    assert_eq!(first["event"]["recurrence"], "FREQ=WEEKLY;BYDAY=MO");

    // Paged by a cursor, the same occurrences in the same order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![
            ("from", "2026-10-18T00:00:00Z".to_owned()),
            ("to", "2026-11-17T00:00:00Z".to_owned()),
            ("limit", "3".to_owned()),
        ];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let page = succeed(
            app.get("/v1/calendar/events")
                .query(&query)
                .bearer_auth(&me),
        )
        .await;
        seen.extend(starts(&page));
        match page["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, starts(&got));
    app.stop().await;
}

async fn calendar_invitations_answers_and_free_busy(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (me_id, me) = app.user(UserRole::Member).await;
    let (friend_id, friend) = app.user(UserRole::Member).await;
    let (stranger_id, stranger) = app.user(UserRole::Member).await;
    app.connect(&me, friend_id, &friend).await;

    // Strangers cannot be invited.
    let refused = expect_error(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
                "title": "Lunch",
                "starts_at": "2026-08-03T11:00:00Z",
                "ends_at": "2026-08-03T12:00:00Z",
                "timezone": "UTC",
                "visibility": "busy",
                "attendees": [stranger_id],
            }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        refused["error"]["details"]["fields"]["attendees"][0]["code"],
        "not_a_connection"
    );

    let invite = succeed(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
                "title": "Lunch",
                "starts_at": "2026-08-03T11:00:00Z",
                "ends_at": "2026-08-03T12:00:00Z",
                "timezone": "UTC",
                "visibility": "private",
                "attendees": [friend_id],
            })),
    )
    .await;
    let id = invite["data"]["id"].as_str().unwrap().to_owned();
    // Overlapping busy events of mine, merged into one block; a private one left out.
    for (start, end, visibility) in [
        ("2026-08-03T09:00:00Z", "2026-08-03T10:00:00Z", "busy"),
        ("2026-08-03T09:30:00Z", "2026-08-03T10:30:00Z", "public"),
        ("2026-08-03T15:00:00Z", "2026-08-03T16:00:00Z", "private"),
    ] {
        succeed(
            app.post("/v1/calendar/events")
                .bearer_auth(&me)
                .json(&json!({
                    "title": "Busy",
                    "starts_at": start,
                    "ends_at": end,
                    "timezone": "UTC",
                    "visibility": visibility,
                })),
        )
        .await;
    }

    // The friend sees the invitation in their calendar, awaiting an answer.
    let theirs = window(
        &app,
        &friend,
        "2026-08-03T00:00:00Z",
        "2026-08-04T00:00:00Z",
    )
    .await;
    assert_eq!(starts(&theirs), ["2026-08-03T11:00:00Z"]);
    assert_eq!(theirs["data"][0]["event"]["my_response"], "needs_action");
    assert_eq!(theirs["data"][0]["event"]["owner_id"], me_id.to_string());
    succeed(
        app.get(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&friend),
    )
    .await;

    let answered = succeed(
        app.post(&format!("/v1/calendar/events/{id}/rsvp"))
            .bearer_auth(&friend)
            .json(&json!({ "response": "tentative" })),
    )
    .await;
    assert_eq!(answered["data"]["my_response"], "tentative");
    assert_eq!(
        answered["data"]["attendees"],
        json!([{ "user_id": friend_id, "response": "tentative" }])
    );
    expect_error(
        app.post(&format!("/v1/calendar/events/{id}/rsvp"))
            .bearer_auth(&me)
            .json(&json!({ "response": "accepted" }))
            .send()
            .await
            .unwrap(),
        403,
        "not_invited",
    )
    .await;
    expect_error(
        app.post(&format!("/v1/calendar/events/{id}/rsvp"))
            .bearer_auth(&friend)
            .json(&json!({ "response": "needs_action" }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;

    // My free/busy as my friend sees it: busy blocks only, the private events left out (the
    // private lunch is private to outsiders: it does not count either).
    let fb = |token: String, whom: String| {
        let app = &app;
        async move {
            app.get(&format!("/v1/users/{whom}/free-busy"))
                .query(&[
                    ("from", "2026-08-03T00:00:00Z"),
                    ("to", "2026-08-04T00:00:00Z"),
                ])
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let (status, body) = crate::support::json(fb(friend.clone(), me_id.to_string()).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!([{ "starts_at": "2026-08-03T09:00:00Z", "ends_at": "2026-08-03T10:30:00Z" }])
    );
    assert_eq!(
        body["data"][0].as_object().unwrap().len(),
        2,
        "nothing but the times"
    );
    expect_error(
        fb(stranger.clone(), me_id.to_string()).await,
        403,
        "not_connected",
    )
    .await;
    expect_error(fb(me.clone(), "not-a-user".into()).await, 404, "not_found").await;

    // Deleted by its owner, the invitation leaves the friend's calendar.
    succeed(
        app.delete(&format!("/v1/calendar/events/{id}"))
            .bearer_auth(&me),
    )
    .await;
    let theirs = window(
        &app,
        &friend,
        "2026-08-03T00:00:00Z",
        "2026-08-04T00:00:00Z",
    )
    .await;
    assert!(starts(&theirs).is_empty());
    app.stop().await;
}

async fn calendar_input_is_validated(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, me) = app.user(UserRole::Member).await;
    let bad = expect_error(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
                "title": " ",
                "starts_at": "2026-08-03T11:00:00Z",
                "ends_at": "2026-08-03T10:00:00Z",
                "timezone": "Mars/Olympus",
                "recurrence": "FREQ=SECONDLY",
                "video_url": "ftp://x",
                "visibility": "busy",
            }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let details = &bad["error"]["details"]["fields"];
    for (field, code) in [
        ("title", "invalid_length"),
        ("ends_at", "invalid_range"),
        ("timezone", "unknown_timezone"),
        ("recurrence", "unsupported_frequency"),
        ("video_url", "invalid_url"),
    ] {
        assert_eq!(details[field][0]["code"], code, "{field}: {details}");
    }
    expect_error(
        app.post("/v1/calendar/events")
            .bearer_auth(&me)
            .json(&json!({
                "title": "x",
                "starts_at": "2026-08-03T11:00:00Z",
                "ends_at": "2026-08-03T12:00:00Z",
                "timezone": "UTC",
                "visibility": "secret",
            }))
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    for (from, to, field) in [
        ("2026-08-03T00:00:00Z", "2026-08-02T00:00:00Z", "to"),
        ("2026-01-01T00:00:00Z", "2027-06-01T00:00:00Z", "to"),
    ] {
        let body = expect_error(
            app.get("/v1/calendar/events")
                .query(&[("from", from), ("to", to)])
                .bearer_auth(&me)
                .send()
                .await
                .unwrap(),
            422,
            "validation_failed",
        )
        .await;
        assert!(
            body["error"]["details"]["fields"][field].is_array(),
            "{body}"
        );
    }
    // Two hourly series over a year are past the occurrence budget (one alone is not).
    for _ in 0..2 {
        succeed(
            app.post("/v1/calendar/events")
                .bearer_auth(&me)
                .json(&json!({
                    "title": "Ping",
                    "starts_at": "2026-01-01T00:00:00Z",
                    "ends_at": "2026-01-01T00:05:00Z",
                    "timezone": "UTC",
                    "recurrence": "FREQ=HOURLY",
                    "visibility": "busy",
                })),
        )
        .await;
    }
    let body = expect_error(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2026-01-01T00:00:00Z"),
                ("to", "2026-12-31T00:00:00Z"),
            ])
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        body["error"]["details"]["fields"]["to"][0]["code"],
        "too_many_occurrences"
    );
    for path in [
        "/v1/calendar/events/nope",
        "/v1/calendar/events/0190a8a0-0000-7000-8000-000000000000",
    ] {
        expect_error(
            app.get(path).bearer_auth(&me).send().await.unwrap(),
            404,
            "not_found",
        )
        .await;
    }
    expect_error(
        app.get("/v1/calendar/events?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z")
            .send()
            .await
            .unwrap(),
        401,
        "token_missing",
    )
    .await;
    app.stop().await;
}
