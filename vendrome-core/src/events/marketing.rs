//! Payloads of the marketing campaign events.

use serde::{Deserialize, Serialize};

use super::about;
use crate::enums::MarketingCampaignStatus;
use crate::ids::{CampaignId, UserId};

/// A campaign was created, changed or moved: `campaign.created`, `campaign.updated`,
/// `campaign.status_changed` (submitted, funded, started, paused, resumed, completed,
/// cancelled). Its owner hears it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignChanged {
    pub campaign_id: CampaignId,
    pub owner_id: UserId,
    /// The status after the change.
    pub status: MarketingCampaignStatus,
}

about!("campaign" by campaign_id: CampaignChanged);
