//! What the writers produce validates against the official schemas with `xmllint
//! --schema`: the 2018 set for G2018 output, the 2024 set for G2024 output (the CDA
//! schemas are the same in both). Covered: the examples written back, documents made
//! with the CDA builders, and generated schema-valid models of every kind.
//!
//! Skips with a message when `../shared/reference/xsd` or `xmllint` is missing.

use daiko_format::cda::{self, ActBuilder, ObservationBuilder, Relation, series_group};
use daiko_format::model::*;
use daiko_format::{read, write};
use proptest::option::of;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::path::{Path, PathBuf};
use std::process::Command;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn xsd_dir(generation: Generation) -> Option<PathBuf> {
    let dir = Path::new(SHARED)
        .join("reference/xsd")
        .join(generation.as_str());
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return None;
    }
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("skipped: xmllint is not installed");
        return None;
    }
    Some(dir)
}

/// Documents to validate, grouped by schema file name.
#[derive(Default)]
struct Batch {
    files: Vec<(DocumentKind, String)>,
}

impl Batch {
    fn add(&mut self, kind: DocumentKind, text: String) {
        self.files.push((kind, text));
    }

    fn add_doc(&mut self, doc: &Document, generation: Generation) {
        let kind = match doc {
            Document::Index(_) => DocumentKind::Index,
            Document::Summary(_) => DocumentKind::Summary,
            Document::Cda(d) if d.is_guidance() => DocumentKind::GuidanceCda,
            Document::Cda(_) => DocumentKind::CheckupCda,
            Document::CheckupClaim(_) => DocumentKind::CheckupClaim,
            Document::GuidanceClaim(_) => DocumentKind::GuidanceClaim,
        };
        self.add(kind, write::write_document(doc, generation));
    }

    /// Writes the files and runs one `xmllint` per schema; panics with its output on failure.
    fn validate(&self, generation: Generation) {
        let Some(xsd) = xsd_dir(generation) else {
            return;
        };
        let tmp = tempfile::tempdir().expect("temp dir");
        for kind in [
            DocumentKind::Index,
            DocumentKind::Summary,
            DocumentKind::CheckupCda,
            DocumentKind::GuidanceCda,
            DocumentKind::CheckupClaim,
            DocumentKind::GuidanceClaim,
        ] {
            let mut paths = Vec::new();
            for (i, (_, text)) in self
                .files
                .iter()
                .enumerate()
                .filter(|(_, (k, _))| *k == kind)
            {
                let p = tmp.path().join(format!("{i:04}.xml"));
                std::fs::write(&p, text).expect("write");
                paths.push(p);
            }
            if paths.is_empty() {
                continue;
            }
            let out = Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(xsd.join(kind.schema_name()))
                .args(&paths)
                .output()
                .expect("run xmllint");
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let first_bad = stderr
                    .lines()
                    .find(|l| l.contains(".xml:"))
                    .and_then(|l| l.split(".xml:").next());
                let sample = first_bad
                    .and_then(|p| std::fs::read_to_string(format!("{p}.xml")).ok())
                    .unwrap_or_default();
                panic!(
                    "{} output of {kind:?} ({}) fails {}:\n{stderr}\n--- first failing file ---\n{sample}",
                    generation.as_str(),
                    paths.len(),
                    kind.schema_name()
                );
            }
        }
    }
}

/// Samples `n` values of a strategy deterministically.
fn sample<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("value").current())
        .collect()
}

fn examples() -> Vec<Document> {
    let dir = Path::new(SHARED).join("spec/examples");
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                out.push(
                    read::read_document(&std::fs::read(&p).expect("read")).expect("example reads"),
                );
            }
        }
    }
    out
}

#[test]
fn examples_written_back_validate_in_both_generations() {
    let docs = examples();
    if docs.is_empty() {
        eprintln!("skipped: no examples");
        return;
    }
    for generation in [Generation::G2018, Generation::G2024] {
        let mut batch = Batch::default();
        for d in &docs {
            batch.add_doc(d, generation);
        }
        batch.validate(generation);
    }
}

