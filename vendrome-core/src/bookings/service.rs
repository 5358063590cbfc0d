//! [`BookingService`]: availability, slots, booking a slot and moving bookings through their
//! life, over [`AvailabilityRepo`], [`BookingRepo`] and [`BusyTime`].
//!
//! A booking asks for a start; it is made only when that start is one of the slots offered at
//! that moment (in a window, past the notice, within the horizon, not over a booking, its buffer
//! or busy time), and the store refuses it still when a concurrent booking took the time first.
//! A booking of a service with a price is made `awaiting_payment`, with the platform's fee, and
//! holds its slot for [`BookingConfig::payment_window`]; its charge and refunds go through the
//! payments orchestrator, which settles it ([`super::on_payment`]).

use std::sync::Arc;

use chrono::Duration;
use chrono_tz::Tz;

use super::holds_time;
use super::{
    transition, Availability, AvailabilityRepo, BookableService, Booking, BookingAction,
    BookingActor, BookingChange, BookingFilter, BookingMove, BookingRepo, BookingReschedule,
    BusyTime, CancellationPolicy, CreateBookingOutcome, NewBooking, RescheduleOutcome, Rules, Slot,
    Taken, MAX_BLOCK_MINUTES,
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

/// The settings of paid bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingConfig {
    /// The platform's fee in basis points of a paid booking's amount (`--platform-fee-bps`).
    pub fee_bps: u32,
    /// How long a booking awaits its payment before it is cancelled and its slot freed
    /// (`--order-expiry`: the same window as an order's).
    pub payment_window: std::time::Duration,
}

impl Default for BookingConfig {
    fn default() -> Self {
        Self {
            fee_bps: crate::orders::DEFAULT_PLATFORM_FEE_BPS,
            payment_window: crate::orders::DEFAULT_EXPIRY,
        }
    }
}

/// See the module docs.
pub struct BookingService {
    availability: Arc<dyn AvailabilityRepo>,
    bookings: Arc<dyn BookingRepo>,
    busy: Arc<dyn BusyTime>,
    config: BookingConfig,
}

fn slot_unavailable() -> Error {
    Error::conflict(
        "slot_unavailable",
        "that start is not a slot the service offers now; read the slots again",
    )
}

