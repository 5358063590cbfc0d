//! A provider's calendar blocks booking slots: an event of theirs (even a `private` one) takes
//! the slots it meets, a declined invitation does not.

use serde_json::json;
use vendrome_core::enums::UserRole;

use crate::bookings::{open_all_week, service, slots};
use crate::support::{expect_status, spawn_with, Backend, Setup};

both_stores!(calendar_events_block_booking_slots);

async fn calendar_events_block_booking_slots(backend: Backend) {
    let Some(app) = spawn_with(Setup::new(backend)).await else {
        return;
    };
    let provider = app.token(UserRole::Member).await;
    let post = service(&app, &provider, 0).await;
    open_all_week(&app, &provider).await;
    let offered = slots(&app, &post).await;
    let first = offered[0]["starts_at"].as_str().unwrap().to_owned();
    let second = offered[1]["starts_at"].as_str().unwrap().to_owned();
    // A private event over the second slot: no longer offered, the first still is.
    let start = chrono::DateTime::parse_from_rfc3339(&second).unwrap();
    expect_status(
        app.post("/v1/calendar/events")
            .bearer_auth(&provider)
            .json(&json!({
                "title": "Dentist",
                "starts_at": start.to_rfc3339(),
                "ends_at": (start + chrono::Duration::minutes(30)).to_rfc3339(),
                "timezone": "Africa/Johannesburg",
                "visibility": "private",
            })),
        201,
    )
    .await;
    let after: Vec<String> = slots(&app, &post)
        .await
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap().to_owned())
        .collect();
    assert!(after.contains(&first), "{after:?}");
    assert!(!after.contains(&second), "{after:?}");
}
