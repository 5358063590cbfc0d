//! `vendrome search reindex|status`

use vendrome_search::{IndexDir, IndexerConfig};

use crate::{output, Common};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Rebuild the embedded index from the database without taking search offline: the new
    /// index is built beside the current one, then replaces it; a running server switches to it
    /// within a second and catches up with the changes made meanwhile.
    Reindex,
    /// Show which index generation is in use and how far it has followed the outbox.
    Status,
}

fn index_dir(common: &Common) -> IndexDir {
    IndexDir::new(common.data_dir.join("search"))
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    let dir = index_dir(common);
    match command {
        Command::Reindex => {
            let store = super::open_store(common).await?;
            let bar = output::progress(0, "indexing profiles, posts and topics");
            let report = vendrome_search::reindex(
                &dir,
                &store,
                &store,
                &IndexerConfig::default(),
                &|done, total| {
                    bar.set_length(total.max(done));
                    bar.set_position(done);
                },
            )
            .await?;
            bar.finish_and_clear();
            if common.json {
                output::json(&serde_json::json!({
                    "generation": report.generation,
                    "documents": report.documents,
                    "seconds": report.seconds,
                }))?;
            } else {
                println!(
                    "indexed {} documents in {:.1} s into {}; it is now the index in use",
                    report.documents,
                    report.seconds,
                    dir.path(&report.generation).display()
                );
            }
        }
        Command::Status => {
            let Some(name) = dir.current()? else {
                println!(
                    "no index yet in {} (`vendrome serve` builds one at start)",
                    dir.root().display()
                );
                return Ok(());
            };
            let info = vendrome_search::Generation::committed_in(&dir.path(&name))?;
            if common.json {
                output::json(&serde_json::json!({
                    "generation": name,
                    "outbox_seq": info.outbox_seq,
                }))?;
            } else {
                println!(
                    "generation {name}: every outbox event up to {} is indexed",
                    info.outbox_seq
                );
            }
        }
    }
    Ok(())
}
