//! Business profiles: one member's profile (by id or handle), the caller's changes to their own,
//! and the directory.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{LookingFor, VerificationLevel};
use vendrome_core::page::Page;
use vendrome_core::profiles::{
    DirectoryEntry, DirectoryFilter, DirectorySort, Profile, ProfileCard, ProfileChanges,
    RawProfileChanges, Skill,
};
use vendrome_core::search::{Found, SearchFilters, SearchKind, SearchRequest};
use vendrome_core::validation::ValidationErrors;

use super::graph::UserSummaryView;
use super::page::PageQuery;
use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::{nullable, ApiJson, ApiQuery};
use crate::state::AppState;

/// How much of a profile is filled in.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletenessView {
    /// 0 to 100; every field counts the same.
    pub percent: u8,
    /// The fields still empty.
    pub missing: Vec<&'static str>,
}

/// A member's card, wherever members are listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileCardView {
    pub user: UserSummaryView,
    pub headline: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub industry: Option<String>,
    pub country_code: Option<String>,
    pub city: Option<String>,
    pub connections: i64,
    pub joined_at: DateTime<Utc>,
}

impl From<ProfileCard> for ProfileCardView {
    fn from(c: ProfileCard) -> Self {
        Self {
            user: c.user.into(),
            headline: c.headline,
            company: c.company,
            job_title: c.job_title,
            industry: c.industry,
            country_code: c.country_code,
            city: c.city,
            connections: c.connections,
            joined_at: c.joined_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    #[serde(flatten)]
    pub card: ProfileCardView,
    pub website_url: Option<String>,
    pub about: Option<String>,
    pub cover_url: Option<String>,
    pub skills: Vec<String>,
    pub looking_for: Vec<LookingFor>,
    pub followers: i64,
    pub following: i64,
    pub completeness: CompletenessView,
}

impl From<Profile> for ProfileView {
    fn from(p: Profile) -> Self {
        let completeness = p.completeness();
        Self {
            card: p.card.into(),
            website_url: p.website_url,
            about: p.about,
            cover_url: p.cover_url,
            skills: p.skills,
            looking_for: p.looking_for,
            followers: p.followers,
            following: p.following,
            completeness: CompletenessView {
                percent: completeness.percent,
                missing: completeness.missing,
            },
        }
    }
}

/// Changes to the caller's profile: a field left out is kept, `null` or `""` clears it.
/// (Name, handle, headline and avatar are changed with `PATCH /v1/me`.)
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// At most 200 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    /// The member's role at the company; at most 100 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub job_title: Option<Option<String>>,
    /// A slug such as `agritech` (letters, digits, hyphens).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    /// ISO 3166-1 alpha-2, such as `KE`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub website_url: Option<Option<String>>,
    /// At most 2,000 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub about: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub cover_url: Option<Option<String>>,
    /// Replaces the skills: at most 30, each 1 to 50 characters (stored lower case).
    #[schema(max_items = 30)]
    pub skills: Option<Vec<String>>,
    /// Replaces what the member is looking for (each value once).
    #[schema(max_items = 7)]
    pub looking_for: Option<Vec<LookingFor>>,
}

/// The directory's filters and order.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
    /// An industry slug.
    pub industry: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Any case.
    pub city: Option<String>,
    pub skill: Option<String>,
    /// This level or higher.
    pub verification: Option<VerificationLevel>,
    pub looking_for: Option<LookingFor>,
    /// Words to look for in names, headlines, companies, roles, places, skills and about
    /// texts (as `GET /v1/search?kind=profiles` matches them); the order is then relevance.
    pub q: Option<String>,
    /// `newest` (the default), `connected` (most connections first) or `relevance` (the default
    /// with `q`, and only with it).
    pub sort: Option<String>,
}

/// A member in the directory, with how they relate to the viewer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryEntryView {
    #[serde(flatten)]
    pub card: ProfileCardView,
    /// `self`, `connected`, `request_sent`, `request_received` or `none` (always `none` for an
    /// anonymous viewer).
    pub connection: &'static str,
}

impl From<DirectoryEntry> for DirectoryEntryView {
    fn from(e: DirectoryEntry) -> Self {
        Self {
            card: e.card.into(),
            connection: e.relation.as_str(),
        }
    }
}

/// A member's profile, by id or by handle.
#[utoipa::path(get, path = "/v1/profiles/{id_or_handle}", tag = "profiles",
    params(("id_or_handle" = String, Path, description = "A member id, or a handle (`@` optional).")),
    responses(
        (status = 200, description = "The profile, with how complete it is.", body = Envelope<ProfileView>),
        (status = 404, description = "No such member (or disabled).", body = ErrorEnvelope),
    ))]
