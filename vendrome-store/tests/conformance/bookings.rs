//! Bookings: no double booking under concurrency (the same slot, and overlapping different
//! ones), buffers and cancelled bookings, idempotent creation, compare-and-set moves with their
//! events, paging by role, status and window; availability read back as set.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone as _, Utc};
use serde_json::json;
use vendrome_core::bookings::{
    Availability, AvailabilityException, AvailabilityRepo, Booking, BookingChange, BookingFilter,
    BookingRepo, BookingRole, CreateBookingOutcome, LateRefund, NewBooking, WeeklyWindow,
};
use vendrome_core::enums::{BookingStatus, PostType, PostVisibility};
use vendrome_core::events::{BookingChanged, DomainEvent};
use vendrome_core::ids::{BookingId, PostId, UserId};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::Limit;
use vendrome_core::posts::{PostPayload, PostRepo};
use vendrome_core::time::{self, Timestamp};
use vendrome_store::Store;

use crate::graph::user;
use crate::orders::{count_events, zar};
use crate::posts::new_post;

conformance!(
    twenty_clients_for_one_slot_make_one_booking,
    overlapping_different_slots_make_one_booking,
    buffers_hold_and_cancelled_bookings_free_time,
    creating_a_booking_is_idempotent_per_client_and_key,
    moves_are_compare_and_set_with_their_event,
    bookings_page_by_role_status_and_window,
    availability_and_services_read_back
);

/// A live free service post of `provider`, one hour long.
pub async fn service(store: &Store, provider: UserId) -> PostId {
    let fields = json!({"title": "Advice", "rate_minor": 0, "currency": "ZAR",
        "rate_unit": "fixed", "duration_minutes": 60});
    let payload = PostPayload::parse(PostType::Service, Some(&fields)).unwrap();
    store
        .create_post(new_post(provider, payload, PostVisibility::Public))
        .await
        .unwrap()
}

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2030, 6, 3, 9, 0, 0).unwrap()
}

/// A requested booking of `post` by `client` from `at`, for `minutes`, holding `buffer` more.
pub fn new_booking(
    post: PostId,
    client: UserId,
    provider: UserId,
    at: Timestamp,
    minutes: i64,
    buffer: i64,
    key: &str,
) -> NewBooking {
    NewBooking {
        id: BookingId::new(),
        service_post_id: post,
        client_id: client,
        provider_id: provider,
        status: BookingStatus::Requested,
        starts_at: at,
        ends_at: at + Duration::minutes(minutes),
        blocked_until: at + Duration::minutes(minutes + buffer),
        timezone: "Europe/London".into(),
        currency: zar(),
        amount: 0,
        platform_fee_amount: 0,
        idempotency_key: key.into(),
        note: Some("first session".into()),
        created_at: time::now(),
    }
}

fn event(b: &NewBooking) -> NewEvent {
    NewEvent::new(DomainEvent::BookingRequested(payload_of(
        b.id,
        b.service_post_id,
        b.client_id,
        b.provider_id,
        b.status,
        b.starts_at,
        b.ends_at,
    )))
}

#[allow(clippy::too_many_arguments)]
fn payload_of(
    id: BookingId,
    post: PostId,
    client: UserId,
    provider: UserId,
    status: BookingStatus,
    starts_at: Timestamp,
    ends_at: Timestamp,
) -> BookingChanged {
    BookingChanged {
        booking_id: id,
        service_post_id: post,
        client_id: client,
        provider_id: provider,
        status,
        starts_at,
        ends_at,
        amount: 0,
        refund_amount: 0,
        currency: zar(),
    }
}

pub async fn create(store: &Store, b: &NewBooking) -> CreateBookingOutcome {
    store.create_booking(b, event(b)).await.unwrap()
}

async fn created(store: &Store, b: &NewBooking) -> Booking {
    match create(store, b).await {
        CreateBookingOutcome::Created(booking) => booking,
        other => panic!("expected a new booking, got {other:?}"),
    }
}

/// Runs `bookings` concurrently; how many were created.
async fn race(store: &Store, bookings: Vec<NewBooking>) -> usize {
    let store = Arc::new(store.clone());
    let tasks: Vec<_> = bookings
        .into_iter()
        .map(|b| {
            let store = store.clone();
            tokio::spawn(async move { create(&store, &b).await })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            CreateBookingOutcome::Created(_) => made += 1,
            CreateBookingOutcome::Taken => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    made
}

async fn clients(store: &Store, n: usize) -> Vec<UserId> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        all.push(user(store).await);
    }
    all
}

