//! [`AuditRepo`]: an append-only list in the shared world.

use async_trait::async_trait;

use super::InMemory;
use crate::audit::{AuditContext, AuditEvent, AuditRepo, NewAuditEvent};
use crate::ids::AuditEventId;
use crate::page::{Limit, Page};
use crate::Result;

#[async_trait]
impl AuditRepo for InMemory {
    async fn record(&self, event: NewAuditEvent, context: &AuditContext) -> Result<AuditEvent> {
        let mut details = event.details;
        if let (Some(via), serde_json::Value::Object(map)) = (context.via, &mut details) {
            map.insert("via".into(), via.into());
        }
        let recorded = AuditEvent {
            id: AuditEventId::new(),
            actor_id: context.actor_id,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            details,
            ip: context.ip.clone(),
            request_id: context.request_id.clone(),
            created_at: crate::time::now(),
        };
        self.world().audit.push(recorded.clone());
        Ok(recorded)
    }

    async fn events_for_target(
        &self,
        target_type: &str,
        target_id: &str,
        after: Option<AuditEventId>,
        limit: Limit,
    ) -> Result<Page<AuditEvent>> {
        let events: Vec<AuditEvent> = self
            .world()
            .audit
            .iter()
            .filter(|e| e.target_type == target_type && e.target_id == target_id)
            .filter(|e| after.is_none_or(|a| e.id.as_uuid() > a.as_uuid()))
            .take(limit.get() as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_probe(events, limit, |e: &AuditEvent| e.id))
    }
}
