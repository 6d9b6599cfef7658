//! Rule data the item tables do not carry, written by hand from FORMAT.md §6.4–§6.6 and §10,
//! CHECKS.md §9 and the MHLW standard programme (標準的な健診・保健指導プログラム).
//!
//! ## FY2018 versus FY2024 requirements
//!
//! The FY2018 table has no requirement columns. `examples/gen_items.rs` gives each FY2018
//! code the requirement of the same code in the FY2024 table, which matches FORMAT.md §6.6
//! and CHECKS.md M-07/M-08 (17 mandatory rows; one-of groups A waist, B/C blood pressure,
//! D triglycerides, E HDL, F LDL or non-HDL, G AST, H ALT, J γ-GT, K urine glucose,
//! L urine protein, and glucose b/c/d). The differences between the years are:
//!
//! * non-fasting (随時) triglycerides `3F0151299…` exist only from FY2024, so group D is
//!   fasting triglycerides only in FY2018;
//! * the blood-draw timing code list (…2202) is 1 (< 10 h) / 2 (≥ 10 h) in FY2018 and
//!   2 (≥ 10 h) / 3 (3.5–10 h) / 4 (< 3.5 h) from FY2024 ([`blood_draw_timing`]);
//! * smoking answers use …2003 (yes/no) in FY2018 and …24060 (3 answers) from FY2024;
//!   drinking uses …2005/…2006 in FY2018 and …24040/…24050 from FY2024;
//! * FY2018-only code 9N806 (保健指導の希望) became 9N808 (特定保健指導の受診歴); the
//!   not-measured reason item 9N512 exists only from FY2024.

use crate::table::TableGeneration;

/// Well-known item codes (特定健診項目コード).
pub mod code {
    /// 身長
    pub const HEIGHT: &str = "9N001000000000001";
    /// 体重
    pub const WEIGHT: &str = "9N006000000000001";
    /// BMI
    pub const BMI: &str = "9N011000000000001";
    /// 内臓脂肪面積
    pub const VISCERAL_FAT_AREA: &str = "9N021000000000001";
    /// 腹囲（実測）
    pub const WAIST_MEASURED: &str = "9N016160100000001";
    /// 腹囲（自己測定）
    pub const WAIST_SELF_MEASURED: &str = "9N016160200000001";
    /// 腹囲（自己申告）
    pub const WAIST_SELF_REPORTED: &str = "9N016160300000001";
    /// 採血時間（食後）
    pub const BLOOD_DRAW_TIMING: &str = "9N141000000000011";
    /// LDLコレステロール, method 4 計算法 (Friedewald: TC − HDL − TG/5).
    pub const LDL_CALCULATED: &str = "3F077000002391901";
    /// メタボリックシンドローム判定
    pub const METABOLIC_JUDGEMENT: &str = "9N501000000000011";
    /// 保健指導レベル
    pub const GUIDANCE_LEVEL: &str = "9N506000000000011";
    /// 医師の診断（判定）
    pub const DOCTOR_JUDGEMENT: &str = "9N511000000000049";
    /// 測定不可能・検査未実施の理由 (FY2024+)
    pub const NOT_PERFORMED_REASON: &str = "9N512000000000011";
    /// 服薬1（血圧）
    pub const MEDICATION_BP: &str = "9N701000000000011";
    /// 服薬2（血糖）
    pub const MEDICATION_GLUCOSE: &str = "9N706000000000011";
    /// 服薬3（脂質）
    pub const MEDICATION_LIPID: &str = "9N711000000000011";
    /// 喫煙
    pub const SMOKING: &str = "9N736000000000011";
    /// 保健指導区分 (guidance, 90010)
    pub const GUIDANCE_KIND: &str = "1020000001";
    /// 継続的支援予定期間 (guidance plan)
    pub const GUIDANCE_PLANNED_WEEKS: &str = "1021000020";
}

