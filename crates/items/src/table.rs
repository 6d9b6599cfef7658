//! The item tables: daiko's data files (generated from the MHLW tables by
//! `examples/gen_items.rs`) embedded at build time and parsed once.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use crate::rules;
use crate::text::Mask;

const CHECKUP_FY2018: &str = include_str!("../data/checkup_fy2018.tsv");
const CHECKUP_FY2024: &str = include_str!("../data/checkup_fy2024.tsv");
const GUIDANCE_FY2018: &str = include_str!("../data/guidance_fy2018.tsv");
const CODE_VALUES: &str = include_str!("../data/code_values.tsv");

/// FNV-1a: item codes are short ASCII keys from daiko's own tables or already-bounded
/// document values, so a fast non-keyed hash is enough (and much cheaper than SipHash on
/// the per-record hot path).
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A `HashMap` keyed by short codes, hashed with [`Fnv`].
pub type CodeMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Which MHLW item table generation a table re-expresses (the FY2018 table also carries
/// the FY2024 additional items, whose FY2018 list daiko does not hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableGeneration {
    /// 第3期 table (XMLhc18tab), services FY2018–FY2023.
    Fy2018,
    /// 第4期 table (XMLhc24tab + additional items), services FY2024 and later.
    Fy2024,
}

impl TableGeneration {
    /// The generation whose table applies to a service in `fiscal_year`.
    pub fn for_fiscal_year(fiscal_year: i32) -> TableGeneration {
        if fiscal_year >= 2024 {
            TableGeneration::Fy2024
        } else {
            TableGeneration::Fy2018
        }
    }
    /// "FY2018" / "FY2024", as printed in messages.
    pub fn label(self) -> &'static str {
        match self {
            TableGeneration::Fy2018 => "FY2018",
            TableGeneration::Fy2024 => "FY2024",
        }
    }
}

/// XML data type of a result value (`xsi:type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// 数値 PQ
    Pq,
    /// 順序なしコード CD
    Cd,
    /// 順序ありコード CO
    Co,
    /// 文字列 ST
    St,
    /// 整数 INT (guidance)
    Int,
}

impl ValueType {
    fn parse(s: &str) -> Option<ValueType> {
        match s {
            "PQ" => Some(ValueType::Pq),
            "CD" => Some(ValueType::Cd),
            "CO" => Some(ValueType::Co),
            "ST" => Some(ValueType::St),
            "INT" => Some(ValueType::Int),
            _ => None,
        }
    }
    /// The `xsi:type` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Pq => "PQ",
            ValueType::Cd => "CD",
            ValueType::Co => "CO",
            ValueType::St => "ST",
            ValueType::Int => "INT",
        }
    }
}

/// What a specific health checkup requires of an item (特定健診 column of the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// 必須 (flag 1).
    Mandatory,
    /// One item of the lettered group is required (e.g. `A` waist); the lower-case letters
    /// `b`, `c`, `d` form the glucose group together (see [`rules::one_of_groups`]).
    OneOf(char),
    /// 詳細な健診 item (flag 2).
    Detail,
    /// Output when performed (flags 5, 6, 7).
    Optional,
    /// Not used by the specific checkup (flag 0), still a valid code.
    Unused,
    /// Additional item (追加項目, FY2024 ext table).
    Additional,
}

impl Requirement {
    fn parse(s: &str) -> Option<Requirement> {
        Some(match s {
            "mandatory" => Requirement::Mandatory,
            "detail" => Requirement::Detail,
            "optional" => Requirement::Optional,
            "unused" => Requirement::Unused,
            "additional" => Requirement::Additional,
            other => {
                let letter = other.strip_prefix("oneof:")?;
                let mut chars = letter.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                Requirement::OneOf(c)
            }
        })
    }
}

/// A condition on a coded answer (異常ありの値), e.g. `=1`, `>=3`, `!=2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    Equals(String),
    AtLeast(u32),
    NotEquals(String),
}

