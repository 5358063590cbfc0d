//! [`Delivery`]: the sponsored item of a home-feed page. A campaign is a candidate when its
//! targeting matches the viewer (who must have opted in), it is not the viewer's, and the viewer
//! saw it fewer than the frequency cap's times today (impressions ingested, or served by this
//! instance, whichever is more); the candidate of the highest [`pacing::score`] is shown (ties
//! to the lower campaign id).
//!
//! What a page reads is kept briefly, so that most pages cost no query:
//!
//! - the running campaigns, a snapshot refreshed every [`DeliveryConfig::refresh`], ranked by
//!   [`pacing::value`] (a bound of the score, which pacing only lowers): a page walks them from
//!   the top and stops at the first whose value is below the best score found, so it scores
//!   the few campaigns that can still win instead of all of them;
//! - each viewer's traits, consent and the day's ingested impressions, for
//!   [`DeliveryConfig::viewer_ttl`], and their connection degrees to the owners of the
//!   campaigns that asked for one and could win, read only for those owners when first needed.
//!   The writes that change them through this instance drop them at once
//!   ([`Delivery::forget`]: consent, profile and topics; [`Delivery::ingested`]: impressions);
//!   changes made elsewhere (another instance, a new connection) show within the TTL.
//!
//! With both TTLs at zero every page reads everything afresh; the choice is the same either way
//! (`vendrome-store`'s conformance test `delivery_cached_chooses_as_read_afresh` walks both).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::pacing::{self, Candidate};
use super::{AudienceMember, Deliverable, IngestReport, MarketingRepo};
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
    /// How long a viewer's traits, consent, degrees and day's impressions are used.
    pub viewer_ttl: chrono::Duration,
    /// At most how many viewers are kept (the expired ones go first, then all).
    pub viewers_max: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            frequency_cap: FREQUENCY_CAP,
            refresh: chrono::Duration::seconds(2),
            viewer_ttl: chrono::Duration::seconds(2),
            viewers_max: 100_000,
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
type Served = (Option<NaiveDate>, HashMap<UserId, HashMap<CampaignId, i64>>);

struct Snapshot {
    taken: Timestamp,
    /// By [`pacing::value`], highest first, then by campaign id.
    ranked: Arc<Vec<Deliverable>>,
}

/// What a page needs of a viewer, as read at `read_at`.
#[derive(Clone)]
struct Viewer {
    read_at: Timestamp,
    /// `None`: no enabled member.
    member: Option<AudienceMember>,
    /// Impressions ingested on `read_at`'s UTC day, per campaign.
    seen: BTreeMap<CampaignId, i64>,
    /// Degrees (1 or 2; `None`: further) to the owners asked about so far.
    degrees: BTreeMap<UserId, Option<u8>>,
}

#[derive(Default)]
struct Viewers {
    /// Bumped by every forget: a read that began before it is not kept.
    epoch: u64,
    kept: HashMap<UserId, Arc<Viewer>>,
}

