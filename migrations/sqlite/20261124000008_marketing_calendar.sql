-- Marketing campaigns (targeting, pacing, daily metrics) and the calendar (native events,
-- attendees, provider integrations and the sync retry queue).

-- Enum marketing_objective: awareness, engagement, traffic, leads, sales.

-- draft -> scheduled | cancelled; scheduled -> active | cancelled; active <-> paused;
-- active | paused -> completed | cancelled.
-- Enum marketing_campaign_status: draft, scheduled, active, paused, completed, cancelled.

-- Enum calendar_provider: google, microsoft, caldav.

-- iCalendar STATUS (RFC 5545).
-- Enum calendar_event_status: confirmed, tentative, cancelled.

-- iCalendar PARTSTAT (RFC 5545).
-- Enum calendar_attendee_status: needs_action, accepted, declined, tentative.

-- `error`: the last sync failed and is being retried; `revoked`: the user or provider withdrew
-- access and the user must reconnect.
-- Enum calendar_integration_status: active, paused, error, revoked.

-- Enum calendar_sync_job_kind: full_sync, delta_sync, push_event, delete_event, renew_subscription.

-- A failed attempt goes back to `pending` with a later `available_at` (backoff); after the last
-- attempt it becomes `dead`.
-- Enum calendar_sync_job_status: pending, running, succeeded, dead.

CREATE TABLE marketing_campaigns (
    id                  BLOB NOT NULL PRIMARY KEY,
    owner_id            BLOB NOT NULL REFERENCES users (id),
    name                TEXT NOT NULL,
    objective           TEXT NOT NULL CHECK (objective IN ('awareness', 'engagement', 'traffic', 'leads', 'sales')),
    status              TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'scheduled', 'active', 'paused', 'completed', 'cancelled')),
    -- The post being promoted, if any.
    promoted_post_id    BLOB REFERENCES posts (id) ON DELETE SET NULL,
    currency            TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    budget_amount       INTEGER NOT NULL CHECK (budget_amount >= 0),
    -- Pacing: spend per day is capped at this when set.
    daily_budget_amount INTEGER CHECK (daily_budget_amount > 0),
    -- Denormalised sum of marketing_campaign_metrics.spend_amount, updated with each ingest; the
    -- ingest caps spend at the budget, so the CHECK below never fires on late impressions.
    spent_amount        INTEGER NOT NULL DEFAULT 0 CHECK (spent_amount >= 0),
    -- The payment that funded the budget.
    funding_payment_id  BLOB REFERENCES payment_transactions (id),
    starts_at           TEXT,
    ends_at             TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    deleted_at          TEXT,
    CHECK (spent_amount <= budget_amount),
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
) STRICT;

CREATE INDEX marketing_campaigns_owner ON marketing_campaigns (owner_id, created_at DESC)
    WHERE deleted_at IS NULL;
-- The pacing worker: campaigns due to start or running.
CREATE INDEX marketing_campaigns_status ON marketing_campaigns (status, starts_at) WHERE deleted_at IS NULL;

-- Targeting: a campaign with no rows in a targeting table is not restricted on that dimension;
-- within one table the rows are alternatives (OR), across tables they combine (AND). One table per
-- dimension so each value is typed (and topics are a real foreign key).
CREATE TABLE marketing_campaign_target_industries (
    campaign_id BLOB NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    -- Same slugs as business_profiles.industry.
    industry    TEXT NOT NULL CHECK (industry = lower(industry)),
    PRIMARY KEY (campaign_id, industry)
) STRICT;

CREATE INDEX marketing_campaign_target_industries_value
    ON marketing_campaign_target_industries (industry, campaign_id);

CREATE TABLE marketing_campaign_target_countries (
    campaign_id  BLOB NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    country_code TEXT NOT NULL CHECK (country_code GLOB '[A-Z][A-Z]'),
    PRIMARY KEY (campaign_id, country_code)
) STRICT;

CREATE INDEX marketing_campaign_target_countries_value
    ON marketing_campaign_target_countries (country_code, campaign_id);

CREATE TABLE marketing_campaign_target_topics (
    campaign_id BLOB NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    topic_id    BLOB NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, topic_id)
) STRICT;

CREATE INDEX marketing_campaign_target_topics_value
    ON marketing_campaign_target_topics (topic_id, campaign_id);

-- One row per campaign per UTC day; ingest adds to it (upsert).
CREATE TABLE marketing_campaign_metrics (
    campaign_id  BLOB NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    -- 'YYYY-MM-DD' (UTC).
    day          TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    impressions  INTEGER NOT NULL DEFAULT 0 CHECK (impressions >= 0),
    clicks       INTEGER NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    conversions  INTEGER NOT NULL DEFAULT 0 CHECK (conversions >= 0),
    spend_amount INTEGER NOT NULL DEFAULT 0 CHECK (spend_amount >= 0),
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (campaign_id, day)
) STRICT;

