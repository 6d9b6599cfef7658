//! Round trip of the example archives in `../shared/spec/examples`: read every XML, write
//! it back, read again → the same model, for both generations (the non-CDA files are
//! also read with their namespace swapped to the 2024 one).

use daiko_format::model::*;
use daiko_format::read::{self, ParseLimits};
use daiko_format::write;
use std::path::{Path, PathBuf};

fn examples_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/examples"
    ));
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "xml") {
            out.push(p);
        }
    }
}

/// Reads `text` as whatever kind it is, returning the model and the generation.
fn read_any(text: &str) -> (Document, Option<Generation>, DocumentKind) {
    let doc = read::parse(text, &ParseLimits::default()).expect("parse");
    let (kind, generation) = read::kind_of(&doc).expect("kind");
    let model = match kind {
        DocumentKind::Index => Document::Index(read::read_index(&doc).expect("index")),
        DocumentKind::Summary => Document::Summary(read::read_summary(&doc).expect("summary")),
        DocumentKind::CheckupCda | DocumentKind::GuidanceCda => {
            Document::Cda(Box::new(read::read_cda(&doc).expect("cda")))
        }
        DocumentKind::CheckupClaim => {
            Document::CheckupClaim(Box::new(read::read_checkup_claim(&doc).expect("cc")))
        }
        DocumentKind::GuidanceClaim => {
            Document::GuidanceClaim(Box::new(read::read_guidance_claim(&doc).expect("gc")))
        }
    };
    (model, generation, kind)
}

fn round_trip(path: &Path, text: &str, expect: Generation) {
    let (model, generation, kind) = read_any(text);
    if !matches!(kind, DocumentKind::CheckupCda | DocumentKind::GuidanceCda) {
        assert_eq!(generation, Some(expect), "{}", path.display());
    }
    let written = write::write_document(&model, expect);
    let (again, generation2, kind2) = read_any(&written);
    assert_eq!(kind, kind2, "{}", path.display());
    assert_eq!(generation, generation2, "{}", path.display());
    assert_eq!(
        model,
        again,
        "{}: model changed after write/read\n{written}",
        path.display()
    );
    // Writing is deterministic: a second write gives the same text.
    assert_eq!(
        written,
        write::write_document(&again, expect),
        "{}",
        path.display()
    );
}

#[test]
fn every_example_round_trips_in_both_generations() {
    let Some(dir) = examples_dir() else { return };
    let mut files = Vec::new();
    xml_files(&dir, &mut files);
    assert!(
        files.len() >= 8,
        "expected the example XML files, found {}",
        files.len()
    );
    for path in &files {
        let bytes = std::fs::read(path).expect("read example");
        let text = read::decode(&bytes).expect("utf-8");
        round_trip(path, text, Generation::G2018);
        let swapped = text.replace(NS_2007, NS_MHLW_2024);
        round_trip(path, &swapped, Generation::G2024);
    }
}

#[test]
fn example_checkup_claim_reads_as_written() {
    let Some(dir) = examples_dir() else { return };
    let path =
        dir.join("checkup/9910000018_99000010_202306200_1/CLAIMS/c99100000182023062001000001.xml");
    let Document::CheckupClaim(c) =
        read::read_document(&std::fs::read(path).expect("read")).expect("doc")
    else {
        panic!("not a checkup claim")
    };
    assert_eq!(c.service_event_type, "1");
    assert_eq!(
        c.subject.insurance_card.insurer_number,
        Id::new(oid::INSURER, "06990014")
    );
    assert_eq!(
        c.subject.insurance_card.symbol,
        Some(Id::new(oid::CARD_SYMBOL, "９９９"))
    );
    assert_eq!(c.subject.name, "ミホンタロウ");
    assert_eq!(c.subject.addr.text, "テスト県見本市架空町１－２－３");
    assert_eq!(c.subject.addr.postal_code.as_deref(), Some("000-0000"));
    assert_eq!(
        c.card.id,
        Some(Id::new(oid::CHECKUP_VOUCHER, "23100000001"))
    );
    assert_eq!(c.card.expiry.as_deref(), Some("20240331"));
    let basic = c.card.charge_basic.as_ref().expect("basic charge");
    assert_eq!(basic.code, "2");
    assert_eq!(basic.amount, Some(Money::yen6(1000)));
    assert_eq!(
        c.card.charge_detail.as_ref().map(|c| c.code.as_str()),
        Some("1")
    );
    assert_eq!(c.settlement.claim_type, "2");
    assert_eq!(c.settlement.unit_price_basic, Some(Money::yen(8580)));
    assert_eq!(
        c.settlement.unit_price_detail,
        vec![DetailPrice {
            amount: Money::yen(120),
            code: "4".into()
        }]
    );
    assert_eq!(c.settlement.payment_for_detail, Some(Money::yen6(0)));
    assert_eq!(c.settlement.unit_amount.amount(), Some(8700));
    assert_eq!(c.settlement.claim_amount.amount(), Some(7700));
    assert_eq!(c.settlement.payment_by_other_program, None);
}

