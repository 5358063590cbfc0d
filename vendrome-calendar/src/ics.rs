//! iCalendar (RFC 5545) text: a member's feed written out, and `.ics` files read in.
//!
//! Written events carry `DTSTART;TZID=<IANA zone>` with the local time, so that a client expands
//! `RRULE` in the event's zone as we do (IANA names as TZID, without `VTIMEZONE` components, as
//! the large calendar providers publish and accept them). `EXDATE`s are written in UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use vendrome_core::calendar::CalendarEvent;
use vendrome_core::time::Timestamp;

/// Escapes a TEXT value (RFC 5545 section 3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at 75 octets (section 3.1), ended by CRLF.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn utc_stamp(t: Timestamp) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A calendar of `events`, named `name`.
pub fn write_calendar(name: &str, events: &[CalendarEvent], now: Timestamp) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Vendrome//Calendar//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for event in events {
        write_event(&mut out, event, now);
    }
    line(&mut out, "END:VCALENDAR");
    out
}

fn write_event(out: &mut String, event: &CalendarEvent, now: Timestamp) {
    let f = &event.fields;
    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{}", escape(&event.ical_uid)));
    line(out, &format!("DTSTAMP:{}", utc_stamp(now)));
    line(out, &format!("SEQUENCE:{}", event.sequence));
    line(out, &format!("SUMMARY:{}", escape(&f.title)));
    let zone = f.timezone.parse::<chrono_tz::Tz>().ok();
    match zone {
        Some(zone) if f.all_day => {
            let date = |t: Timestamp| t.with_timezone(&zone).format("%Y%m%d").to_string();
            line(out, &format!("DTSTART;VALUE=DATE:{}", date(f.starts_at)));
            line(out, &format!("DTEND;VALUE=DATE:{}", date(f.ends_at)));
        }
        Some(zone) => {
            let local = |t: Timestamp| t.with_timezone(&zone).format("%Y%m%dT%H%M%S").to_string();
            line(
                out,
                &format!("DTSTART;TZID={}:{}", f.timezone, local(f.starts_at)),
            );
            line(
                out,
                &format!("DTEND;TZID={}:{}", f.timezone, local(f.ends_at)),
            );
        }
        None => {
            line(out, &format!("DTSTART:{}", utc_stamp(f.starts_at)));
            line(out, &format!("DTEND:{}", utc_stamp(f.ends_at)));
        }
    }
    if let Some(rule) = &f.recurrence {
        line(out, &format!("RRULE:{rule}"));
    }
    if !f.exceptions.is_empty() {
        let list: Vec<_> = f.exceptions.iter().map(|t| utc_stamp(*t)).collect();
        line(out, &format!("EXDATE:{}", list.join(",")));
    }
    if let Some(text) = &f.description {
        line(out, &format!("DESCRIPTION:{}", escape(text)));
    }
    if let Some(text) = &f.location {
        line(out, &format!("LOCATION:{}", escape(text)));
    }
    if let Some(url) = &f.video_url {
        line(out, &format!("URL:{url}"));
    }
    let class = match f.visibility {
        vendrome_core::enums::CalendarVisibility::Public => "PUBLIC",
        _ => "PRIVATE",
    };
    line(out, &format!("CLASS:{class}"));
    let status = match event.status {
        vendrome_core::enums::CalendarEventStatus::Confirmed => "CONFIRMED",
        vendrome_core::enums::CalendarEventStatus::Tentative => "TENTATIVE",
        vendrome_core::enums::CalendarEventStatus::Cancelled => "CANCELLED",
    };
    line(out, &format!("STATUS:{status}"));
    line(
        out,
        &format!("LAST-MODIFIED:{}", utc_stamp(event.updated_at)),
    );
    line(out, "END:VEVENT");
}

/// A DATE or DATE-TIME value as an instant: `Z` is UTC, a `TZID` names the zone of a local time,
/// and a floating time (neither) is read in `default_zone`.
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

/// A content line of an `.ics` file: its name, parameters and value, and the physical line
/// (1-based) it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContentLine {
    line: usize,
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl ContentLine {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a file could not be read, and on which physical line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IcsError {
    pub line: usize,
    pub message: String,
}

fn broken(line: usize, message: impl Into<String>) -> IcsError {
    IcsError {
        line,
        message: message.into(),
    }
}

/// Unfolds the file (section 3.1) and splits each content line into name, parameters and value.
fn content_lines(text: &str) -> Result<Vec<ContentLine>, IcsError> {
    let mut logical: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            match logical.last_mut() {
                Some((_, last)) => last.push_str(rest),
                None => {
                    return Err(broken(
                        i + 1,
                        "a continuation line with nothing to continue",
                    ))
                }
            }
        } else if !raw.is_empty() {
            logical.push((i + 1, raw.to_owned()));
        }
    }
    logical
        .into_iter()
        .map(|(line, text)| split_line(line, &text))
        .collect()
}

