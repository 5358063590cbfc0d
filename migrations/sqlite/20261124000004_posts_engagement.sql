-- Posts and engagement. A post is one `posts` row typed by `post_type`; the typed details of a
-- listing (product, service, crowdfunding, investment offer/request, mentorship request) live in a
-- 1:1 side table keyed by post_id. Core writes the side row in the same transaction as the post and
-- guarantees it matches `post_type` (a `text` post has none).

-- Enum post_type: text, product, service, crowdfunding, investment_offer, investment_request, mentorship_request.

-- Enum post_visibility: public, connections.

-- Enum reaction_kind: like, celebrate, support, insightful, curious.

-- Where a post was shared to: copied link, a Vendrome conversation, or an external network.
-- Enum share_channel: link, message, email, linkedin, x, facebook, whatsapp.

-- Enum service_rate_unit: fixed, hourly, daily, weekly, monthly.

-- Declared in order of maturity (PostgreSQL compares enum values in this order; SQLite does not).
-- Enum investment_stage: idea, pre_seed, seed, series_a, series_b, growth, established.

-- Enum investment_instrument: equity, convertible_note, safe, debt, revenue_share, reward, donation.

-- Enum mentorship_format: virtual, in_person, hybrid.

CREATE TABLE posts (
    id             BLOB NOT NULL PRIMARY KEY,
    author_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_type      TEXT NOT NULL CHECK (post_type IN ('text', 'product', 'service', 'crowdfunding', 'investment_offer', 'investment_request', 'mentorship_request')),
    visibility     TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'connections')),
    body           TEXT NOT NULL,
    -- Attachments: [{"url", "kind", "width", "height", "alt"}], validated by core.
    media          TEXT NOT NULL DEFAULT '[]',
    -- Denormalised counters, changed in the same transaction as the engagement row.
    reaction_count INTEGER NOT NULL DEFAULT 0 CHECK (reaction_count >= 0),
    comment_count  INTEGER NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    repost_count   INTEGER NOT NULL DEFAULT 0 CHECK (repost_count >= 0),
    share_count    INTEGER NOT NULL DEFAULT 0 CHECK (share_count >= 0),
    bookmark_count INTEGER NOT NULL DEFAULT 0 CHECK (bookmark_count >= 0),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    edited_at      TEXT,
    deleted_at     TEXT
) STRICT;

