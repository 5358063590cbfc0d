//! Signing in with a provider, and the caller's linked providers.
//!
//! `GET /v1/auth/oauth/{provider}/start` (or, to link while signed in,
//! `POST /v1/me/identities/{provider}`) answers the provider's authorization URL; the provider
//! sends the browser back to `/v1/auth/oauth/{provider}/callback` with `code` and `state`, which
//! signs in (answering like `POST /v1/auth/login`) or links.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::audit::AuditContext;
use vendrome_core::enums::OauthProvider;
use vendrome_core::ids::UserId;
use vendrome_core::oauth::{Completed, OAuthIdentity};
use vendrome_core::SqlEnum as _;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Client};
use crate::oauth::{provider_error, state_invalid};
use crate::request_id;
use crate::routes::auth::signed_in_response;
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

async fn begin(
    state: &AppState,
    provider: &str,
    link_user: Option<UserId>,
) -> ApiResult<ApiSuccess<AuthorizationView>> {
    let (provider, client) = state.oauth_providers.get(provider)?;
    let authorization = client.authorize().await.map_err(provider_error)?;
    state
        .oauth
        .begin(
            provider,
            &authorization.state,
            &authorization.pkce_verifier,
            &authorization.nonce,
            link_user,
        )
        .await?;
    Ok(ApiSuccess::ok(AuthorizationView {
        authorization_url: authorization.url,
        state: authorization.state,
    }))
}

/// Start signing in with a provider.
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/start", tag = "auth",
    params(("provider" = OauthProvider, Path, description = "`google`, `facebook` or `linkedin`.")),
    responses(
        (status = 200, description = "Send the browser to `authorization_url`.", body = Envelope<AuthorizationView>),
        (status = 404, description = "`not_found`: no such provider, or it is not configured.", body = ErrorEnvelope),
        (status = 502, description = "`oauth_provider_error`: the provider's discovery failed.", body = ErrorEnvelope),
    ))]
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> ApiResult<ApiSuccess<AuthorizationView>> {
    begin(&state, &provider, None).await
}

/// Where the provider sends the browser back: signs in (creating the account, or linking it to
/// the account with the same verified email) or finishes a linking.
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/callback", tag = "auth",
    params(
        ("provider" = OauthProvider, Path, description = "`google`, `facebook` or `linkedin`."),
        CallbackQuery,
        ("x-refresh-token-transport" = Option<String>, Header, description = "`cookie` to receive the refresh token as an httpOnly cookie."),
    ),
    responses(
        (status = 200, description = "Signed in (the tokens, as `POST /v1/auth/login` answers), or linked (the identity).", body = Envelope<CallbackView>),
        (status = 400, description = "`oauth_state_invalid`: the state is unknown, used, expired or another provider's.", body = ErrorEnvelope),
        (status = 403, description = "`account_disabled`, or `oauth_email_required` when the provider shared no email.", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: no such provider, or it is not configured.", body = ErrorEnvelope),
        (status = 409, description = "`email_taken` (an account has the email, which the provider does not vouch for), `identity_taken` or `provider_already_linked`.", body = ErrorEnvelope),
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
    let attempt = state
        .oauth
        .take_attempt(provider, query.state.as_deref().unwrap_or(""), &client.0)
        .await?
        .ok_or_else(state_invalid)?;
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
        .complete(&attempt, profile, &client.0, &audit(&client, None))
        .await?
    {
        Completed::SignedIn(signed_in) => {
            Ok(signed_in_response(&state, &headers, &signed_in, false))
        }
        Completed::Linked(identity) => {
            Ok(ApiSuccess::ok(CallbackView::Linked(identity.into())).into_response())
        }
    }
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
    Path(provider): Path<String>,
) -> ApiResult<ApiSuccess<AuthorizationView>> {
    begin(&state, &provider, Some(auth.caller.user_id)).await
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
