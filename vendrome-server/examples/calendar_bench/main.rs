//! Calendar benchmark: full and incremental syncs of a large calendar from Google's and
//! Microsoft's fakes and from a real Radicale, and the expansion of a year of a daily series,
//! through `SyncEngine` over the real store (no HTTP of ours in between: what is measured is the
//! provider client, the sync and the database).
//!
//! Run it through `scripts/bench/calendar.sh` (release build, PostgreSQL from
//! `VENDROME_TEST_DATABASE_URL`; `--store sqlite` for a SQLite file; Radicale installed into the
//! calendar peers' venv as `scripts/peers/caldav.sh` does, its path in `VENDROME_RADICALE`):
//!
//! ```sh
//! scripts/bench/calendar.sh
//! scripts/bench/calendar.sh --events 10000 --changes 10 --rounds 5 --runs 2000
//! ```
//!
//! For each provider (`--providers google,microsoft,caldav`), on a fresh database, one member
//! connects a calendar holding `--events` hour-long events (the Google and Graph fakes of the API
//! tests, `vendrome-server/tests/api/*_fake.rs`, started in this process on loopback and
//! connected through the OAuth flow; Radicale started on a free port with its collection written
//! straight into its storage folder, then connected with a password). Then:
//!
//! 1. full sync: the first sync of the calendar: time, events/s, HTTP requests made;
//! 2. incremental sync, `--rounds` times: `--changes` remote changes (four in ten renames, three
//!    creates, three deletions) made at the provider, then one sync: p50 and max time,
//!    requests per sync, and whether each sync saw exactly the changes made.
//!
//! Then the expansion of a year of `FREQ=DAILY` at 09:00 Europe/London (across both
//! daylight-saving changes) with `--exceptions` EXDATEs, `--runs` times, as a window read does it
//! (`Series::new` and `between`): p50, p99.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use anyhow::{bail, ensure, Context as _};
use chrono::{DateTime, Datelike as _, Duration, DurationRound as _, Utc};
use vendrome_calendar::recurrence::{local, parse_zone, Rule, Series};
use vendrome_calendar::{
    CaldavInput, CalendarKeys, CalendarService, IntegrationService, OAuthApp, ProviderConfig,
    Secret, SyncEngine, SyncReport,
};
use vendrome_core::access::Caller;
use vendrome_core::enums::{CalendarProvider, UserRole};
use vendrome_core::ids::CalendarIntegrationId;
use vendrome_core::users::{DisplayName, Email, NewUser, UserRepo as _};
use vendrome_store::Store;

// The API tests' fakes of Google Calendar and Microsoft Graph; not all of them is used here.
#[allow(dead_code)]
#[path = "../../tests/api/google_fake.rs"]
mod google_fake;
#[allow(dead_code)]
#[path = "../../tests/api/graph_fake.rs"]
mod graph_fake;
mod radicale;

struct Options {
    store: String,
    providers: Vec<String>,
    events: usize,
    changes: usize,
    rounds: usize,
    runs: usize,
    exceptions: usize,
    radicale: Option<PathBuf>,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Options {
            store: "postgres".into(),
            providers: vec!["google".into(), "microsoft".into(), "caldav".into()],
            events: 10_000,
            changes: 10,
            rounds: 5,
            runs: 2_000,
            exceptions: 20,
            radicale: std::env::var_os("VENDROME_RADICALE").map(PathBuf::from),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--store" => o.store = value,
                "--providers" => o.providers = value.split(',').map(str::to_owned).collect(),
                "--events" => o.events = value.parse()?,
                "--changes" => o.changes = value.parse()?,
                "--rounds" => o.rounds = value.parse()?,
                "--runs" => o.runs = value.parse()?,
                "--exceptions" => o.exceptions = value.parse()?,
                "--radicale" => o.radicale = Some(value.into()),
                other => bail!("unknown option {other}"),
            }
        }
        ensure!(o.changes >= 3, "--changes must be at least 3");
        ensure!(
            o.exceptions <= 21,
            "--exceptions: at most 21 fit in the year"
        );
        ensure!(
            o.events >= o.rounds * o.changes,
            "--events must hold every round's renames and deletions"
        );
        Ok(o)
    }
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// The `p`-th percentile (nearest rank) of `sorted`, in ms.
fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    ms(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The remote changes of one incremental round: `(renamed, created, deleted)` counts.
fn split(changes: usize) -> (usize, usize, usize) {
    let created = changes * 3 / 10;
    let deleted = changes * 3 / 10;
    (changes - created - deleted, created.max(1), deleted.max(1))
}

/// Event `i` of the calendar: an hour, one after another from tomorrow 00:00 UTC.
fn slot(i: usize) -> (DateTime<Utc>, DateTime<Utc>) {
    let base = Utc::now().duration_trunc(Duration::days(1)).unwrap() + Duration::days(1);
    let start = base + Duration::hours(i as i64);
    (start, start + Duration::hours(1))
}

/// A provider's calendar as this benchmark drives it (as another client of the provider would).
#[async_trait::async_trait]
trait Remote: Sync {
    /// Adds event `id` for slot `i`.
    async fn create(&self, id: &str, title: &str, i: usize) -> anyhow::Result<()>;
    async fn rename(&self, id: &str, title: &str) -> anyhow::Result<()>;
    async fn delete(&self, id: &str) -> anyhow::Result<()>;
}

struct GoogleRemote(google_fake::Shared);

#[async_trait::async_trait]
impl Remote for GoogleRemote {
    async fn create(&self, id: &str, title: &str, i: usize) -> anyhow::Result<()> {
        let (start, end) = slot(i);
        self.0
            .lock()
            .unwrap()
            .create(id, title, &start.to_rfc3339(), &end.to_rfc3339());
        Ok(())
    }
    async fn rename(&self, id: &str, title: &str) -> anyhow::Result<()> {
        self.0.lock().unwrap().rename(id, title);
        Ok(())
    }
    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        self.0.lock().unwrap().cancel(id);
        Ok(())
    }
}

