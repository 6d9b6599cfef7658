//! The agency's monthly calendar (BUSINESS.md §6): Japanese public holidays (国民の祝日)
//! computed from the law, business days, and the dates of billing month M — reception
//! deadline (受付締切), invoice date (請求日), the insurer's due date (保険者支払期日) and the
//! payment date to institutions (支払日).
//!
//! Holidays are computed, never typed in: fixed-date days, the Happy Monday rules
//! (成人の日, 海の日, 敬老の日, スポーツの日), the equinox days by the usual astronomical
//! approximation, 振替休日, 国民の休日, and the special days of 2019 (天皇の即位) and the
//! Olympic moves of 2020 and 2021. The rules are those in force from 1980; the equinox formula
//! is the one published for 1980–2099 (with the companion formulas for 1900–1979 and
//! 2100–2150), which is the range the calendar is meant for.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Weekday};
use jiff::tz::{TimeZone, offset};
use serde::{Deserialize, Serialize};

use crate::BillingError;

/// A billing month (請求月), "YYYY-MM".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i16,
    pub month: i8,
}

impl YearMonth {
    /// A month, checked: year 1900–9999, month 1–12.
    pub fn new(year: i16, month: i8) -> Result<YearMonth, BillingError> {
        if !(1900..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(BillingError::BadMonth {
                value: format!("{year:04}-{month:02}"),
            });
        }
        Ok(YearMonth { year, month })
    }

    /// The month a date falls in.
    pub fn of(d: Date) -> YearMonth {
        YearMonth {
            year: d.year(),
            month: d.month(),
        }
    }

