//! [`Delivery`]: the sponsored item of a home-feed page. It keeps a snapshot of the running
//! campaigns (refreshed every [`DeliveryConfig::refresh`]), so a page costs one read of the
//! viewer's traits, degrees and day's impressions, and none at all when no campaign is running
//! or every running one is the viewer's own. A campaign is a candidate when its targeting
//! matches the viewer (who must have opted in), it is not the viewer's, and the viewer saw it
//! fewer than the frequency cap's times today (impressions ingested, or served by this
//! instance, whichever is more); the candidate of the highest [`pacing::score`] is shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::pacing::{self, Candidate};
use super::{Deliverable, MarketingRepo};
use crate::ids::{CampaignId, PostId, UserId};
use crate::time::Timestamp;
use crate::Result;

/// Impressions of one campaign a member is shown per UTC day, by default.
pub const FREQUENCY_CAP: i64 = 3;

/// How delivery behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    pub frequency_cap: i64,
    /// How long a snapshot of the running campaigns is used.
    pub refresh: chrono::Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            frequency_cap: FREQUENCY_CAP,
            refresh: chrono::Duration::seconds(2),
        }
    }
}

/// The sponsored item chosen for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sponsored {
    pub campaign_id: CampaignId,
    pub post_id: PostId,
}

/// The day, and what was served on it per viewer and campaign.
type Served = (Option<NaiveDate>, HashMap<(UserId, CampaignId), i64>);

struct Snapshot {
    taken: Timestamp,
    campaigns: Arc<Vec<Deliverable>>,
}

/// See the module docs.
pub struct Delivery {
    repo: Arc<dyn MarketingRepo>,
    config: DeliveryConfig,
    snapshot: Mutex<Option<Snapshot>>,
    /// What this instance served today, per viewer and campaign.
    served: Mutex<Served>,
}

impl Delivery {
    pub fn new(repo: Arc<dyn MarketingRepo>, config: DeliveryConfig) -> Self {
        Self {
            repo,
            config,
            snapshot: Mutex::new(None),
            served: Mutex::new((None, HashMap::new())),
        }
    }

    async fn running(&self, now: Timestamp) -> Result<Arc<Vec<Deliverable>>> {
        {
            let guard = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = guard
                .as_ref()
                .filter(|s| now - s.taken < self.config.refresh)
            {
                return Ok(s.campaigns.clone());
            }
        }
        let campaigns = Arc::new(self.repo.deliverable(now).await?);
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Snapshot {
            taken: now,
            campaigns: campaigns.clone(),
        });
        Ok(campaigns)
    }

    /// Forgets the snapshot, so the next page reads the running campaigns again (a campaign
    /// that completed leaves delivery at once on this instance).
    pub fn invalidate(&self) {
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The sponsored item for `viewer`'s page at `now`, if any campaign qualifies; counted as
    /// served.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    pub async fn choose(&self, viewer: UserId, now: Timestamp) -> Result<Option<Sponsored>> {
        let running = self.running(now).await?;
        let others: Vec<&Deliverable> = running
            .iter()
            .filter(|d| d.candidate.owner_id != viewer)
            .collect();
        if others.is_empty() {
            return Ok(None);
        }
        // Degrees are read only towards owners whose targeting asks for one.
        let mut owners: Vec<UserId> = others
            .iter()
            .filter(|d| d.targeting.connection_degree.is_some())
            .map(|d| d.candidate.owner_id)
            .collect();
        owners.sort();
        owners.dedup();
        let Some((member, degrees, seen)) = self.repo.audience_member(viewer, &owners, now).await?
        else {
            return Ok(None);
        };
        if !member.consented {
            return Ok(None);
        }
        let today = now.date_naive();
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        if served.0 != Some(today) {
            *served = (Some(today), HashMap::new());
        }
        let eligible: Vec<&Candidate> = others
            .iter()
            .filter(|d| {
                let id = d.candidate.campaign_id;
                let shown = seen
                    .get(&id)
                    .copied()
                    .unwrap_or(0)
                    .max(served.1.get(&(viewer, id)).copied().unwrap_or(0));
                shown < self.config.frequency_cap
                    && d.targeting
                        .matches(&member, degrees.get(&d.candidate.owner_id).copied())
            })
            .map(|d| &d.candidate)
            .collect();
        let Some(chosen) = pacing::choose(eligible, now) else {
            return Ok(None);
        };
        *served.1.entry((viewer, chosen.campaign_id)).or_insert(0) += 1;
        Ok(Some(Sponsored {
            campaign_id: chosen.campaign_id,
            post_id: chosen.post_id,
        }))
    }
}
