//! Every SQL enum is mirrored 1:1 by a Rust enum in core: this reads the enum values from each
//! database and fails on any drift, in either direction.

use std::collections::BTreeMap;

use vendrome_core::enums::SQL_ENUMS;
use vendrome_store::{with_db, Store};

type Labels = Vec<String>;

fn core_enums() -> BTreeMap<String, Labels> {
    SQL_ENUMS
        .iter()
        .map(|(name, labels)| {
            (
                name.to_string(),
                labels.iter().map(|l| l.to_string()).collect(),
            )
        })
        .collect()
}

/// PostgreSQL's enum types, labels in sort order.
async fn postgres_enums(store: &Store) -> BTreeMap<String, Labels> {
    let rows: Vec<(String, String)> = with_db!(store.db(), pool => {
        sqlx::query_as(
            "SELECT t.typname::text, e.enumlabel::text FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' \
             ORDER BY t.typname, e.enumsortorder",
        )
        .fetch_all(pool)
        .await
    })
    .unwrap();
    let mut enums: BTreeMap<String, Labels> = BTreeMap::new();
    for (name, label) in rows {
        enums.entry(name).or_default().push(label);
    }
    enums
}

/// PostgreSQL's enum columns: (table, column) → enum type.
async fn postgres_enum_columns(store: &Store) -> BTreeMap<(String, String), String> {
    let rows: Vec<(String, String, String)> = with_db!(store.db(), pool => {
        sqlx::query_as(
            "SELECT c.table_name::text, c.column_name::text, c.udt_name::text FROM information_schema.columns c \
             JOIN pg_type t ON t.typname = c.udt_name AND t.typtype = 'e' WHERE c.table_schema = 'public'",
        )
        .fetch_all(pool)
        .await
    })
    .unwrap();
    rows.into_iter()
        .map(|(table, column, ty)| ((table, column), ty))
        .collect()
}

/// SQLite's enum columns: every `CHECK (column IN ('a', 'b'))` → (table, column) → labels.
async fn sqlite_enum_columns(store: &Store) -> BTreeMap<(String, String), Labels> {
    let tables: Vec<(String, String)> = with_db!(store.db(), pool => {
        sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL")
            .fetch_all(pool)
            .await
    })
    .unwrap();
    let mut columns = BTreeMap::new();
    for (table, sql) in tables {
        let mut rest = sql.as_str();
        while let Some(at) = rest.find("CHECK (") {
            rest = &rest[at + "CHECK (".len()..];
            let Some((column, tail)) = rest.split_once(" IN (") else {
                continue;
            };
            if !column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            let list = &tail[..tail.find(')').expect("an IN list ends")];
            let labels = list
                .split(',')
                .map(|l| l.trim().trim_matches('\'').to_owned())
                .collect();
            columns.insert((table.clone(), column.to_owned()), labels);
        }
    }
    columns
}

#[tokio::test]
async fn postgres_enums_match_core() {
    let Some(db) = vendrome_store::testing::postgres().await else {
        return;
    };
    assert_eq!(
        postgres_enums(&db.store).await,
        core_enums(),
        "PostgreSQL enum types vs vendrome-core SQL_ENUMS"
    );
}

#[tokio::test]
async fn sqlite_checks_match_core_enums() {
    let db = vendrome_store::testing::sqlite().await;
    let core = core_enums();
    let columns = sqlite_enum_columns(&db.store).await;
    assert!(
        columns.len() > 40,
        "found only {} enum columns: is the CHECK parser broken?",
        columns.len()
    );
    for ((table, column), labels) in &columns {
        assert!(
            core.values().any(|core_labels| core_labels == labels),
            "{table}.{column} CHECK lists {labels:?}, which is no enum of vendrome-core"
        );
    }
}

#[tokio::test]
async fn sqlite_and_postgres_have_the_same_enum_columns() {
    let Some(pg) = vendrome_store::testing::postgres().await else {
        return;
    };
    let lite = vendrome_store::testing::sqlite().await;
    let core = core_enums();
    let expected: BTreeMap<(String, String), Labels> = postgres_enum_columns(&pg.store)
        .await
        .into_iter()
        .map(|(column, ty)| {
            let labels = core
                .get(&ty)
                .unwrap_or_else(|| panic!("{ty} is not in core"))
                .clone();
            (column, labels)
        })
        .collect();
    assert_eq!(sqlite_enum_columns(&lite.store).await, expected);
}
