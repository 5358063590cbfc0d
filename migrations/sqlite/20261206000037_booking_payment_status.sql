-- Expand only: binaries older than this migration keep working until a paid booking is made (the rebuilt table keeps every column, row and index it had; a booking awaiting payment is the only row they could not read, and only a binary with this migration writes one).
-- Paid bookings: a booking of a service with a price waits for its payment in
-- `awaiting_payment`, holding its slot, until a succeeded charge moves it on (to `requested`, or
-- `confirmed` when the service auto-confirms) or its payment window lapses (`cancelled`).
-- awaiting_payment -> requested | confirmed | cancelled; then as migration 6 says.
-- Enum booking_status: awaiting_payment, requested, confirmed, completed, cancelled, declined, no_show.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt and its rows copied. Reviews,
-- payments and calendar events reference it by name and find the new table once it has the name
-- back; dropping the old one would break those references for a moment, so foreign keys are
-- checked at the commit instead (`defer_foreign_keys` lasts until the end of this transaction).
PRAGMA defer_foreign_keys = ON;

CREATE TABLE bookings_rebuilt (
    id              BLOB NOT NULL PRIMARY KEY,
    service_post_id BLOB NOT NULL REFERENCES post_services (post_id),
    client_id       BLOB NOT NULL REFERENCES users (id),
    provider_id     BLOB NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('awaiting_payment', 'requested', 'confirmed', 'completed', 'cancelled', 'declined', 'no_show')),
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    -- IANA zone the client booked in, for display and calendar invites.
    timezone        TEXT NOT NULL,
    currency        TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    amount          INTEGER NOT NULL CHECK (amount >= 0),
    -- Vendrome's commission, deducted from the provider's payout.
    platform_fee_amount INTEGER NOT NULL DEFAULT 0 CHECK (platform_fee_amount >= 0),
    idempotency_key TEXT NOT NULL,
    note            TEXT,
    cancel_reason   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- The end plus the provider's buffer: the booking holds [starts_at, blocked_until).
    blocked_until   TEXT CHECK (blocked_until IS NULL OR blocked_until >= ends_at),
    -- What a cancellation gives back per the service's policy.
    refund_amount   INTEGER NOT NULL DEFAULT 0 CHECK (refund_amount >= 0 AND refund_amount <= amount),
    CHECK (ends_at > starts_at),
    CHECK (client_id <> provider_id),
    CHECK (platform_fee_amount <= amount),
    UNIQUE (client_id, idempotency_key)
) STRICT;

INSERT INTO bookings_rebuilt (id, service_post_id, client_id, provider_id, status, starts_at,
    ends_at, timezone, currency, amount, platform_fee_amount, idempotency_key, note,
    cancel_reason, created_at, updated_at, blocked_until, refund_amount)
SELECT id, service_post_id, client_id, provider_id, status, starts_at, ends_at, timezone,
    currency, amount, platform_fee_amount, idempotency_key, note, cancel_reason, created_at,
    updated_at, blocked_until, refund_amount
FROM bookings;

DROP TABLE bookings;
ALTER TABLE bookings_rebuilt RENAME TO bookings;

CREATE INDEX bookings_provider ON bookings (provider_id, starts_at);
CREATE INDEX bookings_client ON bookings (client_id, starts_at);
CREATE INDEX bookings_service ON bookings (service_post_id, starts_at);
CREATE INDEX bookings_client_status ON bookings (client_id, status, starts_at);
CREATE INDEX bookings_provider_status ON bookings (provider_id, status, starts_at);
-- The expiry task: bookings still awaiting payment, oldest first.
CREATE INDEX bookings_awaiting_payment ON bookings (created_at) WHERE status = 'awaiting_payment';
