-- Read-only mode for rollbacks and maintenance: while `read_only` is on, every write is answered
-- 503 `read_only` (vendrome_server::read_only). Starts off.
-- Expand only: binaries older than this migration ignore the row and keep working.
INSERT INTO feature_flags (name, description, enabled, rollout_percent, created_at, updated_at) VALUES
    ('read_only', 'Read-only mode: every write answers 503 read_only while reads keep working (rollbacks, maintenance).', 0, 100, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'))
ON CONFLICT (name) DO NOTHING;
