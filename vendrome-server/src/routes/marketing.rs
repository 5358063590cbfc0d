//! Marketing campaigns: create, change, list and read them, their moves, funding through a
//! checkout, the audience estimate, event ingest, stats (JSON or CSV), and the caller's
//! direct-marketing consent; see `vendrome_core::marketing`.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vendrome_core::enums::{
    LookingFor, MarketingBidModel, MarketingCampaignStatus, MarketingEventKind, MarketingObjective,
    VerificationLevel,
};
use vendrome_core::ids::{CampaignId, PaymentId, PostId, TopicId, UserId};
use vendrome_core::marketing::{
    AdEvent, Bid, Campaign, CampaignAction, CampaignDraft, CampaignPatch, Granularity,
    IngestReport, StatsBucket, Targeting,
};
use vendrome_core::money::Currency;
use vendrome_core::validation::ValidationErrors;

use super::orders::{idempotency_key, CheckoutRequest};
use super::page::PageQuery;
use super::payments::PaymentView;
use crate::auth::Authenticated;
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::idempotency::KEY_HEADER;
use crate::state::AppState;

/// Who a campaign is shown to: a dimension left out does not restrict; the values of one are
/// alternatives, dimensions combine. Members who have not opted in are never shown anything.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetingBody {
    /// Profile industry slugs (lower-case).
    #[serde(default)]
    pub industries: Vec<String>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Profile cities (any case).
    #[serde(default)]
    pub cities: Vec<String>,
    /// Followed topics.
    #[serde(default)]
    pub topics: Vec<TopicId>,
    #[serde(default)]
    pub verification_levels: Vec<VerificationLevel>,
    /// 1: the owner's connections; 2: also their connections' connections.
    #[schema(minimum = 1, maximum = 2)]
    pub connection_degree: Option<u8>,
    #[serde(default)]
    pub looking_for: Vec<LookingFor>,
}

impl From<TargetingBody> for Targeting {
    fn from(t: TargetingBody) -> Self {
        Targeting {
            industries: t.industries,
            countries: t.countries,
            cities: t.cities,
            topics: t.topics,
            verification_levels: t.verification_levels,
            connection_degree: t.connection_degree,
            looking_for: t.looking_for,
        }
    }
}

impl From<Targeting> for TargetingBody {
    fn from(t: Targeting) -> Self {
        TargetingBody {
            industries: t.industries,
            countries: t.countries,
            cities: t.cities,
            topics: t.topics,
            verification_levels: t.verification_levels,
            connection_degree: t.connection_degree,
            looking_for: t.looking_for,
        }
    }
}

/// What a campaign pays.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidBody {
    pub model: MarketingBidModel,
    /// Minor units per 1,000 impressions (`cpm`) or per click (`cpc`); more than zero.
    pub amount: i64,
}