/// Code system OIDs used by the rules.
pub mod system {
    pub const YES_NO: &str = "1.2.392.200119.6.2003";
    pub const SMOKING_2024: &str = "1.2.392.200119.6.24060";
    pub const BLOOD_DRAW_TIMING: &str = "1.2.392.200119.6.2202";
    pub const METABOLIC_JUDGEMENT: &str = "1.2.392.200119.6.1008";
    pub const GUIDANCE_LEVEL: &str = "1.2.392.200119.6.3001";
    pub const HL7_INTERPRETATION: &str = "2.16.840.1.113883.5.83";
    /// 腹囲・体重の改善 (FY2024 guidance outcome)
    pub const OUTCOME_WAIST_WEIGHT: &str = "1.2.392.200119.6.24090";
    /// 生活習慣の改善 (FY2024 guidance outcome)
    pub const OUTCOME_LIFESTYLE: &str = "1.2.392.200119.6.24100";
    /// 喫煙 (FY2024 guidance outcome)
    pub const OUTCOME_SMOKING: &str = "1.2.392.200119.6.24130";
}

/// A one-of group (いずれかの項目の実施で可): at least one item of the listed table letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneOfGroup {
    /// Stable key used in messages and tests.
    pub key: &'static str,
    /// Table letters whose items satisfy the group.
    pub letters: &'static [char],
    pub name_ja: &'static str,
    pub name_en: &'static str,
}

const ONE_OF_GROUPS: &[OneOfGroup] = &[
    OneOfGroup {
        key: "A",
        letters: &['A'],
        name_ja: "腹囲（実測・自己測定・自己申告）又は内臓脂肪面積",
        name_en: "waist (measured, self-measured, self-reported) or visceral fat area",
    },
    OneOfGroup {
        key: "B",
        letters: &['B'],
        name_ja: "収縮期血圧",
        name_en: "systolic blood pressure",
    },
    OneOfGroup {
        key: "C",
        letters: &['C'],
        name_ja: "拡張期血圧",
        name_en: "diastolic blood pressure",
    },
    OneOfGroup {
        key: "D",
        letters: &['D'],
        name_ja: "中性脂肪",
        name_en: "triglycerides",
    },
    OneOfGroup {
        key: "E",
        letters: &['E'],
        name_ja: "HDLコレステロール",
        name_en: "HDL cholesterol",
    },
    OneOfGroup {
        key: "F",
        letters: &['F'],
        name_ja: "LDLコレステロール又はNon-HDLコレステロール",
        name_en: "LDL or non-HDL cholesterol",
    },
    OneOfGroup {
        key: "G",
        letters: &['G'],
        name_ja: "AST(GOT)",
        name_en: "AST (GOT)",
    },
    OneOfGroup {
        key: "H",
        letters: &['H'],
        name_ja: "ALT(GPT)",
        name_en: "ALT (GPT)",
    },
    OneOfGroup {
        key: "J",
        letters: &['J'],
        name_ja: "γ-GT(γ-GTP)",
        name_en: "γ-GT (γ-GTP)",
    },
    OneOfGroup {
        key: "K",
        letters: &['K'],
        name_ja: "尿糖",
        name_en: "urine glucose",
    },
    OneOfGroup {
        key: "L",
        letters: &['L'],
        name_ja: "尿蛋白",
        name_en: "urine protein",
    },
    OneOfGroup {
        key: "glucose",
        letters: &['b', 'c', 'd'],
        name_ja: "血糖（空腹時血糖・HbA1c・随時血糖のいずれか）",
        name_en: "glucose (fasting glucose, HbA1c or random glucose)",
    },
];

/// The one-of groups of the basic checkup (same groups for both table generations; what
/// belongs to group D differs, see the module notes).
pub fn one_of_groups() -> &'static [OneOfGroup] {
    ONE_OF_GROUPS
}

/// Waist may be omitted when BMI is below this (FORMAT.md §6.6).
pub const WAIST_OMISSION_BMI_BELOW: f64 = 20.0;
/// A self-reported waist alone is acceptable only when BMI is below this.
pub const SELF_REPORTED_WAIST_BMI_BELOW: f64 = 22.0;
/// M-13: largest accepted difference between the recorded BMI and weight ÷ height².
pub const BMI_TOLERANCE: f64 = 0.2;
/// Triglycerides (mg/dL) from which LDL by calculation is not valid (Friedewald's limit).
pub const CALCULATED_LDL_TG_LIMIT: f64 = 400.0;

