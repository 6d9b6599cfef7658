//! Stages H and C on checkup records: one test per check code, each with a record that
//! triggers the check and the clean baseline that must not.

mod common;

use common::*;
use daiko_check::reference::NoReference;
use daiko_check::{Date, Outcome, Verdict};
use daiko_format::model::*;

fn clean() -> daiko_check::Report {
    checkup(1).check()
}

/// Index of a baseline record whose claim matches `pred`.
fn find(f: &mut Fixture, pred: impl Fn(&CheckupClaim) -> bool) -> Option<usize> {
    (0..f.records.len()).find(|&i| pred(f.claim(i)))
}

// ---- H

#[test]
fn h01_report_type() {
    let mut f = checkup(2);
    f.doc(0).code.as_mut().unwrap().code = "11".into();
    let r = f.check();
    assert_outcome(&r, "H-01", Outcome::FR, Some("01"));
    assert_eq!(r.verdict, Verdict::PartiallyAccepted);
    assert_absent(&clean(), "H-01");
}

#[test]
fn h02_insurer_number() {
    let mut f = checkup(1);
    let n = f
        .claim(0)
        .subject
        .insurance_card
        .insurer_number
        .extension
        .clone();
    let last = n.as_bytes()[7] - b'0';
    let wrong = format!("{}{}", &n[..7], (last + 1) % 10);
    f.claim(0).subject.insurance_card.insurer_number.extension = wrong.clone();
    let ids = &mut f.doc(0).patient.ids;
    ids.iter_mut()
        .filter(|i| i.root == oid::INSURER)
        .for_each(|i| i.extension = wrong.clone());
    assert_outcome(&f.check(), "H-02", Outcome::FR, Some("01"));
    let mut g = checkup(1);
    g.claim(0).subject.insurance_card.insurer_number.extension = "1234".into();
    assert_found(&g.check(), "H-02");
    assert_absent(&clean(), "H-02");
}

#[test]
fn h02_archive_rejected_when_no_insurer_is_a_client() {
    let f = checkup(2);
    let mut reference = agreeing_reference(&f);
    reference.clients = Some(Default::default());
    let r = f.check_with(&f.config(), &reference);
    assert_outcome(&r, "D-01", Outcome::FR, Some("04"));
    let h = r
        .findings
        .iter()
        .find(|x| x.code == "H-02")
        .expect("H-02 at archive level");
    assert_eq!(h.outcome, Outcome::AR);
    assert_eq!(r.verdict, Verdict::Rejected);
}

#[test]
fn h03_card_symbol_and_number() {
    let mut f = checkup(1);
    f.claim(0).subject.insurance_card.number.extension = "1".repeat(21);
    f.doc(0)
        .patient
        .ids
        .iter_mut()
        .filter(|i| i.root == oid::CARD_NUMBER)
        .for_each(|i| i.extension = "1".repeat(21));
    assert_outcome(&f.check(), "H-03", Outcome::FR, Some("01"));
    let mut g = checkup(1);
    g.claim(0).subject.insurance_card.number.extension = String::new();
    assert_found(&g.check(), "H-03");
    assert_absent(&clean(), "H-03");
}

#[test]
fn h04_card_branch() {
    let mut f = checkup(1);
    f.doc(0).patient.ids.retain(|i| i.root != oid::CARD_BRANCH);
    f.doc(0).patient.ids.push(Id::new(oid::CARD_BRANCH, "1"));
    assert_outcome(&f.check(), "H-04", Outcome::FR, Some("01"));
    assert_absent(&clean(), "H-04");
}

#[test]
fn h05_person() {
    let mut f = checkup(1);
    f.claim(0).subject.gender = "3".into();
    f.doc(0).patient.gender.code = "3".into();
    assert_outcome(&f.check(), "H-05", Outcome::FR, Some("01"));
    let mut g = checkup(1);
    g.claim(0).subject.birth_time = "19700230".into();
    g.doc(0).patient.birth_time = "19700230".into();
    assert_found(&g.check(), "H-05");
    assert_absent(&clean(), "H-05");
}

#[test]
fn h06_age_range() {
    let mut f = checkup(1);
    // 30 years old on an FY2023 service date.
    f.claim(0).subject.birth_time = "19930101".into();
    f.doc(0).patient.birth_time = "19930101".into();
    let r = f.check();
    assert_outcome(&r, "H-06", Outcome::W, None);
    // An agency may return such records instead (decision 2).
    let mut config = f.config();
    config.outcome_overrides.insert("H-06".into(), Outcome::FR);
    let r = f.check_with(&config, &NoReference);
    assert_outcome(&r, "H-06", Outcome::FR, Some("04"));
    assert_absent(&clean(), "H-06");
}

