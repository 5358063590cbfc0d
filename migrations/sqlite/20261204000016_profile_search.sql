-- Profile search documents: nothing on SQLite. They serve the PostgreSQL full-text path
-- (VENDROME_SEARCH=postgres), which exists only on PostgreSQL.
SELECT 1;
