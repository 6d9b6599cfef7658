//! Japanese public holidays and the agency calendar (BUSINESS.md §6), against the Cabinet
//! Office's published lists (内閣府「国民の祝日について」).

use daiko_billing::calendar::*;
use jiff::civil::date;

fn ym(s: &str) -> YearMonth {
    s.parse().unwrap()
}

fn year_list(year: i16) -> Vec<(String, &'static str)> {
    holidays_of_year(year)
        .into_iter()
        .map(|(d, n)| (d.strftime("%m-%d").to_string(), n))
        .collect()
}

fn expect_year(year: i16, want: &[(&str, &str)]) {
    let got = year_list(year);
    let want: Vec<(String, &str)> = want.iter().map(|(d, n)| (d.to_string(), *n)).collect();
    assert_eq!(got, want, "holidays of {year}");
}

#[test]
fn holidays_2019_enthronement_year() {
    expect_year(
        2019,
        &[
            ("01-01", "元日"),
            ("01-14", "成人の日"),
            ("02-11", "建国記念の日"),
            ("03-21", "春分の日"),
            ("04-29", "昭和の日"),
            ("04-30", "国民の休日"),
            ("05-01", "天皇の即位の日"),
            ("05-02", "国民の休日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-15", "海の日"),
            ("08-11", "山の日"),
            ("08-12", "振替休日"),
            ("09-16", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-14", "体育の日"),
            ("10-22", "即位礼正殿の儀"),
            ("11-03", "文化の日"),
            ("11-04", "振替休日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn holidays_2020_olympic_moves() {
    expect_year(
        2020,
        &[
            ("01-01", "元日"),
            ("01-13", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("02-24", "振替休日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-23", "海の日"),
            ("07-24", "スポーツの日"),
            ("08-10", "山の日"),
            ("09-21", "敬老の日"),
            ("09-22", "秋分の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn holidays_2021_olympic_moves() {
    expect_year(
        2021,
        &[
            ("01-01", "元日"),
            ("01-11", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("07-22", "海の日"),
            ("07-23", "スポーツの日"),
            ("08-08", "山の日"),
            ("08-09", "振替休日"),
            ("09-20", "敬老の日"),
            ("09-23", "秋分の日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn holidays_2025() {
    expect_year(
        2025,
        &[
            ("01-01", "元日"),
            ("01-13", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("02-24", "振替休日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-21", "海の日"),
            ("08-11", "山の日"),
            ("09-15", "敬老の日"),
            ("09-23", "秋分の日"),
            ("10-13", "スポーツの日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
            ("11-24", "振替休日"),
        ],
    );
}

#[test]
fn holidays_2026_silver_week() {
    expect_year(
        2026,
        &[
            ("01-01", "元日"),
            ("01-12", "成人の日"),
            ("02-11", "建国記念の日"),
            ("02-23", "天皇誕生日"),
            ("03-20", "春分の日"),
            ("04-29", "昭和の日"),
            ("05-03", "憲法記念日"),
            ("05-04", "みどりの日"),
            ("05-05", "こどもの日"),
            ("05-06", "振替休日"),
            ("07-20", "海の日"),
            ("08-11", "山の日"),
            ("09-21", "敬老の日"),
            ("09-22", "国民の休日"),
            ("09-23", "秋分の日"),
            ("10-12", "スポーツの日"),
            ("11-03", "文化の日"),
            ("11-23", "勤労感謝の日"),
        ],
    );
}

#[test]
fn older_rules() {
    // 2009 and 2015 silver weeks; 2008's 振替 on the day after two holidays (from 2007);
    // 2006's 5/4 国民の休日 (before みどりの日 moved there); 1999's fixed 体育の日;
    // 1989 大喪の礼; 1990 即位礼; 1993 結婚の儀.
    for (d, name) in [
        (date(2009, 9, 22), "国民の休日"),
        (date(2015, 9, 22), "国民の休日"),
        (date(2008, 5, 6), "振替休日"),
        (date(2006, 5, 4), "国民の休日"),
        (date(2006, 4, 29), "みどりの日"),
        (date(1999, 10, 11), "振替休日"),
        (date(1999, 10, 10), "体育の日"),
        (date(1989, 2, 24), "昭和天皇の大喪の礼"),
        (date(1990, 11, 12), "即位礼正殿の儀"),
        (date(1993, 6, 9), "皇太子徳仁親王の結婚の儀"),
        (date(2018, 12, 24), "振替休日"),
        (date(2018, 12, 23), "天皇誕生日"),
    ] {
        assert_eq!(holiday_name(d), Some(name), "{d}");
    }
    for d in [
        date(2019, 12, 23), // no 天皇誕生日 in 2019
        date(2020, 10, 12), // スポーツの日 moved to July in 2020
        date(2021, 10, 11),
        date(2020, 8, 11),
        date(2021, 8, 11),
        date(2020, 7, 20),
        date(2021, 7, 19),
        date(2007, 5, 7),
    ] {
        assert_eq!(holiday_name(d), None, "{d}");
    }
}

#[test]
fn brief_dates() {
    assert_eq!(holiday_name(date(2026, 9, 22)), Some("国民の休日"));
    assert_eq!(holiday_name(date(2025, 2, 24)), Some("振替休日"));
    assert_eq!(holiday_name(date(2020, 7, 23)), Some("海の日"));
    assert_eq!(holiday_name(date(2020, 7, 24)), Some("スポーツの日"));
    assert_eq!(holiday_name(date(2021, 7, 22)), Some("海の日"));
    assert_eq!(holiday_name(date(2021, 7, 23)), Some("スポーツの日"));
    assert_eq!(holiday_name(date(2021, 8, 9)), Some("振替休日"));
    assert_eq!(holiday_name(date(2019, 5, 1)), Some("天皇の即位の日"));
    assert_eq!(holiday_name(date(2019, 4, 30)), Some("国民の休日"));
}

#[test]
fn equinoxes_over_the_formula_range_stay_in_their_windows() {
    for y in 1980..=2099 {
        let s = vernal_equinox(y).unwrap();
        let a = autumnal_equinox(y).unwrap();
        assert!((19..=21).contains(&s), "春分 {y}: {s}");
        assert!((22..=24).contains(&a), "秋分 {y}: {a}");
    }
    assert_eq!(vernal_equinox(2099), Some(20));
    assert_eq!(autumnal_equinox(2044), Some(22)); // published 2044 autumnal equinox on 9/22
}

#[test]
fn business_days() {
    let cal = Calendar::default();
    assert!(is_business_day(&cal, date(2026, 3, 5)));
    assert!(!is_business_day(&cal, date(2026, 3, 7))); // Saturday
    assert!(!is_business_day(&cal, date(2026, 3, 8))); // Sunday
    assert!(!is_business_day(&cal, date(2026, 3, 20))); // 春分の日
    assert!(!is_business_day(&cal, date(2026, 12, 29))); // agency closure
    assert!(!is_business_day(&cal, date(2027, 1, 3)));
    assert!(is_business_day(&cal, date(2027, 1, 4)));
}

#[test]
fn month_dates_with_the_default_calendar() {
    let cal = Calendar::default();
    cal.validate().unwrap();
    // Deadline: the 5th or the next business day.
    assert_eq!(cal.deadline(ym("2026-03")), date(2026, 3, 5));
    assert_eq!(cal.deadline(ym("2026-04")), date(2026, 4, 6)); // 5th a Sunday
    assert_eq!(cal.deadline(ym("2026-05")), date(2026, 5, 7)); // こどもの日, 振替休日
    assert_eq!(cal.deadline(ym("2025-01")), date(2025, 1, 6));
    // Invoice date: the 12th or the next business day.
    assert_eq!(cal.invoice_date(ym("2026-09")), date(2026, 9, 14)); // 12th a Saturday
    assert_eq!(cal.invoice_date(ym("2026-03")), date(2026, 3, 12));
    // Insurer due date: the 20th, brought forward.
    assert_eq!(cal.insurer_due_date(ym("2026-09")), date(2026, 9, 18)); // 20th a Sunday
    assert_eq!(cal.insurer_due_date(ym("2026-03")), date(2026, 3, 19)); // 20th 春分の日
    // Payment: last business day.
    assert_eq!(cal.payment_date(ym("2026-12")), date(2026, 12, 28)); // 29-31 closed
    assert_eq!(cal.payment_date(ym("2026-01")), date(2026, 1, 30)); // 31st a Saturday
    assert_eq!(cal.payment_date(ym("2026-05")), date(2026, 5, 29));
    assert_eq!(cal.payment_date(ym("2026-03")), date(2026, 3, 31));
}

#[test]
fn configured_calendar() {
    let cal = Calendar {
        deadline_day: 2,
        invoice_day: 10,
        insurer_due_day: 25,
        payment_day: 27,
        closed_days: vec!["01-02".into(), "01-05".into()],
    };
    cal.validate().unwrap();
    // 1/2 closed, 3rd Saturday, 4th Sunday, 5th closed → 6th.
    assert_eq!(cal.deadline(ym("2026-01")), date(2026, 1, 6));
    assert_eq!(cal.payment_date(ym("2026-09")), date(2026, 9, 25)); // 27th a Sunday
    assert_eq!(cal.payment_date(ym("2026-02")), date(2026, 2, 27));
    // The calendar is frozen into a closed month as JSON.
    let json = serde_json::to_string(&cal).unwrap();
    let back: Calendar = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cal);
}

#[test]
fn invalid_calendars_are_refused() {
    let base = Calendar::default();
    for bad in [
        Calendar {
            deadline_day: 0,
            ..base.clone()
        },
        Calendar {
            deadline_day: 29,
            ..base.clone()
        },
        Calendar {
            invoice_day: 4,
            ..base.clone()
        },
        Calendar {
            insurer_due_day: 11,
            ..base.clone()
        },
        Calendar {
            payment_day: 19,
            ..base.clone()
        },
        Calendar {
            payment_day: -1,
            ..base.clone()
        },
        Calendar {
            closed_days: vec!["1-3".into()],
            ..base.clone()
        },
        Calendar {
            closed_days: vec!["02-30".into()],
            ..base.clone()
        },
        Calendar {
            closed_days: (1..=21).map(|d| format!("08-{d:02}")).collect(),
            ..base.clone()
        },
    ] {
        let err = bad.validate().unwrap_err();
        assert!(!err.to_string().is_empty() && !err.message_ja().is_empty());
    }
    assert!(serde_json::from_str::<Calendar>(r#"{"deadline_day":5}"#).is_err());
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn billing_month_of_a_receipt_uses_the_end_of_the_deadline_day_in_japan() {
    let cal = Calendar::default();
    // 2026-03-05 23:59:59 JST is still March's window; one second later is April's.
    assert_eq!(
        cal.billing_month_of(ts("2026-03-05T14:59:59Z")),
        ym("2026-03")
    );
    assert_eq!(
        cal.billing_month_of(ts("2026-03-05T15:00:00Z")),
        ym("2026-04")
    );
    // The early hours of the 1st (JST) belong to the new month even when UTC is still on
    // the last day of the previous one.
    assert_eq!(
        cal.billing_month_of(ts("2026-02-28T16:00:00Z")),
        ym("2026-03")
    );
    // Golden week moves May's deadline to the 7th.
    assert_eq!(
        cal.billing_month_of(ts("2026-05-07T10:00:00Z")),
        ym("2026-05")
    );
    assert_eq!(
        cal.billing_month_of(ts("2026-05-08T01:00:00Z")),
        ym("2026-06")
    );
    // Year end.
    assert_eq!(
        cal.billing_month_of(ts("2026-12-20T00:00:00Z")),
        ym("2027-01")
    );
    // A deadline late in the month that rolls into the next month keeps receipts of the
    // next month's first days in the earlier month.
    let late = Calendar {
        deadline_day: 28,
        ..Calendar::default()
    };
    // 2026-02-28 is a Saturday → deadline Monday 2026-03-02.
    assert_eq!(late.deadline(ym("2026-02")), date(2026, 3, 2));
    assert_eq!(
        late.billing_month_of(ts("2026-03-01T03:00:00Z")),
        ym("2026-02")
    );
    assert_eq!(
        late.billing_month_of(ts("2026-03-03T03:00:00Z")),
        ym("2026-03")
    );
}

#[test]
fn rules_hold_for_every_day_and_month_1980_to_2099() {
    let cal = Calendar::default();
    let mut d = date(1980, 1, 1);
    while d.year() <= 2099 {
        let name = holiday_name(d);
        let prev = d.yesterday().unwrap();
        let next = d.tomorrow().unwrap();
        match name {
            // A substitute holiday follows a run of holidays that contains a Sunday.
            Some("振替休日") => {
                let mut x = prev;
                let mut sunday = false;
                while holiday_name(x).is_some() {
                    sunday |= x.weekday() == jiff::civil::Weekday::Sunday;
                    x = x.yesterday().unwrap();
                }
                assert!(sunday, "{d}: 振替休日 without a Sunday holiday before it");
            }
            // A citizens' holiday sits between two holidays.
            Some("国民の休日") => {
                assert!(
                    holiday_name(prev).is_some() && holiday_name(next).is_some(),
                    "{d}"
                );
            }
            _ => {}
        }
        // Every Sunday holiday is followed by a substitute day in the same run.
        if name.is_some() && name != Some("振替休日") && d.weekday() == jiff::civil::Weekday::Sunday
        {
            let mut x = next;
            while holiday_name(x).is_some() && holiday_name(x) != Some("振替休日") {
                x = x.tomorrow().unwrap();
            }
            assert_eq!(
                holiday_name(x),
                Some("振替休日"),
                "{d}: no 振替休日 after a Sunday holiday"
            );
        }
        d = next;
    }
    let mut m = ym("1980-01");
    while m.year <= 2099 {
        for (what, x) in [
            ("deadline", cal.deadline(m)),
            ("invoice", cal.invoice_date(m)),
            ("due", cal.insurer_due_date(m)),
            ("payment", cal.payment_date(m)),
        ] {
            assert!(
                is_business_day(&cal, x),
                "{m} {what} {x} is not a business day"
            );
            assert_eq!(YearMonth::of(x), m, "{m} {what} {x} left the month");
        }
        assert!(cal.deadline(m) < cal.invoice_date(m));
        assert!(cal.invoice_date(m) < cal.insurer_due_date(m));
        assert!(cal.insurer_due_date(m) <= cal.payment_date(m));
        m = m.next();
    }
}
