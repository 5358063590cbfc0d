//! The last recovery point: what an outcome writes (the payment's status, the ledger posting,
//! the order's or booking's move, the order's refunded total, the events), built here ([`settlement`]) and applied by
//! `PaymentRepo::settle`, or by `WebhookInbox::process` inside the transaction that records the
//! webhook, in one transaction. A refund's effect on its order depends on the
//! refunds that settled before it, so the store applies it ([`OrderRefund`]).

use vendrome_core::bookings::{on_payment, PaidBooking};
use vendrome_core::enums::{MarketingCampaignStatus, OrderStatus, PaymentKind, PaymentStatus};
use vendrome_core::events::{CampaignChanged, DomainEvent, OrderChanged, PaymentChanged};
use vendrome_core::investments::{
    commitment_transition, Commitment, CommitmentAction, CommitmentMove,
};
use vendrome_core::ledger::postings::{self, RefundShare};
use vendrome_core::marketing::CampaignFunded;
use vendrome_core::money::Money;
use vendrome_core::orders::{
    transition, Order, OrderAction, OrderActor, OrderRefund, StatusChange,
};
use vendrome_core::outbox::NewEvent;
use vendrome_core::payments::provider::Failure;
use vendrome_core::payments::{Found, Payment, SettleOutcome, Settlement};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use super::Payments;

/// What a provider said about a payment.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub status: PaymentStatus,
    /// The provider's reference, when this answer is the first to bring it.
    pub reference: Option<String>,
    pub failure: Option<Failure>,
}

impl Outcome {
    pub fn new(status: PaymentStatus, reference: Option<String>) -> Self {
        Self {
            status,
            reference,
            failure: None,
        }
    }

    pub fn failed(failure: Failure) -> Self {
        Self {
            status: PaymentStatus::Failed,
            reference: None,
            failure: Some(failure),
        }
    }
}

fn order_event(order: &Order, status: OrderStatus, refunded: i64) -> OrderChanged {
    OrderChanged {
        order_id: order.id,
        buyer_id: order.buyer_id,
        seller_id: order.seller_id,
        status,
        total_amount: order.total_amount,
        refunded_amount: refunded,
        currency: order.currency,
    }
}

fn payment_event(payment: &Payment, status: PaymentStatus) -> PaymentChanged {
    PaymentChanged {
        payment_id: payment.id,
        order_id: payment.order_id,
        payer_id: payment.payer_id,
        payee_id: payment.payee_id,
        provider: payment.provider,
        status,
        amount: payment.amount.amount,
        currency: payment.amount.currency,
    }
}

fn posting_error(e: vendrome_core::ledger::PostingError) -> Error {
    Error::Unexpected(anyhow::anyhow!("a payment's posting does not balance: {e}"))
}

impl Payments {
    /// Settles `payment` with `outcome`. A status that cannot move (an older event, an outcome
    /// already written) writes nothing and answers [`SettleOutcome::Stale`].
    pub(super) async fn settle(
        &self,
        payment: &Payment,
        outcome: Outcome,
    ) -> Result<SettleOutcome> {
        if !vendrome_core::payments::can_move(payment.status, outcome.status) {
            return Ok(SettleOutcome::Stale(payment.clone()));
        }
        let order = match payment.order_id {
            Some(id) => self.ports.orders.order(id).await?,
            None => None,
        };
        let charge = match (payment.kind, payment.refund_of) {
            (PaymentKind::Refund, Some(id)) => self.ports.payments.payment(id).await?,
            _ => None,
        };
        let booking = match (payment.kind, payment.booking_id, &self.bookings) {
            (PaymentKind::Charge, Some(id), Some(bookings)) => match bookings.booking(id).await? {
                Some(booking) => {
                    let service = bookings.service(booking.service_post_id).await?;
                    Some(PaidBooking {
                        booking,
                        auto_confirm: service.is_some_and(|s| s.auto_confirm),
                    })
                }
                None => None,
            },
            _ => None,
        };
        let commitment = match (payment.commitment_id, &self.investments) {
            (Some(id), Some(investments)) => investments.commitment(id).await?,
            _ => None,
        };
        let found = Found {
            payment: payment.clone(),
            order,
            charge,
            booking,
            commitment,
        };
        match settlement(&found, &outcome, self.now())? {
            Some(settlement) => self.ports.payments.settle(&settlement).await,
            None => Ok(SettleOutcome::Stale(payment.clone())),
        }
    }
}

