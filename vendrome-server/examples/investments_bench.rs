//! Investments benchmark: commitments to one hot campaign by concurrent backers, each reserved,
//! charged and settled into the campaign's escrow, then the settlement of a campaign of many
//! confirmed commitments. Through `InvestmentService` and the `Payments` orchestrator over the
//! real store (no HTTP in between: what is measured is the domain, the orchestrator and the
//! database), with a provider that answers every charge and refund at once, so each commitment
//! is the whole path a provider's success takes.
//!
//! Run it through `scripts/bench/investments.sh` (release build, PostgreSQL from
//! `VENDROME_TEST_DATABASE_URL`; `--store sqlite` for a SQLite file):
//!
//! ```sh
//! scripts/bench/investments.sh
//! scripts/bench/investments.sh --clients 1,16 --commitments 4000 --settle 10000
//! ```
//!
//! 1. hot campaign: `--commitments` commitments of 1,000 to one all-or-nothing campaign (its
//!    goal large enough that none is refused) by each of `--clients` concurrent backers'
//!    counts: commitments/s, p50, p99; then the totals are checked exact (raised amount,
//!    backers, escrow balance, the ledger clean);
//! 2. settlement: a campaign with `--settle` confirmed commitments that missed its goal is
//!    settled by one pass of `Payments::settle_campaigns` (one refund per commitment); and one
//!    that reached it (one release): the time of each pass.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::Duration;
use serde_json::json;
use vendrome_core::access::Caller;
use vendrome_core::enums::{
    InvestmentCampaignStatus, InvestmentModel, PaymentProvider as ProviderId, PaymentStatus,
    PostType, PostVisibility, UserRole,
};
use vendrome_core::ids::{InvestmentCampaignId, UserId};
use vendrome_core::investments::{
    CampaignMove, InvestmentRepo as _, InvestmentRules, InvestmentService, NewCampaign,
};
use vendrome_core::ledger::{AccountCode, LedgerRepo as _};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    CreatePayment, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
};
use vendrome_core::posts::{Media, NewPost, PostBody, PostPayload, PostRepo as _};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_payments::{CheckoutRequest, Payments, Ports};
use vendrome_store::Store;

struct Options {
    store: String,
    clients: Vec<usize>,
    commitments: usize,
    settle: usize,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Options {
            store: "postgres".into(),
            clients: vec![16],
            commitments: 4_000,
            settle: 10_000,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--store" => o.store = value,
                "--clients" => {
                    o.clients = value.split(',').map(str::parse).collect::<Result<_, _>>()?
                }
                "--commitments" => o.commitments = value.parse()?,
                "--settle" => o.settle = value.parse()?,
                other => anyhow::bail!("unknown option {other}"),
            }
        }
        Ok(o)
    }
}

/// A provider that takes every charge and refund at once.
struct Instant_;

#[async_trait]
impl PaymentProvider for Instant_ {
    fn id(&self) -> ProviderId {
        ProviderId::Sandbox
    }

    fn methods(&self) -> Vec<MethodOffer> {
        vec![MethodOffer {
            provider: ProviderId::Sandbox,
            method: "card".into(),
            currencies: Vec::new(),
        }]
    }

    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        Ok(ProviderPayment {
            reference: format!("ch_{}", request.payment_id),
            status: PaymentStatus::Succeeded,
            amount: request.amount,
            next_action: NextAction::None,
            failure: None,
        })
    }

    async fn capture(&self, _: &str, _: Money, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        Ok(ProviderRefund {
            reference: format!("re_{}", request.refund_id),
            status: PaymentStatus::Succeeded,
            amount: request.amount,
        })
    }

    async fn status(&self, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    async fn verify_webhook(
        &self,
        _: &Headers,
        _: &[u8],
        _: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        Err(WebhookError::InvalidSignature(
            "the benchmark's provider sends none".into(),
        ))
    }

    async fn settled_transactions(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        Ok(Vec::new())
    }
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    ms(sorted[((sorted.len() as f64 - 1.0) * p).round() as usize])
}

