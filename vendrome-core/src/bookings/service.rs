//! [`BookingService`]: availability, slots, booking a slot and moving bookings through their
//! life, over [`AvailabilityRepo`], [`BookingRepo`] and [`BusyTime`].
//!
//! A booking asks for a start; it is made only when that start is one of the slots offered at
//! that moment (in a window, past the notice, within the horizon, not over a booking, its buffer
//! or busy time), and the store refuses it still when a concurrent booking took the time first.
//! Services with a price are not bookable yet: paying for a booking is not wired to the
//! payments orchestrator (`paid_booking_unavailable`).

use std::sync::Arc;

use chrono::Duration;
use chrono_tz::Tz;

use super::{
    transition, Availability, AvailabilityRepo, BookableService, Booking, BookingAction,
    BookingActor, BookingChange, BookingFilter, BookingRepo, BusyTime, CreateBookingOutcome,
    NewBooking, Rules, Slot, Taken, MAX_BLOCK_MINUTES,
};
use crate::access::Caller;
use crate::enums::{BookingStatus, UserRole};
use crate::events::{BookingChanged, DomainEvent};
use crate::ids::{BookingId, PostId};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::{Error, Result};

/// The widest window one slots request may cover.
pub const MAX_SLOT_RANGE_DAYS: i64 = 62;

/// The longest note a client may leave.
const MAX_NOTE_CHARS: usize = 2_000;

/// What a client asks for (`POST /v1/services/{post_id}/bookings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBooking {
    pub starts_at: Timestamp,
    /// The client's IANA zone.
    pub timezone: String,
    pub note: Option<String>,
    /// The request's `Idempotency-Key`: the same key finds the same booking.
    pub idempotency_key: String,
}

/// See the module docs.
pub struct BookingService {
    availability: Arc<dyn AvailabilityRepo>,
    bookings: Arc<dyn BookingRepo>,
    busy: Arc<dyn BusyTime>,
}

fn slot_unavailable() -> Error {
    Error::conflict(
        "slot_unavailable",
        "that start is not a slot the service offers now; read the slots again",
    )
}

/// The event a booking now in `status` writes.
fn event(booking: &Booking, status: BookingStatus, refund_amount: i64) -> NewEvent {
    let payload = BookingChanged {
        booking_id: booking.id,
        service_post_id: booking.service_post_id,
        client_id: booking.client_id,
        provider_id: booking.provider_id,
        status,
        starts_at: booking.starts_at,
        ends_at: booking.ends_at,
        amount: booking.amount,
        refund_amount,
        currency: booking.currency,
    };
    NewEvent::new(match status {
        BookingStatus::Requested => DomainEvent::BookingRequested(payload),
        BookingStatus::Confirmed => DomainEvent::BookingConfirmed(payload),
        BookingStatus::Declined => DomainEvent::BookingDeclined(payload),
        BookingStatus::Cancelled => DomainEvent::BookingCancelled(payload),
        BookingStatus::Completed => DomainEvent::BookingCompleted(payload),
        BookingStatus::NoShow => DomainEvent::BookingNoShow(payload),
    })
}

impl BookingService {
    pub fn new(
        availability: Arc<dyn AvailabilityRepo>,
        bookings: Arc<dyn BookingRepo>,
        busy: Arc<dyn BusyTime>,
    ) -> Self {
        Self {
            availability,
            bookings,
            busy,
        }
    }

