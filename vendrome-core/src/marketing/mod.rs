//! Marketing campaigns: a member promotes their own post to an audience ([`Targeting`]) at a
//! bid (CPM or CPC) within a total and an optional daily budget. The campaign moves through
//! [`transition`]; its budget is funded by a checkout (the orchestrator's `fund_campaign`),
//! whose settlement moves the amount into the owner's ad balance and schedules it. Events
//! (impressions, clicks) are ingested in batches, each event once, charged at the bid by
//! [`pacing::bill`] under the campaign's row lock so spend never passes a budget, even with
//! several instances ingesting at once. [`Delivery`] picks the sponsored item of a home-feed
//! page. Only members who opted in to direct marketing are ever targeted.

mod delivery;
pub mod pacing;
mod service;
mod status;
mod targeting;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::delivery::{Delivery, DeliveryConfig, Sponsored, FREQUENCY_CAP};
pub use self::service::{CampaignDraft, CampaignPatch, MarketingService, BATCH_MAX, NAME_MAX};
pub use self::status::{transition, CampaignAction, CampaignActor};
pub use self::targeting::{AudienceMember, Targeting, VALUES_MAX};
use crate::enums::{
    MarketingBidModel, MarketingCampaignStatus, MarketingEventKind, MarketingObjective,
};
use crate::ids::{CampaignId, PaymentId, PostId, UserId};
use crate::money::Money;
use crate::outbox::NewEvent;
use crate::page::{Cursor, Limit};
use crate::payments::Payment;
use crate::time::Timestamp;
use crate::Result;

/// What a campaign pays: `amount` minor units per 1,000 impressions (CPM) or per click (CPC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bid {
    pub model: MarketingBidModel,
    pub amount: i64,
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: CampaignId,
    pub owner_id: UserId,
    pub name: String,
    pub objective: MarketingObjective,
    pub status: MarketingCampaignStatus,
    /// The promoted post (the owner's own); `None` once it was deleted.
    pub post_id: Option<PostId>,
    pub bid: Bid,
    /// The total budget.
    pub budget: Money,
    pub daily_budget: Option<i64>,
    /// Spent so far; never above `budget`.
    pub spent: i64,
    pub billed_impressions: i64,
    pub targeting: Targeting,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// When the owner froze the draft for funding.
    pub submitted_at: Option<Timestamp>,
    /// The charge that funded the budget, once it succeeded.
    pub funding_payment_id: Option<PaymentId>,
    /// What of a funded budget went back to the ad balance when the campaign ended.
    pub released_amount: Option<i64>,
    /// What of the released remainder went back to the payer: the sum of the campaign's
    /// succeeded refunds.
    pub refunded_amount: i64,
    pub ended_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A move of a campaign's status, applied only if it is still in `from`. A move to
/// `completed` or `cancelled` stamps `ended_at` and releases the unspent rest of a funded
/// budget (`released_amount`); [`CampaignAction::Submit`] stamps `submitted_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignMove {
    pub id: CampaignId,
    pub action: CampaignAction,
    pub from: MarketingCampaignStatus,
    pub to: MarketingCampaignStatus,
    pub at: Timestamp,
}

/// The campaign a succeeded funding charge schedules: applied (with its event) only if it is
/// still an unfunded draft.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignFunded {
    pub campaign_id: CampaignId,
    pub payment_id: PaymentId,
    pub event: NewEvent,
}

/// One reported event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdEvent {
    /// The reporter's id for it: each counts once per campaign.
    pub event_id: uuid::Uuid,
    pub campaign_id: CampaignId,
    pub kind: MarketingEventKind,
    pub at: Timestamp,
    pub viewer_id: Option<UserId>,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestReport {
    /// New events recorded (billed or not).
    pub accepted: u64,
    /// Events whose id was recorded before: ignored.
    pub duplicates: u64,
    /// Events about no campaign, or one that never ran (draft, scheduled): ignored.
    pub rejected: u64,
    /// Accepted events charged (or free under the bid model).
    pub billed: u64,
    /// Accepted events past a budget, or of a campaign no longer running: recorded, not charged.
    pub unbilled: u64,
    /// What the batch spent, in the campaigns' minor units.
    pub spend: i64,
    /// Campaigns whose budget this batch used up: now `completed`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub completed: Vec<CampaignId>,
}

/// A stats bucket's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
}

/// One bucket of a campaign's stats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsBucket {
    /// The bucket's start (an hour, or midnight UTC).
    pub start: Timestamp,
    pub impressions: i64,
    pub clicks: i64,
    pub spend: i64,
    pub unbilled: i64,
}

