//! Messaging settings and the direct-conversation lookup behind them, for [`MessagingRepo`]'s
//! implementation in `messaging.rs`.
//!
//! [`MessagingRepo`]: vendrome_core::messaging::MessagingRepo

use uuid::Uuid;
use vendrome_core::enums::DirectMessagePolicy;
use vendrome_core::events::{DomainEvent, MessagingSettingsUpdated};
use vendrome_core::ids::{ConversationId, UserId};
use vendrome_core::messaging::direct_key;
use vendrome_core::outbox::NewEvent;
use vendrome_core::{time, Error, Result};

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::writes::commit_if_changed;
use crate::{with_db, Store};

pub(crate) async fn existing_direct(
    store: &Store,
    a: UserId,
    b: UserId,
) -> Result<Option<ConversationId>> {
    let key = direct_key(a, b);
    let id: Option<Uuid> = with_db!(&store.db, pool => {
        sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = $1")
            .bind(&key)
            .fetch_optional(pool)
            .await
    })
    .or_unexpected()?;
    Ok(id.map(ConversationId::from_uuid))
}

pub(crate) async fn policy(store: &Store, user: UserId) -> Result<DirectMessagePolicy> {
    let policy: Option<DbEnum<DirectMessagePolicy>> = with_db!(&store.db, pool => {
        sqlx::query_scalar("SELECT direct_messages FROM users WHERE id = $1")
            .bind(user.as_uuid())
            .fetch_optional(pool)
            .await
    })
    .or_unexpected()?;
    policy.map(|p| p.0).ok_or(Error::not_found("user"))
}

pub(crate) async fn set_policy(
    store: &Store,
    user: UserId,
    policy: DirectMessagePolicy,
) -> Result<()> {
    let now = time::now();
    let event = NewEvent::new(DomainEvent::UserMessagingSettingsUpdated(
        MessagingSettingsUpdated {
            user_id: user,
            direct_messages: policy,
        },
    ));
    let changed: bool = with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query("UPDATE users SET direct_messages = $2 WHERE id = $1")
            .bind(user.as_uuid())
            .bind(DbEnum(policy))
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        commit_if_changed(tx, changed, &event, now).await
    })
    .or_unexpected()?;
    if !changed {
        return Err(Error::not_found("user"));
    }
    Ok(())
}
