//! Request ids: taken from an incoming `x-request-id` (when it is short and printable) or made
//! fresh, available to everything that runs for the request, echoed in the response header and
//! in `meta.request_id`, and attached to every log line through the request's tracing span. The
//! request's own line follows the [`AccessLogPolicy`].

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::access_log::AccessLogPolicy;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, or `"-"` outside of one.
pub fn current() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

fn accept(incoming: Option<&HeaderValue>) -> Option<String> {
    let value = incoming?.to_str().ok()?;
    let ok = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| value.to_owned())
}

/// Middleware: assigns the id and logs the request as `policy` says.
pub async fn middleware(
    State(policy): State<AccessLogPolicy>,
    request: Request,
    next: Next,
) -> Response {
    let id =
        accept(request.headers().get(&HEADER)).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route);
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span.clone()))
        .await;
    let status = response.status();
    span.in_scope(|| policy.log(status, started.elapsed()));
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_incoming_ids_are_kept() {
        assert_eq!(
            accept(Some(&HeaderValue::from_static("abc-123"))),
            Some("abc-123".into())
        );
        assert_eq!(accept(Some(&HeaderValue::from_static("has space"))), None);
        assert_eq!(
            accept(Some(&HeaderValue::from_str(&"x".repeat(129)).unwrap())),
            None
        );
        assert_eq!(accept(None), None);
    }
}
