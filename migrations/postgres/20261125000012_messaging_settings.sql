-- Who may start a direct conversation with a member: anyone (the default), or only the members
-- they are connected to. Conversations that exist stay open whatever the setting says.
CREATE TYPE direct_message_policy AS ENUM ('anyone', 'connections');

ALTER TABLE users ADD COLUMN direct_messages direct_message_policy NOT NULL DEFAULT 'anyone';
