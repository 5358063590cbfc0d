//! [`InvestmentService`]: who may create, publish, cancel and read campaigns, commit to them,
//! review held commitments and read their deal flow, over [`InvestmentRepo`] only; and the
//! pure decisions the payments orchestrator acts on (a commitment's payment, a withdrawal, a
//! campaign's settlement).

use std::sync::Arc;

use super::{
    amount_text, campaign_transition, commitment_transition, Campaign, CampaignAction,
    CampaignFilter, CampaignMove, CampaignSort, CommitOutcome, Commitment, CommitmentAction,
    CommitmentReview, DealMatch, InvestmentRepo, InvestmentRules, NewCampaign, NewCommitment,
    SettlementDecision,
};
use crate::access::Caller;
use crate::audit::{AuditContext, NewAuditEvent};
use crate::enums::{
    CommitmentStatus, InvestmentCampaignStatus, InvestmentInstrument, InvestmentModel,
    InvestmentSettlement, PostType, UserRole,
};
use crate::ids::{CommitmentId, InvestmentCampaignId, PostId};
use crate::ledger::postings;
use crate::money::{Currency, Money};
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::{Error, Result};

/// An all-or-nothing campaign takes commitments up to this percent of its goal.
pub const CAMPAIGN_FULL_PERCENT: i128 = 150;

/// A backer may withdraw a confirmed commitment until this long before the deadline.
pub const WITHDRAWAL_CUTOFF: chrono::Duration = chrono::Duration::hours(48);

/// The longest a campaign may run, from its creation.
const LONGEST_CAMPAIGN: chrono::Duration = chrono::Duration::days(365);

/// The longest reason an admin may give for a review.
const REASON_MAX: usize = 500;

/// The service's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvestmentConfig {
    /// The platform's fee on a release, in basis points of the amount raised (the orders'
    /// `--platform-fee-bps`).
    pub fee_bps: u32,
}

impl Default for InvestmentConfig {
    fn default() -> Self {
        Self {
            fee_bps: crate::orders::DEFAULT_PLATFORM_FEE_BPS,
        }
    }
}

/// A founder's campaign, as asked for (`POST /v1/investments/campaigns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCampaign {
    pub post_id: PostId,
    pub goal_amount: i64,
    pub currency: Currency,
    pub min_commitment: i64,
    pub max_commitment: Option<i64>,
    pub deadline: Timestamp,
    pub model: InvestmentModel,
    /// The post's instrument when absent.
    pub instrument: Option<InvestmentInstrument>,
}

/// Where the service reads the time (tests move it).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// See the module docs.
#[derive(Clone)]
pub struct InvestmentService {
    repo: Arc<dyn InvestmentRepo>,
    rules: Arc<InvestmentRules>,
    config: InvestmentConfig,
    clock: Clock,
}

fn not_owner() -> Error {
    Error::forbidden(
        "not_campaign_owner",
        "only the campaign's founder (or an admin) may do this",
    )
}

fn changed_meanwhile() -> Error {
    Error::conflict(
        "invalid_campaign_transition",
        "the campaign changed meanwhile; read it again",
    )
}

fn amount_field(code: &'static str, message: String) -> Error {
    ValidationErrors::single("amount", code, message).into()
}

impl InvestmentService {
    pub fn new(repo: Arc<dyn InvestmentRepo>, rules: InvestmentRules) -> Self {
        Self {
            repo,
            rules: Arc::new(rules),
            config: InvestmentConfig::default(),
            clock: Arc::new(crate::time::now),
        }
    }

