//! A booking's calendar events, written with its changes: none before confirmation, one per
//! party once confirmed (never a second on a repeated move), moved by a reschedule, cancelled
//! with it; and reschedules as compare-and-set moves that never overlap another booking, also
//! when they race.

use std::sync::Arc;

use chrono::{Duration, TimeZone as _, Utc};
use vendrome_core::bookings::{
    changed_event, Booking, BookingChange, BookingRepo, BookingReschedule, CreateBookingOutcome,
    RescheduleOutcome,
};
use vendrome_core::calendar::managed::ManagedBy;
use vendrome_core::calendar::{CalendarEvent, CalendarRepo, EventScope};
use vendrome_core::enums::BookingStatus;
use vendrome_core::ids::UserId;
use vendrome_core::time::{self, Timestamp};
use vendrome_store::Store;

use crate::bookings::{create, new_booking, service};
use crate::graph::user;
use crate::orders::count_events;

conformance!(
    a_booking_s_events_follow_its_status,
    reschedules_are_compare_and_set_and_never_overlap
);

pub(crate) fn nine() -> Timestamp {
    Utc.with_ymd_and_hms(2030, 7, 1, 9, 0, 0).unwrap()
}

/// `user`'s events of `booking` around the test's day.
pub(crate) async fn events_of(
    store: &Store,
    user: UserId,
    booking: &Booking,
) -> Vec<CalendarEvent> {
    let mut events = store
        .events_between(
            user,
            EventScope::Calendar,
            nine() - Duration::days(1),
            nine() + Duration::days(1),
        )
        .await
        .unwrap();
    events.retain(|e| e.managed_by == Some(ManagedBy::Booking(booking.id)));
    events
}

pub(crate) async fn booked(
    store: &Store,
    client: UserId,
    provider: UserId,
    at: Timestamp,
) -> Booking {
    let post = service(store, provider).await;
    match create(store, &new_booking(post, client, provider, at, 60, 0, "k")).await {
        CreateBookingOutcome::Created(b) => b,
        other => panic!("expected a new booking, got {other:?}"),
    }
}

/// Moves `b` from `from` to `to`; the booking after, `None` when it had moved.
pub(crate) async fn step(
    store: &Store,
    b: &Booking,
    from: BookingStatus,
    to: BookingStatus,
) -> Option<Booking> {
    let change = BookingChange {
        booking_id: b.id,
        from,
        to,
        at: time::now(),
        refund_amount: 0,
        cancel_reason: None,
    };
    store
        .change_status(&change, changed_event(b, to, 0))
        .await
        .unwrap()
}

fn moving(b: &Booking, to: Timestamp) -> BookingReschedule {
    BookingReschedule {
        booking_id: b.id,
        status: b.status,
        from_starts_at: b.starts_at,
        starts_at: to,
        ends_at: to + Duration::hours(1),
        blocked_until: to + Duration::hours(1),
        at: time::now(),
    }
}

async fn reschedule(store: &Store, b: &Booking, to: Timestamp) -> RescheduleOutcome {
    store
        .reschedule(&moving(b, to), changed_event(b, b.status, 0))
        .await
        .unwrap()
}

async fn a_booking_s_events_follow_its_status(store: Store) {
    let (provider, client) = (user(&store).await, user(&store).await);
    let b = booked(&store, client, provider, nine()).await;
    assert!(
        events_of(&store, provider, &b).await.is_empty(),
        "requested"
    );

    let b = step(
        &store,
        &b,
        BookingStatus::Requested,
        BookingStatus::Confirmed,
    )
    .await
    .unwrap();
    // A repeated confirmation finds it moved and writes nothing.
    assert!(step(
        &store,
        &b,
        BookingStatus::Requested,
        BookingStatus::Confirmed
    )
    .await
    .is_none());
    assert_eq!(count_events(&store, "booking.confirmed").await, 1);
    let uid = format!("booking-{}@vendrome", b.id);
    for party in [provider, client] {
        let events = events_of(&store, party, &b).await;
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!(
            (e.owner_id, e.ical_uid.as_str(), e.sequence),
            (party, uid.as_str(), 0)
        );
        assert_eq!(
            (e.fields.starts_at, e.fields.ends_at),
            (b.starts_at, b.ends_at)
        );
        assert!(e.fields.attendees.is_empty());
    }

    let ten = nine() + Duration::hours(1);
    let RescheduleOutcome::Moved(moved) = reschedule(&store, &b, ten).await else {
        panic!("expected the move")
    };
    for party in [provider, client] {
        let events = events_of(&store, party, &moved).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].fields.starts_at, ten);
        assert_eq!(events[0].sequence, 1);
    }

    step(
        &store,
        &moved,
        BookingStatus::Confirmed,
        BookingStatus::Cancelled,
    )
    .await
    .unwrap();
    for party in [provider, client] {
        assert!(events_of(&store, party, &moved).await.is_empty());
    }
}

async fn reschedules_are_compare_and_set_and_never_overlap(store: Store) {
    let provider = user(&store).await;
    let (a, c) = (user(&store).await, user(&store).await);
    let first = booked(&store, a, provider, nine()).await;
    let eleven = nine() + Duration::hours(2);
    let other = booked(&store, c, provider, eleven).await;

    // Half an hour into the other booking: refused, nothing changed.
    let half_past_ten = nine() + Duration::minutes(90);
    assert_eq!(
        reschedule(&store, &first, half_past_ten).await,
        RescheduleOutcome::Taken
    );
    let read = store.booking(first.id).await.unwrap().unwrap();
    assert_eq!(read.starts_at, nine());
    // Ending where the other starts: moved; the same move again finds it moved.
    let ten = nine() + Duration::hours(1);
    assert!(matches!(
        reschedule(&store, &first, ten).await,
        RescheduleOutcome::Moved(_)
    ));
    assert_eq!(
        reschedule(&store, &first, ten).await,
        RescheduleOutcome::Changed
    );
    assert_eq!(count_events(&store, "booking.requested").await, 3);

    // Both move to 14:00 at once: one does.
    let first = store.booking(first.id).await.unwrap().unwrap();
    let two = nine() + Duration::hours(5);
    let store = Arc::new(store);
    let tasks: Vec<_> = [first, other]
        .into_iter()
        .map(|b| {
            let store = store.clone();
            tokio::spawn(async move { reschedule(&store, &b, two).await })
        })
        .collect();
    let mut moved = 0;
    for task in tasks {
        match task.await.unwrap() {
            RescheduleOutcome::Moved(_) => moved += 1,
            RescheduleOutcome::Taken => {}
            RescheduleOutcome::Changed => panic!("neither had moved"),
        }
    }
    assert_eq!(moved, 1);
}
