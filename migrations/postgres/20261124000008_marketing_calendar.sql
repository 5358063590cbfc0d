-- Marketing campaigns (targeting, pacing, daily metrics) and the calendar (native events,
-- attendees, provider integrations and the sync retry queue).

CREATE TYPE marketing_objective AS ENUM ('awareness', 'engagement', 'traffic', 'leads', 'sales');

-- draft -> scheduled | cancelled; scheduled -> active | cancelled; active <-> paused;
-- active | paused -> completed | cancelled.
CREATE TYPE marketing_campaign_status AS ENUM
    ('draft', 'scheduled', 'active', 'paused', 'completed', 'cancelled');

CREATE TYPE calendar_provider AS ENUM ('google', 'microsoft', 'caldav');

-- iCalendar STATUS (RFC 5545).
CREATE TYPE calendar_event_status AS ENUM ('confirmed', 'tentative', 'cancelled');

-- iCalendar PARTSTAT (RFC 5545).
CREATE TYPE calendar_attendee_status AS ENUM ('needs_action', 'accepted', 'declined', 'tentative');

-- `error`: the last sync failed and is being retried; `revoked`: the user or provider withdrew
-- access and the user must reconnect.
CREATE TYPE calendar_integration_status AS ENUM ('active', 'paused', 'error', 'revoked');

CREATE TYPE calendar_sync_job_kind AS ENUM
    ('full_sync', 'delta_sync', 'push_event', 'delete_event', 'renew_subscription');

-- A failed attempt goes back to `pending` with a later `available_at` (backoff); after the last
-- attempt it becomes `dead`.
CREATE TYPE calendar_sync_job_status AS ENUM ('pending', 'running', 'succeeded', 'dead');

CREATE TABLE marketing_campaigns (
    id                  uuid PRIMARY KEY,
    owner_id            uuid NOT NULL REFERENCES users (id),
    name                text NOT NULL,
    objective           marketing_objective NOT NULL,
    status              marketing_campaign_status NOT NULL DEFAULT 'draft',
    -- The post being promoted, if any.
    promoted_post_id    uuid REFERENCES posts (id) ON DELETE SET NULL,
    currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    budget_amount       bigint NOT NULL CHECK (budget_amount >= 0),
    -- Pacing: spend per day is capped at this when set.
    daily_budget_amount bigint CHECK (daily_budget_amount > 0),
    -- Denormalised sum of marketing_campaign_metrics.spend_amount, updated with each ingest; the
    -- ingest caps spend at the budget, so the CHECK below never fires on late impressions.
    spent_amount        bigint NOT NULL DEFAULT 0 CHECK (spent_amount >= 0),
    -- The payment that funded the budget.
    funding_payment_id  uuid REFERENCES payment_transactions (id),
    starts_at           timestamptz,
    ends_at             timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz,
    CHECK (spent_amount <= budget_amount),
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);

CREATE INDEX marketing_campaigns_owner ON marketing_campaigns (owner_id, created_at DESC)
    WHERE deleted_at IS NULL;
-- The pacing worker: campaigns due to start or running.
CREATE INDEX marketing_campaigns_status ON marketing_campaigns (status, starts_at) WHERE deleted_at IS NULL;

-- Targeting: a campaign with no rows in a targeting table is not restricted on that dimension;
-- within one table the rows are alternatives (OR), across tables they combine (AND). One table per
-- dimension so each value is typed (and topics are a real foreign key).
CREATE TABLE marketing_campaign_target_industries (
    campaign_id uuid NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    -- Same slugs as business_profiles.industry.
    industry    text NOT NULL CHECK (industry = lower(industry)),
    PRIMARY KEY (campaign_id, industry)
);

CREATE INDEX marketing_campaign_target_industries_value
    ON marketing_campaign_target_industries (industry, campaign_id);

CREATE TABLE marketing_campaign_target_countries (
    campaign_id  uuid NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    country_code char(2) NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
    PRIMARY KEY (campaign_id, country_code)
);

CREATE INDEX marketing_campaign_target_countries_value
    ON marketing_campaign_target_countries (country_code, campaign_id);

CREATE TABLE marketing_campaign_target_topics (
    campaign_id uuid NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    topic_id    uuid NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, topic_id)
);

CREATE INDEX marketing_campaign_target_topics_value
    ON marketing_campaign_target_topics (topic_id, campaign_id);

-- One row per campaign per UTC day; ingest adds to it (upsert).
CREATE TABLE marketing_campaign_metrics (
    campaign_id  uuid NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    day          date NOT NULL,
    impressions  bigint NOT NULL DEFAULT 0 CHECK (impressions >= 0),
    clicks       bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    conversions  bigint NOT NULL DEFAULT 0 CHECK (conversions >= 0),
    spend_amount bigint NOT NULL DEFAULT 0 CHECK (spend_amount >= 0),
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, day)
);

