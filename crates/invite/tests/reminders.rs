//! Reminder rounds: only non-responders who were not returned by post, deterministic
//! variants, rounds in order, uptake per variant.

use daiko_invite::reminders::{ReminderError, plan_round, uptake, variant_of};
use daiko_invite::roster::{CardKey, Member, MemberType, Sex};
use jiff::civil::date;
use std::collections::{HashMap, HashSet};

fn member(n: usize) -> Member {
    Member {
        line: n + 2,
        card: CardKey::new("K", &n.to_string(), ""),
        name: "甲".into(),
        name_kana: "コウ".into(),
        sex: Sex::Male,
        birth_date: date(1970, 1, 1),
        postal_code: "1000013".into(),
        address1: "東京都".into(),
        address2: String::new(),
        address3: String::new(),
        insured_from: date(2000, 4, 1),
        insured_to: None,
        member_type: MemberType::Insured,
        exclusions: vec![],
        returned_mail: false,
    }
}

fn variants() -> Vec<String> {
    vec!["loss".into(), "gain".into(), "social".into()]
}

#[test]
fn only_non_responders_not_returned() {
    let mut ms: Vec<Member> = (0..100).map(member).collect();
    ms[5].returned_mail = true;
    let targets: Vec<&Member> = ms.iter().collect();
    let responders: HashSet<CardKey> = (0..30).map(|i| ms[i].card.clone()).collect();
    let returned: HashSet<CardKey> = [ms[40].card.clone()].into();
    let plan = plan_round(
        1,
        date(2024, 9, 1),
        &variants(),
        &targets,
        &responders,
        &returned,
        &[],
    )
    .unwrap();
    assert_eq!(plan.responded, 30);
    assert_eq!(plan.returned, 1, "5 responded anyway; 40 is returned");
    assert_eq!(plan.round.items.len(), 69);
    let sent: HashSet<&CardKey> = plan.round.items.iter().map(|i| &i.card).collect();
    assert!(!sent.contains(&ms[40].card));
    assert!(!sent.contains(&ms[0].card));
    for i in &plan.round.items {
        assert_eq!(i.variant, variant_of(&i.card, 3));
    }
    // every variant gets members, and a re-plan gives the same result
    let used: HashSet<usize> = plan.round.items.iter().map(|i| i.variant).collect();
    assert_eq!(used.len(), 3);
    let again = plan_round(
        1,
        date(2024, 9, 1),
        &variants(),
        &targets,
        &responders,
        &returned,
        &[],
    )
    .unwrap();
    assert_eq!(plan, again);
}

#[test]
fn rounds_in_order() {
    let ms: Vec<Member> = (0..10).map(member).collect();
    let t: Vec<&Member> = ms.iter().collect();
    let none = HashSet::new();
    let v = variants();
    assert_eq!(
        plan_round(2, date(2024, 9, 1), &v, &t, &none, &none, &[]).unwrap_err(),
        ReminderError::PreviousMissing { round: 2 }
    );
    assert_eq!(
        plan_round(0, date(2024, 9, 1), &v, &t, &none, &none, &[]).unwrap_err(),
        ReminderError::RoundZero
    );
    assert_eq!(
        plan_round(1, date(2024, 9, 1), &[], &t, &none, &none, &[]).unwrap_err(),
        ReminderError::NoVariants
    );
    let r1 = plan_round(1, date(2024, 9, 1), &v, &t, &none, &none, &[])
        .unwrap()
        .round;
    assert_eq!(
        plan_round(
            1,
            date(2024, 9, 1),
            &v,
            &t,
            &none,
            &none,
            std::slice::from_ref(&r1)
        )
        .unwrap_err(),
        ReminderError::RoundExists(1)
    );
    // round 2 after some responded to round 1
    let responders: HashSet<CardKey> = [ms[0].card.clone(), ms[1].card.clone()].into();
    let r2 = plan_round(2, date(2024, 11, 1), &v, &t, &responders, &none, &[r1]).unwrap();
    assert_eq!(r2.round.items.len(), 8);
}

#[test]
fn uptake_per_variant_counts_checkups_after_posting() {
    let ms: Vec<Member> = (0..60).map(member).collect();
    let t: Vec<&Member> = ms.iter().collect();
    let none = HashSet::new();
    let r1 = plan_round(1, date(2024, 9, 1), &variants(), &t, &none, &none, &[])
        .unwrap()
        .round;
    let mut checkup_on = HashMap::new();
    // two of variant 0 respond after posting, one before (not counted)
    let v0: Vec<&CardKey> = r1
        .items
        .iter()
        .filter(|i| i.variant == 0)
        .map(|i| &i.card)
        .collect();
    checkup_on.insert(v0[0].clone(), date(2024, 9, 1));
    checkup_on.insert(v0[1].clone(), date(2024, 10, 15));
    checkup_on.insert(v0[2].clone(), date(2024, 8, 31));
    let u = uptake(std::slice::from_ref(&r1), &checkup_on);
    assert_eq!(u.len(), 3);
    assert_eq!(u[0].variant, "loss");
    assert_eq!(u[0].sent, v0.len());
    assert_eq!(u[0].responded, 2);
    assert_eq!(u[1].responded, 0);
    assert_eq!(u.iter().map(|x| x.sent).sum::<usize>(), 60);
    assert!((u[0].rate_percent() - 200.0 / v0.len() as f64).abs() < 1e-9);
}
