//! What a member sends to create or change an event, before the service checks it.

use vendrome_core::calendar::CalendarEvent;
use vendrome_core::enums::CalendarVisibility;
use vendrome_core::ids::UserId;
use vendrome_core::time::Timestamp;

/// A whole event as its owner describes it.
///
/// The service checks: `title` 1 to 200 characters; `description` at most 5,000, `location` 500;
/// `video_url` an http(s) URL; `ends_at` not before `starts_at` and at most 366 days after;
/// `timezone` an IANA zone (`unknown_timezone`); `recurrence` an RRULE value (`invalid_rrule`,
/// `unsupported_frequency`); `exceptions` at most 500 and only with a recurrence; `attendees` at
/// most 100 of the owner's connections (`not_a_connection`), never the owner (`self_attendee`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInput {
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub video_url: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    pub all_day: bool,
    pub recurrence: Option<String>,
    pub exceptions: Vec<Timestamp>,
    pub visibility: CalendarVisibility,
    pub attendees: Vec<UserId>,
}

/// Changes to an event: `None` keeps a field; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub video_url: Option<Option<String>>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub timezone: Option<String>,
    pub all_day: Option<bool>,
    pub recurrence: Option<Option<String>>,
    /// Replaces the exceptions.
    pub exceptions: Option<Vec<Timestamp>>,
    pub visibility: Option<CalendarVisibility>,
    /// Replaces the attendees (those still invited keep their answers).
    pub attendees: Option<Vec<UserId>>,
}

impl EventChanges {
    /// The whole event after these changes, to be checked again. Clearing the recurrence clears
    /// the exceptions unless new ones are given.
    pub fn apply_to(self, event: &CalendarEvent) -> EventInput {
        let f = event.fields.clone();
        let recurrence = self.recurrence.unwrap_or(f.recurrence);
        let exceptions = match self.exceptions {
            Some(given) => given,
            None if recurrence.is_none() => Vec::new(),
            None => f.exceptions,
        };
        EventInput {
            title: self.title.unwrap_or(f.title),
            description: self.description.unwrap_or(f.description),
            location: self.location.unwrap_or(f.location),
            video_url: self.video_url.unwrap_or(f.video_url),
            starts_at: self.starts_at.unwrap_or(f.starts_at),
            ends_at: self.ends_at.unwrap_or(f.ends_at),
            timezone: self.timezone.unwrap_or(f.timezone),
            all_day: self.all_day.unwrap_or(f.all_day),
            recurrence,
            exceptions,
            visibility: self.visibility.unwrap_or(f.visibility),
            attendees: self.attendees.unwrap_or(f.attendees),
        }
    }
}
