-- Profiles and the social graph: business profiles, connections, follows, topics and blocks.

-- Enum company_size: solo, micro, small, medium, large, enterprise.

-- What a business says it is looking for on the network (directory filter, matching).
-- Enum looking_for: customers, suppliers, partners, investors, mentors, mentees, talent.

-- pending -> accepted | declined | withdrawn; accepted -> removed. Transitions live in core.
-- Enum connection_status: pending, accepted, declined, withdrawn, removed.

-- One row per user, created in the same transaction as the user: the business fields are optional
-- (an individual member has none), and the row carries the user's denormalised graph counters
-- (the `users` columns are fixed). Counters change in the same transaction as the follow/connection.
CREATE TABLE business_profiles (
    user_id          BLOB NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    company_name     TEXT,
    -- Lower-case slug from the industry taxonomy (e.g. 'agritech'); also used by marketing targets.
    industry         TEXT CHECK (industry = lower(industry)),
    company_size     TEXT CHECK (company_size IN ('solo', 'micro', 'small', 'medium', 'large', 'enterprise')),
    -- ISO 3166-1 alpha-2.
    country_code     TEXT CHECK (country_code GLOB '[A-Z][A-Z]'),
    city             TEXT,
    website_url      TEXT,
    about            TEXT,
    founded_year     INTEGER CHECK (founded_year BETWEEN 1800 AND 2200),
    follower_count   INTEGER NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    following_count  INTEGER NOT NULL DEFAULT 0 CHECK (following_count >= 0),
    connection_count INTEGER NOT NULL DEFAULT 0 CHECK (connection_count >= 0),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;

-- Directory filters.
CREATE INDEX business_profiles_industry ON business_profiles (industry, country_code);
CREATE INDEX business_profiles_country ON business_profiles (country_code, industry);

-- A set, so a child table rather than an array (SQLite has no arrays).
CREATE TABLE business_profile_looking_for (
    user_id     BLOB NOT NULL REFERENCES business_profiles (user_id) ON DELETE CASCADE,
    looking_for TEXT NOT NULL CHECK (looking_for IN ('customers', 'suppliers', 'partners', 'investors', 'mentors', 'mentees', 'talent')),
    PRIMARY KEY (user_id, looking_for)
) STRICT;

CREATE INDEX business_profile_looking_for_by_value ON business_profile_looking_for (looking_for, user_id);

-- One row per request. A declined/withdrawn/removed row stays as history and a new request gets a
-- new row; the partial unique index below allows at most one open (pending or accepted) row per
-- unordered pair, so two people cannot have two pending requests or two connections.
CREATE TABLE connections (
    id           BLOB NOT NULL PRIMARY KEY,
    requester_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    addressee_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'withdrawn', 'removed')),
    message      TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    responded_at TEXT,
    CHECK (requester_id <> addressee_id)
) STRICT;

CREATE UNIQUE INDEX connections_one_open_per_pair
    ON connections (min(requester_id, addressee_id), max(requester_id, addressee_id))
    WHERE status = 'pending' OR status = 'accepted';
-- "My connections" and "requests I sent / received", by either side and status.
CREATE INDEX connections_requester ON connections (requester_id, status, created_at DESC);
CREATE INDEX connections_addressee ON connections (addressee_id, status, created_at DESC);

CREATE TABLE user_follows (
    follower_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
) STRICT;

-- The primary key serves "who do I follow"; this serves "who follows me", newest first.
CREATE INDEX user_follows_followee ON user_follows (followee_id, created_at DESC);

CREATE TABLE topics (
    id             BLOB NOT NULL PRIMARY KEY,
    -- URL form, e.g. 'renewable-energy'.
    slug           TEXT NOT NULL UNIQUE CHECK (slug = lower(slug)),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    follower_count INTEGER NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    post_count     INTEGER NOT NULL DEFAULT 0 CHECK (post_count >= 0),
    created_at     TEXT NOT NULL
) STRICT;

CREATE TABLE user_topic_follows (
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic_id   BLOB NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, topic_id)
) STRICT;

CREATE INDEX user_topic_follows_topic ON user_topic_follows (topic_id, user_id);

-- A block hides each from the other and stops messages and connection requests (enforced in core).
CREATE TABLE user_blocks (
    blocker_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
) STRICT;

-- "Has anyone blocked me" checks, in the other direction from the primary key.
CREATE INDEX user_blocks_blocked ON user_blocks (blocked_id, blocker_id);
