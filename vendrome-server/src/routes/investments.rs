//! Investment campaigns and commitments: a founder's campaign made from their crowdfunding
//! post, published and cancelled; the list and one campaign with its totals; a backer's
//! commitment (paid through the payments orchestrator into the campaign's escrow), its
//! checkout after a review, its withdrawal; an admin's review of a held commitment. See
//! `vendrome_core::investments`; the deal flow is in `routes/deal_flow.rs`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::audit::AuditContext;
use vendrome_core::enums::{
    CommitmentStatus, InvestmentCampaignStatus, InvestmentInstrument, InvestmentModel,
    InvestmentSettlement, InvestmentStage,
};
use vendrome_core::ids::{CommitmentId, InvestmentCampaignId, PostId, UserId};
use vendrome_core::investments::{
    Campaign, CampaignFilter, CampaignSort, Commitment, CreateCampaign,
};
use vendrome_core::money::Currency;

use super::orders::{idempotency_key, CheckoutRequest};
use super::page::PageQuery;
use super::payments::PaymentView;
use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, ClientIp};
use crate::request_id;
use crate::state::AppState;

/// A campaign with its totals. Amounts are minor units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvestmentCampaignView {
    pub id: InvestmentCampaignId,
    /// The founder.
    pub owner: UserId,
    /// The crowdfunding post it was made from.
    pub post_id: Option<PostId>,
    pub title: String,
    pub summary: String,
    pub instrument: InvestmentInstrument,
    pub stage: Option<InvestmentStage>,
    pub status: InvestmentCampaignStatus,
    pub model: InvestmentModel,
    pub currency: Currency,
    pub goal_amount: i64,
    pub min_commitment: i64,
    pub max_commitment: Option<i64>,
    /// Confirmed commitments' total, held in escrow until the settlement.
    pub raised_amount: i64,
    /// Confirmed commitments.
    pub backers: i64,
    /// Whole percent of the goal raised, rounded down.
    pub percent_funded: i64,
    pub deadline: DateTime<Utc>,
    /// The founder's profile industry and country.
    pub industry: Option<String>,
    pub country: Option<String>,
    /// What the settlement decided, once it has.
    pub settlement: Option<InvestmentSettlement>,
    pub settled_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Campaign> for InvestmentCampaignView {
    fn from(c: Campaign) -> Self {
        Self {
            percent_funded: c.percent_funded(),
            id: c.id,
            owner: c.owner_id,
            post_id: c.post_id,
            title: c.title,
            summary: c.summary,
            instrument: c.instrument,
            stage: c.stage,
            status: c.status,
            model: c.model,
            currency: c.goal.currency,
            goal_amount: c.goal.amount,
            min_commitment: c.min_commitment,
            max_commitment: c.max_commitment,
            raised_amount: c.raised_amount,
            backers: c.backers,
            deadline: c.deadline,
            industry: c.industry,
            country: c.country,
            settlement: c.settlement,
            settled_at: c.settled_at,
            published_at: c.published_at,
            created_at: c.created_at,
        }
    }
}

/// A backer's commitment. `amount` is minor units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentView {
    pub id: CommitmentId,
    pub campaign_id: InvestmentCampaignId,
    /// The backer.
    pub investor: UserId,
    pub status: CommitmentStatus,
    pub amount: i64,
    pub currency: Currency,
    /// The backer's country when they committed.
    pub country: Option<String>,
    /// The admin's reason, once reviewed.
    pub review_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
}

impl From<Commitment> for CommitmentView {
    fn from(c: Commitment) -> Self {
        Self {
            id: c.id,
            campaign_id: c.campaign_id,
            investor: c.investor_id,
            status: c.status,
            amount: c.amount.amount,
            currency: c.amount.currency,
            country: c.country,
            review_reason: c.review_reason,
            created_at: c.created_at,
            confirmed_at: c.confirmed_at,
            refunded_at: c.refunded_at,
        }
    }
}

/// A commitment as made, with its payment when it was paid at once (`null` while it waits
/// for review).
#[derive(Debug, Serialize, ToSchema)]
pub struct CommittedView {
    pub commitment: CommitmentView,
    pub payment: Option<PaymentView>,
}

/// A founder's campaign, from their crowdfunding post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvestmentCampaignRequest {
    pub post_id: PostId,
    /// Minor units of `currency`; more than 0.
    pub goal_amount: i64,
    pub currency: Currency,
    /// Minor units; at least 1, at most the goal.
    pub min_commitment: i64,
    /// Minor units; at least the minimum.
    pub max_commitment: Option<i64>,
    /// In the future, at most a year ahead.
    pub deadline: DateTime<Utc>,
    pub model: InvestmentModel,
    /// The post's when absent.
    pub instrument: Option<InvestmentInstrument>,
}

