//! The social graph: connection requests and their answers, follows, and "people you may know".
//! Topics are in `topics.rs`.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{ConnectionStatus, VerificationLevel};
use vendrome_core::graph::{
    Connection, ConnectionAction, ConnectionEntry, ConnectionFilter, ConnectionNote, Direction,
    FollowEntry, GraphCounts, Suggestion, UserSummary,
};
use vendrome_core::ids::{ConnectionId, UserId};
use vendrome_core::validation::ValidationErrors;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::page::PageQuery;
use crate::state::AppState;

/// How a member appears in graph lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummaryView {
    pub id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub verification_level: VerificationLevel,
}

impl From<UserSummary> for UserSummaryView {
    fn from(u: UserSummary) -> Self {
        Self {
            id: u.id,
            display_name: u.display_name,
            handle: u.handle,
            avatar_url: u.avatar_url,
            verification_level: u.verification_level,
        }
    }
}

/// A connection request and its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub id: ConnectionId,
    pub requester_id: UserId,
    pub addressee_id: UserId,
    pub status: ConnectionStatus,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

impl From<Connection> for ConnectionView {
    fn from(c: Connection) -> Self {
        Self {
            id: c.id,
            requester_id: c.requester_id,
            addressee_id: c.addressee_id,
            status: c.status,
            note: c.note,
            created_at: c.created_at,
            updated_at: c.updated_at,
            responded_at: c.responded_at,
        }
    }
}

/// One of the caller's connections, with the other party.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionEntryView {
    #[serde(flatten)]
    pub connection: ConnectionView,
    /// `incoming` when the other party sent the request.
    pub direction: DirectionParam,
    pub user: UserSummaryView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// The member to connect with.
    pub user_id: String,
    /// At most 300 characters.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusParam {
    Pending,
    Accepted,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectionParam {
    Incoming,
    Outgoing,
}

/// Which connections to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionsQuery {
    /// `accepted` when absent.
    #[param(inline)]
    pub status: Option<StatusParam>,
    /// Both when absent.
    #[param(inline)]
    pub direction: Option<DirectionParam>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

/// A member's graph counters after a follow change.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowView {
    pub user_id: UserId,
    pub following: bool,
    pub follower_count: i64,
    pub following_count: i64,
    pub connection_count: i64,
}

impl FollowView {
    fn new(user_id: UserId, following: bool, counts: GraphCounts) -> Self {
        Self {
            user_id,
            following,
            follower_count: counts.followers,
            following_count: counts.following,
            connection_count: counts.connections,
        }
    }
}

/// A follower or followee.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowEntryView {
    pub user: UserSummaryView,
    pub since: DateTime<Utc>,
}

impl From<FollowEntry> for FollowEntryView {
    fn from(e: FollowEntry) -> Self {
        Self {
            user: e.user.into(),
            since: e.since,
        }
    }
}

/// A person the caller may know.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    pub user: UserSummaryView,
    pub mutual_connections: i64,
    pub shared_topics: i64,
}

impl From<Suggestion> for SuggestionView {
    fn from(s: Suggestion) -> Self {
        Self {
            user: s.user.into(),
            mutual_connections: s.mutual_connections,
            shared_topics: s.shared_topics,
        }
    }
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("user"))
}

fn connection_id(raw: &str) -> Result<ConnectionId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("connection"))
}

/// Ask a member to connect. A pending request from them is accepted instead (200).
#[utoipa::path(post, path = "/v1/connections", tag = "graph", security(("bearer" = [])),
    request_body = ConnectRequest,
    responses(
        (status = 201, description = "Requested.", body = Envelope<ConnectionView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 200, description = "Their pending request to you was accepted.", body = Envelope<ConnectionView>),
        (status = 403, description = "`blocked`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 409, description = "`connection_exists`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (note too long, oneself).", body = ErrorEnvelope),
    ))]
pub async fn request_connection(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ConnectRequest>,
) -> ApiResult<ApiSuccess<ConnectionView>> {
    let mut errors = ValidationErrors::new();
    let note = match body.note.as_deref() {
        Some(raw) => errors.check("note", ConnectionNote::parse(raw)).flatten(),
        None => None,
    };
    errors.into_result()?;
    let to = user_id(&body.user_id)?;
    let outcome = state.graph.request(&auth.caller, to, note).await?;
    let view = ConnectionView::from(outcome.connection);
    Ok(if outcome.created {
        ApiSuccess::created(view)
    } else {
        ApiSuccess::ok(view)
    })
}

async fn act(
    state: AppState,
    auth: Authenticated,
    id: String,
    action: ConnectionAction,
) -> ApiResult<ApiSuccess<ConnectionView>> {
    let connection = state
        .graph
        .act(&auth.caller, connection_id(&id)?, action)
        .await?;
    Ok(ApiSuccess::ok(connection.into()))
}

/// Accept a request (the addressee).
#[utoipa::path(post, path = "/v1/connections/{id}/accept", tag = "graph", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection's id.")),
    responses(
        (status = 200, description = "Accepted.", body = Envelope<ConnectionView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such connection of yours.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_transition`.", body = ErrorEnvelope),
    ))]
pub async fn accept_connection(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<ConnectionView>> {
    act(state, auth, id, ConnectionAction::Accept).await
}

/// Decline a request (the addressee).
#[utoipa::path(post, path = "/v1/connections/{id}/decline", tag = "graph", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection's id.")),
    responses(
        (status = 200, description = "Declined.", body = Envelope<ConnectionView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such connection of yours.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_transition`.", body = ErrorEnvelope),
    ))]
