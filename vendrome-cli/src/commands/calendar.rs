//! `vendrome calendar generate-key|rotate-keys|sync-status`

use std::sync::Arc;

use vendrome_calendar::{CalendarKeys, IntegrationService};
use vendrome_core::calendar::sync_jobs::SyncJobRepo as _;

use crate::{output, Common};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a new calendar credential key (`kid:secret`) for VENDROME_CALENDAR_KEYS: put it
    /// first in the list, keep the old ones after it, then run `rotate-keys`.
    GenerateKey,
    /// Re-encrypt every stored calendar credential with the first key of
    /// VENDROME_CALENDAR_KEYS; afterwards the older keys may be dropped.
    RotateKeys(KeyArgs),
    /// The sync queue: jobs pending, running, retrying after a failure and dead (the dead
    /// letters), and when the oldest pending job was due.
    SyncStatus,
}

#[derive(clap::Args)]
pub struct KeyArgs {
    /// Calendar credential keys, `kid:base64url-secret[,…]` (first seals, all open).
    #[arg(long, env = "VENDROME_CALENDAR_KEYS", hide_env_values = true)]
    calendar_keys: Option<String>,
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    match command {
        Command::GenerateKey => println!("{}", CalendarKeys::generate_spec()),
        Command::RotateKeys(args) => {
            let config = vendrome_server::Config {
                database_url: common.database_url.clone(),
                data_dir: common.data_dir.clone(),
                calendar_keys: args.calendar_keys,
                ..vendrome_server::Config::default()
            };
            let keys = vendrome_server::app::calendar_keys(&config)?
                .ok_or_else(|| anyhow::anyhow!("set VENDROME_CALENDAR_KEYS to rotate them"))?;
            let current = keys.current_id().to_owned();
            let store = Arc::new(super::open_migrated_store(common).await?);
            let service = IntegrationService::new(store, Some(keys));
            let resealed = service.rotate_keys().await?;
            if common.json {
                output::json(&serde_json::json!({ "resealed": resealed, "key_id": current }))?;
            } else {
                println!("re-encrypted {resealed} calendar integration(s) with key {current}");
            }
        }
        Command::SyncStatus => {
            let store = super::open_migrated_store(common).await?;
            let status = store.sync_queue_status().await?;
            let oldest = status.oldest_pending.map(|t| t.to_rfc3339());
            if common.json {
                output::json(&serde_json::json!({
                    "pending": status.pending,
                    "running": status.running,
                    "retrying": status.retrying,
                    "dead": status.dead,
                    "oldest_pending": oldest,
                }))?;
            } else {
                println!(
                    "pending {}, running {}, retrying {}, dead {}; oldest pending: {}",
                    status.pending,
                    status.running,
                    status.retrying,
                    status.dead,
                    oldest.as_deref().unwrap_or("none")
                );
            }
        }
    }
    Ok(())
}
