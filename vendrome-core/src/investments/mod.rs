//! Investments: crowdfunding campaigns made from a founder's crowdfunding post, commitments
//! held in the campaign's escrow, and their settlement at the deadline; the deal flow between
//! investment offers and requests ([`matches`]).
//!
//! A campaign's terms (goal, bounds, deadline, model, fee) are fixed while it is a draft and
//! cannot change once live ([`campaign_transition`]). A commitment reserves its amount on the
//! campaign in its own insert's transaction (`reserved_amount`, compared with 150 % of an
//! all-or-nothing goal in the same conditional `UPDATE`), is paid through the payments
//! orchestrator, and its charge's settlement confirms it and adds it to `raised_amount` and the
//! backers in that settlement's transaction, so the totals are exact however many commit at
//! once. [`rules`] holds the verification gates and the cross-border corridors, as data.

pub mod matches;
pub mod rules;
mod service;
mod status;

use async_trait::async_trait;

pub use self::matches::{DealMatch, MatchReason};
pub use self::rules::{Assessment, Corridor, InvestmentRules};
pub use self::service::{
    check_withdrawal, settlement_decision, Clock, CreateCampaign, InvestmentConfig,
    InvestmentService, CAMPAIGN_FULL_PERCENT, WITHDRAWAL_CUTOFF,
};
pub use self::status::{
    campaign_transition, commitment_transition, CampaignAction, CommitmentAction,
};
use crate::audit::{AuditContext, NewAuditEvent};
use crate::enums::{
    CommitmentStatus, InvestmentCampaignStatus, InvestmentInstrument, InvestmentModel,
    InvestmentSettlement, InvestmentStage, PostType, VerificationLevel,
};
use crate::ids::{CommitmentId, InvestmentCampaignId, PostId, UserId};
use crate::ledger::Posting;
use crate::money::{Currency, Money};
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::Result;

/// A stored campaign, with its founder's industry and country (from their profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: InvestmentCampaignId,
    pub owner_id: UserId,
    pub post_id: Option<PostId>,
    pub title: String,
    pub summary: String,
    pub instrument: InvestmentInstrument,
    pub stage: Option<InvestmentStage>,
    pub status: InvestmentCampaignStatus,
    pub model: InvestmentModel,
    pub goal: Money,
    pub min_commitment: i64,
    pub max_commitment: Option<i64>,
    /// Confirmed commitments' total (what the escrow holds until the settlement).
    pub raised_amount: i64,
    /// Commitments that may still take money: in review, awaiting payment, confirmed.
    pub reserved_amount: i64,
    /// Confirmed commitments.
    pub backers: i64,
    pub platform_fee_bps: u32,
    pub deadline: Timestamp,
    pub industry: Option<String>,
    pub country: Option<String>,
    pub settlement: Option<InvestmentSettlement>,
    pub settled_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Campaign {
    /// Whole percent of the goal raised, rounded down.
    pub fn percent_funded(&self) -> i64 {
        let percent = i128::from(self.raised_amount) * 100 / i128::from(self.goal.amount.max(1));
        i64::try_from(percent).unwrap_or(i64::MAX)
    }

    /// The most commitments may reserve: 150 % of the goal for all-or-nothing, none for
    /// keep-it-all.
    pub fn cap(&self) -> Option<i64> {
        match self.model {
            InvestmentModel::AllOrNothing => Some(
                i64::try_from(i128::from(self.goal.amount) * CAMPAIGN_FULL_PERCENT / 100)
                    .unwrap_or(i64::MAX),
            ),
            InvestmentModel::KeepItAll => None,
        }
    }

    /// Whether commitments are taken: live or funded, before the deadline.
    pub fn is_open(&self, now: Timestamp) -> bool {
        matches!(
            self.status,
            InvestmentCampaignStatus::Live | InvestmentCampaignStatus::Funded
        ) && now < self.deadline
            && self.settlement.is_none()
    }
}