async fn twenty_clients_for_one_slot_make_one_booking(store: Store) {
    let provider = user(&store).await;
    let post = service(&store, provider).await;
    let bookings = clients(&store, 20)
        .await
        .into_iter()
        .map(|c| new_booking(post, c, provider, start(), 60, 0, "k"))
        .collect();
    assert_eq!(race(&store, bookings).await, 1);
    assert_eq!(count_events(&store, "booking.requested").await, 1);
    let held = store
        .taken(
            provider,
            start() - Duration::days(1),
            start() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
}

async fn overlapping_different_slots_make_one_booking(store: Store) {
    let provider = user(&store).await;
    let post = service(&store, provider).await;
    // Twenty hour-long bookings starting 0 to 50 minutes after 09:00: different slots, each
    // overlapping every other.
    let bookings: Vec<NewBooking> = clients(&store, 20)
        .await
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let at = start() + Duration::minutes(10 * (i as i64 % 6));
            new_booking(post, c, provider, at, 60, 0, "k")
        })
        .collect();
    assert_eq!(race(&store, bookings).await, 1);
}

async fn buffers_hold_and_cancelled_bookings_free_time(store: Store) {
    let provider = user(&store).await;
    let post = service(&store, provider).await;
    let [a, b, c] = clients(&store, 3).await[..] else {
        unreachable!()
    };
    // 09:00–10:00 plus 15 minutes of buffer.
    let first = created(
        &store,
        &new_booking(post, a, provider, start(), 60, 15, "a"),
    )
    .await;
    let in_buffer = new_booking(
        post,
        b,
        provider,
        start() + Duration::minutes(70),
        60,
        0,
        "b",
    );
    assert_eq!(
        create(&store, &in_buffer).await,
        CreateBookingOutcome::Taken
    );
    // Ending exactly where the first starts, and starting exactly where its buffer ends: fine.
    let before = new_booking(
        post,
        b,
        provider,
        start() - Duration::minutes(60),
        60,
        0,
        "b2",
    );
    created(&store, &before).await;
    let after = new_booking(
        post,
        c,
        provider,
        start() + Duration::minutes(75),
        60,
        0,
        "c",
    );
    created(&store, &after).await;
    // Another provider's time is theirs.
    let other = user(&store).await;
    let other_post = service(&store, other).await;
    created(
        &store,
        &new_booking(other_post, a, other, start(), 60, 0, "o"),
    )
    .await;
    // Cancelled, the first booking's time is free again.
    let cancel = BookingChange {
        booking_id: first.id,
        from: BookingStatus::Requested,
        to: BookingStatus::Cancelled,
        at: time::now(),
        refund_amount: 0,
        cancel_reason: Some("ill".into()),
    };
    let moved = store
        .change_status(
            &cancel,
            NewEvent::new(DomainEvent::BookingCancelled(payload_of(
                first.id,
                post,
                a,
                provider,
                BookingStatus::Cancelled,
                first.starts_at,
                first.ends_at,
            ))),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.cancel_reason.as_deref(), Some("ill"));
    let again = new_booking(post, b, provider, start(), 60, 0, "b3");
    created(&store, &again).await;
}

async fn creating_a_booking_is_idempotent_per_client_and_key(store: Store) {
    let provider = user(&store).await;
    let post = service(&store, provider).await;
    let client = user(&store).await;
    let first = created(
        &store,
        &new_booking(post, client, provider, start(), 60, 0, "same"),
    )
    .await;
    assert_eq!(first.note.as_deref(), Some("first session"));
    assert_eq!(first.blocked_until, first.ends_at);
    // The same key with another start finds the first booking, unchanged.
    let later = start() + Duration::hours(3);
    let retry = new_booking(post, client, provider, later, 60, 0, "same");
    assert_eq!(
        create(&store, &retry).await,
        CreateBookingOutcome::Existing(first.clone())
    );
    assert_eq!(count_events(&store, "booking.requested").await, 1);
}

async fn moves_are_compare_and_set_with_their_event(store: Store) {
    let provider = user(&store).await;
    let post = service(&store, provider).await;
    let client = user(&store).await;
    let b = created(
        &store,
        &new_booking(post, client, provider, start(), 60, 0, "k"),
    )
    .await;
    let confirm = |from| BookingChange {
        booking_id: b.id,
        from,
        to: BookingStatus::Confirmed,
        at: time::now(),
        refund_amount: 0,
        cancel_reason: None,
    };
    let ev = || {
        NewEvent::new(DomainEvent::BookingConfirmed(payload_of(
            b.id,
            post,
            client,
            provider,
            BookingStatus::Confirmed,
            b.starts_at,
            b.ends_at,
        )))
    };
    let moved = store
        .change_status(&confirm(BookingStatus::Requested), ev())
        .await;
    assert_eq!(moved.unwrap().unwrap().status, BookingStatus::Confirmed);
    // The second confirmer finds it moved, and writes no event.
    let stale = store
        .change_status(&confirm(BookingStatus::Requested), ev())
        .await;
    assert_eq!(stale.unwrap(), None);
    assert_eq!(count_events(&store, "booking.confirmed").await, 1);
    let read = store.booking(b.id).await.unwrap().unwrap();
    assert_eq!(read.status, BookingStatus::Confirmed);
}

