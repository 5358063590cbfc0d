-- Trending: the lists a periodic job scores (see vendrome_core::trending for the formula), one
-- per window ('1h', '24h', '7d') and kind ('posts', 'topics'), replaced whole at each run. A
-- request reads a list; nothing is scored per request.
CREATE TABLE trending_items (
    time_window text NOT NULL,
    kind        text NOT NULL,
    rank        bigint NOT NULL,
    -- A post id, or a topic slug.
    item_id     text NOT NULL,
    score       double precision NOT NULL,
    engagers    bigint NOT NULL,
    posts       bigint NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (time_window, kind, rank)
);

-- The job reads the last week's engagements: each kind by time.
CREATE INDEX post_reactions_recent ON post_reactions (created_at);
CREATE INDEX post_comments_recent ON post_comments (created_at) WHERE deleted_at IS NULL;
CREATE INDEX post_reposts_recent ON post_reposts (created_at);
CREATE INDEX post_shares_recent ON post_shares (created_at);