pub async fn decline_connection(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<ConnectionView>> {
    act(state, auth, id, ConnectionAction::Decline).await
}

/// Withdraw a request (the requester).
#[utoipa::path(post, path = "/v1/connections/{id}/withdraw", tag = "graph", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection's id.")),
    responses(
        (status = 200, description = "Withdrawn.", body = Envelope<ConnectionView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such connection of yours.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_transition`.", body = ErrorEnvelope),
    ))]
pub async fn withdraw_connection(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<ConnectionView>> {
    act(state, auth, id, ConnectionAction::Withdraw).await
}

/// Remove an accepted connection (either side).
#[utoipa::path(delete, path = "/v1/connections/{id}", tag = "graph", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection's id.")),
    responses(
        (status = 200, description = "Removed.", body = Envelope<ConnectionView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such connection of yours.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_transition`.", body = ErrorEnvelope),
    ))]
pub async fn remove_connection(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<ConnectionView>> {
    act(state, auth, id, ConnectionAction::Remove).await
}

/// The caller's connections or pending requests, newest first.
#[utoipa::path(get, path = "/v1/me/connections", tag = "graph", security(("bearer" = [])),
    params(ConnectionsQuery),
    responses(
        (status = 200, description = "A page of connections.", body = Envelope<Vec<ConnectionEntryView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (status, direction, limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn my_connections(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<ConnectionsQuery>,
) -> ApiResult<ApiSuccess<Vec<ConnectionEntryView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let filter = ConnectionFilter {
        status: match query.status {
            Some(StatusParam::Pending) => ConnectionStatus::Pending,
            Some(StatusParam::Accepted) | None => ConnectionStatus::Accepted,
        },
        direction: query.direction.map(|d| match d {
            DirectionParam::Incoming => Direction::Incoming,
            DirectionParam::Outgoing => Direction::Outgoing,
        }),
    };
    let me = auth.caller.user_id;
    let page = state
        .graph
        .my_connections(&auth.caller, filter, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, |e: ConnectionEntry| {
        ConnectionEntryView {
            direction: if e.connection.requester_id == me {
                DirectionParam::Outgoing
            } else {
                DirectionParam::Incoming
            },
            connection: e.connection.into(),
            user: e.other.into(),
        }
    }))
}

/// Follow a member (idempotent).
#[utoipa::path(put, path = "/v1/users/{id}/follow", tag = "graph", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member to follow.")),
    responses(
        (status = 200, description = "Following; the member's counters.", body = Envelope<FollowView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (oneself).", body = ErrorEnvelope),
    ))]
pub async fn follow(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<FollowView>> {
    let whom = user_id(&id)?;
    let counts = state.graph.follow(&auth.caller, whom).await?;
    Ok(ApiSuccess::ok(FollowView::new(whom, true, counts)))
}

/// Stop following a member (idempotent).
#[utoipa::path(delete, path = "/v1/users/{id}/follow", tag = "graph", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member to unfollow.")),
    responses(
        (status = 200, description = "Not following; the member's counters.", body = Envelope<FollowView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (oneself).", body = ErrorEnvelope),
    ))]
pub async fn unfollow(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<FollowView>> {
    let whom = user_id(&id)?;
    let counts = state.graph.unfollow(&auth.caller, whom).await?;
    Ok(ApiSuccess::ok(FollowView::new(whom, false, counts)))
}

/// Who follows a member, newest first.
#[utoipa::path(get, path = "/v1/users/{id}/followers", tag = "graph",
    params(("id" = UserId, Path, description = "The member."), PageQuery),
    responses(
        (status = 200, description = "A page of followers.", body = Envelope<Vec<FollowEntryView>>),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn followers(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<FollowEntryView>>> {
    let user = user_id(&id)?;
    let (cursor, limit) = query.parse()?;
    let page = state.graph.followers(user, cursor.as_ref(), limit).await?;
    Ok(ApiSuccess::page(page, FollowEntryView::from))
}

/// Whom a member follows, newest first.
#[utoipa::path(get, path = "/v1/users/{id}/following", tag = "graph",
    params(("id" = UserId, Path, description = "The member."), PageQuery),
    responses(
        (status = 200, description = "A page of followees.", body = Envelope<Vec<FollowEntryView>>),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn following(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<FollowEntryView>>> {
    let user = user_id(&id)?;
    let (cursor, limit) = query.parse()?;
    let page = state.graph.following(user, cursor.as_ref(), limit).await?;
    Ok(ApiSuccess::page(page, FollowEntryView::from))
}

/// People the caller may know: second-degree connections (by mutual connections) and members
/// sharing followed topics.
#[utoipa::path(get, path = "/v1/me/suggestions", tag = "graph", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of suggestions, best first.", body = Envelope<Vec<SuggestionView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (limit, cursor).", body = ErrorEnvelope),
    ))]
pub async fn suggestions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<SuggestionView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state
        .graph
        .suggestions(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, SuggestionView::from))
}