impl Condition {
    fn parse(s: &str) -> Option<Condition> {
        if let Some(v) = s.strip_prefix(">=") {
            return v.parse().ok().map(Condition::AtLeast);
        }
        if let Some(v) = s.strip_prefix("!=") {
            return Some(Condition::NotEquals(v.to_string()));
        }
        s.strip_prefix('=')
            .map(|v| Condition::Equals(v.to_string()))
    }
    /// Whether a coded answer meets the condition.
    pub fn holds(&self, code: &str) -> bool {
        match self {
            Condition::Equals(v) => code == v,
            Condition::NotEquals(v) => code != v,
            Condition::AtLeast(n) => code.parse::<u32>().is_ok_and(|c| c >= *n),
        }
    }
}

/// One checkup item (17-digit 特定健診項目コード) as daiko knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupItem {
    /// 項目コード (17 characters)
    pub code: String,
    /// 同一性項目コード: codes that differ only by method share it.
    pub identity: String,
    /// XML表示名 (Japanese short name)
    pub name: String,
    /// XMLデータ型
    pub value_type: Option<ValueType>,
    /// UCUM unit for PQ items (empty for dimensionless values)
    pub unit: String,
    /// Format mask (`NNN.N`) for PQ items; for CD/CO the number of digits of the code.
    pub mask: Option<Mask>,
    /// Maximum byte length (full-width = 2 bytes) of ST values.
    pub max_bytes: Option<u32>,
    /// 結果コードOID for CD/CO items.
    pub result_system: Option<String>,
    pub requirement: Requirement,
    /// 依存対象項目: the item whose answer this one depends on.
    pub depends_on: Option<String>,
    /// The answer of this item that makes its dependants expected (異常ありの値).
    pub positive: Option<Condition>,
    /// 一連検査グループ識別 (the group id is an item code).
    pub series_group: Option<String>,
    /// 一連検査グループ関係コード: `COMP`, `RSON` (`RSON1` for target-person codes).
    pub series_relation: Option<String>,
    /// XML検査方法コード (10 digits)
    pub method: Option<String>,
    /// Item whose value travels as this item's `author` (e.g. the doctor's name).
    pub author_item: Option<String>,
}

/// A checkup item table of one generation.
#[derive(Debug)]
pub struct CheckupTable {
    pub generation: TableGeneration,
    items: Vec<CheckupItem>,
    by_code: CodeMap<String, usize>,
    code_values: CodeMap<String, BTreeMap<String, String>>,
    /// Indexes of the mandatory items, in table order.
    mandatory: Vec<usize>,
    /// Author item code → index of the item that carries it as `author`.
    author_carriers: CodeMap<String, usize>,
}

impl CheckupTable {
    /// The mandatory items (必須, flag 1), in table order.
    pub fn mandatory_items(&self) -> impl Iterator<Item = &CheckupItem> + '_ {
        self.mandatory.iter().filter_map(|&i| self.items.get(i))
    }
    /// The item with this 17-digit code.
    pub fn get(&self, code: &str) -> Option<&CheckupItem> {
        self.by_code.get(code).and_then(|&i| self.items.get(i))
    }
    /// All items in table order.
    pub fn items(&self) -> &[CheckupItem] {
        &self.items
    }
    /// The allowed codes of a result code system for this generation with their labels;
    /// `None` when daiko does not know the list (then only the code system is checked).
    pub fn code_values(&self, system: &str) -> Option<&BTreeMap<String, String>> {
        self.code_values.get(system)
    }
    /// The item whose `author` carries `author_item` (e.g. 医師の診断 for the doctor's name).
    pub fn carrier_of_author(&self, author_item: &str) -> Option<&CheckupItem> {
        self.author_carriers
            .get(author_item)
            .and_then(|&i| self.items.get(i))
    }
    /// Items belonging to a series group.
    pub fn group_members<'a>(
        &'a self,
        group: &'a str,
    ) -> impl Iterator<Item = &'a CheckupItem> + 'a {
        self.items
            .iter()
            .filter(move |i| i.series_group.as_deref() == Some(group))
    }
}