/// A campaign as the store is asked to create it, `draft`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub id: InvestmentCampaignId,
    pub owner_id: UserId,
    pub post_id: PostId,
    pub title: String,
    pub summary: String,
    pub instrument: InvestmentInstrument,
    pub model: InvestmentModel,
    pub goal: Money,
    pub min_commitment: i64,
    pub max_commitment: Option<i64>,
    pub platform_fee_bps: u32,
    pub deadline: Timestamp,
    pub created_at: Timestamp,
}

/// A live crowdfunding post, as a campaign is made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrowdfundingPost {
    pub post_id: PostId,
    pub author_id: UserId,
    pub title: String,
    pub summary: String,
    pub instrument: InvestmentInstrument,
}

/// What the gates look at of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backer {
    pub user_id: UserId,
    pub level: VerificationLevel,
    /// Their profile's ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
}

/// A stored commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    pub id: CommitmentId,
    pub campaign_id: InvestmentCampaignId,
    pub investor_id: UserId,
    pub status: CommitmentStatus,
    pub amount: Money,
    /// The backer's country when they committed.
    pub country: Option<String>,
    pub review_reason: Option<String>,
    pub reviewed_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub refunded_at: Option<Timestamp>,
}

/// A commitment as the store is asked to create it (`pending`, or `pending_review`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommitment {
    pub id: CommitmentId,
    pub campaign_id: InvestmentCampaignId,
    pub investor_id: UserId,
    pub status: CommitmentStatus,
    pub amount: Money,
    pub country: Option<String>,
    /// The backer's `Idempotency-Key`: a retried request finds the same commitment.
    pub idempotency_key: String,
    pub created_at: Timestamp,
}

/// What [`InvestmentRepo::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Created(Commitment),
    /// The backer made a commitment with this key already: that one, as it is now.
    Existing(Commitment),
    /// Reserving the amount would pass the cap.
    Full,
    /// The campaign no longer takes commitments (not live or funded, or being settled).
    Closed,
}

/// What a campaign list is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignFilter {
    pub status: Option<InvestmentCampaignStatus>,
    /// The founder's profile industry slug.
    pub industry: Option<String>,
    /// The founder's profile country.
    pub country: Option<String>,
    pub instrument: Option<InvestmentInstrument>,
}

/// The order of a campaign list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CampaignSort {
    /// Nearest deadline first.
    EndingSoon,
    /// Largest raised amount first.
    MostFunded,
    /// Newest first.
    #[default]
    Newest,
}

/// A move of a campaign's status, applied only if it is still in `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignMove {
    pub id: InvestmentCampaignId,
    pub from: InvestmentCampaignStatus,
    pub to: InvestmentCampaignStatus,
    pub at: Timestamp,
}

/// A move of a commitment that its payment's settlement makes, applied (with the campaign's
/// totals) only if the commitment is still in `from`: `pending -> confirmed` when its charge
/// succeeds, `confirmed -> refunded` when its refund does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitmentMove {
    pub commitment_id: CommitmentId,
    pub campaign_id: InvestmentCampaignId,
    pub from: CommitmentStatus,
    pub to: CommitmentStatus,
    pub amount: i64,
    pub at: Timestamp,
}

/// An admin's review of a commitment held `pending_review`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentReview {
    pub commitment_id: CommitmentId,
    pub approve: bool,
    pub reason: String,
    pub by: UserId,
    pub at: Timestamp,
}

/// What the settlement of a campaign decided, written once: the campaign's move (to `closed`,
/// or it stays `cancelled`), the escrow's fate, the release's posting, and the cancellation of
/// commitments never paid.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementDecision {
    pub campaign_id: InvestmentCampaignId,
    pub from: InvestmentCampaignStatus,
    pub to: InvestmentCampaignStatus,
    pub settlement: InvestmentSettlement,
    /// The release's posting (`campaign:<id>:release`), when there is something to release.
    pub release: Option<Posting>,
    pub at: Timestamp,
}

/// Storage of campaigns and commitments.
#[async_trait]
pub trait InvestmentRepo: Send + Sync {
    /// The live crowdfunding post; `None` when `post` is not one.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn crowdfunding_post(&self, post: PostId) -> Result<Option<CrowdfundingPost>>;

