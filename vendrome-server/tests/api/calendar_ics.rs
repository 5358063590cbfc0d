//! The calendar as iCalendar over HTTP: the secret feed URL (issued, rotated, revoked), imports
//! idempotent per UID with errors that name the line, and a round trip from one member's feed
//! into another member's calendar.

use serde_json::{json, Value};
use vendrome_core::enums::UserRole;

use crate::support::{expect_error, expect_status, spawn_with, succeed, Backend, Setup, TestApp};

both_stores!(
    calendar_feed_urls_are_secret_rotating_and_revocable,
    calendar_import_is_idempotent_per_uid_and_names_broken_lines,
    calendar_feed_round_trips_into_another_member
);

async fn feed_url(app: &TestApp, token: &str) -> String {
    let body = expect_status(app.post("/v1/calendar/feed-token").bearer_auth(token), 201).await;
    body["data"]["url"].as_str().unwrap().to_owned()
}

/// The feed's status, content type and text.
async fn fetch(app: &TestApp, url: &str) -> (u16, String, String) {
    let response = app.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn occurrences(app: &TestApp, token: &str) -> Vec<(String, String, String)> {
    let body = succeed(
        app.get("/v1/calendar/events")
            .query(&[
                ("from", "2026-10-01T00:00:00Z"),
                ("to", "2026-12-01T00:00:00Z"),
                ("limit", "100"),
            ])
            .bearer_auth(token),
    )
    .await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["occurrence_starts_at"].as_str().unwrap().to_owned(),
                o["occurrence_ends_at"].as_str().unwrap().to_owned(),
                o["event"]["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    expect_status(
        app.post("/v1/calendar/events")
            .bearer_auth(token)
            .json(&body),
        201,
    )
    .await
}

async fn calendar_feed_urls_are_secret_rotating_and_revocable(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, me) = app.user(UserRole::Member).await;
    let (_, other) = app.user(UserRole::Member).await;
    create(
        &app,
        &me,
        json!({
            "title": "Board; weekly, mostly",
            "starts_at": "2026-10-19T08:00:00Z",
            "ends_at": "2026-10-19T09:00:00Z",
            "timezone": "Europe/London",
            "recurrence": "FREQ=WEEKLY;COUNT=4",
            "exceptions": ["2026-10-26T09:00:00Z"],
            "visibility": "private",
        }),
    )
    .await;
    create(
        &app,
        &other,
        json!({
            "title": "Someone else's",
            "starts_at": "2026-10-20T08:00:00Z",
            "ends_at": "2026-10-20T09:00:00Z",
            "timezone": "UTC",
            "visibility": "public",
        }),
    )
    .await;

    let first = feed_url(&app, &me).await;
    assert!(first.starts_with("/v1/calendar/feed.ics?token="), "{first}");
    let (status, content_type, text) = fetch(&app, &first).await;
    assert_eq!(status, 200, "{text}");
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    assert!(text.contains("SUMMARY:Board\\; weekly\\, mostly"), "{text}");
    assert!(
        text.contains("DTSTART;TZID=Europe/London:20261019T090000"),
        "{text}"
    );
    assert!(text.contains("RRULE:FREQ=WEEKLY;COUNT=4"), "{text}");
    assert!(text.contains("EXDATE:20261026T090000Z"), "{text}");
    assert!(
        !text.contains("Someone else"),
        "only the member's own calendar"
    );

    // Rotating: the old URL is unknown at once, the new one works.
    let second = feed_url(&app, &me).await;
    assert_ne!(first, second);
    assert_eq!(fetch(&app, &first).await.0, 404);
    assert_eq!(fetch(&app, &second).await.0, 200);
    expect_error(app.get(&first).send().await.unwrap(), 404, "not_found").await;
    expect_error(
        app.get("/v1/calendar/feed.ics?token=not-a-token")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // Revoked: gone, and revoking again says there is nothing to revoke.
    succeed(app.delete("/v1/calendar/feed-token").bearer_auth(&me)).await;
    assert_eq!(fetch(&app, &second).await.0, 404);
    expect_error(
        app.delete("/v1/calendar/feed-token")
            .bearer_auth(&me)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    expect_error(
        app.post("/v1/calendar/feed-token").send().await.unwrap(),
        401,
        "token_missing",
    )
    .await;
}

const FILE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Elsewhere//EN\r\n\
    BEGIN:VEVENT\r\nUID:standup@elsewhere\r\nSUMMARY:Stand-up\r\n\
    DTSTART;TZID=Europe/London:20261019T090000\r\nDURATION:PT15M\r\n\
    RRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\n\
    BEGIN:VEVENT\r\nUID:launch@elsewhere\r\nSUMMARY:Launch\r\nCLASS:PUBLIC\r\n\
    DTSTART:20261105T140000Z\r\nDTEND:20261105T150000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

async fn import(app: &TestApp, token: &str, text: &str) -> reqwest::Response {
    app.post("/v1/calendar/import")
        .bearer_auth(token)
        .header("content-type", "text/calendar")
        .body(text.to_owned())
        .send()
        .await
        .unwrap()
}

async fn calendar_import_is_idempotent_per_uid_and_names_broken_lines(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, me) = app.user(UserRole::Member).await;

    let (status, body) = crate::support::json(import(&app, &me, FILE).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({ "created": 2, "updated": 0, "skipped": 0 })
    );
    let seen = occurrences(&app, &me).await;
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        seen[0],
        (
            "2026-10-19T08:00:00Z".to_owned(),
            "2026-10-19T08:15:00Z".to_owned(),
            "Stand-up".to_owned()
        )
    );

    // The same file again, wrapped in JSON, with one title changed: updates, no duplicates.
    let changed = FILE.replace("SUMMARY:Launch", "SUMMARY:Launch day");
    let body = succeed(
        app.post("/v1/calendar/import")
            .bearer_auth(&me)
            .json(&json!({ "ics": changed })),
    )
    .await;
    assert_eq!(
        body["data"],
        json!({ "created": 0, "updated": 2, "skipped": 0 })
    );
    let seen = occurrences(&app, &me).await;
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[3].2, "Launch day");

    // A broken line: 422 naming it, and nothing written (the good event before it included).
    let broken = FILE
        .replace("UID:standup@elsewhere", "UID:new@elsewhere")
        .replace("DURATION:PT15M", "DURATION PT15M");
    let error = expect_error(import(&app, &me, &broken).await, 422, "validation_failed").await;
    let issue = &error["error"]["details"]["fields"]["ics"][0];
    assert_eq!(issue["code"], "invalid_ics", "{error}");
    assert!(
        issue["message"].as_str().unwrap().starts_with("line 8:"),
        "{error}"
    );
    // An event the calendar refuses names its BEGIN:VEVENT line and the field.
    let refused = FILE.replace("SUMMARY:Launch", &format!("SUMMARY:{}", "L".repeat(201)));
    let error = expect_error(import(&app, &me, &refused).await, 422, "validation_failed").await;
    let message = error["error"]["details"]["fields"]["ics"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.starts_with("line 11: title:"), "{message}");
    assert_eq!(occurrences(&app, &me).await.len(), 4, "nothing written");

    expect_error(
        app.post("/v1/calendar/import")
            .bearer_auth(&me)
            .header("content-type", "text/plain")
            .body(FILE)
            .send()
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    let huge = format!("{FILE}{}", "X".repeat(1024 * 1024));
    let (status, _) = crate::support::json(import(&app, &me, &huge).await).await;
    assert_eq!(status, 413);
}

