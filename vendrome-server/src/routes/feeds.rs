//! Feeds: the home feed, a member's posts, a topic's posts and the typed listings. Every one is
//! newest first with cursor pagination, and shows only what the caller may see.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{InvestmentInstrument, InvestmentStage, MentorshipFormat, PostType};
use vendrome_core::ids::UserId;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::posts::feed::{Feed, FeedItem};
use vendrome_core::posts::listing::{ListingFilter, ListingQuery};

use super::page::PageQuery;
use super::posts::{AuthorView, PostView};
use super::topics::slug;
use super::users::user_id;
use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Why a post is in a feed when it is not there on its own: someone the caller follows or is
/// connected to reposted it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepostView {
    pub by: AuthorView,
    /// What the reposter said about the post, if anything.
    pub quote: Option<String>,
}

/// One item of a feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItemView {
    pub post: PostView,
    /// Set when the item is a repost; the post itself is `post`.
    pub repost: Option<RepostView>,
    /// Set on a home feed's sponsored item (at most one per page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sponsored: Option<SponsoredView>,
}

/// The campaign that promotes a sponsored feed item.
#[derive(Debug, Serialize, ToSchema)]
pub struct SponsoredView {
    pub campaign_id: vendrome_core::ids::CampaignId,
}

impl From<FeedItem> for FeedItemView {
    fn from(item: FeedItem) -> Self {
        Self {
            post: item.post.into(),
            repost: item.repost.map(|r| RepostView {
                by: r.by.into(),
                quote: r.quote,
            }),
            sponsored: item
                .sponsored
                .map(|campaign_id| SponsoredView { campaign_id }),
        }
    }
}

/// The typed listings' filters. Each filter other than `type` applies only to the types that
/// have it; any other combination is a 422 naming the filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingParams {
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
    /// Only posts of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub post_type: Option<PostType>,
    /// ISO 4217 code (every type but `text`).
    pub currency: Option<String>,
    /// Inclusive bounds in minor units on the type's amount: price, rate, goal, ticket range
    /// (overlapping), amount sought, budget.
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    /// `product`, `service`.
    pub category: Option<String>,
    /// `service`.
    pub remote: Option<bool>,
    /// `investment_offer`, `investment_request`.
    pub stage: Option<InvestmentStage>,
    /// `crowdfunding`, `investment_offer`, `investment_request`.
    pub instrument: Option<InvestmentInstrument>,
    /// `mentorship_request`.
    pub format: Option<MentorshipFormat>,
}

async fn feed_page(
    state: &AppState,
    caller: Option<&vendrome_core::access::Caller>,
    feed: Feed,
    (cursor, limit): (Option<Cursor>, Limit),
) -> ApiResult<Page<FeedItem>> {
    Ok(state
        .feeds
        .page(caller, &feed, cursor.as_ref(), limit)
        .await?)
}

/// The caller's home feed: their own posts and those of the people they follow or are connected
/// to, the posts of the topics they follow, and those people's reposts; each post at most once
/// per page.
#[utoipa::path(get, path = "/v1/feed", tag = "feeds", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the feed, newest first.", body = Envelope<Vec<FeedItemView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn home(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<FeedItemView>>> {
    let feed = Feed::Home(auth.caller.user_id);
    let page = feed_page(&state, Some(&auth.caller), feed, query.parse()?).await?;
    Ok(ApiSuccess::page(page, FeedItemView::from))
}

/// A member's posts that the caller may see, newest first.
#[utoipa::path(get, path = "/v1/users/{id}/posts", tag = "feeds",
    params(("id" = UserId, Path, description = "The member."), PageQuery),
    responses(
        (status = 200, description = "A page of posts.", body = Envelope<Vec<FeedItemView>>),
        (status = 401, description = "A token was sent and is not valid, has expired or its session ended (`token_invalid`, `token_expired`, `session_revoked`); without a token the answer is an anonymous reader's.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn user_posts(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<FeedItemView>>> {
    let feed = Feed::Author(user_id(&id)?);
    let page = feed_page(&state, caller.as_ref(), feed, query.parse()?).await?;
    Ok(ApiSuccess::page(page, FeedItemView::from))
}

/// A topic's posts that the caller may see, newest first.
#[utoipa::path(get, path = "/v1/topics/{slug}/posts", tag = "feeds",
    params(("slug" = String, Path, description = "The topic's slug."), PageQuery),
    responses(
        (status = 200, description = "A page of posts.", body = Envelope<Vec<FeedItemView>>),
        (status = 401, description = "A token was sent and is not valid, has expired or its session ended (`token_invalid`, `token_expired`, `session_revoked`); without a token the answer is an anonymous reader's.", body = ErrorEnvelope),
        (status = 404, description = "No such topic.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn topic_posts(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(raw): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<FeedItemView>>> {
    let feed = Feed::Topic(slug(&raw)?);
    let page = feed_page(&state, caller.as_ref(), feed, query.parse()?).await?;
    Ok(ApiSuccess::page(page, FeedItemView::from))
}

/// Posts by type, newest first: the marketplace (`product`, `service`), crowdfunding,
/// investment offers and requests, and mentorship requests, with each type's filters.
#[utoipa::path(get, path = "/v1/posts", tag = "feeds",
    params(ListingParams),
    responses(
        (status = 200, description = "A page of posts.", body = Envelope<Vec<FeedItemView>>),
        (status = 401, description = "A token was sent and is not valid, has expired or its session ended (`token_invalid`, `token_expired`, `session_revoked`); without a token the answer is an anonymous reader's.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor, or a filter the type does not have (`not_applicable`).", body = ErrorEnvelope),
    ))]
pub async fn listing(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    ApiQuery(params): ApiQuery<ListingParams>,
) -> ApiResult<ApiSuccess<Vec<FeedItemView>>> {
    let page_query = PageQuery {
        limit: params.limit,
        cursor: params.cursor.clone(),
    };
    let filter = ListingFilter::parse(ListingQuery {
        post_type: params.post_type,
        currency: params.currency,
        min_amount: params.min_amount,
        max_amount: params.max_amount,
        category: params.category,
        remote: params.remote,
        stage: params.stage,
        instrument: params.instrument,
        format: params.format,
    })
    .map_err(vendrome_core::Error::from)?;
    let feed = Feed::Listing(filter);
    let page = feed_page(&state, caller.as_ref(), feed, page_query.parse()?).await?;
    Ok(ApiSuccess::page(page, FeedItemView::from))
}
