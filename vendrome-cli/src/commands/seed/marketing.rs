//! `fixtures/marketing.json`: members who opted in to direct marketing, and campaigns of
//! `social.json`'s posts in every status a campaign reaches, taken there through the same
//! services as the API: the marketing service, and the payments orchestrator with the sandbox
//! provider for the funding (its signed webhook handled by the same pipeline as a provider's),
//! so every budget is posted into its owner's ad balance as real use would. The campaigns that
//! ran get a week of impressions and clicks (ingested through the store's port, each charged at
//! the bid), so the dashboard has a week of metrics; the one meant to complete runs out of
//! budget on the way.
//!
//! Idempotent: a campaign is matched by its owner and name, and one already present is left
//! alone.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use vendrome_core::access::Caller;
use vendrome_core::enums::{
    MarketingCampaignStatus as S, MarketingEventKind, MarketingObjective, UserRole,
};
use vendrome_core::ids::PostId;
use vendrome_core::marketing::{
    AdEvent, Bid, CampaignAction, CampaignDraft, MarketingRepo as _, MarketingService, Targeting,
};
use vendrome_core::money::Currency;
use vendrome_core::page::Limit;
use vendrome_core::time;
use vendrome_server::commerce::{Commerce, CommerceOptions};
use vendrome_store::Store;

use super::orders::{caller, press_pay, sandbox_checkout};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marketing {
    /// Members who opted in to direct marketing, by email.
    #[serde(default)]
    consent: Vec<String>,
    #[serde(default)]
    campaigns: Vec<CampaignFixture>,
}

impl Marketing {
    /// How many items the progress bar counts.
    pub fn items(&self) -> usize {
        self.consent.len() + self.campaigns.len()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignFixture {
    owner: String,
    /// A post's key in `social.json` (the owner's).
    post: String,
    name: String,
    objective: MarketingObjective,
    bid: Bid,
    total_budget: i64,
    daily_budget: Option<i64>,
    targeting: Targeting,
    status: S,
}

/// What a run did.
#[derive(Default, Serialize)]
pub struct MarketingSummary {
    pub campaigns_created: usize,
    pub campaigns_present: usize,
    /// Events ingested for the week of metrics.
    pub events: u64,
}

/// Loads the consent and the campaigns; `posts` are `social.json`'s posts by key.
pub async fn load(
    store: &Store,
    fixtures: Marketing,
    posts: &HashMap<String, PostId>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<MarketingSummary> {
    let shared = Arc::new(store.clone());
    let commerce = Commerce::new(&shared, CommerceOptions::default());
    let sandbox = commerce
        .sandbox
        .clone()
        .context("the default commerce options have the sandbox on")?;
    let service = MarketingService::new(shared);
    let mut summary = MarketingSummary::default();
    for email in &fixtures.consent {
        let member = caller(store, email).await?;
        service.set_consent(&member, true).await?;
        bar.inc(1);
    }
    let now = time::now();
    for (i, f) in fixtures.campaigns.into_iter().enumerate() {
        let at = |what: &str| format!("marketing.json campaign {i} ({}): {what}", f.name);
        let owner = caller(store, &f.owner).await?;
        let (mine, _) = store
            .campaigns_of(
                owner.user_id,
                None,
                None,
                Limit::parse(100).map_err(|e| anyhow::anyhow!("{e}"))?,
            )
            .await?;
        if mine.iter().any(|c| c.name == f.name) {
            summary.campaigns_present += 1;
            bar.inc(1);
            continue;
        }
        let post = *posts
            .get(&f.post)
            .with_context(|| at(&format!("no post `{}` in social.json", f.post)))?;
        // A campaign that runs started a week ago; a scheduled one starts in a week.
        let starts_at = if f.status == S::Scheduled {
            now + Duration::days(7)
        } else {
            now - Duration::days(7)
        };
        let draft = CampaignDraft {
            post_id: post,
            name: f.name.clone(),
            objective: f.objective,
            bid: f.bid,
            total_budget: f.total_budget,
            daily_budget: f.daily_budget,
            currency: Currency::parse("ZAR").map_err(|e| anyhow::anyhow!("{e}"))?,
            starts_at,
            ends_at: None,
            targeting: f.targeting,
        };
        let c = service
            .create(&owner, draft)
            .await
            .with_context(|| at("create"))?;
        summary.campaigns_created += 1;
        if f.status == S::Draft {
            bar.inc(1);
            continue;
        }
        service.act(&owner, c.id, CampaignAction::Submit).await?;
        let payment = commerce
            .payments
            .fund_campaign(
                c.id,
                &owner,
                sandbox_checkout(),
                &format!("fixture:{}", f.name),
            )
            .await
            .with_context(|| at("fund"))?;
        press_pay(&commerce, &sandbox, &payment).await?;
        if f.status == S::Scheduled {
            bar.inc(1);
            continue;
        }
        service.advance_due(now).await?;
        // A week of activity: more each day, clicks about 3 % of impressions.
        let mut events = Vec::new();
        for day in (0..7).rev() {
            let at = now - Duration::days(day) + Duration::minutes(5);
            let at = at.min(now);
            let impressions = 300 + 40 * (7 - day) as usize;
            for n in 0..impressions {
                let kind = if n % 33 == 0 {
                    MarketingEventKind::Click
                } else {
                    MarketingEventKind::Impression
                };
                events.push(AdEvent {
                    event_id: uuid::Uuid::now_v7(),
                    campaign_id: c.id,
                    kind,
                    at: at - Duration::seconds((n % 3_000) as i64),
                    viewer_id: None,
                });
            }
        }
        for batch in events.chunks(1_000) {
            let report = store
                .ingest(batch, now, &|_| {
                    vendrome_core::outbox::NewEvent::new(
                        vendrome_core::events::DomainEvent::CampaignStatusChanged(
                            vendrome_core::events::CampaignChanged {
                                campaign_id: c.id,
                                owner_id: c.owner_id,
                                status: S::Completed,
                            },
                        ),
                    )
                })
                .await?;
            summary.events += report.accepted;
        }
        let system = Caller {
            user_id: owner.user_id,
            role: UserRole::Admin,
        };
        match f.status {
            S::Paused => {
                service.act(&system, c.id, CampaignAction::Pause).await?;
            }
            S::Cancelled => {
                service.act(&system, c.id, CampaignAction::Cancel).await?;
            }
            _ => {}
        }
        let read = service.campaign(&system, c.id).await?;
        anyhow::ensure!(
            read.status == f.status,
            "{}",
            at(&format!("ended {} rather than {}", read.status, f.status))
        );
        bar.inc(1);
    }
    Ok(summary)
}
