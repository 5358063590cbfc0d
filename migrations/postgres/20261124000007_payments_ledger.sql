-- Payments and the double-entry ledger. Both are append-mostly and never hard-deleted, so every
-- reference uses NO ACTION. Each money-moving row has an idempotency key and, once the provider
-- answers, a unique provider reference: a retried request or a replayed webhook cannot move money
-- twice.

CREATE TYPE payment_provider AS ENUM
    ('stripe', 'paypal', 'airwallex', 'yoco', 'peach', 'payfast', 'ozow', 'paystack');

-- A refund is its own transaction (kind 'refund', refund_of_id set), so a charge's status never
-- goes backwards.
CREATE TYPE payment_kind AS ENUM ('charge', 'refund', 'payout');

-- pending -> requires_action | processing | succeeded | failed | cancelled;
-- requires_action -> processing | succeeded | failed | cancelled; processing -> succeeded | failed.
CREATE TYPE payment_status AS ENUM
    ('pending', 'requires_action', 'processing', 'succeeded', 'failed', 'cancelled');

CREATE TYPE ledger_account_kind AS ENUM ('asset', 'liability', 'equity', 'revenue', 'expense');

CREATE TYPE ledger_direction AS ENUM ('debit', 'credit');

CREATE TYPE webhook_event_status AS ENUM ('received', 'processed', 'failed', 'ignored');

CREATE TABLE payment_transactions (
    id                 uuid PRIMARY KEY,
    kind               payment_kind NOT NULL,
    provider           payment_provider NOT NULL,
    status             payment_status NOT NULL DEFAULT 'pending',
    -- The payer for a charge, the recipient for a payout or refund.
    user_id            uuid NOT NULL REFERENCES users (id),
    -- What the payment is for: at most one (none for a payout).
    order_id           uuid REFERENCES orders (id),
    booking_id         uuid REFERENCES bookings (id),
    commitment_id      uuid REFERENCES investment_commitments (id),
    refund_of_id       uuid REFERENCES payment_transactions (id),
    currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount             bigint NOT NULL CHECK (amount > 0),
    fee_amount         bigint NOT NULL DEFAULT 0 CHECK (fee_amount >= 0),
    -- Ours, also sent to the provider as its idempotency key.
    idempotency_key    text NOT NULL UNIQUE,
    -- The provider's id (payment intent, order, checkout); NULL until the provider has answered.
    provider_reference text,
    failure_code       text,
    failure_message    text,
    metadata           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    succeeded_at       timestamptz,
    CHECK (num_nonnulls(order_id, booking_id, commitment_id) <= 1),
    CHECK ((kind = 'refund') = (refund_of_id IS NOT NULL)),
    UNIQUE (provider, provider_reference)
);

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
    id            uuid PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    name          text NOT NULL,
    kind          ledger_account_kind NOT NULL,
    owner_user_id uuid REFERENCES users (id),
    currency      char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Signed running balance in the account's normal direction (debit-normal for asset/expense,
    -- credit-normal otherwise), maintained with each posting; may go negative, so no CHECK.
    balance       bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL
);

CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_user_id) WHERE owner_user_id IS NOT NULL;

-- One balanced posting. Core writes all its entries in the same database transaction and checks
-- that debits equal credits per currency (a deferred trigger would be PostgreSQL-only).
CREATE TABLE ledger_transactions (
    id                     uuid PRIMARY KEY,
    -- e.g. 'payment:<uuid>:captured'; a replayed event cannot post twice.
    idempotency_key        text NOT NULL UNIQUE,
    payment_transaction_id uuid REFERENCES payment_transactions (id),
    description            text NOT NULL,
    created_at             timestamptz NOT NULL
);

CREATE INDEX ledger_transactions_payment ON ledger_transactions (payment_transaction_id)
    WHERE payment_transaction_id IS NOT NULL;

CREATE TABLE ledger_entries (
    id                    uuid PRIMARY KEY,
    ledger_transaction_id uuid NOT NULL REFERENCES ledger_transactions (id),
    account_id            uuid NOT NULL REFERENCES ledger_accounts (id),
    direction             ledger_direction NOT NULL,
    -- Always positive; the direction gives the sign.
    amount                bigint NOT NULL CHECK (amount > 0),
    -- Must equal the account's currency (checked by core).
    currency              char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at            timestamptz NOT NULL
);

CREATE INDEX ledger_entries_transaction ON ledger_entries (ledger_transaction_id);
-- Account statements and balance recomputation.
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_at, id);

-- Every webhook delivery, stored before it is processed. UNIQUE (provider, provider_event_id)
-- deduplicates redeliveries: the insert is ON CONFLICT DO NOTHING and a conflict means "already seen".
CREATE TABLE payment_webhook_events (
    id                 uuid PRIMARY KEY,
    provider           payment_provider NOT NULL,
    provider_event_id  text NOT NULL,
    event_type         text NOT NULL,
    signature_verified boolean NOT NULL,
    payload            jsonb NOT NULL,
    status             webhook_event_status NOT NULL DEFAULT 'received',
    attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error         text,
    received_at        timestamptz NOT NULL,
    processed_at       timestamptz,
    UNIQUE (provider, provider_event_id)
);

-- Retry of deliveries not yet processed.
CREATE INDEX payment_webhook_events_unprocessed ON payment_webhook_events (received_at)
    WHERE status IN ('received', 'failed');
