//! Bookings benchmark: slot computation for a provider with a year of bookings, and booking
//! creation by concurrent clients on distinct slots, through `BookingService` over the real
//! store (no HTTP in between: what is measured is the domain and the database).
//!
//! Run it through `scripts/bench/bookings.sh` (release build, PostgreSQL from
//! `VENDROME_TEST_DATABASE_URL`; `--store sqlite` for a SQLite file):
//!
//! ```sh
//! scripts/bench/bookings.sh
//! scripts/bench/bookings.sh --months 12 --reads 2000 --clients 16 --bookings 1600
//! ```
//!
//! On a fresh database, one provider opens 08:00–18:00 every day in Europe/London with a
//! 15-minute buffer and gets `--months` months of hour-long bookings behind and ahead of now
//! (08:00, 12:00 and 16:00 UTC every day, written through the store's port). Then:
//!
//! 1. slots: `--reads` times the slots of one week (a random week within the next two months),
//!    each a range read of the provider's bookings plus the pure computation: p50, p99, max;
//! 2. booking: `--bookings` bookings of distinct free slots of a second provider (open around
//!    the clock), by `--clients` concurrent clients: bookings/s, p50, p99, refusals (any is a
//!    bug: the slots are distinct).

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context as _;
use chrono::{Duration, DurationRound as _, Utc};
use serde_json::json;
use vendrome_core::access::Caller;
use vendrome_core::bookings::{
    Availability, AvailabilityRepo as _, BookingRepo as _, BookingService, NewBooking, NoBusyTime,
    RequestBooking, WeeklyWindow,
};
use vendrome_core::enums::{BookingStatus, PostType, PostVisibility, UserRole};
use vendrome_core::events::{BookingChanged, DomainEvent};
use vendrome_core::ids::{BookingId, PostId, UserId};
use vendrome_core::money::Currency;
use vendrome_core::outbox::NewEvent;
use vendrome_core::posts::{Media, NewPost, PostBody, PostPayload, PostRepo as _};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_store::Store;

struct Options {
    store: String,
    months: i64,
    reads: usize,
    clients: usize,
    bookings: usize,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Options {
            store: "postgres".into(),
            months: 12,
            reads: 2_000,
            clients: 16,
            bookings: 1_600,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--store" => o.store = value,
                "--months" => o.months = value.parse()?,
                "--reads" => o.reads = value.parse()?,
                "--clients" => o.clients = value.parse()?,
                "--bookings" => o.bookings = value.parse()?,
                other => anyhow::bail!("unknown option {other}"),
            }
        }
        Ok(o)
    }
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    ms(sorted[i])
}

async fn member(store: &Store, name: &str) -> anyhow::Result<UserId> {
    let id = uuid::Uuid::now_v7().simple();
    let user = store
        .create_user(NewUser {
            email: Email::parse(&format!("{name}-{id}@example.com"))?,
            display_name: DisplayName::parse(name)?,
            handle: None,
            password_hash: None,
            role: UserRole::Member,
        })
        .await?;
    Ok(user.id)
}

async fn service(store: &Store, provider: UserId) -> anyhow::Result<PostId> {
    let fields = json!({"title": "Advice", "rate_minor": 0, "currency": "ZAR",
        "rate_unit": "fixed", "duration_minutes": 60});
    let payload = PostPayload::parse(PostType::Service, Some(&fields))?;
    Ok(store
        .create_post(NewPost {
            author_id: provider,
            body: PostBody::parse("Advice by the hour")?,
            visibility: PostVisibility::Public,
            topics: Vec::new(),
            payload,
            media: Media::default(),
        })
        .await?)
}

fn open(zone: &str, start: &str, end: &str) -> Availability {
    Availability {
        timezone: zone.into(),
        weekly: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| WeeklyWindow {
                day: (*d).into(),
                start: start.into(),
                end: end.into(),
            })
            .collect(),
        exceptions: Vec::new(),
        buffer_minutes: 15,
        min_notice_minutes: 0,
        max_days_ahead: 400,
    }
}

