//! [`BookingRepo`] and [`AvailabilityRepo`] on both databases.
//!
//! No double booking: on PostgreSQL the exclusion constraint `bookings_no_overlap` (btree_gist)
//! refuses a booking whose `[starts_at, blocked_until)` meets another of the provider's bookings
//! that hold time, whatever the concurrency; the insert's error 23P01 becomes
//! [`CreateBookingOutcome::Taken`]. On SQLite the transaction starts with the insert, so it holds
//! the database's write lock before it reads, and then looks for an overlap among the other
//! bookings; finding one rolls the insert back. Both searches are bounded to
//! [`MAX_BLOCK_MINUTES`] before the start, so they are a short range scan of the provider index.

use async_trait::async_trait;
use chrono::Duration;
use sqlx::types::Json;
use uuid::Uuid;
use vendrome_core::bookings::{
    Availability, AvailabilityException, AvailabilityRepo, BookableService, Booking, BookingChange,
    BookingFilter, BookingRepo, BookingReschedule, BookingRole, CancellationPolicy,
    CreateBookingOutcome, LateRefund, NewBooking, PaidBooking, RescheduleOutcome, Taken,
    WeeklyWindow, MAX_BLOCK_MINUTES,
};
use vendrome_core::calendar::managed::{booking_mirror, Mirror};
use vendrome_core::enums::BookingStatus;
use vendrome_core::ids::{BookingId, PostId, UserId};
use vendrome_core::money::Money;
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::calendar_mirror::MirrorWrites as _;
use crate::error::SqlxResultExt as _;
use crate::orders::parse_currency;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, Arg, SqlText};
use crate::writes::TxWrites as _;
use crate::{with_db, Dialect, Store};

const BOOKING_COLUMNS: &str = "b.id, b.service_post_id, b.client_id, b.provider_id, b.status, \
    b.starts_at, b.ends_at, COALESCE(b.blocked_until, b.ends_at) AS blocked_until, b.timezone, \
    b.currency, b.amount, b.platform_fee_amount, b.refund_amount, b.note, b.cancel_reason, \
    b.created_at, b.updated_at";

