//! X-02 differential test: daiko's native schema rules must give the same valid/invalid verdict
//! as `xmllint --schema` with the official XSDs, for every document of a large corpus built
//! from the example documents and systematic mutations of them.
//!
//! The corpus: every example document in `shared/spec/examples` (and, for ix/su/cc/gc, its
//! 2024-namespace variant), plus for each of them: every element deleted, duplicated and
//! swapped with its next sibling; every attribute removed and set to a series of bad values;
//! wrong and unknown `xsi:type`s; unknown elements and attributes inserted; text put into
//! element-only and empty content; wrong namespaces on the root and on children.
//!
//! Hook: every `.xml` file in the directory named by the environment variable
//! `DAIKO_SCHEMA_DIFF_DIR` (searched recursively) is added to the corpus as is (schema chosen
//! from its root element and namespace, the CDA profile from `ClinicalDocument/code/@code`:
//! 2x = guidance). With `DAIKO_SCHEMA_DIFF_MUTATE=N` the first N of them are also mutated.
//! Example: `daiko sample --out /tmp/s --period 2024`, unzip the archives under /tmp/s/x, then
//! `DAIKO_SCHEMA_DIFF_DIR=/tmp/s/x cargo test -p daiko-schema --test differential`.
//!
//! Skips with a message when `../shared` or `xmllint` is absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use daiko_schema::{Schema, SchemaSet, validate};

const NS_2018: &str = "http://tokuteikenshin.jp/checkup/2007";
const NS_2024: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";
const CDA_NS: &str = "urn:hl7-org:v3";

fn shared() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

fn have_xmllint() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// A small editable XML tree (keeps prefixes and namespace declarations as written)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct El {
    /// Qualified name as written (`value`, `xsi:foo`).
    name: String,
    /// Attributes as written, values escaped, including `xmlns` declarations.
    attrs: Vec<(String, String)>,
    kids: Vec<Kid>,
}

#[derive(Clone, Debug)]
enum Kid {
    El(El),
    /// Raw (escaped) character data.
    Text(String),
}

fn build(node: roxmltree::Node<'_, '_>, src: &str) -> El {
    let r = node.range();
    let tag = &src[r.start..];
    // the start tag ends at the first '>' outside quotes
    let mut quote: Option<char> = None;
    let mut end = 0;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let inner = tag[1..end].trim_end_matches('/');
    let name_end = inner
        .find(|c: char| c.is_whitespace())
        .unwrap_or(inner.len());
    let name = inner[..name_end].to_string();
    let mut attrs = Vec::new();
    let mut rest = &inner[name_end..];
    loop {
        rest = rest.trim_start();
        let Some(eq) = rest.find('=') else { break };
        let an = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let q = after.chars().next().unwrap_or('"');
        let body = &after[1..];
        let close = body.find(q).unwrap_or(body.len());
        attrs.push((an, body[..close].to_string()));
        rest = &body[(close + 1).min(body.len())..];
    }
    let mut kids = Vec::new();
    for c in node.children() {
        if c.is_element() {
            kids.push(Kid::El(build(c, src)));
        } else if c.is_text() {
            let r = c.range();
            kids.push(Kid::Text(src[r].to_string()));
        }
    }
    El { name, attrs, kids }
}

fn write_el(e: &El, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    for (n, v) in &e.attrs {
        out.push(' ');
        out.push_str(n);
        out.push_str("=\"");
        out.push_str(v);
        out.push('"');
    }
    if e.kids.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for k in &e.kids {
        match k {
            Kid::El(c) => write_el(c, out),
            Kid::Text(t) => out.push_str(t),
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

fn serialize(e: &El) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write_el(e, &mut s);
    s.push('\n');
    s
}

/// Paths (child-element index lists) of every element, pre-order.
fn element_paths(e: &El, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(prefix.clone());
    for (i, k) in e.kids.iter().enumerate() {
        if let Kid::El(c) = k {
            prefix.push(i);
            element_paths(c, prefix, out);
            prefix.pop();
        }
    }
}

fn at<'e>(e: &'e mut El, path: &[usize]) -> &'e mut El {
    let mut cur = e;
    for &i in path {
        cur = match &mut cur.kids[i] {
            Kid::El(c) => c,
            Kid::Text(_) => unreachable!("paths only name elements"),
        };
    }
    cur
}

fn at_ref<'e>(e: &'e El, path: &[usize]) -> &'e El {
    let mut cur = e;
    for &i in path {
        cur = match &cur.kids[i] {
            Kid::El(c) => c,
            Kid::Text(_) => unreachable!("paths only name elements"),
        };
    }
    cur
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// The corpus on disk: each case is written and checked by daiko as it is made, so that the
/// texts are not all held in memory.
struct Corpus {
    dir: PathBuf,
    entries: Vec<Entry>,
}

struct Entry {
    label: String,
    path: PathBuf,
    schema: Schema,
    set: SchemaSet,
    /// daiko's violations (empty = valid), or why roxmltree could not parse the text.
    daiko: Result<Vec<String>, String>,
}