/// What `outcome` writes for the payment `found` holds, with its order (and a refund's charge)
/// as they were read: `None` when the status cannot move. Pure, so that the store can call it
/// inside the transaction that locked the payment (`WebhookInbox::process`).
pub(super) fn settlement(
    found: &Found,
    outcome: &Outcome,
    at: Timestamp,
) -> Result<Option<Settlement>> {
    let payment = &found.payment;
    if !vendrome_core::payments::can_move(payment.status, outcome.status) {
        return Ok(None);
    }
    let mut settlement = Settlement {
        payment_id: payment.id,
        status: outcome.status,
        reference: outcome
            .reference
            .clone()
            .filter(|_| payment.provider_reference.is_none()),
        failure_code: outcome.failure.as_ref().map(|f| f.code.clone()),
        failure_message: outcome.failure.as_ref().map(|f| f.message.clone()),
        posting: None,
        refund_share: None,
        order_change: None,
        order_refund: None,
        booking_move: None,
        campaign_funded: None,
        commitment_move: None,
        events: Vec::new(),
        at,
    };
    let commitment = found
        .commitment
        .as_ref()
        .filter(|c| Some(c.id) == payment.commitment_id);
    match (payment.kind, outcome.status) {
        (PaymentKind::Charge, PaymentStatus::Succeeded)
            if payment.marketing_campaign_id.is_some() =>
        {
            funding_succeeded(payment, &mut settlement)?;
        }
        (PaymentKind::Refund, PaymentStatus::Succeeded)
            if payment.marketing_campaign_id.is_some() =>
        {
            campaign_refund_succeeded(payment, &mut settlement)?;
        }
        (PaymentKind::Charge | PaymentKind::Refund, PaymentStatus::Succeeded)
            if payment.commitment_id.is_some() =>
        {
            let commitment = commitment
                .ok_or_else(|| anyhow::anyhow!("payment {} of a missing commitment", payment.id))?;
            commitment_settled(payment, commitment, &mut settlement)?;
        }
        (PaymentKind::Charge, PaymentStatus::Succeeded) => {
            charge_succeeded(payment, found.order.as_ref(), &mut settlement)?;
            // The booking it pays for moves on, if it still awaits its payment.
            settlement.booking_move = found
                .booking
                .as_ref()
                .filter(|b| Some(b.booking.id) == payment.booking_id)
                .and_then(|b| on_payment(b, at));
        }
        (PaymentKind::Refund, PaymentStatus::Succeeded) => {
            refund_succeeded(payment, found, &mut settlement)?;
        }
        (_, PaymentStatus::Failed | PaymentStatus::Cancelled) => {
            settlement
                .events
                .push(NewEvent::new(DomainEvent::PaymentFailed(payment_event(
                    payment,
                    outcome.status,
                ))));
        }
        _ => {}
    }
    Ok(Some(settlement))
}

/// A commitment's charge or refund that succeeded: the money goes into the campaign's escrow
/// (or back out of it), and the commitment moves (`pending -> confirmed`, `confirmed ->
/// refunded`) with the campaign's totals, if it is still where it was.
fn commitment_settled(
    payment: &Payment,
    commitment: &Commitment,
    settlement: &mut Settlement,
) -> Result<()> {
    let campaign = commitment.campaign_id;
    let (posting, action, event) = match payment.kind {
        PaymentKind::Refund => (
            postings::commitment_refunded(payment.id, payment.provider, payment.amount, campaign),
            CommitmentAction::Refund,
            DomainEvent::PaymentRefunded as fn(PaymentChanged) -> DomainEvent,
        ),
        _ => (
            postings::commitment_charged(payment.id, payment.provider, payment.amount, campaign),
            CommitmentAction::Pay,
            DomainEvent::PaymentSucceeded as fn(PaymentChanged) -> DomainEvent,
        ),
    };
    settlement.posting = Some(posting.map_err(posting_error)?);
    settlement.commitment_move = commitment_transition(commitment.status, action)
        .ok()
        .map(|to| CommitmentMove {
            commitment_id: commitment.id,
            campaign_id: campaign,
            from: commitment.status,
            to,
            amount: commitment.amount.amount,
            at: settlement.at,
        });
    settlement.events.push(NewEvent::new(event(payment_event(
        payment,
        PaymentStatus::Succeeded,
    ))));
    Ok(())
}