/// 詳細な健診 (別表8) and the series group that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailedCheckup {
    /// 詳細な健診項目コード (claim `unitPriceDetail/observation/@code`).
    pub code: &'static str,
    pub name_ja: &'static str,
    pub name_en: &'static str,
    /// 一連検査グループ識別
    pub group: &'static str,
    /// Result items: every inner list needs one of its codes.
    pub results: &'static [&'static [&'static str]],
    /// 対象者 code item (0 = done outside the detailed checkup, 1/2 = detailed-checkup target).
    pub target_item: Option<&'static str>,
    /// 実施理由 item.
    pub reason_item: &'static str,
}

const DETAILED: &[DetailedCheckup] = &[
    DetailedCheckup {
        code: "1",
        name_ja: "貧血検査",
        name_en: "anaemia test",
        group: "2A020161001930149",
        results: &[
            &["2A040000001930102"],
            &["2A030000001930101"],
            &["2A020000001930101"],
        ],
        target_item: None,
        reason_item: "2A020161001930149",
    },
    DetailedCheckup {
        code: "2",
        name_ja: "心電図検査",
        name_en: "ECG",
        group: "9A110161000000049",
        results: &[&["9A110160700000011"]],
        target_item: Some("9A110161600000011"),
        reason_item: "9A110161000000049",
    },
    DetailedCheckup {
        code: "3",
        name_ja: "眼底検査",
        name_en: "fundus examination",
        group: "9E100161000000049",
        results: &[&[
            "9E100166000000011",
            "9E100166100000011",
            "9E100166200000011",
            "9E100166300000011",
            "9E100166600000011",
            "9E100166500000011",
            "9E100160900000049",
        ]],
        target_item: Some("9E100161600000011"),
        reason_item: "9E100161000000049",
    },
    DetailedCheckup {
        code: "4",
        name_ja: "血清クレアチニン検査",
        name_en: "serum creatinine test",
        group: "3C015161002399949",
        results: &[
            &["3C015000002327101", "3C015000002399901"],
            &["8A065000002391901"],
        ],
        target_item: Some("3C015161602399911"),
        reason_item: "3C015161002399949",
    },
];

/// The four detailed-checkup kinds of 別表8.
pub fn detailed_checkups() -> &'static [DetailedCheckup] {
    DETAILED
}

/// Target-person codes (対象者) meaning "done as a detailed checkup".
pub const DETAIL_TARGET_CODES: &[&str] = &["1", "2"];

/// Blood-draw timing (採血時間（食後）, …2202) codes that allow each kind of sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BloodDrawTiming {
    /// Codes meaning fasting (≥ 10 h): required for fasting glucose and fasting TG.
    pub fasting: &'static [&'static str],
    /// Codes allowing random glucose (not fasting, and from FY2024 at least 3.5 h after
    /// the start of a meal: 食直後を除く).
    pub random_glucose: &'static [&'static str],
    /// Codes allowing non-fasting triglycerides (FY2024+; empty before).
    pub random_triglycerides: &'static [&'static str],
}

/// Timing codes for a table generation.
pub fn blood_draw_timing(generation: TableGeneration) -> BloodDrawTiming {
    match generation {
        TableGeneration::Fy2018 => BloodDrawTiming {
            fasting: &["2"],
            random_glucose: &["1"],
            random_triglycerides: &[],
        },
        TableGeneration::Fy2024 => BloodDrawTiming {
            fasting: &["2"],
            random_glucose: &["3"],
            random_triglycerides: &["3", "4"],
        },
    }
}

/// Kind of a glucose or triglyceride item code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleItem {
    FastingGlucose,
    RandomGlucose,
    HbA1c,
    FastingTriglycerides,
    RandomTriglycerides,
}

