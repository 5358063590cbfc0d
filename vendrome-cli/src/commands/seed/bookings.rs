//! `fixtures/bookings.json`: providers' availability, and bookings of `social.json`'s services
//! in every status a booking can reach, taken there through the same services as the API: the
//! booking service, and the payments orchestrator with the sandbox provider (its signed webhook
//! handled by the same pipeline as a provider's), so every paid booking is posted to the ledger,
//! and every refund reversed, as real use would, and `vendrome ledger check` stays clean.
//!
//! A booking is made as of a moment before its start (`days_from_now` days from now, minus a
//! day), so the bookings that must have ended (completed, no-show) are made in the past, for a
//! slot that was offered then. Idempotent: the fixture key is the client's idempotency key, so
//! a second run finds the same booking; only the moves still missing are made.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use vendrome_core::access::Caller;
use vendrome_core::bookings::{
    Availability, AvailabilityException, Booking, BookingAction, BookingService, NoBusyTime,
    RequestBooking, WeeklyWindow,
};
use vendrome_core::enums::BookingStatus;
use vendrome_core::ids::PostId;
use vendrome_core::time::{self, Timestamp};
use vendrome_core::users::{Email, UserRepo as _};
use vendrome_server::commerce::{Commerce, CommerceOptions};
use vendrome_store::Store;

use super::orders::{press_pay, sandbox_checkout};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bookings {
    #[serde(default)]
    availability: Vec<AvailabilityFixture>,
    #[serde(default)]
    bookings: Vec<BookingFixture>,
}

