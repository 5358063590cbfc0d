//! [`OutboxRepo`] on both databases.
//!
//! Claiming is one statement that leases a batch: on PostgreSQL its inner SELECT takes the rows
//! `FOR UPDATE SKIP LOCKED`, so concurrent relays skip each other's rows instead of waiting or
//! double-claiming; SQLite has a single writer, so the statement alone is atomic.
//!
//! Order: events are claimed oldest first, and an event waiting for a retry holds back the later
//! events of its own aggregate (see [`CLAIMABLE`]), so consumers see each aggregate's events in
//! creation order from one relay. Across relays, consumers still deduplicate on `event_id`.

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

/// The events a relay may take now: pending, due, not leased, and not behind an earlier event of
/// the same aggregate that is still waiting (for its retry time or on another relay's lease) —
/// so a failing event holds back its own aggregate's later events, and nothing else.
const CLAIMABLE: &str = "SELECT candidate.id FROM outbox_events candidate \
     WHERE candidate.status = 'pending' AND candidate.available_at <= $3 \
       AND (candidate.lease_until IS NULL OR candidate.lease_until < $3) \
       AND NOT EXISTS (SELECT 1 FROM outbox_events earlier \
           WHERE earlier.aggregate_type = candidate.aggregate_type AND earlier.aggregate_id = candidate.aggregate_id \
             AND earlier.status = 'pending' AND earlier.id < candidate.id \
             AND (earlier.available_at > $3 OR earlier.lease_until >= $3)) \
     ORDER BY candidate.id LIMIT $4";

fn claim_sql(dialect: crate::Dialect) -> String {
    // PostgreSQL: skip rows another relay is claiming right now instead of waiting for them.
    let lock = dialect.pick(" FOR UPDATE SKIP LOCKED", "");
    format!(
        "UPDATE outbox_events SET lease_owner = $1, lease_until = $2 WHERE id IN ({CLAIMABLE}{lock}) RETURNING {OUTBOX_COLUMNS}"
    )
}

fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl OutboxRepo for Store {
    #[tracing::instrument(skip_all, fields(event_type = %event.event.event_type()))]
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
        let mut rows: Vec<OutboxRow> = with_db!(&self.db, pool, dialect => {
            sqlx::query_as(&claim_sql(dialect))
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
    async fn mark_failed(
        &self,
        owner: &str,
        seq: i64,
        error: &str,
        retry_at: Timestamp,
        dead: bool,
    ) -> Result<()> {
        let status = if dead {
            OutboxStatus::Dead
        } else {
            OutboxStatus::Pending
        };
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
        Ok(Backlog {
            pending: pending.max(0) as u64,
            oldest_age_seconds,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<OutboxEvent>> {
        let rows: Vec<OutboxRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2"
            ))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(OutboxEvent::from).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn last_seq(&self) -> Result<i64> {
        let (last,): (Option<i64>,) = with_db!(&self.db, pool => {
            sqlx::query_as("SELECT MAX(id) FROM outbox_events").fetch_one(pool).await
        })
        .or_unexpected()?;
        Ok(last.unwrap_or(0))
    }
}
