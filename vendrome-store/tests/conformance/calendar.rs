//! Native calendar events: attendees and answers, window queries by scope, and the calendar
//! service's rules over the real store.

use std::sync::Arc;

use chrono::{Duration, TimeZone as _, Utc};
use vendrome_calendar::{CalendarService, EventChanges, EventInput, Window};
use vendrome_core::calendar::{CalendarRepo, EventFields, EventScope};
use vendrome_core::enums::{CalendarAttendeeStatus, CalendarEventStatus, CalendarVisibility};
use vendrome_core::graph::GraphService;
use vendrome_core::ids::{CalendarEventId, UserId};
use vendrome_core::page::Limit;
use vendrome_core::time::Timestamp;
use vendrome_core::Error;
use vendrome_store::Store;

use crate::graph::{caller, connect, user};

conformance!(
    calendar_events_round_trip_with_attendees,
    calendar_window_queries_by_scope,
    calendar_service_expands_and_guards_events
);

pub fn at(d: u32, h: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 6, d, h, 0, 0).unwrap()
}

pub fn fields(title: &str, start: Timestamp, attendees: Vec<UserId>) -> EventFields {
    EventFields {
        title: title.to_owned(),
        description: None,
        location: None,
        video_url: None,
        starts_at: start,
        ends_at: start + Duration::hours(1),
        timezone: "UTC".to_owned(),
        all_day: false,
        recurrence: None,
        exceptions: Vec::new(),
        series_ends_at: Some(start + Duration::hours(1)),
        visibility: CalendarVisibility::Busy,
        attendees,
    }
}

async fn create(store: &Store, owner: UserId, f: &EventFields) -> CalendarEventId {
    let id = CalendarEventId::new();
    store
        .create_event(id, owner, &format!("{id}@test"), f)
        .await
        .unwrap()
        .id
}

async fn calendar_events_round_trip_with_attendees(store: Store) {
    let (owner, a, b, c) = (
        user(&store).await,
        user(&store).await,
        user(&store).await,
        user(&store).await,
    );
    let mut f = fields("Board meeting", at(1, 9), vec![a, b]);
    f.description = Some("Quarterly numbers".into());
    f.location = Some("Room 4".into());
    f.video_url = Some("https://meet.example.com/x".into());
    f.timezone = "Africa/Johannesburg".into();
    f.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    f.exceptions = vec![at(8, 9), at(15, 9)];
    f.series_ends_at = Some(at(22, 10));
    f.visibility = CalendarVisibility::Public;
    let id = CalendarEventId::new();
    let created = store.create_event(id, owner, "uid-1", &f).await.unwrap();
    assert_eq!(created.fields, f);
    assert_eq!(created.status, CalendarEventStatus::Confirmed);
    assert_eq!((created.sequence, created.ical_uid.as_str()), (0, "uid-1"));
    assert!(created
        .attendees
        .iter()
        .all(|x| x.response == CalendarAttendeeStatus::NeedsAction));
    assert_eq!(store.event(id).await.unwrap().unwrap(), created);

    assert!(store
        .set_response(id, a, CalendarAttendeeStatus::Accepted)
        .await
        .unwrap());
    assert!(!store
        .set_response(id, c, CalendarAttendeeStatus::Accepted)
        .await
        .unwrap());

    // b is dropped, c invited; a keeps the answer given.
    let mut changed = f.clone();
    changed.title = "Board meeting (moved)".into();
    changed.attendees = vec![a, c];
    changed.exceptions = Vec::new();
    changed.recurrence = None;
    let updated = store.update_event(id, &changed).await.unwrap();
    assert_eq!(updated.sequence, 1);
    assert_eq!(updated.fields.title, "Board meeting (moved)");
    assert_eq!(updated.fields.exceptions, Vec::<Timestamp>::new());
    assert_eq!(updated.fields.recurrence, None);
    let answers: Vec<_> = updated
        .attendees
        .iter()
        .map(|x| (x.user_id, x.response))
        .collect();
    assert!(answers.contains(&(a, CalendarAttendeeStatus::Accepted)));
    assert!(answers.contains(&(c, CalendarAttendeeStatus::NeedsAction)));
    assert_eq!(answers.len(), 2);

    assert!(store.delete_event(id).await.unwrap());
    assert!(!store.delete_event(id).await.unwrap());
    assert_eq!(store.event(id).await.unwrap(), None);
    assert!(!store
        .set_response(id, a, CalendarAttendeeStatus::Declined)
        .await
        .unwrap());
    assert!(matches!(
        store.update_event(id, &changed).await,
        Err(Error::NotFound { .. })
    ));
}

