//! Target selection: Japanese age reckoning at both ends, reference date, exclusions,
//! member-type filters.

use daiko_invite::roster::{CardKey, Exclusion, Member, MemberType, Sex};
use daiko_invite::targets::{NotTarget, TargetRules, age_on, attains_age, decide};
use jiff::civil::{Date, date};
use std::collections::BTreeSet;

fn member(birth: Date) -> Member {
    Member {
        line: 2,
        card: CardKey::new("A", "1", ""),
        name: "甲".into(),
        name_kana: "コウ".into(),
        sex: Sex::Female,
        birth_date: birth,
        postal_code: String::new(),
        address1: String::new(),
        address2: String::new(),
        address3: String::new(),
        insured_from: date(1990, 4, 1),
        insured_to: None,
        member_type: MemberType::Dependant,
        exclusions: vec![],
        returned_mail: false,
    }
}

fn codes(m: &Member, rules: &TargetRules) -> Vec<&'static str> {
    decide(m, rules).reasons.iter().map(|r| r.code()).collect()
}

#[test]
fn age_law_attains_on_the_eve_of_the_birthday() {
    assert_eq!(attains_age(date(1985, 4, 1), 40), date(2025, 3, 31));
    assert_eq!(attains_age(date(1985, 4, 2), 40), date(2025, 4, 1));
    // 29 February: attains on 28 February in common years, on 28 February in leap years too
    assert_eq!(attains_age(date(1984, 2, 29), 41), date(2025, 2, 28));
    assert_eq!(attains_age(date(1984, 2, 29), 40), date(2024, 2, 28));
    // 1 March born in a leap year: the eve is 29 February when it exists
    assert_eq!(attains_age(date(1984, 3, 1), 40), date(2024, 2, 29));
    assert_eq!(attains_age(date(1984, 3, 1), 41), date(2025, 2, 28));
    assert_eq!(age_on(date(1985, 4, 1), date(2025, 3, 30)), 39);
    assert_eq!(age_on(date(1985, 4, 1), date(2025, 3, 31)), 40);
    assert_eq!(age_on(date(2000, 1, 1), date(1999, 1, 1)), 0);
}

