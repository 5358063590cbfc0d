//! Feature flags: each is on or off plus a rollout percentage and cohorts ([`cohorts`]: named
//! members, segments by role, verification level and country), evaluated deterministically per
//! member so that the same member always gets the same answer while a rollout holds still.
//!
//! The rollout flags of the migration plan (`use_real_auth`, …) are created by the migrations.

pub mod cohorts;

use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::access::Caller;
use crate::audit::AuditContext;
use crate::ids::UserId;
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::Result;

pub use cohorts::{Cohorts, Country, Member};

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
    pub cohorts: Cohorts,
    /// Whether requests carry this flag's state for the caller as a metrics label (set by the
    /// migrations for the `use_real_*` flags only, which bounds the labels' cardinality).
    pub in_metrics: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Flag {
    /// Whether the flag is on for `subject`.
    ///
    /// Off is off for everyone. A member the cohorts name is in while the flag is on. Otherwise
    /// a member outside the cohorts' segments is out, and one inside is in when their bucket (a
    /// stable hash of flag name and user id, 0–99) is below the percentage, so raising it only
    /// ever adds members. Without cohorts this is the percentage alone. Anonymous callers get
    /// the base state: on if the flag is on.
    pub fn evaluate(&self, subject: Option<&Member>) -> bool {
        match subject {
            _ if !self.enabled => false,
            None => true,
            Some(member) if self.cohorts.includes(member.id) => true,
            Some(member) => {
                self.cohorts.segments_admit(member)
                    && bucket(&self.name, member.id) < self.rollout_percent.get()
            }
        }
    }
}

/// Why a flag was changed, kept in its audit event: 1 to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReason(String);

