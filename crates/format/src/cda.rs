//! Typed views of CDA body entries: the observations a checkup or guidance document
//! reports, flattened out of sections, series groups (一連検査グループ) and acts — and
//! builders that make such entries and whole documents for producers.
//!
//! The body is stored as written ([`crate::model::Section::entries`]); these views are
//! computed on demand for the checks and built by the sample writer.
//!
//! # Reading
//! [`observations`] flattens every observation of every section in document order, each
//! with an XPath-like location, its section code, values by `xsi:type`, flags, methods,
//! the doctor named as author, the reference range and its series-group membership.
//!
//! # Building (producers: the sample generator, the server)
//! [`ObservationBuilder`] makes one `observation` in schema order:
//! ```
//! use daiko_format::cda::{ObservationBuilder, Relation, series_group};
//! // 結果あり: PQ with method, flag and reference range
//! let tg = ObservationBuilder::new("3F015000002327101")
//!     .pq("132", "mg/dL").method("3F01510000").interpretation("N").reference_range("30", "149", "mg/dL");
//! // 未実施, 測定不能, 入力範囲外 (PQ then CD H/L 以上/以下), 医師の判断 with the doctor as author
//! let not_done = ObservationBuilder::new("9N016160100000001").not_performed();
//! let no_result = ObservationBuilder::new("3D046000001906202").not_measurable("PQ");
//! let too_high = ObservationBuilder::new("3F015000002327101").out_of_range_high("2500", "mg/dL");
//! let judgement = ObservationBuilder::new("9N511000000000049").st("異常なし").doctor("見本　一郎");
//! // 一連検査グループ: container with `code nullFlavor="NA"`, COMP/RSON members
//! let group = series_group(vec![
//!     (Relation::Component, ObservationBuilder::new("3C015000002327101").pq("0.98", "mg/dL")),
//!     (Relation::Reason, ObservationBuilder::new("3C015161002399949").st("理由")),
//! ]);
//! let entries = vec![tg.entry(), not_done.entry(), no_result.entry(), too_high.entry(), judgement.entry(), group.entry()];
//! assert_eq!(entries.len(), 6);
//! ```
//! [`ActBuilder`] makes guidance `act` entries (session, plan and total containers), and
//! [`DocumentHeader`] a whole checkup or guidance [`ClinicalDocument`] around sections
//! made with [`section`]; [`acts`] reads the acts back. [`Observation::to_element`] turns
//! a read view back into an element (without its group members, which are flattened
//! separately).

use crate::model::{Address, VoucherParticipant};
use crate::model::{
    CdaAuthor, CdaOrganization, ClinicalDocument, Code, Id, Patient, Section, ServiceEvent, oid,
};
use crate::read::collapsed;
use crate::tree::{XmlDocument, XmlNode};
use crate::xml::{Element, Node, XmlStr, intern};

/// The blanks XML Schema's `collapse` removes around a value.
const BLANKS: [char; 4] = [' ', '\t', '\n', '\r'];

/// A result value (`observation/value`) by its `xsi:type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// 数値 `PQ`: `value` (`real`) and `unit` (`cs`) as XML Schema reads them (blanks
    /// collapsed); `null_flavor` for 測定不能.
    Pq {
        value: Option<String>,
        unit: Option<String>,
        null_flavor: Option<String>,
    },
    /// コード `CD` (unordered) or `CO` (ordered): `ordered` tells which.
    Coded {
        ordered: bool,
        code: Code,
        null_flavor: Option<String>,
    },
    /// 文字列 `ST`.
    St {
        text: String,
        null_flavor: Option<String>,
    },
    /// 整数 `INT`.
    Int {
        value: Option<String>,
        null_flavor: Option<String>,
    },
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

    /// The `nullFlavor` of the value (測定不能 is `NI`), if any.
    pub fn null_flavor(&self) -> Option<&str> {
        match self {
            Value::Pq { null_flavor, .. }
            | Value::Coded { null_flavor, .. }
            | Value::St { null_flavor, .. }
            | Value::Int { null_flavor, .. } => null_flavor.as_deref(),
            Value::Other { element, .. } => element.get("nullFlavor"),
        }
    }

    /// Reads a `value` element.
    pub fn from_element(e: &Element) -> Value {
        value_of(e)
    }

    /// Builds the `value` element.
    pub fn to_element(&self) -> Element {
        let mut e = Element::new("value").attr("xsi:type", intern(self.xsi_type()));
        let opt = |e: Element, name: &'static str, v: &Option<String>| match v {
            Some(v) => e.attr(name, intern(v)),
            None => e,
        };
        match self {
            Value::Pq {
                value,
                unit,
                null_flavor,
            } => {
                e = opt(e, "value", value);
                e = opt(e, "unit", unit);
                opt(e, "nullFlavor", null_flavor)
            }
            Value::Coded {
                code, null_flavor, ..
            } => {
                if !code.code.is_empty() {
                    e = e.attr("code", code.code.clone());
                }
                e = opt(e, "codeSystem", &code.code_system);
                e = opt(e, "displayName", &code.display_name);
                opt(e, "nullFlavor", null_flavor)
            }
            Value::St { text, null_flavor } => {
                e = opt(e, "nullFlavor", null_flavor);
                if text.is_empty() {
                    e
                } else {
                    e.text(text.clone())
                }
            }
            Value::Int { value, null_flavor } => {
                e = opt(e, "value", value);
                opt(e, "nullFlavor", null_flavor)
            }
            Value::Other { element, .. } => element.clone(),
        }
    }
}

/// An owned attribute value from a builder argument.
fn owned(v: impl Into<String>) -> XmlStr {
    XmlStr::Owned(v.into())
}

/// Read access to one element, owned ([`Element`]) or in a parsed tree
/// (`roxmltree::Node`). The views below are computed by the same code from either, so
/// [`observations`] (from the model) and [`observations_in`] (straight from the parsed
/// document, without building owned entries) agree by construction.
trait View<'a>: Copy + 'a {
    /// Local name.
    fn name(self) -> &'a str;
    /// An attribute other than the XSI and XML ones, by its local name (as
    /// [`Element::get`] finds it).
    fn get(self, local: &str) -> Option<&'a str>;
    /// `xsi:type`.
    fn xsi_type(self) -> Option<&'a str>;
    /// Child elements in order.
    fn elements(self) -> impl Iterator<Item = Self> + 'a;
    /// The direct text, joined as written (not trimmed); layout whitespace between child
    /// elements is not text (see [`Element::from_node`]).
    fn raw_text(self) -> String;
    /// The element and its subtree as an owned tree.
    fn to_element(self) -> Element;
    /// The first child element with this local name.
    fn first(self, name: &str) -> Option<Self> {
        self.elements().find(|e| crate::tree::same(e.name(), name))
    }
}

