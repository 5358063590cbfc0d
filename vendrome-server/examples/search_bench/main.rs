//! Search benchmark: the embedded index and the PostgreSQL full-text path on a large synthetic
//! network (1M posts, 100k members by default).
//!
//! Run it through `scripts/bench/search.sh`, which builds the release binaries first:
//!
//! ```sh
//! scripts/bench/search.sh                                  # 100k users, 1M posts
//! scripts/bench/search.sh --users 10000 --posts 100000 --seconds 3
//! scripts/bench/search.sh --reuse --paths embedded          # the seeded database, one path
//! scripts/bench/search.sh --reuse --first-start-only        # the first start's memory alone
//! ```
//!
//! On a fresh PostgreSQL database (`vendrome_search_bench`, kept with `--reuse`) seeded by
//! `vendrome seed synthetic`, it measures:
//!
//! 0. the first start: `vendrome serve` on the database with no index builds it in-process before
//!    it is ready; the seconds until `/readyz`, the peak resident set (`VmHWM`) and the peak
//!    anonymous memory (`RssAnon`, sampled every 100 ms) during the build, and both 5 s after
//!    it (`--no-first-start` skips it, `--first-start-only` stops after it);
//! 1. `vendrome search reindex`: documents, seconds, documents/s, and the index's size on disk;
//! 2. for each path (`vendrome serve` with the embedded index, then with `VENDROME_SEARCH=postgres`),
//!    `GET /v1/search` for four kinds of query — plain words, words with typos, prefixes (search
//!    as you type), and filtered (post type, or profiles by verification) — at each of
//!    `--clients` concurrent clients for `--seconds`: requests/s, p50, p99, errors;
//! 3. index lag: a post is created through the API and `GET /v1/search` is polled every 5 ms
//!    for its unique word; the time from the creation's response to the first hit, p50/p99
//!    over `--lag-samples` posts;
//! 4. the server's peak resident memory;
//! 5. with `--per-query`, each query alone at one client, or at `--per-query-clients`
//!    (which queries cost what, and which set a level's tail).
//!
//! Synthetic posts draw their words from `seed/vocabulary.txt` (328 business words with function
//! words and a mild frequency skew: the most common content word is in about a fifth of all
//! posts). Every query runs as the same signed-in member, so after the warm-up their circle and
//! the posts the query set finds are in the server's post cache: the levels measure the index
//! and the response, not reading those posts again.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use reqwest::Client;
use vendrome_core::enums::UserRole;
use vendrome_core::ids::UserId;
use vendrome_server::auth::KeyRing;
use vendrome_store::{Db, Store};

// The feed benchmark's plumbing (databases, server processes, percentiles); not all of it is used here.
#[allow(dead_code)]
#[path = "../feed_bench/support.rs"]
mod support;
use support::{percentile_ms, Level, Server, StoreKind};

const DATABASE: &str = "vendrome_search_bench";

#[derive(Debug)]
struct Options {
    users: u64,
    posts: u64,
    clients: Vec<usize>,
    seconds: u64,
    lag_samples: usize,
    vendrome: String,
    reuse: bool,
    embedded: bool,
    postgres: bool,
    /// Also time each query alone, at one client.
    per_query: bool,
    /// Clients for each query alone.
    per_query_clients: usize,
    /// Measure the first start's memory (the index built in-process).
    first_start: bool,
    /// Stop after the first start.
    first_start_only: bool,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Options {
            users: 100_000,
            posts: 1_000_000,
            clients: vec![1, 16],
            seconds: 5,
            lag_samples: 100,
            vendrome: "target/release/vendrome".into(),
            reuse: false,
            embedded: true,
            postgres: true,
            per_query: false,
            per_query_clients: 1,
            first_start: true,
            first_start_only: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--users" => options.users = value()?.parse()?,
                "--posts" => options.posts = value()?.parse()?,
                "--clients" => {
                    options.clients = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                "--seconds" => options.seconds = value()?.parse()?,
                "--lag-samples" => options.lag_samples = value()?.parse()?,
                "--vendrome" => options.vendrome = value()?,
                "--reuse" => options.reuse = true,
                "--no-first-start" => options.first_start = false,
                "--first-start-only" => options.first_start_only = true,
                "--per-query" => options.per_query = true,
                "--per-query-clients" => {
                    options.per_query = true;
                    options.per_query_clients = value()?.parse()?
                }
                "--paths" => {
                    let paths = value()?;
                    options.embedded = matches!(paths.as_str(), "embedded" | "both");
                    options.postgres = matches!(paths.as_str(), "postgres" | "both");
                    if !(options.embedded || options.postgres) {
                        bail!("--paths is embedded, postgres or both, not {paths}");
                    }
                }
                other => bail!("unknown option {other}"),
            }
        }
        if options.first_start_only && !options.first_start {
            bail!("--first-start-only and --no-first-start leave nothing to measure");
        }
        Ok(options)
    }
}

