//! Connecting a Microsoft (Outlook / Microsoft 365) calendar through Microsoft Graph (OAuth 2
//! with PKCE, scopes `offline_access Calendars.ReadWrite`; the tokens sealed at rest), and
//! Graph's change notifications (see `vendrome_calendar::{connect, microsoft_push}`).
//!
//! `POST /v1/calendar/webhooks/microsoft?validationToken=…` (Graph validating the URL when a
//! subscription is created) is answered at once: 200 `text/plain` with the token as decoded from
//! the query. Otherwise the body is Graph's `{"value": [...]}`: each notification naming one of
//! our subscriptions with its `clientState` queues a delta sync (or, for the lifecycle events
//! `subscriptionRemoved` and `missed`, creates the subscription again first); the others are
//! ignored. The answer is 202.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_calendar::microsoft_push::GraphNotification;
use vendrome_calendar::push::Notified;
use vendrome_core::enums::CalendarProvider;

use super::calendar_google::{begin, finish, CallbackQuery, ConnectView};
use super::calendar_integrations::IntegrationView;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Start connecting the caller's Microsoft calendar: the URL to send their browser to (the
/// browser gets the `vendrome_calendar_connect` cookie the callback requires).
/// Microsoft sends it back to `GET /v1/calendar/integrations/microsoft/callback` within ten
/// minutes.
#[utoipa::path(get, path = "/v1/calendar/integrations/microsoft/start", tag = "calendar", security(("bearer" = [])),
    responses(
        (status = 200, description = "The authorization URL.", body = Envelope<ConnectView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 503, description = "`calendar_provider_not_configured`: no Microsoft client on this server; `calendar_sync_unconfigured`: no calendar keys.", body = ErrorEnvelope),
    ))]
pub async fn start_microsoft(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
) -> ApiResult<Response> {
    begin(&state, &auth, &headers, CalendarProvider::Microsoft).await
}

/// Finish connecting a Microsoft calendar: the code is traded for tokens (stored encrypted) and
/// the member's default calendar is connected (or reconnected), its first sync queued.
#[utoipa::path(get, path = "/v1/calendar/integrations/microsoft/callback", tag = "calendar",
    params(CallbackQuery),
    responses(
        (status = 200, description = "Connected.", body = Envelope<IntegrationView>),
        (status = 400, description = "`calendar_connect_state_invalid`: unknown, used or expired `state`, or another browser's.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `code`, `state` (`required`); `error` when Microsoft refused.", body = ErrorEnvelope),
        (status = 503, description = "`calendar_connect_failed`: Microsoft refused the code or could not be reached; `calendar_provider_not_configured`.", body = ErrorEnvelope),
    ))]
pub async fn microsoft_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> ApiResult<ApiSuccess<IntegrationView>> {
    finish(&state, &headers, CalendarProvider::Microsoft, query).await
}

/// Graph's validation request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValidationQuery {
    /// Sent when a subscription is created: answered as is, in plain text.
    #[serde(rename = "validationToken")]
    pub validation_token: Option<String>,
}

#[derive(Deserialize)]
struct Notifications {
    #[serde(default)]
    value: Vec<Notification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    subscription_id: String,
    client_state: Option<String>,
    lifecycle_event: Option<String>,
}

/// What a notification body did.
#[derive(Debug, Serialize, ToSchema)]
pub struct GraphNotificationsView {
    /// Notifications naming one of our subscriptions with its `clientState`.
    pub accepted: usize,
    /// Delta syncs they queued (duplicates of a queued one add none).
    pub queued: usize,
}

/// Microsoft Graph change and lifecycle notifications, and the subscription validation
/// handshake (`?validationToken=`: 200 `text/plain` with the token, at once).
#[utoipa::path(post, path = "/v1/calendar/webhooks/microsoft", tag = "calendar",
    params(ValidationQuery),
    request_body(content = String, description = "Graph's `{\"value\": [{subscriptionId, clientState, changeType | lifecycleEvent, …}]}`; empty for the handshake.", content_type = "application/json"),
    responses(
        (status = 200, description = "The handshake: the validation token.", content_type = "text/plain", body = String),
        (status = 202, description = "Taken (unknown subscriptions and wrong `clientState`s ignored).", body = Envelope<GraphNotificationsView>),
        (status = 400, description = "`malformed_json`: not Graph's notification body.", body = ErrorEnvelope),
    ))]
pub async fn microsoft_webhook(
    State(state): State<AppState>,
    Query(query): Query<ValidationQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    if let Some(token) = query.validation_token {
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token,
        )
            .into_response());
    }
    let notifications: Notifications = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("not Graph's notification body: {e}"),
        )
    })?;
    let mut view = GraphNotificationsView {
        accepted: 0,
        queued: 0,
    };
    for n in notifications.value {
        let notified = state
            .calendar_runner
            .microsoft_notification(
                &GraphNotification {
                    subscription_id: n.subscription_id,
                    client_state: n.client_state,
                    lifecycle_event: n.lifecycle_event,
                },
                vendrome_core::time::now(),
            )
            .await?;
        if notified != Notified::Ignored {
            view.accepted += 1;
        }
        if notified == Notified::Queued(true) {
            view.queued += 1;
        }
    }
    let mut response = ApiSuccess::ok(view).into_response();
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}