/// See the module docs.
pub struct Delivery {
    repo: Arc<dyn MarketingRepo>,
    config: DeliveryConfig,
    snapshot: Mutex<Option<Snapshot>>,
    viewers: Mutex<Viewers>,
    /// What this instance served today, per viewer and campaign.
    served: Mutex<Served>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Delivery {
    pub fn new(repo: Arc<dyn MarketingRepo>, config: DeliveryConfig) -> Self {
        Self {
            repo,
            config,
            snapshot: Mutex::new(None),
            viewers: Mutex::new(Viewers::default()),
            served: Mutex::new((None, HashMap::new())),
        }
    }

    async fn running(&self, now: Timestamp) -> Result<Arc<Vec<Deliverable>>> {
        {
            let guard = lock(&self.snapshot);
            if let Some(s) = guard
                .as_ref()
                .filter(|s| now - s.taken < self.config.refresh)
            {
                return Ok(s.ranked.clone());
            }
        }
        let mut ranked = self.repo.deliverable(now).await?;
        ranked.sort_by(|a, b| {
            pacing::value(&b.candidate)
                .total_cmp(&pacing::value(&a.candidate))
                .then(a.candidate.campaign_id.cmp(&b.candidate.campaign_id))
        });
        let ranked = Arc::new(ranked);
        *lock(&self.snapshot) = Some(Snapshot {
            taken: now,
            ranked: ranked.clone(),
        });
        Ok(ranked)
    }

    /// Forgets the snapshot, so the next page reads the running campaigns again (a campaign
    /// that completed leaves delivery at once on this instance).
    pub fn invalidate(&self) {
        *lock(&self.snapshot) = None;
    }

    /// Forgets what is kept of `viewer`, so their next page reads it again: after a change of
    /// their consent, profile or followed topics.
    pub fn forget(&self, viewer: UserId) {
        let mut viewers = lock(&self.viewers);
        viewers.epoch += 1;
        viewers.kept.remove(&viewer);
    }

    /// After an ingest: the viewers of its impressions are read again (their day's count
    /// changed) and, when it completed a campaign, the running campaigns too.
    pub fn ingested(&self, viewers: impl IntoIterator<Item = UserId>, report: &IngestReport) {
        {
            let mut kept = lock(&self.viewers);
            kept.epoch += 1;
            for viewer in viewers {
                kept.kept.remove(&viewer);
            }
        }
        if !report.completed.is_empty() {
            self.invalidate();
        }
    }

    /// The viewer as kept, or read afresh (without degrees) and kept.
    async fn viewer(&self, viewer: UserId, now: Timestamp) -> Result<Arc<Viewer>> {
        let epoch = {
            let viewers = lock(&self.viewers);
            if let Some(v) = viewers.kept.get(&viewer).filter(|v| self.fresh(v, now)) {
                return Ok(v.clone());
            }
            viewers.epoch
        };
        let read = self.repo.audience_member(viewer, now).await?;
        let (member, seen) = match read {
            Some((member, seen)) => (Some(member), seen),
            None => (None, BTreeMap::new()),
        };
        let read = Arc::new(Viewer {
            read_at: now,
            member,
            seen,
            degrees: BTreeMap::new(),
        });
        self.keep(viewer, epoch, read.clone());
        Ok(read)
    }

    fn fresh(&self, v: &Viewer, now: Timestamp) -> bool {
        now - v.read_at < self.config.viewer_ttl && v.read_at.date_naive() == now.date_naive()
    }

    /// Keeps `read` unless something was forgotten since the read began at `epoch`.
    fn keep(&self, viewer: UserId, epoch: u64, read: Arc<Viewer>) {
        if self.config.viewer_ttl <= chrono::Duration::zero() {
            return;
        }
        let mut viewers = lock(&self.viewers);
        if viewers.epoch != epoch {
            return;
        }
        if viewers.kept.len() >= self.config.viewers_max && !viewers.kept.contains_key(&viewer) {
            let now = read.read_at;
            let ttl = self.config.viewer_ttl;
            viewers.kept.retain(|_, v| now - v.read_at < ttl);
            if viewers.kept.len() >= self.config.viewers_max {
                viewers.kept.clear();
            }
        }
        viewers.kept.insert(viewer, read);
    }

    /// The viewer's degrees to `owners`, from what is kept where it has them; the rest read in
    /// one query and kept with the viewer (unless the viewer was forgotten or read again since).
    async fn degrees(
        &self,
        viewer: UserId,
        kept: &Arc<Viewer>,
        owners: &[UserId],
    ) -> Result<BTreeMap<UserId, Option<u8>>> {
        let mut missing: Vec<UserId> = owners
            .iter()
            .filter(|o| !kept.degrees.contains_key(o))
            .copied()
            .collect();
        missing.sort();
        missing.dedup();
        let mut degrees = kept.degrees.clone();
        if missing.is_empty() {
            return Ok(degrees);
        }
        let read = self.repo.connection_degrees(viewer, &missing).await?;
        for owner in missing {
            degrees.insert(owner, read.get(&owner).copied());
        }
        let mut viewers = lock(&self.viewers);
        if let Some(entry) = viewers.kept.get_mut(&viewer) {
            if Arc::ptr_eq(entry, kept) {
                *entry = Arc::new(Viewer {
                    degrees: degrees.clone(),
                    ..Viewer::clone(kept)
                });
            }
        }
        Ok(degrees)
    }

    /// The sponsored item for `viewer`'s page at `now`, if any campaign qualifies; counted as
    /// served.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    pub async fn choose(&self, viewer: UserId, now: Timestamp) -> Result<Option<Sponsored>> {
        let running = self.running(now).await?;
        if running.iter().all(|d| d.candidate.owner_id == viewer) {
            return Ok(None);
        }
        let kept = self.viewer(viewer, now).await?;
        let Some(member) = kept.member.as_ref().filter(|m| m.consented) else {
            return Ok(None);
        };
        loop {
            let Some(chosen) = self.pick(viewer, &running, &kept, member, now).await? else {
                return Ok(None);
            };
            // Counted only if a page served at the same time did not reach the cap first.
            let mut served = lock(&self.served);
            let today = now.date_naive();
            if served.0 != Some(today) {
                *served = (Some(today), HashMap::new());
            }
            let count = served
                .1
                .entry(viewer)
                .or_default()
                .entry(chosen.campaign_id)
                .or_insert(0);
            if *count >= self.config.frequency_cap {
                continue;
            }
            *count += 1;
            return Ok(Some(Sponsored {
                campaign_id: chosen.campaign_id,
                post_id: chosen.post_id,
            }));
        }
    }

