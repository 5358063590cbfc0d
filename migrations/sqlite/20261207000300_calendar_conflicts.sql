-- Expand only: binaries older than this migration ignore the new table and keep working.
-- The conflict log of two-way calendar sync: when an event was changed both here and at the
-- provider since the last sync, the later edit wins (our `updated_at` against the provider's
-- LAST-MODIFIED) and the losing version is kept here whole, as iCalendar text, for the member to
-- see (`GET /v1/calendar/conflicts`): never silently lost. `id` is a UUIDv7 (time order).
CREATE TABLE calendar_conflicts (
    id                 BLOB NOT NULL PRIMARY KEY,
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SET NULL: the log outlives a disconnected integration or a deleted event.
    integration_id     BLOB REFERENCES calendar_integrations (id) ON DELETE SET NULL,
    event_id           BLOB REFERENCES calendar_events (id) ON DELETE SET NULL,
    external_event_id  TEXT NOT NULL,
    -- 1: our version won and the provider's is the one kept below.
    ours_won           INTEGER NOT NULL CHECK (ours_won = 0 OR ours_won = 1),
    ours_updated_at    TEXT NOT NULL,
    theirs_updated_at  TEXT,
    loser_ics          TEXT NOT NULL,
    created_at         TEXT NOT NULL
) STRICT;

CREATE INDEX calendar_conflicts_user ON calendar_conflicts (user_id, id);
