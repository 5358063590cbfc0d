//! The posting writer on PostgreSQL, in one statement whatever the number of entries: data-
//! modifying CTEs over `unnest` of arrays (so the statement's text is the same for every posting
//! and is prepared once per connection) that create the accounts not yet there, then insert the
//! posting's row and, only when that row was inserted (`ON CONFLICT (idempotency_key) DO
//! NOTHING`), its entries and their balance deltas, so a key is still posted once.
//!
//! An account another transaction creates while the statement runs is in neither its snapshot
//! nor its own inserts (the insert finds the other's row and does nothing): the statement then
//! writes nothing and says so, and the writer reads the accounts' ids again and writes the
//! posting with them ([`WRITE_POSTING`]): two more statements, only in that race.
//!
//! The same CTEs ([`posting_ctes`]) also ride in a settlement's own statement
//! (`settlement_postgres.rs`), so that a settling payment's update, its order's move, its events
//! and its posting are one statement.
//!
//! SQLite keeps the statement-per-step writer in `ledger.rs`: it has no data-modifying CTEs, and
//! its statements cost no round trip.

use std::collections::HashMap;
use std::sync::LazyLock;

use futures::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;
use vendrome_core::ledger::{balance_delta, AccountCode, PostOutcome, Posting};
use vendrome_core::time::Timestamp;
use vendrome_core::SqlEnum as _;

use crate::ledger::LedgerWrites;

/// The CTEs that create the missing accounts (in code order, locking no existing row) and, when
/// every account is then known, write the posting's row and through it its entries and deltas
/// (each entry names its account by code); `ready.known` says whether every account was known,
/// `t` holds the posting's row when it was written (none when its key was already posted, or
/// when an account was missing). Parameters `$1`–`$18`, see [`bind_posting!`].
const POSTING_CTES: &str = "wanted AS ( \
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[]) \
        AS w(id, code, name, kind, owner, currency)), \
    existing AS (SELECT id, code FROM ledger_accounts WHERE code = ANY($2)), \
    created AS ( \
        INSERT INTO ledger_accounts (id, code, name, kind, owner_user_id, currency, balance, created_at) \
        SELECT id, code, name, kind::ledger_account_kind, owner, currency, 0, $7 FROM wanted \
        WHERE code NOT IN (SELECT code FROM existing) ORDER BY code \
        ON CONFLICT (code) DO NOTHING RETURNING id, code), \
    acc AS (SELECT id, code FROM existing UNION ALL SELECT id, code FROM created), \
    ready AS (SELECT COUNT(*) = cardinality($2::text[]) AS known FROM acc), \
    t AS ( \
        INSERT INTO ledger_transactions (id, idempotency_key, payment_transaction_id, description, created_at) \
        SELECT $8, $9, $10, $11, $7 FROM ready WHERE ready.known \
        ON CONFLICT (idempotency_key) DO NOTHING RETURNING id), \
    entries AS ( \
        INSERT INTO ledger_entries (id, ledger_transaction_id, account_id, direction, amount, currency, created_at) \
        SELECT x.id, t.id, acc.id, x.direction::ledger_direction, x.amount, x.currency, $7 \
        FROM t CROSS JOIN unnest($12::uuid[], $13::text[], $14::text[], $15::int8[], $16::text[]) \
        AS x(id, code, direction, amount, currency) JOIN acc ON acc.code = x.code), \
    deltas AS ( \
        INSERT INTO ledger_balance_deltas (id, account_id, delta, created_at) \
        SELECT y.id, acc.id, y.delta, $7 \
        FROM t CROSS JOIN unnest($17::uuid[], $13::text[], $18::int8[]) AS y(id, code, delta) \
        JOIN acc ON acc.code = y.code)";

