-- Expand only: binaries older than this migration ignore the new columns and table.
-- Google and Microsoft calendars: the push channel's other halves, and OAuth connections in flight.
--
-- A Google watch channel is stopped with its `resourceId`, kept beside `subscription_id` (our
-- channel id). Every notification carries the channel's secret token; only its SHA-256 (hex) is
-- kept, compared in constant time, so the database never holds it.
ALTER TABLE calendar_integrations ADD COLUMN subscription_resource_id text;
ALTER TABLE calendar_integrations ADD COLUMN subscription_secret_hash text;

-- Connections in flight: made by `/v1/calendar/integrations/{provider}/start` for a member,
-- consumed once by its callback before `expires_at`. `state_hash` is SHA-256 (hex) of the `state`
-- parameter; the PKCE verifier stays here, never in the browser (as `oauth_login_attempts`).
-- `browser_hash` is SHA-256 (hex) of the secret in the httpOnly cookie of the browser that
-- started it: the callback is refused in any other browser.
CREATE TABLE calendar_connect_attempts (
    state_hash    text PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider      calendar_provider NOT NULL,
    pkce_verifier text NOT NULL,
    browser_hash  text NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);

CREATE INDEX calendar_connect_attempts_expires ON calendar_connect_attempts (expires_at);
