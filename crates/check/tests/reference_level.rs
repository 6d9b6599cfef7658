//! Stages D and U, and the reference-data seam: one test per check code, each with
//! reference data that triggers the check and data that agrees with the archive.

mod common;

use common::*;
use daiko_check::reference::{DirReference, PriorRecord, RecordState, ReferenceError};
use daiko_check::{Date, Outcome, Severity, Verdict};
use daiko_format::model::*;

fn prior(f: &mut Fixture, i: usize, state: RecordState) -> PriorRecord {
    let service = f
        .doc(i)
        .service_event
        .as_ref()
        .and_then(|e| Date::parse(&e.effective_time));
    let c = f.claim(i);
    PriorRecord {
        insurer: c.subject.insurance_card.insurer_number.extension.clone(),
        card_number: c.subject.insurance_card.number.extension.clone(),
        voucher: c.card.id.as_ref().unwrap().extension.clone(),
        service_event_type: 1,
        guidance_timing: None,
        service_date: service,
        state,
    }
}

#[test]
fn agreeing_reference_data_gives_no_problems() {
    let f = checkup(3);
    let r = f.check_with(&f.config(), &agreeing_reference(&f));
    assert!(problems(&r).is_empty(), "{}", dump(&r));
    assert!(
        r.findings.iter().all(|x| x.severity != Severity::Info),
        "nothing skipped:\n{}",
        dump(&r)
    );
    assert_eq!(r.verdict, Verdict::Accepted);
}

#[test]
fn missing_reference_data_is_reported_once_as_skipped() {
    let f = checkup(3);
    let r = f.check();
    for code in ["D-01", "D-02", "D-03", "D-04", "D-06", "C-09", "U-01"] {
        let notes: Vec<_> = r.findings.iter().filter(|x| x.code == code).collect();
        assert_eq!(notes.len(), 1, "{code}:\n{}", dump(&r));
        assert_eq!(notes[0].severity, Severity::Info);
        assert!(
            notes[0].message_en.contains("Skipped"),
            "{}",
            notes[0].message_en
        );
    }
    assert_eq!(r.verdict, Verdict::Accepted);
}

#[test]
fn d01_insurer_not_a_client() {
    let f = checkup(2);
    let mut reference = agreeing_reference(&f);
    let first = f
        .clone()
        .claim(0)
        .subject
        .insurance_card
        .insurer_number
        .extension
        .clone();
    reference.clients.as_mut().unwrap().remove(&first);
    let r = f.check_with(&f.config(), &reference);
    assert_outcome(&r, "D-01", Outcome::FR, Some("04"));
}

#[test]
fn d02_institution_not_under_contract() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    for c in reference.contracts.as_mut().unwrap() {
        c.valid_to = Date::new(2023, 3, 31);
    }
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "D-02",
        Outcome::FR,
        Some("04"),
    );
    assert_absent(&f.check_with(&f.config(), &agreeing_reference(&f)), "D-02");
}

#[test]
fn d03_voucher_in_ledger_and_of_this_person() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    reference.vouchers.as_mut().unwrap().clear();
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "D-03",
        Outcome::FR,
        Some("05"),
    );
    let mut reference = agreeing_reference(&f);
    reference.vouchers.as_mut().unwrap()[0].birth_date = Date::new(1950, 1, 1);
    assert_found(&f.check_with(&f.config(), &reference), "D-03");
    assert_absent(&f.check_with(&f.config(), &agreeing_reference(&f)), "D-03");
}

#[test]
fn d04_coverage_on_service_date() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    reference.coverage.as_mut().unwrap().clear();
    let r = f.check_with(&f.config(), &reference);
    assert_outcome(&r, "D-04", Outcome::FR, Some("09"));
    // Employee insurers may hold such records for confirmation instead (decision 2).
    let mut config = f.config();
    config.outcome_overrides.insert("D-04".into(), Outcome::CI);
    let r = f.check_with(&config, &reference);
    assert_outcome(&r, "D-04", Outcome::CI, None);
    assert_eq!(r.counts.held, 1);
    assert_absent(&f.check_with(&f.config(), &agreeing_reference(&f)), "D-04");
}

