//! Read-only mode, for rollbacks and maintenance: while the `read_only` flag is on (or the
//! server was started with `--read-only`), every mutating request (POST, PUT, PATCH, DELETE) is
//! answered 503 `read_only` with `Retry-After`, and reads keep working.
//!
//! Two paths stay open: `/v1/auth/refresh`, so that signed-in members keep reading past their
//! access token's 15 minutes, and `/v1/admin/flags/…`, so that an admin can end the mode over
//! the API. The flag is read from the store on every mutating request, so a change made on one
//! instance holds on every instance at once.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use vendrome_core::flags::FlagName;

use crate::error::ApiError;
use crate::state::AppState;

/// The flag that turns the mode on.
pub const FLAG: &str = "read_only";
/// What `Retry-After` says while the mode lasts.
pub const RETRY_AFTER_SECS: u64 = 30;

/// Whether a path stays writable in read-only mode.
pub fn exempt(path: &str) -> bool {
    path == "/v1/auth/refresh" || path.starts_with("/v1/admin/flags/")
}

/// The answer to a refused write.
pub fn refusal() -> ApiError {
    let mut error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "read_only",
        "the service is read-only for maintenance; reads work, retry writes later",
    );
    error.retry_after = Some(RETRY_AFTER_SECS);
    error
}

/// Whether the mode is on: forced at start, or the flag is on.
///
/// Returns the store's error when the flag cannot be read.
pub async fn is_on(state: &AppState) -> Result<bool, ApiError> {
    if state.forced_read_only {
        return Ok(true);
    }
    let name = FlagName::parse(FLAG).expect("`read_only` is a valid flag name");
    match state.flags.get(&name).await {
        Ok(flag) => Ok(flag.enabled),
        Err(vendrome_core::Error::NotFound { .. }) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The middleware.
pub async fn layer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let mutating = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if mutating && !exempt(request.uri().path()) && is_on(&state).await? {
        return Err(refusal());
    }
    Ok(next.run(request).await)
}
