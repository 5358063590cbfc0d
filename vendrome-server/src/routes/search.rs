//! `GET /v1/search`: profiles, posts and topics by words, with typo tolerance, prefixes,
//! filters and highlighted snippets.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{LookingFor, PostType, VerificationLevel};
use vendrome_core::page::{Cursor, Limit};
use vendrome_core::search::highlight::Highlight;
use vendrome_core::search::{Found, SearchFilters, SearchKind, SearchRequest, SearchResult};
use vendrome_core::validation::ValidationErrors;

use super::page::{one_of, PageQuery};
use super::posts::PostView;
use super::profiles::DirectoryEntryView;
use super::topics::TopicView;
use crate::auth::MaybeAuthenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// The longest query accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words to look for (1 to 200 characters). Every word must match; the last one also
    /// matches as the start of a word unless the query ends with a space.
    #[param(required = true, min_length = 1, max_length = 200)]
    pub q: Option<String>,
    #[param(schema_with = kinds)]
    pub kind: Option<String>,
    /// Posts: only this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub post_type: Option<PostType>,
    /// Posts: only those tagged with this topic slug.
    pub topic: Option<String>,
    /// Profiles: an industry slug.
    pub industry: Option<String>,
    /// Profiles: ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Profiles: a city, any case.
    pub city: Option<String>,
    /// Profiles: a skill, any case.
    pub skill: Option<String>,
    /// Profiles: what they are looking for.
    pub looking_for: Option<LookingFor>,
    /// This verification level or higher (a profile's, or a post author's).
    pub verification: Option<VerificationLevel>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn kinds() -> utoipa::openapi::Object {
    one_of(
        "`posts` (the default), `profiles` or `topics`.",
        [SearchKind::Posts, SearchKind::Profiles, SearchKind::Topics].map(SearchKind::as_str),
    )
}

/// A stretch of a snippet; matched words have `hit` set.
#[derive(Debug, Serialize, ToSchema)]
pub struct FragmentView {
    pub text: String,
    pub hit: bool,
}

/// Where a result matched, as a snippet to show.
#[derive(Debug, Serialize, ToSchema)]
pub struct HighlightView {
    /// The field of the result the snippet comes from (`body`, `display_name`, `headline`,
    /// `name`, …).
    pub field: &'static str,
    /// The snippet in order; joined, the fragments give the text (with `…` where cut).
    pub fragments: Vec<FragmentView>,
}

impl From<Highlight> for HighlightView {
    fn from(h: Highlight) -> Self {
        Self {
            field: h.field,
            fragments: h
                .fragments
                .into_iter()
                .map(|f| FragmentView {
                    text: f.text,
                    hit: f.hit,
                })
                .collect(),
        }
    }
}

/// One result: exactly one of `post`, `profile` and `topic` is set, as `kind` says.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultView {
    /// `post`, `profile` or `topic`.
    pub kind: &'static str,
    /// Relevance (text match × engagement × recency); higher is better, comparable within one
    /// response only.
    pub score: f32,
    /// Absent when the match came from a synonym only.
    pub highlight: Option<HighlightView>,
    pub post: Option<PostView>,
    pub profile: Option<DirectoryEntryView>,
    pub topic: Option<TopicView>,
}

impl From<SearchResult> for SearchResultView {
    fn from(result: SearchResult) -> Self {
        let mut view = Self {
            kind: "post",
            score: result.score,
            highlight: result.highlight.map(Into::into),
            post: None,
            profile: None,
            topic: None,
        };
        match result.found {
            Found::Post(post) => view.post = Some((*post).into()),
            Found::Profile(entry) => {
                view.kind = "profile";
                view.profile = Some((*entry).into());
            }
            Found::Topic(topic) => {
                view.kind = "topic";
                view.topic = Some(topic.into());
            }
        }
        view
    }
}

/// The query and filters, checked.
pub struct ParsedSearch {
    pub q: String,
    pub filters: SearchFilters,
    pub offset: u32,
    pub limit: Limit,
}

/// Checks the words and the cursor of a search (shared with the directory's relevance order).
pub fn parse_words(
    q: Option<&str>,
    cursor: Option<&Cursor>,
    errors: &mut ValidationErrors,
) -> (String, u32) {
    // A trailing space is meaningful: the last word is then whole, not a prefix.
    let q = q.unwrap_or_default().trim_start().to_owned();
    if q.trim_end().is_empty() {
        errors.add("q", "required", "must name something to search for");
    } else if q.chars().count() > MAX_QUERY_CHARS {
        errors.add(
            "q",
            "too_long",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        );
    }
    let offset = match cursor {
        Some(cursor) => errors.check("cursor", cursor.decode()).unwrap_or(0),
        None => 0,
    };
    (q, offset)
}

/// Search profiles, posts or topics. Results are read as every other endpoint shows them, so a
/// post the viewer may not see, a deleted post or a disabled member never appears.
#[utoipa::path(get, path = "/v1/search", tag = "search",
    params(SearchParams),
    responses(
        (status = 200, description = "A page of results, best first; `meta.next_cursor` while more remain (up to rank 1,000).", body = Envelope<Vec<SearchResultView>>),
        (status = 401, description = "A token was sent and is not valid.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (q, kind, limit, cursor, filters).", body = ErrorEnvelope),
        (status = 503, description = "`search_unavailable`: the embedded index is still being built (at a server's first start); `search_timeout`: on the PostgreSQL full-text path, the query ran past 5 s (add words or filters).", body = ErrorEnvelope),
    ))]
pub async fn search(
    State(state): State<AppState>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<ApiSuccess<Vec<SearchResultView>>> {
    let (cursor, limit) = PageQuery {
        limit: params.limit,
        cursor: params.cursor.clone(),
    }
    .parse()?;
    let mut errors = ValidationErrors::new();
    let kind = match &params.kind {
        Some(raw) => errors.check("kind", SearchKind::parse(raw)),
        None => Some(SearchKind::Posts),
    };
    let (q, offset) = parse_words(params.q.as_deref(), cursor.as_ref(), &mut errors);
    errors.into_result()?;
    let filters = SearchFilters {
        post_type: params.post_type,
        topic: params
            .topic
            .map(|t| t.trim().trim_start_matches('#').to_lowercase()),
        industry: params.industry.map(|i| i.trim().to_lowercase()),
        country_code: params.country.map(|c| c.trim().to_uppercase()),
        city: params.city.map(|c| c.trim().to_lowercase()),
        skill: params.skill.map(|s| s.trim().to_lowercase()),
        looking_for: params.looking_for,
        min_verification: params.verification,
    };
    let page = state
        .search
        .search(
            viewer.as_ref(),
            SearchRequest {
                q,
                kind: kind.expect("checked"),
                filters,
                offset,
                limit,
            },
        )
        .await?;
    Ok(ApiSuccess::page(page, SearchResultView::from))
}
