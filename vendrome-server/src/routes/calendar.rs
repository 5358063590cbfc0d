//! The native calendar: events (one-off or recurring), invitations and answers, the caller's
//! calendar in a time window, and members' free/busy time (see `vendrome_calendar::service`).

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_calendar::{EventChanges, EventInput, Occurrence, Window};
use vendrome_core::calendar::managed::ManagedBy;
use vendrome_core::calendar::{Attendee, CalendarEvent};
use vendrome_core::enums::{CalendarAttendeeStatus, CalendarEventStatus, CalendarVisibility};
use vendrome_core::ids::{BookingId, CalendarEventId, MentorshipId, MentorshipSessionId, UserId};

use super::page::PageQuery;
use super::users::user_id;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, ApiJson, ApiQuery};
use crate::state::AppState;

/// An invited member and their answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendeeView {
    pub user_id: UserId,
    pub response: CalendarAttendeeStatus,
}

impl From<&Attendee> for AttendeeView {
    fn from(a: &Attendee) -> Self {
        Self {
            user_id: a.user_id,
            response: a.response,
        }
    }
}

/// A calendar event (for a recurring one, the whole series).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: CalendarEventId,
    pub owner_id: UserId,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub video_url: Option<String>,
    /// The first occurrence's start.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// IANA zone; a recurrence repeats the local time of `starts_at` here.
    pub timezone: String,
    pub all_day: bool,
    /// RRULE value (RFC 5545), or null for a one-off event.
    pub recurrence: Option<String>,
    /// Start instants of the occurrences left out.
    pub exceptions: Vec<DateTime<Utc>>,
    pub visibility: CalendarVisibility,
    pub status: CalendarEventStatus,
    /// iCalendar UID and SEQUENCE (one more with every change).
    pub ical_uid: String,
    pub sequence: i32,
    pub attendees: Vec<AttendeeView>,
    /// The caller's answer when they are invited; null for the owner.
    pub my_response: Option<CalendarAttendeeStatus>,
    /// The booking this event is a party's copy of: its times and title follow the booking,
    /// and deleting it cancels the booking.
    pub booking_id: Option<BookingId>,
    /// The mentorship and session this event is a party's copy of, likewise.
    pub mentorship_id: Option<MentorshipId>,
    pub mentorship_session_id: Option<MentorshipSessionId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventView {
    fn new(event: CalendarEvent, viewer: UserId) -> Self {
        let my_response = event.attendee(viewer).map(|a| a.response);
        let (booking_id, mentorship_id, mentorship_session_id) = match event.managed_by {
            Some(ManagedBy::Booking(b)) => (Some(b), None, None),
            Some(ManagedBy::MentorshipSession {
                mentorship,
                session,
            }) => (None, Some(mentorship), Some(session)),
            None => (None, None, None),
        };
        let f = event.fields;
        Self {
            id: event.id,
            owner_id: event.owner_id,
            title: f.title,
            description: f.description,
            location: f.location,
            video_url: f.video_url,
            starts_at: f.starts_at,
            ends_at: f.ends_at,
            timezone: f.timezone,
            all_day: f.all_day,
            recurrence: f.recurrence,
            exceptions: f.exceptions,
            visibility: f.visibility,
            status: event.status,
            ical_uid: event.ical_uid,
            sequence: event.sequence,
            attendees: event.attendees.iter().map(AttendeeView::from).collect(),
            my_response,
            booking_id,
            mentorship_id,
            mentorship_session_id,
            created_at: event.created_at,
            updated_at: event.updated_at,
        }
    }
}

/// One occurrence of an event in the window asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrenceView {
    pub occurrence_starts_at: DateTime<Utc>,
    pub occurrence_ends_at: DateTime<Utc>,
    pub event: EventView,
}

