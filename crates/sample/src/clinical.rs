//! Plausible checkup results for one person, the 階層化 (metabolic-syndrome judgement and
//! guidance level) that follows from them, and the CDA entries that report them.
//!
//! Item codes, units, formats, method codes and result code systems are daiko's own
//! restatement of the facts of the MHLW item tables for the fiscal year of the service
//! (FORMAT.md §6, §10): the FY2024 tables change the smoking and drinking answer codes,
//! drop "保健指導の希望" for "特定保健指導の受診歴", add non-fasting triglycerides, and give
//! the blood-draw timing codes 2/3/4.

use crate::people::Sex;
use crate::rng::Rng;
use daiko_format::Generation;
use daiko_format::model::oid;
use daiko_format::xml::Element;

/// Blood-draw timing (採血時間（食後）).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fasting {
    /// 10 hours or more after a meal.
    Fasting,
    /// Less than 10 hours (FY2024: 3.5–10 h).
    NonFasting,
}

/// 喫煙 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smoking {
    Yes,
    /// Smoked before, not in the last month (answer exists from FY2024; before, "no").
    Former,
    No,
}

/// A detailed checkup (詳細な健診, 別表8) with its results.
#[derive(Debug, Clone, PartialEq)]
pub enum DetailTest {
    /// 1 貧血検査: haematocrit %, haemoglobin g/dL, red cells 10⁴/mm³ (all ×10 except RBC).
    Anaemia { ht10: u32, hb10: u32, rbc: u32 },
    /// 2 心電図: findings present; target code (18120: 1 results, 2 arrhythmia).
    Ecg { findings: bool, target: u8 },
    /// 3 眼底検査: Keith-Wagener (2110) and Scheie H/S (2111/2112) grades.
    Fundus { kw: u8, scheie_h: u8, scheie_s: u8 },
    /// 4 血清クレアチニン: creatinine ×100 mg/dL and eGFR ×10.
    Creatinine { cre100: u32, egfr10: u32 },
}

impl DetailTest {
    /// 詳細な健診項目コード (別表8).
    pub fn code(&self) -> &'static str {
        match self {
            DetailTest::Anaemia { .. } => "1",
            DetailTest::Ecg { .. } => "2",
            DetailTest::Fundus { .. } => "3",
            DetailTest::Creatinine { .. } => "4",
        }
    }
    /// The contract unit price used in the samples (invented, plausible).
    pub fn price(&self) -> u64 {
        let code = self.code();
        DETAIL_PRICES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(0, |(_, p)| *p)
    }
}

/// The contract unit prices of the detailed checkups by 別表8 code (invented, plausible).
pub const DETAIL_PRICES: [(&str, u64); 4] = [("1", 230), ("2", 1_400), ("3", 1_140), ("4", 120)];

/// The contract price of the additional item (uric acid).
pub const URIC_ACID_PRICE: u64 = 330;

/// An additional item (追加健診項目) billed as `unitPriceOther`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdditionalItem {
    /// Item code (OID …1005).
    pub code: &'static str,
    pub price: u64,
}

/// 血清尿酸, billed as an additional item in the samples.
pub const URIC_ACID: &str = "3C020000002327101";

/// All results of one checkup.
#[derive(Debug, Clone, PartialEq)]
pub struct Clinical {
    pub sex: Sex,
    /// Age at the end of the fiscal year (for the 65–74 rule of 階層化).
    pub age_fy_end: u32,
    pub height10: u32,
    pub weight10: u32,
    pub bmi10: u32,
    pub waist10: u32,
    pub waist_self_reported: bool,
    /// Waist not measured: allowed when BMI < 20 (FORMAT.md §6.6).
    pub waist_omitted: bool,
    /// Urine tests not performed (e.g. during menstruation): `negationInd="true"`.
    pub urine_not_performed: bool,
    pub sys: [u32; 2],
    pub dia: [u32; 2],
    pub fasting: Fasting,
    pub tg: u32,
    pub hdl: u32,
    /// LDL, or non-HDL when TG ≥ 400 or non-fasting.
    pub ldl: Option<u32>,
    pub non_hdl: Option<u32>,
    pub ast: u32,
    pub alt: u32,
    pub ggt: u32,
    pub fpg: Option<u32>,
    pub hba1c10: Option<u32>,
    /// 随時血糖 (non-fasting samples, FY2024: 3.5–10 h after a meal), besides HbA1c.
    pub random_glucose: Option<u32>,
    /// Urine dipstick codes (2102: 1 −, 2 ±, 3 +, …).
    pub urine_glucose: u8,
    pub urine_protein: u8,
    pub med_bp: bool,
    pub med_glucose: bool,
    pub med_lipid: bool,
    pub smoking: Smoking,
    pub history: Option<&'static str>,
    pub symptoms: Option<&'static str>,
    pub uric10: Option<u32>,
    pub details: Vec<DetailTest>,
    /// A result beyond the input range (入力範囲外, FORMAT.md §6.4), written as the clamped
    /// number followed by an H/L flag.
    pub out_of_range: Option<OutOfRange>,
}

/// Which result of a record lies beyond the input range. The MHLW input-range table is not
/// available [UNK], so the limits are assumptions that fit the item's format mask: γ-GT at
/// or above 5000 U/L (above the 3000 U/L plausibility ceiling of M-12, so the sample shows
/// that a flagged result is exempt from it) and AST at or below 5 U/L.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfRange {
    /// γ-GT 5000 U/L 以上 (H).
    GgtHigh,
    /// AST 5 U/L 以下 (L).
    AstLow,
}

impl OutOfRange {
    /// Assumed upper input limit of γ-GT (U/L).
    pub const GGT_LIMIT: u32 = 5000;
    /// Assumed lower input limit of AST (U/L).
    pub const AST_LIMIT: u32 = 5;
}

/// Rounds half up and clamps into `lo..=hi`.
fn clamp_round(v: f64, lo: u32, hi: u32) -> u32 {
    let r = (v + 0.5).floor();
    if r < f64::from(lo) {
        lo
    } else if r > f64::from(hi) {
        hi
    } else {
        r as u32
    }
}

