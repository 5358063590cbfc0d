-- Expand only: binaries older than this migration keep working (they never wrote bookings; the new columns are defaulted or nullable, the rest is a new type, a new table and a constraint on bookings that no older binary wrote).
-- Bookings: a service's booking settings, providers' availability, the time a booking holds,
-- and the constraint that no two bookings of one provider that hold time overlap.

-- The exclusion constraint below compares provider ids (btree) and time ranges (gist) in one
-- index. btree_gist is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- `auto_confirm`: requests are confirmed at once. A client who cancels less than
-- `cancellation_window_hours` before the start gets back `late_cancellation_refund` of the
-- amount (`full`, `half`, `none`); earlier, everything.
CREATE TYPE cancellation_refund AS ENUM ('full', 'half', 'none');

ALTER TABLE post_services
    ADD COLUMN auto_confirm boolean NOT NULL DEFAULT false,
    ADD COLUMN cancellation_window_hours integer NOT NULL DEFAULT 24
        CHECK (cancellation_window_hours BETWEEN 0 AND 8760),
    ADD COLUMN late_cancellation_refund cancellation_refund NOT NULL DEFAULT 'half';

-- A provider's weekly availability in their IANA zone, as they set it: `weekly` is
-- [{"day": "mon", "start": "09:00", "end": "17:00"}, …], `exceptions` is
-- [{"date": "2027-01-01", "closed": true} | {"date": …, "start": …, "end": …}, …]. Core checks
-- both before they are written.
CREATE TABLE provider_availability (
    user_id            uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    timezone           text NOT NULL,
    weekly             jsonb NOT NULL DEFAULT '[]',
    exceptions         jsonb NOT NULL DEFAULT '[]',
    buffer_minutes     integer NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 1440),
    min_notice_minutes integer NOT NULL DEFAULT 0 CHECK (min_notice_minutes >= 0),
    max_days_ahead     integer NOT NULL DEFAULT 60 CHECK (max_days_ahead >= 0),
    updated_at         timestamptz NOT NULL
);

-- `blocked_until`: the end plus the provider's buffer when it was booked; the booking holds
-- [starts_at, blocked_until). Nullable only so the column can be added in place (no earlier
-- release wrote bookings); reads fall back to `ends_at`. `refund_amount`: what a cancellation
-- gives back per the service's policy.
ALTER TABLE bookings
    ADD COLUMN blocked_until timestamptz,
    ADD COLUMN refund_amount bigint NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
    ADD CONSTRAINT bookings_refund_within_amount CHECK (refund_amount <= amount),
    ADD CONSTRAINT bookings_blocked_after_end CHECK (blocked_until IS NULL OR blocked_until >= ends_at),
    -- No double booking: two bookings of one provider that hold time never overlap, whatever
    -- the concurrency (the second writer waits for the first and then fails with 23P01).
    ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
        provider_id WITH =,
        tstzrange(starts_at, COALESCE(blocked_until, ends_at), '[)') WITH &&
    ) WHERE (status IN ('requested', 'confirmed'));

-- A member's bookings of one status, by start.
CREATE INDEX bookings_client_status ON bookings (client_id, status, starts_at);
CREATE INDEX bookings_provider_status ON bookings (provider_id, status, starts_at);
