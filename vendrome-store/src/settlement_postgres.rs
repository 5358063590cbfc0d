//! The common settlement in one statement on PostgreSQL: the payment's update, its order's
//! compare-and-set move, its events and its posting (the CTEs of `ledger_postgres.rs`), as
//! data-modifying CTEs. A charge's success of an order is then one statement after the locks,
//! not four. Settlements that also move a booking, a commitment or a campaign, share a refund, or
//! give an unpaid order's stock back keep the statement-per-write path of
//! [`SettlementWrites`](crate::payments::SettlementWrites), as SQLite does (where a statement costs
//! no round trip).

use futures::future::BoxFuture;
use sqlx::types::Json;
use sqlx::{FromRow as _, PgConnection, Row as _, SqliteConnection};
use uuid::Uuid;
use vendrome_core::enums::{OrderStatus, PaymentAttemptPhase};
use vendrome_core::payments::Settlement;

use crate::ledger_postgres::{bind_posting, posting_ctes, PostingArgs};
use crate::orders::stamped_column;
use crate::payments::{bind_settled_payment, PaymentRow, PAYMENT_COLUMNS, SETTLED_PAYMENT};
use crate::sql_enum::DbEnum;

/// Whether [`CombinedSettlement::settle_combined`] writes `s`: its payment, posting, an order's
/// move other than an unpaid order's cancellation, and events; nothing else.
fn combinable(s: &Settlement) -> bool {
    s.refund_share.is_none()
        && s.commitment_move.is_none()
        && s.booking_move.is_none()
        && s.campaign_funded.is_none()
        && s.order_refund.is_none()
        && s.order_change.is_none_or(|c| {
            !(c.from == OrderStatus::PendingPayment && c.to == OrderStatus::Cancelled)
        })
}

/// The parameters of [`combined_sql`] before its posting's.
const SETTLEMENT_PARAMETERS: usize = 17;

/// The statement for a settlement moving its order to `to` (if any): the payment's update
/// (`$1`–`$8`, [`SETTLED_PAYMENT`]), the order's (`$9`–`$12`), the events over arrays
/// (`$13`–`$17`) and, `with_posting`, the posting (`$18`–`$35`, [`posting_ctes`]); answers the
/// payment's row and `posting_known` (whether the posting found every account it names; always
/// true without one).
fn combined_sql(order_to: Option<OrderStatus>, with_posting: bool) -> String {
    let mut sql = format!("WITH p AS ({SETTLED_PAYMENT} RETURNING {PAYMENT_COLUMNS})");
    // Without a move `$9` is NULL and the update finds no order; every parameter is referenced
    // either way.
    let stamp = order_to
        .and_then(stamped_column)
        .map_or(String::new(), |c| format!(", {c} = $12"));
    sql.push_str(&format!(
        ", o AS (UPDATE orders SET status = $10, updated_at = $12{stamp} \
         WHERE id = $9 AND status = $11 RETURNING id)"
    ));
    sql.push_str(
        ", e AS (INSERT INTO outbox_events (event_id, event_type, aggregate_type, aggregate_id, \
         payload, status, attempts, available_at, created_at) \
         SELECT x.event_id, x.event_type, x.aggregate_type, x.aggregate_id, x.payload, 'pending', 0, $8, $8 \
         FROM unnest($13::uuid[], $14::text[], $15::text[], $16::text[], $17::jsonb[]) \
         AS x(event_id, event_type, aggregate_type, aggregate_id, payload))",
    );
    if with_posting {
        sql.push_str(", ");
        sql.push_str(&posting_ctes(SETTLEMENT_PARAMETERS));
        sql.push_str(" SELECT p.*, (SELECT known FROM ready) AS posting_known FROM p");
    } else {
        sql.push_str(" SELECT p.*, true AS posting_known FROM p");
    }
    sql
}

/// A settlement's writes in one statement where the database can ([`combined_sql`]).
pub(crate) trait CombinedSettlement {
    /// Writes `s` with its posting in one statement and answers the payment's row as it is
    /// after; `None` (nothing written) when `s` is not [`combinable`] or the database cannot.
    fn settle_combined<'a>(
        &'a mut self,
        phase: PaymentAttemptPhase,
        s: &'a Settlement,
    ) -> BoxFuture<'a, sqlx::Result<Option<PaymentRow>>>;
}

impl CombinedSettlement for PgConnection {
    fn settle_combined<'a>(
        &'a mut self,
        phase: PaymentAttemptPhase,
        s: &'a Settlement,
    ) -> BoxFuture<'a, sqlx::Result<Option<PaymentRow>>> {
        Box::pin(async move {
            if !combinable(s) {
                return Ok(None);
            }
            let change = s.order_change;
            let aggregates: Vec<_> = s.events.iter().map(|e| e.event.aggregate()).collect();
            let sql = combined_sql(change.map(|c| c.to), s.posting.is_some());
            let posting = s.posting.as_ref().map(|p| PostingArgs::new(p, s.at));
            let query = bind_settled_payment!(sqlx::query(&sql), s, phase)
                .bind(change.map(|c| c.order_id.as_uuid()))
                .bind(change.map(|c| DbEnum(c.to)))
                .bind(change.map(|c| DbEnum(c.from)))
                .bind(change.map(|c| c.at).unwrap_or(s.at))
                .bind(
                    s.events
                        .iter()
                        .map(|e| e.event_id.as_uuid())
                        .collect::<Vec<Uuid>>(),
                )
                .bind(
                    s.events
                        .iter()
                        .map(|e| e.event.event_type())
                        .collect::<Vec<_>>(),
                )
                .bind(aggregates.iter().map(|a| a.kind).collect::<Vec<_>>())
                .bind(aggregates.iter().map(|a| a.id.clone()).collect::<Vec<_>>())
                .bind(
                    s.events
                        .iter()
                        .map(|e| Json(e.event.stored_payload()))
                        .collect::<Vec<_>>(),
                );
            let row = match &posting {
                Some(args) => bind_posting!(query, args).fetch_one(&mut *self).await?,
                None => query.fetch_one(&mut *self).await?,
            };
            if let Some(args) = &posting {
                if !row.try_get::<bool, _>("posting_known")? {
                    // An account another transaction created after this statement's snapshot.
                    args.write_by_ids(self).await?;
                }
            }
            Ok(Some(PaymentRow::from_row(&row)?))
        })
    }
}

impl CombinedSettlement for SqliteConnection {
    fn settle_combined<'a>(
        &'a mut self,
        _phase: PaymentAttemptPhase,
        _s: &'a Settlement,
    ) -> BoxFuture<'a, sqlx::Result<Option<PaymentRow>>> {
        Box::pin(async { Ok(None) })
    }
}