struct GraphRemote(graph_fake::Shared);

#[async_trait::async_trait]
impl Remote for GraphRemote {
    async fn create(&self, id: &str, title: &str, i: usize) -> anyhow::Result<()> {
        let (start, end) = slot(i);
        let f = "%Y-%m-%dT%H:%M:%S";
        self.0.lock().unwrap().create(
            id,
            title,
            &start.format(f).to_string(),
            &end.format(f).to_string(),
        );
        Ok(())
    }
    async fn rename(&self, id: &str, title: &str) -> anyhow::Result<()> {
        self.0.lock().unwrap().rename(id, title);
        Ok(())
    }
    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        self.0.lock().unwrap().delete(id);
        Ok(())
    }
}

/// One provider's row of the table.
struct Outcome {
    provider: &'static str,
    full: StdDuration,
    full_report: SyncReport,
    incremental: Vec<StdDuration>,
    incremental_requests: Vec<usize>,
    /// Rounds whose report did not match the changes made.
    mismatched: usize,
}

/// The sync engine over `store` as `vendrome serve` builds it, with a provider's client when
/// one is given; and its integrations.
fn engine(
    store: &Store,
    google: Option<ProviderConfig>,
    microsoft: Option<ProviderConfig>,
) -> anyhow::Result<(SyncEngine, IntegrationService)> {
    let shared = Arc::new(store.clone());
    let keys = Arc::new(CalendarKeys::parse(&CalendarKeys::generate_spec())?);
    let integrations = IntegrationService::new(shared.clone(), Some(keys));
    let mut engine = SyncEngine::new(
        integrations.clone(),
        shared.clone(),
        shared.clone(),
        CalendarService::new(shared.clone(), shared),
    );
    if let Some(google) = google {
        engine = engine.with_google(Arc::new(OAuthApp::google(google)?));
    }
    if let Some(microsoft) = microsoft {
        engine = engine.with_microsoft(Arc::new(OAuthApp::microsoft(microsoft)?));
    }
    Ok((engine, integrations))
}

fn config(
    client_id: &str,
    secret: &str,
    auth_url: String,
    token_url: String,
    api_url: String,
) -> ProviderConfig {
    ProviderConfig {
        client_id: client_id.into(),
        client_secret: Secret::new(secret),
        auth_url,
        token_url,
        api_url,
        redirect_url: "https://api.example.com/v1/calendar/integrations/callback".into(),
        webhook_url: None,
        channel_ttl: StdDuration::from_secs(24 * 3600),
        revoke_url: None,
    }
}

async fn member(store: &Store) -> anyhow::Result<Caller> {
    let id = uuid::Uuid::now_v7().simple();
    let user = store
        .create_user(NewUser {
            email: Email::parse(&format!("calendar-{id}@example.com"))?,
            display_name: DisplayName::parse("Calendar")?,
            handle: None,
            password_hash: None,
            role: UserRole::Member,
        })
        .await?;
    Ok(Caller {
        user_id: user.id,
        role: UserRole::Member,
    })
}

