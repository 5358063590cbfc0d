//! [`PaymentRepo`], [`WebhookInbox`] and [`ReconciliationRepo`] in memory, keeping the ports'
//! rules: one attempt per idempotency key, no second charge of a paid order, refunds within the
//! charge, phases that only move forward, statuses that only move as
//! [`can_move`](crate::payments::can_move) allows, and the settlement's effects (posting once per
//! key, the order's compare-and-set, the events) applied together. Bookings live in another
//! fake ([`InMemoryBookings`](super::InMemoryBookings)): a delivery finds no booking here, and a
//! settlement's booking move is not applied.

use async_trait::async_trait;

use super::InMemory;
use crate::audit::{AuditContext, AuditRepo, NewAuditEvent};
use crate::enums::{
    PaymentAttemptPhase, PaymentKind, PaymentProvider as ProviderId, PaymentStatus,
    ReconciliationStatus, WebhookEventStatus,
};
use crate::ids::{
    BookingId, CommitmentId, OrderId, PaymentId, ReconciliationRunId, UserId, WebhookEventId,
};
use crate::page::{Cursor, Limit};
use crate::payments::{
    can_move, is_final, Delivery, Found, NewPayment, Payment, PaymentRepo, Plan, Processed,
    ProviderCalled, ReconciliationRepo, ReconciliationRun, RunOutcome, SettleOutcome, Settlement,
    StartOutcome, StoredWebhook, WebhookInbox, WEBHOOK_LEASE,
};
use crate::time::Timestamp;
use crate::{Error, Result};

/// Whether a refund in this status still counts against what may be refunded.
fn holds_refundable(status: PaymentStatus) -> bool {
    !matches!(status, PaymentStatus::Failed | PaymentStatus::Cancelled)
}

#[async_trait]
impl PaymentRepo for InMemory {
    async fn start(&self, new: &NewPayment) -> Result<StartOutcome> {
        let mut commerce = self.commerce();
        commerce.fail_point("PaymentRepo::start")?;
        if let Some(p) = commerce
            .payments
            .iter()
            .find(|p| p.idempotency_key == new.idempotency_key)
        {
            return Ok(StartOutcome::Existing(p.clone()));
        }
        match new.kind {
            PaymentKind::Charge => {
                if let Some(paid) = commerce.payments.iter().find(|p| {
                    p.kind == PaymentKind::Charge
                        && ((p.order_id.is_some() && p.order_id == new.order_id)
                            || (p.booking_id.is_some() && p.booking_id == new.booking_id))
                        && p.status == PaymentStatus::Succeeded
                }) {
                    return Ok(StartOutcome::AlreadyPaid(paid.clone()));
                }
            }
            PaymentKind::Refund => {
                let charge = commerce
                    .payments
                    .iter()
                    .find(|p| Some(p.id) == new.refund_of)
                    .ok_or(Error::not_found("payment"))?;
                let taken: i64 = commerce
                    .payments
                    .iter()
                    .filter(|p| p.refund_of == new.refund_of && holds_refundable(p.status))
                    .map(|p| p.amount.amount)
                    .sum();
                let refundable = charge.amount.amount - taken;
                if new.amount.amount > refundable {
                    return Ok(StartOutcome::ExceedsRefundable { refundable });
                }
            }
            PaymentKind::Payout => {}
        }
        let payment = Payment {
            id: new.id,
            kind: new.kind,
            provider: new.provider,
            status: PaymentStatus::Pending,
            phase: PaymentAttemptPhase::Started,
            payer_id: new.payer_id,
            payee_id: new.payee_id,
            order_id: new.order_id,
            booking_id: new.booking_id,
            marketing_campaign_id: new.marketing_campaign_id,
            commitment_id: new.commitment_id,
            refund_of: new.refund_of,
            amount: new.amount,
            fee_amount: new.fee_amount,
            idempotency_key: new.idempotency_key.clone(),
            provider_reference: None,
            method: new.method.clone(),
            return_url: new.return_url.clone(),
            next_action: None,
            failure_code: None,
            failure_message: None,
            created_at: new.created_at,
            updated_at: new.created_at,
            succeeded_at: None,
        };
        commerce.payments.push(payment.clone());
        Ok(StartOutcome::Started(payment))
    }

