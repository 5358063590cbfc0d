//! Feed benchmark: `GET /v1/feed` for many distinct members on a large synthetic network, on
//! PostgreSQL and on SQLite, beside the same pages read straight from the store.
//!
//! Run it through `scripts/bench/feed.sh`, which builds the release binaries first:
//!
//! ```sh
//! scripts/bench/feed.sh                                   # 100k users, 1M posts, both stores
//! scripts/bench/feed.sh --store postgres --users 10000 --posts 100000 --seconds 5
//! ```
//!
//! For each store it makes a fresh database, loads it with `vendrome seed synthetic` (timed),
//! starts `vendrome serve` as its own process (so its memory is its own), signs access tokens
//! for `--viewers` random members with the server's key, and then measures:
//!
//! 1. the same first pages through the store's own feed service in this process, one at a time
//!    (the SQL of a page and nothing else: no HTTP, no JSON, no auth): p50 and p99;
//! 2. first reads: `--cold` other members' home feeds, each once, 16 at a time (nothing of
//!    theirs is cached: the cost of a cache miss), beside the floor of the same pages: the same
//!    members' first pages through the store's feed service in this process, 16 at a time (SQL
//!    only); then every viewer's once (the warm-up);
//! 3. the API at each of `--clients` concurrent clients (keep-alive), every request for the next
//!    viewer in turn, for `--seconds`: requests/s, p50, p99, errors (the home-feed cache holds
//!    every viewer by then, and nothing changes during the run);
//! 4. depth: the listing `GET /v1/posts` at page 1 and page 1000 (cursor walked there first),
//!    p50 of each;
//! 5. the server's peak resident memory (`VmHWM`: at start it builds the search index) and its
//!    resident memory after the last level (`VmRSS`);
//! 6. the access log's cost: for each `--access-logs` setting a fresh server (logging at the
//!    default `info,sqlx=warn` to a file), warmed up, then 16 clients for `--seconds`: requests/s,
//!    p99 and the bytes of log written.
//!
//! The load generator shares the machine with the server (and with the database), as the goal
//! says; its own cost is counted against the API.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use reqwest::Client;
use vendrome_core::access::Caller;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::UserId;
use vendrome_core::page::Limit;
use vendrome_core::posts::feed::{Feed, FeedService};
use vendrome_server::auth::KeyRing;
use vendrome_store::db::PoolSize;
use vendrome_store::{Db, Store};

mod support;
use support::{percentile_ms, Level, Server, StoreKind};

/// The options, from the command line.
#[derive(Debug)]
struct Options {
    stores: Vec<StoreKind>,
    users: u64,
    posts: u64,
    viewers: usize,
    /// Members read once each, for the cost of a first read (a cache miss).
    cold: usize,
    clients: Vec<usize>,
    seconds: u64,
    vendrome: String,
    reuse: bool,
    /// `VENDROME_ACCESS_LOG` settings to compare.
    access_logs: Vec<String>,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Options {
            stores: vec![StoreKind::Postgres, StoreKind::Sqlite],
            users: 100_000,
            posts: 1_000_000,
            viewers: 5_000,
            cold: 5_000,
            clients: vec![1, 16, 64],
            seconds: 10,
            vendrome: "target/release/vendrome".into(),
            reuse: false,
            access_logs: vec!["all".into(), "errors".into(), "off".into()],
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--store" => {
                    options.stores = match value()?.as_str() {
                        "postgres" => vec![StoreKind::Postgres],
                        "sqlite" => vec![StoreKind::Sqlite],
                        "both" => vec![StoreKind::Postgres, StoreKind::Sqlite],
                        other => bail!("--store is postgres, sqlite or both, not {other}"),
                    }
                }
                "--users" => options.users = value()?.parse()?,
                "--posts" => options.posts = value()?.parse()?,
                "--viewers" => options.viewers = value()?.parse()?,
                "--cold" => options.cold = value()?.parse()?,
                "--clients" => {
                    options.clients = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                "--seconds" => options.seconds = value()?.parse()?,
                "--vendrome" => options.vendrome = value()?,
                "--reuse" => options.reuse = true,
                "--access-logs" => {
                    options.access_logs = value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                other => bail!("unknown option {other}"),
            }
        }
        Ok(options)
    }
}