/// Connects `caller`'s calendar at `provider` through the OAuth flow, the consent screen being
/// the fake's authorization endpoint.
async fn connect(
    engine: &SyncEngine,
    caller: &Caller,
    provider: CalendarProvider,
) -> anyhow::Result<CalendarIntegrationId> {
    let browser = "bench-browser-secret";
    let url = engine.start(caller, provider, browser).await?;
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .get(&url)
        .send()
        .await?;
    ensure!(
        response.status() == 302,
        "consent answered {}",
        response.status()
    );
    let location = reqwest::Url::parse(response.headers()["location"].to_str()?)?;
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .with_context(|| format!("the redirect has no {name}"))
    };
    let integration = engine
        .finish(provider, &param("code")?, &param("state")?, Some(browser))
        .await?;
    Ok(integration.id)
}

/// The full sync of integration `id` (whose calendar holds `events` events), then `rounds`
/// rounds of `changes` remote changes each followed by a sync.
async fn measure(
    provider: &'static str,
    engine: &SyncEngine,
    id: CalendarIntegrationId,
    remote: &dyn Remote,
    o: &Options,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let full_report = engine.sync(id).await?;
    let full = started.elapsed();
    ensure!(
        full_report.created == o.events,
        "{provider}: the full sync created {} events of {}",
        full_report.created,
        o.events
    );
    let (renamed, created, deleted) = split(o.changes);
    let mut outcome = Outcome {
        provider,
        full,
        full_report,
        incremental: Vec::new(),
        incremental_requests: Vec::new(),
        mismatched: 0,
    };
    for round in 0..o.rounds {
        for k in 0..renamed {
            remote
                .rename(
                    &format!("e{}", round * renamed + k),
                    &format!("Renamed {round}.{k}"),
                )
                .await?;
        }
        for k in 0..created {
            remote
                .create(
                    &format!("n{round}x{k}"),
                    "New",
                    o.events + round * created + k,
                )
                .await?;
        }
        for k in 0..deleted {
            remote
                .delete(&format!("e{}", o.events - 1 - round * deleted - k))
                .await?;
        }
        let started = Instant::now();
        let report = engine.sync(id).await?;
        outcome.incremental.push(started.elapsed());
        outcome.incremental_requests.push(report.requests);
        if report.full
            || (report.updated, report.created, report.deleted) != (renamed, created, deleted)
        {
            eprintln!("{provider} round {round}: {report:?}");
            outcome.mismatched += 1;
        }
    }
    Ok(outcome)
}

async fn google(store: &Store, o: &Options) -> anyhow::Result<Outcome> {
    let fake: google_fake::Shared = Arc::new(Mutex::new(google_fake::Fake::default()));
    let address = google_fake::start(fake.clone()).await;
    let (engine, _) = engine(
        store,
        Some(config(
            google_fake::CLIENT_ID,
            google_fake::CLIENT_SECRET,
            format!("http://{address}/o/oauth2/auth"),
            format!("http://{address}/token"),
            format!("http://{address}/calendar/v3"),
        )),
        None,
    )?;
    let remote = GoogleRemote(fake.clone());
    for i in 0..o.events {
        remote
            .create(&format!("e{i}"), &format!("Event {i}"), i)
            .await?;
    }
    let caller = member(store).await?;
    let id = connect(&engine, &caller, CalendarProvider::Google).await?;
    measure("google (fake)", &engine, id, &remote, o).await
}

async fn microsoft(store: &Store, o: &Options) -> anyhow::Result<Outcome> {
    let fake: graph_fake::Shared = Arc::new(Mutex::new(graph_fake::Fake::default()));
    let address = graph_fake::start(fake.clone()).await;
    let (engine, _) = engine(
        store,
        None,
        Some(config(
            graph_fake::CLIENT_ID,
            graph_fake::CLIENT_SECRET,
            format!("http://{address}/oauth2/v2.0/authorize"),
            format!("http://{address}/oauth2/v2.0/token"),
            format!("http://{address}/v1.0"),
        )),
    )?;
    let remote = GraphRemote(fake.clone());
    for i in 0..o.events {
        remote
            .create(&format!("e{i}"), &format!("Event {i}"), i)
            .await?;
    }
    let caller = member(store).await?;
    let id = connect(&engine, &caller, CalendarProvider::Microsoft).await?;
    measure("microsoft (fake)", &engine, id, &remote, o).await
}

