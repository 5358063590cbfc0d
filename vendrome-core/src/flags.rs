//! Feature flags: each is on or off plus a rollout percentage, evaluated deterministically per
//! user so that the same user always gets the same answer while a rollout holds still.
//!
//! The rollout flags of the migration plan (`use_real_auth`, …) are created by the migrations.

use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::ids::UserId;
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::Result;

/// A flag's name: `a-z`, `0-9` and `_`, starting with a letter, 2 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct FlagName(String);

impl FlagName {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let ok = (2..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid(
                "invalid_format",
                "must be 2 to 64 of a-z, 0-9 and _, starting with a letter",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The share of users a flag is on for, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct RolloutPercent(u8);

impl RolloutPercent {
    pub const FULL: RolloutPercent = RolloutPercent(100);

    pub fn parse(n: i64) -> Result<Self, ValidationErrors> {
        u8::try_from(n)
            .ok()
            .filter(|n| *n <= 100)
            .map(Self)
            .ok_or_else(|| invalid("out_of_range", "must be between 0 and 100"))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A feature flag as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub name: FlagName,
    pub description: String,
    pub enabled: bool,
    pub rollout_percent: RolloutPercent,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Flag {
    /// Whether the flag is on for `subject`.
    ///
    /// Off is off for everyone. On at 100 % is on for everyone. On at `p` % is on for the users
    /// whose bucket (a stable hash of flag name and user id, 0–99) is below `p`, so raising `p`
    /// only ever adds users. Anonymous callers get the base state: on if the flag is on.
    pub fn evaluate(&self, subject: Option<UserId>) -> bool {
        match subject {
            _ if !self.enabled => false,
            None => true,
            Some(user) => bucket(&self.name, user) < self.rollout_percent.get(),
        }
    }
}

/// The user's bucket for this flag, 0 to 99: the first eight bytes of
/// SHA-256(`name` ‖ `:` ‖ user id bytes), modulo 100. Stable across processes and releases.
pub fn bucket(name: &FlagName, user: UserId) -> u8 {
    let digest = Sha256::new()
        .chain_update(name.as_str().as_bytes())
        .chain_update(b":")
        .chain_update(user.as_uuid().as_bytes())
        .finalize();
    let head = u64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    );
    (head % 100) as u8
}

/// A change to a flag: its state and, optionally, a new rollout percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagUpdate {
    pub enabled: bool,
    pub rollout_percent: Option<RolloutPercent>,
}

/// Storage of feature flags.
#[async_trait]
pub trait FlagRepo: Send + Sync {
    /// Every flag, by name.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn list_flags(&self) -> Result<Vec<Flag>>;

    /// The flag with this name, or `None`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown
    /// name is `Ok(None)`.
    async fn flag(&self, name: &FlagName) -> Result<Option<Flag>>;

    /// Applies `update` and, in the same transaction, writes a `flag.updated` outbox event and a
    /// `flag.updated` audit event attributed to `audit`.
    ///
    /// MUST return [`Error::NotFound`](crate::Error::NotFound) when no flag has this name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `flag` when no flag has this name;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn update_flag(
        &self,
        name: &FlagName,
        update: FlagUpdate,
        audit: &AuditContext,
    ) -> Result<Flag>;
}

/// A flag as one caller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatedFlag {
    pub flag: Flag,
    /// Whether the flag is on for this caller.
    pub active: bool,
}

/// Reading and changing flags.
#[derive(Clone)]
pub struct FlagService {
    repo: Arc<dyn FlagRepo>,
}

impl FlagService {
    pub fn new(repo: Arc<dyn FlagRepo>) -> Self {
        Self { repo }
    }

    /// Every flag, evaluated for `subject` (anonymous when `None`).
    pub async fn evaluate_all(&self, subject: Option<UserId>) -> Result<Vec<EvaluatedFlag>> {
        let flags = self.repo.list_flags().await?;
        Ok(flags
            .into_iter()
            .map(|flag| EvaluatedFlag {
                active: flag.evaluate(subject),
                flag,
            })
            .collect())
    }

