//! Time on a service day: seconds since "noon minus 12 h" of the service date, as GTFS counts
//! them. Values may exceed 24:00:00 (a trip running past midnight) and may be negative (a trip
//! of the previous service day, seen from this one).
//!
//! Integers only: no floats and no time zones here. The caller turns a wall-clock instant into
//! a service date and a [`ServiceTime`] in the city's time zone.

use std::fmt;

/// Seconds in a service day.
pub const DAY_S: i32 = 86_400;

/// Latest time accepted in a feed (GTFS allows trips to run well past midnight): 7 days.
pub const SERVICE_TIME_S_MAX: i32 = 7 * DAY_S;

/// Seconds since noon-minus-12h of a service date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceTime(i32);

/// Why a time text was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad time {text:?}: expected H:MM:SS or HH:MM:SS")]
pub struct TimeError {
    /// The text as given.
    pub text: String,
}

impl ServiceTime {
    /// Midnight at the start of the service day.
    pub const MIDNIGHT: Self = Self(0);

    /// A time from seconds; `None` outside ±[`SERVICE_TIME_S_MAX`].
    pub fn from_seconds(seconds: i32) -> Option<Self> {
        (-SERVICE_TIME_S_MAX..=SERVICE_TIME_S_MAX)
            .contains(&seconds)
            .then_some(Self(seconds))
    }

    /// A time from hours, minutes and seconds (hours may exceed 23).
    pub fn from_hms(hours: u32, minutes: u32, seconds: u32) -> Option<Self> {
        if minutes >= 60 || seconds >= 60 {
            return None;
        }
        let total = hours
            .checked_mul(3600)?
            .checked_add(minutes * 60 + seconds)?;
        Self::from_seconds(i32::try_from(total).ok()?)
    }

    /// Parses `H:MM:SS` / `HH:MM:SS` (surrounding spaces allowed, hours may exceed 24).
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        parse_hms(text.trim()).ok_or_else(|| TimeError {
            text: text.to_owned(),
        })
    }

    /// Seconds since noon-minus-12h.
    pub const fn seconds(self) -> i32 {
        self.0
    }
}

fn parse_hms(text: &str) -> Option<ServiceTime> {
    let mut parts = text.split(':');
    let hours = parts.next()?;
    let minutes = parts.next()?;
    let seconds = parts.next()?;
    if parts.next().is_some() || hours.is_empty() || hours.len() > 3 {
        return None;
    }
    if minutes.len() != 2 || seconds.len() != 2 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || !digits(minutes) || !digits(seconds) {
        return None;
    }
    ServiceTime::from_hms(
        hours.parse().ok()?,
        minutes.parse().ok()?,
        seconds.parse().ok()?,
    )
}

impl fmt::Display for ServiceTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let total = self.0.unsigned_abs();
        write!(
            f,
            "{sign}{:02}:{:02}:{:02}",
            total / 3600,
            total / 60 % 60,
            total % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gtfs_times_including_past_midnight() {
        assert_eq!(
            ServiceTime::parse(" 5:49:00").map(ServiceTime::seconds),
            Ok(20_940)
        );
        assert_eq!(
            ServiceTime::parse("25:01:02").map(ServiceTime::seconds),
            Ok(90_062)
        );
        assert!(ServiceTime::parse("7:60:00").is_err());
        assert!(ServiceTime::parse("07:5:00").is_err());
        assert!(ServiceTime::parse("x7:05:00").is_err());
        assert!(ServiceTime::parse("").is_err());
    }

    #[test]
    fn formats_hours_beyond_a_day() {
        let time = ServiceTime::from_hms(26, 3, 4);
        assert_eq!(time.map(|t| t.to_string()).as_deref(), Some("26:03:04"));
    }
}
