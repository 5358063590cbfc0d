-- Platform: feature flags, the transactional outbox, idempotency keys, audit events and consent
-- records. Comes after identity because audit and consent rows reference users.

CREATE TYPE outbox_status AS ENUM ('pending', 'published', 'dead');

CREATE TYPE idempotency_status AS ENUM ('in_progress', 'completed');

-- POPIA: what a user agreed to (or withdrew); one row per decision, never updated.
CREATE TYPE consent_kind AS ENUM
    ('terms_of_service', 'privacy_policy', 'marketing_email', 'analytics', 'cross_border_transfer');

CREATE TABLE feature_flags (
    name            text PRIMARY KEY,
    description     text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL DEFAULT false,
    -- Share of users (bucketed by a hash of the user id) who see the flag on when `enabled`.
    rollout_percent smallint NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- The cut-over flags of the mock-to-API migration (backend plan, section 5). All start off.
INSERT INTO feature_flags (name, description, enabled, rollout_percent, created_at, updated_at) VALUES
    ('use_real_auth', 'Sign-in, registration and sessions through the API instead of local storage.', false, 100, now(), now()),
    ('use_real_feed', 'Feed, posts and engagement (reactions, comments, reposts, bookmarks) from the API.', false, 100, now(), now()),
    ('use_real_messages', 'Connections, conversations and messages from the API and WebSocket.', false, 100, now(), now()),
    ('use_real_profiles', 'Profile directory, detail, edit, search and trending from the API.', false, 100, now(), now()),
    ('use_real_marketing', 'Marketing campaigns and their metrics from the API.', false, 100, now(), now()),
    ('use_real_calendar', 'Calendar events and provider sync from the API.', false, 100, now(), now()),
    ('use_real_payments', 'Checkout and payments through the payment orchestrator.', false, 100, now(), now());

-- Transactional outbox: written in the same transaction as the state change it announces; the
-- relay leases pending rows (lease_owner/lease_until), publishes them at least once and marks them
-- published, or dead after too many attempts. `id` gives the publication order.
CREATE TABLE outbox_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Carried to consumers so they can deduplicate.
    event_id       uuid NOT NULL UNIQUE,
    event_type     text NOT NULL,
    aggregate_type text NOT NULL,
    -- Text, not uuid: some aggregates are keyed by name (feature flags) or by a composite key.
    aggregate_id   text NOT NULL,
    payload        jsonb NOT NULL,
    status         outbox_status NOT NULL DEFAULT 'pending',
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    available_at   timestamptz NOT NULL,
    lease_owner    text,
    lease_until    timestamptz,
    last_error     text,
    created_at     timestamptz NOT NULL,
    published_at   timestamptz,
    CHECK (status <> 'published' OR published_at IS NOT NULL)
);

-- The relay's poll: only pending rows, oldest due first. Stays small as rows get published.
CREATE INDEX outbox_events_pending ON outbox_events (available_at, id) WHERE status = 'pending';
CREATE INDEX outbox_events_aggregate ON outbox_events (aggregate_type, aggregate_id, id);

-- Idempotency-Key handling for unsafe requests. `scope` is the caller (`user:<id>`, or `anon:<ip>`
-- for anonymous callers), so two users may send the same key. `request_hash` (method, path and body)
-- detects a key reused for a different request; `locked_until` lets a retry take over a request whose worker died.
CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    key             text NOT NULL,
    request_hash    text NOT NULL,
    status          idempotency_status NOT NULL,
    response_status smallint CHECK (response_status BETWEEN 100 AND 599),
    response_body   bytea,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, key),
    CHECK (status <> 'completed' OR response_status IS NOT NULL)
);

-- Purge job.
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- Append-only record of high-risk actions (role changes, payouts, moderation, data exports).
CREATE TABLE audit_events (
    id          uuid PRIMARY KEY,
    -- Kept when the actor's account goes: the event outlives it.
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}',
    ip          text,
    request_id  text,
    created_at  timestamptz NOT NULL
);

CREATE INDEX audit_events_target ON audit_events (target_type, target_id, created_at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, created_at);

CREATE TABLE consent_records (
    id             uuid PRIMARY KEY,
    -- Cascades: erasing an account (POPIA deletion request) erases its consent history too; the
    -- erasure itself is recorded in audit_events.
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           consent_kind NOT NULL,
    -- true = granted, false = withdrawn. The latest row per (user, kind) is the current state.
    granted        boolean NOT NULL,
    -- Version of the policy text the user saw.
    policy_version text NOT NULL,
    ip             text,
    user_agent     text,
    created_at     timestamptz NOT NULL
);

CREATE INDEX consent_records_user_kind ON consent_records (user_id, kind, created_at DESC);
