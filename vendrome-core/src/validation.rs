//! Field-level validation errors, collected so that a client learns every problem at once.

use std::collections::BTreeMap;
use std::fmt;

/// One broken rule on one field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldIssue {
    /// A stable, machine-readable reason (`too_short`, `invalid_format`, `out_of_range`, …).
    pub code: &'static str,
    /// A sentence for humans.
    pub message: String,
}

/// Every broken rule of one input, by field name (dotted paths for nested fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(BTreeMap<String, Vec<FieldIssue>>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// An error on a single field.
    pub fn single(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, code, message);
        errors
    }

    pub fn add(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(FieldIssue {
                code,
                message: message.into(),
            });
    }

    /// Records the error of `result` under `field` and returns its value, if any.
    pub fn check<T>(&mut self, field: &str, result: Result<T, ValidationErrors>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(errors) => {
                for (name, issues) in errors.0 {
                    // A newtype's own error names a generic field; the caller knows the real one.
                    let key = if name == "value" {
                        field.to_owned()
                    } else {
                        format!("{field}.{name}")
                    };
                    self.0.entry(key).or_default().extend(issues);
                }
                None
            }
        }
    }

    /// Adds every error of `other` under its own field names.
    pub fn merge(&mut self, other: ValidationErrors) {
        for (name, issues) in other.0 {
            self.0.entry(name).or_default().extend(issues);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, Vec<FieldIssue>> {
        &self.0
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, issues) in &self.0 {
            for issue in issues {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {}", issue.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// The error a newtype's `parse` returns: reported under the caller's field name.
/// An `http(s)://` URL of at most 2,048 characters, without spaces or control characters.
pub fn web_url(url: &str) -> Result<(), ValidationErrors> {
    let ok = url.chars().count() <= 2048
        && (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "invalid_url",
            "must be an http(s) URL of at most 2048 characters",
        ))
    }
}

pub fn invalid(code: &'static str, message: impl Into<String>) -> ValidationErrors {
    ValidationErrors::single("value", code, message)
}