    #[must_use]
    pub fn with_config(mut self, config: InvestmentConfig) -> Self {
        self.config = config;
        self
    }

    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn rules(&self) -> &InvestmentRules {
        &self.rules
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The founder makes a draft campaign from their crowdfunding post.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming each broken rule (a goal not positive, a minimum below 1 or
    /// above the goal, a maximum below the minimum, a deadline not in the future or more than
    /// a year ahead); [`Error::Unprocessable`] `not_a_crowdfunding_post` for a post that is not
    /// a live crowdfunding post; [`Error::Forbidden`] `not_campaign_owner` for someone else's
    /// post; [`Error::Conflict`] `campaign_exists` when the post has a campaign already.
    pub async fn create_campaign(&self, caller: &Caller, ask: CreateCampaign) -> Result<Campaign> {
        let now = self.now();
        let mut errors = ValidationErrors::new();
        if ask.goal_amount <= 0 {
            errors.add("goal_amount", "not_positive", "must be greater than 0");
        }
        if ask.min_commitment < 1 || ask.min_commitment > ask.goal_amount.max(1) {
            errors.add(
                "min_commitment",
                "out_of_range",
                "must be at least 1 and at most the goal",
            );
        }
        if ask
            .max_commitment
            .is_some_and(|max| max < ask.min_commitment)
        {
            errors.add(
                "max_commitment",
                "below_minimum",
                "must not be below the minimum commitment",
            );
        }
        if ask.deadline <= now || ask.deadline > now + LONGEST_CAMPAIGN {
            errors.add(
                "deadline",
                "out_of_range",
                "must be in the future and at most a year ahead",
            );
        }
        errors.into_result()?;
        let post = self
            .repo
            .crowdfunding_post(ask.post_id)
            .await?
            .ok_or_else(|| {
                Error::unprocessable(
                    "not_a_crowdfunding_post",
                    "a campaign is made from a live crowdfunding post",
                )
            })?;
        if post.author_id != caller.user_id {
            return Err(not_owner());
        }
        let new = NewCampaign {
            id: InvestmentCampaignId::new(),
            owner_id: caller.user_id,
            post_id: post.post_id,
            title: post.title,
            summary: post.summary,
            instrument: ask.instrument.unwrap_or(post.instrument),
            model: ask.model,
            goal: Money::new(ask.goal_amount, ask.currency),
            min_commitment: ask.min_commitment,
            max_commitment: ask.max_commitment,
            platform_fee_bps: self.config.fee_bps,
            deadline: ask.deadline,
            created_at: now,
        };
        self.repo
            .create_campaign(&new)
            .await?
            .ok_or_else(|| Error::conflict("campaign_exists", "this post has a campaign already"))
    }

    /// The campaign as `viewer` may see it: a draft only by its founder or an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`campaign`) when there is none or it is someone else's draft.
    pub async fn campaign(
        &self,
        viewer: Option<&Caller>,
        id: InvestmentCampaignId,
    ) -> Result<Campaign> {
        self.repo
            .campaign(id)
            .await?
            .filter(|c| {
                c.status != InvestmentCampaignStatus::Draft
                    || viewer.is_some_and(|v| v.user_id == c.owner_id || v.role == UserRole::Admin)
            })
            .ok_or(Error::not_found("campaign"))
    }

    /// Campaigns other than drafts (and the viewer's own drafts), filtered and sorted.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn campaigns(
        &self,
        viewer: Option<&Caller>,
        filter: &CampaignFilter,
        sort: CampaignSort,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Campaign>, Option<Cursor>)> {
        self.repo
            .campaigns(viewer.map(|v| v.user_id), filter, sort, after, limit)
            .await
    }

    async fn own_campaign(&self, caller: &Caller, id: InvestmentCampaignId) -> Result<Campaign> {
        let campaign = self.campaign(Some(caller), id).await?;
        if campaign.owner_id != caller.user_id && caller.role != UserRole::Admin {
            return Err(not_owner());
        }
        Ok(campaign)
    }

    /// The founder takes a draft live. Its terms cannot change from then on.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`campaign`); [`Error::Forbidden`] `not_campaign_owner` for anyone
    /// but the founder, `verification_required` for a founder not `business_verified`;
    /// [`Error::Conflict`] `invalid_campaign_transition` for a campaign that is not a draft,
    /// `campaign_ended` for a draft whose deadline has passed.
    pub async fn publish(&self, caller: &Caller, id: InvestmentCampaignId) -> Result<Campaign> {
        let campaign = self.own_campaign(caller, id).await?;
        if campaign.owner_id != caller.user_id {
            return Err(not_owner());
        }
        let to = campaign_transition(campaign.status, CampaignAction::Publish)?;
        let founder = self
            .repo
            .backer(campaign.owner_id)
            .await?
            .ok_or(Error::not_found("campaign"))?;
        self.rules.founder_may_publish(founder.level)?;
        let now = self.now();
        if campaign.deadline <= now {
            return Err(Error::conflict(
                "campaign_ended",
                "the campaign's deadline has passed",
            ));
        }
        self.repo
            .move_campaign(CampaignMove {
                id,
                from: campaign.status,
                to,
                at: now,
            })
            .await?
            .ok_or_else(changed_meanwhile)
    }

    /// The founder (or an admin) cancels a draft or live campaign. A live one's confirmed
    /// commitments are refunded by the settlement task.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`campaign`); [`Error::Forbidden`] `not_campaign_owner`;
    /// [`Error::Conflict`] `invalid_campaign_transition` for a campaign that is funded, closed
    /// or cancelled (also when another change came first).
    pub async fn cancel(&self, caller: &Caller, id: InvestmentCampaignId) -> Result<Campaign> {
        let campaign = self.own_campaign(caller, id).await?;
        let to = campaign_transition(campaign.status, CampaignAction::Cancel)?;
        self.repo
            .move_campaign(CampaignMove {
                id,
                from: campaign.status,
                to,
                at: self.now(),
            })
            .await?
            .ok_or_else(changed_meanwhile)
    }

    /// A backer commits `amount` (minor units, in the campaign's currency) under their
    /// `idempotency_key`: the commitment is `pending` (to be paid), or `pending_review` when
    /// the rules hold it for an admin. A retry with the same key answers the same commitment.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`campaign`) for a campaign that does not exist or is a draft;
    /// [`Error::Invalid`] (`amount`) below the minimum or above the maximum;
    /// [`Error::Unprocessable`] `own_campaign` for the founder;
    /// [`Error::Conflict`] `campaign_not_open` for a campaign not live or funded, past its
    /// deadline or being settled, `campaign_full` when the commitment would take an
    /// all-or-nothing campaign past 150 % of its goal; [`Error::Forbidden`] as
    /// [`InvestmentRules::assess`] names.
    pub async fn commit(
        &self,
        caller: &Caller,
        campaign_id: InvestmentCampaignId,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<Commitment> {
        let now = self.now();
        let campaign = self.campaign(Some(caller), campaign_id).await?;
        if campaign.owner_id == caller.user_id {
            return Err(Error::unprocessable(
                "own_campaign",
                "a founder cannot back their own campaign",
            ));
        }
        let currency = campaign.goal.currency;
        if amount < campaign.min_commitment {
            return Err(amount_field(
                "below_minimum",
                format!(
                    "must be at least {}",
                    amount_text(campaign.min_commitment, currency)
                ),
            ));
        }
        if let Some(max) = campaign.max_commitment.filter(|max| amount > *max) {
            return Err(amount_field(
                "above_maximum",
                format!("must be at most {}", amount_text(max, currency)),
            ));
        }
        if !campaign.is_open(now) {
            return Err(not_open());
        }
        let backer = self
            .repo
            .backer(caller.user_id)
            .await?
            .ok_or(Error::not_found("user"))?;
        let money = Money::new(amount, currency);
        let assessment = self
            .rules
            .assess(&backer, campaign.country.as_deref(), money)?;
        let new = NewCommitment {
            id: CommitmentId::new(),
            campaign_id,
            investor_id: caller.user_id,
            status: if assessment.review {
                CommitmentStatus::PendingReview
            } else {
                CommitmentStatus::Pending
            },
            amount: money,
            country: backer.country,
            idempotency_key: idempotency_key.to_owned(),
            created_at: now,
        };
        match self.repo.commit(&new, campaign.cap()).await? {
            CommitOutcome::Created(c) => Ok(c),
            CommitOutcome::Existing(c) if c.campaign_id == campaign_id && c.amount == money => {
                Ok(c)
            }
            CommitOutcome::Existing(_) => Err(Error::conflict(
                "idempotency_key_mismatch",
                "this Idempotency-Key was used for another commitment",
            )),
            CommitOutcome::Full => Err(Error::conflict(
                "campaign_full",
                format!(
                    "the campaign takes commitments up to {CAMPAIGN_FULL_PERCENT} % of its goal"
                ),
            )),
            CommitOutcome::Closed => Err(not_open()),
        }
    }

    /// The commitment, for its backer, the campaign's founder or an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`commitment`) when there is none or the caller may not see it.
    pub async fn commitment(&self, caller: &Caller, id: CommitmentId) -> Result<Commitment> {
        let commitment = self
            .repo
            .commitment(id)
            .await?
            .ok_or(Error::not_found("commitment"))?;
        if commitment.investor_id == caller.user_id || caller.role == UserRole::Admin {
            return Ok(commitment);
        }
        let campaign = self.repo.campaign(commitment.campaign_id).await?;
        if campaign.is_some_and(|c| c.owner_id == caller.user_id) {
            return Ok(commitment);
        }
        Err(Error::not_found("commitment"))
    }

    /// The caller's commitments, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn commitments_of(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Commitment>, Option<Cursor>)> {
        self.repo.commitments_of(caller.user_id, after, limit).await
    }

    /// An admin approves (the backer may pay) or rejects a commitment held for review, with a
    /// reason, audited in the same transaction.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] `admin_only`; [`Error::Invalid`] (`reason`) for an empty or
    /// over-long reason; [`Error::NotFound`] (`commitment`); [`Error::Conflict`]
    /// `invalid_commitment_transition` for one not in review (also when another review came
    /// first).
    pub async fn review(
        &self,
        caller: &Caller,
        id: CommitmentId,
        approve: bool,
        reason: &str,
        context: &AuditContext,
    ) -> Result<Commitment> {
        caller.require_admin()?;
        if reason.trim().is_empty() || reason.chars().count() > REASON_MAX {
            return Err(ValidationErrors::single(
                "reason",
                "out_of_range",
                format!("must be 1 to {REASON_MAX} characters"),
            )
            .into());
        }
        let reason = reason.trim();
        let commitment = self
            .repo
            .commitment(id)
            .await?
            .ok_or(Error::not_found("commitment"))?;
        let action = if approve {
            CommitmentAction::Approve
        } else {
            CommitmentAction::Reject
        };
        let to = commitment_transition(commitment.status, action)?;
        let review = CommitmentReview {
            commitment_id: id,
            approve,
            reason: reason.to_owned(),
            by: caller.user_id,
            at: self.now(),
        };
        let audit = NewAuditEvent {
            action: if approve {
                "investment.commitment_approved"
            } else {
                "investment.commitment_rejected"
            }
            .to_owned(),
            target_type: "investment_commitment".to_owned(),
            target_id: id.to_string(),
            details: serde_json::json!({
                "reason": reason,
                "before": {"status": commitment.status},
                "after": {"status": to},
                "amount": commitment.amount.amount,
                "currency": commitment.amount.currency,
                "country": commitment.country,
            }),
        };
        self.repo
            .review_commitment(&review, &audit, context)
            .await?
            .ok_or_else(|| {
                Error::conflict(
                    "invalid_commitment_transition",
                    "the commitment was reviewed meanwhile; read it again",
                )
            })
    }

    /// The author of the investment offer or request the caller expresses interest in.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`post`) when `post` is no live public post of `kind`;
    /// [`Error::Unprocessable`] `own_post` for the caller's own.
    pub async fn interest_target(
        &self,
        caller: &Caller,
        post: PostId,
        kind: PostType,
    ) -> Result<crate::ids::UserId> {
        let author = self
            .repo
            .deal_post(post, kind)
            .await?
            .ok_or(Error::not_found("post"))?;
        if author == caller.user_id {
            return Err(Error::unprocessable(
                "own_post",
                "interest in one's own offer or request",
            ));
        }
        Ok(author)
    }

    /// The caller's deal flow (see [`super::matches`]).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out.
    pub async fn matches(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<DealMatch>, Option<Cursor>)> {
        self.repo.matches(caller.user_id, after, limit).await
    }
}

fn not_open() -> Error {
    Error::conflict(
        "campaign_not_open",
        "the campaign does not take commitments now",
    )
}

/// Whether `caller` may withdraw `commitment` of `campaign` at `now`: its backer, while it is
/// confirmed, until [`WITHDRAWAL_CUTOFF`] before the deadline of a campaign not settled.
///
/// # Errors
///
/// [`Error::NotFound`] (`commitment`) for anyone but its backer; [`Error::Conflict`]
/// `invalid_commitment_transition` for a commitment not confirmed, `withdrawal_closed` inside
/// the cutoff or once the campaign is decided.
pub fn check_withdrawal(
    caller: &Caller,
    commitment: &Commitment,
    campaign: &Campaign,
    now: Timestamp,
) -> Result<()> {
    if commitment.investor_id != caller.user_id {
        return Err(Error::not_found("commitment"));
    }
    commitment_transition(commitment.status, CommitmentAction::Refund)?;
    if now > campaign.deadline - WITHDRAWAL_CUTOFF || campaign.settlement.is_some() {
        return Err(Error::conflict(
            "withdrawal_closed",
            "a commitment may be withdrawn until 48 hours before the deadline",
        ));
    }
    Ok(())
}

/// What the settlement of `campaign` (past its deadline, undecided) decides at `at`: release
/// the escrow when the campaign is keep-it-all or reached its goal, else refund every backer.
///
/// # Errors
///
/// [`Error::Conflict`] `invalid_campaign_transition` for a campaign that is not live or funded;
/// [`Error::Unexpected`] when the release's posting does not balance.
pub fn settlement_decision(campaign: &Campaign, at: Timestamp) -> Result<SettlementDecision> {
    let to = campaign_transition(campaign.status, CampaignAction::Settle)?;
    let release = campaign.model == InvestmentModel::KeepItAll
        || campaign.raised_amount >= campaign.goal.amount;
    let currency = campaign.goal.currency;
    let posting = if release && campaign.raised_amount > 0 {
        let raised = Money::new(campaign.raised_amount, currency);
        let fee = raised
            .share_bps(campaign.platform_fee_bps)
            .map_err(|e| anyhow::anyhow!("the release's fee: {e}"))?;
        Some(
            postings::campaign_released(campaign.id, raised, fee, campaign.owner_id)
                .map_err(|e| anyhow::anyhow!("the release's posting: {e}"))?,
        )
    } else {
        None
    };
    Ok(SettlementDecision {
        campaign_id: campaign.id,
        from: campaign.status,
        to,
        settlement: if release {
            InvestmentSettlement::Release
        } else {
            InvestmentSettlement::Refund
        },
        release: posting,
        at,
    })
}
