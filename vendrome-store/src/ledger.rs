//! [`LedgerRepo`] on both databases, and the posting writer that payment settlement shares.
//!
//! A posting is written once per idempotency key: its `ledger_transactions` row is inserted with
//! `ON CONFLICT (idempotency_key) DO NOTHING`, and only the transaction that inserted it
//! writes entries and moves balances. Accounts are created on first use from their code
//! (`ON CONFLICT (code) DO NOTHING`, which locks no existing row), in account-code order.
//! Entries are never updated or deleted. This module's writer (SQLite) takes one statement per
//! step; PostgreSQL's (`ledger_postgres.rs`) does the same in two statements.
//!
//! Balances do not move in the posting's transaction: each entry appends its [`balance_delta`]
//! to `ledger_balance_deltas`, and [`LedgerRepo::fold_balances`] (a task of `vendrome serve`,
//! every second) deletes a batch of them and adds their sums to `ledger_accounts.balance` in one
//! transaction, updating accounts in id order. Every payment posts to the same clearing and fee
//! accounts, so updating their rows in each settlement would make concurrent settlements wait
//! for one another's commit; appended rows make them independent. An account's balance, as every
//! read and the check compute it, is its stored balance plus its deltas not yet folded
//! ([`EFFECTIVE_BALANCE`]), the same number before and after any fold.

use std::collections::HashMap;

use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::SqliteConnection;
use uuid::Uuid;
use vendrome_core::enums::{LedgerAccountKind, LedgerDirection};
use vendrome_core::ids::{LedgerTransactionId, PaymentId};
use vendrome_core::ledger::{
    balance_delta, Account, AccountCode, LedgerCheck, LedgerRepo, PostOutcome, Posting, StoredEntry,
};
use vendrome_core::money::Currency;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Dialect, Store};

/// Writes a posting inside a transaction another port method opened.
pub(crate) trait LedgerWrites {
    /// Inserts the posting, its entries and their balance deltas, unless its key was posted.
    fn write_posting<'a>(
        &'a mut self,
        posting: &'a Posting,
        at: Timestamp,
    ) -> BoxFuture<'a, sqlx::Result<PostOutcome>>;
}

const INSERT_TRANSACTION: &str = "INSERT INTO ledger_transactions \
    (id, idempotency_key, payment_transaction_id, description, created_at) VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT (idempotency_key) DO NOTHING";

