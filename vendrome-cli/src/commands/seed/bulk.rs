//! Bulk loading of generated rows: `COPY … FROM STDIN` on PostgreSQL, multi-row `INSERT`s in
//! large transactions on SQLite. Rows bypass the ports on purpose (no outbox events, no
//! per-row transactions); whoever generates them keeps every counter exact.

use indicatif::ProgressBar;
use sqlx::QueryBuilder;
use uuid::Uuid;
use vendrome_core::time::Timestamp;
use vendrome_store::{Db, Store};

/// One value of a generated row.
#[derive(Debug, Clone)]
pub enum Val {
    Uuid(Uuid),
    Text(String),
    /// A SQL enum label or other static text.
    Label(&'static str),
    Int(i64),
    Bool(bool),
    At(Timestamp),
    Null,
}

/// How many bytes of COPY text are sent at a time.
const COPY_CHUNK: usize = 1 << 20;
/// How many rows a SQLite transaction holds.
const SQLITE_TX_ROWS: usize = 50_000;
/// SQLite's bound-parameter limit, with room to spare.
const SQLITE_MAX_PARAMS: usize = 30_000;

/// Loads `rows` into `table`; returns how many.
pub async fn load(
    store: &Store,
    table: &str,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Val>>,
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    match store.db() {
        Db::Postgres(pool) => {
            // As a restore does: the table's secondary indexes are dropped, the rows copied and
            // the indexes built again from their definitions, all in one transaction (so a
            // failure leaves the schema as it was). Building an index over all rows once costs
            // far less than maintaining it row by row.
            let mut tx = pool.begin().await?;
            sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
                .execute(&mut *tx)
                .await?;
            let indexes: Vec<(String, String)> = sqlx::query_as(
                "SELECT i.indexname::text, i.indexdef FROM pg_indexes i \
                 WHERE i.schemaname = current_schema() AND i.tablename = $1 \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            )
            .bind(table)
            .fetch_all(&mut *tx)
            .await?;
            for (name, _) in &indexes {
                sqlx::query(&format!("DROP INDEX \"{name}\""))
                    .execute(&mut *tx)
                    .await?;
            }
            let mut copy = tx
                .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
                .await?;
            let mut buf = String::with_capacity(COPY_CHUNK + 4096);
            let mut n = 0u64;
            for row in rows {
                copy_row(&mut buf, &row);
                n += 1;
                if buf.len() >= COPY_CHUNK {
                    copy.send(buf.as_bytes()).await?;
                    buf.clear();
                    bar.set_position(n);
                }
            }
            if !buf.is_empty() {
                copy.send(buf.as_bytes()).await?;
            }
            copy.finish().await?;
            bar.set_position(n);
            for (_, definition) in &indexes {
                sqlx::query(definition).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n)
        }
        Db::Sqlite(pool) => {
            let per_statement = (SQLITE_MAX_PARAMS / columns.len()).min(500);
            let head = format!("INSERT INTO {table} ({}) ", columns.join(", "));
            let mut tx = pool.begin().await?;
            let mut batch: Vec<Vec<Val>> = Vec::with_capacity(per_statement);
            let mut n = 0u64;
            let mut in_tx = 0usize;
            let mut rows = rows.peekable();
            while rows.peek().is_some() {
                batch.clear();
                batch.extend(rows.by_ref().take(per_statement));
                let mut query = QueryBuilder::new(&head);
                query.push_values(batch.drain(..), |mut b, row| {
                    for value in row {
                        match value {
                            Val::Uuid(v) => b.push_bind(v),
                            Val::Text(v) => b.push_bind(v),
                            Val::Label(v) => b.push_bind(v),
                            Val::Int(v) => b.push_bind(v),
                            Val::Bool(v) => b.push_bind(v),
                            Val::At(v) => b.push_bind(v),
                            Val::Null => b.push_bind(None::<String>),
                        };
                    }
                });
                let done = query.build().execute(&mut *tx).await?.rows_affected();
                n += done;
                in_tx += done as usize;
                bar.set_position(n);
                if in_tx >= SQLITE_TX_ROWS {
                    tx.commit().await?;
                    tx = pool.begin().await?;
                    in_tx = 0;
                }
            }
            tx.commit().await?;
            Ok(n)
        }
    }
}

/// Appends one row in COPY's text format.
fn copy_row(buf: &mut String, row: &[Val]) {
    use std::fmt::Write as _;
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            buf.push('\t');
        }
        match value {
            Val::Uuid(v) => write!(buf, "{v}").expect("String writes"),
            Val::Text(v) => escape(buf, v),
            Val::Label(v) => escape(buf, v),
            Val::Int(v) => write!(buf, "{v}").expect("String writes"),
            Val::Bool(v) => buf.push(if *v { 't' } else { 'f' }),
            Val::At(v) => write!(
                buf,
                "{}",
                v.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            )
            .expect("String writes"),
            Val::Null => buf.push_str("\\N"),
        }
    }
    buf.push('\n');
}

fn escape(buf: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_and_marks_nulls() {
        let mut buf = String::new();
        copy_row(
            &mut buf,
            &[
                Val::Text("a\tb\\c\nd".into()),
                Val::Null,
                Val::Bool(true),
                Val::Int(-3),
            ],
        );
        assert_eq!(buf, "a\\tb\\\\c\\nd\t\\N\tt\t-3\n");
    }
}