impl Bookings {
    /// How many items the progress bar counts.
    pub fn items(&self) -> usize {
        self.availability.len() + self.bookings.len()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityFixture {
    member: String,
    timezone: String,
    weekly: Vec<WeeklyWindow>,
    #[serde(default)]
    exceptions: Vec<AvailabilityException>,
    #[serde(default)]
    buffer_minutes: i32,
    #[serde(default)]
    min_notice_minutes: i32,
    max_days_ahead: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookingFixture {
    key: String,
    client: String,
    /// A service post's key in `social.json`.
    service: String,
    /// The booking is of the first slot offered from this many days from now (negative: in
    /// the past).
    days_from_now: i64,
    note: Option<String>,
    outcome: Outcome,
}

/// Where a fixture booking's life stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// Booked, not paid (it expires 30 minutes after seeding, once `serve` runs).
    AwaitingPayment,
    /// Paid through the sandbox; the provider has not answered.
    Requested,
    /// Paid and confirmed by the provider.
    Confirmed,
    /// Paid, then declined by the provider: refunded in full.
    Declined,
    /// Paid, then cancelled by the client: refunded per the service's policy.
    Cancelled,
    /// Booked two hours before seeding and never paid: cancelled by the expiry pass `serve`
    /// runs every 30 seconds, run here once.
    Expired,
    /// Paid, confirmed, held, and marked completed by the provider.
    Completed,
    /// Paid and confirmed; the client did not come.
    NoShow,
}

/// What a run did.
#[derive(Default, Serialize)]
pub struct BookingsSummary {
    /// Bookings made by this run (the others were found by their key).
    pub bookings_made: usize,
    /// Moves made (payments, confirmations, declines, cancels, completions, expiries).
    pub bookings_moved: usize,
}

async fn caller(store: &Store, email: &str) -> anyhow::Result<Caller> {
    let parsed = Email::parse(email).map_err(|e| anyhow!("{email}: {e}"))?;
    let user = store
        .user_by_email(&parsed)
        .await?
        .with_context(|| format!("{email} is not in users.json"))?;
    Ok(Caller {
        user_id: user.id,
        role: user.role,
    })
}

/// Sets the availability and makes and moves the fixture bookings; `posts` are
/// `social.json`'s posts by key.
pub async fn load(
    store: &Store,
    fixtures: Bookings,
    posts: &HashMap<String, PostId>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<BookingsSummary> {
    let shared = Arc::new(store.clone());
    let commerce = Commerce::new(&shared, CommerceOptions::default());
    let sandbox = commerce
        .sandbox
        .clone()
        .context("the default commerce options have the sandbox on")?;
    let service = BookingService::new(shared.clone(), shared, Arc::new(NoBusyTime))
        .with_config(commerce.bookings);
    let mut summary = BookingsSummary::default();
    for (i, fixture) in fixtures.availability.into_iter().enumerate() {
        let what = format!("bookings.json availability {i} ({})", fixture.member);
        let member = caller(store, &fixture.member)
            .await
            .with_context(|| what.clone())?;
        let availability = Availability {
            timezone: fixture.timezone,
            weekly: fixture.weekly,
            exceptions: fixture.exceptions,
            buffer_minutes: fixture.buffer_minutes,
            min_notice_minutes: fixture.min_notice_minutes,
            max_days_ahead: fixture.max_days_ahead,
        };
        // Set only when it differs, so a rerun writes nothing.
        if service.availability(&member).await?.as_ref() != Some(&availability) {
            service
                .set_availability(&member, availability, time::now())
                .await
                .with_context(|| what.clone())?;
        }
        bar.inc(1);
    }
    for (i, fixture) in fixtures.bookings.into_iter().enumerate() {
        let what = format!("bookings.json booking {i} ({})", fixture.key);
        let client = caller(store, &fixture.client)
            .await
            .with_context(|| what.clone())?;
        let post = *posts
            .get(&fixture.service)
            .with_context(|| format!("{what}: social.json has no post `{}`", fixture.service))?;
        let now = time::now();
        let from = now + Duration::days(fixture.days_from_now);
        let as_of = if fixture.outcome == Outcome::Expired {
            now - Duration::hours(2)
        } else {
            (from - Duration::days(1)).min(now)
        };
        let key = format!("fixture:{}", fixture.key);
        let booking = book(&service, &client, post, from, as_of, &key, &fixture)
            .await
            .with_context(|| what.clone())?;
        if booking.created_at == as_of {
            summary.bookings_made += 1;
        }
        let provider = Caller {
            user_id: booking.provider_id,
            role: store
                .user_by_id(booking.provider_id)
                .await?
                .ok_or_else(|| anyhow!("{what}: the provider is gone"))?
                .role,
        };
        let mover = Mover {
            commerce: &commerce,
            sandbox: &sandbox,
            service: &service,
            client,
            provider,
            key: &fixture.key,
        };
        summary.bookings_moved += mover
            .advance(booking, fixture.outcome)
            .await
            .with_context(|| what.clone())?;
        bar.inc(1);
    }
    Ok(summary)
}

/// Books the first slot offered from `from` as of `as_of`, or finds the booking of `key`.
async fn book(
    service: &BookingService,
    client: &Caller,
    post: PostId,
    from: Timestamp,
    as_of: Timestamp,
    key: &str,
    fixture: &BookingFixture,
) -> anyhow::Result<Booking> {
    let request = |starts_at| RequestBooking {
        starts_at,
        timezone: "Africa/Johannesburg".into(),
        note: fixture.note.clone(),
        idempotency_key: key.to_owned(),
    };
    let slots = service
        .slots(post, from, from + Duration::days(14), as_of)
        .await?;
    // A rerun finds its booking by key whatever the slots are now.
    let starts_at = slots.first().map_or(from, |s| s.starts_at);
    service
        .book(client, post, request(starts_at), as_of)
        .await
        .map_err(|e| anyhow!("no slot to book from {from}: {e}"))
}

/// Moves one fixture booking towards its outcome.
struct Mover<'a> {
    commerce: &'a Commerce,
    sandbox: &'a vendrome_payments::Sandbox,
    service: &'a BookingService,
    client: Caller,
    provider: Caller,
    key: &'a str,
}

impl Mover<'_> {
    /// Makes the moves still missing; how many it made.
    async fn advance(&self, mut booking: Booking, target: Outcome) -> anyhow::Result<usize> {
        let payments = &self.commerce.payments;
        let mut moves = 0;
        if booking.status == BookingStatus::AwaitingPayment {
            match target {
                Outcome::AwaitingPayment => return Ok(0),
                Outcome::Expired => {
                    // The expiry pass `serve` runs: it takes every unpaid booking past its window.
                    self.service.expire_due(time::now(), 100).await?;
                    return Ok(1);
                }
                _ => {
                    booking = self.pay(&booking).await?;
                    moves += 1;
                }
            }
        }
        if booking.status == BookingStatus::Requested {
            match target {
                Outcome::Confirmed | Outcome::Completed | Outcome::NoShow => {
                    booking = self
                        .service
                        .act(
                            &self.provider,
                            booking.id,
                            BookingAction::Confirm,
                            None,
                            time::now(),
                        )
                        .await?;
                    moves += 1;
                }
                Outcome::Declined => {
                    payments.decline_booking(&self.provider, booking.id).await?;
                    return Ok(moves + 1);
                }
                Outcome::Cancelled => {
                    let reason = Some("plans changed".to_owned());
                    payments
                        .cancel_booking(&self.client, booking.id, reason)
                        .await?;
                    return Ok(moves + 1);
                }
                _ => {}
            }
        }
        if booking.status == BookingStatus::Confirmed {
            let action = match target {
                Outcome::Completed => Some(BookingAction::Complete),
                Outcome::NoShow => Some(BookingAction::NoShow),
                _ => None,
            };
            if let Some(action) = action {
                self.service
                    .act(&self.provider, booking.id, action, None, time::now())
                    .await?;
                moves += 1;
            }
        }
        Ok(moves)
    }

    /// Checks out with the sandbox and presses Pay: the sandbox's signed webhook is handled as
    /// the server handles it. The booking, paid.
    async fn pay(&self, booking: &Booking) -> anyhow::Result<Booking> {
        let key = format!("fixture:{}:checkout", self.key);
        let payment = self
            .commerce
            .payments
            .checkout_booking(booking.id, &self.client, sandbox_checkout(), &key)
            .await?;
        press_pay(self.commerce, self.sandbox, &payment).await?;
        self.service
            .get(&self.client, booking.id)
            .await
            .map_err(Into::into)
    }
}
