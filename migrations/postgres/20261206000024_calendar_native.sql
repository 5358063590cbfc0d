-- Native calendar events: who may see them, recurrence (an RRULE and its excluded occurrences),
-- a video link, and the end of the whole series so a time window finds recurring events with one
-- range condition.

-- `private`: only the owner and the attendees know of it; `busy`: connections see the time as
-- busy (free/busy), nothing more; `public`: any member may read it.
CREATE TYPE calendar_visibility AS ENUM ('private', 'busy', 'public');

ALTER TABLE calendar_events ADD COLUMN visibility calendar_visibility NOT NULL DEFAULT 'busy';
-- The RRULE value (RFC 5545 section 3.3.10, without the `RRULE:` prefix), expanded in `timezone`
-- from the local time of `starts_at`; NULL for a one-off event.
ALTER TABLE calendar_events ADD COLUMN recurrence text;
-- Occurrences left out of the series (EXDATE): their start instants, UTC RFC 3339, comma separated.
ALTER TABLE calendar_events ADD COLUMN recurrence_exceptions text;
-- When the last occurrence ends: `ends_at` for a one-off event, NULL for an endless series.
ALTER TABLE calendar_events ADD COLUMN series_ends_at timestamptz;
ALTER TABLE calendar_events ADD COLUMN video_url text;

UPDATE calendar_events SET series_ends_at = ends_at;

-- The calendar view: a member's events that may fall in a window.
CREATE INDEX calendar_events_owner_series ON calendar_events (owner_id, series_ends_at)
    WHERE deleted_at IS NULL;