/// (a + b) / 2 rounded half up.
fn average(a: u32, b: u32) -> u32 {
    (a + b).div_ceil(2)
}

impl Clinical {
    /// Draws a plausible set of results; a non-fasting blood draw only when allowed.
    pub fn draw(
        rng: &mut Rng,
        sex: Sex,
        age: u32,
        age_fy_end: u32,
        allow_non_fasting: bool,
    ) -> Clinical {
        let male = sex == Sex::Male;
        let age_f = f64::from(age);
        let height10 = if male {
            clamp_round(rng.normal(1700.0 - (age_f - 40.0) * 1.5, 60.0), 1450, 1950)
        } else {
            clamp_round(rng.normal(1575.0 - (age_f - 40.0) * 1.2, 55.0), 1380, 1800)
        };
        let bmi_target = if male {
            rng.normal(23.8, 3.2)
        } else {
            rng.normal(22.3, 3.4)
        }
        .clamp(16.5, 38.0);
        let h_m = f64::from(height10) / 1000.0;
        let weight10 = clamp_round(bmi_target * h_m * h_m * 10.0, 350, 1500);
        let bmi10 = bmi_x10(weight10, height10);
        let bmi = f64::from(bmi10) / 10.0;
        let waist10 = if male {
            clamp_round((2.4 * bmi + 28.5 + rng.normal(0.0, 3.5)) * 10.0, 600, 1400)
        } else {
            clamp_round((2.3 * bmi + 29.0 + rng.normal(0.0, 4.0)) * 10.0, 580, 1400)
        };
        let waist_self_reported = bmi10 < 220 && rng.chance(0.05);
        let waist_omitted = bmi10 < 200 && rng.chance(0.3);
        let urine_not_performed = sex == Sex::Female && age < 56 && rng.chance(0.05);

        let sys0 = rng
            .normal(116.0 + (age_f - 40.0) * 0.55 + (bmi - 22.0) * 1.2, 14.0)
            .clamp(88.0, 200.0);
        let dia0 = (sys0 * 0.6 + rng.normal(2.0, 6.0)).clamp(50.0, 120.0);
        let sys = [
            clamp_round(sys0 + rng.normal(1.0, 3.0), 80, 220),
            clamp_round(sys0 - rng.normal(1.0, 3.0), 80, 220),
        ];
        let dia = [
            clamp_round(dia0 + rng.normal(0.5, 2.0), 40, 140),
            clamp_round(dia0 - rng.normal(0.5, 2.0), 40, 140),
        ];

        // Before FY2024 the fasting TG codes need a fasting sample, so FY2023 samples fast.
        let fasting = if !allow_non_fasting || rng.chance(0.85) {
            Fasting::Fasting
        } else {
            Fasting::NonFasting
        };
        let tg_median = if male { 105.0 } else { 80.0 } + (bmi - 22.0) * 6.0;
        let tg_median = if fasting == Fasting::NonFasting {
            tg_median * 1.25
        } else {
            tg_median
        };
        let tg = clamp_round(rng.skewed(tg_median.max(45.0), 0.45), 25, 1200);
        let hdl = clamp_round(
            rng.normal(if male { 55.0 } else { 66.0 } - (bmi - 22.0) * 1.2, 11.0),
            25,
            130,
        );
        let ldl_v = clamp_round(rng.normal(122.0 + (age_f - 40.0) * 0.3, 28.0), 50, 260);
        let (ldl, non_hdl) = if tg >= 400 || fasting == Fasting::NonFasting {
            (None, Some(ldl_v + tg / 5))
        } else {
            (Some(ldl_v), None)
        };
        let ast = clamp_round(rng.skewed(21.0, 0.25), 10, 180);
        let alt = clamp_round(
            rng.skewed(if male { 22.0 } else { 16.0 } + (bmi - 22.0) * 1.5, 0.35),
            6,
            250,
        );
        let ggt = clamp_round(rng.skewed(if male { 32.0 } else { 19.0 }, 0.5), 8, 600);

        let glycaemia = rng.normal(0.0, 1.0) + (bmi - 23.0) * 0.08 + (age_f - 55.0) * 0.02;
        let fpg_v = clamp_round(
            95.0 + 11.0 * glycaemia
                + if glycaemia > 1.5 {
                    12.0 * (glycaemia - 1.5)
                } else {
                    0.0
                },
            68,
            320,
        );
        let hba_v = clamp_round(
            (5.5 + 0.32 * glycaemia + rng.normal(0.0, 0.1)) * 10.0,
            42,
            130,
        );
        let (fpg, hba1c10) = match fasting {
            Fasting::Fasting if rng.chance(0.6) => (Some(fpg_v), Some(hba_v)),
            Fasting::Fasting if rng.chance(0.5) => (Some(fpg_v), None),
            _ => (None, Some(hba_v)),
        };
        let random_glucose = (fasting == Fasting::NonFasting && rng.chance(0.5))
            .then(|| clamp_round(f64::from(fpg_v) + rng.normal(18.0, 8.0), 70, 400));
        let urine_glucose = if fpg_v > 180 {
            3
        } else if rng.chance(0.03) {
            2
        } else {
            1
        };
        let urine_protein = if rng.chance(0.06) {
            2
        } else if rng.chance(0.03) {
            3
        } else {
            1
        };

        let older = (age_f - 40.0) / 35.0;
        let med_bp = rng.chance(0.05 + 0.30 * older + if sys0 > 145.0 { 0.25 } else { 0.0 });
        let med_glucose = rng.chance(0.02 + 0.08 * older + if glycaemia > 2.0 { 0.4 } else { 0.0 });
        let med_lipid = rng.chance(0.04 + 0.18 * older);
        let smoking = match rng.unit() {
            x if x < if male { 0.27 } else { 0.08 } => Smoking::Yes,
            x if x < if male { 0.45 } else { 0.14 } => Smoking::Former,
            _ => Smoking::No,
        };
        const HISTORIES: &[&str] = &[
            "高血圧症（治療中）",
            "虫垂炎（手術済）",
            "胃潰瘍（治癒）",
            "脂質異常症",
            "骨折（治癒）",
        ];
        const SYMPTOMS: &[&str] = &["肩こり", "腰痛", "頭痛が時々ある", "疲れやすい"];
        let history = if med_bp {
            Some(HISTORIES[0])
        } else if rng.chance(0.12) {
            Some(*rng.pick(&HISTORIES[1..]))
        } else {
            None
        };
        let symptoms = if rng.chance(0.12) {
            Some(*rng.pick(SYMPTOMS))
        } else {
            None
        };

        let mut c = Clinical {
            sex,
            age_fy_end,
            height10,
            weight10,
            bmi10,
            waist10,
            waist_self_reported,
            waist_omitted,
            urine_not_performed,
            sys,
            dia,
            fasting,
            tg,
            hdl,
            ldl,
            non_hdl,
            ast,
            alt,
            ggt,
            fpg,
            hba1c10,
            random_glucose,
            urine_glucose,
            urine_protein,
            med_bp,
            med_glucose,
            med_lipid,
            smoking,
            history,
            symptoms,
            uric10: None,
            details: Vec::new(),
            out_of_range: None,
        };
        c.draw_details(rng, age);
        // Drawn last so that the other results of a seed stay as they were.
        c.out_of_range = match rng.unit() {
            x if x < 0.02 => Some(OutOfRange::GgtHigh),
            x if x < 0.03 => Some(OutOfRange::AstLow),
            _ => None,
        };
        match c.out_of_range {
            Some(OutOfRange::GgtHigh) => c.ggt = OutOfRange::GGT_LIMIT,
            Some(OutOfRange::AstLow) => c.ast = OutOfRange::AST_LIMIT,
            None => {}
        }
        c
    }

