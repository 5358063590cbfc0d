//! [`MarketingService`]: who may create, change, move, read and measure a campaign, the
//! audience estimate, members' consent and event ingest, over [`MarketingRepo`] only.

use std::sync::Arc;

use super::{
    transition, AdEvent, Bid, Campaign, CampaignAction, CampaignActor, CampaignMove, Granularity,
    IngestReport, MarketingRepo, StatsBucket, Targeting,
};
use crate::access::Caller;
use crate::enums::{MarketingCampaignStatus, MarketingObjective, UserRole};
use crate::events::{CampaignChanged, DomainEvent};
use crate::ids::{CampaignId, PostId};
use crate::money::{Currency, Money};
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::time::Timestamp;
use crate::validation::ValidationErrors;
use crate::{Error, Result};

/// The longest campaign name, in characters.
pub const NAME_MAX: usize = 200;

/// The most events one ingest takes.
pub const BATCH_MAX: usize = 1_000;

/// How far in the future an event's time may be (clock skew), and how old.
const EVENT_SKEW: chrono::Duration = chrono::Duration::minutes(5);
const EVENT_AGE_MAX: chrono::Duration = chrono::Duration::days(7);

/// What `POST /v1/marketing/campaigns` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignDraft {
    pub post_id: PostId,
    pub name: String,
    pub objective: MarketingObjective,
    pub bid: Bid,
    pub total_budget: i64,
    pub daily_budget: Option<i64>,
    pub currency: Currency,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    pub targeting: Targeting,
}

/// What a `PATCH` changes; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub objective: Option<MarketingObjective>,
    pub bid: Option<Bid>,
    pub total_budget: Option<i64>,
    pub daily_budget: Option<i64>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub targeting: Option<Targeting>,
}

/// See the module docs.
#[derive(Clone)]
pub struct MarketingService {
    repo: Arc<dyn MarketingRepo>,
}

fn event(
    wrap: fn(CampaignChanged) -> DomainEvent,
    c: &Campaign,
    status: MarketingCampaignStatus,
) -> NewEvent {
    NewEvent::new(wrap(CampaignChanged {
        campaign_id: c.id,
        owner_id: c.owner_id,
        status,
    }))
}

/// The event of a campaign's move to `to`.
pub(crate) fn moved(c: &Campaign, to: MarketingCampaignStatus) -> NewEvent {
    event(DomainEvent::CampaignStatusChanged, c, to)
}

/// Every rule of a campaign's editable fields, by field.
fn check(c: &Campaign) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = c.name.trim();
    if name.is_empty() || c.name.chars().count() > NAME_MAX {
        errors.add("name", "invalid", format!("1 to {NAME_MAX} characters"));
    }
    if c.bid.amount <= 0 {
        errors.add("bid.amount", "not_positive", "the bid is more than zero");
    }
    if c.budget.amount <= 0 {
        errors.add(
            "total_budget",
            "not_positive",
            "the budget is more than zero",
        );
    }
    if let Some(daily) = c.daily_budget {
        if daily <= 0 || daily > c.budget.amount {
            errors.add(
                "daily_budget",
                "out_of_range",
                "the daily budget is more than zero and at most the total budget",
            );
        }
    }
    if let (Some(start), Some(end)) = (c.starts_at, c.ends_at) {
        if end <= start {
            errors.add("ends_at", "before_start", "the end comes after the start");
        }
    }
    errors.into_result()
}

fn not_found() -> Error {
    Error::not_found("campaign")
}

impl MarketingService {
    pub fn new(repo: Arc<dyn MarketingRepo>) -> Self {
        Self { repo }
    }

    /// The campaign, for its owner or an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`campaign`) for anyone else or no such campaign; [`Error::Unexpected`]
    /// when the storage fails.
    pub async fn campaign(&self, caller: &Caller, id: CampaignId) -> Result<Campaign> {
        self.repo
            .campaign(id)
            .await?
            .filter(|c| c.owner_id == caller.user_id || caller.role == UserRole::Admin)
            .ok_or_else(not_found)
    }

