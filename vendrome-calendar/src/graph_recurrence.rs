//! A series' RRULE as Microsoft Graph's `patternedRecurrence`, after learn.microsoft.com
//! graph/api/resources/patternedrecurrence, recurrencepattern and recurrencerange: a pattern
//! (`daily`, `weekly` with `daysOfWeek`, `absoluteMonthly` with `dayOfMonth`, `relativeMonthly`
//! with `daysOfWeek` and `index`, `absoluteYearly`, `relativeYearly`; an `interval`) and a range
//! (`numbered` for a `COUNT`, `endDate` for an `UNTIL`, else `noEnd`) in the series' zone.
//!
//! A rule Graph cannot express (hourly, several month days, `BYSETPOS` beyond one position,
//! `BYWEEKNO`, `BYYEARDAY`, times of day) has no pattern: the series is then written as its first
//! occurrence only. Exceptions (EXDATE) are not part of a pattern either.

use chrono::{Datelike as _, Weekday};
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
}
