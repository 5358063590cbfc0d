//! Campaign and commitment rows as the drivers decode them, and the writes other changes make
//! to them inside their own transaction: a payment's settlement moving its commitment (and the
//! campaign's totals), a settlement or cancellation giving back the reserve of commitments never
//! paid.

use futures::future::BoxFuture;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;
use vendrome_core::enums::{
    CommitmentStatus, InvestmentCampaignStatus, InvestmentInstrument, InvestmentModel,
    InvestmentSettlement, InvestmentStage,
};
use vendrome_core::ids::{CommitmentId, InvestmentCampaignId, PostId, UserId};
use vendrome_core::investments::{Campaign, Commitment, CommitmentMove};
use vendrome_core::money::Money;
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::orders::parse_currency;
use crate::sql_enum::DbEnum;

/// A campaign with its founder's profile industry and country (`bp`).
pub(crate) const CAMPAIGN_FROM: &str = "SELECT c.id, c.owner_id, c.post_id, c.title, c.summary, \
    c.instrument, c.stage, c.status, c.model, c.currency, c.goal_amount, c.min_commitment_amount, \
    c.max_commitment_amount, c.raised_amount, c.reserved_amount, c.committer_count, \
    c.platform_fee_bps, c.closes_at, bp.industry, bp.country_code, c.settlement, c.settled_at, \
    c.published_at, c.created_at, c.updated_at \
    FROM investment_campaigns c LEFT JOIN business_profiles bp ON bp.user_id = c.owner_id";

