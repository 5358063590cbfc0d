//! Business profiles: what a member shows about their business (company, role, industry,
//! location, website, skills, what they are looking for, a cover image), how complete that is,
//! and the directory of members that filters on it.
//!
//! A profile row is made on demand (the graph counters share it), so a member who never filled
//! it in has an empty profile, not a missing one. Disabled members have none.
//!
//! Events (`aggregate_type` `user`): `profile.updated` (`{user_id, fields}`: the names of the
//! fields the change set).

use std::sync::Arc;

use async_trait::async_trait;

mod changes;
mod directory;

pub use changes::{ProfileChanges, RawProfileChanges, Skill};
pub use directory::{levels_from, DirectoryEntry, DirectoryFilter, DirectorySort, Relation};

use crate::access::Caller;
use crate::enums::LookingFor;
use crate::graph::UserSummary;
use crate::ids::UserId;
use crate::page::{Cursor, Limit, Page};
use crate::time::Timestamp;
use crate::{Error, Result};

/// What a member's card shows wherever members are listed: who they are and where they work.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileCard {
    pub user: UserSummary,
    /// The member's one-line introduction (set with `PATCH /v1/me`).
    pub headline: Option<String>,
    pub company: Option<String>,
    /// Their role at the company.
    pub job_title: Option<String>,
    /// A lower-case slug such as `agritech`.
    pub industry: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: Option<String>,
    pub city: Option<String>,
    pub connections: i64,
    pub joined_at: Timestamp,
}

/// A member's profile as everyone sees it: their card and the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub card: ProfileCard,
    pub website_url: Option<String>,
    pub about: Option<String>,
    pub cover_url: Option<String>,
    /// Lower case, sorted.
    pub skills: Vec<String>,
    pub looking_for: Vec<LookingFor>,
    pub followers: i64,
    pub following: i64,
}

/// How much of a profile is filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completeness {
    /// 0 to 100.
    pub percent: u8,
    /// The fields still empty, by their API names.
    pub missing: Vec<&'static str>,
}

impl Profile {
    /// Every field a complete profile has, each counting the same.
    pub fn completeness(&self) -> Completeness {
        let card = &self.card;
        let filled = [
            ("avatar_url", card.user.avatar_url.is_some()),
            ("headline", card.headline.is_some()),
            ("company", card.company.is_some()),
            ("job_title", card.job_title.is_some()),
            ("industry", card.industry.is_some()),
            ("country_code", card.country_code.is_some()),
            ("city", card.city.is_some()),
            ("website_url", self.website_url.is_some()),
            ("about", self.about.is_some()),
            ("cover_url", self.cover_url.is_some()),
            ("skills", !self.skills.is_empty()),
            ("looking_for", !self.looking_for.is_empty()),
        ];
        let missing: Vec<&'static str> = filled
            .iter()
            .filter(|(_, done)| !done)
            .map(|(name, _)| *name)
            .collect();
        let percent = (filled.len() - missing.len()) * 100 / filled.len();
        Completeness {
            percent: percent as u8,
            missing,
        }
    }
}

/// Storage of profiles.
#[async_trait]
pub trait ProfileRepo: Send + Sync {
    /// The profile of a member who is not disabled (empty fields when never filled in).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails. An unknown or
    /// disabled member is `Ok(None)`.
    async fn profile(&self, user: UserId) -> Result<Option<Profile>>;

    /// The member with this handle (lower case), disabled or not.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn user_by_handle(&self, handle: &str) -> Result<Option<UserId>>;

    /// Applies the changes (making the row if there is none) and writes `profile.updated`, in
    /// one transaction. MUST return [`Error::NotFound`] with `user` for an unknown member.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) `user` for an unknown member;
    /// [`Error::Unexpected`](crate::Error::Unexpected) when the storage fails.
    async fn update_profile(&self, user: UserId, changes: &ProfileChanges) -> Result<()>;

    /// A page of the directory: members who are not disabled and match every filter, in the
    /// filter's order, each with how they relate to `viewer`. A fixed number of statements per
    /// page.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) (field `cursor`, code `invalid_cursor`) for a
    /// cursor this method did not hand out; [`Error::Unexpected`](crate::Error::Unexpected) when
    /// the storage fails.
    async fn directory(
        &self,
        filter: &DirectoryFilter,
        viewer: Option<UserId>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<DirectoryEntry>>;
}

/// The rules of profiles.
#[derive(Clone)]
pub struct ProfileService {
    repo: Arc<dyn ProfileRepo>,
}

impl ProfileService {
    pub fn new(repo: Arc<dyn ProfileRepo>) -> Self {
        Self { repo }
    }

    /// A profile by member id, or by handle (`@` optional). MUST return [`Error::NotFound`]
    /// `profile` for an unknown or disabled member.
    pub async fn find(&self, id_or_handle: &str) -> Result<Profile> {
        let user = match id_or_handle.parse::<UserId>() {
            Ok(id) => Some(id),
            Err(_) => {
                let handle = id_or_handle.trim_start_matches('@').to_lowercase();
                self.repo.user_by_handle(&handle).await?
            }
        };
        match user {
            Some(user) => self.repo.profile(user).await?,
            None => None,
        }
        .ok_or(Error::not_found("profile"))
    }

    /// Changes the caller's own profile and answers it as it is now.
    pub async fn update_own(&self, caller: &Caller, changes: ProfileChanges) -> Result<Profile> {
        self.repo.update_profile(caller.user_id, &changes).await?;
        self.repo
            .profile(caller.user_id)
            .await?
            .ok_or(Error::not_found("profile"))
    }

    pub async fn directory(
        &self,
        viewer: Option<&Caller>,
        filter: &DirectoryFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<DirectoryEntry>> {
        self.repo
            .directory(filter, viewer.map(|c| c.user_id), after, limit)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::VerificationLevel;

    #[test]
    fn completeness_counts_every_field_once() {
        let mut profile = Profile {
            card: ProfileCard {
                user: UserSummary {
                    id: UserId::new(),
                    display_name: "Ana".into(),
                    handle: None,
                    avatar_url: None,
                    verification_level: VerificationLevel::Unverified,
                },
                headline: None,
                company: Some("Kijani Foods".into()),
                job_title: None,
                industry: Some("agritech".into()),
                country_code: None,
                city: None,
                connections: 0,
                joined_at: crate::time::now(),
            },
            website_url: None,
            about: None,
            cover_url: None,
            skills: vec!["logistics".into()],
            looking_for: vec![],
            followers: 0,
            following: 0,
        };
        let start = profile.completeness();
        assert_eq!(start.percent, 25);
        assert_eq!(start.missing.len(), 9);
        assert!(start.missing.contains(&"looking_for"));
        profile.looking_for = vec![LookingFor::Investors];
        assert_eq!(profile.completeness().percent, 33);
    }
}
