//! Prints, as JSON, a set of recurring events with exceptions written as iCalendar and the
//! occurrences this crate expands for each in a window. `scripts/peers/calendar-oracle.sh` feeds
//! them to `recurring-ical-events` (Python), an independent implementation, and compares.

use chrono::{Duration, TimeZone as _, Utc};
use serde_json::json;
use vendrome_calendar::ics::write_calendar;
use vendrome_calendar::recurrence::{local, parse_zone, Rule, Series};
use vendrome_core::calendar::{CalendarEvent, EventFields};
use vendrome_core::enums::{CalendarEventStatus, CalendarVisibility};
use vendrome_core::ids::{CalendarEventId, UserId};

struct Case {
    name: &'static str,
    zone: &'static str,
    /// Local start (y, m, d, h, min) in `zone`.
    start: (i32, u32, u32, u32, u32),
    minutes: i64,
    rule: &'static str,
    /// Local starts of excluded occurrences.
    exceptions: &'static [(i32, u32, u32, u32, u32)],
}

const CASES: &[Case] = &[
    Case {
        name: "weekly-london-across-both-dst-changes",
        zone: "Europe/London",
        start: (2026, 3, 2, 9, 0),
        minutes: 60,
        rule: "FREQ=WEEKLY;BYDAY=MO",
        exceptions: &[(2026, 3, 30, 9, 0), (2026, 10, 26, 9, 0)],
    },
    Case {
        name: "daily-johannesburg-count",
        zone: "Africa/Johannesburg",
        start: (2026, 1, 1, 8, 30),
        minutes: 30,
        rule: "FREQ=DAILY;COUNT=400",
        exceptions: &[(2026, 1, 2, 8, 30), (2026, 12, 25, 8, 30)],
    },
    Case {
        name: "monthly-last-friday-new-york",
        zone: "America/New_York",
        start: (2026, 1, 30, 17, 0),
        minutes: 90,
        rule: "FREQ=MONTHLY;BYDAY=-1FR",
        exceptions: &[(2026, 3, 27, 17, 0)],
    },
    Case {
        name: "every-other-weekday-until",
        zone: "Europe/Berlin",
        start: (2026, 3, 23, 7, 45),
        minutes: 15,
        rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;UNTIL=20261130T000000Z",
        exceptions: &[(2026, 4, 1, 7, 45)],
    },
    Case {
        name: "yearly-last-sunday-of-march-paris",
        zone: "Europe/Paris",
        start: (2024, 3, 31, 10, 0),
        minutes: 60,
        rule: "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        exceptions: &[(2025, 3, 30, 10, 0)],
    },
    Case {
        name: "hourly-business-hours-sydney",
        zone: "Australia/Sydney",
        start: (2026, 4, 3, 9, 0),
        minutes: 20,
        rule: "FREQ=HOURLY;BYHOUR=9,10,11;COUNT=20",
        exceptions: &[(2026, 4, 4, 10, 0)],
    },
    Case {
        name: "monthly-on-the-31st",
        zone: "Europe/London",
        start: (2026, 1, 31, 18, 0),
        minutes: 45,
        rule: "FREQ=MONTHLY;BYMONTHDAY=31",
        exceptions: &[(2026, 5, 31, 18, 0)],
    },
    Case {
        name: "daily-around-the-london-change",
        zone: "Europe/London",
        start: (2026, 3, 27, 0, 30),
        minutes: 60,
        rule: "FREQ=DAILY;COUNT=5",
        exceptions: &[],
    },
];

fn main() {
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let owner = UserId::new();
    let out: Vec<_> = CASES
        .iter()
        .map(|case| {
            let zone = parse_zone(case.zone).unwrap();
            let at = |(y, mo, d, h, mi): (i32, u32, u32, u32, u32)| local(zone, y, mo, d, h, mi);
            let starts_at = at(case.start);
            let duration = Duration::minutes(case.minutes);
            let exceptions: Vec<_> = case.exceptions.iter().map(|e| at(*e)).collect();
            let rule = Rule::parse(case.rule).unwrap();
            let series = Series::new(&rule, zone, starts_at, duration, &exceptions).unwrap();
            let occurrences: Vec<_> = series
                .between(from, to, 10_000)
                .unwrap()
                .into_iter()
                .map(|(s, e)| [s.to_rfc3339(), e.to_rfc3339()])
                .collect();
            let event = CalendarEvent {
                id: CalendarEventId::new(),
                owner_id: owner,
                fields: EventFields {
                    title: case.name.to_owned(),
                    description: None,
                    location: None,
                    video_url: None,
                    starts_at,
                    ends_at: starts_at + duration,
                    timezone: case.zone.to_owned(),
                    all_day: false,
                    recurrence: Some(rule.as_string()),
                    exceptions,
                    series_ends_at: series.ends_at(&rule),
                    visibility: CalendarVisibility::Busy,
                    attendees: Vec::new(),
                },
                status: CalendarEventStatus::Confirmed,
                ical_uid: format!("{}@oracle", case.name),
                sequence: 0,
                attendees: Vec::new(),
                managed_by: None,
                created_at: from,
                updated_at: from,
            };
            json!({
                "name": case.name,
                "ics": write_calendar("oracle", &[event], from),
                "from": from.to_rfc3339(),
                "to": to.to_rfc3339(),
                "occurrences": occurrences,
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
