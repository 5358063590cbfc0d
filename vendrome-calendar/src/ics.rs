//! iCalendar (RFC 5545) text, written and read with the `icalendar` crate: a member's feed
//! written out, and `.ics` files read in.
//!
//! Written events carry `DTSTART;TZID=<IANA zone>` with the local time, so that a client expands
//! `RRULE` in the event's zone as we do (IANA names as TZID, without `VTIMEZONE` components, as
//! the large calendar providers publish and accept them). `EXDATE`s are written in UTC. The
//! crate folds, escapes and unfolds; what it leaves to us is where a broken file breaks: every
//! error names the physical line of the file it is on.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use icalendar::parser::{self, Component as Parsed, Property as ParsedProperty};
use icalendar::{Calendar, CalendarDateTime, Class, Component as _, Event, EventLike as _};
use vendrome_core::calendar::CalendarEvent;
use vendrome_core::enums::{CalendarEventStatus, CalendarVisibility};
use vendrome_core::time::Timestamp;

fn utc_stamp(t: Timestamp) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A calendar of `events`, named `name`.
pub fn write_calendar(name: &str, events: &[CalendarEvent], now: Timestamp) -> String {
    let mut calendar = Calendar::new();
    calendar.name(name);
    for event in events {
        calendar.push(write_event(event, now));
    }
    calendar.to_string()
}

fn write_event(event: &CalendarEvent, now: Timestamp) -> Event {
    let f = &event.fields;
    let mut out = Event::new();
    out.uid(&event.ical_uid)
        .timestamp(now)
        .sequence(u32::try_from(event.sequence).unwrap_or(0))
        .summary(&f.title)
        .last_modified(event.updated_at);
    match f.timezone.parse::<chrono_tz::Tz>() {
        Ok(zone) if f.all_day => {
            let date = |t: Timestamp| t.with_timezone(&zone).date_naive();
            out.starts(date(f.starts_at)).ends(date(f.ends_at));
        }
        Ok(zone) => {
            let local = |t: Timestamp| CalendarDateTime::WithTimezone {
                date_time: t.with_timezone(&zone).naive_local(),
                tzid: f.timezone.clone(),
            };
            out.starts(local(f.starts_at)).ends(local(f.ends_at));
        }
        Err(_) => {
            out.starts(f.starts_at).ends(f.ends_at);
        }
    }
    if let Some(rule) = &f.recurrence {
        out.add_property("RRULE", rule);
    }
    if !f.exceptions.is_empty() {
        let list: Vec<_> = f.exceptions.iter().map(|t| utc_stamp(*t)).collect();
        out.add_property("EXDATE", list.join(","));
    }
    if let Some(text) = &f.description {
        out.description(text);
    }
    if let Some(text) = &f.location {
        out.location(text);
    }
    if let Some(url) = &f.video_url {
        out.url(url);
    }
    // CONFIDENTIAL: "only the time is known", which is what `busy` shares.
    out.class(match f.visibility {
        CalendarVisibility::Public => Class::Public,
        CalendarVisibility::Private => Class::Private,
        CalendarVisibility::Busy => Class::Confidential,
    });
    out.add_property(
        "STATUS",
        match event.status {
            CalendarEventStatus::Confirmed => "CONFIRMED",
            CalendarEventStatus::Tentative => "TENTATIVE",
            CalendarEventStatus::Cancelled => "CANCELLED",
        },
    );
    out.done()
}

/// A DATE or DATE-TIME value as an instant: `Z` is UTC, a `TZID` names the zone of a local time,
/// and a floating time (neither) is read in `default_zone`. The flag says whether it is a DATE.
pub fn parse_instant(
    value: &str,
    tzid: Option<&str>,
    default_zone: chrono_tz::Tz,
) -> Option<(Timestamp, bool)> {
    if let Some(utc) = value.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some((Utc.from_utc_datetime(&naive), false));
    }
    let zone = match tzid {
        Some(name) => name.trim_matches('"').parse::<chrono_tz::Tz>().ok()?,
        None => default_zone,
    };
    if value.len() == 8 {
        let date = NaiveDate::parse_from_str(value, "%Y%m%d").ok()?;
        let local = zone
            .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
            .earliest()?;
        return Some((local.with_timezone(&Utc), true));
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok()?;
    let local: DateTime<chrono_tz::Tz> = zone.from_local_datetime(&naive).earliest()?;
    Some((local.with_timezone(&Utc), false))
}

/// Why a file could not be read, and on which physical line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IcsError {
    pub line: usize,
    pub message: String,
}