/// A campaign, as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: CampaignId,
    pub owner_id: UserId,
    pub name: String,
    pub objective: MarketingObjective,
    pub status: MarketingCampaignStatus,
    /// The promoted post; null once it was deleted.
    pub post_id: Option<PostId>,
    pub bid: BidBody,
    /// Minor units.
    pub total_budget: i64,
    pub daily_budget: Option<i64>,
    pub currency: String,
    /// Spent so far: never above the total budget.
    pub spent_amount: i64,
    pub targeting: TargetingBody,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// When the owner submitted the draft for funding.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The charge that funded the budget.
    pub funding_payment_id: Option<PaymentId>,
    /// The unspent rest of a funded budget, back in the ad balance when the campaign ended.
    pub released_amount: Option<i64>,
    /// What of the released remainder was refunded to the payer (succeeded refunds).
    pub refunded_amount: i64,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Campaign> for CampaignView {
    fn from(c: Campaign) -> Self {
        Self {
            id: c.id,
            owner_id: c.owner_id,
            name: c.name,
            objective: c.objective,
            status: c.status,
            post_id: c.post_id,
            bid: BidBody {
                model: c.bid.model,
                amount: c.bid.amount,
            },
            total_budget: c.budget.amount,
            daily_budget: c.daily_budget,
            currency: c.budget.currency.to_string(),
            spent_amount: c.spent,
            targeting: c.targeting.into(),
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            submitted_at: c.submitted_at,
            funding_payment_id: c.funding_payment_id,
            released_amount: c.released_amount,
            refunded_amount: c.refunded_amount,
            ended_at: c.ended_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A new campaign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaignRequest {
    /// One of the caller's own live posts.
    pub post_id: PostId,
    /// 1 to 200 characters.
    pub name: String,
    pub objective: MarketingObjective,
    pub bid: BidBody,
    /// Minor units, more than zero: what funding charges.
    pub total_budget: i64,
    /// Minor units, at most the total budget.
    pub daily_budget: Option<i64>,
    /// ISO 4217.
    pub currency: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub targeting: TargetingBody,
}

/// Changes to a draft (not yet submitted) or paused campaign; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaignRequest {
    pub name: Option<String>,
    pub objective: Option<MarketingObjective>,
    pub bid: Option<BidBody>,
    /// Not once funded.
    pub total_budget: Option<i64>,
    pub daily_budget: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub targeting: Option<TargetingBody>,
}

/// The targeting to estimate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceEstimateRequest {
    pub targeting: TargetingBody,
}

/// Refund an ended (completed or cancelled) campaign's unspent remainder, as its owner: the
/// released amount, less what earlier refunds took, goes back to the payer through the provider
/// of the funding charge, out of the owner's ad balance. `Idempotency-Key` is required: a retry
/// with it answers the same refund and moves no money twice.
#[utoipa::path(post, path = "/v1/marketing/campaigns/{id}/refund", tag = "marketing", security(("bearer" = [])),
    params(("id" = CampaignId, Path, description = "The campaign."),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "The refund's key: a retry with it answers the same refund.")),
    responses(
        (status = 201, description = "The refund, a payment of kind `refund`.", body = Envelope<PaymentView>),
        (status = 400, description = "`idempotency_key_required`, `invalid_idempotency_key`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`: the provider refused the refund.", body = ErrorEnvelope),
        (status = 404, description = "No such campaign of the caller's; `provider_not_configured`.", body = ErrorEnvelope),
        (status = 409, description = "`campaign_not_ended`; `nothing_to_refund`; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`payment_rejected`: the provider refused the refund.", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry with the same key.", body = ErrorEnvelope),
    ))]
pub async fn refund_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<ApiSuccess<PaymentView>> {
    let id = campaign_id(&id)?;
    if !headers.contains_key(&KEY_HEADER) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "a campaign's refund needs an Idempotency-Key",
        ));
    }
    let refund = state
        .payments
        .refund_campaign(id, &auth.caller, &idempotency_key(&headers))
        .await?;
    Ok(ApiSuccess::created(refund.into()))
}

/// How many members a targeting reaches now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceEstimateView {
    /// Enabled members who opted in to direct marketing and match.
    pub members: i64,
}

/// One reported event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdEventBody {
    /// The reporter's id for the event: it counts once.
    pub event_id: uuid::Uuid,
    pub campaign_id: CampaignId,
    pub kind: MarketingEventKind,
    /// At most five minutes ahead, at most seven days old.
    pub at: DateTime<Utc>,
    /// The member who saw or clicked; the caller when absent. Only an admin reports others'.
    pub viewer_id: Option<UserId>,
}

/// A batch of events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// 1 to 1,000 events.
    pub events: Vec<AdEventBody>,
}

/// The caller's marketing settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketingSettings {
    /// Whether sponsored content may be targeted at the caller (POPIA s69); off until they
    /// opt in.
    pub direct_marketing: bool,
}

/// Which of the caller's campaigns.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignsQuery {
    /// Only campaigns in this status.
    pub status: Option<MarketingCampaignStatus>,
    /// 1 to 100; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page; empty or absent for the first page.
    #[serde(default, deserialize_with = "crate::routes::page::empty_as_none")]
    pub cursor: Option<String>,
}

/// Which stats.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    #[param(schema_with = granularities)]
    pub granularity: Option<String>,
    /// The first bucket's time (inclusive); 7 days before `to` when absent.
    pub from: Option<DateTime<Utc>>,
    /// The end (exclusive); now when absent. At most 2,000 buckets after `from`.
    pub to: Option<DateTime<Utc>>,
    #[param(schema_with = formats)]
    pub format: Option<String>,
}

fn granularities() -> utoipa::openapi::Object {
    super::page::one_of("`hour` or `day`; `day` when absent.", ["hour", "day"])
}

fn formats() -> utoipa::openapi::Object {
    super::page::one_of("`json` or `csv`; `json` when absent.", ["json", "csv"])
}

/// One bucket of a campaign's stats.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsBucketView {
    /// The bucket's start: an hour, or midnight UTC.
    pub start: DateTime<Utc>,
    pub impressions: i64,
    pub clicks: i64,
    /// Clicks per impression, to four places; 0 without impressions.
    pub ctr: f64,
    /// Minor units.
    pub spend: i64,
    /// Events past a budget: recorded, not charged.
    pub unbilled: i64,
}

