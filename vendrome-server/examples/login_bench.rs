//! Login benchmark: how many password sign-ins per second the API serves, beside the raw Argon2id
//! verify rate measured in the same run on the same machine.
//!
//! ```sh
//! cargo run --release -p vendrome-server --example login_bench
//! cargo run --release -p vendrome-server --example login_bench -- --store postgres --seconds 10 --users 128
//! ```
//!
//! Options: `--store sqlite|postgres` (default `sqlite`; PostgreSQL is reached through
//! `VENDROME_TEST_DATABASE_URL`, else the default local server), `--seconds N` per measurement
//! (default 5), `--users N` accounts to sign in as, round-robin (default 64).
//!
//! The run starts the real application (every route, every layer) in this process on
//! `127.0.0.1:0` over a fresh test database, with the rate-limit budgets raised far above the
//! load. It then measures, in order:
//!
//! 1. the raw verify rate: `verify_blocking` against one hash on as many OS threads as the
//!    machine has cores, for `--seconds`;
//! 2. `POST /v1/auth/login` with the right passwords at 1, 8 and 64 concurrent clients (reqwest,
//!    keep-alive), `--seconds` each; only 200 answers count, anything else is reported as an
//!    error;
//! 3. a wrong password and an unknown email, alternately, 50 each at one client: both must get
//!    the same answer after about the same time.
//!
//! It prints a markdown table. The goal is that the API reaches at least 90 % of the raw verify
//! rate. One client verifies one password at a time, so on a machine with N cores it is bounded
//! by 1/N of the raw rate: the goal concerns the levels that keep every core busy.
//!
//! The clients run in the same process and on the same cores as the server, so their own work
//! (HTTP, JSON) is counted against the API; it is small next to an Argon2id verification.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use reqwest::{Client, StatusCode};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use vendrome_core::auth::{hash_blocking, verify_blocking, AuthPolicy, LoginLimits, Password};
use vendrome_core::enums::UserRole;
use vendrome_core::rate_limit::Rule;
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_server::auth::KeyRing;
use vendrome_server::state::StateOptions;
use vendrome_server::{AppState, Config};
use vendrome_store::testing::{self, TestStore};
use vendrome_store::Store;

/// The concurrency levels of the login measurement.
const LEVELS: [usize; 3] = [1, 8, 64];
/// How many wrong-password and unknown-email sign-ins the timing comparison makes, each.
const TIMING_SAMPLES: usize = 50;
/// The budget every rate-limit rule gets for the benchmark, per window.
const RAISED_LIMIT: u32 = 10_000_000;
/// The goal: the API's sign-in rate as a share of the raw verify rate.
const GOAL_PERCENT: f64 = 90.0;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let test_store = open_store(options.store).await?;
    let policy = raised_policy();
    let server = Server::start(test_store.store.clone(), policy.clone()).await?;
    eprintln!(
        "serving on {} over a fresh {} database; {}",
        server.address,
        options.store.name(),
        describe_limits(&policy.limits)
    );

    eprintln!("creating {} accounts…", options.users);
    let accounts = create_accounts(&test_store.store, options.users, cores).await?;
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("could not build the HTTP client")?;
    let login = Login::new(&client, server.address);
    // The first unknown email computes the decoy hash once; keep that out of the measurements.
    login.send(&unknown_email_body(usize::MAX)).await?;

    let load_average = load_average();
    eprintln!("measuring the raw verify rate on {cores} threads…");
    let raw = measure_raw_verify(cores, options.duration()).await?;
    let mut levels = Vec::new();
    for clients in LEVELS {
        eprintln!("measuring logins at {clients} concurrent clients…");
        levels.push(measure_level(&login, &accounts, clients, options.duration()).await);
    }
    eprintln!("comparing a wrong password with an unknown email…");
    let timing = compare_failures(&login, &accounts).await?;
    // Measured again at the end: when the two differ much, the machine's load changed during the
    // run and the percentages are not to be trusted.
    eprintln!("measuring the raw verify rate again…");
    let raw_after = measure_raw_verify(cores, options.duration()).await?;

    server.stop().await;
    test_store.store.db().close().await;
    drop(test_store);

    let report = Report {
        options: &options,
        cores,
        load_average,
        limits: &policy.limits,
        raw: &raw,
        raw_after: &raw_after,
        levels: &levels,
        timing: &timing,
    };
    report.print();
    Ok(())
}

