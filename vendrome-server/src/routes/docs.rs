//! The OpenAPI document and a page for humans that renders it (self-contained: no script is
//! fetched from anywhere else).

use axum::response::{Html, IntoResponse};
use axum::Json;

/// `GET /v1/openapi.json`
pub async fn openapi_json() -> impl IntoResponse {
    Json(crate::openapi::document())
}

/// `GET /docs`
pub async fn page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