fn ctr(b: &StatsBucket) -> f64 {
    if b.impressions == 0 {
        return 0.0;
    }
    (b.clicks as f64 / b.impressions as f64 * 10_000.0).round() / 10_000.0
}

impl From<StatsBucket> for StatsBucketView {
    fn from(b: StatsBucket) -> Self {
        Self {
            ctr: ctr(&b),
            start: b.start,
            impressions: b.impressions,
            clicks: b.clicks,
            spend: b.spend,
            unbilled: b.unbilled,
        }
    }
}

fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("campaign"))
}

fn currency(raw: &str) -> Result<Currency, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let parsed = errors.check("currency", Currency::parse(raw));
    errors.into_result()?;
    parsed.ok_or_else(|| ValidationErrors::single("currency", "invalid", "an ISO 4217 code"))
}

fn bid(b: BidBody) -> Bid {
    Bid {
        model: b.model,
        amount: b.amount,
    }
}

/// Create a draft campaign promoting one of the caller's own posts.
#[utoipa::path(post, path = "/v1/marketing/campaigns", tag = "marketing", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key answers the first response.")),
    request_body = CreateCampaignRequest,
    responses(
        (status = 201, description = "The campaign, `draft`.", body = Envelope<CampaignView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 409, description = "`idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`not_own_post`; `validation_failed` (`name`, `bid.amount`, `total_budget`, `daily_budget`, `ends_at`, `currency`, `targeting.*`).", body = ErrorEnvelope),
    ))]
pub async fn create_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateCampaignRequest>,
) -> ApiResult<ApiSuccess<CampaignView>> {
    let draft = CampaignDraft {
        post_id: body.post_id,
        name: body.name,
        objective: body.objective,
        bid: bid(body.bid),
        total_budget: body.total_budget,
        daily_budget: body.daily_budget,
        currency: currency(&body.currency)?,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        targeting: body.targeting.into(),
    };
    let c = state.marketing.create(&auth.caller, draft).await?;
    Ok(ApiSuccess::created(c.into()))
}

/// The caller's campaigns, newest first.
#[utoipa::path(get, path = "/v1/marketing/campaigns", tag = "marketing", security(("bearer" = [])),
    params(CampaignsQuery),
    responses(
        (status = 200, description = "A page of campaigns.", body = Envelope<Vec<CampaignView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: status, limit, cursor.", body = ErrorEnvelope),
    ))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<CampaignsQuery>,
) -> ApiResult<ApiSuccess<Vec<CampaignView>>> {
    let (cursor, limit) = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let (items, next_cursor) = state
        .marketing
        .campaigns(&auth.caller, query.status, cursor.as_ref(), limit)
        .await?;
    Ok(ApiSuccess::page(
        vendrome_core::page::Page { items, next_cursor },
        CampaignView::from,
    ))
}

/// One campaign, for its owner (or an admin).
#[utoipa::path(get, path = "/v1/marketing/campaigns/{id}", tag = "marketing", security(("bearer" = [])),
    params(("id" = CampaignId, Path, description = "The campaign.")),
    responses(
        (status = 200, description = "The campaign.", body = Envelope<CampaignView>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such campaign of the caller's.", body = ErrorEnvelope),
    ))]
pub async fn get_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<ApiSuccess<CampaignView>> {
    let c = state
        .marketing
        .campaign(&auth.caller, campaign_id(&id)?)
        .await?;
    Ok(ApiSuccess::ok(c.into()))
}