/// `n` rows of `width` numbered parameters: `($1, $2), ($3, $4)`.
fn value_rows(n: usize, width: usize) -> String {
    (0..n)
        .map(|row| {
            let params: Vec<String> = (1..=width)
                .map(|c| format!("${}", row * width + c))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates the accounts that do not exist yet (balance 0), locking none that does: seven
/// parameters a row.
fn create_accounts(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|r| {
            let p = |c: usize| format!("${}", r * 7 + c);
            format!(
                "({}, {}, {}, {}, {}, {}, 0, {})",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7)
            )
        })
        .collect();
    format!(
        "INSERT INTO ledger_accounts (id, code, name, kind, owner_user_id, currency, balance, created_at) \
         VALUES {} ON CONFLICT (code) DO NOTHING",
        rows.join(", ")
    )
}

/// `$1, $2, …, $n`.
fn params(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_entries(n: usize) -> String {
    format!(
        "INSERT INTO ledger_entries (id, ledger_transaction_id, account_id, direction, amount, currency, created_at) \
         VALUES {}",
        value_rows(n, 7)
    )
}

fn insert_deltas(n: usize) -> String {
    format!(
        "INSERT INTO ledger_balance_deltas (id, account_id, delta, created_at) VALUES {}",
        value_rows(n, 4)
    )
}

macro_rules! impl_ledger_writes {
    ($conn:ty) => {
        impl LedgerWrites for $conn {
            fn write_posting<'a>(
                &'a mut self,
                posting: &'a Posting,
                at: Timestamp,
            ) -> BoxFuture<'a, sqlx::Result<PostOutcome>> {
                Box::pin(async move {
                    let inserted = sqlx::query(INSERT_TRANSACTION)
                        .bind(posting.id().as_uuid())
                        .bind(posting.idempotency_key())
                        .bind(posting.payment_id().map(|p| p.as_uuid()))
                        .bind(posting.description())
                        .bind(at)
                        .execute(&mut *self)
                        .await?
                        .rows_affected();
                    if inserted == 0 {
                        return Ok(PostOutcome::AlreadyPosted);
                    }
                    let mut entries: Vec<_> = posting.entries().iter().collect();
                    entries.sort_by(|a, b| a.account.cmp(&b.account));
                    let mut codes: Vec<&AccountCode> = entries.iter().map(|e| &e.account).collect();
                    codes.dedup();
                    let sql = create_accounts(codes.len());
                    let mut create = sqlx::query(&sql);
                    for code in &codes {
                        create = create
                            .bind(Uuid::now_v7())
                            .bind(code.as_str())
                            .bind(code.name())
                            .bind(DbEnum(code.kind()))
                            .bind(code.owner().map(|u| u.as_uuid()))
                            .bind(code.currency().as_str().to_owned())
                            .bind(at);
                    }
                    create.execute(&mut *self).await?;
                    let sql = format!(
                        "SELECT id, code FROM ledger_accounts WHERE code IN ({})",
                        params(codes.len())
                    );
                    let mut select = sqlx::query_as::<_, (Uuid, String)>(&sql);
                    for code in &codes {
                        select = select.bind(code.as_str());
                    }
                    let ids: HashMap<String, Uuid> = select
                        .fetch_all(&mut *self)
                        .await?
                        .into_iter()
                        .map(|(id, code)| (code, id))
                        .collect();
                    let account = |code: &AccountCode| {
                        ids.get(code.as_str())
                            .copied()
                            .ok_or_else(|| sqlx::Error::RowNotFound)
                    };
                    let sql = insert_entries(entries.len());
                    let mut insert = sqlx::query(&sql);
                    for entry in &entries {
                        insert = insert
                            .bind(Uuid::now_v7())
                            .bind(posting.id().as_uuid())
                            .bind(account(&entry.account)?)
                            .bind(DbEnum(entry.direction))
                            .bind(entry.amount.amount)
                            .bind(entry.amount.currency.as_str())
                            .bind(at);
                    }
                    insert.execute(&mut *self).await?;
                    let sql = insert_deltas(entries.len());
                    let mut deltas = sqlx::query(&sql);
                    for entry in &entries {
                        let kind = entry.account.kind();
                        deltas = deltas
                            .bind(Uuid::now_v7())
                            .bind(account(&entry.account)?)
                            .bind(balance_delta(kind, entry.direction, entry.amount.amount))
                            .bind(at);
                    }
                    deltas.execute(&mut *self).await?;
                    Ok(PostOutcome::Posted)
                })
            }
        }
    };
}

// PostgreSQL's writer is in `ledger_postgres.rs`: two statements for the whole posting.
impl_ledger_writes!(SqliteConnection);

fn currency(raw: &str) -> Result<Currency> {
    Currency::parse(raw.trim())
        .map_err(|_| Error::Unexpected(anyhow::anyhow!("stored currency `{raw}` is not valid")))
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    code: String,
    kind: DbEnum<LedgerAccountKind>,
    currency: String,
    balance: i64,
    created_at: Timestamp,
}

