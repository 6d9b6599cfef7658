//! CDA bodies: the flattened observation view of the examples, and the builders
//! (what they write reads back as the same observations).

use daiko_format::cda::{self, ActBuilder, ObservationBuilder, Relation, Value, series_group};
use daiko_format::model::*;
use daiko_format::{read, write};
use std::path::Path;

fn example(rel: &str) -> Option<ClinicalDocument> {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/examples"
    ))
    .join(rel);
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipped: {} is absent", path.display());
        return None;
    };
    match read::read_document(&bytes) {
        Ok(Document::Cda(d)) => Some(*d),
        other => panic!("{}: not a CDA: {other:?}", path.display()),
    }
}

const CHECKUP: &str =
    "checkup/9910000018_99000010_202306200_1/DATA/h99100000182023062001000001.xml";
const GUIDANCE: &str =
    "guidance/9910000018_99000010_202308100_2/DATA/h99100000182023081002000001.xml";
const BODY: &str = "/ClinicalDocument/component/structuredBody/component";

#[test]
fn checkup_example_observations_are_flattened_in_document_order() {
    let Some(doc) = example(CHECKUP) else { return };
    let obs = cda::observations(&doc);
    // 50 entries, one of them a series group with 4 members.
    assert_eq!(obs.len(), 54);
    assert!(
        obs.iter()
            .all(|o| o.section == "01010" && o.mood == "EVN" && !o.negated)
    );

    let height = &obs[3];
    assert_eq!(
        height.path,
        format!("{BODY}[1]/section/entry[4]/observation")
    );
    assert_eq!(height.item_code(), "9N001000000000001");
    assert_eq!(
        height.values,
        vec![Value::Pq {
            value: Some("172.4".into()),
            unit: Some("cm".into()),
            null_flavor: None
        }]
    );

    let tg = obs
        .iter()
        .find(|o| o.item_code() == "3F015000002327101")
        .expect("TG");
    assert_eq!(tg.interpretation, ["N"]);
    assert_eq!(tg.methods, ["3F01510000"]);
    assert_eq!(
        tg.reference_range,
        Some((Some("30".into()), Some("149".into())))
    );

    let urine = obs
        .iter()
        .find(|o| o.item_code() == "1A020000000191111")
        .expect("urine glucose");
    assert_eq!(urine.values[0].xsi_type(), "CO");

    let container = obs
        .iter()
        .position(|o| o.is_group_container())
        .expect("group container");
    let container_path = obs[container].path.clone();
    let members: Vec<_> = obs[container + 1..container + 5].iter().collect();
    let relations: Vec<_> = members
        .iter()
        .map(|m| m.group.as_ref().expect("member").relation.as_str())
        .collect();
    assert_eq!(relations, ["COMP", "COMP", "RSON", "RSON"]);
    assert!(members.iter().all(|m| {
        m.group
            .as_ref()
            .is_some_and(|g| g.container_path == container_path)
    }));
    assert_eq!(
        members[0].path,
        format!("{container_path}/entryRelationship[1]/observation")
    );
    assert_eq!(
        members[3].path,
        format!("{container_path}/entryRelationship[4]/observation")
    );
    assert_eq!(
        members[3].values[0],
        Value::St {
            text: "血圧及び血糖が保健指導判定値以上のため".into(),
            null_flavor: None
        }
    );

    let judgement = obs
        .iter()
        .find(|o| o.item_code() == "9N511000000000049")
        .expect("judgement");
    assert_eq!(judgement.author_name.as_deref(), Some("見本　一郎"));
    assert!(
        obs.iter()
            .filter(|o| o.item_code() != "9N511000000000049")
            .all(|o| o.author_name.is_none())
    );
}

#[test]
fn guidance_example_act_members_are_observations() {
    let Some(doc) = example(GUIDANCE) else { return };
    let obs = cda::observations(&doc);
    assert_eq!(obs.len(), 13);
    let sections: Vec<_> = obs.iter().map(|o| o.section.as_str()).collect();
    assert_eq!(&sections[..3], ["90010"; 3]);
    let minutes = obs
        .iter()
        .find(|o| o.item_code() == "1022000013")
        .expect("interview minutes");
    assert_eq!(
        minutes.path,
        format!("{BODY}[2]/section/entry[1]/act/entryRelationship[1]/observation")
    );
    let group = minutes.group.as_ref().expect("member of the act");
    assert_eq!(
        (group.relation.as_str(), group.container_path.as_str()),
        ("COMP", &*format!("{BODY}[2]/section/entry[1]/act"))
    );
    let goal = obs
        .iter()
        .find(|o| o.item_code() == "1021001031")
        .expect("waist goal");
    assert_eq!(goal.mood, "GOL");
    let count = obs
        .iter()
        .find(|o| o.item_code() == "1041800117")
        .expect("planned count");
    assert_eq!(
        count.values,
        vec![Value::Int {
            value: Some("6".into()),
            null_flavor: None
        }]
    );
}