async fn member(store: &Store, level: &str) -> anyhow::Result<UserId> {
    let id = uuid::Uuid::now_v7().simple();
    let user = store
        .create_user(NewUser {
            email: Email::parse(&format!("m-{id}@example.com"))?,
            display_name: DisplayName::parse("Member")?,
            handle: None,
            password_hash: None,
            role: UserRole::Member,
        })
        .await?;
    let sql = match store.dialect() {
        vendrome_store::Dialect::Postgres => {
            "UPDATE users SET verification_level = $2::verification_level WHERE id = $1"
        }
        vendrome_store::Dialect::Sqlite => "UPDATE users SET verification_level = $2 WHERE id = $1",
    };
    vendrome_store::with_db!(store.db(), pool => {
        sqlx::query(sql).bind(user.id.as_uuid()).bind(level).execute(pool).await.map(drop)
    })?;
    Ok(user.id)
}

/// A live all-or-nothing campaign of a new founder with `goal`, ending in `days`.
async fn campaign(store: &Store, goal: i64, days: i64) -> anyhow::Result<InvestmentCampaignId> {
    let founder = member(store, "business_verified").await?;
    let fields = json!({"title": "Solar kiosks", "goal_minor": goal, "currency": "ZAR",
        "instrument": "equity", "ends_at": "2031-01-01T00:00:00Z"});
    let post = store
        .create_post(NewPost {
            author_id: founder,
            body: PostBody::parse("Back our kiosks")?,
            visibility: PostVisibility::Public,
            topics: Vec::new(),
            payload: PostPayload::parse(PostType::Crowdfunding, Some(&fields))?,
            media: Media::default(),
        })
        .await?;
    let now = time::now();
    let draft = store
        .create_campaign(&NewCampaign {
            id: InvestmentCampaignId::new(),
            owner_id: founder,
            post_id: post,
            title: "Solar kiosks".into(),
            summary: String::new(),
            instrument: vendrome_core::enums::InvestmentInstrument::Equity,
            model: InvestmentModel::AllOrNothing,
            goal: Money::new(goal, zar()),
            min_commitment: 1_000,
            max_commitment: None,
            platform_fee_bps: 500,
            deadline: now + Duration::days(days),
            created_at: now,
        })
        .await?
        .context("a new post has no campaign")?;
    store
        .move_campaign(CampaignMove {
            id: draft.id,
            from: InvestmentCampaignStatus::Draft,
            to: InvestmentCampaignStatus::Live,
            at: now,
        })
        .await?
        .context("the draft was published")?;
    Ok(draft.id)
}

fn zar() -> Currency {
    Currency::parse("ZAR").expect("a code")
}

