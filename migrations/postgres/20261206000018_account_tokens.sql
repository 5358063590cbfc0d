-- Single-use tokens handed out of band (address verification and password-reset links, the
-- one-time code of a browser sign-in), stored only as SHA-256 hashes and deleted when used.
CREATE TABLE account_tokens (
    token_hash  text PRIMARY KEY,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'oauth_exchange')),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the link was sent to, or the hash of the browser cookie a code is bound to.
    bound_to    text,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

-- A sign-in in flight is bound to the browser that started it (the hash of an httpOnly cookie
-- set at the start), and may name where the browser goes back to afterwards.
ALTER TABLE oauth_login_attempts ADD COLUMN browser_hash text;
ALTER TABLE oauth_login_attempts ADD COLUMN redirect_to text;
