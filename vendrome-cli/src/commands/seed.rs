//! `vendrome seed fixtures [--dir DIR]`: loads the seed data in `fixtures/`. Idempotent: users
//! already present (by email) are left alone and flags already in the listed state are not
//! touched, so a second run changes nothing.
//!
//! `vendrome seed synthetic --users N --posts N`: a large generated network ([`synthetic`]).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use vendrome_core::auth::{hash_blocking, Password};
use vendrome_core::enums::UserRole;
use vendrome_core::flags::{ChangeReason, FlagName, FlagService, FlagUpdate, RolloutPercent};
use vendrome_core::users::{DisplayName, Email, Handle, NewUser, UserRepo};

use crate::{output, Common};

mod bookings;
mod bulk;
mod calendar;
mod investments;
mod marketing;
mod mentoring;
mod orders;
mod social;
mod synthetic;
mod synthetic_payloads;
mod synthetic_words;

/// The password of every seeded member who has one (development only).
const DEV_PASSWORD: &str = "vendrome-dev-password";

#[derive(clap::Subcommand)]
pub enum Command {
    /// Load users, flags, social activity and orders from the fixtures folder.
    Fixtures {
        #[arg(long, default_value = "fixtures")]
        dir: PathBuf,
    },
    /// Generate a large realistic network (members, follows, connections, topics, posts of
    /// every type, engagement) and load it in bulk, without outbox events. Refuses a database
    /// that already holds synthetic members. Every member's password is the development one.
    Synthetic {
        #[arg(long, default_value_t = 1_000)]
        users: usize,
        #[arg(long, default_value_t = 10_000)]
        posts: usize,
        /// The same seed generates the same network.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFixture {
    email: String,
    display_name: String,
    handle: Option<String>,
    #[serde(default = "member")]
    role: UserRole,
    /// A development password (fixtures only); without one the account signs in only through a
    /// provider.
    password: Option<String>,
}

fn member() -> UserRole {
    UserRole::Member
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagFixture {
    name: String,
    enabled: bool,
    rollout_percent: i64,
}

#[derive(Default, Serialize)]
struct Summary {
    users_created: usize,
    users_present: usize,
    flags_changed: usize,
    flags_unchanged: usize,
    social: social::SocialSummary,
    mentoring: mentoring::MentoringSummary,
    orders: orders::OrdersSummary,
    bookings: bookings::BookingsSummary,
    marketing: marketing::MarketingSummary,
    investments: investments::InvestmentsSummary,
    calendar: calendar::CalendarSummary,
}

fn read<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> anyhow::Result<Vec<T>> {
    let path = dir.join(file);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// One JSON object from `file` in `dir`, `None` when the file is absent.
fn read_object<T: serde::de::DeserializeOwned>(
    dir: &Path,
    file: &str,
) -> anyhow::Result<Option<T>> {
    let path = dir.join(file);
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not valid", path.display()))
}

fn field<T>(
    file: &str,
    index: usize,
    name: &str,
    parsed: Result<T, vendrome_core::validation::ValidationErrors>,
) -> anyhow::Result<T> {
    parsed.map_err(|e| anyhow::anyhow!("{file} item {index}: {name} {e}"))
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Fixtures { dir } => fixtures(common, dir).await,
        Command::Synthetic { users, posts, seed } => {
            let store = super::open_migrated_store(common).await?;
            synthetic::ensure_empty(&store).await?;
            let password = Password::new_secret(DEV_PASSWORD)
                .map_err(|e| anyhow::anyhow!("the development password: {e}"))?;
            let hash = tokio::task::spawn_blocking(move || hash_blocking(&password)).await??;
            let started = std::time::Instant::now();
            let plan = synthetic::Plan { users, posts, seed };
            let loaded = synthetic::generate(&store, &plan, hash.as_str()).await?;
            if common.json {
                output::json(&loaded)
            } else {
                let total: u64 = loaded.rows.iter().map(|(_, n, _)| n).sum();
                println!(
                    "loaded {total} rows in {:.1} s: {}",
                    started.elapsed().as_secs_f64(),
                    loaded
                        .rows
                        .iter()
                        .map(|(t, n, secs)| format!("{t} {n} ({secs:.1} s)"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Ok(())
            }
        }
    }
}

async fn fixtures(common: &Common, dir: PathBuf) -> anyhow::Result<()> {
    anyhow::ensure!(
        dir.is_dir(),
        "{} is not a folder of fixtures",
        dir.display()
    );
    let users: Vec<UserFixture> = read(&dir, "users.json")?;
    let flags: Vec<FlagFixture> = read(&dir, "flags.json")?;
    let social_path = dir.join("social.json");
    let social: Option<social::Social> = if social_path.exists() {
        let text = std::fs::read_to_string(&social_path)
            .with_context(|| format!("reading {}", social_path.display()))?;
        Some(
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid", social_path.display()))?,
        )
    } else {
        None
    };

    let orders: Vec<orders::OrderFixture> = read(&dir, "orders.json")?;
    anyhow::ensure!(
        orders.is_empty() || social.is_some(),
        "orders.json names products of social.json, which is missing"
    );
    let bookings: Option<bookings::Bookings> = read_object(&dir, "bookings.json")?;
    anyhow::ensure!(
        bookings.is_none() || social.is_some(),
        "bookings.json names services of social.json, which is missing"
    );
    let mentoring: Option<mentoring::Mentoring> = read_object(&dir, "mentoring.json")?;
    let marketing: Option<marketing::Marketing> = read_object(&dir, "marketing.json")?;
    anyhow::ensure!(
        marketing.is_none() || social.is_some(),
        "marketing.json names posts of social.json, which is missing"
    );
    let investments: Option<investments::Investments> = read_object(&dir, "investments.json")?;
    anyhow::ensure!(
        investments.is_none() || social.is_some(),
        "investments.json names posts of social.json, which is missing"
    );
    let events: Vec<calendar::EventFixture> = read(&dir, "calendar.json")?;
    // Posts named in mentoring.json by their social.json key: (author, body).
    let post_keys = social
        .as_ref()
        .map(social::Social::post_keys)
        .unwrap_or_default();

    let store = super::open_migrated_store(common).await?;
    let flag_service = FlagService::new(std::sync::Arc::new(store.clone()));
    let total = users.len()
        + flags.len()
        + social.as_ref().map_or(0, social::Social::items)
        + orders.len()
        + bookings.as_ref().map_or(0, bookings::Bookings::items)
        + mentoring.as_ref().map_or(0, mentoring::Mentoring::items)
        + marketing.as_ref().map_or(0, marketing::Marketing::items)
        + investments
            .as_ref()
            .map_or(0, investments::Investments::items)
        + events.len();
    let bar = output::progress(total as u64, "seeding fixtures");
    let mut summary = Summary::default();

    for (i, user) in users.iter().enumerate() {
        let email = field("users.json", i, "email", Email::parse(&user.email))?;
        if store.user_by_email(&email).await?.is_some() {
            summary.users_present += 1;
        } else {
            let password_hash = match &user.password {
                Some(raw) => {
                    let password = Password::new_secret(raw)
                        .map_err(|e| anyhow::anyhow!("users.json item {i}: password {e}"))?;
                    let hash =
                        tokio::task::spawn_blocking(move || hash_blocking(&password)).await??;
                    Some(hash.as_str().to_owned())
                }
                None => None,
            };
            let new = NewUser {
                email,
                display_name: field(
                    "users.json",
                    i,
                    "display_name",
                    DisplayName::parse(&user.display_name),
                )?,
                handle: user
                    .handle
                    .as_deref()
                    .map(Handle::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("users.json item {i}: handle {e}"))?,
                password_hash,
                role: user.role,
            };
            store.create_user(new).await?;
            summary.users_created += 1;
        }
        bar.inc(1);
    }

    for (i, fixture) in flags.iter().enumerate() {
        let name = field("flags.json", i, "name", FlagName::parse(&fixture.name))?;
        let percent = field(
            "flags.json",
            i,
            "rollout_percent",
            RolloutPercent::parse(fixture.rollout_percent),
        )?;
        let current = flag_service
            .get(&name)
            .await
            .with_context(|| format!("flags.json item {i}: no flag `{}`", fixture.name))?;
        if current.enabled == fixture.enabled && current.rollout_percent == percent {
            summary.flags_unchanged += 1;
        } else {
            let update = FlagUpdate {
                enabled: fixture.enabled,
                rollout_percent: Some(percent),
                cohorts: None,
                reason: ChangeReason::parse("seeded from flags.json")?,
            };
            flag_service.update_as_operator(&name, update).await?;
            summary.flags_changed += 1;
        }
        bar.inc(1);
    }
    if let Some(social) = social {
        let (loaded, posts) = social::load(&store, social, &bar).await?;
        summary.social = loaded;
        summary.orders = orders::load(&store, orders, &posts, &bar).await?;
        if let Some(bookings) = bookings {
            summary.bookings = bookings::load(&store, bookings, &posts, &bar).await?;
        }
        if let Some(marketing) = marketing {
            summary.marketing = marketing::load(&store, marketing, &posts, &bar).await?;
        }
        if let Some(investments) = investments {
            summary.investments = investments::load(&store, investments, &posts, &bar).await?;
        }
    }
    if let Some(mentoring) = mentoring {
        summary.mentoring = mentoring::load(&store, mentoring, &post_keys, &bar).await?;
    }
    // After social.json: an event's attendees must be the owner's connections.
    summary.calendar = calendar::load(&store, events, &bar).await?;
    bar.finish_and_clear();

    if common.json {
        output::json(&summary)
    } else {
        println!(
            "users: {} created, {} already present; flags: {} changed, {} unchanged; posts: {} created, {} already present; comments: {} created; connections: {} changed; orders: {} placed, {} moves; bookings: {} made, {} moves; reviews: {} created; mentorships: {} created; campaigns: {} created, {} already present ({} events); investment campaigns: {} created, {} already present ({} commitments); calendar events: {} created, {} already present",
            summary.users_created,
            summary.users_present,
            summary.flags_changed,
            summary.flags_unchanged,
            summary.social.posts_created,
            summary.social.posts_present,
            summary.social.comments_created,
            summary.social.connections_changed,
            summary.orders.orders_placed,
            summary.orders.orders_moved,
            summary.bookings.bookings_made,
            summary.bookings.bookings_moved,
            summary.mentoring.reviews_created,
            summary.mentoring.mentorships_created,
            summary.marketing.campaigns_created,
            summary.marketing.campaigns_present,
            summary.marketing.events,
            summary.investments.campaigns_created,
            summary.investments.campaigns_present,
            summary.investments.commitments,
            summary.calendar.events_created,
            summary.calendar.events_present,
        );
        Ok(())
    }
}
