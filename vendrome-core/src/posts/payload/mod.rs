//! The typed details of a non-text post, one struct per [`PostType`], and their validation.
//!
//! Clients send a payload as a JSON object beside the post's `type`; [`PostPayload::parse`] reads
//! it field by field so that every broken rule is reported under its own name
//! (`payload.price_minor`). Money is an integer amount of minor units plus an ISO 4217
//! [`Currency`].

use serde::Serialize;
use serde_json::{Map, Value};

use crate::enums::{
    CancellationRefund, InvestmentInstrument, InvestmentStage, MentorshipFormat, PostType,
    ServiceRateUnit,
};
use crate::validation::ValidationErrors;

mod reader;
mod types;

use reader::Reader;
pub use types::*;

/// A post's typed details, tagged by its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PostPayload {
    Text,
    Product(ProductPayload),
    Service(ServicePayload),
    Crowdfunding(CrowdfundingPayload),
    InvestmentOffer(InvestmentOfferPayload),
    InvestmentRequest(InvestmentRequestPayload),
    MentorshipRequest(MentorshipRequestPayload),
}

impl PostPayload {
    pub fn post_type(&self) -> PostType {
        match self {
            PostPayload::Text => PostType::Text,
            PostPayload::Product(_) => PostType::Product,
            PostPayload::Service(_) => PostType::Service,
            PostPayload::Crowdfunding(_) => PostType::Crowdfunding,
            PostPayload::InvestmentOffer(_) => PostType::InvestmentOffer,
            PostPayload::InvestmentRequest(_) => PostType::InvestmentRequest,
            PostPayload::MentorshipRequest(_) => PostType::MentorshipRequest,
        }
    }

    /// Reads the payload of a `post_type` post from a JSON object (`None`: absent). Every error
    /// is named `payload.<field>`; a text post takes no payload.
    pub fn parse(post_type: PostType, raw: Option<&Value>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        match errors.check("payload", Self::parse_fields(post_type, raw)) {
            Some(payload) => Ok(payload),
            None => Err(errors),
        }
    }

