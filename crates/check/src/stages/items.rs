//! Stage M — item-level checks driven by the fiscal year's item master (項目チェック).
//!
//! Checkup documents (hc08) are checked against the item table of the service date's
//! fiscal year (`daiko_items::table_for_fiscal_year`): codes, value types, units, format
//! masks, code lists, text lengths (M-01 … M-06), mandatory items and either-or groups
//! (M-07, M-08), dependencies and the blood-draw timing rule (M-09), detailed checkups
//! against the claim (M-10), not-performed / not-measurable records (M-11, a note only),
//! plausibility (M-12), BMI (M-13) and the stratification (M-14).
//!
//! Guidance documents (hg08) are checked against the guidance item table. daiko holds only
//! the FY2018 guidance table (XMLhg18tab; the FY2024 one was not obtained), so it is used
//! for every year; for FY2024+ documents an unknown guidance code is a warning, not a
//! return. M-15 … M-17 cover the first claim's plan, the points and the FY2024 outcome codes.
//!
//! Choices made where the sources are silent [INF] (CHECKS.md decision 4):
//! * A requirement is met by any observation of the item or of a method variant (same
//!   identity code, value type and dependency), including 未実施 / 測定不能 ones (M-11
//!   records those as notes, never as errors; from FY2024 the note is a warning when a
//!   required item lacks the reason item 9N512).
//! * M-09: a dependent item without its parent is a return; a dependent item whose parent
//!   answers "no" is only a warning. Fasting glucose / TG need timing code 2 (≥ 10 h);
//!   random glucose needs 1 (FY2018) or 3 (FY2024: 3.5–10 h, 食直後を除く); random TG
//!   (FY2024) needs 3 or 4. Without a timing item, a fasting glucose / TG result is M-09
//!   (the timing is their parent); random items without a timing are not judged.
//! * M-08 (warning): LDL by calculation alone is not accepted when TG ≥ 400 mg/dL or the
//!   sample is non-fasting (non-HDL or a direct LDL is needed) [INF].
//! * M-10 also covers placement: detailed-checkup items sit in their series-group
//!   container with the table's relation (COMP results, RSON reason/target), FR 01.
//! * M-10: a detailed checkup counts as done "as a detailed checkup" when its target-person
//!   code is 1 or 2 (anaemia: when its reason is given); only then must it be claimed.
//! * M-12 is skipped for results flagged H/L (入力範囲外, clamped by the producer).
//! * M-14 uses the その他 blood pressure (the producer's average), else the mean of the
//!   1st and 2nd readings, and is silent when missing values leave the answer open.
//! * M-15: the planned totals are required for 積極的支援 only (動機付け支援 has no
//!   continuous support to plan).

use crate::catalogue::{finding, finding_with_outcome, finding_with_reason, info};
use crate::finding::{Finding, Outcome, ReturnReason};
use daiko_format::cda::{Observation, Value};
use daiko_format::model::{CheckupClaim, ClinicalDocument, GuidanceClaim, oid};
use daiko_format::tree::same;
use daiko_items::rules::{self, SampleItem, code as item};
use daiko_items::stratify::{self, Sex, StratificationInput};
use daiko_items::table::CodeMap;
use daiko_items::text::{parse_number, table_byte_length};
use daiko_items::{CheckupItem, CheckupTable, Requirement, TableGeneration, ValueType};

/// What stage M looks at for one record.
pub struct ItemCheckInput<'a> {
    /// Path of the CDA in the archive (`DATA/h….xml`).
    pub file: &'a str,
    pub doc: &'a ClinicalDocument,
    /// `daiko_format::cda::observations(doc)`, computed once by the engine.
    pub observations: &'a [Observation],
    /// The paired claim, when there is one.
    pub checkup_claim: Option<&'a CheckupClaim>,
    pub guidance_claim: Option<&'a GuidanceClaim>,
    /// Fiscal year of the service date (chooses the item table); `None` when the date is unreadable.
    pub fiscal_year: Option<i32>,
}

/// Runs M-01 … M-17 for one record, pushing findings into `out`.
pub fn check_items(input: &ItemCheckInput<'_>, out: &mut Vec<Finding>) {
    let Some(fy) = input.fiscal_year else {
        out.push(info(
            "M-01",
            input.file,
            "/ClinicalDocument/documentationOf/serviceEvent/effectiveTime",
            "",
            "実施日が読めないため、項目チェック(M-01〜M-17)を行っていません",
            "The service date cannot be read, so the item checks (M-01 to M-17) were not run",
        ));
        return;
    };
    if input.doc.is_guidance() {
        check_guidance(input, fy, out);
    } else {
        Checkup::new(input, fy).run(out);
    }
}

// -------------------------------------------------------------------------------------
// Checkup documents
// -------------------------------------------------------------------------------------

/// Whether an observation code is a 特定健診項目コード (default code system or …1005).
fn is_checkup_code_system(system: Option<&str>) -> bool {
    system.is_none_or(|s| s.is_empty() || s == oid::CHECKUP_ITEM)
}

/// The first value of an observation, unless it is 未実施 or 測定不能.
fn recorded_value(obs: &Observation) -> Option<&Value> {
    if obs.negated {
        return None;
    }
    obs.values.first().filter(|v| v.null_flavor().is_none())
}

/// The number of a PQ result (clamped out-of-range results included).
fn number_of(obs: &Observation) -> Option<f64> {
    match recorded_value(obs)? {
        Value::Pq { value: Some(v), .. } => parse_number(v),
        _ => None,
    }
}

/// The code of a CD/CO result.
fn code_of(obs: &Observation) -> Option<&str> {
    match recorded_value(obs)? {
        Value::Coded { code, .. } => Some(code.code.as_str()),
        _ => None,
    }
}

/// 「名前」 for Japanese messages.
fn ja(item: &CheckupItem) -> String {
    format!("「{}」", item.name)
}

/// `item 9N016… (腹囲(実測）)` for English messages.
fn en(item: &CheckupItem) -> String {
    format!("item {} ({})", item.code, item.name)
}

/// An item code as a map key, compared without a `memcmp` call: a record's checks look
/// its codes up dozens of times.
#[derive(Debug, Clone, Copy, Hash)]
struct CodeKey<'a>(&'a str);

impl PartialEq for CodeKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        same(self.0, other.0)
    }
}

impl Eq for CodeKey<'_> {}

struct Checkup<'a> {
    input: &'a ItemCheckInput<'a>,
    fy: i32,
    table: &'static CheckupTable,
    /// Observations carrying a known checkup item, with the item.
    known: Vec<(&'a Observation, &'static CheckupItem)>,
    /// Observations with a checkup item code that the table does not have (M-01).
    unknown: Vec<&'a Observation>,
    /// First observation of each item code.
    by_code: CodeMap<CodeKey<'a>, &'a Observation>,
    /// Glucose, HbA1c and triglyceride observations by kind.
    samples: Vec<(SampleItem, &'a Observation, &'static CheckupItem)>,
}

