//! Payments: reading one (payer, payee, admin), the caller's payments, the methods on offer, and
//! the providers' webhooks, verified on their raw bytes (see `vendrome_payments`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Extension;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{PaymentKind, PaymentProvider, PaymentStatus};
use vendrome_core::ids::{OrderId, PaymentId, UserId};
use vendrome_core::money::Currency;
use vendrome_core::page::Page;
use vendrome_core::payments::provider::{MethodOffer, NextAction};
use vendrome_core::payments::Payment;
use vendrome_payments::providers::SOURCE_ADDRESS;
use vendrome_payments::WebhookOutcome;

use super::page::PageQuery;
use crate::auth::Authenticated;
use crate::client_addr::ClientAddr;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// What the payer does next.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextActionView {
    /// `redirect` (send the payer to `url`), `client_secret` (confirm in the browser with the
    /// provider's library) or `none` (the outcome comes by webhook).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: Option<String>,
    pub client_secret: Option<String>,
}

impl From<Option<NextAction>> for NextActionView {
    fn from(action: Option<NextAction>) -> Self {
        let (kind, url, client_secret) = match action {
            Some(NextAction::Redirect { url }) => ("redirect", Some(url), None),
            Some(NextAction::ClientSecret { client_secret }) => {
                ("client_secret", None, Some(client_secret))
            }
            Some(NextAction::None) | None => ("none", None, None),
        };
        Self {
            kind,
            url,
            client_secret,
        }
    }
}

/// A payment: a charge of an order, or a refund of one.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: PaymentId,
    pub kind: PaymentKind,
    pub status: PaymentStatus,
    pub provider: PaymentProvider,
    /// Minor units of `currency`; always the order's, never the client's.
    pub amount: i64,
    pub currency: Currency,
    /// The platform's fee within `amount` (a charge).
    pub fee_amount: i64,
    pub order_id: Option<OrderId>,
    /// A refund: the charge it refunds.
    pub refund_of: Option<PaymentId>,
    /// Who pays (a charge) or is paid back (a refund).
    pub payer_id: UserId,
    /// Who the money is for.
    pub payee_id: Option<UserId>,
    pub method: Option<String>,
    /// `none` once the payment is final.
    pub next_action: NextActionView,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub succeeded_at: Option<DateTime<Utc>>,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        let next_action = if vendrome_core::payments::is_final(p.status) {
            None
        } else {
            p.next_action
        };
        Self {
            id: p.id,
            kind: p.kind,
            status: p.status,
            provider: p.provider,
            amount: p.amount.amount,
            currency: p.amount.currency,
            fee_amount: p.fee_amount,
            order_id: p.order_id,
            refund_of: p.refund_of,
            payer_id: p.payer_id,
            payee_id: p.payee_id,
            method: p.method,
            next_action: next_action.into(),
            failure_code: p.failure_code,
            failure_message: p.failure_message,
            created_at: p.created_at,
            updated_at: p.updated_at,
            succeeded_at: p.succeeded_at,
        }
    }
}

/// A payment method a configured provider offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodView {
    pub provider: PaymentProvider,
    pub method: String,
    /// The currencies it takes; empty: any.
    pub currencies: Vec<Currency>,
}

impl From<MethodOffer> for MethodView {
    fn from(m: MethodOffer) -> Self {
        Self {
            provider: m.provider,
            method: m.method,
            currencies: m.currencies,
        }
    }
}

/// What a webhook delivery did.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceiptView {
    /// `applied` (the payment moved), `stale` (an older event: nothing moved), `duplicate` (this
    /// event was seen before) or `ignored` (about nothing we know).
    pub outcome: &'static str,
    pub payment_id: Option<PaymentId>,
}