    /// The caller's availability; `None` until they set one.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn availability(&self, caller: &Caller) -> Result<Option<Availability>> {
        self.availability.availability(caller.user_id).await
    }

    /// Replaces the caller's availability; answers it as stored.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming each field that breaks a rule.
    pub async fn set_availability(
        &self,
        caller: &Caller,
        availability: Availability,
        now: Timestamp,
    ) -> Result<Availability> {
        availability.rules()?;
        self.availability
            .set_availability(caller.user_id, &availability, now)
            .await?;
        Ok(availability)
    }

    /// The slots of the service that start in `[from, to)` at `now`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `service` when the post is not a live service; [`Error::Invalid`]
    /// when `to` is not after `from` or the range is wider than [`MAX_SLOT_RANGE_DAYS`].
    pub async fn slots(
        &self,
        post: PostId,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<Slot>> {
        if to <= from || to - from > Duration::days(MAX_SLOT_RANGE_DAYS) {
            return Err(ValidationErrors::single(
                "to",
                "out_of_range",
                format!("after `from`, at most {MAX_SLOT_RANGE_DAYS} days later"),
            )
            .into());
        }
        let service = self.service(post).await?;
        let Some(rules) = self.rules_of(&service).await? else {
            return Ok(Vec::new());
        };
        self.compute(&service, &rules, from, to, now).await
    }

    /// Books the slot starting at `input.starts_at` for the caller, or finds the booking made
    /// with the same key. It is `confirmed` at once when the service auto-confirms, `requested`
    /// otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `service`; [`Error::Invalid`] for an unknown zone or a note too long;
    /// [`Error::Unprocessable`] `own_listing` or `paid_booking_unavailable`;
    /// [`Error::Conflict`] `slot_unavailable` when the start is not offered or was just taken.
    pub async fn book(
        &self,
        caller: &Caller,
        post: PostId,
        input: RequestBooking,
        now: Timestamp,
    ) -> Result<Booking> {
        let mut errors = ValidationErrors::new();
        if input.timezone.parse::<Tz>().is_err() {
            errors.add("timezone", "invalid", "is not an IANA time zone name");
        }
        if input
            .note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
        {
            errors.add(
                "note",
                "too_long",
                format!("at most {MAX_NOTE_CHARS} characters"),
            );
        }
        errors.into_result()?;
        let service = self.service(post).await?;
        // A retry finds its booking even though its slot is no longer offered (it holds it).
        if let Some(existing) = self
            .bookings
            .booking_by_key(caller.user_id, &input.idempotency_key)
            .await?
        {
            return Ok(existing);
        }
        if service.provider_id == caller.user_id {
            return Err(Error::unprocessable(
                "own_listing",
                "a member cannot book their own service",
            ));
        }
        if service.price.amount > 0 {
            return Err(Error::unprocessable(
                "paid_booking_unavailable",
                "services with a price cannot be booked yet; only free services can",
            ));
        }
        let rules = self
            .rules_of(&service)
            .await?
            .ok_or_else(slot_unavailable)?;
        let start = input.starts_at;
        let offered = self
            .compute(&service, &rules, start, start + Duration::seconds(1), now)
            .await?;
        let Some(slot) = offered.into_iter().find(|s| s.starts_at == start) else {
            return Err(slot_unavailable());
        };
        let status = if service.auto_confirm {
            BookingStatus::Confirmed
        } else {
            BookingStatus::Requested
        };
        let booking = NewBooking {
            id: BookingId::new(),
            service_post_id: service.post_id,
            client_id: caller.user_id,
            provider_id: service.provider_id,
            status,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            blocked_until: slot.ends_at + rules.buffer,
            timezone: input.timezone,
            currency: service.price.currency,
            amount: service.price.amount,
            platform_fee_amount: 0,
            idempotency_key: input.idempotency_key,
            note: input.note,
            created_at: now,
        };
        let created = NewEvent::new(match status {
            BookingStatus::Confirmed => DomainEvent::BookingConfirmed(changed(&booking)),
            _ => DomainEvent::BookingRequested(changed(&booking)),
        });
        match self.bookings.create_booking(&booking, created).await? {
            CreateBookingOutcome::Created(b) | CreateBookingOutcome::Existing(b) => Ok(b),
            CreateBookingOutcome::Taken => Err(slot_unavailable()),
        }
    }

    /// The booking, for its client, its provider or an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `booking` when there is none or the caller is none of them.
    pub async fn get(&self, caller: &Caller, id: BookingId) -> Result<Booking> {
        let booking = self.load(id).await?;
        actor(caller, &booking)?;
        Ok(booking)
    }

    /// The caller's bookings by `filter`, by start.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: BookingFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Booking>> {
        let (items, next_cursor) = self
            .bookings
            .bookings_of(caller.user_id, filter, after, limit)
            .await?;
        Ok(Page { items, next_cursor })
    }

    /// Makes `action` on the booking as the caller's part in it. Completion and no-show wait
    /// for the end time; a cancellation records what the service's policy refunds.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `booking` for a caller who is not a party or an admin;
    /// [`Error::Forbidden`] `not_booking_party_action` and [`Error::Conflict`]
    /// `invalid_booking_transition` from [`transition`] (also when another change came first);
    /// [`Error::Conflict`] `booking_not_ended` for completion or no-show before the end.
    pub async fn act(
        &self,
        caller: &Caller,
        id: BookingId,
        action: BookingAction,
        reason: Option<String>,
        now: Timestamp,
    ) -> Result<Booking> {
        let booking = self.load(id).await?;
        let who = actor(caller, &booking)?;
        let to = transition(booking.status, action, who)?;
        if matches!(action, BookingAction::Complete | BookingAction::NoShow)
            && now < booking.ends_at
        {
            return Err(Error::conflict(
                "booking_not_ended",
                "a booking is completed or marked no-show after its end time",
            ));
        }
        let refund_amount = if to == BookingStatus::Cancelled {
            let service = self.bookings.service(booking.service_post_id).await?;
            let policy = service.map(|s| s.policy).unwrap_or_default();
            policy.refund(booking.amount, who, booking.starts_at, now)
        } else {
            0
        };
        let change = BookingChange {
            booking_id: id,
            from: booking.status,
            to,
            at: now,
            refund_amount,
            cancel_reason: reason.filter(|_| to == BookingStatus::Cancelled),
        };
        self.bookings
            .change_status(&change, event(&booking, to, refund_amount))
            .await?
            .ok_or_else(|| {
                Error::conflict(
                    "invalid_booking_transition",
                    "the booking changed meanwhile; read it again",
                )
            })
    }

    async fn service(&self, post: PostId) -> Result<BookableService> {
        self.bookings
            .service(post)
            .await?
            .ok_or(Error::not_found("service"))
    }

    /// The provider's rules; `None` when they never set availability (nothing is offered).
    async fn rules_of(&self, service: &BookableService) -> Result<Option<Rules>> {
        let Some(availability) = self.availability.availability(service.provider_id).await? else {
            return Ok(None);
        };
        availability.rules().map(Some).map_err(Error::from)
    }

    async fn compute(
        &self,
        service: &BookableService,
        rules: &Rules,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<Slot>> {
        let duration = Duration::minutes(i64::from(service.duration_minutes));
        if duration + rules.buffer > Duration::minutes(MAX_BLOCK_MINUTES) {
            return Ok(Vec::new());
        }
        // What may meet a slot starting in [from, to): anything holding time from a block's
        // width before `from` to a block's width after `to`.
        let reach = Duration::minutes(MAX_BLOCK_MINUTES);
        let (lo, hi) = (from - reach, to + reach);
        let mut taken: Vec<Taken> = self.bookings.taken(service.provider_id, lo, hi).await?;
        taken.extend(self.busy.busy(service.provider_id, lo, hi).await?);
        Ok(rules.slots(duration, from, to, now, &taken))
    }

    async fn load(&self, id: BookingId) -> Result<Booking> {
        self.bookings
            .booking(id)
            .await?
            .ok_or(Error::not_found("booking"))
    }
}

fn changed(b: &NewBooking) -> BookingChanged {
    BookingChanged {
        booking_id: b.id,
        service_post_id: b.service_post_id,
        client_id: b.client_id,
        provider_id: b.provider_id,
        status: b.status,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        amount: b.amount,
        refund_amount: 0,
        currency: b.currency,
    }
}

/// The caller's part in the booking; not found for anyone else.
fn actor(caller: &Caller, booking: &Booking) -> Result<BookingActor> {
    if caller.user_id == booking.client_id {
        Ok(BookingActor::Client)
    } else if caller.user_id == booking.provider_id {
        Ok(BookingActor::Provider)
    } else if caller.role == UserRole::Admin {
        Ok(BookingActor::Admin)
    } else {
        Err(Error::not_found("booking"))
    }
}
