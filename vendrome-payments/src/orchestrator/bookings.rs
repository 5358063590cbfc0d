//! Paid bookings: the charge of a booking awaiting payment, for its client, and the refund a
//! cancellation owes per the service's policy (or a decline, in full). The charge's settlement moves the booking on
//! (`settle`); the refund's posts the reverse share like an order's refund.

use std::sync::Arc;

use vendrome_core::access::Caller;
use vendrome_core::bookings::{booking_actor, planned_move, Booking, BookingAction, BookingRepo};
use vendrome_core::enums::{BookingStatus, PaymentKind, PaymentStatus};
use vendrome_core::ids::{BookingId, PaymentId};
use vendrome_core::money::Money;
use vendrome_core::payments::{NewPayment, Payment, StartOutcome};
use vendrome_core::{Error, Result};

use super::{CheckoutRequest, Payments};

fn already_paid() -> Error {
    Error::conflict("already_paid", "the booking is already paid")
}

fn cannot_pay(why: &str) -> Error {
    Error::conflict("invalid_booking_transition", why.to_owned())
}

/// The idempotency key of the refund a booking's cancellation or decline owes: one per booking
/// (a booking ends once).
fn cancel_refund_key(booking: BookingId) -> String {
    format!("booking:{booking}:cancel")
}

