//! Rows as the drivers decode them, and their conversion into core's entities. Values the store
//! wrote itself are trusted to parse; one that does not is reported as unexpected, never
//! passed on.

use anyhow::Context as _;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::audit::AuditEvent;
use vendrome_core::auth::SessionToken;
use vendrome_core::enums::{BadgeKind, UserRole, VerificationLevel};
use vendrome_core::events::DomainEvent;
use vendrome_core::flags::{Cohorts, Flag, FlagName, Member, RolloutPercent};
use vendrome_core::ids::{AuditEventId, BadgeId, EventId, RefreshTokenId, SessionId, UserId};
use vendrome_core::outbox::OutboxEvent;
use vendrome_core::time::Timestamp;
use vendrome_core::users::{DisplayName, Email, Handle, User};
use vendrome_core::verification::Badge;

use crate::sql_enum::DbEnum;

pub(crate) const USER_COLUMNS: &str =
    "id, email, email_verified_at, display_name, handle, headline, avatar_url, \
     role, verification_level, disabled_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct CredentialsRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    pub(crate) password_hash: Option<String>,
}

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
    "name, description, enabled, rollout_percent, cohorts, in_metrics, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct FlagRow {
    name: String,
    description: String,
    enabled: bool,
    rollout_percent: i16,
    cohorts: Json<serde_json::Value>,
    in_metrics: bool,
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
            cohorts: serde_json::from_value::<Cohorts>(row.cohorts.0)
                .map_err(anyhow::Error::new)
                .and_then(|c| c.bounded().map_err(anyhow::Error::new))
                .with_context(|| format!("stored flag `{}` has invalid cohorts", row.name))?,
            in_metrics: row.in_metrics,
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
            // Parsed here, once: readers get the typed event.
            event: DomainEvent::parse(&row.event_type, &row.payload.0),
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
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

/// What a flag's segments look at in a member.
#[derive(sqlx::FromRow)]
pub(crate) struct FlagMemberRow {
    id: Uuid,
    role: DbEnum<UserRole>,
    verification_level: DbEnum<VerificationLevel>,
    country_code: Option<String>,
}

impl From<FlagMemberRow> for Member {
    fn from(row: FlagMemberRow) -> Self {
        Member {
            id: UserId::from_uuid(row.id),
            role: row.role.0,
            level: row.verification_level.0,
            country: row.country_code,
        }
    }
}

impl OutboxRow {
    pub(crate) fn seq(&self) -> i64 {
        self.id
    }
}

pub(crate) const SESSION_COLUMNS: &str = "id, user_id, family_id, refresh_token_hash, replaced_by, rotated_at, user_agent, ip, \
     session_started_at, created_at, last_used_at, expires_at, idle_expires_at, revoked_at, revoke_reason";

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    refresh_token_hash: String,
    replaced_by: Option<Uuid>,
    rotated_at: Option<Timestamp>,
    user_agent: Option<String>,
    ip: Option<String>,
    session_started_at: Timestamp,
    created_at: Timestamp,
    last_used_at: Timestamp,
    expires_at: Timestamp,
    idle_expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
    revoke_reason: Option<String>,
}

impl From<SessionRow> for SessionToken {
    fn from(row: SessionRow) -> Self {
        SessionToken {
            id: RefreshTokenId::from_uuid(row.id),
            session_id: SessionId::from_uuid(row.family_id),
            user_id: UserId::from_uuid(row.user_id),
            token_hash: row.refresh_token_hash,
            replaced_by: row.replaced_by.map(RefreshTokenId::from_uuid),
            rotated_at: row.rotated_at,
            user_agent: row.user_agent,
            ip: row.ip,
            started_at: row.session_started_at,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            idle_expires_at: row.idle_expires_at,
            revoked_at: row.revoked_at,
            revoke_reason: row.revoke_reason,
        }
    }
}

pub(crate) const BADGE_COLUMNS: &str = "id, user_id, kind, verified_by, verified_at, expires_at";

#[derive(sqlx::FromRow)]
pub(crate) struct BadgeRow {
    id: Uuid,
    user_id: Uuid,
    kind: DbEnum<BadgeKind>,
    verified_by: Option<Uuid>,
    verified_at: Timestamp,
    expires_at: Option<Timestamp>,
}

impl From<BadgeRow> for Badge {
    fn from(row: BadgeRow) -> Self {
        Badge {
            id: BadgeId::from_uuid(row.id),
            user_id: UserId::from_uuid(row.user_id),
            kind: row.kind.0,
            verified_by: row.verified_by.map(UserId::from_uuid),
            verified_at: row.verified_at,
            expires_at: row.expires_at,
        }
    }
}
