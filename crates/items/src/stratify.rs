//! 階層化 (stratification) and メタボリックシンドローム判定, as pure functions of the values.
//!
//! Rules of the MHLW standard programme (標準的な健診・保健指導プログラム):
//!
//! * Step 1 (内臓脂肪蓄積): waist ≥ 85 cm (men) / ≥ 90 cm (women) — or visceral fat area
//!   ≥ 100 cm² when measured instead — gives group (1); otherwise BMI ≥ 25 gives group (2);
//!   otherwise no guidance.
//! * Step 2 (追加リスク): ① glucose: fasting glucose ≥ 100 mg/dL, else HbA1c ≥ 5.6 %, else
//!   random glucose ≥ 100 mg/dL (fasting glucose takes precedence when both are present);
//!   ② lipids: fasting TG ≥ 150 mg/dL (from FY2024, when only a non-fasting sample exists,
//!   random TG ≥ 175 mg/dL) or HDL < 40 mg/dL; ③ BP: systolic ≥ 130 or diastolic ≥ 85 mmHg;
//!   ④ smoking, counted only when at least one of ①–③ is present.
//! * Step 3: group (1) with ≥ 2 risks → 積極的支援, 1 → 動機付け支援; group (2) with ≥ 3 →
//!   積極的支援, 1–2 → 動機付け支援; no risk → なし (情報提供).
//! * Step 4: people on BP, glucose or lipid medication are not guidance targets (なし);
//!   people aged 65–74 (age reached in the fiscal year) get 動機付け支援 instead of 積極的支援.
//!
//! メタボリックシンドローム判定: the waist criterion (or visceral fat ≥ 100 cm²) with ≥ 2 of
//! glucose (fasting ≥ 110 mg/dL, else HbA1c ≥ 6.0 %, else random ≥ 110 mg/dL [INF]),
//! lipids (TG ≥ 150, random TG ≥ 175 from FY2024 [INF], or HDL < 40) and BP (≥ 130 / ≥ 85),
//! each also met by the matching medication → 基準該当; with 1 → 予備群該当; otherwise
//! 非該当. A waist omitted because BMI < 20 counts as below the criterion.
//!
//! Missing values: a result is given only when it does not depend on them; otherwise the
//! answer is 判定不能 (every combination of the unknown facts is tried).

use crate::rules::WAIST_OMISSION_BMI_BELOW;

/// 男女区分
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// From 男女区分 (1 male, 2 female).
    pub fn from_code(code: &str) -> Option<Sex> {
        match code {
            "1" => Some(Sex::Male),
            "2" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// The values the stratification looks at; `None` = not recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StratificationInput {
    /// Fiscal year of the checkup (random TG counts from FY2024).
    pub fiscal_year: i32,
    pub sex: Option<Sex>,
    /// Age reached in the fiscal year ([`crate::age_at_fiscal_year_end`]).
    pub age: Option<u32>,
    /// 腹囲 (cm): measured, else self-measured, else self-reported.
    pub waist_cm: Option<f64>,
    /// 内臓脂肪面積 (cm²), which replaces the waist criterion when measured.
    pub visceral_fat_cm2: Option<f64>,
    pub bmi: Option<f64>,
    pub fasting_glucose: Option<f64>,
    pub hba1c: Option<f64>,
    pub random_glucose: Option<f64>,
    pub fasting_triglycerides: Option<f64>,
    pub random_triglycerides: Option<f64>,
    pub hdl: Option<f64>,
    pub systolic: Option<f64>,
    pub diastolic: Option<f64>,
    /// Smokes now (喫煙 answer).
    pub smoker: Option<bool>,
    pub medication_bp: Option<bool>,
    pub medication_glucose: Option<bool>,
    pub medication_lipid: Option<bool>,
}

/// メタボリックシンドローム判定 (…1008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetabolicJudgement {
    /// 1 基準該当
    Criteria,
    /// 2 予備群該当
    Reserve,
    /// 3 非該当
    NotApplicable,
    /// 4 判定不能
    Undeterminable,
}

impl MetabolicJudgement {
    pub fn code(self) -> &'static str {
        match self {
            MetabolicJudgement::Criteria => "1",
            MetabolicJudgement::Reserve => "2",
            MetabolicJudgement::NotApplicable => "3",
            MetabolicJudgement::Undeterminable => "4",
        }
    }
    pub fn name_ja(self) -> &'static str {
        match self {
            MetabolicJudgement::Criteria => "基準該当",
            MetabolicJudgement::Reserve => "予備群該当",
            MetabolicJudgement::NotApplicable => "非該当",
            MetabolicJudgement::Undeterminable => "判定不能",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            MetabolicJudgement::Criteria => "meets the criteria",
            MetabolicJudgement::Reserve => "pre-metabolic syndrome",
            MetabolicJudgement::NotApplicable => "not applicable",
            MetabolicJudgement::Undeterminable => "cannot be judged",
        }
    }
}