/// One guidance item (10-digit 特定保健指導項目コード).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuidanceItem {
    pub code: String,
    pub name: String,
    /// XMLデータ型; `None` where the table gives none (dates, act-level facts).
    pub value_type: Option<ValueType>,
    pub unit: String,
    pub result_system: Option<String>,
    /// act moodCode (EVN / INT)
    pub act_mood: Option<String>,
    /// observation moodCode (EVN / INT / GOL)
    pub observation_mood: Option<String>,
    /// Maximum byte length for ST values, when the table says.
    pub max_bytes: Option<u32>,
}

/// The guidance item table (FY2018; the FY2024 guidance table was not obtained).
#[derive(Debug)]
pub struct GuidanceTable {
    items: Vec<GuidanceItem>,
    by_code: CodeMap<String, usize>,
    code_values: CodeMap<String, BTreeMap<String, String>>,
}

impl GuidanceTable {
    pub fn get(&self, code: &str) -> Option<&GuidanceItem> {
        self.by_code.get(code).and_then(|&i| self.items.get(i))
    }
    pub fn items(&self) -> &[GuidanceItem] {
        &self.items
    }
    pub fn code_values(&self, system: &str) -> Option<&BTreeMap<String, String>> {
        self.code_values.get(system)
    }
}

/// The checkup item table for a service in `fiscal_year` (April–March).
pub fn table_for_fiscal_year(fiscal_year: i32) -> &'static CheckupTable {
    static FY2018: OnceLock<CheckupTable> = OnceLock::new();
    static FY2024: OnceLock<CheckupTable> = OnceLock::new();
    match TableGeneration::for_fiscal_year(fiscal_year) {
        TableGeneration::Fy2018 => FY2018.get_or_init(|| embedded_checkup(TableGeneration::Fy2018)),
        TableGeneration::Fy2024 => FY2024.get_or_init(|| embedded_checkup(TableGeneration::Fy2024)),
    }
}

/// The guidance item table (used for every fiscal year).
pub fn guidance_table() -> &'static GuidanceTable {
    static TABLE: OnceLock<GuidanceTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The data is compiled in and verified by this crate's tests; a parse failure is a
        // build defect, not something a submitted file can cause.
        match parse_guidance(GUIDANCE_FY2018) {
            Ok(items) => {
                let by_code = items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| (it.code.clone(), i))
                    .collect();
                GuidanceTable {
                    items,
                    by_code,
                    code_values: base_code_values(),
                }
            }
            Err(e) => panic!("embedded guidance item data is malformed: {e}"),
        }
    })
}

fn embedded_checkup(generation: TableGeneration) -> CheckupTable {
    let text = match generation {
        TableGeneration::Fy2018 => CHECKUP_FY2018,
        TableGeneration::Fy2024 => CHECKUP_FY2024,
    };
    // See guidance_table: embedded data, verified by tests.
    let parse = |text: &str, label: &str| match parse_checkup(text) {
        Ok(items) => items,
        Err(e) => panic!("embedded {label} item data is malformed: {e}"),
    };
    let mut items = parse(text, generation.label());
    if generation == TableGeneration::Fy2018 {
        // The FY2018 additional-item list (追加項目) was not obtained. Additional items
        // are JLAC10-based codes that predate FY2024, so the FY2024 additional items are
        // accepted for FY2018–FY2023 services too [INF]; basic items keep the FY2018 rows.
        let known: std::collections::HashSet<String> =
            items.iter().map(|i| i.code.clone()).collect();
        let additional: Vec<CheckupItem> = parse(CHECKUP_FY2024, "FY2024")
            .into_iter()
            .filter(|i| i.requirement == Requirement::Additional && !known.contains(&i.code))
            .collect();
        items.extend(additional);
    }
    let by_code = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.code.clone(), i))
        .collect();
    let mut code_values = base_code_values();
    for (system, codes) in rules::code_value_overrides(generation) {
        code_values.insert(
            system.to_string(),
            codes
                .iter()
                .map(|(c, l)| (c.to_string(), l.to_string()))
                .collect(),
        );
    }
    let mandatory = (0..items.len())
        .filter(|&i| {
            items
                .get(i)
                .is_some_and(|it| it.requirement == Requirement::Mandatory)
        })
        .collect();
    let mut author_carriers = CodeMap::default();
    for (i, it) in items.iter().enumerate() {
        if let Some(a) = &it.author_item {
            author_carriers.entry(a.clone()).or_insert(i);
        }
    }
    CheckupTable {
        generation,
        items,
        by_code,
        code_values,
        mandatory,
        author_carriers,
    }
}

