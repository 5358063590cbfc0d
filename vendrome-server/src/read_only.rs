//! Read-only mode, for rollbacks and maintenance: while the `read_only` flag is on (or the
//! server was started with `--read-only`), every mutating request (POST, PUT, PATCH, DELETE) is
//! answered 503 `read_only` with `Retry-After`, and reads keep working.
//!
//! Two paths stay open: `/v1/auth/refresh`, so that signed-in members keep reading past their
//! access token's 15 minutes, and `/v1/admin/flags/…`, so that an admin can end the mode over
//! the API. Each instance reads the flag from the store at most once per [`FRESH`] and at once
//! after a change through its own API: a switch holds on the instance that made it at once and
//! on every other instance (or after `vendrome flags set`) within a second. A write that passed
//! the check just before a switch finishes after it in any case, so the mode was never a barrier
//! to the microsecond; reading the flag once per write cost a round trip on every write.

use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// How old the flag a write is checked against may be.
pub const FRESH: Duration = Duration::from_secs(1);

/// The `read_only` flag as this instance last read it, and when.
#[derive(Default)]
pub struct ReadOnlyFlag {
    held: Mutex<Held>,
}

#[derive(Default, Clone, Copy)]
struct Held {
    read: Option<(Instant, bool)>,
    /// Counts the forgets: a read that a switch overtook is not kept.
    generation: u64,
}

impl ReadOnlyFlag {
    /// The flag when read less than [`FRESH`] ago, else the generation to read it under.
    fn fresh(&self) -> Result<bool, u64> {
        let held = *self.held.lock().expect("read-only flag lock");
        match held.read {
            Some((at, on)) if at.elapsed() < FRESH => Ok(on),
            _ => Err(held.generation),
        }
    }

    /// Keeps a read begun under `generation`, unless a switch came since.
    fn hold(&self, generation: u64, on: bool) {
        let mut held = self.held.lock().expect("read-only flag lock");
        if held.generation == generation {
            held.read = Some((Instant::now(), on));
        }
    }

    /// Drops what is held: a switch through this instance shows on its next write.
    pub fn forget(&self) {
        let mut held = self.held.lock().expect("read-only flag lock");
        held.read = None;
        held.generation += 1;
    }
}

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
    let generation = match state.read_only_flag.fresh() {
        Ok(on) => return Ok(on),
        Err(generation) => generation,
    };
    let name = FlagName::parse(FLAG).expect("`read_only` is a valid flag name");
    let on = match state.flags.get(&name).await {
        Ok(flag) => flag.enabled,
        Err(vendrome_core::Error::NotFound { .. }) => false,
        Err(error) => return Err(error.into()),
    };
    state.read_only_flag.hold(generation, on);
    Ok(on)
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