    fn draw_details(&mut self, rng: &mut Rng, age: u32) {
        let (s, d) = (self.sys_used(), self.dia_used());
        let glucose_high =
            self.fpg.is_some_and(|g| g >= 100) || self.hba1c10.is_some_and(|h| h >= 56);
        let glucose_very_high =
            self.fpg.is_some_and(|g| g >= 126) || self.hba1c10.is_some_and(|h| h >= 65);
        // Serum creatinine: BP or glucose at or above the guidance thresholds.
        if (s >= 130 || d >= 85 || glucose_high) && rng.chance(0.35) {
            let male = self.sex == Sex::Male;
            let cre = rng
                .normal(if male { 0.88 } else { 0.66 }, 0.12)
                .clamp(0.4, 2.5);
            let cre100 = clamp_round(cre * 100.0, 40, 250);
            let cre_f = f64::from(cre100) / 100.0;
            let mut egfr = 194.0 * cre_f.powf(-1.094) * f64::from(age).powf(-0.287);
            if !male {
                egfr *= 0.739;
            }
            self.details.push(DetailTest::Creatinine {
                cre100,
                egfr10: clamp_round(egfr * 10.0, 50, 1800),
            });
        }
        // ECG: BP ≥ 140/90, or an arrhythmia found at the examination.
        let arrhythmia = rng.chance(0.02);
        if (s >= 140 || d >= 90 || arrhythmia) && rng.chance(0.5) {
            self.details.push(DetailTest::Ecg {
                findings: rng.chance(0.3),
                target: if arrhythmia { 2 } else { 1 },
            });
        }
        // Fundus: BP ≥ 140/90 or glucose in the diabetic range.
        if (s >= 140 || d >= 90 || glucose_very_high) && rng.chance(0.4) {
            self.details.push(DetailTest::Fundus {
                kw: if rng.chance(0.7) { 1 } else { 2 },
                scheie_h: if rng.chance(0.7) { 1 } else { 2 },
                scheie_s: if rng.chance(0.8) { 1 } else { 2 },
            });
        }
        // Anaemia: by the doctor's judgement from history and symptoms.
        if rng.chance(if self.sex == Sex::Female { 0.08 } else { 0.03 }) {
            let female = self.sex == Sex::Female;
            let hb = rng
                .normal(if female { 12.9 } else { 14.6 }, 1.1)
                .clamp(8.0, 18.0);
            self.details.push(DetailTest::Anaemia {
                hb10: clamp_round(hb * 10.0, 80, 180),
                ht10: clamp_round(hb * 3.0 * 10.0, 250, 550),
                rbc: clamp_round(hb * 31.0, 250, 600),
            });
        }
        self.details.sort_by_key(|t| t.code());
    }

    /// The systolic value used for judgement: the average of the two readings (その他).
    pub fn sys_used(&self) -> u32 {
        average(self.sys[0], self.sys[1])
    }
    pub fn dia_used(&self) -> u32 {
        average(self.dia[0], self.dia[1])
    }

    /// Adds the additional item (uric acid) billed as `unitPriceOther`.
    pub fn add_uric_acid(&mut self, rng: &mut Rng) {
        let v = if self.sex == Sex::Male {
            rng.normal(5.9, 1.1)
        } else {
            rng.normal(4.5, 0.9)
        };
        self.uric10 = Some(clamp_round(v * 10.0, 20, 110));
    }

