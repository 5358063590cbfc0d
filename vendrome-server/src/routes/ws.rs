//! `GET /v1/ws`: the WebSocket upgrade of the realtime gateway.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{authenticate, bearer};
use crate::envelope::ErrorEnvelope;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::realtime::socket;
use crate::state::AppState;

/// Client frames are small: larger ones close the socket. (Reads go through a 1 KiB buffer that
/// grows for a larger frame; each socket holds one, so it is kept small.)
const MAX_CLIENT_FRAME: usize = 64 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// Resume: the id of the last frame this client saw. The messages created since (and in the
    /// few seconds before it) are sent first.
    pub last_event_id: Option<uuid::Uuid>,
}

/// The upgrade, or why there is none.
pub struct Upgrade(WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(Upgrade)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UPGRADE_REQUIRED,
                    "websocket_required",
                    "this endpoint speaks WebSocket: send an upgrade request",
                )
            })
    }
}

/// Opens the realtime socket.
///
/// Authenticate with `Authorization: Bearer <access token>` on the upgrade request where the
/// client can set headers; browsers cannot, so they send `{"type":"auth","token":"…"}` as the
/// first frame instead, within 5 seconds, or the socket closes with code 4401. Frames, close
/// codes and resuming are described in `docs/realtime.md`.
#[utoipa::path(
    get,
    path = "/v1/ws",
    tag = "realtime",
    operation_id = "open_realtime_socket",
    params(SocketQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 422, description = "`validation_failed` (`last_event_id` is not an id)", body = ErrorEnvelope),
        (status = 401, description = "The `Authorization` header's token is not valid (`token_invalid`, `token_expired`, `session_revoked`)", body = ErrorEnvelope),
        (status = 426, description = "Not a WebSocket upgrade request (`websocket_required`)", body = ErrorEnvelope),
    )
)]
pub async fn open_socket(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SocketQuery>,
    upgrade: Upgrade,
    parts: HeaderAuth,
) -> Result<Response, ApiError> {
    let auth = match parts.0 {
        Some(token) => Some(authenticate(&state, &token).await?),
        None => None,
    };
    let resume = query.last_event_id;
    Ok(upgrade
        .0
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |ws| socket::serve(ws, state, auth, resume)))
}

/// The bearer token of the upgrade request, when it has one.
pub struct HeaderAuth(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for HeaderAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(HeaderAuth(bearer(parts)?.map(str::to_owned)))
    }
}
