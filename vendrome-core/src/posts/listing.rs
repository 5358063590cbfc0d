//! The typed listings: posts of one type (the marketplace's products and services,
//! crowdfunding campaigns, investment offers and requests, mentorship requests), narrowed by
//! filters that only make sense for some types.

use crate::enums::{InvestmentInstrument, InvestmentStage, MentorshipFormat, PostType};
use crate::posts::Currency;
use crate::validation::ValidationErrors;

/// What a listing shows. Built with [`ListingFilter::parse`], which rejects a filter the type
/// does not have.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListingFilter {
    /// Every type when `None`; every other filter needs a type that has it.
    pub post_type: Option<PostType>,
    pub currency: Option<Currency>,
    /// Inclusive bounds, in minor units, on the type's amount: a product's price, a service's
    /// rate, a campaign's goal, an offer's ticket range (which must overlap the bounds), a
    /// request's amount sought, a mentorship request's budget.
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    /// Products and services.
    pub category: Option<String>,
    /// Services.
    pub remote: Option<bool>,
    /// Investment offers and requests.
    pub stage: Option<InvestmentStage>,
    /// Crowdfunding, investment offers and requests.
    pub instrument: Option<InvestmentInstrument>,
    /// Mentorship requests.
    pub format: Option<MentorshipFormat>,
}

/// The raw filters, as a client sends them.
#[derive(Debug, Clone, Default)]
pub struct ListingQuery {
    pub post_type: Option<PostType>,
    pub currency: Option<String>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub category: Option<String>,
    pub remote: Option<bool>,
    pub stage: Option<InvestmentStage>,
    pub instrument: Option<InvestmentInstrument>,
    pub format: Option<MentorshipFormat>,
}

impl ListingFilter {
    pub fn parse(query: ListingQuery) -> Result<Self, ValidationErrors> {
        use PostType as T;
        let mut errors = ValidationErrors::new();
        let t = query.post_type;
        let mut only = |field: &str, set: bool, types: &[PostType]| {
            if set && !t.is_some_and(|t| types.contains(&t)) {
                let names: Vec<&str> = types.iter().map(|t| crate::SqlEnum::as_str(*t)).collect();
                errors.add(
                    field,
                    "not_applicable",
                    format!("applies only with type {}", names.join(", ")),
                );
            }
        };
        only(
            "category",
            query.category.is_some(),
            &[T::Product, T::Service],
        );
        only("remote", query.remote.is_some(), &[T::Service]);
        only(
            "stage",
            query.stage.is_some(),
            &[T::InvestmentOffer, T::InvestmentRequest],
        );
        only(
            "instrument",
            query.instrument.is_some(),
            &[T::Crowdfunding, T::InvestmentOffer, T::InvestmentRequest],
        );
        only("format", query.format.is_some(), &[T::MentorshipRequest]);
        let typed = [
            T::Product,
            T::Service,
            T::Crowdfunding,
            T::InvestmentOffer,
            T::InvestmentRequest,
            T::MentorshipRequest,
        ];
        only("currency", query.currency.is_some(), &typed);
        only("min_amount", query.min_amount.is_some(), &typed);
        only("max_amount", query.max_amount.is_some(), &typed);
        for (field, value) in [
            ("min_amount", query.min_amount),
            ("max_amount", query.max_amount),
        ] {
            if value.is_some_and(|v| v < 0) {
                errors.add(field, "out_of_range", "must not be negative");
            }
        }
        if let (Some(min), Some(max)) = (query.min_amount, query.max_amount) {
            if min > max {
                errors.add("min_amount", "out_of_range", "must not exceed max_amount");
            }
        }
        let currency = query
            .currency
            .as_deref()
            .and_then(|c| errors.check("currency", Currency::parse(c)));
        let category = query.category.map(|c| c.trim().to_owned());
        if category
            .as_deref()
            .is_some_and(|c| c.is_empty() || c.chars().count() > 100)
        {
            errors.add("category", "invalid_length", "must be 1 to 100 characters");
        }
        errors.into_result()?;
        Ok(Self {
            post_type: query.post_type,
            currency,
            min_amount: query.min_amount,
            max_amount: query.max_amount,
            category,
            remote: query.remote,
            stage: query.stage,
            instrument: query.instrument,
            format: query.format,
        })
    }

    /// Whether any filter beyond the type is set (then only typed posts can match).
    pub fn filters_payload(&self) -> bool {
        self.currency.is_some()
            || self.min_amount.is_some()
            || self.max_amount.is_some()
            || self.category.is_some()
            || self.remote.is_some()
            || self.stage.is_some()
            || self.instrument.is_some()
            || self.format.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_must_fit_the_type() {
        let err = ListingFilter::parse(ListingQuery {
            post_type: Some(PostType::Product),
            stage: Some(InvestmentStage::Seed),
            remote: Some(true),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&String> = err.fields().keys().collect();
        assert_eq!(fields, ["remote", "stage"]);

        let ok = ListingFilter::parse(ListingQuery {
            post_type: Some(PostType::Service),
            remote: Some(true),
            category: Some(" design ".into()),
            currency: Some("EUR".into()),
            min_amount: Some(100),
            max_amount: Some(100),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.category.as_deref(), Some("design"));
        assert!(ok.filters_payload());
    }

    #[test]
    fn amounts_are_checked() {
        let err = ListingFilter::parse(ListingQuery {
            post_type: Some(PostType::Product),
            min_amount: Some(500),
            max_amount: Some(-1),
            currency: Some("eur".into()),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<&String> = err.fields().keys().collect();
        assert_eq!(fields, ["currency", "max_amount", "min_amount"]);
    }
}
