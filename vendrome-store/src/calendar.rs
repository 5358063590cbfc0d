//! [`CalendarRepo`] on both databases: native events, their attendees and answers.

use std::collections::HashMap;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat};
use uuid::Uuid;
use vendrome_core::calendar::integrations::Pulled;
use vendrome_core::calendar::managed::ManagedBy;
use vendrome_core::calendar::{
    Attendee, CalendarEvent, CalendarRepo, EventFields, EventScope, Upserted,
};
use vendrome_core::enums::{CalendarAttendeeStatus, CalendarEventStatus, CalendarVisibility};
use vendrome_core::ids::{BookingId, CalendarEventId, MentorshipId, MentorshipSessionId, UserId};
use vendrome_core::time::{self, Timestamp};
use vendrome_core::{Error, Result};

use crate::error::SqlxResultExt as _;
use crate::sql_enum::DbEnum;
use crate::{with_db, Store};

const EVENT_COLUMNS: &str = "e.id, e.owner_id, e.title, e.description, e.location, e.video_url, \
     e.starts_at, e.ends_at, e.timezone, e.all_day, e.recurrence, e.recurrence_exceptions, \
     e.series_ends_at, e.visibility, e.status, e.ical_uid, e.sequence, e.booking_id, \
     e.mentorship_id, e.mentorship_session_id, e.created_at, e.updated_at";

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    owner_id: Uuid,
    title: String,
    description: Option<String>,
    location: Option<String>,
    video_url: Option<String>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    timezone: String,
    all_day: bool,
    recurrence: Option<String>,
    recurrence_exceptions: Option<String>,
    series_ends_at: Option<Timestamp>,
    visibility: DbEnum<CalendarVisibility>,
    status: DbEnum<CalendarEventStatus>,
    ical_uid: String,
    sequence: i32,
    booking_id: Option<Uuid>,
    mentorship_id: Option<Uuid>,
    mentorship_session_id: Option<Uuid>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct AttendeeRow {
    event_id: Uuid,
    user_id: Uuid,
    response: DbEnum<CalendarAttendeeStatus>,
}

/// Exceptions as stored: UTC RFC 3339 instants, comma separated; `None` when there are none.
pub(crate) fn encode_exceptions(exceptions: &[Timestamp]) -> Option<String> {
    (!exceptions.is_empty()).then(|| {
        exceptions
            .iter()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn decode_exceptions(id: Uuid, raw: Option<&str>) -> Result<Vec<Timestamp>> {
    raw.into_iter()
        .flat_map(|s| s.split(','))
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.to_utc())
                .with_context(|| format!("stored calendar event {id} has an invalid exception"))
                .map_err(Error::from)
        })
        .collect()
}

