-- Two indexes no query reads, each an entry more on every write of a hot row. Contract only: no
-- release reads through them.
--
-- `payment_transactions_status (provider, status, updated_at)`: the completer reads
-- `payment_transactions_abandoned`, reconciliation `payment_transactions_succeeded`, and the
-- lists their own. A payment's row is written three times in a checkout (its start, the
-- provider's answer, its settlement), each time with a new entry in every index of the table.
--
-- `outbox_events_aggregate (aggregate_type, aggregate_id, id)`: the relay's claim reads the
-- pending events of an aggregate through `outbox_events_pending_aggregate` (migration
-- `20261209000600`), and nothing reads the published ones by aggregate. An event is written
-- three times (its append, its lease, its publication).
DROP INDEX IF EXISTS payment_transactions_status;
DROP INDEX IF EXISTS outbox_events_aggregate;
