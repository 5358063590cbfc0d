//! The posting writer on PostgreSQL, in two statements whatever the number of entries: one that
//! creates the accounts not yet there and answers every account's id, and one that inserts the
//! posting's row, its entries and their balance deltas together (data-modifying CTEs over
//! `unnest` of arrays, so the statement's text is the same for every posting and is prepared
//! once per connection). The entries and deltas are inserted only when the posting's row was
//! (`ON CONFLICT (idempotency_key) DO NOTHING`), so a key is still posted once.
//!
//! SQLite keeps the statement-per-step writer in `ledger.rs`: it has no data-modifying CTEs, and
//! its statements cost no round trip.

use std::collections::HashMap;

use futures::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;
use vendrome_core::ledger::{balance_delta, AccountCode, PostOutcome, Posting};
use vendrome_core::time::Timestamp;
use vendrome_core::SqlEnum as _;

use crate::ledger::LedgerWrites;

/// Creates the missing accounts (in code order, locking no existing row) and answers the id of
/// every one asked for: those this statement created, and those that were there before it. An
/// account another transaction creates while this statement runs is not in its snapshot; the
/// caller reads those again ([`ACCOUNT_IDS`]).
const RESOLVE_ACCOUNTS: &str = "WITH wanted AS ( \
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[]) \
        AS w(id, code, name, kind, owner, currency)), \
    created AS ( \
        INSERT INTO ledger_accounts (id, code, name, kind, owner_user_id, currency, balance, created_at) \
        SELECT id, code, name, kind::ledger_account_kind, owner, currency, 0, $7 FROM wanted ORDER BY code \
        ON CONFLICT (code) DO NOTHING RETURNING id, code) \
    SELECT id, code FROM created \
    UNION ALL SELECT id, code FROM ledger_accounts WHERE code = ANY($2)";

const ACCOUNT_IDS: &str = "SELECT id, code FROM ledger_accounts WHERE code = ANY($1)";

/// The posting's row, then its entries and their balance deltas only if the row was inserted;
/// answers 1 when it was, 0 when the key was already posted.
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
            let mut entries: Vec<_> = posting.entries().iter().collect();
            entries.sort_by(|a, b| a.account.cmp(&b.account));
            let mut codes: Vec<&AccountCode> = entries.iter().map(|e| &e.account).collect();
            codes.dedup();
            let names: Vec<String> = codes.iter().map(|c| c.as_str().to_owned()).collect();
            let rows: Vec<(Uuid, String)> = sqlx::query_as(RESOLVE_ACCOUNTS)
                .bind(codes.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
                .bind(&names)
                .bind(codes.iter().map(|c| c.name()).collect::<Vec<_>>())
                .bind(
                    codes
                        .iter()
                        .map(|c| c.kind().as_str().to_owned())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    codes
                        .iter()
                        .map(|c| c.owner().map(|u| u.as_uuid()))
                        .collect::<Vec<_>>(),
                )
                .bind(
                    codes
                        .iter()
                        .map(|c| c.currency().as_str().to_owned())
                        .collect::<Vec<_>>(),
                )
                .bind(at)
                .fetch_all(&mut *self)
                .await?;
            let mut ids: HashMap<String, Uuid> =
                rows.into_iter().map(|(id, code)| (code, id)).collect();
            if ids.len() < names.len() {
                // Created and committed by another transaction after this statement's snapshot.
                let rows: Vec<(Uuid, String)> = sqlx::query_as(ACCOUNT_IDS)
                    .bind(&names)
                    .fetch_all(&mut *self)
                    .await?;
                ids.extend(rows.into_iter().map(|(id, code)| (code, id)));
            }
            let account = |code: &AccountCode| {
                ids.get(code.as_str())
                    .copied()
                    .ok_or(sqlx::Error::RowNotFound)
            };
            let accounts = entries
                .iter()
                .map(|e| account(&e.account))
                .collect::<sqlx::Result<Vec<Uuid>>>()?;
            let written: i64 = sqlx::query_scalar(WRITE_POSTING)
                .bind(posting.id().as_uuid())
                .bind(posting.idempotency_key())
                .bind(posting.payment_id().map(|p| p.as_uuid()))
                .bind(posting.description())
                .bind(at)
                .bind(entries.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
                .bind(&accounts)
                .bind(
                    entries
                        .iter()
                        .map(|e| e.direction.as_str().to_owned())
                        .collect::<Vec<_>>(),
                )
                .bind(entries.iter().map(|e| e.amount.amount).collect::<Vec<_>>())
                .bind(
                    entries
                        .iter()
                        .map(|e| e.amount.currency.as_str().to_owned())
                        .collect::<Vec<_>>(),
                )
                .bind(entries.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
                .bind(
                    entries
                        .iter()
                        .map(|e| balance_delta(e.account.kind(), e.direction, e.amount.amount))
                        .collect::<Vec<_>>(),
                )
                .fetch_one(&mut *self)
                .await?;
            Ok(if written == 1 {
                PostOutcome::Posted
            } else {
                PostOutcome::AlreadyPosted
            })
        })
    }
}