/// Other bookings of `$1` holding time that meet `[$2, $3)`, starting no earlier than `$4`.
const OVERLAPS: &str = "SELECT COUNT(*) FROM bookings WHERE provider_id = $1 AND id <> $5 \
    AND status IN ('awaiting_payment', 'requested', 'confirmed') AND starts_at >= $4 AND starts_at < $3 \
    AND COALESCE(blocked_until, ends_at) > $2";

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: Uuid,
    service_post_id: Uuid,
    client_id: Uuid,
    provider_id: Uuid,
    status: DbEnum<BookingStatus>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    blocked_until: Timestamp,
    timezone: String,
    currency: String,
    amount: i64,
    platform_fee_amount: i64,
    refund_amount: i64,
    note: Option<String>,
    cancel_reason: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl BookingRow {
    fn into_booking(self) -> Result<Booking> {
        Ok(Booking {
            id: BookingId::from_uuid(self.id),
            service_post_id: PostId::from_uuid(self.service_post_id),
            client_id: UserId::from_uuid(self.client_id),
            provider_id: UserId::from_uuid(self.provider_id),
            status: self.status.0,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            blocked_until: self.blocked_until,
            timezone: self.timezone,
            currency: parse_currency(&self.currency)?,
            amount: self.amount,
            platform_fee_amount: self.platform_fee_amount,
            refund_amount: self.refund_amount,
            note: self.note,
            cancel_reason: self.cancel_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A booking with its service's `auto_confirm`, as a charge's settlement reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct PaidBookingRow {
    #[sqlx(flatten)]
    booking: BookingRow,
    auto_confirm: bool,
}

impl PaidBookingRow {
    pub(crate) fn into_paid(self) -> Result<PaidBooking> {
        Ok(PaidBooking {
            booking: self.booking.into_booking()?,
            auto_confirm: self.auto_confirm,
        })
    }
}

/// Reads a booking and its service's `auto_confirm` in a settling transaction, locking the
/// booking on PostgreSQL (SQLite's transaction already holds the write lock).
pub(crate) fn paid_booking_sql(dialect: Dialect) -> String {
    let lock = dialect.pick(" FOR UPDATE OF b", "");
    format!(
        "SELECT {BOOKING_COLUMNS}, s.auto_confirm FROM bookings b \
         JOIN post_services s ON s.post_id = b.service_post_id WHERE b.id = $1{lock}"
    )
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    post_id: Uuid,
    author_id: Uuid,
    title: String,
    duration_minutes: Option<i32>,
    rate_amount: i64,
    currency: String,
    auto_confirm: bool,
    cancellation_window_hours: i32,
    late_cancellation_refund: DbEnum<LateRefund>,
}

#[derive(sqlx::FromRow)]
struct AvailabilityRow {
    timezone: String,
    weekly: Json<Vec<WeeklyWindow>>,
    exceptions: Json<Vec<AvailabilityException>>,
    buffer_minutes: i32,
    min_notice_minutes: i32,
    max_days_ahead: i32,
}

#[derive(sqlx::FromRow)]
struct TakenRow {
    starts_at: Timestamp,
    blocked_until: Timestamp,
}

/// What creating a booking did inside its transaction.
enum Created {
    Inserted,
    Existing,
    Taken,
}

/// What a reschedule did inside its transaction.
enum Rescheduled {
    Moved,
    Changed,
    Taken,
}

/// Whether PostgreSQL aborted the statement to break a deadlock.
fn is_deadlock(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01")
}

/// Whether the insert broke the PostgreSQL exclusion constraint.
fn is_overlap(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "23P01")
}

impl Store {
    async fn load_bookings(&self, sql: SqlText) -> Result<Vec<Booking>> {
        let rows: Vec<BookingRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, BookingRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter().map(BookingRow::into_booking).collect()
    }
}

#[async_trait]
impl AvailabilityRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn availability(&self, user: UserId) -> Result<Option<Availability>> {
        let row: Option<AvailabilityRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT timezone, weekly, exceptions, buffer_minutes, min_notice_minutes, \
                 max_days_ahead FROM provider_availability WHERE user_id = $1",
            )
            .bind(user.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        Ok(row.map(|r| Availability {
            timezone: r.timezone,
            weekly: r.weekly.0,
            exceptions: r.exceptions.0,
            buffer_minutes: r.buffer_minutes,
            min_notice_minutes: r.min_notice_minutes,
            max_days_ahead: r.max_days_ahead,
        }))
    }

    #[tracing::instrument(skip(self, availability))]
    async fn set_availability(
        &self,
        user: UserId,
        availability: &Availability,
        now: Timestamp,
    ) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO provider_availability (user_id, timezone, weekly, exceptions, \
                 buffer_minutes, min_notice_minutes, max_days_ahead, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, \
                 weekly = excluded.weekly, exceptions = excluded.exceptions, \
                 buffer_minutes = excluded.buffer_minutes, \
                 min_notice_minutes = excluded.min_notice_minutes, \
                 max_days_ahead = excluded.max_days_ahead, updated_at = excluded.updated_at",
            )
            .bind(user.as_uuid())
            .bind(&availability.timezone)
            .bind(Json(&availability.weekly))
            .bind(Json(&availability.exceptions))
            .bind(availability.buffer_minutes)
            .bind(availability.min_notice_minutes)
            .bind(availability.max_days_ahead)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })
        .or_unexpected()
    }
}

