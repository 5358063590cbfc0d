//! Connecting a Google calendar (OAuth 2 with PKCE and offline access; the tokens sealed at
//! rest) and Google's push notifications (see `vendrome_calendar::{connect, push}`).
//!
//! `GET …/google/start` (signed in) answers the URL to send the browser to, and binds the
//! attempt to the browser with the httpOnly `vendrome_calendar_connect` cookie; Google sends it
//! back to `GET …/google/callback?code&state`, which needs no session: the `state` (random, bound
//! to the member who started, usable once, for ten minutes) says whose calendar it is, and it is
//! honoured only with the cookie of the browser that started (so an authorization URL someone
//! started cannot connect the calendar of whoever they send it to).
//!
//! `POST /v1/calendar/webhooks/google` takes Google's notifications (headers only). Unknown
//! channels and wrong channel tokens are answered 200 and ignored (`accepted: false`), so Google
//! stops retrying and nothing tells a prober which channels exist.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_calendar::push::Notified;
use vendrome_core::auth::RefreshToken;
use vendrome_core::enums::CalendarProvider;
use vendrome_core::validation::ValidationErrors;

use super::calendar_integrations::IntegrationView;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::routes::auth::cookie;
use crate::state::AppState;

/// The cookie that binds a calendar connection to the browser that started it.
pub const BROWSER_COOKIE: &str = "vendrome_calendar_connect";

/// Starts a connection at `provider` for the caller in this browser: the authorization URL,
/// with the browser's cookie set when it had none.
pub(crate) async fn begin(
    state: &AppState,
    auth: &Authenticated,
    headers: &HeaderMap,
    provider: CalendarProvider,
) -> ApiResult<Response> {
    let (secret, fresh) =
        match cookie(headers, BROWSER_COOKIE).filter(|v| RefreshToken::parse(v).is_some()) {
            Some(secret) => (secret, false),
            None => (RefreshToken::generate().expose().to_owned(), true),
        };
    let authorize_url = state
        .calendar_sync
        .start(&auth.caller, provider, &secret)
        .await?;
    let mut response = ApiSuccess::ok(ConnectView { authorize_url }).into_response();
    if fresh {
        let secure = if state.secure_cookies { "; Secure" } else { "" };
        let value = format!(
            "{BROWSER_COOKIE}={secret}; Path=/v1/calendar/integrations; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            vendrome_calendar::connect::ATTEMPT_TTL.num_seconds()
        );
        response.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_str(&value).expect("a base64url secret is a valid header value"),
        );
    }
    Ok(response)
}

/// Where to send the browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectView {
    /// The provider's authorization URL (code flow with PKCE S256, offline access, `state`).
    pub authorize_url: String,
}

/// Start connecting the caller's Google calendar: the URL to send their browser to (the browser
/// gets the `vendrome_calendar_connect` cookie the callback requires). Google sends it back to
/// `GET /v1/calendar/integrations/google/callback` within ten minutes.
#[utoipa::path(get, path = "/v1/calendar/integrations/google/start", tag = "calendar", security(("bearer" = [])),
    responses(
        (status = 200, description = "The authorization URL.", body = Envelope<ConnectView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 503, description = "`calendar_provider_not_configured`: no Google client on this server; `calendar_sync_unconfigured`: no calendar keys.", body = ErrorEnvelope),
    ))]
pub async fn start_google(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
) -> ApiResult<Response> {
    begin(&state, &auth, &headers, CalendarProvider::Google).await
}

/// What Google sends back.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` of the start.
    pub state: Option<String>,
    /// Set instead of `code` when the member or Google refused (`access_denied`, …).
    pub error: Option<String>,
}