#[test]
fn d05_voucher_expired_or_used() {
    let mut f = checkup(1);
    let mut reference = agreeing_reference(&f);
    reference.vouchers.as_mut().unwrap()[0].expiry = Date::new(2023, 4, 1);
    let service = f
        .doc(0)
        .service_event
        .as_ref()
        .unwrap()
        .effective_time
        .clone();
    if service.as_str() > "20230401" {
        assert_outcome(
            &f.check_with(&f.config(), &reference),
            "D-05",
            Outcome::FR,
            Some("06"),
        );
    }
    let mut reference = agreeing_reference(&f);
    let mut used = prior(&mut f, 0, RecordState::Paid);
    used.card_number = "someone-else".into();
    reference.records = Some(vec![used]);
    assert_found(&f.check_with(&f.config(), &reference), "D-05");
    assert_absent(&f.check_with(&f.config(), &agreeing_reference(&f)), "D-05");
}

#[test]
fn d06_copayment_settings_match_ledger() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    // The ledger says the person pays nothing for the basic checkup.
    reference.vouchers.as_mut().unwrap()[0].basic =
        Some(daiko_check::reference::CopaymentSetting {
            code: 1,
            ..Default::default()
        });
    let paid = f
        .clone()
        .claim(0)
        .settlement
        .payment_for_basic
        .as_ref()
        .and_then(|m| m.amount())
        .unwrap_or(0);
    let r = f.check_with(&f.config(), &reference);
    if paid > 0 {
        assert_outcome(&r, "D-06", Outcome::FR, Some("07"));
    } else {
        assert_absent(&r, "D-06");
    }
    assert_absent(&f.check_with(&f.config(), &agreeing_reference(&f)), "D-06");
}

#[test]
fn u01_already_paid_this_fiscal_year() {
    let mut f = checkup(1);
    let mut reference = agreeing_reference(&f);
    let mut paid = prior(&mut f, 0, RecordState::Paid);
    paid.voucher = "99999999999".into();
    reference.records = Some(vec![paid]);
    let x = assert_outcome(
        &f.check_with(&f.config(), &reference),
        "U-01",
        Outcome::FR,
        Some("09"),
    );
    assert!(x.message_en.contains("Duplicate"));
    // A returned record may come back.
    let mut reference = agreeing_reference(&f);
    reference.records = Some(vec![prior(&mut f, 0, RecordState::Returned)]);
    let r = f.check_with(&f.config(), &reference);
    assert_absent(&r, "U-01");
    assert_absent(&r, "U-03");
}

#[test]
fn u02_same_voucher_twice_in_archive() {
    let mut f = checkup(2);
    let voucher = f.claim(0).card.id.clone();
    let insurer = f.claim(0).subject.insurance_card.insurer_number.clone();
    f.claim(1).card.id = voucher.clone();
    f.claim(1).subject.insurance_card.insurer_number = insurer.clone();
    let d = f.doc(1);
    d.vouchers[0].id.extension = voucher.unwrap().extension;
    for id in d.patient.ids.iter_mut().filter(|i| i.root == oid::INSURER) {
        id.extension = insurer.extension.clone();
    }
    let r = f.check();
    let dups: Vec<_> = r.findings.iter().filter(|x| x.code == "U-02").collect();
    assert_eq!(dups.len(), 2, "both records are returned:\n{}", dump(&r));
    assert_eq!(r.counts.returned, 2);
    assert_absent(&checkup(2).check(), "U-02");
}

#[test]
fn u03_resubmission_duplicates_active_record() {
    let mut f = checkup(1);
    let mut reference = agreeing_reference(&f);
    reference.records = Some(vec![prior(&mut f, 0, RecordState::Active)]);
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "U-03",
        Outcome::FR,
        Some("09"),
    );
    assert_absent(&f.check_with(&f.config(), &agreeing_reference(&f)), "U-03");
}

#[test]
fn u04_withdrawal_has_no_archive_rule() {
    // A withdrawal (取下げ) is asked for outside an archive; the engine never reports it.
    let r = checkup(1).check();
    assert!(!r.findings.iter().any(|x| x.code == "U-04"));
    assert_eq!(
        daiko_check::catalogue::check("U-04")
            .unwrap()
            .return_reason
            .unwrap()
            .code(),
        "08"
    );
}

#[test]
fn u06_erroneous_payment_request_for_unknown_record() {
    let mut f = checkup(1);
    // An insurer's 過誤 request (種別 4) about this record.
    let insurer = f
        .claim(0)
        .subject
        .insurance_card
        .insurer_number
        .extension
        .clone();
    f.name.sender = insurer.clone();
    f.top = f.name.clone();
    let ix = f.index();
    ix.interaction_type = "4".into();
    ix.sender = Id::new(oid::INSURER, insurer);
    f.claim(0).insurer_adjudication = Some(Adjudication {
        interaction_type: "4".into(),
        record_date: "20230601".into(),
        reason_code: "07".into(),
        reason_text: None,
    });
    let mut reference = agreeing_reference(&f);
    reference.records = Some(vec![]);
    let r = f.check_with(&f.config(), &reference);
    assert_outcome(&r, "U-06", Outcome::FR, Some("09"));
    let mut reference = agreeing_reference(&f);
    reference.records = Some(vec![prior(&mut f, 0, RecordState::Delivered)]);
    assert_absent(&f.check_with(&f.config(), &reference), "U-06");
}

