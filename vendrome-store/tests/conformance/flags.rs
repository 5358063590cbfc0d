use vendrome_core::audit::{AuditContext, AuditRepo};
use vendrome_core::flags::{FlagName, FlagRepo, FlagUpdate, RolloutPercent};
use vendrome_core::outbox::OutboxRepo;
use vendrome_core::page::Limit;
use vendrome_core::Error;
use vendrome_store::Store;

const ROLLOUT_FLAGS: [&str; 8] = [
    "read_only",
    "use_real_auth",
    "use_real_calendar",
    "use_real_feed",
    "use_real_marketing",
    "use_real_messages",
    "use_real_payments",
    "use_real_profiles",
];

conformance!(
    migrations_create_rollout_flags_off,
    updates_flag_with_event_and_audit,
    unknown_flag_is_not_found
);

async fn migrations_create_rollout_flags_off(store: Store) {
    let flags = store.list_flags().await.unwrap();
    let names: Vec<&str> = flags.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ROLLOUT_FLAGS, "sorted by name");
    assert!(flags.iter().all(|f| !f.enabled));
}

async fn updates_flag_with_event_and_audit(store: Store) {
    let name = FlagName::parse("use_real_feed").unwrap();
    let update = FlagUpdate {
        enabled: true,
        rollout_percent: Some(RolloutPercent::parse(25).unwrap()),
    };
    let flag = store
        .update_flag(&name, update, &AuditContext::cli())
        .await
        .unwrap();
    assert!(flag.enabled);
    assert_eq!(flag.rollout_percent.get(), 25);
    assert_eq!(store.flag(&name).await.unwrap(), Some(flag.clone()));

    // Leaving the percentage out keeps it.
    let off = store
        .update_flag(
            &name,
            FlagUpdate {
                enabled: false,
                rollout_percent: None,
            },
            &AuditContext::cli(),
        )
        .await;
    assert_eq!(off.unwrap().rollout_percent.get(), 25);

    assert_eq!(
        store.backlog().await.unwrap().pending,
        2,
        "one flag.updated event per change"
    );
    let audit = store
        .events_for_target("flag", "use_real_feed", None, Limit::DEFAULT)
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 2);
    assert_eq!(audit.items[0].action, "flag.updated");
    assert_eq!(audit.items[0].details["via"], "cli");
    assert_eq!(audit.items[0].details["after"]["rollout_percent"], 25);
}

async fn unknown_flag_is_not_found(store: Store) {
    let name = FlagName::parse("no_such_flag").unwrap();
    assert_eq!(store.flag(&name).await.unwrap(), None);
    let result = store
        .update_flag(
            &name,
            FlagUpdate {
                enabled: true,
                rollout_percent: None,
            },
            &AuditContext::cli(),
        )
        .await;
    assert!(
        matches!(result, Err(Error::NotFound { what: "flag" })),
        "{result:?}"
    );
    assert_eq!(
        store.backlog().await.unwrap().pending,
        0,
        "a refused change announces nothing"
    );
}
