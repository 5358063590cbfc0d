//! Writes that ride along in another change's transaction: the outbox event that announces the
//! change and the audit event that records who made it. Both are implemented once per driver
//! connection so that any port method can call them on its open transaction.

use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, SqliteConnection};
use vendrome_core::audit::{AuditContext, AuditEvent, NewAuditEvent};
use vendrome_core::ids::AuditEventId;
use vendrome_core::outbox::NewEvent;
use vendrome_core::time::Timestamp;

use crate::rows::AuditRow;

/// Same-transaction companions of a state change.
pub(crate) trait TxWrites {
    /// Appends `event` to the outbox as pending, due at once.
    fn append_event<'a>(
        &'a mut self,
        event: &'a NewEvent,
        now: Timestamp,
    ) -> BoxFuture<'a, sqlx::Result<()>>;

    /// Appends `events` to the outbox in one statement, in their order.
    fn append_events<'a>(
        &'a mut self,
        events: &'a [NewEvent],
        now: Timestamp,
    ) -> BoxFuture<'a, sqlx::Result<()>>;

    /// Records an audit event attributed to `context`.
    fn record_audit<'a>(
        &'a mut self,
        event: &'a NewAuditEvent,
        context: &'a AuditContext,
        now: Timestamp,
    ) -> BoxFuture<'a, sqlx::Result<AuditEvent>>;
}

/// Finishes a change that may have touched nothing: when it changed something, appends `event`
/// and commits; when not, drops the transaction (rolling it back) and writes no event. Answers
/// `changed`.
pub(crate) async fn commit_if_changed<DB: sqlx::Database>(
    mut tx: sqlx::Transaction<'_, DB>,
    changed: bool,
    event: &NewEvent,
    now: Timestamp,
) -> sqlx::Result<bool>
where
    DB::Connection: TxWrites,
{
    if changed {
        tx.append_event(event, now).await?;
        tx.commit().await?;
    }
    Ok(changed)
}

const APPEND_EVENT: &str = "INSERT INTO outbox_events \
    (event_id, event_type, aggregate_type, aggregate_id, payload, status, attempts, available_at, created_at) \
    VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)";

/// [`APPEND_EVENT`] for `n` events: six parameters a row, all due at once.
fn append_events_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|r| {
            let p = |c: usize| format!("${}", r * 6 + c);
            format!(
                "({}, {}, {}, {}, {}, 'pending', 0, {}, {})",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(6)
            )
        })
        .collect();
    format!(
        "INSERT INTO outbox_events \
         (event_id, event_type, aggregate_type, aggregate_id, payload, status, attempts, available_at, created_at) \
         VALUES {}",
        rows.join(", ")
    )
}

const RECORD_AUDIT: &str = "INSERT INTO audit_events \
    (id, actor_id, action, target_type, target_id, details, ip, request_id, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
    RETURNING id, actor_id, action, target_type, target_id, details, ip, request_id, created_at";

/// The details as stored: `via` joins them when the change did not come from a user.
fn audit_details(event: &NewAuditEvent, context: &AuditContext) -> Value {
    let mut details = event.details.clone();
    if let (Some(via), Value::Object(map)) = (context.via, &mut details) {
        map.insert("via".into(), Value::from(via));
    }
    details
}

/// Binds a [`NewEvent`]'s five columns of `outbox_events`: its id, type, aggregate's kind and id,
/// and payload.
macro_rules! bind_new_event {
    ($query:expr, $event:expr) => {{
        let aggregate = $event.event.aggregate();
        $query
            .bind($event.event_id.as_uuid())
            .bind($event.event.event_type())
            .bind(aggregate.kind)
            .bind(aggregate.id)
            .bind(sqlx::types::Json($event.event.stored_payload()))
    }};
}
pub(crate) use bind_new_event;

macro_rules! impl_tx_writes {
    ($conn:ty) => {
        impl TxWrites for $conn {
            fn append_event<'a>(
                &'a mut self,
                event: &'a NewEvent,
                now: Timestamp,
            ) -> BoxFuture<'a, sqlx::Result<()>> {
                Box::pin(async move {
                    bind_new_event!(sqlx::query(APPEND_EVENT), event)
                        .bind(now)
                        .execute(&mut *self)
                        .await?;
                    Ok(())
                })
            }

            fn append_events<'a>(
                &'a mut self,
                events: &'a [NewEvent],
                now: Timestamp,
            ) -> BoxFuture<'a, sqlx::Result<()>> {
                Box::pin(async move {
                    if events.is_empty() {
                        return Ok(());
                    }
                    let sql = append_events_sql(events.len());
                    let mut insert = sqlx::query(&sql);
                    for event in events {
                        insert = bind_new_event!(insert, event).bind(now);
                    }
                    insert.execute(&mut *self).await?;
                    Ok(())
                })
            }

            fn record_audit<'a>(
                &'a mut self,
                event: &'a NewAuditEvent,
                context: &'a AuditContext,
                now: Timestamp,
            ) -> BoxFuture<'a, sqlx::Result<AuditEvent>> {
                Box::pin(async move {
                    let row: AuditRow = sqlx::query_as(RECORD_AUDIT)
                        .bind(AuditEventId::new().as_uuid())
                        .bind(context.actor_id.map(|id| id.as_uuid()))
                        .bind(&event.action)
                        .bind(&event.target_type)
                        .bind(&event.target_id)
                        .bind(Json(audit_details(event, context)))
                        .bind(&context.ip)
                        .bind(&context.request_id)
                        .bind(now)
                        .fetch_one(&mut *self)
                        .await?;
                    Ok(row.into())
                })
            }
        }
    };
}

impl_tx_writes!(PgConnection);
impl_tx_writes!(SqliteConnection);