// ---------------------------------------------------------------------------------------
// Schema-valid generated models
// ---------------------------------------------------------------------------------------

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[0-9]{{{n}}}")).expect("regex")
}

fn date() -> impl Strategy<Value = String> {
    (2000u32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}{m:02}{d:02}"))
}

fn kana() -> impl Strategy<Value = String> {
    "[ァ-ヶー]{1,12}"
}

fn address() -> impl Strategy<Value = Address> {
    ("[一-龥０-９－]{0,20}", "[0-9]{3}-[0-9]{4}").prop_map(|(text, pc)| Address {
        text,
        postal_code: Some(pc),
    })
}

fn yen(max: u64) -> impl Strategy<Value = Money> {
    (0..=max, any::<bool>()).prop_map(|(v, jpy)| Money {
        value: v.to_string(),
        currency: jpy.then(|| "JPY".into()),
    })
}

fn yen6() -> impl Strategy<Value = Money> {
    (0u64..1_000_000).prop_map(Money::yen6)
}

fn code_in(codes: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(codes).prop_map(str::to_string)
}

fn interaction_types(g: Generation) -> &'static [&'static str] {
    const ALL: [&str; 20] = [
        "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
        "17", "18", "19", "20",
    ];
    match g {
        Generation::G2018 => &ALL[..13],
        Generation::G2024 => &ALL,
    }
}

fn service_event_types(g: Generation) -> &'static [&'static str] {
    match g {
        Generation::G2018 => &["1", "2", "3", "4"],
        Generation::G2024 => &["1", "2", "3", "4", "5", "6", "7", "8", "9"],
    }
}

fn org_id() -> impl Strategy<Value = Id> {
    prop_oneof![
        digits(10).prop_map(|e| Id::new(oid::INSTITUTION, e)),
        digits(8).prop_map(|e| Id::new(oid::AGENCY, e)),
        digits(8).prop_map(|e| Id::new(oid::INSURER, e)),
    ]
}

fn index(g: Generation) -> impl Strategy<Value = Index> {
    let max_count = if g == Generation::G2024 {
        99_999_999u64
    } else {
        999_999
    };
    (
        code_in(interaction_types(g)),
        date(),
        org_id(),
        of(org_id()),
        code_in(service_event_types(g)),
        0..=max_count,
    )
        .prop_map(
            |(interaction_type, creation_time, sender, receiver, service_event_type, n)| Index {
                interaction_type,
                creation_time,
                sender,
                receiver,
                service_event_type,
                total_record_count: n.to_string(),
            },
        )
}

fn summary(g: Generation) -> impl Strategy<Value = Summary> {
    (
        code_in(service_event_types(g)),
        0u64..1_000_000,
        yen(999_999_999),
        yen(999_999_999),
        of(yen(999_999_999)),
        yen(999_999_999),
    )
        .prop_map(|(s, n, cost, pay, other, claim)| Summary {
            service_event_type: s,
            total_subject_count: n.to_string(),
            total_cost_amount: cost,
            total_payment_amount: pay,
            total_payment_by_other_program: other,
            total_claim_amount: claim,
        })
}

fn subject(g: Generation, with_address_text: bool) -> impl Strategy<Value = SubjectPerson> {
    let branch = if g == Generation::G2024 {
        of(digits(2)).boxed()
    } else {
        Just(None).boxed()
    };
    (
        digits(10),
        digits(8),
        of("[0-9０-９]{1,20}"),
        "[0-9０-９]{1,20}",
        branch,
        kana(),
        address(),
        date(),
        code_in(&["1", "2"]),
    )
        .prop_map(
            move |(inst, insurer, symbol, number, branch, name, mut addr, birth_time, gender)| {
                if !with_address_text {
                    addr.text.clear();
                }
                SubjectPerson {
                    performer_organization: Id::new(oid::INSTITUTION, inst),
                    insurance_card: InsuranceCard {
                        insurer_number: Id::new(oid::INSURER, insurer),
                        symbol: symbol.map(|s| Id::new(oid::CARD_SYMBOL, s)),
                        number: Id::new(oid::CARD_NUMBER, number),
                        branch: branch.map(|b| Id::new(oid::CARD_BRANCH, b)),
                    },
                    name,
                    addr,
                    birth_time,
                    gender,
                }
            },
        )
}