// ---- DirReference

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn dir_reference_loads_documented_files() {
    let mut f = checkup(1);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let c = f.claim(0).clone();
    let insurer = &c.subject.insurance_card.insurer_number.extension;
    let institution = &c.subject.performer_organization.extension;
    let voucher = &c.card.id.as_ref().unwrap().extension;
    write(
        d,
        "insurers.csv",
        &format!("insurer_number,name,mandate_from,mandate_to\n{insurer},見本健保,2020-04-01,\n"),
    );
    write(
        d,
        "institutions.csv",
        &format!("\u{feff}institution_number,name\n{institution},見本クリニック\n"),
    );
    write(
        d,
        "vouchers.csv",
        &format!(
            "insurer_number,kind,voucher_number,card_number,name_kana,birth_date,expiry\n{insurer},1,{voucher},{},{},{},20230301\n",
            c.subject.insurance_card.number.extension, c.subject.name, c.subject.birth_time
        ),
    );
    write(d, "archives.csv", "archive_name,sha256\nold.zip,\n");
    let reference = DirReference::load(d).unwrap();
    let r = f.check_with(&f.config(), &reference);
    assert_absent(&r, "D-01");
    assert_absent(&r, "T-05");
    assert_absent(&r, "T-06");
    assert_absent(&r, "D-03");
    // The ledger's expiry (2023-03-01) is before the service date.
    assert_outcome(&r, "D-05", Outcome::FR, Some("06"));
    // Files not given stay "not loaded".
    assert!(
        r.findings
            .iter()
            .any(|x| x.code == "D-04" && x.severity == Severity::Info)
    );
}

#[test]
fn dir_reference_errors_name_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "vouchers.csv",
        "insurer_number,kind,voucher_number,card_number\n06990014,1,23100000001,1\n06990014,1,2310000001,2\n",
    );
    let e = DirReference::load(d).unwrap_err();
    match &e {
        ReferenceError::Value {
            path,
            line,
            column,
            name,
            ..
        } => {
            assert!(path.ends_with("vouchers.csv"));
            assert_eq!((*line, *column, *name), (3, 3, "voucher_number"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        e.to_string().contains("line 3, column 3 (voucher_number)"),
        "{e}"
    );

    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "contracts.csv",
        "insurer_number,institution_number,fiscal_year,commission_type,price\n",
    );
    assert!(matches!(
        DirReference::load(tmp.path()),
        Err(ReferenceError::MissingColumn { column: "item", .. })
    ));

    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "contracts.csv",
        "insurer_number,institution_number,fiscal_year,commission_type,item,price\n06990014,9910000018,2023,1,lunch,100\n",
    );
    let e = DirReference::load(tmp.path()).unwrap_err();
    assert!(e.to_string().contains("line 2, column 5 (item)"), "{e}");
}

#[test]
fn dir_reference_contracts_drive_price_checks() {
    let mut f = checkup(1);
    let c = f.claim(0).clone();
    let insurer = &c.subject.insurance_card.insurer_number.extension;
    let institution = &c.subject.performer_organization.extension;
    let ct = &c.settlement.commission_type;
    let basic = c
        .settlement
        .unit_price_basic
        .as_ref()
        .unwrap()
        .amount()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = format!(
        "insurer_number,institution_number,fiscal_year,commission_type,valid_from,valid_to,item,price\n{insurer},{institution},2023,{ct},20230401,20240331,basic,{}\n",
        basic + 1
    );
    for d in &c.settlement.unit_price_detail {
        rows.push_str(&format!(
            "{insurer},{institution},2023,{ct},20230401,20240331,detail:{},{}\n",
            d.code, d.amount.value
        ));
    }
    write(tmp.path(), "contracts.csv", &rows);
    let reference = DirReference::load(tmp.path()).unwrap();
    let r = f.check_with(&f.config(), &reference);
    assert_outcome(&r, "C-09", Outcome::FR, Some("04"));
    assert_absent(&r, "D-02");
}
