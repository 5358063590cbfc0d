//! Posts: create, read, edit, delete; and the one post representation every endpoint answers
//! with ([`PostView`]).

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::enums::{PostType, PostVisibility, ReactionKind, VerificationLevel};
use vendrome_core::ids::{PostId, UserId};
use vendrome_core::posts::{
    parse_topics, AuthorSummary, Media, MediaItem, Post, PostBody, PostChanges, PostPayload,
};
use vendrome_core::validation::ValidationErrors;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Who wrote a post or comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorView {
    pub id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub verification_level: VerificationLevel,
}

impl From<AuthorSummary> for AuthorView {
    fn from(a: AuthorSummary) -> Self {
        Self {
            id: a.id,
            display_name: a.display_name,
            handle: a.handle,
            avatar_url: a.avatar_url,
            verification_level: a.verification_level,
        }
    }
}

/// A post's engagement counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostCountsView {
    pub reactions: i64,
    pub comments: i64,
    pub reposts: i64,
    pub shares: i64,
    pub bookmarks: i64,
}

/// The caller's own engagement with a post (empty when anonymous).
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewerStateView {
    pub reaction: Option<ReactionKind>,
    pub bookmarked: bool,
    pub reposted: bool,
}

/// A post, as every endpoint shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostView {
    pub id: PostId,
    pub author: AuthorView,
    #[serde(rename = "type")]
    pub post_type: PostType,
    pub body: String,
    pub visibility: PostVisibility,
    /// Topic slugs, alphabetical.
    pub topics: Vec<String>,
    /// The typed details, tagged by `type` (`{"type": "text"}` for a text post).
    pub payload: PostPayload,
    /// Attachments, in display order.
    pub media: Vec<MediaItem>,
    pub counts: PostCountsView,
    pub viewer: ViewerStateView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

impl From<Post> for PostView {
    fn from(p: Post) -> Self {
        Self {
            id: p.id,
            post_type: p.post_type(),
            author: p.author.into(),
            body: p.body,
            visibility: p.visibility,
            topics: p.topics,
            payload: p.payload,
            media: p.media,
            counts: PostCountsView {
                reactions: p.counts.reactions,
                comments: p.counts.comments,
                reposts: p.counts.reposts,
                shares: p.counts.shares,
                bookmarks: p.counts.bookmarks,
            },
            viewer: ViewerStateView {
                reaction: p.viewer.reaction,
                bookmarked: p.viewer.bookmarked,
                reposted: p.viewer.reposted,
            },
            created_at: p.created_at,
            updated_at: p.updated_at,
            edited_at: p.edited_at,
        }
    }
}

/// A new post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePostRequest {
    /// `text` when absent.
    #[serde(rename = "type", default)]
    pub post_type: Option<PostType>,
    /// 1 to 5,000 characters.
    pub body: String,
    /// `public` when absent.
    pub visibility: Option<PostVisibility>,
    /// Up to 10 topic slugs (a-z, 0-9, `-`; a leading `#` and upper case are normalised).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub topics: Vec<String>,
    /// The typed details (required for every type but `text`): the fields of the type's
    /// payload schema, without `type`.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
    /// Up to 10 attachments (https URLs of files already uploaded).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub media: Vec<MediaItem>,
}

/// Changes to a post: absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePostRequest {
    pub body: Option<String>,
    pub visibility: Option<PostVisibility>,
    /// Replaces the topics (up to 10).
    #[schema(max_items = 10)]
    pub topics: Option<Vec<String>>,
    /// Payload fields to change, merged into the current payload (`null` clears an optional one).
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
    /// Replaces the attachments (up to 10).
    #[schema(max_items = 10)]
    pub media: Option<Vec<MediaItem>>,
}

/// A deletion's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: bool,
}

pub(crate) fn post_id(raw: &str) -> Result<PostId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("post"))
}

/// Publish a post.
#[utoipa::path(post, path = "/v1/posts", tag = "posts", security(("bearer" = [])),
    request_body = CreatePostRequest,
    responses(
        (status = 201, description = "The post.", body = Envelope<PostView>),
        (status = 400, description = "The body is not JSON.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`, with `payload.<field>` for payload errors.", body = ErrorEnvelope),
    ))]
pub async fn create_post(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreatePostRequest>,
) -> ApiResult<ApiSuccess<PostView>> {
    let mut errors = ValidationErrors::new();
    let text = errors.check("body", PostBody::parse(&body.body));
    let topics = parse_topics(&body.topics, "topics", &mut errors);
    let post_type = body.post_type.unwrap_or(PostType::Text);
    let payload = errors.check(
        "payload",
        PostPayload::parse_fields(post_type, body.payload.as_ref()),
    );
    let media = errors.check("media", Media::parse(body.media));
    let (Some(text), Some(payload), Some(media)) = (text, payload, media) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let post = state
        .posts
        .create(
            &auth.caller,
            text,
            body.visibility.unwrap_or(PostVisibility::Public),
            topics,
            payload,
            media,
        )
        .await?;
    Ok(ApiSuccess::created(post.into()))
}

/// A post.
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts",
    params(("id" = PostId, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "The post.", body = Envelope<PostView>),
        (status = 401, description = "A token was sent and is not valid, has expired or its session ended (`token_invalid`, `token_expired`, `session_revoked`); without a token the answer is an anonymous reader's.", body = ErrorEnvelope),
        (status = 404, description = "No such post, deleted, or not visible to the caller.", body = ErrorEnvelope),
    ))]
pub async fn get_post(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<PostView>> {
    let post = state.posts.get(caller.as_ref(), post_id(&id)?).await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// Edit a post (its author, or a moderator).
#[utoipa::path(patch, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    request_body = UpdatePostRequest,
    responses(
        (status = 200, description = "The post as it is now.", body = Envelope<PostView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_author`.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn update_post(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdatePostRequest>,
) -> ApiResult<ApiSuccess<PostView>> {
    let id = post_id(&id)?;
    let mut errors = ValidationErrors::new();
    let text = match &body.body {
        Some(raw) => errors.check("body", PostBody::parse(raw)),
        None => None,
    };
    let topics = body
        .topics
        .as_ref()
        .map(|raw| parse_topics(raw, "topics", &mut errors));
    let media = match body.media {
        Some(items) => errors.check("media", Media::parse(items)),
        None => None,
    };
    errors.into_result()?;
    let changes = PostChanges {
        body: text,
        visibility: body.visibility,
        topics,
        payload: body.payload,
        media,
    };
    let post = state.posts.update(&auth.caller, id, changes).await?;
    Ok(ApiSuccess::ok(post.into()))
}

/// Delete a post (its author, or a moderator). The post disappears everywhere.
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "The post's id.")),
    responses(
        (status = 200, description = "Deleted.", body = Envelope<Deleted>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_author`.", body = ErrorEnvelope),
        (status = 404, description = "No such post.", body = ErrorEnvelope),
    ))]
pub async fn delete_post(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<Deleted>> {
    state.posts.delete(&auth.caller, post_id(&id)?).await?;
    Ok(ApiSuccess::ok(Deleted { deleted: true }))
}