/// A malformed line in a data file.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct DataError {
    pub line: usize,
    pub problem: String,
}

fn data_lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1) // column header
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

fn opt(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.to_string())
    }
}

fn field<'a>(cols: &[&'a str], i: usize, line: usize) -> Result<&'a str, DataError> {
    cols.get(i).copied().ok_or(DataError {
        line,
        problem: format!("missing column {i}"),
    })
}

fn parse_checkup(text: &str) -> Result<Vec<CheckupItem>, DataError> {
    let mut out = Vec::new();
    for (line, cols) in data_lines(text) {
        let f = |i| field(&cols, i, line);
        let bad = |problem: String| DataError { line, problem };
        let code = f(0)?.to_string();
        if code.len() != 17 {
            return Err(bad(format!("item code {code:?} is not 17 characters")));
        }
        let value_type = opt(f(3)?)
            .map(|t| ValueType::parse(&t).ok_or_else(|| bad(format!("type {t:?}"))))
            .transpose()?;
        let mask = opt(f(5)?)
            .map(|m| Mask::parse(&m).ok_or_else(|| bad(format!("mask {m:?}"))))
            .transpose()?;
        let max_bytes = opt(f(6)?)
            .map(|m| {
                m.parse::<u32>()
                    .map_err(|_| bad(format!("max_bytes {m:?}")))
            })
            .transpose()?;
        let requirement = Requirement::parse(f(8)?)
            .ok_or_else(|| bad(format!("requirement {:?}", cols.get(8))))?;
        let positive = opt(f(10)?)
            .map(|p| Condition::parse(&p).ok_or_else(|| bad(format!("positive {p:?}"))))
            .transpose()?;
        out.push(CheckupItem {
            identity: f(1)?.to_string(),
            name: f(2)?.to_string(),
            value_type,
            unit: f(4)?.to_string(),
            mask,
            max_bytes,
            result_system: opt(f(7)?),
            requirement,
            depends_on: opt(f(9)?),
            positive,
            series_group: opt(f(11)?),
            series_relation: opt(f(12)?),
            method: opt(f(13)?),
            author_item: opt(f(14)?),
            code,
        });
    }
    Ok(out)
}

fn parse_guidance(text: &str) -> Result<Vec<GuidanceItem>, DataError> {
    let mut out = Vec::new();
    for (line, cols) in data_lines(text) {
        let f = |i| field(&cols, i, line);
        let code = f(0)?.to_string();
        if code.len() != 10 {
            return Err(DataError {
                line,
                problem: format!("guidance code {code:?} is not 10 characters"),
            });
        }
        let value_type = match f(2)? {
            "" => None,
            t => Some(ValueType::parse(t).ok_or(DataError {
                line,
                problem: format!("type {t:?}"),
            })?),
        };
        let max_bytes = opt(f(7)?)
            .map(|m| {
                m.parse::<u32>().map_err(|_| DataError {
                    line,
                    problem: format!("max_bytes {m:?}"),
                })
            })
            .transpose()?;
        out.push(GuidanceItem {
            code,
            name: f(1)?.to_string(),
            value_type,
            unit: f(3)?.to_string(),
            result_system: opt(f(4)?),
            act_mood: opt(f(5)?),
            observation_mood: opt(f(6)?),
            max_bytes,
        });
    }
    Ok(out)
}