/// Which database the application runs on.
#[derive(Debug, Clone, Copy)]
enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "SQLite",
            StoreKind::Postgres => "PostgreSQL",
        }
    }
}

/// The command line.
#[derive(Debug)]
struct Options {
    store: StoreKind,
    seconds: u64,
    users: usize,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut options = Self {
            store: StoreKind::Sqlite,
            seconds: 5,
            users: 64,
        };
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg, None),
            };
            if name == "--help" || name == "-h" {
                println!("usage: login_bench [--store sqlite|postgres] [--seconds N] [--users N]");
                std::process::exit(0);
            }
            let value = match inline.or_else(|| args.next()) {
                Some(value) => value,
                None => bail!("{name} needs a value"),
            };
            match name.as_str() {
                "--store" => {
                    options.store = match value.as_str() {
                        "sqlite" => StoreKind::Sqlite,
                        "postgres" => StoreKind::Postgres,
                        other => bail!("--store is sqlite or postgres, not `{other}`"),
                    }
                }
                "--seconds" => options.seconds = positive(&name, &value)?,
                "--users" => options.users = positive(&name, &value)?,
                other => bail!("unknown option `{other}` (try --help)"),
            }
        }
        Ok(options)
    }

    fn duration(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

/// A whole number greater than zero.
fn positive<T>(name: &str, value: &str) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + Default,
{
    match value.parse::<T>() {
        Ok(number) if number > T::default() => Ok(number),
        _ => bail!("{name} takes a whole number greater than zero, not `{value}`"),
    }
}

/// A fresh, migrated test database.
async fn open_store(kind: StoreKind) -> anyhow::Result<TestStore> {
    match kind {
        StoreKind::Sqlite => Ok(testing::sqlite().await),
        StoreKind::Postgres => testing::postgres()
            .await
            .context("PostgreSQL is unreachable: start it or set VENDROME_TEST_DATABASE_URL"),
    }
}

/// The default policy with every rate-limit budget raised far above what the benchmark sends
/// (the default allows 60 sign-ins a minute per address, and every client here shares one).
fn raised_policy() -> AuthPolicy {
    let raise = |rule: Rule| Rule {
        limit: RAISED_LIMIT,
        ..rule
    };
    let defaults = LoginLimits::default();
    AuthPolicy {
        limits: LoginLimits {
            register_per_ip: raise(defaults.register_per_ip),
            login_per_ip: raise(defaults.login_per_ip),
            refresh_per_ip: raise(defaults.refresh_per_ip),
            oauth_per_ip: raise(defaults.oauth_per_ip),
            account_failures: raise(defaults.account_failures),
            device_failures: raise(defaults.device_failures),
            mail_per_ip: raise(defaults.mail_per_ip),
            mail_per_account: raise(defaults.mail_per_account),
        },
        ..AuthPolicy::default()
    }
}

/// One sentence on the raised budgets, beside the defaults.
fn describe_limits(limits: &LoginLimits) -> String {
    let defaults = LoginLimits::default();
    let rule = |raised: &Rule, default: &Rule| {
        format!(
            "{} {} per {} s (default {})",
            raised.name,
            raised.limit,
            raised.window.as_secs(),
            default.limit
        )
    };
    format!(
        "rate limits raised for the benchmark: {}, {}",
        rule(&limits.login_per_ip, &defaults.login_per_ip),
        rule(&limits.account_failures, &defaults.account_failures),
    )
}

/// The real application on a free local port, until [`Server::stop`].
struct Server {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(store: Store, policy: AuthPolicy) -> anyhow::Result<Self> {
        let keys = KeyRing::parse(&KeyRing::generate_spec())?;
        let options = StateOptions {
            policy,
            ..StateOptions::default()
        };
        let state = AppState::with_options(store, keys, options);
        let router = vendrome_server::app::router(state, &Config::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Self {
            address,
            stop,
            task,
        })
    }

    /// Stops accepting, lets in-flight requests finish.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// An account the benchmark signs in as.
struct Account {
    email: String,
    password: String,
}

/// Creates `count` accounts directly in the store, hashing their passwords on as many blocking
/// threads as there are cores (hashing costs what verifying costs, so this takes a while).
async fn create_accounts(
    store: &Store,
    count: usize,
    cores: usize,
) -> anyhow::Result<Vec<Account>> {
    stream::iter(0..count)
        .map(|i| create_account(store, i))
        .buffer_unordered(cores)
        .try_collect()
        .await
}

async fn create_account(store: &Store, index: usize) -> anyhow::Result<Account> {
    let account = Account {
        email: format!("bench-{index}@example.com"),
        password: format!("bench passphrase number {index}"),
    };
    let password = Password::new_secret(&account.password)?;
    let hash = tokio::task::spawn_blocking(move || hash_blocking(&password)).await??;
    store
        .create_user(NewUser {
            email: Email::parse(&account.email)?,
            display_name: DisplayName::parse(&format!("Bench User {index}"))?,
            handle: None,
            password_hash: Some(hash.as_str().to_owned()),
            role: UserRole::Member,
        })
        .await?;
    Ok(account)
}

/// The raw verify rate: `threads` OS threads verifying one password against one hash.
struct RawRate {
    threads: usize,
    verifies: u64,
    elapsed: Duration,
}

impl RawRate {
    fn per_second(&self) -> f64 {
        self.verifies as f64 / self.elapsed.as_secs_f64()
    }
}

async fn measure_raw_verify(threads: usize, duration: Duration) -> anyhow::Result<RawRate> {
    tokio::task::spawn_blocking(move || raw_verify(threads, duration)).await?
}

fn raw_verify(threads: usize, duration: Duration) -> anyhow::Result<RawRate> {
    let password = Password::new_secret("bench passphrase number 0")?;
    let hash = hash_blocking(&password)?;
    let start = Instant::now();
    let deadline = start + duration;
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut verified = 0;
                    while Instant::now() < deadline {
                        if verify_blocking(&password, &hash) {
                            verified += 1;
                        }
                    }
                    verified
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or(0))
            .collect()
    });
    let elapsed = start.elapsed();
    let verifies = counts.iter().sum();
    ensure!(verifies > 0, "no verification succeeded");
    Ok(RawRate {
        threads,
        verifies,
        elapsed,
    })
}

