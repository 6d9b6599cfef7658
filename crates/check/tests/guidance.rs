//! Guidance archives (実施区分 2): H-01 with the timing, C-15, C-16 and U-05, on the shared
//! example archive (skipped with a message when ../shared is absent).

mod common;

use common::*;
use daiko_check::reference::{Contract, PriorRecord, RecordState};
use daiko_check::{CheckConfig, Date, Outcome, Report, Verdict};

fn config() -> CheckConfig {
    // The example guidance archive was made on 2023-08-10 for a start on 2023-08-01.
    CheckConfig::for_agency(AGENCY).received_on(Date::new(2023, 8, 10).unwrap())
}

fn check(f: &Fixture) -> Report {
    f.check_with(&config(), &daiko_check::NoReference)
}

#[test]
fn guidance_example_is_accepted() {
    let Some(f) = example("guidance") else { return };
    let r = check(&f);
    assert_eq!(r.verdict, Verdict::Accepted, "{}", dump(&r));
    assert_eq!(r.archive.service_event_type, 2);
}

#[test]
fn h01_report_type_follows_guidance_timing() {
    let Some(mut f) = example("guidance") else {
        return;
    };
    // 報告区分 21 (start) with a claim at the final evaluation (timing 2).
    f.records[0]
        .claim
        .as_mut()
        .unwrap()
        .guidance()
        .guidance_timing = "2".into();
    assert_outcome(&check(&f), "H-01", Outcome::FR, Some("01"));
    assert_absent(&check(&example("guidance").unwrap()), "H-01");
}

#[test]
fn c15_guidance_claim_arithmetic() {
    let Some(mut f) = example("guidance") else {
        return;
    };
    f.records[0]
        .claim
        .as_mut()
        .unwrap()
        .guidance()
        .settlement
        .payment_rate
        .value = "50".into();
    assert_outcome(&check(&f), "C-15", Outcome::FR, Some("01"));
    let Some(mut g) = example("guidance") else {
        return;
    };
    g.records[0]
        .claim
        .as_mut()
        .unwrap()
        .guidance()
        .guidance_level = "5".into();
    assert_found(&check(&g), "C-15");
    assert_absent(&check(&example("guidance").unwrap()), "C-15");
}

fn contract_for(f: &mut Fixture, share_first: u64) -> Contract {
    let c = f.records[0].claim.as_mut().unwrap().guidance().clone();
    let mut contract = Contract {
        insurer: c.subject.insurance_card.insurer_number.extension.clone(),
        institution: c.subject.performer_organization.extension.clone(),
        fiscal_year: 2023,
        commission_type: 1,
        ..Contract::default()
    };
    contract.guidance.insert(
        c.guidance_level.clone(),
        c.settlement.unit_price.amount().unwrap(),
    );
    contract.guidance_shares.insert("1".into(), share_first);
    contract
        .guidance_shares
        .insert("2".into(), 100 - share_first);
    contract
}

#[test]
fn c16_payment_rate_matches_contract_share() {
    let Some(mut f) = example("guidance") else {
        return;
    };
    let rate: u64 = f.records[0]
        .claim
        .as_mut()
        .unwrap()
        .guidance()
        .settlement
        .payment_rate
        .value
        .parse()
        .unwrap();
    let mut reference = TestReference {
        contracts: Some(vec![contract_for(&mut f, rate)]),
        ..Default::default()
    };
    assert_absent(&f.check_with(&config(), &reference), "C-16");
    reference.contracts = Some(vec![contract_for(&mut f, rate + 10)]);
    assert_outcome(
        &f.check_with(&config(), &reference),
        "C-16",
        Outcome::FR,
        Some("04"),
    );
}

#[test]
fn u05_guidance_sequence() {
    let Some(mut f) = example("guidance") else {
        return;
    };
    let c = f.records[0].claim.as_mut().unwrap().guidance().clone();
    let earlier = |timing: &str, state| PriorRecord {
        insurer: c.subject.insurance_card.insurer_number.extension.clone(),
        card_number: c.subject.insurance_card.number.extension.clone(),
        voucher: c.card.id.as_ref().unwrap().extension.clone(),
        service_event_type: 2,
        guidance_timing: Some(timing.into()),
        service_date: Date::new(2023, 7, 1),
        state,
    };
    // A second first-session claim for the same guidance voucher.
    let reference = TestReference {
        records: Some(vec![earlier("1", RecordState::Paid)]),
        ..Default::default()
    };
    assert_outcome(
        &f.check_with(&config(), &reference),
        "U-05",
        Outcome::FR,
        Some("09"),
    );
    // After a stop, nothing more.
    let reference = TestReference {
        records: Some(vec![earlier("3", RecordState::Delivered)]),
        ..Default::default()
    };
    assert_found(&f.check_with(&config(), &reference), "U-05");
    // A returned first claim does not count.
    let reference = TestReference {
        records: Some(vec![earlier("1", RecordState::Returned)]),
        ..Default::default()
    };
    assert_absent(&f.check_with(&config(), &reference), "U-05");

    // An early termination (timing 3, 報告区分 23) needs the first claim in the history.
    f.records[0]
        .claim
        .as_mut()
        .unwrap()
        .guidance()
        .guidance_timing = "3".into();
    if let Some(code) = f.records[0].doc.code.as_mut() {
        code.code = "23".into();
    }
    let reference = TestReference {
        records: Some(Vec::new()),
        ..Default::default()
    };
    let r = f.check_with(&config(), &reference);
    assert_found(&r, "U-05");
    assert_absent(&r, "H-01");
    let reference = TestReference {
        records: Some(vec![earlier("1", RecordState::Paid)]),
        ..Default::default()
    };
    assert_absent(&f.check_with(&config(), &reference), "U-05");
}

#[test]
fn t04_is_not_judged_on_guidance_start_dates() {
    let Some(f) = example("guidance") else { return };
    // Months after the start of the guidance: a final evaluation would be claimed now.
    let late = f.check_with(
        &config().received_on(Date::new(2024, 1, 10).unwrap()),
        &daiko_check::NoReference,
    );
    assert_absent(&late, "T-04");
}
