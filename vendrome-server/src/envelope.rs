//! The response envelopes of every endpoint:
//! `{ "data": …, "meta": { "request_id": … } }` on success and
//! `{ "error": { "code", "message", "details" }, "meta": { "request_id": … } }` on failure.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use vendrome_core::page::Page;

use crate::request_id;

/// Response metadata.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meta {
    /// The id of this request, also sent as the `x-request-id` header and logged with every line
    /// the request wrote.
    pub request_id: String,
    /// Where the next page starts; absent on the last page and on responses that are no list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Whether another page follows; present on lists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
}

impl Meta {
    pub fn current() -> Self {
        Self {
            request_id: request_id::current(),
            next_cursor: None,
            has_more: None,
        }
    }
}

/// A successful response: `data` and `meta`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub data: T,
    pub meta: Meta,
}

/// What handlers return on success: a status and the envelope around `data`.
pub struct ApiSuccess<T>(StatusCode, Envelope<T>);

impl<T: Serialize> ApiSuccess<T> {
    pub fn ok(data: T) -> Self {
        Self(
            StatusCode::OK,
            Envelope {
                data,
                meta: Meta::current(),
            },
        )
    }

    pub fn created(data: T) -> Self {
        Self::with_status(StatusCode::CREATED, data)
    }

    /// 202: taken in, to be done (or not) out of the caller's sight.
    pub fn accepted(data: T) -> Self {
        Self::with_status(StatusCode::ACCEPTED, data)
    }

    fn with_status(status: StatusCode, data: T) -> Self {
        Self(
            status,
            Envelope {
                data,
                meta: Meta::current(),
            },
        )
    }
}

impl<T: Serialize> ApiSuccess<Vec<T>> {
    /// A page of a list, with `meta.next_cursor` and `meta.has_more`.
    pub fn page<U>(page: Page<U>, view: impl Fn(U) -> T) -> Self {
        let mut meta = Meta::current();
        meta.has_more = Some(page.next_cursor.is_some());
        meta.next_cursor = page.next_cursor.map(|c| c.as_str().to_owned());
        Self(
            StatusCode::OK,
            Envelope {
                data: page.items.into_iter().map(view).collect(),
                meta,
            },
        )
    }
}

impl<T: Serialize> IntoResponse for ApiSuccess<T> {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// The body of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `validation_failed`, `not_found`, `token_expired`, …
    pub code: String,
    /// For humans; may change between releases.
    pub message: String,
    /// Per-field problems for `validation_failed` (`{"fields": {"name": [{"code", "message"}]}}`),
    /// otherwise an empty object or code-specific facts.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A failed response: `error` and `meta`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
    pub meta: Meta,
}