impl<'a> View<'a> for &'a Element {
    fn name(self) -> &'a str {
        &self.name
    }
    fn get(self, local: &str) -> Option<&'a str> {
        Element::get(self, local)
    }
    fn xsi_type(self) -> Option<&'a str> {
        Element::get(self, "xsi:type")
    }
    fn elements(self) -> impl Iterator<Item = Self> + 'a {
        Element::elements(self)
    }
    fn raw_text(self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }
    fn to_element(self) -> Element {
        self.clone()
    }
}

impl<'a, N: XmlNode<'a>> View<'a> for N {
    fn name(self) -> &'a str {
        XmlNode::name(self)
    }
    fn get(self, local: &str) -> Option<&'a str> {
        // `Element::from_node` names XSI and XML attributes with their prefix and every
        // other attribute by its local name, whatever its namespace.
        self.find_attribute(local, |ns| {
            !matches!(ns, Some(crate::model::NS_XSI | crate::xml::NS_XML))
        })
    }
    fn xsi_type(self) -> Option<&'a str> {
        self.attribute(Some(crate::model::NS_XSI), "type")
    }
    fn elements(self) -> impl Iterator<Item = Self> + 'a {
        self.element_children()
    }
    fn raw_text(self) -> String {
        // Layout text is left out here on both trees, so what the flat tree dropped
        // (layout beside elements, empty text) changes nothing.
        let has_elements = self.children().any(|c| c.is_element());
        let mut s = String::new();
        for c in self.children() {
            if let Some(t) = c.text().filter(|_| c.is_text())
                && !(has_elements && crate::xml::is_layout(t))
            {
                s.push_str(t);
            }
        }
        s
    }
    fn to_element(self) -> Element {
        Element::from_xml(self)
    }
}

/// Reads a `value` element, owned or in a parsed tree.
fn value_of<'a, V: View<'a>>(e: V) -> Value {
    let written = e.xsi_type().unwrap_or_default();
    // `xsi:type="v3:PQ"` when the producer bound the HL7 namespace to a prefix.
    let local = written.rsplit(':').next().unwrap_or(written);
    // As written: `uid`, `st` (xs:string). Collapsed as XML Schema reads them: PQ
    // `@value` (`real`, xs:decimal|xs:double), `@unit` and `@code` (`cs`, xs:token), INT
    // `@value` (xs:integer), `@nullFlavor` (a `cs` enumeration).
    let get = |n: &str| e.get(n).map(str::to_string);
    let token = |n: &str| e.get(n).map(|v| collapsed(v).into_owned());
    match local {
        "PQ" => Value::Pq {
            value: token("value"),
            unit: token("unit"),
            null_flavor: token("nullFlavor"),
        },
        "CD" | "CO" => Value::Coded {
            ordered: local == "CO",
            code: Code {
                code: token("code").unwrap_or_default(),
                code_system: get("codeSystem"),
                display_name: get("displayName"),
            },
            null_flavor: token("nullFlavor"),
        },
        "ST" => Value::St {
            text: e.raw_text(),
            null_flavor: token("nullFlavor"),
        },
        "INT" => Value::Int {
            value: token("value"),
            null_flavor: token("nullFlavor"),
        },
        _ => Value::Other {
            xsi_type: written.to_string(),
            element: e.to_element(),
        },
    }
}

/// Overwrites `slot` with the value `e` as [`value_of`] reads it, reusing its strings
/// when it is of the same type.
fn fill_value<'a, V: View<'a>>(slot: &mut Value, e: V) {
    let written = e.xsi_type().unwrap_or_default();
    let local = written.rsplit(':').next().unwrap_or(written);
    let token = |s: &mut Option<String>, n: &str| set_opt(s, e.get(n).map(collapsed).as_deref());
    match (local, slot) {
        (
            "PQ",
            Value::Pq {
                value,
                unit,
                null_flavor,
            },
        ) => {
            token(value, "value");
            token(unit, "unit");
            token(null_flavor, "nullFlavor");
        }
        (
            "CD" | "CO",
            Value::Coded {
                ordered,
                code,
                null_flavor,
            },
        ) => {
            *ordered = local == "CO";
            set(
                &mut code.code,
                &e.get("code").map(collapsed).unwrap_or_default(),
            );
            set_opt(&mut code.code_system, e.get("codeSystem"));
            set_opt(&mut code.display_name, e.get("displayName"));
            token(null_flavor, "nullFlavor");
        }
        ("INT", Value::Int { value, null_flavor }) => {
            token(value, "value");
            token(null_flavor, "nullFlavor");
        }
        (_, slot) => *slot = value_of(e),
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

impl Observation {
    /// An observation with no code, value or path (a slot to fill).
    fn empty() -> Self {
        Observation {
            path: String::new(),
            section: String::new(),
            code: None,
            negated: false,
            mood: String::new(),
            values: Vec::new(),
            interpretation: Vec::new(),
            methods: Vec::new(),
            author_name: None,
            reference_range: None,
            group: None,
        }
    }

    /// The item code string (`""` for a group container).
    pub fn item_code(&self) -> &str {
        self.code.as_ref().map_or("", |c| c.code.as_str())
    }

    /// Whether this is a series-group container (its `code` carries no item code).
    pub fn is_group_container(&self) -> bool {
        self.code.is_none()
    }

    /// The first PQ value's number (collapsed, as XML Schema reads it), when there is one.
    pub fn pq_value(&self) -> Option<&str> {
        self.values.iter().find_map(|v| match v {
            Value::Pq { value, .. } => value.as_deref(),
            _ => None,
        })
    }

    /// The H/L flag of an out-of-input-range result (the CD in code system
    /// 2.16.840.1.113883.5.83 after the PQ), when there is one.
    pub fn out_of_range_flag(&self) -> Option<&str> {
        self.values.iter().skip(1).find_map(|v| match v {
            Value::Coded { code, .. }
                if code.code_system.as_deref() == Some(oid::HL7_INTERPRETATION) =>
            {
                Some(code.code.as_str())
            }
            _ => None,
        })
    }

    /// Builds the `observation` element (without group members, which are separate
    /// observations in the flattened view).
    pub fn to_element(&self) -> Element {
        let mut e = Element::new("observation")
            .attr("classCode", "OBS")
            .attr("moodCode", intern(&self.mood));
        if self.negated {
            e = e.attr("negationInd", "true");
        }
        e = e.child(match &self.code {
            Some(c) => code_element("code", c),
            None => Element::new("code").attr("nullFlavor", "NA"),
        });
        for v in &self.values {
            e = e.child(v.to_element());
        }
        for i in &self.interpretation {
            e = e.child(Element::new("interpretationCode").attr("code", intern(i)));
        }
        for m in &self.methods {
            e = e.child(Element::new("methodCode").attr("code", intern(m)));
        }
        if let Some(name) = &self.author_name {
            e = e.child(doctor_author(name));
        }
        if let Some((low, high)) = &self.reference_range {
            e = e.child(range_element(low.as_deref(), high.as_deref(), None));
        }
        e
    }
}

/// All observations of a document's body in document order, with series-group members
/// (`entryRelationship/observation`, also inside `act`/`organizer` entries) flattened
/// after their container.
pub fn observations(doc: &crate::model::ClinicalDocument) -> Vec<Observation> {
    let mut out =
        Vec::with_capacity(doc.sections.iter().map(|s| s.entries.len()).sum::<usize>() + 8);
    let mut sink = Sink::new(&mut out);
    let mut path = String::with_capacity(128);
    for (si, section) in doc.sections.iter().enumerate() {
        for (ei, entry) in section.entries.iter().enumerate() {
            flatten_entry(entry, si, ei, &section.code.code, &mut path, &mut sink);
        }
    }
    sink.finish();
    out
}

/// The same observations as [`observations`] of what [`crate::read::read_cda`] makes of
/// `doc`, read straight from the parsed tree: no owned copy of the body is built, which
/// is most of the reading cost of a checkup document. Use it with
/// [`crate::read::read_cda_without_entries`] when only the views of the body are needed.
/// A document whose root is not `ClinicalDocument` has no observations.
pub fn observations_in<D: XmlDocument>(doc: &D) -> Vec<Observation> {
    let mut out = Vec::new();
    observations_into(doc, &mut out);
    out
}

/// [`observations_in`] written into `out`, which holds exactly the document's
/// observations afterwards. The observations already in `out` (of an earlier document)
/// are overwritten position by position, keeping their strings' and vectors' buffers:
/// a worker that keeps one vector for the documents it reads allocates little more than
/// for the first one.
pub fn observations_into<D: XmlDocument>(doc: &D, out: &mut Vec<Observation>) {
    let mut sink = Sink::new(out);
    let root = doc.root();
    if XmlNode::name(root) == "ClinicalDocument" {
        let is_entry = |c: &D::Node<'_>| c.is_element() && XmlNode::name(*c) == "entry";
        let mut path = String::with_capacity(128);
        for (si, section) in crate::read::body_sections(root).enumerate() {
            let code = crate::read::section_code(section);
            for (ei, entry) in section.children().filter(is_entry).enumerate() {
                flatten_entry(entry, si, ei, &code, &mut path, &mut sink);
            }
        }
    }
    sink.finish();
}

/// Where the flattened observations go: the next position of a vector, reusing the
/// observation already there.
struct Sink<'v> {
    out: &'v mut Vec<Observation>,
    len: usize,
}

impl<'v> Sink<'v> {
    fn new(out: &'v mut Vec<Observation>) -> Self {
        Sink { out, len: 0 }
    }

    /// The slot of the next observation (an earlier one to overwrite, or an empty one).
    fn next(&mut self) -> &mut Observation {
        if self.len == self.out.len() {
            self.out.push(Observation::empty());
        }
        self.len += 1;
        &mut self.out[self.len - 1]
    }

    /// Drops what an earlier, longer document left after the last observation.
    fn finish(self) {
        self.out.truncate(self.len);
    }
}

/// `s` becomes `v`, in its own buffer.
fn set(s: &mut String, v: &str) {
    s.clear();
    s.push_str(v);
}

/// `s` becomes `v`, in its own buffer when it has one.
fn set_opt(s: &mut Option<String>, v: Option<&str>) {
    match (s.as_mut(), v) {
        (Some(s), Some(v)) => set(s, v),
        (None, Some(v)) => *s = Some(v.to_string()),
        (_, None) => *s = None,
    }
}

/// Appends `[n]` (1-based position) without the formatting machinery.
fn push_position(path: &mut String, index: usize) {
    path.push('[');
    let mut digits = [0u8; 20];
    let mut n = index + 1;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        path.push(char::from(*d));
    }
    path.push(']');
}

