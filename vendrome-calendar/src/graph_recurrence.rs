//! A series' RRULE as Microsoft Graph's `patternedRecurrence`, after learn.microsoft.com
//! graph/api/resources/patternedrecurrence, recurrencepattern and recurrencerange: a pattern
//! (`daily`, `weekly` with `daysOfWeek`, `absoluteMonthly` with `dayOfMonth`, `relativeMonthly`
//! with `daysOfWeek` and `index`, `absoluteYearly`, `relativeYearly`; an `interval`) and a range
//! (`numbered` for a `COUNT`, `endDate` for an `UNTIL`, else `noEnd`) in the series' zone.
//!
//! A rule Graph cannot express (hourly, several month days, `BYSETPOS` beyond one position,
//! `BYWEEKNO`, `BYYEARDAY`, times of day) has no pattern: the series is then written as its first
//! occurrence only. Exceptions (EXDATE) are not part of a pattern either: a series' excepted
//! occurrences are deleted one by one after it is written, and read back as the occurrences its
//! instances lack (`microsoft_calendar`).
//!
//! [`rrule_of`] reads a pattern back as an RRULE, so that a series read from Graph is one event
//! here: for every pattern [`patterned`] writes, `patterned(rrule_of(p)) == p`.

use chrono::{Datelike as _, TimeZone as _, Weekday};
use rrule::{Frequency, NWeekday};
use serde_json::{json, Value};
use vendrome_core::time::Timestamp;

use crate::recurrence::Rule;

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// Graph's `index` of the `n`th weekday (`-1`: the last).
fn index(n: i16) -> Option<&'static str> {
    Some(match n {
        1 => "first",
        2 => "second",
        3 => "third",
        4 => "fourth",
        -1 => "last",
        _ => return None,
    })
}

/// The weekdays of `BYDAY` as Graph names them, with the position they share (`None` when every
/// one is `Every`); `None` when they mix positions.
fn weekdays(by_day: &[NWeekday]) -> Option<(Vec<&'static str>, Option<i16>)> {
    let mut days = Vec::new();
    let mut position: Option<Option<i16>> = None;
    for d in by_day {
        let (n, day) = match d {
            NWeekday::Every(day) => (None, *day),
            NWeekday::Nth(n, day) => (Some(*n), *day),
        };
        if position.is_some_and(|p| p != n) {
            return None;
        }
        position = Some(n);
        days.push(day_name(day));
    }
    Some((days, position.flatten()))
}

