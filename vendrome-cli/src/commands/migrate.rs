//! `vendrome migrate up|status`

use vendrome_store::migrate;

use crate::{output, Common};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Apply every pending migration.
    Up,
    /// List migrations and whether each is applied.
    Status,
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    let store = super::open_store(common).await?;
    match command {
        Command::Up => {
            let pending = migrate::pending_count(store.db()).await?;
            let bar = output::progress(pending as u64, "applying migrations");
            let applied = migrate::apply_pending(store.db(), |m| {
                bar.set_message(format!("applied {} {}", m.version, m.description));
                bar.inc(1);
            })
            .await?;
            bar.finish_and_clear();
            if common.json {
                output::json(&serde_json::json!({ "applied": applied }))?;
            } else {
                println!(
                    "applied {applied} migration(s); the {} database is up to date",
                    store.dialect().name()
                );
            }
        }
        Command::Status => {
            let status = migrate::status(store.db()).await?;
            if common.json {
                output::json(&status)?;
            } else {
                for m in &status {
                    println!(
                        "{} {:<9} {}",
                        m.version,
                        if m.applied { "applied" } else { "pending" },
                        m.description
                    );
                }
            }
        }
    }
    Ok(())
}
