-- Expand only: binaries older than this migration keep working (a new table they never read);
-- while old and new binaries run side by side, an old binary's account balances and `ledger
-- check` lag behind by the deltas not yet folded (at most one fold interval).
-- A posting no longer updates its accounts' stored balances: it appends one row per entry here,
-- in its own transaction, and a background fold moves the rows into `ledger_accounts.balance`
-- (delete and add in one transaction). Concurrent settlements therefore never wait on the row
-- locks of the few accounts every payment touches (`provider:<p>:clearing:<CUR>`,
-- `platform:fees:<CUR>`). An account's balance is `balance` plus the sum of its rows here, which
-- every read and `ledger check` computes. No foreign key: the entry written beside each row
-- already references the account.
CREATE TABLE ledger_balance_deltas (
    id         BLOB NOT NULL PRIMARY KEY,
    account_id BLOB NOT NULL,
    -- Signed, in the account's normal direction, as the balance.
    delta      INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX ledger_balance_deltas_account ON ledger_balance_deltas (account_id);
