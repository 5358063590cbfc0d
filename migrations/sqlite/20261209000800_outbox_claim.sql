-- The relay's claim takes the oldest pending events by id (`ORDER BY candidate.id LIMIT n`).
-- `outbox_events_pending (available_at, id)` could not give them in that order, so every claim
-- read every pending event and sorted them: under load, with a backlog of a few thousand, each
-- claim walked the whole backlog. Pending events indexed by id alone let a claim stop after the
-- batch it takes. `available_at` is checked on the rows read (a retry's future time holds only
-- that event back, which the claim's filter sees).
DROP INDEX IF EXISTS outbox_events_pending;
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE status = 'pending';