fn charge_succeeded(
    payment: &Payment,
    order: Option<&Order>,
    settlement: &mut Settlement,
) -> Result<()> {
    let payee = payment
        .payee_id
        .ok_or_else(|| anyhow::anyhow!("charge {} has no payee", payment.id))?;
    let fee = Money::new(payment.fee_amount, payment.amount.currency);
    settlement.posting = Some(
        postings::charge_succeeded(payment.id, payment.provider, payment.amount, fee, payee)
            .map_err(posting_error)?,
    );
    settlement
        .events
        .push(NewEvent::new(DomainEvent::PaymentSucceeded(payment_event(
            payment,
            PaymentStatus::Succeeded,
        ))));
    if let Some(order) = order.filter(|o| o.status == OrderStatus::PendingPayment) {
        let to = transition(order.status, OrderAction::Pay, OrderActor::System)?;
        settlement.order_change = Some(StatusChange {
            order_id: order.id,
            from: order.status,
            to,
            at: settlement.at,
        });
        settlement
            .events
            .push(NewEvent::new(DomainEvent::OrderPaid(order_event(
                order,
                to,
                order.refunded_amount,
            ))));
    }
    Ok(())
}

/// A campaign's funding: the amount into the owner's ad balance, and the campaign scheduled
/// if it is still an unfunded draft.
fn funding_succeeded(payment: &Payment, settlement: &mut Settlement) -> Result<()> {
    let campaign = payment
        .marketing_campaign_id
        .ok_or_else(|| anyhow::anyhow!("charge {} funds no campaign", payment.id))?;
    settlement.posting = Some(
        postings::ad_funding_succeeded(
            payment.id,
            payment.provider,
            payment.amount,
            payment.payer_id,
        )
        .map_err(posting_error)?,
    );
    settlement
        .events
        .push(NewEvent::new(DomainEvent::PaymentSucceeded(payment_event(
            payment,
            PaymentStatus::Succeeded,
        ))));
    settlement.campaign_funded = Some(CampaignFunded {
        campaign_id: campaign,
        payment_id: payment.id,
        event: NewEvent::new(DomainEvent::CampaignStatusChanged(CampaignChanged {
            campaign_id: campaign,
            owner_id: payment.payer_id,
            status: MarketingCampaignStatus::Scheduled,
        })),
    });
    Ok(())
}

/// A refund of a campaign's unspent remainder: the amount leaves the owner's ad balance, back
/// to the provider that took the funding charge.
fn campaign_refund_succeeded(refund: &Payment, settlement: &mut Settlement) -> Result<()> {
    settlement.posting = Some(
        postings::ad_refund_succeeded(refund.id, refund.provider, refund.amount, refund.payer_id)
            .map_err(posting_error)?,
    );
    settlement
        .events
        .push(NewEvent::new(DomainEvent::PaymentRefunded(payment_event(
            refund,
            PaymentStatus::Succeeded,
        ))));
    Ok(())
}

fn refund_succeeded(refund: &Payment, found: &Found, settlement: &mut Settlement) -> Result<()> {
    let charge = found
        .charge
        .as_ref()
        .filter(|c| Some(c.id) == refund.refund_of)
        .ok_or_else(|| anyhow::anyhow!("refund {} of a missing charge", refund.id))?;
    let payee = charge
        .payee_id
        .ok_or_else(|| anyhow::anyhow!("charge {} has no payee", charge.id))?;
    // The fee's share depends on what was refunded before this refund, which the store reads
    // in the transaction that settles it.
    settlement.refund_share = Some(RefundShare {
        refund: refund.id,
        charge: charge.id,
        provider: refund.provider,
        charge_total: charge.amount,
        charge_fee: Money::new(charge.fee_amount, charge.amount.currency),
        amount: refund.amount,
        payee,
    });
    settlement
        .events
        .push(NewEvent::new(DomainEvent::PaymentRefunded(payment_event(
            refund,
            PaymentStatus::Succeeded,
        ))));
    // The order's refunded total and its move to `refunded` are decided by the store from the
    // order as it is in the settling transaction: refunds settling at once each see the ones
    // before them.
    settlement.order_refund = found.order.as_ref().map(|order| OrderRefund {
        order_id: order.id,
        buyer_id: order.buyer_id,
        seller_id: order.seller_id,
        total_amount: order.total_amount,
        currency: order.currency,
        amount: refund.amount.amount,
    });
    Ok(())
}
