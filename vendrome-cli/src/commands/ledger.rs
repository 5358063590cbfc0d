//! `vendrome ledger check`: proves the ledger's invariants on the whole database.

use vendrome_core::ledger::LedgerRepo as _;

use crate::output::{self, Exit};
use crate::Common;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Recompute the invariants: debits equal credits per currency over the whole ledger and in
    /// every posting, and every account's stored balance equals the sum of its entries. Exit
    /// status 0 when they hold, 3 when they do not (each breach printed).
    Check,
}

pub async fn run(common: &Common, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Check => check(common).await,
    }
}

async fn check(common: &Common) -> anyhow::Result<()> {
    let store = super::open_migrated_store(common).await?;
    let bar = output::spinner("checking the ledger");
    let report = store.check().await?;
    bar.finish_and_clear();
    if common.json {
        output::json(&serde_json::json!({
            "clean": report.is_clean(),
            "transactions": report.transactions,
            "entries": report.entries,
            "accounts": report.accounts,
            "unbalanced_currencies": report.unbalanced_currencies.iter()
                .map(|(currency, debits, credits)| serde_json::json!({
                    "currency": currency,
                    "debits": debits.to_string(),
                    "credits": credits.to_string(),
                }))
                .collect::<Vec<_>>(),
            "unbalanced_transactions": report.unbalanced_transactions,
            "balance_mismatches": report.balance_mismatches.iter()
                .map(|(code, stored, computed)| serde_json::json!({
                    "account": code,
                    "stored": stored,
                    "computed": computed,
                }))
                .collect::<Vec<_>>(),
        }))?;
    } else {
        println!(
            "{} postings, {} entries, {} accounts",
            report.transactions, report.entries, report.accounts
        );
        for (currency, debits, credits) in &report.unbalanced_currencies {
            println!("UNBALANCED {currency}: debits {debits}, credits {credits}");
        }
        for id in &report.unbalanced_transactions {
            println!("UNBALANCED posting {id}");
        }
        for (code, stored, computed) in &report.balance_mismatches {
            println!("BALANCE {code}: stored {stored}, sum of entries {computed}");
        }
        if report.is_clean() {
            println!("clean: debits equal credits in every currency and every posting; every balance is the sum of its entries");
        }
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(Exit::new(3, "the ledger check found breaches").into())
    }
}
