//! Rows as the drivers decode them, and their conversion into core's entities. Values the store
//! wrote itself are trusted to parse; one that does not is reported as unexpected, never
//! passed on.

use anyhow::Context as _;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::audit::AuditEvent;
use vendrome_core::enums::{UserRole, VerificationLevel};
use vendrome_core::flags::{Flag, FlagName, RolloutPercent};
use vendrome_core::ids::{AuditEventId, EventId, UserId};
use vendrome_core::outbox::OutboxEvent;
use vendrome_core::time::Timestamp;
use vendrome_core::users::{DisplayName, Email, Handle, User};

use crate::sql_enum::DbEnum;

pub(crate) const USER_COLUMNS: &str =
    "id, email, email_verified_at, display_name, handle, headline, avatar_url, \
     role, verification_level, disabled_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    email_verified_at: Option<Timestamp>,
    display_name: String,
    handle: Option<String>,
    headline: Option<String>,
    avatar_url: Option<String>,
    role: DbEnum<UserRole>,
    verification_level: DbEnum<VerificationLevel>,
    disabled_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<UserRow> for User {
    type Error = vendrome_core::Error;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let stored = |what: &str| format!("stored user {} has an invalid {what}", row.id);
        Ok(User {
            id: UserId::from_uuid(row.id),
            email: Email::parse(&row.email)
                .map_err(anyhow::Error::new)
                .context(stored("email"))?,
            email_verified_at: row.email_verified_at,
            display_name: DisplayName::parse(&row.display_name)
                .map_err(anyhow::Error::new)
                .context(stored("display name"))?,
            handle: row
                .handle
                .as_deref()
                .map(Handle::parse)
                .transpose()
                .map_err(anyhow::Error::new)
                .context(stored("handle"))?,
            headline: row.headline,
            avatar_url: row.avatar_url,
            role: row.role.0,
            verification_level: row.verification_level.0,
            disabled_at: row.disabled_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub(crate) const FLAG_COLUMNS: &str =
    "name, description, enabled, rollout_percent, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct FlagRow {
    name: String,
    description: String,
    enabled: bool,
    rollout_percent: i16,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<FlagRow> for Flag {
    type Error = vendrome_core::Error;

    fn try_from(row: FlagRow) -> Result<Self, Self::Error> {
        Ok(Flag {
            name: FlagName::parse(&row.name)
                .map_err(anyhow::Error::new)
                .with_context(|| format!("stored flag `{}` has an invalid name", row.name))?,
            rollout_percent: RolloutPercent::parse(row.rollout_percent.into())
                .map_err(anyhow::Error::new)
                .with_context(|| format!("stored flag `{}` has an invalid percentage", row.name))?,
            description: row.description,
            enabled: row.enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub(crate) const OUTBOX_COLUMNS: &str =
    "id, event_id, event_type, aggregate_type, aggregate_id, payload, attempts, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: i64,
    event_id: Uuid,
    event_type: String,
    aggregate_type: String,
    aggregate_id: String,
    payload: Json<serde_json::Value>,
    attempts: i32,
    created_at: Timestamp,
}

impl From<OutboxRow> for OutboxEvent {
    fn from(row: OutboxRow) -> Self {
        OutboxEvent {
            seq: row.id,
            event_id: EventId::from_uuid(row.event_id),
            event_type: row.event_type,
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            payload: row.payload.0,
            attempts: row.attempts,
            created_at: row.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    target_type: String,
    target_id: String,
    details: Json<serde_json::Value>,
    ip: Option<String>,
    request_id: Option<String>,
    created_at: Timestamp,
}

impl From<AuditRow> for AuditEvent {
    fn from(row: AuditRow) -> Self {
        AuditEvent {
            id: AuditEventId::from_uuid(row.id),
            actor_id: row.actor_id.map(UserId::from_uuid),
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            details: row.details.0,
            ip: row.ip,
            request_id: row.request_id,
            created_at: row.created_at,
        }
    }
}

impl FlagRow {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn percent(&self) -> i16 {
        self.rollout_percent
    }
}

impl OutboxRow {
    pub(crate) fn seq(&self) -> i64 {
        self.id
    }
}
