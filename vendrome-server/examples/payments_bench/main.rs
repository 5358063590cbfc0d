//! Payments benchmark: Stripe webhooks and sandbox checkouts through `vendrome serve` on
//! PostgreSQL, beside the raw floor of a webhook.
//!
//! Run it through `scripts/bench/payments.sh`, which builds the release binaries first:
//!
//! ```sh
//! scripts/bench/payments.sh
//! scripts/bench/payments.sh --events 500 --clients 1,16 --orders 1000
//! ```
//!
//! On a fresh database (`vendrome_payments_bench`, dropped afterwards) seeded with a small
//! synthetic network (`--users`, `--posts`; stock untracked), it starts `vendrome serve` with
//! Stripe configured (its API base points at a port nothing answers on: nothing here calls it)
//! and the sandbox on, then:
//!
//! 0. a warm-up, unmeasured (`--warmup`, 1,000 by default; 0 skips it): that many webhook
//!    payments and checkouts as below, then `ANALYZE`, so that what is measured is a server with
//!    some history, not one whose tables PostgreSQL last analysed empty (see [`warm_up`]);
//! 1. webhooks, at each of `--clients`: `--events` fresh orders, each with a Stripe charge at
//!    `processing` under its own `pi_…` reference, made through the store's ports; then every
//!    `payment_intent.succeeded` delivered twice in a row (concurrently, from two clients, when
//!    there are two) and an older `payment_intent.processing` for every third after the
//!    successes, each signed as Stripe signs, to `POST /v1/payments/webhooks/stripe`:
//!    deliveries/s, p50, p99, errors, the ledger postings made (one per distinct payment; any
//!    more is a double) and the ledger check;
//! 2. the floor, on the same deliveries and clients: sign, verify the HMAC, read the event id
//!    and insert it once into a scratch table of the same database;
//! 3. checkout, at `--checkout-clients`: `--orders` times `POST /v1/orders`, `POST
//!    /v1/orders/{id}/checkout {provider: sandbox}` and `POST /v1/payments/sandbox/{id}/complete
//!    {outcome: succeeded}` (the sandbox's signed webhook), end to end: orders/s, p50, p99.
//!
//! The load generator shares the machine with the server and the database.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use reqwest::Client;
use serde_json::json;
use vendrome_core::enums::UserRole;
use vendrome_core::ledger::LedgerRepo as _;
use vendrome_server::auth::KeyRing;
use vendrome_store::db::PoolSize;
use vendrome_store::Store;

// The feed benchmark's plumbing (databases, server processes, percentiles); not all of it is used here.
#[allow(dead_code)]
#[path = "../feed_bench/support.rs"]
mod support;
mod webhooks;

use support::{percentile_ms, Level, Server, StoreKind};
use webhooks::Purchase;

/// The database this benchmark creates and drops.
const DATABASE: &str = "vendrome_payments_bench";

#[derive(Debug)]
struct Options {
    users: u64,
    posts: u64,
    events: usize,
    clients: Vec<usize>,
    orders: usize,
    checkout_clients: usize,
    warmup: usize,
    vendrome: String,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Options {
            users: 1_000,
            posts: 5_000,
            events: 2_000,
            clients: vec![1, 16, 64],
            orders: 2_000,
            checkout_clients: 16,
            warmup: 1_000,
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
                "--orders" => options.orders = value()?.parse()?,
                "--checkout-clients" => options.checkout_clients = value()?.parse()?,
                "--warmup" => options.warmup = value()?.parse()?,
                "--vendrome" => options.vendrome = value()?,
                other => bail!("unknown option {other}"),
            }
        }
        Ok(options)
    }
}

/// One webhook level, with its floor and what it wrote.
struct WebhookRun {
    api: Level,
    floor: Level,
    events: usize,
    postings: i64,
    doubles: i64,
}