    /// 階層化 (メタボリックシンドローム判定 1008, 保健指導レベル 3001) of these values, by
    /// daiko-items' implementation of the MHLW standard programme, so the samples agree
    /// with what the checker expects (M-14).
    pub fn stratify(&self, fiscal_year: i32) -> (u8, u8) {
        use daiko_items::stratify::{self as st, StratificationInput};
        let f = |v: u32| f64::from(v);
        let random_tg = fiscal_year >= 2024 && self.fasting == Fasting::NonFasting;
        let input = StratificationInput {
            fiscal_year,
            sex: Some(if self.sex == Sex::Male {
                st::Sex::Male
            } else {
                st::Sex::Female
            }),
            age: Some(self.age_fy_end),
            waist_cm: (!self.waist_omitted).then(|| f(self.waist10) / 10.0),
            visceral_fat_cm2: None,
            bmi: Some(f(self.bmi10) / 10.0),
            fasting_glucose: self.fpg.map(f),
            hba1c: self.hba1c10.map(|h| f(h) / 10.0),
            random_glucose: self.random_glucose.map(f),
            fasting_triglycerides: (!random_tg).then(|| f(self.tg)),
            random_triglycerides: random_tg.then(|| f(self.tg)),
            hdl: Some(f(self.hdl)),
            systolic: Some(f(self.sys_used())),
            diastolic: Some(f(self.dia_used())),
            smoker: Some(self.smoking == Smoking::Yes),
            medication_bp: Some(self.med_bp),
            medication_glucose: Some(self.med_glucose),
            medication_lipid: Some(self.med_lipid),
        };
        let code = |c: &str| c.parse::<u8>().unwrap_or(4);
        (
            code(st::metabolic_judgement(&input).code()),
            code(st::guidance_level(&input).code()),
        )
    }

    /// The doctor's judgement text (ST ≤ 256 bytes).
    pub fn judgement_text(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if self.sys_used() >= 140 || self.dia_used() >= 90 {
            parts.push("血圧が高値です。");
        }
        if self.fpg.is_some_and(|g| g >= 110) || self.hba1c10.is_some_and(|h| h >= 60) {
            parts.push("血糖が高めです。");
        }
        if self.tg >= 150 || self.hdl < 40 {
            parts.push("脂質異常を認めます。");
        }
        if self.bmi10 >= 250 {
            parts.push("肥満傾向です。");
        }
        if parts.is_empty() {
            "特記すべき異常を認めません。".to_owned()
        } else {
            let mut s: String = parts.concat();
            s.push_str("生活習慣の改善を要します。");
            s
        }
    }
}

/// BMI × 10 from weight × 10 (kg) and height × 10 (cm), rounded half up.
pub fn bmi_x10(weight10: u32, height10: u32) -> u32 {
    let h2 = u64::from(height10) * u64::from(height10);
    if h2 == 0 {
        return 0;
    }
    let num = u64::from(weight10) * 1_000_000;
    ((2 * num + h2) / (2 * h2)) as u32
}

/// A value with one decimal from value × 10.
pub fn tenths(v: u32) -> String {
    format!("{}.{}", v / 10, v % 10)
}

/// A value with two decimals from value × 100.
pub fn hundredths(v: u32) -> String {
    format!("{}.{:02}", v / 100, v % 100)
}

// ---------------------------------------------------------------------------------------
// CDA entries
// ---------------------------------------------------------------------------------------

/// An observation value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Pq { value: String, unit: String },
    Cd { code: String, system: String },
    Co { code: String, system: String },
    St(String),
}

/// One observation to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obs {
    pub code: String,
    pub display: String,
    pub value: Val,
    pub interpretation: Option<&'static str>,
    pub method: Option<String>,
    /// Reference range (low, high, unit).
    pub range: Option<(String, String, String)>,
    /// Author name (doctor's judgement).
    pub author: Option<String>,
    /// 未実施: `negationInd="true"` and no value.
    pub negated: bool,
    /// Beyond the input range: `H` (以上) or `L` (以下), written as a second value.
    pub out_of_range: Option<&'static str>,
}

impl Obs {
    fn new(code: &str, display: &str, value: Val) -> Obs {
        Obs {
            code: code.to_owned(),
            display: display.to_owned(),
            value,
            interpretation: None,
            method: None,
            range: None,
            author: None,
            negated: false,
            out_of_range: None,
        }
    }
    /// Marks the (clamped) number as beyond the input range: FORMAT.md §6.4 writes the PQ,
    /// then a CD `H`/`L` of HL7 ObservationInterpretation, and no reference range.
    fn beyond_input_range(mut self, flag: &'static str) -> Obs {
        self.out_of_range = Some(flag);
        self.interpretation = None;
        self.range = None;
        self
    }
    fn method(mut self, m: &str) -> Obs {
        self.method = Some(m.to_owned());
        self
    }
    /// Adds a reference range and the H/L/N flag for a numeric value.
    fn ranged(mut self, low: u32, high: u32, scale: u32) -> Obs {
        if let Val::Pq { value, unit } = &self.value {
            let v = parse_scaled(value, scale);
            self.interpretation = Some(if v > high {
                "H"
            } else if v < low {
                "L"
            } else {
                "N"
            });
            let fmt = |x: u32| match scale {
                10 => tenths(x),
                100 => hundredths(x),
                _ => x.to_string(),
            };
            self.range = Some((fmt(low), fmt(high), unit.clone()));
        }
        self
    }
}

/// Parses a decimal string into value × scale (scale 1, 10 or 100).
fn parse_scaled(s: &str, scale: u32) -> u32 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let i: u32 = int.parse().unwrap_or(0);
    let digits = match scale {
        10 => 1,
        100 => 2,
        _ => 0,
    };
    let mut f = String::from(frac);
    f.truncate(digits);
    while f.len() < digits {
        f.push('0');
    }
    i * scale + f.parse::<u32>().unwrap_or(0)
}

/// A body entry: one observation or a 一連検査グループ with COMP/RSON members.
// Most entries are single observations; boxing them would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntrySpec {
    Single(Obs),
    Group {
        detail_code: &'static str,
        members: Vec<(&'static str, Obs)>,
    },
}

impl EntrySpec {
    /// Whether this entry is (or contains) the item `code`.
    pub fn has_code(&self, code: &str) -> bool {
        match self {
            EntrySpec::Single(o) => o.code == code,
            EntrySpec::Group { members, .. } => members.iter().any(|(_, o)| o.code == code),
        }
    }
    /// Mutable access to the observation with `code` (in a group too).
    pub fn obs_mut(&mut self, code: &str) -> Option<&mut Obs> {
        match self {
            EntrySpec::Single(o) => Some(o).filter(|o| o.code == code),
            EntrySpec::Group { members, .. } => {
                members.iter_mut().map(|(_, o)| o).find(|o| o.code == code)
            }
        }
    }
}

