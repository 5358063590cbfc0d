//! The admin's view of the payment providers: each configured provider's health window and
//! state in rotation (the same figures `/metrics` has per provider).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use vendrome_core::enums::PaymentProvider;
use vendrome_core::page::Page;
use vendrome_payments::routing::{HealthSnapshot, HealthState};

use super::page::PageQuery;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// A configured provider's health on this instance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderHealthView {
    pub provider: PaymentProvider,
    /// `healthy`, `eliminated` (out of rotation until `eliminated_until`) or `probing` (the next
    /// call decides).
    pub state: &'static str,
    pub eliminated_until: Option<DateTime<Utc>>,
    /// The calls in the window, and of them the errors (no connection, 5xx) and timeouts.
    pub calls: usize,
    pub errors: usize,
    pub timeouts: usize,
    /// Errors and timeouts over calls, in percent.
    pub error_percent: u8,
    pub mean_latency_ms: u64,
}

impl From<HealthSnapshot> for ProviderHealthView {
    fn from(s: HealthSnapshot) -> Self {
        Self {
            provider: s.provider,
            state: s.state.name(),
            eliminated_until: match s.state {
                HealthState::Eliminated { until } => Some(until),
                _ => None,
            },
            calls: s.calls,
            errors: s.errors,
            timeouts: s.timeouts,
            error_percent: s.error_percent,
            mean_latency_ms: s.mean_latency_ms,
        }
    }
}

/// The configured payment providers in configuration order, each with its health window and
/// state (admins).
#[utoipa::path(get, path = "/v1/admin/payments/providers", tag = "admin", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of providers.", body = Envelope<Vec<ProviderHealthView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn providers(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<ProviderHealthView>>> {
    auth.caller.require_admin()?;
    let (cursor, limit) = query.parse()?;
    let after: Option<PaymentProvider> = cursor.as_ref().map(|c| c.decode()).transpose()?;
    let mut all = state.payments.provider_health();
    if let Some(after) = after {
        let at = all
            .iter()
            .position(|s| s.provider == after)
            .map_or(all.len(), |i| i + 1);
        all.drain(..at);
    }
    all.truncate(limit.get() as usize + 1);
    Ok(ApiSuccess::page(
        Page::from_probe(all, limit, |s| s.provider),
        ProviderHealthView::from,
    ))
}