impl ChangeReason {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let reason = raw.trim();
        if !reason.is_empty() && raw.chars().count() <= 500 {
            Ok(Self(reason.to_owned()))
        } else {
            Err(invalid("invalid_length", "must be 1 to 500 characters"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
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

/// A change to a flag: its state, optionally a new rollout percentage and new cohorts (each
/// left as it is when `None`), and why.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagUpdate {
    pub enabled: bool,
    pub rollout_percent: Option<RolloutPercent>,
    pub cohorts: Option<Cohorts>,
    pub reason: ChangeReason,
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

    /// What `user`'s flags look at (role, verification level, profile country), or `None` when
    /// no account has this id.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn flag_member(&self, user: UserId) -> Result<Option<Member>>;

    /// Applies `update` and, in the same transaction, writes a `flag.updated` outbox event and a
    /// `flag.updated` audit event attributed to `audit`, with the flag before and after and the
    /// update's reason.
    ///
    /// MUST return [`Error::NotFound`](crate::Error::NotFound) when no flag has this name, and
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cohorts.include_users`, code `unknown_users`,
    /// naming them) when the cohorts name ids no account has; nothing changes then.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `flag` when no flag has this name;
    /// [`Error::Invalid`](crate::Error::Invalid) `unknown_users` for unknown named members;
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
        let member = match subject {
            Some(user) => Some(self.member(user, &flags).await?),
            None => None,
        };
        Ok(flags
            .into_iter()
            .map(|flag| EvaluatedFlag {
                active: flag.evaluate(member.as_ref()),
                flag,
            })
            .collect())
    }

    /// `user` as `flags` need them: their traits are read only when an enabled flag has
    /// segments (a deleted account evaluates as a plain member).
    pub async fn member(&self, user: UserId, flags: &[Flag]) -> Result<Member> {
        if !flags.iter().any(|f| f.enabled && f.cohorts.has_segments()) {
            return Ok(Member::plain(user));
        }
        Ok(self
            .repo
            .flag_member(user)
            .await?
            .unwrap_or_else(|| Member::plain(user)))
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

    /// Whether `flag` is on for `user`.
    pub async fn evaluate_one(&self, flag: &Flag, user: UserId) -> Result<bool> {
        let member = self.member(user, std::slice::from_ref(flag)).await?;
        Ok(flag.evaluate(Some(&member)))
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
    use crate::enums::{UserRole, VerificationLevel};

    fn flag(enabled: bool, percent: u8) -> Flag {
        Flag {
            name: FlagName::parse("use_real_feed").unwrap(),
            description: String::new(),
            enabled,
            rollout_percent: RolloutPercent::parse(percent.into()).unwrap(),
            cohorts: Cohorts::default(),
            in_metrics: true,
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

    fn plain(users: &[UserId]) -> Vec<Member> {
        users.iter().map(|u| Member::plain(*u)).collect()
    }

    #[test]
    fn reasons_are_one_to_five_hundred_characters() {
        assert_eq!(
            ChangeReason::parse("  canary  ").unwrap().as_str(),
            "canary"
        );
        assert!(ChangeReason::parse("   ").is_err());
        assert!(ChangeReason::parse(&"é".repeat(500)).is_ok());
        assert!(ChangeReason::parse(&"é".repeat(501)).is_err());
    }

    #[test]
    fn named_members_are_in_and_segments_narrow_the_percentage() {
        let members: Vec<Member> = (0..2_000)
            .map(|i| Member {
                id: UserId::new(),
                role: UserRole::Member,
                level: VerificationLevel::Unverified,
                country: Some(if i % 2 == 0 { "KE" } else { "ZA" }.to_owned()),
            })
            .collect();
        let named = members[1].id;
        let mut canary = flag(true, 50);
        canary.cohorts = Cohorts {
            users: [named].into(),
            countries: [Country::parse("ke").unwrap()].into(),
            ..Cohorts::default()
        };
        assert!(
            canary.evaluate(Some(&members[1])),
            "named, outside the segment"
        );
        let on: Vec<&Member> = members
            .iter()
            .filter(|m| canary.evaluate(Some(m)))
            .collect();
        assert!(on
            .iter()
            .all(|m| m.id == named || m.country.as_deref() == Some("KE")));
        let kenyans = on.iter().filter(|m| m.id != named).count();
        assert!((400..=600).contains(&kenyans), "{kenyans} of 1000 at 50 %");
        // The percentage alone is unchanged by empty cohorts.
        let bare = flag(true, 50);
        for m in &members[..200] {
            assert_eq!(
                bare.evaluate(Some(m)),
                bucket(&bare.name, m.id) < 50,
                "same answer as before cohorts"
            );
        }
        // Off is off, even for the named.
        canary.enabled = false;
        assert!(!canary.evaluate(Some(&members[1])));
        // Anonymous callers still get the base state.
        canary.enabled = true;
        assert!(canary.evaluate(None));
    }

    #[test]
    fn off_is_off_and_full_is_on() {
        let ids: Vec<UserId> = (0..200).map(|_| UserId::new()).collect();
        let users = plain(&ids);
        assert!(users.iter().all(|u| !flag(false, 100).evaluate(Some(u))));
        assert!(users.iter().all(|u| flag(true, 100).evaluate(Some(u))));
        assert!(users.iter().all(|u| !flag(true, 0).evaluate(Some(u))));
        assert!(
            flag(true, 10).evaluate(None),
            "anonymous callers get the base state"
        );
        assert!(!flag(false, 10).evaluate(None));
    }

    #[test]
    fn rollout_is_deterministic_proportional_and_monotonic() {
        let ids: Vec<UserId> = (0..10_000).map(|_| UserId::new()).collect();
        let users = plain(&ids);
        let at = |p| {
            users
                .iter()
                .filter(|u| flag(true, p).evaluate(Some(u)))
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
                flag(true, 30).evaluate(Some(u)),
                flag(true, 30).evaluate(Some(u))
            );
        }
        // Raising the percentage only adds users.
        for u in &users {
            if flag(true, 30).evaluate(Some(u)) {
                assert!(flag(true, 60).evaluate(Some(u)));
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
