//! What a sync pulled from a provider, kept as its member's events in one transaction per batch
//! (`IntegrationRepo::store_pulled`, `delete_pulled`): a page of a full sync costs one commit,
//! not one per event. Events that follow a booking or mentorship session are never changed or
//! deleted here.

use uuid::Uuid;
use vendrome_core::calendar::integrations::{Pulled, PulledEvent};
use vendrome_core::ids::{CalendarEventId, CalendarIntegrationId, UserId};
use vendrome_core::time::Timestamp;
use vendrome_core::Result;

use crate::calendar::{
    bind_fields, encode_exceptions, insert_attendees, replace_attendees, upsert_in, INSERT_EVENT,
    UNMANAGED, UPDATE_EVENT,
};
use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

/// `$1` event, `$2` integration, `$3` external id, `$4` etag, `$5` time.
pub(crate) const SAVE_LINK: &str = "INSERT INTO calendar_event_links (event_id, integration_id, \
     external_event_id, etag, last_synced_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (event_id, integration_id) DO UPDATE SET \
     external_event_id = excluded.external_event_id, etag = excluded.etag, \
     last_synced_at = excluded.last_synced_at";

impl Store {
    pub(crate) async fn store_pulled_events(
        &self,
        integration: CalendarIntegrationId,
        owner: UserId,
        events: &[PulledEvent],
        now: Timestamp,
    ) -> Result<Vec<Pulled>> {
        let owner = owner.as_uuid();
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let mut outcomes = Vec::with_capacity(events.len());
            for pulled in events {
                let fields = &pulled.fields;
                let linked = pulled.linked.map(|id| id.as_uuid());
                let (event, outcome): (Uuid, Pulled) =
                    upsert_in!(tx, owner, &pulled.ical_uid, fields, linked, now);
                if outcome != Pulled::Managed {
                    sqlx::query(SAVE_LINK)
                        .bind(event)
                        .bind(integration.as_uuid())
                        .bind(&pulled.external_event_id)
                        .bind(&pulled.etag)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                outcomes.push(outcome);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(outcomes)
        })
        .or_unexpected()
    }

    pub(crate) async fn delete_pulled_events(
        &self,
        integration: CalendarIntegrationId,
        external_event_ids: &[String],
        now: Timestamp,
    ) -> Result<usize> {
        let delete = format!(
            "UPDATE calendar_events SET deleted_at = $2, updated_at = $2 \
             WHERE id = $1 AND deleted_at IS NULL AND {UNMANAGED}"
        );
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let mut deleted = 0;
            for external in external_event_ids {
                let link: Option<(Uuid,)> = sqlx::query_as(
                    "DELETE FROM calendar_event_links \
                     WHERE integration_id = $1 AND external_event_id = $2 RETURNING event_id",
                )
                .bind(integration.as_uuid())
                .bind(external)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((event,)) = link {
                    deleted += sqlx::query(&delete)
                        .bind(event)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected() as usize;
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(deleted)
        })
        .or_unexpected()
    }
}
