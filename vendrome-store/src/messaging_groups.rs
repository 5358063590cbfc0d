//! [`GroupRepo`] on both databases.

use async_trait::async_trait;
use uuid::Uuid;
use vendrome_core::enums::{ConversationKind, ParticipantRole};
use vendrome_core::events::{
    ConversationCreated, ConversationUpdated, DomainEvent, MemberChanged, MemberRoleChanged,
};
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::messaging::groups::{GroupRepo, GroupTitle};
use vendrome_core::outbox::NewEvent;
use vendrome_core::{time, Result};

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::writes::{commit_if_changed, TxWrites as _};
use crate::{with_db, Store};

fn member_change(conversation: ConversationId, user: UserId, by: UserId) -> MemberChanged {
    MemberChanged {
        conversation_id: conversation,
        user_id: user,
        by,
    }
}

#[async_trait]
impl GroupRepo for Store {
    #[tracing::instrument(skip(self, title, members))]
    async fn create_group(
        &self,
        creator: UserId,
        title: GroupTitle,
        members: &[UserId],
    ) -> Result<ConversationId> {
        let now = time::now();
        let id = ConversationId::new();
        let mut everyone = vec![creator];
        everyone.extend_from_slice(members);
        let event = NewEvent::new(DomainEvent::ConversationCreated(ConversationCreated {
            conversation_id: id,
            kind: ConversationKind::Group,
            participant_ids: everyone.clone(),
        }));
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO conversations (id, kind, title, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(id.as_uuid())
            .bind(DbEnum(ConversationKind::Group))
            .bind(title.as_str())
            .bind(creator.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for user in &everyone {
                let role = if *user == creator { ParticipantRole::Owner } else { ParticipantRole::Member };
                sqlx::query(
                    "INSERT INTO conversation_participants (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id.as_uuid())
                .bind(user.as_uuid())
                .bind(DbEnum(role))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.append_event(&event, now).await?;
            tx.commit().await
        })
        .or_unexpected()?;
        Ok(id)
    }

    async fn is_group(&self, conversation: ConversationId) -> Result<Option<bool>> {
        let kind: Option<DbEnum<ConversationKind>> = with_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT kind FROM conversations WHERE id = $1")
                .bind(conversation.as_uuid())
                .fetch_optional(pool)
                .await
        })
        .or_unexpected()?;
        Ok(kind.map(|k| k.0 == ConversationKind::Group))
    }

    async fn role(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Option<ParticipantRole>> {
        let role: Option<DbEnum<ParticipantRole>> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT role FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2 AND left_at IS NULL",
            )
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(role.map(|r| r.0))
    }

    #[tracing::instrument(skip(self))]
    async fn add_member(
        &self,
        conversation: ConversationId,
        user: UserId,
        by: UserId,
    ) -> Result<bool> {
        let now = time::now();
        let event = NewEvent::new(DomainEvent::ConversationMemberAdded(member_change(
            conversation,
            user,
            by,
        )));
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // A member who left comes back as a member; one who is in stays as they are.
            let changed = sqlx::query(
                "INSERT INTO conversation_participants (conversation_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (conversation_id, user_id) DO UPDATE SET left_at = NULL, role = excluded.role, joined_at = excluded.joined_at \
                 WHERE conversation_participants.left_at IS NOT NULL",
            )
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .bind(DbEnum(ParticipantRole::Member))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, changed, &event, now).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self, title))]
    async fn rename_group(
        &self,
        conversation: ConversationId,
        title: GroupTitle,
        by: UserId,
    ) -> Result<()> {
        let now = time::now();
        let event = NewEvent::new(DomainEvent::ConversationUpdated(ConversationUpdated {
            conversation_id: conversation,
            title: title.as_str().to_owned(),
            by,
        }));
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE conversations SET title = $2, updated_at = $3 WHERE id = $1")
                .bind(conversation.as_uuid())
                .bind(title.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.append_event(&event, now).await?;
            tx.commit().await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn set_role(
        &self,
        conversation: ConversationId,
        user: UserId,
        role: ParticipantRole,
        by: UserId,
    ) -> Result<bool> {
        let now = time::now();
        let event = NewEvent::new(DomainEvent::ConversationMemberRoleChanged(
            MemberRoleChanged {
                conversation_id: conversation,
                user_id: user,
                role,
                by,
            },
        ));
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE conversation_participants SET role = $3 \
                 WHERE conversation_id = $1 AND user_id = $2 AND left_at IS NULL AND role <> $3",
            )
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .bind(DbEnum(role))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, changed, &event, now).await
        })
        .or_unexpected()
    }

    async fn members(
        &self,
        conversation: ConversationId,
    ) -> Result<(Option<String>, Vec<(UserId, ParticipantRole)>)> {
        let (title, rows): (Option<String>, Vec<(Uuid, DbEnum<ParticipantRole>)>) =
            with_db!(&self.db, pool => {
                let title: Option<Option<String>> =
                    sqlx::query_scalar("SELECT title FROM conversations WHERE id = $1")
                        .bind(conversation.as_uuid())
                        .fetch_optional(pool)
                        .await?;
                let rows = sqlx::query_as(
                    "SELECT user_id, role FROM conversation_participants \
                     WHERE conversation_id = $1 AND left_at IS NULL ORDER BY joined_at, user_id",
                )
                .bind(conversation.as_uuid())
                .fetch_all(pool)
                .await?;
                Ok::<_, sqlx::Error>((title.flatten(), rows))
            })
            .or_unexpected()?;
        let mut members: Vec<(UserId, ParticipantRole)> = rows
            .into_iter()
            .map(|(user, role)| (UserId::from_uuid(user), role.0))
            .collect();
        // Owner, admins, members; stable within each.
        members.sort_by_key(|(_, role)| match role {
            ParticipantRole::Owner => 0,
            ParticipantRole::Admin => 1,
            ParticipantRole::Member => 2,
        });
        Ok((title, members))
    }

    #[tracing::instrument(skip(self))]
    async fn remove_member(
        &self,
        conversation: ConversationId,
        user: UserId,
        by: UserId,
    ) -> Result<bool> {
        let now = time::now();
        let event = NewEvent::new(DomainEvent::ConversationMemberRemoved(member_change(
            conversation,
            user,
            by,
        )));
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE conversation_participants SET left_at = $3 WHERE conversation_id = $1 AND user_id = $2 AND left_at IS NULL",
            )
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            commit_if_changed(tx, changed, &event, now).await
        })
        .or_unexpected()
    }
}