async fn caldav(store: &Store, o: &Options) -> anyhow::Result<Option<Outcome>> {
    let Some(exe) = &o.radicale else {
        eprintln!("caldav: skipped (no Radicale: set VENDROME_RADICALE or --radicale)");
        return Ok(None);
    };
    let server = radicale::Radicale::start(exe)?;
    let url = server.calendar("alice", "bench", o.events, slot)?;
    let (engine, integrations) = engine(store, None, None)?;
    let caller = member(store).await?;
    let integration = integrations
        .connect_caldav(
            &caller,
            CaldavInput {
                url: url.clone(),
                username: "alice".into(),
                password: Secret::new("x"),
            },
        )
        .await?;
    let remote = radicale::Collection::new(&url, slot);
    let outcome = measure("caldav (Radicale)", &engine, integration.id, &remote, o).await?;
    Ok(Some(outcome))
}

/// Expansions of a year of a daily series with `o.exceptions` exceptions: their times, sorted.
fn expansion(o: &Options) -> anyhow::Result<(usize, Vec<StdDuration>)> {
    let zone = parse_zone("Europe/London").map_err(|e| anyhow::anyhow!("{e}"))?;
    let rule = Rule::parse("FREQ=DAILY").map_err(|e| anyhow::anyhow!("{e}"))?;
    let starts_at = local(zone, 2027, 1, 1, 9, 0);
    // Occurrences left out: every 17th day from 8 January, at 09:00 local time.
    let first = chrono::NaiveDate::from_ymd_opt(2027, 1, 8).context("a date")?;
    let exceptions: Vec<_> = (0..o.exceptions)
        .map(|k| {
            let day = first + Duration::days(17 * k as i64);
            local(zone, day.year(), day.month(), day.day(), 9, 0)
        })
        .collect();
    let from = starts_at;
    let to = from + Duration::days(365);
    let mut times = Vec::with_capacity(o.runs);
    let mut occurrences = 0;
    for _ in 0..o.runs {
        let started = Instant::now();
        let series = Series::new(&rule, zone, starts_at, Duration::hours(1), &exceptions)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let found = series
            .between(from, to, 10_000)
            .context("a year of a daily series is within the budget")?;
        times.push(started.elapsed());
        occurrences = std::hint::black_box(found).len();
    }
    ensure!(
        occurrences == 365 - o.exceptions,
        "the expansion found {occurrences} occurrences"
    );
    times.sort();
    Ok((occurrences, times))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Options::parse()?;
    let mut outcomes = Vec::new();
    for provider in &o.providers {
        // Each provider on a fresh database, dropped when its run ends.
        let db = match o.store.as_str() {
            "sqlite" => vendrome_store::testing::sqlite().await,
            _ => vendrome_store::testing::postgres()
                .await
                .context("PostgreSQL is not reachable (VENDROME_TEST_DATABASE_URL)")?,
        };
        let outcome = match provider.as_str() {
            "google" => Some(google(&db.store, &o).await?),
            "microsoft" => Some(microsoft(&db.store, &o).await?),
            "caldav" => caldav(&db.store, &o).await?,
            other => bail!("unknown provider {other}"),
        };
        outcomes.extend(outcome);
    }
    let (occurrences, expansions) = expansion(&o)?;

    println!(
        "\nCalendar sync on {}: a calendar of {} events, then {} rounds of {} remote changes \
         ({:?} renamed, created, deleted) each followed by a sync\n",
        o.store,
        o.events,
        o.rounds,
        o.changes,
        split(o.changes)
    );
    println!(
        "| provider | full sync | events/s | requests | incremental p50 | incremental max | requests per incremental | rounds not matching |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for out in &outcomes {
        let mut sorted = out.incremental.clone();
        sorted.sort();
        let requests: Vec<String> = {
            let mut r = out.incremental_requests.clone();
            r.sort_unstable();
            r.dedup();
            r.iter().map(usize::to_string).collect()
        };
        println!(
            "| {} | {:.0} ms | {:.0} | {} | {:.1} ms | {:.1} ms | {} | {} |",
            out.provider,
            ms(out.full),
            out.full_report.created as f64 / out.full.as_secs_f64(),
            out.full_report.requests,
            percentile(&sorted, 50.0),
            ms(*sorted.last().context("no rounds")?),
            requests.join(", "),
            out.mismatched
        );
    }
    println!(
        "\nExpansion of a year of FREQ=DAILY 09:00 Europe/London with {} exceptions ({} \
         occurrences), {} runs\n",
        o.exceptions, occurrences, o.runs
    );
    println!("| p50 | p99 | max |");
    println!("|---:|---:|---:|");
    println!(
        "| {:.3} ms | {:.3} ms | {:.3} ms |",
        percentile(&expansions, 50.0),
        percentile(&expansions, 99.0),
        ms(*expansions.last().context("no runs")?)
    );
    Ok(())
}
