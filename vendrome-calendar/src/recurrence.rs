//! Recurrence: an RRULE (RFC 5545 section 3.3.10) expanded with the `rrule` crate in the event's
//! own time zone, so that a series at 09:00 in `Europe/London` stays at 09:00 local time on both
//! sides of a daylight-saving change (08:00 UTC in summer, 09:00 UTC in winter).

use chrono::{Duration, TimeZone as _, Utc};
use rrule::{Frequency, RRule, RRuleSet, Tz, Unvalidated};
use vendrome_core::time::Timestamp;
use vendrome_core::validation::{invalid, ValidationErrors};

/// The most occurrences one series may have (a `COUNT`, or the span of an `UNTIL`) for its end to
/// be computed; a longer series is treated as endless.
const SERIES_SCAN: usize = 100_000;

/// An IANA time zone, checked.
pub fn parse_zone(name: &str) -> Result<chrono_tz::Tz, ValidationErrors> {
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        invalid(
            "unknown_timezone",
            "must be an IANA time zone name such as `Europe/London`",
        )
    })
}

/// A parsed RRULE value, checked for what this calendar expands.
#[derive(Debug, Clone)]
pub struct Rule(RRule<Unvalidated>);

impl Rule {
    /// Parses an RRULE value (`FREQ=WEEKLY;BYDAY=MO`; a leading `RRULE:` is accepted).
    ///
    /// Fails with `invalid_rrule` on anything the grammar rejects and with
    /// `unsupported_frequency` on `SECONDLY` and `MINUTELY` rules.
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        let value = raw.trim();
        let value = value.strip_prefix("RRULE:").unwrap_or(value);
        if value.is_empty() || value.len() > 1000 || value.chars().any(|c| c.is_control()) {
            return Err(invalid(
                "invalid_rrule",
                "must be one RRULE value such as `FREQ=WEEKLY;BYDAY=MO`",
            ));
        }
        let rule: RRule<Unvalidated> = value
            .parse()
            .map_err(|e| invalid("invalid_rrule", format!("is not a valid RRULE: {e}")))?;
        if matches!(rule.get_freq(), Frequency::Secondly | Frequency::Minutely) {
            return Err(invalid(
                "unsupported_frequency",
                "repeats at most hourly (FREQ=HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)",
            ));
        }
        Ok(Self(rule))
    }

    /// The parsed rule, for writing it in a provider's own terms.
    pub(crate) fn rrule(&self) -> &RRule<Unvalidated> {
        &self.0
    }

    /// The rule's text as stored (without the `RRULE:` prefix).
    pub fn as_string(&self) -> String {
        self.0.to_string()
    }
}

/// A series: a rule anchored at its first start, in its zone, minus its exceptions.
#[derive(Debug, Clone)]
pub struct Series {
    set: RRuleSet,
    duration: Duration,
}

impl Series {
    /// Anchors `rule` at `starts_at` (as local time in `zone`); every occurrence lasts
    /// `duration`. Fails with `invalid_rrule` when the rule does not hold with this start (an
    /// `UNTIL` that is not UTC, for example).
    pub fn new(
        rule: &Rule,
        zone: chrono_tz::Tz,
        starts_at: Timestamp,
        duration: Duration,
        exceptions: &[Timestamp],
    ) -> Result<Self, ValidationErrors> {
        let tz = Tz::Tz(zone);
        let mut set = rule
            .0
            .clone()
            .build(starts_at.with_timezone(&tz))
            .map_err(|e| invalid("invalid_rrule", format!("does not hold: {e}")))?;
        for exception in exceptions {
            set = set.exdate(exception.with_timezone(&tz));
        }
        Ok(Self { set, duration })
    }

    /// Occurrences `(start, end)` overlapping `[from, to)`, in order; `None` when there are more
    /// than `budget`.
    pub fn between(
        &self,
        from: Timestamp,
        to: Timestamp,
        budget: usize,
    ) -> Option<Vec<(Timestamp, Timestamp)>> {
        let mut found = Vec::new();
        for start in &self.set {
            let start = start.with_timezone(&Utc);
            if start >= to {
                break;
            }
            let end = start + self.duration;
            if end > from || (start >= from && self.duration.is_zero()) {
                if found.len() == budget {
                    return None;
                }
                found.push((start, end));
            }
        }
        Some(found)
    }

    /// When the last occurrence ends: `None` for an endless series (no `COUNT` or `UNTIL`, or
    /// too long to scan).
    pub fn ends_at(&self, rule: &Rule) -> Option<Timestamp> {
        if rule.0.get_count().is_none() && rule.0.get_until().is_none() {
            return None;
        }
        let mut last = None;
        for (n, start) in (&self.set).into_iter().enumerate() {
            if n == SERIES_SCAN {
                return None;
            }
            last = Some(start.with_timezone(&Utc) + self.duration);
        }
        // No occurrence at all: the series ends where it would have started.
        Some(last.unwrap_or_else(|| self.set.get_dt_start().with_timezone(&Utc)))
    }
}

/// A one-off event's only occurrence, if it overlaps `[from, to)`.
pub fn single(
    starts_at: Timestamp,
    ends_at: Timestamp,
    from: Timestamp,
    to: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    (starts_at < to && (ends_at > from || (starts_at == ends_at && starts_at >= from)))
        .then_some((starts_at, ends_at))
}

