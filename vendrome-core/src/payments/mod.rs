//! Payments: charges and refunds, the attempts that make them (with recovery points), the
//! webhooks that settle them, and reconciliation runs. The orchestrator that drives them lives
//! in `vendrome-payments`; this module holds the entities, the status rules and the ports.
//!
//! A payment's status only moves forward ([`PaymentStatus`]'s order in migration 7:
//! `pending -> requires_action -> processing -> succeeded | failed | cancelled`), so an old
//! webhook arriving after a newer one changes nothing ([`can_move`]).

pub mod provider;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::provider::{NextAction, PaymentProvider};
use crate::audit::{AuditContext, NewAuditEvent};
use crate::bookings::{BookingMove, PaidBooking};
use crate::enums::{
    PaymentAttemptPhase, PaymentKind, PaymentProvider as ProviderId, PaymentStatus,
    ReconciliationStatus, WebhookEventStatus,
};
use crate::ids::{
    BookingId, CampaignId, CommitmentId, OrderId, PaymentId, ReconciliationRunId, UserId,
    WebhookEventId,
};
use crate::investments::{Commitment, CommitmentMove};
use crate::ledger::postings::RefundShare;
use crate::ledger::Posting;
use crate::marketing::CampaignFunded;
use crate::money::Money;
use crate::orders::{Order, OrderRefund, StatusChange};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

/// How long an attempt may sit unfinished before the completer takes it over.
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether a payment in `from` may move to `to` (migration 7's comment). Equal statuses do not
/// "move"; terminal statuses never do.
pub fn can_move(from: PaymentStatus, to: PaymentStatus) -> bool {
    use PaymentStatus as S;
    match from {
        S::Pending => to != S::Pending,
        S::RequiresAction => !matches!(to, S::Pending | S::RequiresAction),
        S::Processing => matches!(to, S::Succeeded | S::Failed),
        S::Succeeded | S::Failed | S::Cancelled => false,
    }
}

/// Whether the status is an outcome.
pub fn is_final(status: PaymentStatus) -> bool {
    matches!(
        status,
        PaymentStatus::Succeeded | PaymentStatus::Failed | PaymentStatus::Cancelled
    )
}

/// A payment transaction (a charge or a refund) and where its attempt is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub kind: PaymentKind,
    pub provider: ProviderId,
    pub status: PaymentStatus,
    pub phase: PaymentAttemptPhase,
    /// Who pays (a charge), or who is paid back (a refund).
    pub payer_id: UserId,
    /// Who the money is for (the seller of an order, the provider of a booking).
    pub payee_id: Option<UserId>,
    pub order_id: Option<OrderId>,
    /// The booking a charge pays for (or a refund gives back), when it is not an order's.
    pub booking_id: Option<BookingId>,
    /// The marketing campaign a charge funds.
    pub marketing_campaign_id: Option<CampaignId>,
    /// The investment commitment a charge pays for (or a refund gives back).
    pub commitment_id: Option<CommitmentId>,
    /// For a refund: the charge it refunds.
    pub refund_of: Option<PaymentId>,
    pub amount: Money,
    /// The platform's fee within `amount` (for a charge).
    pub fee_amount: i64,
    /// Ours, unique; the provider sees it as its idempotency key.
    pub idempotency_key: String,
    pub provider_reference: Option<String>,
    pub method: Option<String>,
    pub return_url: Option<String>,
    pub next_action: Option<NextAction>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub succeeded_at: Option<Timestamp>,
}

/// A payment as the orchestrator records it at its first recovery point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub id: PaymentId,
    pub kind: PaymentKind,
    pub provider: ProviderId,
    pub payer_id: UserId,
    pub payee_id: Option<UserId>,
    pub order_id: Option<OrderId>,
    pub booking_id: Option<BookingId>,
    pub marketing_campaign_id: Option<CampaignId>,
    pub commitment_id: Option<CommitmentId>,
    pub refund_of: Option<PaymentId>,
    pub amount: Money,
    pub fee_amount: i64,
    /// Derived from the caller's `Idempotency-Key` and what it is for (`order:<id>:<key>`), so
    /// a retried request finds the attempt it started.
    pub idempotency_key: String,
    pub method: Option<String>,
    pub return_url: Option<String>,
    pub created_at: Timestamp,
}