/// Everything measured on one store.
struct Run {
    store: StoreKind,
    seed_time: Option<Duration>,
    direct: Vec<Duration>,
    /// Each of the cold members read once, at 16 clients.
    first_reads: Level,
    /// The same members' first pages through the store's feed service, 16 at a time.
    first_floor: Level,
    /// What the server's home-feed cache did during the first reads.
    counts: Option<CacheCounts>,
    /// The source windows the server had read when first reads began: entries, windows.
    preloaded: Option<(u64, u64)>,
    /// Per access-log setting: 16 warm clients, and the bytes of log written meanwhile.
    access_logs: Vec<(String, Level, u64)>,
    levels: Vec<Level>,
    listing_page_1: Vec<Duration>,
    listing_page_1000: Vec<Duration>,
    deep_page: usize,
    peak_rss_kib: Option<u64>,
    /// After the last level: the steady state (the peak includes building the search index).
    rss_after_kib: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let mut runs = Vec::new();
    for kind in options.stores.clone() {
        runs.push(run(kind, &options).await?);
    }
    print_report(&options, &runs);
    Ok(())
}

async fn run(kind: StoreKind, options: &Options) -> anyhow::Result<Run> {
    let url = kind.prepare(options.reuse, support::PG_DATABASE).await?;
    let seed_time = if options.reuse && kind.is_seeded(&url).await? {
        eprintln!("{}: reusing the seeded database", kind.name());
        None
    } else {
        eprintln!(
            "{}: seeding {} users and {} posts…",
            kind.name(),
            options.users,
            options.posts
        );
        Some(support::seed(
            &options.vendrome,
            &url,
            options.users,
            options.posts,
        )?)
    };

    let keys_spec = KeyRing::generate_spec();
    let keys = KeyRing::parse(&keys_spec)?;
    let server = Server::start(&options.vendrome, &url, &keys_spec).await?;
    let store = Store::open_with(&url, PoolSize(FIRST_READ_CLIENTS as u32)).await?;
    let mut viewers = pick_viewers(&store, options.viewers + options.cold).await?;
    let cold_viewers = viewers.split_off(options.viewers.min(viewers.len()));
    eprintln!(
        "{}: serving on {}; {} viewers",
        kind.name(),
        server.address,
        viewers.len()
    );
    let issue = |viewers: &[UserId]| -> anyhow::Result<Vec<String>> {
        let tokens = viewers
            .iter()
            .map(|v| keys.issue(*v, UserRole::Member, None));
        tokens.collect()
    };
    let (tokens, cold_tokens) = (issue(&viewers)?, issue(&cold_viewers)?);

    // The same pages straight from the store: the SQL of a page and nothing else.
    let feeds = FeedService::new(
        std::sync::Arc::new(store.clone()),
        std::sync::Arc::new(store.clone()),
    );
    let mut direct = Vec::new();
    // Warm the pool first (each connection prepares each statement once), then measure.
    for viewer in viewers.iter().rev().take(200) {
        let caller = Caller {
            user_id: *viewer,
            role: UserRole::Member,
        };
        feeds
            .page(Some(&caller), &Feed::Home(*viewer), None, Limit::DEFAULT)
            .await?;
    }
    for viewer in viewers.iter().take(2_000) {
        let caller = Caller {
            user_id: *viewer,
            role: UserRole::Member,
        };
        let started = Instant::now();
        feeds
            .page(Some(&caller), &Feed::Home(*viewer), None, Limit::DEFAULT)
            .await?;
        direct.push(started.elapsed());
    }

    let client = Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = format!("http://{}", server.address);
    // The server reads its sources' windows when it starts: first reads are measured after.
    let preloaded = preloaded(&client, &base).await;
    let before = cache_counts(&client, &base, 0).await.unwrap_or_default();
    // First reads: members nobody asked for yet (every cache misses), each once.
    eprintln!("{}: first reads…", kind.name());
    let first_reads = once_each(&client, &base, &cold_tokens, FIRST_READ_CLIENTS).await;
    let after = cache_counts(
        &client,
        &base,
        before.timelines + first_reads.requests as u64,
    )
    .await;
    let counts = after.map(|after| after.since(before));
    let first_floor = floor(&feeds, &cold_viewers).await?;
    // Warm up: every viewer's first page once, so caches are as in steady state.
    once_each(&client, &base, &tokens, 16).await;
    let mut levels = Vec::new();
    for &clients in &options.clients {
        eprintln!("{}: {clients} clients…", kind.name());
        levels.push(
            load(
                &client,
                &base,
                &tokens,
                clients,
                Duration::from_secs(options.seconds),
            )
            .await,
        );
    }
    eprintln!("{}: listing depth…", kind.name());
    let (listing_page_1, listing_page_1000, deep_page) = depth(&client, &base, &tokens[0]).await?;
    let peak_rss_kib = server.peak_rss_kib();
    let rss_after_kib = server.rss_kib();
    server.stop().await;
    let mut access_logs = Vec::new();
    for setting in &options.access_logs {
        eprintln!("{}: access log {setting}…", kind.name());
        let env = [("VENDROME_ACCESS_LOG", setting.clone())];
        let server = Server::start_with(&options.vendrome, &url, &keys_spec, &env).await?;
        let base = format!("http://{}", server.address);
        once_each(&client, &base, &tokens, FIRST_READ_CLIENTS).await;
        let before = server.log_bytes();
        let level = load(
            &client,
            &base,
            &tokens,
            FIRST_READ_CLIENTS,
            Duration::from_secs(options.seconds),
        )
        .await;
        access_logs.push((setting.clone(), level, server.log_bytes() - before));
        server.stop().await;
    }
    store.db().close().await;
    Ok(Run {
        store: kind,
        seed_time,
        direct,
        first_reads,
        first_floor,
        counts,
        preloaded,
        access_logs,
        levels,
        listing_page_1,
        listing_page_1000,
        deep_page,
        peak_rss_kib,
        rss_after_kib,
    })
}

