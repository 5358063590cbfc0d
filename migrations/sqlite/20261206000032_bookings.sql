-- Expand only: binaries older than this migration keep working (they never wrote bookings; the new columns are defaulted or nullable, the rest is a new table and new indexes).
-- Bookings: a service's booking settings, providers' availability and the time a booking holds.
-- SQLite has no exclusion constraint: the store checks for overlaps inside the transaction that
-- inserts the booking, which holds the database's write lock from its first statement.

-- `auto_confirm`: requests are confirmed at once. A client who cancels less than
-- `cancellation_window_hours` before the start gets back `late_cancellation_refund` of the
-- amount (`full`, `half`, `none`); earlier, everything.
-- Enum cancellation_refund: full, half, none.
ALTER TABLE post_services ADD COLUMN auto_confirm INTEGER NOT NULL DEFAULT 0 CHECK (auto_confirm = 0 OR auto_confirm = 1);
ALTER TABLE post_services ADD COLUMN cancellation_window_hours INTEGER NOT NULL DEFAULT 24
    CHECK (cancellation_window_hours BETWEEN 0 AND 8760);
ALTER TABLE post_services ADD COLUMN late_cancellation_refund TEXT NOT NULL DEFAULT 'half'
    CHECK (late_cancellation_refund IN ('full', 'half', 'none'));

-- A provider's weekly availability in their IANA zone, as they set it (JSON lists; core checks
-- them before they are written).
CREATE TABLE provider_availability (
    user_id            BLOB NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    timezone           TEXT NOT NULL,
    weekly             TEXT NOT NULL DEFAULT '[]',
    exceptions         TEXT NOT NULL DEFAULT '[]',
    buffer_minutes     INTEGER NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 1440),
    min_notice_minutes INTEGER NOT NULL DEFAULT 0 CHECK (min_notice_minutes >= 0),
    max_days_ahead     INTEGER NOT NULL DEFAULT 60 CHECK (max_days_ahead >= 0),
    updated_at         TEXT NOT NULL
) STRICT;

-- `blocked_until`: the end plus the provider's buffer when it was booked; the booking holds
-- [starts_at, blocked_until). Nullable so the column can be added in place; reads fall back to
-- `ends_at`. `refund_amount`: what a cancellation gives back per the service's policy.
ALTER TABLE bookings ADD COLUMN blocked_until TEXT CHECK (blocked_until IS NULL OR blocked_until >= ends_at);
ALTER TABLE bookings ADD COLUMN refund_amount INTEGER NOT NULL DEFAULT 0 CHECK (refund_amount >= 0 AND refund_amount <= amount);

-- A member's bookings of one status, by start.
CREATE INDEX bookings_client_status ON bookings (client_id, status, starts_at);
CREATE INDEX bookings_provider_status ON bookings (provider_id, status, starts_at);
