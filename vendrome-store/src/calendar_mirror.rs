//! The calendar events of bookings and mentorship sessions, written inside the transaction that
//! changes the booking or session (see `vendrome_core::calendar::managed`).
//!
//! Each write reads the booking or session as that transaction left it and makes both parties'
//! events match it: an upsert on the unique `(owner_id, ical_uid)` that creates a party's copy
//! once and, when its times or title differ, replaces them with one more `sequence`; or a
//! cancellation of every live copy (`status` `cancelled` and `deleted_at`, as a native event's
//! deletion). A retried or repeated write therefore changes nothing, and a copy its owner deleted
//! never comes back.

use futures::future::BoxFuture;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;
use vendrome_core::calendar::managed::{
    booking_copies, booking_mirror, booking_uid, session_copies, session_uid, BookingForCalendar,
    Mirror, PartyCopy, SessionForCalendar,
};
use vendrome_core::enums::BookingStatus;
use vendrome_core::ids::{BookingId, CalendarEventId, MentorshipSessionId, UserId};
use vendrome_core::time::Timestamp;

use crate::sql_enum::DbEnum;

#[derive(sqlx::FromRow)]
struct BookingRow {
    status: DbEnum<BookingStatus>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    timezone: String,
    note: Option<String>,
    service_title: String,
    provider_id: Uuid,
    provider_name: String,
    client_id: Uuid,
    client_name: String,
}

const BOOKING: &str = "SELECT b.status, b.starts_at, b.ends_at, b.timezone, b.note, \
    s.title AS service_title, b.provider_id, p.display_name AS provider_name, b.client_id, \
    c.display_name AS client_name FROM bookings b \
    JOIN post_services s ON s.post_id = b.service_post_id \
    JOIN users p ON p.id = b.provider_id JOIN users c ON c.id = b.client_id WHERE b.id = $1";

#[derive(sqlx::FromRow)]
struct SessionRow {
    starts_at: Timestamp,
    ends_at: Timestamp,
    topic: Option<String>,
    cancelled_at: Option<Timestamp>,
    mentorship_id: Uuid,
    mentor_id: Uuid,
    mentor_name: String,
    mentee_id: Uuid,
    mentee_name: String,
}

const SESSION: &str = "SELECT s.starts_at, s.ends_at, s.topic, s.cancelled_at, \
    m.id AS mentorship_id, m.mentor_id, r.display_name AS mentor_name, m.mentee_id, \
    e.display_name AS mentee_name FROM mentorship_sessions s \
    JOIN mentorship_relationships m ON m.id = s.mentorship_id \
    JOIN users r ON r.id = m.mentor_id JOIN users e ON e.id = m.mentee_id WHERE s.id = $1";

/// `$1` id, `$2` owner, `$3`–`$9` the fields, `$10` UID, `$11`–`$13` the links, `$14` now.
const UPSERT: &str = "INSERT INTO calendar_events (id, owner_id, title, description, starts_at, \
    ends_at, timezone, all_day, series_ends_at, visibility, ical_uid, booking_id, mentorship_id, \
    mentorship_session_id, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $15, $10, $11, $12, $13, $14, $14) \
    ON CONFLICT (owner_id, ical_uid) DO UPDATE SET title = excluded.title, \
    starts_at = excluded.starts_at, ends_at = excluded.ends_at, timezone = excluded.timezone, \
    series_ends_at = excluded.series_ends_at, sequence = calendar_events.sequence + 1, \
    updated_at = excluded.updated_at \
    WHERE calendar_events.deleted_at IS NULL AND (calendar_events.starts_at <> excluded.starts_at \
    OR calendar_events.ends_at <> excluded.ends_at OR calendar_events.title <> excluded.title)";

/// Cancels the live events whose link column (the format argument) is `$1`, at `$2`.
fn cancel_sql(column: &str) -> String {
    format!(
        "UPDATE calendar_events SET status = 'cancelled', deleted_at = $2, \
         sequence = sequence + 1, updated_at = $2 WHERE {column} = $1 AND deleted_at IS NULL"
    )
}

/// What links a party's copy to what it mirrors.
struct Links {
    uid: String,
    booking: Option<Uuid>,
    mentorship: Option<Uuid>,
    session: Option<Uuid>,
}

