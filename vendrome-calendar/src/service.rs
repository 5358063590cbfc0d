//! [`CalendarService`]: the rules of native events — who may read, change and answer them, how a
//! time window expands their recurrences, and what free/busy reveals.
//!
//! Visibility: the owner and the attendees always see an event in full; a `public` event may be
//! read by any member; a `busy` one shows only as busy time to the owner's connections; a
//! `private` one not even that.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, SubsecRound as _};
use serde::{Deserialize, Serialize};
use vendrome_core::access::Caller;
use vendrome_core::bookings::{BusyTime, Taken};
use vendrome_core::calendar::managed::{ManagedBy, ManagedEvents};
use vendrome_core::calendar::{CalendarEvent, CalendarRepo, EventFields, EventScope};
use vendrome_core::enums::{CalendarAttendeeStatus, CalendarEventStatus, ConnectionStatus};
use vendrome_core::graph::GraphRepo;
use vendrome_core::ids::{BookingId, CalendarEventId, UserId};
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::validation::{web_url, ValidationErrors};
use vendrome_core::{Error, Result};

use crate::input::{EventChanges, EventInput};
use crate::recurrence::{self, parse_zone, Rule, Series};

/// The longest window one query may expand.
pub const MAX_WINDOW_DAYS: i64 = 366;
/// The most occurrences one query may expand (across all its events).
pub const OCCURRENCE_BUDGET: usize = 10_000;
/// The most attendees of one event.
pub const MAX_ATTENDEES: usize = 100;
/// The most exceptions of one series.
pub const MAX_EXCEPTIONS: usize = 500;

/// One occurrence of an event in a window (a one-off event has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub event: CalendarEvent,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// A stretch of time a member is busy, with nothing about why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyBlock {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// A checked time window `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Window {
    /// Fails with `validation_failed` on `to` (`invalid_range`, `window_too_large`) unless
    /// `from < to` and the window spans at most [`MAX_WINDOW_DAYS`].
    pub fn new(from: Timestamp, to: Timestamp) -> Result<Self> {
        if to <= from {
            return Err(
                ValidationErrors::single("to", "invalid_range", "must be after `from`").into(),
            );
        }
        if to - from > Duration::days(MAX_WINDOW_DAYS) {
            return Err(ValidationErrors::single(
                "to",
                "window_too_large",
                format!("a window spans at most {MAX_WINDOW_DAYS} days"),
            )
            .into());
        }
        Ok(Self { from, to })
    }
}

/// Native calendar operations, checked for the caller.
#[derive(Clone)]
pub struct CalendarService {
    events: Arc<dyn CalendarRepo>,
    graph: Arc<dyn GraphRepo>,
    /// Cancels the booking or session of a managed event its owner deletes; without it, such
    /// a deletion is refused (`calendar_event_managed`).
    managed: Option<Arc<dyn ManagedEvents>>,
}

impl CalendarService {
    pub fn new(events: Arc<dyn CalendarRepo>, graph: Arc<dyn GraphRepo>) -> Self {
        Self {
            events,
            graph,
            managed: None,
        }
    }

    /// The same service, deleting a booking's or session's event through `managed`.
    #[must_use]
    pub fn with_managed(mut self, managed: Arc<dyn ManagedEvents>) -> Self {
        self.managed = Some(managed);
        self
    }

    /// Creates an event owned by the caller.
    ///
    /// Errors: `validation_failed` naming every broken field (see [`EventInput`]); attendees must
    /// be existing members connected to the caller (`attendees`: `not_a_connection`).
    pub async fn create(&self, caller: &Caller, input: EventInput) -> Result<CalendarEvent> {
        let fields = self.check(caller.user_id, input).await?;
        let id = CalendarEventId::new();
        let uid = format!("{id}@vendrome");
        self.events
            .create_event(id, caller.user_id, &uid, &fields)
            .await
    }

    /// The event, if the caller may read it (owner, attendee, or a `public` event); otherwise
    /// [`Error::NotFound`].
    pub async fn get(&self, caller: &Caller, id: CalendarEventId) -> Result<CalendarEvent> {
        let event = self
            .events
            .event(id)
            .await?
            .ok_or_else(|| Error::not_found("calendar event"))?;
        let allowed = event.owner_id == caller.user_id
            || event.attendee(caller.user_id).is_some()
            || event.fields.visibility == vendrome_core::enums::CalendarVisibility::Public;
        if allowed {
            Ok(event)
        } else {
            Err(Error::not_found("calendar event"))
        }
    }

    async fn owned(&self, caller: &Caller, id: CalendarEventId) -> Result<CalendarEvent> {
        let event = self.get(caller, id).await?;
        if event.owner_id != caller.user_id {
            return Err(Error::forbidden(
                "not_event_owner",
                "only the event's owner may change or delete it",
            ));
        }
        Ok(event)
    }

