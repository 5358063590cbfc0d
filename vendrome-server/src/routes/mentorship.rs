//! Mentorships: direct requests and offers on mentorship-request posts, the moves of the status
//! machine, goals, sessions, private notes, feedback at completion, and the directory of
//! mentors; see `vendrome_core::mentorship`.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{MentorshipFormat, MentorshipStatus};
use vendrome_core::ids::{
    MentorshipGoalId, MentorshipId, MentorshipNoteId, MentorshipSessionId, PostId, UserId,
};
use vendrome_core::mentorship::{
    Feedback, Goal, MentorCard, MentorFilter, Mentorship, MentorshipAction, MentorshipDetail,
    MentorshipRole, NewSession, Note, RequestMentorship, Session,
};

use super::page::PageQuery;
use super::posts::post_id;
use super::reviews::RatingView;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// A mentorship between a mentor and a mentee.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipView {
    pub id: MentorshipId,
    pub mentor: UserId,
    pub mentee: UserId,
    /// Who asked: the mentee (a direct request) or the mentor (an offer on a request post).
    pub requested_by: UserId,
    /// The mentorship-request post an offer answered.
    pub request_post_id: Option<PostId>,
    pub status: MentorshipStatus,
    pub format: MentorshipFormat,
    /// What the asker wrote about the goals.
    pub goals_summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<Mentorship> for MentorshipView {
    fn from(m: Mentorship) -> Self {
        Self {
            id: m.id,
            mentor: m.mentor_id,
            mentee: m.mentee_id,
            requested_by: m.requested_by,
            request_post_id: m.request_post_id,
            status: m.status,
            format: m.format,
            goals_summary: m.goals,
            created_at: m.created_at,
            updated_at: m.updated_at,
            started_at: m.started_at,
            ended_at: m.ended_at,
        }
    }
}

/// A goal of a mentorship.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipGoalView {
    pub id: MentorshipGoalId,
    pub title: String,
    pub added_by: UserId,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Goal> for MentorshipGoalView {
    fn from(g: Goal) -> Self {
        Self {
            id: g.id,
            title: g.title,
            added_by: g.added_by,
            created_at: g.created_at,
            completed_at: g.completed_at,
        }
    }
}

/// A scheduled session.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipSessionView {
    pub id: MentorshipSessionId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub topic: Option<String>,
    pub scheduled_by: UserId,
    pub created_at: DateTime<Utc>,
    /// When either party cancelled it; null while it stands.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<Session> for MentorshipSessionView {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            topic: s.topic,
            scheduled_by: s.scheduled_by,
            created_at: s.created_at,
            cancelled_at: s.cancelled_at,
        }
    }
}

/// A private note: only its writer ever sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipNoteView {
    pub id: MentorshipNoteId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<Note> for MentorshipNoteView {
    fn from(n: Note) -> Self {
        Self {
            id: n.id,
            body: n.body,
            created_at: n.created_at,
        }
    }
}

/// One party's feedback at completion.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipFeedbackView {
    pub author: UserId,
    pub rating: u8,
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Feedback> for MentorshipFeedbackView {
    fn from(f: Feedback) -> Self {
        Self {
            author: f.author_id,
            rating: f.rating.get(),
            body: f.body,
            created_at: f.created_at,
        }
    }
}

/// A mentorship with what it carries, as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipDetailView {
    #[serde(flatten)]
    pub mentorship: MentorshipView,
    pub goal_items: Vec<MentorshipGoalView>,
    pub sessions: Vec<MentorshipSessionView>,
    /// The caller's own notes (the other party's are never shown).
    pub my_notes: Vec<MentorshipNoteView>,
    pub feedback: Vec<MentorshipFeedbackView>,
}

impl From<MentorshipDetail> for MentorshipDetailView {
    fn from(d: MentorshipDetail) -> Self {
        Self {
            mentorship: d.mentorship.into(),
            goal_items: d.goals.into_iter().map(MentorshipGoalView::from).collect(),
            sessions: d
                .sessions
                .into_iter()
                .map(MentorshipSessionView::from)
                .collect(),
            my_notes: d.notes.into_iter().map(MentorshipNoteView::from).collect(),
            feedback: d
                .feedback
                .into_iter()
                .map(MentorshipFeedbackView::from)
                .collect(),
        }
    }
}

/// A member open to mentoring.
#[derive(Debug, Serialize, ToSchema)]
pub struct MentorView {
    pub id: UserId,
    pub display_name: String,
    pub handle: Option<String>,
    /// Their role at their company.
    pub headline: Option<String>,
    pub industry: Option<String>,
    pub skills: Vec<String>,
    /// The formats they offer; empty: any.
    pub formats: Vec<MentorshipFormat>,
    /// Skills and followed topics they share with the caller: the rank.
    pub overlap: i64,
    /// Their rating as mentor, from their mentees' feedback.
    pub rating: RatingView,
}

