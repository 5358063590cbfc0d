//! Signing in with a provider, and the caller's linked providers.
//!
//! `GET /v1/auth/oauth/{provider}/start` (or, to link while signed in,
//! `POST /v1/me/identities/{provider}`) answers the provider's authorization URL; the provider
//! sends the browser back to `/v1/auth/oauth/{provider}/callback` with `code` and `state`, which
//! signs in (answering like `POST /v1/auth/login`) or links.
//!
//! Every attempt is bound to the browser that started it by the httpOnly `vendrome_oauth`
//! cookie (compared hashed, in constant time): a callback URL replayed in another browser is
//! refused, so nobody can sign a victim in to the attacker's account (login CSRF). A
//! single-page frontend starts with `redirect_to` (under `VENDROME_OAUTH_REDIRECT_ORIGINS`); the
//! callback then sends the browser there with a one-time `code`, which the frontend trades at
//! `POST /v1/auth/oauth/exchange`: tokens never travel in a URL.

use axum::extract::{Path, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::audit::AuditContext;
use vendrome_core::auth::RefreshToken;
use vendrome_core::enums::OauthProvider;
use vendrome_core::ids::UserId;
use vendrome_core::oauth::{Completed, LoginAttempt, OAuthIdentity, Start, ATTEMPT_TTL};
use vendrome_core::SqlEnum as _;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Client};
use crate::oauth::{provider_error, state_invalid};
use crate::request_id;
use crate::routes::auth::{cookie, no_store, signed_in_response};
use crate::routes::views::AuthTokens;
use crate::state::AppState;

/// Where to send the browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationView {
    /// The provider's authorization URL (code flow with PKCE S256, `state` and, for OpenID
    /// Connect providers, `nonce`).
    pub authorization_url: String,
    /// The `state` in the URL; the callback must bring it back within ten minutes, once.
    pub state: String,
}

/// A provider linked to the caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    pub provider: OauthProvider,
    /// The email the provider gave when it was linked.
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<OAuthIdentity> for IdentityView {
    fn from(identity: OAuthIdentity) -> Self {
        Self {
            provider: identity.provider,
            email: identity.email,
            linked_at: identity.created_at,
            last_login_at: identity.last_login_at,
        }
    }
}

/// What a callback answers: the tokens of a sign-in, or the identity a linking added.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CallbackView {
    SignedIn(Box<AuthTokens>),
    Linked(IdentityView),
}

/// What the provider sends back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` of the start.
    pub state: Option<String>,
    /// Set instead of `code` when the provider refused (`access_denied`, …).
    pub error: Option<String>,
}

/// An unlinked provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unlinked {
    pub provider: OauthProvider,
}

fn audit(client: &Client, actor: Option<UserId>) -> AuditContext {
    AuditContext {
        actor_id: actor,
        ip: client.0.ip.clone(),
        request_id: Some(request_id::current()),
        via: None,
    }
}

/// The cookie that binds a sign-in to the browser that started it.
pub const BROWSER_COOKIE: &str = "vendrome_oauth";

/// The browser's sign-in secret: the one its cookie already holds (so sign-ins started in two
/// tabs both finish), else a new one.
fn browser_secret(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, BROWSER_COOKIE).filter(|v| RefreshToken::parse(v).is_some()) {
        Some(secret) => (secret, false),
        None => (RefreshToken::generate().expose().to_owned(), true),
    }
}

/// `vendrome_oauth`: httpOnly, `SameSite=Lax` (it must come along on the provider's top-level
/// redirect back to the callback), for the OAuth paths only, as long as an attempt lives.
fn browser_cookie(state: &AppState, secret: &str) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{BROWSER_COOKIE}={secret}; Path=/v1/auth/oauth; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        ATTEMPT_TTL.as_secs()
    );
    HeaderValue::from_str(&cookie).expect("a base64url secret is a valid header value")
}

async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    provider: &str,
    link_user: Option<UserId>,
    redirect_to: Option<&str>,
) -> ApiResult<Response> {
    let (provider, client) = state.oauth_providers.get(provider)?;
    let redirect_to = redirect_to
        .map(|to| state.oauth_providers.redirect(to))
        .transpose()?;
    let authorization = client.authorize().await.map_err(provider_error)?;
    let (secret, fresh) = browser_secret(headers);
    state
        .oauth
        .begin(
            provider,
            &authorization.state,
            &authorization.pkce_verifier,
            &authorization.nonce,
            Start {
                browser_secret: &secret,
                link_user,
                redirect_to,
            },
        )
        .await?;
    let mut response = ApiSuccess::ok(AuthorizationView {
        authorization_url: authorization.url,
        state: authorization.state,
    })
    .into_response();
    if fresh {
        response
            .headers_mut()
            .append(SET_COOKIE, browser_cookie(state, &secret));
    }
    Ok(response)
}

