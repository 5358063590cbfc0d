//! Engagement with posts: reactions, bookmarks, comments, reposts and shares. Writes answer
//! with the post as it is now (counts and the caller's own state).

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{ReactionKind, ShareChannel};
use vendrome_core::ids::{CommentId, PostId, ShareId};
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::posts::engagement::{parse_quote, Comment, CommentBody, Reaction};
use vendrome_core::validation::ValidationErrors;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::posts::{post_id, AuthorView, Deleted, PostView};
use crate::state::AppState;

/// A page request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100; 20 when absent.
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub(crate) fn parse(&self) -> Result<(Option<Cursor>, Limit), ApiError> {
        let mut errors = ValidationErrors::new();
        let limit = match self.limit {
            None => Some(Limit::DEFAULT),
            Some(n) => errors.check("limit", Limit::parse(n)),
        };
        errors.into_result()?;
        Ok((
            self.cursor.clone().map(Cursor::from_string),
            limit.unwrap_or_default(),
        ))
    }
}

/// A page of comments: the top-level ones, or the replies to `parent_id`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// List the replies to this top-level comment.
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    pub kind: ReactionKind,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// 1 to 2,000 characters.
    pub body: String,
    /// Answer this top-level comment of the same post.
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCommentRequest {
    pub body: String,
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

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: CommentId,
    pub post_id: PostId,
    pub parent_id: Option<CommentId>,
    pub author: AuthorView,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Comment> for CommentView {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            post_id: c.post_id,
            parent_id: c.parent_id,
            author: c.author.into(),
            body: c.body,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn comment_id(raw: &str) -> Result<CommentId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("comment"))
}

fn comment_body(raw: &str) -> Result<CommentBody, ApiError> {
    let mut errors = ValidationErrors::new();
    let body = errors.check("body", CommentBody::parse(raw));
    errors.into_result()?;
    Ok(body.expect("no errors means a body"))
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

/// Comment on a post, or reply to a top-level comment.
#[utoipa::path(post, path = "/v1/posts/{id}/comments", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "The comment.", body = Envelope<CommentView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (body, parent_id).", body = ErrorEnvelope),
    ))]
pub async fn create_comment(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<ApiSuccess<CommentView>> {
    let id = post_id(&id)?;
    let parent = match &body.parent_id {
        None => None,
        Some(raw) => Some(raw.parse::<CommentId>().map_err(|_| {
            ValidationErrors::single("parent_id", "invalid_parent", "is not a comment id")
        })?),
    };
    let text = comment_body(&body.body)?;
    let comment = state
        .engagement
        .comment(&auth.caller, id, parent, text)
        .await?;
    Ok(ApiSuccess::created(comment.into()))
}

/// A post's comments, oldest first: top-level ones, or the replies to `parent_id`.
#[utoipa::path(get, path = "/v1/posts/{id}/comments", tag = "posts",
    params(("id" = PostId, Path, description = "The post's id."), CommentsQuery),
    responses(
        (status = 200, description = "A page of comments.", body = Envelope<Vec<CommentView>>),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn list_comments(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<CommentsQuery>,
) -> ApiResult<ApiSuccess<Vec<CommentView>>> {
    let id = post_id(&id)?;
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let parent = query.parent_id.as_deref().map(comment_id).transpose()?;
    let page = state
        .engagement
        .comments(caller.as_ref(), id, parent, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, CommentView::from))
}

/// Edit one's own comment.
#[utoipa::path(patch, path = "/v1/comments/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = CommentId, Path, description = "The comment's id.")),
    request_body = EditCommentRequest,
    responses(
        (status = 200, description = "The comment as it is now.", body = Envelope<CommentView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_author`.", body = ErrorEnvelope),
        (status = 404, description = "No such comment.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn update_comment(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditCommentRequest>,
) -> ApiResult<ApiSuccess<CommentView>> {
    let id = comment_id(&id)?;
    let text = comment_body(&body.body)?;
    let comment = state
        .engagement
        .edit_comment(&auth.caller, id, text)
        .await?;
    Ok(ApiSuccess::ok(comment.into()))
}

/// Delete one's own comment (moderators: any).
#[utoipa::path(delete, path = "/v1/comments/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = CommentId, Path, description = "The comment's id.")),
    responses(
        (status = 200, description = "Deleted.", body = Envelope<Deleted>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_author`.", body = ErrorEnvelope),
        (status = 404, description = "No such comment.", body = ErrorEnvelope),
    ))]
pub async fn delete_comment(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<Deleted>> {
    state
        .engagement
        .delete_comment(&auth.caller, comment_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(Deleted { deleted: true }))
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
