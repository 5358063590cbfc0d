//! A mentorship session's later life: moved to other times or cancelled by either party, its
//! calendar events (one per party, see `vendrome_core::calendar::managed`) following it.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_core::ids::{MentorshipId, MentorshipSessionId};

use super::mentorship::mentorship_id;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

/// A session's new times.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleSessionRequest {
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`, within a day of it.
    pub ends_at: DateTime<Utc>,
}

/// A session after the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionChangeView {
    pub mentorship_id: MentorshipId,
    pub session_id: MentorshipSessionId,
    /// `true` once cancelled.
    pub cancelled: bool,
}

fn session_id(raw: &str) -> Result<MentorshipSessionId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("session"))
}

/// Move a session of an active mentorship to other times (either party); both parties'
/// calendar events move with it.
#[utoipa::path(patch, path = "/v1/mentorships/{id}/sessions/{session_id}", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship."),
        ("session_id" = MentorshipSessionId, Path, description = "The session.")),
    request_body = RescheduleSessionRequest,
    responses(
        (status = 200, description = "Moved.", body = Envelope<SessionChangeView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to, or no such standing session of it.", body = ErrorEnvelope),
        (status = 409, description = "`mentorship_not_active`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`ends_at`: `invalid_range`).", body = ErrorEnvelope),
    ))]
pub async fn reschedule_session(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, session)): Path<(String, String)>,
    ApiJson(body): ApiJson<RescheduleSessionRequest>,
) -> ApiResult<ApiSuccess<SessionChangeView>> {
    let (id, session) = (mentorship_id(&id)?, session_id(&session)?);
    state
        .mentorship
        .reschedule_session(
            &auth.caller,
            id,
            session,
            body.starts_at,
            body.ends_at,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::ok(SessionChangeView {
        mentorship_id: id,
        session_id: session,
        cancelled: false,
    }))
}

/// Cancel a session (either party, whatever the mentorship's status); both parties' calendar
/// events are cancelled with it.
#[utoipa::path(delete, path = "/v1/mentorships/{id}/sessions/{session_id}", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship."),
        ("session_id" = MentorshipSessionId, Path, description = "The session.")),
    responses(
        (status = 200, description = "Cancelled.", body = Envelope<SessionChangeView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to, or no such standing session of it.", body = ErrorEnvelope),
    ))]
pub async fn cancel_session(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, session)): Path<(String, String)>,
) -> ApiResult<ApiSuccess<SessionChangeView>> {
    let (id, session) = (mentorship_id(&id)?, session_id(&session)?);
    state
        .mentorship
        .cancel_session(&auth.caller, id, session, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::ok(SessionChangeView {
        mentorship_id: id,
        session_id: session,
        cancelled: true,
    }))
}