/// Flattens the items of the `ei`-th entry of the `si`-th section (both 0-based).
fn flatten_entry<'a, V: View<'a>>(
    entry: V,
    si: usize,
    ei: usize,
    section: &str,
    path: &mut String,
    out: &mut Sink<'_>,
) {
    path.clear();
    path.push_str("/ClinicalDocument/component/structuredBody/component");
    push_position(path, si);
    path.push_str("/section/entry");
    push_position(path, ei);
    for item in entry.elements() {
        let len = path.len();
        path.push('/');
        path.push_str(item.name());
        match item.name() {
            "observation" => flatten_observation(item, path, section, None, out),
            "act" | "organizer" | "encounter" | "procedure" | "substanceAdministration" => {
                flatten_members(item, path, section, out)
            }
            _ => {}
        }
        path.truncate(len);
    }
}

/// A guidance `act` (a support session, or a container of plan/total items) with what
/// it carries itself; its member observations are in [`observations`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    /// XPath-like location, e.g. `/ClinicalDocument/component/structuredBody/component[2]/section/entry[1]/act`.
    pub path: String,
    /// Section code the act is in (`90030`, `90040` …).
    pub section: String,
    /// `@moodCode` (EVN done, INT planned).
    pub mood: String,
    /// `code` (the support form of a session); `None` when only a nullFlavor is given.
    pub code: Option<Code>,
    /// `effectiveTime/@value` (the session date).
    pub effective_time: Option<String>,
    /// `performer/assignedEntity/code` values (the staff kind, …3020).
    pub performer_codes: Vec<Code>,
}

/// All `act` entries of a document's body (also acts nested in acts), in document order.
pub fn acts(doc: &crate::model::ClinicalDocument) -> Vec<Act> {
    let mut out = Vec::new();
    for (si, section) in doc.sections.iter().enumerate() {
        for (ei, entry) in section.entries.iter().enumerate() {
            for item in entry.all("act") {
                let path = format!(
                    "/ClinicalDocument/component/structuredBody/component[{}]/section/entry[{}]/act",
                    si + 1,
                    ei + 1
                );
                collect_acts(item, path, &section.code.code, &mut out);
            }
        }
    }
    out
}

fn collect_acts(act: &Element, path: String, section: &str, out: &mut Vec<Act>) {
    let code_of = |e: &Element| {
        e.get("code").map(|c| Code {
            code: collapsed(c).into_owned(),
            code_system: e.get("codeSystem").map(str::to_string),
            display_name: e.get("displayName").map(str::to_string),
        })
    };
    let view = Act {
        section: section.to_string(),
        mood: collapsed(act.get("moodCode").unwrap_or_default()).into_owned(),
        code: act.first("code").and_then(code_of),
        effective_time: act
            .first("effectiveTime")
            .and_then(|t| t.get("value"))
            .map(str::to_string),
        performer_codes: act
            .all("performer")
            .filter_map(|p| p.first("assignedEntity"))
            .filter_map(|a| a.first("code"))
            .filter_map(code_of)
            .collect(),
        path,
    };
    let parent = view.path.clone();
    out.push(view);
    for (k, rel) in act.all("entryRelationship").enumerate() {
        for inner in rel.all("act") {
            collect_acts(
                inner,
                format!("{parent}/entryRelationship[{}]/act", k + 1),
                section,
                out,
            );
        }
    }
}

