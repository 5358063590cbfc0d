-- Platform: feature flags, the transactional outbox, idempotency keys, audit events and consent
-- records. Comes after identity because audit and consent rows reference users.

-- Enum outbox_status: pending, published, dead.

-- Enum idempotency_status: in_progress, completed.

-- POPIA: what a user agreed to (or withdrew); one row per decision, never updated.
-- Enum consent_kind: terms_of_service, privacy_policy, marketing_email, analytics, cross_border_transfer.

CREATE TABLE feature_flags (
    name            TEXT NOT NULL PRIMARY KEY,
    description     TEXT NOT NULL DEFAULT '',
    enabled         INTEGER NOT NULL DEFAULT 0 CHECK (enabled = 0 OR enabled = 1),
    -- Share of users (bucketed by a hash of the user id) who see the flag on when `enabled`.
    rollout_percent INTEGER NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

-- The cut-over flags of the mock-to-API migration (backend plan, section 5). All start off.
INSERT INTO feature_flags (name, description, enabled, rollout_percent, created_at, updated_at) VALUES
    ('use_real_auth', 'Sign-in, registration and sessions through the API instead of local storage.', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')),
    ('use_real_feed', 'Feed, posts and engagement (reactions, comments, reposts, bookmarks) from the API.', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')),
    ('use_real_messages', 'Connections, conversations and messages from the API and WebSocket.', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')),
    ('use_real_profiles', 'Profile directory, detail, edit, search and trending from the API.', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')),
    ('use_real_marketing', 'Marketing campaigns and their metrics from the API.', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')),
    ('use_real_calendar', 'Calendar events and provider sync from the API.', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')),
    ('use_real_payments', 'Checkout and payments through the payment orchestrator.', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));

-- Transactional outbox: written in the same transaction as the state change it announces; the
-- relay leases pending rows (lease_owner/lease_until), publishes them at least once and marks them
-- published, or dead after too many attempts. `id` gives the publication order.
CREATE TABLE outbox_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Carried to consumers so they can deduplicate.
    event_id       BLOB NOT NULL UNIQUE,
    event_type     TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    -- Text, not uuid: some aggregates are keyed by name (feature flags) or by a composite key.
    aggregate_id   TEXT NOT NULL,
    payload        TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'dead')),
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    available_at   TEXT NOT NULL,
    lease_owner    TEXT,
    lease_until    TEXT,
    last_error     TEXT,
    created_at     TEXT NOT NULL,
    published_at   TEXT,
    CHECK (status <> 'published' OR published_at IS NOT NULL)
) STRICT;

-- The relay's poll: only pending rows, oldest due first. Stays small as rows get published.
CREATE INDEX outbox_events_pending ON outbox_events (available_at, id) WHERE status = 'pending';
CREATE INDEX outbox_events_aggregate ON outbox_events (aggregate_type, aggregate_id, id);

-- Idempotency-Key handling for unsafe requests. `scope` is the caller (`user:<id>`, or `anon:<ip>`
-- for anonymous callers), so two users may send the same key. `request_hash` (method, path and body)
-- detects a key reused for a different request; `locked_until` lets a retry take over a request whose worker died.
CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('in_progress', 'completed')),
    response_status INTEGER CHECK (response_status BETWEEN 100 AND 599),
    response_body   BLOB,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    PRIMARY KEY (scope, key),
    CHECK (status <> 'completed' OR response_status IS NOT NULL)
) STRICT;

-- Purge job.
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- Append-only record of high-risk actions (role changes, payouts, moderation, data exports).
CREATE TABLE audit_events (
    id          BLOB NOT NULL PRIMARY KEY,
    -- Kept when the actor's account goes: the event outlives it.
    actor_id    BLOB REFERENCES users (id) ON DELETE SET NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    ip          TEXT,
    request_id  TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_target ON audit_events (target_type, target_id, created_at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, created_at);

CREATE TABLE consent_records (
    id             BLOB NOT NULL PRIMARY KEY,
    -- Cascades: erasing an account (POPIA deletion request) erases its consent history too; the
    -- erasure itself is recorded in audit_events.
    user_id        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('terms_of_service', 'privacy_policy', 'marketing_email', 'analytics', 'cross_border_transfer')),
    -- true = granted, false = withdrawn. The latest row per (user, kind) is the current state.
    granted        INTEGER NOT NULL CHECK (granted = 0 OR granted = 1),
    -- Version of the policy text the user saw.
    policy_version TEXT NOT NULL,
    ip             TEXT,
    user_agent     TEXT,
    created_at     TEXT NOT NULL
) STRICT;

CREATE INDEX consent_records_user_kind ON consent_records (user_id, kind, created_at DESC);
