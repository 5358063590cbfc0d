//! `vendrome seed fixtures` on both stores: every post type, every kind of social row and direct
//! messages, orders and bookings in every status paid through the sandbox with a clean ledger,
//! reviews and mentorships in every status, investment campaigns and commitments in every status
//! with deal-flow matches, and a second run that changes nothing (row counts, counters and
//! outbox events alike).

use std::path::Path;
use std::process::Command;

use vendrome_store::testing::{self, TestStore};
use vendrome_store::Db;

const TABLES: [&str; 32] = [
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
    "bookings",
    "provider_availability",
    "reviews",
    "rating_stats",
    "mentorship_relationships",
    "mentorship_goals",
    "mentorship_sessions",
    "mentorship_notes",
    "mentorship_feedback",
    "mentor_formats",
    "payment_transactions",
    "ledger_transactions",
    "ledger_entries",
    "investment_campaigns",
    "investment_commitments",
    "outbox_events",
    "calendar_events",
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

/// `vendrome ledger check --json`: exit 0 and a clean report.
fn ledger_check(url: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(["--database-url", url, "ledger", "check", "--json"])
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

/// A campaign in every status, commitments in every status a backer reaches, money in escrow,
/// and the deal flow's matches as `investments.json` describes them.
async fn investments_in_every_status(db: &TestStore) {
    use vendrome_core::investments::InvestmentRepo as _;
    use vendrome_core::users::{Email, UserRepo as _};

    let campaigns = scalar(
        db,
        "SELECT COUNT(DISTINCT status) FROM investment_campaigns",
    )
    .await;
    assert_eq!(campaigns, 5, "an investment campaign in every status");
    for status in ["pending", "pending_review", "confirmed", "refunded"] {
        let n = scalar(
            db,
            &format!("SELECT COUNT(*) FROM investment_commitments WHERE status = '{status}'"),
        )
        .await;
        assert!(n > 0, "no {status} commitment in the fixtures");
    }
    let settled = scalar(
        db,
        "SELECT COUNT(*) FROM investment_campaigns WHERE status = 'closed' AND settled_at IS NOT NULL",
    )
    .await;
    assert_eq!(settled, 1, "the closed campaign was settled");
    let pieter = Email::parse("pieter.vandermerwe@example.com").unwrap();
    let pieter = db.store.user_by_email(&pieter).await.unwrap().unwrap();
    let limit = vendrome_core::page::Limit::parse(20).unwrap();
    let (matches, _) = db.store.matches(pieter.id, None, limit).await.unwrap();
    let scores: Vec<i64> = matches.iter().map(|m| m.score).collect();
    assert_eq!(
        scores,
        [100, 10],
        "Ledgerly on every field, SolarWorks on country"
    );
}

/// Every status of the order state machine, a partly refunded order, and an expired one.
async fn orders_in_every_status(db: &TestStore) {
    for status in [
        "pending_payment",
        "paid",
        "fulfilled",
        "completed",
        "cancelled",
        "refunded",
    ] {
        let n = scalar(
            db,
            &format!("SELECT COUNT(*) FROM orders WHERE status = '{status}'"),
        )
        .await;
        assert!(n > 0, "no {status} order in the fixtures");
    }
    let partly = scalar(
        db,
        "SELECT COUNT(*) FROM orders WHERE status = 'paid' AND refunded_amount > 0 AND refunded_amount < total_amount",
    )
    .await;
    assert_eq!(partly, 1, "one partly refunded order");
    let refunded = scalar(
        db,
        "SELECT COUNT(*) FROM orders WHERE status = 'refunded' AND refunded_amount = total_amount",
    )
    .await;
    assert_eq!(refunded, 1, "one order refunded in full");
    // Cancelled by the expiry pass: never paid, cancelled when it expired.
    let expired = scalar(
        db,
        "SELECT COUNT(*) FROM orders WHERE status = 'cancelled' AND cancelled_at >= expires_at",
    )
    .await;
    assert_eq!(expired, 1, "one expired order");
    let failed_or_pending_payments = scalar(
        db,
        "SELECT COUNT(*) FROM payment_transactions WHERE attempt_phase <> 'finished'",
    )
    .await;
    assert_eq!(failed_or_pending_payments, 0, "every payment finished");
}

/// Every status of the booking state machine, the paid ones paid, the ended ones refunded.
async fn bookings_in_every_status(db: &TestStore) {
    for status in [
        "awaiting_payment",
        "requested",
        "confirmed",
        "declined",
        "cancelled",
        "completed",
        "no_show",
    ] {
        let n = scalar(
            db,
            &format!("SELECT COUNT(*) FROM bookings WHERE status = '{status}'"),
        )
        .await;
        assert!(n > 0, "no {status} booking in the fixtures");
    }
    // Every booking past waiting was paid through the sandbox (one succeeded charge each).
    let paid = scalar(
        db,
        "SELECT COUNT(*) FROM bookings b WHERE b.status NOT IN ('awaiting_payment') \
         AND COALESCE(b.cancel_reason, '') <> 'not paid in time' \
         AND NOT EXISTS (SELECT 1 FROM payment_transactions p WHERE p.booking_id = b.id \
         AND p.kind = 'charge' AND p.status = 'succeeded')",
    )
    .await;
    assert_eq!(paid, 0, "a booking past waiting without its charge");
    // The declined one refunded in full, the cancelled one by half (inside the window).
    let refunds = scalar(
        db,
        "SELECT COUNT(*) FROM bookings b JOIN payment_transactions p ON p.booking_id = b.id \
         WHERE p.kind = 'refund' AND p.status = 'succeeded' AND p.amount = b.refund_amount \
         AND ((b.status = 'declined' AND b.refund_amount = b.amount) \
         OR (b.status = 'cancelled' AND b.refund_amount = b.amount / 2))",
    )
    .await;
    assert_eq!(refunds, 2, "a full and a half refund");
    let expired = scalar(
        db,
        "SELECT COUNT(*) FROM bookings WHERE status = 'cancelled' AND cancel_reason = 'not paid in time'",
    )
    .await;
    assert_eq!(expired, 1, "one expired booking");
    // A booking that was confirmed is an event of both parties (kept after completion or a
    // no-show); one cancelled or declined has no live event.
    let confirmed = scalar(
        db,
        "SELECT COUNT(*) FROM bookings WHERE status IN ('confirmed', 'completed', 'no_show')",
    )
    .await;
    let copies = scalar(
        db,
        "SELECT COUNT(*) FROM bookings b JOIN calendar_events e ON e.booking_id = b.id \
         WHERE b.status IN ('confirmed', 'completed', 'no_show') AND e.deleted_at IS NULL \
         AND e.owner_id IN (b.client_id, b.provider_id) AND e.starts_at = b.starts_at",
    )
    .await;
    assert_eq!(copies, 2 * confirmed, "two events per confirmed booking");
    let dead = scalar(
        db,
        "SELECT COUNT(*) FROM bookings b JOIN calendar_events e ON e.booking_id = b.id \
         WHERE b.status NOT IN ('confirmed', 'completed', 'no_show') AND e.deleted_at IS NULL",
    )
    .await;
    assert_eq!(dead, 0, "a live event of a booking that is not confirmed");
}

async fn sessions_are_events_of_both_parties(db: &TestStore) {
    let sessions = scalar(
        db,
        "SELECT COUNT(*) FROM mentorship_sessions WHERE cancelled_at IS NULL",
    )
    .await;
    assert!(sessions > 0);
    let copies = scalar(
        db,
        "SELECT COUNT(*) FROM mentorship_sessions s \
         JOIN mentorship_relationships m ON m.id = s.mentorship_id \
         JOIN calendar_events e ON e.mentorship_session_id = s.id \
         WHERE s.cancelled_at IS NULL AND e.deleted_at IS NULL \
         AND e.owner_id IN (m.mentor_id, m.mentee_id) AND e.starts_at = s.starts_at",
    )
    .await;
    assert_eq!(copies, 2 * sessions, "two events per session");
}

async fn twice(db: &TestStore) {
    let first = seed(&db.url);
    assert!(
        first["social"]["posts_created"].as_u64().unwrap() >= 7,
        "{first}"
    );
    let types = scalar(db, "SELECT COUNT(DISTINCT post_type) FROM posts").await;
    assert_eq!(types, 7, "every post type is in the fixtures");
    orders_in_every_status(db).await;
    bookings_in_every_status(db).await;
    sessions_are_events_of_both_parties(db).await;
    let ledger = ledger_check(&db.url);
    assert_eq!(ledger["clean"], true, "{ledger}");
    assert!(ledger["transactions"].as_u64().unwrap() >= 7, "{ledger}");
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
    let campaigns = scalar(db, "SELECT COUNT(DISTINCT status) FROM marketing_campaigns").await;
    assert_eq!(campaigns, 6, "a campaign in every status");
    let metric_days = scalar(
        db,
        "SELECT COUNT(DISTINCT day) FROM marketing_campaign_metrics",
    )
    .await;
    assert!(metric_days >= 7, "a week of metrics: {metric_days} days");
    investments_in_every_status(db).await;
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
    assert_eq!(second["marketing"]["campaigns_created"], 0, "{second}");
    assert_eq!(second["investments"]["campaigns_created"], 0, "{second}");
    assert_eq!(second["investments"]["members_changed"], 0, "{second}");
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
