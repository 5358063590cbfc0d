-- Expand only: binaries older than this migration keep working (they never wrote orders, payments or webhooks; every new column is nullable or defaulted, the rest is new tables and indexes, and the two rebuilt tables keep every column they had).
-- Checkout: the sandbox provider, an order's expiry, fulfilment, completion and refunded total,
-- the recovery points of a payment attempt, and reconciliation runs.

-- The built-in provider for development and tests (no account, no money moves).
-- Enum payment_provider: stripe, paypal, airwallex, yoco, peach, payfast, ozow, paystack, sandbox.

-- Where a payment attempt is among its recovery points: started -> provider_called -> finished.
-- Each phase is written by one atomic database step, so a crash resumes from the last one.
-- Enum payment_attempt_phase: started, provider_called, finished.

-- running -> clean | discrepancies | failed.
-- Enum reconciliation_status: running, clean, discrepancies, failed.

-- `expires_at`: when an unpaid order is cancelled and its stock given back. Every order written
-- from this release on has one; it is nullable only because SQLite adds a NOT NULL column only
-- with a default (no earlier release wrote orders), and reads fall back to `created_at`.
-- `refunded_amount`: what successful refunds have given back so far, never more than the total.
ALTER TABLE orders ADD COLUMN expires_at TEXT;
ALTER TABLE orders ADD COLUMN refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount);
ALTER TABLE orders ADD COLUMN fulfilled_at TEXT;
ALTER TABLE orders ADD COLUMN completed_at TEXT;

-- The expiry task: unpaid orders by deadline.
CREATE INDEX orders_expiry ON orders (expires_at) WHERE status = 'pending_payment';
-- Automatic completion: fulfilled orders by fulfilment time.
CREATE INDEX orders_auto_complete ON orders (fulfilled_at) WHERE status = 'fulfilled';
-- A buyer's orders of one status.
CREATE INDEX orders_buyer_status ON orders (buyer_id, status, created_at DESC);

-- payment_transactions' provider CHECK must admit 'sandbox', and SQLite cannot change a CHECK in
-- place: the table is rebuilt. It has never held rows (no earlier release wrote payments), so
-- the copy moves nothing. References to it (ledger_transactions, marketing_campaigns, its own
-- refund_of_id) name it by name and find the new table once it has the name back; dropping the
-- empty table violates none of them.
-- `payee_id`: who the money is for (an order's seller). `attempt_phase`: the attempt's last
-- recovery point. `method`, `return_url`: what the payer asked for. `next_action`: what the
-- payer must do next ({"type": "redirect", "url": …}), as the provider said. `locked_until`: the
-- lease of the completer that took over an abandoned attempt.
CREATE TABLE payment_transactions_rebuilt (
    id                 BLOB NOT NULL PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('charge', 'refund', 'payout')),
    provider           TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'airwallex', 'yoco', 'peach', 'payfast', 'ozow', 'paystack', 'sandbox')),
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'requires_action', 'processing', 'succeeded', 'failed', 'cancelled')),
    -- The payer for a charge, the recipient for a payout or refund.
    user_id            BLOB NOT NULL REFERENCES users (id),
    -- What the payment is for: at most one (none for a payout).
    order_id           BLOB REFERENCES orders (id),
    booking_id         BLOB REFERENCES bookings (id),
    commitment_id      BLOB REFERENCES investment_commitments (id),
    refund_of_id       BLOB REFERENCES payment_transactions_rebuilt (id),
    currency           TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    fee_amount         INTEGER NOT NULL DEFAULT 0 CHECK (fee_amount >= 0),
    -- Ours, also sent to the provider as its idempotency key.
    idempotency_key    TEXT NOT NULL UNIQUE,
    -- The provider's id (payment intent, order, checkout); NULL until the provider has answered.
    provider_reference TEXT,
    failure_code       TEXT,
    failure_message    TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    succeeded_at       TEXT,
    payee_id           BLOB REFERENCES users (id),
    attempt_phase      TEXT NOT NULL DEFAULT 'started' CHECK (attempt_phase IN ('started', 'provider_called', 'finished')),
    method             TEXT,
    return_url         TEXT,
    next_action        TEXT,
    locked_until       TEXT,
    CHECK (((order_id IS NOT NULL) + (booking_id IS NOT NULL) + (commitment_id IS NOT NULL)) <= 1),
    CHECK ((kind = 'refund') = (refund_of_id IS NOT NULL)),
    UNIQUE (provider, provider_reference)
) STRICT;

