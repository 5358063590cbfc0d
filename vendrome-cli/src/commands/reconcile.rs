//! `vendrome reconcile`: a provider's settled transactions against the ledger's postings.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone as _, Utc};
use vendrome_core::enums::PaymentProvider as ProviderId;
use vendrome_core::payments::Discrepancy;
use vendrome_core::SqlEnum as _;
use vendrome_payments::{Payments, Ports, ReconcileOutcome};

use crate::output::{self, Exit};
use crate::Common;

#[derive(clap::Args)]
pub struct Args {
    /// The provider to reconcile (`stripe`, `paypal`, `airwallex`, `payfast`, `paystack`); it
    /// must be configured (`VENDROME_STRIPE_*`, `VENDROME_<PROVIDER>_*`).
    #[arg(long)]
    provider: String,
    /// First day of the window (UTC, inclusive), `YYYY-MM-DD`.
    #[arg(long)]
    from: NaiveDate,
    /// Last day of the window (UTC, exclusive), `YYYY-MM-DD`.
    #[arg(long)]
    to: NaiveDate,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Settle the payments the provider settled and we still hold open (a lost webhook),
    /// through the same idempotent path as a webhook; amount mismatches are only reported.
    #[arg(long)]
    repair: bool,
    #[command(flatten)]
    stripe: super::stripe_args::StripeArgs,
}

pub async fn run(common: &Common, args: Args) -> anyhow::Result<()> {
    let provider = ProviderId::from_label(&args.provider)
        .ok_or_else(|| anyhow::anyhow!("unknown provider {:?}", args.provider))?;
    anyhow::ensure!(
        args.from < args.to,
        "--from ({}) must be before --to ({})",
        args.from,
        args.to
    );
    let adapter = match provider {
        ProviderId::Stripe => vendrome_server::commerce::stripe_provider(&args.stripe.config())?
            .ok_or_else(|| {
                anyhow::anyhow!("stripe is not configured: set VENDROME_STRIPE_SECRET_KEY")
            })?,
        ProviderId::Sandbox => anyhow::bail!(
            "the sandbox keeps no settlement records outside the serving process: nothing to reconcile"
        ),
        other => {
            anyhow::ensure!(
                vendrome_payments::providers::has_settlement_listing(other),
                "{other} publishes no settlement listing: nothing to reconcile against"
            );
            let settings = vendrome_payments::providers::settings::from_env()
                .into_iter()
                .find(|s| s.provider() == other)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{other} is not configured: set its VENDROME_{}_* variables",
                        other.as_str().to_ascii_uppercase()
                    )
                })?;
            vendrome_payments::providers::build(&settings).map_err(|e| anyhow::anyhow!("{other}: {e}"))?
        }
    };
    let store = Arc::new(super::open_migrated_store(common).await?);
    let ports = Ports {
        payments: store.clone(),
        orders: store.clone(),
        inbox: store.clone(),
        ledger: store.clone(),
        reconciliation: store.clone(),
    };
    let payments = Payments::new(ports, vec![adapter]);
    let start =
        |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"));
    let bar = output::progress(0, "comparing settled transactions with the ledger");
    let outcome = payments
        .reconcile(provider, start(args.from), start(args.to), &|p| {
            bar.set_length(p.total);
            bar.set_position(p.done);
        })
        .await?;
    bar.finish_and_clear();
    let report = match outcome {
        ReconcileOutcome::Ran(report) => report,
        ReconcileOutcome::AlreadyDone => {
            println!("this window was already reconciled clean, or is being reconciled elsewhere");
            return Ok(());
        }
    };
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    let repaired = if args.repair {
        payments.repair(&report).await?
    } else {
        Vec::new()
    };
    if common.json {
        if args.repair {
            output::json(&serde_json::json!({ "report": report, "repaired": repaired }))?;
        } else {
            output::json(&report)?;
        }
    } else {
        print_table(&report);
        for r in &repaired {
            println!(
                "  repaired             {} (payment {}) {}",
                r.reference, r.payment_id, r.amount
            );
        }
    }
    if report.discrepancies.len() == repaired.len() {
        Ok(())
    } else {
        Err(Exit::new(3, "reconciliation found discrepancies").into())
    }
}

fn print_table(report: &vendrome_payments::ReconciliationReport) {
    let count =
        |kind: fn(&Discrepancy) -> bool| report.discrepancies.iter().filter(|d| kind(d)).count();
    println!(
        "run {} · {} · {} to {}",
        report.run_id,
        report.provider.as_str(),
        report.from,
        report.to
    );
    println!("{:<22} {:>8}", "outcome", "count");
    println!("{:<22} {:>8}", "matched", report.matched.len());
    println!(
        "{:<22} {:>8}",
        "missing in ledger",
        count(|d| matches!(d, Discrepancy::MissingInLedger { .. }))
    );
    println!(
        "{:<22} {:>8}",
        "missing at provider",
        count(|d| matches!(d, Discrepancy::MissingAtProvider { .. }))
    );
    println!(
        "{:<22} {:>8}",
        "amount mismatch",
        count(|d| matches!(d, Discrepancy::AmountMismatch { .. }))
    );
    for d in &report.discrepancies {
        match d {
            Discrepancy::MissingInLedger { reference, amount } => {
                println!("  missing in ledger    {reference} {amount}");
            }
            Discrepancy::MissingAtProvider {
                reference,
                payment_id,
                amount,
            } => {
                println!("  missing at provider  {reference} (payment {payment_id}) {amount}");
            }
            Discrepancy::AmountMismatch {
                reference,
                payment_id,
                ledger,
                provider,
            } => {
                println!("  amount mismatch      {reference} (payment {payment_id}) ledger {ledger}, provider {provider}");
            }
        }
    }
}