/// [`POSTING_CTES`] with every parameter's number raised by `offset`, to follow another
/// statement's `offset` parameters in one statement.
pub(crate) fn posting_ctes(offset: usize) -> String {
    let mut out = String::with_capacity(POSTING_CTES.len() + 32);
    let mut rest = POSTING_CTES;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n: usize = rest[..digits].parse().expect("a parameter's number");
        out.push_str(&(n + offset).to_string());
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The posting alone: answers whether every account was known, and 1 when the posting was
/// written (0 when its key was already posted, or when an account was missing).
static POST_BY_CODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {} SELECT (SELECT known FROM ready), (SELECT COUNT(*) FROM t)",
        posting_ctes(0)
    )
});

/// A posting's entries in account-code order, and the arrays [`POSTING_CTES`] and
/// [`WRITE_POSTING`] take.
pub(crate) struct PostingArgs<'a> {
    pub posting: &'a Posting,
    pub at: Timestamp,
    pub codes: Vec<&'a AccountCode>,
    pub names: Vec<String>,
    pub entry_codes: Vec<String>,
    pub directions: Vec<String>,
    pub amounts: Vec<i64>,
    pub currencies: Vec<String>,
    pub deltas: Vec<i64>,
}

impl<'a> PostingArgs<'a> {
    pub fn new(posting: &'a Posting, at: Timestamp) -> Self {
        let mut entries: Vec<_> = posting.entries().iter().collect();
        entries.sort_by(|a, b| a.account.cmp(&b.account));
        let mut codes: Vec<&AccountCode> = entries.iter().map(|e| &e.account).collect();
        codes.dedup();
        Self {
            posting,
            at,
            names: codes.iter().map(|c| c.as_str().to_owned()).collect(),
            codes,
            entry_codes: entries
                .iter()
                .map(|e| e.account.as_str().to_owned())
                .collect(),
            directions: entries
                .iter()
                .map(|e| e.direction.as_str().to_owned())
                .collect(),
            amounts: entries.iter().map(|e| e.amount.amount).collect(),
            currencies: entries
                .iter()
                .map(|e| e.amount.currency.as_str().to_owned())
                .collect(),
            deltas: entries
                .iter()
                .map(|e| balance_delta(e.account.kind(), e.direction, e.amount.amount))
                .collect(),
        }
    }

    /// Fresh ids, one an entry.
    pub fn entry_ids(&self) -> Vec<Uuid> {
        self.amounts.iter().map(|_| Uuid::now_v7()).collect()
    }

    /// Writes the posting by account id after [`POSTING_CTES`] found an account missing (one
    /// another transaction created and committed after its snapshot): reads every id afresh.
    /// Answers 1 when it was written, 0 when its key was already posted.
    pub async fn write_by_ids(&self, conn: &mut PgConnection) -> sqlx::Result<i64> {
        let ids: HashMap<String, Uuid> = sqlx::query_as(ACCOUNT_IDS)
            .bind(&self.names)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, code): (Uuid, String)| (code, id))
            .collect();
        let accounts = self
            .entry_codes
            .iter()
            .map(|code| ids.get(code).copied().ok_or(sqlx::Error::RowNotFound))
            .collect::<sqlx::Result<Vec<Uuid>>>()?;
        sqlx::query_scalar(WRITE_POSTING)
            .bind(self.posting.id().as_uuid())
            .bind(self.posting.idempotency_key())
            .bind(self.posting.payment_id().map(|p| p.as_uuid()))
            .bind(self.posting.description())
            .bind(self.at)
            .bind(self.entry_ids())
            .bind(&accounts)
            .bind(&self.directions)
            .bind(&self.amounts)
            .bind(&self.currencies)
            .bind(self.entry_ids())
            .bind(&self.deltas)
            .fetch_one(&mut *conn)
            .await
    }
}

