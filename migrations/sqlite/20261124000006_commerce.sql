-- Commerce: product orders, service bookings, reviews, mentorships, investment campaigns and
-- commitments. Every status column is a state machine whose transitions are enforced in core.
-- Rows here carry money or obligations, so references to users and listings use NO ACTION
-- (accounts are disabled, listings soft-deleted, never hard-deleted under them).

-- pending_payment -> paid | cancelled; paid -> fulfilled | refunded; fulfilled -> completed | refunded.
-- Enum order_status: pending_payment, paid, fulfilled, completed, cancelled, refunded.

-- requested -> confirmed | declined | cancelled; confirmed -> completed | cancelled | no_show.
-- Enum booking_status: requested, confirmed, completed, cancelled, declined, no_show.

-- requested -> active | declined | cancelled; active <-> paused; active | paused -> completed | cancelled.
-- Enum mentorship_status: requested, active, paused, completed, declined, cancelled.

-- draft -> live | cancelled; live -> funded | closed | cancelled; funded -> closed.
-- Enum investment_campaign_status: draft, live, funded, closed, cancelled.

-- pending (awaiting payment) -> confirmed | cancelled; confirmed -> refunded.
-- Enum commitment_status: pending, confirmed, cancelled, refunded.

CREATE TABLE orders (
    id              BLOB NOT NULL PRIMARY KEY,
    buyer_id        BLOB NOT NULL REFERENCES users (id),
    seller_id       BLOB NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'pending_payment' CHECK (status IN ('pending_payment', 'paid', 'fulfilled', 'completed', 'cancelled', 'refunded')),
    currency        TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    -- Sum of the items' line amounts.
    subtotal_amount INTEGER NOT NULL CHECK (subtotal_amount >= 0),
    shipping_amount INTEGER NOT NULL DEFAULT 0 CHECK (shipping_amount >= 0),
    -- What the buyer pays.
    total_amount    INTEGER NOT NULL CHECK (total_amount >= 0),
    -- Vendrome's commission, deducted from the seller's payout (not added to the buyer's total).
    platform_fee_amount INTEGER NOT NULL DEFAULT 0 CHECK (platform_fee_amount >= 0),
    -- The buyer's Idempotency-Key for checkout: a retried checkout finds the same order.
    idempotency_key TEXT NOT NULL,
    shipping_address TEXT,
    note            TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    paid_at         TEXT,
    cancelled_at    TEXT,
    CHECK (buyer_id <> seller_id),
    CHECK (total_amount = subtotal_amount + shipping_amount),
    CHECK (platform_fee_amount <= total_amount),
    UNIQUE (buyer_id, idempotency_key)
) STRICT;

CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC);
CREATE INDEX orders_seller ON orders (seller_id, status, created_at DESC);

-- Title and unit price are copied at checkout, so later edits to the listing do not change orders.
CREATE TABLE order_items (
    id              BLOB NOT NULL PRIMARY KEY,
    order_id        BLOB NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_post_id BLOB NOT NULL REFERENCES post_products (post_id),
    title           TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    unit_amount     INTEGER NOT NULL CHECK (unit_amount >= 0),
    line_amount     INTEGER NOT NULL CHECK (line_amount >= 0),
    CHECK (line_amount = unit_amount * quantity),
    UNIQUE (order_id, product_post_id)
) STRICT;

CREATE INDEX order_items_product ON order_items (product_post_id);

-- Overlapping bookings of one provider are rejected by core (an exclusion constraint would need
-- btree_gist in PostgreSQL and has no SQLite equivalent); the provider index makes that check a
-- range scan.
CREATE TABLE bookings (
    id              BLOB NOT NULL PRIMARY KEY,
    service_post_id BLOB NOT NULL REFERENCES post_services (post_id),
    client_id       BLOB NOT NULL REFERENCES users (id),
    provider_id     BLOB NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'confirmed', 'completed', 'cancelled', 'declined', 'no_show')),
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    -- IANA zone the client booked in, for display and calendar invites.
    timezone        TEXT NOT NULL,
    currency        TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    amount          INTEGER NOT NULL CHECK (amount >= 0),
    -- Vendrome's commission, deducted from the provider's payout.
    platform_fee_amount INTEGER NOT NULL DEFAULT 0 CHECK (platform_fee_amount >= 0),
    idempotency_key TEXT NOT NULL,
    note            TEXT,
    cancel_reason   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (client_id <> provider_id),
    CHECK (platform_fee_amount <= amount),
    UNIQUE (client_id, idempotency_key)
) STRICT;