/// Writes of managed events, on the open transaction of the change they follow.
pub(crate) trait MirrorWrites {
    /// Makes the booking's events match it (see [`booking_mirror`]).
    fn mirror_booking(
        &mut self,
        booking: BookingId,
        at: Timestamp,
    ) -> BoxFuture<'_, sqlx::Result<()>>;

    /// Makes the session's events match it: live at its times, or cancelled with it.
    fn mirror_session(
        &mut self,
        session: MentorshipSessionId,
        at: Timestamp,
    ) -> BoxFuture<'_, sqlx::Result<()>>;
}

macro_rules! impl_mirror_writes {
    ($conn:ty) => {
        impl MirrorWrites for $conn {
            fn mirror_booking(
                &mut self,
                booking: BookingId,
                at: Timestamp,
            ) -> BoxFuture<'_, sqlx::Result<()>> {
                Box::pin(async move {
                    let Some(row): Option<BookingRow> = sqlx::query_as(BOOKING)
                        .bind(booking.as_uuid())
                        .fetch_optional(&mut *self)
                        .await?
                    else {
                        return Ok(());
                    };
                    match booking_mirror(row.status.0) {
                        Mirror::Unchanged => Ok(()),
                        Mirror::Cancelled => {
                            sqlx::query(&cancel_sql("booking_id"))
                                .bind(booking.as_uuid())
                                .bind(at)
                                .execute(&mut *self)
                                .await?;
                            Ok(())
                        }
                        Mirror::Live => {
                            let copies = booking_copies(&BookingForCalendar {
                                starts_at: row.starts_at,
                                ends_at: row.ends_at,
                                timezone: row.timezone,
                                note: row.note,
                                service_title: row.service_title,
                                provider: (UserId::from_uuid(row.provider_id), row.provider_name),
                                client: (UserId::from_uuid(row.client_id), row.client_name),
                            });
                            let links = Links {
                                uid: booking_uid(booking),
                                booking: Some(booking.as_uuid()),
                                mentorship: None,
                                session: None,
                            };
                            for copy in &copies {
                                upsert!(self, copy, &links, at);
                            }
                            Ok(())
                        }
                    }
                })
            }

            fn mirror_session(
                &mut self,
                session: MentorshipSessionId,
                at: Timestamp,
            ) -> BoxFuture<'_, sqlx::Result<()>> {
                Box::pin(async move {
                    let Some(row): Option<SessionRow> = sqlx::query_as(SESSION)
                        .bind(session.as_uuid())
                        .fetch_optional(&mut *self)
                        .await?
                    else {
                        return Ok(());
                    };
                    if row.cancelled_at.is_some() {
                        sqlx::query(&cancel_sql("mentorship_session_id"))
                            .bind(session.as_uuid())
                            .bind(at)
                            .execute(&mut *self)
                            .await?;
                        return Ok(());
                    }
                    let copies = session_copies(&SessionForCalendar {
                        starts_at: row.starts_at,
                        ends_at: row.ends_at,
                        topic: row.topic,
                        mentor: (UserId::from_uuid(row.mentor_id), row.mentor_name),
                        mentee: (UserId::from_uuid(row.mentee_id), row.mentee_name),
                    });
                    let links = Links {
                        uid: session_uid(session),
                        booking: None,
                        mentorship: Some(row.mentorship_id),
                        session: Some(session.as_uuid()),
                    };
                    for copy in &copies {
                        upsert!(self, copy, &links, at);
                    }
                    Ok(())
                })
            }
        }
    };
}

/// Upserts one party's copy (see [`UPSERT`]).
macro_rules! upsert {
    ($conn:expr, $copy:expr, $links:expr, $at:expr) => {{
        let (owner, f): &PartyCopy = $copy;
        let links: &Links = $links;
        sqlx::query(UPSERT)
            .bind(CalendarEventId::new().as_uuid())
            .bind(owner.as_uuid())
            .bind(&f.title)
            .bind(&f.description)
            .bind(f.starts_at)
            .bind(f.ends_at)
            .bind(&f.timezone)
            .bind(f.all_day)
            .bind(f.series_ends_at)
            .bind(&links.uid)
            .bind(links.booking)
            .bind(links.mentorship)
            .bind(links.session)
            .bind($at)
            .bind(DbEnum(f.visibility))
            .execute(&mut *$conn)
            .await?;
    }};
}

impl_mirror_writes!(PgConnection);
impl_mirror_writes!(SqliteConnection);
