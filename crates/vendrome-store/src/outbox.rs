//! [`OutboxRepo`] on both databases.
//!
//! Claiming is one statement that leases a batch: on PostgreSQL its inner SELECT takes the rows
//! `FOR UPDATE SKIP LOCKED`, so concurrent relays skip each other's rows instead of waiting or
//! double-claiming; SQLite has a single writer, so the statement alone is atomic.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::QueryBuilder;
use vendrome_core::enums::OutboxStatus;
use vendrome_core::outbox::{Backlog, NewEvent, OutboxEvent, OutboxRepo};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::rows::{OutboxRow, OUTBOX_COLUMNS};
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

const CLAIM_POSTGRES: &str = "UPDATE outbox_events SET lease_owner = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM outbox_events \
         WHERE status = 'pending' AND available_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
         ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)";
const CLAIM_SQLITE: &str = "UPDATE outbox_events SET lease_owner = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM outbox_events \
         WHERE status = 'pending' AND available_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
         ORDER BY id LIMIT $4)";

fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl OutboxRepo for Store {
    #[tracing::instrument(skip_all, fields(event_type = %event.event_type))]
    async fn append(&self, event: NewEvent) -> Result<()> {
        let now = time::now();
        with_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            conn.append_event(&event, now).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn claim(&self, owner: &str, limit: u32, lease: Duration) -> Result<Vec<OutboxEvent>> {
        let now = time::now();
        let returning = format!(" RETURNING {OUTBOX_COLUMNS}");
        let mut rows: Vec<OutboxRow> = with_db!(&self.db, pool, dialect => {
            let sql = format!("{}{returning}", dialect.pick(CLAIM_POSTGRES, CLAIM_SQLITE));
            sqlx::query_as(&sql)
                .bind(owner)
                .bind(lease_end(now, lease))
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        // RETURNING promises no order.
        rows.sort_by_key(OutboxRow::seq);
        Ok(rows.into_iter().map(OutboxEvent::from).collect())
    }

    #[tracing::instrument(skip(self, seqs), fields(count = seqs.len()))]
    async fn mark_published(&self, owner: &str, seqs: &[i64]) -> Result<u64> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let now = time::now();
        with_db!(&self.db, pool => {
            let mut query = QueryBuilder::new("UPDATE outbox_events SET status = ");
            query.push_bind(DbEnum(OutboxStatus::Published));
            query.push(", published_at = ").push_bind(now);
            query.push(", lease_owner = NULL, lease_until = NULL WHERE lease_owner = ").push_bind(owner);
            query.push(" AND id IN (");
            let mut ids = query.separated(", ");
            for seq in seqs {
                ids.push_bind(*seq);
            }
            query.push(")");
            query.build().execute(pool).await.map(|done| done.rows_affected())
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, error))]
    async fn mark_failed(&self, owner: &str, seq: i64, error: &str, retry_at: Timestamp, dead: bool) -> Result<()> {
        let status = if dead { OutboxStatus::Dead } else { OutboxStatus::Pending };
        // Errors can be long (a whole chain); the first few hundred characters say enough.
        let error: String = error.chars().take(500).collect();
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE outbox_events SET attempts = attempts + 1, status = $3, available_at = $4, last_error = $5, \
                 lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
            )
            .bind(seq)
            .bind(owner)
            .bind(DbEnum(status))
            .bind(retry_at)
            .bind(&error)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .or_unexpected()?;
        Ok(())
    }

    #[tracing::instrument(skip(self, seqs), fields(count = seqs.len()))]
    async fn release(&self, owner: &str, seqs: &[i64]) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        with_db!(&self.db, pool => {
            let mut query = QueryBuilder::new("UPDATE outbox_events SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ");
            query.push_bind(owner).push(" AND id IN (");
            let mut ids = query.separated(", ");
            for seq in seqs {
                ids.push_bind(*seq);
            }
            query.push(")");
            query.build().execute(pool).await.map(drop)
        })
        .or_unexpected()?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn backlog(&self) -> Result<Backlog> {
        let (pending, oldest): (i64, Option<Timestamp>) = with_db!(&self.db, pool => {
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox_events WHERE status = 'pending'")
                .fetch_one(pool)
                .await
        })
        .or_unexpected()?;
        let oldest_age_seconds = oldest
            .map(|t| (time::now() - t).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        Ok(Backlog { pending: pending.max(0) as u64, oldest_age_seconds })
    }
}
