//! `fixtures/investments.json`: the founders' and backers' verification levels and profile
//! countries and industries (which the deal-flow matches score), and investment campaigns of
//! `social.json`'s crowdfunding posts in every status, with commitments in every status a
//! backer reaches. Everything goes through the same services as the API: the investment
//! service for campaigns and commitments, the payments orchestrator with the sandbox provider
//! for each payment (its signed webhook handled by the same pipeline as a provider's), so each
//! confirmed commitment sits in its campaign's escrow account as real use would put it there.
//! The `closed` campaign ran in the past (a service whose clock is set back) and is settled by
//! the same settlement pass `serve` runs.
//!
//! Idempotent: a post's campaign is made once (a second run finds it and leaves it alone), and
//! a level or profile already as the file says is not written again.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use vendrome_core::access::Caller;
use vendrome_core::audit::AuditContext;
use vendrome_core::enums::{
    CommitmentStatus, InvestmentCampaignStatus as S, InvestmentModel, VerificationLevel,
};
use vendrome_core::ids::{CommitmentId, InvestmentCampaignId, PostId};
use vendrome_core::investments::{CreateCampaign, InvestmentService};
use vendrome_core::money::Currency;
use vendrome_core::profiles::{ProfileChanges, ProfileRepo};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::users::{Email, UserRepo as _};
use vendrome_core::Error;
use vendrome_server::commerce::{Commerce, CommerceOptions};
use vendrome_store::Store;

use super::orders::{caller, press_pay, sandbox_checkout};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Investments {
    #[serde(default)]
    members: Vec<MemberFixture>,
    #[serde(default)]
    campaigns: Vec<CampaignFixture>,
}

impl Investments {
    /// How many items the progress bar counts.
    pub fn items(&self) -> usize {
        self.members.len() + self.campaigns.len()
    }
}

