//! The calendar as iCalendar: a member's secret feed URL (issued, rotated, revoked; read without
//! a bearer token, the token in the URL being the credential) and `.ics` imports (see
//! `vendrome_calendar::exchange`).

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::validation::ValidationErrors;

use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{is_json, ApiJson, ApiQuery};
use crate::state::AppState;

/// A new feed URL, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedTokenView {
    /// The feed's URL, relative to the API's origin; it carries the token, so keep it secret.
    pub url: String,
    /// The token alone.
    pub token: String,
}

/// Create or rotate the caller's secret calendar feed URL; the previous one stops working.
#[utoipa::path(post, path = "/v1/calendar/feed-token", tag = "calendar", security(("bearer" = [])),
    responses(
        (status = 201, description = "The new feed URL, shown only now.", body = Envelope<FeedTokenView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn issue_feed_token(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<Response> {
    let token = state.calendar_ics.issue_feed_token(&auth.caller).await?;
    let view = FeedTokenView {
        url: format!("/v1/calendar/feed.ics?token={}", token.expose()),
        token: token.expose().to_owned(),
    };
    Ok(([(CACHE_CONTROL, "no-store")], ApiSuccess::created(view)).into_response())
}

/// Whether the feed token is gone.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedFeedView {
    pub revoked: bool,
}

/// Revoke the caller's feed URL.
#[utoipa::path(delete, path = "/v1/calendar/feed-token", tag = "calendar", security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked.", body = Envelope<RevokedFeedView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "The caller has no feed URL.", body = ErrorEnvelope),
    ))]
pub async fn revoke_feed_token(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<ApiSuccess<RevokedFeedView>> {
    state.calendar_ics.revoke_feed_token(&auth.caller).await?;
    Ok(ApiSuccess::ok(RevokedFeedView { revoked: true }))
}

/// The feed's token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The token of the URL `POST /v1/calendar/feed-token` returned.
    pub token: String,
}

/// A member's calendar as iCalendar (RFC 5545), for calendar applications to subscribe to:
/// every event they own or are invited to, recurrences as RRULE and EXDATE. No bearer token:
/// the URL's token is the credential.
#[utoipa::path(get, path = "/v1/calendar/feed.ics", tag = "calendar",
    params(FeedQuery),
    responses(
        (status = 200, description = "The calendar.", body = String, content_type = "text/calendar"),
        (status = 404, description = "Unknown or revoked token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: no `token`.", body = ErrorEnvelope),
    ))]
pub async fn feed(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> ApiResult<Response> {
    let text = state.calendar_ics.feed(&query.token).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (CACHE_CONTROL, "private, no-cache"),
        ],
        text,
    )
        .into_response())
}

/// An `.ics` file wrapped in JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The iCalendar text.
    pub ics: String,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    /// Events new to the caller's calendar.
    pub created: usize,
    /// Events with a UID the caller had already, replaced.
    pub updated: usize,
    /// Events with the UID of the caller's event of a booking or mentorship session: left as it
    /// is (only the booking or session changes it).
    pub skipped: usize,
}

/// Import an iCalendar file into the caller's calendar: `text/calendar`, or JSON `{ "ics": … }`.
/// Each VEVENT becomes an event of the caller, keyed by its UID: importing again updates, never
/// duplicates. Nothing is written unless the whole file is valid.
#[utoipa::path(post, path = "/v1/calendar/import", tag = "calendar", security(("bearer" = [])),
    request_body(description = "The file (at most 1 MiB, 1,000 events).", content(
        (String = "text/calendar"),
        (ImportRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Imported.", body = Envelope<ImportView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 413, description = "`payload_too_large`.", body = ErrorEnvelope),
        (status = 415, description = "`unsupported_media_type`: neither text/calendar nor JSON.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` on `ics`: `invalid_ics` or `invalid_event`, the message naming the line (`line 8: …`); `too_large`.", body = ErrorEnvelope),
    ))]
pub async fn import(
    State(state): State<AppState>,
    auth: Authenticated,
    request: Request,
) -> ApiResult<ApiSuccess<ImportView>> {
    let content_type = request.headers().get(CONTENT_TYPE).cloned();
    let text = if is_json(content_type.as_ref()) {
        ApiJson::<ImportRequest>::from_request(request, &state)
            .await?
            .0
            .ics
    } else if is_calendar(content_type.as_ref()) {
        let bytes = Bytes::from_request(request, &state)
            .await
            .map_err(|_| ApiError::for_status(StatusCode::PAYLOAD_TOO_LARGE))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::validation(&ValidationErrors::single(
                "ics",
                "invalid_ics",
                "the file is not UTF-8 text",
            ))
        })?
    } else {
        return Err(ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    };
    let report = state.calendar_ics.import(&auth.caller, &text).await?;
    Ok(ApiSuccess::ok(ImportView {
        created: report.created,
        updated: report.updated,
        skipped: report.skipped,
    }))
}

fn is_calendar(content_type: Option<&axum::http::HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/calendar"))
}
