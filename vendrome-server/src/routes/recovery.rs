//! Proving an email address and getting back into an account by mailed single-use links:
//! `POST /v1/auth/email/verify-request` and `/verify`, `POST /v1/auth/password-reset/request`
//! and `/v1/auth/password-reset`. The links point at the frontend (`VENDROME_APP_URL`), whose
//! pages post the link's `token` here.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::{ApiJson, Client};
use crate::routes::views::AccountView;
use crate::state::AppState;

/// Whether a verification link was mailed.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationRequested {
    /// `false` when the address is verified already (nothing was sent).
    pub sent: bool,
}

/// The token of a mailed link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub token: String,
}

/// Who forgot their password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// The same answer whether or not the address has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRequested {
    pub accepted: bool,
}

/// A new password, with the token of a reset link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub token: String,
    /// 8 to 128 characters, not one of the 10,000 most common passwords.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// How many session tokens the reset ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordReset {
    pub ended_sessions: u64,
}

/// Mail the caller a link that verifies their address (valid 24 hours, once).
#[utoipa::path(post, path = "/v1/auth/email/verify-request", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 202, description = "Mailed (or, with `sent: false`, verified already).", body = Envelope<VerificationRequested>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`.", body = ErrorEnvelope),
    ))]
pub async fn request_verification(
    State(state): State<AppState>,
    auth: Authenticated,
    Client(client): Client,
) -> ApiResult<ApiSuccess<VerificationRequested>> {
    let sent = state
        .recovery
        .request_verification(&auth.caller, &client)
        .await?;
    Ok(ApiSuccess::accepted(VerificationRequested { sent }))
}

/// Verify the address a link was mailed to.
#[utoipa::path(post, path = "/v1/auth/email/verify", tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Verified: the account as it is now.", body = Envelope<AccountView>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `token` is `token_invalid` (used, expired, never issued, or sent to an address the account no longer has).", body = ErrorEnvelope),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerifyEmailRequest>,
) -> ApiResult<ApiSuccess<AccountView>> {
    let user = state.recovery.verify_email(&body.token).await?;
    Ok(ApiSuccess::ok(AccountView::from(&user)))
}

/// Mail a password-reset link (valid one hour, once) to an address, when an account has it.
/// The answer is the same either way, and comes before any mail is sent.
#[utoipa::path(post, path = "/v1/auth/password-reset/request", tag = "auth",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Taken in: a link is mailed if an account has the address.", body = Envelope<ResetRequested>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: the address is malformed.", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`, with `Retry-After`.", body = ErrorEnvelope),
    ))]
pub async fn request_reset(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<ResetRequest>,
) -> ApiResult<ApiSuccess<ResetRequested>> {
    // The lookup and the mail happen after the answer, so its timing does not tell whether an
    // account has the address.
    let email = state
        .recovery
        .check_reset_request(&body.email, &client)
        .await?;
    let recovery = state.recovery.clone();
    tokio::spawn(async move {
        if let Err(error) = recovery.request_reset(&email).await {
            tracing::warn!(error = %error, "password-reset request failed");
        }
    });
    Ok(ApiSuccess::accepted(ResetRequested { accepted: true }))
}

/// Set a new password with a reset link's token. Ends every session of the account.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "The password is set; every session ended.", body = Envelope<PasswordReset>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 413, description = "The body is too large.", body = ErrorEnvelope),
        (status = 415, description = "The body is not `application/json`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `new_password` breaks the policy, or `token` is `token_invalid`.", body = ErrorEnvelope),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> ApiResult<ApiSuccess<PasswordReset>> {
    let audit = vendrome_core::audit::AuditContext {
        ip: client.0.ip.clone(),
        request_id: Some(crate::request_id::current()),
        ..Default::default()
    };
    let (user, ended) = state
        .recovery
        .reset_password(&body.token, &body.new_password, &audit)
        .await?;
    // The account's sessions ended: refuse their access tokens at once, everywhere.
    state.session_guard.revoked(user).await;
    Ok(ApiSuccess::ok(PasswordReset {
        ended_sessions: ended,
    }))
}
