-- A client's message id is unique within its conversation only: the same id sent to two
-- conversations is two messages, and a resend never answers a message of another conversation.
DROP INDEX messages_client_id;
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

-- A share counts once per member, channel and post: repeats are dropped (the earliest stays)
-- and the counters recounted.
DELETE FROM post_shares WHERE EXISTS (
    SELECT 1 FROM post_shares t
    WHERE t.post_id = post_shares.post_id AND t.user_id = post_shares.user_id
      AND t.channel = post_shares.channel
      AND (t.created_at < post_shares.created_at
           OR (t.created_at = post_shares.created_at AND t.id < post_shares.id))
);
UPDATE posts SET share_count = (SELECT COUNT(*) FROM post_shares s WHERE s.post_id = posts.id)
    WHERE id IN (SELECT post_id FROM post_shares);
CREATE UNIQUE INDEX post_shares_once ON post_shares (post_id, user_id, channel);
