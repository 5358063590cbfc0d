//! A small pool of dedicated threads for CPU-bound work (password hashing, searches), fed by a
//! queue, so that such work never stalls the async workers that serve every other request.
//!
//! One thread per core is the usual size: running more CPU-bound jobs at once than there are
//! cores only makes all of them slower (they fight over the cores and caches) while holding more
//! memory. Waiting jobs queue in arrival order, and a thread takes the next one the moment it
//! finishes the last (handing each job to tokio's blocking pool instead runs every waiting job
//! at once, time-sliced, and left a core idle between jobs while the waiter was woken).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The pool. Clones share its threads, which end when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Workers {
    queue: mpsc::Sender<Job>,
}

impl Workers {
    /// One thread per core the process may use, named `<name>-<n>`.
    pub fn per_core(name: &str) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(name, cores)
    }

    /// A pool of `threads` threads (at least one), named `<name>-<n>`.
    pub fn with_threads(name: &str, threads: usize) -> Self {
        let (queue, jobs) = mpsc::channel::<Job>();
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

    /// Runs `job` on the pool once a thread is free, and returns its result.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> crate::Result<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (a dropped request); its result is then not needed.
            let _ = done.send(job());
        });
        self.queue
            .send(job)
            .map_err(|_| anyhow::anyhow!("the worker threads have stopped"))?;
        Ok(result
            .await
            .map_err(|_| anyhow::anyhow!("a worker thread failed"))?)
    }
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
}
