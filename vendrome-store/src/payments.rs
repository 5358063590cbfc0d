//! [`PaymentRepo`] on both databases: payment attempts and their recovery points.
//!
//! Every transaction that reads a payment before changing it first locks the row it depends on
//! (`FOR UPDATE` on PostgreSQL; a no-op `UPDATE` on SQLite, so the transaction holds the write
//! lock before it reads): the order for a charge's start, the charge for a refund's start, the
//! payment itself for its later phases. Concurrent settlements of one payment therefore queue
//! up, and only the first whose status may move ([`can_move`]) writes anything; its posting, the
//! order's (or booking's) move and the outbox events commit with the status in one transaction.
//! A charge of a booking locks the booking at its start, as a charge of an order locks the order.

use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::types::Json;
use sqlx::{FromRow as _, PgConnection, Row as _, SqliteConnection};
use uuid::Uuid;
use vendrome_core::calendar::managed::{booking_mirror, Mirror};
use vendrome_core::enums::{
    OrderStatus, PaymentAttemptPhase, PaymentKind, PaymentProvider as ProviderId, PaymentStatus,
};
use vendrome_core::ids::{BookingId, CampaignId, CommitmentId, OrderId, PaymentId, UserId};
use vendrome_core::money::Money;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::payments::{
    can_move, is_final, NewPayment, NextAction, Payment, PaymentRepo, ProviderCalled,
    SettleOutcome, Settlement, StartOutcome,
};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result, SqlEnum as _};

use crate::calendar_mirror::MirrorWrites as _;
use crate::error::SqlxResultExt as _;
use crate::investment_rows::CommitmentWrites as _;
use crate::ledger::LedgerWrites as _;
use crate::orders::{parse_currency, OrderWrites as _};
use crate::settle_batches;
use crate::settlement_postgres::CombinedSettlement as _;
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Dialect, Store};

pub(crate) const PAYMENT_COLUMNS: &str = "id, kind, provider, status, attempt_phase, user_id, payee_id, \
    order_id, booking_id, refund_of_id, amount, currency, fee_amount, idempotency_key, provider_reference, \
    method, return_url, next_action, failure_code, failure_message, created_at, updated_at, succeeded_at, \
    marketing_campaign_id, commitment_id";

#[derive(sqlx::FromRow)]
pub(crate) struct PaymentRow {
    id: Uuid,
    kind: DbEnum<PaymentKind>,
    pub(crate) provider: DbEnum<ProviderId>,
    pub(crate) status: DbEnum<PaymentStatus>,
    pub(crate) attempt_phase: DbEnum<PaymentAttemptPhase>,
    user_id: Uuid,
    payee_id: Option<Uuid>,
    order_id: Option<Uuid>,
    booking_id: Option<Uuid>,
    refund_of_id: Option<Uuid>,
    amount: i64,
    currency: String,
    fee_amount: i64,
    idempotency_key: String,
    provider_reference: Option<String>,
    method: Option<String>,
    return_url: Option<String>,
    next_action: Option<Json<NextAction>>,
    failure_code: Option<String>,
    failure_message: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    succeeded_at: Option<Timestamp>,
    marketing_campaign_id: Option<Uuid>,
    commitment_id: Option<Uuid>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = Error;
    fn try_from(r: PaymentRow) -> Result<Self> {
        Ok(Payment {
            id: PaymentId::from_uuid(r.id),
            kind: r.kind.0,
            provider: r.provider.0,
            status: r.status.0,
            phase: r.attempt_phase.0,
            payer_id: UserId::from_uuid(r.user_id),
            payee_id: r.payee_id.map(UserId::from_uuid),
            order_id: r.order_id.map(OrderId::from_uuid),
            booking_id: r.booking_id.map(BookingId::from_uuid),
            marketing_campaign_id: r.marketing_campaign_id.map(CampaignId::from_uuid),
            commitment_id: r.commitment_id.map(CommitmentId::from_uuid),
            refund_of: r.refund_of_id.map(PaymentId::from_uuid),
            amount: Money::new(r.amount, parse_currency(&r.currency)?),
            fee_amount: r.fee_amount,
            idempotency_key: r.idempotency_key,
            provider_reference: r.provider_reference,
            method: r.method,
            return_url: r.return_url,
            next_action: r.next_action.map(|j| j.0),
            failure_code: r.failure_code,
            failure_message: r.failure_message,
            created_at: r.created_at,
            updated_at: r.updated_at,
            succeeded_at: r.succeeded_at,
        })
    }
}