#[test]
fn h07_postal_code() {
    let mut f = checkup(1);
    f.claim(0).subject.addr.postal_code = Some("1234567".into());
    if let Some(a) = f.doc(0).patient.addr.as_mut() {
        a.postal_code = Some("1234567".into());
    }
    assert_outcome(&f.check(), "H-07", Outcome::FR, Some("01"));
    assert_absent(&clean(), "H-07");
}

#[test]
fn h08_institution_number() {
    let mut f = checkup(1);
    // The claim names another (valid) institution than the CDA.
    f.claim(0).subject.performer_organization.extension = "2813303589".into();
    assert_outcome(&f.check(), "H-08", Outcome::FR, Some("01"));
    // An institution not registered with the agency (the sender is): 04.
    let mut g = checkup(1);
    let reference = agreeing_reference(&g);
    let other = Id::new(oid::INSTITUTION, "2813303589");
    g.claim(0).subject.performer_organization = other.clone();
    let d = g.doc(0);
    if let Some(p) = d.service_event.as_mut().and_then(|e| e.performer.as_mut()) {
        p.id = Some(other.clone());
    }
    for a in &mut d.authors {
        a.organization.id = Some(other.clone());
    }
    let r = g.check_with(&g.config(), &reference);
    assert!(
        r.findings
            .iter()
            .any(|x| x.code == "H-08" && x.return_reason.map(|r| r.code()) == Some("04")),
        "{}",
        dump(&r)
    );
    assert_absent(&clean(), "H-08");
}

#[test]
fn h09_voucher() {
    let mut f = checkup(1);
    f.doc(0).vouchers[0].id.extension = "1234".into();
    assert_outcome(&f.check(), "H-09", Outcome::FR, Some("05"));
    let mut g = checkup(1);
    g.doc(0).vouchers[0].id.root = "1.2.392.200119.6.209.1".into();
    assert_found(&g.check(), "H-09");
    assert_absent(&clean(), "H-09");
}

#[test]
fn h10_service_date() {
    let mut f = checkup(1);
    // A service date after the reception date (the archive date).
    let after = f.reception().succ().compact();
    f.doc(0).service_event.as_mut().unwrap().effective_time = after;
    let r = f.check();
    assert_outcome(&r, "H-10", Outcome::FR, Some("06"));
    let mut g = checkup(1);
    g.doc(0).vouchers[0].expiry = Some("20230401".into());
    g.claim(0).card.expiry = Some("20230401".into());
    let service = g
        .doc(0)
        .service_event
        .as_ref()
        .unwrap()
        .effective_time
        .clone();
    if service.as_str() > "20230401" {
        assert_found(&g.check(), "H-10");
    }
    assert_absent(&clean(), "H-10");
}

/// The service date of record `i` of a fixture.
fn service_date(f: &mut Fixture, i: usize) -> Date {
    Date::parse(&f.doc(i).service_event.as_ref().unwrap().effective_time).unwrap()
}

/// Sets the voucher expiry on both the CDA and the claim of record `i`.
fn set_expiry(f: &mut Fixture, i: usize, expiry: Option<String>) {
    for v in &mut f.doc(i).vouchers {
        v.expiry = expiry.clone();
    }
    f.claim(i).card.expiry = expiry;
}

#[test]
fn h10_service_date_inside_the_voucher_fiscal_year() {
    // A voucher of the next fiscal year (expiring 31 March a year later) used before
    // that year began.
    let mut f = checkup(1);
    let service = service_date(&mut f, 0);
    let next_fy_end = format!("{}0331", service.fiscal_year() + 2);
    set_expiry(&mut f, 0, Some(next_fy_end));
    let r = f.check();
    assert_outcome(&r, "H-10", Outcome::FR, Some("06"));
    assert!(
        r.findings
            .iter()
            .any(|x| x.code == "H-10" && x.message_en.contains("fiscal year")),
        "{}",
        dump(&r)
    );

    // An expiry earlier than 31 March, still inside the service's fiscal year: fine.
    let mut g = checkup(1);
    let service = service_date(&mut g, 0);
    if service.month >= 4 && service.month <= 12 {
        set_expiry(&mut g, 0, Some(format!("{}1231", service.year)));
        assert_absent(&g.check(), "H-10");
    }

    // Without an expiry on the record, the ledger's expiry decides.
    let mut h = checkup(1);
    let service = service_date(&mut h, 0);
    set_expiry(&mut h, 0, None);
    let mut reference = agreeing_reference(&h);
    for v in reference.vouchers.as_mut().unwrap() {
        v.expiry = Date::parse(&format!("{}0331", service.fiscal_year() + 2));
    }
    let r = h.check_with(&h.config(), &reference);
    assert!(
        r.findings
            .iter()
            .any(|x| x.code == "H-10" && x.message_en.contains("fiscal year")),
        "{}",
        dump(&r)
    );
    // … and a ledger expiry of the service's own fiscal year is fine.
    for v in reference.vouchers.as_mut().unwrap() {
        v.expiry = Date::parse(&format!("{}0331", service.fiscal_year() + 1));
    }
    assert_absent(&h.check_with(&h.config(), &reference), "H-10");

    assert_absent(&clean(), "H-10");
}

