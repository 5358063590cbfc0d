//! Engagement with posts: reactions, bookmarks, reposts and shares (comments are in
//! `comments.rs`). Writes answer
//! with the post as it is now (counts and the caller's own state).

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::enums::{ReactionKind, ShareChannel};
use vendrome_core::ids::{PostId, ShareId};
use vendrome_core::posts::engagement::{parse_quote, Reaction};
use vendrome_core::validation::ValidationErrors;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::page::PageQuery;
use crate::routes::posts::{post_id, AuthorView, PostView};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    pub kind: ReactionKind,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepostRequest {
    /// Optional commentary, at most 1,000 characters.
    pub quote: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    pub channel: ShareChannel,
}

/// A recorded share.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareView {
    pub id: ShareId,
    pub post_id: PostId,
    pub channel: ShareChannel,
}

/// Who reacted, and how.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionView {
    pub user: AuthorView,
    pub kind: ReactionKind,
    pub created_at: DateTime<Utc>,
}

impl From<Reaction> for ReactionView {
    fn from(r: Reaction) -> Self {
        Self {
            user: r.user.into(),
            kind: r.kind,
            created_at: r.created_at,
        }
    }
}

/// React to a post (one reaction per member; a new kind replaces the old one).
#[utoipa::path(put, path = "/v1/posts/{id}/reaction", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    request_body = ReactionRequest,
    responses(
        (status = 200, description = "The post as it is now.", body = Envelope<PostView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn set_reaction(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReactionRequest>,
) -> ApiResult<ApiSuccess<PostView>> {
    let post = state
        .engagement
        .react(&auth.caller, post_id(&id)?, body.kind)
        .await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// Remove the caller's reaction (no reaction is fine).
#[utoipa::path(delete, path = "/v1/posts/{id}/reaction", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The post as it is now.", body = Envelope<PostView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
    ))]
pub async fn remove_reaction(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<PostView>> {
    let post = state
        .engagement
        .unreact(&auth.caller, post_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// Who reacted to a post, newest first.
#[utoipa::path(get, path = "/v1/posts/{id}/reactions", tag = "posts",
    params(("id" = PostId, Path, description = "The post's id."), PageQuery),
    responses(
        (status = 200, description = "A page of reactions.", body = Envelope<Vec<ReactionView>>),
        (status = 401, description = "A token was sent and is not valid, has expired or its session ended (`token_invalid`, `token_expired`, `session_revoked`); without a token the answer is an anonymous reader's.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn list_reactions(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<ReactionView>>> {
    let id = post_id(&id)?;
    let (cursor, limit) = query.parse()?;
    let page = state
        .engagement
        .reactions(caller.as_ref(), id, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, ReactionView::from))
}

/// Bookmark a post (private: nobody else learns of it).
#[utoipa::path(put, path = "/v1/posts/{id}/bookmark", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The post as it is now.", body = Envelope<PostView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
    ))]
pub async fn set_bookmark(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<PostView>> {
    let post = state
        .engagement
        .bookmark(&auth.caller, post_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// Remove a bookmark.
#[utoipa::path(delete, path = "/v1/posts/{id}/bookmark", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The post as it is now.", body = Envelope<PostView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
    ))]
pub async fn remove_bookmark(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<PostView>> {
    let post = state
        .engagement
        .unbookmark(&auth.caller, post_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// The caller's bookmarked posts, newest bookmark first.
#[utoipa::path(get, path = "/v1/me/bookmarks", tag = "posts", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of posts.", body = Envelope<Vec<PostView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn list_bookmarks(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<PostView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state
        .engagement
        .bookmarks(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, PostView::from))
}

/// Repost a post, optionally with a quote (again: changes the quote).
#[utoipa::path(put, path = "/v1/posts/{id}/repost", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    request_body = RepostRequest,
    responses(
        (status = 200, description = "The post as it is now.", body = Envelope<PostView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn set_repost(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RepostRequest>,
) -> ApiResult<ApiSuccess<PostView>> {
    let id = post_id(&id)?;
    let mut errors = ValidationErrors::new();
    let quote = errors.check("quote", parse_quote(body.quote.as_deref()));
    errors.into_result()?;
    let post = state
        .engagement
        .repost(&auth.caller, id, quote.flatten())
        .await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// Undo a repost.
#[utoipa::path(delete, path = "/v1/posts/{id}/repost", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The post as it is now.", body = Envelope<PostView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
    ))]
pub async fn remove_repost(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<PostView>> {
    let post = state
        .engagement
        .unrepost(&auth.caller, post_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// Record a share of a post.
#[utoipa::path(post, path = "/v1/posts/{id}/shares", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    request_body = ShareRequest,
    responses(
        (status = 201, description = "Recorded.", body = Envelope<ShareView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn create_share(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ShareRequest>,
) -> ApiResult<ApiSuccess<ShareView>> {
    let post = post_id(&id)?;
    let share = state
        .engagement
        .share(&auth.caller, post, body.channel)
        .await?;
    Ok(ApiSuccess::created(ShareView {
        id: share,
        post_id: post,
        channel: body.channel,
    }))
}
