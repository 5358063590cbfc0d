//! The connection pool of either database, and the macro that runs one body of code against
//! whichever it is.
//!
//! Both stores share one implementation of every port: the SQL is written once in the subset
//! both databases speak (numbered `$n` parameters, `RETURNING`, `ON CONFLICT`), values are bound
//! with types both drivers encode (UUIDs are `uuid` in PostgreSQL and 16-byte BLOBs in SQLite,
//! times `timestamptz` and RFC 3339 TEXT), and [`with_db!`](crate::with_db) type-checks the body
//! once per driver. Where the dialects differ the body asks [`Dialect::pick`].

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// A pool on one of the two supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Which SQL dialect a body runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The PostgreSQL or the SQLite spelling of a statement.
    pub fn pick(self, postgres: &'static str, sqlite: &'static str) -> &'static str {
        match self {
            Dialect::Postgres => postgres,
            Dialect::Sqlite => sqlite,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool (and optionally `$dialect` to its
/// [`Dialect`]), and awaits it. The body is compiled once per database driver, inside an async
/// block: a `?` in it ends the body, not the enclosing function.
#[macro_export]
#[doc(hidden)]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::with_db!($db, $pool, _dialect => $body)
    };
    ($db:expr, $pool:ident, $dialect:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::db::Dialect::Postgres;
                async { $body }.await
            }
            $crate::db::Db::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::db::Dialect::Sqlite;
                async { $body }.await
            }
        }
    };
}

/// How many connections a pool may open.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize(pub u32);

impl Default for PoolSize {
    fn default() -> Self {
        Self(16)
    }
}

impl Db {
    /// Opens a pool from a `postgres://…` or `sqlite://…` URL. A SQLite file is created when
    /// missing and opened in WAL mode with foreign keys enforced.
    pub async fn connect(url: &str, size: PoolSize) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .context("the PostgreSQL URL is not valid")?
                // Short OLTP statements: compiling one to machine code costs more than it
                // saves, and PostgreSQL's JIT would do so whenever an estimate runs high.
                // Every statement is prepared once per connection and reused; planning one
                // afresh per execution (a post page joins eight tables) costs several times
                // its execution, so the generic plan is used from the first run.
                .options([("jit", "off"), ("plan_cache_mode", "force_generic_plan")]);
            let pool = PgPoolOptions::new()
                .max_connections(size.0)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .context("could not connect to PostgreSQL")?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options =
                SqliteConnectOptions::from_str(url).context("the SQLite URL is not valid")?;
            if !url.contains(":memory:") && !url.contains("mode=memory") {
                owner_only(options.get_filename())?;
            }
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(size.0)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .context("could not open the SQLite database")?;
            Ok(Db::Sqlite(pool))
        } else {
            anyhow::bail!(
                "the database URL must start with postgres:// or sqlite: (got `{}`)",
                redact(url)
            )
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres(_) => Dialect::Postgres,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// One round trip to the database.
    pub async fn ping(&self) -> sqlx::Result<()> {
        with_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

/// Creates the SQLite database file readable and writable by its owner only (0600), or narrows
/// an existing one to that. SQLite gives its WAL and shared-memory files the database file's
/// mode, so they are 0600 too. In-memory databases have no file.
fn owner_only(path: &std::path::Path) -> anyhow::Result<()> {
    let name = path.to_string_lossy();
    if name.is_empty() || name.starts_with("file:") {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("could not create the SQLite file {}", path.display()))?;
        for file in [
            path.to_path_buf(),
            std::path::PathBuf::from(format!("{}-wal", path.display())),
            std::path::PathBuf::from(format!("{}-shm", path.display())),
        ] {
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("could not restrict {}", file.display()))?;
            }
        }
    }
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
