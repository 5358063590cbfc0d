//! The two migration sets (`migrations/postgres`, `migrations/sqlite`), embedded in the binary,
//! and a runner that applies them one at a time so that callers can show progress.

use anyhow::Context as _;
use sqlx::migrate::{Migrate, Migration, Migrator};

use crate::db::Db;

static POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");

/// One migration and whether this database has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Postgres(_) => &POSTGRES,
        Db::Sqlite(_) => &SQLITE,
    }
}

fn up_migrations(db: &Db) -> impl Iterator<Item = &'static Migration> {
    migrator(db)
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
}

/// Every known migration, applied or not, oldest first.
pub async fn status(db: &Db) -> anyhow::Result<Vec<MigrationStatus>> {
    let applied = crate::with_db!(db, pool => {
        let mut conn = pool.acquire().await?;
        conn.ensure_migrations_table().await?;
        Ok::<_, anyhow::Error>(conn.list_applied_migrations().await?)
    })?;
    Ok(up_migrations(db)
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.iter().any(|a| a.version == m.version),
        })
        .collect())
}

/// How many migrations [`apply_pending`] would apply.
pub async fn pending_count(db: &Db) -> anyhow::Result<usize> {
    Ok(status(db).await?.iter().filter(|m| !m.applied).count())
}

/// Applies every pending migration in order, each in its own transaction, calling `on_applied`
/// after each. Holds the database's migration lock meanwhile, so that several processes starting
/// at once apply each migration exactly once. Refuses to run when an applied migration's file
/// has changed since (a shipped migration is never edited: add a new one).
pub async fn apply_pending(
    db: &Db,
    mut on_applied: impl FnMut(&MigrationStatus),
) -> anyhow::Result<usize> {
    let migrations: Vec<&Migration> = up_migrations(db).collect();
    crate::with_db!(db, pool => {
        let mut conn = pool.acquire().await?;
        conn.ensure_migrations_table().await?;
        conn.lock().await?;
        let result = async {
            if let Some(version) = conn.dirty_version().await? {
                anyhow::bail!("migration {version} was left half-applied; repair the database by hand");
            }
            let applied = conn.list_applied_migrations().await?;
            let mut count = 0;
            for migration in migrations {
                if let Some(done) = applied.iter().find(|a| a.version == migration.version) {
                    anyhow::ensure!(
                        done.checksum == migration.checksum,
                        "migration {} ({}) was changed after it was applied",
                        migration.version,
                        migration.description
                    );
                    continue;
                }
                conn.apply(migration)
                    .await
                    .with_context(|| format!("migration {} ({}) failed", migration.version, migration.description))?;
                count += 1;
                on_applied(&MigrationStatus {
                    version: migration.version,
                    description: migration.description.to_string(),
                    applied: true,
                });
            }
            Ok(count)
        }
        .await;
        conn.unlock().await?;
        result
    })
}

/// A digest of every migration of both sets: it changes whenever a migration is added, so test
/// templates built from an older set are never reused.
pub fn fingerprint() -> String {
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for migration in POSTGRES.iter().chain(SQLITE.iter()) {
        for byte in migration
            .checksum
            .iter()
            .chain(&migration.version.to_le_bytes())
        {
            digest = (digest ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{digest:016x}")
}
