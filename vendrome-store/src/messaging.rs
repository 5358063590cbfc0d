//! [`MessagingRepo`] on both databases.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::enums::{ConversationKind, DirectMessagePolicy, MessageKind, ParticipantRole};
use vendrome_core::events::{
    ConversationCreated, DomainEvent, MessageChanged, MessageCreated, MessageRead,
};
use vendrome_core::ids::{ConversationId, EventId, MessageId, UserId};
use vendrome_core::messaging::{
    direct_key, Attachment, ClientMessageId, HistoryFrom, InboxEntry, Message, MessageBody,
    MessageContent, MessagingRepo,
};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::{time, Error, Result};

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, sender_id, body, attachments, created_at, edited_at";

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: Uuid,
    conversation_id: Uuid,
    sender_id: Option<Uuid>,
    body: String,
    attachments: Json<Vec<Attachment>>,
    created_at: Timestamp,
    edited_at: Option<Timestamp>,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        Message {
            id: MessageId::from_uuid(r.id),
            conversation_id: ConversationId::from_uuid(r.conversation_id),
            sender_id: r.sender_id.map(UserId::from_uuid),
            body: r.body,
            attachments: r.attachments.0,
            created_at: r.created_at,
            edited_at: r.edited_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct InboxRow {
    id: Uuid,
    kind: DbEnum<ConversationKind>,
    title: Option<String>,
    activity: Timestamp,
    m_id: Option<Uuid>,
    m_sender: Option<Uuid>,
    m_body: Option<String>,
    m_attachments: Option<Json<Vec<Attachment>>>,
    m_at: Option<Timestamp>,
    unread: i64,
}

fn message_change(conversation: Uuid, message: MessageId) -> MessageChanged {
    MessageChanged {
        conversation_id: ConversationId::from_uuid(conversation),
        message_id: message,
    }
}

#[async_trait]
impl MessagingRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn direct_conversation(&self, a: UserId, b: UserId) -> Result<(ConversationId, bool)> {
        let now = time::now();
        let key = direct_key(a, b);
        let id = ConversationId::new();
        let event = NewEvent::new(DomainEvent::ConversationCreated(ConversationCreated {
            conversation_id: id,
            kind: ConversationKind::Direct,
            participant_ids: vec![a, b],
        }));
        let (found, created): (Uuid, bool) = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let created = sqlx::query(
                "INSERT INTO conversations (id, kind, direct_key, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (direct_key) DO NOTHING",
            )
            .bind(id.as_uuid())
            .bind(DbEnum(ConversationKind::Direct))
            .bind(&key)
            .bind(a.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if created {
                for user in [a, b] {
                    sqlx::query(
                        "INSERT INTO conversation_participants (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id.as_uuid())
                    .bind(user.as_uuid())
                    .bind(DbEnum(ParticipantRole::Member))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.append_event(&event, now).await?;
                tx.commit().await?;
                return Ok((id.as_uuid(), true));
            }
            tx.rollback().await?;
            let existing: Uuid = sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1")
                .bind(&key)
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((existing, false))
        })
        .or_unexpected()?;
        Ok((ConversationId::from_uuid(found), created))
    }

    async fn existing_direct(&self, a: UserId, b: UserId) -> Result<Option<ConversationId>> {
        crate::messaging_settings::existing_direct(self, a, b).await
    }

    async fn direct_message_policy(&self, user: UserId) -> Result<DirectMessagePolicy> {
        crate::messaging_settings::policy(self, user).await
    }

    async fn set_direct_message_policy(
        &self,
        user: UserId,
        policy: DirectMessagePolicy,
    ) -> Result<()> {
        crate::messaging_settings::set_policy(self, user, policy).await
    }

    async fn participants(&self, conversation: ConversationId) -> Result<Vec<UserId>> {
        let ids: Vec<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT user_id FROM conversation_participants WHERE conversation_id = $1 AND left_at IS NULL",
            )
            .bind(conversation.as_uuid())
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }

    async fn messages_since(
        &self,
        user: UserId,
        after: MessageId,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id IN \
             (SELECT conversation_id FROM conversation_participants WHERE user_id = $1 AND left_at IS NULL) \
             AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3"
        );
        let rows: Vec<MessageRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(user.as_uuid())
                .bind(after.as_uuid())
                .bind(limit)
                .fetch_all(pool)
                .await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    async fn partners(&self, user: UserId, limit: i64) -> Result<Vec<UserId>> {
        let ids: Vec<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT o.user_id FROM conversation_participants p \
                 JOIN conversations c ON c.id = p.conversation_id \
                 JOIN conversation_participants o ON o.conversation_id = p.conversation_id \
                 AND o.user_id <> p.user_id AND o.left_at IS NULL \
                 WHERE p.user_id = $1 AND p.left_at IS NULL \
                 GROUP BY o.user_id ORDER BY MAX(COALESCE(c.last_message_at, c.created_at)) DESC LIMIT $2",
            )
            .bind(user.as_uuid())
            .bind(limit)
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }

    #[tracing::instrument(skip(self, content))]
    async fn send_message(
        &self,
        conversation: ConversationId,
        sender: UserId,
        content: MessageContent,
        client_id: Option<ClientMessageId>,
    ) -> Result<Message> {
        let now = time::now();
        let id = MessageId::new();
        let client = client_id.as_ref().map(|c| c.as_str().to_owned());
        let kind = if content.body().is_empty() {
            MessageKind::Attachment
        } else {
            MessageKind::Text
        };
        let mut event = NewEvent::new(DomainEvent::MessageCreated(MessageCreated {
            conversation_id: conversation,
            message_id: id,
            sender_id: sender,
        }));
        // The event carries the message's id, so a socket that resumes from the last event id it
        // saw can be answered from the messages table.
        event.event_id = EventId::from_uuid(id.as_uuid());
        let select = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = $1 AND client_message_id = $2"
        );
        let row: MessageRow = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // A resend (same client id) inserts nothing and answers the stored message.
            let inserted = sqlx::query(
                "INSERT INTO messages (id, conversation_id, sender_id, kind, body, attachments, client_message_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING",
            )
            .bind(id.as_uuid())
            .bind(conversation.as_uuid())
            .bind(sender.as_uuid())
            .bind(DbEnum(kind))
            .bind(content.body())
            .bind(Json(content.attachments()))
            .bind(&client)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                tx.rollback().await?;
                let row: MessageRow = sqlx::query_as(&select)
                    .bind(sender.as_uuid())
                    .bind(&client)
                    .fetch_one(pool)
                    .await?;
                return Ok(row);
            }
            sqlx::query("UPDATE conversations SET last_message_at = $2, updated_at = $2 WHERE id = $1")
                .bind(conversation.as_uuid())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.append_event(&event, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(MessageRow {
                id: id.as_uuid(),
                conversation_id: conversation.as_uuid(),
                sender_id: Some(sender.as_uuid()),
                body: content.body().to_owned(),
                attachments: Json(content.attachments().to_vec()),
                created_at: now,
                edited_at: None,
            })
        })
        .or_unexpected()?;
        Ok(row.into())
    }

    async fn message_by_id(&self, id: MessageId) -> Result<Option<Message>> {
        let sql =
            format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND deleted_at IS NULL");
        let row: Option<MessageRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(pool).await
        })
        .or_unexpected()?;
        Ok(row.map(Message::from))
    }

    #[tracing::instrument(skip(self, body))]
    async fn edit_message(&self, id: MessageId, body: MessageBody) -> Result<Message> {
        let now = time::now();
        let sql = format!(
            "UPDATE messages SET body = $2, edited_at = $3 WHERE id = $1 AND deleted_at IS NULL RETURNING {MESSAGE_COLUMNS}"
        );
        let row: Option<MessageRow> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<MessageRow> = sqlx::query_as(&sql)
                .bind(id.as_uuid())
                .bind(body.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = &row {
                let event = NewEvent::new(DomainEvent::MessageUpdated(message_change(row.conversation_id, id)));
                tx.append_event(&event, now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(row)
        })
        .or_unexpected()?;
        row.map(Message::from).ok_or(Error::not_found("message"))
    }

    #[tracing::instrument(skip(self))]
    async fn delete_message(&self, id: MessageId) -> Result<()> {
        let now = time::now();
        let conversation: Option<Uuid> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let conversation: Option<Uuid> = sqlx::query_scalar(
                "UPDATE messages SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING conversation_id",
            )
            .bind(id.as_uuid())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(conversation) = conversation {
                tx.append_event(&NewEvent::new(DomainEvent::MessageDeleted(message_change(conversation, id))), now).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(conversation)
        })
        .or_unexpected()?;
        conversation.map(drop).ok_or(Error::not_found("message"))
    }

    async fn messages(
        &self,
        conversation: ConversationId,
        from: HistoryFrom,
        fetch: i64,
    ) -> Result<Vec<Message>> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = "),
        );
        sql.uuid(conversation.as_uuid())
            .push(" AND deleted_at IS NULL");
        let order = match from {
            HistoryFrom::Latest => "DESC",
            HistoryFrom::Before(id) => {
                sql.push(" AND id < ").uuid(id.as_uuid());
                "DESC"
            }
            HistoryFrom::After(id) => {
                sql.push(" AND id > ").uuid(id.as_uuid());
                "ASC"
            }
        };
        sql.push(&format!(" ORDER BY id {order} LIMIT "))
            .bind(Arg::Int(fetch));
        let rows: Vec<MessageRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, MessageRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn mark_read(
        &self,
        conversation: ConversationId,
        user: UserId,
        message: MessageId,
    ) -> Result<bool> {
        let now = time::now();
        let event = NewEvent::new(DomainEvent::MessageRead(MessageRead {
            conversation_id: conversation,
            user_id: user,
            message_id: message,
        }));
        let moved: Option<bool> = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let known: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM messages WHERE id = $1 AND conversation_id = $2",
            )
            .bind(message.as_uuid())
            .bind(conversation.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_none() {
                return Ok(None);
            }
            let moved = sqlx::query(
                "UPDATE conversation_participants SET last_read_message_id = $3, last_read_at = $4 \
                 WHERE conversation_id = $1 AND user_id = $2 \
                 AND (last_read_message_id IS NULL OR last_read_message_id < $3)",
            )
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .bind(message.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if moved {
                tx.append_event(&event, now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(moved))
        })
        .or_unexpected()?;
        moved.ok_or(Error::not_found("message"))
    }

    #[tracing::instrument(skip(self, after))]
    async fn inbox(
        &self,
        user: UserId,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<InboxEntry>> {
        let after: Option<(Timestamp, Uuid)> = after.map(|c| c.decode()).transpose()?;
        let me = user.as_uuid();
        let mut sql = SqlText::new(
            self.dialect(),
            "SELECT c.id, c.kind, c.title, COALESCE(c.last_message_at, c.created_at) AS activity, \
             lm.id AS m_id, lm.sender_id AS m_sender, lm.body AS m_body, lm.attachments AS m_attachments, lm.created_at AS m_at, \
             (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL \
              AND (p.last_read_message_id IS NULL OR m.id > p.last_read_message_id) \
              AND (m.sender_id IS NULL OR m.sender_id <> ",
        );
        sql.uuid(me).push(
            ")) AS unread FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id \
             LEFT JOIN messages lm ON lm.id = (SELECT m.id FROM messages m WHERE m.conversation_id = c.id \
             AND m.deleted_at IS NULL ORDER BY m.id DESC LIMIT 1) WHERE p.left_at IS NULL AND p.user_id = ",
        );
        sql.uuid(me);
        if let Some((at, id)) = after {
            sql.push(" AND (COALESCE(c.last_message_at, c.created_at), c.id) < (")
                .bind(Arg::At(at))
                .push(", ")
                .uuid(id)
                .push(")");
        }
        sql.push(" ORDER BY activity DESC, c.id DESC LIMIT ")
            .bind(Arg::Int(limit.probe()));
        let rows: Vec<InboxRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, InboxRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;

        // The other participants of the page's conversations, in one statement.
        let mut others: HashMap<Uuid, Vec<UserId>> = HashMap::new();
        if !rows.is_empty() {
            let mut sql = SqlText::new(
                self.dialect(),
                "SELECT conversation_id, user_id FROM conversation_participants WHERE left_at IS NULL AND user_id <> ",
            );
            sql.uuid(me).push(" AND conversation_id IN (");
            for (i, row) in rows.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.uuid(row.id);
            }
            sql.push(") ORDER BY user_id");
            let pairs: Vec<(Uuid, Uuid)> = with_db!(&self.db, pool => {
                bind_args!(sqlx::query_as::<_, (Uuid, Uuid)>(&sql.text), sql).fetch_all(pool).await
            })
            .or_unexpected()?;
            for (conversation, other) in pairs {
                others
                    .entry(conversation)
                    .or_default()
                    .push(UserId::from_uuid(other));
            }
        }
        let entries = rows
            .into_iter()
            .map(|r| InboxEntry {
                conversation_id: ConversationId::from_uuid(r.id),
                kind: r.kind.0,
                title: r.title,
                others: others.remove(&r.id).unwrap_or_default(),
                last_message: match (r.m_id, r.m_body, r.m_at) {
                    (Some(id), Some(body), Some(at)) => Some(Message {
                        id: MessageId::from_uuid(id),
                        conversation_id: ConversationId::from_uuid(r.id),
                        sender_id: r.m_sender.map(UserId::from_uuid),
                        body,
                        attachments: r.m_attachments.map(|a| a.0).unwrap_or_default(),
                        created_at: at,
                        edited_at: None,
                    }),
                    _ => None,
                },
                unread: r.unread,
                last_activity: r.activity,
            })
            .collect();
        Ok(Page::from_probe(entries, limit, |e: &InboxEntry| {
            (e.last_activity, e.conversation_id.as_uuid())
        }))
    }
}
