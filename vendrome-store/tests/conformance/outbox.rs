use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use vendrome_core::events::{DomainEvent, FlagUpdated};
use vendrome_core::outbox::{EventBus, NewEvent, OutboxRepo, PublishedEvent, Relay, RelayConfig};
use vendrome_store::Store;

/// A bus that records what it was given, and fails while told to.
#[derive(Default)]
pub struct RecordingBus {
    pub seen: Mutex<Vec<PublishedEvent>>,
    pub failing: Mutex<bool>,
    /// Fails only the events of this aggregate.
    pub failing_aggregate: Mutex<Option<String>>,
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, event: &PublishedEvent) -> anyhow::Result<()> {
        let poisoned =
            self.failing_aggregate.lock().unwrap().as_deref() == Some(event.aggregate_id.as_str());
        if *self.failing.lock().unwrap() || poisoned {
            anyhow::bail!("the bus is down");
        }
        self.seen.lock().unwrap().push(event.clone());
        Ok(())
    }
}

/// An event about `aggregate` (a flag of that name) that carries `step`.
pub fn step_event(aggregate: &str, step: i16) -> NewEvent {
    NewEvent::new(DomainEvent::FlagUpdated(FlagUpdated {
        name: aggregate.to_owned(),
        enabled: true,
        rollout_percent: step,
    }))
}

/// The step an event carries.
pub fn step(event: &DomainEvent) -> i16 {
    match event {
        DomainEvent::FlagUpdated(flag) => flag.rollout_percent,
        other => panic!("not a step event: {other:?}"),
    }
}

async fn append(store: &Store, n: usize) {
    for i in 0..n {
        store
            .append(step_event(&format!("flag-{i}"), i as i16))
            .await
            .unwrap();
    }
}

fn relay(store: &Store, bus: &Arc<RecordingBus>, owner: &str) -> Relay<Store, RecordingBus> {
    let mut config = RelayConfig::new(owner);
    config.batch_size = 7;
    config.base_backoff = Duration::ZERO;
    config.max_attempts = 3;
    Relay::new(config, Arc::new(store.clone()), bus.clone())
}

conformance!(
    claims_in_order_and_leases_exclusively,
    relay_publishes_in_order_once,
    relay_retries_then_gives_up,
    a_failing_event_holds_back_only_its_own_aggregate
);

async fn a_failing_event_holds_back_only_its_own_aggregate(store: Store) {
    for (aggregate, step) in [("a", 1), ("b", 1), ("a", 2), ("b", 2)] {
        store.append(step_event(aggregate, step)).await.unwrap();
    }
    let bus = Arc::new(RecordingBus::default());
    *bus.failing_aggregate.lock().unwrap() = Some("a".into());
    let mut config = RelayConfig::new("r");
    config.base_backoff = Duration::from_secs(60);
    let relay = Relay::new(config, Arc::new(store.clone()), bus.clone());
    for _ in 0..3 {
        relay.run_once().await.unwrap();
    }
    let published: Vec<(String, i16)> = bus
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.aggregate_id.clone(), step(&e.event)))
        .collect();
    assert_eq!(
        published,
        vec![("b".to_owned(), 1), ("b".to_owned(), 2)],
        "b flows; a waits in order"
    );
    assert_eq!(store.backlog().await.unwrap().pending, 2);
}

async fn claims_in_order_and_leases_exclusively(store: Store) {
    append(&store, 5).await;
    let first = store.claim("a", 3, Duration::from_secs(30)).await.unwrap();
    let seqs: Vec<i64> = first.iter().map(|e| e.seq).collect();
    assert_eq!(first.len(), 3);
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {seqs:?}"
    );
    assert_eq!(step(first[0].event.as_ref().unwrap()), 0);

    let second = store.claim("b", 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        second.len(),
        2,
        "leased events are not handed to another relay"
    );

    assert_eq!(
        store.mark_published("b", &seqs).await.unwrap(),
        0,
        "only the lease holder may publish"
    );
    assert_eq!(store.mark_published("a", &seqs).await.unwrap(), 3);
    assert_eq!(store.backlog().await.unwrap().pending, 2);

    // An expired lease frees its events.
    store
        .release("b", &second.iter().map(|e| e.seq).collect::<Vec<_>>())
        .await
        .unwrap();
    let expired = store.claim("c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(expired.len(), 2);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        store
            .claim("d", 10, Duration::from_secs(30))
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn relay_publishes_in_order_once(store: Store) {
    append(&store, 20).await;
    let bus = Arc::new(RecordingBus::default());
    let relay = relay(&store, &bus, "solo");
    let mut total = 0;
    loop {
        let pass = relay.run_once().await.unwrap();
        if pass.published == 0 {
            break;
        }
        total += pass.published;
    }
    assert_eq!(total, 20);
    let order: Vec<i64> = bus.seen.lock().unwrap().iter().map(|e| e.seq).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "published in creation order");
    assert_eq!(store.backlog().await.unwrap().pending, 0);
}

async fn relay_retries_then_gives_up(store: Store) {
    append(&store, 3).await;
    let bus = Arc::new(RecordingBus::default());
    *bus.failing.lock().unwrap() = true;
    let relay = relay(&store, &bus, "flaky");
    for _ in 0..3 {
        let pass = relay.run_once().await.unwrap();
        assert_eq!((pass.published, pass.failed), (0, 1));
    }
    // The first event failed three times and is dead; the others are still pending, in order.
    assert_eq!(store.backlog().await.unwrap().pending, 2);
    *bus.failing.lock().unwrap() = false;
    relay.run_once().await.unwrap();
    let published: Vec<i16> = bus
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| step(&e.event))
        .collect();
    assert_eq!(published, vec![1, 2]);
}

/// Two relays with their own pools on one database, as two `vendrome serve` processes would
/// run: every event is published exactly once.
async fn two_relays_publish_each_event_once(first: Store, second: Store) {
    append(&first, 500).await;
    let bus = Arc::new(RecordingBus::default());
    let relays = [
        relay(&first, &bus, "relay-a"),
        relay(&second, &bus, "relay-b"),
    ];
    let tasks = relays.map(|relay| {
        tokio::spawn(async move {
            let mut idle = 0;
            while idle < 3 {
                let pass = relay.run_once().await.unwrap();
                if pass.published == 0 {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                } else {
                    idle = 0;
                }
            }
        })
    });
    for task in tasks {
        task.await.unwrap();
    }
    let seen = bus.seen.lock().unwrap().clone();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for event in seen.iter() {
        *counts.entry(event.seq).or_default() += 1;
    }
    assert_eq!(counts.len(), 500, "every event published");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    assert_eq!(first.backlog().await.unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relays_on_one_postgres_database() {
    let Some(db) = vendrome_store::testing::postgres().await else {
        return;
    };
    two_relays_publish_each_event_once(db.store.clone(), db.reopen().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relays_on_one_sqlite_database() {
    let db = vendrome_store::testing::sqlite().await;
    two_relays_publish_each_event_once(db.store.clone(), db.reopen().await).await;
}
