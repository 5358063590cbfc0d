//! Marketing benchmark: event ingest and the home feed with sponsored delivery, through
//! `vendrome serve` on PostgreSQL.
//!
//! Run it through `scripts/bench/marketing.sh`, which builds the release binaries first:
//!
//! ```sh
//! scripts/bench/marketing.sh
//! scripts/bench/marketing.sh --events 100000 --clients 1,8 --campaigns 1000
//! scripts/bench/marketing.sh --members 100000 --estimates 200
//! ```
//!
//! `--size tiny` sets every count small (a run that checks the benchmark works, in seconds,
//! even in a debug build); options after it still override it.
//!
//! On a fresh database (`vendrome_marketing_bench`, dropped afterwards) seeded with a synthetic
//! network (`--users`, `--posts`), it makes campaigns through the store's ports (each funded
//! by an ad-balance posting, scheduled and started), starts `vendrome serve`, then:
//!
//! 1. ingest, at each of `--clients`: `--events` events in batches of 500 posted by an admin to
//!    `POST /v1/marketing/events`, each batch about four of 40 campaigns (CPC at 10 per click,
//!    or CPM at 2,000: 2 per impression), one event in 20 a repeat of an earlier one, the
//!    budgets sized so that about half the campaigns run out mid-run: events/s, p50 and p99 of a
//!    batch, and the spend recorded beside the spend expected from the unique events (each
//!    campaign's `min(events, budget / unit) × unit`), and the ledger check;
//! 2. the home feed (`GET /v1/feed?limit=10`) of 200 members who opted in, at `--feed-clients`
//!    for `--seconds`: with sponsored delivery off, on with no campaign running, and on with
//!    `--campaigns` running (targeting a few countries each): requests/s, p50, p99, and how many
//!    pages carried a sponsored item;
//! 3. the audience estimate (`POST /v1/marketing/audience-estimate`) over `--members` (100,000)
//!    synthetic members with traits and consent, bulk-inserted (`audience.rs`), for a few
//!    targetings, `--estimates` (200) requests each: p50, p99 and the members reached.
//!
//! The load generator shares the machine with the server and the database.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use reqwest::Client;
use serde_json::{json, Value};
use vendrome_core::enums::{
    MarketingBidModel, MarketingCampaignStatus as S, MarketingObjective, PaymentProvider, UserRole,
};
use vendrome_core::events::{CampaignChanged, DomainEvent};
use vendrome_core::ids::{CampaignId, PostId, UserId};
use vendrome_core::ledger::{AccountCode, Entry, LedgerRepo as _, Posting};
use vendrome_core::marketing::{
    Bid, Campaign, CampaignAction, CampaignMove, MarketingRepo as _, Targeting,
};
use vendrome_core::money::{Currency, Money};
use vendrome_core::outbox::NewEvent;
use vendrome_server::auth::KeyRing;
use vendrome_store::db::PoolSize;
use vendrome_store::{with_db, Store};

// The feed benchmark's plumbing (databases, server processes, percentiles); not all of it is used here.
#[allow(dead_code)]
#[path = "../feed_bench/support.rs"]
mod support;

mod audience;

use support::{percentile_ms, Level, Server, StoreKind};

/// The database this benchmark creates and drops.
const DATABASE: &str = "vendrome_marketing_bench";
const BATCH: usize = 500;
const INGEST_CAMPAIGNS: usize = 40;