/// A commitment's amount.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// Minor units of the campaign's currency, within its bounds.
    pub amount: i64,
    /// How to pay (routing's choice when absent).
    #[serde(default)]
    pub provider: Option<vendrome_core::enums::PaymentProvider>,
    pub method: Option<String>,
    pub return_url: Option<String>,
}

/// An admin's decision on a held commitment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: ReviewDecision,
    /// 1 to 500 characters, kept in the audit event.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Reject,
}

/// The list's filters and order.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvestmentCampaignsQuery {
    pub status: Option<InvestmentCampaignStatus>,
    /// The founder's profile industry slug.
    pub industry: Option<String>,
    /// The founder's profile country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    pub instrument: Option<InvestmentInstrument>,
    #[param(schema_with = sorts)]
    pub sort: Option<SortParam>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn sorts() -> utoipa::openapi::Object {
    super::page::one_of(
        "`newest` (the default), `ending_soon` or `most_funded`.",
        ["newest", "ending_soon", "most_funded"],
    )
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortParam {
    Newest,
    EndingSoon,
    MostFunded,
}

/// A page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

fn campaign_id(raw: &str) -> Result<InvestmentCampaignId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("campaign"))
}

fn commitment_id(raw: &str) -> Result<CommitmentId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("commitment"))
}

/// Make a draft campaign from the caller's crowdfunding post. Its terms are fixed once live.
#[utoipa::path(post, path = "/v1/investments/campaigns", operation_id = "create_investment_campaign", tag = "investments", security(("bearer" = [])),
    request_body = CreateInvestmentCampaignRequest,
    responses(
        (status = 201, description = "The campaign, `draft`.", body = Envelope<InvestmentCampaignView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_campaign_owner`: someone else's post.", body = ErrorEnvelope),
        (status = 409, description = "`campaign_exists`.", body = ErrorEnvelope),
        (status = 422, description = "`not_a_crowdfunding_post`; `validation_failed` (`goal_amount`, `min_commitment`, `max_commitment`, `deadline`).", body = ErrorEnvelope),
    ))]
pub async fn create_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateInvestmentCampaignRequest>,
) -> ApiResult<ApiSuccess<InvestmentCampaignView>> {
    let ask = CreateCampaign {
        post_id: body.post_id,
        goal_amount: body.goal_amount,
        currency: body.currency,
        min_commitment: body.min_commitment,
        max_commitment: body.max_commitment,
        deadline: body.deadline,
        model: body.model,
        instrument: body.instrument,
    };
    let campaign = state.investments.create_campaign(&auth.caller, ask).await?;
    Ok(ApiSuccess::created(campaign.into()))
}

/// Campaigns other than drafts (and the caller's own drafts), filtered and sorted.
#[utoipa::path(get, path = "/v1/investments/campaigns", operation_id = "list_investment_campaigns", tag = "investments",
    params(InvestmentCampaignsQuery),
    responses(
        (status = 200, description = "A page of campaigns.", body = Envelope<Vec<InvestmentCampaignView>>),
        (status = 401, description = "A bad, expired or revoked access token (signing in is optional).", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: status, instrument, sort, limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    ApiQuery(query): ApiQuery<InvestmentCampaignsQuery>,
) -> ApiResult<ApiSuccess<Vec<InvestmentCampaignView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let filter = CampaignFilter {
        status: query.status,
        industry: query.industry.filter(|s| !s.is_empty()),
        country: query.country.filter(|s| !s.is_empty()),
        instrument: query.instrument,
    };
    let sort = match query.sort {
        None | Some(SortParam::Newest) => CampaignSort::Newest,
        Some(SortParam::EndingSoon) => CampaignSort::EndingSoon,
        Some(SortParam::MostFunded) => CampaignSort::MostFunded,
    };
    let (items, next) = state
        .investments
        .campaigns(caller.as_ref(), &filter, sort, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(
        vendrome_core::page::Page {
            items,
            next_cursor: next,
        },
        InvestmentCampaignView::from,
    ))
}

/// One campaign with its raised amount, backers and percent funded (a draft only for its
/// founder or an admin).
#[utoipa::path(get, path = "/v1/investments/campaigns/{id}", operation_id = "get_investment_campaign", tag = "investments",
    params(("id" = InvestmentCampaignId, Path, description = "The campaign.")),
    responses(
        (status = 200, description = "The campaign.", body = Envelope<InvestmentCampaignView>),
        (status = 401, description = "A bad, expired or revoked access token (signing in is optional).", body = ErrorEnvelope),
        (status = 404, description = "No such campaign the caller may see.", body = ErrorEnvelope),
    ))]
pub async fn get_campaign(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<InvestmentCampaignView>> {
    let campaign = state
        .investments
        .campaign(caller.as_ref(), campaign_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(campaign.into()))
}

/// Take a draft live (the founder, `business_verified`). Its terms cannot change from then on.
#[utoipa::path(post, path = "/v1/investments/campaigns/{id}/publish", operation_id = "publish_investment_campaign", tag = "investments", security(("bearer" = [])),
    params(("id" = InvestmentCampaignId, Path, description = "The campaign.")),
    responses(
        (status = 200, description = "The campaign, `live`.", body = Envelope<InvestmentCampaignView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_campaign_owner`; `verification_required` (the message names the level).", body = ErrorEnvelope),
        (status = 404, description = "No such campaign the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_campaign_transition`; `campaign_ended`.", body = ErrorEnvelope),
    ))]