/// Sends sign-in requests to one server.
#[derive(Clone)]
struct Login {
    client: Client,
    url: String,
}

/// What one sign-in request got.
struct Answer {
    status: StatusCode,
    code: Option<String>,
    latency: Duration,
}

impl Login {
    fn new(client: &Client, address: SocketAddr) -> Self {
        Self {
            client: client.clone(),
            url: format!("http://{address}/v1/auth/login"),
        }
    }

    /// Posts a prepared JSON body and reads the whole answer.
    async fn send(&self, body: &str) -> anyhow::Result<Answer> {
        let start = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let latency = start.elapsed();
        let code = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
        Ok(Answer {
            status,
            code,
            latency,
        })
    }
}

fn login_body(email: &str, password: &str) -> String {
    serde_json::json!({ "email": email, "password": password }).to_string()
}

fn unknown_email_body(index: usize) -> String {
    login_body(
        &format!("nobody-{index}@example.com"),
        "bench passphrase number 0",
    )
}

/// The sign-ins of one concurrency level.
struct Level {
    clients: usize,
    latencies: Vec<Duration>,
    /// Non-200 answers and transport failures, by kind.
    errors: BTreeMap<String, usize>,
    elapsed: Duration,
}

impl Level {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

/// What one client task saw.
#[derive(Default)]
struct ClientTally {
    latencies: Vec<Duration>,
    errors: BTreeMap<String, usize>,
}

/// `clients` tasks sign in with the right passwords, the accounts taken round-robin, until
/// `duration` has passed; a request under way at the deadline still completes and counts.
async fn measure_level(
    login: &Login,
    accounts: &[Account],
    clients: usize,
    duration: Duration,
) -> Level {
    let bodies: Arc<Vec<String>> = Arc::new(
        accounts
            .iter()
            .map(|a| login_body(&a.email, &a.password))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<JoinHandle<ClientTally>> = (0..clients)
        .map(|_| {
            let login = login.clone();
            let (bodies, next) = (bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut tally = ClientTally::default();
                while Instant::now() < deadline {
                    let body = &bodies[next.fetch_add(1, Ordering::Relaxed) % bodies.len()];
                    match login.send(body).await {
                        Ok(answer) if answer.status == StatusCode::OK => {
                            tally.latencies.push(answer.latency);
                        }
                        Ok(answer) => *tally.errors.entry(error_kind(&answer)).or_default() += 1,
                        Err(error) => *tally.errors.entry(error.to_string()).or_default() += 1,
                    }
                }
                tally
            })
        })
        .collect();
    let mut level = Level {
        clients,
        latencies: Vec::new(),
        errors: BTreeMap::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        match task.await {
            Ok(tally) => {
                level.latencies.extend(tally.latencies);
                for (kind, count) in tally.errors {
                    *level.errors.entry(kind).or_default() += count;
                }
            }
            Err(error) => *level.errors.entry(error.to_string()).or_default() += 1,
        }
    }
    level.elapsed = start.elapsed();
    level.latencies.sort_unstable();
    level
}

fn error_kind(answer: &Answer) -> String {
    format!(
        "{} {}",
        answer.status.as_u16(),
        answer.code.as_deref().unwrap_or("(no error code)")
    )
}

/// Failed sign-ins of one kind.
#[derive(Default)]
struct Failures {
    latencies: Vec<Duration>,
    /// Every distinct answer (status and error code) this kind got.
    answers: Vec<String>,
}

impl Failures {
    fn record(&mut self, answer: &Answer) {
        self.latencies.push(answer.latency);
        let kind = error_kind(answer);
        if !self.answers.contains(&kind) {
            self.answers.push(kind);
        }
    }