/// `rule` anchored at `starts_at` in `zone` (an IANA name) as a `patternedRecurrence`; `None`
/// when Graph has no pattern for it.
pub(crate) fn patterned(rule: &Rule, starts_at: Timestamp, zone: chrono_tz::Tz) -> Option<Value> {
    let r = rule.rrule();
    if !(r.get_by_week_no().is_empty()
        && r.get_by_year_day().is_empty()
        && r.get_by_hour().is_empty()
        && r.get_by_minute().is_empty()
        && r.get_by_second().is_empty()
        && r.get_by_set_pos().len() <= 1
        && r.get_by_month_day().len() <= 1
        && r.get_by_month().len() <= 1)
    {
        return None;
    }
    let local = starts_at.with_timezone(&zone);
    let (days, position) = weekdays(r.get_by_weekday())?;
    // `BYDAY=TU;BYSETPOS=2` says what `BYDAY=2TU` says.
    let position = match (position, r.get_by_set_pos()) {
        (None, [p]) => Some(i16::try_from(*p).ok()?),
        (p, []) => p,
        _ => return None,
    };
    let month_day = r.get_by_month_day().first().copied();
    let month = r.get_by_month().first().copied().map(u32::from);
    let interval = r.get_interval().max(1);
    let mut pattern = match r.get_freq() {
        Frequency::Daily if days.is_empty() && month_day.is_none() && month.is_none() => {
            json!({"type": "daily"})
        }
        Frequency::Weekly if position.is_none() && month_day.is_none() && month.is_none() => {
            let days = if days.is_empty() {
                vec![day_name(local.weekday())]
            } else {
                days
            };
            json!({"type": "weekly", "daysOfWeek": days,
                   "firstDayOfWeek": day_name(r.get_week_start())})
        }
        Frequency::Monthly if month.is_none() => match (position, month_day) {
            (Some(n), None) if !days.is_empty() => {
                json!({"type": "relativeMonthly", "daysOfWeek": days, "index": index(n)?})
            }
            (None, day) if days.is_empty() => {
                let day = day.map_or(Some(local.day()), |d| u32::try_from(d).ok())?;
                json!({"type": "absoluteMonthly", "dayOfMonth": day})
            }
            _ => return None,
        },
        Frequency::Yearly => {
            let month = month.unwrap_or(local.month());
            match (position, month_day) {
                (Some(n), None) if !days.is_empty() => json!({"type": "relativeYearly",
                    "daysOfWeek": days, "index": index(n)?, "month": month}),
                (None, day) if days.is_empty() => {
                    let day = day.map_or(Some(local.day()), |d| u32::try_from(d).ok())?;
                    json!({"type": "absoluteYearly", "dayOfMonth": day, "month": month})
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    pattern["interval"] = json!(interval);
    let start_date = local.format("%Y-%m-%d").to_string();
    let range = match (r.get_count(), r.get_until()) {
        (Some(count), _) => json!({"type": "numbered", "numberOfOccurrences": count}),
        (None, Some(until)) => json!({"type": "endDate",
            "endDate": until.with_timezone(&zone).format("%Y-%m-%d").to_string()}),
        (None, None) => json!({"type": "noEnd"}),
    };
    let mut range = range;
    range["startDate"] = json!(start_date);
    range["recurrenceTimeZone"] = json!(zone.name());
    Some(json!({ "pattern": pattern, "range": range }))
}

fn day_code(name: &str) -> Option<&'static str> {
    Some(match name {
        "monday" => "MO",
        "tuesday" => "TU",
        "wednesday" => "WE",
        "thursday" => "TH",
        "friday" => "FR",
        "saturday" => "SA",
        "sunday" => "SU",
        _ => return None,
    })
}

/// Graph's `index` as an RRULE position.
fn position(index: &str) -> Option<i16> {
    Some(match index {
        "first" => 1,
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "last" => -1,
        _ => return None,
    })
}

/// A `patternedRecurrence` read back as an RRULE value and the zone it repeats in (its range's
/// `recurrenceTimeZone`, an IANA or a Windows name ([`crate::graph_zones`]), else `None`: the
/// caller falls back on the event's own zone). `None` when the pattern is not one Graph documents.
///
/// An `endDate` range ends at the end of that day in the zone (`UNTIL` in UTC, as RFC 5545
/// requires once `DTSTART` has a zone); `relativeMonthly`/`relativeYearly` with several days
/// mean the `index`th of those days, which is `BYSETPOS`.
pub(crate) fn rrule_of(recurrence: &Value) -> Option<(String, Option<chrono_tz::Tz>)> {
    let pattern = recurrence.get("pattern")?;
    let range = recurrence.get("range")?;
    let zone = range
        .get("recurrenceTimeZone")
        .and_then(Value::as_str)
        .and_then(crate::graph_zones::zone_of);
    let interval = pattern.get("interval").and_then(Value::as_u64).unwrap_or(1);
    let days: Vec<&str> = match pattern.get("daysOfWeek").and_then(Value::as_array) {
        Some(days) => days
            .iter()
            .map(|d| d.as_str().and_then(day_code))
            .collect::<Option<_>>()?,
        None => Vec::new(),
    };
    let number = |key: &str| pattern.get(key).and_then(Value::as_u64);
    let relative = |parts: &mut Vec<String>| -> Option<()> {
        let n = position(
            pattern
                .get("index")
                .and_then(Value::as_str)
                .unwrap_or("first"),
        )?;
        match days.as_slice() {
            [] => return None,
            [day] => parts.push(format!("BYDAY={n}{day}")),
            several => {
                parts.push(format!("BYDAY={}", several.join(",")));
                parts.push(format!("BYSETPOS={n}"));
            }
        }
        Some(())
    };
    let mut parts = Vec::new();
    match pattern.get("type").and_then(Value::as_str)? {
        "daily" => parts.push("FREQ=DAILY".to_owned()),
        "weekly" => {
            parts.push("FREQ=WEEKLY".to_owned());
            if !days.is_empty() {
                parts.push(format!("BYDAY={}", days.join(",")));
            }
            let first = pattern
                .get("firstDayOfWeek")
                .and_then(Value::as_str)
                .and_then(day_code)
                .unwrap_or("MO");
            if first != "MO" {
                parts.push(format!("WKST={first}"));
            }
        }
        "absoluteMonthly" => {
            parts.push("FREQ=MONTHLY".to_owned());
            parts.push(format!("BYMONTHDAY={}", number("dayOfMonth")?));
        }
        "relativeMonthly" => {
            parts.push("FREQ=MONTHLY".to_owned());
            relative(&mut parts)?;
        }
        "absoluteYearly" => {
            parts.push("FREQ=YEARLY".to_owned());
            parts.push(format!("BYMONTH={}", number("month")?));
            parts.push(format!("BYMONTHDAY={}", number("dayOfMonth")?));
        }
        "relativeYearly" => {
            parts.push("FREQ=YEARLY".to_owned());
            parts.push(format!("BYMONTH={}", number("month")?));
            relative(&mut parts)?;
        }
        _ => return None,
    }
    if interval > 1 {
        parts.push(format!("INTERVAL={interval}"));
    }
    match range.get("type").and_then(Value::as_str).unwrap_or("noEnd") {
        "numbered" => {
            let count = range.get("numberOfOccurrences").and_then(Value::as_u64)?;
            parts.push(format!("COUNT={count}"));
        }
        "endDate" => {
            let end = range.get("endDate").and_then(Value::as_str)?;
            let day = chrono::NaiveDate::parse_from_str(end, "%Y-%m-%d").ok()?;
            let last = day.and_hms_opt(23, 59, 59)?;
            let until = match zone {
                Some(zone) => zone
                    .from_local_datetime(&last)
                    .earliest()?
                    .with_timezone(&chrono::Utc),
                None => chrono::Utc.from_utc_datetime(&last),
            };
            parts.push(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
        }
        _ => {}
    }
    Some((parts.join(";"), zone))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::local;

    fn pattern(rule: &str) -> Option<Value> {
        let zone: chrono_tz::Tz = "Europe/London".parse().unwrap();
        // Tuesday 2 March 2027, 09:00 in London.
        let start = local(zone, 2027, 3, 2, 9, 0);
        patterned(&Rule::parse(rule).unwrap(), start, zone)
    }

    #[test]
    fn graph_patterns_from_rrules() {
        let cases = [
            (
                "FREQ=DAILY;INTERVAL=2;COUNT=10",
                json!({"pattern": {"type": "daily", "interval": 2},
                "range": {"type": "numbered", "numberOfOccurrences": 10, "startDate": "2027-03-02",
                          "recurrenceTimeZone": "Europe/London"}}),
            ),
            (
                "FREQ=WEEKLY",
                json!({"pattern": {"type": "weekly", "interval": 1,
                "daysOfWeek": ["tuesday"], "firstDayOfWeek": "monday"},
                "range": {"type": "noEnd", "startDate": "2027-03-02",
                          "recurrenceTimeZone": "Europe/London"}}),
            ),
            (
                "FREQ=WEEKLY;BYDAY=MO,WE;WKST=SU;UNTIL=20270601T000000Z",
                json!({"pattern": {
                "type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday"],
                "firstDayOfWeek": "sunday"},
                "range": {"type": "endDate", "endDate": "2027-06-01", "startDate": "2027-03-02",
                          "recurrenceTimeZone": "Europe/London"}}),
            ),
            (
                "FREQ=MONTHLY",
                json!({"pattern": {"type": "absoluteMonthly", "interval": 1,
                "dayOfMonth": 2}, "range": {"type": "noEnd", "startDate": "2027-03-02",
                "recurrenceTimeZone": "Europe/London"}}),
            ),
            (
                "FREQ=MONTHLY;BYDAY=-1FR",
                json!({"pattern": {"type": "relativeMonthly",
                "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
                "range": {"type": "noEnd", "startDate": "2027-03-02",
                          "recurrenceTimeZone": "Europe/London"}}),
            ),
            (
                "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=1",
                json!({"pattern": {"type": "relativeMonthly",
                "interval": 1, "daysOfWeek": ["tuesday"], "index": "first"},
                "range": {"type": "noEnd", "startDate": "2027-03-02",
                          "recurrenceTimeZone": "Europe/London"}}),
            ),
            (
                "FREQ=YEARLY",
                json!({"pattern": {"type": "absoluteYearly", "interval": 1,
                "dayOfMonth": 2, "month": 3}, "range": {"type": "noEnd",
                "startDate": "2027-03-02", "recurrenceTimeZone": "Europe/London"}}),
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(pattern(rule), Some(expected), "{rule}");
        }
        for unsupported in [
            "FREQ=HOURLY",
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            "FREQ=MONTHLY;BYDAY=1MO,2TU",
            "FREQ=YEARLY;BYYEARDAY=100",
            "FREQ=DAILY;BYHOUR=9,17",
        ] {
            assert_eq!(pattern(unsupported), None, "{unsupported}");
        }
    }

    #[test]
    fn graph_patterns_read_back_as_rrules_that_write_them_again() {
        use chrono::Datelike as _;

        let zone: chrono_tz::Tz = "Europe/London".parse().unwrap();
        let start = local(zone, 2027, 3, 2, 9, 0);
        for rule in [
            "FREQ=DAILY;INTERVAL=2;COUNT=10",
            "FREQ=DAILY",
            "FREQ=WEEKLY",
            "FREQ=WEEKLY;BYDAY=MO,WE;WKST=SU;UNTIL=20270601T000000Z",
            "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU;UNTIL=20271231T235959Z",
            "FREQ=MONTHLY",
            "FREQ=MONTHLY;BYMONTHDAY=31;INTERVAL=2",
            "FREQ=MONTHLY;BYDAY=-1FR",
            "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=1",
            "FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=2;COUNT=4",
            "FREQ=YEARLY",
            "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        ] {
            let written = patterned(&Rule::parse(rule).unwrap(), start, zone).unwrap();
            let (back, back_zone) =
                rrule_of(&written).unwrap_or_else(|| panic!("{rule}: {written}"));
            assert_eq!(back_zone, Some(zone), "{rule}");
            let again = patterned(&Rule::parse(&back).unwrap(), start, zone);
            assert_eq!(again.as_ref(), Some(&written), "{rule} → {back}");
        }
        // Read back, the series has the same occurrences.
        let weekly = json!({"pattern": {"type": "weekly", "interval": 2,
            "daysOfWeek": ["monday", "thursday"], "firstDayOfWeek": "sunday"},
            "range": {"type": "endDate", "startDate": "2027-03-01", "endDate": "2027-03-29",
                      "recurrenceTimeZone": "Europe/London"}});
        let (rule, _) = rrule_of(&weekly).unwrap();
        assert_eq!(
            rule,
            "FREQ=WEEKLY;BYDAY=MO,TH;WKST=SU;INTERVAL=2;UNTIL=20270329T225959Z"
        );
        let first = local(zone, 2027, 3, 1, 9, 0);
        let series = crate::recurrence::Series::new(
            &Rule::parse(&rule).unwrap(),
            zone,
            first,
            chrono::Duration::hours(1),
            &[],
        )
        .unwrap();
        let days: Vec<u32> = series
            .between(first, first + chrono::Duration::days(60), 100)
            .unwrap()
            .iter()
            .map(|(s, _)| s.with_timezone(&zone).day())
            .collect();
        // Weeks starting Sunday 28 Feb, 14 and 28 March: Mondays and Thursdays, to 29 March.
        assert_eq!(days, [1, 4, 15, 18, 29]);
        // Not documented patterns are not read.
        assert_eq!(
            rrule_of(&json!({"pattern": {"type": "hourly"}, "range": {}})),
            None
        );
        assert_eq!(
            rrule_of(
                &json!({"pattern": {"type": "weekly", "daysOfWeek": ["funday"]},
                             "range": {"type": "noEnd"}})
            ),
            None
        );
    }
}
