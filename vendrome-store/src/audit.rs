//! [`AuditRepo`] on both databases.

use async_trait::async_trait;
use vendrome_core::audit::{AuditContext, AuditEvent, AuditRepo, NewAuditEvent};
use vendrome_core::ids::AuditEventId;
use vendrome_core::page::{Limit, Page};
use vendrome_core::{time, Result};

use crate::error::SqlxResultExt as _;
use crate::rows::AuditRow;
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

#[async_trait]
impl AuditRepo for Store {
    #[tracing::instrument(skip_all, fields(action = %event.action))]
    async fn record(&self, event: NewAuditEvent, context: &AuditContext) -> Result<AuditEvent> {
        let now = time::now();
        with_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            conn.record_audit(&event, context, now).await
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn events_for_target(
        &self,
        target_type: &str,
        target_id: &str,
        after: Option<AuditEventId>,
        limit: Limit,
    ) -> Result<Page<AuditEvent>> {
        let rows: Vec<AuditRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, actor_id, action, target_type, target_id, details, ip, request_id, created_at \
                 FROM audit_events WHERE target_type = $1 AND target_id = $2 AND ($3 IS NULL OR id > $3) \
                 ORDER BY id LIMIT $4",
            )
            .bind(target_type)
            .bind(target_id)
            .bind(after.map(|id| id.as_uuid()))
            .bind(limit.probe())
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        let events = rows.into_iter().map(AuditEvent::from).collect();
        Ok(Page::from_probe(events, limit, |e: &AuditEvent| e.id))
    }
}