    /// The candidate of the highest score among those that may be shown to `member`.
    async fn pick<'a>(
        &self,
        viewer: UserId,
        running: &'a [Deliverable],
        kept: &Arc<Viewer>,
        member: &AudienceMember,
        now: Timestamp,
    ) -> Result<Option<&'a Candidate>> {
        let cap = self.config.frequency_cap;
        // The walk: `best` is the highest-scoring candidate that needs no degree; those that
        // need one and match otherwise wait in `pending` until their owners' degrees are known.
        let (best, pending) = {
            let served = lock(&self.served);
            let today = served
                .1
                .get(&viewer)
                .filter(|_| served.0 == Some(now.date_naive()));
            let mut best: Option<(f64, &Candidate)> = None;
            let mut pending: Vec<&Deliverable> = Vec::new();
            for d in running {
                let c = &d.candidate;
                if best.is_some_and(|(score, _)| pacing::value(c) < score) {
                    break;
                }
                let shown = kept.seen.get(&c.campaign_id).copied().unwrap_or(0).max(
                    today
                        .and_then(|t| t.get(&c.campaign_id).copied())
                        .unwrap_or(0),
                );
                if c.owner_id == viewer || shown >= cap {
                    continue;
                }
                if d.targeting.connection_degree.is_some() {
                    // Matching at the closest degree: whether it matches at all waits for the
                    // owner's degree.
                    if d.targeting.matches(member, Some(1)) {
                        pending.push(d);
                    }
                    continue;
                }
                if d.targeting.matches(member, None) {
                    let score = pacing::score(c, now);
                    let better = best.is_none_or(|(s, b)| {
                        score > s || (score == s && c.campaign_id < b.campaign_id)
                    });
                    if score > 0.0 && better {
                        best = Some((score, c));
                    }
                }
            }
            (best, pending)
        };
        let mut eligible: Vec<&Candidate> = best.map(|(_, c)| c).into_iter().collect();
        if !pending.is_empty() {
            let owners: Vec<UserId> = pending.iter().map(|d| d.candidate.owner_id).collect();
            let degrees = self.degrees(viewer, kept, &owners).await?;
            eligible.extend(
                pending
                    .iter()
                    .filter(|d| {
                        let degree = degrees.get(&d.candidate.owner_id).copied().flatten();
                        d.targeting.matches(member, degree)
                    })
                    .map(|d| &d.candidate),
            );
        }
        Ok(pacing::choose(eligible, now))
    }
}