pub async fn publish_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<InvestmentCampaignView>> {
    let campaign = state
        .investments
        .publish(&auth.caller, campaign_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(campaign.into()))
}

/// Cancel a draft or live campaign (its founder or an admin); a live one's confirmed
/// commitments are refunded by the settlement task.
#[utoipa::path(post, path = "/v1/investments/campaigns/{id}/cancel", operation_id = "cancel_investment_campaign", tag = "investments", security(("bearer" = [])),
    params(("id" = InvestmentCampaignId, Path, description = "The campaign.")),
    responses(
        (status = 200, description = "The campaign, `cancelled`.", body = Envelope<InvestmentCampaignView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_campaign_owner`.", body = ErrorEnvelope),
        (status = 404, description = "No such campaign the caller may see.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_campaign_transition`.", body = ErrorEnvelope),
    ))]
pub async fn cancel_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<InvestmentCampaignView>> {
    let campaign = state
        .investments
        .cancel(&auth.caller, campaign_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(campaign.into()))
}

/// Commit to a campaign: the commitment reserves its amount and is paid at once through
/// checkout (its `payment` says what the backer does next), unless the rules hold it
/// `pending_review` for an admin (then `payment` is `null`, and it is paid through
/// `POST /v1/investments/commitments/{id}/checkout` once approved). Its payment's success
/// confirms it into the campaign's escrow. The same `Idempotency-Key` finds the same
/// commitment and payment.
#[utoipa::path(post, path = "/v1/investments/campaigns/{id}/commitments", tag = "investments", security(("bearer" = [])),
    params(("id" = InvestmentCampaignId, Path, description = "The campaign."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The commitment's key: a retry with it answers the same commitment.")),
    request_body = CommitRequest,
    responses(
        (status = 201, description = "The commitment and its payment.", body = Envelope<CommittedView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`.", body = ErrorEnvelope),
        (status = 403, description = "`verification_required` (the message names the level), `country_required`, `corridor_not_allowed`.", body = ErrorEnvelope),
        (status = 404, description = "No such campaign; `provider_not_configured`.", body = ErrorEnvelope),
        (status = 409, description = "`campaign_full`, `campaign_not_open`; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`own_campaign`; `validation_failed` (`amount`: `below_minimum`, `above_maximum`); `payment_rejected`.", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry with the same key.", body = ErrorEnvelope),
    ))]
pub async fn commit(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CommitRequest>,
) -> ApiResult<ApiSuccess<CommittedView>> {
    let key = idempotency_key(&headers);
    let commitment = state
        .investments
        .commit(&auth.caller, campaign_id(&id)?, body.amount, &key)
        .await?;
    let payment = if commitment.status == CommitmentStatus::PendingReview {
        None
    } else {
        let request = vendrome_payments::CheckoutRequest {
            provider: body.provider,
            method: body.method,
            return_url: body.return_url,
            country: commitment.country.clone(),
        };
        let payment = state
            .payments
            .checkout_commitment(commitment.id, &auth.caller, request, &key)
            .await?;
        Some(payment.into())
    };
    let commitment = state
        .investments
        .commitment(&auth.caller, commitment.id)
        .await?;
    Ok(ApiSuccess::created(CommittedView {
        commitment: commitment.into(),
        payment,
    }))
}

/// Pay a commitment awaiting payment (one approved after review, or a retry), as its backer.
#[utoipa::path(post, path = "/v1/investments/commitments/{id}/checkout", tag = "investments", security(("bearer" = [])),
    params(("id" = CommitmentId, Path, description = "The commitment."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The attempt's key: a retry with it resumes the same attempt.")),
    request_body(content = CheckoutRequest, description = "Empty for routing's choice."),
    responses(
        (status = 201, description = "The payment.", body = Envelope<PaymentView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`.", body = ErrorEnvelope),
        (status = 404, description = "No such commitment of the caller's; `provider_not_configured`.", body = ErrorEnvelope),
        (status = 409, description = "`already_paid`; `invalid_commitment_transition` (in review, cancelled, refunded); `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`payment_rejected`; `validation_failed` (`provider`).", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry with the same key.", body = ErrorEnvelope),
    ))]
pub async fn checkout_commitment(
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
        .checkout_commitment(
            commitment_id(&id)?,
            &auth.caller,
            request,
            &idempotency_key(&headers),
        )
        .await?;
    Ok(ApiSuccess::created(payment.into()))
}

/// One commitment, for its backer, the campaign's founder or an admin.
#[utoipa::path(get, path = "/v1/investments/commitments/{id}", tag = "investments", security(("bearer" = [])),
    params(("id" = CommitmentId, Path, description = "The commitment.")),
    responses(
        (status = 200, description = "The commitment.", body = Envelope<CommitmentView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such commitment the caller may see.", body = ErrorEnvelope),
    ))]
pub async fn get_commitment(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<CommitmentView>> {
    let commitment = state
        .investments
        .commitment(&auth.caller, commitment_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(commitment.into()))
}

/// The caller's commitments, newest first.
#[utoipa::path(get, path = "/v1/me/investments/commitments", tag = "investments", security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of commitments.", body = Envelope<Vec<CommitmentView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn my_commitments(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<PageParams>,
) -> ApiResult<ApiSuccess<Vec<CommitmentView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let (items, next) = state
        .investments
        .commitments_of(&auth.caller, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(
        vendrome_core::page::Page {
            items,
            next_cursor: next,
        },
        CommitmentView::from,
    ))
}