/// Where a browser sign-in returns to.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// A frontend page (under an origin of `VENDROME_OAUTH_REDIRECT_ORIGINS`) the callback sends
    /// the browser back to, with `code` to trade at `POST /v1/auth/oauth/exchange` (or `error`,
    /// an error code). Without it the callback answers the tokens itself.
    pub redirect_to: Option<String>,
}

/// Start signing in with a provider.
///
/// Sets the `vendrome_oauth` cookie (httpOnly, `SameSite=Lax`, path `/v1/auth/oauth`): the
/// callback and the code exchange are refused in a browser without it.
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/start", tag = "auth",
    params(("provider" = OauthProvider, Path, description = "`google`, `facebook` or `linkedin`."), StartQuery),
    responses(
        (status = 200, description = "Send the browser to `authorization_url`.", body = Envelope<AuthorizationView>),
        (status = 404, description = "`not_found`: no such provider, or it is not configured.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `redirect_to` is not under a configured frontend origin (`origin_not_allowed`).", body = ErrorEnvelope),
        (status = 502, description = "`oauth_provider_error`: the provider's discovery failed.", body = ErrorEnvelope),
    ))]
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(provider): Path<String>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> ApiResult<Response> {
    begin(
        &state,
        &headers,
        &provider,
        None,
        query.redirect_to.as_deref(),
    )
    .await
}

/// `to` with `name=value` added to its query.
fn with_param(to: &str, name: &str, value: &str) -> String {
    let mut url = oauth2::url::Url::parse(to).expect("redirect targets were parsed at the start");
    url.query_pairs_mut().append_pair(name, value);
    url.to_string()
}

fn redirect(to: &str) -> Response {
    let mut response = (StatusCode::FOUND, [(LOCATION, to)]).into_response();
    no_store(&mut response);
    response
}

/// Where the provider sends the browser back: signs in (creating the account, or linking it to
/// the account with the same verified email) or finishes a linking. A sign-in started with
/// `redirect_to` ends with a redirect there carrying a one-time `code` (or an `error` code).
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/callback", tag = "auth",
    params(
        ("provider" = OauthProvider, Path, description = "`google`, `facebook` or `linkedin`."),
        CallbackQuery,
        ("x-refresh-token-transport" = Option<String>, Header, description = "`cookie` to receive the refresh token as an httpOnly cookie."),
    ),
    responses(
        (status = 200, description = "Signed in (the tokens, as `POST /v1/auth/login` answers), or linked (the identity).", body = Envelope<CallbackView>),
        (status = 302, description = "A browser sign-in: to `redirect_to` with `code` (60 s, single use, this browser only) or `error`."),
        (status = 400, description = "`oauth_state_invalid`: the state is unknown, used, expired, another provider's, or was started in another browser (no or another `vendrome_oauth` cookie).", body = ErrorEnvelope),
        (status = 403, description = "`account_disabled`, or `oauth_email_required` when the provider shared no email.", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: no such provider, or it is not configured.", body = ErrorEnvelope),
        (status = 409, description = "`email_taken` (an account has the email, which the provider does not vouch for), `email_taken_unverified` (an account has the email but never confirmed it: sign in with the password, then link), `identity_taken` or `provider_already_linked`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: the query is malformed.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`.", body = ErrorEnvelope),
        (status = 502, description = "`oauth_provider_error`: the provider refused or answered something unusable.", body = ErrorEnvelope),
    ))]