/// The outcome of [`PaymentRepo::start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started(Payment),
    /// An attempt with this idempotency key exists: that one, as it is now.
    Existing(Payment),
    /// The order (or booking) already has a succeeded charge (checkout of a paid one).
    AlreadyPaid(Payment),
    /// Refunds of the charge would add up to more than it (for a refund).
    ExceedsRefundable {
        refundable: i64,
    },
}

/// The provider's answer, recorded at the second recovery point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCalled {
    pub payment_id: PaymentId,
    pub reference: String,
    pub status: PaymentStatus,
    pub next_action: NextAction,
    pub at: Timestamp,
}

/// Everything an outcome changes, written in one transaction: the payment's status (only if
/// [`can_move`] allows it), the ledger posting (once per its key), the order's move and refund
/// total, and the outbox events.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    /// The provider's reference, when the outcome brings the first one we know.
    pub reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub posting: Option<Posting>,
    /// A refund's posting, built and written by `settle` from the charge's refunded total as of
    /// its own transaction.
    pub refund_share: Option<RefundShare>,
    /// Applied only if the order is still in `from`.
    pub order_change: Option<StatusChange>,
    /// A succeeded refund's effect on its order, applied by `settle` from the order as it is
    /// in its own transaction (see [`OrderRefund`]).
    pub order_refund: Option<OrderRefund>,
    /// A succeeded charge's move of the booking it pays for, applied (with its event) only if
    /// the booking is still in `change.from`.
    pub booking_move: Option<BookingMove>,
    /// A succeeded funding charge's campaign, scheduled only if it is still an unfunded draft.
    pub campaign_funded: Option<CampaignFunded>,
    /// A succeeded charge's or refund's move of the commitment it is for, applied (with the
    /// campaign's totals) only if the commitment is still in `from`.
    pub commitment_move: Option<CommitmentMove>,
    pub events: Vec<NewEvent>,
    pub at: Timestamp,
}

/// The outcome of [`PaymentRepo::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The status moved and every effect was written.
    Applied(Payment),
    /// The payment was already at or past this status: nothing was written.
    Stale(Payment),
}

/// Storage of payments and their attempts.
#[async_trait]
pub trait PaymentRepo: Send + Sync {
    /// First recovery point: records the attempt (`pending`, `started`), unless one with its
    /// idempotency key exists. For a charge of an order (or a booking), refuses when it already
    /// has a succeeded charge; for a refund, when refunds of the charge (pending or succeeded) would
    /// exceed it. The checks and the insert are one transaction.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn start(&self, payment: &NewPayment) -> Result<StartOutcome>;

    /// Second recovery point: stores the provider's reference, status (if it moves forward) and
    /// next action, and moves the phase from `started` to `provider_called`. Returns the
    /// payment as it is after (unchanged when it was past `started`).
    ///
    /// MUST return [`Error::NotFound`](crate::Error::NotFound) (`payment`) when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn provider_called(&self, call: &ProviderCalled) -> Result<Payment>;

    /// Last recovery point: applies the settlement in one transaction (see [`Settlement`]); the
    /// phase becomes `finished` when the status is final. A [`RefundShare`] is posted with the
    /// sum of the charge's other succeeded refunds read under a lock on the charge, so refunds
    /// of one charge settling at once give back fee shares that add up to the charge's fee.
    /// Likewise an [`OrderRefund`] is applied to the order as read under a lock on it in the
    /// same transaction: each refund adds to the refunded total and writes one `order.refunded`
    /// event with the running total, after the settlement's own events; of refunds settling at
    /// once, the one that completes the order's total moves the order to `refunded`.
    ///
    /// MUST return [`Error::NotFound`](crate::Error::NotFound) (`payment`) when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails or the
    /// refund's posting does not balance.
    async fn settle(&self, settlement: &Settlement) -> Result<SettleOutcome>;

    /// The payment, `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>>;

    /// The payment the provider knows by `reference`, `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn payment_by_reference(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Option<Payment>>;

    /// The member's payments as payer or payee, newest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn payments_of(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Payment>, Option<Cursor>)>;

