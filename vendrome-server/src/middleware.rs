//! Cross-cutting middleware: the request deadline and the guarantee that every error answer,
//! whoever made it (a handler, axum's router, a tower layer, a caught panic), is the error
//! envelope.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Answers 503 `request_timeout` when the rest of the stack takes longer than the deadline.
pub async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_ms = limit.as_millis() as u64, "request timed out");
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                "the request took too long; retry later",
            );
            error.retry_after = Some(1);
            error.into_response()
        }
    }
}

/// Replaces the body of any error answer that is not JSON with the envelope for its status,
/// keeping its headers (such as `Allow` on a 405).
pub async fn envelope_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let replacement = ApiError::for_status(status).into_response();
    let (replacement_parts, body) = replacement.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    for (name, value) in &replacement_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// Wakes the outbox relay after every request that may have changed something, so events (and
/// the realtime frames made from them) leave at once instead of at the relay's next poll; and
/// tells the home-feed cache, so the same client's next read applies the change first.
pub async fn wake_relay(State(wake): State<Wake>, request: Request, next: Next) -> Response {
    let changes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let response = next.run(request).await;
    if changes && response.status().is_success() {
        // Before the response leaves: the client's next read must see the change.
        wake.home_cache.note_write();
        for notify in wake.tasks.iter() {
            notify.notify_one();
        }
    }
    response
}

/// What [`wake_relay`] wakes: the tasks that follow the outbox (the relay, the search indexer)
/// and the home-feed cache.
#[derive(Clone)]
pub struct Wake {
    pub tasks: std::sync::Arc<[std::sync::Arc<tokio::sync::Notify>]>,
    pub home_cache: std::sync::Arc<vendrome_core::posts::home_cache::HomeCache>,
}
