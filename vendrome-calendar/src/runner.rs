//! [`SyncRunner`]: the worker of the calendar sync queue (`vendrome_core::calendar::sync_jobs`).
//!
//! Every connected integration gets one delta-sync job per period ([`SyncRunner::enqueue_due`]);
//! workers claim due jobs under a lease, run the sync ([`SyncEngine::attempt`]) and settle the
//! job: done, back to `pending` after an exponential backoff with jitter, or dead after its last
//! attempt. A refused credential dead-letters the job at once and leaves the integration
//! `revoked`, which no period queues again until its member reconnects. A sync asked for by the
//! member ([`SyncRunner::sync_now`]) is the same job, claimed at once by the asking instance.
//!
//! Every method takes the time it works with, so the rules are tested without waiting; several
//! instances may run them at once on one database (the queue's claims are exclusive).

use std::sync::Arc;
use std::time::Duration;

use vendrome_core::calendar::integrations::Integration;
use vendrome_core::calendar::sync_jobs::{backoff, SyncJob, SyncJobRepo};
use vendrome_core::enums::{CalendarIntegrationStatus, CalendarSyncJobKind, CalendarSyncJobStatus};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::sql_enum::SqlEnum as _;
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::sync::{reconnect_required, Attempt, SyncEngine, SyncReport};

const KIND: CalendarSyncJobKind = CalendarSyncJobKind::DeltaSync;

/// The queue's pace and patience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerConfig {
    /// How often each connected integration is synced.
    pub period: Duration,
    /// Attempts of a job before it is a dead letter.
    pub max_attempts: u32,
    /// How long a claimed job is a worker's before another may take it over.
    pub lease: Duration,
    /// The first retry's wait; each further one doubles it, up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often an idle worker looks for due jobs.
    pub poll: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            period: Duration::from_secs(15 * 60),
            max_attempts: 8,
            lease: Duration::from_secs(5 * 60),
            backoff_base: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(3600),
            poll: Duration::from_secs(5),
        }
    }
}

/// What became of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub job_id: i64,
    pub integration_id: CalendarIntegrationId,
    pub attempt: Attempt,
    /// The job's status afterwards; `None` when it was no longer this worker's to settle (its
    /// lease ran out, or the integration was deleted meanwhile).
    pub status: Option<CalendarSyncJobStatus>,
}

/// Runs the calendar sync queue as one worker (`owner`).
#[derive(Clone)]
pub struct SyncRunner {
    engine: SyncEngine,
    jobs: Arc<dyn SyncJobRepo>,
    config: RunnerConfig,
    owner: String,
}