/// 保健指導レベル (…3001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidanceLevel {
    /// 1 積極的支援
    Active,
    /// 2 動機付け支援
    Motivational,
    /// 3 なし (情報提供)
    None,
    /// 4 判定不能
    Undeterminable,
}

impl GuidanceLevel {
    pub fn code(self) -> &'static str {
        match self {
            GuidanceLevel::Active => "1",
            GuidanceLevel::Motivational => "2",
            GuidanceLevel::None => "3",
            GuidanceLevel::Undeterminable => "4",
        }
    }
    pub fn name_ja(self) -> &'static str {
        match self {
            GuidanceLevel::Active => "積極的支援",
            GuidanceLevel::Motivational => "動機付け支援",
            GuidanceLevel::None => "なし",
            GuidanceLevel::Undeterminable => "判定不能",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            GuidanceLevel::Active => "active support",
            GuidanceLevel::Motivational => "motivational support",
            GuidanceLevel::None => "none",
            GuidanceLevel::Undeterminable => "cannot be judged",
        }
    }
}

/// A three-valued fact: `None` = unknown.
type Fact = Option<bool>;

fn at_least(v: Option<f64>, t: f64) -> Fact {
    v.map(|x| x >= t)
}

fn any(facts: &[Fact]) -> Fact {
    if facts.contains(&Some(true)) {
        Some(true)
    } else if facts.iter().all(|f| *f == Some(false)) {
        Some(false)
    } else {
        None
    }
}

/// Step 1 (1): abdominal obesity by visceral fat area, else waist by sex.
fn abdominal_obesity(input: &StratificationInput) -> Fact {
    if let Some(area) = input.visceral_fat_cm2 {
        return Some(area >= 100.0);
    }
    match (input.waist_cm, input.sex) {
        (Some(w), Some(Sex::Male)) => Some(w >= 85.0),
        (Some(w), Some(Sex::Female)) => Some(w >= 90.0),
        (Some(w), None) if w >= 90.0 => Some(true),
        (Some(w), None) if w < 85.0 => Some(false),
        (Some(_), None) => None,
        (None, _) => match input.bmi {
            // waist legally omitted for BMI < 20: below the criterion
            Some(b) if b < WAIST_OMISSION_BMI_BELOW => Some(false),
            _ => None,
        },
    }
}

/// Glucose risk with the given thresholds, fasting glucose first, then HbA1c, then random.
fn glucose(input: &StratificationInput, fasting: f64, hba1c: f64, random: f64) -> Fact {
    if let Some(v) = input.fasting_glucose {
        Some(v >= fasting)
    } else if let Some(v) = input.hba1c {
        Some(v >= hba1c)
    } else {
        at_least(input.random_glucose, random)
    }
}

fn triglycerides(input: &StratificationInput) -> Fact {
    if let Some(v) = input.fasting_triglycerides {
        Some(v >= 150.0)
    } else if input.fiscal_year >= 2024 {
        at_least(input.random_triglycerides, 175.0)
    } else {
        None
    }
}

fn lipids(input: &StratificationInput) -> Fact {
    any(&[triglycerides(input), input.hdl.map(|v| v < 40.0)])
}

fn blood_pressure(input: &StratificationInput) -> Fact {
    any(&[
        at_least(input.systolic, 130.0),
        at_least(input.diastolic, 85.0),
    ])
}

/// Evaluates `f` for every assignment of the unknown facts; the common answer, or `None`
/// when the answer depends on them.
fn decide<T: PartialEq + Copy>(facts: &[Fact], f: impl Fn(&[bool]) -> T) -> Option<T> {
    let unknown: Vec<usize> = facts
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_none())
        .map(|(i, _)| i)
        .collect();
    let mut values: Vec<bool> = facts.iter().map(|v| v.unwrap_or(false)).collect();
    let mut answer: Option<T> = None;
    for mask in 0u32..(1u32 << unknown.len()) {
        for (bit, &i) in unknown.iter().enumerate() {
            if let Some(v) = values.get_mut(i) {
                *v = mask & (1 << bit) != 0;
            }
        }
        let a = f(&values);
        match answer {
            None => answer = Some(a),
            Some(prev) if prev != a => return None,
            Some(_) => {}
        }
    }
    answer
}