/// Finish connecting a Google calendar: the code is traded for tokens (stored encrypted) and
/// the member's primary calendar is connected (or reconnected), its first sync queued.
#[utoipa::path(get, path = "/v1/calendar/integrations/google/callback", tag = "calendar",
    params(CallbackQuery),
    responses(
        (status = 200, description = "Connected.", body = Envelope<IntegrationView>),
        (status = 400, description = "`calendar_connect_state_invalid`: unknown, used or expired `state`, or another browser's.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `code`, `state` (`required`); `error` when Google refused.", body = ErrorEnvelope),
        (status = 503, description = "`calendar_connect_failed`: Google refused the code or could not be reached; `calendar_provider_not_configured`.", body = ErrorEnvelope),
    ))]
pub async fn google_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> ApiResult<ApiSuccess<IntegrationView>> {
    finish(&state, &headers, CalendarProvider::Google, query).await
}

/// A connection's callback at `provider`: the integration, its first sync queued.
pub(crate) async fn finish(
    state: &AppState,
    headers: &HeaderMap,
    provider: CalendarProvider,
    query: CallbackQuery,
) -> ApiResult<ApiSuccess<IntegrationView>> {
    let mut errors = ValidationErrors::new();
    if let Some(error) = &query.error {
        errors.add(
            "error",
            "provider_refused",
            format!("the provider answered {error}"),
        );
    }
    let code = query.code.filter(|c| !c.is_empty());
    let oauth_state = query.state.filter(|s| !s.is_empty());
    let (Some(code), Some(oauth_state), None) = (&code, &oauth_state, &query.error) else {
        if query.error.is_none() {
            if code.is_none() {
                errors.add("code", "required", "must not be empty");
            }
            if oauth_state.is_none() {
                errors.add("state", "required", "must not be empty");
            }
        }
        return Err(vendrome_core::Error::Invalid(errors).into());
    };
    let integration = state
        .calendar_sync
        .finish(
            provider,
            code,
            oauth_state,
            cookie(headers, BROWSER_COOKIE).as_deref(),
        )
        .await?;
    state
        .calendar_runner
        .queue(integration.id, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::ok(integration.into()))
}

/// What a notification did.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Whether it named one of our channels with its token.
    pub accepted: bool,
    /// Whether a delta sync was queued by it (`false` also when one was queued already).
    pub queued: bool,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Google Calendar push notifications (developers.google.com/calendar/api/guides/push): the
/// channel in `X-Goog-Channel-ID`, its secret in `X-Goog-Channel-Token`, what happened in
/// `X-Goog-Resource-State` (`sync` on creation; `exists`/`not_exists` queue a delta sync, once
/// however many arrive). Unknown channels and wrong tokens are ignored with a 200.
#[utoipa::path(post, path = "/v1/calendar/webhooks/google", tag = "calendar",
    params(
        ("X-Goog-Channel-ID" = String, Header, description = "The channel."),
        ("X-Goog-Channel-Token" = Option<String>, Header, description = "The channel's secret token."),
        ("X-Goog-Resource-State" = String, Header, description = "`sync`, `exists` or `not_exists`."),
    ),
    responses(
        (status = 200, description = "Taken (or ignored).", body = Envelope<NotificationView>),
        (status = 422, description = "`validation_failed`: `X-Goog-Channel-ID`, `X-Goog-Resource-State` (`required`).", body = ErrorEnvelope),
    ))]
pub async fn google_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<ApiSuccess<NotificationView>> {
    let channel = header(&headers, "x-goog-channel-id").filter(|c| !c.is_empty());
    let resource_state = header(&headers, "x-goog-resource-state").filter(|c| !c.is_empty());
    let (Some(channel), Some(resource_state)) = (channel, resource_state) else {
        let mut errors = ValidationErrors::new();
        if channel.is_none() {
            errors.add("X-Goog-Channel-ID", "required", "must not be empty");
        }
        if resource_state.is_none() {
            errors.add("X-Goog-Resource-State", "required", "must not be empty");
        }
        return Err(vendrome_core::Error::Invalid(errors).into());
    };
    let notified = state
        .calendar_runner
        .google_notification(
            channel,
            header(&headers, "x-goog-channel-token"),
            resource_state,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::ok(NotificationView {
        accepted: notified != Notified::Ignored,
        queued: notified == Notified::Queued(true),
    }))
}
