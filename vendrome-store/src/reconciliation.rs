//! [`ReconciliationRepo`] on both databases. A window runs once across instances: the partial
//! unique index `reconciliation_runs_once` admits one run of a (provider, window) that is running
//! or finished clean, and a start is an `INSERT … ON CONFLICT DO NOTHING`. A run still running
//! [`ABANDONED_RUN`] after it started is taken as lost with its instance and marked failed
//! first, so a crash does not hold its window for ever. A run's outcome and the audit event of
//! each discrepancy are written in one transaction.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::audit::{AuditContext, NewAuditEvent};
use vendrome_core::enums::{PaymentProvider as ProviderId, ReconciliationStatus};
use vendrome_core::ids::ReconciliationRunId;
use vendrome_core::payments::{Discrepancy, ReconciliationRepo, ReconciliationRun, RunOutcome};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

/// How long a run may stay `running` before another instance may start its window again.
const ABANDONED_RUN: chrono::Duration = chrono::Duration::hours(1);

const RUN_COLUMNS: &str = "id, provider, window_from, window_to, status, matched, discrepancies, \
    started_at, finished_at";

#[derive(sqlx::FromRow)]
struct RunRow {
    id: Uuid,
    provider: DbEnum<ProviderId>,
    window_from: Timestamp,
    window_to: Timestamp,
    status: DbEnum<ReconciliationStatus>,
    matched: i64,
    discrepancies: Json<Vec<Discrepancy>>,
    started_at: Timestamp,
    finished_at: Option<Timestamp>,
}

impl From<RunRow> for ReconciliationRun {
    fn from(r: RunRow) -> Self {
        ReconciliationRun {
            id: ReconciliationRunId::from_uuid(r.id),
            provider: r.provider.0,
            from: r.window_from,
            to: r.window_to,
            status: r.status.0,
            matched: r.matched,
            discrepancies: r.discrepancies.0,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

#[async_trait]
impl ReconciliationRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn start_run(
        &self,
        id: ReconciliationRunId,
        provider: ProviderId,
        from: Timestamp,
        to: Timestamp,
        at: Timestamp,
    ) -> Result<Option<ReconciliationRun>> {
        let insert = format!(
            "INSERT INTO reconciliation_runs (id, provider, window_from, window_to, status, matched, \
             discrepancies, started_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7) \
             ON CONFLICT DO NOTHING RETURNING {RUN_COLUMNS}"
        );
        let row: Option<RunRow> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE reconciliation_runs SET status = $1, finished_at = $2 \
                 WHERE status = 'running' AND started_at < $3",
            )
            .bind(DbEnum(ReconciliationStatus::Failed))
            .bind(at)
            .bind(at - ABANDONED_RUN)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query_as(&insert)
                .bind(id.as_uuid())
                .bind(DbEnum(provider))
                .bind(from)
                .bind(to)
                .bind(DbEnum(ReconciliationStatus::Running))
                .bind(Json(Vec::<Discrepancy>::new()))
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        Ok(row.map(ReconciliationRun::from))
    }

    #[tracing::instrument(skip(self, outcome, audit, context))]
    async fn finish_run(
        &self,
        id: ReconciliationRunId,
        outcome: &RunOutcome,
        audit: &[NewAuditEvent],
        context: &AuditContext,
        at: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE reconciliation_runs SET status = $2, matched = $3, discrepancies = $4, \
                 finished_at = $5 WHERE id = $1",
            )
            .bind(id.as_uuid())
            .bind(DbEnum(outcome.status))
            .bind(outcome.matched)
            .bind(Json(&outcome.discrepancies))
            .bind(at)
            .execute(&mut *tx)
            .await?;
            for event in audit {
                tx.record_audit(event, context, at).await?;
            }
            tx.commit().await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn run(&self, id: ReconciliationRunId) -> Result<Option<ReconciliationRun>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM reconciliation_runs WHERE id = $1");
        let row: Option<RunRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(ReconciliationRun::from))
    }
}
