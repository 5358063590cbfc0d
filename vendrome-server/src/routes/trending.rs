//! `GET /v1/trending`: the stored lists of trending posts and topics.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::ids::PostId;
use vendrome_core::page::{Cursor, Page};
use vendrome_core::trending::{TrendKind, Window};
use vendrome_core::validation::ValidationErrors;

use super::page::{one_of, PageQuery};
use super::posts::PostView;
use crate::auth::MaybeAuthenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendingQuery {
    #[param(schema_with = windows)]
    pub window: Option<String>,
    #[param(schema_with = kinds)]
    pub kind: Option<String>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn windows() -> utoipa::openapi::Object {
    one_of(
        "`1h`, `24h` (the default) or `7d`.",
        Window::ALL.map(Window::as_str),
    )
}

fn kinds() -> utoipa::openapi::Object {
    one_of(
        "`posts` (the default) or `topics`.",
        [TrendKind::Posts, TrendKind::Topics].map(TrendKind::as_str),
    )
}

/// One place on a trending list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendingView {
    /// 1 for the top.
    pub rank: i64,
    /// Time-decayed, weighted engagement (see `vendrome_core::trending`).
    pub score: f64,
    /// Different members who engaged.
    pub engagers: i64,
    /// Posts engaged with (for a topic; 1 for a post).
    pub posts: i64,
    /// `kind=posts`: the post, as every endpoint shows it.
    pub post: Option<PostView>,
    /// `kind=topics`: the topic's slug.
    pub topic: Option<String>,
}

/// Trending posts or topics: engagement weighted by kind (reactions 1, comments 3, reposts 4,
/// shares 5) and halved every third of the window, with at least 5 members taking part. Lists
/// are scored every minute; a post the viewer may not see is left out.
#[utoipa::path(get, path = "/v1/trending", tag = "posts",
    params(TrendingQuery),
    responses(
        (status = 200, description = "A page of the list, best first.", body = Envelope<Vec<TrendingView>>),
        (status = 401, description = "A token was sent and is not valid.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (window, kind, limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn trending(
    State(state): State<AppState>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    ApiQuery(query): ApiQuery<TrendingQuery>,
) -> ApiResult<ApiSuccess<Vec<TrendingView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let mut errors = ValidationErrors::new();
    let window = match &query.window {
        Some(raw) => errors.check("window", Window::parse(raw)),
        None => Some(Window::Day),
    };
    let kind = match &query.kind {
        Some(raw) => errors.check("kind", TrendKind::parse(raw)),
        None => Some(TrendKind::Posts),
    };
    let offset: i64 = match &cursor {
        Some(cursor) => errors.check("cursor", cursor.decode()).unwrap_or(0),
        None => 0,
    };
    errors.into_result()?;
    let (window, kind) = (window.expect("checked"), kind.expect("checked"));
    let mut items = state
        .trending
        .list(window, kind, offset, limit.probe())
        .await?;
    let has_more = items.len() as i64 > i64::from(limit.get());
    items.truncate(limit.get() as usize);
    let last_rank = offset + items.len() as i64;
    let ids: Vec<Option<PostId>> = items.iter().map(|item| item.id.parse().ok()).collect();
    let mut views: Vec<TrendingView> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| TrendingView {
            rank: offset + i as i64 + 1,
            score: item.score,
            engagers: item.engagers,
            posts: item.posts,
            post: None,
            topic: (kind == TrendKind::Topics).then_some(item.id),
        })
        .collect();
    if kind == TrendKind::Posts {
        // The posts in one statement; those the viewer may not see (or deleted since) drop out.
        let wanted: Vec<PostId> = ids.iter().flatten().copied().collect();
        let mut posts = state.posts.many(viewer.as_ref(), &wanted).await?;
        views = views
            .into_iter()
            .zip(ids)
            .filter_map(|(mut view, id)| {
                let at = posts.iter().position(|p| Some(p.id) == id)?;
                view.post = Some(posts.swap_remove(at).into());
                Some(view)
            })
            .collect();
    }
    let page = Page {
        items: views,
        next_cursor: has_more.then(|| Cursor::encode(&last_rank)),
    };
    Ok(ApiSuccess::page(page, |v| v))
}
