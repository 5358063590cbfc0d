//! The admin's reads of the money: ledger accounts with their balances, an account's entries,
//! and reconciliation runs with their discrepancies.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use vendrome_core::enums::{
    LedgerAccountKind, LedgerDirection, PaymentProvider, ReconciliationStatus,
};
use vendrome_core::ids::{LedgerTransactionId, PaymentId, ReconciliationRunId};
use vendrome_core::ledger::{Account, AccountCode, StoredEntry};
use vendrome_core::money::Currency;
use vendrome_core::page::Page;
use vendrome_core::payments::ReconciliationRun;

use super::page::PageQuery;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// A ledger account.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerAccountView {
    /// `provider:<p>:clearing:<CUR>`, `user:<id>:payable:<CUR>`, `platform:fees:<CUR>`, …
    #[schema(value_type = String)]
    pub code: AccountCode,
    pub kind: LedgerAccountKind,
    pub currency: Currency,
    /// Minor units, signed in the account's normal direction.
    pub balance: i64,
    pub created_at: DateTime<Utc>,
}

impl From<Account> for LedgerAccountView {
    fn from(a: Account) -> Self {
        Self {
            code: a.code,
            kind: a.kind,
            currency: a.currency,
            balance: a.balance,
            created_at: a.created_at,
        }
    }
}

/// One entry of an account, with its posting's key and description.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub transaction_id: LedgerTransactionId,
    /// The posting's idempotency key (`payment:<id>:succeeded`).
    pub idempotency_key: String,
    pub description: String,
    pub payment_id: Option<PaymentId>,
    pub direction: LedgerDirection,
    /// Minor units, positive.
    pub amount: i64,
    pub currency: Currency,
    pub created_at: DateTime<Utc>,
}

impl From<StoredEntry> for LedgerEntryView {
    fn from(e: StoredEntry) -> Self {
        Self {
            transaction_id: e.transaction_id,
            idempotency_key: e.idempotency_key,
            description: e.description,
            payment_id: e.payment_id,
            direction: e.direction,
            amount: e.amount,
            currency: e.currency,
            created_at: e.created_at,
        }
    }
}

/// A reconciliation run: the provider's settled transactions in `[from, to)` against the
/// ledger's postings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationRunView {
    pub id: ReconciliationRunId,
    pub provider: PaymentProvider,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub status: ReconciliationStatus,
    pub matched: i64,
    /// Each one `{kind: "missing_in_ledger" | "missing_at_provider" | "amount_mismatch",
    /// reference, …}`.
    #[schema(value_type = Vec<Object>)]
    pub discrepancies: Vec<serde_json::Value>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<ReconciliationRun> for ReconciliationRunView {
    fn from(r: ReconciliationRun) -> Self {
        Self {
            id: r.id,
            provider: r.provider,
            from: r.from,
            to: r.to,
            status: r.status,
            matched: r.matched,
            discrepancies: r
                .discrepancies
                .iter()
                .filter_map(|d| serde_json::to_value(d).ok())
                .collect(),
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// The ledger's accounts by code (admins).
#[utoipa::path(get, path = "/v1/admin/ledger/accounts", tag = "admin", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of accounts.", body = Envelope<Vec<LedgerAccountView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn accounts(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<LedgerAccountView>>> {
    auth.caller.require_admin()?;
    let (cursor, limit) = query.parse()?;
    let (items, next_cursor) = state.ledger.accounts(cursor.as_ref(), limit).await?;
    Ok(ApiSuccess::page(
        Page { items, next_cursor },
        LedgerAccountView::from,
    ))
}

/// An account's entries, oldest first (admins).
#[utoipa::path(get, path = "/v1/admin/ledger/accounts/{code}/entries", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "The account's code (`platform:fees:ZAR`)."), PageQuery),
    responses(
        (status = 200, description = "A page of entries.", body = Envelope<Vec<LedgerEntryView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such account.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn entries(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiSuccess<Vec<LedgerEntryView>>> {
    auth.caller.require_admin()?;
    let (cursor, limit) = query.parse()?;
    let not_found = || ApiError::not_found("ledger account");
    let code = AccountCode::parse(&code).ok_or_else(not_found)?;
    state.ledger.account(&code).await?.ok_or_else(not_found)?;
    let (items, next_cursor) = state.ledger.entries(&code, cursor.as_ref(), limit).await?;
    Ok(ApiSuccess::page(
        Page { items, next_cursor },
        LedgerEntryView::from,
    ))
}

/// A reconciliation run and what it found (admins).
#[utoipa::path(get, path = "/v1/admin/reconciliation/runs/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = ReconciliationRunId, Path, description = "The run.")),
    responses(
        (status = 200, description = "The run.", body = Envelope<ReconciliationRunView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such run.", body = ErrorEnvelope),
    ))]
pub async fn reconciliation_run(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<ReconciliationRunView>> {
    auth.caller.require_admin()?;
    let not_found = || ApiError::not_found("reconciliation run");
    let id: ReconciliationRunId = id.parse().map_err(|_| not_found())?;
    let run = state.reconciliation.run(id).await?.ok_or_else(not_found)?;
    Ok(ApiSuccess::ok(run.into()))
}