fn base_code_values() -> CodeMap<String, BTreeMap<String, String>> {
    let mut out: CodeMap<String, BTreeMap<String, String>> = CodeMap::default();
    for (_, cols) in data_lines(CODE_VALUES) {
        if let (Some(system), Some(code)) = (cols.first(), cols.get(1)) {
            let label = cols.get(2).copied().unwrap_or_default();
            out.entry(system.to_string())
                .or_default()
                .insert(code.to_string(), label.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_parses() {
        parse_checkup(CHECKUP_FY2018).unwrap();
        parse_checkup(CHECKUP_FY2024).unwrap();
        parse_guidance(GUIDANCE_FY2018).unwrap();
        assert!(table_for_fiscal_year(2018).items().len() > 250);
        assert!(table_for_fiscal_year(2024).items().len() > 500);
        assert!(guidance_table().items().len() > 80);
    }

    #[test]
    fn table_is_chosen_by_fiscal_year() {
        assert_eq!(
            table_for_fiscal_year(2023).generation,
            TableGeneration::Fy2018
        );
        assert_eq!(
            table_for_fiscal_year(2024).generation,
            TableGeneration::Fy2024
        );
        assert_eq!(
            table_for_fiscal_year(2030).generation,
            TableGeneration::Fy2024
        );
        // non-fasting triglycerides only exist from FY2024
        assert!(
            table_for_fiscal_year(2023)
                .get("3F015129902327101")
                .is_none()
        );
        assert!(
            table_for_fiscal_year(2024)
                .get("3F015129902327101")
                .is_some()
        );
    }

    #[test]
    fn blood_draw_timing_codes_differ_by_year() {
        let t18 = table_for_fiscal_year(2018)
            .code_values("1.2.392.200119.6.2202")
            .unwrap();
        let t24 = table_for_fiscal_year(2024)
            .code_values("1.2.392.200119.6.2202")
            .unwrap();
        assert!(t18.contains_key("1") && !t18.contains_key("3"));
        assert!(t24.contains_key("3") && !t24.contains_key("1"));
    }

    #[test]
    fn items_carry_what_the_checks_need() {
        let t = table_for_fiscal_year(2023);
        let waist = t.get("9N016160100000001").unwrap();
        assert_eq!(waist.value_type, Some(ValueType::Pq));
        assert_eq!(waist.unit, "cm");
        assert_eq!(waist.mask, Mask::parse("NNN.N"));
        assert_eq!(waist.requirement, Requirement::OneOf('A'));
        let judgement = t.get("9N511000000000049").unwrap();
        assert_eq!(judgement.author_item.as_deref(), Some("9N516000000000049"));
        assert_eq!(
            t.carrier_of_author("9N516000000000049")
                .map(|i| i.code.as_str()),
            Some("9N511000000000049")
        );
        let history_text = t.get("9N056160400000049").unwrap();
        assert_eq!(
            history_text.depends_on.as_deref(),
            Some("9N056000000000011")
        );
        assert_eq!(
            t.get("9N056000000000011").unwrap().positive,
            Some(Condition::Equals("1".into()))
        );
        // 2018 smoking answers are yes/no (2003); 2024 uses 24060
        assert_eq!(
            t.get("9N736000000000011").unwrap().result_system.as_deref(),
            Some("1.2.392.200119.6.2003")
        );
        assert_eq!(
            table_for_fiscal_year(2024)
                .get("9N736000000000011")
                .unwrap()
                .result_system
                .as_deref(),
            Some("1.2.392.200119.6.24060")
        );
    }
}
