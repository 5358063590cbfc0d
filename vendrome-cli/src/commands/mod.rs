//! One module per verb.

pub mod calendar;
pub mod flags;
pub mod keys;
pub mod ledger;
pub mod migrate;
pub mod reconcile;
pub mod search;
pub mod seed;
pub mod serve;
pub mod stripe_args;
pub mod users;

use vendrome_store::Store;

use crate::Common;

/// Opens the configured store (creating the data dir for the embedded default). Migrations are
/// applied by `migrate up` and `serve`, not here.
pub async fn open_store(common: &Common) -> anyhow::Result<Store> {
    let url = match &common.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&common.data_dir)?;
            vendrome_server::config::embedded_database_url(&common.data_dir)
        }
    };
    Store::open(&url).await
}

/// Opens the store and refuses to go on while migrations are pending.
pub async fn open_migrated_store(common: &Common) -> anyhow::Result<Store> {
    let store = open_store(common).await?;
    let pending = vendrome_store::migrate::pending_count(store.db()).await?;
    anyhow::ensure!(
        pending == 0,
        "{pending} migration(s) pending: run `vendrome migrate up` first"
    );
    Ok(store)
}
