//! The verification gates and the cross-border corridors, as data: a compliance officer
//! changes them in a JSON file (`--investment-rules`), not in code. They are hooks for FICA
//! and exchange-control rules, not a statement of what those rules require.
//!
//! ```json
//! {
//!   "kyc_thresholds": { "ZAR": 2500000, "USD": 150000 },
//!   "corridors": [ { "from": "ZA", "to": "NA", "review_above": { "ZAR": 1000000 } } ]
//! }
//! ```
//!
//! - A commitment above its currency's `kyc_thresholds` amount (minor units) needs a backer at
//!   least `identity_verified`; a currency without a threshold has no such gate.
//! - A founder takes a campaign live only when `business_verified` ([`FOUNDER_LEVEL`]).
//! - A commitment is cross-border when the backer's profile country differs from the
//!   campaign's (its founder's). It is allowed only along a listed corridor (`from` the
//!   backer's country `to` the campaign's), and held `pending_review` for an admin when its
//!   amount is above the corridor's `review_above` for its currency (a currency the corridor
//!   does not name is always reviewed). A backer with no country cannot back a campaign that
//!   has one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Backer;
use crate::enums::VerificationLevel;
use crate::money::{Currency, Money};
use crate::{Error, Result};

/// The level a backer needs above a currency's threshold.
pub const BACKER_LEVEL: VerificationLevel = VerificationLevel::IdentityVerified;

/// The level a founder needs to take a campaign live.
pub const FOUNDER_LEVEL: VerificationLevel = VerificationLevel::BusinessVerified;

/// A cross-border route commitments may take.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corridor {
    /// The backer's country (ISO 3166-1 alpha-2).
    pub from: String,
    /// The campaign's country.
    pub to: String,
    /// Per currency, the amount (minor units) above which a commitment waits for review.
    #[serde(default)]
    pub review_above: BTreeMap<Currency, i64>,
}

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestmentRules {
    #[serde(default)]
    pub kyc_thresholds: BTreeMap<Currency, i64>,
    #[serde(default)]
    pub corridors: Vec<Corridor>,
}

/// What the rules say about one commitment they allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// Held `pending_review` for an admin before it may be paid.
    pub review: bool,
}

/// The Common Monetary Area (South Africa, Namibia, Lesotho, Eswatini), each way.
const DEFAULT_CORRIDOR_COUNTRIES: [&str; 4] = ["ZA", "NA", "LS", "SZ"];

impl Default for InvestmentRules {
    /// Identity verification above R25,000, $1,500, €1,500 or £1,250; cross-border commitments
    /// only within the Common Monetary Area, reviewed above R10,000.
    fn default() -> Self {
        let currency = |c: &str| Currency::parse(c).expect("a valid code");
        let kyc_thresholds = [
            ("ZAR", 2_500_000),
            ("USD", 150_000),
            ("EUR", 150_000),
            ("GBP", 125_000),
        ]
        .into_iter()
        .map(|(c, amount)| (currency(c), amount))
        .collect();
        let mut corridors = Vec::new();
        for from in DEFAULT_CORRIDOR_COUNTRIES {
            for to in DEFAULT_CORRIDOR_COUNTRIES
                .into_iter()
                .filter(|to| *to != from)
            {
                corridors.push(Corridor {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    review_above: BTreeMap::from([(currency("ZAR"), 1_000_000)]),
                });
            }
        }
        Self {
            kyc_thresholds,
            corridors,
        }
    }
}

