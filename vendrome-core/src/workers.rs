//! A small pool of dedicated threads for CPU-bound work (password hashing, searches), fed by a
//! queue, so that such work never stalls the async workers that serve every other request.
//!
//! One thread per core is the usual size: running more CPU-bound jobs at once than there are
//! cores only makes all of them slower (they fight over the cores and caches) while holding more
//! memory. Waiting jobs queue in arrival order, and a thread takes the next one the moment it
//! finishes the last (handing each job to tokio's blocking pool instead runs every waiting job
//! at once, time-sliced, and left a core idle between jobs while the waiter was woken).
//!
//! The queue is bounded ([`Workers::QUEUE_PER_THREAD`] jobs per thread by default): when it is
//! full, [`Workers::run`] answers [`Error::Unavailable`] `overloaded` at once rather than queue
//! work that would start long after its caller gave up. A job whose caller has gone (a dropped
//! request) is skipped when its turn comes, and a job that panics fails its own caller only: the
//! thread carries on with the next.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::Error;

type Job = Box<dyn FnOnce() + Send>;

/// The pool. Clones share its threads, which end when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Workers {
    queue: mpsc::SyncSender<Job>,
}

impl Workers {
    /// Jobs that may wait per thread, by default: a few hundred milliseconds of password
    /// hashing or searching, beyond which a caller is better told to come back.
    pub const QUEUE_PER_THREAD: usize = 32;

    /// One thread per core the process may use, named `<name>-<n>`.
    pub fn per_core(name: &str) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(name, cores)
    }

    /// A pool of `threads` threads (at least one), named `<name>-<n>`, with the default queue.
    pub fn with_threads(name: &str, threads: usize) -> Self {
        Self::bounded(name, threads, threads.max(1) * Self::QUEUE_PER_THREAD)
    }

    /// A pool of `threads` threads (at least one) where at most `queue` jobs wait.
    pub fn bounded(name: &str, threads: usize, queue: usize) -> Self {
        let (queue, jobs) = mpsc::sync_channel::<Job>(queue);
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("{name}-{index}"))
                .spawn(move || work(&jobs))
                .expect("the operating system starts a worker thread");
        }
        Self { queue }
    }

    /// Runs `job` on the pool once a thread is free, and returns its result. MUST return
    /// [`Error::Unavailable`] `overloaded` when the queue is full (nothing is queued then), and
    /// [`Error::Unexpected`] when the job panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> crate::Result<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (a dropped request): its work is not needed.
            if done.is_closed() {
                metrics_skipped();
                return;
            }
            if let Ok(value) = catch_unwind(AssertUnwindSafe(job)) {
                let _ = done.send(value);
            }
            // A panic drops `done`: the caller hears that the job failed.
        });
        self.queue.try_send(job).map_err(|error| match error {
            mpsc::TrySendError::Full(_) => Error::Unavailable {
                code: "overloaded",
                message: "the server is busy; retry shortly".into(),
            },
            mpsc::TrySendError::Disconnected(_) => {
                anyhow::anyhow!("the worker threads have stopped").into()
            }
        })?;
        Ok(result
            .await
            .map_err(|_| anyhow::anyhow!("a worker job failed"))?)
    }
}

/// Jobs skipped because their caller had gone (for tests and, through the log, operators).
fn metrics_skipped() {
    SKIPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

static SKIPPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many jobs every pool of this process skipped because their caller had gone.
pub fn skipped_jobs() -> u64 {
    SKIPPED.load(std::sync::atomic::Ordering::Relaxed)
}

/// One worker thread: runs queued jobs until every sender is gone.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, never while running one.
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => job(),
            Err(mpsc::RecvError) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn runs_no_more_jobs_at_once_than_it_has_threads() {
        let workers = Workers::with_threads("test", 2);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..8).map(|_| {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            workers.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for result in futures::future::join_all(jobs).await {
            result.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn runs_on_its_own_threads_while_a_clone_lives() {
        let workers = Workers::with_threads("named", 1);
        let clone = workers.clone();
        drop(workers);
        let seen = clone.run(|| std::thread::current().name().map(str::to_owned));
        assert_eq!(seen.await.unwrap().as_deref(), Some("named-0"));
    }

    /// A pool of one thread, held busy until the returned sender is used (or dropped).
    async fn held(queue: usize) -> (Workers, std::sync::mpsc::Sender<()>) {
        let workers = Workers::bounded("held", 1, queue);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        let holder = workers.clone();
        tokio::spawn(async move {
            holder
                .run(move || {
                    let _ = started.send(());
                    let _ = released.recv();
                })
                .await
        });
        running.await.unwrap();
        (workers, release)
    }

    #[tokio::test]
    async fn a_full_queue_answers_overloaded_at_once() {
        let (workers, release) = held(1).await;
        // Queued (the first poll puts it in the one free place), and kept waiting.
        let mut waiting = Box::pin(workers.run(|| 7));
        assert!(futures::poll!(&mut waiting).is_pending());
        match workers.run(|| 0).await {
            Err(Error::Unavailable { code, .. }) => assert_eq!(code, "overloaded"),
            other => panic!("{other:?}"),
        }
        release.send(()).unwrap();
        assert_eq!(waiting.await.unwrap(), 7);
        assert_eq!(workers.run(|| 8).await.unwrap(), 8, "room again");
    }

    #[tokio::test]
    async fn a_job_whose_caller_left_is_skipped() {
        use futures::FutureExt as _;
        let (workers, release) = held(4).await;
        let ran = Arc::new(AtomicUsize::new(0));
        let skipped = skipped_jobs();
        let counter = Arc::clone(&ran);
        // Queued, then its caller gives up (the future is dropped).
        assert!(workers
            .run(move || counter.fetch_add(1, Ordering::SeqCst))
            .now_or_never()
            .is_none());
        release.send(()).unwrap();
        workers.run(|| ()).await.unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert!(skipped_jobs() > skipped);
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_caller_and_the_thread_lives_on() {
        let workers = Workers::with_threads("panics", 1);
        let failed = workers.run(|| -> u8 { panic!("a bug in a job") }).await;
        assert!(matches!(failed, Err(Error::Unexpected(_))), "{failed:?}");
        assert_eq!(workers.run(|| 5).await.unwrap(), 5);
    }
}
