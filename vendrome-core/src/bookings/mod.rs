//! Service bookings: a provider's availability, the slots it leaves, bookings that never overlap
//! for one provider, and where a booking is in its life ([`BookingStatus`], whose moves
//! [`transition`] allows).
//!
//! A booking of a service with a price starts `awaiting_payment`, holding its slot: the payments
//! orchestrator charges it (`Payments::checkout_booking`) and the charge's settlement moves it on
//! ([`on_payment`]) in the transaction that records the payment; unpaid, it is cancelled when its
//! payment window lapses ([`BookingService::expire_due`]), which frees the slot.
//!
//! The slot computation is pure ([`Rules::slots`]); the service feeds it the provider's bookings
//! that hold time and the busy intervals of their calendar ([`BusyTime`]). The store has the
//! last word on overlaps: it refuses a booking whose time (plus the buffer after it) meets
//! another booking of the provider that still holds time, inside the writing transaction.

mod availability;
mod policy;
mod service;
mod status;

use async_trait::async_trait;
use serde::Serialize;

pub use self::availability::{
    Availability, AvailabilityException, Rules, Slot, Taken, WeeklyWindow, MAX_BLOCK_MINUTES,
};
pub use self::policy::{CancellationPolicy, LateRefund};
pub use self::service::{
    booking_actor, changed_event, planned_move, BookingConfig, BookingService, RequestBooking,
    MAX_SLOT_RANGE_DAYS,
};
pub use self::status::{holds_time, transition, BookingAction, BookingActor};
use crate::enums::BookingStatus;
use crate::ids::{BookingId, PostId, UserId};
use crate::money::{Currency, Money};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

/// A service as a booking needs it: from `post_services`, with its post's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookableService {
    pub post_id: PostId,
    pub provider_id: UserId,
    pub title: String,
    /// The length of one booking (the listing's `duration_minutes`, 60 when it has none).
    pub duration_minutes: i32,
    pub price: Money,
    /// Requests are confirmed at once, without the provider.
    pub auto_confirm: bool,
    pub policy: CancellationPolicy,
}

/// A booking as the store is asked to create it, every field computed by core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    pub id: BookingId,
    pub service_post_id: PostId,
    pub client_id: UserId,
    pub provider_id: UserId,
    pub status: BookingStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// `ends_at` plus the provider's buffer: the booking holds `[starts_at, blocked_until)`.
    pub blocked_until: Timestamp,
    /// The client's IANA zone.
    pub timezone: String,
    pub currency: Currency,
    pub amount: i64,
    pub platform_fee_amount: i64,
    /// The client's `Idempotency-Key`: a retry with it finds this booking.
    pub idempotency_key: String,
    pub note: Option<String>,
    pub created_at: Timestamp,
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    pub id: BookingId,
    pub service_post_id: PostId,
    pub client_id: UserId,
    pub provider_id: UserId,
    pub status: BookingStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub blocked_until: Timestamp,
    pub timezone: String,
    pub currency: Currency,
    pub amount: i64,
    pub platform_fee_amount: i64,
    /// What the cancellation gave (or owes) back, per the service's policy; 0 otherwise.
    pub refund_amount: i64,
    pub note: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What the store did with a new booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateBookingOutcome {
    Created(Booking),
    /// The client already made a booking with this idempotency key: that booking, unchanged.
    Existing(Booking),
    /// Its time meets a booking of the provider that holds time; nothing was stored.
    Taken,
}

/// A booking a charge pays for, as the charge's settlement reads it (with the service's setting
/// that decides where a paid booking goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidBooking {
    pub booking: Booking,
    /// The service confirms requests at once: a paid booking becomes `confirmed`.
    pub auto_confirm: bool,
}

/// A status move and the event it writes, applied together or not at all.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingMove {
    pub change: BookingChange,
    pub event: NewEvent,
}

/// What a succeeded charge does to the booking it pays for: `awaiting_payment` moves on to
/// `confirmed` when the service auto-confirms, `requested` otherwise. `None` for a booking
/// already past waiting (paid before, or cancelled: its time was given up).
pub fn on_payment(paid: &PaidBooking, at: Timestamp) -> Option<BookingMove> {
    let booking = &paid.booking;
    if booking.status != BookingStatus::AwaitingPayment {
        return None;
    }
    let action = if paid.auto_confirm {
        BookingAction::PayAndConfirm
    } else {
        BookingAction::Pay
    };
    let to = transition(booking.status, action, BookingActor::System).ok()?;
    Some(BookingMove {
        change: BookingChange {
            booking_id: booking.id,
            from: booking.status,
            to,
            at,
            refund_amount: 0,
            cancel_reason: None,
        },
        event: changed_event(booking, to, 0),
    })
}

/// Which of a member's bookings a list returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingRole {
    Client,
    Provider,
}

/// The filters of a member's bookings: their part, a status, a window on the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingFilter {
    pub role: BookingRole,
    pub status: Option<BookingStatus>,
    /// Bookings starting at or after.
    pub from: Option<Timestamp>,
    /// Bookings starting before.
    pub to: Option<Timestamp>,
}