/// 窓口負担: code 1 nothing, 2/4 an amount, 3 a rate.
fn charge(codes: &'static [&'static str]) -> impl Strategy<Value = Charge> {
    (code_in(codes), yen6(), 0u32..100_001).prop_map(|(code, amount, rate)| {
        let (amount, rate) = match code.as_str() {
            "2" | "4" => (Some(amount), None),
            "3" => (
                None,
                Some(Rate {
                    value: format!("{rate:06}"),
                    unit: Some("%".into()),
                }),
            ),
            _ => (None, None),
        };
        Charge { code, amount, rate }
    })
}

fn max_limit() -> impl Strategy<Value = Charge> {
    (yen6(), any::<bool>()).prop_map(|(amount, explicit)| Charge {
        code: if explicit { "4".into() } else { String::new() },
        amount: Some(amount),
        rate: None,
    })
}

fn adjudication(g: Generation) -> impl Strategy<Value = Adjudication> {
    (
        code_in(interaction_types(g)),
        date(),
        code_in(&["", "01", "05", "09"]),
        of("[ぁ-ん]{0,100}"),
    )
        .prop_map(
            |(interaction_type, record_date, reason_code, reason_text)| Adjudication {
                interaction_type,
                record_date,
                reason_code,
                reason_text,
            },
        )
}

fn checkup_claim(g: Generation) -> impl Strategy<Value = CheckupClaim> {
    let card = (
        of(digits(11).prop_map(|e| Id::new(oid::CHECKUP_VOUCHER, e))),
        of(date()),
        of(charge(&["1", "2", "3", "4"])),
        of(charge(&["1", "2", "3", "4"])),
        of(charge(&["1", "2", "3", "4"])),
        of((of(charge(&["1", "2", "3"])), of(max_limit())).prop_map(
            |(copayment, max_insurance_limit)| DockCharge {
                copayment,
                max_insurance_limit,
            },
        )),
    )
        .prop_map(
            |(id, expiry, charge_basic, charge_detail, charge_other, charge_dock)| CheckupCard {
                id,
                expiry,
                charge_basic,
                charge_detail,
                charge_other,
                charge_dock,
            },
        );
    let other_item = of(digits(17).prop_map(|c| Code {
        code: c,
        code_system: Some(oid::CHECKUP_ITEM.into()),
        display_name: None,
    }));
    let settlement = (
        (
            code_in(&["1", "2", "3", "4", "5"]),
            code_in(&["1", "2"]),
            of(yen(999_999_999)),
        ),
        prop::collection::vec(
            (yen(999_999_999), code_in(&["1", "2", "3", "4"]))
                .prop_map(|(amount, code)| DetailPrice { amount, code }),
            0..3,
        ),
        prop::collection::vec(
            (yen(999_999_999), other_item).prop_map(|(amount, item)| OtherPrice { amount, item }),
            0..3,
        ),
        (of(yen6()), of(yen6()), of(yen6())),
        (
            yen(999_999_999),
            yen(999_999_999),
            of(yen(999_999_999)),
            yen(999_999_999),
        ),
    )
        .prop_map(
            |(
                (claim_type, commission_type, basic),
                detail,
                other,
                (pb, pd, po),
                (ua, pa, pbo, ca),
            )| CheckupSettlement {
                claim_type,
                commission_type,
                unit_price_basic: basic,
                unit_price_detail: detail,
                unit_price_other: other,
                payment_for_basic: pb,
                payment_for_detail: pd,
                payment_for_other: po,
                unit_amount: ua,
                payment_amount: pa,
                payment_by_other_program: pbo,
                claim_amount: ca,
            },
        );
    (
        code_in(service_event_types(g)),
        subject(g, true),
        card,
        settlement,
        of(adjudication(g)),
        of(adjudication(g)),
    )
        .prop_map(
            |(
                service_event_type,
                subject,
                card,
                settlement,
                agency_adjudication,
                insurer_adjudication,
            )| CheckupClaim {
                service_event_type,
                subject,
                card,
                settlement,
                agency_adjudication,
                insurer_adjudication,
            },
        )
}