/// What delivery reads of a viewer: their traits and their impressions of each campaign today.
/// Their degrees to campaign owners are read apart ([`MarketingRepo::connection_degrees`]), for
/// the owners that matter only.
pub type ViewerFacts = (AudienceMember, BTreeMap<CampaignId, i64>);

/// A running campaign as delivery holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deliverable {
    pub candidate: pacing::Candidate,
    pub targeting: Targeting,
}

/// Storage of campaigns, their events and metrics, and members' marketing consent.
#[async_trait]
pub trait MarketingRepo: Send + Sync {
    /// The author of the live post `post`; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn post_author(&self, post: PostId) -> Result<Option<UserId>>;

    /// The payments that fund (or refund) the campaign, oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn campaign_payments(&self, campaign: CampaignId) -> Result<Vec<Payment>>;

    /// Stores the campaign (`draft`) and `event`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_campaign(&self, campaign: &Campaign, event: NewEvent) -> Result<()>;

    /// The campaign; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn campaign(&self, id: CampaignId) -> Result<Option<Campaign>>;

    /// Writes the editable fields of `campaign` if it is still in `from` and not submitted,
    /// with `event`; `None` when it was not.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn update_campaign(
        &self,
        campaign: &Campaign,
        from: MarketingCampaignStatus,
        event: NewEvent,
    ) -> Result<Option<Campaign>>;

    /// Applies `change` if the campaign is still in `change.from` (a submit only if it was not
    /// submitted yet), with `event`; `None` when it was not.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn move_campaign(
        &self,
        change: CampaignMove,
        event: NewEvent,
    ) -> Result<Option<Campaign>>;

    /// The owner's campaigns, newest first, optionally of one status.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a cursor this list did not hand out;
    /// [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn campaigns_of(
        &self,
        owner: UserId,
        status: Option<MarketingCampaignStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Campaign>, Option<Cursor>)>;

    /// Campaigns a clock tick moves: `scheduled` ones whose start passed, and `active` or
    /// `paused` ones whose end passed, at most `limit`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn due_campaigns(&self, now: Timestamp, limit: Limit) -> Result<Vec<Campaign>>;

    /// Records the member's direct-marketing consent.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn set_marketing_consent(&self, user: UserId, consent: bool, at: Timestamp)
        -> Result<()>;

    /// Whether the member opted in to direct marketing (`false` when they never said).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn marketing_consent(&self, user: UserId) -> Result<bool>;

    /// How many enabled members who opted in match `targeting` now (`owner` for the connection
    /// degree; never the owner), in one grouped statement.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn audience_size(&self, owner: UserId, targeting: &Targeting) -> Result<i64>;

    /// Records and charges a batch: per campaign, in one transaction behind its row lock, the
    /// events whose id it has not seen are inserted and charged by [`pacing::bill`] in time
    /// order (those past a budget, or of a campaign that is not `active` or `paused`, are
    /// recorded unbilled), the spend, hourly and daily metrics and frequency counts are added,
    /// one ledger posting moves the spend from the owner's ad balance to ad revenue (keyed by
    /// the batch's first new event, so it is made once), and a campaign whose budget is used
    /// up is completed (with `completed(campaign)`'s event). Events of no campaign, or of a
    /// `draft` or `scheduled` one, are rejected.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn ingest(
        &self,
        events: &[AdEvent],
        at: Timestamp,
        completed: &(dyn for<'c> Fn(&'c Campaign) -> NewEvent + Send + Sync),
    ) -> Result<IngestReport>;

    /// The campaign's buckets with any activity in `[from, to)`, oldest first.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn stats(
        &self,
        campaign: CampaignId,
        granularity: Granularity,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StatsBucket>>;

    /// Every `active` campaign with a live promoted post, with its day's (`now`'s UTC day)
    /// spend and its totals, for delivery.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn deliverable(&self, now: Timestamp) -> Result<Vec<Deliverable>>;

    /// What targeting looks at in `viewer` (but degrees) and the impressions of each campaign
    /// the viewer had on `now`'s UTC day; `None` when the viewer is no enabled member.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn audience_member(&self, viewer: UserId, now: Timestamp) -> Result<Option<ViewerFacts>>;

    /// The connection degree (1 or 2) of `viewer` to each of `owners` within two; owners
    /// further away are left out.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn connection_degrees(
        &self,
        viewer: UserId,
        owners: &[UserId],
    ) -> Result<BTreeMap<UserId, u8>>;
}