impl<'a> Checkup<'a> {
    fn new(input: &'a ItemCheckInput<'a>, fy: i32) -> Self {
        let table = daiko_items::table_for_fiscal_year(fy);
        let mut known = Vec::with_capacity(input.observations.len());
        let mut unknown = Vec::new();
        let mut samples = Vec::new();
        let mut by_code = CodeMap::default();
        by_code.reserve(input.observations.len());
        for obs in input.observations {
            let Some(code) = &obs.code else { continue };
            if !is_checkup_code_system(code.code_system.as_deref()) {
                continue; // items of other code systems (e.g. local extra items in 01990)
            }
            match table.get(&code.code) {
                Some(it) => {
                    known.push((obs, it));
                    by_code.entry(CodeKey(code.code.as_str())).or_insert(obs);
                    if let Some(kind) = rules::sample_item(&it.code) {
                        samples.push((kind, obs, it));
                    }
                }
                None => unknown.push(obs),
            }
        }
        Checkup {
            input,
            fy,
            table,
            known,
            unknown,
            by_code,
            samples,
        }
    }

    fn file(&self) -> &str {
        self.input.file
    }

    fn obs(&self, code: &str) -> Option<&'a Observation> {
        self.by_code.get(&CodeKey(code)).copied()
    }

    /// Location for document-level findings: the first section, else the body.
    fn body_location(&self) -> String {
        self.input
            .observations
            .first()
            .and_then(|o| o.path.split("/entry[").next())
            .map_or_else(
                || "/ClinicalDocument/component/structuredBody".to_string(),
                str::to_string,
            )
    }

    fn run(&self, out: &mut Vec<Finding>) {
        for obs in &self.unknown {
            self.report_unknown(obs, out);
        }
        for (obs, it) in &self.known {
            self.check_observation(obs, it, out);
        }
        self.check_mandatory(out);
        self.check_groups(out);
        self.check_dependencies(out);
        self.check_blood_draw_timing(out);
        self.check_calculated_ldl(out);
        self.check_detailed(out);
        self.check_detailed_placement(out);
        self.check_bmi(out);
        self.check_stratification(out);
    }

    /// 測定不可能・検査未実施の理由 (9N512, FY2024+) as `code:label`, when recorded.
    fn not_performed_reason(&self) -> Option<String> {
        let obs = self.obs(item::NOT_PERFORMED_REASON)?;
        let Value::Coded { code, .. } = recorded_value(obs)? else {
            return None;
        };
        let label = code
            .code_system
            .as_deref()
            .and_then(|s| self.table.code_values(s))
            .and_then(|v| v.get(&code.code));
        Some(label.map_or_else(|| code.code.clone(), |l| format!("{}:{l}", code.code)))
    }

    /// M-11: 未実施 / 測定不能 is accepted. From FY2024 a required item (mandatory or
    /// one-of) recorded so should come with the reason item 9N512; without it the note
    /// becomes a warning.
    fn note_not_done(
        &self,
        obs: &Observation,
        it: &CheckupItem,
        value: &str,
        what_ja: &str,
        what_en: &str,
        out: &mut Vec<Finding>,
    ) {
        let required = matches!(
            it.requirement,
            Requirement::Mandatory | Requirement::OneOf(_)
        );
        let reason_expected = self.table.generation == TableGeneration::Fy2024 && required;
        if reason_expected && self.not_performed_reason().is_none() {
            out.push(finding(
                "M-11",
                self.file(),
                &obs.path,
                value,
                &format!(
                    "{}が{}として記録されていますが、「測定不可能・検査未実施の理由」(9N512)が記録されていません",
                    ja(it),
                    what_ja
                ),
                &format!(
                    "{} is recorded as {} but the reason item (9N512, not measured / not performed) is missing",
                    en(it),
                    what_en
                ),
            ));
            return;
        }
        out.push(info(
            "M-11",
            self.file(),
            &obs.path,
            value,
            &format!(
                "{}は{}として記録されています{}(受付可)",
                ja(it),
                what_ja,
                self.reason_ja()
            ),
            &format!(
                "{} is recorded as {}{} (accepted)",
                en(it),
                what_en,
                self.reason_en()
            ),
        ));
    }

    fn reason_ja(&self) -> String {
        self.not_performed_reason()
            .map_or_else(String::new, |r| format!("(理由 {r})"))
    }

    fn reason_en(&self) -> String {
        self.not_performed_reason()
            .map_or_else(String::new, |r| format!(" (reason {r})"))
    }

    /// M-01: an item code the fiscal year's table does not have.
    fn report_unknown(&self, obs: &Observation, out: &mut Vec<Finding>) {
        let code = obs.item_code();
        out.push(finding(
            "M-01",
            self.file(),
            &obs.path,
            code,
            &format!(
                "項目コード「{}」は{}年度の項目表にありません",
                code, self.fy
            ),
            &format!(
                "Item code {:?} is not in the item table for FY{} ({} table)",
                code,
                self.fy,
                self.table.generation.label()
            ),
        ));
    }

    /// M-02 … M-06, M-11, M-12 for one observation of a known item.
    fn check_observation(&self, obs: &Observation, it: &CheckupItem, out: &mut Vec<Finding>) {
        if obs.negated {
            self.note_not_done(obs, it, "negationInd=true", "未実施", "not performed", out);
            return;
        }
        let Some(first) = obs.values.first() else {
            out.push(finding(
                "M-02",
                self.file(),
                &obs.path,
                "",
                &format!(
                    "{}に値(value)がありません。結果を入れるか、未実施なら negationInd=\"true\" としてください",
                    ja(it)
                ),
                &format!(
                    "{} has no value; give the result, or mark it not performed with negationInd=\"true\"",
                    en(it)
                ),
            ));
            return;
        };
        if let Some(expected) = it.value_type
            && first.xsi_type() != expected.as_str()
        {
            out.push(finding(
                "M-02",
                self.file(),
                &obs.path,
                first.xsi_type(),
                &format!(
                    "{}のデータ型が{}です。項目表では{}です",
                    ja(it),
                    first.xsi_type(),
                    expected.as_str()
                ),
                &format!(
                    "{} has value type {}; the item table requires {}",
                    en(it),
                    first.xsi_type(),
                    expected.as_str()
                ),
            ));
            return;
        }
        self.check_extra_values(obs, it, out);
        if let Some(nf) = first.null_flavor() {
            let value = format!("nullFlavor={nf}");
            self.note_not_done(obs, it, &value, "測定不能", "not measurable", out);
            return;
        }
        match first {
            Value::Pq { value, unit, .. } => {
                self.check_pq(obs, it, value.as_deref(), unit.as_deref(), out)
            }
            Value::Coded { code, .. } => self.check_coded(obs, it, code, out),
            Value::St { text, .. } => self.check_st(obs, it, text, out),
            Value::Int { .. } | Value::Other { .. } => {}
        }
    }

    /// Only an out-of-input-range flag (CD H/L in HL7 ObservationInterpretation after a PQ)
    /// may follow the first value.
    fn check_extra_values(&self, obs: &Observation, it: &CheckupItem, out: &mut Vec<Finding>) {
        for (i, v) in obs.values.iter().enumerate().skip(1) {
            let is_flag = matches!(v, Value::Coded { code, .. }
                if code.code_system.as_deref() == Some(rules::system::HL7_INTERPRETATION)
                    && (code.code == "H" || code.code == "L"));
            let after_pq = matches!(obs.values.first(), Some(Value::Pq { .. }));
            if i == 1 && is_flag && after_pq {
                continue;
            }
            out.push(finding(
                "M-02",
                self.file(),
                &obs.path,
                v.xsi_type(),
                &format!(
                    "{}に余分な値({}個目、{})があります。2つ目の値は入力範囲外を示す H/L のみ可能です",
                    ja(it),
                    i + 1,
                    v.xsi_type()
                ),
                &format!(
                    "{} has an extra value (number {}, {}); only an H/L out-of-range flag may follow a number",
                    en(it),
                    i + 1,
                    v.xsi_type()
                ),
            ));
        }
    }

    fn check_pq(
        &self,
        obs: &Observation,
        it: &CheckupItem,
        value: Option<&str>,
        unit: Option<&str>,
        out: &mut Vec<Finding>,
    ) {
        let found_unit = unit.unwrap_or("");
        let unit_ok = found_unit == it.unit || (it.unit.is_empty() && found_unit == "1");
        if !unit_ok {
            let expected = if it.unit.is_empty() {
                "なし"
            } else {
                it.unit.as_str()
            };
            out.push(finding(
                "M-03",
                self.file(),
                &obs.path,
                found_unit,
                &format!(
                    "{}の単位が「{}」です。項目表の単位は「{}」です",
                    ja(it),
                    found_unit,
                    expected
                ),
                &format!(
                    "{} has unit {:?}; the item table's unit is {:?}",
                    en(it),
                    found_unit,
                    it.unit
                ),
            ));
        }
        let Some(v) = value else {
            out.push(finding(
                "M-04",
                self.file(),
                &obs.path,
                "",
                &format!("{}の数値(value属性)がありません", ja(it)),
                &format!("{} has no number (value attribute)", en(it)),
            ));
            return;
        };
        if let Some(mask) = it.mask
            && !mask.fits(v)
        {
            out.push(finding(
                    "M-04",
                    self.file(),
                    &obs.path,
                    v,
                    &format!(
                        "{}の値「{}」が形式 {} に合いません(整数部{}桁・小数部{}桁まで)",
                        ja(it),
                        v,
                        mask.as_string(),
                        mask.integer,
                        mask.decimals
                    ),
                    &format!(
                        "{} value {:?} does not fit the format {} (up to {} integer and {} decimal digits)",
                        en(it),
                        v,
                        mask.as_string(),
                        mask.integer,
                        mask.decimals
                    ),
                ));
            return;
        }
        // An out-of-input-range result (H/L flag) is legal and clamped: no plausibility check.
        if obs.out_of_range_flag().is_some() {
            return;
        }
        if let (Some(range), Some(n)) = (rules::plausible_range(&it.code), parse_number(v))
            && (n < range.low || n > range.high)
        {
            out.push(finding(
                "M-12",
                self.file(),
                &obs.path,
                v,
                &format!(
                    "{}の値 {} {} は想定範囲({}〜{})外です",
                    ja(it),
                    v,
                    it.unit,
                    range.low,
                    range.high
                ),
                &format!(
                    "{} value {} {} is outside the plausible range {}–{}",
                    en(it),
                    v,
                    it.unit,
                    range.low,
                    range.high
                ),
            ));
        }
    }

    fn check_coded(
        &self,
        obs: &Observation,
        it: &CheckupItem,
        code: &daiko_format::model::Code,
        out: &mut Vec<Finding>,
    ) {
        let Some(expected) = it.result_system.as_deref() else {
            return;
        };
        let found = code.code_system.as_deref().unwrap_or("");
        if found != expected {
            out.push(finding(
                "M-05",
                self.file(),
                &obs.path,
                found,
                &format!(
                    "{}のコード体系が「{}」です。項目表では「{}」です",
                    ja(it),
                    if found.is_empty() { "(なし)" } else { found },
                    expected
                ),
                &format!(
                    "{} uses code system {:?}; the item table requires {}",
                    en(it),
                    found,
                    expected
                ),
            ));
            return;
        }
        if let Some(values) = self.table.code_values(expected)
            && !values.contains_key(&code.code)
        {
            let list = values
                .iter()
                .map(|(c, l)| format!("{c}:{l}"))
                .collect::<Vec<_>>()
                .join("、");
            let codes = values.keys().cloned().collect::<Vec<_>>().join(", ");
            out.push(finding(
                "M-05",
                self.file(),
                &obs.path,
                &code.code,
                &format!(
                    "{}のコード「{}」は定められた値ではありません(可能な値: {})",
                    ja(it),
                    code.code,
                    list
                ),
                &format!(
                    "{} code {:?} is not in its code list (allowed: {})",
                    en(it),
                    code.code,
                    codes
                ),
            ));
        }
    }

    fn check_st(&self, obs: &Observation, it: &CheckupItem, text: &str, out: &mut Vec<Finding>) {
        let Some(max) = it.max_bytes else { return };
        let len = table_byte_length(text);
        if len > max as usize {
            out.push(finding(
                "M-06",
                self.file(),
                &obs.path,
                &format!("{len} bytes"),
                &format!(
                    "{}の文字列が{}バイトあります(全角2・半角1バイトで数えて{}バイトまで)",
                    ja(it),
                    len,
                    max
                ),
                &format!(
                    "{} text is {} bytes long (full-width counted as 2); the limit is {} bytes",
                    en(it),
                    len,
                    max
                ),
            ));
        }
    }

    /// Whether an observation of `it` or of a method variant of it is present
    /// (variants share the identity code, value type and dependency).
    fn present(&self, it: &CheckupItem) -> bool {
        self.obs(&it.code).is_some()
            || self.known.iter().any(|(_, k)| {
                same(&k.identity, &it.identity)
                    && k.value_type == it.value_type
                    && match (&k.depends_on, &it.depends_on) {
                        (Some(a), Some(b)) => same(a, b),
                        (None, None) => true,
                        _ => false,
                    }
            })
    }

    /// M-07: mandatory items (identity level), doctor's name as author, free-text
    /// companions only when their parent answers "yes".
    fn check_mandatory(&self, out: &mut Vec<Finding>) {
        let mut reported: Vec<&str> = Vec::new();
        for it in self.table.mandatory_items() {
            if reported.contains(&it.identity.as_str()) && it.depends_on.is_none() {
                continue;
            }
            if let Some(carrier) = self.table.carrier_of_author(&it.code) {
                // e.g. 医師の氏名: the author of 医師の診断(判定)
                let named = self.known.iter().any(|(o, k)| {
                    o.author_name
                        .as_deref()
                        .is_some_and(|n| !n.trim().is_empty())
                        && same(&k.code, &carrier.code)
                });
                if !named && !self.present(it) {
                    let location = self
                        .obs(&carrier.code)
                        .map_or_else(|| self.body_location(), |o| o.path.clone());
                    out.push(finding(
                        "M-07",
                        self.file(),
                        &location,
                        "",
                        &format!(
                            "{}が記録されていません({}の author として記録します)",
                            ja(it),
                            ja(carrier)
                        ),
                        &format!(
                            "{} is missing (it is recorded as the author of {})",
                            en(it),
                            en(carrier)
                        ),
                    ));
                }
                continue;
            }
            if let Some(parent_code) = &it.depends_on {
                let Some(parent) = self.table.get(parent_code) else {
                    continue;
                };
                let Some(parent_obs) = self.obs(parent_code) else {
                    continue;
                };
                let says_yes = match (&parent.positive, code_of(parent_obs)) {
                    (Some(cond), Some(c)) => cond.holds(c),
                    _ => false,
                };
                if says_yes && !self.present(it) {
                    out.push(finding(
                        "M-07",
                        self.file(),
                        &parent_obs.path,
                        code_of(parent_obs).unwrap_or(""),
                        &format!(
                            "{}が「あり」のため{}が必要ですが、記録されていません",
                            ja(parent),
                            ja(it)
                        ),
                        &format!(
                            "{} says present, so {} is required but missing",
                            en(parent),
                            en(it)
                        ),
                    ));
                }
                continue;
            }
            if !self.present(it) {
                reported.push(it.identity.as_str());
                out.push(finding(
                    "M-07",
                    self.file(),
                    &self.body_location(),
                    "",
                    &format!("必須項目{}が記録されていません", ja(it)),
                    &format!("Mandatory {} is missing", en(it)),
                ));
            }
        }
    }

    /// Observations of the items of a one-of group.
    fn group_members(&self, letters: &[char]) -> Vec<(&'a Observation, &'static CheckupItem)> {
        self.known
            .iter()
            .filter(|(_, k)| matches!(k.requirement, Requirement::OneOf(c) if letters.contains(&c)))
            .copied()
            .collect()
    }

    /// M-08: either-or groups, with the waist/BMI rule of FORMAT.md §6.6.
    fn check_groups(&self, out: &mut Vec<Finding>) {
        let bmi_obs = self.obs(item::BMI);
        let bmi = bmi_obs.and_then(number_of);
        let bmi_low_flag = bmi_obs.and_then(|o| o.out_of_range_flag()) == Some("L");
        for group in rules::one_of_groups() {
            let members = self.group_members(group.letters);
            if group.key == "A" {
                self.check_waist(&members, bmi, bmi_low_flag, out);
                continue;
            }
            if members.is_empty() {
                out.push(finding(
                    "M-08",
                    self.file(),
                    &self.body_location(),
                    "",
                    &format!("{}のいずれも記録されていません", group.name_ja),
                    &format!("None of {} is recorded", group.name_en),
                ));
            }
        }
    }

    fn check_waist(
        &self,
        members: &[(&'a Observation, &'static CheckupItem)],
        bmi: Option<f64>,
        bmi_low_flag: bool,
        out: &mut Vec<Finding>,
    ) {
        let bmi_text = bmi.map_or_else(|| "未記録".to_string(), |b| format!("{b}"));
        if members.is_empty() {
            let omission_allowed =
                bmi.is_some_and(|b| b < rules::WAIST_OMISSION_BMI_BELOW) || bmi_low_flag;
            if !omission_allowed {
                out.push(finding(
                    "M-08",
                    self.file(),
                    &self.body_location(),
                    &bmi_text,
                    &format!(
                        "腹囲(実測・自己測定・自己申告)も内臓脂肪面積も記録されていません。BMI({})が{}未満の場合のみ省略できます",
                        bmi_text,
                        rules::WAIST_OMISSION_BMI_BELOW
                    ),
                    &format!(
                        "Neither waist (measured, self-measured, self-reported) nor visceral fat area is recorded; waist may be omitted only when BMI ({}) is below {}",
                        bmi_text,
                        rules::WAIST_OMISSION_BMI_BELOW
                    ),
                ));
            }
            return;
        }
        let only_self_reported = members
            .iter()
            .all(|(_, k)| k.code == item::WAIST_SELF_REPORTED);
        if only_self_reported
            && !bmi.is_some_and(|b| b < rules::SELF_REPORTED_WAIST_BMI_BELOW)
            && let Some((obs, _)) = members.first()
        {
            out.push(finding(
                "M-08",
                self.file(),
                &obs.path,
                &bmi_text,
                &format!(
                    "腹囲が自己申告のみです。自己申告の腹囲はBMIが{}未満の場合のみ認められます(BMI: {})",
                    rules::SELF_REPORTED_WAIST_BMI_BELOW,
                    bmi_text
                ),
                &format!(
                    "Only a self-reported waist is recorded; that is accepted only when BMI is below {} (BMI: {})",
                    rules::SELF_REPORTED_WAIST_BMI_BELOW,
                    bmi_text
                ),
            ));
        }
    }

    /// M-09: a dependent item needs its parent, and (when the table says which answer
    /// expects it) the parent's "yes" answer; the latter is a warning.
    fn check_dependencies(&self, out: &mut Vec<Finding>) {
        for (obs, it) in &self.known {
            let Some(parent_code) = &it.depends_on else {
                continue;
            };
            let Some(parent) = self.table.get(parent_code) else {
                continue;
            };
            match self.obs(parent_code) {
                None => out.push(finding(
                    "M-09",
                    self.file(),
                    &obs.path,
                    &it.code,
                    &format!(
                        "{}がありますが、親項目{}が記録されていません",
                        ja(it),
                        ja(parent)
                    ),
                    &format!(
                        "{} is present but its parent {} is missing",
                        en(it),
                        en(parent)
                    ),
                )),
                Some(parent_obs) => {
                    let (Some(cond), Some(answer)) = (&parent.positive, code_of(parent_obs)) else {
                        continue;
                    };
                    if !cond.holds(answer) && recorded_value(obs).is_some() {
                        out.push(finding_with_outcome(
                            "M-09",
                            Outcome::W,
                            self.file(),
                            &obs.path,
                            answer,
                            &format!(
                                "{}がありますが、親項目{}の回答は「{}」です(「あり」の場合に記載する項目です)",
                                ja(it),
                                ja(parent),
                                answer
                            ),
                            &format!(
                                "{} is present although its parent {} answers {:?} (it belongs with a 'yes' answer)",
                                en(it),
                                en(parent),
                                answer
                            ),
                        ));
                    }
                }
            }
        }
    }

    /// M-09: fasting / random glucose and triglycerides must agree with 採血時間（食後）.
    fn check_blood_draw_timing(&self, out: &mut Vec<Finding>) {
        let Some(timing_obs) = self.obs(item::BLOOD_DRAW_TIMING) else {
            self.check_fasting_without_timing(out);
            return;
        };
        let Some(timing) = code_of(timing_obs) else {
            return;
        };
        let rule = rules::blood_draw_timing(self.table.generation);
        let label = self
            .table
            .code_values(rules::system::BLOOD_DRAW_TIMING)
            .and_then(|v| v.get(timing))
            .map_or_else(|| timing.to_string(), |l| format!("{timing}:{l}"));
        for &(kind, obs, it) in &self.samples {
            if recorded_value(obs).is_none() {
                continue;
            }
            let allowed: &[&str] = match kind {
                SampleItem::FastingGlucose | SampleItem::FastingTriglycerides => rule.fasting,
                SampleItem::RandomGlucose => rule.random_glucose,
                SampleItem::RandomTriglycerides => rule.random_triglycerides,
                SampleItem::HbA1c => continue,
            };
            if !allowed.contains(&timing) {
                let expected = allowed.join("/");
                out.push(finding(
                    "M-09",
                    self.file(),
                    &obs.path,
                    timing,
                    &format!(
                        "{}は採血時間（食後）が「{}」では使えません(コード {} の場合に使う項目です)",
                        ja(it),
                        label,
                        if expected.is_empty() { "なし".to_string() } else { expected.clone() }
                    ),
                    &format!(
                        "{} cannot be used with blood-draw timing {:?} (it needs timing code {})",
                        en(it),
                        timing,
                        if expected.is_empty() { "none".to_string() } else { expected }
                    ),
                ));
            }
        }
    }

    /// M-09: a fasting-only item (空腹時血糖, 空腹時中性脂肪) with a result but no
    /// 採血時間（食後） item at all. The fasting codes are defined by the timing (≥ 10 h), so
    /// the timing is treated as their parent item: its absence is M-09 (a dependent item
    /// without its parent, FR 01), like any other dependency. One finding per item.
    fn check_fasting_without_timing(&self, out: &mut Vec<Finding>) {
        let timing_name = self
            .table
            .get(item::BLOOD_DRAW_TIMING)
            .map_or("採血時間（食後）", |i| i.name.as_str());
        for &(kind, obs, it) in &self.samples {
            if !matches!(
                kind,
                SampleItem::FastingGlucose | SampleItem::FastingTriglycerides
            ) || recorded_value(obs).is_none()
            {
                continue;
            }
            out.push(finding(
                "M-09",
                self.file(),
                &obs.path,
                &it.code,
                &format!(
                    "空腹時の項目{}がありますが、「{}」({})が記録されていません",
                    ja(it),
                    timing_name,
                    item::BLOOD_DRAW_TIMING
                ),
                &format!(
                    "The fasting-only {} is present but the blood-draw timing item {} is missing",
                    en(it),
                    item::BLOOD_DRAW_TIMING
                ),
            ));
        }
    }

    /// M-08 (lipids row of FORMAT.md §6.6): LDL by calculation (Friedewald) is not valid
    /// when triglycerides are ≥ 400 mg/dL or the sample is not fasting; then only a direct
    /// LDL or non-HDL satisfies group F. The rule is an inference [INF] from the third-party
    /// item notes, so it is a warning, not a return. Non-fasting means a timing code outside
    /// the fasting codes, or a non-fasting TG item; TG ≥ 400 includes a TG flagged H.
    fn check_calculated_ldl(&self, out: &mut Vec<Finding>) {
        let Some(ldl) = self.obs(rules::code::LDL_CALCULATED) else {
            return;
        };
        if recorded_value(ldl).is_none() {
            return;
        }
        let other_lipid = self.known.iter().any(|(o, k)| {
            matches!(k.requirement, Requirement::OneOf('F'))
                && k.code != rules::code::LDL_CALCULATED
                && recorded_value(o).is_some()
        });
        if other_lipid {
            return;
        }
        let mut tg_high = None;
        let mut random_tg = false;
        for &(kind, obs, _) in &self.samples {
            if !matches!(
                kind,
                SampleItem::FastingTriglycerides | SampleItem::RandomTriglycerides
            ) || recorded_value(obs).is_none()
            {
                continue;
            }
            random_tg |= kind == SampleItem::RandomTriglycerides;
            let high = number_of(obs).is_some_and(|v| v >= rules::CALCULATED_LDL_TG_LIMIT)
                || obs.out_of_range_flag() == Some("H");
            if high {
                tg_high = obs.pq_value().map(str::to_string).or(Some(String::new()));
            }
        }
        let timing = self.obs(item::BLOOD_DRAW_TIMING).and_then(code_of);
        let fasting_codes = rules::blood_draw_timing(self.table.generation).fasting;
        let non_fasting = random_tg || timing.is_some_and(|t| !fasting_codes.contains(&t));
        let (why_ja, why_en, value) = match (&tg_high, non_fasting) {
            (Some(v), _) => (
                format!("中性脂肪が{}mg/dL以上({v})", rules::CALCULATED_LDL_TG_LIMIT),
                format!(
                    "triglycerides are at least {} mg/dL ({v})",
                    rules::CALCULATED_LDL_TG_LIMIT
                ),
                v.clone(),
            ),
            (None, true) => (
                "空腹時の採血ではない".to_string(),
                "the sample is not fasting".to_string(),
                timing.unwrap_or("").to_string(),
            ),
            (None, false) => return,
        };
        out.push(finding_with_outcome(
            "M-08",
            Outcome::W,
            self.file(),
            &ldl.path,
            &value,
            &format!(
                "LDLコレステロール(計算法)がありますが、{why_ja}ため計算法は使えません。Non-HDLコレステロールか直接法のLDLを記録してください"
            ),
            &format!(
                "LDL cholesterol by calculation is recorded but {why_en}, so the calculation does not apply; record non-HDL cholesterol or a direct LDL"
            ),
        ));
    }

    /// M-10 (FORMAT.md §6.5): every item of a detailed-checkup series group (anaemia, ECG,
    /// fundus, serum creatinine) must sit inside a group container (`code nullFlavor="NA"`)
    /// with the table's relation (`COMP` for results, `RSON` for the reason and target-person
    /// items; the table writes `RSON1` for the latter, read as `RSON`), and a container holds
    /// only one group. M-10 rather than M-02 because a misplaced member means the detailed
    /// checkup is not reported as the claim bills it (FR 01: the record is there, its
    /// structure is wrong). Other series groups (chest X-ray …) are not judged: they are
    /// optional items outside the specific checkup.
    fn check_detailed_placement(&self, out: &mut Vec<Finding>) {
        let detailed_group = |it: &'static CheckupItem| -> Option<&'static str> {
            it.series_group
                .as_deref()
                .filter(|g| rules::detailed_checkups().iter().any(|k| k.group == *g))
        };
        let containers: Vec<&str> = self
            .input
            .observations
            .iter()
            .filter(|o| o.is_group_container())
            .map(|o| o.path.as_str())
            .collect();
        // The series group of each container, from its first detailed member.
        let mut container_group: Vec<(&str, &str)> = Vec::new();
        for (obs, it) in &self.known {
            let Some(group) = detailed_group(it) else {
                continue;
            };
            let want = it.series_relation.as_deref().map_or("", |r| {
                if r.starts_with("RSON") {
                    "RSON"
                } else {
                    "COMP"
                }
            });
            let (problem_ja, problem_en, value) = match &obs.group {
                Some(m) if !containers.contains(&m.container_path.as_str()) => (
                    "一連検査グループの容器(code nullFlavor=\"NA\")の中にありません".to_string(),
                    "is not inside a series-group container (code nullFlavor=\"NA\")".to_string(),
                    String::new(),
                ),
                None => (
                    "一連検査グループの容器(code nullFlavor=\"NA\")の中にありません".to_string(),
                    "is not inside a series-group container (code nullFlavor=\"NA\")".to_string(),
                    String::new(),
                ),
                Some(m) if !want.is_empty() && m.relation != want => (
                    format!("の関係コードが「{}」です(期待値: {want})", m.relation),
                    format!("has relation {:?} (expected {want})", m.relation),
                    m.relation.clone(),
                ),
                Some(m) => {
                    let path = m.container_path.as_str();
                    match container_group.iter().find(|(p, _)| *p == path) {
                        None => {
                            container_group.push((path, group));
                            continue;
                        }
                        Some((_, g)) if *g == group => continue,
                        Some((_, g)) => (
                            format!("が別の一連検査グループ({g})の容器の中にあります"),
                            format!("sits in the container of another series group ({g})"),
                            (*g).to_string(),
                        ),
                    }
                }
            };
            out.push(finding_with_reason(
                "M-10",
                ReturnReason::FormatDefect,
                self.file(),
                &obs.path,
                &value,
                &format!("詳細な健診の項目{}{problem_ja}", ja(it)),
                &format!("The detailed-checkup {} {problem_en}", en(it)),
            ));
        }
    }

    /// M-10: detailed checkups (別表8) against the claim's unitPriceDetail codes.
    fn check_detailed(&self, out: &mut Vec<Finding>) {
        let claim = self.input.checkup_claim;
        for kind in rules::detailed_checkups() {
            let claimed = claim.is_some_and(|c| {
                c.settlement
                    .unit_price_detail
                    .iter()
                    .any(|d| d.code == kind.code)
            });
            let target = kind.target_item.and_then(|t| self.obs(t));
            let target_code = target.and_then(code_of);
            let reason = self.obs(kind.reason_item);
            let reason_given = reason.and_then(recorded_value).is_some_and(|v| match v {
                Value::St { text, .. } => !text.trim().is_empty(),
                _ => true,
            });
            let as_detail = match kind.target_item {
                Some(_) => target_code.is_some_and(|c| rules::DETAIL_TARGET_CODES.contains(&c)),
                None => reason_given,
            };
            if claimed {
                let mut missing: Vec<String> = Vec::new();
                for set in kind.results {
                    if !set.iter().any(|c| self.obs(c).is_some()) {
                        let name = set
                            .first()
                            .and_then(|c| self.table.get(c))
                            .map_or("?", |i| i.name.as_str());
                        missing.push(format!("「{name}」"));
                    }
                }
                if let Some(t) = kind.target_item
                    && target.is_none()
                {
                    let name = self.table.get(t).map_or("対象者", |i| i.name.as_str());
                    missing.push(format!("「{name}」"));
                }
                let reason_needed = kind.target_item.is_none() || as_detail;
                if reason_needed && !reason_given {
                    let name = self
                        .table
                        .get(kind.reason_item)
                        .map_or("実施理由", |i| i.name.as_str());
                    missing.push(format!("「{name}」"));
                }
                if !missing.is_empty() {
                    out.push(finding(
                        "M-10",
                        self.file(),
                        &self.body_location(),
                        kind.code,
                        &format!(
                            "詳細な健診「{}」(コード{})が請求されていますが、{}が記録されていません",
                            kind.name_ja,
                            kind.code,
                            missing.join("・")
                        ),
                        &format!(
                            "The detailed checkup {} (code {}) is claimed but {} missing: {}",
                            kind.name_en,
                            kind.code,
                            if missing.len() == 1 { "this item is" } else { "these items are" },
                            missing.join(", ")
                        ),
                    ));
                }
                if let (Some(t), Some(code)) = (target, target_code)
                    && !rules::DETAIL_TARGET_CODES.contains(&code)
                {
                    out.push(finding(
                        "M-10",
                        self.file(),
                        &t.path,
                        code,
                        &format!(
                            "詳細な健診「{}」(コード{})が請求されていますが、対象者区分が「{}」(詳細健診以外で実施)です",
                            kind.name_ja, kind.code, code
                        ),
                        &format!(
                            "The detailed checkup {} (code {}) is claimed but its target-person code is {:?} (done outside the detailed checkup)",
                            kind.name_en, kind.code, code
                        ),
                    ));
                }
            } else if as_detail && let Some(c) = claim {
                let location = target
                    .or(reason)
                    .map_or_else(|| self.body_location(), |o| o.path.clone());
                out.push(finding(
                        "M-10",
                        self.file(),
                        &location,
                        &c.settlement.claim_type,
                        &format!(
                            "「{}」が詳細な健診として記録されていますが、請求(請求区分{})に詳細な健診項目コード{}がありません",
                            kind.name_ja,
                            c.settlement.claim_type,
                            kind.code
                        ),
                        &format!(
                            "The {} is recorded as a detailed checkup but the claim (claim type {}) has no detailed-checkup code {}",
                            kind.name_en,
                            c.settlement.claim_type,
                            kind.code
                        ),
                    ));
            }
        }
    }

    /// M-13: BMI ≈ weight ÷ height².
    fn check_bmi(&self, out: &mut Vec<Finding>) {
        let (Some(h), Some(w), Some(b)) = (
            self.obs(item::HEIGHT),
            self.obs(item::WEIGHT),
            self.obs(item::BMI),
        ) else {
            return;
        };
        if [h, w, b].iter().any(|o| o.out_of_range_flag().is_some()) {
            return;
        }
        let (Some(height), Some(weight), Some(bmi)) = (number_of(h), number_of(w), number_of(b))
        else {
            return;
        };
        if height <= 0.0 {
            return;
        }
        let expected = weight / (height / 100.0).powi(2);
        if (expected - bmi).abs() > rules::BMI_TOLERANCE {
            out.push(finding(
                "M-13",
                self.file(),
                &b.path,
                b.pq_value().unwrap_or(""),
                &format!(
                    "BMI {} が身長 {} cm・体重 {} kg から計算した値 {:.1} と合いません",
                    bmi, height, weight, expected
                ),
                &format!(
                    "BMI {} does not match {:.1} computed from height {} cm and weight {} kg",
                    bmi, expected, height, weight
                ),
            ));
        }
    }

    /// The values the stratification needs.
    fn stratification_input(&self) -> StratificationInput {
        let first_number =
            |codes: &[&str]| codes.iter().find_map(|c| self.obs(c).and_then(number_of));
        let by_kind = |kind: SampleItem| {
            self.samples
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .find_map(|(_, o, _)| number_of(o))
        };
        let by_prefix = |prefix: &str| {
            self.known
                .iter()
                .filter(|(_, k)| k.code.starts_with(prefix))
                .find_map(|(o, _)| number_of(o))
        };
        // The value used is その他 (the producer's average of two readings); without it,
        // the mean of the 1st and 2nd readings, else the one reading there is.
        let blood_pressure = |[other, first, second]: [&str; 3]| {
            let n = |c: &str| self.obs(c).and_then(number_of);
            n(other).or(match (n(first), n(second)) {
                (Some(a), Some(b)) => Some((a + b) / 2.0),
                (a, b) => a.or(b),
            })
        };
        let yes_no = |code: &str| {
            self.obs(code)
                .and_then(code_of)
                .and_then(rules::takes_medication)
        };
        let smoker = self
            .obs(item::SMOKING)
            .and_then(|o| match recorded_value(o)? {
                Value::Coded { code, .. } => {
                    rules::is_smoker(code.code_system.as_deref(), &code.code)
                }
                _ => None,
            });
        let age = daiko_items::age_at_fiscal_year_end(&self.input.doc.patient.birth_time, self.fy);
        StratificationInput {
            fiscal_year: self.fy,
            sex: Sex::from_code(&self.input.doc.patient.gender.code),
            age,
            waist_cm: first_number(&[
                item::WAIST_MEASURED,
                item::WAIST_SELF_MEASURED,
                item::WAIST_SELF_REPORTED,
            ]),
            visceral_fat_cm2: first_number(&[item::VISCERAL_FAT_AREA]),
            bmi: first_number(&[item::BMI]),
            fasting_glucose: by_kind(SampleItem::FastingGlucose),
            hba1c: by_kind(SampleItem::HbA1c),
            random_glucose: by_kind(SampleItem::RandomGlucose),
            fasting_triglycerides: by_kind(SampleItem::FastingTriglycerides),
            random_triglycerides: by_kind(SampleItem::RandomTriglycerides),
            hdl: by_prefix("3F070"),
            systolic: blood_pressure([
                "9A755000000000001",
                "9A751000000000001",
                "9A752000000000001",
            ]),
            diastolic: blood_pressure([
                "9A765000000000001",
                "9A761000000000001",
                "9A762000000000001",
            ]),
            smoker,
            medication_bp: yes_no(item::MEDICATION_BP),
            medication_glucose: yes_no(item::MEDICATION_GLUCOSE),
            medication_lipid: yes_no(item::MEDICATION_LIPID),
        }
    }

    /// M-14: recorded メタボ判定 and 保健指導レベル against the values (when the values
    /// decide them).
    fn check_stratification(&self, out: &mut Vec<Finding>) {
        let input = self.stratification_input();
        if let Some(obs) = self.obs(item::METABOLIC_JUDGEMENT) {
            let computed = stratify::metabolic_judgement(&input);
            if let Some(recorded) = code_of(obs)
                && computed != stratify::MetabolicJudgement::Undeterminable
                && recorded != computed.code()
            {
                out.push(finding(
                        "M-14",
                        self.file(),
                        &obs.path,
                        recorded,
                        &format!(
                            "メタボリックシンドローム判定が「{}」ですが、検査値・服薬からは「{}:{}」になります",
                            recorded,
                            computed.code(),
                            computed.name_ja()
                        ),
                        &format!(
                            "The metabolic syndrome judgement is {:?} but the values and medication give {} ({})",
                            recorded,
                            computed.code(),
                            computed.name_en()
                        ),
                    ));
            }
        }
        if let Some(obs) = self.obs(item::GUIDANCE_LEVEL) {
            let computed = stratify::guidance_level(&input);
            if let Some(recorded) = code_of(obs)
                && computed != stratify::GuidanceLevel::Undeterminable
                && recorded != computed.code()
            {
                out.push(finding(
                    "M-14",
                    self.file(),
                    &obs.path,
                    recorded,
                    &format!(
                        "保健指導レベルが「{}」ですが、階層化の結果は「{}:{}」です",
                        recorded,
                        computed.code(),
                        computed.name_ja()
                    ),
                    &format!(
                        "The guidance level is {:?} but stratification gives {} ({})",
                        recorded,
                        computed.code(),
                        computed.name_en()
                    ),
                ));
            }
        }
    }
}