/// Pushes an observation and then its `entryRelationship` members (depth first).
/// `group` is the relation (`COMP`, `RSON`) and the container's path.
fn flatten_observation<'a, V: View<'a>>(
    obs: V,
    path: &str,
    section: &str,
    group: Option<(&str, &str)>,
    out: &mut Sink<'_>,
) {
    fill_observation(out.next(), obs, path, section, group);
    flatten_members(obs, path, section, out);
}

/// Pushes the observations related to a container (`entryRelationship/observation`,
/// and `component/observation` of an organizer), with the container as their group.
/// Recursion follows the element nesting, which the parser bounds
/// ([`crate::read::ParseLimits::max_depth`]).
fn flatten_members<'a, V: View<'a>>(container: V, path: &str, section: &str, out: &mut Sink<'_>) {
    let mut rel_index = 0usize;
    let mut comp_index = 0usize;
    let mut member_path = String::new();
    for c in container.elements() {
        let (index, default_relation) = match c.name() {
            "entryRelationship" => {
                rel_index += 1;
                (rel_index, "")
            }
            "component" => {
                comp_index += 1;
                (comp_index, "COMP")
            }
            _ => continue,
        };
        let relation = c
            .get("typeCode")
            .map_or(default_relation, |t| t.trim_matches(BLANKS));
        for inner in c.elements() {
            member_path.clear();
            member_path.push_str(path);
            member_path.push('/');
            member_path.push_str(c.name());
            push_position(&mut member_path, index - 1);
            member_path.push('/');
            member_path.push_str(inner.name());
            match inner.name() {
                "observation" => {
                    flatten_observation(inner, &member_path, section, Some((relation, path)), out)
                }
                "act" | "organizer" => flatten_members(inner, &member_path, section, out),
                _ => {}
            }
        }
    }
}

/// Overwrites `view` (every field) with the observation `obs`, reusing its buffers.
fn fill_observation<'a, V: View<'a>>(
    view: &mut Observation,
    obs: V,
    path_: &str,
    section_: &str,
    group_: Option<(&str, &str)>,
) {
    // Destructured so that a new field cannot be left holding an earlier document's value.
    let Observation {
        path,
        section,
        code,
        negated,
        mood,
        values,
        interpretation,
        methods,
        author_name,
        reference_range,
        group,
    } = view;
    set(path, path_);
    set(section, section_);
    // `bl` (xs:boolean) and `cs`: both collapse.
    *negated = obs
        .get("negationInd")
        .is_some_and(|n| matches!(&*collapsed(n), "true" | "1"));
    set(mood, &collapsed(obs.get("moodCode").unwrap_or_default()));
    match (group.as_mut(), group_) {
        (Some(g), Some((relation, container))) => {
            set(&mut g.relation, relation);
            set(&mut g.container_path, container);
        }
        (None, Some((relation, container))) => {
            *group = Some(GroupMember {
                relation: relation.to_string(),
                container_path: container.to_string(),
            })
        }
        (_, None) => *group = None,
    }
    let mut has_code = false;
    let mut has_author = false;
    let mut has_range = false;
    let mut n_values = 0usize;
    interpretation.clear();
    methods.clear();
    for c in obs.elements() {
        match c.name() {
            "code" => {
                if !has_code && let Some(value) = c.get("code") {
                    has_code = true;
                    let value = collapsed(value);
                    let system = c.get("codeSystem");
                    let display = c.get("displayName");
                    match code.as_mut() {
                        Some(code) => {
                            set(&mut code.code, &value);
                            set_opt(&mut code.code_system, system);
                            set_opt(&mut code.display_name, display);
                        }
                        None => {
                            *code = Some(Code {
                                code: value.into_owned(),
                                code_system: system.map(str::to_string),
                                display_name: display.map(str::to_string),
                            })
                        }
                    }
                }
            }
            "value" => {
                match values.get_mut(n_values) {
                    Some(slot) => fill_value(slot, c),
                    None => values.push(value_of(c)),
                }
                n_values += 1;
            }
            "interpretationCode" => {
                interpretation.push(collapsed(c.get("code").unwrap_or_default()).into_owned())
            }
            "methodCode" => methods.push(collapsed(c.get("code").unwrap_or_default()).into_owned()),
            "author" if !has_author => {
                has_author = true;
                *author_name = c
                    .first("assignedAuthor")
                    .and_then(|a| a.first("assignedPerson"))
                    .and_then(|p| p.first("name"))
                    .map(View::raw_text);
            }
            "referenceRange" if !has_range => {
                has_range = true;
                let value = c.first("observationRange").and_then(|r| r.first("value"));
                let bound = |name: &str| {
                    value
                        .and_then(|v| v.first(name))
                        .and_then(|b| b.get("value"))
                        .map(|v| collapsed(v).into_owned())
                };
                *reference_range = Some((bound("low"), bound("high")));
            }
            _ => {}
        }
    }
    values.truncate(n_values);
    if !has_code {
        *code = None;
    }
    if !has_author {
        *author_name = None;
    }
    if !has_range {
        *reference_range = None;
    }
}

// ---------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------

/// Relation of a member to its series-group container or act (`entryRelationship/@typeCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `COMP`: a result of the group.
    Component,
    /// `RSON`: why the test was done / who qualified.
    Reason,
}

impl Relation {
    /// The `typeCode` spelling.
    pub fn type_code(self) -> &'static str {
        match self {
            Relation::Component => "COMP",
            Relation::Reason => "RSON",
        }
    }
}

fn code_element(name: &'static str, c: &Code) -> Element {
    let mut e = Element::new(name).attr("code", intern(&c.code));
    if let Some(cs) = &c.code_system {
        e = e.attr("codeSystem", intern(cs));
    }
    if let Some(dn) = &c.display_name {
        e = e.attr("displayName", dn.clone());
    }
    e
}

/// `author` naming a doctor: time and id unknown (`NI`), `assignedPerson/name`.
fn doctor_author(name: &str) -> Element {
    Element::new("author")
        .child(Element::new("time").attr("nullFlavor", "NI"))
        .child(
            Element::new("assignedAuthor")
                .child(Element::new("id").attr("nullFlavor", "NI"))
                .child(Element::new("assignedPerson").child(Element::new("name").text(name))),
        )
}

/// `referenceRange/observationRange[@moodCode='EVN.CRT']/value[@xsi:type='IVL_PQ']`.
fn range_element(low: Option<&str>, high: Option<&str>, unit: Option<&str>) -> Element {
    let bound = |name: &'static str, v: &str| {
        let b = Element::new(name).attr("value", intern(v));
        match unit {
            Some(u) => b.attr("unit", intern(u)),
            None => b,
        }
    };
    let mut value = Element::new("value").attr("xsi:type", "IVL_PQ");
    if let Some(l) = low {
        value = value.child(bound("low", l));
    }
    if let Some(h) = high {
        value = value.child(bound("high", h));
    }
    Element::new("referenceRange").child(
        Element::new("observationRange")
            .attr("classCode", "OBS")
            .attr("moodCode", "EVN.CRT")
            .child(value),
    )
}

