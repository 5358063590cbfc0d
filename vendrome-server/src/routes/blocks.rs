//! Blocks: hide yourself from a member and them from you (see `vendrome_core::graph::blocks`).

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use vendrome_core::graph::blocks::BlockEntry;
use vendrome_core::ids::UserId;

use super::graph::UserSummaryView;
use super::page::PageQuery;
use super::users::user_id;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Whether the caller blocks a member, after the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    pub user_id: UserId,
    pub blocked: bool,
}

/// Someone the caller blocked.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockEntryView {
    pub user: UserSummaryView,
    pub since: DateTime<Utc>,
}

impl From<BlockEntry> for BlockEntryView {
    fn from(e: BlockEntry) -> Self {
        Self {
            user: e.user.into(),
            since: e.since,
        }
    }
}

/// Block a member (idempotent): ends follows both ways, the connection and pending requests;
/// while it stands neither sees the other's posts, follows or asks to connect.
#[utoipa::path(put, path = "/v1/users/{id}/block", tag = "graph", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member to block.")),
    responses(
        (status = 200, description = "Blocked.", body = Envelope<BlockView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: yourself (`self_block`).", body = ErrorEnvelope),
    ))]
pub async fn block(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<BlockView>> {
    let whom = user_id(&id)?;
    state.graph.block(&auth.caller, whom).await?;
    Ok(ApiSuccess::ok(BlockView {
        user_id: whom,
        blocked: true,
    }))
}

/// Lift a block (idempotent). Nothing it ended comes back by itself.
#[utoipa::path(delete, path = "/v1/users/{id}/block", tag = "graph", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member to unblock.")),
    responses(
        (status = 200, description = "Not blocked.", body = Envelope<BlockView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: yourself (`self_block`).", body = ErrorEnvelope),
    ))]
pub async fn unblock(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<BlockView>> {
    let whom = user_id(&id)?;
    state.graph.unblock(&auth.caller, whom).await?;
    Ok(ApiSuccess::ok(BlockView {
        user_id: whom,
        blocked: false,
    }))
}

/// The members the caller blocked, newest first.
#[utoipa::path(get, path = "/v1/me/blocks", tag = "graph", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of blocked members.", body = Envelope<Vec<BlockEntryView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn my_blocks(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<BlockEntryView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state
        .graph
        .blocked(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, BlockEntryView::from))
}
