//! `vendrome flags list|show|set`

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use vendrome_core::enums::{UserRole, VerificationLevel};
use vendrome_core::flags::{
    ChangeReason, Cohorts, Country, Flag, FlagName, FlagService, FlagUpdate, RolloutPercent,
};
use vendrome_core::ids::UserId;
use vendrome_core::users::{Email, UserRepo};
use vendrome_store::Store;

use crate::{output, Common};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Every flag.
    List,
    /// One flag, with its cohorts.
    #[command(alias = "get")]
    Show { name: String },
    /// Change a flag: its state, rollout percentage and cohorts (audited as a CLI change, with
    /// the reason). Without --on or --off the flag keeps its state; each cohort option replaces
    /// that list and leaves the others as they are.
    Set {
        name: String,
        #[arg(long, conflicts_with = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
        /// Share of signed-in members (0-100) the flag is on for, among its segments.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: Option<u8>,
        /// A file of members the flag is always on for (while on): one user id or email per
        /// line; blank lines and lines starting with # are skipped. Unknown ones are an error,
        /// listed, and nothing changes.
        #[arg(long, value_name = "FILE")]
        include_users: Option<PathBuf>,
        /// Only members of these roles (comma-separated: member, moderator, admin).
        #[arg(long, value_delimiter = ',', value_name = "ROLES")]
        roles: Option<Vec<UserRole>>,
        /// Only members of these verification levels (comma-separated: unverified,
        /// email_verified, identity_verified, business_verified).
        #[arg(long, value_delimiter = ',', value_name = "LEVELS")]
        levels: Option<Vec<VerificationLevel>>,
        /// Only members whose profile is in these countries (comma-separated ISO 3166-1
        /// alpha-2 codes).
        #[arg(long, value_delimiter = ',', value_name = "CODES")]
        countries: Option<Vec<String>>,
        /// Remove every cohort (named members and segments) before applying the options above.
        #[arg(long)]
        clear_cohorts: bool,
        /// Why (1 to 500 characters), kept in the audit event.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Serialize)]
struct FlagOut<'a> {
    name: &'a str,
    enabled: bool,
    rollout_percent: u8,
    cohorts: &'a Cohorts,
    description: &'a str,
    updated_at: String,
}

impl<'a> From<&'a Flag> for FlagOut<'a> {
    fn from(flag: &'a Flag) -> Self {
        Self {
            name: flag.name.as_str(),
            enabled: flag.enabled,
            rollout_percent: flag.rollout_percent.get(),
            cohorts: &flag.cohorts,
            description: &flag.description,
            updated_at: flag.updated_at.to_rfc3339(),
        }
    }
}

fn listed<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn print(flags: &[Flag], json: bool, cohorts: bool) -> anyhow::Result<()> {
    if json {
        return output::json(&flags.iter().map(FlagOut::from).collect::<Vec<_>>());
    }
    for flag in flags {
        let state = if flag.enabled { "on" } else { "off" };
        println!(
            "{:<24} {:<3} {:>3}%  {}",
            flag.name.as_str(),
            state,
            flag.rollout_percent.get(),
            flag.description
        );
        if !cohorts {
            continue;
        }
        let c = &flag.cohorts;
        if c.is_empty() {
            println!("  cohorts:   none (the percentage of every member)");
            continue;
        }
        println!("  included:  {}", listed(&c.users));
        println!("  roles:     {}", listed(&c.roles));
        println!("  levels:    {}", listed(&c.levels));
        println!(
            "  countries: {}",
            listed(c.countries.iter().map(Country::as_str))
        );
    }
    Ok(())
}

fn parse_name(raw: &str) -> anyhow::Result<FlagName> {
    FlagName::parse(raw).map_err(|e| anyhow::anyhow!("`{raw}` is not a flag name: {e}"))
}

/// The members a file names, each line an id or an email; every line that names no account is
/// reported at once.
async fn members_in(store: &Store, file: &Path) -> anyhow::Result<BTreeSet<UserId>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut found = BTreeSet::new();
    let mut unknown = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let user = if let Ok(id) = uuid::Uuid::parse_str(line) {
            store.user_by_id(UserId::from_uuid(id)).await?
        } else if let Ok(email) = Email::parse(line) {
            store.user_by_email(&email).await?
        } else {
            None
        };
        match user {
            Some(user) => {
                found.insert(user.id);
            }
            None => unknown.push(line.to_owned()),
        }
    }
    anyhow::ensure!(
        unknown.is_empty(),
        "{} names no account for: {}; nothing changed",
        file.display(),
        unknown.join(", ")
    );
    Ok(found)
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    let store = super::open_migrated_store(common).await?;
    let flags = FlagService::new(std::sync::Arc::new(store.clone()));
    let get = |name: FlagName| {
        let flags = flags.clone();
        async move {
            flags
                .get(&name)
                .await
                .map_err(|_| anyhow::anyhow!("no flag is named `{}`", name.as_str()))
        }
    };
    match command {
        Command::List => print(&flags.list().await?, common.json, false),
        Command::Show { name } => print(&[get(parse_name(&name)?).await?], common.json, true),
        Command::Set {
            name,
            on,
            off,
            percent,
            include_users,
            roles,
            levels,
            countries,
            clear_cohorts,
            reason,
        } => {
            let name = parse_name(&name)?;
            let current = get(name.clone()).await?;
            let reason =
                ChangeReason::parse(&reason).map_err(|e| anyhow::anyhow!("--reason {e}"))?;
            let touches_cohorts = clear_cohorts
                || include_users.is_some()
                || roles.is_some()
                || levels.is_some()
                || countries.is_some();
            let cohorts = if touches_cohorts {
                let mut cohorts = if clear_cohorts {
                    Cohorts::default()
                } else {
                    current.cohorts.clone()
                };
                if let Some(file) = include_users {
                    cohorts.users = members_in(&store, &file).await?;
                }
                if let Some(roles) = roles {
                    cohorts.roles = roles.into_iter().collect();
                }
                if let Some(levels) = levels {
                    cohorts.levels = levels.into_iter().collect();
                }
                if let Some(countries) = countries {
                    cohorts.countries = countries
                        .iter()
                        .map(|c| {
                            Country::parse(c).map_err(|e| anyhow::anyhow!("--countries `{c}` {e}"))
                        })
                        .collect::<anyhow::Result<_>>()?;
                }
                Some(
                    cohorts
                        .bounded()
                        .map_err(|e| anyhow::anyhow!("--include-users {e}"))?,
                )
            } else {
                None
            };
            let update = FlagUpdate {
                enabled: if on || off { on } else { current.enabled },
                rollout_percent: percent
                    .map(|p| RolloutPercent::parse(p.into()))
                    .transpose()?,
                cohorts,
                reason,
            };
            let flag = flags.update_as_operator(&name, update).await?;
            print(&[flag], common.json, true)
        }
    }
}