/// One `VEVENT` of an imported file, as read (the service checks it like any event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedEvent {
    /// The line its `BEGIN:VEVENT` is on.
    pub line: usize,
    pub uid: String,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub url: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub all_day: bool,
    /// The zone of `DTSTART` (its TZID), `UTC` for UTC and floating times.
    pub timezone: String,
    pub recurrence: Option<String>,
    pub exceptions: Vec<Timestamp>,
    /// `CLASS`, upper-cased, when given.
    pub class: Option<String>,
    /// When it was last changed: `LAST-MODIFIED`, else `DTSTAMP` (a sync's conflict policy
    /// compares it with the local edit).
    pub last_modified: Option<Timestamp>,
}

/// The file unfolded (by the crate), and where each of its logical lines starts in the file.
struct Source {
    unfolded: String,
    /// Physical line (1-based) of each logical line.
    starts: Vec<usize>,
}

impl Source {
    fn new(text: &str) -> Result<Self, IcsError> {
        let mut starts = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            if raw.starts_with([' ', '\t']) {
                if starts.is_empty() {
                    return Err(broken(1, "a continuation line with nothing to continue"));
                }
            } else {
                starts.push(i + 1);
            }
        }
        Ok(Self {
            unfolded: parser::unfold(text),
            starts,
        })
    }

    /// The physical line of the text at byte `offset` of the unfolded file.
    fn line_at(&self, offset: usize) -> usize {
        let logical = self.unfolded[..offset.min(self.unfolded.len())]
            .matches('\n')
            .count();
        self.starts.get(logical).copied().unwrap_or(logical + 1)
    }

    /// The physical line of `part`, a slice of the unfolded file; `fallback` for text the
    /// parser had to copy.
    fn line_of(&self, part: &str, fallback: usize) -> usize {
        let base = self.unfolded.as_ptr() as usize;
        let at = part.as_ptr() as usize;
        if at >= base && at <= base + self.unfolded.len() {
            self.line_at(at - base)
        } else {
            fallback
        }
    }
}

fn broken(line: usize, message: impl Into<String>) -> IcsError {
    IcsError {
        line,
        message: message.into(),
    }
}

/// Checks every content line's shape (section 3.1) and that components nest, naming the first
/// line that breaks either. The crate's parser, on a broken line, reports where the outermost
/// component it was reading began, which tells a member nothing.
fn check_lines(source: &Source) -> Result<(), IcsError> {
    let mut open: Vec<(String, usize)> = Vec::new();
    for (i, text) in source.unfolded.split('\n').enumerate() {
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        let line = source.starts.get(i).copied().unwrap_or(i + 1);
        let (name, value) = split_line(text).map_err(|m| broken(line, m))?;
        let what = value.trim().to_ascii_uppercase();
        match name.to_ascii_uppercase().as_str() {
            "BEGIN" => open.push((what, line)),
            "END" => match open.pop() {
                Some((begun, _)) if begun == what => {}
                Some((begun, at)) => {
                    return Err(broken(
                        line,
                        format!("END:{what} closes BEGIN:{begun} of line {at}"),
                    ))
                }
                None => return Err(broken(line, format!("END:{what} without BEGIN"))),
            },
            _ if open.is_empty() => {
                return Err(broken(
                    line,
                    "content outside BEGIN:VCALENDAR … END:VCALENDAR",
                ))
            }
            _ => {}
        }
    }
    match open.pop() {
        Some((begun, at)) => Err(broken(at, format!("BEGIN:{begun} is never closed"))),
        None => Ok(()),
    }
}

/// A content line's name and value: `NAME *(";" param) ":" value`, the value starting at the
/// first colon outside a quoted parameter value.
fn split_line(text: &str) -> Result<(&str, &str), String> {
    let mut quoted = false;
    let colon = text
        .char_indices()
        .find(|(_, c)| {
            if *c == '"' {
                quoted = !quoted;
            }
            *c == ':' && !quoted
        })
        .map(|(i, _)| i)
        .ok_or("expected `NAME:value` (no colon)")?;
    let mut parts = text[..colon].split(';');
    let name = parts.next().unwrap_or_default();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!("`{name}` is not a property name"));
    }
    if let Some(part) = parts.find(|p| !p.contains('=')) {
        return Err(format!("parameter `{part}` has no `=`"));
    }
    Ok((name, &text[colon + 1..]))
}

