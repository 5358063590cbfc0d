//! `vendrome seed synthetic` on both stores: every post type, exact counters, ids made from
//! creation times, the same network from the same seed, and a refusal to seed twice.

use std::process::Command;

use vendrome_core::users::{Email, Handle};
use vendrome_store::testing::{self, TestStore};
use vendrome_store::Db;

fn seed(url: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args([
            "--database-url",
            url,
            "seed",
            "synthetic",
            "--users",
            "300",
            "--posts",
            "3000",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

/// Runs a query that answers one integer.
async fn scalar(db: &TestStore, sql: &str) -> i64 {
    match db.store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

const CHECKS: [(&str, &str); 6] = [
    ("post types present", "SELECT COUNT(DISTINCT post_type) FROM posts"),
    (
        "posts whose counters differ from their rows",
        "SELECT COUNT(*) FROM posts p WHERE reaction_count <> (SELECT COUNT(*) FROM post_reactions r WHERE r.post_id = p.id) \
         OR comment_count <> (SELECT COUNT(*) FROM post_comments c WHERE c.post_id = p.id) \
         OR repost_count <> (SELECT COUNT(*) FROM post_reposts r WHERE r.post_id = p.id) \
         OR bookmark_count <> (SELECT COUNT(*) FROM bookmarks b WHERE b.post_id = p.id)",
    ),
    (
        "topics whose counters differ from their rows",
        "SELECT COUNT(*) FROM topics t WHERE post_count <> (SELECT COUNT(*) FROM post_topics pt WHERE pt.topic_id = t.id) \
         OR follower_count <> (SELECT COUNT(*) FROM user_topic_follows f WHERE f.topic_id = t.id)",
    ),
    (
        "typed posts without their payload row",
        "SELECT COUNT(*) FROM posts p WHERE post_type <> 'text' AND NOT EXISTS (SELECT 1 FROM post_products x WHERE x.post_id = p.id) \
         AND NOT EXISTS (SELECT 1 FROM post_services x WHERE x.post_id = p.id) AND NOT EXISTS (SELECT 1 FROM post_crowdfunding x WHERE x.post_id = p.id) \
         AND NOT EXISTS (SELECT 1 FROM post_investment_offers x WHERE x.post_id = p.id) AND NOT EXISTS (SELECT 1 FROM post_investment_requests x WHERE x.post_id = p.id) \
         AND NOT EXISTS (SELECT 1 FROM post_mentorship_requests x WHERE x.post_id = p.id)",
    ),
    (
        "topic links whose time is not their post's",
        "SELECT COUNT(*) FROM post_topics pt JOIN posts p ON p.id = pt.post_id WHERE pt.created_at <> p.created_at",
    ),
    ("outbox events", "SELECT COUNT(*) FROM outbox_events"),
];

async fn check(db: &TestStore) -> Vec<i64> {
    let out = seed(&db.url, &["--seed", "7"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut results = Vec::new();
    for (what, sql) in CHECKS {
        let n = scalar(db, sql).await;
        let expected = if what == "post types present" { 7 } else { 0 };
        assert_eq!(n, expected, "{what}");
        results.push(n);
    }
    // Every member reads back: handles and emails are ones the domain accepts.
    let members: Vec<(String, String)> = match db.store.db() {
        Db::Postgres(pool) => sqlx::query_as("SELECT handle, email FROM users")
            .fetch_all(pool)
            .await
            .unwrap(),
        Db::Sqlite(pool) => sqlx::query_as("SELECT handle, email FROM users")
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    assert_eq!(members.len(), 300);
    for (handle, email) in &members {
        let parsed = Handle::parse(handle).unwrap_or_else(|e| panic!("{handle}: {e:?}"));
        assert_eq!(parsed.as_str(), handle);
        Email::parse(email).unwrap_or_else(|e| panic!("{email}: {e:?}"));
    }
    // Post ids are UUIDv7 of their creation time (to the millisecond).
    let pairs: Vec<(uuid::Uuid, chrono::DateTime<chrono::Utc>)> = match db.store.db() {
        Db::Postgres(pool) => sqlx::query_as("SELECT id, created_at FROM posts")
            .fetch_all(pool)
            .await
            .unwrap(),
        Db::Sqlite(pool) => sqlx::query_as("SELECT id, created_at FROM posts")
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    for (id, at) in &pairs {
        let (secs, nanos) = id.get_timestamp().expect("a v7 id").to_unix();
        assert_eq!(
            secs as i64 * 1000 + i64::from(nanos / 1_000_000),
            at.timestamp_millis()
        );
    }
    // Row counts, for comparing two runs.
    for table in [
        "users",
        "user_follows",
        "connections",
        "posts",
        "post_topics",
        "post_reactions",
        "post_comments",
    ] {
        results.push(scalar(db, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    let again = seed(&db.url, &["--seed", "7"]);
    assert!(!again.status.success(), "a second load must refuse");
    assert!(String::from_utf8_lossy(&again.stderr).contains("synthetic members"));
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_network_is_consistent_and_deterministic() {
    let a = testing::sqlite().await;
    let b = testing::sqlite().await;
    let first = check(&a).await;
    assert_eq!(
        first,
        check(&b).await,
        "the same seed makes the same network"
    );
    if let Some(pg) = testing::postgres().await {
        assert_eq!(check(&pg).await, first, "PostgreSQL gets the same network");
    }
}
