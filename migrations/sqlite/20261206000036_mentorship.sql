-- Expand only: binaries older than this migration keep working (they never wrote mentorships; the
-- new column is nullable, the rest is new tables and indexes).
-- The mentorship lifecycle: who asked (the other party accepts or declines), goals, sessions,
-- private notes, feedback at completion, and the formats a mentor offers.

-- The party who asked: the mentee for a direct request, the mentor for an offer on a
-- mentorship-request post. The other party accepts or declines; the asker may withdraw (cancel).
ALTER TABLE mentorship_relationships ADD COLUMN requested_by BLOB REFERENCES users (id) ON DELETE CASCADE;

CREATE TABLE mentorship_goals (
    id            BLOB NOT NULL PRIMARY KEY,
    mentorship_id BLOB NOT NULL REFERENCES mentorship_relationships (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    added_by      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    completed_at  TEXT
) STRICT;

CREATE INDEX mentorship_goals_mentorship ON mentorship_goals (mentorship_id, created_at, id);

-- Scheduled meetings (they become calendar events once the calendar integration lands).
CREATE TABLE mentorship_sessions (
    id            BLOB NOT NULL PRIMARY KEY,
    mentorship_id BLOB NOT NULL REFERENCES mentorship_relationships (id) ON DELETE CASCADE,
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    topic         TEXT,
    scheduled_by  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    CHECK (ends_at > starts_at)
) STRICT;

CREATE INDEX mentorship_sessions_mentorship ON mentorship_sessions (mentorship_id, starts_at, id);

-- Private notes: only their author ever reads them.
CREATE TABLE mentorship_notes (
    id            BLOB NOT NULL PRIMARY KEY,
    mentorship_id BLOB NOT NULL REFERENCES mentorship_relationships (id) ON DELETE CASCADE,
    author_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

CREATE INDEX mentorship_notes_author ON mentorship_notes (mentorship_id, author_id, created_at, id);

-- One feedback per party at completion; the mentee's rating joins the mentor's `mentor` rating
-- (`rating_stats`) in the same transaction.
CREATE TABLE mentorship_feedback (
    mentorship_id BLOB NOT NULL REFERENCES mentorship_relationships (id) ON DELETE CASCADE,
    author_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body          TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (mentorship_id, author_id)
) STRICT;

-- The formats a member open to mentoring offers (`looking_for` holds `mentees`); none stated
-- means any.
CREATE TABLE mentor_formats (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    format  TEXT NOT NULL CHECK (format IN ('virtual', 'in_person', 'hybrid')),
    PRIMARY KEY (user_id, format)
) STRICT;
