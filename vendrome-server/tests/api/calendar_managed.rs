//! A booking's calendar event changes only with its booking: an `.ics` import or a provider's
//! pull carrying its UID leaves it as it is (reported as skipped), and a remote copy deleted at
//! the provider, seen by an incremental or a full sync, neither deletes it nor cancels the
//! booking.

use serde_json::Value;
use vendrome_core::enums::UserRole;

use crate::bookings::slots;
use crate::calendar_bookings::{auto_confirmed, booked, booking_event, id_of};
use crate::calendar_google::{connect, sync, with_fake};
use crate::support::{succeed, Backend, TestApp};

both_stores!(calendar_managed_events_are_left_to_their_booking_by_imports_and_syncs);

async fn booking_status(app: &TestApp, token: &str, id: &str) -> Value {
    succeed(app.get(&format!("/v1/bookings/{id}")).bearer_auth(token)).await["data"]["status"]
        .clone()
}

async fn calendar_managed_events_are_left_to_their_booking_by_imports_and_syncs(backend: Backend) {
    let Some((app, fake)) = with_fake(backend, 50, false).await else {
        return;
    };
    let (_, provider) = app.user(UserRole::Member).await;
    let (_, client) = app.user(UserRole::Member).await;
    let post = auto_confirmed(&app, &provider).await;
    let slot = slots(&app, &post).await[2]["starts_at"].clone();
    let booking = id_of(&booked(&app, &client, &post, &slot).await);
    let mine = booking_event(&app, &provider, &booking).await;
    let uid = mine["ical_uid"].as_str().unwrap().to_owned();

    // An import carrying the booking's UID at other times.
    let file = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Elsewhere//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nSUMMARY:Moved elsewhere\r\nDTSTART:20270105T140000Z\r\n\
         DTEND:20270105T150000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:other@elsewhere\r\n\
         SUMMARY:Other\r\nDTSTART:20270106T140000Z\r\nDTEND:20270106T150000Z\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let report = succeed(
        app.post("/v1/calendar/import")
            .bearer_auth(&provider)
            .header("content-type", "text/calendar")
            .body(file),
    )
    .await;
    assert_eq!(
        (
            &report["data"]["created"],
            &report["data"]["updated"],
            &report["data"]["skipped"]
        ),
        (&Value::from(1), &Value::from(0), &Value::from(1)),
        "{report}"
    );
    assert_eq!(booking_event(&app, &provider, &booking).await, mine);

    // A Google event carrying the booking's UID, pulled by the first (full) sync.
    let integration = connect(&app, &provider).await;
    let id = integration["id"].as_str().unwrap().to_owned();
    fake.lock().unwrap().put(
        "clash",
        serde_json::json!({"iCalUID": uid, "summary": "Moved at Google",
            "start": {"dateTime": "2027-01-05T14:00:00Z", "timeZone": "UTC"},
            "end": {"dateTime": "2027-01-05T15:00:00Z", "timeZone": "UTC"}}),
    );
    let report = sync(&app, &provider, &id).await;
    assert_eq!(
        (&report["full"], &report["created"], &report["skipped"]),
        (&Value::from(true), &Value::from(0), &Value::from(1)),
        "{report}"
    );
    assert_eq!(booking_event(&app, &provider, &booking).await, mine);

    // Written to Google by its member, then deleted there: an incremental sync keeps it.
    let event_id = mine["id"].as_str().unwrap();
    let pushed = succeed(
        app.put(&format!("/v1/calendar/integrations/{id}/events/{event_id}"))
            .bearer_auth(&provider),
    )
    .await;
    let remote = pushed["data"]["external_event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.lock().unwrap().cancel(&remote);
    let report = sync(&app, &provider, &id).await;
    assert_eq!(
        (&report["full"], &report["deleted"]),
        (&Value::from(false), &Value::from(0)),
        "{report}"
    );
    assert_eq!(booking_event(&app, &provider, &booking).await, mine);
    assert_eq!(booking_status(&app, &provider, &booking).await, "confirmed");

    // Written again, deleted there, and the sync token expired: the full resync, which deletes
    // what Google no longer lists, keeps it too.
    let pushed = succeed(
        app.put(&format!("/v1/calendar/integrations/{id}/events/{event_id}"))
            .bearer_auth(&provider),
    )
    .await;
    let remote = pushed["data"]["external_event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        let mut f = fake.lock().unwrap();
        f.cancel(&remote);
        f.expire_sync_tokens();
    }
    let report = sync(&app, &provider, &id).await;
    assert_eq!(
        (&report["full"], &report["deleted"]),
        (&Value::from(true), &Value::from(0)),
        "{report}"
    );
    assert_eq!(booking_event(&app, &provider, &booking).await, mine);
    assert_eq!(booking_status(&app, &provider, &booking).await, "confirmed");
}
