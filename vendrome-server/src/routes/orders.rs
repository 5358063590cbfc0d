//! Product orders: placing one, reading it (its buyer, its seller, an admin), the caller's
//! orders, and the moves of its life (cancel, fulfil, complete, refunds). Prices always come
//! from the products; see `vendrome_core::orders`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::OrderStatus;
use vendrome_core::ids::{OrderId, OrderItemId, PostId, UserId};
use vendrome_core::money::Currency;
use vendrome_core::orders::{LineRequest, Order, OrderItem, OrderRole, PlaceOrder};

use super::page::PageQuery;
use super::payments::PaymentView;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::idempotency::KEY_HEADER;
use crate::state::AppState;

/// One line of an order, priced when the order was placed.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemView {
    pub id: OrderItemId,
    pub post_id: PostId,
    /// The product's title when the order was placed.
    pub title: String,
    /// Minor units of the order's currency.
    pub unit_amount: i64,
    pub quantity: i32,
    /// `unit_amount × quantity`.
    pub line_amount: i64,
}

impl From<OrderItem> for OrderItemView {
    fn from(i: OrderItem) -> Self {
        Self {
            id: i.id,
            post_id: i.post_id,
            title: i.title,
            unit_amount: i.unit_amount,
            quantity: i.quantity,
            line_amount: i.line_amount,
        }
    }
}

/// An order. Amounts are minor units of `currency`; the platform fee is part of the total and
/// is deducted from the seller's payout.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    pub status: OrderStatus,
    /// The buyer's user id.
    pub buyer: UserId,
    /// The seller's user id.
    pub seller: UserId,
    pub items: Vec<OrderItemView>,
    pub currency: Currency,
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub platform_fee_amount: i64,
    pub total_amount: i64,
    /// What has been refunded so far.
    pub refunded_amount: i64,
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
    pub note: Option<String>,
    /// When an unpaid order expires and gives its stock back.
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            status: o.status,
            buyer: o.buyer_id,
            seller: o.seller_id,
            items: o.items.into_iter().map(OrderItemView::from).collect(),
            currency: o.currency,
            subtotal_amount: o.subtotal_amount,
            shipping_amount: o.shipping_amount,
            platform_fee_amount: o.platform_fee_amount,
            total_amount: o.total_amount,
            refunded_amount: o.refunded_amount,
            shipping_address: o.shipping_address,
            note: o.note,
            expires_at: o.expires_at,
            paid_at: o.paid_at,
            fulfilled_at: o.fulfilled_at,
            completed_at: o.completed_at,
            cancelled_at: o.cancelled_at,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// One product and how many.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequest {
    /// A product post on sale.
    pub post_id: PostId,
    /// 1 to 100.
    pub quantity: i32,
}

/// A new order: products of one seller, priced in one currency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// 1 to 20 lines, each product once.
    pub items: Vec<OrderLineRequest>,
    /// Where to ship, as the frontend collects it (kept as given).
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
    pub note: Option<String>,
}

/// A refund of a paid order.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units; the rest of the total when absent. Refunds add up to at most the total.
    pub amount: Option<i64>,
}

/// A payment of an order.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// A configured provider (`sandbox`, `stripe`); routing picks the first that takes the
    /// order's currency when absent.
    pub provider: Option<vendrome_core::enums::PaymentProvider>,
    /// A method the provider offers (`card`); its default when absent.
    pub method: Option<String>,
    /// Where a hosted payment page sends the payer back.
    pub return_url: Option<String>,
    /// ISO 3166-1 alpha-2 of the payer, for the routing rules that name a country.
    pub country: Option<String>,
}

impl From<CheckoutRequest> for vendrome_payments::CheckoutRequest {
    fn from(body: CheckoutRequest) -> Self {
        Self {
            provider: body.provider,
            method: body.method,
            return_url: body.return_url,
            country: body.country,
        }
    }
}

