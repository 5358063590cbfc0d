-- Expand only: binaries older than this migration keep working until a paid booking is made (they never wrote the new status; a booking awaiting payment is the only row they could not read, and only a binary with this migration writes one).
-- Paid bookings: a booking of a service with a price waits for its payment in
-- `awaiting_payment`, holding its slot, until a succeeded charge moves it on (to `requested`, or
-- `confirmed` when the service auto-confirms) or its payment window lapses (`cancelled`).
-- awaiting_payment -> requested | confirmed | cancelled; then as migration 6 says.
--
-- PostgreSQL refuses to use an enum value in the transaction that adds it, so the constraint
-- and index that name it are in the next migration.
ALTER TYPE booking_status ADD VALUE IF NOT EXISTS 'awaiting_payment' BEFORE 'requested';