/// A stretch of busy time (nothing about why).
#[derive(Debug, Serialize, ToSchema)]
pub struct BusyBlockView {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A new event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventRequest {
    /// 1 to 200 characters.
    pub title: String,
    /// At most 5,000 characters.
    pub description: Option<String>,
    /// At most 500 characters.
    pub location: Option<String>,
    /// An http(s) URL.
    pub video_url: Option<String>,
    pub starts_at: DateTime<Utc>,
    /// Not before `starts_at`, at most 366 days after it.
    pub ends_at: DateTime<Utc>,
    /// An IANA zone such as `Europe/London`.
    pub timezone: String,
    #[serde(default)]
    pub all_day: bool,
    /// An RRULE value such as `FREQ=WEEKLY;BYDAY=MO` (at most hourly).
    pub recurrence: Option<String>,
    /// Start instants of occurrences to leave out (at most 500; only with `recurrence`).
    #[serde(default)]
    pub exceptions: Vec<DateTime<Utc>>,
    pub visibility: CalendarVisibility,
    /// Connections to invite (at most 100); they see the event in their calendar.
    #[serde(default)]
    pub attendees: Vec<UserId>,
}

/// Changes to an event: a field left out is kept, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEventRequest {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub video_url: Option<Option<String>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub timezone: Option<String>,
    pub all_day: Option<bool>,
    /// `null` makes the event one-off (and drops its exceptions unless new ones are given).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub recurrence: Option<Option<String>>,
    /// Replaces the exceptions.
    pub exceptions: Option<Vec<DateTime<Utc>>>,
    pub visibility: Option<CalendarVisibility>,
    /// Replaces the attendees; those still invited keep their answers.
    pub attendees: Option<Vec<UserId>>,
}

/// An answer to an invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RsvpRequest {
    /// `accepted`, `declined` or `tentative`.
    pub response: CalendarAttendeeStatus,
}

/// A time window and a page of what falls in it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// The window's start (RFC 3339).
    pub from: DateTime<Utc>,
    /// The window's end, after `from` and at most 366 days later.
    pub to: DateTime<Utc>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl WindowQuery {
    fn parse(
        &self,
    ) -> ApiResult<(
        Window,
        Option<vendrome_core::page::Cursor>,
        vendrome_core::page::Limit,
    )> {
        let (cursor, limit) = PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .parse()?;
        Ok((Window::new(self.from, self.to)?, cursor, limit))
    }
}

fn event_id(raw: &str) -> Result<CalendarEventId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("calendar event"))
}

/// Create an event in the caller's calendar (and in each attendee's).
#[utoipa::path(post, path = "/v1/calendar/events", tag = "calendar", security(("bearer" = [])),
    request_body = CreateEventRequest,
    responses(
        (status = 201, description = "The event.", body = Envelope<EventView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: every broken field named (`invalid_rrule`, `unknown_timezone`, `not_a_connection`, …).", body = ErrorEnvelope),
    ))]
pub async fn create_event(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateEventRequest>,
) -> ApiResult<ApiSuccess<EventView>> {
    let input = EventInput {
        title: body.title,
        description: body.description,
        location: body.location,
        video_url: body.video_url,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        timezone: body.timezone,
        all_day: body.all_day,
        recurrence: body.recurrence,
        exceptions: body.exceptions,
        visibility: body.visibility,
        attendees: body.attendees,
    };
    let event = state.calendar.create(&auth.caller, input).await?;
    Ok(ApiSuccess::created(EventView::new(
        event,
        auth.caller.user_id,
    )))
}

/// The caller's calendar between `from` and `to`: every occurrence of the events they own or
/// are invited to (recurrences expanded in each event's zone), by start.
#[utoipa::path(get, path = "/v1/calendar/events", tag = "calendar", security(("bearer" = [])),
    params(WindowQuery),
    responses(
        (status = 200, description = "A page of occurrences.", body = Envelope<Vec<OccurrenceView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `from`/`to` (`invalid_range`, `window_too_large`, `too_many_occurrences`), limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> ApiResult<ApiSuccess<Vec<OccurrenceView>>> {
    let (window, cursor, limit) = query.parse()?;
    let page = state
        .calendar
        .occurrences(&auth.caller, window, cursor.as_ref(), limit)
        .await?;
    let viewer = auth.caller.user_id;
    Ok(ApiSuccess::page(page, |o: Occurrence| OccurrenceView {
        occurrence_starts_at: o.starts_at,
        occurrence_ends_at: o.ends_at,
        event: EventView::new(o.event, viewer),
    }))
}

/// One event: the caller's own, one they are invited to, or a public one.
#[utoipa::path(get, path = "/v1/calendar/events/{id}", tag = "calendar", security(("bearer" = [])),
    params(("id" = CalendarEventId, Path, description = "The event.")),
    responses(
        (status = 200, description = "The event.", body = Envelope<EventView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such event the caller may see.", body = ErrorEnvelope),
    ))]
pub async fn get_event(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<EventView>> {
    let event = state.calendar.get(&auth.caller, event_id(&id)?).await?;
    Ok(ApiSuccess::ok(EventView::new(event, auth.caller.user_id)))
}

/// Change one of the caller's events (its sequence goes up by one). The event of a booking or
/// mentorship session keeps the title, times, zone, recurrence and attendees it follows (change
/// those through the booking or session); its description, location, video link and visibility
/// are the caller's.
#[utoipa::path(patch, path = "/v1/calendar/events/{id}", tag = "calendar", security(("bearer" = [])),
    params(("id" = CalendarEventId, Path, description = "The event.")),
    request_body = UpdateEventRequest,
    responses(
        (status = 200, description = "The event now.", body = Envelope<EventView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_event_owner`.", body = ErrorEnvelope),
        (status = 404, description = "No such event the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`calendar_event_managed`: a change of what the event's booking or session decides; the message names where to make it.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`, as on create.", body = ErrorEnvelope),
    ))]
pub async fn update_event(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateEventRequest>,
) -> ApiResult<ApiSuccess<EventView>> {
    let id = event_id(&id)?;
    let changes = EventChanges {
        title: body.title,
        description: body.description,
        location: body.location,
        video_url: body.video_url,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        timezone: body.timezone,
        all_day: body.all_day,
        recurrence: body.recurrence,
        exceptions: body.exceptions,
        visibility: body.visibility,
        attendees: body.attendees,
    };
    let event = state.calendar.update(&auth.caller, id, changes).await?;
    Ok(ApiSuccess::ok(EventView::new(event, auth.caller.user_id)))
}

/// Whether an event still exists, after the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedEventView {
    pub id: CalendarEventId,
    pub deleted: bool,
}