/// Which of the caller's orders.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyOrdersQuery {
    #[param(schema_with = roles)]
    pub role: Option<RoleParam>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn roles() -> utoipa::openapi::Object {
    super::page::one_of("`buyer` (the default) or `seller`.", ["buyer", "seller"])
}

/// The caller's part in the orders listed.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleParam {
    Buyer,
    Seller,
}

pub(crate) fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("order"))
}

/// The request's `Idempotency-Key` (the middleware has checked its shape), or a fresh one: a
/// request without a key is never taken for another.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> String {
    headers
        .get(&KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Place an order. Stock is reserved at once; an unpaid order expires after the configured time
/// (30 minutes by default) and gives it back. The same `Idempotency-Key` finds the same order.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The order's key: a retry with it answers the same order.")),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "The order, `pending_payment`.", body = Envelope<OrderView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 409, description = "`out_of_stock` (the message names the post); `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`mixed_sellers`, `mixed_currencies`, `own_listing`; `validation_failed` (`items`, `items.N.quantity`, `items.N.post_id`: `not_a_product`, `duplicate`).", body = ErrorEnvelope),
    ))]
pub async fn create_order(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateOrderRequest>,
) -> ApiResult<ApiSuccess<OrderView>> {
    let input = PlaceOrder {
        lines: body
            .items
            .into_iter()
            .map(|l| LineRequest {
                post_id: l.post_id,
                quantity: l.quantity,
            })
            .collect(),
        idempotency_key: idempotency_key(&headers),
        shipping_address: body.shipping_address,
        note: body.note,
    };
    let order = state
        .orders
        .place(&auth.caller, input, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::created(order.into()))
}

/// One order, for its buyer, its seller or an admin.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order.")),
    responses(
        (status = 200, description = "The order.", body = Envelope<OrderView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such order the caller may see.", body = ErrorEnvelope),
    ))]
