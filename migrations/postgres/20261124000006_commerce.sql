-- Commerce: product orders, service bookings, reviews, mentorships, investment campaigns and
-- commitments. Every status column is a state machine whose transitions are enforced in core.
-- Rows here carry money or obligations, so references to users and listings use NO ACTION
-- (accounts are disabled, listings soft-deleted, never hard-deleted under them).

-- pending_payment -> paid | cancelled; paid -> fulfilled | refunded; fulfilled -> completed | refunded.
CREATE TYPE order_status AS ENUM
    ('pending_payment', 'paid', 'fulfilled', 'completed', 'cancelled', 'refunded');

-- requested -> confirmed | declined | cancelled; confirmed -> completed | cancelled | no_show.
CREATE TYPE booking_status AS ENUM
    ('requested', 'confirmed', 'completed', 'cancelled', 'declined', 'no_show');

-- requested -> active | declined | cancelled; active <-> paused; active | paused -> completed | cancelled.
CREATE TYPE mentorship_status AS ENUM
    ('requested', 'active', 'paused', 'completed', 'declined', 'cancelled');

-- draft -> live | cancelled; live -> funded | closed | cancelled; funded -> closed.
CREATE TYPE investment_campaign_status AS ENUM ('draft', 'live', 'funded', 'closed', 'cancelled');

-- pending (awaiting payment) -> confirmed | cancelled; confirmed -> refunded.
CREATE TYPE commitment_status AS ENUM ('pending', 'confirmed', 'cancelled', 'refunded');

CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    buyer_id        uuid NOT NULL REFERENCES users (id),
    seller_id       uuid NOT NULL REFERENCES users (id),
    status          order_status NOT NULL DEFAULT 'pending_payment',
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Sum of the items' line amounts.
    subtotal_amount bigint NOT NULL CHECK (subtotal_amount >= 0),
    shipping_amount bigint NOT NULL DEFAULT 0 CHECK (shipping_amount >= 0),
    -- What the buyer pays.
    total_amount    bigint NOT NULL CHECK (total_amount >= 0),
    -- Vendrome's commission, deducted from the seller's payout (not added to the buyer's total).
    platform_fee_amount bigint NOT NULL DEFAULT 0 CHECK (platform_fee_amount >= 0),
    -- The buyer's Idempotency-Key for checkout: a retried checkout finds the same order.
    idempotency_key text NOT NULL,
    shipping_address jsonb,
    note            text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    paid_at         timestamptz,
    cancelled_at    timestamptz,
    CHECK (buyer_id <> seller_id),
    CHECK (total_amount = subtotal_amount + shipping_amount),
    CHECK (platform_fee_amount <= total_amount),
    UNIQUE (buyer_id, idempotency_key)
);

CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC);
CREATE INDEX orders_seller ON orders (seller_id, status, created_at DESC);

-- Title and unit price are copied at checkout, so later edits to the listing do not change orders.
CREATE TABLE order_items (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_post_id uuid NOT NULL REFERENCES post_products (post_id),
    title           text NOT NULL,
    quantity        integer NOT NULL CHECK (quantity > 0),
    unit_amount     bigint NOT NULL CHECK (unit_amount >= 0),
    line_amount     bigint NOT NULL CHECK (line_amount >= 0),
    CHECK (line_amount = unit_amount * quantity),
    UNIQUE (order_id, product_post_id)
);

CREATE INDEX order_items_product ON order_items (product_post_id);

-- Overlapping bookings of one provider are rejected by core (an exclusion constraint would need
-- btree_gist and has no SQLite equivalent); the provider index makes that check a range scan.
CREATE TABLE bookings (
    id              uuid PRIMARY KEY,
    service_post_id uuid NOT NULL REFERENCES post_services (post_id),
    client_id       uuid NOT NULL REFERENCES users (id),
    provider_id     uuid NOT NULL REFERENCES users (id),
    status          booking_status NOT NULL DEFAULT 'requested',
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    -- IANA zone the client booked in, for display and calendar invites.
    timezone        text NOT NULL,
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount          bigint NOT NULL CHECK (amount >= 0),
    -- Vendrome's commission, deducted from the provider's payout.
    platform_fee_amount bigint NOT NULL DEFAULT 0 CHECK (platform_fee_amount >= 0),
    idempotency_key text NOT NULL,
    note            text,
    cancel_reason   text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (client_id <> provider_id),
    CHECK (platform_fee_amount <= amount),
    UNIQUE (client_id, idempotency_key)
);

