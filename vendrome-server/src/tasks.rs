//! Background work inside `vendrome serve`: the outbox relay, the realtime router and typing
//! sweeper, the trending lists, the search indexer, the home-feed cache, the idempotency-key
//! purge, the calendar sync queue's worker ([`calendar`]), and checkout's tasks ([`checkout`]: order expiry and auto-completion, the completer of
//! abandoned payment attempts, daily reconciliation, the ledger's balance fold). Each runs until the stop signal; all are
//! safe with several instances on one database.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vendrome_core::outbox::{OutboxRepo, Relay, RelayConfig};

use crate::state::AppState;

pub mod calendar;
pub mod checkout;

/// How often an idle relay looks for new events.
const RELAY_POLL: Duration = Duration::from_millis(250);
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the background tasks.
pub fn spawn(state: &AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let store = Arc::new(state.store.clone());
    let relay = Relay::new(
        RelayConfig::new(owner),
        store.clone(),
        Arc::new(state.bus.clone()),
    );
    // Subscribed before the relay starts, so no event published from now on is missed.
    let events = state.bus.subscribe();
    let schedule = checkout::Schedule::default();
    vec![
        tokio::spawn(crate::realtime::router::run(
            state.clone(),
            events,
            stop.clone(),
        )),
        tokio::spawn(crate::realtime::typing::sweep(
            state.realtime.clone(),
            stop.clone(),
        )),
        tokio::spawn(run_relay(
            relay,
            store,
            state.relay_wake.clone(),
            stop.clone(),
        )),
        tokio::spawn(score_trending(state.clone(), stop.clone())),
        tokio::spawn(index_search(state.clone(), stop.clone())),
        tokio::spawn(follow_home_feeds(state.clone(), stop.clone())),
        tokio::spawn(checkout::expire_orders(
            state.clone(),
            schedule.clone(),
            stop.clone(),
        )),
        tokio::spawn(checkout::advance_campaigns(
            state.clone(),
            schedule.clone(),
            stop.clone(),
        )),
        tokio::spawn(checkout::expire_bookings(
            state.clone(),
            schedule.clone(),
            stop.clone(),
        )),
        tokio::spawn(checkout::settle_campaigns(
            state.clone(),
            schedule.clone(),
            stop.clone(),
        )),
        tokio::spawn(checkout::auto_complete_orders(
            state.clone(),
            schedule.clone(),
            stop.clone(),
        )),
        tokio::spawn(checkout::complete_abandoned(
            state.clone(),
            schedule.clone(),
            stop.clone(),
        )),
        tokio::spawn(checkout::reconcile_daily(
            state.clone(),
            schedule.clone(),
            stop.clone(),
        )),
        tokio::spawn(checkout::fold_ledger_balances(
            state.clone(),
            schedule,
            stop.clone(),
        )),
        tokio::spawn(calendar::sync_calendars(
            state.clone(),
            Arc::new(vendrome_core::time::now),
            stop.clone(),
        )),
        tokio::spawn(purge_keys(state.clone(), stop)),
    ]
}

/// Members whose windows are read per query when the home-feed cache starts.
const PRELOAD_PAGE: u32 = 1_000;