fn missing() -> Error {
    Error::Unexpected(anyhow::anyhow!(
        "a payment read in its own transaction is missing"
    ))
}

/// Locks a payment row for the rest of the transaction and reads it.
pub(crate) fn lock_payment(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => {
            format!("SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE id = $1 FOR UPDATE")
        }
        Dialect::Sqlite => format!(
            "UPDATE payment_transactions SET id = id WHERE id = $1 RETURNING {PAYMENT_COLUMNS}"
        ),
    }
}

/// The columns a payment's start writes, and their parameters (`$16`, its instant, twice).
const START_COLUMNS: &str = "id, kind, provider, status, attempt_phase, user_id, payee_id, \
    order_id, refund_of_id, currency, amount, fee_amount, idempotency_key, method, return_url, \
    created_at, updated_at, booking_id, marketing_campaign_id, commitment_id";
const START_VALUES: &str =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19";

/// Binds a [`NewPayment`] to [`START_VALUES`], as a pending payment at its first recovery point.
macro_rules! bind_new_payment {
    ($query:expr, $payment:expr) => {
        $query
            .bind($payment.id.as_uuid())
            .bind(DbEnum($payment.kind))
            .bind(DbEnum($payment.provider))
            .bind(DbEnum(PaymentStatus::Pending))
            .bind(DbEnum(PaymentAttemptPhase::Started))
            .bind($payment.payer_id.as_uuid())
            .bind($payment.payee_id.map(|u| u.as_uuid()))
            .bind($payment.order_id.map(|o| o.as_uuid()))
            .bind($payment.refund_of.map(|p| p.as_uuid()))
            .bind($payment.amount.currency.as_str())
            .bind($payment.amount.amount)
            .bind($payment.fee_amount)
            .bind(&$payment.idempotency_key)
            .bind(&$payment.method)
            .bind(&$payment.return_url)
            .bind($payment.created_at)
            .bind($payment.booking_id.map(|b| b.as_uuid()))
            .bind($payment.marketing_campaign_id.map(|c| c.as_uuid()))
            .bind($payment.commitment_id.map(|c| c.as_uuid()))
    };
}

fn lock_order(dialect: Dialect) -> &'static str {
    dialect.pick(
        "SELECT id FROM orders WHERE id = $1 FOR UPDATE",
        "UPDATE orders SET id = id WHERE id = $1 RETURNING id",
    )
}

fn lock_campaign(dialect: Dialect) -> &'static str {
    dialect.pick(
        "SELECT id FROM marketing_campaigns WHERE id = $1 FOR UPDATE",
        "UPDATE marketing_campaigns SET id = id WHERE id = $1 RETURNING id",
    )
}

fn lock_booking(dialect: Dialect) -> &'static str {
    dialect.pick(
        "SELECT id FROM bookings WHERE id = $1 FOR UPDATE",
        "UPDATE bookings SET id = id WHERE id = $1 RETURNING id",
    )
}

fn lock_commitment(dialect: Dialect) -> &'static str {
    dialect.pick(
        "SELECT id FROM investment_commitments WHERE id = $1 FOR UPDATE",
        "UPDATE investment_commitments SET id = id WHERE id = $1 RETURNING id",
    )
}

/// A settlement's update of its payment (`$1`–`$8`, bound by [`bind_settled_payment`]).
pub(crate) const SETTLED_PAYMENT: &str = "UPDATE payment_transactions SET status = $2, \
    attempt_phase = $3, provider_reference = COALESCE(provider_reference, $4), \
    failure_code = COALESCE($5, failure_code), failure_message = COALESCE($6, failure_message), \
    succeeded_at = COALESCE($7, succeeded_at), \
    locked_until = CASE WHEN $3 = 'finished' THEN NULL ELSE locked_until END, \
    updated_at = $8 WHERE id = $1";

