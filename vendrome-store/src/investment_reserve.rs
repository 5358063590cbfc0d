//! A commitment's reserve on its campaign, in batches per campaign ([`GroupCommit`]).
//!
//! Each commitment is inserted (`ON CONFLICT (investor_id, idempotency_key) DO NOTHING`, which
//! answers a retry's commitment as existing), then one conditional `UPDATE` of the campaign adds
//! it to `reserved_amount` only while the campaign is open and the reserve stays within the cap;
//! a refused reserve deletes the row it just inserted. On PostgreSQL the campaign's row lock
//! makes concurrent batches re-check the condition against each other's reserve; on SQLite the
//! first insert took the write lock. Commitments that arrive while a batch of their campaign
//! runs go into the next batch: one transaction, one wait for the campaign's row and one flush
//! for all of them, instead of one each (which capped a popular campaign at one commitment per
//! commit flush). Items of a batch are independent: each is reserved or refused on its own, in
//! the order they arrived. A batch that fails as a whole is retried one item at a time, so one
//! bad item fails alone.

use std::sync::Arc;

use futures::FutureExt as _;
use uuid::Uuid;
use vendrome_core::investments::NewCommitment;

use crate::db::Db;
use crate::group_commit::{batch_or_each, GroupCommit, Runner};
use crate::investment_rows::{CommitmentRow, COMMITMENT_COLUMNS};
use crate::sql_enum::DbEnum;
use crate::with_db;

/// What the reserve did with one commitment.
pub(crate) enum Reserved {
    Inserted(Box<CommitmentRow>),
    Existing,
    Full,
    Closed,
}

/// One commitment to reserve, with its campaign's cap (`None`: no cap).
pub(crate) struct Reserve {
    pub commitment: NewCommitment,
    pub cap: Option<i64>,
}

/// The reserves in flight, per campaign.
pub(crate) type ReserveBatches = GroupCommit<Uuid, Reserve, sqlx::Result<Reserved>>;

/// Reserves `item` in the next batch of its campaign.
pub(crate) async fn reserve(
    batches: &Arc<ReserveBatches>,
    db: &Db,
    item: Reserve,
) -> sqlx::Result<Reserved> {
    let key = item.commitment.campaign_id.as_uuid();
    let db = db.clone();
    let run: Runner<Reserve, sqlx::Result<Reserved>> =
        Arc::new(move |items| run(db.clone(), items).boxed());
    batches.submit(key, item, run).await?
}

async fn run(db: Db, items: Vec<Reserve>) -> Vec<sqlx::Result<Reserved>> {
    batch_or_each(&items, "commitments", |items| {
        let db = db.clone();
        async move { batch(&db, items).await }.boxed()
    })
    .await
}

/// Reserves `items` in one transaction, in order.
async fn batch(db: &Db, items: &[Reserve]) -> sqlx::Result<Vec<Reserved>> {
    let insert = format!(
        "INSERT INTO investment_commitments (id, campaign_id, investor_id, status, currency, amount, \
         idempotency_key, country_code, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (investor_id, idempotency_key) DO NOTHING RETURNING {COMMITMENT_COLUMNS}"
    );
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut answers = Vec::with_capacity(items.len());
        for Reserve { commitment: c, cap } in items {
            let inserted: Option<CommitmentRow> = sqlx::query_as(&insert)
                .bind(c.id.as_uuid())
                .bind(c.campaign_id.as_uuid())
                .bind(c.investor_id.as_uuid())
                .bind(DbEnum(c.status))
                .bind(c.amount.currency.as_str())
                .bind(c.amount.amount)
                .bind(&c.idempotency_key)
                .bind(&c.country)
                .bind(c.created_at)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(inserted) = inserted else {
                answers.push(Reserved::Existing);
                continue;
            };
            let reserved = sqlx::query(
                "UPDATE investment_campaigns SET reserved_amount = reserved_amount + $2, updated_at = $3 \
                 WHERE id = $1 AND status IN ('live', 'funded') AND settlement IS NULL AND closes_at > $3 \
                 AND (CAST($4 AS BIGINT) IS NULL OR reserved_amount + $2 <= $4)",
            )
            .bind(c.campaign_id.as_uuid())
            .bind(c.amount.amount)
            .bind(c.created_at)
            .bind(*cap)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if reserved {
                answers.push(Reserved::Inserted(Box::new(inserted)));
                continue;
            }
            sqlx::query("DELETE FROM investment_commitments WHERE id = $1")
                .bind(c.id.as_uuid())
                .execute(&mut *tx)
                .await?;
            let open: Option<bool> = sqlx::query_scalar(
                "SELECT status IN ('live', 'funded') AND settlement IS NULL AND closes_at > $2 \
                 FROM investment_campaigns WHERE id = $1",
            )
            .bind(c.campaign_id.as_uuid())
            .bind(c.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            answers.push(if open == Some(true) { Reserved::Full } else { Reserved::Closed });
        }
        tx.commit().await?;
        Ok(answers)
    })
}
