-- `payment_transactions_status (provider, status, updated_at)` serves no query: the completer
-- reads `payment_transactions_abandoned`, reconciliation `payment_transactions_succeeded`, and
-- the lists their own. A payment's row is written three times in a checkout (its start, the
-- provider's answer, its settlement), each time a new entry in every index of the table; this
-- one was a thirteenth. Contract only: no binary reads through it.
DROP INDEX IF EXISTS payment_transactions_status;