/// A founder's or backer's level and profile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFixture {
    email: String,
    level: VerificationLevel,
    country: String,
    industry: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignFixture {
    founder: String,
    /// A crowdfunding post's key in `social.json` (the founder's).
    post: String,
    goal_amount: i64,
    currency: String,
    min_commitment: i64,
    max_commitment: Option<i64>,
    model: InvestmentModel,
    /// Days from now to the deadline; negative for a campaign that ran in the past.
    deadline_days: i64,
    status: S,
    #[serde(default)]
    commitments: Vec<CommitmentFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitmentFixture {
    backer: String,
    amount: i64,
    /// Where it ends: `pending` (not paid), `pending_review` (held by the corridor rules),
    /// `confirmed` (paid into escrow) or `refunded` (paid, then withdrawn).
    status: CommitmentStatus,
}

/// What a run did.
#[derive(Default, Serialize)]
pub struct InvestmentsSummary {
    pub members_changed: usize,
    pub campaigns_created: usize,
    pub campaigns_present: usize,
    pub commitments: usize,
}

/// Sets the member's level and profile where they differ from the file; whether it wrote.
async fn member(store: &Store, m: &MemberFixture) -> anyhow::Result<bool> {
    let parsed = Email::parse(&m.email).map_err(|e| anyhow::anyhow!("{}: {e}", m.email))?;
    let user = store
        .user_by_email(&parsed)
        .await?
        .with_context(|| format!("{} is not in users.json", m.email))?;
    let mut changed = false;
    if user.verification_level != m.level {
        store
            .set_verification_level(user.id, m.level, &AuditContext::cli())
            .await?;
        changed = true;
    }
    let card = store.profile(user.id).await?.map(|p| p.card);
    let same = card.is_some_and(|c| {
        c.country_code.as_deref() == Some(m.country.as_str())
            && c.industry.as_deref() == Some(m.industry.as_str())
    });
    if !same {
        let changes = ProfileChanges {
            country_code: Some(Some(m.country.clone())),
            industry: Some(Some(m.industry.clone())),
            ..ProfileChanges::default()
        };
        ProfileRepo::update_profile(store, user.id, &changes).await?;
        changed = true;
    }
    Ok(changed)
}

/// Loads the members and the campaigns; `posts` are `social.json`'s posts by key.
pub async fn load(
    store: &Store,
    fixtures: Investments,
    posts: &HashMap<String, PostId>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<InvestmentsSummary> {
    let commerce = Commerce::new(&Arc::new(store.clone()), CommerceOptions::default());
    let mut summary = InvestmentsSummary::default();
    for m in &fixtures.members {
        if member(store, m)
            .await
            .with_context(|| format!("investments.json member {}", m.email))?
        {
            summary.members_changed += 1;
        }
        bar.inc(1);
    }
    let now = time::now();
    for (i, f) in fixtures.campaigns.into_iter().enumerate() {
        let what = format!("investments.json campaign {i} ({})", f.post);
        let made = campaign(&commerce, store, posts, &f, now)
            .await
            .with_context(|| what.clone())?;
        match made {
            Some(commitments) => {
                summary.campaigns_created += 1;
                summary.commitments += commitments;
            }
            None => summary.campaigns_present += 1,
        }
        bar.inc(1);
    }
    Ok(summary)
}

/// Makes the campaign and takes it and its commitments where the file says; `None` when the
/// post has its campaign already. The number of commitments made.
async fn campaign(
    commerce: &Commerce,
    store: &Store,
    posts: &HashMap<String, PostId>,
    f: &CampaignFixture,
    now: Timestamp,
) -> anyhow::Result<Option<usize>> {
    let founder = caller(store, &f.founder).await?;
    let post = *posts
        .get(&f.post)
        .with_context(|| format!("no post `{}` in social.json", f.post))?;
    let deadline = now + Duration::days(f.deadline_days);
    // A campaign that ran in the past lived through it on a clock set back to a month before
    // its deadline.
    let service = if f.deadline_days <= 0 {
        let then = deadline - Duration::days(30);
        commerce
            .investments
            .clone()
            .with_clock(Arc::new(move || then))
    } else {
        commerce.investments.clone()
    };
    let ask = CreateCampaign {
        post_id: post,
        goal_amount: f.goal_amount,
        currency: Currency::parse(&f.currency).map_err(|e| anyhow::anyhow!("currency: {e}"))?,
        min_commitment: f.min_commitment,
        max_commitment: f.max_commitment,
        deadline,
        model: f.model,
        instrument: None,
    };
    let made = match service.create_campaign(&founder, ask).await {
        Ok(made) => made,
        Err(Error::Conflict {
            code: "campaign_exists",
            ..
        }) => return Ok(None),
        Err(e) => return Err(e).context("create"),
    };
    if f.status == S::Draft {
        return Ok(Some(0));
    }
    service
        .publish(&founder, made.id)
        .await
        .context("publish")?;
    let mut count = 0;
    for (n, c) in f.commitments.iter().enumerate() {
        commit(commerce, &service, store, made.id, n, c, &f.post)
            .await
            .with_context(|| format!("commitment {n} of {}", c.backer))?;
        count += 1;
    }
    if f.status == S::Cancelled {
        service.cancel(&founder, made.id).await.context("cancel")?;
    }
    if f.status == S::Closed {
        // The pass `serve` runs: it settles every campaign past its deadline.
        commerce.payments.settle_campaigns(now).await?;
    }
    let read = service.campaign(Some(&founder), made.id).await?;
    anyhow::ensure!(
        read.status == f.status,
        "ended {} rather than {}",
        read.status,
        f.status
    );
    Ok(Some(count))
}

/// The `n`th commitment of a campaign, taken to its status.
async fn commit(
    commerce: &Commerce,
    service: &InvestmentService,
    store: &Store,
    campaign: InvestmentCampaignId,
    n: usize,
    c: &CommitmentFixture,
    post: &str,
) -> anyhow::Result<()> {
    let backer = caller(store, &c.backer).await?;
    let key = format!("fixture:{post}:{n}");
    let commitment = service.commit(&backer, campaign, c.amount, &key).await?;
    if matches!(
        c.status,
        CommitmentStatus::Confirmed | CommitmentStatus::Refunded
    ) {
        pay(commerce, &backer, commitment.id, &key).await?;
    }
    if c.status == CommitmentStatus::Refunded {
        commerce
            .payments
            .withdraw_commitment(&backer, commitment.id)
            .await?;
    }
    let read = service.commitment(&backer, commitment.id).await?;
    anyhow::ensure!(
        read.status == c.status,
        "ended {} rather than {}",
        read.status,
        c.status
    );
    Ok(())
}

/// Checks out with the sandbox and presses Pay.
async fn pay(
    commerce: &Commerce,
    backer: &Caller,
    id: CommitmentId,
    key: &str,
) -> anyhow::Result<()> {
    let sandbox = commerce
        .sandbox
        .clone()
        .context("the default commerce options have the sandbox on")?;
    let payment = commerce
        .payments
        .checkout_commitment(id, backer, sandbox_checkout(), key)
        .await?;
    press_pay(commerce, &sandbox, &payment).await
}
