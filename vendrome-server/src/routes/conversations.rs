//! One conversation: its details (title, members and their roles), renaming a group, and
//! members' roles; the caller's messaging settings.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::enums::{DirectMessagePolicy, ParticipantRole};
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::messaging::groups::GroupTitle;
use vendrome_core::validation::ValidationErrors;

use super::messaging::conversation_id;
use super::users::user_id;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::state::AppState;

/// A member and their role.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: UserId,
    pub role: ParticipantRole,
}

/// A conversation's details.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDetails {
    pub id: ConversationId,
    /// Groups only.
    pub title: Option<String>,
    /// The owner first, then admins, then members.
    pub members: Vec<MemberView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    /// 1 to 100 characters.
    pub title: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// `admin` or `member`; `owner` hands the group over (the owner only).
    pub role: ParticipantRole,
}

/// Who may start a direct conversation with the caller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    /// `anyone` (the default) or `connections`. Conversations that exist stay open.
    pub direct_messages: DirectMessagePolicy,
}

async fn details(
    state: &AppState,
    auth: &Authenticated,
    id: ConversationId,
) -> ApiResult<ConversationDetails> {
    let (title, members) = state
        .messaging
        .conversation_members(&auth.caller, id)
        .await?;
    Ok(ConversationDetails {
        id,
        title,
        members: members
            .into_iter()
            .map(|(user_id, role)| MemberView { user_id, role })
            .collect(),
    })
}

/// A conversation the caller is in: title and members with their roles.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The conversation.")),
    responses(
        (status = 200, description = "The conversation.", body = Envelope<ConversationDetails>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such conversation, or the caller is not in it.", body = ErrorEnvelope),
    ))]
pub async fn get_conversation(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<ConversationDetails>> {
    let id = conversation_id(&id)?;
    Ok(ApiSuccess::ok(details(&state, &auth, id).await?))
}

/// Rename a group (its admins).
#[utoipa::path(patch, path = "/v1/conversations/{id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The group.")),
    request_body = RenameRequest,
    responses(
        (status = 200, description = "The group.", body = Envelope<ConversationDetails>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_admin`.", body = ErrorEnvelope),
        (status = 404, description = "No such group, or the caller is not in it.", body = ErrorEnvelope),
        (status = 409, description = "`not_a_group`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (title).", body = ErrorEnvelope),
    ))]
pub async fn rename_group(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RenameRequest>,
) -> ApiResult<ApiSuccess<ConversationDetails>> {
    let id = conversation_id(&id)?;
    let mut errors = ValidationErrors::new();
    let title = errors.check("title", GroupTitle::parse(&body.title));
    errors.into_result()?;
    state
        .messaging
        .rename_group(&auth.caller, id, title.expect("checked above"))
        .await?;
    Ok(ApiSuccess::ok(details(&state, &auth, id).await?))
}

/// Make a member an admin, or an admin a member (admins promote; the owner demotes), or hand
/// the group over (`owner`, by the owner only: the member becomes the owner, the caller an
/// admin). The owner must hand the group over before leaving it.
#[utoipa::path(put, path = "/v1/conversations/{id}/members/{user_id}/role", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The group."), ("user_id" = UserId, Path, description = "The member.")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The member and their role.", body = Envelope<MemberView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_admin`, `not_owner` (demoting an admin, or handing over, without being the owner), `owner` (the owner's own role).", body = ErrorEnvelope),
        (status = 404, description = "No such group or member, or the caller is not in it.", body = ErrorEnvelope),
        (status = 409, description = "`not_a_group`.", body = ErrorEnvelope),
    ))]
pub async fn set_member_role(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleRequest>,
) -> ApiResult<ApiSuccess<MemberView>> {
    let (id, user) = (conversation_id(&id)?, user_id(&user)?);
    state
        .messaging
        .set_member_role(&auth.caller, id, user, body.role)
        .await?;
    Ok(ApiSuccess::ok(MemberView {
        user_id: user,
        role: body.role,
    }))
}

/// The caller's messaging settings.
#[utoipa::path(get, path = "/v1/me/settings/messaging", tag = "messaging", security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings.", body = Envelope<MessagingSettings>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn get_messaging_settings(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<ApiSuccess<MessagingSettings>> {
    let direct_messages = state.messaging.direct_message_policy(&auth.caller).await?;
    Ok(ApiSuccess::ok(MessagingSettings { direct_messages }))
}

/// Change who may start a direct conversation with the caller.
#[utoipa::path(put, path = "/v1/me/settings/messaging", tag = "messaging", security(("bearer" = [])),
    request_body = MessagingSettings,
    responses(
        (status = 200, description = "The settings now.", body = Envelope<MessagingSettings>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn set_messaging_settings(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<MessagingSettings>,
) -> ApiResult<ApiSuccess<MessagingSettings>> {
    state
        .messaging
        .set_direct_message_policy(&auth.caller, body.direct_messages)
        .await?;
    Ok(ApiSuccess::ok(body))
}