    /// The order's payments (charges and refunds), oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn payments_for_order(&self, order: OrderId) -> Result<Vec<Payment>>;

    /// The booking's payments (charges and refunds), oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn payments_for_booking(&self, booking: BookingId) -> Result<Vec<Payment>>;

    /// The commitment's payments (charges and refunds), oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn payments_for_commitment(&self, commitment: CommitmentId) -> Result<Vec<Payment>>;

    /// Leases up to `limit` attempts not `finished` and not touched since `idle_since`, for
    /// `lease` (so another instance's completer skips them), oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn claim_abandoned(
        &self,
        idle_since: Timestamp,
        now: Timestamp,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Payment>>;

    /// Succeeded charges and refunds of `provider` whose success falls in `[from, to)`, for
    /// reconciliation.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn succeeded_between(
        &self,
        provider: ProviderId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>>;
}

/// A webhook delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhook {
    pub id: WebhookEventId,
    pub provider: ProviderId,
    pub provider_event_id: String,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub status: WebhookEventStatus,
    pub attempts: i32,
    pub received_at: Timestamp,
}

/// How long a delivery handed out by [`WebhookInbox::record`] is held for its processing: a
/// redelivery of the same event within it is a duplicate, one after it (the processing crashed)
/// takes the delivery over.
pub const WEBHOOK_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// A verified webhook delivery, as [`WebhookInbox::process`] records it and acts on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub provider: ProviderId,
    pub event_id: String,
    pub event_type: String,
    pub payload: serde_json::Value,
    /// The payment it is about; `None` for an event we do not act on (recorded `ignored`).
    pub target: Option<DeliveryTarget>,
    pub at: Timestamp,
}

/// How a delivery names its payment: the provider's reference, or, when no payment has it yet
/// (the answer to our create was lost), our own id echoed by the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryTarget {
    pub reference: String,
    pub payment_id: Option<PaymentId>,
}

/// What a delivery's transaction found, under a lock on the payment's row, for the
/// orchestrator to decide the settlement from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub payment: Payment,
    /// The payment's order as it is in the transaction, without its lines (`items` is empty).
    pub order: Option<Order>,
    /// For a refund: the charge it refunds.
    pub charge: Option<Payment>,
    /// The payment's booking as it is in the transaction (locked on PostgreSQL).
    pub booking: Option<PaidBooking>,
    /// The payment's commitment as it is in the transaction.
    pub commitment: Option<Commitment>,
}

/// Decides what a delivery writes from what its transaction found: `None` when it writes
/// nothing (the payment is already at or past the event's status).
pub type Plan<'a> = dyn Fn(&Found) -> Result<Option<Settlement>> + Send + Sync + 'a;

/// The outcome of [`WebhookInbox::process`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// The settlement was written; the payment as it is after.
    Applied(Payment),
    /// The payment was already at or past the event's status: nothing moved.
    Stale(Payment),
    /// This provider's event id was already processed or ignored, or its processing is held by
    /// another delivery: nothing was written.
    Duplicate,
    /// No payment has the target (or the delivery has none): recorded as `ignored`.
    Ignored,
}

/// Storage of verified webhook deliveries, deduplicated by the provider's event id.
#[async_trait]
pub trait WebhookInbox: Send + Sync {
    /// Records a delivery and acts on it in one transaction: stores the provider's event id
    /// (a duplicate as [`record`](Self::record) defines it writes nothing and answers
    /// [`Processed::Duplicate`]; of several concurrent deliveries of one event, exactly one
    /// acts), finds and locks the target payment (by reference, then by the echoed id of the
    /// same provider), reads its order (and a refund's charge), calls `plan` with them, applies
    /// the settlement it returns as [`PaymentRepo::settle`] does (only if [`can_move`] allows
    /// it), and marks the delivery `processed` (`ignored` when no payment has the target). A
    /// failure anywhere, `plan`'s included, rolls everything back: nothing is stored, so the
    /// provider's redelivery is processed afresh, and money never moves twice.
    ///
    /// # Errors
    ///
    /// `plan`'s error, unchanged; [`Error::Unexpected`](crate::Error::Unexpected) when the
    /// storage fails or a refund's posting does not balance.
    async fn process(&self, delivery: &Delivery, plan: &Plan<'_>) -> Result<Processed>;

    /// Stores a verified delivery and hands it out for processing, held for [`WEBHOOK_LEASE`]
    /// from `at`. A first delivery is stored `received` with one attempt. A redelivery of an
    /// event already `processed` or `ignored`, or one whose processing is still held, is a
    /// duplicate: `None`, nothing changes. A redelivery of an event still `received` or
    /// `failed` whose hold has lapsed is handed back (`Some` of the stored id), `received` again
    /// with one more attempt: of several concurrent deliveries of one event exactly one gets
    /// `Some`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn record(
        &self,
        provider: ProviderId,
        event_id: &str,
        event_type: &str,
        payload: &serde_json::Value,
        at: Timestamp,
    ) -> Result<Option<WebhookEventId>>;

