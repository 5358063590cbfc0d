//! The caller's own account: read it, change the profile, change the password.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::auth::ProfileChanges;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::{nullable, ApiJson, Client};
use crate::routes::views::AccountView;
use crate::state::AppState;

/// Changes to the caller's profile: absent fields stay, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub display_name: Option<String>,
    /// 3 to 30 of a-z, 0-9 and `_`; unique.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub handle: Option<Option<String>>,
    /// At most 200 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub headline: Option<Option<String>>,
    /// An http(s) URL.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// A new email (stored unverified); needs `current_password`.
    pub email: Option<String>,
    pub current_password: Option<String>,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8 to 128 characters, not one of the 10,000 most common passwords.
    pub new_password: String,
}

/// The outcome of a password change.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    /// Every other session of the user was ended.
    pub other_sessions_ended: bool,
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller.", body = Envelope<AccountView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn get_me(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<ApiSuccess<AccountView>> {
    let user = state.auth.me(&auth.caller).await?;
    Ok(ApiSuccess::ok(AccountView::from(&user)))
}

/// Change the caller's profile.
#[utoipa::path(patch, path = "/v1/me", tag = "me", security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The account as it is now.", body = Envelope<AccountView>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`current_password_incorrect`.", body = ErrorEnvelope),
        (status = 409, description = "`email_taken` or `handle_taken`.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`: the account's budget of wrong passwords (shared with sign-in) is spent.", body = ErrorEnvelope),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> ApiResult<ApiSuccess<AccountView>> {
    let changes = ProfileChanges {
        display_name: body.display_name,
        handle: body.handle,
        headline: body.headline,
        avatar_url: body.avatar_url,
        email: body.email,
        current_password: body.current_password,
    };
    let user = state
        .auth
        .update_profile(&auth.caller, changes, &client.audit(auth.caller.user_id))
        .await?;
    Ok(ApiSuccess::ok(AccountView::from(&user)))
}

/// Change the caller's password; every other session ends.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed.", body = Envelope<PasswordChanged>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`current_password_incorrect`.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`: the account's budget of wrong passwords (shared with sign-in) is spent.", body = ErrorEnvelope),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<ApiSuccess<PasswordChanged>> {
    let audit = client.audit(auth.caller.user_id);
    state
        .auth
        .change_password(
            &auth.caller,
            auth.session,
            &body.current_password,
            &body.new_password,
            &audit,
        )
        .await?;
    // Other sessions of this user may be cached as live: forget them, on every instance.
    state.session_guard.revoked(auth.caller.user_id).await;
    Ok(ApiSuccess::ok(PasswordChanged {
        other_sessions_ended: true,
    }))
}
