//! Domain events as stored: rows the store wrote before payloads carried a version read back
//! typed, new rows carry their version, and a row this version cannot read is retried by the
//! relay instead of being published.

use std::sync::Arc;

use serde_json::{json, Value};
use sqlx::types::Json;
use vendrome_core::events::{DomainEvent, MessageCreated, UserBlocked};
use vendrome_core::ids::{ConversationId, EventId, MessageId, UserId};
use vendrome_core::outbox::{OutboxRepo as _, Relay, RelayConfig};
use vendrome_store::{Db, Store};

use crate::outbox::{step_event, RecordingBus};

conformance!(
    rows_written_before_versioning_read_back_typed,
    new_rows_carry_their_type_aggregate_and_version,
    an_unreadable_row_is_retried_not_published
);

/// Inserts an outbox row as an older (or newer) version of the store would have.
async fn insert_row(store: &Store, event_type: &str, aggregate: (&str, &str), payload: Value) {
    let sql = "INSERT INTO outbox_events \
        (event_id, event_type, aggregate_type, aggregate_id, payload, status, attempts, available_at, created_at) \
        VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)";
    let now = vendrome_core::time::now();
    let id = EventId::new().as_uuid();
    match store.db() {
        Db::Postgres(pool) => sqlx::query(sql)
            .bind(id)
            .bind(event_type)
            .bind(aggregate.0)
            .bind(aggregate.1)
            .bind(Json(payload))
            .bind(now)
            .execute(pool)
            .await
            .map(drop),
        Db::Sqlite(pool) => sqlx::query(sql)
            .bind(id)
            .bind(event_type)
            .bind(aggregate.0)
            .bind(aggregate.1)
            .bind(Json(payload))
            .bind(now)
            .execute(pool)
            .await
            .map(drop),
    }
    .unwrap();
}

async fn stored_row(store: &Store, seq: i64) -> (String, String, String, Value) {
    let sql =
        "SELECT event_type, aggregate_type, aggregate_id, payload FROM outbox_events WHERE id = $1";
    let (t, kind, id, Json(payload)): (String, String, String, Json<Value>) = match store.db() {
        Db::Postgres(pool) => sqlx::query_as(sql).bind(seq).fetch_one(pool).await,
        Db::Sqlite(pool) => sqlx::query_as(sql).bind(seq).fetch_one(pool).await,
    }
    .unwrap();
    (t, kind, id, payload)
}

async fn rows_written_before_versioning_read_back_typed(store: Store) {
    let (blocker, blocked) = (UserId::new(), UserId::new());
    let (conversation, message) = (ConversationId::new(), MessageId::new());
    insert_row(
        &store,
        "user.blocked",
        ("user", &blocker.to_string()),
        json!({ "blocker_id": blocker, "blocked_id": blocked, "follows_ended": 2, "connection_ended": true, "requests_cancelled": 1 }),
    )
    .await;
    insert_row(
        &store,
        "message.created",
        ("conversation", &conversation.to_string()),
        json!({ "conversation_id": conversation, "message_id": message, "sender_id": blocker }),
    )
    .await;
    let events: Vec<DomainEvent> = store
        .events_after(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.unwrap())
        .collect();
    assert_eq!(
        events,
        [
            DomainEvent::UserBlocked(UserBlocked {
                blocker_id: blocker,
                blocked_id: blocked,
                follows_ended: 2,
                connection_ended: true,
                requests_cancelled: 1,
            }),
            DomainEvent::MessageCreated(MessageCreated {
                conversation_id: conversation,
                message_id: message,
                sender_id: blocker,
            }),
        ]
    );
}

async fn new_rows_carry_their_type_aggregate_and_version(store: Store) {
    store.append(step_event("new_feed", 40)).await.unwrap();
    let seq = store.last_seq().await.unwrap();
    let (event_type, kind, id, payload) = stored_row(&store, seq).await;
    assert_eq!(
        (event_type.as_str(), kind.as_str(), id.as_str()),
        ("flag.updated", "flag", "new_feed")
    );
    assert_eq!(
        payload,
        json!({ "v": 1, "name": "new_feed", "enabled": true, "rollout_percent": 40 })
    );
}

async fn an_unreadable_row_is_retried_not_published(store: Store) {
    // Written by a newer version: a type this one does not know, and a newer schema version.
    insert_row(
        &store,
        "order.placed",
        ("order", "o1"),
        json!({ "v": 1, "order_id": "o1" }),
    )
    .await;
    insert_row(
        &store,
        "flag.updated",
        ("flag", "f1"),
        json!({ "v": 9, "name": "f1", "enabled": true, "rollout_percent": 1 }),
    )
    .await;
    store.append(step_event("readable", 3)).await.unwrap();

    let read = store.events_after(0, 10).await.unwrap();
    let unreadable: Vec<String> = read
        .iter()
        .filter_map(|e| e.event.as_ref().err().map(|u| u.reason.clone()))
        .collect();
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    assert_eq!(unreadable[0], "unknown event type");
    assert!(unreadable[1].contains("newer"), "{}", unreadable[1]);
    assert_eq!(read[0].event_type(), "order.placed");

    let bus = Arc::new(RecordingBus::default());
    let mut config = RelayConfig::new("r");
    config.base_backoff = std::time::Duration::from_secs(60);
    let relay = Relay::new(config, Arc::new(store.clone()), bus.clone());
    for _ in 0..3 {
        relay.run_once().await.unwrap();
    }
    let published: Vec<&'static str> = bus
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.event.event_type())
        .collect();
    assert_eq!(
        published,
        ["flag.updated"],
        "only the readable event goes out"
    );
    assert_eq!(
        store.backlog().await.unwrap().pending,
        2,
        "the unreadable rows wait for a version that reads them"
    );
    let error: Option<String> = {
        let sql = "SELECT last_error FROM outbox_events WHERE event_type = 'order.placed'";
        match store.db() {
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap()
    };
    assert!(error.unwrap().contains("unknown event type"));
}