async fn calendar_feed_round_trips_into_another_member(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let (_, alice) = app.user(UserRole::Member).await;
    let (_, bob) = app.user(UserRole::Member).await;
    // Weekly at 09:00 London across the end of summer time, one week left out; a one-off; an
    // all-day event.
    create(
        &app,
        &alice,
        json!({
            "title": "Office hours",
            "description": "Bring questions, notes; anything",
            "starts_at": "2026-10-12T08:00:00Z",
            "ends_at": "2026-10-12T09:30:00Z",
            "timezone": "Europe/London",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261201T000000Z",
            "exceptions": ["2026-11-02T09:00:00Z"],
            "visibility": "busy",
        }),
    )
    .await;
    create(
        &app,
        &alice,
        json!({
            "title": "Demo",
            "starts_at": "2026-10-21T15:00:00Z",
            "ends_at": "2026-10-21T16:00:00Z",
            "timezone": "America/New_York",
            "visibility": "public",
        }),
    )
    .await;
    create(
        &app,
        &alice,
        json!({
            "title": "Offsite",
            "starts_at": "2026-11-10T00:00:00Z",
            "ends_at": "2026-11-12T00:00:00Z",
            "timezone": "UTC",
            "all_day": true,
            "visibility": "private",
        }),
    )
    .await;
    let url = feed_url(&app, &alice).await;
    let (status, _, text) = fetch(&app, &url).await;
    assert_eq!(status, 200);

    let (status, body) = crate::support::json(import(&app, &bob, &text).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({ "created": 3, "updated": 0, "skipped": 0 })
    );
    let expected = occurrences(&app, &alice).await;
    assert_eq!(expected.len(), 9, "{expected:?}");
    assert_eq!(occurrences(&app, &bob).await, expected);

    // Bob's copy keeps what the file said about visibility and text.
    let bob_feed = feed_url(&app, &bob).await;
    let (_, _, again) = fetch(&app, &bob_feed).await;
    assert!(again.contains("CLASS:CONFIDENTIAL"), "{again}");
    assert!(again.contains("CLASS:PUBLIC"), "{again}");
    assert!(
        again.contains("DESCRIPTION:Bring questions\\, notes\\; anything"),
        "{again}"
    );
}
