//! Service bookings: a provider's availability, a service's slots, booking one, paying for it,
//! reading and listing bookings, and the moves of a booking's life. See
//! `vendrome_core::bookings`; a booking's charge and a cancellation's refund go through the
//! payments orchestrator (`vendrome_payments::Payments`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::bookings::{
    Availability, AvailabilityException, Booking, BookingAction, BookingFilter, BookingRole,
    RequestBooking, WeeklyWindow,
};
use vendrome_core::enums::BookingStatus;
use vendrome_core::ids::{BookingId, PostId, UserId};
use vendrome_core::money::Currency;
use vendrome_core::validation::ValidationErrors;

use super::orders::{idempotency_key, CheckoutRequest};
use super::page::PageQuery;
use super::payments::PaymentView;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// A provider's availability: weekly windows in their IANA zone, exceptions by date, the
/// buffer kept after each booking, the minimum notice and how many days ahead slots are offered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityBody {
    /// An IANA zone name (`Europe/London`).
    pub timezone: String,
    /// At most 70 windows.
    pub weekly: Vec<WeeklyWindow>,
    /// At most 400 dates, each once: `closed: true`, or `start` and `end`.
    #[serde(default)]
    pub exceptions: Vec<AvailabilityException>,
    /// 0 to 1440.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1440)]
    pub buffer_minutes: i32,
    /// 0 to 43200.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 43200)]
    pub min_notice_minutes: i32,
    /// 0 to 730; 60 when absent.
    #[serde(default = "sixty")]
    #[schema(minimum = 0, maximum = 730)]
    pub max_days_ahead: i32,
}

fn sixty() -> i32 {
    60
}

impl From<Availability> for AvailabilityBody {
    fn from(a: Availability) -> Self {
        Self {
            timezone: a.timezone,
            weekly: a.weekly,
            exceptions: a.exceptions,
            buffer_minutes: a.buffer_minutes,
            min_notice_minutes: a.min_notice_minutes,
            max_days_ahead: a.max_days_ahead,
        }
    }
}

/// One bookable slot.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start in the zone asked for, RFC 3339 with its offset.
    pub local_starts_at: String,
}

/// A booking. Amounts are minor units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    pub id: BookingId,
    /// The service post booked.
    pub service_post_id: PostId,
    pub status: BookingStatus,
    /// The client's user id.
    pub client: UserId,
    /// The provider's user id.
    pub provider: UserId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The client's IANA zone.
    pub timezone: String,
    pub currency: Currency,
    pub amount: i64,
    pub platform_fee_amount: i64,
    /// What a cancellation refunds per the service's policy.
    pub refund_amount: i64,
    pub note: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Booking> for BookingView {
    fn from(b: Booking) -> Self {
        Self {
            id: b.id,
            service_post_id: b.service_post_id,
            status: b.status,
            client: b.client_id,
            provider: b.provider_id,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            timezone: b.timezone,
            currency: b.currency,
            amount: b.amount,
            platform_fee_amount: b.platform_fee_amount,
            refund_amount: b.refund_amount,
            note: b.note,
            cancel_reason: b.cancel_reason,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// A booking of one slot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBookingRequest {
    /// The start of one of the service's slots.
    pub starts_at: DateTime<Utc>,
    /// The client's IANA zone.
    pub timezone: String,
    /// At most 2,000 characters.
    pub note: Option<String>,
}

/// Why a booking is cancelled.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBookingRequest {
    pub reason: Option<String>,
}

/// The new start of a booking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBookingRequest {
    /// A start the service's slots offer now (its own time left out).
    pub starts_at: DateTime<Utc>,
}

/// The window of slots.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    /// Now when absent.
    pub from: Option<DateTime<Utc>>,
    /// Seven days after `from` when absent; at most 62 days after it.
    pub to: Option<DateTime<Utc>>,
    /// The IANA zone `local_starts_at` is given in; UTC when absent.
    pub timezone: Option<String>,
}

/// Which of the caller's bookings.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyBookingsQuery {
    #[param(schema_with = roles)]
    pub role: Option<RoleParam>,
    /// Only bookings in this status.
    pub status: Option<BookingStatus>,
    /// Bookings starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Bookings starting before.
    pub to: Option<DateTime<Utc>>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn roles() -> utoipa::openapi::Object {
    super::page::one_of(
        "`client` (the default) or `provider`.",
        ["client", "provider"],
    )
}