/// A level from each request's latency, `None` for a failed one.
pub fn level(clients: usize, elapsed: Duration, results: &[Option<Duration>]) -> Level {
    let mut latencies: Vec<Duration> = results.iter().flatten().copied().collect();
    latencies.sort();
    Level {
        clients,
        requests: latencies.len(),
        errors: results.len() - latencies.len(),
        elapsed,
        latencies,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let url = StoreKind::Postgres.prepare(false, DATABASE).await?;
    let outcome = run(&options, &url).await;
    drop_database().await?;
    let (webhooks, checkout, clean) = outcome?;
    print_report(&options, &webhooks, &checkout, clean);
    Ok(())
}

async fn run(options: &Options, url: &str) -> anyhow::Result<(Vec<WebhookRun>, Level, bool)> {
    eprintln!(
        "seeding {} users and {} posts…",
        options.users, options.posts
    );
    support::seed(&options.vendrome, url, options.users, options.posts)?;
    let keys_spec = KeyRing::generate_spec();
    let keys = KeyRing::parse(&keys_spec)?;
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let env = [
        ("VENDROME_STRIPE_SECRET_KEY", "sk_test_bench".to_owned()),
        (
            "VENDROME_STRIPE_WEBHOOK_SECRET",
            webhooks::WEBHOOK_SECRET.to_owned(),
        ),
        ("VENDROME_STRIPE_API_BASE", format!("http://{nowhere}")),
        ("VENDROME_PAYMENTS_SANDBOX", "true".to_owned()),
        (
            "VENDROME_PAYMENTS_SANDBOX_WEBHOOK_SECRET",
            "whsec_sandbox_bench".to_owned(),
        ),
    ];
    let server = Server::start_with(&options.vendrome, url, &keys_spec, &env).await?;
    let max_clients = options.clients.iter().copied().max().unwrap_or(1);
    let store = Store::open_with(url, PoolSize(max_clients.max(16) as u32)).await?;
    let purchases = webhooks::purchases(&store, 200).await?;
    let client = Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = format!("http://{}", server.address);

    if options.warmup > 0 {
        warm_up(&store, &client, &base, &keys, &purchases, options.warmup).await?;
    }

    let mut runs = Vec::new();
    for &clients in &options.clients {
        eprintln!(
            "webhooks: {} payments for {clients} clients…",
            options.events
        );
        let tag = format!("c{clients}");
        let deliveries = webhooks::prepare(&store, &purchases, options.events, &tag).await?;
        let (before, before_distinct) = webhooks::postings(&store).await?;
        let api = webhooks::deliver(&client, &base, &deliveries, clients).await;
        let (after, after_distinct) = webhooks::postings(&store).await?;
        let floor = webhooks::floor(&store, &deliveries, clients).await?;
        let postings = after - before;
        runs.push(WebhookRun {
            api,
            floor,
            events: options.events,
            postings,
            doubles: postings - (after_distinct - before_distinct),
        });
    }

    eprintln!(
        "checkout: {} orders at {} clients…",
        options.orders, options.checkout_clients
    );
    let checkout = checkouts(
        &client,
        &base,
        &keys,
        &purchases,
        (options.orders, options.checkout_clients),
        "bench",
    )
    .await?;
    let check = store.check().await?;
    if !check.is_clean() {
        eprintln!("ledger check: {check:?}");
    }
    store.db().close().await;
    server.stop().await;
    Ok((runs, checkout, check.is_clean()))
}

/// Order, sandbox checkout and its outcome webhook, end to end, for `--orders` orders.
async fn checkouts(
    client: &Client,
    base: &str,
    keys: &KeyRing,
    purchases: &[Purchase],
    (orders, clients): (usize, usize),
    tag: &str,
) -> anyhow::Result<Level> {
    let tokens = purchases
        .iter()
        .map(|p| keys.issue(p.buyer, UserRole::Member, None))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let one = |n: usize| {
        let token = &tokens[n % tokens.len()];
        let product = purchases[n % purchases.len()].product;
        async move {
            let sent = Instant::now();
            let order: serde_json::Value = client
                .post(format!("{base}/v1/orders"))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("{tag}-checkout-{n}"))
                .json(&json!({ "items": [{ "post_id": product, "quantity": 1 }] }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let order_id = order["data"]["id"].as_str().context("an order id")?;
            let payment: serde_json::Value = client
                .post(format!("{base}/v1/orders/{order_id}/checkout"))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("{tag}-pay-{n}"))
                .json(&json!({ "provider": "sandbox" }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let payment_id = payment["data"]["id"].as_str().context("a payment id")?;
            let done: serde_json::Value = client
                .post(format!("{base}/v1/payments/sandbox/{payment_id}/complete"))
                .json(&json!({ "outcome": "succeeded" }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            if done["data"]["status"] != "succeeded" {
                bail!("the sandbox payment ended {}", done["data"]["status"]);
            }
            anyhow::Ok(sent.elapsed())
        }
    };
    let started = Instant::now();
    let results: Vec<anyhow::Result<Duration>> = futures::stream::iter(0..orders)
        .map(one)
        .buffer_unordered(clients)
        .collect()
        .await;
    let elapsed = started.elapsed();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        eprintln!("checkout: first error: {e:#}");
    }
    let results: Vec<Option<Duration>> = results.into_iter().map(Result::ok).collect();
    Ok(level(clients, elapsed, &results))
}

/// The history a running marketplace has before anything is measured: `count` webhook payments
/// and `count` checkouts, unmeasured, then `ANALYZE`. Without it the first requests meet tables
/// that the seed analysed empty, and PostgreSQL keeps the plans it made for empty tables (whole
/// scans, foreign-key checks included) in every pooled connection until autovacuum analyses
/// them again: a state a server is in for its first minute, not the one this measures.
async fn warm_up(
    store: &Store,
    client: &Client,
    base: &str,
    keys: &KeyRing,
    purchases: &[Purchase],
    count: usize,
) -> anyhow::Result<()> {
    eprintln!("warming up: {count} webhook payments and {count} checkouts, then ANALYZE…");
    let deliveries = webhooks::prepare(store, purchases, count, "warm").await?;
    let delivered = webhooks::deliver(client, base, &deliveries, 16).await;
    let checkout = checkouts(client, base, keys, purchases, (count, 16), "warm").await?;
    if delivered.errors + checkout.errors > 0 {
        bail!(
            "the warm-up had {} errors",
            delivered.errors + checkout.errors
        );
    }
    let vendrome_store::Db::Postgres(pool) = store.db() else {
        bail!("the benchmark runs on PostgreSQL");
    };
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
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

fn rate(level: &Level) -> f64 {
    level.requests as f64 / level.elapsed.as_secs_f64()
}

fn ms(level: &Level, percent: f64) -> f64 {
    percentile_ms(&level.latencies, percent).unwrap_or(f64::NAN)
}

fn print_report(options: &Options, webhooks: &[WebhookRun], checkout: &Level, clean: bool) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "\n## Payments benchmark: PostgreSQL, {} payments per webhook level ({} deliveries: each success twice, an older processing for every third), after a warm-up of {} payments and checkouts, {cores} cores (server, database and load generator share them)\n",
        options.events,
        options.events * 2 + options.events.div_ceil(3),
        options.warmup,
    );
    println!("| clients | webhooks/s | p50 ms | p99 ms | errors | postings (distinct payments) | doubles | floor/s (verify + unique insert) | floor p99 ms | API / floor |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for run in webhooks {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} ({}) | {} | {:.0} | {:.2} | {:.0} % |",
            run.api.clients,
            rate(&run.api),
            ms(&run.api, 50.0),
            ms(&run.api, 99.0),
            run.api.errors,
            run.postings,
            run.events,
            run.doubles,
            rate(&run.floor),
            ms(&run.floor, 99.0),
            100.0 * rate(&run.api) / rate(&run.floor),
        );
    }
    println!("\n| checkout (order + sandbox checkout + outcome webhook) | clients | orders/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} orders | {} | {:.0} | {:.2} | {:.2} | {} |",
        checkout.requests + checkout.errors,
        checkout.clients,
        rate(checkout),
        ms(checkout, 50.0),
        ms(checkout, 99.0),
        checkout.errors,
    );
    println!(
        "\nledger check after the run: {}",
        if clean { "clean" } else { "NOT CLEAN" }
    );
}