/// The query sets: each a list of query strings (after `?`), cycled through by the clients.
fn query_sets() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "term",
            vec![
                "q=revenue%20margin%20",
                "q=pilot%20",
                "q=supply%20chain%20",
                "q=community%20impact%20",
                "q=amara%20okafor%20&kind=profiles",
            ],
        ),
        (
            "typo",
            vec![
                "q=revenu%20margn%20",
                "q=logistcs%20",
                "q=comunity%20",
                "q=partnrs%20quality%20",
                "q=kwame%20mensha%20&kind=profiles",
            ],
        ),
        (
            "prefix",
            vec![
                "q=reve",
                "q=supply%20ch",
                "q=commun",
                "q=logis",
                "q=lindi&kind=profiles",
            ],
        ),
        (
            "filtered",
            vec![
                "q=funding%20&type=crowdfunding",
                "q=product%20quality%20&type=product",
                "q=mentor%20&type=mentorship_request",
                "q=growth%20&topic=fintech",
                "q=investor%20&kind=profiles&verification=email_verified",
            ],
        ),
    ]
}

struct PathRun {
    name: &'static str,
    levels: Vec<(&'static str, Level)>,
    /// Each query alone (with `--per-query`).
    singles: Vec<(&'static str, Level)>,
    lag: Vec<Duration>,
    peak_rss_kib: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let kind = StoreKind::Postgres;
    let url = kind.prepare(options.reuse, DATABASE).await?;
    let seed_time = if options.reuse && kind.is_seeded(&url).await? {
        eprintln!("reusing the seeded database");
        None
    } else {
        eprintln!(
            "seeding {} users and {} posts…",
            options.users, options.posts
        );
        Some(support::seed(
            &options.vendrome,
            &url,
            options.users,
            options.posts,
        )?)
    };

    let data_dir = support::scratch_dir().join("data");
    let first = if options.first_start {
        eprintln!("first start: building the index in the server…");
        Some(first_start(&options.vendrome, &url, &data_dir).await?)
    } else {
        None
    };
    if options.first_start_only {
        print_heading(&options, seed_time);
        print_first_start(first.as_ref());
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(data_dir.join("search"));
    eprintln!("indexing…");
    let reindex = std::process::Command::new(&options.vendrome)
        .arg("--database-url")
        .arg(&url)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["search", "reindex", "--json"])
        .env("RUST_LOG", "warn")
        .output()
        .context("running vendrome search reindex")?;
    if !reindex.status.success() {
        bail!(
            "reindex failed: {}",
            String::from_utf8_lossy(&reindex.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&reindex.stdout)?;
    let documents = report["documents"].as_u64().unwrap_or(0);
    let seconds = report["seconds"].as_f64().unwrap_or(f64::NAN);
    let generation = report["generation"].as_str().unwrap_or_default();
    let index_bytes = dir_size(&data_dir.join("search").join(generation));

    let keys_spec = KeyRing::generate_spec();
    let keys = KeyRing::parse(&keys_spec)?;
    let author = some_member(&url).await?;
    let token = keys.issue(author, UserRole::Member, None)?;
    let mut runs = Vec::new();
    let mut paths = Vec::new();
    if options.embedded {
        paths.push(("embedded (tantivy)", Vec::new()));
    }
    if options.postgres {
        paths.push((
            "PostgreSQL FTS",
            vec![("VENDROME_SEARCH", "postgres".to_owned())],
        ));
    }
    for (name, env) in paths {
        let server = Server::start_with(&options.vendrome, &url, &keys_spec, &env).await?;
        let base = format!("http://{}", server.address);
        let client = Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(60))
            .build()?;
        eprintln!("{name}: warming up…");
        for (_, queries) in query_sets() {
            load(&client, &base, &token, &queries, 4, Duration::from_secs(1)).await;
        }
        let mut levels = Vec::new();
        for (set, queries) in query_sets() {
            for &clients in &options.clients {
                eprintln!("{name}: {set} queries, {clients} clients…");
                let level = load(
                    &client,
                    &base,
                    &token,
                    &queries,
                    clients,
                    Duration::from_secs(options.seconds),
                )
                .await;
                levels.push((set, level));
            }
        }
        let mut singles = Vec::new();
        if options.per_query {
            for (_, queries) in query_sets() {
                for query in queries {
                    eprintln!("{name}: {query} alone…");
                    let alone = [query];
                    let clients = options.per_query_clients;
                    let seconds = Duration::from_secs(1);
                    let level = load(&client, &base, &token, &alone, clients, seconds);
                    singles.push((query, level.await));
                }
            }
        }
        eprintln!("{name}: index lag…");
        let lag = lag(&client, &base, &token, options.lag_samples).await?;
        let peak_rss_kib = server.peak_rss_kib();
        server.stop().await;
        runs.push(PathRun {
            name,
            levels,
            singles,
            lag,
            peak_rss_kib,
        });
    }

    print_heading(&options, seed_time);
    print_first_start(first.as_ref());
    println!();
    println!("| indexing | documents | seconds | documents/s | index size |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| `vendrome search reindex` | {documents} | {seconds:.1} | {:.0} | {:.0} MiB |",
        documents as f64 / seconds,
        index_bytes as f64 / 1_048_576.0
    );
    println!();
    println!("| path | queries | clients | requests/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for run in &runs {
        for (set, level) in &run.levels {
            println!(
                "| {} | {} | {} | {:.0} | {} | {} | {} |",
                run.name,
                set,
                level.clients,
                level.requests as f64 / level.elapsed.as_secs_f64(),
                ms(percentile_ms(&level.latencies, 50.0)),
                ms(percentile_ms(&level.latencies, 99.0)),
                level.errors
            );
        }
    }
    if options.per_query {
        println!();
        let clients = options.per_query_clients;
        println!(
            "| path | query (alone, {clients} clients) | requests/s | p50 ms | p99 ms | errors |"
        );
        println!("|---|---|---:|---:|---:|---:|");
        for run in &runs {
            for (query, level) in &run.singles {
                println!(
                    "| {} | `{query}` | {:.0} | {} | {} | {} |",
                    run.name,
                    level.requests as f64 / level.elapsed.as_secs_f64(),
                    ms(percentile_ms(&level.latencies, 50.0)),
                    ms(percentile_ms(&level.latencies, 99.0)),
                    level.errors
                );
            }
        }
    }
    println!();
    println!("| path | creation → searchable p50 ms | p99 ms | samples | server peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    for run in &mut runs {
        run.lag.sort();
        println!(
            "| {} | {} | {} | {} | {} |",
            run.name,
            ms(percentile_ms(&run.lag, 50.0)),
            ms(percentile_ms(&run.lag, 99.0)),
            run.lag.len(),
            run.peak_rss_kib
                .map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
        );
    }
    Ok(())
}

fn print_heading(options: &Options, seed_time: Option<Duration>) {
    println!();
    println!(
        "## Search on PostgreSQL: {} members, {} posts",
        options.users, options.posts
    );
    if let Some(seed) = seed_time {
        println!("seeded in {:.1} s", seed.as_secs_f64());
    }
}

fn print_first_start(first: Option<&FirstStart>) {
    let Some(first) = first else { return };
    println!();
    println!("| first start (index built in the server) | seconds to ready | peak RSS | peak anonymous | RSS 5 s after | anonymous 5 s after |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| `vendrome serve`, no index yet | {:.1} | {} | {} | {} | {} |",
        first.seconds,
        mib(first.peak_rss_kib),
        mib(first.peak_anon_kib),
        mib(first.after_rss_kib),
        mib(first.after_anon_kib)
    );
}

/// What the first start cost: the server builds its index before it is ready.
struct FirstStart {
    seconds: f64,
    peak_rss_kib: Option<u64>,
    peak_anon_kib: Option<u64>,
    after_rss_kib: Option<u64>,
    after_anon_kib: Option<u64>,
}

/// Starts `vendrome serve` on a data dir with no index, samples its anonymous memory every
/// 100 ms until it is ready, and reads what it keeps 5 s later.
async fn first_start(
    vendrome: &str,
    url: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<FirstStart> {
    let _ = std::fs::remove_dir_all(data_dir.join("search"));
    let keys = KeyRing::generate_spec();
    let started = Instant::now();
    let mut server = Server::spawn(vendrome, url, &keys, &[])?;
    let mut peak_anon_kib: Option<u64> = None;
    server
        .wait_ready(Duration::from_secs(3600), |s| {
            if let Some(anon) = s.status_kib("RssAnon:") {
                peak_anon_kib = Some(peak_anon_kib.map_or(anon, |p| p.max(anon)));
            }
        })
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let first = FirstStart {
        seconds,
        peak_rss_kib: server.peak_rss_kib(),
        peak_anon_kib,
        after_rss_kib: server.rss_kib(),
        after_anon_kib: server.status_kib("RssAnon:"),
    };
    server.stop().await;
    Ok(first)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let meta = e.metadata();
                    match meta {
                        Ok(m) if m.is_dir() => dir_size(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn some_member(url: &str) -> anyhow::Result<UserId> {
    let store = Store::open(url).await?;
    let Db::Postgres(pool) = store.db() else {
        bail!("the benchmark runs on PostgreSQL");
    };
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE disabled_at IS NULL LIMIT 1")
            .fetch_one(pool)
            .await
            .context("the database has no members: was it seeded?")?;
    store.db().close().await;
    Ok(UserId::from_uuid(id))
}

/// `clients` concurrent clients cycling through `queries` for `duration`.
async fn load(
    client: &Client,
    base: &str,
    token: &str,
    queries: &[&str],
    clients: usize,
    duration: Duration,
) -> Level {
    support::drive(clients, duration, |n| {
        client
            .get(format!("{base}/v1/search?{}", queries[n % queries.len()]))
            .bearer_auth(token)
    })
    .await
}

/// Creates posts with a unique word each and times until search finds them.
async fn lag(
    client: &Client,
    base: &str,
    token: &str,
    samples: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut lags = Vec::with_capacity(samples);
    for _ in 0..samples {
        let word = format!("zq{}", uuid::Uuid::new_v4().simple());
        client
            .post(format!("{base}/v1/posts"))
            .bearer_auth(token)
            .json(
                &serde_json::json!({ "type": "text", "body": format!("Benchmark marker {word}") }),
            )
            .send()
            .await?
            .error_for_status()?;
        let created = Instant::now();
        loop {
            let body: serde_json::Value = client
                .get(format!("{base}/v1/search?q={word}%20"))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            if body["data"].as_array().is_some_and(|d| !d.is_empty()) {
                lags.push(created.elapsed());
                break;
            }
            if created.elapsed() > Duration::from_secs(30) {
                bail!("a new post did not appear in search within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(lags)
}