/// A small checkup document made only with the builders.
fn built_checkup() -> ClinicalDocument {
    let header = cda::DocumentHeader {
        report_kind: "10".into(),
        document_date: "20240620".into(),
        patient: Patient {
            ids: cda::patient_ids("06990014", Some("記号"), "12345", Some("01")),
            addr: Some(Address {
                text: "見本市".into(),
                postal_code: Some("000-0000".into()),
            }),
            name: "ミホンハナコ".into(),
            gender: Code {
                code: "2".into(),
                code_system: Some(oid::GENDER.into()),
                display_name: None,
            },
            birth_time: "19800101".into(),
        },
        institution: cda::institution(
            "9910000018",
            "見本クリニック",
            Some("tel:00-0000-0000"),
            None,
        ),
        service_date: "20240612".into(),
        checkup_voucher: Some(cda::Voucher {
            number: "24100000001".into(),
            expiry: Some("20250331".into()),
        }),
        guidance_voucher: None,
    };
    let entries = vec![
        ObservationBuilder::new("9N001000000000001")
            .display_name("身長")
            .pq("160.2", "cm")
            .entry(),
        ObservationBuilder::new("3F015000002327101")
            .reference_range("30", "149", "mg/dL")
            .interpretation("N")
            .method("3F01510000")
            .pq("132", "mg/dL")
            .entry(),
        ObservationBuilder::new("9N016160100000001")
            .pq("80", "cm")
            .not_performed()
            .entry(),
        ObservationBuilder::new("3D046000001906202")
            .not_measurable("PQ")
            .entry(),
        ObservationBuilder::new("3F070000002327101")
            .out_of_range_high("999", "mg/dL")
            .method("3F07010000")
            .entry(),
        ObservationBuilder::new("3B035000002327201")
            .out_of_range_low("0", "U/L")
            .entry(),
        ObservationBuilder::new("1A010000000191111")
            .co("1", "1.2.392.200119.6.2102")
            .entry(),
        ObservationBuilder::new("9N501000000000011")
            .cd("1", "1.2.392.200119.6.1008")
            .entry(),
        ObservationBuilder::new("9N511000000000049")
            .st("特記事項なし <&>")
            .doctor("見本　一郎")
            .entry(),
        series_group(vec![
            (
                Relation::Component,
                ObservationBuilder::new("3C015000002327101").pq("0.98", "mg/dL"),
            ),
            (
                Relation::Reason,
                ObservationBuilder::new("3C015161002399949").st("理由"),
            ),
        ])
        .entry(),
    ];
    header.build(vec![cda::section(
        "01010",
        Some("検査・問診結果セクション"),
        entries,
    )])
}

