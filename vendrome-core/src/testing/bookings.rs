//! [`AvailabilityRepo`] and [`BookingRepo`] in memory: [`InMemoryBookings`], with the services a
//! test adds by hand. The overlap rule is the port's: a booking that meets another holding time
//! is refused.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::page_of;
use crate::bookings::{
    holds_time, Availability, AvailabilityRepo, BookableService, Booking, BookingChange,
    BookingFilter, BookingRepo, BookingReschedule, BookingRole, CreateBookingOutcome, NewBooking,
    RescheduleOutcome, Taken,
};
use crate::enums::BookingStatus;
use crate::ids::{BookingId, PostId, UserId};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

#[derive(Default)]
struct State {
    availability: Vec<(UserId, Availability)>,
    services: Vec<BookableService>,
    /// Bookings with the client's idempotency key.
    bookings: Vec<(Booking, String)>,
    events: Vec<String>,
}

/// The booking fakes' world; clones share it.
#[derive(Clone, Default)]
pub struct InMemoryBookings(Arc<Mutex<State>>);

impl InMemoryBookings {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `service` bookable.
    pub fn add_service(&self, service: BookableService) {
        self.state().services.push(service);
    }

    /// The outbox event types written so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.state().events.clone()
    }
}

#[async_trait]
impl AvailabilityRepo for InMemoryBookings {
    async fn availability(&self, user: UserId) -> Result<Option<Availability>> {
        let state = self.state();
        Ok(state
            .availability
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, a)| a.clone()))
    }

    async fn set_availability(&self, user: UserId, a: &Availability, _: Timestamp) -> Result<()> {
        let mut state = self.state();
        state.availability.retain(|(u, _)| *u != user);
        state.availability.push((user, a.clone()));
        Ok(())
    }
}

#[async_trait]
impl BookingRepo for InMemoryBookings {
    async fn service(&self, post: PostId) -> Result<Option<BookableService>> {
        Ok(self
            .state()
            .services
            .iter()
            .find(|s| s.post_id == post)
            .cloned())
    }

    async fn create_booking(
        &self,
        b: &NewBooking,
        event: NewEvent,
    ) -> Result<CreateBookingOutcome> {
        let mut state = self.state();
        if let Some((existing, _)) = state
            .bookings
            .iter()
            .find(|(x, key)| x.client_id == b.client_id && *key == b.idempotency_key)
        {
            return Ok(CreateBookingOutcome::Existing(existing.clone()));
        }
        let overlaps = state.bookings.iter().any(|(x, _)| {
            x.provider_id == b.provider_id
                && holds_time(x.status)
                && x.starts_at < b.blocked_until
                && b.starts_at < x.blocked_until
        });
        if overlaps {
            return Ok(CreateBookingOutcome::Taken);
        }
        let booking = Booking {
            id: b.id,
            service_post_id: b.service_post_id,
            client_id: b.client_id,
            provider_id: b.provider_id,
            status: b.status,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            blocked_until: b.blocked_until,
            timezone: b.timezone.clone(),
            currency: b.currency,
            amount: b.amount,
            platform_fee_amount: b.platform_fee_amount,
            refund_amount: 0,
            note: b.note.clone(),
            cancel_reason: None,
            created_at: b.created_at,
            updated_at: b.created_at,
        };
        state
            .bookings
            .push((booking.clone(), b.idempotency_key.clone()));
        state.events.push(event.event.event_type().to_owned());
        Ok(CreateBookingOutcome::Created(booking))
    }

    async fn booking(&self, id: BookingId) -> Result<Option<Booking>> {
        let state = self.state();
        Ok(state
            .bookings
            .iter()
            .map(|(b, _)| b)
            .find(|b| b.id == id)
            .cloned())
    }

    async fn booking_by_key(&self, client: UserId, key: &str) -> Result<Option<Booking>> {
        let state = self.state();
        Ok(state
            .bookings
            .iter()
            .find(|(b, k)| b.client_id == client && k == key)
            .map(|(b, _)| b.clone()))
    }