impl Corpus {
    fn push(&mut self, case: Case) {
        let path = self.dir.join(format!("case{:06}.xml", self.entries.len()));
        std::fs::write(&path, &case.text).expect("write case");
        let daiko = match roxmltree::Document::parse(&case.text) {
            Ok(doc) => Ok(validate(&doc, case.set, case.schema)
                .iter()
                .map(|v| format!("    {}:{} {} — {}", v.line, v.column, v.path, v.message))
                .collect()),
            Err(e) => Err(e.to_string()),
        };
        self.entries.push(Entry {
            label: case.label,
            path,
            schema: case.schema,
            set: case.set,
            daiko,
        });
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

struct Case {
    label: String,
    text: String,
    schema: Schema,
    set: SchemaSet,
}

const BAD_VALUES: &[&str] = &[
    "",
    "abc",
    " 1 ",
    "-1",
    "0",
    "12345678901234567890123",
    "1.2.392.200119.6.999",
    "２",
    "99999999999999999999",
    "1 2",
    "5",
    "9",
    "10",
    "14",
    "21",
    "+7",
    "00000001",
];

const BAD_TEXTS: &[&str] = &[
    "",
    "abc",
    "123-456",
    " 123-4567 ",
    "1234567",
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんあいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんあいうえおかきくけこさしすせそたちつてと",
];

const XSI_TYPES: &[&str] = &[
    "CD",
    "CE",
    "CV",
    "CS",
    "CO",
    "PQ",
    "ST",
    "ED",
    "INT",
    "REAL",
    "BL",
    "TS",
    "II",
    "IVL_PQ",
    "IVL_TS",
    "IVL_INT",
    "RTO",
    "MO",
    "ANY",
    "QTY",
    "SC",
    "TEL",
    "AD",
    "PN",
    "ON",
    "EN",
    "URL",
    "BIN",
    "BN",
    "CR",
    "Unknown",
    "xs:string",
    "cd",
    "POCD_MT000040.Observation",
];

fn mutations(seed: &El, label: &str, schema: Schema, set: SchemaSet, out: &mut Corpus) {
    let mut paths = Vec::new();
    element_paths(seed, &mut Vec::new(), &mut paths);
    let mut push = |what: String, e: El| {
        out.push(Case {
            label: format!("{label}: {what}"),
            text: serialize(&e),
            schema,
            set,
        });
    };
    push("unchanged".into(), seed.clone());
    // Repeated structures (forty observations alike) add time, not coverage: mutate the first
    // two elements of each name path (with its xsi:type), and attributes on the first only.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for path in &paths {
        let mut signature = String::new();
        for depth in 0..=path.len() {
            let e = at_ref(seed, &path[..depth]);
            signature.push('/');
            signature.push_str(&e.name);
        }
        if let Some((_, t)) = at_ref(seed, path)
            .attrs
            .iter()
            .find(|(n, _)| n == "xsi:type")
        {
            signature.push_str(&format!("[{t}]"));
        }
        let count = seen.entry(signature).or_insert(0);
        *count += 1;
        if *count > 2 {
            continue;
        }
        let first = *count == 1;
        let name = at_ref(seed, path).name.clone();
        let here = format!("{name}@{path:?}");
        if let Some((&last, parent)) = path.split_last() {
            // delete
            let mut e = seed.clone();
            at(&mut e, parent).kids.remove(last);
            push(format!("delete {here}"), e);
            // duplicate
            let mut e = seed.clone();
            let p = at(&mut e, parent);
            let copy = p.kids[last].clone();
            p.kids.insert(last + 1, copy);
            push(format!("duplicate {here}"), e);
            // swap with the next element sibling
            let p = at_ref(seed, parent);
            if let Some(next) = (last + 1..p.kids.len()).find(|&j| matches!(p.kids[j], Kid::El(_)))
            {
                let mut e = seed.clone();
                at(&mut e, parent).kids.swap(last, next);
                push(format!("swap {here} with next"), e);
            }
            // wrong namespace on this child
            let mut e = seed.clone();
            at(&mut e, path)
                .attrs
                .push(("xmlns".into(), "urn:daiko:wrong".into()));
            push(format!("wrong namespace on {here}"), e);
        } else {
            // wrong namespace on the root (replace the default namespace declaration)
            let mut e = seed.clone();
            for (n, v) in e.attrs.iter_mut() {
                if n == "xmlns" {
                    *v = "urn:daiko:wrong".into();
                }
            }
            push("wrong namespace on root".into(), e);
            let mut e = seed.clone();
            e.attrs.retain(|(n, _)| n != "xmlns");
            push("no namespace on root".into(), e);
        }
        // unknown element as first and as last child
        for (pos, tag) in [("first", "<daikoUnknown/>"), ("last", "<daikoUnknown/>")] {
            let mut e = seed.clone();
            let target = at(&mut e, path);
            let unknown = El {
                name: "daikoUnknown".into(),
                attrs: vec![],
                kids: vec![],
            };
            let _ = tag;
            if pos == "first" {
                target.kids.insert(0, Kid::El(unknown));
            } else {
                target.kids.push(Kid::El(unknown));
            }
            push(format!("unknown element as {pos} child of {here}"), e);
        }
        // unknown attribute
        let mut e = seed.clone();
        at(&mut e, path)
            .attrs
            .push(("daikoUnknown".into(), "1".into()));
        push(format!("unknown attribute on {here}"), e);
        // foreign, xml: and xsi: attributes
        for (an, av, decl) in [
            ("daiko:x", "1", Some(("xmlns:daiko", "urn:daiko:other"))),
            ("xml:lang", "ja", None),
            (
                "xsi:nil",
                "true",
                Some(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")),
            ),
        ] {
            let mut e = seed.clone();
            let target = at(&mut e, path);
            if let Some((dn, dv)) = decl
                && !target.attrs.iter().any(|(n, _)| n == dn)
            {
                target.attrs.push((dn.into(), dv.into()));
            }
            target.attrs.push((an.into(), av.into()));
            push(format!("{an} on {here}"), e);
        }
        // an xsi:type on an element that has none
        if !at_ref(seed, path)
            .attrs
            .iter()
            .any(|(n, _)| n == "xsi:type")
        {
            let candidates: &[&str] = match schema {
                Schema::CheckupCda | Schema::GuidanceCda => &[
                    "CD",
                    "CE",
                    "II",
                    "ST",
                    "IVL_TS",
                    "POCD_MT000040.Organization",
                ],
                _ => &[
                    "Common.TotalMonetaryAmount",
                    "Common.MonetaryAmount",
                    "Common.Date",
                    "Common.UnitPriceWithDetailObservation",
                ],
            };
            for t in candidates {
                let mut e = seed.clone();
                let target = at(&mut e, path);
                if !target.attrs.iter().any(|(n, _)| n == "xmlns:xsi") {
                    target.attrs.push((
                        "xmlns:xsi".into(),
                        "http://www.w3.org/2001/XMLSchema-instance".into(),
                    ));
                }
                target.attrs.push(("xsi:type".into(), (*t).into()));
                push(format!("xsi:type {t} on {here}"), e);
            }
        }
        // text as first child, and whitespace-only content
        let mut e = seed.clone();
        at(&mut e, path).kids.insert(0, Kid::Text("x".into()));
        push(format!("text in {here}"), e);
        let mut e = seed.clone();
        at(&mut e, path).kids.insert(0, Kid::Text(" ".into()));
        push(format!("whitespace in {here}"), e);
        // replace the text of elements that carry text
        let el = at_ref(seed, path);
        let has_text = el
            .kids
            .iter()
            .any(|k| matches!(k, Kid::Text(t) if !t.trim().is_empty()));
        if has_text {
            for bad in BAD_TEXTS {
                let mut e = seed.clone();
                let t = at(&mut e, path);
                t.kids.retain(|k| matches!(k, Kid::El(_)));
                t.kids.insert(0, Kid::Text((*bad).into()));
                push(format!("text of {here} = {bad:?}"), e);
            }
        }
        // attributes
        for (i, (an, _)) in el.attrs.iter().enumerate() {
            if !first {
                break;
            }
            if an == "xmlns" || an.starts_with("xmlns:") || local(an) == "schemaLocation" {
                continue;
            }
            let mut e = seed.clone();
            at(&mut e, path).attrs.remove(i);
            push(format!("remove {here}/@{an}"), e);
            if an == "xsi:type" {
                for t in XSI_TYPES {
                    let mut e = seed.clone();
                    at(&mut e, path).attrs[i].1 = (*t).into();
                    push(format!("{here}/@{an} = {t}"), e);
                }
                continue;
            }
            for bad in BAD_VALUES {
                let mut e = seed.clone();
                at(&mut e, path).attrs[i].1 = (*bad).into();
                push(format!("{here}/@{an} = {bad:?}"), e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Extra seeds (invented) reaching parts of the claim schemas the examples do not use
// ---------------------------------------------------------------------------------------------

/// A checkup claim with adjudication results, a 人間ドック charge, other-item prices and
/// (in the 2024 variant) a 枝番. `{NS}` is replaced by the namespace, `{BRANCH}` by the
/// branch element or nothing.
const EXTRA_CHECKUP_CLAIM: &str = r#"<checkupClaim xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <encounter><serviceEventType code="3"/></encounter>
  <subjectPerson>
    <performerOrganization><id root="1.2.392.200119.6.102" extension="9910000026"/></performerOrganization>
    <insuranceCard>
      <insurerNumber root="1.2.392.200119.6.101" extension="39990019"/>
      <number root="1.2.392.200119.6.205" extension="777"/>{BRANCH}
    </insuranceCard>
    <name>ミホン　ハナコ</name>
    <addr><postalCode>123-4567</postalCode>架空県</addr>
    <birthTime value="19600131"/>
    <administrativeGender code="2"/>
  </subjectPerson>
  <checkupCard>
    <effectiveTime><high value="20241231"/></effectiveTime>
    <chargeTypeBasic code="3"><rate value="000030" unit="%"/></chargeTypeBasic>
    <chargeTypeOther code="4"/>
    <chargeTypeHumanDryDock>
      <copayment code="2"><rate value="000010"/></copayment>
      <maxInsuranceLimit code="4"><amount value="005000" currency="JPY"/></maxInsuranceLimit>
    </chargeTypeHumanDryDock>
  </checkupCard>
  <settlement>
    <claimType code="5"/>
    <commissionType code="2"/>
    <unitPriceDetail><amount value="100"/><observation code="1"/></unitPriceDetail>
    <unitPriceDetail><amount value="200"/><observation code="3"/></unitPriceDetail>
    <unitPriceOther><amount value="300"/><observation code="9A110160700000011" codeSystem="1.2.392.200119.6.1005"/></unitPriceOther>
    <unitPriceOther><amount value="400"/></unitPriceOther>
    <paymentForOther><amount value="000100"/></paymentForOther>
    <unitAmount value="1000"/>
    <paymentAmount value="100"/>
    <paymentByOtherProgram value="0"/>
    <claimAmount value="900"/>
  </settlement>
  <agencyAdjudicationResult>
    <interactionType code="4"/>
    <recordDate value="20240410"/>
    <reason code="01"><text>記載誤り</text></reason>
  </agencyAdjudicationResult>
  <insurerAdjudicationResult>
    <interactionType code="5"/>
    <recordDate value="20240501"/>
    <reason/>
  </insurerAdjudicationResult>
</checkupClaim>"#;

/// A guidance claim with the optional parts the example leaves out.
const EXTRA_GUIDANCE_CLAIM: &str = r#"<healthGuidanceClaim xmlns="{NS}">
  <encounter><serviceEventType code="2"/><guidanceLevel code="2"/><guidanceTiming code="4"/></encounter>
  <subjectPerson>
    <performerOrganization><id root="1.2.392.200119.6.102" extension="9910000026"/></performerOrganization>
    <insuranceCard>
      <insurerNumber root="1.2.392.200119.6.101" extension=""/>
      <symbol root="1.2.392.200119.6.204" extension="A"/>
      <number root="1.2.392.200119.6.205" extension="1"/>{BRANCH}
    </insuranceCard>
    <name/>
    <addr><postalCode>999-9999</postalCode></addr>
    <birthTime value="19991231"/>
    <administrativeGender code="1"/>
  </subjectPerson>
  <healthGuidanceCard>
    <copayment code="2"><amount value="001500"/></copayment>
    <maxInsuranceLimit><amount value="010000"/></maxInsuranceLimit>
  </healthGuidanceCard>
  <settlement>
    <unitPrice><amount value="30000"/></unitPrice>
    <paymentRate value="100"/>
    <pointCountCompleted value="9999"/>
    <pointCountIntended value="0"/>
    <calculatedAmount value="30000"/>
    <payment><status code="1"/><amount value="1500"/></payment>
    <claimAmount value="28500"/>
  </settlement>
  <insurerAdjudicationResult>
    <interactionType code="13"/>
    <recordDate value="20240229"/>
    <reason code="09"/>
  </insurerAdjudicationResult>
</healthGuidanceClaim>"#;

/// An index without receiver, and an index with a large count.
const EXTRA_INDEX: &str = r#"<index xmlns="{NS}"><interactionType code="13"/><creationTime value="20240101"/><sender><id root="1.2.392.200119.6.103" extension="99000010"/></sender><receiver><id root="1.2.392.200119.6.105" extension="12345678"/></receiver><serviceEventType code="4"/><totalRecordCount value="999999"/></index>"#;

/// A checkup CDA (invented) reaching the data types, the narrative block and the CDA classes
/// the example leaves out.
const EXTRA_CHECKUP_CDA: &str = r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" classCode="DOCCLIN" moodCode="EVN">
  <realmCode code="JP"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="1.2.392.200119.6.1009" extension="1"/>
  <id root="1.2.392.200119.6.102" extension="9910000026"/>
  <code code="10" codeSystem="1.2.392.200119.6.1001" displayName="特定健診情報"/>
  <title>特定健診結果</title>
  <effectiveTime value="20240415"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="ja-JP"/>
  <recordTarget typeCode="RCT" contextControlCode="OP">
    <patientRole classCode="PAT">
      <id root="1.2.392.200119.6.101" extension="39990019"/>
      <addr use="H">架空県<postalCode>100-0001</postalCode><city>見本市</city></addr>
      <telecom value="tel:00-1111-2222" use="H"/>
      <patient classCode="PSN" determinerCode="INSTANCE">
        <name use="SYL"><family>ミホン</family><given qualifier="CL">ハナコ</given></name>
        <administrativeGenderCode code="2" codeSystem="1.2.392.200119.6.1104"/>
        <birthTime value="19600131"/>
      </patient>
      <providerOrganization><name>見本事業所</name></providerOrganization>
    </patientRole>
  </recordTarget>
  <author typeCode="AUT">
    <time value="202404151030+0900"/>
    <assignedAuthor classCode="ASSIGNED">
      <id root="1.2.392.200119.6.102" extension="9910000026"/>
      <code code="1" codeSystem="1.2.392.200119.6.9999"/>
      <telecom value="mailto:info@example.invalid"/>
      <assignedAuthoringDevice><softwareName code="X" codeSystem="1.2.3">見本ソフト</softwareName></assignedAuthoringDevice>
      <representedOrganization classCode="ORG"><id root="1.2.392.200119.6.102" extension="9910000026"/><name>見本クリニック<suffix>分院</suffix></name></representedOrganization>
    </assignedAuthor>
  </author>
  <dataEnterer>
    <time value="20240415"/>
    <assignedEntity><id nullFlavor="UNK"/><assignedPerson><name>入力者</name></assignedPerson></assignedEntity>
  </dataEnterer>
  <custodian>
    <assignedCustodian>
      <representedCustodianOrganization><id root="1.2.392.200119.6.102" extension="9910000026"/><name>見本クリニック</name><telecom value="tel:00-0000-0000"/><addr><streetAddressLine>架空町1</streetAddressLine></addr></representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <informationRecipient typeCode="PRCP">
    <intendedRecipient classCode="ASSIGNED"><id root="1.2.392.200119.6.101" extension="39990019"/><receivedOrganization><name>見本保険者</name></receivedOrganization></intendedRecipient>
  </informationRecipient>
  <participant typeCode="HLD">
    <functionCode code="1" codeSystem="1.2.392.200119.6.208"/>
    <time><low value="20240401" inclusive="true"/><high value="20250331"/></time>
    <associatedEntity classCode="IDENT">
      <id root="1.2.392.200119.6.209.139990019" extension="24100000009"/>
      <scopingOrganization><id root="1.2.392.200119.6.101" extension="39990019"/></scopingOrganization>
    </associatedEntity>
  </participant>
  <documentationOf typeCode="DOC">
    <serviceEvent classCode="ACT" moodCode="EVN">
      <code code="010" codeSystem="1.2.392.200119.6.1002"/>
      <effectiveTime><center value="20240415"/></effectiveTime>
      <performer typeCode="PRF">
        <functionCode code="X"/>
        <time><width value="1" unit="d"/></time>
        <assignedEntity><id root="1.2.392.200119.6.102" extension="9910000026"/></assignedEntity>
      </performer>
    </serviceEvent>
  </documentationOf>
  <component typeCode="COMP" contextConductionInd="true">
    <structuredBody classCode="DOCBODY" moodCode="EVN">
      <component>
        <section ID="sec1" classCode="DOCSECT" moodCode="EVN">
          <id root="1.2.3.4" extension="s1"/>
          <code code="01010" codeSystem="1.2.392.200119.6.1010"/>
          <title>結果</title>
          <text mediaType="text/x-hl7-text+xml" styleCode="Bold">所見<content ID="c1" revised="insert">あり<sub>2</sub></content><br/><footnoteRef IDREF="c1"/>
            <paragraph><caption>注</caption>本文<linkHtml href="http://example.invalid">リンク</linkHtml></paragraph>
            <list listType="ordered"><item>一</item><item><caption>二</caption>二</item></list>
            <table border="1" frame="box" rules="all"><caption>表</caption><col span="1" align="left"/><thead><tr><th scope="col">項目</th></tr></thead><tbody valign="top"><tr><td rowspan="1">値<sup>*</sup></td></tr></tbody></table>
            <renderMultiMedia referencedObject="c1"/>
          </text>
          <author><time value="20240415"/><assignedAuthor><id nullFlavor="NI"/><assignedPerson><name>医師</name></assignedPerson></assignedAuthor></author>
          <entry typeCode="COMP">
            <observation classCode="OBS" moodCode="EVN" negationInd="false">
              <id root="1.2.3" extension="o1"/>
              <code code="9N001000000000001" codeSystem="1.2.392.200119.6.1005" displayName="身長"><originalText>身長</originalText><translation code="8302-2" codeSystem="2.16.840.1.113883.6.1"/></code>
              <text mediaType="text/plain" language="ja">メモ</text>
              <statusCode code="completed"/>
              <effectiveTime value="20240415"/>
              <value xsi:type="PQ" value="160.5" unit="cm"><translation value="63.2" code="[in_i]" codeSystem="2.16.840.1.113883.6.8"/></value>
              <interpretationCode code="N" codeSystem="2.16.840.1.113883.5.83"/>
              <methodCode code="9N00100000" codeSystem="1.2.392.200119.6.1007"/>
              <targetSiteCode code="X"/>
              <specimen typeCode="SPC"><specimenRole classCode="SPEC"><id root="1.2.3.9"/><specimenPlayingEntity><code code="BLD"/><quantity value="5" unit="mL"/></specimenPlayingEntity></specimenRole></specimen>
              <performer><assignedEntity><id nullFlavor="NI"/></assignedEntity></performer>
              <participant typeCode="DEV"><participantRole classCode="MANU"><playingEntity classCode="DEV"><name>測定器</name></playingEntity><scopingEntity classCode="ORG"><desc>製造者</desc></scopingEntity></participantRole></participant>
              <entryRelationship typeCode="COMP" inversionInd="false">
                <sequenceNumber value="1"/>
                <seperatableInd value="true"/>
                <observation classCode="OBS" moodCode="EVN"><code code="X1"/><value xsi:type="IVL_PQ"><low value="1" unit="mg/dL"/><high value="2" unit="mg/dL" inclusive="false"/></value></observation>
              </entryRelationship>
              <referenceRange typeCode="REFV"><observationRange classCode="OBS" moodCode="EVN.CRT"><code code="R"/><text>基準</text><value xsi:type="IVL_PQ"><low value="150"/><width value="50" unit="cm"/></value><interpretationCode code="N"/></observationRange></referenceRange>
            </observation>
          </entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="A"/><value xsi:type="CD" code="1" codeSystem="1.2.392.200119.6.2001"><qualifier inverted="false"><name code="q"/><value code="v"/></qualifier></value></observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="B"/><value xsi:type="CO" code="1" codeSystem="1.2.392.200119.6.2002"/></observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="C"/><value xsi:type="ST">所見なし</value></observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="D"/><value xsi:type="INT" value="3"/><value xsi:type="REAL" value="1.5e3"/><value xsi:type="BL" value="true"/></observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="E"/><value xsi:type="RTO_PQ_PQ"><numerator value="1" unit="mg"/><denominator value="1" unit="dL"/></value><value xsi:type="RTO"><numerator xsi:type="INT" value="1"/><denominator xsi:type="PQ" value="2"/></value></observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="F"/><value xsi:type="IVL_TS"><low value="2024"/></value><value xsi:type="PIVL_TS" alignment="D"><period value="1" unit="d"/></value><value xsi:type="EIVL_TS"><event code="AC"/><offset><low value="1" unit="h"/></offset></value></observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="G"/><value xsi:type="II" root="1.2.3" extension="x"/><value xsi:type="TEL" value="tel:0"><useablePeriod value="2024"/></value><value xsi:type="AD">住所<country>JP</country></value><value xsi:type="PN"><family>姓</family></value><value xsi:type="ON">組織</value><value xsi:type="ED" representation="B64" mediaType="image/png">iVBORw0KGgo=</value><value xsi:type="MO" value="100" currency="JPY"/><value xsi:type="SC" code="a">文</value></observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code code="H"/><value xsi:type="IVL_INT"><low value="1"/><high value="3"/></value><value xsi:type="IVL_REAL"><center value="1.5"/></value><value xsi:type="IVL_MO"><high value="10" currency="JPY"/></value><value xsi:type="SXPR_TS"><comp value="2024"/><comp xsi:type="IVL_TS" operator="A"><low value="2024"/></comp></value><value xsi:type="UVP_TS" value="2024" probability="0.5"/><value xsi:type="GLIST_PQ" period="2"><head value="1"/><increment value="1"/></value><value xsi:type="SLIST_PQ"><origin value="0"/><scale value="1"/><digits>1 2 3</digits></value><value xsi:type="HXIT_CE" code="x"><validTime><low value="2024"/></validTime></value><value xsi:type="BXIT_CD" qty="2" code="y"/><value xsi:type="PPD_PQ" value="1" distributionType="N"><standardDeviation value="0.1"/></value><value xsi:type="CE" code="z"/><value xsi:type="CS" code="w"/><value xsi:type="CV" code="v"/><value xsi:type="TS" value="2024"/><value xsi:type="BN" value="false"/><value xsi:type="EN">名</value><value xsi:type="TN">名</value></observation></entry>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>"#;

/// A guidance CDA (invented) with act and organizer entries, two ticket participants and the
/// hg08-only rules.
const EXTRA_GUIDANCE_CDA: &str = r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="1.2.3.4"/>
  <id nullFlavor="NI"/>
  <code code="20" codeSystem="1.2.392.200119.6.1001"/>
  <effectiveTime value="20240801"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="en-US"/>
  <recordTarget>
    <patientRole>
      <id root="1.2.392.200119.6.101" extension="39990019"/>
      <patient><name>ミホンハナコ</name><administrativeGenderCode code="2" codeSystem="1.2.392.200119.6.1104"/><birthTime value="19600131"/></patient>
    </patientRole>
  </recordTarget>
  <author><time value="20240801"/><assignedAuthor><id nullFlavor="NI"/><representedOrganization><id root="1.2.392.200119.6.102" extension="9910000026"/></representedOrganization></assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization><id nullFlavor="NI"/></representedCustodianOrganization></assignedCustodian></custodian>
  <participant typeCode="HLD">
    <associatedEntity classCode="IDENT"><id root="1.2.392.200119.6.210.139990019" extension="24200000001"/></associatedEntity>
  </participant>
  <participant typeCode="HLD">
    <associatedEntity classCode="IDENT"><id root="1.2.392.200119.6.209.139990019" extension="24100000009"/></associatedEntity>
  </participant>
  <documentationOf>
    <serviceEvent>
      <code code="020" codeSystem="1.2.392.200119.6.1002"><translation code="x"/></code>
      <effectiveTime><low value="20240801"/></effectiveTime>
    </serviceEvent>
  </documentationOf>
  <component>
    <structuredBody>
      <component>
        <section>
          <code code="90010" codeSystem="1.2.392.200119.6.1010"/>
          <text/>
          <entry>
            <observation classCode="OBS" moodCode="EVN"><code code="1020000001" codeSystem="1.2.392.200119.6.1006"/><value xsi:type="CD" code="1" codeSystem="1.2.392.200119.6.2"/></observation>
          </entry>
          <entry>
            <act classCode="ACT" moodCode="EVN">
              <code code="1032100000" codeSystem="1.2.392.200119.6.1006"/>
              <statusCode code="completed"/>
              <effectiveTime value="20240801"/>
              <priorityCode code="R"/>
              <languageCode code="ja"/>
              <performer><assignedEntity><id nullFlavor="NI"/></assignedEntity></performer>
              <entryRelationship typeCode="COMP">
                <observation classCode="OBS" moodCode="GOL"><code code="1032200000"/><value xsi:type="PQ" value="3" unit="kg"/><methodCode code="m"><originalText>x</originalText></methodCode></observation>
              </entryRelationship>
              <entryRelationship typeCode="SUBJ">
                <act classCode="ACT" moodCode="INT"><code code="1032300000"/></act>
              </entryRelationship>
            </act>
          </entry>
          <entry>
            <organizer classCode="CLUSTER" moodCode="EVN">
              <code code="90070"/>
              <statusCode code="completed"/>
              <component><sequenceNumber value="1"/><observation classCode="OBS" moodCode="EVN"><code code="1042000000"/><value xsi:type="INT" value="180"/></observation></component>
              <component><observation classCode="OBS" moodCode="EVN"><code code="1042100000"/><value xsi:type="INT" value="6"/></observation></component>
            </organizer>
          </entry>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>"#;

fn extra_seeds() -> Vec<(String, String, Schema, SchemaSet)> {
    let mut out = vec![
        (
            "extra checkup CDA".to_string(),
            EXTRA_CHECKUP_CDA.to_string(),
            Schema::CheckupCda,
            SchemaSet::V2018,
        ),
        (
            "extra guidance CDA".to_string(),
            EXTRA_GUIDANCE_CDA.to_string(),
            Schema::GuidanceCda,
            SchemaSet::V2018,
        ),
    ];
    let branch = r#"
      <branchCode root="1.2.392.200119.6.211" extension="01"/>"#;
    for (label, text, schema) in [
        (
            "extra checkupClaim",
            EXTRA_CHECKUP_CLAIM,
            Schema::CheckupClaim,
        ),
        (
            "extra healthGuidanceClaim",
            EXTRA_GUIDANCE_CLAIM,
            Schema::GuidanceClaim,
        ),
        ("extra index", EXTRA_INDEX, Schema::Index),
    ] {
        out.push((
            format!("{label} (2018)"),
            text.replace("{NS}", NS_2018).replace("{BRANCH}", ""),
            schema,
            SchemaSet::V2018,
        ));
        out.push((
            format!("{label} (2024)"),
            text.replace("{NS}", NS_2024).replace("{BRANCH}", branch),
            schema,
            SchemaSet::V2024,
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Corpus and xmllint
// ---------------------------------------------------------------------------------------------

fn schema_of(doc: &roxmltree::Document<'_>) -> Option<(Schema, SchemaSet)> {
    let root = doc.root_element();
    let ns = root.tag_name().namespace()?;
    let set = match ns {
        NS_2018 => SchemaSet::V2018,
        NS_2024 => SchemaSet::V2024,
        CDA_NS => SchemaSet::V2018,
        _ => return None,
    };
    let schema = match root.tag_name().name() {
        "index" => Schema::Index,
        "summary" => Schema::Summary,
        "checkupClaim" => Schema::CheckupClaim,
        "healthGuidanceClaim" => Schema::GuidanceClaim,
        "ClinicalDocument" => {
            let code = root
                .children()
                .find(|n| n.has_tag_name((CDA_NS, "code")))
                .and_then(|n| n.attribute("code"))
                .unwrap_or("");
            if code.starts_with('2') {
                Schema::GuidanceCda
            } else {
                Schema::CheckupCda
            }
        }
        _ => return None,
    };
    Some((schema, set))
}

fn xsd_file(schema: Schema, set: SchemaSet) -> PathBuf {
    let dir = match set {
        SchemaSet::V2018 => "2018",
        SchemaSet::V2024 => "2024",
    };
    let file = match schema {
        Schema::Index => "ix08_V08.xsd",
        Schema::Summary => "su08_V08.xsd",
        Schema::CheckupClaim => "cc08_V08.xsd",
        Schema::GuidanceClaim => "gc08_V08.xsd",
        Schema::CheckupCda => "hc08_V08.xsd",
        Schema::GuidanceCda => "hg08_V08.xsd",
    };
    shared().join("reference/xsd").join(dir).join(file)
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "xml") {
            out.push(p);
        }
    }
}

/// Runs xmllint once per schema over all files; returns file → (valid, messages).
fn xmllint_verdicts(xsd: &Path, files: &[PathBuf]) -> HashMap<PathBuf, (bool, String)> {
    let mut verdicts = HashMap::new();
    for chunk in files.chunks(2000) {
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(xsd)
            .args(chunk)
            .output()
            .expect("xmllint runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut messages: HashMap<&str, String> = HashMap::new();
        for line in stderr.lines() {
            for f in chunk {
                let fs = f.to_str().unwrap_or("");
                if let Some(rest) = line.strip_prefix(fs) {
                    if rest == " validates" {
                        verdicts.insert(f.clone(), (true, String::new()));
                    } else if rest == " fails to validate" {
                        let m = messages.remove(fs).unwrap_or_default();
                        verdicts.insert(f.clone(), (false, m));
                    } else if rest.starts_with(':') {
                        let m = messages.entry(fs).or_default();
                        m.push_str(line);
                        m.push('\n');
                    }
                    break;
                }
            }
        }
    }
    verdicts
}

#[test]
fn daiko_agrees_with_xmllint_on_every_document() {
    let shared = shared();
    if !shared.join("spec/examples").is_dir() || !shared.join("reference/xsd").is_dir() {
        eprintln!(
            "SKIP: {} not found; the differential test needs the shared spec",
            shared.display()
        );
        return;
    }
    if !have_xmllint() {
        eprintln!("SKIP: xmllint not installed; the differential test needs it");
        return;
    }

    let mut seeds: Vec<PathBuf> = Vec::new();
    for sub in ["checkup", "guidance"] {
        xml_files(&shared.join("spec/examples").join(sub), &mut seeds);
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut cases = Corpus {
        dir: tmp.path().to_path_buf(),
        entries: Vec::new(),
    };
    for path in &seeds {
        let src = std::fs::read_to_string(path).expect("example readable");
        let doc = roxmltree::Document::parse(&src).expect("example parses");
        let Some((schema, set)) = schema_of(&doc) else {
            continue;
        };
        if !covered(schema) {
            continue;
        }
        let tree = build(doc.root_element(), &src);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        mutations(&tree, &name, schema, set, &mut cases);
        if doc.root_element().tag_name().namespace() == Some(NS_2018) {
            let src24 = src.replace(NS_2018, NS_2024);
            let doc24 = roxmltree::Document::parse(&src24).expect("variant parses");
            let tree24 = build(doc24.root_element(), &src24);
            mutations(
                &tree24,
                &format!("{name} (2024)"),
                schema,
                SchemaSet::V2024,
                &mut cases,
            );
        }
    }
    // every CDA seed, unchanged, against the other profile and against the 2024 copies
    let mut cda_seeds: Vec<(String, String, Schema)> = extra_seeds()
        .into_iter()
        .filter(|(_, _, s, _)| matches!(s, Schema::CheckupCda | Schema::GuidanceCda))
        .map(|(l, t, s, _)| (l, t, s))
        .collect();
    for path in &seeds {
        let src = std::fs::read_to_string(path).expect("example readable");
        if let Ok(doc) = roxmltree::Document::parse(&src)
            && let Some((schema @ (Schema::CheckupCda | Schema::GuidanceCda), _)) = schema_of(&doc)
        {
            cda_seeds.push((path.display().to_string(), src.clone(), schema));
        }
    }
    for (label, text, schema) in cda_seeds {
        let other = if schema == Schema::CheckupCda {
            Schema::GuidanceCda
        } else {
            Schema::CheckupCda
        };
        for (s, set) in [
            (other, SchemaSet::V2018),
            (schema, SchemaSet::V2024),
            (other, SchemaSet::V2024),
        ] {
            cases.push(Case {
                label: format!("{label} as {s:?} {set:?}"),
                text: text.clone(),
                schema: s,
                set,
            });
        }
    }
    // any globally declared element is a valid root for an XML Schema processor
    let lone_roots = [
        r#"<interactionType code="1"/>"#,
        r#"<amount value="1"/>"#,
        r#"<creationTime value="20240101"/>"#,
        r#"<totalSubjectCount value="1"/>"#,
        r#"<checkupCardId root="1.2.392.200119.6.209" extension="24100000001"/>"#,
        r#"<unitPrice><amount value="1"/></unitPrice>"#,
        r#"<branchCode root="1.2.392.200119.6.211" extension="01"/>"#,
        r#"<high value="20240101"/>"#,
        r#"<postalCode>123-4567</postalCode>"#,
        r#"<text>理由</text>"#,
    ];
    for root in lone_roots {
        for (ns, set) in [(NS_2018, SchemaSet::V2018), (NS_2024, SchemaSet::V2024)] {
            // the namespace goes right after the root's name
            let name_end = root.find([' ', '>', '/']).unwrap_or(root.len());
            let text = format!(r#"{} xmlns="{ns}"{}"#, &root[..name_end], &root[name_end..]);
            for schema in [
                Schema::Index,
                Schema::Summary,
                Schema::CheckupClaim,
                Schema::GuidanceClaim,
            ] {
                cases.push(Case {
                    label: format!("lone root {text}"),
                    text: text.clone(),
                    schema,
                    set,
                });
            }
        }
    }
    for (label, text, schema, set) in extra_seeds() {
        let doc = roxmltree::Document::parse(&text).expect("extra seed parses");
        let tree = build(doc.root_element(), &text);
        mutations(&tree, &label, schema, set, &mut cases);
    }
    if let Ok(dir) = std::env::var("DAIKO_SCHEMA_DIFF_DIR") {
        let mut extra = Vec::new();
        xml_files(Path::new(&dir), &mut extra);
        eprintln!(
            "adding {} documents from DAIKO_SCHEMA_DIFF_DIR={dir}",
            extra.len()
        );
        // DAIKO_SCHEMA_DIFF_MUTATE=N: the first N of these documents are mutated like the seeds
        let mut mutate_extra: usize = std::env::var("DAIKO_SCHEMA_DIFF_MUTATE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        for path in extra {
            let Ok(src) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(doc) = roxmltree::Document::parse(&src) else {
                continue;
            };
            let Some((schema, set)) = schema_of(&doc) else {
                continue;
            };
            if mutate_extra > 0 {
                mutate_extra -= 1;
                let tree = build(doc.root_element(), &src);
                mutations(&tree, &path.display().to_string(), schema, set, &mut cases);
            } else {
                cases.push(Case {
                    label: path.display().to_string(),
                    text: src,
                    schema,
                    set,
                });
            }
        }
    }

    let mut groups: HashMap<(Schema, SchemaSet), Vec<usize>> = HashMap::new();
    for (i, e) in cases.entries.iter().enumerate() {
        groups.entry((e.schema, e.set)).or_default().push(i);
    }
    let mut disagreements = Vec::new();
    let mut valid_count = 0;
    for ((schema, set), indices) in &groups {
        let paths: Vec<PathBuf> = indices
            .iter()
            .map(|&i| cases.entries[i].path.clone())
            .collect();
        let verdicts = xmllint_verdicts(&xsd_file(*schema, *set), &paths);
        for &i in indices {
            let case = &cases.entries[i];
            let p = &case.path;
            let Some((lint_ok, lint_msg)) = verdicts.get(p) else {
                disagreements.push(format!("{}: xmllint gave no verdict", case.label));
                continue;
            };
            let found = match &case.daiko {
                Ok(found) => found,
                Err(e) => {
                    disagreements.push(format!("{}: roxmltree cannot parse: {e}", case.label));
                    continue;
                }
            };
            if *lint_ok {
                valid_count += 1;
            }
            if found.is_empty() != *lint_ok {
                disagreements.push(format!(
                    "{} [{:?} {:?}] ({})\n  xmllint: {}\n{}  daiko: {}\n{}",
                    case.label,
                    schema,
                    set,
                    p.display(),
                    if *lint_ok { "valid" } else { "invalid" },
                    lint_msg
                        .lines()
                        .map(|l| format!("    {l}\n"))
                        .collect::<String>(),
                    if found.is_empty() { "valid" } else { "invalid" },
                    found.join("\n")
                ));
            }
        }
    }
    eprintln!(
        "differential corpus: {} documents ({} valid per xmllint), {} disagreements",
        cases.len(),
        valid_count,
        disagreements.len()
    );
    if !disagreements.is_empty() {
        let shown: Vec<&String> = disagreements.iter().take(40).collect();
        let _keep = tmp.keep();
        panic!(
            "daiko and xmllint disagree on {} of {} documents (first {} shown):\n{}",
            disagreements.len(),
            cases.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(
        cases.len() > 1000,
        "the corpus should hold thousands of documents, has {}",
        cases.len()
    );
}

/// Schemas whose native rules exist.
fn covered(_schema: Schema) -> bool {
    true
}
