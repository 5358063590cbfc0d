//! Registration, sign-in, refresh and sign-out, and the caller's sessions.
//!
//! Refresh tokens travel in the JSON body by default. A web client may ask for them in an
//! httpOnly, `Secure`, `SameSite=Strict` cookie instead by sending
//! `X-Refresh-Token-Transport: cookie`: the token is then set as the `vendrome_refresh` cookie
//! (path `/v1/auth`), `refresh_token` in the body is `null`, and `POST /v1/auth/refresh` reads
//! the cookie when the body has no token.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::auth::{NewAccount, SignedIn};
use vendrome_core::ids::SessionId;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::routes::views::{AuthTokens, SessionView};
use crate::state::AppState;

pub const COOKIE_NAME: &str = "vendrome_refresh";
const TRANSPORT_HEADER: &str = "x-refresh-token-transport";

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com", format = Email, max_length = 254)]
    pub email: String,
    /// 8 to 128 characters, not one of the 10,000 most common passwords.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 100)]
    pub display_name: String,
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
    /// The `device_key` a previous sign-in on this device returned.
    #[serde(default)]
    pub device_key: Option<String>,
}

/// A refresh token to trade.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Optional when it travels as the `vendrome_refresh` cookie.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// How many sessions ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    pub ended_sessions: u64,
}

fn wants_cookie(headers: &HeaderMap) -> bool {
    headers
        .get(TRANSPORT_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cookie"))
}

/// The value of the request's cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE_NAME)
}

/// Marks an answer that carries tokens (or a code that buys them) as never to be stored by a
/// browser or proxy.
pub(crate) fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn set_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{COOKIE_NAME}={value}; Path=/v1/auth; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).expect("a refresh token is a valid header value")
}

/// The answer to every successful sign-in: the tokens, and the cookie when asked for.
pub fn signed_in_response(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
    created: bool,
) -> Response {
    let cookie = wants_cookie(headers);
    let body = AuthTokens::new(signed_in, !cookie);
    let mut response = if created {
        ApiSuccess::created(body).into_response()
    } else {
        ApiSuccess::ok(body).into_response()
    };
    no_store(&mut response);
    if cookie {
        let max_age = state.auth.policy().absolute_lifetime.as_secs() as i64;
        response.headers_mut().append(
            SET_COOKIE,
            set_cookie(state, signed_in.refresh_token.expose(), max_age),
        );
    }
    response
}

/// Create an account with a password and sign it in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth",
    params(("x-refresh-token-transport" = Option<String>, Header, description = "`cookie` to receive the refresh token as an httpOnly cookie.")),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Signed in.", body = Envelope<AuthTokens>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 409, description = "`email_taken`.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (per field: `too_short`, `too_common`, `invalid_format`…).", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`.", body = ErrorEnvelope),
    ))]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    let account = NewAccount {
        email: body.email,
        password: body.password,
        display_name: body.display_name,
    };
    let signed_in = state.auth.register(account, &client).await?;
    Ok(signed_in_response(&state, &headers, &signed_in, true))
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    params(("x-refresh-token-transport" = Option<String>, Header, description = "`cookie` to receive the refresh token as an httpOnly cookie.")),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = Envelope<AuthTokens>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 401, description = "`invalid_credentials` (the same for an unknown email and a wrong password).", body = ErrorEnvelope),
        (status = 403, description = "`account_disabled`.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`.", body = ErrorEnvelope),
    ))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let signed_in = state
        .auth
        .login(
            &body.email,
            &body.password,
            body.device_key.as_deref(),
            &client,
        )
        .await?;
    Ok(signed_in_response(&state, &headers, &signed_in, false))
}

/// Trade a refresh token for a new access token and the next refresh token.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth",
    params(("x-refresh-token-transport" = Option<String>, Header, description = "`cookie` to receive the refresh token as an httpOnly cookie.")),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The next tokens.", body = Envelope<AuthTokens>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 401, description = "`refresh_token_invalid`, `session_expired` or `session_revoked`.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`.", body = ErrorEnvelope),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Response> {
    let token = body
        .refresh_token
        .or_else(|| cookie_value(&headers))
        .ok_or_else(|| {
            ApiError::unauthenticated(
                "refresh_token_invalid",
                "send the refresh token in the body or its cookie",
            )
        })?;
    let signed_in = state.auth.refresh(&token, &client).await?;
    Ok(signed_in_response(&state, &headers, &signed_in, false))
}

fn cleared(state: &AppState, ended: Ended) -> Response {
    let mut response = ApiSuccess::ok(ended).into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, set_cookie(state, "", 0));
    response
}

/// End the current session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The session ended; the refresh cookie, if any, is cleared.", body = Envelope<Ended>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn logout(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Response> {
    let Some(session) = auth.session else {
        return Ok(cleared(&state, Ended { ended_sessions: 0 }));
    };
    state.auth.logout(session).await?;
    state.session_guard.revoked(auth.caller.user_id).await;
    Ok(cleared(&state, Ended { ended_sessions: 1 }))
}

/// End every session of the caller, on every device.
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every session ended.", body = Envelope<Ended>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn logout_all(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Response> {
    let live = state.auth.sessions(auth.caller.user_id).await?;
    state.auth.logout_all(auth.caller.user_id).await?;
    state.session_guard.revoked(auth.caller.user_id).await;
    Ok(cleared(
        &state,
        Ended {
            ended_sessions: live.len() as u64,
        },
    ))
}

/// The caller's live sessions, most recently used first.
#[utoipa::path(get, path = "/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions (a user has a handful: not paginated).", body = Envelope<Vec<SessionView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<ApiSuccess<Vec<SessionView>>> {
    let sessions = state.auth.sessions(auth.caller.user_id).await?;
    Ok(ApiSuccess::ok(
        sessions
            .iter()
            .map(|s| SessionView::new(s, auth.session))
            .collect(),
    ))
}

/// End one of the caller's sessions (sign a lost device out).
#[utoipa::path(delete, path = "/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = SessionId, Path, description = "A session id from `GET /v1/auth/sessions`.")),
    responses(
        (status = 200, description = "The session ended.", body = Envelope<Ended>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such live session of the caller.", body = ErrorEnvelope),
    ))]
pub async fn delete_session(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<Ended>> {
    let session: SessionId = id.parse().map_err(|_| ApiError::not_found("session"))?;
    let audit = client.audit(auth.caller.user_id);
    state
        .auth
        .revoke_session(&auth.caller, auth.caller.user_id, session, &audit)
        .await?;
    state.session_guard.revoked(auth.caller.user_id).await;
    Ok(ApiSuccess::ok(Ended { ended_sessions: 1 }))
}