/// Withdraw a confirmed commitment, until 48 hours before the deadline: its charge is refunded
/// in full out of the escrow. Answers the refund; the commitment is `refunded` once it
/// succeeds.
#[utoipa::path(post, path = "/v1/investments/commitments/{id}/withdraw", tag = "investments", security(("bearer" = [])),
    params(("id" = CommitmentId, Path, description = "The commitment.")),
    responses(
        (status = 201, description = "The refund.", body = Envelope<PaymentView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such commitment of the caller's.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_commitment_transition` (not confirmed); `withdrawal_closed`.", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry.", body = ErrorEnvelope),
    ))]
pub async fn withdraw_commitment(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<PaymentView>> {
    let refund = state
        .payments
        .withdraw_commitment(&auth.caller, commitment_id(&id)?)
        .await?;
    Ok(ApiSuccess::created(refund.into()))
}

/// An admin approves (the backer may then pay) or rejects a commitment held for review, with
/// a reason; audited.
#[utoipa::path(post, path = "/v1/admin/investments/commitments/{id}/review", tag = "admin", security(("bearer" = [])),
    params(("id" = CommitmentId, Path, description = "The commitment.")),
    request_body = ReviewRequest,
    responses(
        (status = 200, description = "The commitment, `pending` or `cancelled`.", body = Envelope<CommitmentView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`admin_only`.", body = ErrorEnvelope),
        (status = 404, description = "No such commitment.", body = ErrorEnvelope),
        (status = 409, description = "`invalid_commitment_transition`: not in review.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`reason`).", body = ErrorEnvelope),
    ))]
pub async fn review_commitment(
    State(state): State<AppState>,
    auth: Authenticated,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> ApiResult<ApiSuccess<CommitmentView>> {
    auth.caller.require_admin()?;
    let context = AuditContext {
        actor_id: Some(auth.caller.user_id),
        ip: ip.map(|ip| ip.to_string()),
        request_id: Some(request_id::current()),
        via: None,
    };
    let commitment = state
        .investments
        .review(
            &auth.caller,
            commitment_id(&id)?,
            matches!(body.decision, ReviewDecision::Approve),
            &body.reason,
            &context,
        )
        .await?;
    Ok(ApiSuccess::ok(commitment.into()))
}
