-- Who may start a direct conversation with a member: anyone (the default), or only the members
-- they are connected to. Conversations that exist stay open whatever the setting says.
ALTER TABLE users ADD COLUMN direct_messages TEXT NOT NULL DEFAULT 'anyone'
    CHECK (direct_messages IN ('anyone', 'connections'));
