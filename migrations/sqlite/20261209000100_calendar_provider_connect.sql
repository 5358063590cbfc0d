-- Expand only: binaries older than this migration ignore the new columns and table.
-- Google and Microsoft calendars: the push channel's other halves, and OAuth connections in flight.
--
-- A Google watch channel is stopped with its `resourceId`, kept beside `subscription_id` (our
-- channel id). Every notification carries the channel's secret token; only its SHA-256 (hex) is
-- kept, compared in constant time, so the database never holds it.
ALTER TABLE calendar_integrations ADD COLUMN subscription_resource_id TEXT;
ALTER TABLE calendar_integrations ADD COLUMN subscription_secret_hash TEXT;

-- Connections in flight: made by `/v1/calendar/integrations/{provider}/start` for a member,
-- consumed once by its callback before `expires_at`. `state_hash` is SHA-256 (hex) of the `state`
-- parameter; the PKCE verifier stays here, never in the browser (as `oauth_login_attempts`).
-- `browser_hash` is SHA-256 (hex) of the secret in the httpOnly cookie of the browser that
-- started it: the callback is refused in any other browser.
CREATE TABLE calendar_connect_attempts (
    state_hash    TEXT NOT NULL PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider      TEXT NOT NULL CHECK (provider IN ('google', 'microsoft', 'caldav')),
    pkce_verifier TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
) STRICT;

CREATE INDEX calendar_connect_attempts_expires ON calendar_connect_attempts (expires_at);
