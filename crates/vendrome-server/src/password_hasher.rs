//! Argon2id hashing on a small pool of dedicated threads, so that a burst of sign-ins never stalls
//! the async workers that serve every other request.
//!
//! The pool has one thread per core: each hash takes 19 MiB and a core for tens of milliseconds,
//! and running more at once than there are cores only makes all of them slower (they fight over
//! the cores and the memory bandwidth) while holding more memory. Waiting hashes queue in
//! arrival order; a thread takes the next one the moment it finishes the last, so no core idles
//! while sign-ins wait (handing each hash to tokio's blocking pool behind a semaphore left a gap
//! between one hash and the next: the waiter had to be woken on an async worker first).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::oneshot;
use vendrome_core::auth::{hash_blocking, verify_blocking, Password, PasswordHash, PasswordHasher};
use vendrome_core::Result;

type Job = Box<dyn FnOnce() + Send>;

/// The [`PasswordHasher`] of the server. Clones share one pool; its threads end when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    queue: mpsc::Sender<Job>,
}

impl Argon2Hasher {
    /// One thread per core the process may use.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(cores)
    }

    /// A pool of `threads` hashing threads (at least one).
    pub fn with_threads(threads: usize) -> Self {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("vendrome-hash-{index}"))
                .spawn(move || work(&jobs))
                .expect("the operating system starts a hashing thread");
        }
        Self { queue }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (a dropped request); its result is then not needed.
            let _ = done.send(work());
        });
        self.queue
            .send(job)
            .map_err(|_| anyhow::anyhow!("the hashing threads have stopped"))?;
        Ok(result
            .await
            .map_err(|_| anyhow::anyhow!("a hashing thread failed"))?)
    }
}

/// One hashing thread: runs queued jobs until every sender is gone.
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

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash> {
        let password = password.clone();
        self.run(move || hash_blocking(&password)).await?
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(move || verify_blocking(&password, &hash)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies_on_the_pool() {
        let hasher = Argon2Hasher::with_threads(2);
        let password = Password::candidate("correct horse battery staple").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hasher.verify(&password, &hash).await.unwrap());
        let wrong = Password::candidate("incorrect horse battery").unwrap();
        assert!(!hasher.verify(&wrong, &hash).await.unwrap());
    }

    #[tokio::test]
    async fn runs_no_more_hashes_at_once_than_it_has_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = Argon2Hasher::with_threads(2);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..8).map(|_| {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            hasher.run(move || {
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
        let hasher = Argon2Hasher::with_threads(1);
        let clone = hasher.clone();
        drop(hasher);
        let seen = clone.run(|| std::thread::current().name().map(str::to_owned));
        assert_eq!(seen.await.unwrap().as_deref(), Some("vendrome-hash-0"));
    }
}
