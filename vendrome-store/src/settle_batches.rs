//! [`PaymentRepo::settle`](vendrome_core::payments::PaymentRepo::settle) in batches
//! ([`GroupCommit`]): settlements that arrive while one runs share the next transaction.
//!
//! A settlement often updates a row many others update too (a campaign's raised amount, whose
//! commitments all settle into it), and holds that row's lock until its commit is on disk; in
//! one transaction, a batch waits for the row and the flush once. Each settlement in a batch is
//! still its own compare-and-set: its payment is locked and re-read, and written only if its
//! status may move. Payments are locked in id order, so two instances' batches over the same
//! payments queue rather than deadlock; a batch that fails as a whole is run one settlement at a
//! time.

use std::sync::Arc;

use futures::FutureExt as _;
use vendrome_core::payments::{can_move, Settlement};

use crate::db::Db;
use crate::group_commit::{batch_or_each, GroupCommit, Runner};
use crate::payments::{lock_payment, PaymentRow, SettlementWrites as _};
use crate::with_db;

/// A settlement's answer: `None` for a payment that does not exist, else whether it was
/// applied, and the payment's row as it is after.
pub(crate) type Settled = Option<(bool, PaymentRow)>;

/// The settlements in flight (one queue for all payments).
pub(crate) type SettleBatches = GroupCommit<(), Settlement, sqlx::Result<Settled>>;

/// Applies `settlement` in the next batch.
pub(crate) async fn settle(
    batches: &Arc<SettleBatches>,
    db: &Db,
    settlement: Settlement,
) -> sqlx::Result<Settled> {
    let db = db.clone();
    let run: Runner<Settlement, sqlx::Result<Settled>> = Arc::new(move |items| {
        let db = db.clone();
        async move {
            batch_or_each(&items, "settlements", |items| {
                let db = db.clone();
                async move { batch(&db, items).await }.boxed()
            })
            .await
        }
        .boxed()
    });
    batches.submit((), settlement, run).await?
}

/// Applies `items` in one transaction, locking their payments in id order (a payment's own
/// settlements in the order they arrived).
async fn batch(db: &Db, items: &[Settlement]) -> sqlx::Result<Vec<Settled>> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].payment_id.as_uuid());
    with_db!(db, pool, dialect => {
        let mut tx = pool.begin().await?;
        let mut answers: Vec<Option<Settled>> = (0..items.len()).map(|_| None).collect();
        for i in order {
            let s = &items[i];
            let row: Option<PaymentRow> = sqlx::query_as(&lock_payment(dialect))
                .bind(s.payment_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            answers[i] = Some(match row {
                None => None,
                Some(row) if !can_move(row.status.0, s.status) => Some((false, row)),
                Some(row) => Some((true, tx.apply_settlement(dialect, row.attempt_phase.0, s).await?)),
            });
        }
        tx.commit().await?;
        Ok(answers.into_iter().map(|a| a.expect("every settlement answered")).collect())
    })
}
