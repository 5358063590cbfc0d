//! Connections to external calendars: connect a CalDAV calendar (its password sealed at rest),
//! list the caller's integrations with their state, last sync and last error, disconnect one
//! (see `vendrome_calendar::integrations`).

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vendrome_calendar::{CaldavInput, Secret};
use vendrome_core::calendar::integrations::Integration;
use vendrome_core::enums::{CalendarIntegrationStatus, CalendarProvider};
use vendrome_core::ids::{CalendarConflictId, CalendarEventId, CalendarIntegrationId};

use super::page::PageQuery;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// A connection to an external calendar, without its credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    pub id: CalendarIntegrationId,
    pub provider: CalendarProvider,
    pub status: CalendarIntegrationStatus,
    /// The provider account (an OAuth subject, or the CalDAV user name).
    pub account: String,
    pub account_email: Option<String>,
    /// The calendar synced (`primary`, or the CalDAV collection URL).
    pub calendar: String,
    /// When the last sync finished, null before the first.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Why the last sync failed, null when it did not.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Integration> for IntegrationView {
    fn from(i: Integration) -> Self {
        Self {
            id: i.id,
            provider: i.provider,
            status: i.status,
            account: i.provider_account_id,
            account_email: i.account_email,
            calendar: i.external_calendar_id,
            last_synced_at: i.last_synced_at,
            last_error: i.last_error,
            created_at: i.created_at,
        }
    }
}

/// A CalDAV calendar to connect.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaldavRequest {
    /// The calendar collection's URL.
    pub url: String,
    pub username: String,
    /// Stored encrypted (AES-256-GCM); never shown again.
    pub password: String,
}

/// Connect a CalDAV calendar (RFC 4791) to the caller's calendar; its password is stored
/// encrypted.
#[utoipa::path(post, path = "/v1/calendar/integrations/caldav", tag = "calendar", security(("bearer" = [])),
    request_body = CaldavRequest,
    responses(
        (status = 201, description = "Connected.", body = Envelope<IntegrationView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 409, description = "`integration_exists`: this calendar is already connected.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `url` (`invalid_url`), `username`, `password` (`required`, `too_long`).", body = ErrorEnvelope),
        (status = 503, description = "`calendar_sync_unconfigured`: the server has no calendar keys.", body = ErrorEnvelope),
    ))]
pub async fn connect_caldav(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CaldavRequest>,
) -> ApiResult<ApiSuccess<IntegrationView>> {
    let input = CaldavInput {
        url: body.url,
        username: body.username,
        password: Secret::new(body.password),
    };
    let integration = state
        .calendar_integrations
        .connect_caldav(&auth.caller, input)
        .await?;
    Ok(ApiSuccess::created(integration.into()))
}

/// The caller's calendar integrations, oldest first, with their state, last sync and last
/// error.
#[utoipa::path(get, path = "/v1/calendar/integrations", tag = "calendar", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of integrations.", body = Envelope<Vec<IntegrationView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn list_integrations(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<IntegrationView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state
        .calendar_integrations
        .list(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, IntegrationView::from))
}

/// Whether an integration still exists, after the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisconnectedView {
    pub id: CalendarIntegrationId,
    pub deleted: bool,
}

/// Disconnect one of the caller's integrations: a Google calendar's watch channel is stopped,
/// then its stored credentials, links and pending sync work are deleted.
#[utoipa::path(delete, path = "/v1/calendar/integrations/{id}", tag = "calendar", security(("bearer" = [])),
    params(("id" = CalendarIntegrationId, Path, description = "The integration.")),
    responses(
        (status = 200, description = "Disconnected.", body = Envelope<DisconnectedView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such integration of the caller.", body = ErrorEnvelope),
    ))]
pub async fn disconnect(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<DisconnectedView>> {
    let id: CalendarIntegrationId = id
        .parse()
        .map_err(|_| ApiError::not_found("calendar integration"))?;
    state.calendar_sync.disconnect(&auth.caller, id).await?;
    Ok(ApiSuccess::ok(DisconnectedView { id, deleted: true }))
}

/// What a sync did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncReportView {
    /// Whether every remote event was listed (first sync, or the provider's cursor had expired).
    pub full: bool,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Remote events left out: those that are not valid events, and those carrying the UID of
    /// the caller's event of a booking or mentorship session (only the booking or session
    /// changes it).
    pub skipped: usize,
    /// Events changed on both sides since the last sync: the later edit kept, the other in
    /// `GET /v1/calendar/conflicts`.
    pub conflicts: usize,
    /// Requests made to the provider.
    pub requests: usize,
}

/// Sync one of the caller's integrations now: the provider's changes since the last sync (all
/// its events the first time) into the caller's calendar. This runs the integration's job of
/// the sync queue at once (queued if there is none), as the periodic sync does.
#[utoipa::path(post, path = "/v1/calendar/integrations/{id}/sync", tag = "calendar", security(("bearer" = [])),
    params(("id" = CalendarIntegrationId, Path, description = "The integration.")),
    responses(
        (status = 200, description = "Synced.", body = Envelope<SyncReportView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such integration of the caller.", body = ErrorEnvelope),
        (status = 409, description = "`calendar_reconnect_required`: the server refused the stored credentials (status `revoked`); `calendar_sync_running`: a sync of it runs now.", body = ErrorEnvelope),
        (status = 503, description = "`calendar_sync_failed`: the provider failed or refused (also the integration's `last_error`).", body = ErrorEnvelope),
    ))]
