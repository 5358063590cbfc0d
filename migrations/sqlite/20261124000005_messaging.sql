-- Messaging: conversations, their participants, messages and read receipts.

-- Enum conversation_kind: direct, group.

-- Enum participant_role: owner, admin, member.

-- `system` messages (someone joined, left, renamed the group) have no sender.
-- Enum message_kind: text, attachment, system.

CREATE TABLE conversations (
    id              BLOB NOT NULL PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    -- Direct conversations only: the two participant ids, lower-case hyphenated, smaller first,
    -- joined by ':'. UNIQUE makes "exactly one direct conversation per pair" a database fact, and
    -- find-or-create becomes an upsert on it.
    direct_key      TEXT UNIQUE,
    -- Group conversations only.
    title           TEXT,
    created_by      BLOB REFERENCES users (id) ON DELETE SET NULL,
    -- Set with each new message (same transaction); orders the inbox.
    last_message_at TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
) STRICT;

CREATE TABLE messages (
    id                BLOB NOT NULL PRIMARY KEY,
    conversation_id   BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id         BLOB REFERENCES users (id) ON DELETE SET NULL,
    kind              TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'attachment', 'system')),
    body              TEXT NOT NULL,
    attachments       TEXT NOT NULL DEFAULT '[]',
    -- Client-generated id so a resent message is not stored twice.
    client_message_id TEXT,
    created_at        TEXT NOT NULL,
    edited_at         TEXT,
    deleted_at        TEXT,
    CHECK (kind = 'system' OR sender_id IS NOT NULL)
) STRICT;

-- History pages and unread counts: ids are UUIDv7, so `id > last_read_message_id` means "newer".
CREATE INDEX messages_conversation ON messages (conversation_id, id DESC);
CREATE UNIQUE INDEX messages_client_id ON messages (sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

-- Unread state is a per-participant pointer (`last_read_message_id`, `last_read_at`): unread counts
-- for the inbox are one grouped query counting messages with id > pointer. `message_reads` below
-- holds per-message receipts ("seen by") for the UI, and is never used to count unread messages.
CREATE TABLE conversation_participants (
    conversation_id      BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id              BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                 TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    joined_at            TEXT NOT NULL,
    -- Set when the user leaves a group; the row stays so their history remains attributable.
    left_at              TEXT,
    muted_until          TEXT,
    last_read_message_id BLOB REFERENCES messages (id) ON DELETE SET NULL,
    last_read_at         TEXT,
    PRIMARY KEY (conversation_id, user_id)
) STRICT;

-- "My conversations" (the inbox), and the membership check before every read or send.
CREATE INDEX conversation_participants_user ON conversation_participants (user_id, conversation_id);

CREATE TABLE message_reads (
    message_id BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    read_at    TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id)
) STRICT;

CREATE INDEX message_reads_user ON message_reads (user_id, read_at DESC);
