//! `vendrome calendar keys generate|rotate-keys`

use std::sync::Arc;

use vendrome_calendar::{CalendarKeys, IntegrationService};

use crate::{output, Common};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a new calendar credential key (`kid:secret`) for VENDROME_CALENDAR_KEYS: put it
    /// first in the list, keep the old ones after it, then run `rotate-keys`.
    GenerateKey,
    /// Re-encrypt every stored calendar credential with the first key of
    /// VENDROME_CALENDAR_KEYS; afterwards the older keys may be dropped.
    RotateKeys(KeyArgs),
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
    }
    Ok(())
}