/// Change a draft (before it is submitted) or a paused campaign.
#[utoipa::path(patch, path = "/v1/marketing/campaigns/{id}", tag = "marketing", security(("bearer" = [])),
    params(("id" = CampaignId, Path, description = "The campaign.")),
    request_body = UpdateCampaignRequest,
    responses(
        (status = 200, description = "The campaign now.", body = Envelope<CampaignView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such campaign of the caller's.", body = ErrorEnvelope),
        (status = 409, description = "`campaign_not_editable`; `campaign_funded` (a funded budget).", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn update_campaign(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateCampaignRequest>,
) -> ApiResult<ApiSuccess<CampaignView>> {
    let patch = CampaignPatch {
        name: body.name,
        objective: body.objective,
        bid: body.bid.map(bid),
        total_budget: body.total_budget,
        daily_budget: body.daily_budget,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        targeting: body.targeting.map(Targeting::from),
    };
    let c = state
        .marketing
        .update(&auth.caller, campaign_id(&id)?, patch)
        .await?;
    Ok(ApiSuccess::ok(c.into()))
}

async fn act(
    state: &AppState,
    auth: &Authenticated,
    id: &str,
    action: CampaignAction,
) -> ApiResult<ApiSuccess<CampaignView>> {
    let c = state
        .marketing
        .act(&auth.caller, campaign_id(id)?, action)
        .await?;
    Ok(ApiSuccess::ok(c.into()))
}

macro_rules! move_route {
    ($name:ident, $path:literal, $action:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "marketing", security(("bearer" = [])),
            params(("id" = CampaignId, Path, description = "The campaign.")),
            responses(
                (status = 200, description = "The campaign now.", body = Envelope<CampaignView>),
                (status = 401, description = "No valid access token.", body = ErrorEnvelope),
                (status = 404, description = "No such campaign of the caller's.", body = ErrorEnvelope),
                (status = 409, description = "`invalid_campaign_transition`: its status does not allow this move.", body = ErrorEnvelope),
            ))]
        pub async fn $name(
            State(state): State<AppState>,
            auth: Authenticated,
            Path(id): Path<String>,
        ) -> ApiResult<ApiSuccess<CampaignView>> {
            act(&state, &auth, &id, CampaignAction::$action).await
        }
    };
}

move_route!(
    submit_campaign,
    "/v1/marketing/campaigns/{id}/submit",
    Submit,
    "Submit a draft: it can no longer be changed, and can be funded; its funding schedules it."
);
move_route!(
    pause_campaign,
    "/v1/marketing/campaigns/{id}/pause",
    Pause,
    "Pause an active campaign: it leaves delivery."
);
move_route!(
    resume_campaign,
    "/v1/marketing/campaigns/{id}/resume",
    Resume,
    "Resume a paused campaign."
);
move_route!(
    cancel_campaign,
    "/v1/marketing/campaigns/{id}/cancel",
    Cancel,
    "Cancel a campaign that has not ended; a funded budget's unspent rest stays in the ad balance."
);

/// Fund a submitted draft's total budget, as its owner: a checkout whose amount is the
/// campaign's budget. When it succeeds (the provider's webhook, or at once) the amount is in the
/// owner's ad balance and the campaign is `scheduled`.
#[utoipa::path(post, path = "/v1/marketing/campaigns/{id}/fund", tag = "marketing", security(("bearer" = [])),
    params(("id" = CampaignId, Path, description = "The campaign."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "The attempt's key: a retry with it resumes the same attempt.")),
    request_body(content = CheckoutRequest, description = "Empty for routing's choice."),
    responses(
        (status = 201, description = "The payment.", body = Envelope<PaymentView>),
        (status = 400, description = "`invalid_idempotency_key`, `malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 402, description = "`payment_declined`: the provider declined at once.", body = ErrorEnvelope),
        (status = 404, description = "No such campaign of the caller's; `provider_not_configured`.", body = ErrorEnvelope),
        (status = 409, description = "`campaign_not_submitted`; `already_paid`; `invalid_campaign_transition`; `idempotency_key_mismatch`, `idempotency_key_in_progress`.", body = ErrorEnvelope),
        (status = 422, description = "`payment_rejected`; `validation_failed` (`provider`).", body = ErrorEnvelope),
        (status = 503, description = "`provider_unavailable`: retry with the same key.", body = ErrorEnvelope),
    ))]
pub async fn fund_campaign(
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
        .fund_campaign(
            campaign_id(&id)?,
            &auth.caller,
            request,
            &idempotency_key(&headers),
        )
        .await?;
    Ok(ApiSuccess::created(payment.into()))
}

/// How many members a targeting reaches now: enabled members who opted in to direct
/// marketing (never the caller).
#[utoipa::path(post, path = "/v1/marketing/audience-estimate", tag = "marketing", security(("bearer" = [])),
    request_body = AudienceEstimateRequest,
    responses(
        (status = 200, description = "The estimate.", body = Envelope<AudienceEstimateView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`targeting.*`).", body = ErrorEnvelope),
    ))]
pub async fn audience_estimate(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<AudienceEstimateRequest>,
) -> ApiResult<ApiSuccess<AudienceEstimateView>> {
    let members = state
        .marketing
        .audience_estimate(&auth.caller, body.targeting.into())
        .await?;
    Ok(ApiSuccess::ok(AudienceEstimateView { members }))
}