CREATE TABLE calendar_events (
    id           BLOB NOT NULL PRIMARY KEY,
    owner_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT,
    location     TEXT,
    starts_at    TEXT NOT NULL,
    ends_at      TEXT NOT NULL,
    all_day      INTEGER NOT NULL DEFAULT 0 CHECK (all_day = 0 OR all_day = 1),
    -- IANA zone the event was created in (recurring display, iCalendar TZID).
    timezone     TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
    -- iCalendar UID and SEQUENCE, kept stable across providers so invites and updates match up.
    -- Unique per owner only: the same invitation is one event in each invitee's calendar.
    ical_uid     TEXT NOT NULL,
    sequence     INTEGER NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    -- The booking or mentorship this event was created for, if any.
    booking_id   BLOB REFERENCES bookings (id) ON DELETE SET NULL,
    mentorship_id BLOB REFERENCES mentorship_relationships (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    deleted_at   TEXT,
    CHECK (ends_at >= starts_at),
    UNIQUE (owner_id, ical_uid)
) STRICT;

-- The calendar view: a user's events in a time range.
CREATE INDEX calendar_events_owner ON calendar_events (owner_id, starts_at) WHERE deleted_at IS NULL;
CREATE INDEX calendar_events_booking ON calendar_events (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX calendar_events_mentorship ON calendar_events (mentorship_id) WHERE mentorship_id IS NOT NULL;

-- Attendees may be members (user_id set) or outside guests (email only).
CREATE TABLE calendar_event_attendees (
    event_id   BLOB NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,
    email      TEXT NOT NULL CHECK (email = lower(email)),
    user_id    BLOB REFERENCES users (id) ON DELETE SET NULL,
    response   TEXT NOT NULL DEFAULT 'needs_action' CHECK (response IN ('needs_action', 'accepted', 'declined', 'tentative')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (event_id, email)
) STRICT;

-- Events a member is invited to (their calendar shows them beside their own).
CREATE INDEX calendar_event_attendees_user ON calendar_event_attendees (user_id, event_id)
    WHERE user_id IS NOT NULL;

-- Tokens are encrypted by the application (AEAD; the nonce is part of the ciphertext) with the key
-- named by `token_key_id`, so keys can rotate; the database never sees them in clear.
CREATE TABLE calendar_integrations (
    id                       BLOB NOT NULL PRIMARY KEY,
    user_id                  BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider                 TEXT NOT NULL CHECK (provider IN ('google', 'microsoft', 'caldav')),
    status                   TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'error', 'revoked')),
    -- The provider account (Google/Microsoft subject, or the CalDAV principal URL).
    provider_account_id      TEXT NOT NULL,
    account_email            TEXT,
    -- The calendar synced (e.g. 'primary', or a CalDAV collection URL).
    external_calendar_id     TEXT NOT NULL,
    access_token_ciphertext  BLOB,
    refresh_token_ciphertext BLOB,
    token_key_id             TEXT,
    token_expires_at         TEXT,
    -- Provider delta cursor (Google syncToken, Graph deltaLink, CalDAV sync-token).
    sync_cursor              TEXT,
    -- Push subscription (Google channel, Graph subscription) and when it must be renewed.
    subscription_id          TEXT,
    subscription_expires_at  TEXT,
    last_synced_at           TEXT,
    last_error               TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    CHECK ((access_token_ciphertext IS NULL AND refresh_token_ciphertext IS NULL) OR token_key_id IS NOT NULL),
    UNIQUE (user_id, provider, provider_account_id, external_calendar_id)
) STRICT;

CREATE INDEX calendar_integrations_subscription ON calendar_integrations (provider, subscription_id)
    WHERE subscription_id IS NOT NULL;

-- Which provider event a Vendrome event corresponds to, per integration (bi-directional sync).
-- `etag` / `remote_updated_at` detect conflicting edits on both sides.
CREATE TABLE calendar_event_links (
    event_id          BLOB NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,
    integration_id    BLOB NOT NULL REFERENCES calendar_integrations (id) ON DELETE CASCADE,
    external_event_id TEXT NOT NULL,
    etag              TEXT,
    remote_updated_at TEXT,
    last_synced_at    TEXT NOT NULL,
    PRIMARY KEY (event_id, integration_id),
    UNIQUE (integration_id, external_event_id)
) STRICT;

-- Retry queue for sync work, leased like the outbox. `id` is creation order.
CREATE TABLE calendar_sync_jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id BLOB NOT NULL REFERENCES calendar_integrations (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('full_sync', 'delta_sync', 'push_event', 'delete_event', 'renew_subscription')),
    -- For push_event / delete_event. SET NULL keeps a delete job alive after the event row is gone;
    -- the job payload carries what it needs.
    event_id       BLOB REFERENCES calendar_events (id) ON DELETE SET NULL,
    payload        TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'dead')),
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts   INTEGER NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    available_at   TEXT NOT NULL,
    lease_owner    TEXT,
    lease_until    TEXT,
    last_error     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    finished_at    TEXT
) STRICT;

CREATE INDEX calendar_sync_jobs_pending ON calendar_sync_jobs (available_at, id) WHERE status = 'pending';
CREATE INDEX calendar_sync_jobs_integration ON calendar_sync_jobs (integration_id, id);
