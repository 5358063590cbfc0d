-- Expand only: binaries older than this migration keep working (they never wrote orders, payments or webhooks; every new column is nullable or defaulted, the rest is new types, a new table and new indexes).
-- Checkout: the sandbox provider, an order's expiry, fulfilment, completion and refunded total,
-- the recovery points of a payment attempt, and reconciliation runs.

-- The built-in provider for development and tests (no account, no money moves). A new label
-- may be added in a transaction but not used in it; nothing below uses it.
ALTER TYPE payment_provider ADD VALUE 'sandbox';

-- Where a payment attempt is among its recovery points: started -> provider_called -> finished.
-- Each phase is written by one atomic database step, so a crash resumes from the last one.
CREATE TYPE payment_attempt_phase AS ENUM ('started', 'provider_called', 'finished');

-- running -> clean | discrepancies | failed.
CREATE TYPE reconciliation_status AS ENUM ('running', 'clean', 'discrepancies', 'failed');

-- `expires_at`: when an unpaid order is cancelled and its stock given back. Every order written
-- from this release on has one; it is nullable only so that SQLite can add it in place (no
-- earlier release wrote orders), and reads fall back to `created_at`.
-- `refunded_amount`: what successful refunds have given back so far, never more than the total.
ALTER TABLE orders
    ADD COLUMN expires_at      timestamptz,
    ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    ADD COLUMN fulfilled_at    timestamptz,
    ADD COLUMN completed_at    timestamptz,
    ADD CONSTRAINT orders_refunded_within_total CHECK (refunded_amount <= total_amount);

-- The expiry task: unpaid orders by deadline.
CREATE INDEX orders_expiry ON orders (expires_at) WHERE status = 'pending_payment';
-- Automatic completion: fulfilled orders by fulfilment time.
CREATE INDEX orders_auto_complete ON orders (fulfilled_at) WHERE status = 'fulfilled';
-- A buyer's orders of one status.
CREATE INDEX orders_buyer_status ON orders (buyer_id, status, created_at DESC);

-- `payee_id`: who the money is for (an order's seller). `attempt_phase`: the attempt's last
-- recovery point. `method`, `return_url`: what the payer asked for. `next_action`: what the
-- payer must do next ({"type": "redirect", "url": …}), as the provider said. `locked_until`: the
-- lease of the completer that took over an abandoned attempt.
ALTER TABLE payment_transactions
    ADD COLUMN payee_id      uuid REFERENCES users (id),
    ADD COLUMN attempt_phase payment_attempt_phase NOT NULL DEFAULT 'started',
    ADD COLUMN method        text,
    ADD COLUMN return_url    text,
    ADD COLUMN next_action   jsonb,
    ADD COLUMN locked_until  timestamptz;

CREATE INDEX payment_transactions_payee ON payment_transactions (payee_id, created_at DESC)
    WHERE payee_id IS NOT NULL;
-- The completer: unfinished attempts by last touch.
CREATE INDEX payment_transactions_abandoned ON payment_transactions (updated_at, locked_until)
    WHERE attempt_phase <> 'finished';
-- Reconciliation: what succeeded in a window, per provider.
CREATE INDEX payment_transactions_succeeded ON payment_transactions (provider, succeeded_at)
    WHERE succeeded_at IS NOT NULL;

-- One comparison of a provider's settled transactions over [window_from, window_to) with the
-- ledger. `discrepancies` is the list core reports ([{"kind": "missing_in_ledger", …}]).
CREATE TABLE reconciliation_runs (
    id            uuid PRIMARY KEY,
    provider      payment_provider NOT NULL,
    window_from   timestamptz NOT NULL,
    window_to     timestamptz NOT NULL,
    status        reconciliation_status NOT NULL DEFAULT 'running',
    matched       bigint NOT NULL DEFAULT 0 CHECK (matched >= 0),
    discrepancies jsonb NOT NULL DEFAULT '[]',
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    CHECK (window_to > window_from)
);

-- A window runs once across instances: while one run of it is running, or once one finished
-- clean, another insert conflicts (runs that failed or found discrepancies may be repeated).
CREATE UNIQUE INDEX reconciliation_runs_once ON reconciliation_runs (provider, window_from, window_to)
    WHERE status IN ('running', 'clean');
CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at DESC);
