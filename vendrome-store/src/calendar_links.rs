//! The rows of `calendar_event_links` and `calendar_conflicts` as
//! [`IntegrationRepo`](vendrome_core::calendar::integrations::IntegrationRepo) reads them.

use uuid::Uuid;
use vendrome_core::calendar::integrations::{Conflict, EventLink};
use vendrome_core::ids::{CalendarConflictId, CalendarEventId, CalendarIntegrationId, UserId};
use vendrome_core::time::Timestamp;

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    event_id: Uuid,
    integration_id: Uuid,
    external_event_id: String,
    etag: Option<String>,
    last_synced_at: Timestamp,
}

impl From<LinkRow> for EventLink {
    fn from(r: LinkRow) -> Self {
        Self {
            event_id: CalendarEventId::from_uuid(r.event_id),
            integration_id: CalendarIntegrationId::from_uuid(r.integration_id),
            external_event_id: r.external_event_id,
            etag: r.etag,
            last_synced_at: r.last_synced_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConflictRow {
    id: Uuid,
    user_id: Uuid,
    integration_id: Option<Uuid>,
    event_id: Option<Uuid>,
    external_event_id: String,
    ours_won: bool,
    ours_updated_at: Timestamp,
    theirs_updated_at: Option<Timestamp>,
    loser_ics: String,
    created_at: Timestamp,
}

impl From<ConflictRow> for Conflict {
    fn from(r: ConflictRow) -> Self {
        Self {
            id: CalendarConflictId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            integration_id: r.integration_id.map(CalendarIntegrationId::from_uuid),
            event_id: r.event_id.map(CalendarEventId::from_uuid),
            external_event_id: r.external_event_id,
            ours_won: r.ours_won,
            ours_updated_at: r.ours_updated_at,
            theirs_updated_at: r.theirs_updated_at,
            loser_ics: r.loser_ics,
            created_at: r.created_at,
        }
    }
}

pub(crate) const LINK_COLUMNS: &str =
    "event_id, integration_id, external_event_id, etag, last_synced_at";