#[test]
fn example_guidance_claim_reads_as_written() {
    let Some(dir) = examples_dir() else { return };
    let path =
        dir.join("guidance/9910000018_99000010_202308100_2/CLAIMS/c99100000182023081002000001.xml");
    let Document::GuidanceClaim(c) =
        read::read_document(&std::fs::read(path).expect("read")).expect("doc")
    else {
        panic!("not a guidance claim")
    };
    assert_eq!(
        (
            c.service_event_type.as_str(),
            c.guidance_level.as_str(),
            c.guidance_timing.as_str()
        ),
        ("2", "1", "1")
    );
    assert_eq!(
        c.subject.addr,
        Address {
            text: String::new(),
            postal_code: Some("000-0000".into())
        }
    );
    assert_eq!(
        c.card.id,
        Some(Id::new(oid::GUIDANCE_VOUCHER, "23200000001"))
    );
    assert_eq!(
        c.card.checkup_card_id,
        Some(Id::new(oid::CHECKUP_VOUCHER, "23100000001"))
    );
    assert_eq!(
        c.card.copayment.as_ref().map(|c| c.code.as_str()),
        Some("1")
    );
    assert_eq!(c.settlement.unit_price, Money::yen(40000));
    assert_eq!(
        c.settlement.payment_rate,
        Rate {
            value: "40".into(),
            unit: Some("%".into())
        }
    );
    assert_eq!(c.settlement.point_count_intended.as_deref(), Some("180"));
    assert_eq!(c.settlement.point_count_completed, None);
    assert_eq!(c.settlement.payment_status, "2");
    assert_eq!(c.settlement.payment_amount, Money::yen(0));
    assert_eq!(c.settlement.claim_amount, Money::yen(16000));
}

#[test]
fn example_index_and_summary_read_as_written() {
    let Some(dir) = examples_dir() else { return };
    let root = dir.join("checkup/9910000018_99000010_202306200_1");
    let Document::Index(ix) =
        read::read_document(&std::fs::read(root.join("ix08_V08.xml")).expect("read")).expect("ix")
    else {
        panic!("not an index")
    };
    assert_eq!(
        ix,
        Index {
            interaction_type: "1".into(),
            creation_time: "20230620".into(),
            sender: Id::new(oid::INSTITUTION, "9910000018"),
            receiver: Some(Id::new(oid::AGENCY, "99000010")),
            service_event_type: "1".into(),
            total_record_count: "2".into(),
        }
    );
    let Document::Summary(su) =
        read::read_document(&std::fs::read(root.join("su08_V08.xml")).expect("read")).expect("su")
    else {
        panic!("not a summary")
    };
    assert_eq!(
        su,
        Summary {
            service_event_type: "1".into(),
            total_subject_count: "1".into(),
            total_cost_amount: Money::yen(8700),
            total_payment_amount: Money::yen(1000),
            total_payment_by_other_program: Some(Money::yen(0)),
            total_claim_amount: Money::yen(7700),
        }
    );
}

#[test]
fn example_cda_header_reads_as_written() {
    let Some(dir) = examples_dir() else { return };
    let path =
        dir.join("guidance/9910000018_99000010_202308100_2/DATA/h99100000182023081002000001.xml");
    let Document::Cda(d) = read::read_document(&std::fs::read(path).expect("read")).expect("doc")
    else {
        panic!("not a CDA")
    };
    assert!(d.is_guidance());
    assert_eq!(d.type_id, Id::new(oid::CDA_TYPE_ID, "POCD_HD000040"));
    assert_eq!(d.effective_time, "20230810");
    assert_eq!(d.patient.id(oid::INSURER), Some("06990014"));
    assert_eq!(d.patient.ids.len(), 3);
    assert_eq!(d.patient.name, "ミホンタロウ");
    assert_eq!(d.patient.gender.code, "1");
    assert_eq!(d.patient.birth_time, "19710405");
    assert_eq!(d.authors.len(), 1);
    assert_eq!(
        d.authors[0].organization.id,
        Some(Id::new(oid::INSTITUTION, "9910000018"))
    );
    assert_eq!(
        d.authors[0].organization.telecom.as_deref(),
        Some("tel:00-0000-0000")
    );
    assert_eq!(d.vouchers.len(), 2);
    assert_eq!(d.vouchers[1].function_code, "2");
    assert_eq!(
        d.vouchers[1].id,
        Id::new("1.2.392.200119.6.210.106990014", "23200000001")
    );
    let se = d.service_event.as_ref().expect("service event");
    assert_eq!(
        (se.code.code.as_str(), se.effective_time.as_str()),
        ("100", "20230801")
    );
    let codes: Vec<_> = d.sections.iter().map(|s| s.code.code.as_str()).collect();
    assert_eq!(codes, ["90010", "90030", "90070"]);
    assert_eq!(d.sections[0].entries.len(), 3);
    assert!(d.sections[0].text.is_none());
}
