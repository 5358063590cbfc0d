//! Argon2id hashing on a small pool of dedicated threads ([`Workers`]), so that a burst of
//! sign-ins never stalls the async workers that serve every other request.
//!
//! The pool has one thread per core: each hash takes 19 MiB and a core for tens of milliseconds,
//! and running more at once than there are cores only makes all of them slower (they fight over
//! the cores and the memory bandwidth) while holding more memory. Waiting hashes queue in
//! arrival order; a thread takes the next one the moment it finishes the last, so no core idles
//! while sign-ins wait (handing each hash to tokio's blocking pool behind a semaphore left a gap
//! between one hash and the next: the waiter had to be woken on an async worker first).

use async_trait::async_trait;
use vendrome_core::auth::{hash_blocking, verify_blocking, Password, PasswordHash, PasswordHasher};
use vendrome_core::workers::Workers;
use vendrome_core::Result;

/// The [`PasswordHasher`] of the server. Clones share one pool; its threads end when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    workers: Workers,
}

impl Argon2Hasher {
    /// One thread per core the process may use.
    pub fn new() -> Self {
        Self {
            workers: Workers::per_core("vendrome-hash"),
        }
    }

    /// A pool of `threads` hashing threads (at least one).
    pub fn with_threads(threads: usize) -> Self {
        Self {
            workers: Workers::with_threads("vendrome-hash", threads),
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
        self.workers.run(move || hash_blocking(&password)).await?
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool> {
        let (password, hash) = (password.clone(), hash.clone());
        self.workers
            .run(move || verify_blocking(&password, &hash))
            .await
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
}
