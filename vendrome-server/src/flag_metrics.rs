//! Requests counted per flag state: the HTTP metrics carry `flag` (the area flag of the route)
//! and `flag_state` (`on` or `off` for the signed-in caller, `none` otherwise), so a canary's
//! error rate and latency can be compared with the rest of its area's traffic.
//!
//! The labels are bounded: a route belongs to at most one area flag ([`area_flag`], fixed in
//! code), only flags the migrations mark `in_metrics` (the `use_real_*` ones; no API changes the
//! mark) are evaluated, and `flag_state` has three values; so every route's series multiply by
//! at most three, whatever the flags' cohorts hold.
//!
//! Evaluating costs no query on most requests: the flags are read at most once per
//! [`FRESH`] per instance (and again at once after a change through this instance), the caller
//! is read from the access token's signature alone, and a member's traits are read only when the
//! route's flag has segments.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use vendrome_core::flags::{Flag, FlagService};
use vendrome_core::ids::UserId;

use crate::state::AppState;

/// How old the flags a label is computed from may be.
pub const FRESH: Duration = Duration::from_secs(5);

/// The area flag a route's requests are labelled with, by the route template's first segment
/// under `/v1`.
pub fn area_flag(route: &str) -> Option<&'static str> {
    let area = route.strip_prefix("/v1/")?.split('/').next()?;
    Some(match area {
        "auth" | "me" => "use_real_auth",
        "feed" | "posts" | "comments" | "topics" => "use_real_feed",
        "conversations" | "messages" | "connections" | "ws" => "use_real_messages",
        "profiles" | "users" | "search" | "trending" => "use_real_profiles",
        "calendar" => "use_real_calendar",
        "marketing" => "use_real_marketing",
        "payments" | "orders" | "checkout" => "use_real_payments",
        _ => return None,
    })
}

/// The flags as last read, shared by this instance's requests.
pub struct FlagSnapshot {
    flags: FlagService,
    held: RwLock<Option<(Instant, Arc<Vec<Flag>>)>>,
}

impl FlagSnapshot {
    pub fn new(flags: FlagService) -> Self {
        Self {
            flags,
            held: RwLock::new(None),
        }
    }

    /// The flags, read again when older than [`FRESH`].
    async fn current(&self) -> vendrome_core::Result<Arc<Vec<Flag>>> {
        if let Some((at, flags)) = &*self.held.read().expect("flag snapshot lock") {
            if at.elapsed() < FRESH {
                return Ok(flags.clone());
            }
        }
        let flags = Arc::new(self.flags.list().await?);
        *self.held.write().expect("flag snapshot lock") = Some((Instant::now(), flags.clone()));
        Ok(flags)
    }

    /// Drops what is held: a change made through this instance shows on its next request.
    pub fn forget(&self) {
        *self.held.write().expect("flag snapshot lock") = None;
    }

    /// Whether `name` is on for `user`, when the flag exists and is marked for metrics.
    async fn state(&self, name: &str, user: UserId) -> vendrome_core::Result<Option<bool>> {
        let flags = self.current().await?;
        let Some(flag) = flags
            .iter()
            .find(|f| f.in_metrics && f.name.as_str() == name)
        else {
            return Ok(None);
        };
        self.flags.evaluate_one(flag, user).await.map(Some)
    }
}

/// The label a request earned, handed from [`layer`] to [`crate::metrics::track`] on the
/// response.
#[derive(Debug, Clone, Copy)]
pub struct FlagState {
    pub flag: &'static str,
    pub on: bool,
}

/// Middleware (a route layer, where the route template is known): evaluates the route's area
/// flag for the caller before the request runs.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let flag = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| area_flag(p.as_str()));
    let caller = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| state.keys.verify(token.trim()).ok())
        .map(|claims| claims.sub);
    let label = match (flag, caller) {
        (Some(flag), Some(user)) => match state.flag_snapshot.state(flag, user).await {
            Ok(on) => on.map(|on| FlagState { flag, on }),
            Err(error) => {
                tracing::warn!(error = %error, "could not read flags for the metrics label");
                None
            }
        },
        _ => None,
    };
    let mut response = next.run(request).await;
    if let Some(label) = label {
        response.extensions_mut().insert(label);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_their_area_flag() {
        let cases = [
            ("/v1/posts/{id}", Some("use_real_feed")),
            ("/v1/feed/home", Some("use_real_feed")),
            ("/v1/conversations/{id}/messages", Some("use_real_messages")),
            ("/v1/ws", Some("use_real_messages")),
            ("/v1/auth/login", Some("use_real_auth")),
            ("/v1/calendar/events", Some("use_real_calendar")),
            ("/v1/flags", None),
            ("/v1/admin/flags/{name}", None),
            ("/healthz", None),
        ];
        for (route, flag) in cases {
            assert_eq!(area_flag(route), flag, "{route}");
        }
    }
}
