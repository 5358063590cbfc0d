//! Test support: what a statement reads through the generic plan a pooled connection keeps.

use sqlx::PgPool;

/// One execution of a statement, from `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`.
pub(crate) struct Executed {
    /// Rows the statement answered.
    pub rows: i64,
    /// Pages (buffers) it read, found in the cache or not.
    pub pages: i64,
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
    sqlx::raw_sql("ROLLBACK; DEALLOCATE measured")
        .execute(&mut *conn)
        .await
        .unwrap();
    let top = &plan[0]["Plan"];
    let count = |key: &str| top[key].as_i64().unwrap_or(0);
    Executed {
        rows: count("Actual Rows"),
        pages: count("Shared Hit Blocks") + count("Shared Read Blocks"),
        plan,
    }
}
