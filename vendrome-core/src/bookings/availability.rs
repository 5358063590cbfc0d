//! A provider's availability (weekly windows in their IANA zone, exceptions by date, buffer,
//! minimum notice, how far ahead) and the pure computation of the bookable slots it leaves.
//!
//! Windows are local wall-clock times; each day's window is placed on the timeline through the
//! zone's rules for that date, so a 09:00 window is 09:00 local on both sides of a daylight-saving
//! change. A window that a change cuts into (local times that do not exist, or happen twice)
//! covers the real time between its start and its end: the local start is taken at its earliest
//! instant (or, when it falls in a gap, at the gap's end), the end at its latest.

use chrono::{Datelike as _, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone as _, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;
use crate::validation::ValidationErrors;

/// The longest a booking may hold the provider's time, buffer included: bounds every overlap
/// search to a window of this width before the asked instant.
pub const MAX_BLOCK_MINUTES: i64 = 2 * 24 * 60;

/// Bounds of the numeric settings.
pub const MAX_BUFFER_MINUTES: i32 = 24 * 60;
pub const MAX_NOTICE_MINUTES: i32 = 30 * 24 * 60;
pub const MAX_DAYS_AHEAD: i32 = 730;
/// How many weekly windows and exceptions one availability may hold.
pub const MAX_WINDOWS: usize = 70;
pub const MAX_EXCEPTIONS: usize = 400;

/// One weekly window: on `day` (`mon` … `sun`), from `start` to `end` local time (`HH:MM`,
/// `end` after `start`; `24:00` is the end of the day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WeeklyWindow {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(mon|tue|wed|thu|fri|sat|sun)$")
    )]
    pub day: String,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")
    )]
    pub start: String,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
    )]
    pub end: String,
}

/// A date that differs from the week: closed all day, or open only from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AvailabilityException {
    pub date: NaiveDate,
    #[serde(default)]
    pub closed: bool,
    pub start: Option<String>,
    pub end: Option<String>,
}

/// A provider's availability, as they set it and read it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// An IANA zone name (`Europe/London`).
    pub timezone: String,
    pub weekly: Vec<WeeklyWindow>,
    pub exceptions: Vec<AvailabilityException>,
    /// Free time kept after each booking.
    pub buffer_minutes: i32,
    /// How soon before its start a slot may still be booked.
    pub min_notice_minutes: i32,
    /// How many days ahead slots are offered.
    pub max_days_ahead: i32,
}

/// A window as minutes since local midnight, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Minutes(u32, u32);

/// An [`Availability`] checked and parsed: what the slot computation reads.
#[derive(Debug, Clone)]
pub struct Rules {
    pub zone: Tz,
    weekly: [Vec<Minutes>; 7],
    exceptions: std::collections::BTreeMap<NaiveDate, Vec<Minutes>>,
    pub buffer: Duration,
    pub min_notice: Duration,
    pub max_days_ahead: i64,
}