fn guidance_claim(g: Generation) -> impl Strategy<Value = GuidanceClaim> {
    let card = (
        of(digits(11).prop_map(|e| Id::new(oid::GUIDANCE_VOUCHER, e))),
        of(digits(11).prop_map(|e| Id::new(oid::CHECKUP_VOUCHER, e))),
        of(date()),
        of(charge(&["1", "2", "3", "4"])),
        of(max_limit()),
    )
        .prop_map(
            |(id, checkup_card_id, expiry, copayment, max_insurance_limit)| GuidanceCard {
                id,
                checkup_card_id,
                expiry,
                copayment,
                max_insurance_limit,
            },
        );
    let settlement = (
        yen(999_999_999),
        (0u32..=100, of(Just("%".to_string()))),
        of(0u32..10_000),
        of(0u32..10_000),
        yen(999_999_999),
        code_in(&["1", "2"]),
        yen(999_999_999),
        yen(999_999_999),
    )
        .prop_map(
            |(
                unit_price,
                (rate, unit),
                done,
                planned,
                calculated_amount,
                payment_status,
                payment_amount,
                claim_amount,
            )| {
                GuidanceSettlement {
                    unit_price,
                    payment_rate: Rate {
                        value: rate.to_string(),
                        unit,
                    },
                    point_count_completed: done.map(|p| p.to_string()),
                    point_count_intended: planned.map(|p| p.to_string()),
                    calculated_amount,
                    payment_status,
                    payment_amount,
                    claim_amount,
                }
            },
        );
    (
        (
            code_in(service_event_types(g)),
            code_in(&["1", "2", "3", "4"]),
            code_in(&["1", "2", "3", "4", "5"]),
        ),
        subject(g, false),
        card,
        settlement,
        of(adjudication(g)),
        of(adjudication(g)),
    )
        .prop_map(
            |(
                (service_event_type, guidance_level, guidance_timing),
                subject,
                card,
                settlement,
                a,
                i,
            )| GuidanceClaim {
                service_event_type,
                guidance_level,
                guidance_timing,
                subject,
                card,
                settlement,
                agency_adjudication: a,
                insurer_adjudication: i,
            },
        )
}

// ---------------------------------------------------------------------------------------
// CDA made with the builders
// ---------------------------------------------------------------------------------------

fn header(report_kind: &str, guidance: bool) -> impl Strategy<Value = cda::DocumentHeader> {
    let report_kind = report_kind.to_string();
    (
        (
            digits(8),
            of("[0-9０-９]{1,20}"),
            "[0-9０-９]{1,20}",
            of(digits(2)),
        ),
        (of(address()), kana(), code_in(&["1", "2"]), date()),
        (
            digits(10),
            "[一-龥]{1,10}",
            of("tel:[0-9]{2,4}-[0-9]{4}-[0-9]{4}"),
            of(address()),
        ),
        (
            date(),
            date(),
            of((digits(11), of(date()))),
            of((digits(11), of(date()))),
        ),
    )
        .prop_map(
            move |(
                (insurer, symbol, number, branch),
                (addr, name, gender, birth),
                (inst, inst_name, tel, inst_addr),
                (made, done, cv, gv),
            )| {
                cda::DocumentHeader {
                    report_kind: report_kind.clone(),
                    document_date: made,
                    patient: Patient {
                        ids: cda::patient_ids(
                            &insurer,
                            symbol.as_deref(),
                            &number,
                            branch.as_deref(),
                        ),
                        addr,
                        name,
                        gender: Code {
                            code: gender,
                            code_system: Some(oid::GENDER.into()),
                            display_name: None,
                        },
                        birth_time: birth,
                    },
                    institution: cda::institution(&inst, &inst_name, tel.as_deref(), inst_addr),
                    service_date: done,
                    checkup_voucher: cv.map(|(number, expiry)| cda::Voucher { number, expiry }),
                    guidance_voucher: if guidance {
                        gv.map(|(number, expiry)| cda::Voucher { number, expiry })
                    } else {
                        None
                    },
                }
            },
        )
}