/// Builds one `observation` (checkup item, guidance item or series-group container),
/// writing its children in schema order whatever order the methods were called in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationBuilder {
    /// `None` writes `code nullFlavor="NA"` (a series-group container).
    code: Option<Code>,
    mood: String,
    negated: bool,
    values: Vec<Element>,
    interpretation: Vec<String>,
    methods: Vec<String>,
    authors: Vec<Element>,
    members: Vec<(Relation, ObservationBuilder)>,
    ranges: Vec<Element>,
}

impl ObservationBuilder {
    /// An `EVN` observation of an item code in the default code system (…1005 for
    /// checkups, …1006 for guidance; the attribute is omitted as real producers do).
    pub fn new(item_code: impl Into<String>) -> Self {
        Self::with_code(Code::new(item_code))
    }

    /// An `EVN` observation with a full code (system and display name when set).
    pub fn with_code(code: Code) -> Self {
        ObservationBuilder {
            code: Some(code),
            mood: "EVN".into(),
            negated: false,
            values: Vec::new(),
            interpretation: Vec::new(),
            methods: Vec::new(),
            authors: Vec::new(),
            members: Vec::new(),
            ranges: Vec::new(),
        }
    }

    /// A series-group container: `code nullFlavor="NA"`, members added with [`Self::member`].
    pub fn group_container() -> Self {
        ObservationBuilder {
            code: None,
            ..Self::new("")
        }
    }

    /// Sets the code system of the item code.
    pub fn code_system(mut self, code_system: impl Into<String>) -> Self {
        if let Some(c) = &mut self.code {
            c.code_system = Some(code_system.into());
        }
        self
    }

    /// Sets the display name of the item code.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        if let Some(c) = &mut self.code {
            c.display_name = Some(name.into());
        }
        self
    }

    /// Sets `moodCode` (`EVN` by default; guidance plans use `INT`, goals `GOL`).
    pub fn mood(mut self, mood: impl Into<String>) -> Self {
        self.mood = mood.into();
        self
    }

    /// Adds a value as a [`Value`].
    pub fn value(mut self, v: &Value) -> Self {
        self.values.push(v.to_element());
        self
    }

    /// 数値: `value xsi:type="PQ" value=… unit=…` (an empty unit is omitted).
    pub fn pq(mut self, value: impl Into<String>, unit: &str) -> Self {
        let mut e = Element::new("value")
            .attr("xsi:type", "PQ")
            .attr("value", owned(value));
        if !unit.is_empty() {
            e = e.attr("unit", intern(unit));
        }
        self.values.push(e);
        self
    }

    /// コード (unordered): `value xsi:type="CD" code=… codeSystem=…`.
    pub fn cd(mut self, code: impl Into<String>, code_system: impl Into<String>) -> Self {
        self.values.push(
            Element::new("value")
                .attr("xsi:type", "CD")
                .attr("code", owned(code))
                .attr("codeSystem", owned(code_system)),
        );
        self
    }

    /// コード (ordered): `value xsi:type="CO" code=… codeSystem=…`.
    pub fn co(mut self, code: impl Into<String>, code_system: impl Into<String>) -> Self {
        self.values.push(
            Element::new("value")
                .attr("xsi:type", "CO")
                .attr("code", owned(code))
                .attr("codeSystem", owned(code_system)),
        );
        self
    }

    /// 文字列: `value xsi:type="ST"` with the text.
    pub fn st(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        let e = Element::new("value").attr("xsi:type", "ST");
        self.values
            .push(if text.is_empty() { e } else { e.text(text) });
        self
    }

    /// 整数: `value xsi:type="INT" value=…`.
    pub fn int(mut self, value: impl Into<String>) -> Self {
        self.values.push(
            Element::new("value")
                .attr("xsi:type", "INT")
                .attr("value", owned(value)),
        );
        self
    }

    /// 測定不能: performed but no result, `value xsi:type=<the item's type> nullFlavor="NI"`.
    pub fn not_measurable(mut self, xsi_type: &str) -> Self {
        self.values.push(
            Element::new("value")
                .attr("xsi:type", intern(xsi_type))
                .attr("nullFlavor", "NI"),
        );
        self
    }

    /// 未実施: `negationInd="true"` and no value (values added before are dropped).
    pub fn not_performed(mut self) -> Self {
        self.negated = true;
        self.values.clear();
        self
    }

    /// 入力範囲を超えた場合 (above): the PQ as given, then `CD H` 以上 in 2.16.840.1.113883.5.83.
    pub fn out_of_range_high(self, value: impl Into<String>, unit: &str) -> Self {
        self.pq(value, unit).range_flag("H", "以上")
    }

    /// 入力範囲を超えた場合 (below): the PQ as given, then `CD L` 以下 in 2.16.840.1.113883.5.83.
    pub fn out_of_range_low(self, value: impl Into<String>, unit: &str) -> Self {
        self.pq(value, unit).range_flag("L", "以下")
    }

    fn range_flag(mut self, code: &'static str, display: &'static str) -> Self {
        self.values.push(
            Element::new("value")
                .attr("xsi:type", "CD")
                .attr("code", code)
                .attr("codeSystem", oid::HL7_INTERPRETATION)
                .attr("displayName", display),
        );
        self
    }

    /// `interpretationCode code=…` (H, L, N).
    pub fn interpretation(mut self, code: impl Into<String>) -> Self {
        self.interpretation.push(code.into());
        self
    }

    /// `methodCode code=…` (10-digit 検査方法コード, default code system …1007).
    pub fn method(mut self, code: impl Into<String>) -> Self {
        self.methods.push(code.into());
        self
    }

    /// Reference range `low`–`high` in `unit` (an empty unit is omitted).
    pub fn reference_range(mut self, low: &str, high: &str, unit: &str) -> Self {
        let unit = Some(unit).filter(|u| !u.is_empty());
        self.ranges.push(range_element(Some(low), Some(high), unit));
        self
    }

    /// The doctor who made a judgement item (医師の診断), as the observation's author.
    pub fn doctor(mut self, name: &str) -> Self {
        self.authors.push(doctor_author(name));
        self
    }

    /// Adds a member (`entryRelationship typeCode=COMP|RSON`).
    pub fn member(mut self, relation: Relation, member: ObservationBuilder) -> Self {
        self.members.push((relation, member));
        self
    }

    /// The `observation` element.
    pub fn build(&self) -> Element {
        let mut e = Element::new("observation")
            .attr("classCode", "OBS")
            .attr("moodCode", intern(&self.mood));
        if self.negated {
            e = e.attr("negationInd", "true");
        }
        e = e.child(match &self.code {
            Some(c) => code_element("code", c),
            None => Element::new("code").attr("nullFlavor", "NA"),
        });
        e.children
            .extend(self.values.iter().cloned().map(Node::Element));
        for i in &self.interpretation {
            e = e.child(Element::new("interpretationCode").attr("code", intern(i)));
        }
        for m in &self.methods {
            e = e.child(Element::new("methodCode").attr("code", intern(m)));
        }
        e.children
            .extend(self.authors.iter().cloned().map(Node::Element));
        for (relation, member) in &self.members {
            e = e.child(
                Element::new("entryRelationship")
                    .attr("typeCode", relation.type_code())
                    .child(member.build()),
            );
        }
        e.children
            .extend(self.ranges.iter().cloned().map(Node::Element));
        e
    }

    /// The observation wrapped in a section `entry`.
    pub fn entry(&self) -> Element {
        Element::new("entry").child(self.build())
    }
}