async fn calendar_window_queries_by_scope(store: Store) {
    let (owner, guest) = (user(&store).await, user(&store).await);
    let inside = create(&store, owner, &fields("inside", at(10, 9), vec![])).await;
    create(&store, owner, &fields("after", at(25, 9), vec![])).await;
    let mut endless = fields("standup", at(1, 8), vec![]);
    endless.recurrence = Some("FREQ=DAILY".into());
    endless.series_ends_at = None;
    let endless = create(&store, owner, &endless).await;
    let mut over = fields("over", at(1, 7), vec![]);
    over.recurrence = Some("FREQ=DAILY;COUNT=3".into());
    over.series_ends_at = Some(at(3, 8));
    create(&store, owner, &over).await;
    let mut private = fields("private", at(11, 9), vec![]);
    private.visibility = CalendarVisibility::Private;
    let private = create(&store, owner, &private).await;
    let invited = create(&store, guest, &fields("invite", at(12, 9), vec![owner])).await;
    let declined = create(&store, guest, &fields("declined", at(13, 9), vec![owner])).await;
    store
        .set_response(declined, owner, CalendarAttendeeStatus::Declined)
        .await
        .unwrap();

    let ids = |events: Vec<vendrome_core::calendar::CalendarEvent>| {
        events.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    let calendar = store
        .events_between(owner, EventScope::Calendar, at(9, 0), at(20, 0))
        .await
        .unwrap();
    assert_eq!(
        ids(calendar),
        vec![endless, inside, private, invited, declined],
        "by start; the ended series and the later event are out"
    );
    let busy = store
        .events_between(owner, EventScope::Busy, at(9, 0), at(20, 0))
        .await
        .unwrap();
    assert_eq!(ids(busy), vec![endless, inside, invited]);
    // The guest's own calendar holds what they own, not the owner's.
    let guest_calendar = store
        .events_between(guest, EventScope::Calendar, at(9, 0), at(20, 0))
        .await
        .unwrap();
    assert_eq!(ids(guest_calendar), vec![invited, declined]);
    // The window's end is exclusive: nothing that starts at it.
    let before = store
        .events_between(owner, EventScope::Calendar, at(9, 0), at(10, 9))
        .await
        .unwrap();
    assert_eq!(ids(before), vec![endless]);
}

fn input(title: &str, start: Timestamp) -> EventInput {
    EventInput {
        title: title.to_owned(),
        description: None,
        location: None,
        video_url: None,
        starts_at: start,
        ends_at: start + Duration::hours(1),
        timezone: "Europe/London".into(),
        all_day: false,
        recurrence: None,
        exceptions: Vec::new(),
        visibility: CalendarVisibility::Busy,
        attendees: Vec::new(),
    }
}

async fn calendar_service_expands_and_guards_events(store: Store) {
    let shared = Arc::new(store.clone());
    let service = CalendarService::new(shared.clone(), shared.clone());
    let graph = GraphService::new(shared.clone(), shared);
    let (owner, friend, stranger) = (user(&store).await, user(&store).await, user(&store).await);
    connect(&graph, owner, friend).await;

    // Weekly at 09:00 London across the change to summer time (29 March 2026), one week skipped.
    let first = Utc.with_ymd_and_hms(2026, 3, 16, 9, 0, 0).unwrap();
    let skipped = Utc.with_ymd_and_hms(2026, 4, 6, 8, 0, 0).unwrap();
    let mut weekly = input("Weekly", first);
    weekly.recurrence = Some("FREQ=WEEKLY;COUNT=6".into());
    weekly.exceptions = vec![skipped];
    weekly.attendees = vec![friend];
    let event = service.create(&caller(owner), weekly).await.unwrap();
    assert_eq!(
        event.fields.series_ends_at,
        Some(Utc.with_ymd_and_hms(2026, 4, 20, 9, 0, 0).unwrap())
    );

    let window = Window::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
    )
    .unwrap();
    let page = service
        .occurrences(&caller(friend), window, None, Limit::parse(100).unwrap())
        .await
        .unwrap();
    let starts: Vec<_> = page
        .items
        .iter()
        .map(|o| o.starts_at.to_rfc3339())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-03-16T09:00:00+00:00",
            "2026-03-23T09:00:00+00:00",
            "2026-03-30T08:00:00+00:00",
            "2026-04-13T08:00:00+00:00",
            "2026-04-20T08:00:00+00:00",
        ],
        "the attendee sees the series, in London time, without the exception"
    );

    // Pages follow each other without gaps or repeats.
    let first_page = service
        .occurrences(&caller(owner), window, None, Limit::parse(2).unwrap())
        .await
        .unwrap();
    let second_page = service
        .occurrences(
            &caller(owner),
            window,
            first_page.next_cursor.as_ref(),
            Limit::parse(10).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(first_page.items.len() + second_page.items.len(), 5);
    assert_eq!(second_page.items[0].starts_at, page.items[2].starts_at);

    // Free/busy: the friend may ask, the stranger may not.
    let busy = service
        .free_busy(
            &caller(friend),
            owner,
            window,
            None,
            Limit::parse(100).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(busy.items.len(), 5);
    assert!(matches!(
        service
            .free_busy(&caller(stranger), owner, window, None, Limit::DEFAULT)
            .await,
        Err(Error::Forbidden {
            code: "not_connected",
            ..
        })
    ));

    // Only connections can be invited; only the owner changes the event.
    let mut bad = input("Bad", first);
    bad.attendees = vec![stranger];
    bad.recurrence = Some("FREQ=FORTNIGHTLY".into());
    bad.timezone = "Mars/Olympus".into();
    let Err(Error::Invalid(errors)) = service.create(&caller(owner), bad).await else {
        panic!("expected validation errors");
    };
    let fields: Vec<_> = errors.fields().keys().cloned().collect();
    assert_eq!(fields, ["attendees", "recurrence", "timezone"]);
    assert!(matches!(
        service
            .update(&caller(friend), event.id, EventChanges::default())
            .await,
        Err(Error::Forbidden {
            code: "not_event_owner",
            ..
        })
    ));
    assert!(matches!(
        service.get(&caller(stranger), event.id).await,
        Err(Error::NotFound { .. })
    ));
    let answered = service
        .rsvp(&caller(friend), event.id, CalendarAttendeeStatus::Declined)
        .await
        .unwrap();
    assert_eq!(
        answered.attendee(friend).unwrap().response,
        CalendarAttendeeStatus::Declined
    );
    let busy = service
        .free_busy(&caller(owner), friend, window, None, Limit::DEFAULT)
        .await
        .unwrap();
    assert!(
        busy.items.is_empty(),
        "a declined invitation is not busy time"
    );
}