-- Feeds use keyset pagination on (created_at, id) and never show deleted posts.
CREATE INDEX posts_author_feed ON posts (author_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX posts_type_feed ON posts (post_type, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX posts_public_feed ON posts (created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public';

CREATE TABLE post_topics (
    post_id  BLOB NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    topic_id BLOB NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, topic_id)
) STRICT;

-- Topic feed: post ids are UUIDv7, so (topic_id, post_id DESC) is newest first without a join.
CREATE INDEX post_topics_topic ON post_topics (topic_id, post_id DESC);

CREATE TABLE post_products (
    post_id        BLOB NOT NULL PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    category       TEXT,
    price_amount   INTEGER NOT NULL CHECK (price_amount >= 0),
    currency       TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    -- NULL = not tracked (digital goods, made to order).
    stock_quantity INTEGER CHECK (stock_quantity >= 0),
    sku            TEXT
) STRICT;

CREATE TABLE post_services (
    post_id          BLOB NOT NULL PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title            TEXT NOT NULL,
    category         TEXT,
    rate_amount      INTEGER NOT NULL CHECK (rate_amount >= 0),
    currency         TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    rate_unit        TEXT NOT NULL CHECK (rate_unit IN ('fixed', 'hourly', 'daily', 'weekly', 'monthly')),
    -- Default length of one booking.
    duration_minutes INTEGER CHECK (duration_minutes > 0),
    is_remote        INTEGER NOT NULL DEFAULT 1 CHECK (is_remote = 0 OR is_remote = 1),
    location         TEXT
) STRICT;

-- The listing as shown in the feed; the money-moving campaign is `investment_campaigns` (commerce),
-- which points back at the post.
CREATE TABLE post_crowdfunding (
    post_id        BLOB NOT NULL PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    goal_amount    INTEGER NOT NULL CHECK (goal_amount > 0),
    currency       TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    instrument     TEXT NOT NULL CHECK (instrument IN ('equity', 'convertible_note', 'safe', 'debt', 'revenue_share', 'reward', 'donation')),
    ends_at        TEXT NOT NULL,
    reward_summary TEXT
) STRICT;

-- An investor advertising capital. NULL instrument/stage = any.
CREATE TABLE post_investment_offers (
    post_id           BLOB NOT NULL PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title             TEXT NOT NULL,
    ticket_min_amount INTEGER NOT NULL CHECK (ticket_min_amount >= 0),
    ticket_max_amount INTEGER NOT NULL,
    currency          TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    instrument        TEXT CHECK (instrument IN ('equity', 'convertible_note', 'safe', 'debt', 'revenue_share', 'reward', 'donation')),
    stage             TEXT CHECK (stage IN ('idea', 'pre_seed', 'seed', 'series_a', 'series_b', 'growth', 'established')),
    CHECK (ticket_max_amount >= ticket_min_amount)
) STRICT;

-- A business seeking capital.
CREATE TABLE post_investment_requests (
    post_id                BLOB NOT NULL PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    title                  TEXT NOT NULL,
    amount_sought          INTEGER NOT NULL CHECK (amount_sought > 0),
    currency               TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    instrument             TEXT NOT NULL CHECK (instrument IN ('equity', 'convertible_note', 'safe', 'debt', 'revenue_share', 'reward', 'donation')),
    stage                  TEXT NOT NULL CHECK (stage IN ('idea', 'pre_seed', 'seed', 'series_a', 'series_b', 'growth', 'established')),
    -- Equity offered for the amount, when the instrument is equity.
    equity_offered_percent REAL CHECK (equity_offered_percent BETWEEN 0 AND 100),
    use_of_funds           TEXT
) STRICT;

-- A member looking for a mentor. Budget and currency are both set (paid) or both NULL (unpaid).
CREATE TABLE post_mentorship_requests (
    post_id        BLOB NOT NULL PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    area           TEXT NOT NULL,
    format         TEXT NOT NULL CHECK (format IN ('virtual', 'in_person', 'hybrid')),
    duration_weeks INTEGER CHECK (duration_weeks > 0),
    budget_amount  INTEGER CHECK (budget_amount >= 0),
    currency       TEXT CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    CHECK ((budget_amount IS NULL) = (currency IS NULL))
) STRICT;

CREATE TABLE post_comments (
    id         BLOB NOT NULL PRIMARY KEY,
    post_id    BLOB NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- One level of replies; a deleted parent is soft-deleted, so replies keep their thread.
    parent_id  BLOB REFERENCES post_comments (id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    CHECK (parent_id IS NULL OR parent_id <> id)
) STRICT;

CREATE INDEX post_comments_post ON post_comments (post_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX post_comments_parent ON post_comments (parent_id, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX post_comments_author ON post_comments (author_id, created_at DESC);

-- One reaction per user per post; changing the kind updates the row.
CREATE TABLE post_reactions (
    post_id    BLOB NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('like', 'celebrate', 'support', 'insightful', 'curious')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
) STRICT;

-- The primary key serves "reactions on a post" (and the per-kind breakdown with a GROUP BY);
-- this serves "did I react" across a page of posts and a user's activity.
CREATE INDEX post_reactions_user ON post_reactions (user_id, created_at DESC);

-- A plain repost (no commentary): at most one per user per post.
CREATE TABLE post_reposts (
    post_id    BLOB NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
) STRICT;

-- A user's reposts appear in their feed by time.
CREATE INDEX post_reposts_user ON post_reposts (user_id, created_at DESC);

-- Shares are events, not state: the same user may share a post many times.
CREATE TABLE post_shares (
    id         BLOB NOT NULL PRIMARY KEY,
    post_id    BLOB NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel    TEXT NOT NULL CHECK (channel IN ('link', 'message', 'email', 'linkedin', 'x', 'facebook', 'whatsapp')),
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX post_shares_post ON post_shares (post_id, created_at DESC);
CREATE INDEX post_shares_user ON post_shares (user_id, created_at DESC);

CREATE TABLE bookmarks (
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    BLOB NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, post_id)
) STRICT;

-- "My bookmarks", newest first, keyset on (created_at, post_id).
CREATE INDEX bookmarks_user_time ON bookmarks (user_id, created_at DESC, post_id DESC);
-- Cascading deletes and counter recomputation by post.
CREATE INDEX bookmarks_post ON bookmarks (post_id);
