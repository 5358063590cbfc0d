use serde_json::json;
use vendrome_core::audit::{AuditContext, AuditRepo, NewAuditEvent};
use vendrome_core::page::Limit;
use vendrome_core::users::UserRepo;
use vendrome_store::Store;

conformance!(records_and_pages_audit_events);

async fn records_and_pages_audit_events(store: Store) {
    let admin = store
        .create_user(crate::users::new_user("admin@example.com"))
        .await
        .unwrap();
    let context = AuditContext {
        actor_id: Some(admin.id),
        ip: Some("203.0.113.7".into()),
        request_id: Some("req-1".into()),
        via: None,
    };
    for i in 0..3 {
        let event = NewAuditEvent {
            action: "user.role_changed".into(),
            target_type: "user".into(),
            target_id: "u1".into(),
            details: json!({ "step": i }),
        };
        let recorded = store.record(event, &context).await.unwrap();
        assert_eq!(recorded.actor_id, Some(admin.id));
        assert_eq!(recorded.ip.as_deref(), Some("203.0.113.7"));
    }
    let first = store
        .events_for_target("user", "u1", None, Limit::parse(2).unwrap())
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let after = first
        .next_cursor
        .expect("a third event follows")
        .decode()
        .unwrap();
    let second = store
        .events_for_target("user", "u1", Some(after), Limit::parse(2).unwrap())
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].details["step"], 2);
    assert!(second.next_cursor.is_none());
    let other = store
        .events_for_target("user", "u2", None, Limit::DEFAULT)
        .await
        .unwrap();
    assert!(other.items.is_empty());
}
