//! A change to a profile, checked field by field: every broken rule is named at once.

use crate::enums::LookingFor;
use crate::sql_enum::SqlEnum as _;
use crate::validation::{invalid, web_url, ValidationErrors};

/// A skill: 1 to 50 characters, stored lower case with inner spaces kept (`supply chain`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skill(String);

impl Skill {
    pub const MAX_PER_PROFILE: usize = 30;

    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || text.chars().count() > 50 {
            return Err(invalid("invalid_length", "must be 1 to 50 characters"));
        }
        if text.chars().any(char::is_control) {
            return Err(invalid(
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Ok(Self(text.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A profile change as it arrives: each field absent (unchanged), `null` (cleared) or a value.
#[derive(Debug, Clone, Default)]
pub struct RawProfileChanges {
    pub company: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub country_code: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub website_url: Option<Option<String>>,
    pub about: Option<Option<String>>,
    pub cover_url: Option<Option<String>>,
    pub skills: Option<Vec<String>>,
    pub looking_for: Option<Vec<LookingFor>>,
}

/// A checked profile change. Text is trimmed; an empty text clears its field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub company: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub country_code: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub website_url: Option<Option<String>>,
    pub about: Option<Option<String>>,
    pub cover_url: Option<Option<String>>,
    pub skills: Option<Vec<Skill>>,
    pub looking_for: Option<Vec<LookingFor>>,
}

/// A text field: trimmed, empty means cleared, at most `max` characters.
fn text(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<Option<String>>,
    max: usize,
    rule: impl Fn(&str) -> Result<String, ValidationErrors>,
) -> Option<Option<String>> {
    let value = match raw? {
        None => return Some(None),
        Some(value) => value,
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Some(None);
    }
    if value.chars().count() > max {
        errors.add(
            field,
            "invalid_length",
            format!("must be at most {max} characters"),
        );
        return None;
    }
    errors.check(field, rule(trimmed)).map(Some)
}

fn plain(value: &str) -> Result<String, ValidationErrors> {
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

fn industry(value: &str) -> Result<String, ValidationErrors> {
    let slug = value.to_lowercase();
    let ok = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(slug)
    } else {
        Err(invalid(
            "invalid_format",
            "must be a slug of letters, digits and hyphens, such as agritech",
        ))
    }
}

fn country(value: &str) -> Result<String, ValidationErrors> {
    let code = value.to_uppercase();
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(invalid(
            "invalid_format",
            "must be an ISO 3166-1 alpha-2 code, such as KE",
        ))
    }
}

fn url(value: &str) -> Result<String, ValidationErrors> {
    web_url(value).map(|()| value.to_owned())
}

impl ProfileChanges {
    pub fn parse(raw: RawProfileChanges) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut changes = ProfileChanges {
            company: text(&mut errors, "company", raw.company, 200, plain),
            job_title: text(&mut errors, "job_title", raw.job_title, 100, plain),
            industry: text(&mut errors, "industry", raw.industry, 60, industry),
            country_code: text(&mut errors, "country_code", raw.country_code, 2, country),
            city: text(&mut errors, "city", raw.city, 100, plain),
            website_url: text(&mut errors, "website_url", raw.website_url, 2048, url),
            about: text(&mut errors, "about", raw.about, 2000, plain),
            cover_url: text(&mut errors, "cover_url", raw.cover_url, 2048, url),
            skills: None,
            looking_for: None,
        };
        if let Some(mut wanted) = raw.looking_for {
            if wanted.len() > LookingFor::ALL.len() {
                errors.add(
                    "looking_for",
                    "too_many",
                    format!("at most {} values", LookingFor::ALL.len()),
                );
                return Err(errors);
            }
            wanted.sort();
            wanted.dedup();
            changes.looking_for = Some(wanted);
        }
        if let Some(skills) = raw.skills {
            if skills.len() > Skill::MAX_PER_PROFILE {
                errors.add(
                    "skills",
                    "too_many",
                    format!("at most {} skills", Skill::MAX_PER_PROFILE),
                );
                // Over the bound: the skills are not looked at.
                return Err(errors);
            }
            let mut parsed: Vec<Skill> = skills
                .iter()
                .enumerate()
                .filter_map(|(i, s)| errors.check(&format!("skills.{i}"), Skill::parse(s)))
                .collect();
            parsed.sort();
            parsed.dedup();
            changes.skills = Some(parsed);
        }
        errors.into_result()?;
        Ok(changes)
    }

    /// The API names of the fields this change sets.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("company", self.company.is_some()),
            ("job_title", self.job_title.is_some()),
            ("industry", self.industry.is_some()),
            ("country_code", self.country_code.is_some()),
            ("city", self.city.is_some()),
            ("website_url", self.website_url.is_some()),
            ("about", self.about.is_some()),
            ("cover_url", self.cover_url.is_some()),
            ("skills", self.skills.is_some()),
            ("looking_for", self.looking_for.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_normalised_and_every_broken_rule_named() {
        let changes = ProfileChanges::parse(RawProfileChanges {
            company: Some(Some("  Kijani Foods ".into())),
            industry: Some(Some("AgriTech".into())),
            country_code: Some(Some("ke".into())),
            city: Some(Some("   ".into())),
            skills: Some(vec![
                "Supply  Chain".into(),
                "logistics".into(),
                "supply chain".into(),
            ]),
            looking_for: Some(vec![LookingFor::Investors, LookingFor::Investors]),
            ..RawProfileChanges::default()
        })
        .unwrap();
        assert_eq!(changes.company, Some(Some("Kijani Foods".into())));
        assert_eq!(changes.industry, Some(Some("agritech".into())));
        assert_eq!(changes.country_code, Some(Some("KE".into())));
        assert_eq!(changes.city, Some(None), "blank clears");
        let skills: Vec<&str> = changes
            .skills
            .as_ref()
            .unwrap()
            .iter()
            .map(Skill::as_str)
            .collect();
        assert_eq!(skills, ["logistics", "supply chain"]);
        assert_eq!(changes.looking_for, Some(vec![LookingFor::Investors]));
        assert_eq!(
            changes.fields(),
            [
                "company",
                "industry",
                "country_code",
                "city",
                "skills",
                "looking_for"
            ]
        );

        let err = ProfileChanges::parse(RawProfileChanges {
            industry: Some(Some("agri tech".into())),
            country_code: Some(Some("KEN".into())),
            website_url: Some(Some("ftp://x".into())),
            skills: Some(vec![String::new()]),
            about: Some(Some("x".repeat(2001))),
            ..RawProfileChanges::default()
        })
        .unwrap_err();
        let fields: Vec<&String> = err.fields().keys().collect();
        assert_eq!(
            fields,
            [
                "about",
                "country_code",
                "industry",
                "skills.0",
                "website_url"
            ]
        );
    }
}
