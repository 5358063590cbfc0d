-- Profiles and the social graph: business profiles, connections, follows, topics and blocks.

CREATE TYPE company_size AS ENUM ('solo', 'micro', 'small', 'medium', 'large', 'enterprise');

-- What a business says it is looking for on the network (directory filter, matching).
CREATE TYPE looking_for AS ENUM
    ('customers', 'suppliers', 'partners', 'investors', 'mentors', 'mentees', 'talent');

-- pending -> accepted | declined | withdrawn; accepted -> removed. Transitions live in core.
CREATE TYPE connection_status AS ENUM ('pending', 'accepted', 'declined', 'withdrawn', 'removed');

-- One row per user, created in the same transaction as the user: the business fields are optional
-- (an individual member has none), and the row carries the user's denormalised graph counters
-- (the `users` columns are fixed). Counters change in the same transaction as the follow/connection.
CREATE TABLE business_profiles (
    user_id          uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    company_name     text,
    -- Lower-case slug from the industry taxonomy (e.g. 'agritech'); also used by marketing targets.
    industry         text CHECK (industry = lower(industry)),
    company_size     company_size,
    -- ISO 3166-1 alpha-2.
    country_code     char(2) CHECK (country_code ~ '^[A-Z]{2}$'),
    city             text,
    website_url      text,
    about            text,
    founded_year     smallint CHECK (founded_year BETWEEN 1800 AND 2200),
    follower_count   bigint NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    following_count  bigint NOT NULL DEFAULT 0 CHECK (following_count >= 0),
    connection_count bigint NOT NULL DEFAULT 0 CHECK (connection_count >= 0),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE INDEX business_profiles_company_name_trgm
    ON business_profiles USING gin (company_name gin_trgm_ops);
-- Directory filters.
CREATE INDEX business_profiles_industry ON business_profiles (industry, country_code);
CREATE INDEX business_profiles_country ON business_profiles (country_code, industry);

-- A set, so a child table rather than an array (SQLite has no arrays).
CREATE TABLE business_profile_looking_for (
    user_id     uuid NOT NULL REFERENCES business_profiles (user_id) ON DELETE CASCADE,
    looking_for looking_for NOT NULL,
    PRIMARY KEY (user_id, looking_for)
);

CREATE INDEX business_profile_looking_for_by_value ON business_profile_looking_for (looking_for, user_id);

-- One row per request. A declined/withdrawn/removed row stays as history and a new request gets a
-- new row; the partial unique index below allows at most one open (pending or accepted) row per
-- unordered pair, so two people cannot have two pending requests or two connections.
CREATE TABLE connections (
    id           uuid PRIMARY KEY,
    requester_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    addressee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       connection_status NOT NULL DEFAULT 'pending',
    message      text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    responded_at timestamptz,
    CHECK (requester_id <> addressee_id)
);

CREATE UNIQUE INDEX connections_one_open_per_pair
    ON connections (least(requester_id, addressee_id), greatest(requester_id, addressee_id))
    WHERE status IN ('pending', 'accepted');
-- "My connections" and "requests I sent / received", by either side and status.
CREATE INDEX connections_requester ON connections (requester_id, status, created_at DESC);
CREATE INDEX connections_addressee ON connections (addressee_id, status, created_at DESC);

CREATE TABLE user_follows (
    follower_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);

-- The primary key serves "who do I follow"; this serves "who follows me", newest first.
CREATE INDEX user_follows_followee ON user_follows (followee_id, created_at DESC);

CREATE TABLE topics (
    id             uuid PRIMARY KEY,
    -- URL form, e.g. 'renewable-energy'.
    slug           text NOT NULL UNIQUE CHECK (slug = lower(slug)),
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    follower_count bigint NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    post_count     bigint NOT NULL DEFAULT 0 CHECK (post_count >= 0),
    created_at     timestamptz NOT NULL
);

CREATE INDEX topics_name_trgm ON topics USING gin (name gin_trgm_ops);

CREATE TABLE user_topic_follows (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic_id   uuid NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, topic_id)
);

CREATE INDEX user_topic_follows_topic ON user_topic_follows (topic_id, user_id);

-- A block hides each from the other and stops messages and connection requests (enforced in core).
CREATE TABLE user_blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);

-- "Has anyone blocked me" checks, in the other direction from the primary key.
CREATE INDEX user_blocks_blocked ON user_blocks (blocked_id, blocker_id);
