//! Databases for tests: a fresh, migrated database per test on each store.
//!
//! PostgreSQL: the first test of a run builds a template database with every migration applied
//! (once per migration set, shared by all test processes); each test then gets a copy with
//! `CREATE DATABASE … TEMPLATE`, dropped when the test ends. The server is
//! `VENDROME_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`). When it
//! cannot be reached, tests on PostgreSQL are skipped with a loud message — unless `CI=true`,
//! where that is a failure.
//!
//! SQLite: a new database file in the temp dir, removed when the test ends.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::{migrate, Store};

/// The PostgreSQL server tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("VENDROME_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The Redis/Valkey server tests use (`VENDROME_TEST_REDIS_URL`).
pub fn redis_url() -> String {
    std::env::var("VENDROME_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The NATS server tests use (`VENDROME_TEST_NATS_URL`).
pub fn nats_url() -> String {
    std::env::var("VENDROME_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A service a test needs could not be reached: with `CI=true` the test fails; otherwise it is
/// skipped, saying so loudly on stderr. Returns `None` for the caller to return early with.
pub fn unreachable<T>(
    service: &str,
    url: &str,
    variable: &str,
    error: impl std::fmt::Display,
) -> Option<T> {
    if in_ci() {
        panic!("CI=true and {service} at {url} is unreachable: {error}");
    }
    eprintln!(
        "\n*** SKIPPED a {service} test: {url} is unreachable ({error}). \
         Start it or set {variable} to run it. ***\n"
    );
    None
}

/// A migrated store that disappears with this value.
pub struct TestStore {
    pub store: Store,
    /// The database's URL, for tests that start a second process or pool on it.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { admin: String, name: String },
}

impl TestStore {
    /// A second, independent pool on the same database (as another process would have).
    pub async fn reopen(&self) -> Store {
        Store::open(&self.url)
            .await
            .expect("the test database reopens")
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::PostgresDatabase { admin, name } => {
                let (admin, name) = (admin.clone(), name.clone());
                // Drop runs inside the test's runtime, which must not be blocked on itself: the
                // DROP gets a thread and a runtime of its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        let mut conn = PgConnection::connect(&admin).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await
                            .ok()
                    })
                })
                .join();
            }
        }
    }
}

/// A fresh SQLite database file, migrated.
pub async fn sqlite() -> TestStore {
    let path = std::env::temp_dir().join(format!("vendrome-test-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url)
        .await
        .expect("a SQLite test database opens");
    store.migrate().await.expect("the SQLite migrations apply");
    TestStore {
        store,
        url,
        cleanup: Cleanup::SqliteFile(path),
    }
}

/// A fresh PostgreSQL database, migrated; `None` (after saying so on stderr) when PostgreSQL is
/// unreachable outside CI.
pub async fn postgres() -> Option<TestStore> {
    let admin = postgres_admin_url();
    let mut conn = match connect(&admin).await {
        Ok(conn) => conn,
        Err(error) if !in_ci() => {
            eprintln!(
                "\n*** SKIPPED a PostgreSQL test: {admin} is unreachable ({error}). \
                 Start PostgreSQL or set VENDROME_TEST_DATABASE_URL to run it. ***\n"
            );
            return None;
        }
        Err(error) => panic!("CI=true and PostgreSQL at {admin} is unreachable: {error}"),
    };
    let template = ensure_template(&mut conn, &admin).await;
    let name = format!("vendrome_test_{}", uuid::Uuid::new_v4().simple());
    // Two CREATE DATABASE … TEMPLATE at once can collide on the template ("being accessed by
    // other users"); they succeed when retried.
    let mut attempt = 0;
    loop {
        let created = sqlx::query(&format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .execute(&mut conn)
        .await;
        match created {
            Ok(_) => break,
            Err(error) if attempt < 50 && error.to_string().contains("being accessed") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 + 20 * attempt)).await;
            }
            Err(error) => panic!("could not create test database {name}: {error}"),
        }
    }
    let url = database_url(&admin, &name);
    let store = Store::open(&url)
        .await
        .expect("the PostgreSQL test database opens");
    Some(TestStore {
        store,
        url,
        cleanup: Cleanup::PostgresDatabase { admin, name },
    })
}

async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    tokio::time::timeout(Duration::from_secs(5), options.connect())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
}

/// The migrated template for the current migration set, built if missing. An advisory lock
/// makes concurrent test processes build it once.
async fn ensure_template(conn: &mut PgConnection, admin: &str) -> String {
    let name = format!("vendrome_template_{}", migrate::fingerprint());
    sqlx::query("SELECT pg_advisory_lock(727274)")
        .execute(&mut *conn)
        .await
        .expect("advisory lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut *conn)
            .await
            .expect("pg_database is readable");
    if !exists {
        let building = format!("{name}_building");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
        ))
        .execute(&mut *conn)
        .await
        .expect("drop a half-built template");
        sqlx::query(&format!("CREATE DATABASE \"{building}\""))
            .execute(&mut *conn)
            .await
            .expect("create template");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&database_url(admin, &building))
            .await
            .expect("the template opens");
        let store = Store::from_db(crate::Db::Postgres(pool.clone()));
        store
            .migrate()
            .await
            .expect("the PostgreSQL migrations apply");
        pool.close().await;
        // A closed connection's server process may take a moment to leave the database, and
        // autovacuum may have just come in to tidy the catalogs the migrations touched: end any
        // such session and try again.
        let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"");
        let mut attempts = 0;
        while let Err(error) = sqlx::query(&rename).execute(&mut *conn).await {
            attempts += 1;
            assert!(attempts < 50, "publish the template: {error}");
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&building)
            .execute(&mut *conn)
            .await
            .expect("pg_stat_activity is readable");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(727274)")
        .execute(&mut *conn)
        .await
        .expect("advisory unlock");
    name
}

/// `admin` with its database name replaced by `database`.
fn database_url(admin: &str, database: &str) -> String {
    let (base, query) = admin
        .split_once('?')
        .map_or((admin, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_url_swaps_the_name() {
        assert_eq!(
            super::database_url("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            super::database_url("postgres://u@h/postgres?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            super::database_url("postgres://u@h", "t1"),
            "postgres://u@h/t1"
        );
    }
}