/// A 一連検査グループ: a container observation (`code nullFlavor="NA"`) with its members.
pub fn series_group(members: Vec<(Relation, ObservationBuilder)>) -> ObservationBuilder {
    let mut g = ObservationBuilder::group_container();
    g.members = members;
    g
}

/// Builds a guidance `act` entry: a session (support form as its code, date, staff kind
/// as `performer/assignedEntity/code`) or a container of plan/total observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActBuilder {
    mood: String,
    code: Option<Code>,
    effective_time: Option<String>,
    performer_code: Option<Code>,
    members: Vec<(Relation, ObservationBuilder)>,
}

impl ActBuilder {
    /// An act in `mood` (`EVN` done, `INT` planned) whose code is `code`, or
    /// `code nullFlavor="NA"` when `None`.
    pub fn new(mood: impl Into<String>, code: Option<Code>) -> Self {
        ActBuilder {
            mood: mood.into(),
            code,
            effective_time: None,
            performer_code: None,
            members: Vec::new(),
        }
    }

    /// `effectiveTime value=…` (the session date).
    pub fn effective_time(mut self, date: impl Into<String>) -> Self {
        self.effective_time = Some(date.into());
        self
    }

    /// The staff kind (…3020) as `performer/assignedEntity/code`.
    pub fn performer_code(mut self, code: Code) -> Self {
        self.performer_code = Some(code);
        self
    }

    /// Adds a member observation.
    pub fn member(mut self, relation: Relation, member: ObservationBuilder) -> Self {
        self.members.push((relation, member));
        self
    }

    /// The `act` element.
    pub fn build(&self) -> Element {
        let mut e = Element::new("act")
            .attr("classCode", "ACT")
            .attr("moodCode", intern(&self.mood));
        e = e.child(match &self.code {
            Some(c) => code_element("code", c),
            None => Element::new("code").attr("nullFlavor", "NA"),
        });
        if let Some(t) = &self.effective_time {
            e = e.child(Element::new("effectiveTime").attr("value", intern(t)));
        }
        if let Some(c) = &self.performer_code {
            e = e.child(
                Element::new("performer").child(
                    Element::new("assignedEntity")
                        .child(Element::new("id").attr("nullFlavor", "NI"))
                        .child(code_element("code", c)),
                ),
            );
        }
        for (relation, member) in &self.members {
            e = e.child(
                Element::new("entryRelationship")
                    .attr("typeCode", relation.type_code())
                    .child(member.build()),
            );
        }
        e
    }

    /// The act wrapped in a section `entry`.
    pub fn entry(&self) -> Element {
        Element::new("entry").child(self.build())
    }
}

/// A body section with its code in …1010, an optional title, an empty narrative `text`
/// (as ORCA writes it) and the entries.
pub fn section(code: &str, title: Option<&str>, entries: Vec<Element>) -> Section {
    Section {
        code: Code {
            code: code.into(),
            code_system: Some(oid::SECTION.into()),
            display_name: None,
        },
        title: title.map(str::to_string),
        text: Some(Element::new("text")),
        entries,
    }
}

/// The person's ids in the order producers write them: 保険者番号, 記号 (when the card
/// has one), 番号, 枝番 (when given).
pub fn patient_ids(
    insurer: &str,
    symbol: Option<&str>,
    number: &str,
    branch: Option<&str>,
) -> Vec<Id> {
    let mut ids = vec![Id::new(oid::INSURER, insurer)];
    if let Some(s) = symbol {
        ids.push(Id::new(oid::CARD_SYMBOL, s));
    }
    ids.push(Id::new(oid::CARD_NUMBER, number));
    if let Some(b) = branch {
        ids.push(Id::new(oid::CARD_BRANCH, b));
    }
    ids
}

/// An institution as `representedOrganization`: number (…102), name, phone, address.
pub fn institution(
    number: &str,
    name: &str,
    telecom: Option<&str>,
    addr: Option<Address>,
) -> CdaOrganization {
    CdaOrganization {
        id: Some(Id::new(oid::INSTITUTION, number)),
        name: Some(name.to_string()),
        telecom: telecom.map(str::to_string),
        addr,
    }
}

/// A ticket (受診券 / 利用券) to put in the CDA header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    /// 11-digit 整理番号.
    pub number: String,
    /// 有効期限 YYYYMMDD.
    pub expiry: Option<String>,
}

/// What a producer knows for the header of one person's CDA; [`DocumentHeader::build`]
/// makes the [`ClinicalDocument`] the way real producers write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentHeader {
    /// 報告区分 (…1001): `10` checkup, `21`–`25` guidance.
    pub report_kind: String,
    /// Date the file was made (document `effectiveTime` and author `time`).
    pub document_date: String,
    pub patient: Patient,
    /// The institution (author and performer).
    pub institution: CdaOrganization,
    /// 実施日: checkup date / guidance start.
    pub service_date: String,
    /// 受診券 (券面種別 1).
    pub checkup_voucher: Option<Voucher>,
    /// 利用券 (券面種別 2; guidance documents).
    pub guidance_voucher: Option<Voucher>,
}

impl DocumentHeader {
    /// Whether the header is for a guidance document (報告区分 2x).
    pub fn is_guidance(&self) -> bool {
        self.report_kind.starts_with('2')
    }