/// The caller's part in the bookings listed.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleParam {
    Client,
    Provider,
}

fn booking_id(raw: &str) -> Result<BookingId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("booking"))
}

fn service_id(raw: &str) -> Result<PostId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("service"))
}

/// The caller's availability as they last set it.
#[utoipa::path(get, path = "/v1/me/availability", tag = "bookings", security(("bearer" = [])),
    responses(
        (status = 200, description = "The availability.", body = Envelope<AvailabilityBody>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "The caller never set one.", body = ErrorEnvelope),
    ))]
pub async fn get_availability(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<ApiSuccess<AvailabilityBody>> {
    let availability = state
        .bookings
        .availability(&auth.caller)
        .await?
        .ok_or_else(|| ApiError::not_found("availability"))?;
    Ok(ApiSuccess::ok(availability.into()))
}

/// Replace the caller's availability; answered as stored.
#[utoipa::path(put, path = "/v1/me/availability", tag = "bookings", security(("bearer" = [])),
    request_body = AvailabilityBody,
    responses(
        (status = 200, description = "The availability.", body = Envelope<AvailabilityBody>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `timezone`, `weekly.N.day`, `weekly.N` (times), `exceptions.N`, `exceptions.N.date` (`duplicate`), the numbers.", body = ErrorEnvelope),
    ))]
pub async fn set_availability(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<AvailabilityBody>,
) -> ApiResult<ApiSuccess<AvailabilityBody>> {
    let availability = Availability {
        timezone: body.timezone,
        weekly: body.weekly,
        exceptions: body.exceptions,
        buffer_minutes: body.buffer_minutes,
        min_notice_minutes: body.min_notice_minutes,
        max_days_ahead: body.max_days_ahead,
    };
    let stored = state
        .bookings
        .set_availability(&auth.caller, availability, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::ok(stored.into()))
}

/// The bookable slots of a service that start in `[from, to)`: in the provider's windows, past
/// their notice and within their horizon, clear of bookings (with the buffer after each) and of
/// busy time. Anyone may read them.
#[utoipa::path(get, path = "/v1/services/{post_id}/slots", tag = "bookings",
    params(("post_id" = PostId, Path, description = "The service post."), SlotsQuery),
    responses(
        (status = 200, description = "The slots, earliest first.", body = Envelope<Vec<SlotView>>),
        (status = 404, description = "No such live service.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: `to` (not after `from`, or more than 62 days later), `timezone`.", body = ErrorEnvelope),
    ))]
pub async fn slots(
    State(state): State<AppState>,
    Path(post_id): Path<String>,
    ApiQuery(query): ApiQuery<SlotsQuery>,
) -> ApiResult<ApiSuccess<Vec<SlotView>>> {
    let zone: Tz = match query.timezone.as_deref() {
        None | Some("") => Tz::UTC,
        Some(name) => name.parse().map_err(|_| {
            vendrome_core::Error::from(ValidationErrors::single(
                "timezone",
                "invalid",
                "is not an IANA time zone name",
            ))
        })?,
    };
    let now = vendrome_core::time::now();
    let from = query.from.unwrap_or(now);
    let to = query.to.unwrap_or(from + Duration::days(7));
    let slots = state
        .bookings
        .slots(service_id(&post_id)?, from, to, now)
        .await?;
    let views = slots
        .into_iter()
        .map(|s| SlotView {
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            local_starts_at: s.starts_at.with_timezone(&zone).to_rfc3339(),
        })
        .collect();
    Ok(ApiSuccess::ok(views))
}

