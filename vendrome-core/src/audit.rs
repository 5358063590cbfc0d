//! Audit events: who did what to which resource, written in the same transaction as the
//! high-risk change they record (role changes, badge grants, flag changes, session revocations).

use async_trait::async_trait;

use crate::ids::{AuditEventId, UserId};
use crate::page::{Limit, Page};
use crate::time::Timestamp;
use crate::Result;

/// Who is acting, from where: attached to every audited change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// The signed-in user; `None` for an operator at the command line or the system itself.
    pub actor_id: Option<UserId>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// How the change arrived when there is no user: `cli`, `system`.
    pub via: Option<&'static str>,
}

impl AuditContext {
    /// An operator's change from the command line.
    pub fn cli() -> Self {
        Self {
            via: Some("cli"),
            ..Self::default()
        }
    }
}

/// An audit event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// Dotted verb: `flag.updated`, `user.role_changed`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What changed (before/after values, reasons).
    pub details: serde_json::Value,
}

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub created_at: Timestamp,
}

/// Storage of audit events. Events are append-only: there is no update or delete.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Records an event on its own (changes that carry their own audit write it in their
    /// transaction instead). `details.via` is set from `context.via` when present.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn record(&self, event: NewAuditEvent, context: &AuditContext) -> Result<AuditEvent>;

    /// Events about one resource, oldest first, starting after `after`.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn events_for_target(
        &self,
        target_type: &str,
        target_id: &str,
        after: Option<AuditEventId>,
        limit: Limit,
    ) -> Result<Page<AuditEvent>>;
}