    fn p50_ms(&self) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        percentile_ms(&sorted, 50.0).unwrap_or(f64::NAN)
    }
}

/// Failed sign-ins of both kinds, alternately, at one client.
#[derive(Default)]
struct FailureTiming {
    wrong_password: Failures,
    unknown_email: Failures,
}

async fn compare_failures(login: &Login, accounts: &[Account]) -> anyhow::Result<FailureTiming> {
    let mut timing = FailureTiming::default();
    for i in 0..TIMING_SAMPLES {
        let account = &accounts[i % accounts.len()];
        let wrong = login_body(&account.email, "not the right passphrase");
        timing.wrong_password.record(&login.send(&wrong).await?);
        timing
            .unknown_email
            .record(&login.send(&unknown_email_body(i)).await?);
    }
    Ok(timing)
}

/// The nearest-rank percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], percent: f64) -> Option<f64> {
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len().max(1)) - 1;
    sorted.get(index).map(|d| d.as_secs_f64() * 1000.0)
}

/// The 1-, 5- and 15-minute load averages (Linux only), to judge how busy the machine was.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Everything measured, printed as markdown.
struct Report<'a> {
    options: &'a Options,
    cores: usize,
    load_average: Option<String>,
    limits: &'a LoginLimits,
    raw: &'a RawRate,
    raw_after: &'a RawRate,
    levels: &'a [Level],
    timing: &'a FailureTiming,
}