    /// Creates a `draft` campaign promoting the caller's own post.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a broken field rule; [`Error::Unprocessable`] `not_own_post` for
    /// a post that is not the caller's live post; [`Error::Unexpected`] when the storage fails.
    pub async fn create(&self, caller: &Caller, draft: CampaignDraft) -> Result<Campaign> {
        let targeting = draft.targeting.check();
        let now = crate::time::now();
        let mut campaign = Campaign {
            id: CampaignId::new(),
            owner_id: caller.user_id,
            name: draft.name.trim().to_owned(),
            objective: draft.objective,
            status: MarketingCampaignStatus::Draft,
            post_id: Some(draft.post_id),
            bid: draft.bid,
            budget: Money::new(draft.total_budget, draft.currency),
            daily_budget: draft.daily_budget,
            spent: 0,
            billed_impressions: 0,
            targeting: Targeting::default(),
            starts_at: Some(draft.starts_at),
            ends_at: draft.ends_at,
            submitted_at: None,
            funding_payment_id: None,
            released_amount: None,
            refunded_amount: 0,
            ended_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut errors = ValidationErrors::new();
        if let Err(e) = check(&campaign) {
            errors.merge(e);
        }
        match targeting {
            Ok(t) => campaign.targeting = t,
            Err(e) => errors.merge(e),
        }
        errors.into_result()?;
        if self.repo.post_author(draft.post_id).await? != Some(caller.user_id) {
            return Err(Error::unprocessable(
                "not_own_post",
                "a campaign promotes one of the caller's own live posts",
            ));
        }
        let created = event(DomainEvent::CampaignCreated, &campaign, campaign.status);
        self.repo.create_campaign(&campaign, created).await?;
        Ok(campaign)
    }

    /// Changes a campaign that is `draft` (not yet submitted) or `paused`. The budget of a
    /// funded campaign is what was paid and cannot change.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] as [`campaign`](Self::campaign); [`Error::Invalid`] for a broken
    /// rule; [`Error::Conflict`] `campaign_not_editable` in any other status (or when it moved
    /// meanwhile), `campaign_funded` for a funded campaign's budget; [`Error::Unexpected`] when
    /// the storage fails.
    pub async fn update(
        &self,
        caller: &Caller,
        id: CampaignId,
        patch: CampaignPatch,
    ) -> Result<Campaign> {
        let current = self.campaign(caller, id).await?;
        let editable = match current.status {
            MarketingCampaignStatus::Draft => current.submitted_at.is_none(),
            MarketingCampaignStatus::Paused => true,
            _ => false,
        };
        if !editable {
            return Err(Error::conflict(
                "campaign_not_editable",
                "a campaign is changed while it is an unsubmitted draft or paused",
            ));
        }
        if patch
            .total_budget
            .is_some_and(|b| b != current.budget.amount)
            && current.funding_payment_id.is_some()
        {
            return Err(Error::conflict(
                "campaign_funded",
                "a funded campaign's budget is what was paid for",
            ));
        }
        let mut next = current.clone();
        if let Some(name) = patch.name {
            next.name = name.trim().to_owned();
        }
        next.objective = patch.objective.unwrap_or(next.objective);
        next.bid = patch.bid.unwrap_or(next.bid);
        if let Some(total) = patch.total_budget {
            next.budget = Money::new(total, next.budget.currency);
        }
        next.daily_budget = patch.daily_budget.or(next.daily_budget);
        next.starts_at = patch.starts_at.or(next.starts_at);
        next.ends_at = patch.ends_at.or(next.ends_at);
        let mut errors = ValidationErrors::new();
        if let Err(e) = check(&next) {
            errors.merge(e);
        }
        if let Some(targeting) = patch.targeting {
            match targeting.check() {
                Ok(t) => next.targeting = t,
                Err(e) => errors.merge(e),
            }
        }
        errors.into_result()?;
        next.updated_at = crate::time::now();
        let changed = event(DomainEvent::CampaignUpdated, &next, next.status);
        self.repo
            .update_campaign(&next, current.status, changed)
            .await?
            .ok_or_else(|| {
                Error::conflict(
                    "campaign_not_editable",
                    "the campaign changed meanwhile; read it again",
                )
            })
    }

    /// The owner's `submit`, `pause`, `resume` or `cancel` (an admin may make them too). A
    /// cancelled or completed campaign's unspent, funded budget stays in the ad balance
    /// (`released_amount`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] as [`campaign`](Self::campaign); [`Error::Conflict`]
    /// `invalid_campaign_transition` when the status does not allow it (also when it moved
    /// meanwhile, or a draft was submitted already); [`Error::Unexpected`] when the storage
    /// fails.
    pub async fn act(
        &self,
        caller: &Caller,
        id: CampaignId,
        action: CampaignAction,
    ) -> Result<Campaign> {
        let current = self.campaign(caller, id).await?;
        if action == CampaignAction::Submit && current.submitted_at.is_some() {
            return Err(Error::conflict(
                "invalid_campaign_transition",
                "the campaign was submitted already",
            ));
        }
        let to = transition(current.status, action, CampaignActor::Owner)?;
        self.apply(&current, action, to, crate::time::now())
            .await?
            .ok_or_else(|| {
                Error::conflict(
                    "invalid_campaign_transition",
                    "the campaign changed meanwhile; read it again",
                )
            })
    }

    async fn apply(
        &self,
        c: &Campaign,
        action: CampaignAction,
        to: MarketingCampaignStatus,
        at: Timestamp,
    ) -> Result<Option<Campaign>> {
        let change = CampaignMove {
            id: c.id,
            action,
            from: c.status,
            to,
            at,
        };
        self.repo.move_campaign(change, moved(c, to)).await
    }

    /// The caller's campaigns, newest first, optionally of one status.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a cursor this list did not hand out; [`Error::Unexpected`] when
    /// the storage fails.
    pub async fn campaigns(
        &self,
        caller: &Caller,
        status: Option<MarketingCampaignStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Campaign>, Option<Cursor>)> {
        self.repo
            .campaigns_of(caller.user_id, status, after, limit)
            .await
    }

    /// How many members match `targeting` now (the caller as the owner).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a broken targeting rule; [`Error::Unexpected`] when the storage
    /// fails.
    pub async fn audience_estimate(&self, caller: &Caller, targeting: Targeting) -> Result<i64> {
        let targeting = targeting.check()?;
        self.repo.audience_size(caller.user_id, &targeting).await
    }

    /// Records the caller's direct-marketing consent.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn set_consent(&self, caller: &Caller, direct_marketing: bool) -> Result<bool> {
        self.repo
            .set_marketing_consent(caller.user_id, direct_marketing, crate::time::now())
            .await?;
        Ok(direct_marketing)
    }

