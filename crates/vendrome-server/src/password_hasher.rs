//! Argon2id hashing on tokio's blocking threads, so that a burst of sign-ins never stalls the
//! async workers that serve every other request.

use async_trait::async_trait;
use vendrome_core::auth::{hash_blocking, verify_blocking, Password, PasswordHash, PasswordHasher};
use vendrome_core::Result;

/// The [`PasswordHasher`] of the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Argon2Hasher;

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash> {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(|e| anyhow::anyhow!("the hashing task failed: {e}"))?
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool> {
        let (password, hash) = (password.clone(), hash.clone());
        tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
            .await
            .map_err(|e| anyhow::Error::msg(format!("the verification task failed: {e}")).into())
    }
}
