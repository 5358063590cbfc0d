-- Expand only: binaries older than this migration keep working (the constraint is widened to one more status that they never write, and the index is new).
-- A booking awaiting payment holds its time like a requested or confirmed one: the exclusion
-- constraint of migration 32 is replaced by the same one over the three statuses. The
-- replacement is built in this migration's transaction, so there is no moment without one.
ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap;
ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
    provider_id WITH =,
    tstzrange(starts_at, COALESCE(blocked_until, ends_at), '[)') WITH &&
) WHERE (status IN ('awaiting_payment', 'requested', 'confirmed'));

-- The expiry task: bookings still awaiting payment, oldest first.
CREATE INDEX bookings_awaiting_payment ON bookings (created_at) WHERE status = 'awaiting_payment';