    /// The member's verification level and profile country; `None` when there is no enabled
    /// member.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn backer(&self, user: UserId) -> Result<Option<Backer>>;

    /// Stores the campaign `draft`; `None` when its post has a campaign already.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_campaign(&self, campaign: &NewCampaign) -> Result<Option<Campaign>>;

    /// The campaign; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn campaign(&self, id: InvestmentCampaignId) -> Result<Option<Campaign>>;

    /// Applies `change` if the campaign is still in `change.from`, stamping `published_at` on
    /// a publication; a cancellation also records the settlement `refund`, so the settlement
    /// task refunds its confirmed commitments. `None` when it was not in `from`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn move_campaign(&self, change: CampaignMove) -> Result<Option<Campaign>>;

    /// Campaigns other than drafts (a founder's own drafts included when `viewer` is theirs),
    /// matching `filter`, in `sort` order, one statement per page.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out;
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn campaigns(
        &self,
        viewer: Option<UserId>,
        filter: &CampaignFilter,
        sort: CampaignSort,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Campaign>, Option<Cursor>)>;

    /// Stores the commitment and reserves its amount on its campaign in one transaction,
    /// unless the backer used its key already ([`CommitOutcome::Existing`]). The reserve is one
    /// conditional `UPDATE` of the campaign: it applies only while the campaign is live or
    /// funded, before its deadline and unsettled ([`CommitOutcome::Closed`] otherwise), and
    /// while the reserved total stays within `cap` ([`CommitOutcome::Full`] otherwise; `None`
    /// is no cap), so concurrent commitments never pass it.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn commit(&self, commitment: &NewCommitment, cap: Option<i64>) -> Result<CommitOutcome>;

    /// The commitment; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn commitment(&self, id: CommitmentId) -> Result<Option<Commitment>>;

    /// The member's commitments, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out;
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn commitments_of(
        &self,
        investor: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Commitment>, Option<Cursor>)>;

    /// Applies an admin's review to a commitment still `pending_review` (approved: `pending`;
    /// rejected: `cancelled`, its reserve given back), with `audit` attributed to `context`, in
    /// one transaction; `None` when it was not in review.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn review_commitment(
        &self,
        review: &CommitmentReview,
        audit: &NewAuditEvent,
        context: &AuditContext,
    ) -> Result<Option<Commitment>>;

    /// Leases one campaign that needs settling to the caller until `now + lease`: past its
    /// deadline and not settled (or with a settlement decided and not finished), not leased to
    /// another settler. Of several settlers asking at once, one gets each campaign
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn claim_settlement(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
    ) -> Result<Option<Campaign>>;

    /// Writes `decision` once: a compare-and-set of the campaign from `decision.from` that
    /// records the settlement, cancels its commitments never paid (in review or awaiting
    /// payment, their reserve given back), and writes the release's posting and `settled_at`
    /// for a release, in one transaction. `false` when the campaign was not in `from` or was
    /// decided already (nothing is written).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn decide_settlement(&self, decision: &SettlementDecision) -> Result<bool>;

    /// Up to `limit` confirmed commitments of the campaign with no refund under way (none, or
    /// only failed ones), oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn refunds_due(
        &self,
        campaign: InvestmentCampaignId,
        limit: u32,
    ) -> Result<Vec<Commitment>>;

    /// Stamps `settled_at` on a campaign decided `refund` and releases its lease.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn finish_settlement(&self, campaign: InvestmentCampaignId, at: Timestamp) -> Result<()>;

    /// The author of a live, public investment offer or request; `None` when `post` is not one
    /// (or is another type).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn deal_post(&self, post: PostId, kind: PostType) -> Result<Option<UserId>>;

    /// The caller's deal flow: investment offers matched to the caller's investment requests
    /// and requests matched to their offers, in one currency, scored (see [`matches`]), best
    /// first, one statement per page.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out;
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn matches(
        &self,
        viewer: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<DealMatch>, Option<Cursor>)>;
}

/// A currency's code, for messages.
pub(crate) fn amount_text(amount: i64, currency: Currency) -> String {
    format!(
        "{} {currency}",
        Money::new(amount, currency).to_decimal_string()
    )
}