pub async fn callback(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Path(provider): Path<String>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> ApiResult<Response> {
    let (provider, provider_client) = state.oauth_providers.get(&provider)?;
    let browser = cookie(&headers, BROWSER_COOKIE);
    let attempt = state
        .oauth
        .take_attempt(
            provider,
            query.state.as_deref().unwrap_or(""),
            browser.as_deref(),
            &client.0,
        )
        .await?
        .ok_or_else(state_invalid)?;
    let finished = finish(&state, &client, &headers, provider_client, &attempt, query).await;
    match (&attempt.redirect_to, finished) {
        (_, Ok(response)) => Ok(response),
        // The browser goes back to the frontend, which shows the error.
        (Some(to), Err(error)) => Ok(redirect(&with_param(to, "error", error.code))),
        (None, Err(error)) => Err(error),
    }
}

async fn finish(
    state: &AppState,
    client: &Client,
    headers: &HeaderMap,
    provider_client: &crate::oauth::ProviderClient,
    attempt: &LoginAttempt,
    query: CallbackQuery,
) -> ApiResult<Response> {
    let code = match (query.code, query.error) {
        (Some(code), None) => code,
        (_, error) => {
            return Err(provider_error(anyhow::anyhow!(
                "the provider answered error {error:?} instead of a code"
            )))
        }
    };
    let profile = provider_client
        .profile(&code, &attempt.pkce_verifier, &attempt.nonce)
        .await
        .map_err(provider_error)?;
    match state
        .oauth
        .complete(attempt, profile, &client.0, &audit(client, None))
        .await?
    {
        Completed::SignedIn(signed_in) => Ok(signed_in_response(state, headers, &signed_in, false)),
        Completed::Linked(identity) => {
            Ok(ApiSuccess::ok(CallbackView::Linked(identity.into())).into_response())
        }
        Completed::Redirect { to, code } => Ok(redirect(&with_param(&to, "code", &code))),
    }
}

/// The one-time code of a browser sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The `code` the callback's redirect carried.
    pub code: String,
}

/// Trade the one-time code of a browser sign-in for the tokens (as `POST /v1/auth/login`
/// answers). The code works once, within 60 seconds, and only with the `vendrome_oauth` cookie
/// of the browser that started the sign-in (send the request with credentials).
#[utoipa::path(post, path = "/v1/auth/oauth/exchange", tag = "auth",
    params(("x-refresh-token-transport" = Option<String>, Header, description = "`cookie` to receive the refresh token as an httpOnly cookie.")),
    request_body = ExchangeRequest,
    responses(
        (status = 200, description = "Signed in.", body = Envelope<AuthTokens>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 401, description = "`oauth_code_invalid`: the code is unknown, used, expired, or presented without the browser's cookie.", body = ErrorEnvelope),
        (status = 403, description = "`account_disabled`.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`.", body = ErrorEnvelope),
    ))]
pub async fn exchange(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ExchangeRequest>,
) -> ApiResult<Response> {
    let browser = cookie(&headers, BROWSER_COOKIE);
    let signed_in = state
        .oauth
        .exchange(&body.code, browser.as_deref(), &client)
        .await?;
    Ok(signed_in_response(&state, &headers, &signed_in, false))
}

/// The providers linked to the caller's account.
#[utoipa::path(get, path = "/v1/me/identities", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The linked providers.", body = Envelope<Vec<IdentityView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn list_identities(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<ApiSuccess<Vec<IdentityView>>> {
    let identities = state.oauth.identities(&auth.caller).await?;
    Ok(ApiSuccess::ok(
        identities.into_iter().map(IdentityView::from).collect(),
    ))
}

/// Start linking a provider to the caller's account: answers the authorization URL like
/// `GET /v1/auth/oauth/{provider}/start`; the callback then links instead of signing in.
#[utoipa::path(post, path = "/v1/me/identities/{provider}", tag = "auth", security(("bearer" = [])),
    params(("provider" = OauthProvider, Path, description = "`google`, `facebook` or `linkedin`.")),
    responses(
        (status = 200, description = "Send the browser to `authorization_url`.", body = Envelope<AuthorizationView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: no such provider, or it is not configured.", body = ErrorEnvelope),
        (status = 502, description = "`oauth_provider_error`: the provider's discovery failed.", body = ErrorEnvelope),
    ))]
pub async fn link_identity(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    Path(provider): Path<String>,
) -> ApiResult<Response> {
    begin(&state, &headers, &provider, Some(auth.caller.user_id), None).await
}

/// Unlink a provider from the caller's account (never the last way to sign in).
#[utoipa::path(delete, path = "/v1/me/identities/{provider}", tag = "auth", security(("bearer" = [])),
    params(("provider" = OauthProvider, Path, description = "`google`, `facebook` or `linkedin`.")),
    responses(
        (status = 200, description = "Unlinked.", body = Envelope<Unlinked>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: the caller has no identity of this provider.", body = ErrorEnvelope),
        (status = 409, description = "`last_sign_in_method`: no password and no other provider.", body = ErrorEnvelope),
    ))]
pub async fn unlink_identity(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path(provider): Path<String>,
) -> ApiResult<ApiSuccess<Unlinked>> {
    let provider =
        OauthProvider::from_label(&provider).ok_or_else(|| ApiError::not_found("identity"))?;
    state
        .oauth
        .unlink(
            &auth.caller,
            provider,
            &audit(&client, Some(auth.caller.user_id)),
        )
        .await?;
    Ok(ApiSuccess::ok(Unlinked { provider }))
}