impl Report<'_> {
    fn print(&self) {
        self.print_setup();
        self.print_table();
        self.print_errors();
        self.print_failure_timing();
        self.print_goal();
    }

    fn print_setup(&self) {
        let raw = self.raw;
        println!("## Login benchmark\n");
        println!(
            "- store: {} (fresh test database)",
            self.options.store.name()
        );
        println!(
            "- machine: {} cores (available_parallelism){}",
            self.cores,
            self.load_average
                .as_deref()
                .map(|l| format!(", load average before measuring {l}"))
                .unwrap_or_default()
        );
        println!(
            "- accounts: {}, taken round-robin; {} s per measurement",
            self.options.users, self.options.seconds
        );
        println!("- {}", describe_limits(self.limits));
        println!(
            "- raw argon2id verify rate (m=19456, t=2, p=1): {:.1} verifies/s on {} threads \
             ({} verifies in {:.1} s), measured first; the percentages below are of this rate",
            raw.per_second(),
            raw.threads,
            raw.verifies,
            raw.elapsed.as_secs_f64()
        );
        let drift = (self.raw_after.per_second() / raw.per_second() - 1.0) * 100.0;
        println!(
            "- raw verify rate measured again at the end: {:.1} verifies/s ({drift:+.1} %){}\n",
            self.raw_after.per_second(),
            if drift.abs() > 10.0 {
                ": the machine's load changed during the run, so the percentages are unreliable"
            } else {
                ""
            }
        );
    }

    fn print_table(&self) {
        println!("| clients | logins/s | p50 ms | p99 ms | errors | % of raw verify rate |");
        println!("|--:|--:|--:|--:|--:|--:|");
        for level in self.levels {
            let ms =
                |p| percentile_ms(&level.latencies, p).map_or("-".into(), |v| format!("{v:.1}"));
            println!(
                "| {} | {:.1} | {} | {} | {} | {:.1} % |",
                level.clients,
                level.per_second(),
                ms(50.0),
                ms(99.0),
                level.error_count(),
                self.share(level)
            );
        }
        println!();
    }

    fn print_errors(&self) {
        for level in self.levels.iter().filter(|l| l.error_count() > 0) {
            let kinds: Vec<String> = level
                .errors
                .iter()
                .map(|(kind, count)| format!("{count} × {kind}"))
                .collect();
            println!(
                "- errors at {} clients: {}",
                level.clients,
                kinds.join(", ")
            );
        }
    }

    fn print_failure_timing(&self) {
        let (wrong, unknown) = (&self.timing.wrong_password, &self.timing.unknown_email);
        let (wrong_ms, unknown_ms) = (wrong.p50_ms(), unknown.p50_ms());
        let difference = (wrong_ms - unknown_ms).abs();
        let same = wrong.answers == unknown.answers && wrong.answers.len() == 1;
        println!(
            "- wrong password vs unknown email ({TIMING_SAMPLES} each, alternately, 1 client): \
             p50 {wrong_ms:.1} ms vs {unknown_ms:.1} ms (difference {difference:.1} ms, {:.1} %); \
             answers {} ({} / {})",
            difference / wrong_ms.max(unknown_ms) * 100.0,
            if same { "identical" } else { "DIFFER" },
            wrong.answers.join(", "),
            unknown.answers.join(", ")
        );
    }

    fn print_goal(&self) {
        let Some(best) = self
            .levels
            .iter()
            .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
        else {
            return;
        };
        let share = self.share(best);
        println!(
            "- goal (at least {GOAL_PERCENT:.0} % of the raw verify rate): best level {} clients \
             at {share:.1} % → {}",
            best.clients,
            if share >= GOAL_PERCENT {
                "met"
            } else {
                "NOT met"
            }
        );
    }

    /// A level's sign-in rate as a percentage of the raw verify rate.
    fn share(&self, level: &Level) -> f64 {
        level.per_second() / self.raw.per_second() * 100.0
    }
}