CREATE INDEX bookings_provider ON bookings (provider_id, starts_at);
CREATE INDEX bookings_client ON bookings (client_id, starts_at);
CREATE INDEX bookings_service ON bookings (service_post_id, starts_at);

-- A review of a completed order or booking, by its buyer/client, about the seller/provider.
CREATE TABLE reviews (
    id              BLOB NOT NULL PRIMARY KEY,
    author_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject_user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    order_id        BLOB REFERENCES orders (id),
    booking_id      BLOB REFERENCES bookings (id),
    rating          INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body            TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    CHECK (((order_id IS NOT NULL) + (booking_id IS NOT NULL)) = 1),
    CHECK (author_id <> subject_user_id),
    -- One review per order / booking per author.
    UNIQUE (author_id, order_id),
    UNIQUE (author_id, booking_id)
) STRICT;

CREATE INDEX reviews_subject ON reviews (subject_user_id, created_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE mentorship_relationships (
    id              BLOB NOT NULL PRIMARY KEY,
    mentor_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mentee_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The mentorship-request post it came from, if any.
    request_post_id BLOB REFERENCES posts (id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'active', 'paused', 'completed', 'declined', 'cancelled')),
    format          TEXT NOT NULL CHECK (format IN ('virtual', 'in_person', 'hybrid')),
    goals           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    started_at      TEXT,
    ended_at        TEXT,
    CHECK (mentor_id <> mentee_id)
) STRICT;

-- At most one open mentorship per (mentor, mentee).
CREATE UNIQUE INDEX mentorship_relationships_one_open
    ON mentorship_relationships (mentor_id, mentee_id)
    WHERE status = 'requested' OR status = 'active' OR status = 'paused';
CREATE INDEX mentorship_relationships_mentor ON mentorship_relationships (mentor_id, status, created_at DESC);
CREATE INDEX mentorship_relationships_mentee ON mentorship_relationships (mentee_id, status, created_at DESC);

-- A fundraise (crowdfunding or an investment round). `raised_amount` and `committer_count` are
-- denormalised from confirmed commitments, updated in the same transaction.
CREATE TABLE investment_campaigns (
    id                    BLOB NOT NULL PRIMARY KEY,
    owner_id              BLOB NOT NULL REFERENCES users (id),
    -- The crowdfunding / investment-request post that advertises it.
    post_id               BLOB UNIQUE REFERENCES posts (id) ON DELETE SET NULL,
    title                 TEXT NOT NULL,
    summary               TEXT NOT NULL DEFAULT '',
    instrument            TEXT NOT NULL CHECK (instrument IN ('equity', 'convertible_note', 'safe', 'debt', 'revenue_share', 'reward', 'donation')),
    stage                 TEXT CHECK (stage IN ('idea', 'pre_seed', 'seed', 'series_a', 'series_b', 'growth', 'established')),
    status                TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'live', 'funded', 'closed', 'cancelled')),
    currency              TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    goal_amount           INTEGER NOT NULL CHECK (goal_amount > 0),
    min_commitment_amount INTEGER NOT NULL DEFAULT 0 CHECK (min_commitment_amount >= 0),
    raised_amount         INTEGER NOT NULL DEFAULT 0 CHECK (raised_amount >= 0),
    committer_count       INTEGER NOT NULL DEFAULT 0 CHECK (committer_count >= 0),
    opens_at              TEXT,
    closes_at             TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    CHECK (closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at)
) STRICT;

CREATE INDEX investment_campaigns_status ON investment_campaigns (status, closes_at);
CREATE INDEX investment_campaigns_owner ON investment_campaigns (owner_id, created_at DESC);

CREATE TABLE investment_commitments (
    id              BLOB NOT NULL PRIMARY KEY,
    campaign_id     BLOB NOT NULL REFERENCES investment_campaigns (id),
    investor_id     BLOB NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'cancelled', 'refunded')),
    currency        TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    confirmed_at    TEXT,
    cancelled_at    TEXT,
    UNIQUE (investor_id, idempotency_key)
) STRICT;

CREATE INDEX investment_commitments_campaign ON investment_commitments (campaign_id, status, created_at);
CREATE INDEX investment_commitments_investor ON investment_commitments (investor_id, created_at DESC);