    /// The document with `sections` as its body.
    pub fn build(&self, sections: Vec<Section>) -> ClinicalDocument {
        let insurer = self
            .patient
            .id(oid::INSURER)
            .unwrap_or_default()
            .to_string();
        let voucher = |kind: &str, root_prefix: &str, v: &Voucher| VoucherParticipant {
            function_code: kind.into(),
            expiry: v.expiry.clone(),
            // Inside the CDA the ticket root carries the insurer: "…209.1" / "…210.1" + insurer.
            id: Id::new(format!("{root_prefix}.1{insurer}"), v.number.clone()),
            scoping_organization: Some(Id::new(oid::INSURER, insurer.clone())),
        };
        let mut vouchers = Vec::new();
        if let Some(v) = &self.checkup_voucher {
            vouchers.push(voucher("1", oid::CHECKUP_VOUCHER, v));
        }
        if let Some(v) = &self.guidance_voucher {
            vouchers.push(voucher("2", oid::GUIDANCE_VOUCHER, v));
        }
        let (program, program_name) = if self.is_guidance() {
            ("100", None)
        } else {
            ("010", Some("特定健診"))
        };
        ClinicalDocument {
            type_id: Id::new(oid::CDA_TYPE_ID, "POCD_HD000040"),
            template_ids: Vec::new(),
            code: Some(Code {
                code: self.report_kind.clone(),
                code_system: Some(oid::REPORT_KIND.into()),
                display_name: None,
            }),
            title: None,
            effective_time: self.document_date.clone(),
            confidentiality: Code {
                code: "N".into(),
                code_system: Some(oid::HL7_CONFIDENTIALITY.into()),
                display_name: None,
            },
            language: None,
            patient: self.patient.clone(),
            authors: vec![CdaAuthor {
                time: self.document_date.clone(),
                organization: self.institution.clone(),
            }],
            vouchers,
            service_event: Some(ServiceEvent {
                code: Code {
                    code: program.into(),
                    code_system: Some(oid::PROGRAM_KIND.into()),
                    display_name: program_name.map(str::to_string),
                },
                effective_time: self.service_date.clone(),
                performer: Some(self.institution.clone()),
            }),
            sections,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{ParseLimits, parse, read_cda, read_cda_without_entries};

    /// An observation with every field set, as an earlier document may leave it.
    fn earlier_observation() -> Observation {
        let code = Code {
            code: "9N001000000000001".into(),
            code_system: Some("1.2.392.200119.6.1005".into()),
            display_name: Some("身長".into()),
        };
        Observation {
            path: "/ClinicalDocument/earlier".into(),
            section: "01010".into(),
            code: Some(code.clone()),
            negated: true,
            mood: "GOL".into(),
            values: vec![
                Value::Pq {
                    value: Some("170.5".into()),
                    unit: Some("cm".into()),
                    null_flavor: Some("NI".into()),
                },
                Value::Coded {
                    ordered: true,
                    code,
                    null_flavor: Some("UNK".into()),
                },
                Value::Int {
                    value: Some("3".into()),
                    null_flavor: Some("NA".into()),
                },
                Value::St {
                    text: "earlier".into(),
                    null_flavor: Some("OTH".into()),
                },
            ],
            interpretation: vec!["H".into()],
            methods: vec!["1".into()],
            author_name: Some("earlier".into()),
            reference_range: Some((Some("1".into()), Some("2".into()))),
            group: Some(GroupMember {
                relation: "RSON".into(),
                container_path: "/ClinicalDocument/container".into(),
            }),
        }
    }

    /// Both routes to the observations (owned entries, parsed tree) give the same views.
    fn assert_same_views(text: &str) -> Vec<Observation> {
        let doc = parse(text, &ParseLimits::default()).expect("parse");
        let full = read_cda(&doc).expect("read");
        let owned = observations(&full);
        assert_eq!(observations_in(&doc), owned);
        // Written over an earlier document's observations (every field set, every value
        // type), more and fewer of them than this document has.
        for n in [0, 1, owned.len() + 3] {
            let mut reused = vec![earlier_observation(); n];
            observations_into(&doc, &mut reused);
            assert_eq!(reused, owned);
        }
        let head = read_cda_without_entries(&doc).expect("read head");
        assert!(head.sections.iter().all(|s| s.entries.is_empty()));
        let mut without: ClinicalDocument = full.clone();
        for s in &mut without.sections {
            s.entries.clear();
        }
        assert_eq!(head, without, "only the entries are left out");
        owned
    }

    const UNUSUAL_BODY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<v3:ClinicalDocument xmlns:v3="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:f="urn:foreign">
  <v3:code code="10"/>
  <v3:component><v3:structuredBody>
    <v3:component><v3:nonSection/></v3:component>
    <v3:component><v3:section>
      <v3:code code="01010" f:code="x"/>
      <v3:title>結果</v3:title>
      <v3:text>表<v3:br/>の行</v3:text>
      <v3:entry>
        <!-- a comment -->
        <v3:observation classCode="OBS" moodCode="EVN" negationInd="true">
          <v3:code code="9N016160100000001" f:code="foreign" codeSystem="1.2.392.200119.6.1005" displayName="腹囲"/>
        </v3:observation>
      </v3:entry>
      <v3:entry>
        <v3:observation moodCode="EVN">
          <v3:code code="9N511000000000049"/>
          <v3:value xsi:type="v3:ST" xml:lang="ja">  異常<![CDATA[<なし>]]> &amp; 所見　</v3:value>
          <v3:value xsi:type="ST">
            <v3:sub>a</v3:sub>
            　
            <v3:sup>b</v3:sup>
          </v3:value>
          <v3:value xsi:type="TS" value="20230412"/>
          <v3:value xsi:type="PQ" value="1" unit="cm" nullFlavor="NI" f:unit="no"/>
          <v3:value xsi:type="CO" code="2" codeSystem="1.2.392.200119.6.2002"/>
          <v3:value xsi:type="INT" value="3"/>
          <v3:value value="no type"/>
          <v3:interpretationCode code="H"/>
          <v3:interpretationCode/>
          <v3:methodCode code="3F01510000"/>
          <v3:author><v3:assignedAuthor><v3:assignedPerson><v3:name> 見本　一郎 </v3:name></v3:assignedPerson></v3:assignedAuthor></v3:author>
          <v3:author><v3:assignedAuthor><v3:assignedPerson><v3:name>二人目</v3:name></v3:assignedPerson></v3:assignedAuthor></v3:author>
          <v3:referenceRange><v3:observationRange><v3:value xsi:type="IVL_PQ"><v3:high value="149"/></v3:value></v3:observationRange></v3:referenceRange>
        </v3:observation>
      </v3:entry>
      <v3:entry>
        <v3:observation classCode="OBS" moodCode="EVN">
          <v3:code nullFlavor="NA"/>
          <v3:entryRelationship typeCode="COMP"><v3:observation moodCode="EVN"><v3:code code="3C015000002327101"/><v3:value xsi:type="PQ" value="0.98" unit="mg/dL"/></v3:observation></v3:entryRelationship>
          <v3:entryRelationship><v3:observation moodCode="EVN"><v3:code code="3C015161002399949"/></v3:observation></v3:entryRelationship>
          <v3:entryRelationship typeCode="RSON">
            <v3:act moodCode="EVN"><v3:entryRelationship typeCode="COMP"><v3:observation moodCode="INT"><v3:code code="nested"/></v3:observation></v3:entryRelationship></v3:act>
          </v3:entryRelationship>
        </v3:observation>
        <v3:organizer>
          <v3:component><v3:observation moodCode="EVN"><v3:code code="A"/></v3:observation></v3:component>
          <v3:component typeCode="RSON"><v3:organizer><v3:component><v3:observation><v3:code code="B"/></v3:observation></v3:component></v3:organizer></v3:component>
        </v3:organizer>
      </v3:entry>
    </v3:section></v3:component>
    <v3:component><v3:section>
      <v3:entry><v3:act moodCode="EVN"><v3:entryRelationship typeCode="COMP"><v3:observation moodCode="EVN" negationInd="1"><v3:code code="C"/></v3:observation></v3:entryRelationship></v3:act></v3:entry>
      <v3:entry/><v3:entry>text only</v3:entry>
    </v3:section></v3:component>
  </v3:structuredBody></v3:component>
</v3:ClinicalDocument>"#;

    #[test]
    fn observations_in_the_parsed_tree_equal_those_of_the_owned_entries() {
        let obs = assert_same_views(UNUSUAL_BODY);
        let codes: Vec<&str> = obs.iter().map(Observation::item_code).collect();
        assert_eq!(
            codes,
            [
                "9N016160100000001",
                "9N511000000000049",
                "",
                "3C015000002327101",
                "3C015161002399949",
                "nested",
                "A",
                "B",
                "C"
            ]
        );
        // The section index counts components that hold a section, as `read_cda` does.
        assert_eq!(
            obs[0].path,
            "/ClinicalDocument/component/structuredBody/component[1]/section/entry[1]/observation"
        );
        assert_eq!(
            obs[0].section, "01010",
            "a foreign attribute is not the code"
        );
        assert_eq!(
            obs[5].path,
            "/ClinicalDocument/component/structuredBody/component[1]/section/entry[3]/observation/entryRelationship[3]/act/entryRelationship[1]/observation"
        );
        assert_eq!(
            obs[8].group.as_ref().map(|g| g.relation.as_str()),
            Some("COMP")
        );
        let judged = &obs[1];
        assert_eq!(judged.values.len(), 7);
        assert_eq!(
            judged.values[0],
            Value::St {
                text: "  異常<なし> & 所見　".into(),
                null_flavor: None
            }
        );
        assert_eq!(judged.author_name.as_deref(), Some(" 見本　一郎 "));
        assert_eq!(judged.interpretation, ["H", ""]);
        assert_eq!(
            judged.reference_range,
            Some((None, Some("149".to_string())))
        );
        assert!(matches!(&judged.values[2], Value::Other { xsi_type, .. } if xsi_type == "TS"));
    }

    #[test]
    fn a_document_without_a_body_or_with_another_root_has_no_observations() {
        assert!(assert_same_views("<ClinicalDocument xmlns='urn:hl7-org:v3'/>").is_empty());
        let other = parse("<index/>", &ParseLimits::default()).expect("parse");
        assert!(observations_in(&other).is_empty());
    }

    #[test]
    fn example_documents_give_the_same_views_either_way() {
        let root = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/spec/examples"
        ));
        let Ok(kinds) = std::fs::read_dir(root) else {
            eprintln!("skipped: {} is absent", root.display());
            return;
        };
        let mut seen = 0;
        let mut stack: Vec<std::path::PathBuf> = kinds.flatten().map(|e| e.path()).collect();
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                if let Ok(d) = std::fs::read_dir(&p) {
                    stack.extend(d.flatten().map(|e| e.path()));
                }
            } else if p.parent().and_then(|d| d.file_name()) == Some("DATA".as_ref())
                && let Ok(bytes) = std::fs::read(&p)
                && let Ok(text) = crate::read::decode(&bytes)
            {
                assert_same_views(text);
                seen += 1;
            }
        }
        assert!(seen > 0, "no DATA files under {}", root.display());
    }

    /// Values whose HL7 type collapses white space (`cs`, `real`, `int`, `bl`) are read as
    /// XML Schema sees them; `uid`, `st` and ST text are kept as written.
    #[test]
    fn collapsing_types_are_read_collapsed_and_strings_as_written() {
        let text = r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <code code=" 10&#9;"/>
  <recordTarget><patientRole><patient><administrativeGenderCode code="&#9;1 "/></patient></patientRole></recordTarget>
  <participant typeCode=" HLD"><functionCode code=" 1&#9;"/></participant>
  <component><structuredBody><component><section><code code=" 01010 "/>
    <entry><observation moodCode=" EVN " negationInd=" false&#9;">
      <code code=" 3F015000002327101&#9;" codeSystem=" 1.2.392.200119.6.1005" displayName=" 中性脂肪 "/>
      <value xsi:type="PQ" value="&#10; 132&#9;" unit=" mg/dL "/>
      <value xsi:type="CD" code=" H&#9;" codeSystem="2.16.840.1.113883.5.83" nullFlavor=" NI "/>
      <value xsi:type="INT" value=" 6 "/>
      <value xsi:type="ST"> 異常なし </value>
      <interpretationCode code=" N "/><methodCode code="&#9;3F01510000"/>
      <referenceRange><observationRange><value xsi:type="IVL_PQ"><low value=" 30 "/><high value="149&#9;"/></value></observationRange></referenceRange>
    </observation></entry>
  </section></component></structuredBody></component>
</ClinicalDocument>"#;
        let obs = assert_same_views(text);
        let doc = parse(text, &ParseLimits::default()).expect("parse");
        let cda = read_cda(&doc).expect("read");
        assert_eq!(cda.code.as_ref().map(|c| c.code.as_str()), Some("10"));
        assert_eq!(cda.patient.gender.code, "1");
        assert_eq!(cda.vouchers.len(), 1);
        assert_eq!(cda.vouchers[0].function_code, "1");
        assert_eq!(cda.sections[0].code.code, "01010");
        let o = &obs[0];
        assert_eq!(
            (o.section.as_str(), o.mood.as_str(), o.negated),
            ("01010", "EVN", false)
        );
        let code = o.code.as_ref().expect("code");
        assert_eq!(code.code, "3F015000002327101");
        assert_eq!(code.code_system.as_deref(), Some(" 1.2.392.200119.6.1005"));
        assert_eq!(code.display_name.as_deref(), Some(" 中性脂肪 "));
        assert_eq!(o.pq_value(), Some("132"));
        assert_eq!(o.out_of_range_flag(), Some("H"));
        assert!(matches!(&o.values[0], Value::Pq { unit: Some(u), .. } if u == "mg/dL"));
        assert_eq!(o.values[1].null_flavor(), Some("NI"));
        assert!(matches!(&o.values[2], Value::Int { value: Some(v), .. } if v == "6"));
        assert!(matches!(&o.values[3], Value::St { text, .. } if text == " 異常なし "));
        assert_eq!(
            (o.interpretation.clone(), o.methods.clone()),
            (vec!["N".to_string()], vec!["3F01510000".to_string()])
        );
        assert_eq!(
            o.reference_range,
            Some((Some("30".into()), Some("149".into())))
        );
    }
}