impl Payments {
    fn booking_repo(&self) -> Result<&Arc<dyn BookingRepo>> {
        self.bookings.as_ref().ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "the payments orchestrator was built without bookings"
            ))
        })
    }

    /// Pays `booking_id` for its client: the amount is the booking's (the service's price when
    /// it was booked), never the caller's. Keyed like an order's checkout, by the booking and
    /// the caller's `idempotency_key`; answers the payment as
    /// [`checkout`](Self::checkout) does. Its success moves the booking on to `requested` (or
    /// `confirmed` when the service auto-confirms) and posts the charge once.
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`] (`booking`) when there is no such booking or the caller is no party;
    /// - [`Error::Forbidden`] `not_booking_party_action` when the caller is not the client;
    /// - [`Error::Conflict`] `already_paid` for a booking that is paid (with another key),
    ///   `invalid_booking_transition` for one that is free or was cancelled unpaid;
    /// - otherwise as [`checkout`](Self::checkout).
    pub async fn checkout_booking(
        &self,
        booking_id: BookingId,
        caller: &Caller,
        request: CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<Payment> {
        let bookings = self.booking_repo()?;
        let booking = bookings
            .booking(booking_id)
            .await?
            .filter(|b| b.client_id == caller.user_id || b.provider_id == caller.user_id)
            .ok_or(Error::not_found("booking"))?;
        if booking.client_id != caller.user_id {
            return Err(Error::forbidden(
                "not_booking_party_action",
                "only the client may pay for a booking",
            ));
        }
        let key = format!("booking:{booking_id}:{idempotency_key}");
        if booking.status != BookingStatus::AwaitingPayment {
            let payments = self.ports.payments.payments_for_booking(booking_id).await?;
            // A retry of the request that paid answers that payment.
            if let Some(same) = payments.iter().find(|p| p.idempotency_key == key) {
                return Ok(same.clone());
            }
            let paid = payments
                .iter()
                .any(|p| p.kind == PaymentKind::Charge && p.status == PaymentStatus::Succeeded);
            return Err(if paid {
                already_paid()
            } else if booking.amount == 0 {
                cannot_pay("a free booking has nothing to pay")
            } else {
                cannot_pay("a booking that was cancelled unpaid cannot be paid")
            });
        }
        let candidates = self.route(booking.currency, &request, &key)?;
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Charge,
            provider: candidates[0].id(),
            payer_id: booking.client_id,
            payee_id: Some(booking.provider_id),
            order_id: None,
            booking_id: Some(booking_id),
            marketing_campaign_id: None,
            commitment_id: None,
            refund_of: None,
            amount: Money::new(booking.amount, booking.currency),
            fee_amount: booking.platform_fee_amount,
            idempotency_key: key,
            method: request.method,
            return_url: request.return_url,
            created_at: self.now(),
        };
        self.charge_through(&candidates, new).await
    }

    /// Either party (or an admin) cancels a booking. A paid booking is refunded what the
    /// service's policy gives back (`refund_amount`: in full unless the client cancels inside
    /// the cancellation window), through the provider of its charge, with the reverse share
    /// posted when the refund succeeds. Answers the booking, `cancelled`.
    ///
    /// A cancellation whose refund could not be started (a crash after the booking moved) is
    /// finished by cancelling again: the refund is keyed by the booking, so it is made once.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`booking`) for a caller who is not a party or an admin;
    /// [`Error::Conflict`] `invalid_booking_transition` for a booking that cannot be cancelled
    /// (also when another change came first); the refund's errors as
    /// [`refund`](Self::refund) names them (the booking is cancelled all the same, and the
    /// completer finishes a refund the provider did not answer).
    pub async fn cancel_booking(
        &self,
        caller: &Caller,
        id: BookingId,
        reason: Option<String>,
    ) -> Result<Booking> {
        self.end_booking(caller, id, BookingAction::Cancel, reason)
            .await
    }

    /// The provider (or an admin) declines a requested booking; a paid one is refunded in
    /// full, as [`cancel_booking`](Self::cancel_booking) refunds.
    ///
    /// # Errors
    ///
    /// As [`cancel_booking`](Self::cancel_booking); [`Error::Forbidden`]
    /// `not_booking_party_action` for the client.
    pub async fn decline_booking(&self, caller: &Caller, id: BookingId) -> Result<Booking> {
        self.end_booking(caller, id, BookingAction::Decline, None)
            .await
    }

    async fn end_booking(
        &self,
        caller: &Caller,
        id: BookingId,
        action: BookingAction,
        reason: Option<String>,
    ) -> Result<Booking> {
        let bookings = self.booking_repo()?;
        let booking = bookings
            .booking(id)
            .await?
            .ok_or(Error::not_found("booking"))?;
        let who = booking_actor(caller, &booking)?;
        let ended = matches!(
            booking.status,
            BookingStatus::Cancelled | BookingStatus::Declined
        );
        if ended && booking.refund_amount > 0 {
            let refunds = self.ports.payments.payments_for_booking(id).await?;
            let key = cancel_refund_key(id);
            if !refunds.iter().any(|p| p.idempotency_key == key) {
                self.refund_ended(&booking).await?;
                return Ok(booking);
            }
        }
        let policy = bookings
            .service(booking.service_post_id)
            .await?
            .map(|s| s.policy);
        let planned = planned_move(&booking, action, who, policy, reason, self.now())?;
        let ended = bookings
            .change_status(&planned.change, planned.event)
            .await?
            .ok_or_else(|| cannot_pay("the booking changed meanwhile; read it again"))?;
        if ended.refund_amount > 0 {
            self.refund_ended(&ended).await?;
        }
        Ok(ended)
    }

    /// Refunds `refund_amount` of a cancelled or declined booking's succeeded charge; nothing
    /// when it has none (it was free).
    async fn refund_ended(&self, booking: &Booking) -> Result<Option<Payment>> {
        let charge = self
            .ports
            .payments
            .payments_for_booking(booking.id)
            .await?
            .into_iter()
            .find(|p| p.kind == PaymentKind::Charge && p.status == PaymentStatus::Succeeded);
        let Some(charge) = charge else {
            return Ok(None);
        };
        let new = NewPayment {
            id: PaymentId::new(),
            kind: PaymentKind::Refund,
            provider: charge.provider,
            payer_id: charge.payer_id,
            payee_id: charge.payee_id,
            order_id: None,
            booking_id: Some(booking.id),
            marketing_campaign_id: None,
            commitment_id: None,
            refund_of: Some(charge.id),
            amount: Money::new(booking.refund_amount, charge.amount.currency),
            fee_amount: 0,
            idempotency_key: cancel_refund_key(booking.id),
            method: None,
            return_url: None,
            created_at: self.now(),
        };
        let refund = match self.ports.payments.start(&new).await? {
            StartOutcome::Started(p) | StartOutcome::Existing(p) => p,
            StartOutcome::ExceedsRefundable { refundable } => {
                return Err(Error::unprocessable(
                    "refund_exceeds_total",
                    format!("refunds would add up to more than the charge; {refundable} may still be refunded"),
                ))
            }
            StartOutcome::AlreadyPaid(_) => {
                return Err(anyhow::anyhow!("a refund answered as a charge").into())
            }
        };
        self.drive_refund(refund).await.map(Some)
    }
}
