//! The calendar's entities and its storage port.
//!
//! A native event belongs to its owner; a recurring event is one row (its RRULE, expanded in its
//! time zone when read, minus its exceptions). Members invited to an event (attendees) see it in
//! their own calendar and answer it (RSVP). The rules (who may read, change or answer an event,
//! how recurrence expands) live in the `vendrome-calendar` crate; this module holds what the
//! store needs to know. `feed` holds the secret feed URL's token and its port; `integrations`
//! the connections to external calendars, their sealed credentials and their port; `sync_jobs`
//! the sync work queue (leases, backoff, dead letters) and its port; `managed` the events of
//! bookings and mentorship sessions, which follow them.

pub mod feed;
pub mod integrations;
pub mod managed;
pub mod sync_jobs;

use async_trait::async_trait;

use crate::enums::{CalendarAttendeeStatus, CalendarEventStatus, CalendarVisibility};
use crate::ids::{CalendarEventId, UserId};
use crate::time::Timestamp;
use crate::Result;

/// A member invited to an event, and their answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub user_id: UserId,
    pub response: CalendarAttendeeStatus,
}

/// The fields of an event its owner sets (on create, and in full on every change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFields {
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub video_url: Option<String>,
    /// The first occurrence's start and end.
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// IANA zone name (`Europe/London`): recurrence repeats the local time of `starts_at` here.
    pub timezone: String,
    pub all_day: bool,
    /// An RRULE value (`FREQ=WEEKLY;BYDAY=MO`), `None` for a one-off event.
    pub recurrence: Option<String>,
    /// Start instants of occurrences left out of the series (EXDATE).
    pub exceptions: Vec<Timestamp>,
    /// When the last occurrence ends: `ends_at` for a one-off event, `None` for an endless series.
    pub series_ends_at: Option<Timestamp>,
    pub visibility: CalendarVisibility,
    /// Invited members (never the owner), in the order given.
    pub attendees: Vec<UserId>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    pub id: CalendarEventId,
    pub owner_id: UserId,
    pub fields: EventFields,
    pub status: CalendarEventStatus,
    /// iCalendar UID, stable for the event's life.
    pub ical_uid: String,
    /// iCalendar SEQUENCE: 0 when created, one more with every change by the owner.
    pub sequence: i32,
    /// Attendees with their answers, in the order they were invited.
    pub attendees: Vec<Attendee>,
    /// The booking or mentorship session this event is a party's copy of; `None` for a native
    /// event. See [`managed`].
    pub managed_by: Option<managed::ManagedBy>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl CalendarEvent {
    /// The attendee row of `user`, if they are invited.
    pub fn attendee(&self, user: UserId) -> Option<&Attendee> {
        self.attendees.iter().find(|a| a.user_id == user)
    }
}

/// What [`CalendarRepo::upsert_by_uid`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    /// A new event.
    Created(CalendarEvent),
    /// The member's event with that UID, its fields replaced.
    Updated(CalendarEvent),
    /// The member's event with that UID follows a booking or mentorship session: left as it
    /// is (its id).
    Managed(CalendarEventId),
}

/// Which events of a member a window query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventScope {
    /// Their calendar: events they own, and events they are invited to (whatever their answer).
    Calendar,
    /// What makes them busy, as their connections may see it: events they own, and events they
    /// are invited to and did not decline, neither `private` nor cancelled.
    Busy,
}

/// Storage of native events and their attendees.
#[async_trait]
pub trait CalendarRepo: Send + Sync {
    /// Stores a new event (`sequence` 0, `confirmed`) with its attendees (`needs_action`; each
    /// must be an existing member, which the caller checks).
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn create_event(
        &self,
        id: CalendarEventId,
        owner: UserId,
        ical_uid: &str,
        fields: &EventFields,
    ) -> Result<CalendarEvent>;

    /// The event, `None` when there is none or it was deleted.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn event(&self, id: CalendarEventId) -> Result<Option<CalendarEvent>>;

    /// Replaces the event's fields and bumps its `sequence`. Attendees still invited keep their
    /// answers, new ones start at `needs_action`, the others are removed.
    ///
    /// MUST return [`Error::NotFound`](crate::Error::NotFound) (`calendar event`) when the event
    /// does not exist or was deleted.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn update_event(
        &self,
        id: CalendarEventId,
        fields: &EventFields,
    ) -> Result<CalendarEvent>;

    /// Deletes the event (for its attendees too); `false` when it was already gone.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn delete_event(&self, id: CalendarEventId) -> Result<bool>;

    /// Records `user`'s answer; `false` when they are not invited to a live event.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn set_response(
        &self,
        id: CalendarEventId,
        user: UserId,
        response: CalendarAttendeeStatus,
    ) -> Result<bool>;

    /// `user`'s events in `scope` whose series may overlap `[from, to)`: those starting before
    /// `to` whose series ends after `from` (or never). Occurrences are not expanded here.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn events_between(
        &self,
        user: UserId,
        scope: EventScope,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CalendarEvent>>;

    /// Imports an event by its iCalendar UID: creates `owner`'s event with `ical_uid` (`sequence`
    /// 0, `confirmed`), or, when they have one with that UID already (even a deleted one, which
    /// comes back), replaces its fields and bumps its `sequence` as [`Self::update_event`] does.
    /// Concurrent imports of one UID make one event.
    ///
    /// MUST leave an event that follows a booking or mentorship session ([`managed`]) as it is,
    /// deleted or not, and answer [`Upserted::Managed`]: only its booking or session changes it.
    ///
    /// # Errors
    ///
    /// Only [`Error::Unexpected`](crate::Error::Unexpected), when the storage fails.
    async fn upsert_by_uid(
        &self,
        owner: UserId,
        ical_uid: &str,
        fields: &EventFields,
    ) -> Result<Upserted>;
}