impl EventRow {
    fn into_event(self, attendees: Vec<Attendee>) -> Result<CalendarEvent> {
        let exceptions = decode_exceptions(self.id, self.recurrence_exceptions.as_deref())?;
        let managed_by = match (
            self.booking_id,
            self.mentorship_id,
            self.mentorship_session_id,
        ) {
            (Some(booking), _, _) => Some(ManagedBy::Booking(BookingId::from_uuid(booking))),
            (None, Some(mentorship), Some(session)) => Some(ManagedBy::MentorshipSession {
                mentorship: MentorshipId::from_uuid(mentorship),
                session: MentorshipSessionId::from_uuid(session),
            }),
            _ => None,
        };
        Ok(CalendarEvent {
            id: CalendarEventId::from_uuid(self.id),
            owner_id: UserId::from_uuid(self.owner_id),
            fields: EventFields {
                title: self.title,
                description: self.description,
                location: self.location,
                video_url: self.video_url,
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                timezone: self.timezone,
                all_day: self.all_day,
                recurrence: self.recurrence,
                exceptions,
                series_ends_at: self.series_ends_at,
                visibility: self.visibility.0,
                attendees: attendees.iter().map(|a| a.user_id).collect(),
            },
            status: self.status.0,
            ical_uid: self.ical_uid,
            sequence: self.sequence,
            attendees,
            managed_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Joins event rows with their attendee rows (kept in the order fetched).
fn assemble(events: Vec<EventRow>, attendees: Vec<AttendeeRow>) -> Result<Vec<CalendarEvent>> {
    let mut by_event: HashMap<Uuid, Vec<Attendee>> = HashMap::new();
    for a in attendees {
        by_event.entry(a.event_id).or_default().push(Attendee {
            user_id: UserId::from_uuid(a.user_id),
            response: a.response.0,
        });
    }
    events
        .into_iter()
        .map(|row| {
            let attendees = by_event.remove(&row.id).unwrap_or_default();
            row.into_event(attendees)
        })
        .collect()
}

/// The `WHERE` condition on `e` (and `$1` the member) of a window query in `scope`.
fn scope_condition(scope: EventScope) -> &'static str {
    match scope {
        EventScope::Calendar => {
            "(e.owner_id = $1 OR EXISTS (SELECT 1 FROM calendar_event_attendees x \
             WHERE x.event_id = e.id AND x.user_id = $1))"
        }
        EventScope::Busy => {
            "e.status <> 'cancelled' AND e.visibility <> 'private' AND (e.owner_id = $1 OR EXISTS \
             (SELECT 1 FROM calendar_event_attendees x WHERE x.event_id = e.id AND x.user_id = $1 \
             AND x.response <> 'declined'))"
        }
    }
}

/// `$1` the event id, `$2` the owner, `$3`–`$14` the fields (see `bind_fields!`), `$15` the
/// UID, `$16` the time.
pub(crate) const INSERT_EVENT: &str = "INSERT INTO calendar_events (id, owner_id, title, description, \
     location, video_url, starts_at, ends_at, timezone, all_day, recurrence, recurrence_exceptions, \
     series_ends_at, visibility, ical_uid, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)";

/// `$2`–`$13` the fields (see `bind_fields!`), `$14` the time; the caller adds the `WHERE`.
pub(crate) const UPDATE_EVENT: &str = "UPDATE calendar_events SET title = $2, description = $3, \
     location = $4, video_url = $5, starts_at = $6, ends_at = $7, timezone = $8, all_day = $9, \
     recurrence = $10, recurrence_exceptions = $11, series_ends_at = $12, visibility = $13, \
     sequence = sequence + 1, updated_at = $14";

/// Binds an event's fields, title to visibility, as the next twelve parameters.
macro_rules! bind_fields {
    ($query:expr, $fields:expr) => {
        $query
            .bind(&$fields.title)
            .bind(&$fields.description)
            .bind(&$fields.location)
            .bind(&$fields.video_url)
            .bind($fields.starts_at)
            .bind($fields.ends_at)
            .bind(&$fields.timezone)
            .bind($fields.all_day)
            .bind(&$fields.recurrence)
            .bind(encode_exceptions(&$fields.exceptions))
            .bind($fields.series_ends_at)
            .bind(DbEnum($fields.visibility))
    };
}

/// Makes `$users` the event's attendees: those no longer invited go, those still invited keep
/// their answers, new ones start at `needs_action`.
macro_rules! replace_attendees {
    ($tx:expr, $event:expr, $users:expr, $now:expr) => {
        let current: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT user_id FROM calendar_event_attendees WHERE event_id = $1 AND user_id IS NOT NULL",
        )
        .bind($event)
        .fetch_all(&mut *$tx)
        .await?;
        for (user,) in current {
            if !$users.iter().any(|a| a.as_uuid() == user) {
                sqlx::query("DELETE FROM calendar_event_attendees WHERE event_id = $1 AND user_id = $2")
                    .bind($event)
                    .bind(user)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
        insert_attendees!($tx, $event, $users, $now);
    };
}

/// The condition that an event follows no booking or mentorship session: imports and pulls
/// change only such events.
pub(crate) const UNMANAGED: &str = "booking_id IS NULL AND mentorship_session_id IS NULL";

/// Imports `$fields` as `$owner`'s event with UID `$uid` inside transaction `$tx`, as
/// `CalendarRepo::upsert_by_uid` does, or first in place into the live event `$linked` (an
/// `Option<Uuid>`) when given; an event that follows a booking or session is left as it is.
/// Evaluates to the event's id and what became of it (`Pulled`).
macro_rules! upsert_in {
    ($tx:expr, $owner:expr, $uid:expr, $fields:expr, $linked:expr, $now:expr) => {{
        let mut done: Option<(Uuid, Pulled)> = None;
        if let Some(linked) = $linked {
            let sql = format!("{UPDATE_EVENT} WHERE id = $1 AND deleted_at IS NULL AND {UNMANAGED}");
            let updated = bind_fields!(sqlx::query(&sql).bind(linked), $fields)
                .bind($now)
                .execute(&mut *$tx)
                .await?
                .rows_affected()
                == 1;
            if updated {
                replace_attendees!($tx, linked, &$fields.attendees, $now);
                done = Some((linked, Pulled::Updated));
            } else {
                let managed: Option<(Uuid,)> = sqlx::query_as(&format!(
                    "SELECT id FROM calendar_events WHERE id = $1 AND NOT ({UNMANAGED})"
                ))
                .bind(linked)
                .fetch_optional(&mut *$tx)
                .await?;
                done = managed.map(|(id,)| (id, Pulled::Managed));
            }
        }
        match done {
            Some(done) => done,
            None => {
                let fresh = CalendarEventId::new().as_uuid();
                // The unique (owner, UID) decides between concurrent imports: one inserts, the
                // others update the row it made.
                let sql = format!("{INSERT_EVENT} ON CONFLICT (owner_id, ical_uid) DO NOTHING");
                let created = bind_fields!(sqlx::query(&sql).bind(fresh).bind($owner), $fields)
                    .bind($uid)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                    == 1;
                if created {
                    insert_attendees!($tx, fresh, &$fields.attendees, $now);
                    (fresh, Pulled::Created)
                } else {
                    let sql = format!(
                        "{UPDATE_EVENT}, deleted_at = NULL WHERE owner_id = $15 AND ical_uid = $16 \
                         AND {UNMANAGED} RETURNING id"
                    );
                    let updated: Option<(Uuid,)> =
                        bind_fields!(sqlx::query_as(&sql).bind(fresh), $fields)
                            .bind($now)
                            .bind($owner)
                            .bind($uid)
                            .fetch_optional(&mut *$tx)
                            .await?;
                    match updated {
                        Some((event,)) => {
                            replace_attendees!($tx, event, &$fields.attendees, $now);
                            (event, Pulled::Updated)
                        }
                        None => {
                            let (event,): (Uuid,) = sqlx::query_as(
                                "SELECT id FROM calendar_events WHERE owner_id = $1 AND ical_uid = $2",
                            )
                            .bind($owner)
                            .bind($uid)
                            .fetch_one(&mut *$tx)
                            .await?;
                            (event, Pulled::Managed)
                        }
                    }
                }
            }
        }
    }};
}

macro_rules! insert_attendees {
    ($tx:expr, $event:expr, $users:expr, $now:expr) => {
        for user in $users {
            // The member's email is the attendee's key (outside guests have only an email).
            sqlx::query(
                "INSERT INTO calendar_event_attendees (event_id, email, user_id, created_at, updated_at) \
                 SELECT $1, email, id, $3, $3 FROM users WHERE id = $2 \
                 ON CONFLICT (event_id, email) DO NOTHING",
            )
            .bind($event)
            .bind(user.as_uuid())
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

pub(crate) use {bind_fields, insert_attendees, replace_attendees, upsert_in};

impl Store {
    async fn load_events(&self, condition: &str, binds: EventBinds) -> Result<Vec<CalendarEvent>> {
        let events_sql = format!(
            "SELECT {EVENT_COLUMNS} FROM calendar_events e WHERE e.deleted_at IS NULL AND {condition} \
             ORDER BY e.starts_at, e.id"
        );
        let attendees_sql = format!(
            "SELECT a.event_id, a.user_id, a.response FROM calendar_event_attendees a \
             JOIN calendar_events e ON e.id = a.event_id \
             WHERE a.user_id IS NOT NULL AND e.deleted_at IS NULL AND {condition} \
             ORDER BY a.created_at, a.email"
        );
        let (events, attendees) = with_db!(&self.db, pool => {
            let mut events = sqlx::query_as::<_, EventRow>(&events_sql).bind(binds.0);
            let mut attendees = sqlx::query_as::<_, AttendeeRow>(&attendees_sql).bind(binds.0);
            if let Some((from, to)) = binds.1 {
                events = events.bind(from).bind(to);
                attendees = attendees.bind(from).bind(to);
            }
            let events = events.fetch_all(pool).await?;
            let attendees = attendees.fetch_all(pool).await?;
            Ok::<_, sqlx::Error>((events, attendees))
        })
        .or_unexpected()?;
        assemble(events, attendees)
    }
}

/// `$1` (an event or member id) and, for a window, `$2` and `$3`.
type EventBinds = (Uuid, Option<(Timestamp, Timestamp)>);

#[async_trait]
impl CalendarRepo for Store {
    #[tracing::instrument(skip(self, fields))]
    async fn create_event(
        &self,
        id: CalendarEventId,
        owner: UserId,
        ical_uid: &str,
        fields: &EventFields,
    ) -> Result<CalendarEvent> {
        let now = time::now();
        let event = id.as_uuid();
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            bind_fields!(sqlx::query(INSERT_EVENT).bind(event).bind(owner.as_uuid()), fields)
                .bind(ical_uid)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            insert_attendees!(tx, event, &fields.attendees, now);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })
        .or_unexpected()?;
        self.event(id)
            .await?
            .context("a calendar event just created is missing")
            .map_err(Error::from)
    }

    #[tracing::instrument(skip(self))]
    async fn event(&self, id: CalendarEventId) -> Result<Option<CalendarEvent>> {
        Ok(self
            .load_events("e.id = $1", (id.as_uuid(), None))
            .await?
            .pop())
    }

    #[tracing::instrument(skip(self, fields))]
    async fn update_event(
        &self,
        id: CalendarEventId,
        fields: &EventFields,
    ) -> Result<CalendarEvent> {
        let now = time::now();
        let event = id.as_uuid();
        let updated = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let sql = format!("{UPDATE_EVENT} WHERE id = $1 AND deleted_at IS NULL");
            let updated = bind_fields!(sqlx::query(&sql).bind(event), fields)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if !updated {
                return Ok(false);
            }
            replace_attendees!(tx, event, &fields.attendees, now);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })
        .or_unexpected()?;
        if !updated {
            return Err(Error::not_found("calendar event"));
        }
        self.event(id)
            .await?
            .ok_or_else(|| Error::not_found("calendar event"))
    }

    #[tracing::instrument(skip(self, fields))]
    async fn upsert_by_uid(
        &self,
        owner: UserId,
        ical_uid: &str,
        fields: &EventFields,
    ) -> Result<Upserted> {
        let now = time::now();
        let (event, done) = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = upsert_in!(tx, owner.as_uuid(), ical_uid, fields, None::<Uuid>, now);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done)
        })
        .or_unexpected()?;
        let id = CalendarEventId::from_uuid(event);
        if done == Pulled::Managed {
            return Ok(Upserted::Managed(id));
        }
        let event = self
            .event(id)
            .await?
            .context("a calendar event just imported is missing")?;
        Ok(if done == Pulled::Created {
            Upserted::Created(event)
        } else {
            Upserted::Updated(event)
        })
    }
    #[tracing::instrument(skip(self))]
    async fn delete_event(&self, id: CalendarEventId) -> Result<bool> {
        let now = time::now();
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE calendar_events SET deleted_at = $2, updated_at = $2 \
                 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id.as_uuid())
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn set_response(
        &self,
        id: CalendarEventId,
        user: UserId,
        response: CalendarAttendeeStatus,
    ) -> Result<bool> {
        let now = time::now();
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE calendar_event_attendees SET response = $3, updated_at = $4 \
                 WHERE event_id = $1 AND user_id = $2 AND EXISTS \
                 (SELECT 1 FROM calendar_events e WHERE e.id = $1 AND e.deleted_at IS NULL)",
            )
            .bind(id.as_uuid())
            .bind(user.as_uuid())
            .bind(DbEnum(response))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
        })
        .or_unexpected()
    }

    #[tracing::instrument(skip(self))]
    async fn events_between(
        &self,
        user: UserId,
        scope: EventScope,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CalendarEvent>> {
        let condition = format!(
            "e.starts_at < $3 AND (e.series_ends_at IS NULL OR e.series_ends_at > $2) AND {}",
            scope_condition(scope)
        );
        self.load_events(&condition, (user.as_uuid(), Some((from, to))))
            .await
    }
}
