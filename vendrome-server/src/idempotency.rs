//! `Idempotency-Key` for POST endpoints, with Stripe's semantics (see
//! `vendrome_core::idempotency`). The router puts it on every route; it acts on POST requests
//! that carry the header, except under `/v1/auth/` (their answers hold tokens) and
//! `/v1/payments/webhooks/` (deliveries are deduplicated by the provider's event id). Keys are a
//! member's: a request without a valid access token passes through undeduplicated, so a route
//! that needs a member answers it 401, never with another anonymous caller's stored answer.
//!
//! The first request with a key runs and its answer is stored (unless it was a server error,
//! which is forgotten so that a retry runs again); retries with the same key and body get the
//! stored answer with `Idempotent-Replayed: true`. A key whose request is still in flight is
//! held for twice the request deadline (`--request-timeout-secs`, 30 s by default): the deadline
//! answers every request before that, so a key still held then belongs to a process that died
//! (`kill -9`), and a retry takes it over.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

use vendrome_core::idempotency::{
    in_flight_lock, Begin, Fingerprint, IdempotencyKey, KeyScope, StoredResponse,
};

use crate::error::ApiError;
use crate::state::AppState;

pub static KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub static REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The largest response body stored for replay.
const MAX_STORED_RESPONSE: usize = 1024 * 1024;

/// The caller's key scope: keys belong to a member. `None` without a valid access token: such a
/// request is not deduplicated, and an endpoint that needs a member answers it 401 first (a
/// stale anonymous record must never answer for a route the caller may not use).
fn scope(state: &AppState, request: &Request) -> Option<KeyScope> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .and_then(|token| state.keys.verify(token.trim()).ok())
        .map(|claims| KeyScope::user(claims.sub))
}

/// What the middleware works with: the application, and how long a request holds its key
/// before another may take it over ([`in_flight_lock`] of the request deadline).
#[derive(Clone)]
pub struct Keys {
    pub state: AppState,
    pub lock: Duration,
}

impl Keys {
    /// For a server that answers every request within `deadline`.
    pub fn new(state: AppState, deadline: Duration) -> Self {
        Self {
            state,
            lock: in_flight_lock(deadline),
        }
    }
}

/// The middleware.
pub async fn layer(
    State(Keys { state, lock }): State<Keys>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Sign-in answers carry fresh tokens, which must never rest in the replay store; payment
    // webhooks are deduplicated by the provider's event id, not by a client's key.
    let path = request.uri().path();
    if request.method() != Method::POST
        || path.starts_with("/v1/auth/")
        || path.starts_with("/v1/payments/webhooks/")
    {
        return Ok(next.run(request).await);
    }
    let Some(raw_key) = request.headers().get(&KEY_HEADER) else {
        return Ok(next.run(request).await);
    };
    let Some(scope) = scope(&state, &request) else {
        return Ok(next.run(request).await);
    };
    let key = raw_key
        .to_str()
        .ok()
        .and_then(|k| IdempotencyKey::parse(k).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })?;

    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, usize::MAX)
        .await
        .map_err(|_| ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE))?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let fingerprint = Fingerprint::of(parts.method.as_str(), path, &bytes);

    match state
        .idempotency
        .begin(&scope, &key, &fingerprint, vendrome_core::time::now(), lock)
        .await?
    {
        Begin::Replay(stored) => Ok(replay(stored)),
        Begin::Mismatch => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_mismatch",
            "this Idempotency-Key was used with a different request",
        )),
        Begin::InProgress => {
            let mut error = ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            );
            error.retry_after = Some(1);
            Err(error)
        }
        Begin::Started => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let status = response.status();
            if status.is_server_error() {
                state.idempotency.release(&scope, &key).await?;
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            let Ok(body) = to_bytes(body, MAX_STORED_RESPONSE).await else {
                state.idempotency.release(&scope, &key).await?;
                return Err(ApiError::internal());
            };
            let stored = StoredResponse {
                status: status.as_u16(),
                body: body.to_vec(),
            };
            state.idempotency.complete(&scope, &key, &stored).await?;
            parts
                .headers
                .insert(REPLAYED_HEADER.clone(), HeaderValue::from_static("false"));
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(REPLAYED_HEADER.clone(), HeaderValue::from_static("true"));
    response
}