/// Classifies glucose/HbA1c/TG item codes (the 6th–9th characters tell fasting from random).
pub fn sample_item(code: &str) -> Option<SampleItem> {
    if code.starts_with("3D0100000") {
        Some(SampleItem::FastingGlucose)
    } else if code.starts_with("3D0101299") {
        Some(SampleItem::RandomGlucose)
    } else if code.starts_with("3D046") {
        Some(SampleItem::HbA1c)
    } else if code.starts_with("3F0150000") {
        Some(SampleItem::FastingTriglycerides)
    } else if code.starts_with("3F0151299") {
        Some(SampleItem::RandomTriglycerides)
    } else {
        None
    }
}

/// A plausibility range (M-12) for items whose code starts with `prefix`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlausibleRange {
    pub prefix: &'static str,
    pub name_ja: &'static str,
    pub low: f64,
    pub high: f64,
}

/// Plausibility ranges of CHECKS.md M-12 (from the JMA client's CHECK.csv; SSK's own
/// ranges were not seen). Bounds are inclusive.
pub const PLAUSIBLE_RANGES: &[PlausibleRange] = &[
    PlausibleRange {
        prefix: "9N001",
        name_ja: "身長",
        low: 50.0,
        high: 300.0,
    },
    PlausibleRange {
        prefix: "9N006",
        name_ja: "体重",
        low: 30.0,
        high: 200.0,
    },
    PlausibleRange {
        prefix: "9N016",
        name_ja: "腹囲",
        low: 30.0,
        high: 300.0,
    },
    PlausibleRange {
        prefix: "9A751",
        name_ja: "収縮期血圧",
        low: 10.0,
        high: 900.0,
    },
    PlausibleRange {
        prefix: "9A752",
        name_ja: "収縮期血圧",
        low: 10.0,
        high: 900.0,
    },
    PlausibleRange {
        prefix: "9A755",
        name_ja: "収縮期血圧",
        low: 10.0,
        high: 900.0,
    },
    PlausibleRange {
        prefix: "9A761",
        name_ja: "拡張期血圧",
        low: 10.0,
        high: 900.0,
    },
    PlausibleRange {
        prefix: "9A762",
        name_ja: "拡張期血圧",
        low: 10.0,
        high: 900.0,
    },
    PlausibleRange {
        prefix: "9A765",
        name_ja: "拡張期血圧",
        low: 10.0,
        high: 900.0,
    },
    PlausibleRange {
        prefix: "3F015",
        name_ja: "中性脂肪",
        low: 0.0,
        high: 5000.0,
    },
    PlausibleRange {
        prefix: "3F070",
        name_ja: "HDLコレステロール",
        low: 0.0,
        high: 1000.0,
    },
    PlausibleRange {
        prefix: "3F077",
        name_ja: "LDLコレステロール",
        low: 0.0,
        high: 1000.0,
    },
    PlausibleRange {
        prefix: "3F069",
        name_ja: "Non-HDLコレステロール",
        low: 0.0,
        high: 1000.0,
    },
    PlausibleRange {
        prefix: "3B035",
        name_ja: "AST(GOT)",
        low: 0.0,
        high: 5000.0,
    },
    PlausibleRange {
        prefix: "3B045",
        name_ja: "ALT(GPT)",
        low: 0.0,
        high: 5000.0,
    },
    PlausibleRange {
        prefix: "3B090",
        name_ja: "γ-GT(γ-GTP)",
        low: 0.0,
        high: 3000.0,
    },
    PlausibleRange {
        prefix: "3D010",
        name_ja: "血糖",
        low: 0.0,
        high: 2000.0,
    },
    PlausibleRange {
        prefix: "3D046",
        name_ja: "HbA1c",
        low: 0.0,
        high: 50.0,
    },
];

/// The plausibility range for an item code, if daiko has one.
pub fn plausible_range(code: &str) -> Option<&'static PlausibleRange> {
    PLAUSIBLE_RANGES.iter().find(|r| code.starts_with(r.prefix))
}

