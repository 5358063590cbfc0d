//! Availability and slots (pure), and the booking service's rules over the in-memory fakes.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use vendrome_core::access::Caller;
use vendrome_core::bookings::{
    Availability, AvailabilityException, BookableService, BookingAction, BookingRepo as _,
    BookingService, BusyTime, CancellationPolicy, NoBusyTime, RequestBooking, Slot, Taken,
    WeeklyWindow,
};
use vendrome_core::enums::{BookingStatus, UserRole};
use vendrome_core::ids::{BookingId, PostId, UserId};
use vendrome_core::money::{Currency, Money};
use vendrome_core::testing::InMemoryBookings;
use vendrome_core::Error;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn every_day(start: &str, end: &str) -> Vec<WeeklyWindow> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|day| WeeklyWindow {
            day: (*day).into(),
            start: start.into(),
            end: end.into(),
        })
        .collect()
}

fn availability(zone: &str, weekly: Vec<WeeklyWindow>) -> Availability {
    Availability {
        timezone: zone.into(),
        weekly,
        exceptions: Vec::new(),
        buffer_minutes: 0,
        min_notice_minutes: 0,
        max_days_ahead: 730,
    }
}

fn starts(slots: &[Slot]) -> Vec<DateTime<Utc>> {
    slots.iter().map(|s| s.starts_at).collect()
}

const HOUR: i64 = 60;
/// Long before every date below, so notice and horizon do not interfere.
fn long_ago() -> DateTime<Utc> {
    at(2027, 1, 1, 0, 0)
}

#[test]
fn london_windows_keep_their_wall_clock_across_both_transitions() {
    let rules = availability("Europe/London", every_day("09:00", "12:00"))
        .rules()
        .unwrap();
    let hour = Duration::minutes(HOUR);
    // Spring: Saturday 27 March 2027 is GMT, Sunday 28 March is BST.
    let spring = rules.slots(
        hour,
        at(2027, 3, 27, 0, 0),
        at(2027, 3, 29, 0, 0),
        long_ago(),
        &[],
    );
    assert_eq!(
        starts(&spring),
        vec![
            at(2027, 3, 27, 9, 0),
            at(2027, 3, 27, 10, 0),
            at(2027, 3, 27, 11, 0),
            at(2027, 3, 28, 8, 0),
            at(2027, 3, 28, 9, 0),
            at(2027, 3, 28, 10, 0),
        ]
    );
    // Autumn: Saturday 30 October is BST, Monday 1 November GMT.
    let autumn = rules.slots(
        hour,
        at(2027, 10, 30, 0, 0),
        at(2027, 11, 2, 0, 0),
        long_ago(),
        &[],
    );
    assert_eq!(autumn.len(), 9);
    assert_eq!(autumn[0].starts_at, at(2027, 10, 30, 8, 0));
    assert_eq!(autumn[8].starts_at, at(2027, 11, 1, 11, 0));
}

#[test]
fn a_window_the_clocks_change_in_covers_its_real_time() {
    let mut a = availability("Europe/London", Vec::new());
    a.exceptions = vec![
        AvailabilityException {
            date: NaiveDate::from_ymd_opt(2027, 3, 28).unwrap(),
            closed: false,
            start: Some("00:00".into()),
            end: Some("04:00".into()),
        },
        AvailabilityException {
            date: NaiveDate::from_ymd_opt(2027, 10, 31).unwrap(),
            closed: false,
            start: Some("00:00".into()),
            end: Some("04:00".into()),
        },
    ];
    let rules = a.rules().unwrap();
    let hour = Duration::minutes(HOUR);
    // 00:00 GMT to 04:00 BST is three hours: local 00:00, 02:00 and 03:00.
    let spring = rules.slots(
        hour,
        at(2027, 3, 27, 0, 0),
        at(2027, 3, 29, 0, 0),
        long_ago(),
        &[],
    );
    assert_eq!(
        starts(&spring),
        vec![
            at(2027, 3, 28, 0, 0),
            at(2027, 3, 28, 1, 0),
            at(2027, 3, 28, 2, 0)
        ]
    );
    // 00:00 BST to 04:00 GMT is five hours (01:00 happens twice).
    let autumn = rules.slots(
        hour,
        at(2027, 10, 30, 0, 0),
        at(2027, 11, 1, 0, 0),
        long_ago(),
        &[],
    );
    assert_eq!(
        starts(&autumn),
        vec![
            at(2027, 10, 30, 23, 0),
            at(2027, 10, 31, 0, 0),
            at(2027, 10, 31, 1, 0),
            at(2027, 10, 31, 2, 0),
            at(2027, 10, 31, 3, 0),
        ]
    );
}

