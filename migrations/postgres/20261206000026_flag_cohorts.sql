-- Expand only: binaries older than this migration keep working (they read and write the columns they name; a flag they change keeps its cohorts).
-- Flag cohorts and per-flag metrics (vendrome_core::flags::cohorts).
--
-- `cohorts` is one JSON document per flag, `{"users": [...], "roles": [...], "levels": [...],
-- "countries": [...]}` (absent keys are empty lists), read and checked by core as a whole: it is
-- only ever read with its flag, a handful of rows, so child tables would buy joins and nothing a
-- query needs. Named members are bounded by core (1,000 per flag); the store checks that each
-- names an account before it writes.
ALTER TABLE feature_flags ADD COLUMN cohorts jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(cohorts) = 'object');

-- Whether requests are counted per state of this flag (an HTTP metrics label). Set here, never
-- through the API, so the label's values stay bounded: the area flags only.
ALTER TABLE feature_flags ADD COLUMN in_metrics boolean NOT NULL DEFAULT false;
UPDATE feature_flags SET in_metrics = true WHERE name LIKE 'use\_real\_%' ESCAPE '\';