#[derive(Debug)]
struct Options {
    users: u64,
    posts: u64,
    events: usize,
    clients: Vec<usize>,
    campaigns: usize,
    feed_clients: usize,
    seconds: u64,
    members: u64,
    estimates: usize,
    vendrome: String,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Options {
            users: 2_000,
            posts: 10_000,
            events: 200_000,
            clients: vec![1, 8],
            campaigns: 1_000,
            feed_clients: 16,
            seconds: 15,
            members: 100_000,
            estimates: 200,
            vendrome: "target/release/vendrome".into(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--users" => options.users = value()?.parse()?,
                "--posts" => options.posts = value()?.parse()?,
                "--events" => options.events = value()?.parse()?,
                "--clients" => {
                    options.clients = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                "--campaigns" => options.campaigns = value()?.parse()?,
                "--feed-clients" => options.feed_clients = value()?.parse()?,
                "--seconds" => options.seconds = value()?.parse()?,
                "--members" => options.members = value()?.parse()?,
                "--estimates" => options.estimates = value()?.parse()?,
                "--size" => match value()?.as_str() {
                    "tiny" => {
                        options.users = 50;
                        options.posts = 200;
                        options.events = 2_000;
                        options.clients = vec![1, 2];
                        options.campaigns = 10;
                        options.feed_clients = 2;
                        options.seconds = 1;
                        options.members = 1_000;
                        options.estimates = 10;
                    }
                    "full" => {}
                    other => bail!("--size is tiny or full, not {other}"),
                },
                "--vendrome" => options.vendrome = value()?,
                other => bail!("unknown option {other}"),
            }
        }
        Ok(options)
    }
}

fn zar() -> Currency {
    Currency::parse("ZAR").expect("ZAR is a currency")
}

fn changed(c: &Campaign, to: S) -> NewEvent {
    NewEvent::new(DomainEvent::CampaignStatusChanged(CampaignChanged {
        campaign_id: c.id,
        owner_id: c.owner_id,
        status: to,
    }))
}

/// An active campaign of `owner` promoting `post`, its budget funded into the ad balance.
async fn campaign(
    store: &Store,
    owner: UserId,
    post: PostId,
    bid: Bid,
    budget: i64,
    targeting: Targeting,
) -> anyhow::Result<Campaign> {
    let now = vendrome_core::time::now();
    let mut c = Campaign {
        id: CampaignId::new(),
        owner_id: owner,
        name: "Bench".into(),
        objective: MarketingObjective::Awareness,
        status: S::Draft,
        post_id: Some(post),
        bid,
        budget: Money::new(budget, zar()),
        daily_budget: None,
        spent: 0,
        billed_impressions: 0,
        targeting,
        starts_at: Some(now),
        ends_at: None,
        submitted_at: None,
        funding_payment_id: None,
        released_amount: None,
        refunded_amount: 0,
        ended_at: None,
        created_at: now,
        updated_at: now,
    };
    store.create_campaign(&c, changed(&c, S::Draft)).await?;
    // The budget as a funding charge's settlement posts it (clearing → ad balance).
    let funding = Posting::new(
        format!("bench:{}:funded", c.id),
        "bench ad budget",
        None,
        vec![
            Entry::debit(
                AccountCode::provider_clearing(PaymentProvider::Sandbox, zar()),
                c.budget,
            ),
            Entry::credit(AccountCode::user_ad_balance(owner, zar()), c.budget),
        ],
    )?;
    store.post(&funding, now).await?;
    for (action, to) in [
        (CampaignAction::Fund, S::Scheduled),
        (CampaignAction::Start, S::Active),
    ] {
        let change = CampaignMove {
            id: c.id,
            action,
            from: c.status,
            to,
            at: now,
        };
        c = store
            .move_campaign(change, changed(&c, to))
            .await?
            .context("a fresh campaign moves")?;
    }
    Ok(c)
}

/// Posts and their authors, `n` of them.
async fn posts(store: &Store, n: i64) -> anyhow::Result<Vec<(PostId, UserId)>> {
    let rows: Vec<(uuid::Uuid, uuid::Uuid)> = with_db!(store.db(), pool => {
        sqlx::query_as::<_, (uuid::Uuid, uuid::Uuid)>("SELECT id, author_id FROM posts WHERE deleted_at IS NULL AND visibility = 'public' ORDER BY id LIMIT $1")
            .bind(n)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(p, a)| (PostId::from_uuid(p), UserId::from_uuid(a)))
        .collect())
}

