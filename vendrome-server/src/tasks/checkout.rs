//! Checkout's background work: order expiry, the expiry of unpaid bookings, auto-completion, the completer of abandoned payment
//! attempts, the daily reconciliation per configured provider, and the fold of the ledger's
//! balance moves. Every one is safe on several
//! instances at once: each move is a compare-and-set the store applies once, attempts are
//! claimed under a lease, and a reconciliation window runs once (see each task).
//!
//! Each loop reads its pace and the time from a [`Schedule`]: `serve` runs them on the wall
//! clock at the intervals below; tests run the same loops with a clock set ahead (an order
//! already past its expiry) and short intervals, and wait for the outcome in the store.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DurationRound as _, TimeDelta};
use tokio::sync::watch;
use vendrome_core::enums::PaymentProvider;
use vendrome_core::time::Timestamp;
use vendrome_core::SqlEnum as _;
use vendrome_payments::{Clock, ReconcileOutcome};

use crate::state::AppState;

/// How often unpaid orders past their expiry are looked for.
const EXPIRE_EVERY: Duration = Duration::from_secs(30);
/// How often orders fulfilled 14 days ago are looked for.
const AUTO_COMPLETE_EVERY: Duration = Duration::from_secs(3600);
/// How often abandoned payment attempts are looked for.
const COMPLETER_EVERY: Duration = Duration::from_secs(30);
/// How often the reconciler checks whether yesterday has been reconciled.
const RECONCILE_EVERY: Duration = Duration::from_secs(3600);
/// Orders moved per store call.
const BATCH: u32 = 100;
/// How often the balance moves postings appended are folded into the accounts' balances.
const FOLD_EVERY: Duration = Duration::from_secs(1);
/// Balance moves folded per transaction.
const FOLD_BATCH: u32 = 10_000;

/// When checkout's tasks make a pass, and what time they take it to be.
#[derive(Clone)]
pub struct Schedule {
    /// Between two passes of [`expire_orders`] (and of [`expire_bookings`] and
    /// [`settle_campaigns`]).
    pub expire_every: Duration,
    /// Between two passes of [`auto_complete_orders`].
    pub auto_complete_every: Duration,
    /// Between two passes of [`complete_abandoned`].
    pub completer_every: Duration,
    /// Between two passes of [`reconcile_daily`].
    pub reconcile_every: Duration,
    /// Between two passes of [`fold_ledger_balances`].
    pub fold_every: Duration,
    /// The time each pass works with ([`vendrome_core::time::now`] in `serve`).
    pub clock: Clock,
}

impl Default for Schedule {
    /// The pace `vendrome serve` runs at, on the wall clock.
    fn default() -> Self {
        Self {
            expire_every: EXPIRE_EVERY,
            auto_complete_every: AUTO_COMPLETE_EVERY,
            completer_every: COMPLETER_EVERY,
            reconcile_every: RECONCILE_EVERY,
            fold_every: FOLD_EVERY,
            clock: Arc::new(vendrome_core::time::now),
        }
    }
}

impl Schedule {
    /// Every task passing every `every`, on `clock`.
    pub fn every(every: Duration, clock: Clock) -> Self {
        Self {
            expire_every: every,
            auto_complete_every: every,
            completer_every: every,
            reconcile_every: every,
            fold_every: every,
            clock,
        }
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }
}

/// Waits `pause` or until the stop signal; `false` when stopping.
async fn pause(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => {}
        _ = stop.changed() => {}
    }
    !*stop.borrow()
}

/// Folds the balance moves postings appended into the accounts' stored balances
/// (`LedgerRepo::fold_balances`), so that they stay few. Balances read the same before and
/// after a fold. Safe on several instances: each fold deletes the moves it adds, in one
/// transaction, and skips those another fold is taking.
pub async fn fold_ledger_balances(
    state: AppState,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) {
    use vendrome_core::ledger::LedgerRepo as _;
    loop {
        loop {
            match state.store.fold_balances(FOLD_BATCH).await {
                Ok(folded) if folded < u64::from(FOLD_BATCH) => break,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "folding ledger balances failed");
                    break;
                }
            }
        }
        if !pause(&mut stop, schedule.fold_every).await {
            return;
        }
    }
}

/// Cancels unpaid orders past their expiry, giving their stock back. Safe on several instances:
/// the move is a compare-and-set from `pending_payment`, so the stock is given back once
/// whichever instance (or payment) gets there first.
pub async fn expire_orders(state: AppState, schedule: Schedule, mut stop: watch::Receiver<bool>) {
    loop {
        loop {
            match state.orders.expire_due(schedule.now(), BATCH).await {
                Ok(moved) => {
                    if moved > 0 {
                        metrics::counter!("vendrome_orders_expired_total").increment(moved as u64);
                    }
                    if moved < BATCH as usize {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "order expiry pass failed");
                    break;
                }
            }
        }
        if !pause(&mut stop, schedule.expire_every).await {
            return;
        }
    }
}