#[test]
fn lower_boundary_fy2024() {
    let r = TargetRules::new(2024);
    assert!(
        decide(&member(date(1985, 4, 1)), &r).target,
        "born 1985-04-01 is 40 in FY2024"
    );
    assert_eq!(decide(&member(date(1985, 4, 1)), &r).age_at_fy_end, 40);
    assert_eq!(codes(&member(date(1985, 4, 2)), &r), vec!["too_young"]);
    assert_eq!(decide(&member(date(1985, 4, 2)), &r).age_at_fy_end, 39);
    assert!(decide(&member(date(1984, 4, 2)), &r).target);
    assert!(decide(&member(date(1985, 3, 31)), &r).target);
    match &decide(&member(date(1985, 4, 2)), &r).reasons[0] {
        NotTarget::TooYoung { attains_40 } => assert_eq!(*attains_40, date(2025, 4, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn upper_boundary_fy2024() {
    let r = TargetRules::new(2024);
    // attained 75 on 2024-03-31, before the year: not a target
    assert_eq!(codes(&member(date(1949, 4, 1)), &r), vec!["too_old"]);
    // attains 75 on 2024-04-01 (birthday 2024-04-02): a target, covered until 2024-04-01
    let d = decide(&member(date(1949, 4, 2)), &r);
    assert!(d.target);
    assert_eq!(d.eligible_until, date(2024, 4, 1));
    // turns 75 in the middle of the year: target until the day before the birthday
    let d = decide(&member(date(1949, 10, 15)), &r);
    assert!(d.target);
    assert_eq!(d.eligible_until, date(2024, 10, 14));
    // turns 75 only after the year: eligible all year
    let d = decide(&member(date(1950, 4, 2)), &r);
    assert!(d.target);
    assert_eq!(d.eligible_until, date(2025, 3, 31));
    assert_eq!(d.age_at_fy_end, 74);
    // 75th birthday on 1 April FY+1 (born 1950-04-01): attains 75 on 2025-03-31, target all year
    let d = decide(&member(date(1950, 4, 1)), &r);
    assert!(d.target);
    assert_eq!(d.eligible_until, date(2025, 3, 31));
    assert_eq!(d.age_at_fy_end, 75);
}

#[test]
fn every_day_around_both_boundaries() {
    // Exhaustive: targets are exactly those born 1949-04-02 ..= 1985-04-01 for FY2024.
    let r = TargetRules::new(2024);
    let (lo, hi) = (date(1949, 4, 2), date(1985, 4, 1));
    for start in [date(1949, 1, 1), date(1985, 1, 1)] {
        let mut d = start;
        for _ in 0..200 {
            let want = lo <= d && d <= hi;
            assert_eq!(decide(&member(d), &r).target, want, "born {d}");
            d = d.tomorrow().unwrap();
        }
    }
}

#[test]
fn reference_date_and_insured_period() {
    let mut m = member(date(1970, 1, 1));
    let mut r = TargetRules::new(2024);
    m.insured_from = date(2024, 4, 1);
    assert!(
        decide(&m, &r).target,
        "insured from the reference date itself"
    );
    m.insured_from = date(2024, 4, 2);
    assert_eq!(codes(&m, &r), vec!["not_insured"]);
    r.reference_date = Some(date(2024, 6, 1));
    assert!(decide(&m, &r).target, "configurable reference date");
    m.insured_from = date(2000, 4, 1);
    m.insured_to = Some(date(2024, 5, 31));
    assert_eq!(codes(&m, &r), vec!["not_insured"]);
    m.insured_to = Some(date(2024, 6, 1));
    let d = decide(&m, &r);
    assert!(d.target);
    assert_eq!(
        d.eligible_until,
        date(2024, 6, 1),
        "last insured day bounds eligibility"
    );
}

#[test]
fn each_exclusion_and_all_reasons_reported() {
    let r = TargetRules::new(2024);
    for e in Exclusion::ALL {
        let mut m = member(date(1970, 1, 1));
        m.exclusions = vec![e];
        let d = decide(&m, &r);
        assert!(!d.target);
        assert_eq!(d.reasons, vec![NotTarget::Excluded { exclusion: e }]);
        assert!(!d.reasons[0].ja().is_empty() && !d.reasons[0].en().is_empty());
    }
    let mut m = member(date(1990, 1, 1));
    m.exclusions = vec![Exclusion::Abroad, Exclusion::Prison];
    m.insured_from = date(2025, 1, 1);
    assert_eq!(
        codes(&m, &r),
        vec!["too_young", "not_insured", "excluded", "excluded"]
    );
}

#[test]
fn member_type_filter() {
    let mut r = TargetRules::new(2024);
    r.member_types = Some(BTreeSet::from([
        MemberType::Dependant,
        MemberType::Voluntary,
    ]));
    let mut m = member(date(1970, 1, 1));
    assert!(decide(&m, &r).target);
    m.member_type = MemberType::Insured;
    assert_eq!(codes(&m, &r), vec!["member_type_not_invited"]);
    m.member_type = MemberType::Voluntary;
    assert!(decide(&m, &r).target);
}

#[test]
fn decision_serialises_with_reason_codes() {
    let r = TargetRules::new(2024);
    let d = decide(&member(date(1985, 4, 2)), &r);
    let j = serde_json::to_value(&d).unwrap();
    assert_eq!(j["target"], false);
    assert_eq!(j["reasons"][0]["code"], "too_young");
    assert_eq!(j["reasons"][0]["attains_40"], "2025-04-01");
    assert_eq!(j["card"]["number"], "1");
}

/// card number, birth date, insured_from, insured_to, member type, exclusion column,
/// expected reason codes.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// A generated roster file with boundary birthdays and every exclusion: the target list
/// is exactly the expected one, with the expected reasons for everyone else.
#[test]
fn generated_roster_gives_exactly_the_expected_targets() {
    use daiko_invite::roster::parse_roster;
    use daiko_invite::targets::decide_all;
    let rows: [Row; 16] = [
        ("01", "1985-04-01", "2000-04-01", "", "2", "", &[]),
        (
            "02",
            "1985-04-02",
            "2000-04-01",
            "",
            "2",
            "",
            &["too_young"],
        ),
        ("03", "1949-04-02", "2000-04-01", "", "2", "", &[]),
        ("04", "1949-04-01", "2000-04-01", "", "2", "", &["too_old"]),
        ("05", "1984-02-29", "2000-04-01", "", "3", "", &[]),
        (
            "06",
            "1970-01-01",
            "2024-04-02",
            "",
            "2",
            "",
            &["not_insured"],
        ),
        (
            "07",
            "1970-01-01",
            "2000-04-01",
            "2024-03-31",
            "2",
            "",
            &["not_insured"],
        ),
        ("08", "1970-01-01", "2000-04-01", "2024-04-01", "2", "", &[]),
        (
            "09",
            "1970-01-01",
            "2000-04-01",
            "",
            "2",
            "excl_pregnancy",
            &["excluded"],
        ),
        (
            "10",
            "1970-01-01",
            "2000-04-01",
            "",
            "2",
            "excl_hospital",
            &["excluded"],
        ),
        (
            "11",
            "1970-01-01",
            "2000-04-01",
            "",
            "2",
            "excl_facility",
            &["excluded"],
        ),
        (
            "12",
            "1970-01-01",
            "2000-04-01",
            "",
            "2",
            "excl_prison",
            &["excluded"],
        ),
        (
            "13",
            "1970-01-01",
            "2000-04-01",
            "",
            "2",
            "excl_abroad",
            &["excluded"],
        ),
        (
            "14",
            "1970-01-01",
            "2000-04-01",
            "",
            "1",
            "",
            &["member_type_not_invited"],
        ),
        (
            "15",
            "1990-01-01",
            "2025-01-01",
            "",
            "1",
            "excl_abroad",
            &[
                "too_young",
                "not_insured",
                "excluded",
                "member_type_not_invited",
            ],
        ),
        ("16", "1950-04-01", "2000-04-01", "", "3", "", &[]),
    ];
    let excl = [
        "excl_pregnancy",
        "excl_hospital",
        "excl_facility",
        "excl_prison",
        "excl_abroad",
    ];
    let mut csv = format!(
        "card_symbol,card_number,name,name_kana,sex,birth_date,insured_from,insured_to,member_type,{}\n",
        excl.join(",")
    );
    for (n, birth, from, to, ty, ex, _) in &rows {
        let flags: Vec<&str> = excl
            .iter()
            .map(|e| if e == ex { "1" } else { "" })
            .collect();
        csv.push_str(&format!(
            "S,{n},被保険者 {n},ヒホケンシャ,1,{birth},{from},{to},{ty},{}\n",
            flags.join(",")
        ));
    }
    let roster = parse_roster(csv.as_bytes()).unwrap();
    let mut rules = TargetRules::new(2024);
    rules.member_types = Some(BTreeSet::from([
        MemberType::Dependant,
        MemberType::Voluntary,
    ]));
    let decisions = decide_all(&roster.members, &rules);
    assert_eq!(decisions.len(), rows.len());
    for (d, (n, .., want)) in decisions.iter().zip(&rows) {
        let got: Vec<&str> = d.reasons.iter().map(|r| r.code()).collect();
        assert_eq!(&got, want, "card {n}");
        assert_eq!(d.target, want.is_empty(), "card {n}");
        assert_eq!(d.card.number, *n);
    }
    let targets: Vec<&str> = decisions
        .iter()
        .filter(|d| d.target)
        .map(|d| d.card.number.as_str())
        .collect();
    assert_eq!(targets, ["01", "03", "05", "08", "16"]);
}