/// The unit cost of a campaign's billable event.
fn unit(bid: Bid) -> i64 {
    match bid.model {
        MarketingBidModel::Cpc => bid.amount,
        MarketingBidModel::Cpm => bid.amount / 1000,
    }
}

struct IngestRun {
    level: Level,
    events: usize,
    spent: i64,
    expected: i64,
    completed: usize,
    campaigns: usize,
}

/// One ingest level on fresh campaigns.
async fn ingest(
    store: &Store,
    client: &Client,
    base: &str,
    admin: &str,
    targets: &[(PostId, UserId)],
    events: usize,
    clients: usize,
) -> anyhow::Result<IngestRun> {
    let mut campaigns = Vec::new();
    let per_campaign = events / INGEST_CAMPAIGNS;
    for i in 0..INGEST_CAMPAIGNS {
        let (post, owner) = targets[i % targets.len()];
        let (bid, kind) = if i % 2 == 0 {
            (
                Bid {
                    model: MarketingBidModel::Cpc,
                    amount: 10,
                },
                "click",
            )
        } else {
            (
                Bid {
                    model: MarketingBidModel::Cpm,
                    amount: 2_000,
                },
                "impression",
            )
        };
        // Half the campaigns can pay for about 60 % of their events, the rest for all of them.
        let affordable = if i % 4 < 2 {
            per_campaign * 6 / 10
        } else {
            per_campaign * 2
        };
        let budget = affordable as i64 * unit(bid);
        let c = campaign(store, owner, post, bid, budget, Targeting::default()).await?;
        campaigns.push((c, kind));
    }
    // Batches of 500: four campaigns each, one event in 20 a repeat of the batch before's.
    let now = vendrome_core::time::now().to_rfc3339();
    let mut batches: Vec<Value> = Vec::new();
    let mut unique: BTreeMap<CampaignId, HashSet<uuid::Uuid>> = BTreeMap::new();
    let mut previous: Vec<Value> = Vec::new();
    let mut sent = 0;
    let mut b = 0;
    while sent < events {
        let mut batch = Vec::with_capacity(BATCH);
        for k in 0..BATCH {
            if k % 20 == 19 && !previous.is_empty() {
                batch.push(previous[k % previous.len()].clone());
                continue;
            }
            let (c, kind) = &campaigns[(b * 4 + k % 4) % campaigns.len()];
            let id = uuid::Uuid::now_v7();
            unique.entry(c.id).or_default().insert(id);
            batch.push(json!({ "event_id": id, "campaign_id": c.id, "kind": kind, "at": now }));
        }
        sent += batch.len();
        previous = batch.clone();
        batches.push(json!({ "events": batch }));
        b += 1;
    }
    let expected: i64 = campaigns
        .iter()
        .map(|(c, _)| {
            let n = unique.get(&c.id).map_or(0, |s| s.len()) as i64;
            let u = unit(c.bid);
            n.min(c.budget.amount / u) * u
        })
        .sum();
    let started = Instant::now();
    let results: Vec<Option<Duration>> = futures::stream::iter(batches.iter())
        .map(|body| async move {
            let sent = Instant::now();
            let ok = client
                .post(format!("{base}/v1/marketing/events"))
                .bearer_auth(admin)
                .json(body)
                .send()
                .await
                .ok()?
                .error_for_status()
                .ok()?;
            ok.bytes().await.ok()?;
            Some(sent.elapsed())
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = results.iter().flatten().copied().collect();
    latencies.sort();
    let mut spent = 0;
    let mut completed = 0;
    for (c, _) in &campaigns {
        let read = store.campaign(c.id).await?.context("the campaign")?;
        spent += read.spent;
        completed += usize::from(read.status == S::Completed);
    }
    Ok(IngestRun {
        level: Level {
            clients,
            requests: latencies.len(),
            errors: results.len() - latencies.len(),
            elapsed,
            latencies,
        },
        events: sent,
        spent,
        expected,
        completed,
        campaigns: campaigns.len(),
    })
}

struct FeedRun {
    label: String,
    level: Level,
    sponsored: usize,
}

/// The home feed of `viewers` for `seconds`, counting pages with a sponsored item.
async fn feed(
    label: String,
    client: &Client,
    base: &str,
    tokens: &[String],
    clients: usize,
    seconds: u64,
) -> FeedRun {
    let sponsored = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<Duration>> = futures::stream::iter(0..clients)
        .map(|_| async {
            let mut latencies = Vec::new();
            while started.elapsed() < Duration::from_secs(seconds) {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let sent = Instant::now();
                let Ok(r) = client
                    .get(format!("{base}/v1/feed?limit=10"))
                    .bearer_auth(&tokens[n % tokens.len()])
                    .send()
                    .await
                else {
                    continue;
                };
                let Ok(body) = r.json::<Value>().await else {
                    continue;
                };
                latencies.push(sent.elapsed());
                let carried = body["data"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|i| !i["sponsored"].is_null()));
                if carried {
                    sponsored.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            latencies
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = results.into_iter().flatten().collect();
    latencies.sort();
    FeedRun {
        label,
        level: Level {
            clients,
            requests: latencies.len(),
            errors: 0,
            elapsed,
            latencies,
        },
        sponsored: sponsored.into_inner(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let url = StoreKind::Postgres.prepare(false, DATABASE).await?;
    let outcome = run(&options, &url).await;
    drop_database().await?;
    let outcome = outcome?;
    print_report(&options, &outcome);
    Ok(())
}

/// What a run measured.
struct Outcome {
    ingests: Vec<IngestRun>,
    feeds: Vec<FeedRun>,
    audience_seeded: Duration,
    estimates: Vec<audience::EstimateRun>,
    clean: bool,
}

async fn run(options: &Options, url: &str) -> anyhow::Result<Outcome> {
    eprintln!(
        "seeding {} users and {} posts…",
        options.users, options.posts
    );
    support::seed(&options.vendrome, url, options.users, options.posts)?;
    let keys_spec = KeyRing::generate_spec();
    let keys = KeyRing::parse(&keys_spec)?;
    let store = Store::open_with(url, PoolSize(16)).await?;
    let targets = posts(&store, 2_000).await?;
    let admin_id = targets[0].1;
    with_db!(store.db(), pool => {
        sqlx::query("UPDATE users SET role = 'admin' WHERE id = $1").bind(admin_id.as_uuid()).execute(pool).await.map(|_| ())
    })?;
    let admin = keys.issue(admin_id, UserRole::Admin, None)?;
    let client = Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .build()?;

    // Viewers who opted in, every one with a profile country the campaigns may target.
    let viewers: Vec<uuid::Uuid> = with_db!(store.db(), pool => {
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM users ORDER BY id DESC LIMIT 200").fetch_all(pool).await
    })?;
    let now = vendrome_core::time::now();
    let mut tokens = Vec::new();
    for v in &viewers {
        let viewer = UserId::from_uuid(*v);
        store.set_marketing_consent(viewer, true, now).await?;
        tokens.push(keys.issue(viewer, UserRole::Member, None)?);
    }

    let mut feeds = Vec::new();
    let off = [("VENDROME_SPONSORED_DELIVERY", "false".to_owned())];
    let server = Server::start_with(&options.vendrome, url, &keys_spec, &off).await?;
    let base = format!("http://{}", server.address);
    eprintln!("feed: sponsored delivery off…");
    feeds.push(
        feed(
            "delivery off".into(),
            &client,
            &base,
            &tokens,
            options.feed_clients,
            options.seconds,
        )
        .await,
    );
    server.stop().await;

    let server = Server::start(&options.vendrome, url, &keys_spec).await?;
    let base = format!("http://{}", server.address);
    eprintln!("feed: delivery on, no campaign running…");
    feeds.push(
        feed(
            "delivery on, no campaign".into(),
            &client,
            &base,
            &tokens,
            options.feed_clients,
            options.seconds,
        )
        .await,
    );

    let mut runs = Vec::new();
    for &clients in &options.clients {
        eprintln!("ingest: {} events at {clients} clients…", options.events);
        runs.push(
            ingest(
                &store,
                &client,
                &base,
                &admin,
                &targets,
                options.events,
                clients,
            )
            .await?,
        );
    }

    eprintln!("making {} running campaigns…", options.campaigns);
    let countries = ["ZA", "KE", "NG", "GH", "EG", "MA", "TZ", "UG"];
    for i in 0..options.campaigns {
        let (post, owner) = targets[(i * 7 + 1) % targets.len()];
        // Half target two countries, half everyone who opted in.
        let targeting = if i % 2 == 0 {
            Targeting {
                countries: vec![
                    countries[i % countries.len()].into(),
                    countries[(i + 3) % countries.len()].into(),
                ],
                ..Targeting::default()
            }
        } else {
            Targeting::default()
        };
        let bid = Bid {
            model: MarketingBidModel::Cpm,
            amount: 1_000 + (i as i64 % 50) * 100,
        };
        campaign(&store, owner, post, bid, 1_000_000_000, targeting).await?;
    }
    // Refill the running campaigns' snapshot at once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    eprintln!(
        "feed: delivery on, {} campaigns running…",
        options.campaigns
    );
    feeds.push(
        feed(
            format!("delivery on, {} campaigns running", options.campaigns),
            &client,
            &base,
            &tokens,
            options.feed_clients,
            options.seconds,
        )
        .await,
    );

    eprintln!("seeding {} audience members…", options.members);
    let advertiser = targets[1 % targets.len()].1;
    let audience_seeded = audience::seed(&store, advertiser, options.members).await?;
    let token = keys.issue(advertiser, UserRole::Member, None)?;
    eprintln!("audience estimates…");
    let estimates = audience::measure(&store, &client, &base, &token, options.estimates).await?;

    let check = store.check().await?;
    if !check.is_clean() {
        eprintln!("ledger check: {check:?}");
    }
    store.db().close().await;
    server.stop().await;
    Ok(Outcome {
        ingests: runs,
        feeds,
        audience_seeded,
        estimates,
        clean: check.is_clean(),
    })
}

async fn drop_database() -> anyhow::Result<()> {
    let admin = std::env::var("VENDROME_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = sqlx::PgPool::connect(&admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(())
}

fn ms(level: &Level, percent: f64) -> f64 {
    percentile_ms(&level.latencies, percent).unwrap_or(f64::NAN)
}

fn print_report(options: &Options, outcome: &Outcome) {
    let (ingests, feeds, clean) = (&outcome.ingests, &outcome.feeds, outcome.clean);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "\n## Marketing benchmark: PostgreSQL, {} users, {} posts, {cores} cores (server, database and load generator share them)\n",
        options.users, options.posts
    );
    println!("| ingest clients | events | batches | events/s | batch p50 ms | batch p99 ms | errors | spend | expected spend | campaigns completed |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for run in ingests {
        let l = &run.level;
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {} | {} | {} of {} |",
            l.clients,
            run.events,
            l.requests + l.errors,
            run.events as f64 / l.elapsed.as_secs_f64(),
            ms(l, 50.0),
            ms(l, 99.0),
            l.errors,
            run.spent,
            run.expected,
            run.completed,
            run.campaigns,
        );
    }
    println!("\n| home feed (`GET /v1/feed?limit=10`, 200 members who opted in) | clients | requests/s | p50 ms | p99 ms | pages with a sponsored item |");
    println!("|---|---|---|---|---|---|");
    for run in feeds {
        let l = &run.level;
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} of {} |",
            run.label,
            l.clients,
            l.requests as f64 / l.elapsed.as_secs_f64(),
            ms(l, 50.0),
            ms(l, 99.0),
            run.sponsored,
            l.requests,
        );
    }
    audience::print(options.members, outcome.audience_seeded, &outcome.estimates);
    println!(
        "\nledger check after the run: {}",
        if clean { "clean" } else { "NOT CLEAN" }
    );
}