impl TryFrom<AccountRow> for Account {
    type Error = Error;
    fn try_from(r: AccountRow) -> Result<Self> {
        let code = AccountCode::parse(&r.code).ok_or_else(|| {
            Error::Unexpected(anyhow::anyhow!(
                "stored account code `{}` is not valid",
                r.code
            ))
        })?;
        Ok(Account {
            code,
            kind: r.kind.0,
            currency: currency(&r.currency)?,
            balance: r.balance,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: Uuid,
    transaction_id: Uuid,
    idempotency_key: String,
    description: String,
    payment_id: Option<Uuid>,
    direction: DbEnum<LedgerDirection>,
    amount: i64,
    currency: String,
    created_at: Timestamp,
}

impl TryFrom<EntryRow> for StoredEntry {
    type Error = Error;
    fn try_from(r: EntryRow) -> Result<Self> {
        Ok(StoredEntry {
            transaction_id: LedgerTransactionId::from_uuid(r.transaction_id),
            idempotency_key: r.idempotency_key,
            description: r.description,
            payment_id: r.payment_id.map(PaymentId::from_uuid),
            direction: r.direction.0,
            amount: r.amount,
            currency: currency(&r.currency)?,
            created_at: r.created_at,
        })
    }
}

const ENTRY_COLUMNS: &str = "e.id, t.id AS transaction_id, t.idempotency_key, t.description, \
    t.payment_transaction_id AS payment_id, e.direction, e.amount, e.currency, e.created_at";

/// An account's balance (`a` the account): the stored one plus its deltas not yet folded.
pub(crate) const EFFECTIVE_BALANCE: &str = "CAST(a.balance + COALESCE((SELECT SUM(d.delta) \
    FROM ledger_balance_deltas d WHERE d.account_id = a.id), 0) AS BIGINT)";

/// How many payments one query of [`LedgerRepo::postings_for_payments`] names (SQLite allows
/// at most 32,766 parameters in a statement, older builds 999).
const PAYMENTS_PER_QUERY: usize = 500;

/// An entry's signed effect on its account's balance, in SQL (`a` the account, `e` the entry).
const SIGNED_AMOUNT: &str = "CASE WHEN (a.kind IN ('asset', 'expense')) = (e.direction = 'debit') \
    THEN e.amount ELSE -e.amount END";

/// Takes a batch of deltas (`$1` at most) off the table, answering each one's account and amount.
///
/// PostgreSQL: deltas another folder is taking are skipped, not waited for, and a batch is taken
/// in no order: walking the key from its start would step over every delta folded since the last
/// vacuum (millions in a busy minute), where a scan of the table prunes the pages it reads. The
/// batch's rows are gathered once (`ARRAY(…)`, run a single time) and deleted by their addresses,
/// so no plan joins the table with its own batch: the table is emptied every second, and a plan
/// made after it was analysed empty did that join as a loop, the batch's scan run again for
/// every delta (466 ms for 1,230 deltas, seen in the payments benchmark; the test below).
/// SQLite: one writer at a time.
fn fold_sql(dialect: Dialect) -> &'static str {
    dialect.pick(
        "DELETE FROM ledger_balance_deltas WHERE ctid = ANY(ARRAY( \
         SELECT ctid FROM ledger_balance_deltas LIMIT $1 FOR UPDATE SKIP LOCKED)) \
         RETURNING account_id, delta",
        "DELETE FROM ledger_balance_deltas WHERE id IN ( \
         SELECT id FROM ledger_balance_deltas ORDER BY id LIMIT $1) RETURNING account_id, delta",
    )
}

#[async_trait]
impl LedgerRepo for Store {
    #[tracing::instrument(skip_all, fields(key = posting.idempotency_key()))]
    async fn post(&self, posting: &Posting, at: Timestamp) -> Result<PostOutcome> {
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let outcome = tx.write_posting(posting, at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(outcome)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn accounts(
        &self,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Account>, Option<Cursor>)> {
        let after: String = after.map(Cursor::decode).transpose()?.unwrap_or_default();
        let rows: Vec<AccountRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&format!(
                "SELECT a.code, a.kind, a.currency, {EFFECTIVE_BALANCE} AS balance, a.created_at \
                 FROM ledger_accounts a WHERE a.code > $1 ORDER BY a.code LIMIT $2",
            ))
            .bind(after)
            .bind(limit.probe())
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        let page = Page::from_probe(rows, limit, |r| r.code.clone());
        let accounts = page
            .items
            .into_iter()
            .map(Account::try_from)
            .collect::<Result<_>>()?;
        Ok((accounts, page.next_cursor))
    }

    #[tracing::instrument(skip(self))]
    async fn account(&self, code: &AccountCode) -> Result<Option<Account>> {
        let row: Option<AccountRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&format!(
                "SELECT a.code, a.kind, a.currency, {EFFECTIVE_BALANCE} AS balance, a.created_at \
                 FROM ledger_accounts a WHERE a.code = $1",
            ))
            .bind(code.as_str())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        row.map(Account::try_from).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn entries(
        &self,
        code: &AccountCode,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<StoredEntry>, Option<Cursor>)> {
        let after: Option<(Timestamp, Uuid)> = after.map(Cursor::decode).transpose()?;
        let (from_at, from_id) = after.unwrap_or((Timestamp::UNIX_EPOCH, Uuid::nil()));
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries e \
             JOIN ledger_transactions t ON t.id = e.ledger_transaction_id \
             JOIN ledger_accounts a ON a.id = e.account_id \
             WHERE a.code = $1 AND (e.created_at, e.id) > ($2, $3) \
             ORDER BY e.created_at, e.id LIMIT $4"
        );
        let rows: Vec<EntryRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(code.as_str())
                .bind(from_at)
                .bind(from_id)
                .bind(limit.probe())
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        let page = Page::from_probe(rows, limit, |r| (r.created_at, r.id));
        let entries = page
            .items
            .into_iter()
            .map(StoredEntry::try_from)
            .collect::<Result<_>>()?;
        Ok((entries, page.next_cursor))
    }

    #[tracing::instrument(skip(self))]
    async fn postings_for_payment(&self, payment: PaymentId) -> Result<Vec<StoredEntry>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries e \
             JOIN ledger_transactions t ON t.id = e.ledger_transaction_id \
             WHERE t.payment_transaction_id = $1 ORDER BY e.created_at, e.id"
        );
        let rows: Vec<EntryRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(payment.as_uuid()).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(StoredEntry::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(payments = payments.len()))]
    async fn postings_for_payments(&self, payments: &[PaymentId]) -> Result<Vec<StoredEntry>> {
        let mut found = Vec::new();
        for chunk in payments.chunks(PAYMENTS_PER_QUERY) {
            let sql = format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries e \
                 JOIN ledger_transactions t ON t.id = e.ledger_transaction_id \
                 WHERE t.payment_transaction_id IN ({}) \
                 ORDER BY t.payment_transaction_id, e.created_at, e.id",
                params(chunk.len())
            );
            let rows: Vec<EntryRow> = with_db!(&self.db, pool => {
                let mut query = sqlx::query_as(&sql);
                for payment in chunk {
                    query = query.bind(payment.as_uuid());
                }
                query.fetch_all(pool).await
            })
            .or_unexpected()?;
            for row in rows {
                found.push(StoredEntry::try_from(row)?);
            }
        }
        Ok(found)
    }

    #[tracing::instrument(skip(self))]
    async fn fold_balances(&self, limit: u32) -> Result<u64> {
        let folded: Vec<(Uuid, i64)> = with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            let folded: Vec<(Uuid, i64)> = sqlx::query_as(fold_sql(dialect))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            let mut sums: std::collections::BTreeMap<Uuid, i64> = std::collections::BTreeMap::new();
            for (account, delta) in &folded {
                *sums.entry(*account).or_default() += delta;
            }
            // In account id order, so two folders lock shared accounts in the same order.
            for (account, sum) in sums {
                sqlx::query("UPDATE ledger_accounts SET balance = balance + $2 WHERE id = $1")
                    .bind(account)
                    .bind(sum)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(folded)
        })
        .or_unexpected()?;
        Ok(folded.len() as u64)
    }

    #[tracing::instrument(skip(self))]
    async fn check(&self) -> Result<LedgerCheck> {
        let counts = "SELECT (SELECT COUNT(*) FROM ledger_transactions), \
            (SELECT COUNT(*) FROM ledger_entries), (SELECT COUNT(*) FROM ledger_accounts)";
        let debits = "CAST(SUM(CASE WHEN direction = 'debit' THEN amount ELSE 0 END) AS BIGINT)";
        let credits = "CAST(SUM(CASE WHEN direction = 'credit' THEN amount ELSE 0 END) AS BIGINT)";
        let currencies = format!(
            "SELECT currency, {debits}, {credits} FROM ledger_entries GROUP BY currency \
             HAVING {debits} <> {credits} ORDER BY currency"
        );
        let transactions = format!(
            "SELECT DISTINCT ledger_transaction_id FROM ledger_entries \
             GROUP BY ledger_transaction_id, currency HAVING {debits} <> {credits}"
        );
        let computed = format!("CAST(COALESCE(SUM({SIGNED_AMOUNT}), 0) AS BIGINT)");
        // One statement, so the stored balances, the deltas not yet folded and the entries are
        // read from one snapshot (a fold moves deltas into balances in one transaction).
        let balances = format!(
            "SELECT code, stored, computed FROM (SELECT a.code, {EFFECTIVE_BALANCE} AS stored, \
             (SELECT {computed} FROM ledger_entries e WHERE e.account_id = a.id) AS computed \
             FROM ledger_accounts a) b WHERE stored <> computed ORDER BY code"
        );
        type Found = (
            (i64, i64, i64),
            Vec<(String, i64, i64)>,
            Vec<(Uuid,)>,
            Vec<(String, i64, i64)>,
        );
        let found: Found = with_db!(&self.db, pool => {
            let counts: (i64, i64, i64) = sqlx::query_as(counts).fetch_one(pool).await?;
            let currencies = sqlx::query_as(&currencies).fetch_all(pool).await?;
            let transactions = sqlx::query_as(&transactions).fetch_all(pool).await?;
            let balances = sqlx::query_as(&balances).fetch_all(pool).await?;
            Ok::<_, sqlx::Error>((counts, currencies, transactions, balances))
        })
        .or_unexpected()?;
        let ((transactions, entries, accounts), currencies, unbalanced, mismatches) = found;
        Ok(LedgerCheck {
            transactions: transactions as u64,
            entries: entries as u64,
            accounts: accounts as u64,
            unbalanced_currencies: currencies
                .into_iter()
                .map(|(c, d, k)| Ok((currency(&c)?, i128::from(d), i128::from(k))))
                .collect::<Result<_>>()?,
            unbalanced_transactions: unbalanced
                .into_iter()
                .map(|(id,)| LedgerTransactionId::from_uuid(id))
                .collect(),
            balance_mismatches: mismatches,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::plans::{database, executed};
    use crate::Dialect;

    /// A fold takes its batch in one pass whatever statistics its generic plan was made from;
    /// here, the table analysed right after a fold emptied it, which is its usual state.
    #[tokio::test]
    async fn a_fold_reads_about_its_batch_after_the_table_was_analysed_empty() {
        let Some((_db, pool)) = database().await else {
            return;
        };
        let pool = &pool;
        let add = |count: i64| {
            sqlx::query(
                "INSERT INTO ledger_balance_deltas (id, account_id, delta, created_at) \
                 SELECT gen_random_uuid(), gen_random_uuid(), 1, now() FROM generate_series(1, $1)",
            )
            .bind(count)
            .execute(pool)
        };
        sqlx::query("ALTER TABLE ledger_balance_deltas SET (autovacuum_enabled = false)")
            .execute(pool)
            .await
            .unwrap();
        add(3_000).await.unwrap();
        sqlx::query("DELETE FROM ledger_balance_deltas")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("ANALYZE ledger_balance_deltas")
            .execute(pool)
            .await
            .unwrap();
        add(3_000).await.unwrap();

        let fold = executed(pool, super::fold_sql(Dialect::Postgres), "(10000)").await;
        assert_eq!(fold.rows, 3_000, "{:#}", fold.plan);
        // ~12,000 pages: four a delta. The earlier statement (`id IN (…)`) read 4.6 M.
        assert!(fold.pages < 15_000, "{} pages: {:#}", fold.pages, fold.plan);
    }
}