INSERT INTO payment_transactions_rebuilt (id, kind, provider, status, user_id, order_id, booking_id,
    commitment_id, refund_of_id, currency, amount, fee_amount, idempotency_key, provider_reference,
    failure_code, failure_message, metadata, created_at, updated_at, succeeded_at)
SELECT id, kind, provider, status, user_id, order_id, booking_id, commitment_id, refund_of_id,
    currency, amount, fee_amount, idempotency_key, provider_reference, failure_code,
    failure_message, metadata, created_at, updated_at, succeeded_at
FROM payment_transactions;

DROP TABLE payment_transactions;
ALTER TABLE payment_transactions_rebuilt RENAME TO payment_transactions;

CREATE INDEX payment_transactions_user ON payment_transactions (user_id, created_at DESC);
CREATE INDEX payment_transactions_order ON payment_transactions (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX payment_transactions_booking ON payment_transactions (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX payment_transactions_commitment ON payment_transactions (commitment_id) WHERE commitment_id IS NOT NULL;
CREATE INDEX payment_transactions_refund_of ON payment_transactions (refund_of_id) WHERE refund_of_id IS NOT NULL;
-- Reconciliation: unsettled payments per provider, oldest first.
CREATE INDEX payment_transactions_status ON payment_transactions (provider, status, updated_at);
CREATE INDEX payment_transactions_payee ON payment_transactions (payee_id, created_at DESC)
    WHERE payee_id IS NOT NULL;
-- The completer: unfinished attempts by last touch.
CREATE INDEX payment_transactions_abandoned ON payment_transactions (updated_at, locked_until)
    WHERE attempt_phase <> 'finished';
-- Reconciliation: what succeeded in a window, per provider.
CREATE INDEX payment_transactions_succeeded ON payment_transactions (provider, succeeded_at)
    WHERE succeeded_at IS NOT NULL;

-- payment_webhook_events' provider CHECK too; the table has never held rows either (no earlier
-- release received webhooks) and nothing references it.
CREATE TABLE payment_webhook_events_rebuilt (
    id                 BLOB NOT NULL PRIMARY KEY,
    provider           TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'airwallex', 'yoco', 'peach', 'payfast', 'ozow', 'paystack', 'sandbox')),
    provider_event_id  TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    signature_verified INTEGER NOT NULL CHECK (signature_verified = 0 OR signature_verified = 1),
    payload            TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'failed', 'ignored')),
    attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error         TEXT,
    received_at        TEXT NOT NULL,
    processed_at       TEXT,
    UNIQUE (provider, provider_event_id)
) STRICT;

INSERT INTO payment_webhook_events_rebuilt SELECT * FROM payment_webhook_events;
DROP TABLE payment_webhook_events;
ALTER TABLE payment_webhook_events_rebuilt RENAME TO payment_webhook_events;

-- Retry of deliveries not yet processed.
CREATE INDEX payment_webhook_events_unprocessed ON payment_webhook_events (received_at)
    WHERE status = 'received' OR status = 'failed';

-- One comparison of a provider's settled transactions over [window_from, window_to) with the
-- ledger. `discrepancies` is the list core reports ([{"kind": "missing_in_ledger", …}]).
CREATE TABLE reconciliation_runs (
    id            BLOB NOT NULL PRIMARY KEY,
    provider      TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'airwallex', 'yoco', 'peach', 'payfast', 'ozow', 'paystack', 'sandbox')),
    window_from   TEXT NOT NULL,
    window_to     TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'clean', 'discrepancies', 'failed')),
    matched       INTEGER NOT NULL DEFAULT 0 CHECK (matched >= 0),
    discrepancies TEXT NOT NULL DEFAULT '[]',
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    CHECK (window_to > window_from)
) STRICT;

-- A window runs once across instances: while one run of it is running, or once one finished
-- clean, another insert conflicts (runs that failed or found discrepancies may be repeated).
CREATE UNIQUE INDEX reconciliation_runs_once ON reconciliation_runs (provider, window_from, window_to)
    WHERE status IN ('running', 'clean');
CREATE INDEX reconciliation_runs_started ON reconciliation_runs (started_at DESC);
