-- Social core: a repost may carry the reposter's own commentary (a "quote"), shown above the
-- original post. NULL is a plain repost.

ALTER TABLE post_reposts ADD COLUMN quote TEXT;