#[test]
fn johannesburg_has_no_transitions() {
    let rules = availability("Africa/Johannesburg", every_day("09:00", "12:00"))
        .rules()
        .unwrap();
    let hour = Duration::minutes(HOUR);
    for (from, to) in [
        (at(2027, 3, 28, 0, 0), at(2027, 3, 29, 0, 0)),
        (at(2027, 10, 31, 0, 0), at(2027, 11, 1, 0, 0)),
    ] {
        let slots = rules.slots(hour, from, to, long_ago(), &[]);
        let day = from.date_naive();
        let expected: Vec<_> = [7, 8, 9]
            .iter()
            .map(|h| Utc.from_utc_datetime(&day.and_hms_opt(*h, 0, 0).unwrap()))
            .collect();
        assert_eq!(starts(&slots), expected);
    }
}

#[test]
fn bookings_buffers_notice_horizon_and_closed_dates_remove_slots() {
    let mut a = availability("UTC", every_day("08:00", "13:00"));
    a.buffer_minutes = 15;
    a.min_notice_minutes = 60;
    a.max_days_ahead = 2;
    a.exceptions = vec![AvailabilityException {
        date: NaiveDate::from_ymd_opt(2027, 5, 4).unwrap(),
        closed: true,
        start: None,
        end: None,
    }];
    let rules = a.rules().unwrap();
    let hour = Duration::minutes(HOUR);
    // A booking 10:00–11:00 that keeps its 15-minute buffer.
    let taken = [Taken {
        start: at(2027, 5, 3, 10, 0),
        until: at(2027, 5, 3, 11, 15),
    }];
    let now = at(2027, 5, 3, 7, 30);
    let slots = rules.slots(
        hour,
        at(2027, 5, 3, 0, 0),
        at(2027, 5, 7, 0, 0),
        now,
        &taken,
    );
    // 08:00 is inside the hour of notice; 09:00 would run into the booking with its own
    // buffer; 10:00 is the booking; 11:00 is inside its buffer. 4 May is closed; every slot of
    // 5 May is past the two days ahead of 07:30 on 3 May.
    assert_eq!(starts(&slots), vec![at(2027, 5, 3, 12, 0)]);
}

