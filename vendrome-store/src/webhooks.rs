//! [`WebhookInbox`] on both databases: verified deliveries, deduplicated by the provider's event
//! id. One upsert stores a first delivery or takes a redelivery over: `ON CONFLICT (provider,
//! provider_event_id) DO UPDATE … WHERE` the stored one is `received` or `failed` and its
//! `locked_until` has lapsed. The conflicting row is locked while the condition is checked
//! (PostgreSQL re-reads it after a concurrent writer commits; SQLite has one writer), so of
//! several concurrent deliveries of one event exactly one gets a row back.
//!
//! [`WebhookInbox::process`] runs that upsert (writing the row `processed` at once), the
//! payment's lock and read (its order or booking locked too on PostgreSQL) and the settlement
//! ([`SettlementWrites`](crate::payments::SettlementWrites)) in one transaction: one commit per
//! delivery, and a concurrent delivery of the same event waits on the event id's unique index,
//! not on the payment. On PostgreSQL an applied payment success of an order is five round
//! trips: begin, the upsert with the locks of the payment and its order ([`record_and_lock`]),
//! the payment's update with the order's move and the events (`settlement_postgres.rs`), the
//! posting, commit (`tests/statements.rs` counts them).

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{FromRow as _, Row as _};
use uuid::Uuid;
use vendrome_core::enums::{PaymentProvider as ProviderId, WebhookEventStatus};
use vendrome_core::ids::WebhookEventId;
use vendrome_core::investments::Commitment;
use vendrome_core::payments::{
    can_move, Delivery, Found, Payment, Plan, Processed, StoredWebhook, WebhookInbox, WEBHOOK_LEASE,
};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::bookings::{paid_booking_sql, PaidBookingRow};
use crate::error::SqlxResultExt as _;
use crate::investment_rows::{CommitmentRow, COMMITMENT_COLUMNS};
use crate::orders::{prefixed_order_columns, OrderRow, ORDER_COLUMNS};
use crate::payments::{lock_payment, PaymentRow, SettlementWrites as _, PAYMENT_COLUMNS};
use crate::sql_enum::DbEnum;
use crate::{with_db, Dialect, Store};

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: Uuid,
    provider: DbEnum<ProviderId>,
    provider_event_id: String,
    event_type: String,
    payload: Json<serde_json::Value>,
    status: DbEnum<WebhookEventStatus>,
    attempts: i32,
    received_at: Timestamp,
}

impl From<WebhookRow> for StoredWebhook {
    fn from(r: WebhookRow) -> Self {
        StoredWebhook {
            id: WebhookEventId::from_uuid(r.id),
            provider: r.provider.0,
            provider_event_id: r.provider_event_id,
            event_type: r.event_type,
            payload: r.payload.0,
            status: r.status.0,
            attempts: r.attempts,
            received_at: r.received_at,
        }
    }
}

/// Stores a first delivery, or takes over a redelivery of one whose processing failed or was
/// abandoned; no row when it is a duplicate.
const RECORD: &str =
    "INSERT INTO payment_webhook_events (id, provider, provider_event_id, event_type, \
    signature_verified, payload, status, attempts, received_at, locked_until) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) \
    ON CONFLICT (provider, provider_event_id) DO UPDATE \
    SET status = excluded.status, attempts = payment_webhook_events.attempts + 1, \
    locked_until = excluded.locked_until \
    WHERE payment_webhook_events.status IN ('received', 'failed') \
    AND (payment_webhook_events.locked_until IS NULL OR payment_webhook_events.locked_until <= $8) \
    RETURNING id";

/// [`RECORD`] as [`WebhookInbox::process`] runs it: the row is written `processed` at once,
/// because it commits with everything the delivery does or not at all (a rollback leaves no
/// row, and a redelivery is processed afresh). A delivery about no payment of ours is marked
/// `ignored` after ([`MARK`]).
const RECORD_PROCESSED: &str =
    "INSERT INTO payment_webhook_events (id, provider, provider_event_id, event_type, \
    signature_verified, payload, status, attempts, received_at, processed_at) \
    VALUES ($1, $2, $3, $4, $5, $6, 'processed', 1, $7, $7) \
    ON CONFLICT (provider, provider_event_id) DO UPDATE \
    SET status = excluded.status, attempts = payment_webhook_events.attempts + 1, \
    processed_at = excluded.processed_at, last_error = NULL, locked_until = NULL \
    WHERE payment_webhook_events.status IN ('received', 'failed') \
    AND (payment_webhook_events.locked_until IS NULL OR payment_webhook_events.locked_until <= $7) \
    RETURNING id";

