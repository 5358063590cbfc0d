use vendrome_store::{migrate, Store};

conformance!(migrations_are_all_applied_and_rerun_is_a_no_op);

async fn migrations_are_all_applied_and_rerun_is_a_no_op(store: Store) {
    let status = migrate::status(store.db()).await.unwrap();
    assert!(status.len() >= 8, "{status:?}");
    assert!(status.iter().all(|m| m.applied), "{status:?}");
    assert_eq!(store.migrate().await.unwrap(), 0);
}

#[tokio::test]
async fn a_new_database_has_every_migration_pending() {
    let path = std::env::temp_dir().join(format!("vendrome-empty-{}.db", uuid::Uuid::new_v4()));
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let pending = migrate::pending_count(store.db()).await.unwrap();
    let mut applied = Vec::new();
    let count = migrate::apply_pending(store.db(), |m| applied.push(m.version))
        .await
        .unwrap();
    assert_eq!((count, applied.len()), (pending, pending));
    assert!(applied.windows(2).all(|w| w[0] < w[1]), "applied in order");
    drop(store);
    let _ = std::fs::remove_file(path);
}
