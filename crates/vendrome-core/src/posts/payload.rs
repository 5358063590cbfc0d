//! The typed details of a non-text post, one struct per [`PostType`], and their validation.
//!
//! Clients send a payload as a JSON object beside the post's `type`; [`PostPayload::parse`] reads
//! it field by field so that every broken rule is reported under its own name
//! (`payload.price_minor`). Money is an integer amount of minor units plus an ISO 4217
//! [`Currency`].

use chrono::SubsecRound as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::enums::{
    InvestmentInstrument, InvestmentStage, MentorshipFormat, PostType, ServiceRateUnit,
};
use crate::time::Timestamp;
use crate::validation::{invalid, ValidationErrors};
use crate::SqlEnum;

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "ZAR"))]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid(
                "invalid_format",
                "must be an ISO 4217 code: three upper-case letters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductPayload {
    pub title: String,
    pub category: Option<String>,
    /// Price in minor units of `currency`.
    pub price_minor: i64,
    pub currency: Currency,
    /// `null`: stock is not tracked.
    pub stock_quantity: Option<i32>,
    pub sku: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServicePayload {
    pub title: String,
    pub category: Option<String>,
    /// Rate in minor units of `currency`, per `rate_unit`.
    pub rate_minor: i64,
    pub currency: Currency,
    pub rate_unit: ServiceRateUnit,
    pub duration_minutes: Option<i32>,
    pub is_remote: bool,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrowdfundingPayload {
    pub title: String,
    /// Goal in minor units of `currency`; positive.
    pub goal_minor: i64,
    pub currency: Currency,
    pub instrument: InvestmentInstrument,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ends_at: Timestamp,
    pub reward_summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvestmentOfferPayload {
    pub title: String,
    pub ticket_min_minor: i64,
    /// At least `ticket_min_minor`.
    pub ticket_max_minor: i64,
    pub currency: Currency,
    /// `null`: any.
    pub instrument: Option<InvestmentInstrument>,
    /// `null`: any.
    pub stage: Option<InvestmentStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvestmentRequestPayload {
    pub title: String,
    /// Positive, in minor units of `currency`.
    pub amount_sought_minor: i64,
    pub currency: Currency,
    pub instrument: InvestmentInstrument,
    pub stage: InvestmentStage,
    /// 0 to 100, two decimals.
    pub equity_offered_percent: Option<f64>,
    pub use_of_funds: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MentorshipRequestPayload {
    /// The expertise sought.
    pub area: String,
    pub format: MentorshipFormat,
    pub duration_weeks: Option<i32>,
    /// Both set (paid) or both `null` (unpaid).
    pub budget_minor: Option<i64>,
    pub currency: Option<Currency>,
}

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
                match p {
                    (
                        Some(title),
                        Some(category),
                        Some(rate),
                        Some(currency),
                        Some(unit),
                        Some(duration),
                        Some(remote),
                        Some(location),
                    ) => Some(PostPayload::Service(ServicePayload {
                        title,
                        category,
                        rate_minor: rate,
                        currency,
                        rate_unit: unit,
                        duration_minutes: duration,
                        is_remote: remote.unwrap_or(true),
                        location,
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

/// The field names each type accepts.
fn known_fields(post_type: PostType) -> &'static [&'static str] {
    match post_type {
        PostType::Text => &[],
        PostType::Product => &[
            "title",
            "category",
            "price_minor",
            "currency",
            "stock_quantity",
            "sku",
        ],
        PostType::Service => &[
            "title",
            "category",
            "rate_minor",
            "currency",
            "rate_unit",
            "duration_minutes",
            "is_remote",
            "location",
        ],
        PostType::Crowdfunding => &[
            "title",
            "goal_minor",
            "currency",
            "instrument",
            "ends_at",
            "reward_summary",
        ],
        PostType::InvestmentOffer => &[
            "title",
            "ticket_min_minor",
            "ticket_max_minor",
            "currency",
            "instrument",
            "stage",
        ],
        PostType::InvestmentRequest => &[
            "title",
            "amount_sought_minor",
            "currency",
            "instrument",
            "stage",
            "equity_offered_percent",
            "use_of_funds",
        ],
        PostType::MentorshipRequest => &[
            "area",
            "format",
            "duration_weeks",
            "budget_minor",
            "currency",
        ],
    }
}

/// Reads fields of one payload object, collecting every error under `payload.<field>`. Each
/// method answers `None` when the field broke a rule; `Some(None)` is an absent optional field.
struct Reader<'a> {
    map: &'a Map<String, Value>,
    errors: ValidationErrors,
}

impl Reader<'_> {
    fn fail<T>(&mut self, field: &str, code: &'static str, message: &str) -> Option<T> {
        self.errors.add(field, code, message);
        None
    }

    fn value(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn unknown_fields(&mut self, post_type: PostType) {
        let known = known_fields(post_type);
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            self.fail::<()>(&key, "unknown_field", "is not a field of this post type");
        }
    }

    fn title(&mut self, field: &str) -> Option<String> {
        match self.opt_text(field, 200)? {
            Some(text) => Some(text),
            None => self.fail(field, "required", "is required"),
        }
    }

    fn opt_text(&mut self, field: &str, max: usize) -> Option<Option<String>> {
        match self.value(field) {
            None => Some(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    self.fail(field, "required", "must not be empty")
                } else if s.chars().count() > max {
                    self.fail(
                        field,
                        "too_long",
                        &format!("must be at most {max} characters"),
                    )
                } else if s.chars().any(char::is_control) {
                    self.fail(
                        field,
                        "invalid_characters",
                        "must not contain control characters",
                    )
                } else {
                    Some(Some(s.to_owned()))
                }
            }
            Some(_) => self.fail(field, "invalid_type", "must be a string"),
        }
    }

    fn opt_i64(&mut self, field: &str, min: i64) -> Option<Option<i64>> {
        match self.value(field) {
            None => Some(None),
            Some(v) => match v.as_i64() {
                Some(n) if n >= min => Some(Some(n)),
                Some(_) => self.fail(field, "out_of_range", &format!("must be at least {min}")),
                None => self.fail(field, "invalid_type", "must be an integer"),
            },
        }
    }

    fn amount(&mut self, field: &str, min: i64) -> Option<i64> {
        match self.opt_i64(field, min)? {
            Some(n) => Some(n),
            None => self.fail(field, "required", "is required"),
        }
    }

    fn opt_amount(&mut self, field: &str) -> Option<Option<i64>> {
        self.opt_i64(field, 0)
    }

    fn opt_int(&mut self, field: &str, min: i64) -> Option<Option<i32>> {
        match self.opt_i64(field, min)? {
            None => Some(None),
            Some(n) => match i32::try_from(n) {
                Ok(n) => Some(Some(n)),
                Err(_) => self.fail(field, "out_of_range", "is too large"),
            },
        }
    }

    fn opt_bool(&mut self, field: &str) -> Option<Option<bool>> {
        match self.value(field) {
            None => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
            Some(_) => self.fail(field, "invalid_type", "must be a boolean"),
        }
    }

    fn opt_percent(&mut self, field: &str) -> Option<Option<f64>> {
        match self.value(field) {
            None => Some(None),
            Some(v) => match v.as_f64() {
                Some(p) if (0.0..=100.0).contains(&p) => Some(Some((p * 100.0).round() / 100.0)),
                Some(_) => self.fail(field, "out_of_range", "must be between 0 and 100"),
                None => self.fail(field, "invalid_type", "must be a number"),
            },
        }
    }

    fn opt_currency(&mut self, field: &str) -> Option<Option<Currency>> {
        match self.value(field) {
            None => Some(None),
            Some(Value::String(s)) => match Currency::parse(s) {
                Ok(c) => Some(Some(c)),
                Err(_) => self.fail(
                    field,
                    "invalid_format",
                    "must be an ISO 4217 code: three upper-case letters",
                ),
            },
            Some(_) => self.fail(field, "invalid_type", "must be a string"),
        }
    }

    fn currency(&mut self, field: &str) -> Option<Currency> {
        match self.opt_currency(field)? {
            Some(c) => Some(c),
            None => self.fail(field, "required", "is required"),
        }
    }

    fn opt_enumeration<T: SqlEnum>(&mut self, field: &str) -> Option<Option<T>> {
        match self.value(field) {
            None => Some(None),
            Some(Value::String(s)) => match T::from_label(s) {
                Some(v) => Some(Some(v)),
                None => self.fail(
                    field,
                    "invalid_value",
                    &format!("is not a known {}", T::SQL_TYPE),
                ),
            },
            Some(_) => self.fail(field, "invalid_type", "must be a string"),
        }
    }

    fn enumeration<T: SqlEnum>(&mut self, field: &str) -> Option<T> {
        match self.opt_enumeration(field)? {
            Some(v) => Some(v),
            None => self.fail(field, "required", "is required"),
        }
    }

    fn time(&mut self, field: &str) -> Option<Timestamp> {
        match self.value(field) {
            None => self.fail(field, "required", "is required"),
            Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.with_timezone(&chrono::Utc).trunc_subsecs(6)),
                Err(_) => self.fail(field, "invalid_format", "must be an RFC 3339 time"),
            },
            Some(_) => self.fail(field, "invalid_type", "must be a string"),
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