#[test]
fn malformed_availability_names_each_field() {
    let mut a = availability("Mars/Olympus", every_day("09:00", "08:00"));
    a.weekly[0].day = "someday".into();
    a.buffer_minutes = -1;
    a.exceptions = vec![
        AvailabilityException {
            date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            closed: true,
            start: None,
            end: None,
        },
        AvailabilityException {
            date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            closed: true,
            start: None,
            end: None,
        },
    ];
    let errors = a.rules().unwrap_err();
    let fields: Vec<&str> = errors.fields().keys().map(String::as_str).collect();
    for field in [
        "timezone",
        "weekly.0.day",
        "weekly.1",
        "buffer_minutes",
        "exceptions.1.date",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
}

struct World {
    service: BookingService,
    fakes: InMemoryBookings,
    post: PostId,
    provider: Caller,
}

fn member() -> Caller {
    Caller {
        user_id: UserId::new(),
        role: UserRole::Member,
    }
}

async fn world(auto_confirm: bool) -> World {
    let fakes = InMemoryBookings::default();
    let provider = member();
    let post = PostId::new();
    fakes.add_service(BookableService {
        post_id: post,
        provider_id: provider.user_id,
        title: "Tax advice".into(),
        duration_minutes: 60,
        price: Money::zero(Currency::parse("ZAR").unwrap()),
        auto_confirm,
        policy: CancellationPolicy::default(),
    });
    let service = BookingService::new(
        Arc::new(fakes.clone()),
        Arc::new(fakes.clone()),
        Arc::new(NoBusyTime),
    );
    service
        .set_availability(
            &provider,
            availability("Africa/Johannesburg", every_day("09:00", "12:00")),
            long_ago(),
        )
        .await
        .unwrap();
    World {
        service,
        fakes,
        post,
        provider,
    }
}

fn request(starts_at: DateTime<Utc>, key: &str) -> RequestBooking {
    RequestBooking {
        starts_at,
        timezone: "Europe/London".into(),
        note: None,
        idempotency_key: key.into(),
    }
}

#[tokio::test]
async fn a_slot_is_booked_once_and_only_as_offered() {
    let w = world(false).await;
    let (alice, bob) = (member(), member());
    let now = at(2027, 5, 1, 0, 0);
    let slot = at(2027, 5, 3, 7, 0); // 09:00 in Johannesburg.
    let booked = w
        .service
        .book(&alice, w.post, request(slot, "k1"), now)
        .await
        .unwrap();
    assert_eq!(booked.status, BookingStatus::Requested);
    assert_eq!(booked.ends_at, slot + Duration::hours(1));
    // The same key answers the same booking.
    let again = w
        .service
        .book(&alice, w.post, request(slot, "k1"), now)
        .await
        .unwrap();
    assert_eq!(again.id, booked.id);
    // Taken, not on the grid, outside the window, the provider's own: refused.
    for (who, start) in [
        (&bob, slot),
        (&bob, slot + Duration::minutes(30)),
        (&bob, at(2027, 5, 3, 12, 0)),
    ] {
        let refused = w.service.book(who, w.post, request(start, "k2"), now).await;
        assert!(
            matches!(
                refused,
                Err(Error::Conflict {
                    code: "slot_unavailable",
                    ..
                })
            ),
            "{start}: {refused:?}"
        );
    }
    let own = w
        .service
        .book(
            &w.provider,
            w.post,
            request(at(2027, 5, 3, 8, 0), "k3"),
            now,
        )
        .await;
    assert!(matches!(
        own,
        Err(Error::Unprocessable {
            code: "own_listing",
            ..
        })
    ));
    let slots = w
        .service
        .slots(w.post, at(2027, 5, 3, 0, 0), at(2027, 5, 4, 0, 0), now)
        .await
        .unwrap();
    assert_eq!(
        starts(&slots),
        vec![at(2027, 5, 3, 8, 0), at(2027, 5, 3, 9, 0)]
    );
    // Declined, the time is free again.
    w.service
        .act(&w.provider, booked.id, BookingAction::Decline, None, now)
        .await
        .unwrap();
    w.service
        .book(&bob, w.post, request(slot, "k4"), now)
        .await
        .unwrap();
    assert_eq!(
        w.fakes.events(),
        ["booking.requested", "booking.declined", "booking.requested"]
    );
}

#[tokio::test]
async fn completion_waits_for_the_end_and_strangers_see_nothing() {
    let w = world(true).await;
    let client = member();
    let now = at(2027, 5, 1, 0, 0);
    let slot = at(2027, 5, 3, 7, 0);
    let booked = w
        .service
        .book(&client, w.post, request(slot, "k"), now)
        .await
        .unwrap();
    assert_eq!(booked.status, BookingStatus::Confirmed);
    let early = w
        .service
        .act(&w.provider, booked.id, BookingAction::Complete, None, now)
        .await;
    assert!(matches!(
        early,
        Err(Error::Conflict {
            code: "booking_not_ended",
            ..
        })
    ));
    let by_client = w
        .service
        .act(
            &client,
            booked.id,
            BookingAction::Complete,
            None,
            slot + Duration::hours(2),
        )
        .await;
    assert!(matches!(
        by_client,
        Err(Error::Forbidden {
            code: "not_booking_party_action",
            ..
        })
    ));
    let done = w
        .service
        .act(
            &w.provider,
            booked.id,
            BookingAction::Complete,
            None,
            slot + Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!(done.status, BookingStatus::Completed);
    let stranger = w.service.get(&member(), booked.id).await;
    assert!(matches!(stranger, Err(Error::NotFound { .. })));
}

/// A provider's calendar holding the events of their bookings (the time each holds, buffer
/// included), as the calendar's busy time does; `busy_except` leaves one booking's out.
struct CalendarOfBookings(InMemoryBookings);

#[async_trait::async_trait]
impl BusyTime for CalendarOfBookings {
    async fn busy(
        &self,
        provider: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> vendrome_core::Result<Vec<Taken>> {
        self.0.taken(provider, from, to).await
    }

    async fn busy_except(
        &self,
        provider: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        except: BookingId,
    ) -> vendrome_core::Result<Vec<Taken>> {
        let own = self.0.booking(except).await?.unwrap().starts_at;
        let mut taken = self.0.taken(provider, from, to).await?;
        taken.retain(|t| t.start != own);
        Ok(taken)
    }
}

#[tokio::test]
async fn a_reschedule_is_not_kept_back_by_the_booking_s_own_time() {
    let fakes = InMemoryBookings::default();
    let provider = member();
    let post = PostId::new();
    fakes.add_service(BookableService {
        post_id: post,
        provider_id: provider.user_id,
        title: "Tax advice".into(),
        duration_minutes: 60,
        price: Money::zero(Currency::parse("ZAR").unwrap()),
        auto_confirm: true,
        policy: CancellationPolicy::default(),
    });
    let service = BookingService::new(
        Arc::new(fakes.clone()),
        Arc::new(fakes.clone()),
        Arc::new(CalendarOfBookings(fakes.clone())),
    );
    let mut open = availability("Africa/Johannesburg", every_day("09:00", "13:00"));
    open.buffer_minutes = 30;
    service
        .set_availability(&provider, open, long_ago())
        .await
        .unwrap();
    let (alice, bob) = (member(), member());
    let now = at(2027, 5, 1, 0, 0);
    let nine = at(2027, 5, 3, 7, 0); // 09:00 in Johannesburg.
    let booked = service
        .book(&alice, post, request(nine, "a"), now)
        .await
        .unwrap();
    let noon = nine + Duration::hours(3);
    service
        .book(&bob, post, request(noon, "b"), now)
        .await
        .unwrap();

    // 10:00 meets the booking's own buffer and its own calendar event: neither counts.
    let ten = nine + Duration::hours(1);
    let moved = service
        .reschedule(&provider, booked.id, ten, now)
        .await
        .unwrap();
    assert_eq!(
        (moved.starts_at, moved.ends_at),
        (ten, ten + Duration::hours(1))
    );
    assert_eq!(moved.blocked_until, ten + Duration::minutes(90));
    assert_eq!(
        fakes.events().last().map(String::as_str),
        Some("booking.rescheduled")
    );
    // Another booking's time does; so does a stranger, and a booking that ended its life.
    assert!(matches!(
        service.reschedule(&alice, booked.id, noon, now).await,
        Err(Error::Conflict {
            code: "slot_unavailable",
            ..
        })
    ));
    assert!(matches!(
        service.reschedule(&member(), booked.id, nine, now).await,
        Err(Error::NotFound { .. })
    ));
    service
        .act(&alice, booked.id, BookingAction::Cancel, None, now)
        .await
        .unwrap();
    assert!(matches!(
        service.reschedule(&alice, booked.id, nine, now).await,
        Err(Error::Conflict {
            code: "invalid_booking_transition",
            ..
        })
    ));
}