    pub async fn list(&self) -> Result<Vec<Flag>> {
        self.repo.list_flags().await
    }

    /// MUST return [`Error::NotFound`](crate::Error::NotFound) for an unknown flag.
    pub async fn get(&self, name: &FlagName) -> Result<Flag> {
        self.repo
            .flag(name)
            .await?
            .ok_or(crate::Error::not_found("flag"))
    }

    /// Changes a flag on behalf of a signed-in user, audited under `audit`.
    ///
    /// MUST return [`Error::Forbidden`](crate::Error::Forbidden) unless `caller` is an admin,
    /// and [`Error::NotFound`](crate::Error::NotFound) for an unknown flag.
    pub async fn update_as(
        &self,
        caller: &Caller,
        name: &FlagName,
        update: FlagUpdate,
        audit: &AuditContext,
    ) -> Result<Flag> {
        caller.require_admin()?;
        self.repo.update_flag(name, update, audit).await
    }

    /// Changes a flag on an operator's authority (the command line, an embedding program):
    /// whoever holds the database holds this right.
    pub async fn update_as_operator(&self, name: &FlagName, update: FlagUpdate) -> Result<Flag> {
        self.repo
            .update_flag(name, update, &AuditContext::cli())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(enabled: bool, percent: u8) -> Flag {
        Flag {
            name: FlagName::parse("use_real_feed").unwrap(),
            description: String::new(),
            enabled,
            rollout_percent: RolloutPercent::parse(percent.into()).unwrap(),
            created_at: crate::time::now(),
            updated_at: crate::time::now(),
        }
    }

    #[test]
    fn names_and_percentages_are_validated() {
        assert!(FlagName::parse("use_real_auth").is_ok());
        for bad in ["", "x", "Upper", "1abc", "with-dash", &"a".repeat(65)] {
            assert!(FlagName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RolloutPercent::parse(-1).is_err());
        assert!(RolloutPercent::parse(101).is_err());
        assert_eq!(RolloutPercent::parse(0).unwrap().get(), 0);
    }

    #[test]
    fn off_is_off_and_full_is_on() {
        let users: Vec<UserId> = (0..200).map(|_| UserId::new()).collect();
        assert!(users.iter().all(|u| !flag(false, 100).evaluate(Some(*u))));
        assert!(users.iter().all(|u| flag(true, 100).evaluate(Some(*u))));
        assert!(users.iter().all(|u| !flag(true, 0).evaluate(Some(*u))));
        assert!(
            flag(true, 10).evaluate(None),
            "anonymous callers get the base state"
        );
        assert!(!flag(false, 10).evaluate(None));
    }

    #[test]
    fn rollout_is_deterministic_proportional_and_monotonic() {
        let users: Vec<UserId> = (0..10_000).map(|_| UserId::new()).collect();
        let at = |p| {
            users
                .iter()
                .filter(|u| flag(true, p).evaluate(Some(**u)))
                .count()
        };
        let thirty = at(30);
        assert!(
            (2_700..=3_300).contains(&thirty),
            "30 % rollout reached {thirty} of 10000"
        );
        // The same user gets the same answer every time.
        for u in &users[..100] {
            assert_eq!(
                flag(true, 30).evaluate(Some(*u)),
                flag(true, 30).evaluate(Some(*u))
            );
        }
        // Raising the percentage only adds users.
        for u in &users {
            if flag(true, 30).evaluate(Some(*u)) {
                assert!(flag(true, 60).evaluate(Some(*u)));
            }
        }
    }

    #[test]
    fn bucket_is_stable_across_releases() {
        // Pinned: a change to the hashing would silently move users between cohorts.
        let user = UserId::from_uuid(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0001,
        ));
        assert_eq!(
            bucket(&FlagName::parse("use_real_auth").unwrap(), user),
            PINNED_BUCKET
        );
    }

    const PINNED_BUCKET: u8 = 22;
}
