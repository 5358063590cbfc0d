-- Expand only: binaries older than this migration ignore the new table and keep working.
-- A member's secret calendar feed (`GET /v1/calendar/feed.ics?token=`): at most one token per
-- member, stored only as its SHA-256 (hex). Rotating replaces the row (the old URL stops working
-- at once), revoking deletes it.
CREATE TABLE calendar_feed_tokens (
    user_id     BLOB NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
) STRICT;
