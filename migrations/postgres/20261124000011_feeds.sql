-- Feeds: every list is newest first on the keyset (created_at, post id).
--
-- A topic's feed reads post_topics alone, so the link carries its post's creation time (written
-- with the link, never changed) and is indexed in feed order.
ALTER TABLE post_topics ADD COLUMN created_at timestamptz;
UPDATE post_topics pt SET created_at = p.created_at FROM posts p WHERE p.id = pt.post_id;
ALTER TABLE post_topics ALTER COLUMN created_at SET NOT NULL;
DROP INDEX post_topics_topic;
CREATE INDEX post_topics_topic ON post_topics (topic_id, created_at DESC, post_id DESC);

-- A member's posts and the home feed's per-person scans read only this index (it carries the
-- visibility), never the table.
DROP INDEX posts_author_feed;
CREATE INDEX posts_author_feed ON posts (author_id, created_at DESC, id DESC) INCLUDE (visibility)
    WHERE deleted_at IS NULL;

-- The listing of every post walks this index newest first, checking visibility row by row.
CREATE INDEX posts_feed ON posts (created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- The home feed shows the reposts of the people a user follows, on the same keyset.
DROP INDEX post_reposts_user;
CREATE INDEX post_reposts_user ON post_reposts (user_id, created_at DESC, post_id DESC);