/// Code lists that differ by generation or are missing from the table notes (code
/// system, [(code, label)]); they replace the generated lists for that generation.
pub fn code_value_overrides(
    generation: TableGeneration,
) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
    match generation {
        TableGeneration::Fy2018 => &[
            (
                "1.2.392.200119.6.2202",
                &[("1", "食後10時間未満"), ("2", "食後10時間以上")],
            ),
            (
                "1.2.392.200119.6.2005",
                &[
                    ("1", "毎日"),
                    ("2", "時々"),
                    ("3", "ほとんど飲まない（飲めない）"),
                ],
            ),
            (
                "1.2.392.200119.6.2006",
                &[
                    ("1", "1合未満"),
                    ("2", "1～2合未満"),
                    ("3", "2～3合未満"),
                    ("4", "3合以上"),
                ],
            ),
        ],
        TableGeneration::Fy2024 => &[],
    }
}

/// FY2024 guidance outcome code lists (M-17): code system and the allowed codes.
pub const GUIDANCE_OUTCOME_CODES: &[(&str, &str, &[&str])] = &[
    (
        system::OUTCOME_WAIST_WEIGHT,
        "腹囲・体重の改善",
        &["0", "1", "2"],
    ),
    (
        system::OUTCOME_LIFESTYLE,
        "生活習慣の改善",
        &["0", "1", "9"],
    ),
    (system::OUTCOME_SMOKING, "喫煙の改善", &["0", "1", "8", "9"]),
];

/// Whether a smoking answer means "smokes now" (None for an unknown code or system).
pub fn is_smoker(system: Option<&str>, code: &str) -> Option<bool> {
    match system {
        Some(system::SMOKING_2024) => match code {
            "1" => Some(true),
            "2" | "3" => Some(false),
            _ => None,
        },
        Some(system::YES_NO) | None => match code {
            "1" => Some(true),
            "2" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a medication answer (…2003) means "takes medication".
pub fn takes_medication(code: &str) -> Option<bool> {
    match code {
        "1" => Some(true),
        "2" => Some(false),
        _ => None,
    }
}

/// Guidance plan items (保健指導計画情報): `1021…`.
pub fn is_guidance_plan_item(code: &str) -> bool {
    code.starts_with("1021")
}

/// Planned totals (計画上の集計情報): `1041…`.
pub fn is_guidance_planned_total(code: &str) -> bool {
    code.starts_with("1041")
}

/// Largest support-point count a guidance claim may carry (M-16).
pub const GUIDANCE_POINTS_MAX: u32 = 9999;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_items_are_told_apart() {
        assert_eq!(
            sample_item("3D010000002227101"),
            Some(SampleItem::FastingGlucose)
        );
        assert_eq!(
            sample_item("3D010129901926101"),
            Some(SampleItem::RandomGlucose)
        );
        assert_eq!(sample_item("3D046000001906202"), Some(SampleItem::HbA1c));
        assert_eq!(
            sample_item("3F015000002327101"),
            Some(SampleItem::FastingTriglycerides)
        );
        assert_eq!(
            sample_item("3F015129902399901"),
            Some(SampleItem::RandomTriglycerides)
        );
        assert_eq!(sample_item("3F070000002327101"), None);
    }

    #[test]
    fn smoking_answers_by_code_system() {
        assert_eq!(is_smoker(Some(system::YES_NO), "1"), Some(true));
        assert_eq!(is_smoker(Some(system::SMOKING_2024), "2"), Some(false));
        assert_eq!(is_smoker(Some(system::SMOKING_2024), "3"), Some(false));
        assert_eq!(is_smoker(Some("1.2.3"), "1"), None);
    }

    #[test]
    fn plausibility_ranges_cover_the_listed_items() {
        assert_eq!(
            plausible_range("9N001000000000001").map(|r| r.high),
            Some(300.0)
        );
        assert_eq!(
            plausible_range("3D046000001906202").map(|r| r.high),
            Some(50.0)
        );
        assert!(plausible_range("9N011000000000001").is_none());
    }
}