    /// The caller's direct-marketing consent (off unless they opted in).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn consent(&self, caller: &Caller) -> Result<bool> {
        self.repo.marketing_consent(caller.user_id).await
    }

    /// Ingests a batch of up to [`BATCH_MAX`] events (see [`MarketingRepo::ingest`]). A member
    /// reports their own events (a missing viewer is the caller); an admin (the delivery
    /// pipeline's account) reports anyone's.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty or too large batch, or an event time more than five
    /// minutes ahead or seven days old; [`Error::Forbidden`] `not_own_event` for a member
    /// reporting another viewer's event; [`Error::Unexpected`] when the storage fails.
    pub async fn ingest(&self, caller: &Caller, mut events: Vec<AdEvent>) -> Result<IngestReport> {
        if events.is_empty() || events.len() > BATCH_MAX {
            return Err(ValidationErrors::single(
                "events",
                "out_of_range",
                format!("1 to {BATCH_MAX} events"),
            )
            .into());
        }
        let now = crate::time::now();
        let mut errors = ValidationErrors::new();
        for (i, e) in events.iter_mut().enumerate() {
            if e.at > now + EVENT_SKEW || e.at < now - EVENT_AGE_MAX {
                errors.add(
                    &format!("events[{i}].at"),
                    "out_of_range",
                    "at most five minutes ahead and seven days old",
                );
            }
            if caller.role != UserRole::Admin {
                match e.viewer_id {
                    None => e.viewer_id = Some(caller.user_id),
                    Some(v) if v == caller.user_id => {}
                    Some(_) => {
                        return Err(Error::forbidden(
                            "not_own_event",
                            "a member reports only their own impressions and clicks",
                        ))
                    }
                }
            }
        }
        errors.into_result()?;
        self.repo
            .ingest(&events, now, &|c| {
                moved(c, MarketingCampaignStatus::Completed)
            })
            .await
    }

    /// The campaign's stats in `[from, to)`, for its owner or an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] as [`campaign`](Self::campaign); [`Error::Invalid`] when `to` is not
    /// after `from` or the range holds more than 2,000 buckets; [`Error::Unexpected`] when the
    /// storage fails.
    pub async fn stats(
        &self,
        caller: &Caller,
        id: CampaignId,
        granularity: Granularity,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StatsBucket>> {
        let campaign = self.campaign(caller, id).await?;
        let width = match granularity {
            Granularity::Hour => chrono::Duration::hours(1),
            Granularity::Day => chrono::Duration::days(1),
        };
        if to <= from || (to - from).num_seconds() / width.num_seconds() > 2_000 {
            return Err(ValidationErrors::single(
                "to",
                "out_of_range",
                "after `from`, and at most 2,000 buckets",
            )
            .into());
        }
        self.repo.stats(campaign.id, granularity, from, to).await
    }

    /// Moves what the clock moves at `now`: scheduled campaigns whose start passed go
    /// `active`, running ones whose end passed go `completed`. Answers how many moved. Safe on
    /// several instances at once (each move is a compare-and-set).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`], when the storage fails.
    pub async fn advance_due(&self, now: Timestamp) -> Result<u64> {
        let mut moved_count = 0;
        let limit = Limit::parse(100).map_err(Error::from)?;
        for c in self.repo.due_campaigns(now, limit).await? {
            let action = if c.status == MarketingCampaignStatus::Scheduled
                && c.ends_at.is_none_or(|end| end > now)
            {
                CampaignAction::Start
            } else if c.status == MarketingCampaignStatus::Scheduled {
                CampaignAction::Cancel
            } else {
                CampaignAction::Complete
            };
            let to = transition(c.status, action, CampaignActor::System)?;
            if self.apply(&c, action, to, now).await?.is_some() {
                moved_count += 1;
            }
        }
        Ok(moved_count)
    }
}