#[test]
fn h11_programme_type() {
    let mut f = checkup(1);
    f.doc(0).service_event.as_mut().unwrap().code.code = "020".into();
    assert_outcome(&f.check(), "H-11", Outcome::FR, Some("01"));
    assert_absent(&clean(), "H-11");
}

#[test]
fn h12_document_date_before_service() {
    let mut f = checkup(1);
    f.doc(0).effective_time = "20230101".into();
    let r = f.check();
    assert_outcome(&r, "H-12", Outcome::W, None);
    assert_eq!(r.verdict, Verdict::Accepted);
    assert_absent(&clean(), "H-12");
}

// ---- C

#[test]
fn c01_claim_service_event_type() {
    let mut f = checkup(1);
    f.claim(0).service_event_type = "2".into();
    assert_outcome(&f.check(), "C-01", Outcome::FR, Some("01"));
    assert_absent(&clean(), "C-01");
}

#[test]
fn c02_claim_type_and_prices() {
    let mut f = checkup(1);
    let c = f.claim(0);
    c.settlement.claim_type = if c.settlement.unit_price_detail.is_empty() {
        "2".into()
    } else {
        "1".into()
    };
    assert_outcome(&f.check(), "C-02", Outcome::FR, Some("01"));
    assert_absent(&clean(), "C-02");
}

#[test]
fn c03_commission_type() {
    let mut f = checkup(1);
    f.claim(0).settlement.commission_type = "3".into();
    assert_outcome(&f.check(), "C-03", Outcome::FR, Some("01"));
    // A commission type for which there is no contract: 04.
    let g = checkup(1);
    let mut reference = agreeing_reference(&g);
    for c in reference.contracts.as_mut().unwrap() {
        c.commission_type = 3 - c.commission_type;
    }
    assert_outcome(
        &g.check_with(&g.config(), &reference),
        "C-03",
        Outcome::FR,
        Some("04"),
    );
    assert_absent(&g.check_with(&g.config(), &agreeing_reference(&g)), "C-03");
}

#[test]
fn c04_unit_amount() {
    let mut f = checkup(1);
    let v = f.claim(0).settlement.unit_amount.amount().unwrap();
    f.claim(0).settlement.unit_amount = Money::yen(v + 100);
    f.resum();
    assert_outcome(&f.check(), "C-04", Outcome::FR, Some("01"));
    assert_absent(&clean(), "C-04");
}

#[test]
fn c05_copayment_recomputed() {
    let mut f = checkup(4);
    // A record with a fixed or rate basic co-payment: write one yen more than due.
    let Some(i) = find(&mut f, |c| {
        c.settlement
            .payment_for_basic
            .as_ref()
            .and_then(|m| m.amount())
            .is_some_and(|v| v > 0)
    }) else {
        panic!("no baseline record with a basic co-payment")
    };
    let c = f.claim(i);
    let paid = c
        .settlement
        .payment_for_basic
        .as_ref()
        .unwrap()
        .amount()
        .unwrap()
        + 1;
    c.settlement.payment_for_basic = Some(Money::yen6(paid));
    // Keep the totals consistent so that only the recomputation disagrees.
    let total = c.settlement.payment_amount.amount().unwrap() + 1;
    c.settlement.payment_amount = Money::yen(total);
    let claim = c.settlement.claim_amount.amount().unwrap() - 1;
    c.settlement.claim_amount = Money::yen(claim);
    f.resum();
    let r = f.check();
    assert_outcome(&r, "C-05", Outcome::FR, Some("07"));
    assert_absent(&r, "C-06");
    assert_absent(&r, "C-07");
    assert_absent(&clean(), "C-05");
}

#[test]
fn c06_total_copayment() {
    let mut f = checkup(1);
    let c = f.claim(0);
    let total = c.settlement.payment_amount.amount().unwrap() + 5;
    c.settlement.payment_amount = Money::yen(total);
    let claim = c.settlement.claim_amount.amount().unwrap() - 5;
    c.settlement.claim_amount = Money::yen(claim);
    f.resum();
    assert_outcome(&f.check(), "C-06", Outcome::FR, Some("07"));
    assert_absent(&clean(), "C-06");
}