/// Delete one of the caller's events (from its attendees' calendars too). Deleting the event of
/// a booking or mentorship session cancels the booking or session, with the rules and refunds
/// of `POST /v1/bookings/{id}/cancel` or `DELETE /v1/mentorships/{id}/sessions/{session_id}`,
/// and so both parties' events.
#[utoipa::path(delete, path = "/v1/calendar/events/{id}", tag = "calendar", security(("bearer" = [])),
    params(("id" = CalendarEventId, Path, description = "The event.")),
    responses(
        (status = 200, description = "Deleted (or its booking or session cancelled).", body = Envelope<DeletedEventView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_event_owner`.", body = ErrorEnvelope),
        (status = 404, description = "No such event the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_booking_transition`: a booking's event whose booking can no longer be cancelled (completed, say).", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: the booking is cancelled; its refund is finished later.", body = ErrorEnvelope),
    ))]
pub async fn delete_event(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<DeletedEventView>> {
    let id = event_id(&id)?;
    state.calendar.delete(&auth.caller, id).await?;
    Ok(ApiSuccess::ok(DeletedEventView { id, deleted: true }))
}

/// Answer an invitation.
#[utoipa::path(post, path = "/v1/calendar/events/{id}/rsvp", tag = "calendar", security(("bearer" = [])),
    params(("id" = CalendarEventId, Path, description = "The event.")),
    request_body = RsvpRequest,
    responses(
        (status = 200, description = "The event, with the caller's answer.", body = Envelope<EventView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_invited`.", body = ErrorEnvelope),
        (status = 404, description = "No such event the caller may see.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `response` (`needs_action` is not an answer).", body = ErrorEnvelope),
    ))]
pub async fn rsvp(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RsvpRequest>,
) -> ApiResult<ApiSuccess<EventView>> {
    let event = state
        .calendar
        .rsvp(&auth.caller, event_id(&id)?, body.response)
        .await?;
    Ok(ApiSuccess::ok(EventView::new(event, auth.caller.user_id)))
}

/// When a member is busy between `from` and `to`: merged blocks, nothing about why. For the
/// member themselves and their connections; `private` events and declined invitations do not
/// count.
#[utoipa::path(get, path = "/v1/users/{id}/free-busy", tag = "calendar", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The member."), WindowQuery),
    responses(
        (status = 200, description = "A page of busy blocks, by start.", body = Envelope<Vec<BusyBlockView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_connected`.", body = ErrorEnvelope),
        (status = 404, description = "No such user.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `from`/`to`, limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn free_busy(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> ApiResult<ApiSuccess<Vec<BusyBlockView>>> {
    let user = user_id(&id)?;
    let (window, cursor, limit) = query.parse()?;
    let page = state
        .calendar
        .free_busy(&auth.caller, user, window, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, |b| BusyBlockView {
        starts_at: b.starts_at,
        ends_at: b.ends_at,
    }))
}
