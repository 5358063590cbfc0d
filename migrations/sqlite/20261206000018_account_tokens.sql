-- Single-use tokens handed out of band (address verification and password-reset links, the
-- one-time code of a browser sign-in), stored only as SHA-256 hashes and deleted when used.
CREATE TABLE account_tokens (
    token_hash  TEXT NOT NULL PRIMARY KEY,
    -- 'verify_email', 'reset_password' or 'oauth_exchange' (core's TokenPurpose, which checks it).
    purpose     TEXT NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the link was sent to, or the hash of the browser cookie a code is bound to.
    bound_to    TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

-- A sign-in in flight is bound to the browser that started it (the hash of an httpOnly cookie
-- set at the start), and may name where the browser goes back to afterwards.
ALTER TABLE oauth_login_attempts ADD COLUMN browser_hash TEXT;
ALTER TABLE oauth_login_attempts ADD COLUMN redirect_to TEXT;
