-- Payments and the double-entry ledger. Both are append-mostly and never hard-deleted, so every
-- reference uses NO ACTION. Each money-moving row has an idempotency key and, once the provider
-- answers, a unique provider reference: a retried request or a replayed webhook cannot move money
-- twice.

-- Enum payment_provider: stripe, paypal, airwallex, yoco, peach, payfast, ozow, paystack.

-- A refund is its own transaction (kind 'refund', refund_of_id set), so a charge's status never
-- goes backwards.
-- Enum payment_kind: charge, refund, payout.

-- pending -> requires_action | processing | succeeded | failed | cancelled;
-- requires_action -> processing | succeeded | failed | cancelled; processing -> succeeded | failed.
-- Enum payment_status: pending, requires_action, processing, succeeded, failed, cancelled.

-- Enum ledger_account_kind: asset, liability, equity, revenue, expense.

-- Enum ledger_direction: debit, credit.

-- Enum webhook_event_status: received, processed, failed, ignored.

CREATE TABLE payment_transactions (
    id                 BLOB NOT NULL PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('charge', 'refund', 'payout')),
    provider           TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'airwallex', 'yoco', 'peach', 'payfast', 'ozow', 'paystack')),
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'requires_action', 'processing', 'succeeded', 'failed', 'cancelled')),
    -- The payer for a charge, the recipient for a payout or refund.
    user_id            BLOB NOT NULL REFERENCES users (id),
    -- What the payment is for: at most one (none for a payout).
    order_id           BLOB REFERENCES orders (id),
    booking_id         BLOB REFERENCES bookings (id),
    commitment_id      BLOB REFERENCES investment_commitments (id),
    refund_of_id       BLOB REFERENCES payment_transactions (id),
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
    CHECK (((order_id IS NOT NULL) + (booking_id IS NOT NULL) + (commitment_id IS NOT NULL)) <= 1),
    CHECK ((kind = 'refund') = (refund_of_id IS NOT NULL)),
    UNIQUE (provider, provider_reference)
) STRICT;

CREATE INDEX payment_transactions_user ON payment_transactions (user_id, created_at DESC);
CREATE INDEX payment_transactions_order ON payment_transactions (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX payment_transactions_booking ON payment_transactions (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX payment_transactions_commitment ON payment_transactions (commitment_id) WHERE commitment_id IS NOT NULL;
CREATE INDEX payment_transactions_refund_of ON payment_transactions (refund_of_id) WHERE refund_of_id IS NOT NULL;
-- Reconciliation: unsettled payments per provider, oldest first.
CREATE INDEX payment_transactions_status ON payment_transactions (provider, status, updated_at);

-- One account per (purpose, owner, currency), named by `code`, e.g. 'platform:revenue:ZAR',
-- 'escrow:ZAR', 'user:<uuid>:wallet:ZAR', 'provider:stripe:clearing:USD'.
CREATE TABLE ledger_accounts (
    id            BLOB NOT NULL PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    owner_user_id BLOB REFERENCES users (id),
    currency      TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    -- Signed running balance in the account's normal direction (debit-normal for asset/expense,
    -- credit-normal otherwise), maintained with each posting; may go negative, so no CHECK.
    balance       INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
) STRICT;

CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_user_id) WHERE owner_user_id IS NOT NULL;

-- One balanced posting. Core writes all its entries in the same database transaction and checks
-- that debits equal credits per currency (a deferred trigger would be PostgreSQL-only).
CREATE TABLE ledger_transactions (
    id                     BLOB NOT NULL PRIMARY KEY,
    -- e.g. 'payment:<uuid>:captured'; a replayed event cannot post twice.
    idempotency_key        TEXT NOT NULL UNIQUE,
    payment_transaction_id BLOB REFERENCES payment_transactions (id),
    description            TEXT NOT NULL,
    created_at             TEXT NOT NULL
) STRICT;

CREATE INDEX ledger_transactions_payment ON ledger_transactions (payment_transaction_id)
    WHERE payment_transaction_id IS NOT NULL;

CREATE TABLE ledger_entries (
    id                    BLOB NOT NULL PRIMARY KEY,
    ledger_transaction_id BLOB NOT NULL REFERENCES ledger_transactions (id),
    account_id            BLOB NOT NULL REFERENCES ledger_accounts (id),
    direction             TEXT NOT NULL CHECK (direction IN ('debit', 'credit')),
    -- Always positive; the direction gives the sign.
    amount                INTEGER NOT NULL CHECK (amount > 0),
    -- Must equal the account's currency (checked by core).
    currency              TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    created_at            TEXT NOT NULL
) STRICT;

CREATE INDEX ledger_entries_transaction ON ledger_entries (ledger_transaction_id);
-- Account statements and balance recomputation.
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_at, id);

-- Every webhook delivery, stored before it is processed. UNIQUE (provider, provider_event_id)
-- deduplicates redeliveries: the insert is ON CONFLICT DO NOTHING and a conflict means "already seen".
CREATE TABLE payment_webhook_events (
    id                 BLOB NOT NULL PRIMARY KEY,
    provider           TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'airwallex', 'yoco', 'peach', 'payfast', 'ozow', 'paystack')),
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

-- Retry of deliveries not yet processed.
CREATE INDEX payment_webhook_events_unprocessed ON payment_webhook_events (received_at)
    WHERE status = 'received' OR status = 'failed';
