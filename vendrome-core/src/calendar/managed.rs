//! Managed events: a confirmed booking and a scheduled mentorship session are calendar events of
//! both parties, one copy each, sharing one iCalendar UID.
//!
//! The booking or session decides its events' life: the store writes them in the transaction
//! that changes the booking or session (from [`booking_copies`], [`session_copies`] and
//! [`booking_mirror`]), so they exist exactly once per party and never drift from it. A copy
//! is therefore not edited like a native event: its times, title and attendees follow what it
//! mirrors (`calendar_event_managed`), and deleting it cancels the booking or session through
//! [`ManagedEvents`], with the rules of that booking's or session's own endpoint.

use async_trait::async_trait;

use super::EventFields;
use crate::access::Caller;
use crate::enums::{BookingStatus, CalendarVisibility};
use crate::ids::{BookingId, MentorshipId, MentorshipSessionId, UserId};
use crate::time::Timestamp;
use crate::{Error, Result};

/// What a managed event mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedBy {
    Booking(BookingId),
    MentorshipSession {
        mentorship: MentorshipId,
        session: MentorshipSessionId,
    },
}

impl ManagedBy {
    /// The refusal of a change to what the booking or session decides, naming where to make it.
    pub fn refusal(self) -> Error {
        let message = match self {
            Self::Booking(id) => format!(
                "this event follows booking {id}: reschedule or cancel it at /v1/bookings/{id}"
            ),
            Self::MentorshipSession {
                mentorship,
                session,
            } => format!(
                "this event follows mentorship session {session}: reschedule or cancel it at \
                 /v1/mentorships/{mentorship}/sessions/{session}"
            ),
        };
        Error::conflict("calendar_event_managed", message)
    }
}

/// Cancels what a managed event mirrors when one of its parties deletes their copy.
#[async_trait]
pub trait ManagedEvents: Send + Sync {
    /// Cancels the booking or session `managed` as `caller` would through its own endpoint
    /// (`POST /v1/bookings/{id}/cancel`, `DELETE /v1/mentorships/{id}/sessions/{session}`): the
    /// same rules, refunds and errors (`invalid_booking_transition` when the booking's status
    /// forbids it, say). Its events are cancelled in that change's transaction.
    ///
    /// # Errors
    ///
    /// Whatever that endpoint's service answers.
    async fn cancel(&self, caller: &Caller, managed: ManagedBy) -> Result<()>;
}

/// What a booking's status means for its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mirror {
    /// Both parties have the event, at the booking's times.
    Live,
    /// Both events are cancelled.
    Cancelled,
    /// The events stay as they are (none before confirmation; kept after completion or a
    /// no-show, as a record of what took place).
    Unchanged,
}

/// A booking's events exist from its confirmation (a free booking at once when its service
/// auto-confirms, a paid one once paid and confirmed) and are cancelled with it (cancelled, or
/// declined: a booking is declined before it is confirmed, so that only matters after a
/// reschedule of a requested booking, which has no events).
pub fn booking_mirror(status: BookingStatus) -> Mirror {
    match status {
        BookingStatus::Confirmed => Mirror::Live,
        BookingStatus::Cancelled | BookingStatus::Declined => Mirror::Cancelled,
        BookingStatus::AwaitingPayment
        | BookingStatus::Requested
        | BookingStatus::Completed
        | BookingStatus::NoShow => Mirror::Unchanged,
    }
}

/// The iCalendar UID both copies of a booking's event share.
pub fn booking_uid(id: BookingId) -> String {
    format!("booking-{id}@vendrome")
}

/// The iCalendar UID both copies of a session's event share.
pub fn session_uid(id: MentorshipSessionId) -> String {
    format!("mentorship-session-{id}@vendrome")
}

/// A booking as its events need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingForCalendar {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// The client's IANA zone.
    pub timezone: String,
    pub note: Option<String>,
    pub service_title: String,
    pub provider: (UserId, String),
    pub client: (UserId, String),
}

/// A session as its events need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionForCalendar {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub topic: Option<String>,
    pub mentor: (UserId, String),
    pub mentee: (UserId, String),
}

/// One party's copy: its owner and fields.
pub type PartyCopy = (UserId, EventFields);

/// The provider's copy ("<service> with <client>") and the client's ("<service> with
/// <provider>"), both `busy`, at the booking's times.
pub fn booking_copies(b: &BookingForCalendar) -> [PartyCopy; 2] {
    let copy = |other: &str| {
        fields(
            format!("{} with {other}", b.service_title),
            b.note.clone(),
            b.starts_at,
            b.ends_at,
            &b.timezone,
        )
    };
    [
        (b.provider.0, copy(&b.client.1)),
        (b.client.0, copy(&b.provider.1)),
    ]
}

/// The mentor's copy ("Mentorship session with <mentee>") and the mentee's, the topic as the
/// description, both `busy`.
pub fn session_copies(s: &SessionForCalendar) -> [PartyCopy; 2] {
    let copy = |other: &str| {
        fields(
            format!("Mentorship session with {other}"),
            s.topic.clone(),
            s.starts_at,
            s.ends_at,
            "UTC",
        )
    };
    [
        (s.mentor.0, copy(&s.mentee.1)),
        (s.mentee.0, copy(&s.mentor.1)),
    ]
}

/// A title within the calendar's 200 characters.
fn fields(
    title: String,
    description: Option<String>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    timezone: &str,
) -> EventFields {
    EventFields {
        title: title.chars().take(200).collect(),
        description: description.map(|d| d.chars().take(5000).collect()),
        location: None,
        video_url: None,
        starts_at,
        ends_at,
        timezone: timezone.to_owned(),
        all_day: false,
        recurrence: None,
        exceptions: Vec::new(),
        series_ends_at: Some(ends_at),
        visibility: CalendarVisibility::Busy,
        attendees: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn each_party_sees_the_other_in_the_title() {
        let start = chrono::Utc.with_ymd_and_hms(2027, 3, 1, 10, 0, 0).unwrap();
        let (provider, client) = (UserId::new(), UserId::new());
        let booking = BookingForCalendar {
            starts_at: start,
            ends_at: start + chrono::Duration::hours(1),
            timezone: "Europe/London".into(),
            note: None,
            service_title: "Tax advice".into(),
            provider: (provider, "Pam".into()),
            client: (client, "Carl".into()),
        };
        let [p, c] = booking_copies(&booking);
        assert_eq!(
            (p.0, p.1.title.as_str()),
            (provider, "Tax advice with Carl")
        );
        assert_eq!((c.0, c.1.title.as_str()), (client, "Tax advice with Pam"));
        assert_eq!(p.1.visibility, CalendarVisibility::Busy);
        assert_eq!(p.1.series_ends_at, Some(booking.ends_at));
    }

    #[test]
    fn events_follow_the_booking_status() {
        use BookingStatus as S;
        let table = [
            (S::AwaitingPayment, Mirror::Unchanged),
            (S::Requested, Mirror::Unchanged),
            (S::Confirmed, Mirror::Live),
            (S::Declined, Mirror::Cancelled),
            (S::Cancelled, Mirror::Cancelled),
            (S::Completed, Mirror::Unchanged),
            (S::NoShow, Mirror::Unchanged),
        ];
        for (status, mirror) in table {
            assert_eq!(booking_mirror(status), mirror, "{status}");
        }
    }
}