fn pq(code: &str, display: &str, value: String, unit: &str) -> Obs {
    Obs::new(
        code,
        display,
        Val::Pq {
            value,
            unit: unit.to_owned(),
        },
    )
}

fn cd(code: &str, display: &str, answer: impl ToString, system: &str) -> Obs {
    Obs::new(
        code,
        display,
        Val::Cd {
            code: answer.to_string(),
            system: system.to_owned(),
        },
    )
}

fn co(code: &str, display: &str, answer: impl ToString, system: &str) -> Obs {
    Obs::new(
        code,
        display,
        Val::Co {
            code: answer.to_string(),
            system: system.to_owned(),
        },
    )
}

fn st(code: &str, display: &str, text: &str) -> Obs {
    Obs::new(code, display, Val::St(text.to_owned()))
}

const SYS_2001: &str = "1.2.392.200119.6.2001";
const SYS_2003: &str = "1.2.392.200119.6.2003";
const SYS_2102: &str = "1.2.392.200119.6.2102";

/// Item codes the defects refer to.
pub mod codes {
    pub const HEIGHT: &str = "9N001000000000001";
    pub const BMI: &str = "9N011000000000001";
    pub const HISTORY: &str = "9N056000000000011";
    pub const HISTORY_TEXT: &str = "9N056160400000049";
    pub const HDL: &str = "3F070000002327101";
    pub const AST: &str = "3B035000002327201";
    pub const URINE_GLUCOSE: &str = "1A020000000191111";
    pub const METABOLIC: &str = "9N501000000000011";
    pub const JUDGEMENT: &str = "9N511000000000049";
    pub const MEDICATION_GLUCOSE: &str = "9N706000000000011";
}

/// The answers of the questionnaire a person gives (drawn once, written per year).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Questionnaire {
    pub answers: Vec<u8>,
}

impl Questionnaire {
    pub fn draw(rng: &mut Rng) -> Questionnaire {
        Questionnaire {
            answers: (0..32).map(|_| rng.range(0, 99) as u8).collect(),
        }
    }
    fn yes(&self, i: usize, percent: u8) -> u8 {
        if self.answers.get(i).copied().unwrap_or(50) < percent {
            1
        } else {
            2
        }
    }
    fn pick(&self, i: usize, n: u8) -> u8 {
        self.answers.get(i).copied().unwrap_or(0) % n + 1
    }
}

