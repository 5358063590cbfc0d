//! Test support: what a statement reads through the generic plan a pooled connection keeps.

use sqlx::PgPool;

use crate::testing::{self, TestStore};
use crate::Db;

/// A fresh PostgreSQL database (kept while the first part is held) and its pool; `None` where
/// PostgreSQL is absent outside CI.
pub(crate) async fn database() -> Option<(TestStore, PgPool)> {
    let db = testing::postgres().await?;
    let Db::Postgres(pool) = db.store.db().clone() else {
        unreachable!("a PostgreSQL store")
    };
    Some((db, pool))
}

/// One execution of a statement, from `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`.
pub(crate) struct Executed {
    /// Rows the statement answered.
    pub rows: i64,
    /// Pages (buffers) it read, found in the cache or not.
    pub pages: i64,
    /// Rows it updated, and how many of those were heap-only updates (written in place on their
    /// page, no index touched).
    pub updated: i64,
    pub updated_in_place: i64,
    pub plan: serde_json::Value,
}

/// Runs `sql` once with `args` (a parenthesised list of SQL values) through its generic plan,
/// made now from the statistics the database has, in a transaction rolled back after.
pub(crate) async fn executed(pool: &PgPool, sql: &str, args: &str) -> Executed {
    let mut conn = pool.acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        mode, "force_generic_plan",
        "the pool's connections keep generic plans"
    );
    sqlx::raw_sql(&format!("PREPARE measured AS {sql}"))
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut *conn).await.unwrap();
    let plan: serde_json::Value = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE measured{args}"
    ))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let (updated, updated_in_place): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(n_tup_upd), 0)::bigint, COALESCE(SUM(n_tup_hot_upd), 0)::bigint \
         FROM pg_stat_xact_user_tables",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql("ROLLBACK; DEALLOCATE measured")
        .execute(&mut *conn)
        .await
        .unwrap();
    let top = &plan[0]["Plan"];
    let count = |key: &str| top[key].as_i64().unwrap_or(0);
    Executed {
        rows: count("Actual Rows"),
        pages: count("Shared Hit Blocks") + count("Shared Read Blocks"),
        updated,
        updated_in_place,
        plan,
    }
}