    /// [`PostPayload::parse`] with errors named by the bare field (`price_minor`), or `value`
    /// for the payload as a whole, for [`ValidationErrors::check`].
    pub fn parse_fields(
        post_type: PostType,
        raw: Option<&Value>,
    ) -> Result<Self, ValidationErrors> {
        let empty = Map::new();
        let map = match raw {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(ValidationErrors::single(
                    "value",
                    "invalid_type",
                    "must be an object",
                ))
            }
        };
        let mut r = Reader {
            map,
            errors: ValidationErrors::new(),
        };
        let payload = match post_type {
            PostType::Text => {
                if raw.is_some_and(|v| !v.is_null()) {
                    r.errors
                        .add("value", "not_allowed", "a text post has no payload");
                }
                Some(PostPayload::Text)
            }
            PostType::Product => {
                let p = (
                    r.title("title"),
                    r.opt_text("category", 100),
                    r.amount("price_minor", 0),
                    r.currency("currency"),
                    r.opt_int("stock_quantity", 0),
                    r.opt_text("sku", 100),
                );
                match p {
                    (
                        Some(title),
                        Some(category),
                        Some(price),
                        Some(currency),
                        Some(stock),
                        Some(sku),
                    ) => Some(PostPayload::Product(ProductPayload {
                        title,
                        category,
                        price_minor: price,
                        currency,
                        stock_quantity: stock,
                        sku,
                    })),
                    _ => None,
                }
            }
            PostType::Service => {
                let p = (
                    r.title("title"),
                    r.opt_text("category", 100),
                    r.amount("rate_minor", 0),
                    r.currency("currency"),
                    r.enumeration::<ServiceRateUnit>("rate_unit"),
                    r.opt_int("duration_minutes", 1),
                    r.opt_bool("is_remote"),
                    r.opt_text("location", 200),
                );
                let settings = (
                    r.opt_bool("auto_confirm"),
                    r.opt_int_within("cancellation_window_hours", 0, 8760),
                    r.opt_enumeration::<CancellationRefund>("late_cancellation_refund"),
                );
                let defaults = crate::bookings::CancellationPolicy::default();
                match (p, settings) {
                    (
                        (
                            Some(title),
                            Some(category),
                            Some(rate),
                            Some(currency),
                            Some(unit),
                            Some(duration),
                            Some(remote),
                            Some(location),
                        ),
                        (Some(auto_confirm), Some(window), Some(late)),
                    ) => Some(PostPayload::Service(ServicePayload {
                        title,
                        category,
                        rate_minor: rate,
                        currency,
                        rate_unit: unit,
                        duration_minutes: duration,
                        is_remote: remote.unwrap_or(true),
                        location,
                        auto_confirm: auto_confirm.unwrap_or(false),
                        cancellation_window_hours: window.unwrap_or(defaults.window_hours),
                        late_cancellation_refund: late.unwrap_or(defaults.late_refund),
                    })),
                    _ => None,
                }
            }
            PostType::Crowdfunding => {
                let p = (
                    r.title("title"),
                    r.amount("goal_minor", 1),
                    r.currency("currency"),
                    r.enumeration::<InvestmentInstrument>("instrument"),
                    r.time("ends_at"),
                    r.opt_text("reward_summary", 1000),
                );
                match p {
                    (
                        Some(title),
                        Some(goal),
                        Some(currency),
                        Some(instrument),
                        Some(ends_at),
                        Some(reward),
                    ) => Some(PostPayload::Crowdfunding(CrowdfundingPayload {
                        title,
                        goal_minor: goal,
                        currency,
                        instrument,
                        ends_at,
                        reward_summary: reward,
                    })),
                    _ => None,
                }
            }
            PostType::InvestmentOffer => {
                let p = (
                    r.title("title"),
                    r.amount("ticket_min_minor", 0),
                    r.amount("ticket_max_minor", 0),
                    r.currency("currency"),
                    r.opt_enumeration::<InvestmentInstrument>("instrument"),
                    r.opt_enumeration::<InvestmentStage>("stage"),
                );
                match p {
                    (
                        Some(title),
                        Some(min),
                        Some(max),
                        Some(currency),
                        Some(instrument),
                        Some(stage),
                    ) => {
                        if max < min {
                            r.errors.add(
                                "ticket_max_minor",
                                "out_of_range",
                                "must be at least ticket_min_minor",
                            );
                            None
                        } else {
                            Some(PostPayload::InvestmentOffer(InvestmentOfferPayload {
                                title,
                                ticket_min_minor: min,
                                ticket_max_minor: max,
                                currency,
                                instrument,
                                stage,
                            }))
                        }
                    }
                    _ => None,
                }
            }
            PostType::InvestmentRequest => {
                let p = (
                    r.title("title"),
                    r.amount("amount_sought_minor", 1),
                    r.currency("currency"),
                    r.enumeration::<InvestmentInstrument>("instrument"),
                    r.enumeration::<InvestmentStage>("stage"),
                    r.opt_percent("equity_offered_percent"),
                    r.opt_text("use_of_funds", 2000),
                );
                match p {
                    (
                        Some(title),
                        Some(amount),
                        Some(currency),
                        Some(instrument),
                        Some(stage),
                        Some(equity),
                        Some(use_of_funds),
                    ) => Some(PostPayload::InvestmentRequest(InvestmentRequestPayload {
                        title,
                        amount_sought_minor: amount,
                        currency,
                        instrument,
                        stage,
                        equity_offered_percent: equity,
                        use_of_funds,
                    })),
                    _ => None,
                }
            }
            PostType::MentorshipRequest => {
                let p = (
                    r.title("area"),
                    r.enumeration::<MentorshipFormat>("format"),
                    r.opt_int("duration_weeks", 1),
                    r.opt_amount("budget_minor"),
                    r.opt_currency("currency"),
                );
                match p {
                    (Some(area), Some(format), Some(weeks), Some(budget), Some(currency)) => {
                        if budget.is_some() != currency.is_some() {
                            r.errors.add(
                                "currency",
                                "required",
                                "budget_minor and currency are both set or both null",
                            );
                            None
                        } else {
                            Some(PostPayload::MentorshipRequest(MentorshipRequestPayload {
                                area,
                                format,
                                duration_weeks: weeks,
                                budget_minor: budget,
                                currency,
                            }))
                        }
                    }
                    _ => None,
                }
            }
        };
        r.unknown_fields(post_type);
        match payload {
            Some(payload) if r.errors.is_empty() => Ok(payload),
            _ => Err(r.errors),
        }
    }

    /// The payload as a JSON object of its fields (no `type`), the shape [`PostPayload::parse`]
    /// reads: an update merges its fields into this and parses the result again.
    pub fn fields(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => {
                map.remove("type");
                map
            }
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn product_needs_a_price_and_a_currency() {
        let ok = PostPayload::parse(
            PostType::Product,
            Some(&json!({"title": "Mug", "price_minor": 1500, "currency": "ZAR"})),
        )
        .unwrap();
        assert_eq!(ok.post_type(), PostType::Product);
        let err = PostPayload::parse(
            PostType::Product,
            Some(&json!({"title": "Mug", "price_minor": -1, "currency": "zar", "x": 1})),
        )
        .unwrap_err();
        let fields: Vec<_> = err.fields().keys().cloned().collect();
        assert_eq!(
            fields,
            ["payload.currency", "payload.price_minor", "payload.x"]
        );
    }

    #[test]
    fn text_takes_no_payload_and_fields_round_trip() {
        assert!(PostPayload::parse(PostType::Text, Some(&json!({"a": 1}))).is_err());
        let offer = PostPayload::parse(
            PostType::InvestmentOffer,
            Some(
                &json!({"title": "Seed", "ticket_min_minor": 10, "ticket_max_minor": 5, "currency": "USD"}),
            ),
        );
        assert!(offer.is_err());
        let mentorship = PostPayload::parse(
            PostType::MentorshipRequest,
            Some(&json!({"area": "Export", "format": "virtual", "budget_minor": 100, "currency": "EUR"})),
        )
        .unwrap();
        let again = PostPayload::parse(
            PostType::MentorshipRequest,
            Some(&Value::Object(mentorship.fields())),
        )
        .unwrap();
        assert_eq!(again, mentorship);
    }
}