    async fn bookings_of(
        &self,
        user: UserId,
        f: BookingFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Booking>, Option<Cursor>)> {
        let mut mine: Vec<Booking> = self
            .state()
            .bookings
            .iter()
            .map(|(b, _)| b.clone())
            .filter(|b| match f.role {
                BookingRole::Client => b.client_id == user,
                BookingRole::Provider => b.provider_id == user,
            })
            .filter(|b| f.status.is_none_or(|s| b.status == s))
            .filter(|b| f.from.is_none_or(|t| b.starts_at >= t))
            .filter(|b| f.to.is_none_or(|t| b.starts_at < t))
            .collect();
        mine.sort_by_key(|b| (b.starts_at, b.id));
        let page = page_of(mine, after, limit)?;
        Ok((page.items, page.next_cursor))
    }

    async fn taken(&self, provider: UserId, from: Timestamp, to: Timestamp) -> Result<Vec<Taken>> {
        let state = self.state();
        Ok(state
            .bookings
            .iter()
            .map(|(b, _)| b)
            .filter(|b| b.provider_id == provider && holds_time(b.status))
            .filter(|b| b.starts_at < to && b.blocked_until > from)
            .map(|b| Taken {
                start: b.starts_at,
                until: b.blocked_until,
            })
            .collect())
    }

    async fn reschedule(
        &self,
        c: &BookingReschedule,
        event: NewEvent,
    ) -> Result<RescheduleOutcome> {
        let mut state = self.state();
        let Some(provider) = state
            .bookings
            .iter()
            .map(|(b, _)| b)
            .find(|b| {
                b.id == c.booking_id && b.status == c.status && b.starts_at == c.from_starts_at
            })
            .map(|b| b.provider_id)
        else {
            return Ok(RescheduleOutcome::Changed);
        };
        let overlaps = state.bookings.iter().any(|(x, _)| {
            x.id != c.booking_id
                && x.provider_id == provider
                && holds_time(x.status)
                && x.starts_at < c.blocked_until
                && c.starts_at < x.blocked_until
        });
        if overlaps {
            return Ok(RescheduleOutcome::Taken);
        }
        let (b, _) = state
            .bookings
            .iter_mut()
            .find(|(b, _)| b.id == c.booking_id)
            .expect("found above");
        b.starts_at = c.starts_at;
        b.ends_at = c.ends_at;
        b.blocked_until = c.blocked_until;
        b.updated_at = c.at;
        let moved = b.clone();
        state.events.push(event.event.event_type().to_owned());
        Ok(RescheduleOutcome::Moved(Box::new(moved)))
    }

    async fn change_status(&self, c: &BookingChange, event: NewEvent) -> Result<Option<Booking>> {
        let mut state = self.state();
        let Some((b, _)) = state
            .bookings
            .iter_mut()
            .find(|(b, _)| b.id == c.booking_id && b.status == c.from)
        else {
            return Ok(None);
        };
        b.status = c.to;
        b.updated_at = c.at;
        b.refund_amount = c.refund_amount;
        if c.cancel_reason.is_some() {
            b.cancel_reason.clone_from(&c.cancel_reason);
        }
        let moved = b.clone();
        state.events.push(event.event.event_type().to_owned());
        Ok(Some(moved))
    }

    async fn awaiting_payment_before(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<BookingId>> {
        let state = self.state();
        let mut due: Vec<&Booking> = state
            .bookings
            .iter()
            .map(|(b, _)| b)
            .filter(|b| b.status == BookingStatus::AwaitingPayment && b.created_at < before)
            .collect();
        due.sort_by_key(|b| (b.created_at, b.id.as_uuid()));
        Ok(due.into_iter().take(limit as usize).map(|b| b.id).collect())
    }
}
