//! Passwords: the policy a new password must meet, Argon2id hashing at OWASP's parameters, and
//! the [`PasswordHasher`] port that runs the hashing off the async threads.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::{
    PasswordHash as PhcHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;

use crate::validation::{invalid, ValidationErrors};
use crate::Result;

/// The 10,000 most common passwords (see `data/README.md`), lower-cased.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(|l| l.trim().to_lowercase())
        .collect()
});

/// A password in memory. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    /// A password someone wants to set: 8 to 128 characters, not one of the 10,000 most common.
    pub fn new_secret(raw: &str) -> Result<Self, ValidationErrors> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(invalid(
                "too_short",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(invalid(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if COMMON.contains(&raw.to_lowercase()) {
            return Err(invalid(
                "too_common",
                "is one of the most common passwords; choose another",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password offered at sign-in: only its size is bounded (so hashing it costs what it
    /// should); whether it is right is for verification to say.
    pub fn candidate(raw: &str) -> Result<Self, ValidationErrors> {
        if raw.is_empty() {
            return Err(invalid("required", "must not be empty"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(invalid(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

impl PasswordHash {
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Argon2id at OWASP's minimum: 19 MiB of memory, 2 passes, 1 lane.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password (CPU-bound, tens of milliseconds: call it off the async threads).
pub fn hash_blocking(password: &Password) -> Result<PasswordHash> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let phc = argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 could not hash: {e}"))?;
    Ok(PasswordHash(phc.to_string()))
}

/// Verifies a password against a PHC hash (CPU-bound, like [`hash_blocking`]). A hash that does
/// not parse verifies nothing.
pub fn verify_blocking(password: &Password, hash: &PasswordHash) -> bool {
    match PhcHash::new(hash.as_str()) {
        Ok(parsed) => argon2()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password with the same parameters: verifying against it when no account
/// matches costs what a real verification costs, so timing does not tell which emails exist.
pub static DECOY_HASH: LazyLock<PasswordHash> = LazyLock::new(|| {
    let decoy = Password(uuid::Uuid::new_v4().to_string());
    hash_blocking(&decoy).expect("hashing a decoy cannot fail")
});

/// Hashing and verifying passwords without stalling other work: adapters run
/// [`hash_blocking`]/[`verify_blocking`] on threads meant for blocking work.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password (Argon2id, PHC string), off the async threads.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the hashing threads are gone or
    /// the hasher fails.
    async fn hash(&self, password: &Password) -> Result<PasswordHash>;
    /// Whether `password` matches `hash` (`false` for a hash that does not parse).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the hashing threads are gone.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_for_new_passwords() {
        assert_eq!(
            Password::new_secret("short").unwrap_err().fields()["value"][0].code,
            "too_short"
        );
        assert_eq!(
            Password::new_secret(&"x".repeat(129)).unwrap_err().fields()["value"][0].code,
            "too_long"
        );
        for common in ["password", "PASSWORD1", "12345678", "qwertyuiop"] {
            assert_eq!(
                Password::new_secret(common).unwrap_err().fields()["value"][0].code,
                "too_common",
                "{common}"
            );
        }
        assert!(
            Password::new_secret(&"a long passphrase ".repeat(3)).is_ok(),
            "64 characters are allowed"
        );
        assert!(Password::new_secret("correct horse battery staple").is_ok());
        assert_eq!(COMMON.len(), 10_000);
    }

    #[test]
    fn argon2id_round_trip_with_owasp_parameters() {
        let password = Password::new_secret("correct horse battery staple").unwrap();
        let hash = hash_blocking(&password).unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        assert!(verify_blocking(&password, &hash));
        assert!(!verify_blocking(
            &Password::candidate("wrong horse").unwrap(),
            &hash
        ));
        assert!(!verify_blocking(
            &password,
            &PasswordHash::from_phc("garbage".into())
        ));
        assert!(!format!("{password:?}").contains("horse"));
    }
}
