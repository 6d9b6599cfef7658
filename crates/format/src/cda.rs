//! Typed views of CDA body entries: the observations a checkup or guidance document
//! reports, flattened out of sections, series groups (一連検査グループ) and acts.
//!
//! The body is stored as written ([`crate::model::Section::entries`]); these views are
//! computed on demand for the checks and built by the sample writer.

use crate::model::Code;
use crate::xml::Element;

/// A result value (`observation/value`) by its `xsi:type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// 数値 `PQ`: `value` and `unit` as written; `null_flavor` for 測定不能.
    Pq { value: Option<String>, unit: Option<String>, null_flavor: Option<String> },
    /// コード `CD` (unordered) or `CO` (ordered): `ordered` tells which.
    Coded { ordered: bool, code: Code, null_flavor: Option<String> },
    /// 文字列 `ST`.
    St { text: String, null_flavor: Option<String> },
    /// 整数 `INT`.
    Int { value: Option<String>, null_flavor: Option<String> },
    /// Any other `xsi:type` (e.g. `TS`, `IVL_TS`), kept as its element.
    Other { xsi_type: String, element: Element },
}

impl Value {
    /// The XML type name (`PQ`, `CD`, `CO`, `ST`, `INT`, …).
    pub fn xsi_type(&self) -> &str {
        match self {
            Value::Pq { .. } => "PQ",
            Value::Coded { ordered: false, .. } => "CD",
            Value::Coded { ordered: true, .. } => "CO",
            Value::St { .. } => "ST",
            Value::Int { .. } => "INT",
            Value::Other { xsi_type, .. } => xsi_type,
        }
    }
}

/// One observation with where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// XPath-like location, e.g. `/ClinicalDocument/component/structuredBody/component[1]/section/entry[4]/observation`.
    pub path: String,
    /// Section code the observation is in (`01010`, `01990`, `90030` …).
    pub section: String,
    /// Item code (`code/@code`); `None` for a group container (`code/@nullFlavor`).
    pub code: Option<Code>,
    /// `@negationInd="true"`: item not performed (未実施).
    pub negated: bool,
    /// `@moodCode` (EVN, INT, GOL …).
    pub mood: String,
    /// Values in order; an out-of-input-range result has a PQ then an H/L CD.
    pub values: Vec<Value>,
    /// `interpretationCode/@code` values (H, L, N).
    pub interpretation: Vec<String>,
    /// `methodCode/@code` values.
    pub methods: Vec<String>,
    /// `author/assignedAuthor/assignedPerson/name` (doctor's name on judgement items).
    pub author_name: Option<String>,
    /// Reference range `low`/`high` values when given.
    pub reference_range: Option<(Option<String>, Option<String>)>,
    /// The series-group relation this observation has to its container
    /// (`COMP` or `RSON`), and the container's position, when inside a group.
    pub group: Option<GroupMember>,
}

/// Membership of an observation in a 一連検査グループ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// `entryRelationship/@typeCode`: `COMP` or `RSON`.
    pub relation: String,
    /// Path of the container observation.
    pub container_path: String,
}

/// All observations of a document's body in document order, with series-group members
/// (`entryRelationship/observation`, also inside `act`/`organizer` entries) flattened
/// after their container.
pub fn observations(doc: &crate::model::ClinicalDocument) -> Vec<Observation> {
    let _ = doc;
    todo!("format-docs helper")
}

impl Observation {
    /// Builds the `observation` element (for writers and the sample generator).
    pub fn to_element(&self) -> Element {
        todo!("format-docs helper")
    }
}