/// [`RECORD_PROCESSED`] and, on PostgreSQL, the locks of the payment by reference (`$8`) and of
/// its order in one statement: no row for a duplicate, else the stored event's id
/// (`webhook_event_row`), the payment's columns (all null when no payment has that reference)
/// and its order's ([`prefixed_order_columns`], null when it pays for none). The locks are taken
/// only once the event is recorded (the laterals read `ev`), so a duplicate locks nothing, and a
/// row locked after a wait is read as the transaction that held it left it.
fn record_and_lock() -> String {
    format!(
        "WITH ev AS ({RECORD_PROCESSED}) \
         SELECT ev.id AS webhook_event_row, p.*, ord.* FROM ev LEFT JOIN LATERAL ( \
         SELECT {PAYMENT_COLUMNS} FROM payment_transactions \
         WHERE provider = $2 AND provider_reference = $8 AND ev.id IS NOT NULL FOR UPDATE) p ON true \
         LEFT JOIN LATERAL (SELECT {} FROM orders o \
         WHERE o.id = p.order_id FOR UPDATE) ord ON true",
        prefixed_order_columns()
    )
}

/// The order [`record_and_lock`] locked, read from its row on PostgreSQL; none on SQLite, which
/// never runs that statement.
trait PrefixedOrder {
    fn prefixed_order(&self) -> sqlx::Result<Option<OrderRow>>;
}

impl PrefixedOrder for sqlx::postgres::PgRow {
    fn prefixed_order(&self) -> sqlx::Result<Option<OrderRow>> {
        OrderRow::from_prefixed(self)
    }
}

impl PrefixedOrder for sqlx::sqlite::SqliteRow {
    fn prefixed_order(&self) -> sqlx::Result<Option<OrderRow>> {
        Ok(None)
    }
}

/// Binds [`RECORD_PROCESSED`]'s seven arguments for the delivery `$d` stored as `$id`.
macro_rules! bind_record {
    ($query:expr, $id:expr, $d:expr) => {
        $query
            .bind($id.as_uuid())
            .bind(DbEnum($d.provider))
            .bind(&$d.event_id)
            .bind(&$d.event_type)
            .bind(true)
            .bind(Json(&$d.payload))
            .bind($d.at)
    };
}

const MARK: &str = "UPDATE payment_webhook_events SET status = $2, last_error = $3, \
    processed_at = COALESCE($4, processed_at), locked_until = NULL WHERE id = $1";

/// Finds and locks the payment a provider knows by its reference.
fn lock_by_reference(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment_transactions \
             WHERE provider = $1 AND provider_reference = $2 FOR UPDATE"
        ),
        Dialect::Sqlite => format!(
            "UPDATE payment_transactions SET id = id WHERE provider = $1 AND provider_reference = $2 \
             RETURNING {PAYMENT_COLUMNS}"
        ),
    }
}

/// Reads (and on PostgreSQL locks) an order without its lines.
fn order_for_settlement(dialect: Dialect) -> String {
    let lock = dialect.pick(" FOR UPDATE", "");
    format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1{lock}")
}

/// How a delivery's transaction ended.
enum Done {
    Duplicate,
    Ignored,
    Stale(Box<Payment>),
    Applied(Box<PaymentRow>),
    /// The plan (or reading what it needs) failed: the transaction was rolled back.
    Refused(Error),
}

