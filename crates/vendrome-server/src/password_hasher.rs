//! Argon2id hashing on tokio's blocking threads, so that a burst of sign-ins never stalls the
//! async workers that serve every other request.
//!
//! At most one hash per core runs at a time: each takes 19 MiB and a core for tens of
//! milliseconds, and running more at once than there are cores only makes all of them slower
//! (they fight over the cores and the memory bandwidth) while holding more memory.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use vendrome_core::auth::{hash_blocking, verify_blocking, Password, PasswordHash, PasswordHasher};
use vendrome_core::Result;

/// The [`PasswordHasher`] of the server.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    slots: Arc<Semaphore>,
}

impl Argon2Hasher {
    /// One slot per core the process may use.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            slots: Arc::new(Semaphore::new(cores)),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| anyhow::anyhow!("the hashing slots closed: {e}"))?;
        Ok(tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| anyhow::anyhow!("the hashing task failed: {e}"))?)
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