/// Book one slot of a service: `confirmed` at once when the service auto-confirms, `requested`
/// (for the provider to confirm or decline) otherwise. A service with a price is paid at
/// booking: the booking is `awaiting_payment`, holding the slot, until its checkout succeeds
/// (`POST /v1/bookings/{id}/checkout`), and is cancelled when it is not paid in time (the same
/// window as an order's). The same `Idempotency-Key` finds the same booking.
#[utoipa::path(post, path = "/v1/services/{post_id}/bookings", tag = "bookings", security(("bearer" = [])),
    params(("post_id" = PostId, Path, description = "The service post."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The booking's key: a retry with it answers the same booking.")),
    request_body = CreateBookingRequest,
    responses(
        (status = 201, description = "The booking.", body = Envelope<BookingView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such live service.", body = ErrorEnvelope),
        (status = 409, description = "`slot_unavailable`: not a slot offered now, or taken; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`own_listing`; `validation_failed` (`timezone`, `note`).", body = ErrorEnvelope),
    ))]
pub async fn create_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(post_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateBookingRequest>,
) -> ApiResult<ApiSuccess<BookingView>> {
    let input = RequestBooking {
        starts_at: body.starts_at,
        timezone: body.timezone,
        note: body.note,
        idempotency_key: idempotency_key(&headers),
    };
    let booking = state
        .bookings
        .book(
            &auth.caller,
            service_id(&post_id)?,
            input,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::created(booking.into()))
}

/// Pay for a booking awaiting payment, as its client: the amount is the booking's (the service's
/// price when it was booked), never the client's. Answers the payment like an order's checkout:
/// its `next_action` says what the client does next. When it succeeds (the provider's webhook,
/// or at once) the booking moves on to `requested`, or `confirmed` when the service
/// auto-confirms.
#[utoipa::path(post, path = "/v1/bookings/{id}/checkout", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The attempt's key: a retry with it resumes the same attempt.")),
    request_body(content = CheckoutRequest, description = "Empty for routing's choice."),
    responses(
        (status = 201, description = "The payment.", body = Envelope<PaymentView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`: the provider declined at once.", body = ErrorEnvelope),
        (status = 403, description = "`not_booking_party_action`: only the client pays.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see; `provider_not_configured` (none for the currency, or the one asked for).", body = ErrorEnvelope),
        (status = 409, description = "`already_paid`; `invalid_booking_transition` (free, or cancelled unpaid); `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`payment_rejected`; `validation_failed` (`provider`).", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry with the same key.", body = ErrorEnvelope),
    ))]
pub async fn checkout_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Option<ApiJson<CheckoutRequest>>,
) -> ApiResult<ApiSuccess<PaymentView>> {
    let body = body.map(|ApiJson(b)| b).unwrap_or_default();
    let request = vendrome_payments::CheckoutRequest::from(body);
    let payment = state
        .payments
        .checkout_booking(
            booking_id(&id)?,
            &auth.caller,
            request,
            &idempotency_key(&headers),
        )
        .await?;
    Ok(ApiSuccess::created(payment.into()))
}

/// One booking, for its client, its provider or an admin.
#[utoipa::path(get, path = "/v1/bookings/{id}", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking.")),
    responses(
        (status = 200, description = "The booking.", body = Envelope<BookingView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see.", body = ErrorEnvelope),
    ))]
pub async fn get_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<BookingView>> {
    let booking = state.bookings.get(&auth.caller, booking_id(&id)?).await?;
    Ok(ApiSuccess::ok(booking.into()))
}

/// The caller's bookings as client or provider, by start.
#[utoipa::path(get, path = "/v1/me/bookings", tag = "bookings", security(("bearer" = [])),
    params(MyBookingsQuery),
    responses(
        (status = 200, description = "A page of bookings.", body = Envelope<Vec<BookingView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: role, status, from, to, limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn my_bookings(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<MyBookingsQuery>,
) -> ApiResult<ApiSuccess<Vec<BookingView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let filter = BookingFilter {
        role: match query.role {
            None | Some(RoleParam::Client) => BookingRole::Client,
            Some(RoleParam::Provider) => BookingRole::Provider,
        },
        status: query.status,
        from: query.from,
        to: query.to,
    };
    let page = state
        .bookings
        .list(&auth.caller, filter, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, BookingView::from))
}

async fn act(
    state: &AppState,
    auth: &Authenticated,
    id: &str,
    action: BookingAction,
    reason: Option<String>,
) -> ApiResult<ApiSuccess<BookingView>> {
    let booking = state
        .bookings
        .act(
            &auth.caller,
            booking_id(id)?,
            action,
            reason,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::ok(booking.into()))
}

