//! Stored rows of every shape the store has written read back; the documented table matches
//! the enum.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;

/// One row per event type, exactly as the store wrote it before payloads carried a version.
fn rows_before_versioning() -> Vec<(&'static str, Value)> {
    let (a, b, c) = (
        "0190c7a0-0000-7000-8000-00000000000a",
        "0190c7a0-0000-7000-8000-00000000000b",
        "0190c7a0-0000-7000-8000-00000000000c",
    );
    let (post, comment, conversation, message) = (
        "0190c7a0-0000-7000-8000-000000000001",
        "0190c7a0-0000-7000-8000-000000000002",
        "0190c7a0-0000-7000-8000-000000000003",
        "0190c7a0-0000-7000-8000-000000000004",
    );
    vec![
        (
            "post.created",
            json!({"post_id": post, "author_id": a, "type": "product", "visibility": "connections", "topics": ["solar", "agritech"]}),
        ),
        (
            "post.updated",
            json!({"post_id": post, "author_id": a, "fields": ["body", "topics"], "updated_by": b}),
        ),
        (
            "post.deleted",
            json!({"post_id": post, "author_id": a, "deleted_by": b}),
        ),
        (
            "reaction.set",
            json!({"post_id": post, "user_id": a, "kind": "celebrate", "previous_kind": "like"}),
        ),
        (
            "reaction.removed",
            json!({"post_id": post, "user_id": a, "kind": "like"}),
        ),
        (
            "comment.created",
            json!({"comment_id": comment, "post_id": post, "parent_id": null, "author_id": a}),
        ),
        (
            "comment.updated",
            json!({"comment_id": comment, "post_id": post, "author_id": a}),
        ),
        (
            "comment.deleted",
            json!({"comment_id": comment, "post_id": post, "author_id": a, "deleted_by": b}),
        ),
        (
            "repost.created",
            json!({"post_id": post, "user_id": a, "quote": "Worth a read"}),
        ),
        ("repost.removed", json!({"post_id": post, "user_id": a})),
        (
            "share.created",
            json!({"share_id": c, "post_id": post, "user_id": a, "channel": "message"}),
        ),
        ("bookmark.set", json!({"post_id": post, "user_id": a})),
        ("bookmark.removed", json!({"post_id": post, "user_id": a})),
        (
            "user.created",
            json!({"user_id": a, "display_name": "Amina Njoroge", "handle": null}),
        ),
        (
            "user.updated",
            json!({"user_id": a, "fields": ["display_name", "email"]}),
        ),
        (
            "user.role_changed",
            json!({"user_id": a, "change": {"role": "moderator"}}),
        ),
        (
            "user.verification_level_changed",
            json!({"user_id": a, "change": {"verification_level": "identity_verified"}}),
        ),
        (
            "user.disabled",
            json!({"user_id": a, "change": {"disabled": true}}),
        ),
        (
            "user.enabled",
            json!({"user_id": a, "change": {"disabled": false}}),
        ),
        (
            "user.messaging_settings_updated",
            json!({"user_id": a, "direct_messages": "connections"}),
        ),
        (
            "profile.updated",
            json!({"user_id": a, "fields": ["company", "skills"]}),
        ),
        (
            "flag.updated",
            json!({"name": "new_feed", "enabled": true, "rollout_percent": 25}),
        ),
        ("user.followed", json!({"follower_id": a, "followee_id": b})),
        (
            "user.unfollowed",
            json!({"follower_id": a, "followee_id": b}),
        ),
        (
            "user.blocked",
            json!({"blocker_id": a, "blocked_id": b, "follows_ended": 2, "connection_ended": true, "requests_cancelled": 0}),
        ),
        ("user.unblocked", json!({"blocker_id": a, "blocked_id": b})),
        (
            "topic.followed",
            json!({"user_id": a, "topic_id": c, "slug": "solar"}),
        ),
        (
            "topic.unfollowed",
            json!({"user_id": a, "topic_id": c, "slug": "solar"}),
        ),
        (
            "connection.requested",
            json!({"connection_id": c, "requester_id": a, "addressee_id": b, "note": null}),
        ),
        (
            "connection.accepted",
            json!({"connection_id": c, "requester_id": a, "addressee_id": b, "actor_id": b}),
        ),
        (
            "connection.declined",
            json!({"connection_id": c, "requester_id": a, "addressee_id": b, "actor_id": b}),
        ),
        (
            "connection.withdrawn",
            json!({"connection_id": c, "requester_id": a, "addressee_id": b, "actor_id": a}),
        ),
        (
            "connection.removed",
            json!({"connection_id": c, "requester_id": a, "addressee_id": b, "actor_id": a}),
        ),
        (
            "conversation.created",
            json!({"conversation_id": conversation, "kind": "group", "participant_ids": [a, b, c]}),
        ),
        (
            "conversation.updated",
            json!({"conversation_id": conversation, "title": "Suppliers", "by": a}),
        ),
        (
            "conversation.member_added",
            json!({"conversation_id": conversation, "user_id": c, "by": a}),
        ),
        (
            "conversation.member_removed",
            json!({"conversation_id": conversation, "user_id": c, "by": a}),
        ),
        (
            "conversation.member_role_changed",
            json!({"conversation_id": conversation, "user_id": c, "role": "admin", "by": a}),
        ),
        (
            "message.created",
            json!({"conversation_id": conversation, "message_id": message, "sender_id": a}),
        ),
        (
            "message.updated",
            json!({"conversation_id": conversation, "message_id": message}),
        ),
        (
            "message.deleted",
            json!({"conversation_id": conversation, "message_id": message}),
        ),
        (
            "message.read",
            json!({"conversation_id": conversation, "user_id": b, "message_id": message}),
        ),
        (
            "order.created",
            json!({"order_id": post, "buyer_id": a, "seller_id": b, "status": "pending_payment", "total_amount": 10500, "refunded_amount": 0, "currency": "ZAR"}),
        ),
        (
            "order.paid",
            json!({"order_id": post, "buyer_id": a, "seller_id": b, "status": "paid", "total_amount": 10500, "refunded_amount": 0, "currency": "ZAR"}),
        ),
        (
            "order.cancelled",
            json!({"order_id": post, "buyer_id": a, "seller_id": b, "status": "cancelled", "total_amount": 10500, "refunded_amount": 0, "currency": "ZAR"}),
        ),
        (
            "order.fulfilled",
            json!({"order_id": post, "buyer_id": a, "seller_id": b, "status": "fulfilled", "total_amount": 10500, "refunded_amount": 0, "currency": "ZAR"}),
        ),
        (
            "order.completed",
            json!({"order_id": post, "buyer_id": a, "seller_id": b, "status": "completed", "total_amount": 10500, "refunded_amount": 0, "currency": "ZAR"}),
        ),
        (
            "order.refunded",
            json!({"order_id": post, "buyer_id": a, "seller_id": b, "status": "refunded", "total_amount": 10500, "refunded_amount": 0, "currency": "ZAR"}),
        ),
        (
            "payment.succeeded",
            json!({"payment_id": message, "order_id": post, "payer_id": a, "payee_id": b, "provider": "sandbox", "status": "succeeded", "amount": 10500, "currency": "ZAR"}),
        ),
        (
            "payment.failed",
            json!({"payment_id": message, "order_id": post, "payer_id": a, "payee_id": b, "provider": "sandbox", "status": "failed", "amount": 10500, "currency": "ZAR"}),
        ),
        (
            "payment.refunded",
            json!({"payment_id": message, "order_id": post, "payer_id": a, "payee_id": b, "provider": "sandbox", "status": "succeeded", "amount": 10500, "currency": "ZAR"}),
        ),
        (
            "booking.requested",
            json!({"booking_id": message, "service_post_id": post, "client_id": a, "provider_id": b, "status": "requested", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z", "amount": 0, "refund_amount": 0, "currency": "ZAR"}),
        ),
        (
            "booking.confirmed",
            json!({"booking_id": message, "service_post_id": post, "client_id": a, "provider_id": b, "status": "confirmed", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z", "amount": 0, "refund_amount": 0, "currency": "ZAR"}),
        ),
        (
            "booking.declined",
            json!({"booking_id": message, "service_post_id": post, "client_id": a, "provider_id": b, "status": "declined", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z", "amount": 0, "refund_amount": 0, "currency": "ZAR"}),
        ),
        (
            "booking.cancelled",
            json!({"booking_id": message, "service_post_id": post, "client_id": a, "provider_id": b, "status": "cancelled", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z", "amount": 0, "refund_amount": 0, "currency": "ZAR"}),
        ),
        (
            "booking.completed",
            json!({"booking_id": message, "service_post_id": post, "client_id": a, "provider_id": b, "status": "completed", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z", "amount": 0, "refund_amount": 0, "currency": "ZAR"}),
        ),
        (
            "booking.no_show",
            json!({"booking_id": message, "service_post_id": post, "client_id": a, "provider_id": b, "status": "no_show", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z", "amount": 0, "refund_amount": 0, "currency": "ZAR"}),
        ),
        (
            "booking.rescheduled",
            json!({"booking_id": message, "service_post_id": post, "client_id": a, "provider_id": b, "status": "confirmed", "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T11:00:00Z", "amount": 0, "refund_amount": 0, "currency": "ZAR"}),
        ),
        (
            "review.created",
            json!({"review_id": comment, "author_id": a, "subject_user_id": b, "order_id": post, "booking_id": null, "rating": 4}),
        ),
        (
            "review.updated",
            json!({"review_id": comment, "author_id": a, "subject_user_id": b, "order_id": post, "booking_id": null, "rating": 4}),
        ),
        (
            "review.replied",
            json!({"review_id": comment, "author_id": a, "subject_user_id": b, "order_id": post, "booking_id": null, "rating": 4}),
        ),
        (
            "review.deleted",
            json!({"review_id": comment, "author_id": a, "subject_user_id": b, "order_id": post, "booking_id": null, "rating": 4}),
        ),
        (
            "mentorship.requested",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "status": "requested", "by": b}),
        ),
        (
            "mentorship.accepted",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "status": "active", "by": b}),
        ),
        (
            "mentorship.declined",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "status": "declined", "by": b}),
        ),
        (
            "mentorship.cancelled",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "status": "cancelled", "by": b}),
        ),
        (
            "mentorship.paused",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "status": "paused", "by": b}),
        ),
        (
            "mentorship.resumed",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "status": "active", "by": b}),
        ),
        (
            "mentorship.completed",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "status": "completed", "by": b}),
        ),
        (
            "mentorship.goal_added",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "item_id": message, "by": a}),
        ),
        (
            "mentorship.goal_completed",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "item_id": message, "by": a}),
        ),
        (
            "mentorship.session_scheduled",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "item_id": message, "by": a}),
        ),
        (
            "mentorship.session_rescheduled",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "item_id": message, "by": a}),
        ),
        (
            "mentorship.session_cancelled",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "item_id": message, "by": a}),
        ),
        (
            "mentorship.note_added",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "item_id": message, "by": a}),
        ),
        (
            "mentorship.feedback_given",
            json!({"mentorship_id": conversation, "mentor_id": a, "mentee_id": b, "item_id": message, "by": a}),
        ),
        (
            "campaign.created",
            json!({"campaign_id": post, "owner_id": a, "status": "draft"}),
        ),
        (
            "campaign.updated",
            json!({"campaign_id": post, "owner_id": a, "status": "paused"}),
        ),
        (
            "campaign.status_changed",
            json!({"campaign_id": post, "owner_id": a, "status": "scheduled"}),
        ),
    ]
}

