//! `vendrome seed fixtures` on both stores: every post type, every kind of social row and direct
//! messages, reviews and mentorships in every status, and a second run that changes nothing (row
//! counts, counters and outbox events alike).

use std::path::Path;
use std::process::Command;

use vendrome_store::testing::{self, TestStore};
use vendrome_store::Db;

const TABLES: [&str; 24] = [
    "users",
    "posts",
    "post_topics",
    "post_comments",
    "post_reactions",
    "post_reposts",
    "bookmarks",
    "connections",
    "user_follows",
    "user_topic_follows",
    "topics",
    "business_profiles",
    "conversations",
    "messages",
    "orders",
    "reviews",
    "rating_stats",
    "mentorship_relationships",
    "mentorship_goals",
    "mentorship_sessions",
    "mentorship_notes",
    "mentorship_feedback",
    "mentor_formats",
    "outbox_events",
];

fn seed(url: &str) -> serde_json::Value {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let out = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(["--database-url", url, "seed", "fixtures", "--json", "--dir"])
        .arg(fixtures)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn scalar(db: &TestStore, sql: &str) -> i64 {
    match db.store.db() {
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// Every table's rows, and the sum of every post's counters.
async fn census(db: &TestStore) -> Vec<i64> {
    let mut out = Vec::new();
    for table in TABLES {
        out.push(scalar(db, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    out.push(
        scalar(
            db,
            "SELECT CAST(COALESCE(SUM(reaction_count + comment_count + repost_count + bookmark_count), 0) AS BIGINT) FROM posts",
        )
        .await,
    );
    out
}

async fn twice(db: &TestStore) {
    let first = seed(&db.url);
    assert!(
        first["social"]["posts_created"].as_u64().unwrap() >= 7,
        "{first}"
    );
    let types = scalar(db, "SELECT COUNT(DISTINCT post_type) FROM posts").await;
    assert_eq!(types, 7, "every post type is in the fixtures");
    let after_first = census(db).await;
    for (table, rows) in TABLES.iter().zip(&after_first) {
        if *table != "business_profiles" {
            assert!(*rows > 0, "{table} is empty after seeding");
        }
    }
    let accepted = scalar(
        db,
        "SELECT COUNT(*) FROM connections WHERE status = 'accepted'",
    )
    .await;
    let pending = scalar(
        db,
        "SELECT COUNT(*) FROM connections WHERE status = 'pending'",
    )
    .await;
    assert!(
        accepted > 0 && pending > 0,
        "{accepted} accepted, {pending} pending"
    );
    let replies = scalar(
        db,
        "SELECT COUNT(*) FROM post_comments WHERE parent_id IS NOT NULL",
    )
    .await;
    assert!(replies > 0);
    let statuses = scalar(
        db,
        "SELECT COUNT(DISTINCT status) FROM mentorship_relationships",
    )
    .await;
    assert_eq!(statuses, 6, "a mentorship in every status");
    let replied = scalar(
        db,
        "SELECT COUNT(*) FROM reviews WHERE reply_body IS NOT NULL",
    )
    .await;
    assert!(replied > 0);

    let second = seed(&db.url);
    assert_eq!(second["social"]["posts_created"], 0, "{second}");
    assert_eq!(second["social"]["comments_created"], 0, "{second}");
    assert_eq!(second["social"]["connections_changed"], 0, "{second}");
    assert_eq!(
        census(db).await,
        after_first,
        "a second run changed rows ({TABLES:?}, counters)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_hold_every_kind_and_load_idempotently() {
    twice(&testing::sqlite().await).await;
    if let Some(pg) = testing::postgres().await {
        twice(&pg).await;
    }
}