fn country_ok(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl InvestmentRules {
    /// Rules read from a JSON document (see the module docs).
    ///
    /// # Errors
    ///
    /// A message naming what is wrong: not JSON of this shape, a country that is not two
    /// upper-case letters, a negative amount.
    pub fn from_json(raw: &str) -> std::result::Result<Self, String> {
        let rules: Self = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        for corridor in &rules.corridors {
            for country in [&corridor.from, &corridor.to] {
                if !country_ok(country) {
                    return Err(format!(
                        "corridor country {country:?} is not an ISO 3166-1 alpha-2 code"
                    ));
                }
            }
        }
        let amounts = rules
            .kyc_thresholds
            .values()
            .chain(rules.corridors.iter().flat_map(|c| c.review_above.values()));
        if amounts.into_iter().any(|a| *a < 0) {
            return Err("amounts must not be negative".to_owned());
        }
        Ok(rules)
    }

    /// The same rules with `currency`'s threshold set to `amount` (`--kyc-threshold`).
    #[must_use]
    pub fn with_kyc_threshold(mut self, currency: Currency, amount: i64) -> Self {
        self.kyc_thresholds.insert(currency, amount);
        self
    }

    /// Whether `backer` may commit `amount` to a campaign in `campaign_country`, and whether
    /// the commitment waits for review.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] `verification_required` above the currency's threshold for a
    /// backer below [`BACKER_LEVEL`]; `country_required` for a backer with no country and a
    /// campaign with one; `corridor_not_allowed` for a cross-border commitment along no
    /// corridor.
    pub fn assess(
        &self,
        backer: &Backer,
        campaign_country: Option<&str>,
        amount: Money,
    ) -> Result<Assessment> {
        if let Some(threshold) = self.kyc_thresholds.get(&amount.currency) {
            if amount.amount > *threshold && backer.level < BACKER_LEVEL {
                return Err(verification_required(
                    BACKER_LEVEL,
                    &format!(
                        "a commitment above {}",
                        super::amount_text(*threshold, amount.currency)
                    ),
                ));
            }
        }
        let Some(to) = campaign_country else {
            return Ok(Assessment { review: false });
        };
        let Some(from) = backer.country.as_deref() else {
            return Err(Error::forbidden(
                "country_required",
                "set your profile's country before backing a campaign with one",
            ));
        };
        if from == to {
            return Ok(Assessment { review: false });
        }
        let corridor = self
            .corridors
            .iter()
            .find(|c| c.from == from && c.to == to)
            .ok_or_else(|| {
                Error::forbidden(
                    "corridor_not_allowed",
                    format!("commitments from {from} to campaigns in {to} are not allowed"),
                )
            })?;
        let review = corridor
            .review_above
            .get(&amount.currency)
            .is_none_or(|above| amount.amount > *above);
        Ok(Assessment { review })
    }

    /// Whether a founder at `level` may take a campaign live.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] `verification_required` below [`FOUNDER_LEVEL`].
    pub fn founder_may_publish(&self, level: VerificationLevel) -> Result<()> {
        if level < FOUNDER_LEVEL {
            return Err(verification_required(
                FOUNDER_LEVEL,
                "taking a campaign live",
            ));
        }
        Ok(())
    }
}

/// The refusal of something that needs `level`, naming it.
fn verification_required(level: VerificationLevel, what: &str) -> Error {
    Error::forbidden(
        "verification_required",
        format!("{what} needs the verification level {level}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn zar(amount: i64) -> Money {
        Money::new(amount, Currency::parse("ZAR").unwrap())
    }

    fn backer(level: VerificationLevel, country: Option<&str>) -> Backer {
        Backer {
            user_id: UserId::new(),
            level,
            country: country.map(str::to_owned),
        }
    }

    fn code(result: Result<Assessment>) -> &'static str {
        match result {
            Err(Error::Forbidden { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_threshold_needs_identity_verification_above_it_only() {
        let rules = InvestmentRules::default();
        let email = backer(VerificationLevel::EmailVerified, Some("ZA"));
        let identity = backer(VerificationLevel::IdentityVerified, Some("ZA"));
        assert!(rules.assess(&email, Some("ZA"), zar(2_500_000)).is_ok());
        assert_eq!(
            code(rules.assess(&email, Some("ZA"), zar(2_500_001))),
            "verification_required"
        );
        assert!(rules.assess(&identity, Some("ZA"), zar(2_500_001)).is_ok());
    }

    #[test]
    fn cross_border_goes_only_along_corridors_and_is_reviewed_above_their_amount() {
        let rules = InvestmentRules::default();
        let namibian = backer(VerificationLevel::IdentityVerified, Some("NA"));
        let british = backer(VerificationLevel::IdentityVerified, Some("GB"));
        let nowhere = backer(VerificationLevel::IdentityVerified, None);
        assert_eq!(
            rules.assess(&namibian, Some("ZA"), zar(1_000_000)).unwrap(),
            Assessment { review: false }
        );
        assert_eq!(
            rules.assess(&namibian, Some("ZA"), zar(1_000_001)).unwrap(),
            Assessment { review: true }
        );
        // A currency the corridor does not name is always reviewed.
        let usd = Money::new(100, Currency::parse("USD").unwrap());
        assert!(rules.assess(&namibian, Some("ZA"), usd).unwrap().review);
        assert_eq!(
            code(rules.assess(&british, Some("ZA"), zar(100))),
            "corridor_not_allowed"
        );
        assert_eq!(
            code(rules.assess(&nowhere, Some("ZA"), zar(100))),
            "country_required"
        );
        assert!(!rules.assess(&nowhere, None, zar(100)).unwrap().review);
    }

    #[test]
    fn founders_need_business_verification() {
        let rules = InvestmentRules::default();
        assert!(rules
            .founder_may_publish(VerificationLevel::IdentityVerified)
            .is_err());
        assert!(rules
            .founder_may_publish(VerificationLevel::BusinessVerified)
            .is_ok());
    }

    #[test]
    fn rules_are_read_from_json_and_checked() {
        let rules = InvestmentRules::from_json(
            r#"{"kyc_thresholds": {"USD": 100}, "corridors": [{"from": "US", "to": "ZA", "review_above": {"USD": 500}}]}"#,
        )
        .unwrap();
        let american = backer(VerificationLevel::IdentityVerified, Some("US"));
        let usd = |a| Money::new(a, Currency::parse("USD").unwrap());
        assert!(
            !rules
                .assess(&american, Some("ZA"), usd(500))
                .unwrap()
                .review
        );
        assert!(
            rules
                .assess(&american, Some("ZA"), usd(501))
                .unwrap()
                .review
        );
        assert!(
            InvestmentRules::from_json(r#"{"corridors": [{"from": "usa", "to": "ZA"}]}"#).is_err()
        );
        assert!(InvestmentRules::from_json(r#"{"kyc_thresholds": {"ZAR": -1}}"#).is_err());
        assert!(InvestmentRules::from_json(r#"{"typo": 1}"#).is_err());
    }
}
