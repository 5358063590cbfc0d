//! `/examples/chat/`: the example chat client (one page, no build step), served from the binary
//! so that `vendrome serve` shows realtime messaging in a browser with nothing else installed.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../../assets/chat/index.html");
const SCRIPT: &str = include_str!("../../assets/chat/chat.js");
const STYLE: &str = include_str!("../../assets/chat/chat.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}

/// The page and its two files.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/examples/chat",
            get(|| async { Redirect::permanent("/examples/chat/") }),
        )
        .route(
            "/examples/chat/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/examples/chat/chat.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/examples/chat/chat.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}