CREATE TABLE calendar_events (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        text NOT NULL,
    description  text,
    location     text,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    all_day      boolean NOT NULL DEFAULT false,
    -- IANA zone the event was created in (recurring display, iCalendar TZID).
    timezone     text NOT NULL,
    status       calendar_event_status NOT NULL DEFAULT 'confirmed',
    -- iCalendar UID and SEQUENCE, kept stable across providers so invites and updates match up.
    -- Unique per owner only: the same invitation is one event in each invitee's calendar.
    ical_uid     text NOT NULL,
    sequence     integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    -- The booking or mentorship this event was created for, if any.
    booking_id   uuid REFERENCES bookings (id) ON DELETE SET NULL,
    mentorship_id uuid REFERENCES mentorship_relationships (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    deleted_at   timestamptz,
    CHECK (ends_at >= starts_at),
    UNIQUE (owner_id, ical_uid)
);

-- The calendar view: a user's events in a time range.
CREATE INDEX calendar_events_owner ON calendar_events (owner_id, starts_at) WHERE deleted_at IS NULL;
CREATE INDEX calendar_events_booking ON calendar_events (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX calendar_events_mentorship ON calendar_events (mentorship_id) WHERE mentorship_id IS NOT NULL;

-- Attendees may be members (user_id set) or outside guests (email only).
CREATE TABLE calendar_event_attendees (
    event_id   uuid NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,
    email      text NOT NULL CHECK (email = lower(email)),
    user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    response   calendar_attendee_status NOT NULL DEFAULT 'needs_action',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, email)
);

-- Events a member is invited to (their calendar shows them beside their own).
CREATE INDEX calendar_event_attendees_user ON calendar_event_attendees (user_id, event_id)
    WHERE user_id IS NOT NULL;

-- Tokens are encrypted by the application (AEAD; the nonce is part of the ciphertext) with the key
-- named by `token_key_id`, so keys can rotate; the database never sees them in clear.
CREATE TABLE calendar_integrations (
    id                       uuid PRIMARY KEY,
    user_id                  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider                 calendar_provider NOT NULL,
    status                   calendar_integration_status NOT NULL DEFAULT 'active',
    -- The provider account (Google/Microsoft subject, or the CalDAV principal URL).
    provider_account_id      text NOT NULL,
    account_email            text,
    -- The calendar synced (e.g. 'primary', or a CalDAV collection URL).
    external_calendar_id     text NOT NULL,
    access_token_ciphertext  bytea,
    refresh_token_ciphertext bytea,
    token_key_id             text,
    token_expires_at         timestamptz,
    -- Provider delta cursor (Google syncToken, Graph deltaLink, CalDAV sync-token).
    sync_cursor              text,
    -- Push subscription (Google channel, Graph subscription) and when it must be renewed.
    subscription_id          text,
    subscription_expires_at  timestamptz,
    last_synced_at           timestamptz,
    last_error               text,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    CHECK ((access_token_ciphertext IS NULL AND refresh_token_ciphertext IS NULL) OR token_key_id IS NOT NULL),
    UNIQUE (user_id, provider, provider_account_id, external_calendar_id)
);

CREATE INDEX calendar_integrations_subscription ON calendar_integrations (provider, subscription_id)
    WHERE subscription_id IS NOT NULL;

-- Which provider event a Vendrome event corresponds to, per integration (bi-directional sync).
-- `etag` / `remote_updated_at` detect conflicting edits on both sides.
CREATE TABLE calendar_event_links (
    event_id          uuid NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,
    integration_id    uuid NOT NULL REFERENCES calendar_integrations (id) ON DELETE CASCADE,
    external_event_id text NOT NULL,
    etag              text,
    remote_updated_at timestamptz,
    last_synced_at    timestamptz NOT NULL,
    PRIMARY KEY (event_id, integration_id),
    UNIQUE (integration_id, external_event_id)
);

-- Retry queue for sync work, leased like the outbox. `id` is creation order.
CREATE TABLE calendar_sync_jobs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    integration_id uuid NOT NULL REFERENCES calendar_integrations (id) ON DELETE CASCADE,
    kind           calendar_sync_job_kind NOT NULL,
    -- For push_event / delete_event. SET NULL keeps a delete job alive after the event row is gone;
    -- the job payload carries what it needs.
    event_id       uuid REFERENCES calendar_events (id) ON DELETE SET NULL,
    payload        jsonb NOT NULL DEFAULT '{}',
    status         calendar_sync_job_status NOT NULL DEFAULT 'pending',
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts   integer NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    available_at   timestamptz NOT NULL,
    lease_owner    text,
    lease_until    timestamptz,
    last_error     text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    finished_at    timestamptz
);

CREATE INDEX calendar_sync_jobs_pending ON calendar_sync_jobs (available_at, id) WHERE status = 'pending';
CREATE INDEX calendar_sync_jobs_integration ON calendar_sync_jobs (integration_id, id);
