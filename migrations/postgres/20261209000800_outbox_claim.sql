-- The relay's claim takes the oldest pending events by id (`ORDER BY candidate.id LIMIT n`).
-- `outbox_events_pending (available_at, id)` could not give them in that order, so every claim
-- read every pending event and sorted them: under load, with a backlog of a few thousand, each
-- claim walked the whole backlog. Pending events indexed by id alone let a claim stop after the
-- batch it takes. `available_at` is checked on the rows read (a retry's future time holds only
-- that event back, which the claim's filter sees).
DROP INDEX IF EXISTS outbox_events_pending;
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE status = 'pending';

-- A claim writes its lease (`lease_owner`, `lease_until`, in no index) into each event it
-- takes. With the table's pages packed full by the appends, that new row version went to another
-- page, and every index of the table got an entry for it. Room on each page lets a lease be
-- written in place (a heap-only update): about half of a fresh batch's, where none were. Pages
-- written from now on keep the room.
ALTER TABLE outbox_events SET (fillfactor = 70);