/// A move of a booking's status. The store applies it only if the booking is still in `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingChange {
    pub booking_id: BookingId,
    pub from: BookingStatus,
    pub to: BookingStatus,
    pub at: Timestamp,
    /// Set by a cancellation.
    pub refund_amount: i64,
    pub cancel_reason: Option<String>,
}

/// A move of a booking to another time. The store applies it only if the booking is still in
/// `status` and still starts at `from_starts_at` (so of two concurrent moves one applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingReschedule {
    pub booking_id: BookingId,
    pub status: BookingStatus,
    pub from_starts_at: Timestamp,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// `ends_at` plus the provider's buffer.
    pub blocked_until: Timestamp,
    pub at: Timestamp,
}

/// What the store did with a reschedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RescheduleOutcome {
    Moved(Box<Booking>),
    /// The booking moved meanwhile (another status or start); nothing was stored.
    Changed,
    /// The new time meets another booking of the provider that holds time; nothing was stored.
    Taken,
}

/// Storage of providers' availability.
#[async_trait]
pub trait AvailabilityRepo: Send + Sync {
    /// The member's availability as they last set it, `None` when they never did.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn availability(&self, user: UserId) -> Result<Option<Availability>>;

    /// Replaces the member's availability (checked by core).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn set_availability(
        &self,
        user: UserId,
        availability: &Availability,
        now: Timestamp,
    ) -> Result<()>;
}

/// Storage of bookings.
#[async_trait]
pub trait BookingRepo: Send + Sync {
    /// The service behind `post` when it is a live service post, `None` otherwise.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn service(&self, post: PostId) -> Result<Option<BookableService>>;

    /// In one transaction: finds the client's booking with the same idempotency key
    /// ([`CreateBookingOutcome::Existing`]), or stores the booking and `event` unless
    /// `[starts_at, blocked_until)` meets `[starts_at, blocked_until)` of another booking of the
    /// provider that holds time ([`holds_time`]); then it MUST store nothing and return
    /// [`CreateBookingOutcome::Taken`], also when such bookings are being written concurrently.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_booking(
        &self,
        booking: &NewBooking,
        event: NewEvent,
    ) -> Result<CreateBookingOutcome>;

    /// The booking, `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn booking(&self, id: BookingId) -> Result<Option<Booking>>;

    /// The client's booking made with idempotency key `key`, `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn booking_by_key(&self, client: UserId, key: &str) -> Result<Option<Booking>>;

    /// A member's bookings by `filter`, by start then id, with the next page's cursor.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails;
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out.
    async fn bookings_of(
        &self,
        user: UserId,
        filter: BookingFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Booking>, Option<Cursor>)>;

    /// The time held by the provider's bookings that hold time and meet `[from, to)`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn taken(&self, provider: UserId, from: Timestamp, to: Timestamp) -> Result<Vec<Taken>>;

    /// Applies `change` if the booking is still in `change.from` and writes `event` in the same
    /// transaction; `None` when it was not (someone moved it first).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn change_status(
        &self,
        change: &BookingChange,
        event: NewEvent,
    ) -> Result<Option<Booking>>;

    /// Moves the booking to `change`'s times if it is still in `change.status` starting at
    /// `change.from_starts_at`, with `event`, and moves its calendar events (both parties', one
    /// more `sequence`) in the same transaction. It MUST store nothing and return
    /// [`RescheduleOutcome::Taken`] when the new `[starts_at, blocked_until)` meets another
    /// booking of the provider that holds time, also when such bookings are being written
    /// concurrently, and [`RescheduleOutcome::Changed`] when the booking moved meanwhile.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn reschedule(
        &self,
        change: &BookingReschedule,
        event: NewEvent,
    ) -> Result<RescheduleOutcome>;

    /// Up to `limit` bookings still `awaiting_payment` that were made before `before`, oldest
    /// first, for the expiry task.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn awaiting_payment_before(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<BookingId>>;
}

/// The provider's busy time from their calendar, which slots leave out.
#[async_trait]
pub trait BusyTime: Send + Sync {
    /// The busy intervals of `provider` that meet `[from, to)`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the calendar cannot be read.
    async fn busy(&self, provider: UserId, from: Timestamp, to: Timestamp) -> Result<Vec<Taken>>;

    /// [`Self::busy`] without the calendar events of booking `except`: a booking's own events
    /// never keep it from moving. The default is [`Self::busy`], for calendars that hold no
    /// booking's events.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the calendar cannot be read.
    async fn busy_except(
        &self,
        provider: UserId,
        from: Timestamp,
        to: Timestamp,
        except: BookingId,
    ) -> Result<Vec<Taken>> {
        let _ = except;
        self.busy(provider, from, to).await
    }
}

/// No calendar: nobody is ever busy. The adapter until the calendar is plugged in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBusyTime;

#[async_trait]
impl BusyTime for NoBusyTime {
    async fn busy(&self, _: UserId, _: Timestamp, _: Timestamp) -> Result<Vec<Taken>> {
        Ok(Vec::new())
    }
}
