//! Every failure an endpoint can answer, mapped once to a status and a stable `code`.
//!
//! Domain errors from core become [`ApiError`]s here and nowhere else. Unexpected errors are
//! logged with their cause (the request id comes with the log line's span) and answered with a
//! bare `internal_error`: internal details never reach a client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use vendrome_core::validation::ValidationErrors;

use crate::envelope::{ErrorBody, ErrorEnvelope, Meta};

/// An error answer: status, stable code, message and details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds after which a retry may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn validation(errors: &ValidationErrors) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the request is not valid",
        )
        .with_details(json!({ "fields": errors }))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthenticated(code: &'static str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side",
        )
    }

    /// The generic error of a status, for answers made outside any handler (unknown routes,
    /// wrong methods, a panic, a layer's refusal).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::BAD_REQUEST => ("bad_request", "the request could not be read"),
            StatusCode::UNAUTHORIZED => ("unauthenticated", "sign in to do this"),
            StatusCode::FORBIDDEN => ("forbidden", "you may not do this"),
            StatusCode::NOT_FOUND => ("not_found", "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this resource does not accept that method",
            ),
            StatusCode::NOT_ACCEPTABLE => ("not_acceptable", "this resource answers only JSON"),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "send the body as application/json",
            ),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests; retry later"),
            StatusCode::SERVICE_UNAVAILABLE => {
                ("unavailable", "the service is unavailable; retry later")
            }
            s if s.is_client_error() => ("bad_request", "the request was refused"),
            _ => ("internal_error", "something went wrong on our side"),
        };
        Self::new(status, code, message)
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::validation(&errors)
    }
}

impl From<vendrome_core::Error> for ApiError {
    fn from(error: vendrome_core::Error) -> Self {
        use vendrome_core::Error;
        match error {
            Error::Invalid(errors) => Self::validation(&errors),
            Error::NotFound { what } => Self::not_found(what),
            Error::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            Error::Forbidden { code, message } => Self::new(StatusCode::FORBIDDEN, code, message),
            Error::Unprocessable { code, message } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            Error::BadRequest { code, message } => {
                Self::new(StatusCode::BAD_REQUEST, code, message)
            }
            Error::PaymentRequired { code, message } => {
                Self::new(StatusCode::PAYMENT_REQUIRED, code, message)
            }
            Error::NotConfigured { code, message } => {
                Self::new(StatusCode::NOT_FOUND, code, message)
            }
            Error::Unauthenticated { code, message } => {
                Self::new(StatusCode::UNAUTHORIZED, code, message)
            }
            Error::RateLimited { retry_after } => {
                // Whole seconds, rounded up: a client that waits as told is never refused again.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                let mut error = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many attempts; retry later",
                )
                .with_details(serde_json::json!({ "retry_after_seconds": seconds.max(1) }));
                error.retry_after = Some(seconds.max(1));
                error
            }
            Error::Unavailable { code, message } => {
                let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
                if code == "overloaded" {
                    // The queues drain in well under a second: come back shortly.
                    error.retry_after = Some(1);
                }
                error
            }
            Error::Unexpected(cause) => {
                tracing::error!(error = ?cause, "unexpected error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
                details: self.details,
            },
            meta: Meta::current(),
        };
        let mut response = (self.status, Json(envelope)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