/// Cancels bookings still awaiting payment past their payment window, freeing their slots. Safe
/// on several instances: the move is a compare-and-set from `awaiting_payment`, so whichever
/// instance (or the payment's settlement) gets there first moves it, once.
pub async fn expire_bookings(state: AppState, schedule: Schedule, mut stop: watch::Receiver<bool>) {
    loop {
        loop {
            match state.bookings.expire_due(schedule.now(), BATCH).await {
                Ok(moved) => {
                    if moved > 0 {
                        metrics::counter!("vendrome_bookings_expired_total")
                            .increment(moved as u64);
                    }
                    if moved < BATCH as usize {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "booking expiry pass failed");
                    break;
                }
            }
        }
        if !pause(&mut stop, schedule.expire_every).await {
            return;
        }
    }
}

/// Starts scheduled campaigns whose start came and completes running ones whose end passed
/// (their unspent budget released). Safe on several instances: each move is a compare-and-set.
pub async fn advance_campaigns(
    state: AppState,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match state.marketing.advance_due(schedule.now()).await {
            Ok(moved) => {
                if moved > 0 {
                    metrics::counter!("vendrome_campaigns_moved_total").increment(moved);
                    if let Some(delivery) = &state.delivery {
                        delivery.invalidate();
                    }
                }
            }
            Err(error) => tracing::warn!(error = %error, "campaign clock pass failed"),
        }
        if !pause(&mut stop, schedule.expire_every).await {
            return;
        }
    }
}

/// Settles investment campaigns past their deadline: releases the escrow of those that reached
/// their goal (or keep what they raised) to the founder less the platform's fee, refunds every
/// backer of the others (and of cancelled campaigns). Safe on several instances: a settler
/// leases one campaign at a time, the decision is a compare-and-set only one passes, and every
/// refund is keyed by its commitment.
pub async fn settle_campaigns(
    state: AppState,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match state.payments.settle_campaigns(schedule.now()).await {
            Ok(report) if report.decided + report.refunds + report.finished > 0 => {
                tracing::info!(?report, "settled investment campaigns")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "campaign settlement pass failed"),
        }
        if !pause(&mut stop, schedule.expire_every).await {
            return;
        }
    }
}

/// Completes orders fulfilled more than 14 days ago that the buyer did not complete. Safe on
/// several instances for the same reason as [`expire_orders`].
pub async fn auto_complete_orders(
    state: AppState,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match state.orders.complete_due(schedule.now(), BATCH).await {
            Ok(moved) if moved > 0 => {
                tracing::info!(moved, "completed orders fulfilled 14 days ago")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "order auto-completion pass failed"),
        }
        if !pause(&mut stop, schedule.auto_complete_every).await {
            return;
        }
    }
}

/// Finishes payment attempts abandoned for more than a minute (a crash between recovery points,
/// a provider that timed out). Safe on several instances: each attempt is claimed under a lease,
/// and settling it is written once per payment.
pub async fn complete_abandoned(
    state: AppState,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match state.payments.complete_abandoned(schedule.now()).await {
            Ok(report) => tracing::debug!(?report, "payment completer pass"),
            Err(error) => tracing::warn!(error = %error, "payment completer pass failed"),
        }
        if !pause(&mut stop, schedule.completer_every).await {
            return;
        }
    }
}

/// Reconciles yesterday (UTC) for every configured provider that lists its settlements (not the
/// sandbox, Yoco, Peach or Ozow), checking hourly.
/// Safe on several instances: a provider's window runs once (a run that is running or finished
/// clean is not started again), so only a failed or discrepant run is tried again.
pub async fn reconcile_daily(state: AppState, schedule: Schedule, mut stop: watch::Receiver<bool>) {
    let providers: Vec<PaymentProvider> = PaymentProvider::ALL
        .iter()
        .copied()
        .filter(|p| {
            vendrome_payments::providers::has_settlement_listing(*p)
                && state.payments.provider(*p).is_some()
        })
        .collect();
    if providers.is_empty() {
        return;
    }
    loop {
        let now = schedule.now();
        let to = now.duration_trunc(TimeDelta::days(1)).unwrap_or(now);
        let from = to - TimeDelta::days(1);
        for provider in &providers {
            match state.payments.reconcile(*provider, from, to, &|_| {}).await {
                Ok(ReconcileOutcome::AlreadyDone) => {}
                Ok(ReconcileOutcome::Ran(report)) => tracing::info!(
                    provider = provider.as_str(),
                    run = %report.run_id,
                    matched = report.matched.len(),
                    discrepancies = report.discrepancies.len(),
                    "reconciled yesterday"
                ),
                Err(error) => tracing::warn!(
                    provider = provider.as_str(),
                    error = %error,
                    "reconciliation failed"
                ),
            }
        }
        if !pause(&mut stop, schedule.reconcile_every).await {
            return;
        }
    }
}
