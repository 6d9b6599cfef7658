//! Stage M on hostile or random documents: never panics, whatever the codes, value types,
//! numbers, code systems and texts, and the fiscal year.

use daiko_check::stages::items::{ItemCheckInput, check_items};
use daiko_format::cda::{
    DocumentHeader, ObservationBuilder, Relation, institution, observations, section, series_group,
};
use daiko_format::model::{CheckupClaim, Code, DetailPrice, GuidanceClaim, Money, Patient};
use proptest::prelude::*;

/// Item codes the checks treat specially, plus garbage.
const CODES: &[&str] = &[
    "9N001000000000001",
    "9N006000000000001",
    "9N011000000000001",
    "9N016160100000001",
    "9N016160300000001",
    "9N056000000000011",
    "9N056160400000049",
    "9N141000000000011",
    "3D010000002227101",
    "3D010129902227101",
    "3F015129902327101",
    "3C015161602399911",
    "3C015161002399949",
    "9N501000000000011",
    "9N506000000000011",
    "9N511000000000049",
    "9N736000000000011",
    "1020000001",
    "1041800114",
    "",
    "x",
    "9N00100000000000１",
];

fn value() -> impl Strategy<Value = (u8, String, String)> {
    (
        0u8..8,
        "[0-9.\\-eE ]{0,12}|.{0,40}",
        prop::sample::select(vec![
            "",
            "cm",
            "kg/m2",
            "1.2.392.200119.6.2001",
            "1.2.392.200119.6.2202",
            "2.16.840.1.113883.5.83",
            "1.2.392.200119.6.24090",
        ])
        .prop_map(str::to_string),
    )
}

fn observation(code: &str, (kind, text, aux): (u8, String, String)) -> ObservationBuilder {
    let b = ObservationBuilder::new(code);
    match kind {
        0 => b.pq(text, &aux),
        1 => b.cd(text, aux),
        2 => b.co(text, aux),
        3 => b.st(text),
        4 => b.int(text),
        5 => b.not_performed(),
        6 => b.not_measurable("PQ"),
        _ => b.out_of_range_high(text, &aux).doctor(&aux),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn stage_m_never_panics(
        entries in prop::collection::vec((prop::sample::select(CODES), value()), 0..30),
        grouped in prop::collection::vec((prop::sample::select(CODES), value()), 0..5),
        fy in prop::option::of(1990i32..2100),
        guidance in any::<bool>(),
        birth in "[0-9]{0,9}",
        detail in prop::collection::vec("[0-9]{0,2}", 0..4),
        points in prop::option::of("[0-9]{0,6}|.{0,5}"),
    ) {
        let mut items: Vec<_> = entries.into_iter().map(|(c, v)| observation(c, v).entry()).collect();
        let members = grouped.into_iter().map(|(c, v)| (Relation::Reason, observation(c, v))).collect();
        items.push(series_group(members).entry());
        let header = DocumentHeader {
            report_kind: if guidance { "21".into() } else { "10".into() },
            document_date: "20240612".into(),
            patient: Patient { gender: Code::new("9"), birth_time: birth, ..Default::default() },
            institution: institution("9910000018", "x", None, None),
            service_date: "20240612".into(),
            checkup_voucher: None,
            guidance_voucher: None,
        };
        let doc = header.build(vec![section(if guidance { "90010" } else { "01010" }, None, items)]);
        let obs = observations(&doc);
        let mut cc = CheckupClaim::default();
        cc.settlement.unit_price_detail = detail.into_iter().map(|code| DetailPrice { amount: Money::yen(1), code }).collect();
        let mut gc = GuidanceClaim { guidance_timing: "1".into(), guidance_level: "1".into(), ..Default::default() };
        gc.settlement.point_count_completed = points.clone();
        gc.settlement.point_count_intended = points;
        let input = ItemCheckInput {
            file: "DATA/h1.xml",
            doc: &doc,
            observations: &obs,
            checkup_claim: Some(&cc),
            guidance_claim: Some(&gc),
            fiscal_year: fy,
        };
        let mut out = Vec::new();
        check_items(&input, &mut out);
        for f in &out {
            prop_assert!(f.code.starts_with("M-"));
            prop_assert!(!f.message_ja.is_empty() && !f.message_en.is_empty());
        }
    }
}
