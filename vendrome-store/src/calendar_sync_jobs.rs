//! [`SyncJobRepo`] on both databases: `calendar_sync_jobs` as a leased work queue.
//!
//! Claiming is one statement: on PostgreSQL its inner SELECT takes the row `FOR UPDATE SKIP
//! LOCKED`, so concurrent workers skip each other's row instead of waiting or double-claiming;
//! SQLite has a single writer, so the statement alone is atomic. Completing and failing are
//! conditional on the lease owner, so a worker whose lease ran out cannot overwrite the outcome
//! of the worker that took the job over.

use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::calendar::sync_jobs::{QueueStatus, SyncJob, SyncJobRepo};
use vendrome_core::enums::{CalendarSyncJobKind, CalendarSyncJobStatus};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

const COLUMNS: &str = "id, integration_id, kind, status, attempts, max_attempts, available_at, \
     lease_owner, lease_until, last_error";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    integration_id: Uuid,
    kind: DbEnum<CalendarSyncJobKind>,
    status: DbEnum<CalendarSyncJobStatus>,
    attempts: i32,
    max_attempts: i32,
    available_at: Timestamp,
    lease_owner: Option<String>,
    lease_until: Option<Timestamp>,
    last_error: Option<String>,
}

impl From<Row> for SyncJob {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            integration_id: CalendarIntegrationId::from_uuid(r.integration_id),
            kind: r.kind.0,
            status: r.status.0,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            max_attempts: u32::try_from(r.max_attempts).unwrap_or(1),
            available_at: r.available_at,
            lease_owner: r.lease_owner,
            lease_until: r.lease_until,
            last_error: r.last_error,
        }
    }
}

fn status_cast(dialect: crate::Dialect) -> &'static str {
    dialect.pick("::calendar_sync_job_status", "")
}

fn claim_sql(dialect: crate::Dialect) -> String {
    let lock = dialect.pick(" FOR UPDATE SKIP LOCKED", "");
    let cast = status_cast(dialect);
    format!(
        "UPDATE calendar_sync_jobs SET status = 'running'{cast}, attempts = attempts + 1, \
         lease_owner = $1, lease_until = $2, updated_at = $3 \
         WHERE id = (SELECT id FROM calendar_sync_jobs \
             WHERE (status = 'pending' AND available_at <= $3) \
                OR (status = 'running' AND lease_until < $3) \
             ORDER BY available_at, id LIMIT 1{lock}) \
         RETURNING {COLUMNS}"
    )
}

fn claim_of_sql(dialect: crate::Dialect) -> String {
    let lock = dialect.pick(" FOR UPDATE SKIP LOCKED", "");
    let cast = status_cast(dialect);
    format!(
        "UPDATE calendar_sync_jobs SET status = 'running'{cast}, attempts = attempts + 1, \
         lease_owner = $1, lease_until = $2, updated_at = $3 \
         WHERE id = (SELECT id FROM calendar_sync_jobs \
             WHERE integration_id = $4 AND kind = $5 \
               AND (status = 'pending' OR (status = 'running' AND lease_until < $3)) \
             ORDER BY id LIMIT 1{lock}) \
         RETURNING {COLUMNS}"
    )
}

/// One job per integration that can sync and had none of `kind` live or created after `$3`.
/// The live-once index settles two instances inserting at once (`ON CONFLICT DO NOTHING`).
const PERIODIC_SQL: &str = "INSERT INTO calendar_sync_jobs (integration_id, kind, max_attempts, \
     available_at, created_at, updated_at) \
     SELECT i.id, $1, $2, $4, $4, $4 FROM calendar_integrations i \
     WHERE i.status IN ('active', 'error') AND i.access_token_ciphertext IS NOT NULL \
       AND NOT EXISTS (SELECT 1 FROM calendar_sync_jobs j \
           WHERE j.integration_id = i.id AND j.kind = $1 \
             AND (j.status IN ('pending', 'running') OR j.created_at > $3)) \
     ON CONFLICT DO NOTHING";

fn fail_sql(dialect: crate::Dialect) -> String {
    let cast = status_cast(dialect);
    format!(
        "UPDATE calendar_sync_jobs SET \
           status = CASE WHEN $4 OR attempts >= max_attempts THEN 'dead'{cast} ELSE 'pending'{cast} END, \
           available_at = CASE WHEN $4 THEN available_at ELSE $5 END, \
           finished_at = CASE WHEN $4 OR attempts >= max_attempts THEN $6 ELSE NULL END, \
           last_error = $3, lease_owner = NULL, lease_until = NULL, updated_at = $6 \
         WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING status"
    )
}

fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl SyncJobRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn schedule_sync_job(
        &self,
        integration: CalendarIntegrationId,
        kind: CalendarSyncJobKind,
        max_attempts: u32,
        at: Timestamp,
    ) -> Result<bool> {
        let max = i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX);
        let done = with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO calendar_sync_jobs (integration_id, kind, max_attempts, available_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT DO NOTHING",
            )
            .bind(integration.as_uuid())
            .bind(DbEnum(kind))
            .bind(max)
            .bind(at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .or_unexpected()?;
        Ok(done == 1)
    }

    #[tracing::instrument(skip(self))]
    async fn schedule_periodic_sync_jobs(
        &self,
        kind: CalendarSyncJobKind,
        max_attempts: u32,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u64> {
        let max = i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX);
        with_db!(&self.db, pool => {
            sqlx::query(PERIODIC_SQL)
                .bind(DbEnum(kind))
                .bind(max)
                .bind(since)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn claim_sync_job_of(
        &self,
        integration: CalendarIntegrationId,
        kind: CalendarSyncJobKind,
        owner: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<SyncJob>> {
        let row: Option<Row> = with_db!(&self.db, pool, dialect => {
            sqlx::query_as(&claim_of_sql(dialect))
                .bind(owner)
                .bind(lease_end(now, lease))
                .bind(now)
                .bind(integration.as_uuid())
                .bind(DbEnum(kind))
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip(self))]
    async fn claim_sync_job(
        &self,
        owner: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<SyncJob>> {
        let row: Option<Row> = with_db!(&self.db, pool, dialect => {
            sqlx::query_as(&claim_sql(dialect))
                .bind(owner)
                .bind(lease_end(now, lease))
                .bind(now)
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip(self))]
    async fn complete_sync_job(&self, id: i64, owner: &str, now: Timestamp) -> Result<bool> {
        let done = with_db!(&self.db, pool, dialect => {
            let sql = format!(
                "UPDATE calendar_sync_jobs SET status = 'succeeded'{}, finished_at = $3, \
                 last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $3 \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
                status_cast(dialect)
            );
            sqlx::query(&sql)
                .bind(id)
                .bind(owner)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .or_unexpected()?;
        Ok(done == 1)
    }

    #[tracing::instrument(skip(self, error))]
    async fn fail_sync_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Option<CalendarSyncJobStatus>> {
        let status: Option<(DbEnum<CalendarSyncJobStatus>,)> =
            with_db!(&self.db, pool, dialect => {
                sqlx::query_as(&fail_sql(dialect))
                    .bind(id)
                    .bind(owner)
                    .bind(error)
                    .bind(retry_at.is_none())
                    .bind(retry_at.unwrap_or(now))
                    .bind(now)
                    .fetch_optional(pool)
                    .await
            })
            .or_unexpected()?;
        Ok(status.map(|(s,)| s.0))
    }

    #[tracing::instrument(skip(self))]
    async fn sync_jobs_of(
        &self,
        integration: CalendarIntegrationId,
        limit: u32,
    ) -> Result<Vec<SyncJob>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM calendar_sync_jobs WHERE integration_id = $1 \
             ORDER BY id DESC LIMIT $2"
        );
        let rows: Vec<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(integration.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn sync_queue_status(&self) -> Result<QueueStatus> {
        let (counts, oldest): ((i64, i64, i64, i64), Option<(Timestamp,)>) =
            with_db!(&self.db, pool => {
                let counts = sqlx::query_as(
                    "SELECT \
                       COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0), \
                       COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0), \
                       COALESCE(SUM(CASE WHEN status = 'pending' AND attempts > 0 THEN 1 ELSE 0 END), 0), \
                       COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) \
                     FROM calendar_sync_jobs",
                )
                .fetch_one(pool)
                .await;
                match counts {
                    Ok(counts) => sqlx::query_as(
                        "SELECT available_at FROM calendar_sync_jobs WHERE status = 'pending' \
                         ORDER BY available_at, id LIMIT 1",
                    )
                    .fetch_optional(pool)
                    .await
                    .map(|oldest| (counts, oldest)),
                    Err(e) => Err(e),
                }
            })
            .or_unexpected()?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueStatus {
            pending: count(counts.0),
            running: count(counts.1),
            retrying: count(counts.2),
            dead: count(counts.3),
            oldest_pending: oldest.map(|(t,)| t),
        })
    }
}