#[derive(sqlx::FromRow)]
pub(crate) struct CampaignRow {
    id: Uuid,
    owner_id: Uuid,
    post_id: Option<Uuid>,
    title: String,
    summary: String,
    instrument: DbEnum<InvestmentInstrument>,
    stage: Option<DbEnum<InvestmentStage>>,
    status: DbEnum<InvestmentCampaignStatus>,
    model: DbEnum<InvestmentModel>,
    currency: String,
    goal_amount: i64,
    min_commitment_amount: i64,
    max_commitment_amount: Option<i64>,
    raised_amount: i64,
    reserved_amount: i64,
    committer_count: i64,
    platform_fee_bps: i32,
    closes_at: Option<Timestamp>,
    industry: Option<String>,
    country_code: Option<String>,
    settlement: Option<DbEnum<InvestmentSettlement>>,
    settled_at: Option<Timestamp>,
    published_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = Error;
    fn try_from(r: CampaignRow) -> Result<Self> {
        Ok(Campaign {
            id: InvestmentCampaignId::from_uuid(r.id),
            owner_id: UserId::from_uuid(r.owner_id),
            post_id: r.post_id.map(PostId::from_uuid),
            title: r.title,
            summary: r.summary,
            instrument: r.instrument.0,
            stage: r.stage.map(|s| s.0),
            status: r.status.0,
            model: r.model.0,
            goal: Money::new(r.goal_amount, parse_currency(&r.currency)?),
            min_commitment: r.min_commitment_amount,
            max_commitment: r.max_commitment_amount,
            raised_amount: r.raised_amount,
            reserved_amount: r.reserved_amount,
            backers: r.committer_count,
            platform_fee_bps: u32::try_from(r.platform_fee_bps).unwrap_or(0),
            deadline: r.closes_at.ok_or_else(|| {
                Error::Unexpected(anyhow::anyhow!("campaign {} has no deadline", r.id))
            })?,
            industry: r.industry,
            country: r.country_code.map(|c| c.trim().to_owned()),
            settlement: r.settlement.map(|s| s.0),
            settled_at: r.settled_at,
            published_at: r.published_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(crate) const COMMITMENT_COLUMNS: &str =
    "id, campaign_id, investor_id, status, currency, amount, \
    country_code, review_reason, reviewed_by, created_at, updated_at, confirmed_at, cancelled_at, \
    refunded_at";

#[derive(sqlx::FromRow)]
pub(crate) struct CommitmentRow {
    id: Uuid,
    campaign_id: Uuid,
    investor_id: Uuid,
    status: DbEnum<CommitmentStatus>,
    currency: String,
    amount: i64,
    country_code: Option<String>,
    review_reason: Option<String>,
    reviewed_by: Option<Uuid>,
    created_at: Timestamp,
    updated_at: Timestamp,
    confirmed_at: Option<Timestamp>,
    cancelled_at: Option<Timestamp>,
    refunded_at: Option<Timestamp>,
}

impl TryFrom<CommitmentRow> for Commitment {
    type Error = Error;
    fn try_from(r: CommitmentRow) -> Result<Self> {
        Ok(Commitment {
            id: CommitmentId::from_uuid(r.id),
            campaign_id: InvestmentCampaignId::from_uuid(r.campaign_id),
            investor_id: UserId::from_uuid(r.investor_id),
            status: r.status.0,
            amount: Money::new(r.amount, parse_currency(&r.currency)?),
            country: r.country_code.map(|c| c.trim().to_owned()),
            review_reason: r.review_reason,
            reviewed_by: r.reviewed_by.map(UserId::from_uuid),
            created_at: r.created_at,
            updated_at: r.updated_at,
            confirmed_at: r.confirmed_at,
            cancelled_at: r.cancelled_at,
            refunded_at: r.refunded_at,
        })
    }
}

/// Gives back the reserve of a campaign's commitments never paid (in review or awaiting
/// payment) and cancels them: one statement for the campaign's reserve, one for the rows.
const RELEASE_UNPAID_RESERVE: &str =
    "UPDATE investment_campaigns SET reserved_amount = reserved_amount - \
    (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM investment_commitments \
     WHERE campaign_id = $1 AND status IN ('pending_review', 'pending')) WHERE id = $1";
const CANCEL_UNPAID: &str =
    "UPDATE investment_commitments SET status = 'cancelled', cancelled_at = $2, \
    updated_at = $2 WHERE campaign_id = $1 AND status IN ('pending_review', 'pending')";

/// Writes to commitments that ride along in another change's transaction.
pub(crate) trait CommitmentWrites {
    /// Applies `m` if the commitment is still in `m.from`, and moves the campaign's totals
    /// with it: a confirmation adds the amount to `raised_amount` and one backer (and makes a
    /// live campaign that reaches its goal `funded`); a refund takes both back and gives back
    /// the reserve. Answers whether it applied.
    fn apply_commitment_move<'a>(
        &'a mut self,
        m: &'a CommitmentMove,
    ) -> BoxFuture<'a, sqlx::Result<bool>>;

    /// Cancels the campaign's commitments never paid and gives back their reserve.
    fn cancel_unpaid<'a>(
        &'a mut self,
        campaign: InvestmentCampaignId,
        at: Timestamp,
    ) -> BoxFuture<'a, sqlx::Result<()>>;
}

macro_rules! impl_commitment_writes {
    ($conn:ty) => {
        impl CommitmentWrites for $conn {
            fn apply_commitment_move<'a>(
                &'a mut self,
                m: &'a CommitmentMove,
            ) -> BoxFuture<'a, sqlx::Result<bool>> {
                Box::pin(async move {
                    let stamp = match m.to {
                        CommitmentStatus::Confirmed => "confirmed_at",
                        CommitmentStatus::Refunded => "refunded_at",
                        _ => "cancelled_at",
                    };
                    let moved = sqlx::query(&format!(
                        "UPDATE investment_commitments SET status = $2, {stamp} = $4, updated_at = $4 \
                         WHERE id = $1 AND status = $3"
                    ))
                    .bind(m.commitment_id.as_uuid())
                    .bind(DbEnum(m.to))
                    .bind(DbEnum(m.from))
                    .bind(m.at)
                    .execute(&mut *self)
                    .await?
                    .rows_affected()
                        == 1;
                    if !moved {
                        return Ok(false);
                    }
                    let totals = match m.to {
                        CommitmentStatus::Confirmed => Some(
                            "UPDATE investment_campaigns SET raised_amount = raised_amount + $2, \
                             committer_count = committer_count + 1, \
                             status = CASE WHEN status = 'live' AND raised_amount + $2 >= goal_amount \
                             THEN 'funded' ELSE status END, updated_at = $3 WHERE id = $1",
                        ),
                        CommitmentStatus::Refunded => Some(
                            "UPDATE investment_campaigns SET raised_amount = raised_amount - $2, \
                             reserved_amount = reserved_amount - $2, \
                             committer_count = committer_count - 1, updated_at = $3 WHERE id = $1",
                        ),
                        CommitmentStatus::Cancelled => Some(
                            "UPDATE investment_campaigns SET reserved_amount = reserved_amount - $2, \
                             updated_at = $3 WHERE id = $1",
                        ),
                        CommitmentStatus::PendingReview | CommitmentStatus::Pending => None,
                    };
                    if let Some(sql) = totals {
                        sqlx::query(sql)
                            .bind(m.campaign_id.as_uuid())
                            .bind(m.amount)
                            .bind(m.at)
                            .execute(&mut *self)
                            .await?;
                    }
                    Ok(true)
                })
            }

            fn cancel_unpaid<'a>(
                &'a mut self,
                campaign: InvestmentCampaignId,
                at: Timestamp,
            ) -> BoxFuture<'a, sqlx::Result<()>> {
                Box::pin(async move {
                    sqlx::query(RELEASE_UNPAID_RESERVE)
                        .bind(campaign.as_uuid())
                        .execute(&mut *self)
                        .await?;
                    sqlx::query(CANCEL_UNPAID)
                        .bind(campaign.as_uuid())
                        .bind(at)
                        .execute(&mut *self)
                        .await?;
                    Ok(())
                })
            }
        }
    };
}

impl_commitment_writes!(PgConnection);
impl_commitment_writes!(SqliteConnection);
