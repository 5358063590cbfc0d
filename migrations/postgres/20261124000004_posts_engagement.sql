-- Posts and engagement. A post is one `posts` row typed by `post_type`; the typed details of a
-- listing (product, service, crowdfunding, investment offer/request, mentorship request) live in a
-- 1:1 side table keyed by post_id. Core writes the side row in the same transaction as the post and
-- guarantees it matches `post_type` (a `text` post has none).

CREATE TYPE post_type AS ENUM
    ('text', 'product', 'service', 'crowdfunding', 'investment_offer', 'investment_request',
     'mentorship_request');

CREATE TYPE post_visibility AS ENUM ('public', 'connections');

CREATE TYPE reaction_kind AS ENUM ('like', 'celebrate', 'support', 'insightful', 'curious');

-- Where a post was shared to: copied link, a Vendrome conversation, or an external network.
CREATE TYPE share_channel AS ENUM ('link', 'message', 'email', 'linkedin', 'x', 'facebook', 'whatsapp');

CREATE TYPE service_rate_unit AS ENUM ('fixed', 'hourly', 'daily', 'weekly', 'monthly');

-- Declared in order of maturity, so `stage >= 'seed'` works in PostgreSQL.
CREATE TYPE investment_stage AS ENUM
    ('idea', 'pre_seed', 'seed', 'series_a', 'series_b', 'growth', 'established');

CREATE TYPE investment_instrument AS ENUM
    ('equity', 'convertible_note', 'safe', 'debt', 'revenue_share', 'reward', 'donation');

CREATE TYPE mentorship_format AS ENUM ('virtual', 'in_person', 'hybrid');

CREATE TABLE posts (
    id             uuid PRIMARY KEY,
    author_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_type      post_type NOT NULL,
    visibility     post_visibility NOT NULL DEFAULT 'public',
    body           text NOT NULL,
    -- Attachments: [{"url", "kind", "width", "height", "alt"}], validated by core.
    media          jsonb NOT NULL DEFAULT '[]',
    -- Denormalised counters, changed in the same transaction as the engagement row.
    reaction_count bigint NOT NULL DEFAULT 0 CHECK (reaction_count >= 0),
    comment_count  bigint NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    repost_count   bigint NOT NULL DEFAULT 0 CHECK (repost_count >= 0),
    share_count    bigint NOT NULL DEFAULT 0 CHECK (share_count >= 0),
    bookmark_count bigint NOT NULL DEFAULT 0 CHECK (bookmark_count >= 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    edited_at      timestamptz,
    deleted_at     timestamptz
);

-- Feeds use keyset pagination on (created_at, id) and never show deleted posts.
CREATE INDEX posts_author_feed ON posts (author_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX posts_type_feed ON posts (post_type, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX posts_public_feed ON posts (created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public';
-- Full-text search; queries must use the same expression: to_tsvector('english', body).
CREATE INDEX posts_body_fts ON posts USING gin (to_tsvector('english', body));

CREATE TABLE post_topics (
    post_id  uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    topic_id uuid NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, topic_id)
);

-- Topic feed: post ids are UUIDv7, so (topic_id, post_id DESC) is newest first without a join.
CREATE INDEX post_topics_topic ON post_topics (topic_id, post_id DESC);

CREATE TABLE post_products (
    post_id        uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title          text NOT NULL,
    category       text,
    price_amount   bigint NOT NULL CHECK (price_amount >= 0),
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- NULL = not tracked (digital goods, made to order).
    stock_quantity integer CHECK (stock_quantity >= 0),
    sku            text
);

CREATE TABLE post_services (
    post_id          uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title            text NOT NULL,
    category         text,
    rate_amount      bigint NOT NULL CHECK (rate_amount >= 0),
    currency         char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    rate_unit        service_rate_unit NOT NULL,
    -- Default length of one booking.
    duration_minutes integer CHECK (duration_minutes > 0),
    is_remote        boolean NOT NULL DEFAULT true,
    location         text
);

-- The listing as shown in the feed; the money-moving campaign is `investment_campaigns` (commerce),
-- which points back at the post.
CREATE TABLE post_crowdfunding (
    post_id        uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title          text NOT NULL,
    goal_amount    bigint NOT NULL CHECK (goal_amount > 0),
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    instrument     investment_instrument NOT NULL,
    ends_at        timestamptz NOT NULL,
    reward_summary text
);

-- An investor advertising capital. NULL instrument/stage = any.
CREATE TABLE post_investment_offers (
    post_id           uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title             text NOT NULL,
    ticket_min_amount bigint NOT NULL CHECK (ticket_min_amount >= 0),
    ticket_max_amount bigint NOT NULL,
    currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    instrument        investment_instrument,
    stage             investment_stage,
    CHECK (ticket_max_amount >= ticket_min_amount)
);

-- A business seeking capital.
CREATE TABLE post_investment_requests (
    post_id                uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title                  text NOT NULL,
    amount_sought          bigint NOT NULL CHECK (amount_sought > 0),
    currency               char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    instrument             investment_instrument NOT NULL,
    stage                  investment_stage NOT NULL,
    -- Equity offered for the amount, when the instrument is equity.
    equity_offered_percent numeric(5, 2) CHECK (equity_offered_percent BETWEEN 0 AND 100),
    use_of_funds           text
);

-- A member looking for a mentor. Budget and currency are both set (paid) or both NULL (unpaid).
CREATE TABLE post_mentorship_requests (
    post_id        uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    area           text NOT NULL,
    format         mentorship_format NOT NULL,
    duration_weeks integer CHECK (duration_weeks > 0),
    budget_amount  bigint CHECK (budget_amount >= 0),
    currency       char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    CHECK ((budget_amount IS NULL) = (currency IS NULL))
);

CREATE TABLE post_comments (
    id         uuid PRIMARY KEY,
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- One level of replies; a deleted parent is soft-deleted, so replies keep their thread.
    parent_id  uuid REFERENCES post_comments (id) ON DELETE CASCADE,
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    CHECK (parent_id IS NULL OR parent_id <> id)
);

CREATE INDEX post_comments_post ON post_comments (post_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX post_comments_parent ON post_comments (parent_id, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX post_comments_author ON post_comments (author_id, created_at DESC);

-- One reaction per user per post; changing the kind updates the row.
CREATE TABLE post_reactions (
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       reaction_kind NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

-- The primary key serves "reactions on a post" (and the per-kind breakdown with a GROUP BY);
-- this serves "did I react" across a page of posts and a user's activity.
CREATE INDEX post_reactions_user ON post_reactions (user_id, created_at DESC);

-- A plain repost (no commentary): at most one per user per post.
CREATE TABLE post_reposts (
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

-- A user's reposts appear in their feed by time.
CREATE INDEX post_reposts_user ON post_reposts (user_id, created_at DESC);

-- Shares are events, not state: the same user may share a post many times.
CREATE TABLE post_shares (
    id         uuid PRIMARY KEY,
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel    share_channel NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX post_shares_post ON post_shares (post_id, created_at DESC);
CREATE INDEX post_shares_user ON post_shares (user_id, created_at DESC);

CREATE TABLE bookmarks (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, post_id)
);

-- "My bookmarks", newest first, keyset on (created_at, post_id).
CREATE INDEX bookmarks_user_time ON bookmarks (user_id, created_at DESC, post_id DESC);
-- Cascading deletes and counter recomputation by post.
CREATE INDEX bookmarks_post ON bookmarks (post_id);
