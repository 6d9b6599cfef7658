//! Stage X — XML parsing, schema and namespace of one file (X-01 … X-05), and reading it
//! into the typed model once it is sound enough.

use crate::catalogue::finding;
use crate::finding::Finding;
use daiko_format::error::FormatError;
use daiko_format::flat;
use daiko_format::model::{DocumentKind, Generation};
use daiko_format::read::{self, ParseLimits};
use daiko_format::tree::{XmlDocument, XmlNode};
use daiko_schema::{Schema, SchemaSet};

use crate::config::XmlReader;

/// Most schema violations reported per file; the rest are summarised in one line.
const MAX_VIOLATIONS_PER_FILE: usize = 20;

/// What the folder and name of a file say it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Index,
    Summary,
    /// `DATA/…`: a CDA.
    Data,
    /// `CLAIMS/…`: a claim.
    Claim,
}

/// A file that passed X-01 … X-05 far enough to be read.
pub struct Parsed<'a> {
    pub doc: roxmltree::Document<'a>,
    pub kind: DocumentKind,
    /// Generation of a non-CDA file (`None` for a CDA).
    pub generation: Option<Generation>,
    /// Whether X-02 found violations (the file is then returned/rejected, but may still be
    /// read for the report's identity fields).
    pub schema_violations: usize,
}

/// What X-02 … X-05 made of a parsed file that can be read.
#[derive(Debug, Clone, Copy)]
pub struct Classified {
    pub kind: DocumentKind,
    /// Generation of a non-CDA file (`None` for a CDA).
    pub generation: Option<Generation>,
    /// How many violations X-02 found.
    pub schema_violations: usize,
}

/// Decodes, parses and classifies one file, pushing
/// findings, then validates it. `archive_generation` is the generation the index
/// set (for the index itself: `None`). Returns `None` when the file cannot be used.
/// Parses with roxmltree (the index and the summary); the DATA and CLAIMS files go
/// through [`check_file`].
pub fn parse_file<'a>(
    file: &str,
    bytes: &'a [u8],
    expected: Expected,
    archive_generation: Option<Generation>,
    limits: &ParseLimits,
    out: &mut Vec<Finding>,
) -> Option<Parsed<'a>> {
    let text = decode_file(file, bytes, out)?;
    let doc = parse_reference(file, text, limits, out)?;
    let c = classify(file, &doc, expected, archive_generation, out)?;
    Some(Parsed {
        doc,
        kind: c.kind,
        generation: c.generation,
        schema_violations: c.schema_violations,
    })
}

/// Reads a classified document into what the record checks need; written once for both
/// trees ([`daiko_format::tree`]).
pub trait TreeReader {
    type Out;
    fn read<D: XmlDocument>(&self, doc: &D, kind: DocumentKind) -> Self::Out;
}

/// [`parse_file`] and then `reader`, on daiko's flat tree ([`daiko_format::flat`]) when
/// `xml` allows it. The flat tree is used only where it gives exactly what roxmltree's
/// gives: when the flat reader refuses the text (anything unusual or malformed), or a
/// reader marks its answer inexact ([`XmlDocument::is_inexact`]), the findings made on
/// it are dropped and the file is done again on roxmltree's tree, which then decides
/// (X-01 and its message included).
#[allow(clippy::too_many_arguments)]
pub fn check_file<R: TreeReader>(
    file: &str,
    bytes: &[u8],
    expected: Expected,
    archive_generation: Option<Generation>,
    limits: &ParseLimits,
    xml: XmlReader,
    out: &mut Vec<Finding>,
    reader: &R,
) -> Option<(Classified, R::Out)> {
    let text = decode_file(file, bytes, out)?;
    // roxmltree refuses a document of more nodes than the limit, and the flat tree has
    // fewer nodes (no layout); below this size no document can reach the limit.
    if xml == XmlReader::Flat
        && text.len() < limits.max_nodes as usize
        && let Ok(doc) = flat::parse(text, limits)
    {
        let before = out.len();
        let done = classify(file, &doc, expected, archive_generation, out)
            .map(|c| (c, reader.read(&doc, c.kind)));
        if !doc.is_inexact() {
            return done;
        }
        out.truncate(before);
    }
    let doc = parse_reference(file, text, limits, out)?;
    let c = classify(file, &doc, expected, archive_generation, out)?;
    let read = reader.read(&doc, c.kind);
    Some((c, read))
}

/// The text of a file, or an A-10 finding.
fn decode_file<'a>(file: &str, bytes: &'a [u8], out: &mut Vec<Finding>) -> Option<&'a str> {
    match read::decode(bytes) {
        Ok(t) => Some(t),
        Err(e) => {
            out.push(finding(
                "A-10",
                file,
                "1:1",
                "",
                &format!("XMLがUTF-8ではありません({e})"),
                &format!("The XML is not UTF-8 ({e})"),
            ));
            None
        }
    }
}

/// roxmltree's tree of a text, or an X-01 finding.
fn parse_reference<'a>(
    file: &str,
    text: &'a str,
    limits: &ParseLimits,
    out: &mut Vec<Finding>,
) -> Option<roxmltree::Document<'a>> {
    match read::parse(text, limits) {
        Ok(d) => Some(d),
        Err(e) => {
            let location = match &e {
                FormatError::NotWellFormed { line, column, .. } => format!("{line}:{column}"),
                _ => String::new(),
            };
            out.push(finding(
                "X-01",
                file,
                &location,
                "",
                &format!("XMLとして正しくありません({e})"),
                &format!("The XML is not well-formed ({e})"),
            ));
            None
        }
    }
}