// -------------------------------------------------------------------------------------
// Guidance documents
// -------------------------------------------------------------------------------------

/// Whether an observation code is a 特定保健指導項目コード (default code system or …1006).
fn is_guidance_code_system(system: Option<&str>) -> bool {
    system.is_none_or(|s| s.is_empty() || s == oid::GUIDANCE_ITEM)
}

fn check_guidance(input: &ItemCheckInput<'_>, fy: i32, out: &mut Vec<Finding>) {
    // The guidance item table daiko holds is the FY2018 one (XMLhg18tab); it is used for
    // every fiscal year because the FY2024 guidance table was not obtained.
    let table = daiko_items::guidance_table();
    for obs in input.observations {
        let Some(code) = &obs.code else { continue };
        if !is_guidance_code_system(code.code_system.as_deref()) {
            continue;
        }
        let Some(it) = table.get(&code.code) else {
            let ja_detail = format!("保健指導項目コード「{}」は項目表にありません", code.code);
            let en_detail = format!(
                "Guidance item code {:?} is not in the guidance item table",
                code.code
            );
            if fy >= 2024 {
                // daiko lacks the FY2024 guidance table: warn instead of returning.
                out.push(finding_with_outcome(
                    "M-01",
                    Outcome::W,
                    input.file,
                    &obs.path,
                    &code.code,
                    &format!("{ja_detail}(2024年度以降の保健指導項目表は未収録のため警告)"),
                    &format!("{en_detail} (daiko holds only the FY2018 guidance table, so this is a warning)"),
                ));
            } else {
                out.push(finding(
                    "M-01", input.file, &obs.path, &code.code, &ja_detail, &en_detail,
                ));
            }
            continue;
        };
        let name_ja = format!("「{}」", it.name);
        let name_en = format!("guidance item {} ({})", it.code, it.name);
        let Some(first) = obs.values.first() else {
            continue;
        };
        if obs.negated || first.null_flavor().is_some() {
            continue;
        }
        if let Some(expected) = it.value_type {
            // PQ and INT both carry counts and times in practice; only a wrong family is an error.
            let same_family = matches!(
                (expected, first.xsi_type()),
                (ValueType::Pq, "PQ")
                    | (ValueType::Int, "INT")
                    | (ValueType::Cd, "CD")
                    | (ValueType::Co, "CO")
                    | (ValueType::St, "ST")
            );
            if !same_family {
                out.push(finding(
                    "M-02",
                    input.file,
                    &obs.path,
                    first.xsi_type(),
                    &format!(
                        "{}のデータ型が{}です。項目表では{}です",
                        name_ja,
                        first.xsi_type(),
                        expected.as_str()
                    ),
                    &format!(
                        "{} has value type {}; the item table requires {}",
                        name_en,
                        first.xsi_type(),
                        expected.as_str()
                    ),
                ));
                continue;
            }
        }
        match first {
            Value::Pq { unit, .. } if !it.unit.is_empty() => {
                let found = unit.as_deref().unwrap_or("");
                if found != it.unit {
                    out.push(finding(
                        "M-03",
                        input.file,
                        &obs.path,
                        found,
                        &format!(
                            "{}の単位が「{}」です。項目表の単位は「{}」です",
                            name_ja, found, it.unit
                        ),
                        &format!(
                            "{} has unit {:?}; the item table's unit is {:?}",
                            name_en, found, it.unit
                        ),
                    ));
                }
            }
            Value::Coded { code: value, .. } => {
                if let Some(expected) = it.result_system.as_deref() {
                    let found = value.code_system.as_deref().unwrap_or("");
                    if found != expected {
                        out.push(finding(
                            "M-05",
                            input.file,
                            &obs.path,
                            found,
                            &format!(
                                "{}のコード体系が「{}」です。項目表では「{}」です",
                                name_ja, found, expected
                            ),
                            &format!(
                                "{} uses code system {:?}; the item table requires {}",
                                name_en, found, expected
                            ),
                        ));
                    } else if let Some(values) = table.code_values(expected)
                        && !values.contains_key(&value.code)
                    {
                        let codes = values.keys().cloned().collect::<Vec<_>>().join(", ");
                        out.push(finding(
                            "M-05",
                            input.file,
                            &obs.path,
                            &value.code,
                            &format!(
                                "{}のコード「{}」は定められた値ではありません(可能な値: {})",
                                name_ja, value.code, codes
                            ),
                            &format!(
                                "{} code {:?} is not in its code list (allowed: {})",
                                name_en, value.code, codes
                            ),
                        ));
                    }
                }
            }
            Value::St { text, .. } => {
                if let Some(max) = it.max_bytes {
                    let len = table_byte_length(text);
                    if len > max as usize {
                        out.push(finding(
                            "M-06",
                            input.file,
                            &obs.path,
                            &format!("{len} bytes"),
                            &format!(
                                "{}の文字列が{}バイトあります({}バイトまで)",
                                name_ja, len, max
                            ),
                            &format!(
                                "{} text is {} bytes long; the limit is {} bytes",
                                name_en, len, max
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    check_first_claim(input, out);
    check_points(input, out);
    if fy >= 2024 {
        check_outcome_codes(input, out);
    }
}

/// M-15: a first claim (timing 1) carries the support plan and, for 積極的支援, the planned
/// totals.
fn check_first_claim(input: &ItemCheckInput<'_>, out: &mut Vec<Finding>) {
    let Some(claim) = input.guidance_claim else {
        return;
    };
    if claim.guidance_timing != "1" {
        return;
    }
    let has = |pred: fn(&str) -> bool| {
        input
            .observations
            .iter()
            .any(|o| o.code.as_ref().is_some_and(|c| pred(&c.code)))
    };
    let location = "/ClinicalDocument/component/structuredBody";
    if !has(rules::is_guidance_plan_item) {
        out.push(finding(
            "M-15",
            input.file,
            location,
            "",
            "初回(保健指導実施時点1)の請求ですが、保健指導計画情報(継続的支援予定期間・目標など)がありません",
            "This is a first claim (timing 1) but the support plan (planned weeks, goals) is missing",
        ));
    }
    // Planned totals describe the continuous support, which only 積極的支援 has.
    if claim.guidance_level == "1" && !has(rules::is_guidance_planned_total) {
        out.push(finding(
            "M-15",
            input.file,
            location,
            "",
            "積極的支援の初回請求ですが、計画上の集計情報(継続的支援の予定回数・ポイント)がありません",
            "This is a first claim for active support but the planned totals (planned sessions and points) are missing",
        ));
    }
}

/// M-16: completed points empty on the first claim; points 0–9999.
fn check_points(input: &ItemCheckInput<'_>, out: &mut Vec<Finding>) {
    let Some(claim) = input.guidance_claim else {
        return;
    };
    let s = &claim.settlement;
    let base = "/healthGuidanceClaim/settlement";
    if claim.guidance_timing == "1"
        && let Some(done) = s.point_count_completed.as_deref().filter(|v| !v.is_empty())
    {
        out.push(finding(
                "M-16",
                input.file,
                &format!("{base}/pointCountCompleted/@value"),
                done,
                &format!("初回(保健指導実施時点1)の請求に実績ポイント「{done}」が入っています。初回は空欄にしてください"),
                &format!("The first claim (timing 1) carries completed points {done:?}; leave them empty on the first claim"),
            ));
    }
    for (name, value) in [
        ("pointCountCompleted", &s.point_count_completed),
        ("pointCountIntended", &s.point_count_intended),
    ] {
        let Some(v) = value.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let ok = daiko_format::model::parse_uint(v)
            .is_some_and(|n| n <= u64::from(rules::GUIDANCE_POINTS_MAX));
        if !ok {
            out.push(finding(
                "M-16",
                input.file,
                &format!("{base}/{name}/@value"),
                v,
                &format!(
                    "ポイント数「{v}」は0〜{}の整数ではありません",
                    rules::GUIDANCE_POINTS_MAX
                ),
                &format!(
                    "Points {v:?} are not a whole number from 0 to {}",
                    rules::GUIDANCE_POINTS_MAX
                ),
            ));
        }
    }
}

/// M-17: FY2024 outcome codes (腹囲・体重 0/1/2, 生活習慣 0/1/9, 喫煙 0/1/8/9).
fn check_outcome_codes(input: &ItemCheckInput<'_>, out: &mut Vec<Finding>) {
    for obs in input.observations {
        for v in &obs.values {
            let Value::Coded { code, .. } = v else {
                continue;
            };
            let Some(system) = code.code_system.as_deref() else {
                continue;
            };
            let Some((_, name, allowed)) = rules::GUIDANCE_OUTCOME_CODES
                .iter()
                .find(|(s, _, _)| *s == system)
            else {
                continue;
            };
            if !allowed.contains(&code.code.as_str()) {
                out.push(finding(
                    "M-17",
                    input.file,
                    &obs.path,
                    &code.code,
                    &format!(
                        "{}の成果コード「{}」は定められた値({})ではありません",
                        name,
                        code.code,
                        allowed.join("/")
                    ),
                    &format!(
                        "Outcome code {:?} ({}) is not one of {}",
                        code.code,
                        system,
                        allowed.join("/")
                    ),
                ));
            }
        }
    }
}