#[test]
fn c07_claim_amount_formula() {
    let mut f = checkup(1);
    let v = f.claim(0).settlement.claim_amount.amount().unwrap();
    f.claim(0).settlement.claim_amount = Money::yen(v + 1);
    f.resum();
    let r = f.check();
    assert_outcome(&r, "C-07", Outcome::FR, Some("01"));
    assert_eq!(r.counts.returned, 1);
    assert_absent(&clean(), "C-07");
}

#[test]
fn c08_zero_claim() {
    let mut f = checkup(1);
    let c = f.claim(0);
    // The whole price paid at the window: a fixed co-payment equal to the price.
    let unit = c.settlement.unit_amount.amount().unwrap();
    c.settlement.claim_amount = Money::yen(0);
    c.settlement.payment_amount = Money::yen(unit);
    f.resum();
    assert_outcome(&f.check(), "C-08", Outcome::FR, Some("01"));
    assert_absent(&clean(), "C-08");
}

#[test]
fn c09_contract_prices() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    assert_absent(&f.check_with(&f.config(), &reference), "C-09");
    for c in reference.contracts.as_mut().unwrap() {
        c.basic = c.basic.map(|b| b + 10);
    }
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "C-09",
        Outcome::FR,
        Some("04"),
    );
}

#[test]
fn c10_additional_items_in_contract() {
    let mut f = checkup(6);
    let Some(i) = find(&mut f, |c| {
        c.settlement
            .unit_price_other
            .iter()
            .any(|o| o.item.is_some())
    }) else {
        eprintln!("skipping: no baseline record bills an additional item");
        return;
    };
    f.records = vec![f.records[i].clone()];
    f.resum();
    let mut reference = agreeing_reference(&f);
    assert_absent(&f.check_with(&f.config(), &reference), "C-10");
    for c in reference.contracts.as_mut().unwrap() {
        c.additional.clear();
    }
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "C-10",
        Outcome::FR,
        Some("04"),
    );
}

#[test]
fn c11_other_program_allowed_by_contract() {
    let mut f = checkup(1);
    let c = f.claim(0);
    // 100 yen paid by another programme, taken off the claim.
    c.settlement.payment_by_other_program = Some(Money::yen(100));
    let claim = c.settlement.claim_amount.amount().unwrap();
    c.settlement.claim_amount = Money::yen(claim - 100);
    f.resum();
    let mut reference = agreeing_reference(&f);
    let allowed = f.check_with(&f.config(), &reference);
    assert_absent(&allowed, "C-11");
    for c in reference.contracts.as_mut().unwrap() {
        c.other_program_allowed = false;
    }
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "C-11",
        Outcome::FR,
        Some("01"),
    );
}

#[test]
fn c12_charge_type_elements() {
    let mut f = checkup(1);
    f.claim(0).card.charge_basic = Some(Charge {
        code: "2".into(),
        amount: None,
        rate: None,
    });
    assert_outcome(&f.check(), "C-12", Outcome::FR, Some("01"));
    let mut g = checkup(1);
    g.claim(0).card.charge_basic = Some(Charge {
        code: "7".into(),
        amount: None,
        rate: None,
    });
    assert_found(&g.check(), "C-12");
    assert_absent(&clean(), "C-12");
}

#[test]
fn c13_voucher_expiry_matches_ledger() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    assert_absent(&f.check_with(&f.config(), &reference), "C-13");
    for v in reference.vouchers.as_mut().unwrap() {
        v.expiry = Date::new(2024, 6, 30);
    }
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "C-13",
        Outcome::FR,
        Some("06"),
    );
}

#[test]
fn c14_amount_formats() {
    let mut f = checkup(1);
    let c = f.claim(0);
    let v = c.settlement.claim_amount.amount().unwrap();
    c.settlement.claim_amount = Money {
        value: format!("{v}.0"),
        currency: Some("JPY".into()),
    };
    assert_outcome(&f.check(), "C-14", Outcome::FR, Some("01"));
    let mut g = checkup(4);
    if let Some(i) = find(&mut g, |c| c.settlement.payment_for_basic.is_some()) {
        let c = g.claim(i);
        let v = c
            .settlement
            .payment_for_basic
            .as_ref()
            .unwrap()
            .amount()
            .unwrap();
        c.settlement.payment_for_basic = Some(Money::yen(v).clone());
        if v >= 100_000 {
            return;
        }
        assert_found(&g.check(), "C-14");
    }
    assert_absent(&clean(), "C-14");
}