async fn bookings_page_by_role_status_and_window(store: Store) {
    let provider = user(&store).await;
    let post = service(&store, provider).await;
    let client = user(&store).await;
    let mut ids = Vec::new();
    for day in 0..5 {
        let at = start() + Duration::days(day);
        let b = created(
            &store,
            &new_booking(post, client, provider, at, 60, 0, &format!("k{day}")),
        )
        .await;
        ids.push(b.id);
    }
    let all = |role| BookingFilter {
        role,
        status: None,
        from: None,
        to: None,
    };
    let limit = Limit::parse(2).unwrap();
    let (first, cursor) = store
        .bookings_of(client, all(BookingRole::Client), None, limit)
        .await
        .unwrap();
    assert_eq!(first.iter().map(|b| b.id).collect::<Vec<_>>(), ids[..2]);
    let (second, _) = store
        .bookings_of(client, all(BookingRole::Client), cursor.as_ref(), limit)
        .await
        .unwrap();
    assert_eq!(second.iter().map(|b| b.id).collect::<Vec<_>>(), ids[2..4]);
    let (as_provider, _) = store
        .bookings_of(provider, all(BookingRole::Provider), None, Limit::DEFAULT)
        .await
        .unwrap();
    assert_eq!(as_provider.len(), 5);
    let (as_client_of_nothing, _) = store
        .bookings_of(provider, all(BookingRole::Client), None, Limit::DEFAULT)
        .await
        .unwrap();
    assert!(as_client_of_nothing.is_empty());
    let window = BookingFilter {
        from: Some(start() + Duration::days(1)),
        to: Some(start() + Duration::days(3)),
        ..all(BookingRole::Client)
    };
    let (within, _) = store
        .bookings_of(client, window, None, Limit::DEFAULT)
        .await
        .unwrap();
    assert_eq!(within.iter().map(|b| b.id).collect::<Vec<_>>(), ids[1..3]);
    let confirmed = BookingFilter {
        status: Some(BookingStatus::Confirmed),
        ..all(BookingRole::Client)
    };
    let (none, _) = store
        .bookings_of(client, confirmed, None, Limit::DEFAULT)
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn availability_and_services_read_back(store: Store) {
    let provider = user(&store).await;
    assert_eq!(store.availability(provider).await.unwrap(), None);
    let set = Availability {
        timezone: "Europe/London".into(),
        weekly: vec![WeeklyWindow {
            day: "mon".into(),
            start: "09:00".into(),
            end: "17:30".into(),
        }],
        exceptions: vec![
            AvailabilityException {
                date: NaiveDate::from_ymd_opt(2030, 12, 25).unwrap(),
                closed: true,
                start: None,
                end: None,
            },
            AvailabilityException {
                date: NaiveDate::from_ymd_opt(2030, 12, 27).unwrap(),
                closed: false,
                start: Some("10:00".into()),
                end: Some("12:00".into()),
            },
        ],
        buffer_minutes: 15,
        min_notice_minutes: 120,
        max_days_ahead: 30,
    };
    store
        .set_availability(provider, &set, time::now())
        .await
        .unwrap();
    assert_eq!(
        store.availability(provider).await.unwrap(),
        Some(set.clone())
    );
    let changed = Availability {
        buffer_minutes: 0,
        ..set
    };
    store
        .set_availability(provider, &changed, time::now())
        .await
        .unwrap();
    assert_eq!(store.availability(provider).await.unwrap(), Some(changed));

    let post = service(&store, provider).await;
    let read = store.service(post).await.unwrap().unwrap();
    assert_eq!(read.provider_id, provider);
    assert_eq!(read.duration_minutes, 60);
    assert_eq!(read.price.amount, 0);
    assert!(!read.auto_confirm);
    assert_eq!(read.policy.window_hours, 24);
    assert_eq!(read.policy.late_refund, LateRefund::Half);
    assert_eq!(store.service(PostId::new()).await.unwrap(), None);
}
