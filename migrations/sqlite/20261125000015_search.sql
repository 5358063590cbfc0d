-- Search: nothing on SQLite. The embedded index (tantivy, under the data directory) serves
-- search; the full-text path (VENDROME_SEARCH=postgres) exists only on PostgreSQL.
SELECT 1;