    /// Changes the caller's event; fields left out keep their values.
    ///
    /// Errors: [`Error::NotFound`] when the caller cannot see it, [`Error::Forbidden`]
    /// (`not_event_owner`) when they can but do not own it, `validation_failed` as [`Self::create`].
    pub async fn update(
        &self,
        caller: &Caller,
        id: CalendarEventId,
        changes: EventChanges,
    ) -> Result<CalendarEvent> {
        let event = self.owned(caller, id).await?;
        let input = changes.apply_to(&event);
        if let Some(managed) = event.managed_by {
            if decided_elsewhere(&event.fields, &input) {
                return Err(managed.refusal());
            }
        }
        let fields = self.check(caller.user_id, input).await?;
        self.events.update_event(id, &fields).await
    }

    /// Deletes the caller's event (for its attendees too). The same errors as [`Self::update`].
    ///
    /// The event of a booking or mentorship session is not deleted by itself: deleting it
    /// cancels the booking or session as its own endpoint would (same rules, refunds and
    /// errors), which cancels both parties' events.
    pub async fn delete(&self, caller: &Caller, id: CalendarEventId) -> Result<()> {
        let event = self.owned(caller, id).await?;
        match (event.managed_by, &self.managed) {
            (None, _) => self.events.delete_event(id).await.map(drop),
            (Some(managed), Some(port)) => port.cancel(caller, managed).await,
            (Some(managed), None) => Err(managed.refusal()),
        }
    }

    /// Records the caller's answer to an invitation.
    ///
    /// Errors: [`Error::NotFound`] when the caller cannot see the event, [`Error::Forbidden`]
    /// (`not_invited`) when they are not an attendee, `validation_failed` (`response`) for
    /// `needs_action`.
    pub async fn rsvp(
        &self,
        caller: &Caller,
        id: CalendarEventId,
        response: CalendarAttendeeStatus,
    ) -> Result<CalendarEvent> {
        if response == CalendarAttendeeStatus::NeedsAction {
            return Err(ValidationErrors::single(
                "response",
                "invalid_value",
                "answer with accepted, declined or tentative",
            )
            .into());
        }
        let event = self.get(caller, id).await?;
        if event.attendee(caller.user_id).is_none()
            || !self
                .events
                .set_response(id, caller.user_id, response)
                .await?
        {
            return Err(Error::forbidden(
                "not_invited",
                "only an invited member may answer this event",
            ));
        }
        self.get(caller, id).await
    }