fn split_line(line: usize, text: &str) -> Result<ContentLine, IcsError> {
    // The value starts at the first colon outside a quoted parameter value.
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
        .ok_or_else(|| broken(line, "expected `NAME:value` (no colon)"))?;
    let (head, value) = (&text[..colon], &text[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next().unwrap_or_default().to_ascii_uppercase();
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !name_ok {
        return Err(broken(line, format!("`{name}` is not a property name")));
    }
    let mut params = Vec::new();
    for part in parts {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| broken(line, format!("parameter `{part}` has no `=`")))?;
        params.push((k.to_ascii_uppercase(), v.trim_matches('"').to_owned()));
    }
    Ok(ContentLine {
        line,
        name,
        params,
        value: value.to_owned(),
    })
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
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
    /// `CLASS:PUBLIC` (others are private or, absent, busy).
    pub class: Option<String>,
}

/// The events of an iCalendar file. Every error names the physical line it is on.
pub fn read_calendar(text: &str) -> Result<Vec<ImportedEvent>, IcsError> {
    let lines = content_lines(text)?;
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut events = Vec::new();
    let mut current: Option<Vec<ContentLine>> = None;
    let mut saw_calendar = false;
    for l in lines {
        match l.name.as_str() {
            "BEGIN" => {
                let what = l.value.trim().to_ascii_uppercase();
                if stack.is_empty() && what != "VCALENDAR" {
                    return Err(broken(l.line, "the file must start with BEGIN:VCALENDAR"));
                }
                if what == "VCALENDAR" {
                    saw_calendar = true;
                }
                if what == "VEVENT" && stack.len() == 1 {
                    current = Some(vec![l.clone()]);
                }
                stack.push((what, l.line));
            }
            "END" => {
                let what = l.value.trim().to_ascii_uppercase();
                match stack.pop() {
                    Some((open, _)) if open == what => {}
                    Some((open, at)) => {
                        return Err(broken(
                            l.line,
                            format!("END:{what} closes BEGIN:{open} of line {at}"),
                        ))
                    }
                    None => return Err(broken(l.line, format!("END:{what} without BEGIN"))),
                }
                if what == "VEVENT" && stack.len() == 1 {
                    if let Some(props) = current.take() {
                        events.push(read_event(&props, l.line)?);
                    }
                }
            }
            _ if stack.is_empty() => {
                return Err(broken(
                    l.line,
                    "content outside BEGIN:VCALENDAR … END:VCALENDAR",
                ))
            }
            _ => {
                if stack.len() == 2 {
                    if let Some(props) = current.as_mut() {
                        props.push(l);
                    }
                }
            }
        }
    }
    if let Some((open, at)) = stack.pop() {
        return Err(broken(at, format!("BEGIN:{open} is never closed")));
    }
    if !saw_calendar {
        return Err(broken(1, "the file holds no VCALENDAR"));
    }
    Ok(events)
}

fn read_event(props: &[ContentLine], end_line: usize) -> Result<ImportedEvent, IcsError> {
    let begin = props[0].line;
    let find = |name: &str| props.iter().find(|p| p.name == name);
    let uid = find("UID")
        .map(|p| p.value.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| broken(begin, "this VEVENT has no UID"))?;
    let start = find("DTSTART").ok_or_else(|| broken(begin, "this VEVENT has no DTSTART"))?;
    let tzid = start.param("TZID");
    let zone = match tzid {
        Some(name) => name
            .parse::<chrono_tz::Tz>()
            .map_err(|_| broken(start.line, format!("unknown TZID `{name}`")))?,
        None => chrono_tz::UTC,
    };
    let instant = |p: &ContentLine| {
        parse_instant(p.value.trim(), p.param("TZID"), zone)
            .ok_or_else(|| broken(p.line, format!("`{}` is not a date or date-time", p.value)))
    };
    let (starts_at, all_day) = instant(start)?;
    let ends_at = match (find("DTEND"), find("DURATION")) {
        (Some(end), _) => instant(end)?.0,
        (None, Some(d)) => {
            starts_at
                + parse_duration(&d.value)
                    .ok_or_else(|| broken(d.line, format!("`{}` is not a duration", d.value)))?
        }
        (None, None) if all_day => starts_at + chrono::Duration::days(1),
        (None, None) => starts_at,
    };
    if ends_at < starts_at {
        return Err(broken(
            find("DTEND").map_or(end_line, |p| p.line),
            "DTEND is before DTSTART",
        ));
    }
    let mut exceptions = Vec::new();
    for ex in props.iter().filter(|p| p.name == "EXDATE") {
        for value in ex.value.split(',') {
            let (t, _) = parse_instant(value.trim(), ex.param("TZID"), zone)
                .ok_or_else(|| broken(ex.line, format!("`{value}` is not a date or date-time")))?;
            exceptions.push(t);
        }
    }
    let recurrence = match find("RRULE") {
        Some(rule) => {
            crate::recurrence::Rule::parse(&rule.value)
                .map_err(|e| broken(rule.line, format!("RRULE: {e}")))?;
            Some(rule.value.trim().to_owned())
        }
        None => None,
    };
    let text = |name: &str| {
        find(name)
            .map(|p| unescape(&p.value))
            .filter(|v| !v.is_empty())
    };
    Ok(ImportedEvent {
        line: begin,
        uid,
        title: text("SUMMARY").unwrap_or_else(|| "(untitled)".to_owned()),
        description: text("DESCRIPTION"),
        location: text("LOCATION"),
        url: find("URL").map(|p| p.value.trim().to_owned()),
        starts_at,
        ends_at,
        all_day,
        timezone: zone.name().to_owned(),
        recurrence,
        exceptions,
        class: find("CLASS").map(|p| p.value.trim().to_ascii_uppercase()),
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
            (FILE.replace("END:VEVENT\r\n", ""), 13),
            (
                FILE.replace("TZID=Europe/London:20261019", "TZID=Mars/Base:20261019"),
                7,
            ),
            ("hello".to_owned(), 1),
        ];
        for (text, line) in cases {
            let err = read_calendar(&text).unwrap_err();
            assert_eq!(err.line, line, "{err}");
        }
    }

    #[test]
    fn written_feeds_fold_and_escape() {
        let mut out = String::new();
        line(
            &mut out,
            &format!("DESCRIPTION:{}", escape(&"a;b,c\n".repeat(30))),
        );
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
        assert!(out.starts_with("DESCRIPTION:a\\;b\\,c\\n"));
    }
}