/// Binds [`PostingArgs`] to the parameters of [`POSTING_CTES`] (`$1`–`$18`, after any the query
/// already has).
macro_rules! bind_posting {
    ($query:expr, $args:expr) => {{
        let args = $args;
        $query
            .bind(
                args.codes
                    .iter()
                    .map(|_| uuid::Uuid::now_v7())
                    .collect::<Vec<_>>(),
            )
            .bind(&args.names)
            .bind(args.codes.iter().map(|c| c.name()).collect::<Vec<_>>())
            .bind(
                args.codes
                    .iter()
                    .map(|c| vendrome_core::SqlEnum::as_str(c.kind()).to_owned())
                    .collect::<Vec<_>>(),
            )
            .bind(
                args.codes
                    .iter()
                    .map(|c| c.owner().map(|u| u.as_uuid()))
                    .collect::<Vec<_>>(),
            )
            .bind(
                args.codes
                    .iter()
                    .map(|c| c.currency().as_str().to_owned())
                    .collect::<Vec<_>>(),
            )
            .bind(args.at)
            .bind(args.posting.id().as_uuid())
            .bind(args.posting.idempotency_key())
            .bind(args.posting.payment_id().map(|p| p.as_uuid()))
            .bind(args.posting.description())
            .bind(args.entry_ids())
            .bind(&args.entry_codes)
            .bind(&args.directions)
            .bind(&args.amounts)
            .bind(&args.currencies)
            .bind(args.entry_ids())
            .bind(&args.deltas)
    }};
}
pub(crate) use bind_posting;

const ACCOUNT_IDS: &str = "SELECT id, code FROM ledger_accounts WHERE code = ANY($1)";

/// The posting's row, then its entries and their balance deltas (by account id) only if the row
/// was inserted; answers 1 when it was, 0 when the key was already posted.
const WRITE_POSTING: &str = "WITH t AS ( \
        INSERT INTO ledger_transactions (id, idempotency_key, payment_transaction_id, description, created_at) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id), \
    e AS ( \
        INSERT INTO ledger_entries (id, ledger_transaction_id, account_id, direction, amount, currency, created_at) \
        SELECT x.id, t.id, x.account_id, x.direction::ledger_direction, x.amount, x.currency, $5 \
        FROM t, unnest($6::uuid[], $7::uuid[], $8::text[], $9::int8[], $10::text[]) \
        AS x(id, account_id, direction, amount, currency)), \
    d AS ( \
        INSERT INTO ledger_balance_deltas (id, account_id, delta, created_at) \
        SELECT y.id, y.account_id, y.delta, $5 \
        FROM t, unnest($11::uuid[], $7::uuid[], $12::int8[]) AS y(id, account_id, delta)) \
    SELECT COUNT(*) FROM t";

impl LedgerWrites for PgConnection {
    fn write_posting<'a>(
        &'a mut self,
        posting: &'a Posting,
        at: Timestamp,
    ) -> BoxFuture<'a, sqlx::Result<PostOutcome>> {
        Box::pin(async move {
            let args = PostingArgs::new(posting, at);
            let (known, written): (bool, i64) = bind_posting!(sqlx::query_as(&POST_BY_CODE), &args)
                .fetch_one(&mut *self)
                .await?;
            let written = if known {
                written
            } else {
                args.write_by_ids(self).await?
            };
            Ok(if written == 1 {
                PostOutcome::Posted
            } else {
                PostOutcome::AlreadyPosted
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::posting_ctes;

    /// The parameters' numbers, in the order they appear.
    fn parameters(sql: &str) -> Vec<usize> {
        sql.split('$')
            .skip(1)
            .map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn shifted_ctes_number_their_parameters_after_the_others() {
        let own = parameters(&posting_ctes(0));
        let shifted = parameters(&posting_ctes(17));
        assert_eq!(own.iter().min(), Some(&1));
        assert_eq!(own.iter().max(), Some(&18));
        assert_eq!(shifted, own.iter().map(|n| n + 17).collect::<Vec<_>>());
        // Only the numbers change.
        let strip = |sql: &str| sql.replace(|c: char| c.is_ascii_digit(), "");
        assert_eq!(strip(&posting_ctes(17)), strip(&posting_ctes(0)));
    }
}
