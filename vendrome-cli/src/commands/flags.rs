//! `vendrome flags list|get|set`

use serde::Serialize;
use vendrome_core::flags::{Flag, FlagName, FlagService, FlagUpdate, RolloutPercent};

use crate::{output, Common};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Every flag.
    List,
    /// One flag.
    Get { name: String },
    /// Turn a flag on or off, optionally with a rollout percentage (audited as a CLI change).
    Set {
        name: String,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
        /// Share of signed-in users (0-100) the flag is on for.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: Option<u8>,
    },
}

#[derive(Serialize)]
struct FlagOut<'a> {
    name: &'a str,
    enabled: bool,
    rollout_percent: u8,
    description: &'a str,
    updated_at: String,
}

impl<'a> From<&'a Flag> for FlagOut<'a> {
    fn from(flag: &'a Flag) -> Self {
        Self {
            name: flag.name.as_str(),
            enabled: flag.enabled,
            rollout_percent: flag.rollout_percent.get(),
            description: &flag.description,
            updated_at: flag.updated_at.to_rfc3339(),
        }
    }
}

fn print(flags: &[Flag], json: bool) -> anyhow::Result<()> {
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
    }
    Ok(())
}

fn parse_name(raw: &str) -> anyhow::Result<FlagName> {
    FlagName::parse(raw).map_err(|e| anyhow::anyhow!("`{raw}` is not a flag name: {e}"))
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    let store = super::open_migrated_store(common).await?;
    let flags = FlagService::new(std::sync::Arc::new(store));
    match command {
        Command::List => print(&flags.list().await?, common.json),
        Command::Get { name } => {
            let name = parse_name(&name)?;
            let flag = flags
                .get(&name)
                .await
                .map_err(|_| anyhow::anyhow!("no flag is named `{}`", name.as_str()))?;
            print(&[flag], common.json)
        }
        Command::Set {
            name,
            on,
            off: _,
            percent,
        } => {
            let name = parse_name(&name)?;
            let update = FlagUpdate {
                enabled: on,
                rollout_percent: percent
                    .map(|p| RolloutPercent::parse(p.into()))
                    .transpose()?,
            };
            let flag =
                flags
                    .update_as_operator(&name, update)
                    .await
                    .map_err(|error| match error {
                        vendrome_core::Error::NotFound { .. } => {
                            anyhow::anyhow!("no flag is named `{}`", name.as_str())
                        }
                        other => other.into(),
                    })?;
            print(&[flag], common.json)
        }
    }
}
