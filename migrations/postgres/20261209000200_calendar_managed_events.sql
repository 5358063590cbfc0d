-- Expand only: binaries older than this migration keep working (both columns are nullable and
-- nothing they read changes meaning).
-- Bookings and mentorship sessions as calendar events of both parties.
--
-- A booking's events carry `booking_id` (migration 20261124000008). A mentorship has many
-- sessions, each with its own time, and cancelling or moving one must reach only its own
-- events: `mentorship_id` cannot tell them apart, so a session's events also name the session.
-- `mentorship_id` stays set on them (the relationship they belong to).
ALTER TABLE calendar_events ADD COLUMN mentorship_session_id uuid
    REFERENCES mentorship_sessions (id) ON DELETE SET NULL;

CREATE INDEX calendar_events_mentorship_session ON calendar_events (mentorship_session_id)
    WHERE mentorship_session_id IS NOT NULL;

-- A session either party cancelled: kept (the mentorship's history), with its events cancelled
-- in the same transaction.
ALTER TABLE mentorship_sessions ADD COLUMN cancelled_at timestamptz;