/// The event a booking now in `status` writes. A booking made `awaiting_payment` is announced as
/// `booking.requested` with that status.
pub fn changed_event(booking: &Booking, status: BookingStatus, refund_amount: i64) -> NewEvent {
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
        BookingStatus::AwaitingPayment | BookingStatus::Requested => {
            DomainEvent::BookingRequested(payload)
        }
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
            config: BookingConfig::default(),
        }
    }

    /// The same service with the settings of paid bookings `config`.
    #[must_use]
    pub fn with_config(mut self, config: BookingConfig) -> Self {
        self.config = config;
        self
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
        self.compute(&service, &rules, from, to, now, None).await
    }

    /// Books the slot starting at `input.starts_at` for the caller, or finds the booking made
    /// with the same key. A free booking is `confirmed` at once when the service auto-confirms,
    /// `requested` otherwise; a booking of a service with a price is `awaiting_payment` (its
    /// amount the service's price, with the platform's fee), holding the slot until it is paid
    /// or its payment window lapses.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `service`; [`Error::Invalid`] for an unknown zone or a note too long;
    /// [`Error::Unprocessable`] `own_listing`;
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
        let rules = self
            .rules_of(&service)
            .await?
            .ok_or_else(slot_unavailable)?;
        let start = input.starts_at;
        let offered = self
            .compute(
                &service,
                &rules,
                start,
                start + Duration::seconds(1),
                now,
                None,
            )
            .await?;
        let Some(slot) = offered.into_iter().find(|s| s.starts_at == start) else {
            return Err(slot_unavailable());
        };
        let status = if service.price.amount > 0 {
            BookingStatus::AwaitingPayment
        } else if service.auto_confirm {
            BookingStatus::Confirmed
        } else {
            BookingStatus::Requested
        };
        let fee = service
            .price
            .share_bps(self.config.fee_bps)
            .map_err(|_| anyhow::anyhow!("the platform fee of a service's price overflows"))?;
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
            platform_fee_amount: fee.amount.min(service.price.amount),
            idempotency_key: input.idempotency_key,
            note: input.note,
            created_at: now,
        };
        // `awaiting_payment` is announced as requested, with its status.
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
    /// for the end time; a cancellation or decline records what it refunds ([`planned_move`]).
    /// Paying that back is the payments orchestrator's (`Payments::cancel_booking`,
    /// `Payments::decline_booking`), which the HTTP API calls instead for those two moves.
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
        let policy = if action == BookingAction::Cancel {
            self.bookings
                .service(booking.service_post_id)
                .await?
                .map(|s| s.policy)
        } else {
            None
        };
        let planned = planned_move(&booking, action, who, policy, reason, now)?;
        self.bookings
            .change_status(&planned.change, planned.event)
            .await?
            .ok_or_else(changed_meanwhile)
    }

    /// Moves the booking to the slot starting at `starts_at`, for its client, its provider or an
    /// admin, while it holds time (awaiting payment, requested or confirmed). The new start must
    /// be a slot the service offers now, the booking's own time and its own calendar events
    /// left out; its calendar events move with it. Moving it to the start it has changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] `booking`; [`Error::Conflict`] `invalid_booking_transition` when it
    /// no longer holds time (or changed meanwhile), `slot_unavailable` when the start is not
    /// offered or was just taken.
    pub async fn reschedule(
        &self,
        caller: &Caller,
        id: BookingId,
        starts_at: Timestamp,
        now: Timestamp,
    ) -> Result<Booking> {
        let booking = self.load(id).await?;
        actor(caller, &booking)?;
        if !holds_time(booking.status) {
            return Err(Error::conflict(
                "invalid_booking_transition",
                format!("a booking that is {} cannot be rescheduled", booking.status),
            ));
        }
        if starts_at == booking.starts_at {
            return Ok(booking);
        }
        let service = self.service(booking.service_post_id).await?;
        let rules = self
            .rules_of(&service)
            .await?
            .ok_or_else(slot_unavailable)?;
        let offered = self
            .compute(
                &service,
                &rules,
                starts_at,
                starts_at + Duration::seconds(1),
                now,
                Some(&booking),
            )
            .await?;
        let Some(slot) = offered.into_iter().find(|s| s.starts_at == starts_at) else {
            return Err(slot_unavailable());
        };
        let change = BookingReschedule {
            booking_id: booking.id,
            status: booking.status,
            from_starts_at: booking.starts_at,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            blocked_until: slot.ends_at + rules.buffer,
            at: now,
        };
        let moved = Booking {
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            ..booking.clone()
        };
        let event = NewEvent::new(DomainEvent::BookingRescheduled(BookingChanged {
            booking_id: moved.id,
            service_post_id: moved.service_post_id,
            client_id: moved.client_id,
            provider_id: moved.provider_id,
            status: moved.status,
            starts_at: moved.starts_at,
            ends_at: moved.ends_at,
            amount: moved.amount,
            refund_amount: moved.refund_amount,
            currency: moved.currency,
        }));
        match self.bookings.reschedule(&change, event).await? {
            RescheduleOutcome::Moved(b) => Ok(*b),
            RescheduleOutcome::Changed => Err(changed_meanwhile()),
            RescheduleOutcome::Taken => Err(slot_unavailable()),
        }
    }

    /// Cancels up to `limit` bookings whose payment window lapsed unpaid, freeing their slots;
    /// answers how many this call cancelled (another instance, or the payment, may move some
    /// first: each move is a compare-and-set from `awaiting_payment`).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn expire_due(&self, now: Timestamp, limit: u32) -> Result<usize> {
        let window = Duration::from_std(self.config.payment_window).unwrap_or(Duration::MAX);
        let before = now
            .checked_sub_signed(window)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let due = self.bookings.awaiting_payment_before(before, limit).await?;
        let mut moved = 0;
        for id in due {
            let Some(booking) = self.bookings.booking(id).await? else {
                continue;
            };
            let reason = Some("not paid in time".to_owned());
            let Ok(planned) = planned_move(
                &booking,
                BookingAction::Cancel,
                BookingActor::System,
                None,
                reason,
                now,
            ) else {
                continue;
            };
            if self
                .bookings
                .change_status(&planned.change, planned.event)
                .await?
                .is_some()
            {
                moved += 1;
            }
        }
        Ok(moved)
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
        moving: Option<&Booking>,
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
        let busy = match moving {
            // A booking being moved leaves its own time out: bookings of one provider never
            // overlap, so the one interval it holds is its own.
            Some(b) => {
                let own = Taken {
                    start: b.starts_at,
                    until: b.blocked_until,
                };
                if let Some(i) = taken.iter().position(|t| *t == own) {
                    taken.remove(i);
                }
                self.busy
                    .busy_except(service.provider_id, lo, hi, b.id)
                    .await?
            }
            None => self.busy.busy(service.provider_id, lo, hi).await?,
        };
        taken.extend(busy);
        Ok(rules.slots(duration, from, to, now, &taken))
    }

    async fn load(&self, id: BookingId) -> Result<Booking> {
        self.bookings
            .booking(id)
            .await?
            .ok_or(Error::not_found("booking"))
    }
}