#[test]
fn every_row_written_before_versioning_reads_back_unchanged() {
    let rows = rows_before_versioning();
    let covered: BTreeSet<&str> = rows.iter().map(|(t, _)| *t).collect();
    let all: BTreeSet<&str> = DomainEvent::TYPES.iter().copied().collect();
    assert_eq!(covered, all, "one stored row per event type");
    for (event_type, stored) in rows {
        let event =
            DomainEvent::parse(event_type, &stored).unwrap_or_else(|e| panic!("{event_type}: {e}"));
        assert_eq!(event.event_type(), event_type);
        // Same fields, same values: what consumers and realtime clients saw is unchanged.
        assert_eq!(event.payload(), stored, "{event_type}");
    }
}

#[test]
fn stored_payloads_carry_their_version_and_read_back() {
    for (event_type, stored) in rows_before_versioning() {
        let event = DomainEvent::parse(event_type, &stored).expect("readable");
        let written = event.stored_payload();
        assert_eq!(written[VERSION_KEY], json!(1), "{event_type}");
        assert_eq!(DomainEvent::parse(event_type, &written), Ok(event));
    }
}

#[test]
fn the_aggregate_is_what_the_event_is_about() {
    let rows: Vec<(&str, Value)> = rows_before_versioning();
    let about = |event_type: &str| {
        let (_, stored) = rows.iter().find(|(t, _)| *t == event_type).expect("a row");
        DomainEvent::parse(event_type, stored)
            .expect("readable")
            .aggregate()
    };
    assert_eq!(
        about("message.read"),
        Aggregate::new("conversation", "0190c7a0-0000-7000-8000-000000000003")
    );
    assert_eq!(
        about("user.followed").id,
        "0190c7a0-0000-7000-8000-00000000000b"
    );
    assert_eq!(about("comment.created").kind, "comment");
    assert_eq!(about("flag.updated"), Aggregate::new("flag", "new_feed"));
}