pub async fn sync_now(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<SyncReportView>> {
    let id: CalendarIntegrationId = id
        .parse()
        .map_err(|_| ApiError::not_found("calendar integration"))?;
    let integration = state.calendar_integrations.get(&auth.caller, id).await?;
    let r = state.calendar_runner.sync_now(&integration).await?;
    Ok(ApiSuccess::ok(SyncReportView {
        conflicts: r.conflicts,
        full: r.full,
        created: r.created,
        updated: r.updated,
        deleted: r.deleted,
        skipped: r.skipped,
        requests: r.requests,
    }))
}

/// New credentials for a CalDAV integration.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaldavCredentialsRequest {
    /// Stored encrypted (AES-256-GCM); never shown again.
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

/// Reconnect one of the caller's CalDAV integrations with a new password (after its server
/// refused the old one and the integration became `revoked`): back to `active`, with a sync
/// queued at once. Its events and links are kept.
#[utoipa::path(put, path = "/v1/calendar/integrations/{id}/credentials", tag = "calendar", security(("bearer" = [])),
    params(("id" = CalendarIntegrationId, Path, description = "The integration.")),
    request_body = CaldavCredentialsRequest,
    responses(
        (status = 200, description = "Reconnected.", body = Envelope<IntegrationView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such integration of the caller.", body = ErrorEnvelope),
        (status = 409, description = "`calendar_provider_mismatch`: the integration is not a CalDAV one.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `password` (`required`, `too_long`).", body = ErrorEnvelope),
        (status = 503, description = "`calendar_sync_unconfigured`: the server has no calendar keys.", body = ErrorEnvelope),
    ))]
pub async fn reconnect_caldav(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CaldavCredentialsRequest>,
) -> ApiResult<ApiSuccess<IntegrationView>> {
    let id: CalendarIntegrationId = id
        .parse()
        .map_err(|_| ApiError::not_found("calendar integration"))?;
    let integration = state
        .calendar_integrations
        .reconnect_caldav(&auth.caller, id, Secret::new(body.password))
        .await?;
    state
        .calendar_runner
        .queue(id, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::ok(integration.into()))
}

/// What writing an event to a connected calendar did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushView {
    pub event_id: CalendarEventId,
    /// The provider's id for it (a CalDAV href).
    pub external_event_id: String,
    /// Whether the provider did not have it before.
    pub created: bool,
    /// `null`, or whether our version won against a newer remote edit (the loser is in
    /// `GET /v1/calendar/conflicts`).
    pub conflict_ours_won: Option<bool>,
}

/// Write one of the caller's events to a connected calendar (create it there, or replace the
/// version last seen: `If-None-Match: *` / `If-Match`). A conflicting remote edit is settled by
/// the later edit winning; the loser is kept in the conflict log.
#[utoipa::path(put, path = "/v1/calendar/integrations/{id}/events/{event_id}", tag = "calendar", security(("bearer" = [])),
    params(
        ("id" = CalendarIntegrationId, Path, description = "The integration."),
        ("event_id" = CalendarEventId, Path, description = "The caller's event."),
    ),
    responses(
        (status = 200, description = "Written.", body = Envelope<PushView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such integration or event of the caller.", body = ErrorEnvelope),
        (status = 503, description = "`calendar_sync_failed`: the provider failed or refused.", body = ErrorEnvelope),
    ))]
pub async fn push_event(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((id, event_id)): Path<(String, String)>,
) -> ApiResult<ApiSuccess<PushView>> {
    let id: CalendarIntegrationId = id
        .parse()
        .map_err(|_| ApiError::not_found("calendar integration"))?;
    let event_id: CalendarEventId = event_id
        .parse()
        .map_err(|_| ApiError::not_found("calendar event"))?;
    let r = state.calendar_sync.push(&auth.caller, id, event_id).await?;
    Ok(ApiSuccess::ok(PushView {
        event_id,
        external_event_id: r.external_event_id,
        created: r.created,
        conflict_ours_won: r.conflict,
    }))
}

/// An edit that lost to a later one on the other side, kept whole.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictView {
    pub id: CalendarConflictId,
    pub integration_id: Option<CalendarIntegrationId>,
    pub event_id: Option<CalendarEventId>,
    pub external_event_id: String,
    /// Whether our version won (the provider's is the one kept here), or theirs did.
    pub ours_won: bool,
    pub ours_updated_at: DateTime<Utc>,
    pub theirs_updated_at: Option<DateTime<Utc>>,
    /// The losing version, as iCalendar text.
    pub loser_ics: String,
    pub created_at: DateTime<Utc>,
}

/// The caller's sync conflict log, oldest first: every edit that lost to a later edit on the
/// other side.
#[utoipa::path(get, path = "/v1/calendar/conflicts", tag = "calendar", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of conflicts.", body = Envelope<Vec<ConflictView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn list_conflicts(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<ConflictView>>> {
    let (cursor, limit) = query.parse()?;
    let page = state
        .calendar_integrations
        .conflicts(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, |c| ConflictView {
        id: c.id,
        integration_id: c.integration_id,
        event_id: c.event_id,
        external_event_id: c.external_event_id,
        ours_won: c.ours_won,
        ours_updated_at: c.ours_updated_at,
        theirs_updated_at: c.theirs_updated_at,
        loser_ics: c.loser_ics,
        created_at: c.created_at,
    }))
}