    async fn provider_called(&self, call: &ProviderCalled) -> Result<Payment> {
        let mut commerce = self.commerce();
        commerce.fail_point("PaymentRepo::provider_called")?;
        let p = commerce
            .payments
            .iter_mut()
            .find(|p| p.id == call.payment_id)
            .ok_or(Error::not_found("payment"))?;
        if p.phase == PaymentAttemptPhase::Started {
            p.provider_reference = Some(call.reference.clone());
            if can_move(p.status, call.status) {
                p.status = call.status;
            }
            p.next_action = Some(call.next_action.clone());
            p.phase = PaymentAttemptPhase::ProviderCalled;
            p.updated_at = call.at;
        }
        Ok(p.clone())
    }

    async fn settle(&self, s: &Settlement) -> Result<SettleOutcome> {
        self.commerce().fail_point("PaymentRepo::settle")?;
        self.settle_now(s).await
    }

    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>> {
        Ok(self
            .commerce()
            .payments
            .iter()
            .find(|p| p.id == id)
            .cloned())
    }

    async fn payment_by_reference(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Option<Payment>> {
        Ok(self
            .commerce()
            .payments
            .iter()
            .find(|p| p.provider == provider && p.provider_reference.as_deref() == Some(reference))
            .cloned())
    }

    async fn payments_of(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Payment>, Option<Cursor>)> {
        let mut mine: Vec<Payment> = self
            .commerce()
            .payments
            .iter()
            .filter(|p| p.payer_id == user || p.payee_id == Some(user))
            .cloned()
            .collect();
        mine.reverse();
        let page = super::page_of(mine, after, limit)?;
        Ok((page.items, page.next_cursor))
    }

    async fn payments_for_order(&self, order: OrderId) -> Result<Vec<Payment>> {
        Ok(self
            .commerce()
            .payments
            .iter()
            .filter(|p| p.order_id == Some(order))
            .cloned()
            .collect())
    }

    async fn payments_for_booking(&self, booking: BookingId) -> Result<Vec<Payment>> {
        Ok(self
            .commerce()
            .payments
            .iter()
            .filter(|p| p.booking_id == Some(booking))
            .cloned()
            .collect())
    }

    async fn payments_for_commitment(&self, commitment: CommitmentId) -> Result<Vec<Payment>> {
        Ok(self
            .commerce()
            .payments
            .iter()
            .filter(|p| p.commitment_id == Some(commitment))
            .cloned()
            .collect())
    }

    async fn claim_abandoned(
        &self,
        idle_since: Timestamp,
        now: Timestamp,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Payment>> {
        let mut commerce = self.commerce();
        commerce.fail_point("PaymentRepo::claim_abandoned")?;
        let until = now + chrono::Duration::from_std(lease).map_err(anyhow::Error::from)?;
        let claimable: Vec<Payment> = commerce
            .payments
            .iter()
            .filter(|p| p.phase != PaymentAttemptPhase::Finished && p.updated_at < idle_since)
            .filter(|p| commerce.leases.get(&p.id).is_none_or(|&l| l <= now))
            .take(limit as usize)
            .cloned()
            .collect();
        for p in &claimable {
            commerce.leases.insert(p.id, until);
        }
        Ok(claimable)
    }

    async fn succeeded_between(
        &self,
        provider: ProviderId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>> {
        Ok(self
            .commerce()
            .payments
            .iter()
            .filter(|p| p.provider == provider && p.status == PaymentStatus::Succeeded)
            .filter(|p| p.succeeded_at.is_some_and(|at| from <= at && at < to))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl WebhookInbox for InMemory {
    async fn process(&self, d: &Delivery, plan: &Plan<'_>) -> Result<Processed> {
        // One transaction: every check first, then the writes, or nothing.
        let found = {
            let mut commerce = self.commerce();
            commerce.fail_point("WebhookInbox::process")?;
            let stored = commerce
                .webhooks
                .iter()
                .find(|w| w.provider == d.provider && w.provider_event_id == d.event_id);
            if let Some(stored) = stored {
                let open = matches!(
                    stored.status,
                    WebhookEventStatus::Received | WebhookEventStatus::Failed
                );
                let held = commerce
                    .webhook_leases
                    .get(&stored.id)
                    .is_some_and(|until| *until > d.at);
                if !open || held {
                    return Ok(Processed::Duplicate);
                }
            }
            let payment = d.target.as_ref().and_then(|t| {
                let by_reference = commerce.payments.iter().find(|p| {
                    p.provider == d.provider && p.provider_reference.as_ref() == Some(&t.reference)
                });
                by_reference
                    .or_else(|| {
                        commerce
                            .payments
                            .iter()
                            .find(|p| Some(p.id) == t.payment_id && p.provider == d.provider)
                    })
                    .cloned()
            });
            payment.map(|payment| Found {
                order: payment.order_id.and_then(|id| {
                    commerce
                        .orders
                        .iter()
                        .map(|(o, _)| o)
                        .find(|o| o.id == id)
                        .map(|o| crate::orders::Order {
                            items: Vec::new(),
                            ..o.clone()
                        })
                }),
                charge: payment
                    .refund_of
                    .and_then(|id| commerce.payments.iter().find(|p| p.id == id).cloned()),
                booking: None,
                commitment: None,
                payment,
            })
        };
        let outcome = match &found {
            None => Processed::Ignored,
            Some(found) => match plan(found)? {
                Some(settlement) if can_move(found.payment.status, settlement.status) => {
                    match self.settle_now(&settlement).await? {
                        SettleOutcome::Applied(p) => Processed::Applied(p),
                        SettleOutcome::Stale(p) => Processed::Stale(p),
                    }
                }
                _ => Processed::Stale(found.payment.clone()),
            },
        };
        let status = match outcome {
            Processed::Ignored => WebhookEventStatus::Ignored,
            _ => WebhookEventStatus::Processed,
        };
        let mut commerce = self.commerce();
        let commerce = &mut *commerce;
        match commerce
            .webhooks
            .iter_mut()
            .find(|w| w.provider == d.provider && w.provider_event_id == d.event_id)
        {
            Some(stored) => {
                stored.status = status;
                stored.attempts += 1;
                commerce.webhook_leases.remove(&stored.id);
            }
            None => commerce.webhooks.push(StoredWebhook {
                id: WebhookEventId::new(),
                provider: d.provider,
                provider_event_id: d.event_id.clone(),
                event_type: d.event_type.clone(),
                payload: d.payload.clone(),
                status,
                attempts: 1,
                received_at: d.at,
            }),
        }
        Ok(outcome)
    }

    async fn record(
        &self,
        provider: ProviderId,
        event_id: &str,
        event_type: &str,
        payload: &serde_json::Value,
        at: Timestamp,
    ) -> Result<Option<WebhookEventId>> {
        let mut commerce = self.commerce();
        commerce.fail_point("WebhookInbox::record")?;
        let until =
            at + chrono::Duration::from_std(WEBHOOK_LEASE).unwrap_or(chrono::Duration::hours(1));
        let commerce = &mut *commerce;
        if let Some(stored) = commerce
            .webhooks
            .iter_mut()
            .find(|w| w.provider == provider && w.provider_event_id == event_id)
        {
            let open = matches!(
                stored.status,
                WebhookEventStatus::Received | WebhookEventStatus::Failed
            );
            let held = commerce
                .webhook_leases
                .get(&stored.id)
                .is_some_and(|held_until| *held_until > at);
            if !open || held {
                return Ok(None);
            }
            stored.status = WebhookEventStatus::Received;
            stored.attempts += 1;
            commerce.webhook_leases.insert(stored.id, until);
            return Ok(Some(stored.id));
        }
        let id = WebhookEventId::new();
        commerce.webhooks.push(StoredWebhook {
            id,
            provider,
            provider_event_id: event_id.to_owned(),
            event_type: event_type.to_owned(),
            payload: payload.clone(),
            status: WebhookEventStatus::Received,
            attempts: 1,
            received_at: at,
        });
        commerce.webhook_leases.insert(id, until);
        Ok(Some(id))
    }

    async fn mark(
        &self,
        id: WebhookEventId,
        status: WebhookEventStatus,
        _error: Option<&str>,
        _at: Timestamp,
    ) -> Result<()> {
        let mut commerce = self.commerce();
        commerce.fail_point("WebhookInbox::mark")?;
        commerce.webhook_leases.remove(&id);
        if let Some(w) = commerce.webhooks.iter_mut().find(|w| w.id == id) {
            w.status = status;
        }
        Ok(())
    }

    async fn unprocessed(&self, before: Timestamp, limit: u32) -> Result<Vec<StoredWebhook>> {
        Ok(self
            .commerce()
            .webhooks
            .iter()
            .filter(|w| {
                matches!(
                    w.status,
                    WebhookEventStatus::Received | WebhookEventStatus::Failed
                ) && w.received_at < before
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

impl InMemory {
    /// `PaymentRepo::settle` past its failure point.
    async fn settle_now(&self, s: &Settlement) -> Result<SettleOutcome> {
        let current = {
            let commerce = self.commerce();
            commerce
                .payments
                .iter()
                .find(|p| p.id == s.payment_id)
                .cloned()
                .ok_or(Error::not_found("payment"))?
        };
        if !can_move(current.status, s.status) {
            return Ok(SettleOutcome::Stale(current));
        }
        if let Some(posting) = &s.posting {
            self.post_now(posting, s.at);
        }
        if let Some(share) = &s.refund_share {
            let refunded_before: i64 = self
                .commerce()
                .payments
                .iter()
                .filter(|p| {
                    p.refund_of == Some(share.charge)
                        && p.id != share.refund
                        && p.status == PaymentStatus::Succeeded
                })
                .map(|p| p.amount.amount)
                .sum();
            let posting = share
                .posting(refunded_before)
                .map_err(|e| anyhow::anyhow!("a refund's posting does not balance: {e}"))?;
            self.post_now(&posting, s.at);
        }
        let mut commerce = self.commerce();
        if let Some(change) = s.order_change {
            commerce.apply_change(change);
        }
        let mut events = s.events.clone();
        if let Some(refund) = &s.order_refund {
            let found = commerce
                .order_mut(refund.order_id)
                .map(|o| (o.status, o.refunded_amount));
            if let Some((status, refunded_before)) = found {
                let applied = refund.apply(status, refunded_before, s.at);
                if let Some(order) = commerce.order_mut(refund.order_id) {
                    order.refunded_amount = applied.refunded_amount;
                    order.updated_at = s.at;
                }
                if let Some(change) = applied.change {
                    commerce.apply_change(change);
                }
                events.push(applied.event);
            }
        }
        let p = commerce
            .payments
            .iter_mut()
            .find(|p| p.id == s.payment_id)
            .ok_or(Error::not_found("payment"))?;
        p.status = s.status;
        if p.provider_reference.is_none() {
            p.provider_reference.clone_from(&s.reference);
        }
        p.failure_code.clone_from(&s.failure_code);
        p.failure_message.clone_from(&s.failure_message);
        if s.status == PaymentStatus::Succeeded {
            p.succeeded_at = Some(s.at);
        }
        if is_final(s.status) {
            p.phase = PaymentAttemptPhase::Finished;
        }
        p.updated_at = s.at;
        let p = p.clone();
        drop(commerce);
        self.announce_events(&events);
        Ok(SettleOutcome::Applied(p))
    }

    /// Every webhook delivery stored, in arrival order.
    pub fn webhooks(&self) -> Vec<StoredWebhook> {
        self.commerce().webhooks.clone()
    }
}

#[async_trait]
impl ReconciliationRepo for InMemory {
    async fn start_run(
        &self,
        id: ReconciliationRunId,
        provider: ProviderId,
        from: Timestamp,
        to: Timestamp,
        at: Timestamp,
    ) -> Result<Option<ReconciliationRun>> {
        let mut commerce = self.commerce();
        let taken = commerce.runs.iter().any(|r| {
            (r.provider, r.from, r.to) == (provider, from, to)
                && matches!(
                    r.status,
                    ReconciliationStatus::Running | ReconciliationStatus::Clean
                )
        });
        if taken {
            return Ok(None);
        }
        let run = ReconciliationRun {
            id,
            provider,
            from,
            to,
            status: ReconciliationStatus::Running,
            matched: 0,
            discrepancies: Vec::new(),
            started_at: at,
            finished_at: None,
        };
        commerce.runs.push(run.clone());
        Ok(Some(run))
    }

    async fn finish_run(
        &self,
        id: ReconciliationRunId,
        outcome: &RunOutcome,
        audit: &[NewAuditEvent],
        context: &AuditContext,
        at: Timestamp,
    ) -> Result<()> {
        self.commerce()
            .fail_point("ReconciliationRepo::finish_run")?;
        self.commerce().finish(
            id,
            outcome.status,
            outcome.matched,
            &outcome.discrepancies,
            at,
        );
        for event in audit {
            AuditRepo::record(self, event.clone(), context).await?;
        }
        Ok(())
    }

    async fn run(&self, id: ReconciliationRunId) -> Result<Option<ReconciliationRun>> {
        Ok(self.commerce().runs.iter().find(|r| r.id == id).cloned())
    }
}
