//! Threaded comments on posts: one level of replies, edit and delete one's own.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::ids::{CommentId, PostId};
use vendrome_core::posts::engagement::{Comment, CommentBody};
use vendrome_core::validation::ValidationErrors;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::page::PageQuery;
use crate::routes::posts::{post_id, AuthorView, Deleted};
use crate::state::AppState;

/// A page of comments: the top-level ones, or the replies to `parent_id`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
    /// List the replies to this top-level comment.
    pub parent_id: Option<String>,
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
        (status = 401, description = "A token was sent and is not valid, has expired or its session ended (`token_invalid`, `token_expired`, `session_revoked`); without a token the answer is an anonymous reader's.", body = ErrorEnvelope),
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