fn changed_meanwhile() -> Error {
    Error::conflict(
        "invalid_booking_transition",
        "the booking changed meanwhile; read it again",
    )
}

/// The move `action` by `who` makes of `booking` at `now`, with its event: what the status
/// machine allows ([`transition`]), completion and no-show only after the end, and what it
/// refunds: a cancellation per `policy` (the service's; the default when it is gone), a decline
/// everything. A booking still awaiting payment refunds nothing: nothing was paid.
///
/// # Errors
///
/// [`Error::Forbidden`] `not_booking_party_action` and [`Error::Conflict`]
/// `invalid_booking_transition` from [`transition`]; [`Error::Conflict`] `booking_not_ended`.
pub fn planned_move(
    booking: &Booking,
    action: BookingAction,
    who: BookingActor,
    policy: Option<CancellationPolicy>,
    reason: Option<String>,
    now: Timestamp,
) -> Result<BookingMove> {
    let to = transition(booking.status, action, who)?;
    if matches!(action, BookingAction::Complete | BookingAction::NoShow) && now < booking.ends_at {
        return Err(Error::conflict(
            "booking_not_ended",
            "a booking is completed or marked no-show after its end time",
        ));
    }
    let paid = booking.status != BookingStatus::AwaitingPayment;
    let refund_amount = match to {
        BookingStatus::Cancelled if paid => {
            policy
                .unwrap_or_default()
                .refund(booking.amount, who, booking.starts_at, now)
        }
        // Declined by the provider: everything back.
        BookingStatus::Declined => booking.amount,
        _ => 0,
    };
    Ok(BookingMove {
        change: BookingChange {
            booking_id: booking.id,
            from: booking.status,
            to,
            at: now,
            refund_amount,
            cancel_reason: reason.filter(|_| to == BookingStatus::Cancelled),
        },
        event: changed_event(booking, to, refund_amount),
    })
}

/// The caller's part in the booking as the status machine knows it; not found for anyone else.
///
/// # Errors
///
/// [`Error::NotFound`] `booking` for a caller who is neither party nor an admin.
pub fn booking_actor(caller: &Caller, booking: &Booking) -> Result<BookingActor> {
    actor(caller, booking)
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
