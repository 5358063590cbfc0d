//! The SQLite database file and its WAL hold everything: only their owner may read them.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt as _;

use vendrome_store::Store;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_database_and_its_wal_are_created_owner_only() {
    let dir = std::env::temp_dir().join(format!("vendrome-mode-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("vendrome.db");
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    // The migrations write, so the WAL exists while the pool is open.
    store.migrate().await.unwrap();
    let wal = dir.join("vendrome.db-wal");
    assert!(wal.exists());
    assert_eq!(mode(&db), 0o600, "database");
    assert_eq!(mode(&wal), 0o600, "WAL");
    store.db().close().await;

    // A database made by an older version with a wider mode is narrowed when opened.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    assert_eq!(mode(&db), 0o600);
    store.db().close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
