-- Search, PostgreSQL full-text path (VENDROME_SEARCH=postgres; see vendrome_store::PgSearch).
-- Posts keep their English tsvector beside the body, so ranking reads it instead of re-parsing
-- every matching body; trigram indexes find words with typos. The embedded index (the default)
-- uses none of this.
ALTER TABLE posts ADD COLUMN body_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED;
CREATE INDEX posts_body_tsv ON posts USING gin (body_tsv);
-- Replaced by posts_body_tsv (same expression, now stored).
DROP INDEX posts_body_fts;
CREATE INDEX posts_body_trgm ON posts USING gin (body gin_trgm_ops);