impl From<MentorCard> for MentorView {
    fn from(c: MentorCard) -> Self {
        Self {
            id: c.user_id,
            display_name: c.display_name,
            handle: c.handle,
            headline: c.headline,
            industry: c.industry,
            skills: c.skills,
            formats: c.formats,
            overlap: c.overlap,
            rating: c.rating.into(),
        }
    }
}

/// A mentee's direct request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestMentorshipRequest {
    pub mentor_id: UserId,
    /// 1 to 10 goals, each 1 to 2,000 characters.
    pub goals: Vec<String>,
    pub format: MentorshipFormat,
}

/// A goal to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MentorshipGoalRequest {
    /// 1 to 2,000 characters.
    pub title: String,
}

/// A session to schedule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MentorshipSessionRequest {
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`, within a day of it.
    pub ends_at: DateTime<Utc>,
    pub topic: Option<String>,
}

/// A private note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MentorshipNoteRequest {
    /// 1 to 2,000 characters.
    pub body: String,
}

/// Feedback at completion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MentorshipFeedbackRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Up to 2,000 characters.
    pub body: Option<String>,
}

/// The formats the caller offers as a mentor.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MentoringRequest {
    /// Empty: any format.
    pub formats: Vec<MentorshipFormat>,
}

/// Which of the caller's mentorships.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyMentorshipsQuery {
    #[param(schema_with = roles)]
    pub role: Option<String>,
    /// Only mentorships in this status.
    pub status: Option<MentorshipStatus>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn roles() -> utoipa::openapi::Object {
    super::page::one_of(
        "`mentor` or `mentee`; both when absent.",
        ["mentor", "mentee"],
    )
}

/// Which mentors.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MentorsQuery {
    /// A profile industry slug.
    pub industry: Option<String>,
    /// A skill (compared in lower case).
    pub skill: Option<String>,
    /// A format the mentor offers.
    pub format: Option<MentorshipFormat>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

pub(crate) fn mentorship_id(raw: &str) -> Result<MentorshipId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("mentorship"))
}

fn now() -> vendrome_core::time::Timestamp {
    vendrome_core::time::now()
}

/// Ask a mentor directly (the caller becomes the mentee).
#[utoipa::path(post, path = "/v1/mentorships", tag = "mentorship", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key answers the first response.")),
    request_body = RequestMentorshipRequest,
    responses(
        (status = 201, description = "The mentorship, `requested`.", body = Envelope<MentorshipView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`blocked`.", body = ErrorEnvelope),
        (status = 404, description = "No such member.", body = ErrorEnvelope),
        (status = 409, description = "`mentorship_exists`; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`own_request`; `validation_failed` (`goals`, `goals.N`).", body = ErrorEnvelope),
    ))]
pub async fn request_mentorship(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<RequestMentorshipRequest>,
) -> ApiResult<ApiSuccess<MentorshipView>> {
    let input = RequestMentorship {
        mentor_id: body.mentor_id,
        goals: body.goals,
        format: body.format,
    };
    let m = state.mentorship.request(&auth.caller, input, now()).await?;
    Ok(ApiSuccess::created(m.into()))
}

/// Offer to mentor the author of a mentorship-request post (the caller becomes the mentor).
#[utoipa::path(post, path = "/v1/posts/{id}/mentorship-offers", tag = "mentorship", security(("bearer" = [])),
    params(("id" = PostId, Path, description = "A mentorship-request post."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key answers the first response.")),
    responses(
        (status = 201, description = "The mentorship, `requested`; the post's author accepts or declines.", body = Envelope<MentorshipView>),
        (status = 400, description = "`invalid_idempotency_key`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`blocked`.", body = ErrorEnvelope),
        (status = 404, description = "Not a post id.", body = ErrorEnvelope),
        (status = 409, description = "`mentorship_exists`; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`not_a_mentorship_request`, `own_request`.", body = ErrorEnvelope),
    ))]
pub async fn offer_mentorship(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<MentorshipView>> {
    let m = state
        .mentorship
        .offer(&auth.caller, post_id(&id)?, now())
        .await?;
    Ok(ApiSuccess::created(m.into()))
}

/// The caller's mentorships, newest first.
#[utoipa::path(get, path = "/v1/me/mentorships", tag = "mentorship", security(("bearer" = [])),
    params(MyMentorshipsQuery),
    responses(
        (status = 200, description = "A page of mentorships.", body = Envelope<Vec<MentorshipView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: role, status, limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn my_mentorships(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<MyMentorshipsQuery>,
) -> ApiResult<ApiSuccess<Vec<MentorshipView>>> {
    let role = match query.role.as_deref() {
        None => None,
        Some("mentor") => Some(MentorshipRole::Mentor),
        Some("mentee") => Some(MentorshipRole::Mentee),
        Some(_) => {
            return Err(vendrome_core::validation::ValidationErrors::single(
                "role",
                "invalid_choice",
                "is `mentor` or `mentee`",
            )
            .into())
        }
    };
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let page = state
        .mentorship
        .list(&auth.caller, role, query.status, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, MentorshipView::from))
}

/// A mentorship with its goals, sessions, the caller's own notes and the feedback (its parties
/// only).
#[utoipa::path(get, path = "/v1/mentorships/{id}", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship.")),
    responses(
        (status = 200, description = "The mentorship.", body = Envelope<MentorshipDetailView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to.", body = ErrorEnvelope),
    ))]
pub async fn get_mentorship(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<MentorshipDetailView>> {
    let detail = state
        .mentorship
        .get(&auth.caller, mentorship_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(detail.into()))
}

async fn act(
    state: &AppState,
    auth: &Authenticated,
    id: &str,
    action: MentorshipAction,
) -> ApiResult<ApiSuccess<MentorshipView>> {
    let m = state
        .mentorship
        .act(&auth.caller, mentorship_id(id)?, action, now())
        .await?;
    Ok(ApiSuccess::ok(m.into()))
}

macro_rules! move_route {
    ($name:ident, $path:literal, $action:ident, $doc:literal, $who:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "mentorship", security(("bearer" = [])),
            params(("id" = MentorshipId, Path, description = "The mentorship.")),
            responses(
                (status = 200, description = "The mentorship now.", body = Envelope<MentorshipView>),
                (status = 401, description = "No valid access token.", body = ErrorEnvelope),
                (status = 403, description = $who, body = ErrorEnvelope),
                (status = 404, description = "No such mentorship the caller is party to.", body = ErrorEnvelope),
                (status = 409, description = "`invalid_mentorship_transition`: its status does not allow this move.", body = ErrorEnvelope),
            ))]
        pub async fn $name(
            State(state): State<AppState>,
            auth: Authenticated,
            Path(id): Path<String>,
        ) -> ApiResult<ApiSuccess<MentorshipView>> {
            act(&state, &auth, &id, MentorshipAction::$action).await
        }
    };
}

move_route!(
    accept_mentorship,
    "/v1/mentorships/{id}/accept",
    Accept,
    "Accept a request (the party who was asked).",
    "`not_mentorship_party_action`: the asker does not accept their own request."
);
move_route!(
    decline_mentorship,
    "/v1/mentorships/{id}/decline",
    Decline,
    "Decline a request (the party who was asked).",
    "`not_mentorship_party_action`: the asker withdraws (cancels) instead."
);
move_route!(
    cancel_mentorship,
    "/v1/mentorships/{id}/cancel",
    Cancel,
    "Withdraw a request (its asker), or end an active or paused mentorship early (either party).",
    "`not_mentorship_party_action`: the party who was asked declines a request instead."
);
move_route!(
    pause_mentorship,
    "/v1/mentorships/{id}/pause",
    Pause,
    "Pause an active mentorship (either party).",
    "`not_mentorship_party_action`."
);
move_route!(
    resume_mentorship,
    "/v1/mentorships/{id}/resume",
    Resume,
    "Resume a paused mentorship (either party).",
    "`not_mentorship_party_action`."
);
move_route!(
    complete_mentorship,
    "/v1/mentorships/{id}/complete",
    Complete,
    "Complete an active or paused mentorship (either party); then each gives feedback.",
    "`not_mentorship_party_action`."
);

/// Add a goal to an active mentorship (either party).
#[utoipa::path(post, path = "/v1/mentorships/{id}/goals", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship.")),
    request_body = MentorshipGoalRequest,
    responses(
        (status = 201, description = "The goal.", body = Envelope<MentorshipGoalView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to.", body = ErrorEnvelope),
        (status = 409, description = "`mentorship_not_active`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`title`).", body = ErrorEnvelope),
    ))]
pub async fn add_goal(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MentorshipGoalRequest>,
) -> ApiResult<ApiSuccess<MentorshipGoalView>> {
    let goal = state
        .mentorship
        .add_goal(&auth.caller, mentorship_id(&id)?, &body.title, now())
        .await?;
    Ok(ApiSuccess::created(goal.into()))
}

/// Mark a goal of an active mentorship completed (either party).
#[utoipa::path(post, path = "/v1/mentorships/{id}/goals/{goal_id}/complete", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship."),
        ("goal_id" = MentorshipGoalId, Path, description = "The goal.")),
    responses(
        (status = 200, description = "The mentorship now.", body = Envelope<MentorshipDetailView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to, or no such open goal of it.", body = ErrorEnvelope),
        (status = 409, description = "`mentorship_not_active`.", body = ErrorEnvelope),
    ))]
pub async fn complete_goal(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, goal)): Path<(String, String)>,
) -> ApiResult<ApiSuccess<MentorshipDetailView>> {
    let goal: MentorshipGoalId = goal.parse().map_err(|_| ApiError::not_found("goal"))?;
    let detail = state
        .mentorship
        .complete_goal(&auth.caller, mentorship_id(&id)?, goal, now())
        .await?;
    Ok(ApiSuccess::ok(detail.into()))
}

/// Schedule a session of an active mentorship (either party).
#[utoipa::path(post, path = "/v1/mentorships/{id}/sessions", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship.")),
    request_body = MentorshipSessionRequest,
    responses(
        (status = 201, description = "The session.", body = Envelope<MentorshipSessionView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to.", body = ErrorEnvelope),
        (status = 409, description = "`mentorship_not_active`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`ends_at`: `invalid_range`; `topic`).", body = ErrorEnvelope),
    ))]
pub async fn schedule_session(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MentorshipSessionRequest>,
) -> ApiResult<ApiSuccess<MentorshipSessionView>> {
    let input = NewSession {
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        topic: body.topic,
    };
    let session = state
        .mentorship
        .schedule(&auth.caller, mentorship_id(&id)?, input, now())
        .await?;
    Ok(ApiSuccess::created(session.into()))
}

/// Write a private note on an active or paused mentorship; only the writer ever reads it.
#[utoipa::path(post, path = "/v1/mentorships/{id}/notes", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship.")),
    request_body = MentorshipNoteRequest,
    responses(
        (status = 201, description = "The note.", body = Envelope<MentorshipNoteView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to.", body = ErrorEnvelope),
        (status = 409, description = "`mentorship_not_active`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`body`).", body = ErrorEnvelope),
    ))]
pub async fn add_note(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MentorshipNoteRequest>,
) -> ApiResult<ApiSuccess<MentorshipNoteView>> {
    let note = state
        .mentorship
        .add_note(&auth.caller, mentorship_id(&id)?, &body.body, now())
        .await?;
    Ok(ApiSuccess::created(note.into()))
}

/// Give feedback on a completed mentorship, once; the mentee's rating joins the mentor's rating.
#[utoipa::path(post, path = "/v1/mentorships/{id}/feedback", tag = "mentorship", security(("bearer" = [])),
    params(("id" = MentorshipId, Path, description = "The mentorship.")),
    request_body = MentorshipFeedbackRequest,
    responses(
        (status = 201, description = "The mentorship with its feedback.", body = Envelope<MentorshipDetailView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such mentorship the caller is party to.", body = ErrorEnvelope),
        (status = 409, description = "`feedback_given`; `invalid_mentorship_transition` (not completed).", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`rating`, `body`).", body = ErrorEnvelope),
    ))]
pub async fn give_feedback(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MentorshipFeedbackRequest>,
) -> ApiResult<ApiSuccess<MentorshipDetailView>> {
    let detail = state
        .mentorship
        .feedback(
            &auth.caller,
            mentorship_id(&id)?,
            body.rating,
            body.body,
            now(),
        )
        .await?;
    Ok(ApiSuccess::created(detail.into()))
}

/// Members open to mentoring (their profile looks for mentees), ranked by the skills and
/// followed topics they share with the caller.
#[utoipa::path(get, path = "/v1/mentors", tag = "mentorship", security(("bearer" = [])),
    params(MentorsQuery),
    responses(
        (status = 200, description = "A page of mentors.", body = Envelope<Vec<MentorView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: format, limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn mentors(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<MentorsQuery>,
) -> ApiResult<ApiSuccess<Vec<MentorView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let filter = MentorFilter {
        industry: query
            .industry
            .map(|i| i.trim().to_lowercase())
            .filter(|i| !i.is_empty()),
        skill: query
            .skill
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty()),
        format: query.format,
    };
    let page = state
        .mentorship
        .mentors(&auth.caller, &filter, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, MentorView::from))
}

/// State the formats the caller offers as a mentor (empty: any). Being open to mentoring is the
/// profile's `looking_for` holding `mentees`.
#[utoipa::path(put, path = "/v1/me/mentoring", tag = "mentorship", security(("bearer" = [])),
    request_body = MentoringRequest,
    responses(
        (status = 200, description = "The formats now.", body = Envelope<MentoringRequest>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn set_mentoring(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<MentoringRequest>,
) -> ApiResult<ApiSuccess<MentoringRequest>> {
    state
        .mentorship
        .set_formats(&auth.caller, &body.formats)
        .await?;
    let mut formats = body.formats;
    formats.sort();
    formats.dedup();
    Ok(ApiSuccess::ok(MentoringRequest { formats }))
}