/// Applies the outbox to the home-feed cache: changes made through other instances (or by the
/// CLI) reach it within one poll; those made here are applied by the next read at the latest.
async fn follow_home_feeds(state: AppState, mut stop: watch::Receiver<bool>) {
    if state.home_cache.config().members == 0 {
        return;
    }
    // Every member's circle and source windows, so that first reads find them; on a task of
    // its own, so that the outbox keeps being applied meanwhile (a page of members read across
    // a change is not kept: those members are read on demand).
    let cache = Arc::clone(&state.home_cache);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match cache.preload(PRELOAD_PAGE).await {
            Ok((entries, windows)) => {
                tracing::info!(
                    entries,
                    windows,
                    circles = cache.circles_kept(),
                    seconds = started.elapsed().as_secs_f64(),
                    "home-feed circles and source windows read"
                );
                metrics::gauge!("vendrome_home_cache_preloaded").set(1.0);
            }
            Err(error) => {
                tracing::warn!(error = %error, "reading the home-feed source windows failed");
            }
        }
    });
    while !*stop.borrow() {
        let pause = match state.home_cache.pass().await {
            Ok(_) => {
                report_home_cache(&state.home_cache);
                RELAY_POLL
            }
            Err(error) => {
                tracing::warn!(error = %error, "home-feed cache pass failed");
                Duration::from_secs(2)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}

fn report_home_cache(cache: &vendrome_core::posts::home_cache::HomeCache) {
    let stats = cache.stats();
    let (members, posts) = cache.size();
    metrics::gauge!("vendrome_home_cache_members").set(members as f64);
    metrics::gauge!("vendrome_home_cache_posts").set(posts as f64);
    metrics::counter!("vendrome_home_cache_pages_total").absolute(stats.pages);
    metrics::counter!("vendrome_home_cache_deep_pages_total").absolute(stats.deep_pages);
    metrics::counter!("vendrome_home_cache_timelines_read_total").absolute(stats.timelines_read);
    metrics::counter!("vendrome_home_cache_posts_read_total").absolute(stats.posts_read);
    metrics::counter!("vendrome_home_cache_cards_read_total").absolute(stats.cards_read);
    metrics::counter!("vendrome_home_cache_events_total").absolute(stats.events);
    metrics::counter!("vendrome_home_cache_assembled_total").absolute(stats.assembled);
    metrics::counter!("vendrome_home_cache_windows_read_total").absolute(stats.windows_read);
    let (entries, windows) = cache.sources_size();
    metrics::gauge!("vendrome_home_cache_source_entries").set(entries as f64);
    metrics::gauge!("vendrome_home_cache_source_windows").set(windows as f64);
}

/// Keeps the embedded search index (when it is the engine) up to date with the outbox.
async fn index_search(state: AppState, stop: watch::Receiver<bool>) {
    let Some((index, location)) = state.search_index.clone() else {
        return;
    };
    let store = Arc::new(state.store.clone());
    let mut delay = Duration::from_secs(1);
    loop {
        let started = vendrome_search::Indexer::start(
            index.clone(),
            location.clone(),
            store.clone(),
            store.clone(),
            vendrome_search::IndexerConfig::default(),
        )
        .await;
        match started {
            Ok(indexer) => return indexer.run(state.search_wake.clone(), stop).await,
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "search index unavailable; retrying");
                if *stop.borrow() {
                    return;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn run_relay<B: vendrome_core::outbox::EventBus + ?Sized>(
    relay: Relay<vendrome_store::Store, B>,
    store: Arc<vendrome_store::Store>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_backlog_report = std::time::Instant::now() - Duration::from_secs(60);
    while !*stop.borrow() {
        let pause = match relay.run_once().await {
            Ok(pass) => {
                if pass.published > 0 {
                    metrics::counter!("outbox_events_published_total").increment(pass.published);
                }
                if pass.failed > 0 {
                    metrics::counter!("outbox_publish_failures_total").increment(pass.failed);
                }
                // A full batch means more are waiting: go again at once.
                if pass.published >= u64::from(relay.config().batch_size) {
                    Duration::ZERO
                } else {
                    RELAY_POLL
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "outbox relay pass failed");
                Duration::from_secs(2)
            }
        };
        if last_backlog_report.elapsed() >= Duration::from_secs(5) {
            last_backlog_report = std::time::Instant::now();
            if let Ok(backlog) = store.backlog().await {
                metrics::gauge!("outbox_pending_events").set(backlog.pending as f64);
                metrics::gauge!("outbox_oldest_pending_age_seconds")
                    .set(backlog.oldest_age_seconds);
            }
        }
        if !pause.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// How often the trending lists are scored again.
const TRENDING_EVERY: Duration = Duration::from_secs(60);

/// Scores the trending lists now and then every minute.
async fn score_trending(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let started = std::time::Instant::now();
        match state.trending.refresh(vendrome_core::time::now()).await {
            Ok(()) => metrics::histogram!("trending_refresh_seconds")
                .record(started.elapsed().as_secs_f64()),
            Err(error) => tracing::warn!(error = %error, "scoring trending failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TRENDING_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn purge_keys(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        match state
            .idempotency
            .purge_expired(vendrome_core::time::now())
            .await
        {
            Ok(purged) if purged > 0 => tracing::info!(purged, "purged expired idempotency keys"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "idempotency key purge failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PURGE_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}