/// The events of an iCalendar file. Every error names the physical line it is on.
pub fn read_calendar(text: &str) -> Result<Vec<ImportedEvent>, IcsError> {
    let source = Source::new(text)?;
    check_lines(&source)?;
    let roots = parser::read_calendar_simple(&source.unfolded).map_err(|e| {
        let line = source.line_at(source.unfolded.len() - e.input.len());
        broken(
            line,
            "not an iCalendar content line (`NAME;PARAM=value:value`) in its place",
        )
    })?;
    let Some((calendar, rest)) = roots.split_first() else {
        return Err(broken(1, "the file holds no VCALENDAR"));
    };
    if !calendar.name.as_str().eq_ignore_ascii_case("VCALENDAR") {
        return Err(broken(
            source.line_of(calendar.name.as_str(), 1),
            "the file must start with BEGIN:VCALENDAR",
        ));
    }
    if let Some(extra) = rest.first() {
        return Err(broken(
            source.line_of(extra.name.as_str(), 1),
            "content after END:VCALENDAR",
        ));
    }
    calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .map(|c| read_event(&source, c))
        .collect()
}

fn param<'a>(p: &'a ParsedProperty<'_>, name: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(name))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

fn read_event(source: &Source, event: &Parsed<'_>) -> Result<ImportedEvent, IcsError> {
    let begin = source.line_of(event.name.as_str(), 1);
    let line = |p: &ParsedProperty<'_>| source.line_of(p.name.as_str(), begin);
    let find = |name: &str| {
        event
            .properties
            .iter()
            .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
    };
    let uid = find("UID")
        .map(|p| p.val.as_str().trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| broken(begin, "this VEVENT has no UID"))?;
    let start = find("DTSTART").ok_or_else(|| broken(begin, "this VEVENT has no DTSTART"))?;
    let zone = match param(start, "TZID") {
        Some(name) => name
            .parse::<chrono_tz::Tz>()
            .map_err(|_| broken(line(start), format!("unknown TZID `{name}`")))?,
        None => chrono_tz::UTC,
    };
    let instant = |p: &ParsedProperty<'_>| {
        parse_instant(p.val.as_str().trim(), param(p, "TZID"), zone).ok_or_else(|| {
            broken(
                line(p),
                format!("`{}` is not a date or date-time", p.val.as_str()),
            )
        })
    };
    let (starts_at, all_day) = instant(start)?;
    let ends_at = match (find("DTEND"), find("DURATION")) {
        (Some(end), _) => instant(end)?.0,
        (None, Some(d)) => {
            starts_at
                + parse_duration(d.val.as_str()).ok_or_else(|| {
                    broken(line(d), format!("`{}` is not a duration", d.val.as_str()))
                })?
        }
        (None, None) if all_day => starts_at + chrono::Duration::days(1),
        (None, None) => starts_at,
    };
    if ends_at < starts_at {
        return Err(broken(
            find("DTEND").map_or(begin, line),
            "DTEND is before DTSTART",
        ));
    }
    let mut exceptions = Vec::new();
    for ex in event
        .properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case("EXDATE"))
    {
        for value in ex.val.as_str().split(',') {
            let (t, _) = parse_instant(value.trim(), param(ex, "TZID"), zone)
                .ok_or_else(|| broken(line(ex), format!("`{value}` is not a date or date-time")))?;
            exceptions.push(t);
        }
    }
    let recurrence = match find("RRULE") {
        Some(rule) => {
            crate::recurrence::Rule::parse(rule.val.as_str())
                .map_err(|e| broken(line(rule), format!("RRULE: {e}")))?;
            Some(rule.val.as_str().trim().to_owned())
        }
        None => None,
    };
    let text = |name: &str| {
        find(name)
            .map(|p| p.val.clone().unescape_text().as_str().to_owned())
            .filter(|v| !v.is_empty())
    };
    Ok(ImportedEvent {
        line: begin,
        uid,
        title: text("SUMMARY").unwrap_or_else(|| "(untitled)".to_owned()),
        description: text("DESCRIPTION"),
        location: text("LOCATION"),
        url: find("URL").map(|p| p.val.as_str().trim().to_owned()),
        starts_at,
        ends_at,
        all_day,
        timezone: zone.name().to_owned(),
        recurrence,
        exceptions,
        class: find("CLASS").map(|p| p.val.as_str().trim().to_ascii_uppercase()),
        last_modified: find("LAST-MODIFIED")
            .or_else(|| find("DTSTAMP"))
            .and_then(|p| parse_instant(p.val.as_str().trim(), None, chrono_tz::UTC))
            .map(|(t, _)| t),
    })
}