/// The provider confirms a requested booking.
#[utoipa::path(post, path = "/v1/bookings/{id}/confirm", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking.")),
    responses(
        (status = 200, description = "The booking, `confirmed`.", body = Envelope<BookingView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_booking_party_action`: only the provider confirms.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_booking_transition`: not requested.", body = ErrorEnvelope),
    ))]
pub async fn confirm_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<BookingView>> {
    act(&state, &auth, &id, BookingAction::Confirm, None).await
}

/// The provider declines a requested booking; its time is free again. A paid booking is
/// refunded in full (`refund_amount`).
#[utoipa::path(post, path = "/v1/bookings/{id}/decline", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking.")),
    responses(
        (status = 200, description = "The booking, `declined`.", body = Envelope<BookingView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_booking_party_action`: only the provider declines.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_booking_transition`: not requested.", body = ErrorEnvelope),
    ))]
pub async fn decline_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<BookingView>> {
    let booking = state
        .payments
        .decline_booking(&auth.caller, booking_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(booking.into()))
}

/// Either party cancels a booking awaiting payment, requested or confirmed; its time is free
/// again. A paid booking is refunded through its payment's provider: a client who cancels inside
/// the service's cancellation window gets back what its policy says (`full`, `half`, `none`),
/// anyone else everything; `refund_amount` says how much (the refund is a payment of the
/// booking, listed in `GET /v1/me/payments`).
#[utoipa::path(post, path = "/v1/bookings/{id}/cancel", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking.")),
    request_body(content = CancelBookingRequest, description = "Empty, or why."),
    responses(
        (status = 200, description = "The booking, `cancelled`.", body = Envelope<BookingView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_booking_transition`: declined, cancelled, completed or no-show.", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: the booking is cancelled; its refund is finished later.", body = ErrorEnvelope),
    ))]
pub async fn cancel_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    body: Option<ApiJson<CancelBookingRequest>>,
) -> ApiResult<ApiSuccess<BookingView>> {
    let reason = body.and_then(|ApiJson(b)| b.reason);
    let booking = state
        .payments
        .cancel_booking(&auth.caller, booking_id(&id)?, reason)
        .await?;
    Ok(ApiSuccess::ok(booking.into()))
}

/// The provider marks a confirmed booking completed, after its end time.
#[utoipa::path(post, path = "/v1/bookings/{id}/complete", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking.")),
    responses(
        (status = 200, description = "The booking, `completed`.", body = Envelope<BookingView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_booking_party_action`: only the provider completes.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_booking_transition`: not confirmed; `booking_not_ended`.", body = ErrorEnvelope),
    ))]
pub async fn complete_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<BookingView>> {
    act(&state, &auth, &id, BookingAction::Complete, None).await
}

/// The provider marks that the client of a confirmed booking did not come, after its end time.
#[utoipa::path(post, path = "/v1/bookings/{id}/no-show", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking.")),
    responses(
        (status = 200, description = "The booking, `no_show`.", body = Envelope<BookingView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_booking_party_action`: only the provider marks it.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_booking_transition`: not confirmed; `booking_not_ended`.", body = ErrorEnvelope),
    ))]
pub async fn no_show_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<BookingView>> {
    act(&state, &auth, &id, BookingAction::NoShow, None).await
}

/// Either party (or an admin) moves a booking awaiting payment, requested or confirmed to
/// another slot of its service; both parties' calendar events move with it (one more
/// `sequence`). Moving it to the start it has changes nothing.
#[utoipa::path(post, path = "/v1/bookings/{id}/reschedule", tag = "bookings", security(("bearer" = [])),
    params(("id" = BookingId, Path, description = "The booking.")),
    request_body = RescheduleBookingRequest,
    responses(
        (status = 200, description = "The booking at its new time.", body = Envelope<BookingView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such booking the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_booking_transition`: declined, cancelled, completed or no-show, or changed meanwhile; `slot_unavailable`: the start is not offered or was just taken.", body = ErrorEnvelope),
    ))]
pub async fn reschedule_booking(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RescheduleBookingRequest>,
) -> ApiResult<ApiSuccess<BookingView>> {
    let booking = state
        .bookings
        .reschedule(
            &auth.caller,
            booking_id(&id)?,
            body.starts_at,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::ok(booking.into()))
}