    /// The caller's calendar in `window`: occurrences of the events they own or are invited to,
    /// by start then event id.
    ///
    /// Errors: `validation_failed` (`to`: `too_many_occurrences`) past [`OCCURRENCE_BUDGET`];
    /// an invalid cursor (`cursor`).
    pub async fn occurrences(
        &self,
        caller: &Caller,
        window: Window,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Occurrence>> {
        let after: Option<(Timestamp, CalendarEventId)> = after
            .map(|c| c.decode())
            .transpose()
            .map_err(|e| rename(e, "cursor"))?;
        let events = self
            .events
            .events_between(caller.user_id, EventScope::Calendar, window.from, window.to)
            .await?;
        let mut found = expand(&events, window)?;
        found.sort_by_key(|(start, _, i)| (*start, events[*i].id));
        let rows: Vec<_> = found
            .into_iter()
            .filter(|(start, _, i)| after.is_none_or(|a| (*start, events[*i].id) > a))
            .take(limit.probe() as usize)
            .map(|(starts_at, ends_at, i)| Occurrence {
                event: events[i].clone(),
                starts_at,
                ends_at,
            })
            .collect();
        Ok(Page::from_probe(rows, limit, |o| (o.starts_at, o.event.id)))
    }

    /// When `user` is busy in `window`, merged into blocks, as the caller may see it: the caller
    /// themselves or a connection.
    ///
    /// Errors: [`Error::NotFound`] (`user`) for no such member, [`Error::Forbidden`]
    /// (`not_connected`) for anyone else, `validation_failed` as [`Self::occurrences`].
    pub async fn free_busy(
        &self,
        caller: &Caller,
        user: UserId,
        window: Window,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<BusyBlock>> {
        if self.graph.user_summary(user).await?.is_none() {
            return Err(Error::not_found("user"));
        }
        if user != caller.user_id && !self.connected(caller.user_id, user).await? {
            return Err(Error::forbidden(
                "not_connected",
                "only a member's connections see when they are busy",
            ));
        }
        let after: Option<Timestamp> = after
            .map(|c| c.decode())
            .transpose()
            .map_err(|e| rename(e, "cursor"))?;
        let blocks = self.busy_blocks(user, window).await?;
        let rows = blocks
            .into_iter()
            .filter(|b| after.is_none_or(|a| b.starts_at > a))
            .take(limit.probe() as usize)
            .collect();
        Ok(Page::from_probe(rows, limit, |b| b.starts_at))
    }

    /// `user`'s busy time in `window` (the events of [`EventScope::Busy`], expanded), merged.
    async fn busy_blocks(&self, user: UserId, window: Window) -> Result<Vec<BusyBlock>> {
        let events = self
            .events
            .events_between(user, EventScope::Busy, window.from, window.to)
            .await?;
        Ok(merge(expand(&events, window)?))
    }

    async fn connected(&self, a: UserId, b: UserId) -> Result<bool> {
        Ok(self
            .graph
            .open_connection(a, b)
            .await?
            .is_some_and(|c| c.status == ConnectionStatus::Accepted))
    }

    /// Checks an event's fields for its owner, computing where its series ends: what
    /// [`Self::create`] stores (also for events imported by UID, such as seed fixtures).
    ///
    /// Errors: `validation_failed` naming every broken field.
    pub async fn check(&self, owner: UserId, input: EventInput) -> Result<EventFields> {
        let mut errors = ValidationErrors::new();
        let title = input.title.trim().to_owned();
        if title.is_empty() || input.title.chars().count() > 200 {
            errors.add("title", "invalid_length", "must be 1 to 200 characters");
        }
        let description = text(&mut errors, "description", input.description, 5000);
        let location = text(&mut errors, "location", input.location, 500);
        let video_url = text(&mut errors, "video_url", input.video_url, 2048);
        if let Some(url) = &video_url {
            errors.check("video_url", web_url(url));
        }
        let starts_at = input.starts_at.trunc_subsecs(6);
        let ends_at = input.ends_at.trunc_subsecs(6);
        let duration = ends_at - starts_at;
        if duration < Duration::zero() {
            errors.add("ends_at", "invalid_range", "must not be before `starts_at`");
        } else if duration > Duration::days(MAX_WINDOW_DAYS) {
            errors.add("ends_at", "too_long", "an event lasts at most 366 days");
        }
        let zone = errors.check("timezone", parse_zone(input.timezone.trim()));
        let rule = input
            .recurrence
            .as_deref()
            .and_then(|raw| errors.check("recurrence", Rule::parse(raw)));
        let mut exceptions: Vec<Timestamp> = input
            .exceptions
            .iter()
            .map(|t| t.trunc_subsecs(6))
            .collect();
        exceptions.sort();
        exceptions.dedup();
        if exceptions.len() > MAX_EXCEPTIONS {
            errors.add(
                "exceptions",
                "too_many",
                format!("at most {MAX_EXCEPTIONS}"),
            );
        } else if !exceptions.is_empty() && input.recurrence.is_none() {
            errors.add(
                "exceptions",
                "not_recurring",
                "only a recurring event has exceptions",
            );
        }
        let mut attendees = Vec::new();
        for user in input.attendees {
            if !attendees.contains(&user) {
                attendees.push(user);
            }
        }
        if attendees.len() > MAX_ATTENDEES {
            errors.add("attendees", "too_many", format!("at most {MAX_ATTENDEES}"));
        } else if attendees.contains(&owner) {
            errors.add("attendees", "self_attendee", "the owner is not an attendee");
        } else {
            for user in &attendees {
                if !self.connected(owner, *user).await? {
                    errors.add(
                        "attendees",
                        "not_a_connection",
                        format!("{user} is not one of your connections"),
                    );
                }
            }
        }
        let mut series_ends_at = Some(ends_at);
        if let (Some(rule), Some(zone), true) = (&rule, zone, errors.is_empty()) {
            match Series::new(rule, zone, starts_at, duration, &exceptions) {
                Ok(series) => series_ends_at = series.ends_at(rule),
                Err(e) => {
                    errors.check::<()>("recurrence", Err(e));
                }
            }
        }
        errors.into_result()?;
        Ok(EventFields {
            title,
            description,
            location,
            video_url,
            starts_at,
            ends_at,
            timezone: input.timezone.trim().to_owned(),
            all_day: input.all_day,
            recurrence: rule.map(|r| r.as_string()),
            exceptions,
            series_ends_at,
            visibility: input.visibility,
            attendees,
        })
    }
}

/// An optional text field, trimmed (empty is none), at most `max` characters.
fn text(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<String>,
    max: usize,
) -> Option<String> {
    let raw = value?;
    if raw.chars().count() > max {
        errors.add(field, "too_long", format!("at most {max} characters"));
    }
    let value = raw.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

pub(crate) fn rename(errors: ValidationErrors, field: &str) -> Error {
    let mut renamed = ValidationErrors::new();
    renamed.check::<()>(field, Err(errors));
    renamed.into()
}

/// Bookings leave a provider's busy time free of slots: every event of their calendar that is
/// not cancelled and that they did not decline, `private` ones included (a slot only shows that
/// the time is not free, never why). Events synced from a connected calendar are stored as their
/// events, so they count too.
#[async_trait]
impl BusyTime for CalendarService {
    async fn busy(&self, provider: UserId, from: Timestamp, to: Timestamp) -> Result<Vec<Taken>> {
        self.busy_of(provider, from, to, None).await
    }

    /// A booking's own events (the provider's copy, see `calendar::managed`) never keep it
    /// from moving; the rest of the calendar counts as in [`BusyTime::busy`].
    async fn busy_except(
        &self,
        provider: UserId,
        from: Timestamp,
        to: Timestamp,
        except: BookingId,
    ) -> Result<Vec<Taken>> {
        self.busy_of(provider, from, to, Some(except)).await
    }
}

impl CalendarService {
    async fn busy_of(
        &self,
        provider: UserId,
        from: Timestamp,
        to: Timestamp,
        except: Option<BookingId>,
    ) -> Result<Vec<Taken>> {
        let mut events = self
            .events
            .events_between(provider, EventScope::Calendar, from, to)
            .await?;
        events.retain(|e| {
            e.attendee(provider)
                .is_none_or(|a| a.response != CalendarAttendeeStatus::Declined)
                && (except.is_none() || e.managed_by != except.map(ManagedBy::Booking))
        });
        // The booking horizon may exceed a member's window limit: no `Window::new` check here;
        // the occurrence budget still bounds the work.
        let blocks = merge(expand(&events, Window { from, to })?);
        Ok(blocks
            .into_iter()
            .map(|b| Taken {
                start: b.starts_at,
                until: b.ends_at,
            })
            .collect())
    }
}

/// Whether `input` changes what a managed event's booking or session decides: its title, times,
/// zone, recurrence or attendees (description, location, video link and visibility are the
/// owner's).
fn decided_elsewhere(current: &EventFields, input: &EventInput) -> bool {
    input.title.trim() != current.title
        || input.starts_at != current.starts_at
        || input.ends_at != current.ends_at
        || input.timezone.trim() != current.timezone
        || input.all_day != current.all_day
        || input.recurrence != current.recurrence
        || input.exceptions != current.exceptions
        || input.attendees != current.attendees
}

/// Every occurrence of `events` in `window` as `(start, end, index into events)`, skipping
/// cancelled events.
fn expand(events: &[CalendarEvent], window: Window) -> Result<Vec<(Timestamp, Timestamp, usize)>> {
    let too_many = || {
        Error::from(ValidationErrors::single(
            "to",
            "too_many_occurrences",
            format!(
                "the window holds more than {OCCURRENCE_BUDGET} occurrences; ask for a shorter one"
            ),
        ))
    };
    let mut found = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if event.status == CalendarEventStatus::Cancelled {
            continue;
        }
        let f = &event.fields;
        let spans = match (&f.recurrence, parse_zone(&f.timezone)) {
            (Some(raw), Ok(zone)) => {
                let rule = Rule::parse(raw).map_err(stored(event))?;
                let series = Series::new(
                    &rule,
                    zone,
                    f.starts_at,
                    f.ends_at - f.starts_at,
                    &f.exceptions,
                )
                .map_err(stored(event))?;
                let budget = OCCURRENCE_BUDGET - found.len();
                series
                    .between(window.from, window.to, budget)
                    .ok_or_else(too_many)?
            }
            (Some(_), Err(e)) => return Err(stored(event)(e)),
            (None, _) => recurrence::single(f.starts_at, f.ends_at, window.from, window.to)
                .into_iter()
                .collect(),
        };
        if found.len() + spans.len() > OCCURRENCE_BUDGET {
            return Err(too_many());
        }
        found.extend(spans.into_iter().map(|(s, e)| (s, e, i)));
    }
    Ok(found)
}

fn stored(event: &CalendarEvent) -> impl Fn(ValidationErrors) -> Error + '_ {
    move |e| {
        Error::Unexpected(anyhow::anyhow!(
            "stored calendar event {} no longer expands: {e}",
            event.id
        ))
    }
}

/// Sorted, overlapping or touching spans merged into blocks.
fn merge(mut spans: Vec<(Timestamp, Timestamp, usize)>) -> Vec<BusyBlock> {
    spans.sort();
    let mut blocks: Vec<BusyBlock> = Vec::new();
    for (starts_at, ends_at, _) in spans {
        match blocks.last_mut() {
            Some(last) if starts_at <= last.ends_at => last.ends_at = last.ends_at.max(ends_at),
            _ => blocks.push(BusyBlock { starts_at, ends_at }),
        }
    }
    blocks
}