CREATE INDEX bookings_provider ON bookings (provider_id, starts_at);
CREATE INDEX bookings_client ON bookings (client_id, starts_at);
CREATE INDEX bookings_service ON bookings (service_post_id, starts_at);

-- A review of a completed order or booking, by its buyer/client, about the seller/provider.
CREATE TABLE reviews (
    id              uuid PRIMARY KEY,
    author_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    order_id        uuid REFERENCES orders (id),
    booking_id      uuid REFERENCES bookings (id),
    rating          smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body            text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    CHECK (num_nonnulls(order_id, booking_id) = 1),
    CHECK (author_id <> subject_user_id),
    -- One review per order / booking per author.
    UNIQUE (author_id, order_id),
    UNIQUE (author_id, booking_id)
);

CREATE INDEX reviews_subject ON reviews (subject_user_id, created_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE mentorship_relationships (
    id              uuid PRIMARY KEY,
    mentor_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mentee_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The mentorship-request post it came from, if any.
    request_post_id uuid REFERENCES posts (id) ON DELETE SET NULL,
    status          mentorship_status NOT NULL DEFAULT 'requested',
    format          mentorship_format NOT NULL,
    goals           text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    started_at      timestamptz,
    ended_at        timestamptz,
    CHECK (mentor_id <> mentee_id)
);

-- At most one open mentorship per (mentor, mentee).
CREATE UNIQUE INDEX mentorship_relationships_one_open
    ON mentorship_relationships (mentor_id, mentee_id) WHERE status IN ('requested', 'active', 'paused');
CREATE INDEX mentorship_relationships_mentor ON mentorship_relationships (mentor_id, status, created_at DESC);
CREATE INDEX mentorship_relationships_mentee ON mentorship_relationships (mentee_id, status, created_at DESC);

-- A fundraise (crowdfunding or an investment round). `raised_amount` and `committer_count` are
-- denormalised from confirmed commitments, updated in the same transaction.
CREATE TABLE investment_campaigns (
    id                    uuid PRIMARY KEY,
    owner_id              uuid NOT NULL REFERENCES users (id),
    -- The crowdfunding / investment-request post that advertises it.
    post_id               uuid UNIQUE REFERENCES posts (id) ON DELETE SET NULL,
    title                 text NOT NULL,
    summary               text NOT NULL DEFAULT '',
    instrument            investment_instrument NOT NULL,
    stage                 investment_stage,
    status                investment_campaign_status NOT NULL DEFAULT 'draft',
    currency              char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    goal_amount           bigint NOT NULL CHECK (goal_amount > 0),
    min_commitment_amount bigint NOT NULL DEFAULT 0 CHECK (min_commitment_amount >= 0),
    raised_amount         bigint NOT NULL DEFAULT 0 CHECK (raised_amount >= 0),
    committer_count       bigint NOT NULL DEFAULT 0 CHECK (committer_count >= 0),
    opens_at              timestamptz,
    closes_at             timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CHECK (closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at)
);

CREATE INDEX investment_campaigns_status ON investment_campaigns (status, closes_at);
CREATE INDEX investment_campaigns_owner ON investment_campaigns (owner_id, created_at DESC);

CREATE TABLE investment_commitments (
    id              uuid PRIMARY KEY,
    campaign_id     uuid NOT NULL REFERENCES investment_campaigns (id),
    investor_id     uuid NOT NULL REFERENCES users (id),
    status          commitment_status NOT NULL DEFAULT 'pending',
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount          bigint NOT NULL CHECK (amount > 0),
    idempotency_key text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    confirmed_at    timestamptz,
    cancelled_at    timestamptz,
    UNIQUE (investor_id, idempotency_key)
);

CREATE INDEX investment_commitments_campaign ON investment_commitments (campaign_id, status, created_at);
CREATE INDEX investment_commitments_investor ON investment_commitments (investor_id, created_at DESC);
