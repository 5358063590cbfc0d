//! The calendar sync work queue: every sync of an integration is a job, leased by one worker at
//! a time (safe across several instances), retried with exponential backoff and jitter, and moved
//! to the dead letters (`dead`) after its last attempt or at once when retrying cannot help (a
//! rejected credential).
//!
//! Times are passed in (`now`), so the queue's rules are tested without waiting.

use std::time::Duration;

use async_trait::async_trait;

use crate::enums::{CalendarSyncJobKind, CalendarSyncJobStatus};
use crate::ids::CalendarIntegrationId;
use crate::time::Timestamp;
use crate::Result;

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncJob {
    /// Creation order.
    pub id: i64,
    pub integration_id: CalendarIntegrationId,
    pub kind: CalendarSyncJobKind,
    pub status: CalendarSyncJobStatus,
    /// Attempts started so far (a claim starts one).
    pub attempts: u32,
    pub max_attempts: u32,
    /// When the job is due (after a failure: when it is retried).
    pub available_at: Timestamp,
    /// The worker holding the job, while `running`.
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// The queue at a glance (`vendrome calendar sync-status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStatus {
    /// Jobs waiting to run (due or not).
    pub pending: u64,
    /// Jobs leased by a worker.
    pub running: u64,
    /// Pending jobs that failed at least once and wait for their retry.
    pub retrying: u64,
    /// Jobs that gave up (the dead letters).
    pub dead: u64,
    /// When the longest-waiting pending job was due.
    pub oldest_pending: Option<Timestamp>,
}

/// Exponential backoff with jitter: after the `attempt`-th failure (1-based) the job waits
/// `base · 2^(attempt-1)`, capped at `cap`, of which the upper half is scaled by `jitter`
/// (in `[0, 1]`, drawn by the caller) so workers failing together spread their retries.
#[must_use]
pub fn backoff(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base
        .checked_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .unwrap_or(cap)
        .min(cap);
    let half = exp / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// The storage port of the sync queue.
#[async_trait]
pub trait SyncJobRepo: Send + Sync {
    /// Queues a `kind` job for the integration, due at `at`; `false` (and nothing queued) when
    /// one of that kind is already pending or running for it.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn schedule_sync_job(
        &self,
        integration: CalendarIntegrationId,
        kind: CalendarSyncJobKind,
        max_attempts: u32,
        at: Timestamp,
    ) -> Result<bool>;

    /// Queues a `kind` job due at `now` for every integration that can sync (`active` or
    /// `error`, with credentials) and has had no job of that kind created after `since` (one per
    /// period, whatever became of it) nor has one live; how many were queued. Several instances
    /// doing this at once queue each job once.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn schedule_periodic_sync_jobs(
        &self,
        kind: CalendarSyncJobKind,
        max_attempts: u32,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u64>;

    /// Leases the integration's live `kind` job to `owner` until `now + lease` as
    /// [`Self::claim_sync_job`] does, but whenever it is due (a sync asked for now skips the
    /// backoff); `None` when it has none, or another worker holds it.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn claim_sync_job_of(
        &self,
        integration: CalendarIntegrationId,
        kind: CalendarSyncJobKind,
        owner: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<SyncJob>>;

    /// Leases the next due job to `owner` until `now + lease`, starting an attempt: a pending
    /// job due by `now`, or a running one whose lease ran out (its worker died). Each job is
    /// given to one claimer only, also when several instances claim at once.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn claim_sync_job(
        &self,
        owner: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<SyncJob>>;

    /// Marks `owner`'s running job `succeeded`; `false` when `owner` no longer holds it.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn complete_sync_job(&self, id: i64, owner: &str, now: Timestamp) -> Result<bool>;

    /// Records a failed attempt of `owner`'s running job: back to `pending` due at `retry_at`,
    /// or `dead` when `retry_at` is `None` (retrying cannot help) or this was its last attempt.
    /// The job's new status; `None` when `owner` no longer holds it.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn fail_sync_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Option<CalendarSyncJobStatus>>;

    /// The integration's jobs, newest first, at most `limit`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn sync_jobs_of(
        &self,
        integration: CalendarIntegrationId,
        limit: u32,
    ) -> Result<Vec<SyncJob>>;

    /// Counts of the queue and its oldest pending job.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn sync_queue_status(&self) -> Result<QueueStatus>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_the_upper_half() {
        let (base, cap) = (Duration::from_secs(10), Duration::from_secs(300));
        assert_eq!(backoff(1, base, cap, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(1, base, cap, 0.0), Duration::from_secs(5));
        assert_eq!(backoff(3, base, cap, 1.0), Duration::from_secs(40));
        assert_eq!(backoff(3, base, cap, 0.5), Duration::from_secs(30));
        assert_eq!(backoff(10, base, cap, 1.0), cap);
        assert_eq!(backoff(200, base, cap, 1.0), cap);
        assert_eq!(backoff(200, base, cap, 0.0), cap / 2);
    }
}
