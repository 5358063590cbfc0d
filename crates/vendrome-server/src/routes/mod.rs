//! One module per feature, each with the handlers of its endpoints; [`api`] gathers them with
//! their OpenAPI descriptions.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::state::AppState;

pub mod auth;
pub mod docs;
pub mod flags;
pub mod health;
pub mod me;
pub mod oauth;
pub mod users;
pub mod views;

/// Every documented endpoint.
pub fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi as _;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(flags::list_flags))
        .routes(routes!(flags::update_flag))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::logout_all))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::delete_session))
        .routes(routes!(me::get_me, me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(users::verification))
        .routes(routes!(users::grant_badge))
        .routes(routes!(users::revoke_badge))
        .routes(routes!(users::set_level))
        .routes(routes!(users::set_role))
        .routes(routes!(users::set_disabled))
        .routes(routes!(users::list_user_sessions))
        .routes(routes!(users::revoke_user_session))
        .routes(routes!(oauth::start))
        .routes(routes!(oauth::callback))
        .routes(routes!(oauth::list_identities))
        .routes(routes!(oauth::link_identity, oauth::unlink_identity))
}
