-- Messaging: conversations, their participants, messages and read receipts.

CREATE TYPE conversation_kind AS ENUM ('direct', 'group');

CREATE TYPE participant_role AS ENUM ('owner', 'admin', 'member');

-- `system` messages (someone joined, left, renamed the group) have no sender.
CREATE TYPE message_kind AS ENUM ('text', 'attachment', 'system');

CREATE TABLE conversations (
    id              uuid PRIMARY KEY,
    kind            conversation_kind NOT NULL,
    -- Direct conversations only: the two participant ids, lower-case hyphenated, smaller first,
    -- joined by ':'. UNIQUE makes "exactly one direct conversation per pair" a database fact, and
    -- find-or-create becomes an upsert on it.
    direct_key      text UNIQUE,
    -- Group conversations only.
    title           text,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    -- Set with each new message (same transaction); orders the inbox.
    last_message_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);

CREATE TABLE messages (
    id                uuid PRIMARY KEY,
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    kind              message_kind NOT NULL DEFAULT 'text',
    body              text NOT NULL,
    attachments       jsonb NOT NULL DEFAULT '[]',
    -- Client-generated id so a resent message is not stored twice.
    client_message_id text,
    created_at        timestamptz NOT NULL,
    edited_at         timestamptz,
    deleted_at        timestamptz,
    CHECK (kind = 'system' OR sender_id IS NOT NULL)
);

-- History pages and unread counts: ids are UUIDv7, so `id > last_read_message_id` means "newer".
CREATE INDEX messages_conversation ON messages (conversation_id, id DESC);
CREATE UNIQUE INDEX messages_client_id ON messages (sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

-- Unread state is a per-participant pointer (`last_read_message_id`, `last_read_at`): unread counts
-- for the inbox are one grouped query counting messages with id > pointer. `message_reads` below
-- holds per-message receipts ("seen by") for the UI, and is never used to count unread messages.
CREATE TABLE conversation_participants (
    conversation_id      uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                 participant_role NOT NULL DEFAULT 'member',
    joined_at            timestamptz NOT NULL,
    -- Set when the user leaves a group; the row stays so their history remains attributable.
    left_at              timestamptz,
    muted_until          timestamptz,
    last_read_message_id uuid REFERENCES messages (id) ON DELETE SET NULL,
    last_read_at         timestamptz,
    PRIMARY KEY (conversation_id, user_id)
);

-- "My conversations" (the inbox), and the membership check before every read or send.
CREATE INDEX conversation_participants_user ON conversation_participants (user_id, conversation_id);

CREATE TABLE message_reads (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    read_at    timestamptz NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE INDEX message_reads_user ON message_reads (user_id, read_at DESC);
