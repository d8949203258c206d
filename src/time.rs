//! Timestamps: seconds since the Unix epoch, UTC, with the two date layouts purchase logs use.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time, in whole seconds since 1970-01-01 00:00:00 UTC.
///
/// Plain seconds keep the type trivially copyable across the C and WASM boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// Seconds in a day.
pub const DAY: i64 = 86_400;

impl Timestamp {
    /// Builds a timestamp from calendar fields; `None` when a field is out of range.
    ///
    /// ```
    /// use rapport::Timestamp;
    /// let t = Timestamp::from_ymd_hms(2011, 12, 9, 12, 50, 0).unwrap();
    /// assert_eq!(t.to_string(), "2011-12-09 12:50:00");
    /// assert!(Timestamp::from_ymd_hms(2011, 2, 30, 0, 0, 0).is_none());
    /// ```
    pub fn from_ymd_hms(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    ) -> Option<Self> {
        let date = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
        let dt = date.and_hms_opt(hour, min, sec)?;
        Some(Timestamp(dt.and_utc().timestamp()))
    }

    /// Parses `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD`,
    /// and the original Online Retail `M/D/YYYY H:MM`. Trailing `Z` is accepted; other zones are not.
    /// Fractional seconds (`08:26:00.250`) are dropped.
    /// The year has four digits: `12/1/10` is `None`, not a date in the year 10.
    ///
    /// ```
    /// use rapport::Timestamp;
    /// assert_eq!(Timestamp::parse("12/1/2010 8:26"), Timestamp::parse("2010-12-01 08:26:00"));
    /// assert!(Timestamp::parse("yesterday").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_suffix('Z').unwrap_or(s);
        if s.contains('/') {
            // M/D/YYYY[ H:MM[:SS]]
            let (date, time) = match s.split_once(' ') {
                Some((d, t)) => (d, Some(t.trim())),
                None => (s, None),
            };
            let mut it = date.split('/');
            let month = num(it.next()?)?;
            let day = num(it.next()?)?;
            let year = year(it.next()?)?;
            if it.next().is_some() {
                return None;
            }
            let (h, mi, sec) = match time {
                Some(t) => hms(t)?,
                None => (0, 0, 0),
            };
            return Self::from_ymd_hms(year, month, day, h, mi, sec);
        }
        let (date, time) = match s.split_once([' ', 'T']) {
            Some((d, t)) => (d, Some(t.trim())),
            None => (s, None),
        };
        let mut it = date.split('-');
        let year = year(it.next()?)?;
        let month = num(it.next()?)?;
        let day = num(it.next()?)?;
        if it.next().is_some() {
            return None;
        }
        let (h, mi, sec) = match time {
            Some(t) => hms(t)?,
            None => (0, 0, 0),
        };
        Self::from_ymd_hms(year, month, day, h, mi, sec)
    }

    /// Days from `earlier` to `self` (fractional; negative if `earlier` is later). Defined for
    /// any two timestamps: the difference is taken in 128-bit integers, so it cannot overflow.
    pub fn days_since(self, earlier: Timestamp) -> f64 {
        (i128::from(self.0) - i128::from(earlier.0)) as f64 / DAY as f64
    }

    /// This timestamp moved by a (possibly fractional, possibly negative) number of days.
    /// Moves past the ends of the `i64` range stop at `i64::MIN` / `i64::MAX`; a NaN move is 0.
    pub fn plus_days(self, days: f64) -> Timestamp {
        // `as` saturates out-of-range floats and maps NaN to 0
        let moved = i128::from(self.0).saturating_add((days * DAY as f64).round() as i128);
        Timestamp(moved.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
    }

    /// Hour of the day (0–23), UTC.
    pub fn hour(self) -> u32 {
        (self.0.rem_euclid(DAY) / 3600) as u32
    }
}

/// A year of exactly four digits: a two-digit year (`12/1/10`) would otherwise read as the
/// year 10.
fn year(s: &str) -> Option<i32> {
    if s.len() != 4 {
        return None;
    }
    num(s).map(|y| y as i32)
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn hms(t: &str) -> Option<(u32, u32, u32)> {
    let mut it = t.split(':');
    let h = num(it.next()?)?;
    let m = num(it.next()?)?;
    let s = match it.next() {
        // fractional seconds (`08:26:00.250`) are dropped, but must be digits
        Some(x) => match x.split_once('.') {
            Some((s, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => {
                num(s)?
            }
            Some(_) => return None,
            None => num(x)?,
        },
        None => 0,
    };
    if it.next().is_some() {
        return None;
    }
    Some((h, m, s))
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        // chrono's `%Y-%m-%d %H:%M:%S` written out: its strftime machinery is about 15 KB
        // of the WebAssembly module. Years outside 0..=9999 carry a sign, as `%Y` gives them.
        let Some(dt) = chrono::DateTime::from_timestamp(self.0, 0) else {
            return write!(f, "@{}", self.0);
        };
        let y = dt.year();
        if (0..=9999).contains(&y) {
            write!(f, "{y:04}")?;
        } else {
            write!(f, "{y:+05}")?;
        }
        write!(
            f,
            "-{:02}-{:02} {:02}:{:02}:{:02}",
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written-out format matches chrono's `%Y-%m-%d %H:%M:%S` everywhere, signed years
    /// included; beyond chrono's range a timestamp prints as `@seconds`.
    #[test]
    fn display_matches_chrono_strftime() {
        let day = 86_400i64;
        let mut cases = vec![0, 1, -1, 1_291_192_000, 253_402_300_799, 253_402_300_800];
        cases.extend([
            -62_135_596_800,
            -62_135_596_801,
            -62_167_219_200,
            -62_167_219_201,
        ]);
        cases.extend([3_000_000_000_000, -3_000_000_000_000, 8_210_266_876_799]);
        cases.extend((-800..800).map(|k| k * 365 * day * 7 + k * 3_601));
        for t in cases {
            let want = chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(Timestamp(t).to_string(), want, "{t}");
        }
        assert_eq!(Timestamp(i64::MAX).to_string(), format!("@{}", i64::MAX));
    }

    #[test]
    fn parses_both_layouts() {
        let a = Timestamp::parse("2010-12-01 08:26:00").unwrap();
        assert_eq!(Timestamp::parse("12/1/2010 8:26"), Some(a));
        assert_eq!(Timestamp::parse("2010-12-01T08:26:00Z"), Some(a));
        assert_eq!(Timestamp::parse("2010-12-01 08:26"), Some(a));
        assert_eq!(Timestamp::parse("2010-12-01 08:26:00.250"), Some(a));
        assert_eq!(Timestamp::parse("12/1/2010 8:26:00.9"), Some(a));
        assert_eq!(a.0, 1_291_191_960);
        assert_eq!(Timestamp::parse("2010-12-01").unwrap().0, 1_291_161_600);
    }

    #[test]
    fn rejects_bad_dates() {
        for bad in [
            "",
            "2010-13-01",
            "2010-02-30 00:00:00",
            "13/1/2010 8:26",
            "2010-12-01 25:00:00",
            "x/y/z",
            "2010-12-01-02",
            "1/2/3/4",
            "2010-12-01 08:26:00.",
            "2010-12-01 08:26:00.xyz",
            "2010-12-01 08:26:00.5.5",
            "12/1/2010 8:26:00.junk",
            "2010-12-01 08:26:.5",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn day_arithmetic() {
        let a = Timestamp::parse("2011-01-01").unwrap();
        let b = a.plus_days(1.5);
        assert_eq!(b.days_since(a), 1.5);
        assert_eq!(b.hour(), 12);
    }
}