impl From<WebhookOutcome> for WebhookReceiptView {
    fn from(outcome: WebhookOutcome) -> Self {
        let (outcome, payment_id) = match outcome {
            WebhookOutcome::Applied(p) => ("applied", Some(p.id)),
            WebhookOutcome::Stale(p) => ("stale", Some(p.id)),
            WebhookOutcome::Duplicate => ("duplicate", None),
            WebhookOutcome::Ignored => ("ignored", None),
        };
        Self {
            outcome,
            payment_id,
        }
    }
}

/// The methods on offer for a currency.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MethodsQuery {
    /// ISO 4217 (`ZAR`).
    #[param(pattern = "^[A-Z]{3}$")]
    pub currency: Currency,
    /// ISO 3166-1 alpha-2 of the payer; no configured provider restricts by country yet.
    pub country: Option<String>,
}

pub(crate) fn payment_id(raw: &str) -> Result<PaymentId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("payment"))
}

/// One payment, for its payer, its payee or an admin.
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = PaymentId, Path, description = "The payment.")),
    responses(
        (status = 200, description = "The payment.", body = Envelope<PaymentView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such payment the caller may see.", body = ErrorEnvelope),
    ))]
pub async fn get_payment(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<PaymentView>> {
    let payment = state
        .payments
        .payment(&auth.caller, payment_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(payment.into()))
}

/// The caller's payments as payer or payee, newest first.
#[utoipa::path(get, path = "/v1/me/payments", tag = "payments", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of payments.", body = Envelope<Vec<PaymentView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn my_payments(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<PaymentView>>> {
    let (cursor, limit) = query.parse()?;
    let (items, next_cursor) = state
        .payments
        .payments_of(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(
        Page { items, next_cursor },
        PaymentView::from,
    ))
}

/// The providers and methods that take a currency, in the order routing would pick them.
#[utoipa::path(get, path = "/v1/payments/methods", tag = "payments", security(("bearer" = [])),
    params(MethodsQuery),
    responses(
        (status = 200, description = "The methods, in routing order.", body = Envelope<Vec<MethodView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: currency.", body = ErrorEnvelope),
    ))]
pub async fn methods(
    State(state): State<AppState>,
    _auth: Authenticated,
    ApiQuery(query): ApiQuery<MethodsQuery>,
) -> ApiResult<ApiSuccess<Vec<MethodView>>> {
    let offers = state
        .payments
        .methods(query.currency, query.country.as_deref());
    Ok(ApiSuccess::ok(
        offers.into_iter().map(MethodView::from).collect(),
    ))
}

/// The request's headers as the providers' verifiers read them: lower-case names, text values.
pub(crate) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}

/// A provider's webhook. No token: the signature over the raw body is the credential, checked
/// before anything is parsed. Each provider event is acted on once; an older event never moves
/// a payment backwards. Every delivery that verifies is answered 200.
#[utoipa::path(post, path = "/v1/payments/webhooks/{provider}", tag = "payments",
    params(("provider" = String, Path, description = "The provider (`stripe`, `sandbox`, …).")),
    request_body(content = String, description = "The provider's event, exactly as sent.", content_type = "application/json"),
    responses(
        (status = 200, description = "Applied, stale, duplicate or ignored.", body = Envelope<WebhookReceiptView>),
        (status = 400, description = "`invalid_signature` (missing, wrong, or outside the provider's tolerance), `invalid_webhook_payload`, `amount_mismatch` (a charge paid with another amount).", body = ErrorEnvelope),
        (status = 404, description = "`provider_not_configured`.", body = ErrorEnvelope),
    ))]
pub async fn webhook(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiSuccess<WebhookReceiptView>> {
    let mut pairs = header_pairs(&headers);
    if let Some(Extension(ClientAddr(address))) = client {
        // The sender's address, under a name no HTTP header can have (Payfast checks it).
        pairs.push((SOURCE_ADDRESS.to_owned(), address.to_string()));
    }
    let outcome = state
        .payments
        .handle_webhook(&provider, &pairs, &body)
        .await?;
    Ok(ApiSuccess::ok(outcome.into()))
}
