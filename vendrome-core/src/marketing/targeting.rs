//! Who a campaign is shown to. A dimension left empty does not restrict; within one dimension
//! the values are alternatives (OR), across dimensions they combine (AND), as migration 8 says.
//! Members who have not opted in to direct marketing ([`AudienceMember::consented`]) never
//! match, whatever the targeting (POPIA s69).

use serde::{Deserialize, Serialize};

use crate::enums::{LookingFor, VerificationLevel};
use crate::ids::{TopicId, UserId};
use crate::validation::ValidationErrors;

/// The most values one dimension may name.
pub const VALUES_MAX: usize = 50;

/// A campaign's targeting, checked ([`Targeting::check`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targeting {
    /// Profile industry slugs.
    #[serde(default)]
    pub industries: Vec<String>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Profile cities, compared case-insensitively (kept lower-cased).
    #[serde(default)]
    pub cities: Vec<String>,
    /// Followed topics.
    #[serde(default)]
    pub topics: Vec<TopicId>,
    #[serde(default)]
    pub verification_levels: Vec<VerificationLevel>,
    /// 1: the owner's connections; 2: theirs and their connections' connections.
    #[serde(default)]
    pub connection_degree: Option<u8>,
    #[serde(default)]
    pub looking_for: Vec<LookingFor>,
}

/// What targeting looks at in one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudienceMember {
    pub user_id: Option<UserId>,
    pub industry: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub verification_level: Option<VerificationLevel>,
    pub looking_for: Vec<LookingFor>,
    pub topics: Vec<TopicId>,
    /// Opted in to direct marketing.
    pub consented: bool,
}

fn one_of<T: PartialEq>(wanted: &[T], have: Option<&T>) -> bool {
    wanted.is_empty() || have.is_some_and(|v| wanted.contains(v))
}

fn any_of<T: PartialEq>(wanted: &[T], have: &[T]) -> bool {
    wanted.is_empty() || have.iter().any(|v| wanted.contains(v))
}

fn dedup<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values.dedup();
    values
}

impl Targeting {
    /// The targeting with every value checked and normalised (cities trimmed and lower-cased,
    /// duplicates dropped), or every broken rule by field (`targeting.<dimension>`).
    ///
    /// # Errors
    ///
    /// [`ValidationErrors`] for a dimension of more than [`VALUES_MAX`] values, an industry
    /// that is not a lower-case slug, a country that is not two capital letters, an empty or
    /// over-long city, or a connection degree other than 1 or 2.
    pub fn check(self) -> Result<Targeting, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let sizes = [
            ("industries", self.industries.len()),
            ("countries", self.countries.len()),
            ("cities", self.cities.len()),
            ("topics", self.topics.len()),
            ("verification_levels", self.verification_levels.len()),
            ("looking_for", self.looking_for.len()),
        ];
        for (field, n) in sizes {
            if n > VALUES_MAX {
                errors.add(
                    &format!("targeting.{field}"),
                    "too_many",
                    format!("at most {VALUES_MAX} values"),
                );
            }
        }
        let slug = |s: &String| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if !self.industries.iter().all(slug) {
            errors.add(
                "targeting.industries",
                "invalid",
                "industries are lower-case slugs",
            );
        }
        let country = |c: &String| c.len() == 2 && c.chars().all(|c| c.is_ascii_uppercase());
        if !self.countries.iter().all(country) {
            errors.add(
                "targeting.countries",
                "invalid",
                "countries are ISO 3166-1 alpha-2 codes",
            );
        }
        let cities: Vec<String> = self
            .cities
            .iter()
            .map(|c| c.trim().to_lowercase())
            .collect();
        if cities
            .iter()
            .any(|c| c.is_empty() || c.chars().count() > 100)
        {
            errors.add(
                "targeting.cities",
                "invalid",
                "cities are 1 to 100 characters",
            );
        }
        if self
            .connection_degree
            .is_some_and(|d| !(1..=2).contains(&d))
        {
            errors.add(
                "targeting.connection_degree",
                "invalid",
                "the connection degree is 1 or 2",
            );
        }
        errors.into_result()?;
        Ok(Targeting {
            industries: dedup(self.industries),
            countries: dedup(self.countries),
            cities: dedup(cities),
            topics: dedup(self.topics),
            verification_levels: dedup(self.verification_levels),
            connection_degree: self.connection_degree,
            looking_for: dedup(self.looking_for),
        })
    }

    /// Whether `member`, at `degree` from the campaign's owner (`None`: further or not
    /// connected), is in the audience. Never a member who has not opted in.
    pub fn matches(&self, member: &AudienceMember, degree: Option<u8>) -> bool {
        member.consented
            && one_of(&self.industries, member.industry.as_ref())
            && one_of(&self.countries, member.country.as_ref())
            && (self.cities.is_empty()
                || one_of(
                    &self.cities,
                    member.city.as_ref().map(|c| c.to_lowercase()).as_ref(),
                ))
            && one_of(
                &self.verification_levels,
                member.verification_level.as_ref(),
            )
            && any_of(&self.looking_for, &member.looking_for)
            && any_of(&self.topics, &member.topics)
            && self
                .connection_degree
                .is_none_or(|wanted| degree.is_some_and(|d| d <= wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> AudienceMember {
        AudienceMember {
            user_id: None,
            industry: Some("agritech".into()),
            country: Some("ZA".into()),
            city: Some("Cape Town".into()),
            verification_level: Some(VerificationLevel::EmailVerified),
            looking_for: vec![LookingFor::Investors],
            topics: vec![],
            consented: true,
        }
    }

    #[test]
    fn empty_dimensions_do_not_restrict_but_consent_always_does() {
        let all = Targeting::default();
        assert!(all.matches(&member(), None));
        let refused = AudienceMember {
            consented: false,
            ..member()
        };
        assert!(!all.matches(&refused, Some(1)));
    }

    #[test]
    fn values_are_alternatives_and_dimensions_combine() {
        let t = Targeting {
            countries: vec!["KE".into(), "ZA".into()],
            cities: vec!["cape town".into()],
            looking_for: vec![LookingFor::Investors, LookingFor::Talent],
            ..Targeting::default()
        };
        assert!(t.matches(&member(), None));
        let elsewhere = AudienceMember {
            country: Some("NG".into()),
            ..member()
        };
        assert!(!t.matches(&elsewhere, None));
        let degree = Targeting {
            connection_degree: Some(1),
            ..t
        };
        assert!(degree.matches(&member(), Some(1)));
        assert!(!degree.matches(&member(), Some(2)));
        assert!(!degree.matches(&member(), None));
    }

    #[test]
    fn check_normalises_and_names_every_broken_rule() {
        let t = Targeting {
            cities: vec![" Cape Town ".into(), "cape town".into()],
            ..Targeting::default()
        }
        .check()
        .unwrap();
        assert_eq!(t.cities, ["cape town"]);
        let bad = Targeting {
            industries: vec!["Agri Tech".into()],
            countries: vec!["za".into()],
            connection_degree: Some(3),
            ..Targeting::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(bad.fields().len(), 3, "{bad:?}");
    }
}