/// Binds [`SETTLED_PAYMENT`]'s arguments for the settlement `$s` at the attempt phase `$phase`.
macro_rules! bind_settled_payment {
    ($query:expr, $s:expr, $phase:expr) => {
        $query
            .bind($s.payment_id.as_uuid())
            .bind($crate::sql_enum::DbEnum($s.status))
            .bind($crate::sql_enum::DbEnum($phase))
            .bind(&$s.reference)
            .bind(&$s.failure_code)
            .bind(&$s.failure_message)
            .bind(($s.status == vendrome_core::enums::PaymentStatus::Succeeded).then_some($s.at))
            .bind($s.at)
    };
}
pub(crate) use bind_settled_payment;

/// The last recovery point's writes inside a transaction that has locked the payment's row and
/// checked that its status may move ([`can_move`]): shared by [`PaymentRepo::settle`] and
/// `WebhookInbox::process`.
pub(crate) trait SettlementWrites {
    /// Writes `s` (status, posting, refund share, order move and refund, events) and answers the
    /// payment's row as it is after.
    fn apply_settlement<'a>(
        &'a mut self,
        dialect: Dialect,
        current_phase: PaymentAttemptPhase,
        s: &'a Settlement,
    ) -> BoxFuture<'a, sqlx::Result<PaymentRow>>;
}

macro_rules! impl_settlement_writes {
    ($conn:ty) => {
        impl SettlementWrites for $conn {
            fn apply_settlement<'a>(
                &'a mut self,
                dialect: Dialect,
                current_phase: PaymentAttemptPhase,
                s: &'a Settlement,
            ) -> BoxFuture<'a, sqlx::Result<PaymentRow>> {
                Box::pin(async move {
                    let phase = if is_final(s.status) { PaymentAttemptPhase::Finished } else { current_phase };
                    // On PostgreSQL the common settlement is one statement, its posting included.
                    if dialect == Dialect::Postgres {
                        if let Some(updated) = self.settle_combined(phase, s).await? {
                            return Ok(updated);
                        }
                    }
                    let updated: PaymentRow = bind_settled_payment!(
                        sqlx::query_as(&format!("{SETTLED_PAYMENT} RETURNING {PAYMENT_COLUMNS}")),
                        s,
                        phase
                    )
                    .fetch_one(&mut *self)
                    .await?;
                    if let Some(posting) = &s.posting {
                        self.write_posting(posting, s.at).await?;
                    }
                    if let Some(share) = &s.refund_share {
                        // Refunds of one charge settle one at a time behind the charge's row lock, so
                        // each reads the refunds that settled before it.
                        sqlx::query(&lock_payment(dialect))
                            .bind(share.charge.as_uuid())
                            .execute(&mut *self)
                            .await?;
                        let refunded_before: i64 = sqlx::query_scalar(
                            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payment_transactions \
                             WHERE refund_of_id = $1 AND id <> $2 AND kind = 'refund' AND status = 'succeeded'",
                        )
                        .bind(share.charge.as_uuid())
                        .bind(share.refund.as_uuid())
                        .fetch_one(&mut *self)
                        .await?;
                        let posting = share
                            .posting(refunded_before)
                            .map_err(|e| sqlx::Error::InvalidArgument(format!("a refund's posting: {e}")))?;
                        self.write_posting(&posting, s.at).await?;
                    }
                    if let Some(change) = s.order_change {
                        self.apply_status_change(change).await?;
                    }
                    if let Some(m) = &s.commitment_move {
                        // A compare-and-set, with the campaign's totals: a commitment that moved
                        // meanwhile keeps its status and the totals are not touched.
                        self.apply_commitment_move(m).await?;
                    }
                    if let Some(booking) = &s.booking_move {
                        // A compare-and-set: a booking that moved meanwhile (cancelled, expired)
                        // keeps its status, and its move's event is not written.
                        let moved = sqlx::query(
                            "UPDATE bookings SET status = $2, updated_at = $4 WHERE id = $1 AND status = $3",
                        )
                        .bind(booking.change.booking_id.as_uuid())
                        .bind(DbEnum(booking.change.to))
                        .bind(DbEnum(booking.change.from))
                        .bind(booking.change.at)
                        .execute(&mut *self)
                        .await?
                        .rows_affected();
                        if moved == 1 {
                            self.append_event(&booking.event, s.at).await?;
                            // A paid booking confirmed by its payment: both parties' events.
                            if booking_mirror(booking.change.to) != Mirror::Unchanged {
                                self.mirror_booking(booking.change.booking_id, s.at).await?;
                            }
                        }
                    }
                    if let Some(funded) = &s.campaign_funded {
                        // A compare-and-set: only an unfunded draft is scheduled by its funding.
                        let moved = sqlx::query(
                            "UPDATE marketing_campaigns SET status = 'scheduled', funding_payment_id = $2, \
                             updated_at = $3 WHERE id = $1 AND status = 'draft' AND funding_payment_id IS NULL",
                        )
                        .bind(funded.campaign_id.as_uuid())
                        .bind(funded.payment_id.as_uuid())
                        .bind(s.at)
                        .execute(&mut *self)
                        .await?
                        .rows_affected();
                        if moved == 1 {
                            self.append_event(&funded.event, s.at).await?;
                        }
                    }
                    self.append_events(&s.events, s.at).await?;
                    if let Some(refund) = &s.order_refund {
                        // The update locks the order, so refunds of it settling at once each read the
                        // status and refunded total the ones before them left.
                        let found: Option<(DbEnum<OrderStatus>, i64)> = sqlx::query_as(
                            "UPDATE orders SET refunded_amount = refunded_amount + $2, updated_at = $3 \
                             WHERE id = $1 RETURNING status, refunded_amount",
                        )
                        .bind(refund.order_id.as_uuid())
                        .bind(refund.amount)
                        .bind(s.at)
                        .fetch_optional(&mut *self)
                        .await?;
                        if let Some((status, refunded)) = found {
                            let applied = refund.apply(status.0, refunded - refund.amount, s.at);
                            if let Some(change) = applied.change {
                                self.apply_status_change(change).await?;
                            }
                            self.append_event(&applied.event, s.at).await?;
                        }
                    }
                    Ok(updated)
                })
            }
        }
    };
}

