//! One module per feature, each with the handlers of its endpoints; [`api`] gathers them with
//! their OpenAPI descriptions.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::state::AppState;

pub mod docs;
pub mod flags;
pub mod health;

/// Every documented endpoint.
pub fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi as _;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(flags::list_flags))
        .routes(routes!(flags::update_flag))
}
