//! The time zones Microsoft Graph names, read as IANA zones.
//!
//! Graph gives an event's `start.timeZone`/`end.timeZone` and a series'
//! `recurrence.range.recurrenceTimeZone` as Windows zone names ("Pacific Standard Time") unless
//! the client asked otherwise, and sometimes as IANA names. A series read in a zone it does not
//! know would repeat in UTC and drift an hour across each daylight-saving change, so a Windows
//! name is mapped to its IANA zone by the `windows-timezones` crate: its table is generated from
//! Unicode CLDR's `windowsZones.xml` (CLDR 46.1 in 0.5), each Windows zone to the zone of its
//! territory "001" entry (CLDR's default for it), e.g. "Pacific Standard Time" to
//! `America/Los_Angeles`, and it covers every Windows zone CLDR lists. A name neither maps to is
//! `None` (Graph's custom zones, `tzone://Microsoft/Custom`): the caller falls back on UTC.

use std::str::FromStr as _;

use chrono_tz::Tz;
use windows_timezones::WindowsTimezone;

/// The IANA zone of `name`, an IANA name or a Windows one.
pub(crate) fn zone_of(name: &str) -> Option<Tz> {
    let name = name.trim();
    if let Ok(zone) = name.parse::<Tz>() {
        return Some(zone);
    }
    WindowsTimezone::from_str(name).ok().map(Tz::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CLDR's territory "001" zones of the main business regions' Windows names, and IANA names
    /// read as they are.
    #[test]
    fn windows_names_read_as_their_cldr_zones() {
        for (windows, iana) in [
            ("Pacific Standard Time", "America/Los_Angeles"),
            ("Mountain Standard Time", "America/Denver"),
            ("Central Standard Time", "America/Chicago"),
            ("Eastern Standard Time", "America/New_York"),
            ("GMT Standard Time", "Europe/London"),
            ("W. Europe Standard Time", "Europe/Berlin"),
            ("Romance Standard Time", "Europe/Paris"),
            ("Central European Standard Time", "Europe/Warsaw"),
            ("E. South America Standard Time", "America/Sao_Paulo"),
            ("India Standard Time", "Asia/Calcutta"),
            ("China Standard Time", "Asia/Shanghai"),
            ("Tokyo Standard Time", "Asia/Tokyo"),
            ("Singapore Standard Time", "Asia/Singapore"),
            ("AUS Eastern Standard Time", "Australia/Sydney"),
            ("South Africa Standard Time", "Africa/Johannesburg"),
            ("Arabian Standard Time", "Asia/Dubai"),
            ("UTC", "UTC"),
        ] {
            assert_eq!(zone_of(windows).map(|z| z.name()), Some(iana), "{windows}");
        }
        assert_eq!(zone_of("Europe/London"), Some(chrono_tz::Europe::London));
        assert_eq!(zone_of("tzone://Microsoft/Custom"), None);
        assert_eq!(zone_of("Customized Time Zone"), None);
    }
}