impl_settlement_writes!(PgConnection);
impl_settlement_writes!(SqliteConnection);

/// What [`PaymentRepo::start`] decided inside its transaction.
enum Started {
    Inserted(Box<PaymentRow>),
    Existing,
    AlreadyPaid(Box<PaymentRow>),
    ExceedsRefundable(i64),
}

/// Refunds that may still take money: every status but failed and cancelled.
const LIVE_REFUNDS: &str =
    "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payment_transactions \
    WHERE refund_of_id = $1 AND id <> $2 AND status NOT IN ('failed', 'cancelled')";

impl Store {
    async fn payment_where(&self, condition: &str, id: Uuid) -> Result<Option<Payment>> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE {condition}");
        let row: Option<PaymentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(Payment::try_from).transpose()
    }

    async fn existing_payment(&self, key: &str) -> Result<Payment> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE idempotency_key = $1"
        );
        let row: Option<PaymentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(key).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.ok_or_else(missing).and_then(Payment::try_from)
    }

    async fn payments_query(&self, sql: &str, id: Uuid) -> Result<Vec<Payment>> {
        let rows: Vec<PaymentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(sql).bind(id).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(Payment::try_from).collect()
    }
}

#[async_trait]
impl PaymentRepo for Store {
    #[tracing::instrument(skip_all, fields(payment = %payment.id))]
    async fn start(&self, payment: &NewPayment) -> Result<StartOutcome> {
        let succeeded_charge = |of: &str| {
            format!(
                "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE {of} = $1 AND id <> $2 \
                 AND kind = 'charge' AND status = 'succeeded' LIMIT 1"
            )
        };
        // What a charge pays for: an order, a booking, a commitment or a marketing campaign,
        // whose row the checks lock.
        let paid_for = match (
            payment.order_id,
            payment.booking_id,
            payment.commitment_id,
            payment.marketing_campaign_id,
        ) {
            (Some(order), _, _, _) => Some(("order_id", order.as_uuid())),
            (None, Some(booking), _, _) => Some(("booking_id", booking.as_uuid())),
            (None, None, Some(commitment), _) => Some(("commitment_id", commitment.as_uuid())),
            (None, None, None, Some(campaign)) => {
                Some(("marketing_campaign_id", campaign.as_uuid()))
            }
            (None, None, None, None) => None,
        };
        // On PostgreSQL a charge of an order that awaits payment is one statement: the order's
        // lock and the insert. `FOR UPDATE` reads the order's newest status after waiting for a
        // settlement under way, and a charge that succeeded moved its order off
        // `pending_payment` in the same transaction ([`Settlement::order_change`]), so an order
        // still awaiting payment has no succeeded charge. Anything else (a used key, an order
        // that moved on) goes the general way below, which says which it was.
        if let (crate::Db::Postgres(pool), PaymentKind::Charge, Some(("order_id", _))) =
            (&self.db, payment.kind, paid_for)
        {
            let sql = format!(
                "WITH anchor AS (SELECT id FROM orders WHERE id = $8 AND status = 'pending_payment' \
                 FOR UPDATE) INSERT INTO payment_transactions ({START_COLUMNS}) \
                 SELECT {START_VALUES} FROM anchor \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING {PAYMENT_COLUMNS}"
            );
            let started: Option<PaymentRow> = bind_new_payment!(sqlx::query_as(&sql), payment)
                .fetch_optional(pool)
                .await
                .or_unexpected()?;
            if let Some(row) = started {
                return Payment::try_from(row).map(StartOutcome::Started);
            }
        }
        let decided = with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            // The order (a charge) or the charge (a refund) the checks read, locked first.
            let anchor = match (payment.kind, payment.refund_of, paid_for) {
                (PaymentKind::Refund, Some(charge), _) => Some((lock_payment(dialect), charge.as_uuid())),
                (PaymentKind::Charge, _, Some(("order_id", order))) => Some((lock_order(dialect).to_owned(), order)),
                (PaymentKind::Charge, _, Some(("booking_id", booking))) => Some((lock_booking(dialect).to_owned(), booking)),
                (PaymentKind::Charge, _, Some(("commitment_id", commitment))) => Some((lock_commitment(dialect).to_owned(), commitment)),
                (PaymentKind::Charge, _, Some((_, campaign))) => Some((lock_campaign(dialect).to_owned(), campaign)),
                _ => None,
            };
            if let Some((sql, id)) = &anchor {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            let insert = format!(
                "INSERT INTO payment_transactions ({START_COLUMNS}) VALUES ({START_VALUES}) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING {PAYMENT_COLUMNS}",
            );
            // On PostgreSQL a charge's insert and its check for a charge that already succeeded
            // are one statement: its snapshot is taken after the anchor's lock, as the check's
            // own would be.
            let check_with_insert = match (dialect, payment.kind, paid_for) {
                (Dialect::Postgres, PaymentKind::Charge, Some((of, _))) => Some(of),
                _ => None,
            };
            let sql = match check_with_insert {
                Some(of) => format!(
                    "WITH ins AS ({insert}) SELECT ins.*, (SELECT paid.id FROM payment_transactions paid \
                     WHERE paid.{of} = ins.{of} AND paid.id <> ins.id AND paid.kind = 'charge' \
                     AND paid.status = 'succeeded' LIMIT 1) AS paid_id FROM ins"
                ),
                None => insert,
            };
            let inserted = bind_new_payment!(sqlx::query(&sql), payment)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(inserted) = inserted else {
                return Ok(Started::Existing);
            };
            let paid_id: Option<Uuid> = match check_with_insert {
                Some(_) => inserted.try_get("paid_id")?,
                None => None,
            };
            let inserted = PaymentRow::from_row(&inserted)?;
            match (payment.kind, payment.refund_of, paid_for) {
                (PaymentKind::Refund, Some(charge), _) => {
                    let charged: Option<i64> =
                        sqlx::query_scalar("SELECT amount FROM payment_transactions WHERE id = $1")
                            .bind(charge.as_uuid())
                            .fetch_optional(&mut *tx)
                            .await?;
                    let refunded: i64 = sqlx::query_scalar(LIVE_REFUNDS)
                        .bind(charge.as_uuid())
                        .bind(payment.id.as_uuid())
                        .fetch_one(&mut *tx)
                        .await?;
                    // A campaign's refund takes at most the remainder its end released, which
                    // is none until it ended.
                    let released: Option<i64> = match payment.marketing_campaign_id {
                        Some(campaign) => Some(
                            sqlx::query_scalar::<_, Option<i64>>(
                                "SELECT released_amount FROM marketing_campaigns WHERE id = $1",
                            )
                            .bind(campaign.as_uuid())
                            .fetch_optional(&mut *tx)
                            .await?
                            .flatten()
                            .unwrap_or(0),
                        ),
                        None => None,
                    };
                    let cap = charged.unwrap_or(0).min(released.unwrap_or(i64::MAX));
                    let refundable = cap - refunded;
                    if payment.amount.amount > refundable {
                        return Ok(Started::ExceedsRefundable(refundable.max(0)));
                    }
                }
                (PaymentKind::Charge, _, Some((of, id))) => {
                    let check = check_with_insert.is_none() || paid_id.is_some();
                    let paid: Option<PaymentRow> = if check {
                        sqlx::query_as(&succeeded_charge(of))
                            .bind(id)
                            .bind(payment.id.as_uuid())
                            .fetch_optional(&mut *tx)
                            .await?
                    } else {
                        None
                    };
                    if let Some(paid) = paid {
                        return Ok(Started::AlreadyPaid(Box::new(paid)));
                    }
                }
                _ => {}
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Started::Inserted(Box::new(inserted)))
        })
        .or_unexpected()?;
        match decided {
            Started::Inserted(row) => Payment::try_from(*row).map(StartOutcome::Started),
            Started::Existing => self
                .existing_payment(&payment.idempotency_key)
                .await
                .map(StartOutcome::Existing),
            Started::AlreadyPaid(row) => Payment::try_from(*row).map(StartOutcome::AlreadyPaid),
            Started::ExceedsRefundable(refundable) => {
                Ok(StartOutcome::ExceedsRefundable { refundable })
            }
        }
    }

    #[tracing::instrument(skip_all, fields(payment = %call.payment_id))]
    async fn provider_called(&self, call: &ProviderCalled) -> Result<Payment> {
        // One statement, its own transaction: the row's lock is the update's. A payment still at
        // `started` takes the provider's answer, its status only where it may move from the
        // stored one (a webhook may have settled it first); any other phase is left as it is.
        // The enum's own labels, written into the text: one statement text per status.
        let statuses = PaymentStatus::ALL
            .iter()
            .filter(|from| can_move(**from, call.status))
            .map(|from| format!("'{}'", from.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE payment_transactions SET provider_reference = $2, \
             status = CASE WHEN status IN ({statuses}) THEN $3 ELSE status END, next_action = $4, \
             attempt_phase = $5, updated_at = $6 WHERE id = $1 AND attempt_phase = 'started' \
             RETURNING {PAYMENT_COLUMNS}",
        );
        let found: Option<PaymentRow> = with_db!(&self.db, pool => {
            let updated: Option<PaymentRow> = sqlx::query_as(&sql)
                .bind(call.payment_id.as_uuid())
                .bind(&call.reference)
                .bind(DbEnum(call.status))
                .bind(Json(&call.next_action))
                .bind(DbEnum(PaymentAttemptPhase::ProviderCalled))
                .bind(call.at)
                .fetch_optional(pool)
                .await?;
            match updated {
                Some(row) => Ok(Some(row)),
                // Past `started` already (or no such payment): as it is.
                None => {
                    sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE id = $1"))
                        .bind(call.payment_id.as_uuid())
                        .fetch_optional(pool)
                        .await
                }
            }
        })
        .or_unexpected()?;
        found
            .ok_or(Error::not_found("payment"))
            .and_then(Payment::try_from)
    }

    #[tracing::instrument(skip_all, fields(payment = %settlement.payment_id, status = %settlement.status))]
    async fn settle(&self, settlement: &Settlement) -> Result<SettleOutcome> {
        let settled =
            settle_batches::settle(&self.batches.settlements, &self.db, settlement.clone())
                .await
                .or_unexpected()?;
        let Some((applied, row)) = settled else {
            return Err(Error::not_found("payment"));
        };
        let payment = Payment::try_from(row)?;
        Ok(if applied {
            SettleOutcome::Applied(payment)
        } else {
            SettleOutcome::Stale(payment)
        })
    }

    #[tracing::instrument(skip(self))]
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>> {
        self.payment_where("id = $1", id.as_uuid()).await
    }

    #[tracing::instrument(skip(self))]
    async fn payment_by_reference(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Option<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE provider = $1 AND provider_reference = $2"
        );
        let row: Option<PaymentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(DbEnum(provider)).bind(reference).fetch_optional(pool).await
        })
        .or_unexpected()?;
        row.map(Payment::try_from).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn payments_of(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Payment>, Option<Cursor>)> {
        let after: Option<(Timestamp, Uuid)> = after.map(Cursor::decode).transpose()?;
        let keyset = if after.is_some() {
            " AND (created_at, id) < ($3, $4)"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions \
             WHERE (user_id = $1 OR payee_id = $1){keyset} ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<PaymentRow> = with_db!(&self.db, pool => {
            let mut query = sqlx::query_as(&sql).bind(user.as_uuid()).bind(limit.probe());
            if let Some((at, id)) = after {
                query = query.bind(at).bind(id);
            }
            query.fetch_all(pool).await
        })
        .or_unexpected()?;
        let page = Page::from_probe(rows, limit, |r| (r.created_at, r.id));
        let payments = page
            .items
            .into_iter()
            .map(Payment::try_from)
            .collect::<Result<_>>()?;
        Ok((payments, page.next_cursor))
    }

    #[tracing::instrument(skip(self))]
    async fn payments_for_order(&self, order: OrderId) -> Result<Vec<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE order_id = $1 ORDER BY created_at, id"
        );
        self.payments_query(&sql, order.as_uuid()).await
    }

    #[tracing::instrument(skip(self))]
    async fn payments_for_booking(&self, booking: BookingId) -> Result<Vec<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE booking_id = $1 ORDER BY created_at, id"
        );
        self.payments_query(&sql, booking.as_uuid()).await
    }

    #[tracing::instrument(skip(self))]
    async fn payments_for_commitment(&self, commitment: CommitmentId) -> Result<Vec<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE commitment_id = $1 ORDER BY created_at, id"
        );
        self.payments_query(&sql, commitment.as_uuid()).await
    }

    #[tracing::instrument(skip(self))]
    async fn claim_abandoned(
        &self,
        idle_since: Timestamp,
        now: Timestamp,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Payment>> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
        let rows: Vec<PaymentRow> = with_db!(&self.db, pool, dialect => {
            // PostgreSQL: rows another completer is leasing right now are skipped, not waited
            // for. SQLite: the statement runs under the database's single write lock.
            let pick = dialect.pick(
                "SELECT id FROM payment_transactions WHERE attempt_phase <> 'finished' AND updated_at < $1 \
                 AND (locked_until IS NULL OR locked_until < $2) ORDER BY updated_at, id LIMIT $4 \
                 FOR UPDATE SKIP LOCKED",
                "SELECT id FROM payment_transactions WHERE attempt_phase <> 'finished' AND updated_at < $1 \
                 AND (locked_until IS NULL OR locked_until < $2) ORDER BY updated_at, id LIMIT $4",
            );
            let sql = format!(
                "UPDATE payment_transactions SET locked_until = $3 WHERE id IN ({pick}) RETURNING {PAYMENT_COLUMNS}"
            );
            sqlx::query_as(&sql)
                .bind(idle_since)
                .bind(now)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        let mut payments = rows
            .into_iter()
            .map(Payment::try_from)
            .collect::<Result<Vec<_>>>()?;
        payments.sort_by_key(|p| (p.updated_at, p.id.as_uuid()));
        Ok(payments)
    }

    #[tracing::instrument(skip(self))]
    async fn succeeded_between(
        &self,
        provider: ProviderId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Payment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE provider = $1 AND status = 'succeeded' \
             AND succeeded_at >= $2 AND succeeded_at < $3 ORDER BY succeeded_at, id"
        );
        let rows: Vec<PaymentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(DbEnum(provider)).bind(from).bind(to).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(Payment::try_from).collect()
    }
}