/// `2026-03-23T09:00:00` in `zone`, as an instant (tests and fixtures).
pub fn local(zone: chrono_tz::Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Timestamp {
    zone.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use chrono::Timelike as _;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Timestamp {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn series(rule: &str, zone: &str, start: Timestamp, exceptions: &[Timestamp]) -> Series {
        let rule = Rule::parse(rule).unwrap();
        Series::new(
            &rule,
            parse_zone(zone).unwrap(),
            start,
            Duration::hours(1),
            exceptions,
        )
        .unwrap()
    }

    #[test]
    fn a_london_series_keeps_its_local_time_across_both_changes() {
        let london = parse_zone("Europe/London").unwrap();
        // Weekly on Mondays at 09:00 London, from March to November 2026 (BST 29 Mar – 25 Oct).
        let s = series(
            "FREQ=WEEKLY;BYDAY=MO",
            "Europe/London",
            local(london, 2026, 3, 16, 9, 0),
            &[],
        );
        let got = s
            .between(utc(2026, 3, 16, 0, 0), utc(2026, 11, 3, 0, 0), 100)
            .unwrap();
        let hours: Vec<_> = got
            .iter()
            .map(|(s, _)| (s.date_naive(), s.hour()))
            .collect();
        assert_eq!(hours[0], (utc(2026, 3, 16, 0, 0).date_naive(), 9), "GMT");
        assert_eq!(hours[1], (utc(2026, 3, 23, 0, 0).date_naive(), 9), "GMT");
        assert_eq!(hours[2], (utc(2026, 3, 30, 0, 0).date_naive(), 8), "BST");
        let last_summer = hours
            .iter()
            .find(|(d, _)| *d == utc(2026, 10, 19, 0, 0).date_naive())
            .unwrap();
        assert_eq!(last_summer.1, 8, "BST until 25 October");
        let first_winter = hours
            .iter()
            .find(|(d, _)| *d == utc(2026, 10, 26, 0, 0).date_naive())
            .unwrap();
        assert_eq!(first_winter.1, 9, "GMT again");
        for (start, _) in &got {
            assert_eq!(start.with_timezone(&london).hour(), 9);
        }
    }

    #[test]
    fn a_johannesburg_series_has_no_shift() {
        let joburg = parse_zone("Africa/Johannesburg").unwrap();
        let s = series(
            "FREQ=DAILY;COUNT=300",
            "Africa/Johannesburg",
            local(joburg, 2026, 3, 1, 9, 0),
            &[],
        );
        let got = s
            .between(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0), 1000)
            .unwrap();
        assert_eq!(got.len(), 300);
        assert!(
            got.iter().all(|(s, _)| s.hour() == 7),
            "SAST is UTC+2 all year"
        );
    }

    #[test]
    fn exceptions_are_left_out_and_windows_cut_by_overlap() {
        let start = utc(2026, 5, 4, 10, 0);
        let skipped = utc(2026, 5, 6, 10, 0);
        let s = series("FREQ=DAILY;COUNT=5", "UTC", start, &[skipped]);
        let all = s
            .between(utc(2026, 5, 1, 0, 0), utc(2026, 6, 1, 0, 0), 10)
            .unwrap();
        assert_eq!(all.len(), 4);
        assert!(!all.iter().any(|(s, _)| *s == skipped));
        // An occurrence running over the window's start counts; one starting at its end does not.
        let cut = s
            .between(utc(2026, 5, 5, 10, 30), utc(2026, 5, 7, 10, 0), 10)
            .unwrap();
        assert_eq!(cut, vec![(utc(2026, 5, 5, 10, 0), utc(2026, 5, 5, 11, 0))]);
        assert_eq!(s.between(start, utc(2026, 6, 1, 0, 0), 3), None, "budget");
        let rule = Rule::parse("FREQ=DAILY;COUNT=5").unwrap();
        assert_eq!(s.ends_at(&rule), Some(utc(2026, 5, 8, 11, 0)));
        let endless = Rule::parse("FREQ=DAILY").unwrap();
        assert_eq!(
            series("FREQ=DAILY", "UTC", start, &[]).ends_at(&endless),
            None
        );
    }

    #[test]
    fn bad_rules_are_named() {
        for (raw, code) in [
            ("FREQ=SOMETIMES", "invalid_rrule"),
            ("", "invalid_rrule"),
            ("FREQ=DAILY\nRRULE:FREQ=DAILY", "invalid_rrule"),
            ("FREQ=MINUTELY", "unsupported_frequency"),
        ] {
            let err = Rule::parse(raw).unwrap_err();
            let issues = err.fields().values().flatten().collect::<Vec<_>>();
            assert_eq!(issues[0].code, code, "{raw:?}");
        }
        assert_eq!(
            Rule::parse("RRULE:FREQ=WEEKLY;BYDAY=MO")
                .unwrap()
                .as_string(),
            Rule::parse("FREQ=WEEKLY;BYDAY=MO").unwrap().as_string()
        );
        assert!(parse_zone("Mars/Olympus").is_err());
    }
}