#[test]
fn builders_write_what_the_reader_sees() {
    let doc = built_checkup();
    let text = write::write_cda(&doc);
    let Document::Cda(again) = read::read_document(text.as_bytes()).expect("read back") else {
        panic!("kind")
    };
    assert_eq!(*again, doc);
    assert_eq!(again.vouchers[0].id.root, "1.2.392.200119.6.209.106990014");

    let obs = cda::observations(&again);
    assert_eq!(obs.len(), 12);
    assert_eq!(
        obs[0].code.as_ref().and_then(|c| c.display_name.as_deref()),
        Some("身長")
    );
    assert_eq!(
        obs[1].reference_range,
        Some((Some("30".into()), Some("149".into())))
    );
    assert_eq!(
        (obs[1].interpretation.as_slice(), obs[1].methods.as_slice()),
        (&["N".to_string()][..], &["3F01510000".to_string()][..])
    );
    // 未実施: negationInd and no value.
    assert!(obs[2].negated && obs[2].values.is_empty());
    // 測定不能: nullFlavor NI on a PQ.
    assert_eq!(
        obs[3].values,
        vec![Value::Pq {
            value: None,
            unit: None,
            null_flavor: Some("NI".into())
        }]
    );
    // 入力範囲外: PQ then CD H 以上 / L 以下.
    assert_eq!(obs[4].pq_value(), Some("999"));
    assert_eq!(obs[4].out_of_range_flag(), Some("H"));
    assert_eq!(obs[5].out_of_range_flag(), Some("L"));
    let Value::Coded {
        code,
        ordered: false,
        ..
    } = &obs[5].values[1]
    else {
        panic!("CD flag")
    };
    assert_eq!(code.display_name.as_deref(), Some("以下"));
    assert_eq!(obs[6].values[0].xsi_type(), "CO");
    assert_eq!(obs[7].values[0].xsi_type(), "CD");
    assert_eq!(
        obs[8].values[0],
        Value::St {
            text: "特記事項なし <&>".into(),
            null_flavor: None
        }
    );
    assert_eq!(obs[8].author_name.as_deref(), Some("見本　一郎"));
    assert!(obs[9].is_group_container());
    assert_eq!(
        obs[10].group.as_ref().map(|g| g.relation.as_str()),
        Some("COMP")
    );
    assert_eq!(
        obs[11].group.as_ref().map(|g| g.relation.as_str()),
        Some("RSON")
    );
}

#[test]
fn observation_view_rebuilds_an_equivalent_element() {
    let doc = built_checkup();
    let obs = cda::observations(&doc);
    for o in obs
        .iter()
        .filter(|o| o.group.is_none() && !o.is_group_container())
    {
        let rebuilt = o.to_element();
        let section = Section {
            entries: vec![daiko_format::xml::Element::new("entry").child(rebuilt)],
            ..doc.sections[0].clone()
        };
        let single = ClinicalDocument {
            sections: vec![section],
            ..doc.clone()
        };
        let view = cda::observations(&single);
        assert_eq!(view.len(), 1);
        assert_eq!(
            (
                &view[0].code,
                view[0].negated,
                &view[0].values,
                &view[0].interpretation,
                &view[0].methods,
                &view[0].author_name,
                &view[0].reference_range
            ),
            (
                &o.code,
                o.negated,
                &o.values,
                &o.interpretation,
                &o.methods,
                &o.author_name,
                &o.reference_range
            )
        );
    }
}

#[test]
fn act_builder_makes_guidance_sessions() {
    let act = ActBuilder::new(
        "EVN",
        Some(Code {
            code: "1".into(),
            code_system: Some("1.2.392.200119.6.18140".into()),
            display_name: None,
        }),
    )
    .effective_time("20230801")
    .performer_code(Code {
        code: "2".into(),
        code_system: Some("1.2.392.200119.6.3020".into()),
        display_name: None,
    })
    .member(
        Relation::Component,
        ObservationBuilder::new("1022000013")
            .code_system(oid::GUIDANCE_ITEM)
            .pq("30", "min"),
    );
    let doc = ClinicalDocument {
        sections: vec![cda::section("90030", None, vec![act.entry()])],
        ..built_checkup()
    };
    let obs = cda::observations(&doc);
    assert_eq!(obs.len(), 1);
    assert_eq!(
        obs[0].path,
        format!("{BODY}[1]/section/entry[1]/act/entryRelationship[1]/observation")
    );
    assert_eq!(obs[0].section, "90030");
}

#[test]
fn guidance_example_acts_carry_date_form_and_staff() {
    let Some(doc) = example(GUIDANCE) else { return };
    let acts = cda::acts(&doc);
    assert_eq!(acts.len(), 3);
    let session = &acts[0];
    assert_eq!(session.path, format!("{BODY}[2]/section/entry[1]/act"));
    assert_eq!(
        (session.section.as_str(), session.mood.as_str()),
        ("90030", "EVN")
    );
    assert_eq!(session.code.as_ref().map(|c| c.code.as_str()), Some("1"));
    assert_eq!(session.effective_time.as_deref(), Some("20230801"));
    assert_eq!(
        session
            .performer_codes
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>(),
        ["2"]
    );
    let plan = &acts[1];
    assert_eq!((plan.mood.as_str(), plan.code.is_none()), ("INT", true));
    assert_eq!(acts[2].section, "90070");
}