fn weekday(raw: &str) -> Option<Weekday> {
    Some(match raw {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// Minutes since midnight of `HH:MM` (`24:00` only when `end`).
fn minutes(raw: &str, end: bool) -> Option<u32> {
    if end && raw == "24:00" {
        return Some(24 * 60);
    }
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn window(errors: &mut ValidationErrors, field: &str, start: &str, end: &str) -> Option<Minutes> {
    match (minutes(start, false), minutes(end, true)) {
        (Some(s), Some(e)) if e > s => Some(Minutes(s, e)),
        (Some(_), Some(_)) => {
            errors.add(field, "out_of_range", "a window ends after it starts");
            None
        }
        _ => {
            errors.add(field, "invalid", "times are HH:MM (24:00 may end a day)");
            None
        }
    }
}

fn in_range(errors: &mut ValidationErrors, field: &str, value: i32, max: i32) {
    if !(0..=max).contains(&value) {
        errors.add(
            field,
            "out_of_range",
            format!("must be between 0 and {max}"),
        );
    }
}

impl Availability {
    /// Checks every field and parses the windows.
    ///
    /// # Errors
    ///
    /// [`ValidationErrors`] naming each field that breaks a rule: an unknown zone, a malformed
    /// or empty window, an exception date given twice, a setting out of range.
    pub fn rules(&self) -> Result<Rules, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let zone = self.timezone.parse::<Tz>().ok();
        if zone.is_none() {
            errors.add("timezone", "invalid", "is not an IANA time zone name");
        }
        if self.weekly.len() > MAX_WINDOWS {
            errors.add(
                "weekly",
                "out_of_range",
                format!("at most {MAX_WINDOWS} windows"),
            );
        }
        if self.exceptions.len() > MAX_EXCEPTIONS {
            errors.add(
                "exceptions",
                "out_of_range",
                format!("at most {MAX_EXCEPTIONS} dates"),
            );
        }
        let mut weekly: [Vec<Minutes>; 7] = Default::default();
        for (n, w) in self.weekly.iter().enumerate() {
            let day = weekday(&w.day);
            if day.is_none() {
                errors.add(
                    &format!("weekly.{n}.day"),
                    "invalid",
                    "is mon, tue, … or sun",
                );
            }
            let span = window(&mut errors, &format!("weekly.{n}"), &w.start, &w.end);
            if let (Some(day), Some(span)) = (day, span) {
                weekly[day.num_days_from_monday() as usize].push(span);
            }
        }
        let mut exceptions = std::collections::BTreeMap::new();
        for (n, x) in self.exceptions.iter().enumerate() {
            let field = format!("exceptions.{n}");
            let spans = match (x.closed, &x.start, &x.end) {
                (true, None, None) => Some(Vec::new()),
                (false, Some(s), Some(e)) => window(&mut errors, &field, s, e).map(|w| vec![w]),
                _ => {
                    errors.add(
                        &field,
                        "invalid",
                        "either `closed: true` or `start` and `end`",
                    );
                    None
                }
            };
            if let Some(spans) = spans {
                if exceptions.insert(x.date, spans).is_some() {
                    errors.add(
                        &format!("{field}.date"),
                        "duplicate",
                        "each date appears once",
                    );
                }
            }
        }
        in_range(
            &mut errors,
            "buffer_minutes",
            self.buffer_minutes,
            MAX_BUFFER_MINUTES,
        );
        in_range(
            &mut errors,
            "min_notice_minutes",
            self.min_notice_minutes,
            MAX_NOTICE_MINUTES,
        );
        in_range(
            &mut errors,
            "max_days_ahead",
            self.max_days_ahead,
            MAX_DAYS_AHEAD,
        );
        errors.into_result()?;
        for spans in &mut weekly {
            spans.sort_by_key(|m| m.0);
        }
        Ok(Rules {
            zone: zone.unwrap_or(Tz::UTC),
            weekly,
            exceptions,
            buffer: Duration::minutes(i64::from(self.buffer_minutes)),
            min_notice: Duration::minutes(i64::from(self.min_notice_minutes)),
            max_days_ahead: i64::from(self.max_days_ahead),
        })
    }
}

/// A time already taken: from `start` to `until` (a booking's end plus the buffer it kept, or a
/// busy interval of the provider's calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub start: Timestamp,
    pub until: Timestamp,
}

/// One bookable slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// The instant of local `date` + `minute` in `zone`: the earliest when it happens twice (or
/// the latest, for an `end`), the end of the gap when it does not happen.
fn instant(zone: Tz, date: NaiveDate, minute: u32, end: bool) -> Option<Timestamp> {
    let (date, minute) = if minute >= 24 * 60 {
        (date.succ_opt()?, minute - 24 * 60)
    } else {
        (date, minute)
    };
    let local = date.and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)?);
    let resolved = match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(early, late) => {
            if end {
                late
            } else {
                early
            }
        }
        // In a gap (clocks jumped forward): the first local time after it. Gaps are at most a
        // few hours, walked in quarter hours.
        LocalResult::None => (1..=16).find_map(|q| {
            zone.from_local_datetime(&(local + Duration::minutes(15 * q)))
                .earliest()
        })?,
    };
    Some(resolved.with_timezone(&chrono::Utc))
}

impl Rules {
    /// The windows of local `date`: its exception, or its weekday's windows.
    fn windows(&self, date: NaiveDate) -> &[Minutes] {
        match self.exceptions.get(&date) {
            Some(spans) => spans,
            None => &self.weekly[date.weekday().num_days_from_monday() as usize],
        }
    }

    /// The earliest and the latest start a booking may have at `now`.
    pub fn bookable(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        (
            now + self.min_notice,
            now + Duration::days(self.max_days_ahead),
        )
    }

    /// The slots of `duration` that start in `[from, to)`, within the windows, the notice and
    /// the horizon at `now`, and whose time plus the buffer after it overlaps nothing `taken`.
    /// Slots start at each window's start and follow each other every `duration`. Sorted.
    pub fn slots(
        &self,
        duration: Duration,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        taken: &[Taken],
    ) -> Vec<Slot> {
        let (earliest, latest) = self.bookable(now);
        let from = from.max(earliest);
        let to = to.min(latest + Duration::microseconds(1));
        if from >= to || duration <= Duration::zero() {
            return Vec::new();
        }
        let mut taken: Vec<Taken> = taken.to_vec();
        taken.sort_by_key(|t| t.start);
        let first = from.with_timezone(&self.zone).date_naive().pred_opt();
        let last = to.with_timezone(&self.zone).date_naive();
        let mut slots = Vec::new();
        let Some(mut date) = first else {
            return slots;
        };
        while date <= last {
            for w in self.windows(date) {
                let (Some(open), Some(close)) = (
                    instant(self.zone, date, w.0, false),
                    instant(self.zone, date, w.1, true),
                ) else {
                    continue;
                };
                let mut start = open;
                while start + duration <= close && start < to {
                    if start >= from && is_free(&taken, start, start + duration + self.buffer) {
                        slots.push(Slot {
                            starts_at: start,
                            ends_at: start + duration,
                        });
                    }
                    start += duration;
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        slots.sort_by_key(|s| s.starts_at);
        slots.dedup();
        slots
    }
}

/// Whether `[start, until)` overlaps nothing in `taken` (sorted by start).
fn is_free(taken: &[Taken], start: Timestamp, until: Timestamp) -> bool {
    // Only intervals starting before `until` can overlap.
    let end = taken.partition_point(|t| t.start < until);
    !taken[..end].iter().any(|t| t.until > start)
}