/// on a parsed document.
fn classify<D: XmlDocument>(
    file: &str,
    doc: &D,
    expected: Expected,
    archive_generation: Option<Generation>,
    out: &mut Vec<Finding>,
) -> Option<Classified> {
    let root = doc.root();
    let root_name = root.name().to_string();
    let root_ns = root.namespace().unwrap_or("").to_string();
    let (kind, generation) = match read::kind_of(doc) {
        Ok(k) => k,
        Err(_) => {
            let known_ns = root_ns == daiko_format::model::NS_HL7
                || Generation::from_namespace(&root_ns).is_some();
            if known_ns {
                out.push(finding(
                    "X-04",
                    file,
                    &format!("/{root_name}"),
                    &root_name,
                    &format!("ルート要素 {root_name} はこのファイルの種類として使えません"),
                    &format!("The root element {root_name} is not a document kind of this place"),
                ));
            } else {
                out.push(namespace_finding(file, &root_name, &root_ns));
            }
            return None;
        }
    };
    // the root matches the folder / the fixed name.
    let fits = matches!(
        (expected, kind),
        (Expected::Index, DocumentKind::Index)
            | (Expected::Summary, DocumentKind::Summary)
            | (
                Expected::Data,
                DocumentKind::CheckupCda | DocumentKind::GuidanceCda
            )
            | (
                Expected::Claim,
                DocumentKind::CheckupClaim | DocumentKind::GuidanceClaim
            )
    );
    if !fits {
        let f = finding(
            "X-04",
            file,
            &format!("/{root_name}"),
            &root_name,
            &format!("この場所のファイルのルート要素が {root_name} です"),
            &format!("A file in this place has the root element {root_name}"),
        );
        out.push(reject_at_archive_level_if_fixed_file(f, expected));
        return None;
    }
    // a file of the other generation.
    if let (Some(g), Some(a)) = (generation, archive_generation)
        && g != a
    {
        out.push(finding(
            "X-03",
            file,
            &format!("/{root_name}"),
            &root_ns,
            &format!(
                "名前空間が交換用基本情報({}年様式)と異なる様式のものです",
                a.as_str()
            ),
            &format!(
                "The namespace belongs to another generation than the index ({} set)",
                a.as_str()
            ),
        ));
        return None;
    }
    // the schema location, when given, names a V08 schema.
    if let Some(loc) = root.attribute(Some(daiko_format::model::NS_XSI), "schemaLocation") {
        let xsd = loc.split_whitespace().last().unwrap_or("");
        if !xsd.ends_with("_V08.xsd") {
            out.push(finding(
                "X-05",
                file,
                &format!("/{root_name}/@xsi:schemaLocation"),
                loc,
                &format!("スキーマの版がV08ではありません({xsd})"),
                &format!("The schema location is not a V08 schema ({xsd})"),
            ));
            return None;
        }
    }
    // daiko's own copy of the schema rules.
    let set = match generation.or(archive_generation) {
        Some(Generation::G2018) => SchemaSet::V2018,
        _ => SchemaSet::V2024,
    };
    let violations = daiko_schema::validate(doc, set, schema_of(kind));
    for v in violations.iter().take(MAX_VIOLATIONS_PER_FILE) {
        out.push(finding(
            "X-02",
            file,
            &if v.path.is_empty() {
                format!("{}:{}", v.line, v.column)
            } else {
                v.path.clone()
            },
            "",
            &format!(
                "スキーマに合いません({}行{}列: {})",
                v.line, v.column, v.message
            ),
            &format!(
                "Not valid against the schema (line {}, column {}: {})",
                v.line, v.column, v.message
            ),
        ));
    }
    if violations.len() > MAX_VIOLATIONS_PER_FILE {
        let more = violations.len() - MAX_VIOLATIONS_PER_FILE;
        out.push(finding(
            "X-02",
            file,
            "",
            "",
            &format!("ほかに{more}件のスキーマ違反があります"),
            &format!("{more} more schema violations"),
        ));
    }
    Some(Classified {
        kind,
        generation,
        schema_violations: violations.len(),
    })
}

/// The X-03 finding for an unknown namespace.
fn namespace_finding(file: &str, root_name: &str, root_ns: &str) -> Finding {
    finding(
        "X-03",
        file,
        &format!("/{root_name}"),
        root_ns,
        &format!("名前空間「{root_ns}」は使えません"),
        &format!("The namespace \"{root_ns}\" is not allowed"),
    )
}

/// An X-04 on the index or the summary rejects the archive (nothing can be read).
fn reject_at_archive_level_if_fixed_file(mut f: Finding, expected: Expected) -> Finding {
    if matches!(expected, Expected::Index | Expected::Summary) {
        crate::catalogue::apply_override(&mut f, crate::finding::Outcome::AR);
    }
    f
}

/// The schema of a document kind.
pub fn schema_of(kind: DocumentKind) -> Schema {
    match kind {
        DocumentKind::Index => Schema::Index,
        DocumentKind::Summary => Schema::Summary,
        DocumentKind::CheckupCda => Schema::CheckupCda,
        DocumentKind::GuidanceCda => Schema::GuidanceCda,
        DocumentKind::CheckupClaim => Schema::CheckupClaim,
        DocumentKind::GuidanceClaim => Schema::GuidanceClaim,
    }
}

/// A finding for a reader failure (the tree could not be mapped to the model): X-02.
pub fn reader_failure(file: &str, e: &FormatError) -> Finding {
    let location = match e {
        FormatError::Structure { path, .. } => path.clone(),
        _ => String::new(),
    };
    finding(
        "X-02",
        file,
        &location,
        "",
        &format!("ファイルの構造が様式に合いません({e})"),
        &format!("The file structure does not match the format ({e})"),
    )
}
