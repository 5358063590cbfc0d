//! [`IcsService`]: a member's calendar in and out as iCalendar — the secret feed URL (issued,
//! rotated, revoked, read) and `.ics` imports, idempotent per UID.

use std::sync::Arc;

use chrono::{TimeZone as _, Utc};
use vendrome_core::access::Caller;
use vendrome_core::calendar::feed::{CalendarFeedRepo, FeedToken};
use vendrome_core::calendar::{CalendarRepo, EventScope, Upserted};
use vendrome_core::enums::CalendarVisibility;
use vendrome_core::time;
use vendrome_core::validation::ValidationErrors;
use vendrome_core::{Error, Result};

use crate::ics::{self, ImportedEvent};
use crate::{CalendarService, EventInput};

/// The largest `.ics` file one import takes.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024;
/// The most events one import takes.
pub const MAX_IMPORT_EVENTS: usize = 1000;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// Events whose UID was new to the member.
    pub created: usize,
    /// Events whose UID the member had already (their fields replaced).
    pub updated: usize,
    /// Events whose UID is that of the member's event of a booking or mentorship session: left
    /// as it is (only the booking or session changes it).
    pub skipped: usize,
}

/// Feeds and imports, checked for the caller.
#[derive(Clone)]
pub struct IcsService {
    calendar: CalendarService,
    events: Arc<dyn CalendarRepo>,
    feeds: Arc<dyn CalendarFeedRepo>,
}

impl IcsService {
    pub fn new(
        calendar: CalendarService,
        events: Arc<dyn CalendarRepo>,
        feeds: Arc<dyn CalendarFeedRepo>,
    ) -> Self {
        Self {
            calendar,
            events,
            feeds,
        }
    }

    /// A new feed token for the caller; the one they had stops working. The token is shown
    /// only here: the store keeps its hash.
    pub async fn issue_feed_token(&self, caller: &Caller) -> Result<FeedToken> {
        let token = FeedToken::generate();
        self.feeds
            .set_feed_token(caller.user_id, &token.hash(), time::now())
            .await?;
        Ok(token)
    }

    /// Revokes the caller's feed token; [`Error::NotFound`] (`feed token`) when they had none.
    pub async fn revoke_feed_token(&self, caller: &Caller) -> Result<()> {
        if self.feeds.revoke_feed_token(caller.user_id).await? {
            Ok(())
        } else {
            Err(Error::not_found("feed token"))
        }
    }

    /// The calendar of the member whose feed token `raw` is, as an iCalendar file: every event
    /// they own or are invited to, recurrences as RRULE and EXDATE.
    ///
    /// Errors: [`Error::NotFound`] (`calendar feed`) for a malformed, unknown or revoked token.
    pub async fn feed(&self, raw: &str) -> Result<String> {
        let not_found = || Error::not_found("calendar feed");
        let token = FeedToken::parse(raw).ok_or_else(not_found)?;
        let owner = self
            .feeds
            .feed_owner(&token.hash())
            .await?
            .ok_or_else(not_found)?;
        let (from, to) = (
            Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap(),
        );
        let events = self
            .events
            .events_between(owner, EventScope::Calendar, from, to)
            .await?;
        Ok(ics::write_calendar("Vendrome", &events, time::now()))
    }

    /// Imports an iCalendar file into the caller's calendar: each `VEVENT` becomes their event,
    /// or replaces the one they imported (or exported) with the same UID, so importing a file
    /// twice changes nothing but sequences. Nothing is written unless the whole file is valid.
    /// `CLASS:PUBLIC` imports as `public`, `PRIVATE` as `private`, anything else as `busy`. An
    /// event with the UID of the member's event of a booking or mentorship session (their own
    /// feed carries those) is skipped: only the booking or session changes it.
    ///
    /// Errors: `validation_failed` on `ics`: `too_large` past [`MAX_IMPORT_BYTES`] or
    /// [`MAX_IMPORT_EVENTS`], `invalid_ics` for a file that does not read (the message starts
    /// with `line N:`), `invalid_event` for an event the calendar refuses (`line N: field: …`,
    /// N the line of its `BEGIN:VEVENT`).
    pub async fn import(&self, caller: &Caller, text: &str) -> Result<ImportReport> {
        let invalid =
            |code, message: String| Error::from(ValidationErrors::single("ics", code, message));
        if text.len() > MAX_IMPORT_BYTES {
            return Err(invalid(
                "too_large",
                format!("an import holds at most {MAX_IMPORT_BYTES} bytes"),
            ));
        }
        let imported =
            ics::read_calendar(text).map_err(|e| invalid("invalid_ics", e.to_string()))?;
        if imported.len() > MAX_IMPORT_EVENTS {
            return Err(invalid(
                "too_large",
                format!("an import holds at most {MAX_IMPORT_EVENTS} events"),
            ));
        }
        let mut checked = Vec::with_capacity(imported.len());
        let mut errors = ValidationErrors::new();
        for event in imported {
            let line = event.line;
            let uid = event.uid.clone();
            match self.calendar.check(caller.user_id, input(event)).await {
                Ok(fields) => checked.push((uid, fields)),
                Err(Error::Invalid(broken)) => {
                    for (field, issues) in broken.fields() {
                        for issue in issues {
                            errors.add(
                                "ics",
                                "invalid_event",
                                format!("line {line}: {field}: {}", issue.message),
                            );
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
        errors.into_result()?;
        let mut report = ImportReport::default();
        for (uid, fields) in checked {
            match self
                .events
                .upsert_by_uid(caller.user_id, &uid, &fields)
                .await?
            {
                Upserted::Created(_) => report.created += 1,
                Upserted::Updated(_) => report.updated += 1,
                Upserted::Managed(_) => report.skipped += 1,
            }
        }
        Ok(report)
    }
}

/// An imported event as a member's input (no attendees: a file's are addresses, not members).
pub(crate) fn input(event: ImportedEvent) -> EventInput {
    let visibility = match event.class.as_deref() {
        Some("PUBLIC") => CalendarVisibility::Public,
        Some("PRIVATE") => CalendarVisibility::Private,
        _ => CalendarVisibility::Busy,
    };
    EventInput {
        title: event.title,
        description: event.description,
        location: event.location,
        video_url: event.url,
        starts_at: event.starts_at,
        ends_at: event.ends_at,
        timezone: event.timezone,
        all_day: event.all_day,
        recurrence: event.recurrence,
        exceptions: event.exceptions,
        visibility,
        attendees: Vec::new(),
    }
}