pub async fn get_profile(
    State(state): State<AppState>,
    Path(id_or_handle): Path<String>,
) -> ApiResult<ApiSuccess<ProfileView>> {
    let profile = state.profiles.find(&id_or_handle).await?;
    Ok(ApiSuccess::ok(profile.into()))
}

/// Change the caller's business profile.
#[utoipa::path(patch, path = "/v1/me/profile", tag = "profiles", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, description = "The profile now.", body = Envelope<ProfileView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`, every broken field named.", body = ErrorEnvelope),
    ))]
pub async fn update_profile(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<UpdateProfileRequest>,
) -> ApiResult<ApiSuccess<ProfileView>> {
    let changes = ProfileChanges::parse(RawProfileChanges {
        company: body.company,
        job_title: body.job_title,
        industry: body.industry,
        country_code: body.country_code,
        city: body.city,
        website_url: body.website_url,
        about: body.about,
        cover_url: body.cover_url,
        skills: body.skills,
        looking_for: body.looking_for,
    })?;
    let profile = state.profiles.update_own(&auth.caller, changes).await?;
    state.audience_changed(auth.caller.user_id);
    Ok(ApiSuccess::ok(profile.into()))
}

/// The directory of members: filter by industry, place, skill, verification and wants; newest
/// or most connected first, or — with `q` — most relevant first.
#[utoipa::path(get, path = "/v1/profiles", tag = "profiles",
    params(DirectoryQuery),
    responses(
        (status = 200, description = "A page of members.", body = Envelope<Vec<DirectoryEntryView>>),
        (status = 401, description = "A token was sent and is not valid.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor, sort, skill, q).", body = ErrorEnvelope),
        (status = 503, description = "With `q`: `search_unavailable` or `search_timeout`, as `GET /v1/search` answers.", body = ErrorEnvelope),
    ))]
pub async fn directory(
    State(state): State<AppState>,
    MaybeAuthenticated(viewer): MaybeAuthenticated,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> ApiResult<ApiSuccess<Vec<DirectoryEntryView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let mut errors = ValidationErrors::new();
    let by_relevance = query.q.is_some() || query.sort.as_deref() == Some("relevance");
    let sort = match &query.sort {
        _ if by_relevance => {
            if query.sort.as_deref().is_some_and(|s| s != "relevance") {
                errors.add(
                    "sort",
                    "invalid_value",
                    "a search (`q`) is ordered by relevance",
                );
            }
            None
        }
        Some(raw) => errors.check("sort", DirectorySort::parse(raw)),
        None => Some(DirectorySort::default()),
    };
    let (q, offset) = if by_relevance {
        crate::routes::search::parse_words(query.q.as_deref(), cursor.as_ref(), &mut errors)
    } else {
        (String::new(), 0)
    };
    let skill = match &query.skill {
        Some(raw) => errors.check("skill", Skill::parse(raw)),
        None => None,
    };
    errors.into_result()?;
    if by_relevance {
        let filters = SearchFilters {
            industry: query.industry.map(|i| i.trim().to_lowercase()),
            country_code: query.country.map(|c| c.trim().to_uppercase()),
            city: query.city.map(|c| c.trim().to_lowercase()),
            skill: skill.map(|s| s.as_str().to_owned()),
            looking_for: query.looking_for,
            min_verification: query.verification,
            ..SearchFilters::default()
        };
        let request = SearchRequest {
            q,
            kind: SearchKind::Profiles,
            filters,
            offset,
            limit,
        };
        let page = state.search.search(viewer.as_ref(), request).await?;
        let page = Page {
            items: page
                .items
                .into_iter()
                .filter_map(|result| match result.found {
                    Found::Profile(entry) => Some(DirectoryEntryView::from(*entry)),
                    _ => None,
                })
                .collect(),
            next_cursor: page.next_cursor,
        };
        return Ok(ApiSuccess::page(page, |entry| entry));
    }
    let filter = DirectoryFilter {
        industry: query.industry.map(|i| i.trim().to_lowercase()),
        country_code: query.country.map(|c| c.trim().to_uppercase()),
        city: query.city.map(|c| c.trim().to_owned()),
        skill,
        min_verification: query.verification,
        looking_for: query.looking_for,
        only: None,
        sort: sort.unwrap_or_default(),
    };
    let page = state
        .profiles
        .directory(viewer.as_ref(), &filter, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, DirectoryEntryView::from))
}
