//! Reading a payload object field by field, every broken rule under its own name.

use chrono::SubsecRound as _;
use serde_json::{Map, Value};

use super::Currency;
use crate::enums::PostType;
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::SqlEnum;

/// The field names each type accepts.
pub(super) fn known_fields(post_type: PostType) -> &'static [&'static str] {
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
            "auto_confirm",
            "cancellation_window_hours",
            "late_cancellation_refund",
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
pub(super) struct Reader<'a> {
    pub(super) map: &'a Map<String, Value>,
    pub(super) errors: ValidationErrors,
}

impl Reader<'_> {
    pub(super) fn fail<T>(&mut self, field: &str, code: &'static str, message: &str) -> Option<T> {
        self.errors.add(field, code, message);
        None
    }

    pub(super) fn value(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    pub(super) fn unknown_fields(&mut self, post_type: PostType) {
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

    pub(super) fn title(&mut self, field: &str) -> Option<String> {
        match self.opt_text(field, 200)? {
            Some(text) => Some(text),
            None => self.fail(field, "required", "is required"),
        }
    }

    pub(super) fn opt_text(&mut self, field: &str, max: usize) -> Option<Option<String>> {
        match self.value(field) {
            None => Some(None),
            Some(Value::String(raw)) => {
                let s = raw.trim();
                if s.is_empty() {
                    self.fail(field, "required", "must not be empty")
                } else if raw.chars().count() > max {
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

    pub(super) fn opt_i64(&mut self, field: &str, min: i64) -> Option<Option<i64>> {
        match self.value(field) {
            None => Some(None),
            Some(v) => match v.as_i64() {
                Some(n) if n >= min => Some(Some(n)),
                Some(_) => self.fail(field, "out_of_range", &format!("must be at least {min}")),
                None => self.fail(field, "invalid_type", "must be an integer"),
            },
        }
    }

    pub(super) fn amount(&mut self, field: &str, min: i64) -> Option<i64> {
        match self.opt_i64(field, min)? {
            Some(n) => Some(n),
            None => self.fail(field, "required", "is required"),
        }
    }

    pub(super) fn opt_amount(&mut self, field: &str) -> Option<Option<i64>> {
        self.opt_i64(field, 0)
    }

    pub(super) fn opt_int(&mut self, field: &str, min: i64) -> Option<Option<i32>> {
        match self.opt_i64(field, min)? {
            None => Some(None),
            Some(n) => match i32::try_from(n) {
                Ok(n) => Some(Some(n)),
                Err(_) => self.fail(field, "out_of_range", "is too large"),
            },
        }
    }

    /// An optional integer in `min..=max`.
    pub(super) fn opt_int_within(
        &mut self,
        field: &str,
        min: i64,
        max: i64,
    ) -> Option<Option<i32>> {
        match self.opt_i64(field, min)? {
            Some(n) if n > max => {
                self.fail(field, "out_of_range", &format!("must be at most {max}"))
            }
            Some(n) => i32::try_from(n).ok().map(Some),
            None => Some(None),
        }
    }

    pub(super) fn opt_bool(&mut self, field: &str) -> Option<Option<bool>> {
        match self.value(field) {
            None => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
            Some(_) => self.fail(field, "invalid_type", "must be a boolean"),
        }
    }

    pub(super) fn opt_percent(&mut self, field: &str) -> Option<Option<f64>> {
        match self.value(field) {
            None => Some(None),
            Some(v) => match v.as_f64() {
                Some(p) if (0.0..=100.0).contains(&p) => Some(Some((p * 100.0).round() / 100.0)),
                Some(_) => self.fail(field, "out_of_range", "must be between 0 and 100"),
                None => self.fail(field, "invalid_type", "must be a number"),
            },
        }
    }

    pub(super) fn opt_currency(&mut self, field: &str) -> Option<Option<Currency>> {
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

    pub(super) fn currency(&mut self, field: &str) -> Option<Currency> {
        match self.opt_currency(field)? {
            Some(c) => Some(c),
            None => self.fail(field, "required", "is required"),
        }
    }

    pub(super) fn opt_enumeration<T: SqlEnum>(&mut self, field: &str) -> Option<Option<T>> {
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

    pub(super) fn enumeration<T: SqlEnum>(&mut self, field: &str) -> Option<T> {
        match self.opt_enumeration(field)? {
            Some(v) => Some(v),
            None => self.fail(field, "required", "is required"),
        }
    }

    pub(super) fn time(&mut self, field: &str) -> Option<Timestamp> {
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
