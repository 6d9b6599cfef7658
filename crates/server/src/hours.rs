//! Service hours (S27): 6:00-25:00 JST by default, i.e. until 1:00 the next morning. Japan
//! has no daylight saving, so JST is a fixed UTC+9.

use jiff::Timestamp;

/// Opening hours as minutes after JST midnight; `end` may pass 24:00 (up to 30:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceHours {
    start: u32,
    end: u32,
    always: bool,
}

impl Default for ServiceHours {
    fn default() -> Self {
        ServiceHours {
            start: 6 * 60,
            end: 25 * 60,
            always: false,
        }
    }
}

/// Minutes after midnight, JST, of a moment.
pub fn jst_minutes(now: Timestamp) -> u32 {
    let secs = now.as_second() + 9 * 3600;
    (secs.rem_euclid(86_400) / 60) as u32
}

/// The JST calendar date of a moment.
pub fn jst_date(now: Timestamp) -> jiff::civil::Date {
    now.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9)))
        .date()
}

impl ServiceHours {
    /// `HH:MM-HH:MM` (end after start, at most 30:00) or `always`.
    pub fn parse(s: &str) -> Option<ServiceHours> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("always") {
            return Some(ServiceHours {
                start: 0,
                end: 24 * 60,
                always: true,
            });
        }
        let (a, b) = s.split_once('-')?;
        let hm = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60).then_some(h * 60 + m)
        };
        let (start, end) = (hm(a)?, hm(b)?);
        (start < 24 * 60 && end > start && end <= 30 * 60 && end - start <= 24 * 60).then_some(
            ServiceHours {
                start,
                end,
                always: false,
            },
        )
    }

    pub fn is_always(&self) -> bool {
        self.always || self.end - self.start >= 24 * 60
    }

    /// Whether the service is open at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        if self.is_always() {
            return true;
        }
        let m = jst_minutes(now);
        (m >= self.start && m < self.end.min(24 * 60))
            || (self.end > 24 * 60 && m < self.end - 24 * 60)
    }

    /// The hours as people read them, e.g. `06:00-25:00`.
    pub fn describe(&self) -> String {
        if self.is_always() {
            return "always".into();
        }
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(jst: &str) -> Timestamp {
        // "HH:MM" on 2026-11-24 JST
        let utc: Timestamp = format!("2026-11-24T{jst}:00+09:00").parse().unwrap();
        utc
    }

    #[test]
    fn default_hours_wrap_past_midnight() {
        let h = ServiceHours::default();
        assert!(!h.is_open(at("05:59")));
        assert!(h.is_open(at("06:00")));
        assert!(h.is_open(at("23:59")));
        assert!(h.is_open(at("00:30")));
        assert!(h.is_open(at("00:59")));
        assert!(!h.is_open(at("01:00")));
        assert!(!h.is_open(at("03:00")));
        assert_eq!(h.describe(), "06:00-25:00");
    }

    #[test]
    fn parse() {
        assert!(ServiceHours::parse("always").unwrap().is_open(at("03:00")));
        assert!(ServiceHours::parse("09:00-17:30").is_some());
        assert!(ServiceHours::parse("17:00-09:00").is_none());
        assert!(ServiceHours::parse("06:00-31:00").is_none());
        assert!(ServiceHours::parse("6-7").is_none());
    }
}