/// メタボリックシンドローム判定 from the values.
pub fn metabolic_judgement(input: &StratificationInput) -> MetabolicJudgement {
    let facts = [
        abdominal_obesity(input),
        any(&[glucose(input, 110.0, 6.0, 110.0), input.medication_glucose]),
        any(&[lipids(input), input.medication_lipid]),
        any(&[blood_pressure(input), input.medication_bp]),
    ];
    decide(&facts, |v| {
        let obese = v.first().copied().unwrap_or(false);
        let risks = v.iter().skip(1).filter(|b| **b).count();
        match (obese, risks) {
            (true, r) if r >= 2 => MetabolicJudgement::Criteria,
            (true, 1) => MetabolicJudgement::Reserve,
            _ => MetabolicJudgement::NotApplicable,
        }
    })
    .unwrap_or(MetabolicJudgement::Undeterminable)
}

/// 保健指導レベル (階層化 steps 1–4) from the values.
pub fn guidance_level(input: &StratificationInput) -> GuidanceLevel {
    let facts = [
        abdominal_obesity(input),
        at_least(input.bmi, 25.0),
        glucose(input, 100.0, 5.6, 100.0),
        lipids(input),
        blood_pressure(input),
        input.smoker,
        any(&[
            input.medication_bp,
            input.medication_glucose,
            input.medication_lipid,
        ]),
        input.age.map(|a| a >= 65),
    ];
    decide(&facts, |v| {
        let get = |i: usize| v.get(i).copied().unwrap_or(false);
        let (obese, bmi25, medicated, senior) = (get(0), get(1), get(6), get(7));
        if medicated {
            return GuidanceLevel::None;
        }
        let mut risks = [get(2), get(3), get(4)].iter().filter(|b| **b).count();
        if risks >= 1 && get(5) {
            risks += 1;
        }
        let level = if obese {
            match risks {
                0 => GuidanceLevel::None,
                1 => GuidanceLevel::Motivational,
                _ => GuidanceLevel::Active,
            }
        } else if bmi25 {
            match risks {
                0 => GuidanceLevel::None,
                1 | 2 => GuidanceLevel::Motivational,
                _ => GuidanceLevel::Active,
            }
        } else {
            GuidanceLevel::None
        };
        if level == GuidanceLevel::Active && senior {
            GuidanceLevel::Motivational
        } else {
            level
        }
    })
    .unwrap_or(GuidanceLevel::Undeterminable)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A man of 50 in FY2023 with every value normal and no medication.
    fn normal_man() -> StratificationInput {
        StratificationInput {
            fiscal_year: 2023,
            sex: Some(Sex::Male),
            age: Some(50),
            waist_cm: Some(80.0),
            bmi: Some(22.0),
            fasting_glucose: Some(90.0),
            hba1c: Some(5.2),
            fasting_triglycerides: Some(100.0),
            hdl: Some(60.0),
            systolic: Some(120.0),
            diastolic: Some(70.0),
            smoker: Some(false),
            medication_bp: Some(false),
            medication_glucose: Some(false),
            medication_lipid: Some(false),
            ..Default::default()
        }
    }

    #[test]
    fn normal_values_give_no_guidance() {
        let i = normal_man();
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::NotApplicable);
    }

    #[test]
    fn waist_boundary_by_sex() {
        let mut i = normal_man();
        i.systolic = Some(130.0); // one risk
        i.waist_cm = Some(84.9);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        i.waist_cm = Some(85.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::Reserve);
        i.sex = Some(Sex::Female);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        i.waist_cm = Some(90.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
    }

    #[test]
    fn risk_thresholds_are_inclusive_where_the_programme_says_so() {
        let mut i = normal_man();
        i.waist_cm = Some(90.0);
        i.fasting_glucose = Some(99.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        i.fasting_glucose = Some(100.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        // HDL < 40 counts, 40 does not
        let mut j = normal_man();
        j.waist_cm = Some(90.0);
        j.hdl = Some(40.0);
        assert_eq!(guidance_level(&j), GuidanceLevel::None);
        j.hdl = Some(39.0);
        assert_eq!(guidance_level(&j), GuidanceLevel::Motivational);
        // diastolic 85 counts
        let mut k = normal_man();
        k.waist_cm = Some(90.0);
        k.diastolic = Some(84.0);
        assert_eq!(guidance_level(&k), GuidanceLevel::None);
        k.diastolic = Some(85.0);
        assert_eq!(guidance_level(&k), GuidanceLevel::Motivational);
    }

    #[test]
    fn fasting_glucose_takes_precedence_over_hba1c() {
        let mut i = normal_man();
        i.waist_cm = Some(90.0);
        i.fasting_glucose = Some(95.0);
        i.hba1c = Some(5.8);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        i.fasting_glucose = None;
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.hba1c = Some(5.5);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        i.hba1c = None;
        i.random_glucose = Some(100.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
    }

    #[test]
    fn random_triglycerides_count_only_from_fy2024() {
        let mut i = normal_man();
        i.waist_cm = Some(90.0);
        i.fasting_triglycerides = None;
        i.random_triglycerides = Some(180.0);
        i.fiscal_year = 2024;
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.random_triglycerides = Some(174.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        i.random_triglycerides = Some(175.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.fiscal_year = 2023; // no random TG in the 第3期 rules: lipids depend on HDL alone
        i.hdl = Some(60.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Undeterminable);
    }

    #[test]
    fn smoking_counts_only_with_another_risk() {
        let mut i = normal_man();
        i.waist_cm = Some(90.0);
        i.smoker = Some(true);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        i.systolic = Some(140.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Active);
    }

    #[test]
    fn bmi_group_needs_three_risks_for_active_support() {
        let mut i = normal_man();
        i.bmi = Some(25.0);
        i.systolic = Some(140.0);
        i.hdl = Some(35.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.fasting_glucose = Some(105.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Active);
        i.bmi = Some(24.9);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        // not obese by waist: metabolic syndrome is not judged from BMI
        i.bmi = Some(30.0);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::NotApplicable);
    }

    #[test]
    fn medication_excludes_and_age_caps() {
        let mut i = normal_man();
        i.waist_cm = Some(95.0);
        i.systolic = Some(150.0);
        i.hdl = Some(30.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Active);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::Criteria);
        i.age = Some(64);
        assert_eq!(guidance_level(&i), GuidanceLevel::Active);
        i.age = Some(65);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.age = Some(74);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.age = Some(50);
        i.medication_bp = Some(true);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        // medication counts as the risk for the metabolic judgement
        let mut j = normal_man();
        j.waist_cm = Some(90.0);
        j.medication_glucose = Some(true);
        assert_eq!(metabolic_judgement(&j), MetabolicJudgement::Reserve);
        j.medication_bp = Some(true);
        assert_eq!(metabolic_judgement(&j), MetabolicJudgement::Criteria);
    }

    #[test]
    fn metabolic_thresholds_differ_from_guidance_thresholds() {
        let mut i = normal_man();
        i.waist_cm = Some(90.0);
        i.fasting_glucose = Some(109.0);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::NotApplicable);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.fasting_glucose = Some(110.0);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::Reserve);
        i.fasting_glucose = None;
        i.hba1c = Some(5.9);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::NotApplicable);
        i.hba1c = Some(6.0);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::Reserve);
    }

    #[test]
    fn visceral_fat_area_replaces_the_waist() {
        let mut i = normal_man();
        i.waist_cm = None;
        i.visceral_fat_cm2 = Some(100.0);
        i.systolic = Some(135.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Motivational);
        i.visceral_fat_cm2 = Some(99.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
    }

    #[test]
    fn missing_values_give_undeterminable_only_when_they_matter() {
        let mut i = normal_man();
        i.waist_cm = None; // BMI 22: waist should have been measured
        assert_eq!(guidance_level(&i), GuidanceLevel::None); // no risk: no guidance either way
        i.systolic = Some(140.0);
        assert_eq!(guidance_level(&i), GuidanceLevel::Undeterminable);
        assert_eq!(metabolic_judgement(&i), MetabolicJudgement::Undeterminable);
        i.bmi = Some(19.0); // waist legally omitted
        assert_eq!(guidance_level(&i), GuidanceLevel::None);
        let mut j = normal_man();
        j.waist_cm = Some(90.0);
        j.medication_lipid = None;
        j.systolic = Some(140.0);
        assert_eq!(guidance_level(&j), GuidanceLevel::Undeterminable);
        j.medication_bp = Some(true); // one known medication settles it
        assert_eq!(guidance_level(&j), GuidanceLevel::None);
    }

    #[test]
    fn codes_follow_the_code_lists() {
        assert_eq!(MetabolicJudgement::Criteria.code(), "1");
        assert_eq!(MetabolicJudgement::Undeterminable.code(), "4");
        assert_eq!(GuidanceLevel::Motivational.code(), "2");
        assert_eq!(GuidanceLevel::None.code(), "3");
    }
}