/// Builds every entry of section 01010 (and the additional item of 01990) for a checkup.
pub fn checkup_entries(
    c: &Clinical,
    q: &Questionnaire,
    fiscal_year: i32,
    doctor: &str,
) -> (Vec<EntrySpec>, Vec<EntrySpec>) {
    let g24 = Generation::for_fiscal_year(fiscal_year) == Generation::G2024;
    let mut e: Vec<EntrySpec> = Vec::new();
    let mut push = |o: Obs| e.push(EntrySpec::Single(o));

    // 診察: history and symptoms, with the free text when "findings".
    push(cd(
        codes::HISTORY,
        "既往歴",
        if c.history.is_some() { 1 } else { 2 },
        SYS_2001,
    ));
    if let Some(h) = c.history {
        push(st(codes::HISTORY_TEXT, "具体的な既往歴", h));
    }
    push(cd(
        "9N061000000000011",
        "自覚症状",
        if c.symptoms.is_some() { 1 } else { 2 },
        SYS_2001,
    ));
    if let Some(s) = c.symptoms {
        push(st("9N061160800000049", "自覚症状（所見）", s));
    }
    push(cd("9N066000000000011", "他覚症状", 2, SYS_2001));

    // 身体計測
    push(pq(codes::HEIGHT, "身長", tenths(c.height10), "cm"));
    push(pq("9N006000000000001", "体重", tenths(c.weight10), "kg"));
    push(pq(codes::BMI, "BMI", tenths(c.bmi10), "kg/m2"));
    if c.waist_omitted {
        // BMI < 20: the waist may be left out.
    } else if c.waist_self_reported {
        push(
            pq(
                "9N016160300000001",
                "腹囲（自己申告）",
                tenths(c.waist10),
                "cm",
            )
            .method("9N01630000"),
        );
    } else {
        push(pq("9N016160100000001", "腹囲（実測）", tenths(c.waist10), "cm").method("9N01610000"));
    }

    // 血圧: two readings and their average as その他.
    let bp = [
        (
            "9A751000000000001",
            "収縮期血圧（1回目）",
            c.sys[0],
            "9A75100000",
        ),
        (
            "9A752000000000001",
            "収縮期血圧（2回目）",
            c.sys[1],
            "9A75200000",
        ),
        (
            "9A755000000000001",
            "収縮期血圧（その他）",
            c.sys_used(),
            "9A75500009",
        ),
        (
            "9A761000000000001",
            "拡張期血圧（1回目）",
            c.dia[0],
            "9A76100000",
        ),
        (
            "9A762000000000001",
            "拡張期血圧（2回目）",
            c.dia[1],
            "9A76200000",
        ),
        (
            "9A765000000000001",
            "拡張期血圧（その他）",
            c.dia_used(),
            "9A76500009",
        ),
    ];
    for (code, name, v, m) in bp {
        push(pq(code, name, v.to_string(), "mm[Hg]").method(m));
    }

    // 採血時間（食後）: 2 = ≥ 10 h in both years; non-fasting is 1 (FY2023) or 3 (FY2024, 3.5–10 h).
    let timing = match (c.fasting, g24) {
        (Fasting::Fasting, _) => 2,
        (Fasting::NonFasting, false) => 1,
        (Fasting::NonFasting, true) => 3,
    };
    push(cd(
        "9N141000000000011",
        "採血時間（食後）",
        timing,
        "1.2.392.200119.6.2202",
    ));

    // 脂質
    if g24 && c.fasting == Fasting::NonFasting {
        push(
            pq(
                "3F015129902327101",
                "随時中性脂肪（トリグリセリド）",
                c.tg.to_string(),
                "mg/dL",
            )
            .method("3F01510000")
            .ranged(30, 174, 1),
        );
    } else {
        push(
            pq(
                "3F015000002327101",
                "中性脂肪（トリグリセリド）",
                c.tg.to_string(),
                "mg/dL",
            )
            .method("3F01510000")
            .ranged(30, 149, 1),
        );
    }
    push(
        pq(codes::HDL, "HDLコレステロール", c.hdl.to_string(), "mg/dL")
            .method("3F07010000")
            .ranged(40, 119, 1),
    );
    if let Some(l) = c.ldl {
        push(
            pq(
                "3F077000002327101",
                "LDLコレステロール",
                l.to_string(),
                "mg/dL",
            )
            .method("3F07710000")
            .ranged(60, 119, 1),
        );
    }
    if let Some(n) = c.non_hdl {
        push(
            pq(
                "3F069000002391901",
                "non-HDLコレステロール",
                n.to_string(),
                "mg/dL",
            )
            .method("3F06910000")
            .ranged(90, 149, 1),
        );
    }
    // 肝機能
    push(match c.out_of_range {
        Some(OutOfRange::AstLow) => pq(codes::AST, "GOT（AST）", c.ast.to_string(), "U/L")
            .method("3B03510000")
            .beyond_input_range("L"),
        _ => pq(codes::AST, "GOT（AST）", c.ast.to_string(), "U/L")
            .method("3B03510000")
            .ranged(10, 30, 1),
    });
    push(
        pq("3B045000002327201", "GPT（ALT）", c.alt.to_string(), "U/L")
            .method("3B04510000")
            .ranged(10, 30, 1),
    );
    let ggt = pq(
        "3B090000002327101",
        "γ-GT（γ-GTP）",
        c.ggt.to_string(),
        "U/L",
    )
    .method("3B09010000");
    push(match c.out_of_range {
        Some(OutOfRange::GgtHigh) => ggt.beyond_input_range("H"),
        _ => ggt.ranged(0, 50, 1),
    });
    // 血糖
    if let Some(g) = c.fpg {
        push(
            pq("3D010000002227101", "空腹時血糖", g.to_string(), "mg/dL")
                .method("3D01020000")
                .ranged(70, 99, 1),
        );
    }
    if let Some(g) = c.random_glucose {
        push(
            pq("3D010129902227101", "随時血糖", g.to_string(), "mg/dL")
                .method("3D01020000")
                .ranged(70, 139, 1),
        );
    }
    if let Some(h) = c.hba1c10 {
        push(
            pq("3D046000001906202", "HbA1c（NGSP値）", tenths(h), "%")
                .method("3D04610000")
                .ranged(46, 55, 10),
        );
    }
    // 尿検査
    let urine = |o: Obs| Obs {
        negated: c.urine_not_performed,
        ..o
    };
    push(urine(
        co(codes::URINE_GLUCOSE, "尿糖", c.urine_glucose, SYS_2102).method("1A02010000"),
    ));
    push(urine(
        co("1A010000000191111", "尿蛋白", c.urine_protein, SYS_2102).method("1A01010000"),
    ));
    if c.urine_not_performed && g24 {
        // 測定不可能・検査未実施の理由 (FY2024+): 1 生理中.
        push(cd(
            "9N512000000000011",
            "測定不可能・検査未実施の理由",
            1,
            "1.2.392.200119.6.24080",
        ));
    }

    // 詳細な健診 (series groups)
    for t in &c.details {
        e.push(detail_group(t));
    }

    // 判定
    let (metabolic, level) = c.stratify(fiscal_year);
    let mut push = |o: Obs| e.push(EntrySpec::Single(o));
    push(cd(
        codes::METABOLIC,
        "メタボリックシンドローム判定",
        metabolic,
        "1.2.392.200119.6.1008",
    ));
    push(cd(
        "9N506000000000011",
        "保健指導レベル",
        level,
        "1.2.392.200119.6.3001",
    ));
    let mut judgement = st(codes::JUDGEMENT, "医師の診断（判定）", &c.judgement_text());
    judgement.author = Some(doctor.to_owned());
    push(judgement);

    // 質問票
    let med = |b: bool| if b { 1 } else { 2 };
    push(cd(
        "9N701000000000011",
        "服薬1（血圧）",
        med(c.med_bp),
        SYS_2003,
    ));
    push(cd(
        codes::MEDICATION_GLUCOSE,
        "服薬2（血糖）",
        med(c.med_glucose),
        SYS_2003,
    ));
    push(cd(
        "9N711000000000011",
        "服薬3（脂質）",
        med(c.med_lipid),
        SYS_2003,
    ));
    push(cd(
        "9N716000000000011",
        "既往歴1（脳血管）",
        q.yes(0, 3),
        SYS_2003,
    ));
    push(cd(
        "9N721000000000011",
        "既往歴2（心血管）",
        q.yes(1, 4),
        SYS_2003,
    ));
    push(cd(
        "9N726000000000011",
        "既往歴3（腎不全・人工透析）",
        q.yes(2, 1),
        SYS_2003,
    ));
    push(cd("9N731000000000011", "貧血", q.yes(3, 8), SYS_2003));
    if g24 {
        let s = match c.smoking {
            Smoking::Yes => 1,
            Smoking::Former => 2,
            Smoking::No => 3,
        };
        push(cd("9N736000000000011", "喫煙", s, "1.2.392.200119.6.24060"));
    } else {
        push(cd(
            "9N736000000000011",
            "喫煙",
            if c.smoking == Smoking::Yes { 1 } else { 2 },
            SYS_2003,
        ));
    }
    push(cd(
        "9N741000000000011",
        "20歳からの体重変化",
        if c.bmi10 >= 250 { 1 } else { q.yes(4, 25) },
        SYS_2003,
    ));
    push(cd(
        "9N746000000000011",
        "30分以上の運動習慣",
        q.yes(5, 30),
        SYS_2003,
    ));
    push(cd(
        "9N751000000000011",
        "歩行又は身体活動",
        q.yes(6, 45),
        SYS_2003,
    ));
    push(cd("9N756000000000011", "歩行速度", q.yes(7, 45), SYS_2003));
    push(cd(
        "9N872000000000011",
        "咀嚼",
        if q.yes(8, 15) == 1 { 2 } else { 1 },
        "1.2.392.200119.6.18030",
    ));
    push(cd(
        "9N766000000000011",
        "食べ方1（早食い等）",
        q.pick(9, 3),
        "1.2.392.200119.6.2004",
    ));
    push(cd(
        "9N771000000000011",
        "食べ方2（就寝前）",
        q.yes(10, 15),
        SYS_2003,
    ));
    push(cd(
        "9N782000000000011",
        "食べ方3（間食）",
        q.pick(11, 3),
        "1.2.392.200119.6.18040",
    ));
    push(cd("9N781000000000011", "食習慣", q.yes(12, 10), SYS_2003));
    if g24 {
        let freq = q.pick(13, 8);
        push(cd(
            "9N786000000000011",
            "飲酒",
            freq,
            "1.2.392.200119.6.24040",
        ));
        if freq <= 6 {
            push(co(
                "9N791000000000011",
                "飲酒量",
                q.pick(14, 4),
                "1.2.392.200119.6.24050",
            ));
        }
    } else {
        let freq = q.pick(13, 3);
        push(cd(
            "9N786000000000011",
            "飲酒",
            freq,
            "1.2.392.200119.6.2005",
        ));
        if freq <= 2 {
            push(co(
                "9N791000000000011",
                "飲酒量",
                q.pick(14, 4),
                "1.2.392.200119.6.2006",
            ));
        }
    }
    push(cd("9N796000000000011", "睡眠", q.yes(15, 70), SYS_2003));
    push(cd(
        "9N801000000000011",
        "生活習慣の改善",
        q.pick(16, 5),
        "1.2.392.200119.6.2007",
    ));
    if g24 {
        push(cd(
            "9N808000000000011",
            "特定保健指導の受診歴",
            q.yes(17, 20),
            SYS_2003,
        ));
    } else {
        push(cd(
            "9N806000000000011",
            "保健指導の希望",
            q.yes(17, 30),
            SYS_2003,
        ));
    }

    // 任意追加項目 (section 01990): the additional item billed as unitPriceOther.
    let mut extra = Vec::new();
    if let Some(u) = c.uric10 {
        extra.push(EntrySpec::Single(
            pq(URIC_ACID, "血清尿酸", tenths(u), "mg/dL")
                .method("3C02010000")
                .ranged(21, 70, 10),
        ));
    }
    (e, extra)
}