/// One checkup item in any of the encodings the builders offer.
fn checkup_item() -> impl Strategy<Value = ObservationBuilder> {
    let number = "[0-9]{1,3}(\\.[0-9])?";
    (digits(17), number, 0usize..9, "[一-龥ぁ-ん<&>]{1,20}").prop_map(|(code, n, variant, text)| {
        let o = ObservationBuilder::new(code);
        match variant {
            0 => o
                .pq(n, "mg/dL")
                .method("3F01510000")
                .interpretation("H")
                .reference_range("30", "149", "mg/dL"),
            1 => o.cd("1", "1.2.392.200119.6.2001").display_name("表示名"),
            2 => o.co("3", "1.2.392.200119.6.2102"),
            3 => o.st(text),
            4 => o.not_performed(),
            5 => o.not_measurable("PQ"),
            6 => o.out_of_range_high(n, "mg/dL"),
            7 => o.out_of_range_low(n, "U/L"),
            _ => o.st(text).doctor("見本　一郎"),
        }
    })
}

fn checkup_cda() -> impl Strategy<Value = ClinicalDocument> {
    (
        header("10", false),
        prop::collection::vec(checkup_item(), 1..12),
        prop::collection::vec(checkup_item(), 0..4),
        prop::collection::vec(checkup_item(), 0..3),
    )
        .prop_map(|(h, items, members, extra)| {
            let mut entries: Vec<_> = items.iter().map(ObservationBuilder::entry).collect();
            if !members.is_empty() {
                let group = members
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| {
                        (
                            if i % 2 == 0 {
                                Relation::Component
                            } else {
                                Relation::Reason
                            },
                            m,
                        )
                    })
                    .collect();
                entries.push(series_group(group).entry());
            }
            let mut sections = vec![cda::section(
                "01010",
                Some("検査・問診結果セクション"),
                entries,
            )];
            if !extra.is_empty() {
                sections.push(cda::section(
                    "01990",
                    None,
                    extra.iter().map(ObservationBuilder::entry).collect(),
                ));
            }
            h.build(sections)
        })
}

fn guidance_cda() -> impl Strategy<Value = ClinicalDocument> {
    (header("21", true), 1u32..200, "[一-龥]{1,20}", date()).prop_map(
        |(h, minutes, course, day)| {
            let item = |code: &str| ObservationBuilder::new(code).code_system(oid::GUIDANCE_ITEM);
            let common = vec![
                item("1020000001").cd("1", "1.2.392.200119.6.3001").entry(),
                item("1020000003")
                    .display_name("保健指導コース名")
                    .st(course)
                    .entry(),
            ];
            let session = ActBuilder::new(
                "EVN",
                Some(Code {
                    code: "1".into(),
                    code_system: Some("1.2.392.200119.6.18140".into()),
                    display_name: None,
                }),
            )
            .effective_time(day)
            .performer_code(Code {
                code: "2".into(),
                code_system: Some("1.2.392.200119.6.3020".into()),
                display_name: None,
            })
            .member(
                Relation::Component,
                item("1022000013").pq(minutes.to_string(), "min"),
            );
            let plan = ActBuilder::new("INT", None)
                .member(
                    Relation::Component,
                    item("1021001031").mood("GOL").pq("87.0", "cm"),
                )
                .member(Relation::Component, item("1041800117").mood("INT").int("6"));
            h.build(vec![
                cda::section("90010", Some("指導共通情報"), common),
                cda::section(
                    "90030",
                    Some("指導初回情報"),
                    vec![session.entry(), plan.entry()],
                ),
            ])
        },
    )
}

