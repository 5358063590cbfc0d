//! Group conversations: create, add and remove members, leave.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::messaging::groups::GroupTitle;
use vendrome_core::validation::ValidationErrors;

use super::messaging::{conversation_id, StartedView};
use super::users::user_id;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    /// 1 to 100 characters.
    pub title: String,
    /// The other members (not the caller, each once; at most the limit less one, 99 by
    /// default).
    #[schema(max_items = 99)]
    pub member_ids: Vec<UserId>,
}

/// Whether a member is in the group after the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub user_id: UserId,
    pub member: bool,
}

/// Create a group conversation; the caller owns it.
#[utoipa::path(post, path = "/v1/conversations/groups", tag = "messaging", security(("bearer" = [])),
    request_body = CreateGroupRequest,
    responses(
        (status = 201, description = "The group.", body = Envelope<StartedView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`blocked`: a block stands between the caller and a member; `connections_only`: a member joins conversations of their connections only.", body = ErrorEnvelope),
        (status = 404, description = "A member does not exist.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (title, member_ids).", body = ErrorEnvelope),
    ))]
pub async fn create_group(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateGroupRequest>,
) -> ApiResult<ApiSuccess<StartedView>> {
    let mut errors = ValidationErrors::new();
    let title = errors.check("title", GroupTitle::parse(&body.title));
    errors.into_result()?;
    let id = state
        .messaging
        .create_group(&auth.caller, title.expect("checked above"), body.member_ids)
        .await?;
    Ok(ApiSuccess::created(StartedView { id, created: true }))
}

/// Add a member to a group (its admins).
#[utoipa::path(put, path = "/v1/conversations/{id}/members/{user_id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The group."), ("user_id" = UserId, Path, description = "The member.")),
    responses(
        (status = 200, description = "In the group.", body = Envelope<MembershipView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_admin`; `blocked`: a block stands between the caller and the member; `connections_only`: the member joins conversations of their connections only.", body = ErrorEnvelope),
        (status = 404, description = "No such group or user, or the caller is not in it.", body = ErrorEnvelope),
        (status = 409, description = "`not_a_group`, `group_full`.", body = ErrorEnvelope),
    ))]
pub async fn add_member(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<ApiSuccess<MembershipView>> {
    let user = user_id(&user)?;
    state
        .messaging
        .add_member(&auth.caller, conversation_id(&id)?, user)
        .await?;
    Ok(ApiSuccess::ok(MembershipView {
        user_id: user,
        member: true,
    }))
}

/// Remove a member (its admins), or leave (oneself).
#[utoipa::path(delete, path = "/v1/conversations/{id}/members/{user_id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = ConversationId, Path, description = "The group."), ("user_id" = UserId, Path, description = "The member.")),
    responses(
        (status = 200, description = "Not in the group.", body = Envelope<MembershipView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_admin`, `owner` (the owner cannot be removed), `not_owner` (only the owner removes an admin).", body = ErrorEnvelope),
        (status = 404, description = "No such group or user, or the caller is not in it.", body = ErrorEnvelope),
        (status = 409, description = "`not_a_group`; `owner_must_transfer`: the owner leaves only after handing the group over.", body = ErrorEnvelope),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<ApiSuccess<MembershipView>> {
    let user = user_id(&user)?;
    state
        .messaging
        .remove_member(&auth.caller, conversation_id(&id)?, user)
        .await?;
    Ok(ApiSuccess::ok(MembershipView {
        user_id: user,
        member: false,
    }))
}