    /// The following month (December → January of the next year).
    pub fn next(self) -> YearMonth {
        if self.month == 12 {
            YearMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The preceding month.
    pub fn prev(self) -> YearMonth {
        if self.month == 1 {
            YearMonth {
                year: self.year - 1,
                month: 12,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Day `day` of this month, clamped to the month's length (day 31 of February is its
    /// last day) and to at least 1.
    pub fn day(self, day: i8) -> Date {
        let first = self.first_day();
        let d = day.clamp(1, first.days_in_month());
        // In range by the clamp above and the checked year/month.
        Date::new(self.year, self.month, d).unwrap_or(first)
    }

    /// The first day of the month.
    pub fn first_day(self) -> Date {
        // YearMonth values are only built from valid dates or through `new`/`FromStr`,
        // which check the range; the fallback is never taken.
        Date::new(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// The last day of the month.
    pub fn last_day(self) -> Date {
        self.first_day().last_of_month()
    }

    /// Months from `self` to `other` (negative when `other` is earlier).
    pub fn months_until(self, other: YearMonth) -> i32 {
        (i32::from(other.year) * 12 + i32::from(other.month))
            - (i32::from(self.year) * 12 + i32::from(self.month))
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = BillingError;

    /// Parses exactly `YYYY-MM`.
    fn from_str(s: &str) -> Result<YearMonth, BillingError> {
        let bad = || BillingError::BadMonth {
            value: s.to_string(),
        };
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i16 = s[0..4].parse().map_err(|_| bad())?;
        let month: i8 = s[5..7].parse().map_err(|_| bad())?;
        YearMonth::new(year, month).map_err(|_| bad())
    }
}

impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<YearMonth, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Vernal equinox day (春分日) of March, by the approximation
/// `floor(A + 0.242194 × (y − 1980) − floor((y − 1980) / 4))`, in integer micro-days so no
/// float rounding can move a day.
fn equinox_day(year: i16, a_1900: i64, a_1980: i64, a_2100: i64) -> Option<i8> {
    let y = i64::from(year);
    let a = match y {
        1900..=1979 => a_1900,
        1980..=2099 => a_1980,
        2100..=2150 => a_2100,
        _ => return None,
    };
    let dy = y - 1980;
    // floor(x − n) = floor(x) − n for an integer n; div_euclid floors for negative dy too.
    let day = (a + 242_194 * dy).div_euclid(1_000_000) - dy.div_euclid(4);
    i8::try_from(day).ok()
}

/// 春分の日: day of March.
pub fn vernal_equinox(year: i16) -> Option<i8> {
    equinox_day(year, 20_835_700, 20_843_100, 21_851_000)
}

/// 秋分の日: day of September.
pub fn autumnal_equinox(year: i16) -> Option<i8> {
    equinox_day(year, 23_258_800, 23_248_800, 24_248_800)
}

/// True when `d` is the `nth` Monday of its month (Happy Monday rules).
fn is_nth_monday(d: Date, nth: i8) -> bool {
    d.weekday() == Weekday::Monday && (d.day() - 1) / 7 + 1 == nth
}

/// The statutory holiday (国民の祝日) on `d`, without 振替休日 and 国民の休日.
fn national_holiday(d: Date) -> Option<&'static str> {
    let (y, m, day) = (d.year(), d.month(), d.day());
    let name = match (m, day) {
        (1, 1) => "元日",
        (1, _) if y >= 2000 && is_nth_monday(d, 2) => "成人の日",
        (1, 15) if y < 2000 => "成人の日",
        (2, 11) => "建国記念の日",
        (2, 23) if y >= 2020 => "天皇誕生日",
        (2, 24) if y == 1989 => "昭和天皇の大喪の礼",
        (3, _) if vernal_equinox(y) == Some(day) => "春分の日",
        (4, 10) if y == 1959 => "皇太子明仁親王の結婚の儀",
        (4, 29) if y >= 2007 => "昭和の日",
        (4, 29) if y >= 1989 => "みどりの日",
        (4, 29) => "天皇誕生日",
        (5, 1) if y == 2019 => "天皇の即位の日",
        (5, 3) => "憲法記念日",
        (5, 4) if y >= 2007 => "みどりの日",
        (5, 5) => "こどもの日",
        (6, 9) if y == 1993 => "皇太子徳仁親王の結婚の儀",
        // 海の日: 7/20 from 1996, third Monday from 2003, moved for the Tokyo Olympics.
        (7, 23) if y == 2020 => "海の日",
        (7, 22) if y == 2021 => "海の日",
        (7, _) if y >= 2003 && y != 2020 && y != 2021 && is_nth_monday(d, 3) => "海の日",
        (7, 20) if (1996..2003).contains(&y) => "海の日",
        // スポーツの日 (体育の日 until 2019): moved to the Olympic opening days.
        (7, 24) if y == 2020 => "スポーツの日",
        (7, 23) if y == 2021 => "スポーツの日",
        // 山の日 from 2016, moved to the day after the Olympic closing ceremony.
        (8, 10) if y == 2020 => "山の日",
        (8, 8) if y == 2021 => "山の日",
        (8, 11) if y >= 2016 && y != 2020 && y != 2021 => "山の日",
        (9, 15) if y < 2003 => "敬老の日",
        (9, _) if y >= 2003 && is_nth_monday(d, 3) => "敬老の日",
        (9, _) if autumnal_equinox(y) == Some(day) => "秋分の日",
        (10, 10) if y < 2000 => "体育の日",
        (10, _) if (2000..2020).contains(&y) && is_nth_monday(d, 2) => "体育の日",
        (10, _) if y >= 2022 && is_nth_monday(d, 2) => "スポーツの日",
        (10, 22) if y == 2019 => "即位礼正殿の儀",
        (11, 3) => "文化の日",
        (11, 12) if y == 1990 => "即位礼正殿の儀",
        (11, 23) => "勤労感謝の日",
        (12, 23) if (1989..2019).contains(&y) => "天皇誕生日",
        _ => return None,
    };
    Some(name)
}

/// 振替休日: when a statutory holiday falls on a Sunday, the next day that is not itself a
/// holiday (from 2007; before, only the Monday) is a substitute holiday.
fn is_substitute_holiday(d: Date) -> bool {
    if national_holiday(d).is_some() {
        return false;
    }
    let Ok(mut prev) = d.yesterday() else {
        return false;
    };
    if d.year() < 2007 {
        return d.weekday() == Weekday::Monday && national_holiday(prev).is_some();
    }
    // Walk back over the run of holidays right before `d`; a Sunday in it moves here.
    while national_holiday(prev).is_some() {
        if prev.weekday() == Weekday::Sunday {
            return true;
        }
        match prev.yesterday() {
            Ok(p) => prev = p,
            Err(_) => return false,
        }
    }
    false
}

/// 国民の休日: a day between two statutory holidays that is not one itself (from 1986;
/// Sundays and substitute holidays were excluded before 2007, and a substitute holiday
/// still takes precedence).
fn is_citizens_holiday(d: Date) -> bool {
    if d.year() < 1986 || national_holiday(d).is_some() || is_substitute_holiday(d) {
        return false;
    }
    if d.year() < 2007 && d.weekday() == Weekday::Sunday {
        return false;
    }
    match (d.yesterday(), d.tomorrow()) {
        (Ok(a), Ok(b)) => national_holiday(a).is_some() && national_holiday(b).is_some(),
        _ => false,
    }
}

/// The name of the public holiday on `d` (国民の祝日, 振替休日 or 国民の休日), if any.
pub fn holiday_name(d: Date) -> Option<&'static str> {
    if let Some(n) = national_holiday(d) {
        Some(n)
    } else if is_substitute_holiday(d) {
        Some("振替休日")
    } else if is_citizens_holiday(d) {
        Some("国民の休日")
    } else {
        None
    }
}

/// Every public holiday of a year, in date order.
pub fn holidays_of_year(year: i16) -> Vec<(Date, &'static str)> {
    let Ok(mut d) = Date::new(year, 1, 1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while d.year() == year {
        if let Some(n) = holiday_name(d) {
            out.push((d, n));
        }
        match d.tomorrow() {
            Ok(t) => d = t,
            Err(_) => break,
        }
    }
    out
}

/// The agency's calendar (BUSINESS.md §6.2). Every date is configurable; the defaults are
/// the proposal of §6.2. Frozen into a closed month so the month's documents never change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// 受付締切日: reception deadline for month M (day of M; the next business day if it is
    /// not one). Records received by the end of that day (JST) are billed in M.
    pub deadline_day: i8,
    /// 請求日: the invoice date (day of M; the next business day if not one).
    pub invoice_day: i8,
    /// 保険者支払期日: the insurer pays the agency by this day of M (the previous business day
    /// if not one).
    pub insurer_due_day: i8,
    /// 支払日: the agency pays the institutions; 0 = the last business day of M, otherwise
    /// that day of M (the previous business day if not one).
    pub payment_day: i8,
    /// The agency's own closures (年末年始 etc.) as "MM-DD", every year.
    pub closed_days: Vec<String>,
}

impl Default for Calendar {
    fn default() -> Calendar {
        Calendar {
            deadline_day: 5,
            invoice_day: 12,
            insurer_due_day: 20,
            payment_day: 0,
            closed_days: ["12-29", "12-30", "12-31", "01-02", "01-03"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// Parses "MM-DD" into (month, day), checking the day exists in a leap year.
fn parse_month_day(s: &str) -> Option<(i8, i8)> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b'-' {
        return None;
    }
    let m: i8 = s[0..2].parse().ok()?;
    let d: i8 = s[3..5].parse().ok()?;
    Date::new(2024, m, d).ok().map(|_| (m, d))
}

/// At most this many days are searched for a business day; `Calendar::validate` keeps the
/// closures far below it, so the search always succeeds for a valid calendar.
const SEARCH_DAYS: usize = 40;

impl Calendar {
    /// Checks the calendar is usable: days 1–28 in the order deadline < invoice < due date ≤
    /// payment day (0 = month end), closed days well-formed and no more than 20 of them (so a
    /// business day is always found within a few days).
    pub fn validate(&self) -> Result<(), BillingError> {
        let bad = |en: String, ja: String| Err(BillingError::BadCalendar { en, ja });
        for (name, v) in [
            ("deadline_day", self.deadline_day),
            ("invoice_day", self.invoice_day),
            ("insurer_due_day", self.insurer_due_day),
        ] {
            if !(1..=28).contains(&v) {
                return bad(
                    format!("{name} must be between 1 and 28, got {v}"),
                    format!("{name} は 1〜28 で指定してください（{v}）"),
                );
            }
        }
        if !(0..=28).contains(&self.payment_day) {
            return bad(
                format!(
                    "payment_day must be 0 (month end) or 1..28, got {}",
                    self.payment_day
                ),
                format!(
                    "payment_day は 0（月末）または 1〜28 で指定してください（{}）",
                    self.payment_day
                ),
            );
        }
        let pay = if self.payment_day == 0 {
            31
        } else {
            self.payment_day
        };
        if !(self.deadline_day < self.invoice_day
            && self.invoice_day < self.insurer_due_day
            && self.insurer_due_day <= pay)
        {
            return bad(
                "the days must be in the order deadline < invoice < insurer due <= payment".into(),
                "締切日 < 請求日 < 保険者支払期日 <= 支払日 の順にしてください".into(),
            );
        }
        if self.closed_days.len() > 20 {
            return bad(
                format!("at most 20 closed days, got {}", self.closed_days.len()),
                format!("休業日は 20 日までです（{} 日）", self.closed_days.len()),
            );
        }
        for s in &self.closed_days {
            if parse_month_day(s).is_none() {
                return bad(
                    format!("closed day {s:?} is not MM-DD"),
                    format!("休業日 {s:?} は MM-DD 形式で指定してください"),
                );
            }
        }
        Ok(())
    }

    /// True when `d` is one of the agency's own closed days.
    pub fn is_closed_day(&self, d: Date) -> bool {
        self.closed_days
            .iter()
            .filter_map(|s| parse_month_day(s))
            .any(|(m, day)| d.month() == m && d.day() == day)
    }

    /// The first business day on or after `d`.
    pub fn on_or_after(&self, d: Date) -> Date {
        let mut x = d;
        for _ in 0..SEARCH_DAYS {
            if is_business_day(self, x) {
                return x;
            }
            match x.tomorrow() {
                Ok(t) => x = t,
                Err(_) => break,
            }
        }
        d
    }

    /// The last business day on or before `d`.
    pub fn on_or_before(&self, d: Date) -> Date {
        let mut x = d;
        for _ in 0..SEARCH_DAYS {
            if is_business_day(self, x) {
                return x;
            }
            match x.yesterday() {
                Ok(t) => x = t,
                Err(_) => break,
            }
        }
        d
    }

    /// 受付締切: the last day (JST) a record can arrive and still be billed in month `m`.
    pub fn deadline(&self, m: YearMonth) -> Date {
        self.on_or_after(m.day(self.deadline_day))
    }

    /// 請求日 of month `m`.
    pub fn invoice_date(&self, m: YearMonth) -> Date {
        self.on_or_after(m.day(self.invoice_day))
    }

    /// 保険者支払期日 of month `m`: brought forward, never late.
    pub fn insurer_due_date(&self, m: YearMonth) -> Date {
        self.on_or_before(m.day(self.insurer_due_day))
    }

    /// 支払日 to institutions for month `m`: brought forward, never late.
    pub fn payment_date(&self, m: YearMonth) -> Date {
        if self.payment_day == 0 {
            self.on_or_before(m.last_day())
        } else {
            self.on_or_before(m.day(self.payment_day))
        }
    }

    /// The billing month of a record received at `received`: the first month M whose
    /// deadline (the end of that day in Japan, UTC+9) is not before the receipt.
    pub fn billing_month_of(&self, received: jiff::Timestamp) -> YearMonth {
        let day = received.to_zoned(TimeZone::fixed(offset(9))).date();
        // A deadline can roll into the following month (a late deadline day followed by
        // holidays), so start one month early.
        let mut m = YearMonth::of(day).prev();
        for _ in 0..4 {
            if self.deadline(m) >= day {
                return m;
            }
            m = m.next();
        }
        m
    }
}

/// A business day (営業日): not Saturday or Sunday, not a public holiday, not one of the
/// agency's closed days.
pub fn is_business_day(cal: &Calendar, d: Date) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
        && holiday_name(d).is_none()
        && !cal.is_closed_day(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn equinoxes_match_the_published_days() {
        // 国立天文台 暦要項 values.
        for (y, spring, autumn) in [
            (2019, 21, 23),
            (2020, 20, 22),
            (2023, 21, 23),
            (2024, 20, 22),
            (2025, 20, 23),
            (2026, 20, 23),
            (2012, 20, 22),
            (1980, 20, 23),
        ] {
            assert_eq!(vernal_equinox(y), Some(spring), "春分 {y}");
            assert_eq!(autumnal_equinox(y), Some(autumn), "秋分 {y}");
        }
    }

    #[test]
    fn month_parsing_is_strict() {
        assert_eq!(
            "2026-03".parse::<YearMonth>().ok(),
            Some(YearMonth {
                year: 2026,
                month: 3
            })
        );
        for bad in [
            "2026-3",
            "2026-13",
            "2026-00",
            "26-03",
            "2026/03",
            "2026-03x",
            "２０２６-03",
        ] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
        }
        let m: YearMonth = "2026-12".parse().unwrap();
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.next().prev(), m);
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"2026-12\"");
        assert_eq!(serde_json::from_str::<YearMonth>("\"2026-12\"").unwrap(), m);
        assert_eq!(
            date(2026, 2, 1).to_string(),
            YearMonth::new(2026, 2).unwrap().first_day().to_string()
        );
        assert_eq!(YearMonth::new(2024, 2).unwrap().day(31), date(2024, 2, 29));
    }
}
