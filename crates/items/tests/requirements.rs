//! The requirements daiko derives for each table generation agree with FORMAT.md §6.6 and
//! CHECKS.md M-07/M-08, and the FY2018/FY2024 differences are exactly the documented ones.

use daiko_items::rules::{blood_draw_timing, one_of_groups};
use daiko_items::{Requirement, TableGeneration, table_for_fiscal_year};
use std::collections::BTreeSet;

fn codes_with(fy: i32, pred: impl Fn(Requirement) -> bool) -> BTreeSet<String> {
    table_for_fiscal_year(fy)
        .items()
        .iter()
        .filter(|i| pred(i.requirement))
        .map(|i| i.code.clone())
        .collect()
}

#[test]
fn seventeen_mandatory_rows_in_both_years() {
    let expected: BTreeSet<String> = [
        "9N001000000000001", // 身長
        "9N006000000000001", // 体重
        "9N011000000000001", // BMI
        "9N056000000000011", // 既往歴
        "9N056160400000049", // 具体的な既往歴 (when 既往歴 = 1)
        "9N061000000000011", // 自覚症状
        "9N061160800000049", // 自覚症状所見 (when 1)
        "9N066000000000011", // 他覚症状
        "9N066160800000049", // 他覚所見 (when 1)
        "9N501000000000011", // メタボリックシンドローム判定
        "9N506000000000011", // 保健指導レベル
        "9N511000000000049", // 医師の診断
        "9N516000000000049", // 医師の氏名 (as author)
        "9N701000000000011", // 服薬1
        "9N706000000000011", // 服薬2
        "9N711000000000011", // 服薬3
        "9N736000000000011", // 喫煙
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(codes_with(2018, |r| r == Requirement::Mandatory), expected);
    assert_eq!(codes_with(2024, |r| r == Requirement::Mandatory), expected);
}

#[test]
fn one_of_groups_differ_only_by_non_fasting_triglycerides() {
    for group in one_of_groups() {
        let in_group = |fy| {
            codes_with(
                fy,
                |r| matches!(r, Requirement::OneOf(c) if group.letters.contains(&c)),
            )
        };
        let (g18, g24) = (in_group(2018), in_group(2024));
        assert!(!g18.is_empty(), "group {} empty in FY2018", group.key);
        let added: BTreeSet<_> = g24.difference(&g18).cloned().collect();
        assert!(
            g18.is_subset(&g24),
            "group {} lost codes in FY2024",
            group.key
        );
        if group.key == "D" {
            let random_tg: BTreeSet<String> = [
                "3F015129902327101",
                "3F015129902327201",
                "3F015129902399901",
            ]
            .into_iter()
            .map(String::from)
            .collect();
            assert_eq!(added, random_tg);
        } else {
            assert!(added.is_empty(), "group {} gained {:?}", group.key, added);
        }
    }
}

#[test]
fn detailed_checkup_rows_are_the_same_in_both_years() {
    assert_eq!(
        codes_with(2018, |r| r == Requirement::Detail),
        codes_with(2024, |r| r == Requirement::Detail)
    );
    assert_eq!(codes_with(2018, |r| r == Requirement::Detail).len(), 22);
}

#[test]
fn fasting_code_is_two_in_both_years() {
    assert_eq!(blood_draw_timing(TableGeneration::Fy2018).fasting, &["2"]);
    assert_eq!(blood_draw_timing(TableGeneration::Fy2024).fasting, &["2"]);
    assert!(
        blood_draw_timing(TableGeneration::Fy2018)
            .random_triglycerides
            .is_empty()
    );
}
