//! Verification (public) and the admin's levers on accounts: badges, verification level, role,
//! disabling, and sessions. Every admin change is audited.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::enums::{BadgeKind, UserRole, VerificationLevel};
use vendrome_core::ids::{SessionId, UserId};
use vendrome_core::verification::{Badge, Verification};

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Client};
use crate::routes::auth::Ended;
use crate::routes::views::{AccountView, SessionView};
use crate::state::AppState;

/// A badge a user holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct BadgeView {
    pub kind: BadgeKind,
    pub verified_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&Badge> for BadgeView {
    fn from(badge: &Badge) -> Self {
        Self {
            kind: badge.kind,
            verified_at: badge.verified_at,
            expires_at: badge.expires_at,
        }
    }
}

/// A user's verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub user_id: UserId,
    pub level: VerificationLevel,
    pub badges: Vec<BadgeView>,
}

impl From<Verification> for VerificationView {
    fn from(v: Verification) -> Self {
        Self {
            user_id: v.user_id,
            level: v.level,
            badges: v.badges.iter().map(BadgeView::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBadgeRequest {
    pub kind: BadgeKind,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLevelRequest {
    pub level: VerificationLevel,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    pub role: UserRole,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDisabledRequest {
    /// `true` ends every session of the user at once.
    pub disabled: bool,
}

pub(crate) fn user_id(raw: &str) -> Result<UserId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("user"))
}

/// A user's verification level and badges.
#[utoipa::path(get, path = "/v1/users/{id}/verification", tag = "users",
    params(("id" = UserId, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Level and live badges.", body = Envelope<VerificationView>),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
    ))]
pub async fn verification(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<VerificationView>> {
    let verification = state.verification.verification(user_id(&id)?).await?;
    Ok(ApiSuccess::ok(verification.into()))
}

/// Grant a badge (admins).
#[utoipa::path(post, path = "/v1/admin/users/{id}/badges", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id.")),
    request_body = GrantBadgeRequest,
    responses(
        (status = 201, description = "Granted.", body = Envelope<BadgeView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 409, description = "`badge_exists`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn grant_badge(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GrantBadgeRequest>,
) -> ApiResult<ApiSuccess<BadgeView>> {
    auth.caller.require_admin()?;
    let badge = state
        .verification
        .grant_badge(
            &auth.caller,
            user_id(&id)?,
            body.kind,
            &client.audit(auth.caller.user_id),
        )
        .await?;
    Ok(ApiSuccess::created(BadgeView::from(&badge)))
}

/// Revoke a badge (admins).
#[utoipa::path(delete, path = "/v1/admin/users/{id}/badges/{badge}", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id."), ("badge" = BadgeKind, Path, description = "The badge kind.")),
    responses(
        (status = 200, description = "Revoked; the user's verification as it is now.", body = Envelope<VerificationView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such user or live badge.", body = ErrorEnvelope),
    ))]
pub async fn revoke_badge(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path((id, badge)): Path<(String, String)>,
) -> ApiResult<ApiSuccess<VerificationView>> {
    auth.caller.require_admin()?;
    let user = user_id(&id)?;
    let kind: BadgeKind = badge.parse().map_err(|_| ApiError::not_found("badge"))?;
    state
        .verification
        .revoke_badge(&auth.caller, user, kind, &client.audit(auth.caller.user_id))
        .await?;
    Ok(ApiSuccess::ok(
        state.verification.verification(user).await?.into(),
    ))
}

/// Set a user's verification level (admins).
#[utoipa::path(put, path = "/v1/admin/users/{id}/verification-level", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id.")),
    request_body = SetLevelRequest,
    responses(
        (status = 200, description = "The account as it is now.", body = Envelope<AccountView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn set_level(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetLevelRequest>,
) -> ApiResult<ApiSuccess<AccountView>> {
    auth.caller.require_admin()?;
    let user = state
        .verification
        .set_level(
            &auth.caller,
            user_id(&id)?,
            body.level,
            &client.audit(auth.caller.user_id),
        )
        .await?;
    Ok(ApiSuccess::ok(AccountView::from(&user)))
}

/// Set a user's role (admins). Admin and moderator rights are read from the store on every
/// request, so the change applies at once; lowering a role also ends the member's sessions.
#[utoipa::path(put, path = "/v1/admin/users/{id}/role", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id.")),
    request_body = SetRoleRequest,
    responses(
        (status = 200, description = "The account as it is now.", body = Envelope<AccountView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 409, description = "`last_admin`: an admin cannot demote themselves.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn set_role(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetRoleRequest>,
) -> ApiResult<ApiSuccess<AccountView>> {
    auth.caller.require_admin()?;
    let user = state
        .verification
        .set_role(
            &auth.caller,
            user_id(&id)?,
            body.role,
            &client.audit(auth.caller.user_id),
        )
        .await?;
    // A lowered role ended the member's sessions: refuse their tokens at once, everywhere.
    state.session_guard.revoked(user.id).await;
    Ok(ApiSuccess::ok(AccountView::from(&user)))
}

/// Disable or re-enable an account (admins). Disabling ends its sessions at once.
#[utoipa::path(put, path = "/v1/admin/users/{id}/disabled", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id.")),
    request_body = SetDisabledRequest,
    responses(
        (status = 200, description = "The account as it is now.", body = Envelope<AccountView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 409, description = "`last_admin`: an admin cannot disable themselves.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn set_disabled(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetDisabledRequest>,
) -> ApiResult<ApiSuccess<AccountView>> {
    auth.caller.require_admin()?;
    let user = state
        .verification
        .set_disabled(
            &auth.caller,
            user_id(&id)?,
            body.disabled,
            &client.audit(auth.caller.user_id),
        )
        .await?;
    if user.is_disabled() {
        state.session_guard.revoked(user.id).await;
    }
    Ok(ApiSuccess::ok(AccountView::from(&user)))
}

/// A user's live sessions (admins).
#[utoipa::path(get, path = "/v1/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "Live sessions.", body = Envelope<Vec<SessionView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
    ))]
pub async fn list_user_sessions(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<Vec<SessionView>>> {
    auth.caller.require_admin()?;
    let user = user_id(&id)?;
    let sessions = state.auth.sessions(user).await?;
    Ok(ApiSuccess::ok(
        sessions.iter().map(|s| SessionView::new(s, None)).collect(),
    ))
}

/// End one of a user's sessions (admins; audited).
#[utoipa::path(delete, path = "/v1/admin/users/{id}/sessions/{session}", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id."), ("session" = SessionId, Path, description = "The session's id.")),
    responses(
        (status = 200, description = "The session ended.", body = Envelope<Ended>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such live session of this user.", body = ErrorEnvelope),
    ))]
pub async fn revoke_user_session(
    State(state): State<AppState>,
    auth: Authenticated,
    client: Client,
    Path((id, session)): Path<(String, String)>,
) -> ApiResult<ApiSuccess<Ended>> {
    auth.caller.require_admin()?;
    let user = user_id(&id)?;
    let session: SessionId = session
        .parse()
        .map_err(|_| ApiError::not_found("session"))?;
    state
        .auth
        .revoke_session(
            &auth.caller,
            user,
            session,
            &client.audit(auth.caller.user_id),
        )
        .await?;
    state.session_guard.revoked(user).await;
    Ok(ApiSuccess::ok(Ended { ended_sessions: 1 }))
}