    /// Records the outcome of processing a delivery handed out by [`record`](Self::record) and
    /// releases its hold.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn mark(
        &self,
        id: WebhookEventId,
        status: WebhookEventStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()>;

    /// Up to `limit` deliveries `received` or `failed` and received before `before`, oldest
    /// first, for the retry task.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn unprocessed(&self, before: Timestamp, limit: u32) -> Result<Vec<StoredWebhook>>;
}

/// One difference reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// The provider settled it; the ledger has no posting for it.
    MissingInLedger { reference: String, amount: Money },
    /// The ledger has it; the provider did not settle it in the window.
    MissingAtProvider {
        reference: String,
        payment_id: PaymentId,
        amount: Money,
    },
    /// Both have it, with different amounts: `ledger` is what the ledger posted, or, for a
    /// payment still open here, the amount it is for.
    AmountMismatch {
        reference: String,
        payment_id: PaymentId,
        ledger: Money,
        provider: Money,
    },
}

/// A reconciliation run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconciliationRun {
    pub id: ReconciliationRunId,
    pub provider: ProviderId,
    pub from: Timestamp,
    pub to: Timestamp,
    pub status: ReconciliationStatus,
    pub matched: i64,
    pub discrepancies: Vec<Discrepancy>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// How a run ended, as [`ReconciliationRepo::finish_run`] stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: ReconciliationStatus,
    pub matched: i64,
    pub discrepancies: Vec<Discrepancy>,
}

/// Storage of reconciliation runs.
#[async_trait]
pub trait ReconciliationRepo: Send + Sync {
    /// Starts a run for `provider` over `[from, to)`; `None` when a run for the same provider
    /// and window is already running or finished clean (so several instances run it once).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn start_run(
        &self,
        id: ReconciliationRunId,
        provider: ProviderId,
        from: Timestamp,
        to: Timestamp,
        at: Timestamp,
    ) -> Result<Option<ReconciliationRun>>;

    /// Stores the run's outcome and records `audit` (one event per discrepancy, attributed to
    /// `context`) in the same transaction: a run is never finished without its audit events,
    /// nor are they recorded without it.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails (nothing is
    /// written).
    async fn finish_run(
        &self,
        id: ReconciliationRunId,
        outcome: &RunOutcome,
        audit: &[NewAuditEvent],
        context: &AuditContext,
        at: Timestamp,
    ) -> Result<()>;

    /// The run, `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn run(&self, id: ReconciliationRunId) -> Result<Option<ReconciliationRun>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqlEnum as _;

    #[test]
    fn statuses_only_move_forward() {
        use PaymentStatus as S;
        let allowed = [
            (S::Pending, S::RequiresAction),
            (S::Pending, S::Processing),
            (S::Pending, S::Succeeded),
            (S::Pending, S::Failed),
            (S::Pending, S::Cancelled),
            (S::RequiresAction, S::Processing),
            (S::RequiresAction, S::Succeeded),
            (S::RequiresAction, S::Failed),
            (S::RequiresAction, S::Cancelled),
            (S::Processing, S::Succeeded),
            (S::Processing, S::Failed),
        ];
        for &from in S::ALL {
            for &to in S::ALL {
                assert_eq!(
                    can_move(from, to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }
}
