//! The feed benchmark's plumbing: databases, the seeder, the server process, percentiles.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::stream::{self, StreamExt as _};
use tokio::process::{Child, Command};
use vendrome_store::{Db, Store};

/// The database the PostgreSQL run creates (and drops first).
pub const PG_DATABASE: &str = "vendrome_feed_bench";

#[derive(Debug, Clone, Copy)]
pub enum StoreKind {
    Postgres,
    Sqlite,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Postgres => "PostgreSQL",
            StoreKind::Sqlite => "SQLite",
        }
    }

    /// A database URL for the run: fresh, unless `reuse` and one is already there.
    pub async fn prepare(self, reuse: bool, name: &str) -> anyhow::Result<String> {
        match self {
            StoreKind::Postgres => {
                let admin = std::env::var("VENDROME_TEST_DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let pool = sqlx::PgPool::connect(&admin).await.context(
                    "PostgreSQL is unreachable: start it or set VENDROME_TEST_DATABASE_URL",
                )?;
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
                )
                .bind(name)
                .fetch_one(&pool)
                .await?;
                if !(reuse && exists) {
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&pool)
                        .await?;
                    sqlx::query(&format!("CREATE DATABASE {name}"))
                        .execute(&pool)
                        .await?;
                }
                pool.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Ok(format!("{base}/{name}"))
            }
            StoreKind::Sqlite => {
                let dir = scratch_dir();
                std::fs::create_dir_all(&dir)?;
                let file = dir.join(format!("{name}.db"));
                if !reuse {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                    }
                }
                Ok(format!("sqlite://{}", file.display()))
            }
        }
    }

    /// Whether the database at `url` already holds posts.
    pub async fn is_seeded(self, url: &str) -> anyhow::Result<bool> {
        let store = Store::open(url).await?;
        store.migrate().await?;
        let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM posts LIMIT 1) p";
        let n: i64 = match store.db() {
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        };
        store.db().close().await;
        Ok(n > 0)
    }
}

pub fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join("vendrome-feed-bench")
}

/// Migrates and seeds `url` with the `vendrome` binary; returns the seeding's wall time.
pub fn seed(vendrome: &str, url: &str, users: u64, posts: u64) -> anyhow::Result<Duration> {
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let status = std::process::Command::new(vendrome)
            .arg("--database-url")
            .arg(url)
            .args(args)
            .status()
            .with_context(|| format!("could not run {vendrome}: build it with `cargo build --release -p vendrome-cli`"))?;
        if !status.success() {
            bail!("`vendrome {}` failed ({status})", args.join(" "));
        }
        Ok(())
    };
    run(&["migrate", "up"])?;
    let started = Instant::now();
    run(&[
        "seed",
        "synthetic",
        "--users",
        &users.to_string(),
        "--posts",
        &posts.to_string(),
    ])?;
    Ok(started.elapsed())
}

/// How long a starting server is waited for while it is alive and not ready yet.
pub const READY_LIMIT: Duration = Duration::from_secs(3600);

/// `vendrome serve` in its own process, logging at the default level (`info,sqlx=warn`) to a
/// file of its own.
pub struct Server {
    pub address: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Server {
    pub async fn start(vendrome: &str, url: &str, keys: &str) -> anyhow::Result<Self> {
        Self::start_with(vendrome, url, keys, &[]).await
    }

    /// The server with extra environment variables (`VENDROME_NATS_URL`, say). It is waited for
    /// as long as it is alive and not yet ready (a first start on a large database builds its
    /// search index before it is ready), up to [`READY_LIMIT`].
    pub async fn start_with(
        vendrome: &str,
        url: &str,
        keys: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        Self::start_within(vendrome, url, keys, env, READY_LIMIT).await
    }

    /// The server, given `ready_within` to answer `/readyz`; it fails early if the process
    /// exits first.
    pub async fn start_within(
        vendrome: &str,
        url: &str,
        keys: &str,
        env: &[(&str, String)],
        ready_within: Duration,
    ) -> anyhow::Result<Self> {
        let mut server = Self::spawn(vendrome, url, keys, env)?;
        server.wait_ready(ready_within, |_| {}).await?;
        Ok(server)
    }

    /// Starts the process without waiting for it to be ready.
    pub fn spawn(
        vendrome: &str,
        url: &str,
        keys: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let address = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
            probe.local_addr()?
        };
        let data_dir = scratch_dir().join("data");
        std::fs::create_dir_all(&data_dir)?;
        let log = scratch_dir().join(format!("server-{}.log", address.port()));
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(vendrome)
            .arg("--database-url")
            .arg(url)
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("serve")
            .arg("--bind")
            .arg(address.to_string())
            .env("VENDROME_SIGNING_KEYS", keys)
            .env("RUST_LOG", "info,sqlx=warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start {vendrome} serve"))?;
        Ok(Self {
            address,
            child,
            log,
        })
    }

    /// Polls `/readyz` every 100 ms until it answers 200, calling `each` at every poll (to
    /// sample the process while it starts). Fails as soon as the process has exited, or once
    /// `within` has passed.
    pub async fn wait_ready(
        &mut self,
        within: Duration,
        mut each: impl FnMut(&Self),
    ) -> anyhow::Result<()> {
        let ready = format!("http://{}/readyz", self.address);
        let started = Instant::now();
        loop {
            each(self);
            if let Ok(r) = reqwest::get(&ready).await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "the server exited before it was ready ({status}); its log ends:\n{}",
                    tail.join("\n")
                );
            }
            if started.elapsed() > within {
                bail!(
                    "the server did not become ready within {} s",
                    within.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many bytes of log the server has written so far.
    pub fn log_bytes(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// The server's peak resident set (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    /// The server's resident set now (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// A field of the server's `/proc/<pid>/status` in KiB (`VmRSS:`, `RssAnon:`, …).
    pub fn status_kib(&self, field: &str) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The `percent` percentile of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], percent: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    Some(sorted[index].as_secs_f64() * 1000.0)
}

/// One load level's outcome.
pub struct Level {
    pub clients: usize,
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
}

/// `clients` concurrent clients sending `request(n)` (n counting up across all clients) for
/// `duration`; a request counts when it answers 2xx and its body is read.
pub async fn drive(
    clients: usize,
    duration: Duration,
    request: impl Fn(usize) -> reqwest::RequestBuilder + Sync,
) -> Level {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<(Vec<Duration>, usize)> = stream::iter(0..clients)
        .map(|_| async {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while started.elapsed() < duration {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let sent = Instant::now();
                match request(n).send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(_) => latencies.push(sent.elapsed()),
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = results
        .iter()
        .flat_map(|(l, _)| l.iter().copied())
        .collect();
    latencies.sort();
    Level {
        clients,
        requests: latencies.len(),
        errors: results.iter().map(|(_, e)| e).sum(),
        elapsed,
        latencies,
    }
}