/// What the server's home-feed cache counted (`/metrics`).
#[derive(Debug, Clone, Copy, Default)]
struct CacheCounts {
    assembled: u64,
    timelines: u64,
    posts_read: u64,
    windows_read: u64,
}

impl CacheCounts {
    fn since(self, before: CacheCounts) -> CacheCounts {
        CacheCounts {
            assembled: self.assembled - before.assembled,
            timelines: self.timelines - before.timelines,
            posts_read: self.posts_read - before.posts_read,
            windows_read: self.windows_read - before.windows_read,
        }
    }
}

/// The server's home-feed cache counts, once they cover `timelines` timelines built (they are
/// published every quarter second).
async fn cache_counts(client: &Client, base: &str, timelines: u64) -> Option<CacheCounts> {
    let mut last = None;
    for _ in 0..40 {
        let text = metrics_page(client, base).await?;
        let read = |name: &str| metric(&text, &format!("vendrome_home_cache_{name}_total "));
        last = Some(CacheCounts {
            assembled: read("assembled")?,
            timelines: read("timelines_read")?,
            posts_read: read("posts_read")?,
            windows_read: read("windows_read")?,
        });
        if last.is_some_and(|c| c.timelines >= timelines) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// Waits (up to two minutes) for the server to have read its sources' windows; then their
/// entries and windows.
async fn preloaded(client: &Client, base: &str) -> Option<(u64, u64)> {
    for _ in 0..1_200 {
        let text = metrics_page(client, base).await?;
        if metric(&text, "vendrome_home_cache_preloaded ") == Some(1) {
            let entries = metric(&text, "vendrome_home_cache_source_entries ");
            return entries.zip(metric(&text, "vendrome_home_cache_source_windows "));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The server's `/metrics` page.
async fn metrics_page(client: &Client, base: &str) -> Option<String> {
    let response = client.get(format!("{base}/metrics")).send().await.ok()?;
    response.text().await.ok()
}

/// A metric's value in a Prometheus text page.
fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// Concurrent clients of the first reads and of their floor.
const FIRST_READ_CLIENTS: usize = 16;

/// Each member's first page through `feeds` (the store, no cache, no HTTP), 16 at a time.
async fn floor(feeds: &FeedService, members: &[UserId]) -> anyhow::Result<Level> {
    let started = Instant::now();
    let results: Vec<anyhow::Result<Duration>> = futures::stream::iter(members)
        .map(|member| async move {
            let caller = Caller {
                user_id: *member,
                role: UserRole::Member,
            };
            let sent = Instant::now();
            feeds
                .page(Some(&caller), &Feed::Home(*member), None, Limit::DEFAULT)
                .await?;
            Ok(sent.elapsed())
        })
        .buffer_unordered(FIRST_READ_CLIENTS)
        .collect()
        .await;
    let mut latencies = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    latencies.sort();
    Ok(Level {
        clients: FIRST_READ_CLIENTS,
        requests: latencies.len(),
        errors: 0,
        elapsed: started.elapsed(),
        latencies,
    })
}

/// Random members who follow someone (their feeds have something in them).
async fn pick_viewers(store: &Store, count: usize) -> anyhow::Result<Vec<UserId>> {
    let sql =
        "SELECT follower_id FROM user_follows GROUP BY follower_id ORDER BY random() LIMIT $1";
    let ids: Vec<uuid::Uuid> = match store.db() {
        Db::Postgres(pool) => {
            sqlx::query_scalar(sql)
                .bind(count as i64)
                .fetch_all(pool)
                .await?
        }
        Db::Sqlite(pool) => {
            sqlx::query_scalar(sql)
                .bind(count as i64)
                .fetch_all(pool)
                .await?
        }
    };
    if ids.is_empty() {
        bail!("the database has no follows: was it seeded?");
    }
    Ok(ids.into_iter().map(UserId::from_uuid).collect())
}

/// `clients` concurrent clients asking for home feeds, each request for the next viewer.
async fn load(
    client: &Client,
    base: &str,
    tokens: &[String],
    clients: usize,
    duration: Duration,
) -> Level {
    support::drive(clients, duration, |n| {
        client
            .get(format!("{base}/v1/feed"))
            .bearer_auth(&tokens[n % tokens.len()])
    })
    .await
}

/// Each token's home feed once, `clients` at a time.
async fn once_each(client: &Client, base: &str, tokens: &[String], clients: usize) -> Level {
    let started = Instant::now();
    let results: Vec<Option<Duration>> = futures::stream::iter(tokens)
        .map(|token| async move {
            let sent = Instant::now();
            let response = client
                .get(format!("{base}/v1/feed"))
                .bearer_auth(token)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())?;
            response.bytes().await.ok()?;
            Some(sent.elapsed())
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let mut latencies: Vec<Duration> = results.iter().flatten().copied().collect();
    latencies.sort();
    Level {
        clients,
        requests: latencies.len(),
        errors: results.len() - latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

/// The listing of every post (limit 20) at page 1 and at page 1000 (or the last page, when the
/// listing is shorter): 50 samples each, one at a time. Returns the deep page's number too.
async fn depth(
    client: &Client,
    base: &str,
    token: &str,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>, usize)> {
    let path = "/v1/posts?limit=20";
    let get = |cursor: Option<String>| {
        let url = match &cursor {
            Some(c) => format!("{base}{path}&cursor={c}"),
            None => format!("{base}{path}"),
        };
        let request = client.get(url).bearer_auth(token);
        async move {
            let started = Instant::now();
            let body: serde_json::Value = request.send().await?.error_for_status()?.json().await?;
            let next = body["meta"]["next_cursor"].as_str().map(str::to_owned);
            anyhow::Ok((started.elapsed(), next))
        }
    };
    let mut cursor: Option<String> = None;
    let mut page = 1;
    while page < 1000 {
        match get(cursor.clone()).await?.1 {
            Some(next) => {
                cursor = Some(next);
                page += 1;
            }
            None => break,
        }
    }
    let (mut first, mut deep) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        first.push(get(None).await?.0);
        deep.push(get(cursor.clone()).await?.0);
    }
    first.sort();
    deep.sort();
    Ok((first, deep, page))
}

fn print_report(options: &Options, runs: &[Run]) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "\n## Feed benchmark: {} users, {} posts, {} viewers, {} s per level, {cores} cores (server, database and load generator share them)\n",
        options.users, options.posts, options.viewers, options.seconds
    );
    println!("| store | seed | clients | req/s | p50 ms | p99 ms | errors | server peak RSS | RSS after |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in runs {
        let seed = run
            .seed_time
            .map_or("reused".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()));
        let mib = |kib: Option<u64>| {
            kib.map_or("?".to_owned(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
        };
        let rss = format!("{} | {}", mib(run.peak_rss_kib), mib(run.rss_after_kib));
        let first = std::iter::once((" (first reads)", &run.first_reads));
        for (what, level) in first.chain(run.levels.iter().map(|l| ("", l))) {
            println!(
                "| {} | {seed} | {}{what} | {:.0} | {:.2} | {:.2} | {} | {rss} |",
                run.store.name(),
                level.clients,
                level.requests as f64 / level.elapsed.as_secs_f64(),
                percentile_ms(&level.latencies, 50.0).unwrap_or(f64::NAN),
                percentile_ms(&level.latencies, 99.0).unwrap_or(f64::NAN),
                level.errors,
            );
        }
    }
    println!("\n| store | first reads req/s (API, {FIRST_READ_CLIENTS} clients) | p50 ms | p99 ms | floor req/s (same pages, store only, {FIRST_READ_CLIENTS} at a time) | p50 ms | p99 ms | API / floor | pages assembled from windows / timelines built | windows read at start (entries) | windows read, posts read per first read |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for run in runs {
        let rate = |l: &Level| l.requests as f64 / l.elapsed.as_secs_f64();
        let (api, floor) = (&run.first_reads, &run.first_floor);
        let assembled = run.counts.map_or("?".to_owned(), |c| {
            format!("{} / {}", c.assembled, c.timelines)
        });
        let per_read = run.counts.map_or("?".to_owned(), |c| {
            let reads = run.first_reads.requests.max(1) as f64;
            format!(
                "{:.2}, {:.2}",
                c.windows_read as f64 / reads,
                c.posts_read as f64 / reads
            )
        });
        let preloaded = run
            .preloaded
            .map_or("?".to_owned(), |(e, w)| format!("{w} ({e})"));
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {assembled} | {preloaded} | {per_read} |",
            run.store.name(),
            rate(api),
            percentile_ms(&api.latencies, 50.0).unwrap_or(f64::NAN),
            percentile_ms(&api.latencies, 99.0).unwrap_or(f64::NAN),
            rate(floor),
            percentile_ms(&floor.latencies, 50.0).unwrap_or(f64::NAN),
            percentile_ms(&floor.latencies, 99.0).unwrap_or(f64::NAN),
            rate(api) / rate(floor),
        );
    }
    if runs.iter().any(|r| !r.access_logs.is_empty()) {
        println!("\n| store | access log | req/s (warm, {FIRST_READ_CLIENTS} clients) | p50 ms | p99 ms | errors | log written |");
        println!("|---|---|---|---|---|---|---|");
        for run in runs {
            for (setting, level, bytes) in &run.access_logs {
                println!(
                    "| {} | {setting} | {:.0} | {:.2} | {:.2} | {} | {:.1} MB |",
                    run.store.name(),
                    level.requests as f64 / level.elapsed.as_secs_f64(),
                    percentile_ms(&level.latencies, 50.0).unwrap_or(f64::NAN),
                    percentile_ms(&level.latencies, 99.0).unwrap_or(f64::NAN),
                    level.errors,
                    *bytes as f64 / 1e6,
                );
            }
        }
    }
    println!("\n| store | page SQL p50 ms (store, 1 at a time) | page SQL p99 ms | API p50 ms (1 client) | API / SQL | listing page 1 p50 ms | deep listing page p50 ms (page) |");
    println!("|---|---|---|---|---|---|---|");
    for run in runs {
        let mut direct = run.direct.clone();
        direct.sort();
        let sql = percentile_ms(&direct, 50.0).unwrap_or(f64::NAN);
        let api = run
            .levels
            .iter()
            .find(|l| l.clients == 1)
            .and_then(|l| percentile_ms(&l.latencies, 50.0))
            .unwrap_or(f64::NAN);
        println!(
            "| {} | {sql:.2} | {:.2} | {api:.2} | {:.2}x | {:.2} | {:.2} ({}) |",
            run.store.name(),
            percentile_ms(&direct, 99.0).unwrap_or(f64::NAN),
            api / sql,
            percentile_ms(&run.listing_page_1, 50.0).unwrap_or(f64::NAN),
            percentile_ms(&run.listing_page_1000, 50.0).unwrap_or(f64::NAN),
            run.deep_page,
        );
    }
}