/// `--months` of hour-long bookings, every other hour from 08:00 to 18:00 UTC, half behind now
/// and half ahead; how many were written.
async fn year_of_bookings(
    store: &Store,
    post: PostId,
    provider: UserId,
    client: UserId,
    months: i64,
) -> anyhow::Result<usize> {
    let today = Utc::now().duration_trunc(Duration::days(1))?;
    let days = months * 30;
    let mut written = 0;
    for day in -days / 2..days / 2 {
        for hour in [8, 12, 16] {
            let starts_at = today + Duration::days(day) + Duration::hours(hour);
            let id = BookingId::new();
            let booking = NewBooking {
                id,
                service_post_id: post,
                client_id: client,
                provider_id: provider,
                status: BookingStatus::Confirmed,
                starts_at,
                ends_at: starts_at + Duration::hours(1),
                blocked_until: starts_at + Duration::minutes(75),
                timezone: "Europe/London".into(),
                currency: Currency::parse("ZAR")?,
                amount: 0,
                platform_fee_amount: 0,
                idempotency_key: id.to_string(),
                note: None,
                created_at: Utc::now(),
            };
            let event = NewEvent::new(DomainEvent::BookingConfirmed(BookingChanged {
                booking_id: id,
                service_post_id: post,
                client_id: client,
                provider_id: provider,
                status: BookingStatus::Confirmed,
                starts_at,
                ends_at: booking.ends_at,
                amount: 0,
                refund_amount: 0,
                currency: booking.currency,
            }));
            store.create_booking(&booking, event).await?;
            written += 1;
        }
    }
    Ok(written)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Options::parse()?;
    let db = match o.store.as_str() {
        "sqlite" => vendrome_store::testing::sqlite().await,
        _ => vendrome_store::testing::postgres()
            .await
            .context("PostgreSQL is not reachable (VENDROME_TEST_DATABASE_URL)")?,
    };
    let store = db.store.clone();
    let shared = Arc::new(store.clone());
    let bookings = Arc::new(BookingService::new(
        shared.clone(),
        shared.clone(),
        Arc::new(NoBusyTime),
    ));

    // A busy provider with a year of bookings.
    let busy = member(&store, "Busy").await?;
    let client = member(&store, "Client").await?;
    let busy_post = service(&store, busy).await?;
    store
        .set_availability(busy, &open("Europe/London", "08:00", "18:00"), Utc::now())
        .await?;
    let seeding = Instant::now();
    let written = year_of_bookings(&store, busy_post, busy, client, o.months).await?;
    eprintln!(
        "seeded {written} bookings in {:.1}s",
        seeding.elapsed().as_secs_f64()
    );

    // 1. Slots of one week, at random weeks of the next two months.
    let now = vendrome_core::time::now();
    let mut latencies = Vec::with_capacity(o.reads);
    let mut offered = 0;
    for i in 0..o.reads {
        let from = now + Duration::hours((i as i64 * 7919) % (60 * 24));
        let started = Instant::now();
        let slots = bookings
            .slots(busy_post, from, from + Duration::days(7), now)
            .await?;
        latencies.push(started.elapsed());
        offered += slots.len();
    }
    latencies.sort();
    println!(
        "\n| slots (1 week, {} months of bookings: {written}) | reads | p50 ms | p99 ms | max ms | slots/read |",
        o.months
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.3} | {:.3} | {:.3} | {:.1} |",
        o.store,
        o.reads,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        ms(*latencies.last().unwrap_or(&StdDuration::ZERO)),
        offered as f64 / o.reads.max(1) as f64
    );

    // 2. Concurrent bookings of distinct slots of a provider open around the clock.
    let open_provider = member(&store, "Open").await?;
    let open_post = service(&store, open_provider).await?;
    store
        .set_availability(open_provider, &open("UTC", "00:00", "24:00"), Utc::now())
        .await?;
    let mut callers = Vec::with_capacity(o.clients);
    for _ in 0..o.clients {
        callers.push(Caller {
            user_id: member(&store, "Client").await?,
            role: UserRole::Member,
        });
    }
    // Distinct slots: hour-long with a 15-minute buffer, so every other hour.
    let first = (now + Duration::days(1)).duration_trunc(Duration::hours(1))?;
    let per_client = o.bookings.div_ceil(o.clients.max(1));
    let started = Instant::now();
    let tasks: Vec<_> = callers
        .into_iter()
        .enumerate()
        .map(|(c, caller)| {
            let bookings = bookings.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per_client);
                let mut refused = 0;
                for k in 0..per_client {
                    let slot = (k * o.clients + c) as i64;
                    let input = RequestBooking {
                        starts_at: first + Duration::hours(2 * slot),
                        timezone: "UTC".into(),
                        note: None,
                        idempotency_key: format!("bench-{c}-{k}"),
                    };
                    let t = Instant::now();
                    let result = bookings
                        .book(&caller, open_post, input, vendrome_core::time::now())
                        .await;
                    times.push(t.elapsed());
                    if result.is_err() {
                        refused += 1;
                    }
                }
                (times, refused)
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (t, r) = task.await?;
        times.extend(t);
        refused += r;
    }
    let elapsed = started.elapsed();
    times.sort();
    println!(
        "\n| booking creation | clients | bookings | bookings/s | p50 ms | p99 ms | refused |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
        o.store,
        o.clients,
        times.len(),
        times.len() as f64 / elapsed.as_secs_f64(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        refused
    );
    let held = store
        .taken(open_provider, first, first + Duration::days(400))
        .await?;
    println!("\nbookings held by the open provider: {}", held.len());
    Ok(())
}