#[test]
fn generated_models_validate_in_both_generations() {
    for g in [Generation::G2018, Generation::G2024] {
        let mut batch = Batch::default();
        for m in sample(index(g), 40) {
            batch.add(DocumentKind::Index, write::write_index(&m, g));
        }
        for m in sample(summary(g), 40) {
            batch.add(DocumentKind::Summary, write::write_summary(&m, g));
        }
        for m in sample(checkup_claim(g), 40) {
            batch.add(
                DocumentKind::CheckupClaim,
                write::write_checkup_claim(&m, g),
            );
        }
        for m in sample(guidance_claim(g), 40) {
            batch.add(
                DocumentKind::GuidanceClaim,
                write::write_guidance_claim(&m, g),
            );
        }
        for m in sample(checkup_cda(), 30) {
            batch.add(DocumentKind::CheckupCda, write::write_cda(&m));
        }
        for m in sample(guidance_cda(), 20) {
            batch.add(DocumentKind::GuidanceCda, write::write_cda(&m));
        }
        batch.validate(g);
    }
}

#[test]
fn branch_code_is_written_in_2024_claims_only() {
    let Some(claim) = sample(checkup_claim(Generation::G2024), 20)
        .into_iter()
        .find(|c| c.subject.insurance_card.branch.is_some())
    else {
        panic!("no sample with a branch code")
    };
    let in_2024 = write::write_checkup_claim(&claim, Generation::G2024);
    // The same person in a 2018 claim (codes that the 2018 lists also hold).
    let mut claim_2018 = claim.clone();
    claim_2018.service_event_type = "1".into();
    for a in [
        &mut claim_2018.agency_adjudication,
        &mut claim_2018.insurer_adjudication,
    ]
    .into_iter()
    .flatten()
    {
        a.interaction_type = "2".into();
    }
    let in_2018 = write::write_checkup_claim(&claim_2018, Generation::G2018);
    assert!(in_2024.contains("<branchCode root=\"1.2.392.200119.6.211\""));
    assert!(!in_2018.contains("branchCode"));
    assert!(in_2024.contains(NS_MHLW_2024) && !in_2024.contains(NS_2007));
    assert!(in_2018.contains(NS_2007) && !in_2018.contains(NS_MHLW_2024));
    let mut batch = Batch::default();
    batch.add(DocumentKind::CheckupClaim, in_2024);
    batch.validate(Generation::G2024);
    let mut batch = Batch::default();
    batch.add(DocumentKind::CheckupClaim, in_2018);
    batch.validate(Generation::G2018);
}

#[test]
fn writers_start_with_the_declaration_and_schema_location() {
    let ix = write::write_index(
        &sample(index(Generation::G2018), 1).remove(0),
        Generation::G2018,
    );
    assert!(ix.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<index xmlns=\"http://tokuteikenshin.jp/checkup/2007\""));
    assert!(ix.contains(
        "xsi:schemaLocation=\"http://tokuteikenshin.jp/checkup/2007 ./XSD/ix08_V08.xsd\""
    ));
    let gc = write::write_guidance_claim(
        &sample(guidance_claim(Generation::G2024), 1).remove(0),
        Generation::G2024,
    );
    assert!(gc.contains(&format!(
        "xsi:schemaLocation=\"{NS_MHLW_2024} ../XSD/gc08_V08.xsd\""
    )));
    let hg = write::write_cda(&sample(guidance_cda(), 1).remove(0));
    assert!(hg.contains("xsi:schemaLocation=\"urn:hl7-org:v3 ../XSD/hg08_V08.xsd\""));
    assert!(
        !hg.contains('\r')
            && hg
                .lines()
                .all(|l| l.len() - l.trim_start().len() < 2 || l.starts_with("  "))
    );
}
