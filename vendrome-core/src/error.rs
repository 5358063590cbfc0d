//! The error every port and service returns.
//!
//! Each variant carries what the HTTP layer needs to answer with a stable, documented `code`;
//! [`Error::Unexpected`] wraps everything that is not the caller's fault (a lost connection, a
//! driver error) and is never shown to a client. Every `code` is registered, with its status and
//! meaning, in [`crate::error_codes`].

use crate::validation::ValidationErrors;

/// A domain error. Port methods say in their docs which variants they MUST return and when.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input broke one or more rules; the details name each field.
    #[error("the input is not valid: {0}")]
    Invalid(#[from] ValidationErrors),
    /// The resource does not exist (or the caller may not know that it does).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The request conflicts with the current state (a duplicate, a state machine refusal).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller could not be established (bad credentials, an unusable token).
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// Too many attempts: retry after the given time.
    #[error("too many attempts; retry in {} s", retry_after.as_secs())]
    RateLimited { retry_after: std::time::Duration },
    /// The caller is known but may not do this.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// The work could not be done in time or a dependency is down; retrying later (or asking
    /// for less) may succeed.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// The input is well formed but the request cannot be carried out as asked (items of two
    /// sellers in one order, say): HTTP 422 with its own code.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// The request is refused as sent, with its own code (a webhook whose signature does not
    /// verify): HTTP 400.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The payment was refused by its provider (a decline): HTTP 402 with its own code.
    #[error("{message}")]
    PaymentRequired { code: &'static str, message: String },
    /// What the path names is not set up on this server (a payment provider that is not
    /// configured): HTTP 404 with its own code.
    #[error("{message}")]
    NotConfigured { code: &'static str, message: String },
    /// Anything that is not the caller's fault.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl Error {
    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthenticated {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn payment_required(code: &'static str, message: impl Into<String>) -> Self {
        Self::PaymentRequired {
            code,
            message: message.into(),
        }
    }

    pub fn not_configured(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotConfigured {
            code,
            message: message.into(),
        }
    }
}

/// Shorthand for results whose error is the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
