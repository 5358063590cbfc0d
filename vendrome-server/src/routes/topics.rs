//! Topics: the list, following and unfollowing, the caller's followed topics.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use vendrome_core::graph::{Topic, TopicSlug};
use vendrome_core::ids::TopicId;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::routes::page::PageQuery;
use crate::state::AppState;

/// A topic with its counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopicView {
    pub id: TopicId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub follower_count: i64,
    pub post_count: i64,
    pub created_at: DateTime<Utc>,
}

impl From<Topic> for TopicView {
    fn from(t: Topic) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            description: t.description,
            follower_count: t.follower_count,
            post_count: t.post_count,
            created_at: t.created_at,
        }
    }
}

pub(crate) fn slug(raw: &str) -> Result<TopicSlug, ApiError> {
    TopicSlug::parse(raw).map_err(|_| ApiError::not_found("topic"))
}

/// Every topic, by slug.
#[utoipa::path(get, path = "/v1/topics", tag = "graph",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of topics.", body = Envelope<Vec<TopicView>>),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn list_topics(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<TopicView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state.graph.topics(cursor.as_ref(), limit).await?;
    Ok(ApiSuccess::page(page, TopicView::from))
}

/// Follow a topic (idempotent).
#[utoipa::path(put, path = "/v1/topics/{slug}/follow", tag = "graph", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The topic's slug.")),
    responses(
        (status = 200, description = "Following; the topic as it is now.", body = Envelope<TopicView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such topic.", body = ErrorEnvelope),
    ))]
pub async fn follow_topic(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(raw): Path<String>,
) -> ApiResult<ApiSuccess<TopicView>> {
    let topic = state.graph.follow_topic(&auth.caller, &slug(&raw)?).await?;
    state.audience_changed(auth.caller.user_id);
    Ok(ApiSuccess::ok(topic.into()))
}

/// Stop following a topic (idempotent).
#[utoipa::path(delete, path = "/v1/topics/{slug}/follow", tag = "graph", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The topic's slug.")),
    responses(
        (status = 200, description = "Not following; the topic as it is now.", body = Envelope<TopicView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such topic.", body = ErrorEnvelope),
    ))]
pub async fn unfollow_topic(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(raw): Path<String>,
) -> ApiResult<ApiSuccess<TopicView>> {
    let topic = state
        .graph
        .unfollow_topic(&auth.caller, &slug(&raw)?)
        .await?;
    state.audience_changed(auth.caller.user_id);
    Ok(ApiSuccess::ok(topic.into()))
}

/// The topics the caller follows, by slug.
#[utoipa::path(get, path = "/v1/me/topics", tag = "graph", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of topics.", body = Envelope<Vec<TopicView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn my_topics(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<TopicView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state
        .graph
        .my_topics(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, TopicView::from))
}