#[async_trait]
impl BookingRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn service(&self, post: PostId) -> Result<Option<BookableService>> {
        let row: Option<ServiceRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT p.id AS post_id, p.author_id, s.title, s.duration_minutes, s.rate_amount, \
                 s.currency, s.auto_confirm, s.cancellation_window_hours, s.late_cancellation_refund \
                 FROM posts p JOIN post_services s ON s.post_id = p.id \
                 WHERE p.id = $1 AND p.deleted_at IS NULL",
            )
            .bind(post.as_uuid())
            .fetch_optional(pool)
            .await
        })
        .or_unexpected()?;
        row.map(|r| {
            Ok(BookableService {
                post_id: PostId::from_uuid(r.post_id),
                provider_id: UserId::from_uuid(r.author_id),
                title: r.title,
                duration_minutes: r.duration_minutes.unwrap_or(60),
                price: Money::new(r.rate_amount, parse_currency(&r.currency)?),
                auto_confirm: r.auto_confirm,
                policy: CancellationPolicy {
                    window_hours: r.cancellation_window_hours,
                    late_refund: r.late_cancellation_refund.0,
                },
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(booking = %booking.id))]
    async fn create_booking(
        &self,
        booking: &NewBooking,
        event: NewEvent,
    ) -> Result<CreateBookingOutcome> {
        let reach = booking.starts_at - Duration::minutes(MAX_BLOCK_MINUTES);
        let outcome = with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO bookings (id, service_post_id, client_id, provider_id, status, \
                 starts_at, ends_at, blocked_until, timezone, currency, amount, platform_fee_amount, \
                 idempotency_key, note, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
                 ON CONFLICT (client_id, idempotency_key) DO NOTHING",
            )
            .bind(booking.id.as_uuid())
            .bind(booking.service_post_id.as_uuid())
            .bind(booking.client_id.as_uuid())
            .bind(booking.provider_id.as_uuid())
            .bind(DbEnum(booking.status))
            .bind(booking.starts_at)
            .bind(booking.ends_at)
            .bind(booking.blocked_until)
            .bind(&booking.timezone)
            .bind(booking.currency.as_str())
            .bind(booking.amount)
            .bind(booking.platform_fee_amount)
            .bind(&booking.idempotency_key)
            .bind(&booking.note)
            .bind(booking.created_at)
            .execute(&mut *tx)
            .await;
            let inserted = match inserted {
                Ok(done) => done.rows_affected(),
                Err(error) if is_overlap(&error) => return Ok(Created::Taken),
                Err(error) => return Err(error),
            };
            if inserted == 0 {
                return Ok(Created::Existing);
            }
            // PostgreSQL's constraint has already decided; SQLite decides here, under the
            // write lock its insert took.
            if dialect == Dialect::Sqlite {
                let overlapping: i64 = sqlx::query_scalar(OVERLAPS)
                    .bind(booking.provider_id.as_uuid())
                    .bind(booking.starts_at)
                    .bind(booking.blocked_until)
                    .bind(reach)
                    .bind(booking.id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                if overlapping > 0 {
                    return Ok(Created::Taken);
                }
            }
            if booking_mirror(booking.status) != Mirror::Unchanged {
                tx.mirror_booking(booking.id, booking.created_at).await?;
            }
            tx.append_event(&event, booking.created_at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Created::Inserted)
        })
        .or_unexpected()?;
        match outcome {
            Created::Taken => Ok(CreateBookingOutcome::Taken),
            Created::Inserted => self
                .booking(booking.id)
                .await?
                .map(CreateBookingOutcome::Created)
                .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("a new booking is missing"))),
            Created::Existing => self
                .booking_by_key(booking.client_id, &booking.idempotency_key)
                .await?
                .map(CreateBookingOutcome::Existing)
                .ok_or_else(|| {
                    Error::Unexpected(anyhow::anyhow!("the booking of a used key is missing"))
                }),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn booking(&self, id: BookingId) -> Result<Option<Booking>> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = "),
        );
        sql.uuid(id.as_uuid());
        Ok(self.load_bookings(sql).await?.pop())
    }

    #[tracing::instrument(skip(self))]
    async fn booking_by_key(&self, client: UserId, key: &str) -> Result<Option<Booking>> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.client_id = "),
        );
        sql.uuid(client.as_uuid())
            .push(" AND b.idempotency_key = ")
            .bind(Arg::Text(key.to_owned()));
        Ok(self.load_bookings(sql).await?.pop())
    }
    #[tracing::instrument(skip(self))]
    async fn bookings_of(
        &self,
        user: UserId,
        filter: BookingFilter,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Booking>, Option<Cursor>)> {
        let after: Option<(Timestamp, Uuid)> = after.map(Cursor::decode).transpose()?;
        let party = match filter.role {
            BookingRole::Client => "b.client_id",
            BookingRole::Provider => "b.provider_id",
        };
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {BOOKING_COLUMNS} FROM bookings b WHERE {party} = "),
        );
        sql.uuid(user.as_uuid());
        if let Some(status) = filter.status {
            sql.push(" AND b.status = ").enum_value(status);
        }
        if let Some(from) = filter.from {
            sql.push(" AND b.starts_at >= ").bind(Arg::At(from));
        }
        if let Some(to) = filter.to {
            sql.push(" AND b.starts_at < ").bind(Arg::At(to));
        }
        if let Some((at, id)) = after {
            sql.push(" AND (b.starts_at > ").bind(Arg::At(at));
            sql.push(" OR (b.starts_at = ").bind(Arg::At(at));
            sql.push(" AND b.id > ").uuid(id).push("))");
        }
        sql.push(" ORDER BY b.starts_at, b.id LIMIT ")
            .bind(Arg::Int(limit.probe()));
        let bookings = self.load_bookings(sql).await?;
        let page = Page::from_probe(bookings, limit, |b| (b.starts_at, b.id.as_uuid()));
        Ok((page.items, page.next_cursor))
    }

    #[tracing::instrument(skip(self))]
    async fn taken(&self, provider: UserId, from: Timestamp, to: Timestamp) -> Result<Vec<Taken>> {
        let reach = from - Duration::minutes(MAX_BLOCK_MINUTES);
        let rows: Vec<TakenRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT starts_at, COALESCE(blocked_until, ends_at) AS blocked_until FROM bookings \
                 WHERE provider_id = $1 AND status IN ('awaiting_payment', 'requested', 'confirmed') \
                 AND starts_at >= $4 AND starts_at < $3 AND COALESCE(blocked_until, ends_at) > $2 \
                 ORDER BY starts_at",
            )
            .bind(provider.as_uuid())
            .bind(from)
            .bind(to)
            .bind(reach)
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(rows
            .into_iter()
            .map(|r| Taken {
                start: r.starts_at,
                until: r.blocked_until,
            })
            .collect())
    }

    #[tracing::instrument(skip(self, event))]
    async fn change_status(
        &self,
        change: &BookingChange,
        event: NewEvent,
    ) -> Result<Option<Booking>> {
        let moved = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE bookings SET status = $2, updated_at = $4, refund_amount = $5, \
                 cancel_reason = COALESCE($6, cancel_reason) WHERE id = $1 AND status = $3",
            )
            .bind(change.booking_id.as_uuid())
            .bind(DbEnum(change.to))
            .bind(DbEnum(change.from))
            .bind(change.at)
            .bind(change.refund_amount)
            .bind(&change.cancel_reason)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if moved && booking_mirror(change.to) != Mirror::Unchanged {
                tx.mirror_booking(change.booking_id, change.at).await?;
            }
            crate::writes::commit_if_changed(tx, moved, &event, change.at).await
        })
        .or_unexpected()?;
        if !moved {
            return Ok(None);
        }
        self.booking(change.booking_id).await
    }

    #[tracing::instrument(skip(self, event))]
    async fn reschedule(
        &self,
        change: &BookingReschedule,
        event: NewEvent,
    ) -> Result<RescheduleOutcome> {
        let reach = change.starts_at - Duration::minutes(MAX_BLOCK_MINUTES);
        let outcome = with_db!(&self.db, pool, dialect => {
            let mut tx = pool.begin().await?;
            // A compare-and-set on status and start: of two concurrent moves, one applies. On
            // PostgreSQL the exclusion constraint refuses an overlap (the row no longer meets
            // its own old time); on SQLite the update holds the write lock while it looks.
            let moved = sqlx::query(
                "UPDATE bookings SET starts_at = $2, ends_at = $3, blocked_until = $4, updated_at = $5 \
                 WHERE id = $1 AND status = $6 AND starts_at = $7",
            )
            .bind(change.booking_id.as_uuid())
            .bind(change.starts_at)
            .bind(change.ends_at)
            .bind(change.blocked_until)
            .bind(change.at)
            .bind(DbEnum(change.status))
            .bind(change.from_starts_at)
            .execute(&mut *tx)
            .await;
            let moved = match moved {
                Ok(done) => done.rows_affected() == 1,
                // Two moves into overlapping times at once can each wait on the other's new
                // row in the constraint's check; PostgreSQL then aborts one (40P01), which lost
                // the time to the other exactly as an overlap would.
                Err(error) if is_overlap(&error) || is_deadlock(&error) => {
                    return Ok(Rescheduled::Taken)
                }
                Err(error) => return Err(error),
            };
            if !moved {
                return Ok(Rescheduled::Changed);
            }
            if dialect == Dialect::Sqlite {
                let provider: Uuid = sqlx::query_scalar("SELECT provider_id FROM bookings WHERE id = $1")
                    .bind(change.booking_id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                let overlapping: i64 = sqlx::query_scalar(OVERLAPS)
                    .bind(provider)
                    .bind(change.starts_at)
                    .bind(change.blocked_until)
                    .bind(reach)
                    .bind(change.booking_id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                if overlapping > 0 {
                    return Ok(Rescheduled::Taken);
                }
            }
            tx.mirror_booking(change.booking_id, change.at).await?;
            tx.append_event(&event, change.at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Rescheduled::Moved)
        })
        .or_unexpected()?;
        match outcome {
            Rescheduled::Taken => Ok(RescheduleOutcome::Taken),
            Rescheduled::Changed => Ok(RescheduleOutcome::Changed),
            Rescheduled::Moved => self
                .booking(change.booking_id)
                .await?
                .map(|b| RescheduleOutcome::Moved(Box::new(b)))
                .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("a moved booking is missing"))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn awaiting_payment_before(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<BookingId>> {
        let ids: Vec<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT id FROM bookings WHERE status = 'awaiting_payment' AND created_at < $1 \
                 ORDER BY created_at, id LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(ids.into_iter().map(BookingId::from_uuid).collect())
    }
}
