//! Who a flag is for besides its percentage: named members (always on while the flag is on) and
//! segments (role, verification level, country), which narrow the members the percentage picks
//! from. A flag without cohorts behaves as a flag with only a percentage.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::enums::{UserRole, VerificationLevel};
use crate::ids::UserId;
use crate::validation::{invalid, ValidationErrors};

/// The most members a flag may name: a canary names a few people; wider rollouts use the
/// percentage and segments.
pub const MAX_INCLUDED_USERS: usize = 1_000;

/// What a flag's cohorts look at in a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: UserId,
    pub role: UserRole,
    pub level: VerificationLevel,
    /// The profile's ISO 3166-1 alpha-2 country, when the member gave one.
    pub country: Option<String>,
}

impl Member {
    /// A member whose traits are unknown or unset: only the explicit list and flags without
    /// segments can reach them.
    pub fn plain(id: UserId) -> Self {
        Self {
            id,
            role: UserRole::Member,
            level: VerificationLevel::Unverified,
            country: None,
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Country(String);

impl Country {
    /// Accepts two ASCII letters in either case.
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code))
        } else {
            Err(invalid(
                "invalid_format",
                "must be an ISO 3166-1 alpha-2 code, such as KE",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A flag's cohorts, stored with the flag as one JSON document.
///
/// Lists of one kind are alternatives (any role listed); kinds combine (a listed role and a
/// listed country). An empty list does not narrow anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cohorts {
    /// Members the flag is on for whatever their bucket or segments, while it is on.
    pub users: BTreeSet<UserId>,
    pub roles: BTreeSet<UserRole>,
    pub levels: BTreeSet<VerificationLevel>,
    pub countries: BTreeSet<Country>,
}

impl Cohorts {
    /// Checks the bounds: at most [`MAX_INCLUDED_USERS`] named members.
    pub fn bounded(self) -> Result<Self, ValidationErrors> {
        if self.users.len() > MAX_INCLUDED_USERS {
            return Err(invalid(
                "too_many",
                format!("at most {MAX_INCLUDED_USERS} members may be named"),
            ));
        }
        Ok(self)
    }

    /// Whether there is nothing besides the percentage.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && !self.has_segments()
    }

    /// Whether any segment narrows the percentage's members (evaluating then needs the member's
    /// traits, not only their id).
    pub fn has_segments(&self) -> bool {
        !(self.roles.is_empty() && self.levels.is_empty() && self.countries.is_empty())
    }

    /// Whether `member` is named explicitly.
    pub fn includes(&self, member: UserId) -> bool {
        self.users.contains(&member)
    }

    /// Whether `member` falls in every segment that lists something.
    pub fn segments_admit(&self, member: &Member) -> bool {
        let role = self.roles.is_empty() || self.roles.contains(&member.role);
        let level = self.levels.is_empty() || self.levels.contains(&member.level);
        let country = self.countries.is_empty()
            || member
                .country
                .as_deref()
                .is_some_and(|c| self.countries.iter().any(|listed| listed.as_str() == c));
        role && level && country
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: UserRole, level: VerificationLevel, country: Option<&str>) -> Member {
        Member {
            id: UserId::new(),
            role,
            level,
            country: country.map(str::to_owned),
        }
    }

    #[test]
    fn countries_are_two_letters_upper_cased() {
        assert_eq!(Country::parse("ke").unwrap().as_str(), "KE");
        for bad in ["", "K", "KEN", "K1", "é"] {
            assert!(Country::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn segments_combine_kinds_and_offer_alternatives_within_one() {
        let cohorts = Cohorts {
            roles: [UserRole::Admin, UserRole::Moderator].into(),
            countries: [Country::parse("KE").unwrap(), Country::parse("ZA").unwrap()].into(),
            ..Cohorts::default()
        };
        let cases = [
            (UserRole::Admin, Some("KE"), true),
            (UserRole::Moderator, Some("ZA"), true),
            (UserRole::Member, Some("KE"), false),
            (UserRole::Admin, Some("NG"), false),
            (UserRole::Admin, None, false),
        ];
        for (role, country, admitted) in cases {
            let m = member(role, VerificationLevel::Unverified, country);
            assert_eq!(cohorts.segments_admit(&m), admitted, "{role:?} {country:?}");
        }
        let any = member(UserRole::Member, VerificationLevel::Unverified, None);
        assert!(
            Cohorts::default().segments_admit(&any),
            "no segment, no narrowing"
        );
    }

    #[test]
    fn stored_form_reads_back_and_refuses_unknown_keys() {
        let cohorts = Cohorts {
            users: [UserId::new()].into(),
            levels: [VerificationLevel::BusinessVerified].into(),
            ..Cohorts::default()
        };
        let text = serde_json::to_string(&cohorts).unwrap();
        assert_eq!(serde_json::from_str::<Cohorts>(&text).unwrap(), cohorts);
        assert_eq!(
            serde_json::from_str::<Cohorts>("{}").unwrap(),
            Cohorts::default()
        );
        assert!(serde_json::from_str::<Cohorts>(r#"{"percent":3}"#).is_err());
    }

    #[test]
    fn the_named_list_is_bounded() {
        let many = Cohorts {
            users: (0..=MAX_INCLUDED_USERS).map(|_| UserId::new()).collect(),
            ..Cohorts::default()
        };
        assert!(many.bounded().is_err());
    }
}