#[async_trait]
impl WebhookInbox for Store {
    #[tracing::instrument(skip_all, fields(provider = %d.provider, event = %d.event_id))]
    async fn process(&self, d: &Delivery, plan: &Plan<'_>) -> Result<Processed> {
        let id = WebhookEventId::new();
        let done = with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            // The payment's order, when the statement that locked the payment locked it too.
            let mut locked_order: Option<OrderRow> = None;
            // First the event id: a concurrent delivery of the same event waits here for this
            // transaction, then finds it processed.
            let (stored, mut row): (Uuid, Option<PaymentRow>) = match (dialect, &d.target) {
                (Dialect::Postgres, Some(target)) => {
                    let found = bind_record!(sqlx::query(&record_and_lock()), id, d)
                        .bind(&target.reference)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(found) = found else { return Ok(Done::Duplicate) };
                    let locked: Option<Uuid> = found.try_get("id")?;
                    let row = match locked {
                        Some(_) => Some(PaymentRow::from_row(&found)?),
                        None => None,
                    };
                    locked_order = found.prefixed_order()?;
                    (found.try_get("webhook_event_row")?, row)
                }
                _ => {
                    let stored: Option<Uuid> =
                        bind_record!(sqlx::query_scalar(RECORD_PROCESSED), id, d)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let Some(stored) = stored else { return Ok(Done::Duplicate) };
                    let mut row = None;
                    if let Some(target) = &d.target {
                        row = sqlx::query_as(&lock_by_reference(dialect))
                            .bind(DbEnum(d.provider))
                            .bind(&target.reference)
                            .fetch_optional(&mut *tx)
                            .await?;
                    }
                    (stored, row)
                }
            };
            if let (None, Some(payment)) = (&row, d.target.as_ref().and_then(|t| t.payment_id)) {
                let by_id: Option<PaymentRow> = sqlx::query_as(&lock_payment(dialect))
                    .bind(payment.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                row = by_id.filter(|r| r.provider.0 == d.provider);
            }
            let Some(row) = row else {
                sqlx::query(MARK)
                    .bind(stored)
                    .bind(DbEnum(WebhookEventStatus::Ignored))
                    .bind(None::<String>)
                    .bind(Some(d.at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(Done::Ignored);
            };
            let (status, phase) = (row.status.0, row.attempt_phase.0);
            let payment = match Payment::try_from(row) {
                Ok(payment) => payment,
                Err(e) => return Ok(Done::Refused(e)),
            };
            let order = match payment.order_id {
                Some(order) => {
                    let found: Option<OrderRow> = match locked_order {
                        Some(locked) => Some(locked),
                        None => {
                            sqlx::query_as(&order_for_settlement(dialect))
                                .bind(order.as_uuid())
                                .fetch_optional(&mut *tx)
                                .await?
                        }
                    };
                    match found.map(|o| o.into_order(Vec::new())).transpose() {
                        Ok(order) => order,
                        Err(e) => return Ok(Done::Refused(e)),
                    }
                }
                None => None,
            };
            let charge = match payment.refund_of {
                Some(charge) => {
                    let found: Option<PaymentRow> = sqlx::query_as(&format!(
                        "SELECT {PAYMENT_COLUMNS} FROM payment_transactions WHERE id = $1"
                    ))
                    .bind(charge.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                    match found.map(Payment::try_from).transpose() {
                        Ok(charge) => charge,
                        Err(e) => return Ok(Done::Refused(e)),
                    }
                }
                None => None,
            };
            let booking = match payment.booking_id {
                Some(booking) => {
                    let found: Option<PaidBookingRow> = sqlx::query_as(&paid_booking_sql(dialect))
                        .bind(booking.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await?;
                    match found.map(PaidBookingRow::into_paid).transpose() {
                        Ok(booking) => booking,
                        Err(e) => return Ok(Done::Refused(e)),
                    }
                }
                None => None,
            };
            let commitment = match payment.commitment_id {
                Some(commitment) => {
                    let found: Option<CommitmentRow> = sqlx::query_as(&format!(
                        "SELECT {COMMITMENT_COLUMNS} FROM investment_commitments WHERE id = $1"
                    ))
                    .bind(commitment.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                    match found.map(Commitment::try_from).transpose() {
                        Ok(commitment) => commitment,
                        Err(e) => return Ok(Done::Refused(e)),
                    }
                }
                None => None,
            };
            let found = Found { payment, order, charge, booking, commitment };
            let settlement = match plan(&found) {
                Ok(settlement) => settlement.filter(|s| can_move(status, s.status)),
                Err(e) => return Ok(Done::Refused(e)),
            };
            let done = match settlement {
                Some(s) => Done::Applied(Box::new(tx.apply_settlement(dialect, phase, &s).await?)),
                None => Done::Stale(Box::new(found.payment)),
            };
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done)
        })
        .or_unexpected()?;
        match done {
            Done::Duplicate => Ok(Processed::Duplicate),
            Done::Ignored => Ok(Processed::Ignored),
            Done::Stale(payment) => Ok(Processed::Stale(*payment)),
            Done::Applied(row) => Payment::try_from(*row).map(Processed::Applied),
            Done::Refused(e) => Err(e),
        }
    }

    #[tracing::instrument(skip(self, payload))]
    async fn record(
        &self,
        provider: ProviderId,
        event_id: &str,
        event_type: &str,
        payload: &serde_json::Value,
        at: Timestamp,
    ) -> Result<Option<WebhookEventId>> {
        let id = WebhookEventId::new();
        let until =
            at + chrono::Duration::from_std(WEBHOOK_LEASE).unwrap_or(chrono::Duration::hours(1));
        let handed_out: Option<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(RECORD)
            .bind(id.as_uuid())
            .bind(DbEnum(provider))
            .bind(event_id)
            .bind(event_type)
            .bind(true)
            .bind(Json(payload))
            .bind(DbEnum(WebhookEventStatus::Received))
            .bind(at)
            .bind(until)
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(handed_out.map(WebhookEventId::from_uuid))
    }

    #[tracing::instrument(skip(self))]
    async fn mark(
        &self,
        id: WebhookEventId,
        status: WebhookEventStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        let processed_at = matches!(
            status,
            WebhookEventStatus::Processed | WebhookEventStatus::Ignored
        )
        .then_some(at);
        with_db!(&self.db, pool => {
            sqlx::query(MARK)
            .bind(id.as_uuid())
            .bind(DbEnum(status))
            .bind(error)
            .bind(processed_at)
            .execute(pool)
            .await
            .map(drop)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn unprocessed(&self, before: Timestamp, limit: u32) -> Result<Vec<StoredWebhook>> {
        let rows: Vec<WebhookRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, provider, provider_event_id, event_type, payload, status, attempts, received_at \
                 FROM payment_webhook_events WHERE status IN ('received', 'failed') AND received_at < $1 \
                 ORDER BY received_at, id LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(StoredWebhook::from).collect())
    }
}
