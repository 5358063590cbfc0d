//! Idempotency keys with Stripe's semantics: a retried POST with the same `Idempotency-Key`
//! replays the first answer instead of doing the work again.
//!
//! - Same key, same request: the stored status and body are replayed.
//! - Same key, different request: refused (`idempotency_key_mismatch`).
//! - Same key while the first request still runs: refused (`idempotency_key_in_progress`).
//! - Keys are scoped per caller and forgotten after [`KEY_TTL`].

use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::Result;

/// How long a completed key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a key stays locked by a request in flight before another may take it over (the
/// first holder is then presumed dead), at the server's default request deadline of 30 s. The
/// server holds keys for twice its deadline ([`in_flight_lock`]): no request runs past the
/// deadline, so a holder whose lock ran out is dead, never merely slow.
pub const IN_FLIGHT_LOCK: Duration = Duration::from_secs(60);

/// The in-flight lock for a server whose requests are answered within `deadline`: twice it.
pub fn in_flight_lock(deadline: Duration) -> Duration {
    deadline.saturating_mul(2)
}

/// A client-chosen key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        if (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid(
                "invalid_format",
                "must be 1 to 255 visible ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who a key belongs to: the same key from two callers names two different requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyScope(String);

impl KeyScope {
    pub fn user(id: crate::ids::UserId) -> Self {
        Self(format!("user:{id}"))
    }

    /// An anonymous caller, told apart by network address.
    pub fn anonymous(address: &str) -> Self {
        Self(format!("anon:{address}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digest of what makes two requests "the same": method, path and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(method: &str, path: &str, body: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(method.as_bytes())
            .chain_update([0])
            .chain_update(path.as_bytes())
            .chain_update([0])
            .chain_update(body)
            .finalize();
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored response, replayed for retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What [`IdempotencyRepo::begin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key is new (or expired, or abandoned by a dead holder): the caller now holds it and
    /// must [`complete`](IdempotencyRepo::complete) or [`release`](IdempotencyRepo::release) it.
    Started,
    /// The first request finished: replay its answer.
    Replay(StoredResponse),
    /// The key was used with a different request.
    Mismatch,
    /// The first request is still running.
    InProgress,
}

/// Storage of idempotency keys.
#[async_trait]
pub trait IdempotencyRepo: Send + Sync {
    /// Takes the key for a request, atomically: of any number of concurrent callers with the same
    /// scope and key, exactly one gets [`Begin::Started`].
    ///
    /// MUST return [`Begin::Mismatch`] when the stored fingerprint differs (checked first),
    /// [`Begin::InProgress`] while another holder's lock has not expired, [`Begin::Replay`] for
    /// a completed key, and treat a key past its expiry as new. A caller that gets
    /// [`Begin::Started`] holds the key until `now + lock`; after that another may take it over.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. Every outcome
    /// for the key (a mismatch, a request in progress) is a [`Begin`], not an error.
    async fn begin(
        &self,
        scope: &KeyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: Timestamp,
        lock: Duration,
    ) -> Result<Begin>;

    /// Stores the answer of a started request; from now on it is replayed until the key expires.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn complete(
        &self,
        scope: &KeyScope,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<()>;

    /// Forgets a started key whose request failed without an answer worth replaying (a server
    /// error), so that a retry runs again.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn release(&self, scope: &KeyScope, key: &IdempotencyKey) -> Result<()>;

    /// Deletes keys that expired before `now`; returns how many.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn purge_expired(&self, now: Timestamp) -> Result<u64>;
}