/// Report impressions and clicks. Each event id counts once per campaign (repeats come back
/// as `duplicates`); new events are charged at the bid, never past the total or the day's
/// budget (the rest are recorded `unbilled`); a campaign whose budget is used up completes and
/// leaves delivery. A member reports their own events; an admin anyone's.
#[utoipa::path(post, path = "/v1/marketing/events", tag = "marketing", security(("bearer" = [])),
    request_body = IngestRequest,
    responses(
        (status = 200, description = "What the batch did.", body = Envelope<IngestReport>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 403, description = "`not_own_event`.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed` (`events`, `events[N].at`).", body = ErrorEnvelope),
    ))]
pub async fn ingest_events(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<IngestRequest>,
) -> ApiResult<ApiSuccess<IngestReport>> {
    // A member's missing viewer is the member.
    let viewers: Vec<UserId> = body
        .events
        .iter()
        .map(|e| e.viewer_id.unwrap_or(auth.caller.user_id))
        .collect();
    let events = body
        .events
        .into_iter()
        .map(|e| AdEvent {
            event_id: e.event_id,
            campaign_id: e.campaign_id,
            kind: e.kind,
            at: e.at,
            viewer_id: e.viewer_id,
        })
        .collect();
    let report = state.marketing.ingest(&auth.caller, events).await?;
    if let Some(delivery) = &state.delivery {
        delivery.ingested(viewers, &report);
    }
    Ok(ApiSuccess::ok(report))
}

/// A campaign's impressions, clicks, CTR, spend and unbilled events per hour or day, for its
/// owner; `format=csv` answers the same rows as CSV (`start,impressions,clicks,ctr,spend,unbilled`).
#[utoipa::path(get, path = "/v1/marketing/campaigns/{id}/stats", tag = "marketing", security(("bearer" = [])),
    params(("id" = CampaignId, Path, description = "The campaign."), StatsQuery),
    responses(
        (status = 200, description = "The buckets with activity, oldest first.", body = Envelope<Vec<StatsBucketView>>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 404, description = "No such campaign of the caller's.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: granularity, format, to.", body = ErrorEnvelope),
    ))]
pub async fn campaign_stats(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Response> {
    let granularity = match query.granularity.as_deref() {
        None | Some("day") => Granularity::Day,
        Some("hour") => Granularity::Hour,
        Some(_) => {
            return Err(ValidationErrors::single(
                "granularity",
                "invalid_choice",
                "is `hour` or `day`",
            )
            .into())
        }
    };
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(
                ValidationErrors::single("format", "invalid_choice", "is `json` or `csv`").into(),
            )
        }
    };
    let to = query.to.unwrap_or_else(vendrome_core::time::now);
    let from = query.from.unwrap_or(to - chrono::Duration::days(7));
    let buckets = state
        .marketing
        .stats(&auth.caller, campaign_id(&id)?, granularity, from, to)
        .await?;
    if csv {
        let mut text = String::from("start,impressions,clicks,ctr,spend,unbilled\n");
        for b in &buckets {
            text.push_str(&format!(
                "{},{},{},{:.4},{},{}\n",
                b.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                b.impressions,
                b.clicks,
                ctr(b),
                b.spend,
                b.unbilled
            ));
        }
        return Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response());
    }
    let views: Vec<StatsBucketView> = buckets.into_iter().map(StatsBucketView::from).collect();
    Ok(ApiSuccess::ok(views).into_response())
}

/// The caller's marketing settings.
#[utoipa::path(get, path = "/v1/me/settings/marketing", tag = "marketing", security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings.", body = Envelope<MarketingSettings>),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
    ))]
pub async fn get_marketing_settings(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<ApiSuccess<MarketingSettings>> {
    let direct_marketing = state.marketing.consent(&auth.caller).await?;
    Ok(ApiSuccess::ok(MarketingSettings { direct_marketing }))
}

/// Opt in to (or out of) direct marketing: sponsored content targeted at the caller. Off until
/// they opt in (POPIA s69).
#[utoipa::path(put, path = "/v1/me/settings/marketing", tag = "marketing", security(("bearer" = [])),
    request_body = MarketingSettings,
    responses(
        (status = 200, description = "The settings now.", body = Envelope<MarketingSettings>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 401, description = "No valid access token.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`.", body = ErrorEnvelope),
    ))]
pub async fn set_marketing_settings(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<MarketingSettings>,
) -> ApiResult<ApiSuccess<MarketingSettings>> {
    let direct_marketing = state
        .marketing
        .set_consent(&auth.caller, body.direct_marketing)
        .await?;
    state.audience_changed(auth.caller.user_id);
    Ok(ApiSuccess::ok(MarketingSettings { direct_marketing }))
}
