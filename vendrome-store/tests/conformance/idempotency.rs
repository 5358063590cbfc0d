use std::sync::Arc;

use vendrome_core::idempotency::{
    Begin, Fingerprint, IdempotencyKey, IdempotencyRepo, KeyScope, StoredResponse, IN_FLIGHT_LOCK,
};
use vendrome_core::ids::UserId;
use vendrome_core::time;
use vendrome_store::Store;

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::parse(k).unwrap()
}

fn body(status: u16) -> StoredResponse {
    StoredResponse {
        status,
        body: br#"{"data":{"id":1}}"#.to_vec(),
    }
}

conformance!(
    replays_completed_requests,
    refuses_mismatch_and_in_flight,
    exactly_one_of_concurrent_requests_starts,
    expired_and_abandoned_keys_start_again,
    released_keys_run_again
);

async fn replays_completed_requests(store: Store) {
    let scope = KeyScope::user(UserId::new());
    let fp = Fingerprint::of("POST", "/v1/things", b"{}");
    let now = time::now();
    assert_eq!(
        store
            .begin(&scope, &key("k1"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
    store
        .complete(&scope, &key("k1"), &body(201))
        .await
        .unwrap();
    assert_eq!(
        store
            .begin(&scope, &key("k1"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Replay(body(201))
    );
    // Another caller's identical key is another request.
    let other = KeyScope::user(UserId::new());
    assert_eq!(
        store
            .begin(&other, &key("k1"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
}

async fn refuses_mismatch_and_in_flight(store: Store) {
    let scope = KeyScope::anonymous("198.51.100.1");
    let fp = Fingerprint::of("POST", "/v1/things", b"{\"a\":1}");
    let other_body = Fingerprint::of("POST", "/v1/things", b"{\"a\":2}");
    let now = time::now();
    assert_eq!(
        store
            .begin(&scope, &key("k"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
    assert_eq!(
        store
            .begin(&scope, &key("k"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::InProgress
    );
    assert_eq!(
        store
            .begin(&scope, &key("k"), &other_body, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Mismatch
    );
    store.complete(&scope, &key("k"), &body(200)).await.unwrap();
    assert_eq!(
        store
            .begin(&scope, &key("k"), &other_body, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Mismatch
    );
}

async fn exactly_one_of_concurrent_requests_starts(store: Store) {
    let scope = KeyScope::user(UserId::new());
    let fp = Fingerprint::of("POST", "/v1/messages", b"hello");
    let now = time::now();
    let store = Arc::new(store);
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let (store, scope, fp) = (store.clone(), scope.clone(), fp.clone());
            tokio::spawn(async move {
                store
                    .begin(&scope, &key("race"), &fp, now, IN_FLIGHT_LOCK)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.unwrap());
    }
    let started = outcomes.iter().filter(|o| **o == Begin::Started).count();
    let waiting = outcomes.iter().filter(|o| **o == Begin::InProgress).count();
    assert_eq!((started, waiting), (1, 15), "{outcomes:?}");
}

async fn expired_and_abandoned_keys_start_again(store: Store) {
    let scope = KeyScope::user(UserId::new());
    let fp = Fingerprint::of("POST", "/v1/x", b"");
    let now = time::now();
    assert_eq!(
        store
            .begin(&scope, &key("crash"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
    // The holder died: after the in-flight lock runs out, a retry takes the key over, once.
    let later = now + chrono::Duration::seconds(61);
    assert_eq!(
        store
            .begin(&scope, &key("crash"), &fp, later, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
    assert_eq!(
        store
            .begin(&scope, &key("crash"), &fp, later, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::InProgress
    );

    // A server with a shorter deadline holds its keys for less: the lock it asked for.
    let short = std::time::Duration::from_secs(6);
    assert_eq!(
        store
            .begin(&scope, &key("short"), &fp, now, short)
            .await
            .unwrap(),
        Begin::Started
    );
    for (after, expected) in [(5, Begin::InProgress), (7, Begin::Started)] {
        let at = now + chrono::Duration::seconds(after);
        assert_eq!(
            store
                .begin(&scope, &key("short"), &fp, at, short)
                .await
                .unwrap(),
            expected,
            "{after} s after the first"
        );
    }

    assert_eq!(
        store
            .begin(&scope, &key("old"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
    store
        .complete(&scope, &key("old"), &body(200))
        .await
        .unwrap();
    let next_day = now + chrono::Duration::hours(25);
    let different = Fingerprint::of("POST", "/v1/x", b"new");
    assert_eq!(
        store
            .begin(&scope, &key("old"), &different, next_day, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
    assert_eq!(
        store.purge_expired(next_day).await.unwrap(),
        2,
        "the abandoned keys (`crash`, `short`) expired too"
    );
}

async fn released_keys_run_again(store: Store) {
    let scope = KeyScope::user(UserId::new());
    let fp = Fingerprint::of("POST", "/v1/x", b"");
    let now = time::now();
    assert_eq!(
        store
            .begin(&scope, &key("k"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
    store.release(&scope, &key("k")).await.unwrap();
    assert_eq!(
        store
            .begin(&scope, &key("k"), &fp, now, IN_FLIGHT_LOCK)
            .await
            .unwrap(),
        Begin::Started
    );
}