#[test]
fn what_this_version_cannot_read_is_an_error_not_a_guess() {
    let (_, stored) = rows_before_versioning().swap_remove(0);
    let unknown = DomainEvent::parse("order.placed", &stored).unwrap_err();
    assert_eq!(unknown.reason, "unknown event type");
    let mut newer = stored.clone();
    newer[VERSION_KEY] = json!(2);
    assert!(DomainEvent::parse("post.created", &newer)
        .unwrap_err()
        .reason
        .contains("newer"));
    let mut broken = stored;
    broken["visibility"] = json!("everyone");
    assert!(DomainEvent::parse("post.created", &broken).is_err());
    assert!(DomainEvent::parse("post.created", &json!("text")).is_err());
}

/// A payload at version 2 that renamed a field reads its version 1 rows through `upgrade`.
#[test]
fn an_upgraded_payload_reads_its_older_rows() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Renamed {
        member_id: String,
    }
    impl EventPayload for Renamed {
        const VERSION: u32 = 2;
        fn aggregate(&self) -> Aggregate {
            Aggregate::new("user", &self.member_id)
        }
        fn upgrade(version: u32, mut payload: Value) -> Result<Value, String> {
            match version {
                1 => {
                    let id = payload["user_id"].take();
                    Ok(json!({ "member_id": id }))
                }
                other => Err(format!("no upgrade from {other}")),
            }
        }
    }
    let old = decode::<Renamed>("x.renamed", &json!({"user_id": "u1"})).expect("upgraded");
    assert_eq!(old.member_id, "u1");
    let current = decode::<Renamed>("x.renamed", &json!({"v": 2, "member_id": "u2"}));
    assert_eq!(current.expect("current").member_id, "u2");
}

/// ARCHITECTURE.md's events table lists every event type, and nothing else.
#[test]
fn the_documented_events_table_matches_the_enum() {
    let doc = include_str!("../../../ARCHITECTURE.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Domain events"))
        .expect("ARCHITECTURE.md has a `## Domain events` section");
    let mut documented: Vec<String> = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let first = line.split('|').nth(1).unwrap_or_default();
        documented.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    let documented_set: BTreeSet<&str> = documented.iter().map(String::as_str).collect();
    assert_eq!(
        documented.len(),
        documented_set.len(),
        "an event documented twice"
    );
    let all: BTreeSet<&str> = DomainEvent::TYPES.iter().copied().collect();
    let missing: Vec<_> = all.difference(&documented_set).collect();
    let stale: Vec<_> = documented_set.difference(&all).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's events table: undocumented {missing:?}, stale {stale:?}"
    );
}