impl SyncRunner {
    /// A worker named after this process and a random number (a lease names its holder).
    pub fn new(engine: SyncEngine, jobs: Arc<dyn SyncJobRepo>, config: RunnerConfig) -> Self {
        let owner = format!(
            "calendar-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        );
        Self {
            engine,
            jobs,
            config,
            owner,
        }
    }

    pub(crate) fn jobs(&self) -> &Arc<dyn SyncJobRepo> {
        &self.jobs
    }

    pub fn engine(&self) -> &SyncEngine {
        &self.engine
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Queues a delta sync, due `now`, for every integration that can sync and had none queued
    /// in the last period; how many were queued.
    ///
    /// Errors: only the store's.
    pub async fn enqueue_due(&self, now: Timestamp) -> Result<u64> {
        let since = chrono::Duration::from_std(self.config.period)
            .ok()
            .and_then(|period| now.checked_sub_signed(period))
            .unwrap_or_else(|| chrono::DateTime::from_timestamp(0, 0).expect("the epoch"));
        self.jobs
            .schedule_periodic_sync_jobs(KIND, self.config.max_attempts, since, now)
            .await
    }

    /// Queues a delta sync of integration `id` due `now` (a no-op when one is live); whether one
    /// was queued.
    ///
    /// Errors: only the store's.
    pub async fn queue(&self, id: CalendarIntegrationId, now: Timestamp) -> Result<bool> {
        self.jobs
            .schedule_sync_job(id, KIND, self.config.max_attempts, now)
            .await
    }

    /// Claims and runs due jobs one after the other until none is due or `limit` ran, each
    /// claimed and settled at the time `clock` then tells; what became of each.
    ///
    /// Errors: only the store's, when claiming fails (a job whose run met a store error is
    /// retried later like any failure).
    pub async fn run_due(
        &self,
        clock: &(dyn Fn() -> Timestamp + Send + Sync),
        limit: usize,
    ) -> Result<Vec<JobRun>> {
        let mut runs = Vec::new();
        while runs.len() < limit {
            let Some(job) = self
                .jobs
                .claim_sync_job(&self.owner, clock(), self.config.lease)
                .await?
            else {
                break;
            };
            runs.push(self.run(job, clock).await?);
        }
        Ok(runs)
    }

    /// Syncs the member's integration now through the queue: its live delta-sync job (queued
    /// if there is none) is claimed at once, whatever its backoff, run and settled.
    ///
    /// Errors: [`Error::Conflict`] `calendar_reconnect_required` when the integration is
    /// `revoked` or `paused`, `calendar_sync_running` when another worker holds its job;
    /// [`Error::Unavailable`] `calendar_sync_failed` when the provider failed or refused.
    pub async fn sync_now(&self, integration: &Integration) -> Result<SyncReport> {
        if !syncs(integration.status) {
            return Err(reconnect_required(integration.status));
        }
        let now = vendrome_core::time::now();
        self.queue(integration.id, now).await?;
        let job = self
            .jobs
            .claim_sync_job_of(integration.id, KIND, &self.owner, now, self.config.lease)
            .await?
            .ok_or_else(|| {
                Error::conflict(
                    "calendar_sync_running",
                    "this calendar is being synced right now; try again shortly",
                )
            })?;
        let run = self.run(job, &vendrome_core::time::now).await?;
        match run.attempt {
            Attempt::Synced(report) => Ok(report),
            Attempt::Failed(error) | Attempt::Rejected(error) => {
                Err(Error::unavailable("calendar_sync_failed", error))
            }
            Attempt::Gone => Err(Error::not_found("calendar integration")),
            Attempt::Idle(status) => Err(reconnect_required(status)),
        }
    }

    /// Runs one claimed job and settles it.
    async fn run(
        &self,
        job: SyncJob,
        clock: &(dyn Fn() -> Timestamp + Send + Sync),
    ) -> Result<JobRun> {
        let (attempt, retry) = match job.kind {
            CalendarSyncJobKind::DeltaSync | CalendarSyncJobKind::FullSync => {
                match self.engine.attempt(job.integration_id).await {
                    Ok(attempt) => {
                        let retry = matches!(attempt, Attempt::Failed(_));
                        (attempt, retry)
                    }
                    // Ours, not the provider's: retried like a provider's failure.
                    Err(error) => {
                        tracing::warn!(job = job.id, %error, "calendar sync job hit a store error");
                        (Attempt::Failed(format!("storage error: {error}")), true)
                    }
                }
            }
            CalendarSyncJobKind::RenewSubscription => {
                match self.engine.resubscribe(job.integration_id, clock()).await {
                    Ok(attempt) => {
                        let retry = matches!(attempt, Attempt::Failed(_));
                        (attempt, retry)
                    }
                    Err(error) => {
                        tracing::warn!(job = job.id, %error, "calendar subscription job hit a store error");
                        (Attempt::Failed(format!("storage error: {error}")), true)
                    }
                }
            }
            other => (
                Attempt::Failed(format!("no worker runs {} jobs", other.as_str())),
                false,
            ),
        };
        let now = clock();
        let owner = self.owner.as_str();
        let status = match &attempt {
            Attempt::Synced(_) => self
                .jobs
                .complete_sync_job(job.id, owner, now)
                .await?
                .then_some(CalendarSyncJobStatus::Succeeded),
            Attempt::Gone => None,
            Attempt::Failed(error) | Attempt::Rejected(error) => {
                let retry_at = retry.then(|| {
                    let wait = backoff(
                        job.attempts,
                        self.config.backoff_base,
                        self.config.backoff_cap,
                        rand::random::<f64>(),
                    );
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
                });
                self.jobs
                    .fail_sync_job(job.id, owner, error, retry_at, now)
                    .await?
            }
            Attempt::Idle(status) => {
                let error = format!("the integration is {}: not synced", status.as_str());
                self.jobs
                    .fail_sync_job(job.id, owner, &error, None, now)
                    .await?
            }
        };
        if status == Some(CalendarSyncJobStatus::Dead) {
            tracing::warn!(job = job.id, integration = %job.integration_id, attempts = job.attempts, "calendar sync job is a dead letter");
        }
        Ok(JobRun {
            job_id: job.id,
            integration_id: job.integration_id,
            attempt,
            status,
        })
    }
}

/// Whether an integration in `status` is synced.
pub(crate) fn syncs(status: CalendarIntegrationStatus) -> bool {
    matches!(
        status,
        CalendarIntegrationStatus::Active | CalendarIntegrationStatus::Error
    )
}