pub async fn get_order(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<OrderView>> {
    let order = state.orders.get(&auth.caller, order_id(&id)?).await?;
    Ok(ApiSuccess::ok(order.into()))
}

/// The caller's orders as buyer or seller, newest first.
#[utoipa::path(get, path = "/v1/me/orders", tag = "orders", security(("bearer" = [])),
    params(MyOrdersQuery),
    responses(
        (status = 200, description = "A page of orders.", body = Envelope<Vec<OrderView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: role, status, limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn my_orders(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<MyOrdersQuery>,
) -> ApiResult<ApiSuccess<Vec<OrderView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let role = match query.role {
        None | Some(RoleParam::Buyer) => OrderRole::Buyer,
        Some(RoleParam::Seller) => OrderRole::Seller,
    };
    let page = state
        .orders
        .list(&auth.caller, role, query.status, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(page, OrderView::from))
}

/// Call an order off. Unpaid: its buyer or seller cancels it and its stock is given back. Paid
/// and not yet fulfilled: its seller (or an admin) cancels it with a full refund, and it ends
/// `refunded`. An order paid while the cancel runs is refunded, not answered with a conflict.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order.")),
    responses(
        (status = 200, description = "The order now.", body = Envelope<OrderView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`: the provider refused the refund.", body = ErrorEnvelope),
        (status = 403, description = "`not_order_party_action`: a paid order is cancelled by its seller.", body = ErrorEnvelope),
        (status = 404, description = "No such order the caller may see; `provider_not_configured` (the provider that took the payment).", body = ErrorEnvelope),
        (status = 409, description = "`invalid_order_transition`: fulfilled, completed, cancelled or refunded.", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry.", body = ErrorEnvelope),
    ))]
pub async fn cancel_order(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<OrderView>> {
    let order = state
        .payments
        .cancel_order(
            &state.orders,
            &auth.caller,
            order_id(&id)?,
            vendrome_core::time::now(),
        )
        .await?;
    Ok(ApiSuccess::ok(order.into()))
}

/// The seller has shipped a paid order.
#[utoipa::path(post, path = "/v1/orders/{id}/fulfil", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order.")),
    responses(
        (status = 200, description = "The order, `fulfilled`.", body = Envelope<OrderView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_order_party_action`: only the seller fulfils.", body = ErrorEnvelope),
        (status = 404, description = "No such order the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_order_transition`: the order is not paid.", body = ErrorEnvelope),
    ))]
pub async fn fulfil_order(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<OrderView>> {
    let order = state
        .orders
        .fulfil(&auth.caller, order_id(&id)?, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::ok(order.into()))
}

/// The buyer confirms a fulfilled order arrived (it completes on its own 14 days after
/// fulfilment otherwise).
#[utoipa::path(post, path = "/v1/orders/{id}/complete", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order.")),
    responses(
        (status = 200, description = "The order, `completed`.", body = Envelope<OrderView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_order_party_action`: only the buyer completes.", body = ErrorEnvelope),
        (status = 404, description = "No such order the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_order_transition`: the order is not fulfilled.", body = ErrorEnvelope),
    ))]
pub async fn complete_order(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<OrderView>> {
    let order = state
        .orders
        .complete(&auth.caller, order_id(&id)?, vendrome_core::time::now())
        .await?;
    Ok(ApiSuccess::ok(order.into()))
}

/// Refund some or the rest of a paid or fulfilled order (its seller or an admin). The refund
/// that brings the refunded total to the order's total moves the order to `refunded`.
#[utoipa::path(post, path = "/v1/orders/{id}/refunds", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The refund's key: a retry with it answers the same refund.")),
    request_body(content = RefundRequest, description = "Empty for the rest of the total."),
    responses(
        (status = 201, description = "The refund, a payment of kind `refund`.", body = Envelope<PaymentView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`: the provider refused the refund.", body = ErrorEnvelope),
        (status = 403, description = "`not_order_party_action`: the buyer does not refund.", body = ErrorEnvelope),
        (status = 404, description = "No such order the caller may see; `provider_not_configured`.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_order_transition`: the order is not paid or fulfilled; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`refund_exceeds_total` (or an amount that is not positive), `payment_rejected`.", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry with the same key.", body = ErrorEnvelope),
    ))]
pub async fn refund_order(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Option<ApiJson<RefundRequest>>,
) -> ApiResult<ApiSuccess<PaymentView>> {
    let amount = body.and_then(|ApiJson(b)| b.amount);
    let refund = state
        .payments
        .refund(
            order_id(&id)?,
            &auth.caller,
            amount,
            &idempotency_key(&headers),
        )
        .await?;
    Ok(ApiSuccess::created(refund.into()))
}

/// Pay an order (its buyer). The amount is the order's total, never the client's. Answers the
/// payment with what the payer does next: the sandbox and hosted pages `redirect`, Stripe gives
/// a `client_secret`. The same `Idempotency-Key` resumes the same attempt.
#[utoipa::path(post, path = "/v1/orders/{id}/checkout", tag = "orders", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The attempt's key: a retry with it resumes the same attempt.")),
    request_body(content = CheckoutRequest, description = "Empty for routing's choice."),
    responses(
        (status = 201, description = "The payment.", body = Envelope<PaymentView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`: the provider declined at once.", body = ErrorEnvelope),
        (status = 403, description = "`not_order_party_action`: only the buyer pays.", body = ErrorEnvelope),
        (status = 404, description = "No such order the caller may see; `provider_not_configured` (none for the currency, or the one asked for).", body = ErrorEnvelope),
        (status = 409, description = "`already_paid`; `invalid_order_transition` (expired or cancelled); `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`payment_rejected`; `validation_failed` (`provider`).", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry with the same key.", body = ErrorEnvelope),
    ))]
pub async fn checkout(
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
        .checkout(
            order_id(&id)?,
            &auth.caller,
            request,
            &idempotency_key(&headers),
        )
        .await?;
    Ok(ApiSuccess::created(payment.into()))
}
