//! The calendar sync queue's worker inside `vendrome serve` (`vendrome_calendar::runner`): each
//! pass queues the periodic sync of every connected calendar that had none this period, then
//! claims and runs the due jobs. Safe on several instances: queueing is once per integration and
//! period whoever does it, and each job is claimed by one worker under a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
//!
//! The loop reads the time from a clock: `serve` passes the wall clock, tests one set ahead.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use vendrome_calendar::Attempt;
use vendrome_core::time::Timestamp;

use crate::state::AppState;

/// What time the loop takes it to be.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Jobs one pass runs at most; a full pass is followed by another at once.
const BATCH: usize = 50;

/// How often push channels are looked at for renewal (a channel is renewed well before it
/// expires, so once a minute is plenty, and a provider refusing is not asked every pass).
const RENEW_EVERY: Duration = Duration::from_secs(60);

/// Queues and runs calendar syncs until the stop signal, passing every `poll` of the runner's
/// configuration while idle.
pub async fn sync_calendars(state: AppState, clock: Clock, mut stop: watch::Receiver<bool>) {
    let runner = state.calendar_runner.clone();
    let mut renewed_at: Option<std::time::Instant> = None;
    loop {
        match runner.enqueue_due(clock()).await {
            Ok(queued) if queued > 0 => {
                metrics::counter!("vendrome_calendar_sync_jobs_queued_total").increment(queued);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "queueing calendar syncs failed"),
        }
        // Push channels about to expire are renewed (Google's reopened: it does not renew them).
        if renewed_at.is_none_or(|at| at.elapsed() >= RENEW_EVERY) {
            renewed_at = Some(std::time::Instant::now());
            if let Err(error) = runner.renew_channels(clock()).await {
                tracing::warn!(error = %error, "renewing calendar push channels failed");
            }
        }
        let ran = match runner.run_due(&*clock, BATCH).await {
            Ok(runs) => {
                for run in &runs {
                    let outcome = match run.attempt {
                        Attempt::Synced(_) => "synced",
                        Attempt::Failed(_) => "failed",
                        Attempt::Rejected(_) => "rejected",
                        Attempt::Gone | Attempt::Idle(_) => "skipped",
                    };
                    metrics::counter!("vendrome_calendar_sync_jobs_total", "outcome" => outcome)
                        .increment(1);
                }
                runs.len()
            }
            Err(error) => {
                tracing::warn!(error = %error, "running calendar sync jobs failed");
                0
            }
        };
        let pause = if ran >= BATCH {
            Duration::ZERO
        } else {
            runner.config().poll
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