/// `count` commitments of 1,000 by `clients` concurrent backers; the latencies.
async fn commit_many(
    service: &InvestmentService,
    payments: &Payments,
    store: &Store,
    campaign: InvestmentCampaignId,
    clients: usize,
    count: usize,
) -> anyhow::Result<Vec<StdDuration>> {
    let mut backers = Vec::new();
    for _ in 0..clients {
        backers.push(member(store, "identity_verified").await?);
    }
    let mut tasks = Vec::new();
    for (i, backer) in backers.into_iter().enumerate() {
        let (service, payments) = (service.clone(), payments.clone());
        let share = count / clients + usize::from(i < count % clients);
        tasks.push(tokio::spawn(async move {
            let caller = Caller {
                user_id: backer,
                role: UserRole::Member,
            };
            let mut latencies = Vec::with_capacity(share);
            for n in 0..share {
                let key = format!("bench-{n}");
                let started = Instant::now();
                let commitment = service.commit(&caller, campaign, 1_000, &key).await?;
                let paid = payments
                    .checkout_commitment(commitment.id, &caller, CheckoutRequest::default(), &key)
                    .await?;
                anyhow::ensure!(paid.status == PaymentStatus::Succeeded, "{paid:?}");
                latencies.push(started.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort();
    Ok(all)
}

async fn escrow(store: &Store, campaign: InvestmentCampaignId) -> anyhow::Result<i64> {
    let code = AccountCode::campaign_escrow(campaign.as_uuid(), zar());
    Ok(store.account(&code).await?.map_or(0, |a| a.balance))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let url = match options.store.as_str() {
        "sqlite" => format!(
            "sqlite://{}",
            std::env::temp_dir()
                .join(format!("investments-bench-{}.db", uuid::Uuid::now_v7()))
                .display()
        ),
        _ => std::env::var("VENDROME_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    };
    // The run's own database, dropped (or its SQLite file removed) when the run ends.
    let mut dropped: Option<(Store, String)> = None;
    let store = if options.store == "sqlite" {
        Store::open(&url).await?
    } else {
        // A fresh database beside the server's default one.
        let name = format!("investments_bench_{}", uuid::Uuid::now_v7().simple());
        let admin = Store::open(&url).await?;
        vendrome_store::with_db!(admin.db(), pool => {
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(pool).await.map(drop)
        })?;
        let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
        let store = Store::open(&format!("{base}/{name}")).await?;
        dropped = Some((admin, name));
        store
    };
    store.migrate().await?;
    let shared = Arc::new(store.clone());
    let ports = Ports {
        payments: shared.clone(),
        orders: shared.clone(),
        inbox: shared.clone(),
        ledger: shared.clone(),
        reconciliation: shared.clone(),
    };
    let payments = Payments::new(ports, vec![Arc::new(Instant_)]).with_investments(shared.clone());
    let service = InvestmentService::new(shared.clone(), InvestmentRules::default());

    println!(
        "Investments on {} ({} commitments per run)",
        options.store, options.commitments
    );
    println!();
    println!("| clients | commitments/s | p50 ms | p99 ms | raised exact | backers exact | escrow exact |");
    println!("|---:|---:|---:|---:|:-:|:-:|:-:|");
    for &clients in &options.clients {
        let hot = campaign(&store, 1_000_000_000, 30).await?;
        let started = Instant::now();
        let latencies = commit_many(
            &service,
            &payments,
            &store,
            hot,
            clients,
            options.commitments,
        )
        .await?;
        let elapsed = started.elapsed();
        let read = store.campaign(hot).await?.context("the campaign")?;
        let expected = 1_000 * options.commitments as i64;
        let ok = |b: bool| if b { "yes" } else { "NO" };
        println!(
            "| {clients} | {:.0} | {:.1} | {:.1} | {} | {} | {} |",
            options.commitments as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            ok(read.raised_amount == expected && read.reserved_amount == expected),
            ok(read.backers == options.commitments as i64),
            ok(escrow(&store, hot).await? == expected),
        );
    }

    // Settlement: a campaign of `--settle` confirmed commitments that missed its goal (one
    // refund each), then one that reached it (one release), each settled by one pass.
    println!();
    println!("| settlement | commitments | refunds | releases | seconds |");
    println!("|---|---:|---:|---:|---:|");
    let at = time::now() + Duration::days(2);
    let missed = campaign(&store, 1_000 * options.settle as i64 * 2, 1).await?;
    commit_many(&service, &payments, &store, missed, 16, options.settle).await?;
    let started = Instant::now();
    let report = payments.settle_campaigns(at).await?;
    println!(
        "| missed its goal: refunded | {} | {} | {} | {:.2} |",
        options.settle,
        report.refunds,
        report.released,
        started.elapsed().as_secs_f64()
    );
    let reached = campaign(&store, 1_000 * options.settle as i64, 1).await?;
    commit_many(&service, &payments, &store, reached, 16, options.settle).await?;
    let started = Instant::now();
    let report = payments.settle_campaigns(at).await?;
    println!(
        "| reached its goal: released | {} | {} | {} | {:.2} |",
        options.settle,
        report.refunds,
        report.released,
        started.elapsed().as_secs_f64()
    );
    let check = store.check().await?;
    println!();
    println!(
        "escrow after: missed {} reached {}; ledger check clean: {}",
        escrow(&store, missed).await?,
        escrow(&store, reached).await?,
        check.is_clean()
    );
    drop((payments, service, shared));
    store.db().close().await;
    match dropped {
        Some((admin, name)) => vendrome_store::with_db!(admin.db(), pool => {
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(pool).await.map(drop)
        })?,
        None => {
            let path = url.trim_start_matches("sqlite://");
            for file in [
                path.to_owned(),
                format!("{path}-wal"),
                format!("{path}-shm"),
            ] {
                let _ = std::fs::remove_file(file);
            }
        }
    }
    Ok(())
}