fn detail_group(t: &DetailTest) -> EntrySpec {
    let members = match *t {
        DetailTest::Anaemia { ht10, hb10, rbc } => vec![
            (
                "COMP",
                pq("2A040000001930102", "ヘマトクリット値", tenths(ht10), "%"),
            ),
            (
                "COMP",
                pq(
                    "2A030000001930101",
                    "血色素量（ヘモグロビン値）",
                    tenths(hb10),
                    "g/dL",
                ),
            ),
            (
                "COMP",
                pq("2A020000001930101", "赤血球数", rbc.to_string(), "10*4/mm3"),
            ),
            (
                "RSON",
                st(
                    "2A020161001930149",
                    "貧血検査（実施理由）",
                    "貧血の既往歴があり医師が必要と認めたため",
                ),
            ),
        ],
        DetailTest::Ecg { findings, target } => {
            let mut m = vec![(
                "COMP",
                cd(
                    "9A110160700000011",
                    "心電図（所見の有無）",
                    if findings { 1 } else { 2 },
                    "1.2.392.200119.6.2002",
                ),
            )];
            if findings {
                m.push((
                    "COMP",
                    st("9A110160800000049", "心電図（所見）", "軽度のST-T変化"),
                ));
            }
            m.push((
                "RSON",
                cd(
                    "9A110161600000011",
                    "心電図（対象者）",
                    target,
                    "1.2.392.200119.6.18120",
                ),
            ));
            let reason = if target == 2 {
                "診察時に不整脈を認めたため"
            } else {
                "血圧が受診勧奨判定値以上のため"
            };
            m.push((
                "RSON",
                st("9A110161000000049", "心電図（実施理由）", reason),
            ));
            m
        }
        DetailTest::Fundus {
            kw,
            scheie_h,
            scheie_s,
        } => vec![
            (
                "COMP",
                co(
                    "9E100166000000011",
                    "眼底検査（キースワグナー分類）",
                    kw,
                    "1.2.392.200119.6.2110",
                ),
            ),
            (
                "COMP",
                co(
                    "9E100166100000011",
                    "眼底検査（シェイエ分類：H）",
                    scheie_h,
                    "1.2.392.200119.6.2111",
                ),
            ),
            (
                "COMP",
                co(
                    "9E100166200000011",
                    "眼底検査（シェイエ分類：S）",
                    scheie_s,
                    "1.2.392.200119.6.2112",
                ),
            ),
            (
                "RSON",
                cd(
                    "9E100161600000011",
                    "眼底検査（対象者）",
                    1,
                    "1.2.392.200119.6.18130",
                ),
            ),
            (
                "RSON",
                st(
                    "9E100161000000049",
                    "眼底検査（実施理由）",
                    "血圧又は血糖が受診勧奨判定値以上のため",
                ),
            ),
        ],
        DetailTest::Creatinine { cre100, egfr10 } => vec![
            (
                "COMP",
                pq(
                    "3C015000002327101",
                    "血清クレアチニン",
                    hundredths(cre100),
                    "mg/dL",
                )
                .method("3C01510000"),
            ),
            (
                "COMP",
                pq("8A065000002391901", "eGFR", tenths(egfr10), "ml/min/1.73m2")
                    .method("8A06510000"),
            ),
            (
                "RSON",
                cd(
                    "3C015161602399911",
                    "血清クレアチニン（対象者）",
                    1,
                    "1.2.392.200119.6.18110",
                ),
            ),
            (
                "RSON",
                st(
                    "3C015161002399949",
                    "血清クレアチニン（実施理由）",
                    "血圧又は血糖が保健指導判定値以上のため",
                ),
            ),
        ],
    };
    EntrySpec::Group {
        detail_code: t.code(),
        members,
    }
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

fn observation_element(o: &Obs) -> Element {
    let mut el = Element::new("observation")
        .attr("classCode", "OBS")
        .attr("moodCode", "EVN");
    if o.negated {
        el = el.attr("negationInd", "true");
    }
    el = el.child(
        Element::new("code")
            .attr("code", o.code.clone())
            .attr("displayName", o.display.clone()),
    );
    if o.negated {
        if let Some(m) = &o.method {
            el = el.child(Element::new("methodCode").attr("code", m.clone()));
        }
        return el;
    }
    el = el.child(value_element(&o.value));
    if let Some(flag) = o.out_of_range {
        el = el.child(
            Element::new("value")
                .attr("xsi:type", "CD")
                .attr("code", flag)
                .attr("codeSystem", oid::HL7_INTERPRETATION)
                .attr("displayName", if flag == "H" { "以上" } else { "以下" }),
        );
    }
    if let Some(i) = o.interpretation {
        el = el.child(Element::new("interpretationCode").attr("code", i));
    }
    if let Some(m) = &o.method {
        el = el.child(Element::new("methodCode").attr("code", m.clone()));
    }
    if let Some(name) = &o.author {
        el = el.child(
            Element::new("author")
                .child(Element::new("time").attr("nullFlavor", "NI"))
                .child(
                    Element::new("assignedAuthor")
                        .child(Element::new("id").attr("nullFlavor", "NI"))
                        .child(
                            Element::new("assignedPerson")
                                .child(Element::new("name").text(name.clone())),
                        ),
                ),
        );
    }
    if let Some((low, high, unit)) = &o.range {
        el = el.child(
            Element::new("referenceRange").child(
                Element::new("observationRange")
                    .attr("classCode", "OBS")
                    .attr("moodCode", "EVN.CRT")
                    .child(
                        Element::new("value")
                            .attr("xsi:type", "IVL_PQ")
                            .child(
                                Element::new("low")
                                    .attr("value", low.clone())
                                    .attr("unit", unit.clone()),
                            )
                            .child(
                                Element::new("high")
                                    .attr("value", high.clone())
                                    .attr("unit", unit.clone()),
                            ),
                    ),
            ),
        );
    }
    el
}

fn value_element(v: &Val) -> Element {
    match v {
        Val::Pq { value, unit } => Element::new("value")
            .attr("xsi:type", "PQ")
            .attr("value", value.clone())
            .attr("unit", unit.clone()),
        Val::Cd { code, system } => Element::new("value")
            .attr("xsi:type", "CD")
            .attr("code", code.clone())
            .attr("codeSystem", system.clone()),
        Val::Co { code, system } => Element::new("value")
            .attr("xsi:type", "CO")
            .attr("code", code.clone())
            .attr("codeSystem", system.clone()),
        Val::St(text) => Element::new("value")
            .attr("xsi:type", "ST")
            .text(text.clone()),
    }
}

/// The `entry` element of a body entry.
pub fn entry_element(e: &EntrySpec) -> Element {
    match e {
        EntrySpec::Single(o) => Element::new("entry").child(observation_element(o)),
        EntrySpec::Group { members, .. } => {
            let mut container = Element::new("observation")
                .attr("classCode", "OBS")
                .attr("moodCode", "EVN")
                .child(Element::new("code").attr("nullFlavor", "NA"));
            for (relation, o) in members {
                container = container.child(
                    Element::new("entryRelationship")
                        .attr("typeCode", *relation)
                        .child(observation_element(o)),
                );
            }
            Element::new("entry").child(container)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmi_is_weight_over_height_squared_rounded_half_up() {
        // 78.0 kg, 172.4 cm → 26.24 → 26.2
        assert_eq!(bmi_x10(780, 1724), 262);
        // 60.0 kg, 160.0 cm → 23.4375 → 23.4
        assert_eq!(bmi_x10(600, 1600), 234);
    }

    fn base() -> Clinical {
        let mut rng = Rng::new(1);
        let mut c = Clinical::draw(&mut rng, Sex::Male, 50, 50, true);
        c.waist10 = 800;
        c.bmi10 = 230;
        c.sys = [120, 120];
        c.dia = [70, 70];
        c.tg = 100;
        c.hdl = 60;
        c.fpg = Some(90);
        c.hba1c10 = Some(52);
        c.med_bp = false;
        c.med_glucose = false;
        c.med_lipid = false;
        c.smoking = Smoking::No;
        c
    }

    #[test]
    fn stratification_follows_the_standard_programme() {
        let mut c = base();
        assert_eq!(c.stratify(2023), (3, 3));
        // Waist over with two risks → 基準該当, 積極的支援.
        c.waist10 = 900;
        c.sys = [135, 135];
        c.tg = 160;
        assert_eq!(c.stratify(2023), (1, 1));
        // Same at 65+ → motivational.
        c.age_fy_end = 66;
        assert_eq!(c.stratify(2023), (1, 2));
        // Under BP medication → not a guidance target.
        c.age_fy_end = 50;
        c.med_bp = true;
        assert_eq!(c.stratify(2023).1, 3);
        // BMI ≥ 25 without waist, one risk plus smoking → motivational.
        let mut c = base();
        c.bmi10 = 260;
        c.fpg = Some(105);
        c.smoking = Smoking::Yes;
        assert_eq!(c.stratify(2023), (3, 2));
    }
}