/// A DURATION value (`PT1H30M`, `P1D`, `P2W`), positive only.
fn parse_duration(value: &str) -> Option<chrono::Duration> {
    let body = value.trim().strip_prefix('+').unwrap_or(value.trim());
    let body = body.strip_prefix('P')?;
    let (mut total, mut number, mut in_time) = (chrono::Duration::zero(), String::new(), false);
    for c in body.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += match (unit, in_time) {
                    ('W', false) => chrono::Duration::weeks(n),
                    ('D', false) => chrono::Duration::days(n),
                    ('H', true) => chrono::Duration::hours(n),
                    ('M', true) => chrono::Duration::minutes(n),
                    ('S', true) => chrono::Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n\
        BEGIN:VEVENT\r\nUID:a@x\r\nSUMMARY:Weekly\\, with a comma\r\n\
        DTSTART;TZID=Europe/London:20261019T090000\r\nDURATION:PT30M\r\n\
        RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE;TZID=Europe/London:20261026T090000\r\n\
        DESCRIPTION:long text that is\r\n  folded\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn a_file_is_read_with_zones_durations_and_exceptions() {
        let events = read_calendar(FILE).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.line, 4);
        assert_eq!(e.title, "Weekly, with a comma");
        assert_eq!(e.timezone, "Europe/London");
        assert_eq!(e.starts_at.to_rfc3339(), "2026-10-19T08:00:00+00:00");
        assert_eq!(e.ends_at.to_rfc3339(), "2026-10-19T08:30:00+00:00");
        assert_eq!(e.exceptions[0].to_rfc3339(), "2026-10-26T09:00:00+00:00");
        assert_eq!(e.description.as_deref(), Some("long text that is folded"));
        assert_eq!(e.recurrence.as_deref(), Some("FREQ=WEEKLY;COUNT=4"));
    }

    #[test]
    fn errors_name_the_physical_line() {
        let cases = [
            (FILE.replace("DURATION:PT30M", "DURATION PT30M"), 8),
            (FILE.replace("20261019T090000", "2026-10-19"), 7),
            (FILE.replace("FREQ=WEEKLY;COUNT=4", "FREQ=SOMETIMES"), 9),
            (FILE.replace("DURATION:PT30M", "DURATION:soon"), 8),
            (
                FILE.replace("TZID=Europe/London:20261019", "TZID=Mars/Base:20261019"),
                7,
            ),
            // After the folded description (lines 11 and 12), physical lines stay right.
            (FILE.replace("END:VEVENT", "END:VEVENT\r\nEND:VEVENT"), 14),
            ("hello".to_owned(), 1),
        ];
        for (text, line) in cases {
            let err = read_calendar(&text).unwrap_err();
            assert_eq!(err.line, line, "{err}");
        }
    }

    #[test]
    fn written_feeds_fold_escape_and_read_back() {
        use vendrome_core::calendar::EventFields;
        use vendrome_core::ids::{CalendarEventId, UserId};
        let start = Utc.with_ymd_and_hms(2026, 10, 19, 8, 0, 0).unwrap();
        let event = CalendarEvent {
            id: CalendarEventId::new(),
            owner_id: UserId::new(),
            fields: EventFields {
                title: "Stand-up; daily, mostly".to_owned(),
                description: Some("a;b,c\n".repeat(30)),
                location: None,
                video_url: None,
                starts_at: start,
                ends_at: start + chrono::Duration::minutes(15),
                timezone: "Europe/London".to_owned(),
                all_day: false,
                recurrence: Some("FREQ=DAILY;COUNT=5".to_owned()),
                exceptions: vec![start + chrono::Duration::days(1)],
                series_ends_at: None,
                visibility: CalendarVisibility::Busy,
                attendees: Vec::new(),
            },
            status: CalendarEventStatus::Confirmed,
            ical_uid: "e1@vendrome".to_owned(),
            sequence: 2,
            attendees: Vec::new(),
            managed_by: None,
            created_at: start,
            updated_at: start,
        };
        let text = write_calendar("Mine", std::slice::from_ref(&event), start);
        assert!(text.split("\r\n").all(|l| l.len() <= 75), "{text}");
        assert!(
            text.contains("DTSTART;TZID=Europe/London:20261019T090000"),
            "{text}"
        );
        let read = read_calendar(&text).unwrap();
        assert_eq!(read.len(), 1);
        let back = &read[0];
        assert_eq!(back.uid, "e1@vendrome");
        assert_eq!(back.title, event.fields.title);
        assert_eq!(back.description, event.fields.description);
        assert_eq!(
            (back.starts_at, back.ends_at),
            (start, event.fields.ends_at)
        );
        assert_eq!(back.exceptions, event.fields.exceptions);
        assert_eq!(back.recurrence, event.fields.recurrence);
        assert_eq!(back.class.as_deref(), Some("CONFIDENTIAL"));
    }
}
