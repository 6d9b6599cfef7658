//! Readers: bytes → checked text → `roxmltree` document → typed model.
//!
//! The engine parses each file once ([`parse`]) and hands the same tree to the schema
//! validator and to the typed readers below, so nothing is parsed twice.
//!
//! Readers are lenient about what rules forbid (wrong codes, unpadded amounts, missing
//! optional parts): they keep what is there for the checks. They fail only when the tree
//! cannot be mapped at all (wrong root), with [`FormatError`].
//!
//! Elements are matched by local name whatever prefix or namespace they carry (the kind
//! and namespace were already judged by [`kind_of`] and the schema check); attributes
//! are matched unqualified, as the schemas declare them. A required element that is
//! missing reads as the model's default (an empty string), so the checks can report it.

use crate::error::FormatError;
use crate::model::*;
use crate::tree::{XmlDocument, XmlNode};
use crate::xml::Element;

/// Limits applied while parsing one XML document.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting accepted. The CDA needs about 15 levels; keep this small,
    /// because the owned body trees ([`crate::xml::Element`]) are built and dropped
    /// recursively.
    pub max_depth: usize,
    /// Most nodes (elements, attributes, text) accepted.
    pub max_nodes: u32,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bytes: 8 << 20,
            max_depth: 64,
            max_nodes: 200_000,
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Checks that `bytes` are UTF-8 (a UTF-8 BOM is allowed and skipped), that the XML
/// declaration, if any, names UTF-8, and returns the text.
pub fn decode(bytes: &[u8]) -> Result<&str, FormatError> {
    let (body, skipped) = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, UTF8_BOM.len()),
        None => (bytes, 0),
    };
    if body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF") {
        return Err(FormatError::Encoding(
            "UTF-16 byte order mark at byte 0; only UTF-8 is accepted".into(),
        ));
    }
    // The declaration is ASCII, so it can be judged before the whole text is validated:
    // a Shift_JIS file is then reported by its declared name, not by a byte offset.
    if let Some(enc) = declared_encoding(body)
        && !enc.eq_ignore_ascii_case(b"UTF-8")
    {
        return Err(FormatError::Encoding(format!(
            "the XML declaration names encoding \"{}\"; only UTF-8 is accepted",
            String::from_utf8_lossy(enc)
        )));
    }
    // A vector validator for the usual valid text; std's on failure, for the position.
    if let Ok(text) = simdutf8::basic::from_utf8(body) {
        return Ok(text);
    }
    std::str::from_utf8(body).map_err(|e| {
        FormatError::Encoding(format!(
            "invalid UTF-8 byte sequence at byte offset {}",
            e.valid_up_to() + skipped
        ))
    })
}

/// The `encoding` pseudo-attribute of the XML declaration at the start of `body`, if any.
fn declared_encoding(body: &[u8]) -> Option<&[u8]> {
    let rest = body.strip_prefix(b"<?xml")?;
    if !rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
        return None;
    }
    // A declaration is short; bound the search so a huge first line costs nothing.
    let window = &rest[..rest.len().min(512)];
    let end = window.windows(2).position(|w| w == b"?>")?;
    let decl = &window[..end];
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let mut i = at + 8;
    while decl.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    if decl.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while decl.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    let quote = *decl.get(i).filter(|q| **q == b'"' || **q == b'\'')?;
    let start = i + 1;
    let len = decl.get(start..)?.iter().position(|b| *b == quote)?;
    decl.get(start..start + len)
}

/// Parses text into a tree: no DTD (DOCTYPE is an error), entity and node limits, depth limit.
///
/// `roxmltree` parses iteratively and stops at the node limit, so the depth is judged on
/// the finished tree (one walk over its nodes). When the parser fails, the markup scan
/// ([`prescan`]) runs first on the text, so a hostile document is reported by what it
/// is (a DOCTYPE, nesting too deep) rather than by where the parser gave up.
pub fn parse<'a>(
    text: &'a str,
    limits: &ParseLimits,
) -> Result<roxmltree::Document<'a>, FormatError> {
    if text.len() > limits.max_bytes {
        return Err(FormatError::TooLarge {
            size: text.len() as u64,
            limit: limits.max_bytes as u64,
        });
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..Default::default()
    };
    match roxmltree::Document::parse_with_options(text, options) {
        Ok(doc) => {
            check_depth(&doc, text, limits.max_depth)?;
            Ok(doc)
        }
        Err(e) => {
            prescan(text, limits.max_depth)?;
            let pos = e.pos();
            let message = match e {
                roxmltree::Error::DtdDetected => "DOCTYPE is not allowed".to_string(),
                roxmltree::Error::NodesLimitReached => {
                    format!("the document has more than {} nodes", limits.max_nodes)
                }
                other => other.to_string(),
            };
            Err(FormatError::NotWellFormed {
                line: pos.row,
                column: pos.col,
                message,
            })
        }
    }
}

/// Rejects a parsed document whose elements nest deeper than `max_depth`, at the first
/// start tag that goes too deep, exactly as [`prescan`] would (an empty-element tag
/// `<x/>` opens no level). Walks the tree without recursion.
fn check_depth(
    doc: &roxmltree::Document<'_>,
    text: &str,
    max_depth: usize,
) -> Result<(), FormatError> {
    let root = doc.root_element();
    let mut node = root;
    let mut depth = 1usize;
    loop {
        if depth > max_depth && node.is_element() {
            let range = node.range();
            let empty_tag = text.get(range.end.saturating_sub(2)..range.end) == Some("/>");
            if !empty_tag {
                let (line, column) = line_col(text, range.start);
                return Err(FormatError::NotWellFormed {
                    line,
                    column,
                    message: format!("elements nested deeper than {max_depth} levels"),
                });
            }
        }
        // Plain child/sibling/parent links (text, comment and PI nodes are visited too:
        // they have no children) are much cheaper than the element-filtering ones.
        if let Some(first) = node.first_child() {
            node = first;
            depth += 1;
            continue;
        }
        loop {
            if node == root {
                return Ok(());
            }
            if let Some(next) = node.next_sibling() {
                node = next;
                break;
            }
            match node.parent() {
                Some(parent) => {
                    node = parent;
                    depth -= 1;
                }
                None => return Ok(()),
            }
        }
    }
}

/// A linear, non-recursive scan of the markup that finds a DOCTYPE and nesting deeper
/// than `max_depth` in text the real parser rejected. It only counts tags; anything
/// malformed is left for the parser to report.
fn prescan(text: &str, max_depth: usize) -> Result<(), FormatError> {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    let mut depth = 0usize;
    while i < n {
        let Some(off) = memchr::memchr(b'<', &b[i..]) else {
            break;
        };
        let lt = i + off;
        let rest = &b[lt..];
        match rest.get(1) {
            Some(b'!') => {
                if rest.starts_with(b"<!--") {
                    i = skip_past(b, lt + 4, b"-->");
                } else if rest.starts_with(b"<![CDATA[") {
                    i = skip_past(b, lt + 9, b"]]>");
                } else {
                    let (line, column) = line_col(text, lt);
                    let message = if rest.len() >= 9 && rest[2..9].eq_ignore_ascii_case(b"DOCTYPE")
                    {
                        "DOCTYPE is not allowed (no DTD, entity declarations or external references)"
                    } else {
                        "markup declarations are not allowed"
                    };
                    return Err(FormatError::NotWellFormed {
                        line,
                        column,
                        message: message.into(),
                    });
                }
            }
            Some(b'?') => i = skip_past(b, lt + 2, b"?>"),
            Some(b'/') => {
                depth = depth.saturating_sub(1);
                i = skip_past(b, lt + 2, b">");
            }
            _ => {
                // Start tag: its end is the first `>` outside quoted attribute values.
                let mut j = lt + 1;
                let end = loop {
                    let Some(off) = memchr::memchr3(b'>', b'"', b'\'', &b[j..]) else {
                        break None;
                    };
                    let at = j + off;
                    let c = b[at];
                    if c == b'>' {
                        break Some(at);
                    }
                    match memchr::memchr(c, &b[at + 1..]) {
                        Some(close) => j = at + 1 + close + 1,
                        None => break None,
                    }
                };
                // An unterminated tag is the parser's to report.
                let Some(end) = end else { break };
                if b[end - 1] != b'/' {
                    depth += 1;
                    if depth > max_depth {
                        let (line, column) = line_col(text, lt);
                        return Err(FormatError::NotWellFormed {
                            line,
                            column,
                            message: format!("elements nested deeper than {max_depth} levels"),
                        });
                    }
                }
                i = end + 1;
            }
        }
    }
    Ok(())
}

/// The index just after the first `pat` at or after `from` (or the end of `b`).
fn skip_past(b: &[u8], from: usize, pat: &[u8]) -> usize {
    let hit = match pat {
        [single] => b.get(from..).and_then(|s| memchr::memchr(*single, s)),
        _ => b.get(from..).and_then(|s| memchr::memmem::find(s, pat)),
    };
    match hit {
        Some(p) => from + p + pat.len(),
        None => b.len(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Tells the kind of a document from its root element and namespace (and, for a CDA, its
/// 報告区分), and the generation for non-CDA kinds (`None` for CDA documents).
pub fn kind_of<D: XmlDocument>(doc: &D) -> Result<(DocumentKind, Option<Generation>), FormatError> {
    let root = doc.root();
    let name = root.name();
    let ns = root.namespace().unwrap_or("");
    let unknown = || FormatError::UnknownRoot {
        namespace: ns.to_string(),
        name: name.to_string(),
    };
    if ns == NS_HL7 {
        if name != "ClinicalDocument" {
            return Err(unknown());
        }
        // 報告区分 `code/@code` is an HL7 `cs` (an xs:token): leading blanks collapse.
        let guidance = child(root, "code")
            .and_then(|c| c.attribute(None, "code"))
            .is_some_and(|c| {
                c.trim_start_matches([' ', '\t', '\n', '\r'])
                    .starts_with('2')
            });
        let kind = if guidance {
            DocumentKind::GuidanceCda
        } else {
            DocumentKind::CheckupCda
        };
        return Ok((kind, None));
    }
    let generation = Generation::from_namespace(ns).ok_or_else(unknown)?;
    let kind = match name {
        "index" => DocumentKind::Index,
        "summary" => DocumentKind::Summary,
        "checkupClaim" => DocumentKind::CheckupClaim,
        "healthGuidanceClaim" => DocumentKind::GuidanceClaim,
        _ => return Err(unknown()),
    };
    Ok((kind, Some(generation)))
}

// ---------------------------------------------------------------------------------------
// Small tree helpers
// ---------------------------------------------------------------------------------------

/// The first child element with this local name.
fn child<'a, N: XmlNode<'a>>(n: N, name: &str) -> Option<N> {
    n.children().find(|c| c.is_named(name))
}

/// All child elements with this local name.
fn children<'a, N: XmlNode<'a>>(n: N, name: &'a str) -> impl Iterator<Item = N> + 'a {
    n.children().filter(move |c| c.is_named(name))
}

/// Follows a path of local names from `n`.
fn at<'a, N: XmlNode<'a>>(n: N, path: &[&str]) -> Option<N> {
    let mut cur = n;
    for name in path {
        cur = child(cur, name)?;
    }
    Some(cur)
}

/// An attribute of an optional element, or the empty string.
fn attr<'a, N: XmlNode<'a>>(n: Option<N>, name: &str) -> String {
    n.and_then(|n| n.attribute(None, name))
        .unwrap_or_default()
        .to_string()
}

/// An attribute of an optional element, when present.
fn opt_attr<'a, N: XmlNode<'a>>(n: Option<N>, name: &str) -> Option<String> {
    n.and_then(|n| n.attribute(None, name)).map(str::to_string)
}

/// An attribute value as XML Schema sees it when its type collapses white space
/// (`xs:token`-derived codes, `xs:integer` counts and amounts): blanks (space, tab, CR, LF)
/// at either end removed and inner runs made one space. xmllint accepts `code=" 1 "` as
/// `1`, so the checks must judge it as `1`. Types derived from `xs:string` (dates, OIDs,
/// ids, 6-digit window amounts and rates, free text) preserve white space: they are read
/// with [`attr`], as written, so a blank there is still reported.
pub(crate) fn collapse(v: &str) -> String {
    collapsed(v).into_owned()
}

/// [`collapse`] without a copy when nothing is to change inside the value (the common
/// case, also when only outer blanks are trimmed): the checker's hot path reads every
/// CDA value through it.
pub(crate) fn collapsed(v: &str) -> std::borrow::Cow<'_, str> {
    const BLANKS: [char; 4] = [' ', '\t', '\n', '\r'];
    // One pass over the bytes for the usual value (no outer blank, no tab/CR/LF, no double
    // space): the profile showed trim + two `contains` scans at ≈ 2 % of the checker.
    let mut after_space = true;
    let mut plain = !v.is_empty();
    for &b in v.as_bytes() {
        match b {
            b' ' if after_space => {
                plain = false;
                break;
            }
            b' ' => after_space = true,
            b'\t' | b'\n' | b'\r' => {
                plain = false;
                break;
            }
            _ => after_space = false,
        }
    }
    if plain && !after_space {
        return std::borrow::Cow::Borrowed(v);
    }
    let t = v.trim_matches(BLANKS);
    if !t.contains(['\t', '\n', '\r']) && !t.contains("  ") {
        return std::borrow::Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    for word in t.split(BLANKS).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    std::borrow::Cow::Owned(out)
}

/// An attribute of an optional element whose type collapses white space, collapsed
/// ([`collapse`]), or the empty string.
fn token_attr<'a, N: XmlNode<'a>>(n: Option<N>, name: &str) -> String {
    n.and_then(|n| n.attribute(None, name))
        .map(collapse)
        .unwrap_or_default()
}

/// An attribute whose type collapses white space, collapsed, when present.
fn opt_token_attr<'a, N: XmlNode<'a>>(n: Option<N>, name: &str) -> Option<String> {
    n.and_then(|n| n.attribute(None, name)).map(collapse)
}

/// The direct text of an element (text nodes joined, as written). Layout text the flat
/// tree keeps no node for is part of it: such a tree is marked inexact.
fn text_of<'a, N: XmlNode<'a>>(n: N) -> String {
    if n.dropped_text() {
        n.mark_inexact();
    }
    let mut texts = n
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text());
    let Some(first) = texts.next() else {
        return String::new();
    };
    let mut s = first.to_string();
    for t in texts {
        s.push_str(t);
    }
    s
}

fn id_of<'a, N: XmlNode<'a>>(n: Option<N>) -> Id {
    Id {
        root: attr(n, "root"),
        extension: attr(n, "extension"),
    }
}

fn opt_id<'a, N: XmlNode<'a>>(n: Option<N>) -> Option<Id> {
    n.map(|n| id_of(Some(n)))
}

/// A `Common.MonetaryAmount` / `Common.TotalMonetaryAmount`: `@value` is an `xs:integer`
/// and `@currency` a token (`Code.Currency`); both collapse.
fn money_of<'a, N: XmlNode<'a>>(n: Option<N>) -> Money {
    Money {
        value: token_attr(n, "value"),
        currency: opt_token_attr(n, "currency"),
    }
}

fn opt_money<'a, N: XmlNode<'a>>(n: Option<N>) -> Option<Money> {
    n.map(|n| money_of(Some(n)))
}

/// A `Common.ChargeMonetaryAmount` (window amounts): `@value` is `chargeMonetaryAmount`,
/// an `xs:string` pattern `[0-9]{6}` that keeps blanks (kept as written); `@currency`
/// collapses.
fn charge_money_of<'a, N: XmlNode<'a>>(n: Option<N>) -> Money {
    Money {
        value: attr(n, "value"),
        currency: opt_token_attr(n, "currency"),
    }
}

/// The code of a claim's `Common.OtherObservation`: `@code` is `codedSimpleValue`
/// (`xs:token`), `@codeSystem` an OID (`xs:string`).
fn claim_code_of<'a, N: XmlNode<'a>>(n: Option<N>) -> Code {
    Code {
        code: token_attr(n, "code"),
        code_system: opt_attr(n, "codeSystem"),
        display_name: opt_attr(n, "displayName"),
    }
}

/// A CDA code (`CD`/`CE`/`CS`): `@code` is an HL7 `cs` (`xs:token`) and collapses;
/// `@codeSystem` (`uid`) and `@displayName` (`st`) are `xs:string`s, kept as written.
fn code_of<'a, N: XmlNode<'a>>(n: Option<N>) -> Code {
    Code {
        code: token_attr(n, "code"),
        code_system: opt_attr(n, "codeSystem"),
        display_name: opt_attr(n, "displayName"),
    }
}

fn address_of<'a, N: XmlNode<'a>>(n: N) -> Address {
    Address {
        text: text_of(n).trim().to_string(),
        postal_code: child(n, "postalCode").map(text_of),
    }
}

fn expect_root<'a, D: XmlDocument>(doc: &'a D, name: &str) -> Result<D::Node<'a>, FormatError> {
    let root = doc.root();
    if root.name() == name {
        Ok(root)
    } else {
        Err(FormatError::Structure {
            path: format!("/{}", root.name()),
            message: format!("expected the root element {name}"),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Index and summary
// ---------------------------------------------------------------------------------------

/// Reads an `index` root.
pub fn read_index<D: XmlDocument>(doc: &D) -> Result<Index, FormatError> {
    let r = expect_root(doc, "index")?;
    Ok(Index {
        interaction_type: token_attr(child(r, "interactionType"), "code"),
        creation_time: attr(child(r, "creationTime"), "value"),
        sender: id_of(at(r, &["sender", "id"])),
        receiver: child(r, "receiver").map(|rc| id_of(child(rc, "id"))),
        service_event_type: token_attr(child(r, "serviceEventType"), "code"),
        total_record_count: token_attr(child(r, "totalRecordCount"), "value"),
    })
}

/// Reads a `summary` root.
pub fn read_summary<D: XmlDocument>(doc: &D) -> Result<Summary, FormatError> {
    let r = expect_root(doc, "summary")?;
    Ok(Summary {
        service_event_type: token_attr(child(r, "serviceEventType"), "code"),
        total_subject_count: token_attr(child(r, "totalSubjectCount"), "value"),
        total_cost_amount: money_of(child(r, "totalCostAmount")),
        total_payment_amount: money_of(child(r, "totalPaymentAmount")),
        total_payment_by_other_program: opt_money(child(r, "totalPaymentByOtherProgram")),
        total_claim_amount: money_of(child(r, "totalClaimAmount")),
    })
}

// ---------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------

fn subject_of<'a, N: XmlNode<'a>>(n: Option<N>) -> SubjectPerson {
    let Some(n) = n else {
        return SubjectPerson::default();
    };
    let card = child(n, "insuranceCard");
    SubjectPerson {
        performer_organization: id_of(at(n, &["performerOrganization", "id"])),
        insurance_card: InsuranceCard {
            insurer_number: id_of(card.and_then(|c| child(c, "insurerNumber"))),
            symbol: opt_id(card.and_then(|c| child(c, "symbol"))),
            number: id_of(card.and_then(|c| child(c, "number"))),
            branch: opt_id(card.and_then(|c| child(c, "branchCode"))),
        },
        name: child(n, "name").map(text_of).unwrap_or_default(),
        addr: child(n, "addr").map(address_of).unwrap_or_default(),
        birth_time: attr(child(n, "birthTime"), "value"),
        gender: token_attr(child(n, "administrativeGender"), "code"),
    }
}

fn charge_of<'a, N: XmlNode<'a>>(n: N) -> Charge {
    Charge {
        code: token_attr(Some(n), "code"),
        amount: child(n, "amount").map(|a| charge_money_of(Some(a))),
        rate: child(n, "rate").map(|r| Rate {
            // chargeRate: xs:string [0-9]{6}, kept as written; Code.Unit collapses.
            value: attr(Some(r), "value"),
            unit: opt_token_attr(Some(r), "unit"),
        }),
    }
}

fn adjudication_of<'a, N: XmlNode<'a>>(n: N) -> Adjudication {
    let reason = child(n, "reason");
    Adjudication {
        interaction_type: token_attr(child(n, "interactionType"), "code"),
        record_date: attr(child(n, "recordDate"), "value"),
        reason_code: token_attr(reason, "code"),
        reason_text: reason.and_then(|r| child(r, "text")).map(text_of),
    }
}

fn expiry_of<'a, N: XmlNode<'a>>(card: N) -> Option<String> {
    child(card, "effectiveTime").map(|e| attr(child(e, "high"), "value"))
}

/// Reads a `checkupClaim` root.
pub fn read_checkup_claim<D: XmlDocument>(doc: &D) -> Result<CheckupClaim, FormatError> {
    let r = expect_root(doc, "checkupClaim")?;
    let card = child(r, "checkupCard");
    let card = match card {
        None => CheckupCard::default(),
        Some(c) => CheckupCard {
            id: opt_id(child(c, "id")),
            expiry: expiry_of(c),
            charge_basic: child(c, "chargeTypeBasic").map(charge_of),
            charge_detail: child(c, "chargeTypeDetail").map(charge_of),
            charge_other: child(c, "chargeTypeOther").map(charge_of),
            charge_dock: child(c, "chargeTypeHumanDryDock").map(|d| DockCharge {
                copayment: child(d, "copayment").map(charge_of),
                max_insurance_limit: child(d, "maxInsuranceLimit").map(charge_of),
            }),
        },
    };
    let settlement = match child(r, "settlement") {
        None => CheckupSettlement::default(),
        Some(s) => CheckupSettlement {
            claim_type: token_attr(child(s, "claimType"), "code"),
            commission_type: token_attr(child(s, "commissionType"), "code"),
            unit_price_basic: child(s, "unitPriceBasic").map(|u| money_of(child(u, "amount"))),
            unit_price_detail: children(s, "unitPriceDetail")
                .map(|u| DetailPrice {
                    amount: money_of(child(u, "amount")),
                    code: token_attr(child(u, "observation"), "code"),
                })
                .collect(),
            unit_price_other: children(s, "unitPriceOther")
                .map(|u| OtherPrice {
                    amount: money_of(child(u, "amount")),
                    item: child(u, "observation").map(|o| claim_code_of(Some(o))),
                })
                .collect(),
            // Common.Payment: a 6-digit window amount.
            payment_for_basic: child(s, "paymentForBasic")
                .map(|p| charge_money_of(child(p, "amount"))),
            payment_for_detail: child(s, "paymentForDetail")
                .map(|p| charge_money_of(child(p, "amount"))),
            payment_for_other: child(s, "paymentForOther")
                .map(|p| charge_money_of(child(p, "amount"))),
            unit_amount: money_of(child(s, "unitAmount")),
            payment_amount: money_of(child(s, "paymentAmount")),
            payment_by_other_program: opt_money(child(s, "paymentByOtherProgram")),
            claim_amount: money_of(child(s, "claimAmount")),
        },
    };
    Ok(CheckupClaim {
        service_event_type: token_attr(at(r, &["encounter", "serviceEventType"]), "code"),
        subject: subject_of(child(r, "subjectPerson")),
        card,
        settlement,
        agency_adjudication: child(r, "agencyAdjudicationResult").map(adjudication_of),
        insurer_adjudication: child(r, "insurerAdjudicationResult").map(adjudication_of),
    })
}

/// Reads a `healthGuidanceClaim` root.
pub fn read_guidance_claim<D: XmlDocument>(doc: &D) -> Result<GuidanceClaim, FormatError> {
    let r = expect_root(doc, "healthGuidanceClaim")?;
    let encounter = child(r, "encounter");
    let card = match child(r, "healthGuidanceCard") {
        None => GuidanceCard::default(),
        Some(c) => GuidanceCard {
            id: opt_id(child(c, "id")),
            checkup_card_id: opt_id(child(c, "checkupCardId")),
            expiry: expiry_of(c),
            copayment: child(c, "copayment").map(charge_of),
            max_insurance_limit: child(c, "maxInsuranceLimit").map(charge_of),
        },
    };
    let settlement = match child(r, "settlement") {
        None => GuidanceSettlement::default(),
        Some(s) => {
            let rate = child(s, "paymentRate");
            let payment = child(s, "payment");
            GuidanceSettlement {
                unit_price: money_of(at(s, &["unitPrice", "amount"])),
                // Common.Percentage: `percentage` is an xs:integer, Code.Unit a token.
                payment_rate: Rate {
                    value: token_attr(rate, "value"),
                    unit: opt_token_attr(rate, "unit"),
                },
                point_count_completed: child(s, "pointCountCompleted")
                    .map(|p| token_attr(Some(p), "value")),
                point_count_intended: child(s, "pointCountIntended")
                    .map(|p| token_attr(Some(p), "value")),
                calculated_amount: money_of(child(s, "calculatedAmount")),
                payment_status: token_attr(payment.and_then(|p| child(p, "status")), "code"),
                payment_amount: money_of(payment.and_then(|p| child(p, "amount"))),
                claim_amount: money_of(child(s, "claimAmount")),
            }
        }
    };
    Ok(GuidanceClaim {
        service_event_type: token_attr(
            encounter.and_then(|e| child(e, "serviceEventType")),
            "code",
        ),
        guidance_level: token_attr(encounter.and_then(|e| child(e, "guidanceLevel")), "code"),
        guidance_timing: token_attr(encounter.and_then(|e| child(e, "guidanceTiming")), "code"),
        subject: subject_of(child(r, "subjectPerson")),
        card,
        settlement,
        agency_adjudication: child(r, "agencyAdjudicationResult").map(adjudication_of),
        insurer_adjudication: child(r, "insurerAdjudicationResult").map(adjudication_of),
    })
}

// ---------------------------------------------------------------------------------------
// CDA
// ---------------------------------------------------------------------------------------

/// An organisation (`representedOrganization`, `scopingOrganization`).
fn organization_of<'a, N: XmlNode<'a>>(n: N) -> CdaOrganization {
    let id = child(n, "id").filter(|i| {
        i.attribute(None, "root").is_some() || i.attribute(None, "extension").is_some()
    });
    CdaOrganization {
        id: id.map(|i| id_of(Some(i))),
        name: child(n, "name").map(text_of),
        telecom: child(n, "telecom")
            .and_then(|t| t.attribute(None, "value"))
            .map(str::to_string),
        addr: child(n, "addr").map(address_of),
    }
}

fn patient_of<'a, N: XmlNode<'a>>(n: Option<N>) -> Patient {
    let Some(role) = n else {
        return Patient::default();
    };
    let person = child(role, "patient");
    Patient {
        // An `id` with neither root nor extension is a nullFlavor placeholder, not an id.
        ids: children(role, "id")
            .filter(|i| {
                i.attribute(None, "root").is_some() || i.attribute(None, "extension").is_some()
            })
            .map(|i| id_of(Some(i)))
            .collect(),
        addr: child(role, "addr").map(address_of),
        name: person
            .and_then(|p| child(p, "name"))
            .map(text_of)
            .unwrap_or_default(),
        gender: code_of(person.and_then(|p| child(p, "administrativeGenderCode"))),
        birth_time: attr(person.and_then(|p| child(p, "birthTime")), "value"),
    }
}

fn voucher_of<'a, N: XmlNode<'a>>(n: N) -> VoucherParticipant {
    let entity = child(n, "associatedEntity");
    VoucherParticipant {
        function_code: token_attr(child(n, "functionCode"), "code"),
        expiry: child(n, "time")
            .and_then(|t| child(t, "high"))
            .map(|h| attr(Some(h), "value")),
        id: id_of(entity.and_then(|e| child(e, "id"))),
        scoping_organization: opt_id(entity.and_then(|e| at(e, &["scopingOrganization", "id"]))),
    }
}

fn section_of<'a, N: XmlNode<'a>>(n: N, with_entries: bool) -> Section {
    Section {
        code: code_of(child(n, "code")),
        title: child(n, "title").map(text_of),
        text: child(n, "text").map(Element::from_xml),
        entries: if with_entries {
            children(n, "entry").map(Element::from_xml).collect()
        } else {
            Vec::new()
        },
    }
}

/// The `section` of each `component/structuredBody/component` of a `ClinicalDocument`
/// root, in order (the sections of [`read_cda`]).
pub(crate) fn body_sections<'a, N: XmlNode<'a>>(root: N) -> impl Iterator<Item = N> + 'a {
    at(root, &["component", "structuredBody"])
        .into_iter()
        .flat_map(|body| children(body, "component"))
        .filter_map(|c| child(c, "section"))
}

/// The section code (`code/@code`, a `cs`: collapsed) as [`read_cda`] reads it.
pub(crate) fn section_code<'a, N: XmlNode<'a>>(section: N) -> String {
    token_attr(child(section, "code"), "code")
}

/// Reads a `ClinicalDocument` root (checkup or guidance).
pub fn read_cda<D: XmlDocument>(doc: &D) -> Result<ClinicalDocument, FormatError> {
    read_cda_with(doc, true)
}

/// Reads a `ClinicalDocument` root like [`read_cda`], but leaves every section's
/// `entries` empty (section code, title and narrative are read). Building the owned
/// entries is most of the cost of reading a checkup document; a caller that needs only
/// the observations takes them from the same parsed tree with
/// [`crate::cda::observations_in`], which gives what [`crate::cda::observations`] gives
/// on the full read.
pub fn read_cda_without_entries<D: XmlDocument>(doc: &D) -> Result<ClinicalDocument, FormatError> {
    read_cda_with(doc, false)
}

fn read_cda_with<D: XmlDocument>(
    doc: &D,
    with_entries: bool,
) -> Result<ClinicalDocument, FormatError> {
    let r = expect_root(doc, "ClinicalDocument")?;
    let type_id = child(r, "typeId");
    let service_event = at(r, &["documentationOf", "serviceEvent"]).map(|se| ServiceEvent {
        code: code_of(child(se, "code")),
        effective_time: attr(child(se, "effectiveTime"), "value"),
        performer: at(
            se,
            &["performer", "assignedEntity", "representedOrganization"],
        )
        .map(organization_of),
    });
    let sections = body_sections(r)
        .map(|s| section_of(s, with_entries))
        .collect();
    Ok(ClinicalDocument {
        type_id: id_of(type_id),
        template_ids: children(r, "templateId").map(|t| id_of(Some(t))).collect(),
        code: child(r, "code").map(|c| code_of(Some(c))),
        title: child(r, "title").map(text_of),
        effective_time: attr(child(r, "effectiveTime"), "value"),
        confidentiality: code_of(child(r, "confidentialityCode")),
        language: opt_token_attr(child(r, "languageCode"), "code"),
        patient: patient_of(at(r, &["recordTarget", "patientRole"])),
        authors: children(r, "author")
            .map(|a| CdaAuthor {
                time: attr(child(a, "time"), "value"),
                organization: at(a, &["assignedAuthor", "representedOrganization"])
                    .map(organization_of)
                    .unwrap_or_default(),
            })
            .collect(),
        vouchers: children(r, "participant")
            .filter(|p| {
                p.attribute(None, "typeCode")
                    .is_some_and(|t| collapsed(t) == "HLD")
            })
            .map(voucher_of)
            .collect(),
        service_event,
        sections,
    })
}

/// Convenience: decode, parse with default limits, and read whatever kind it is.
pub fn read_document(bytes: &[u8]) -> Result<Document, FormatError> {
    let text = decode(bytes)?;
    let doc = parse(text, &ParseLimits::default())?;
    let (kind, _) = kind_of(&doc)?;
    Ok(match kind {
        DocumentKind::Index => Document::Index(read_index(&doc)?),
        DocumentKind::Summary => Document::Summary(read_summary(&doc)?),
        DocumentKind::CheckupCda | DocumentKind::GuidanceCda => {
            Document::Cda(Box::new(read_cda(&doc)?))
        }
        DocumentKind::CheckupClaim => Document::CheckupClaim(Box::new(read_checkup_claim(&doc)?)),
        DocumentKind::GuidanceClaim => {
            Document::GuidanceClaim(Box::new(read_guidance_claim(&doc)?))
        }
    })
}

#[cfg(test)]
mod tests {
    //! Hostile and unusual input: every case is an error or a lenient read, never a panic.
    use super::*;

    fn parse_default(text: &str) -> Result<roxmltree::Document<'_>, FormatError> {
        parse(text, &ParseLimits::default())
    }

    /// The error names the offset std's validator finds (the vector validator only says
    /// whether the text is valid), after a BOM and in long texts with Japanese characters.
    #[test]
    fn decode_reports_the_first_invalid_byte() {
        let mut text = "<a>".to_string();
        for _ in 0..40 {
            text.push_str("特定健診 abc ");
        }
        let good = text.clone().into_bytes();
        assert_eq!(decode(&good).ok(), Some(text.as_str()));
        for cut in [3, 100, good.len() - 1] {
            for bom in [false, true] {
                let mut bad = if bom { UTF8_BOM.to_vec() } else { Vec::new() };
                bad.extend_from_slice(&good);
                let at = cut + if bom { 3 } else { 0 };
                bad.insert(at, 0xC3);
                bad.insert(at + 1, b'(');
                let expected = std::str::from_utf8(&bad[if bom { 3 } else { 0 }..])
                    .map_err(|e| e.valid_up_to())
                    .err()
                    .map(|v| v + if bom { 3 } else { 0 });
                let Err(FormatError::Encoding(message)) = decode(&bad) else {
                    panic!("invalid UTF-8 accepted");
                };
                assert_eq!(
                    message,
                    format!(
                        "invalid UTF-8 byte sequence at byte offset {}",
                        expected.unwrap_or(usize::MAX)
                    )
                );
            }
        }
    }

    const INDEX_2007: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<index xmlns="http://tokuteikenshin.jp/checkup/2007">
  <interactionType code="1"/>
  <creationTime value="20230620"/>
  <sender><id root="1.2.392.200119.6.102" extension="9910000018"/></sender>
  <serviceEventType code="1"/>
  <totalRecordCount value="2"/>
</index>"#;

    #[test]
    fn doctype_with_entities_is_rejected_as_not_well_formed() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<index xmlns="http://tokuteikenshin.jp/checkup/2007">&lol2;</index>"#;
        match parse_default(laughs) {
            Err(FormatError::NotWellFormed { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("DOCTYPE is not allowed"), "{message}");
            }
            other => panic!("expected NotWellFormed, got {other:?}"),
        }
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>";
        assert!(matches!(
            parse_default(xxe),
            Err(FormatError::NotWellFormed { .. })
        ));
        let lower = "<!doctype x><x/>";
        assert!(matches!(
            parse_default(lower),
            Err(FormatError::NotWellFormed { .. })
        ));
    }

    #[test]
    fn a_million_levels_of_nesting_are_rejected_quickly() {
        let depth = 1_000_000;
        let mut text = String::with_capacity(depth * 7);
        for _ in 0..depth {
            text.push_str("<a>");
        }
        for _ in 0..depth {
            text.push_str("</a>");
        }
        let start = std::time::Instant::now();
        let limits = ParseLimits {
            max_bytes: usize::MAX,
            ..ParseLimits::default()
        };
        match parse(&text, &limits) {
            Err(FormatError::NotWellFormed {
                message, column, ..
            }) => {
                assert!(message.contains("deeper than 64"), "{message}");
                assert_eq!(column, 65 * 3 - 2);
            }
            other => panic!("expected a depth error, got {other:?}"),
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn depth_on_the_parsed_tree_is_judged_as_the_markup_scan_judges_it() {
        let docs = [
            "<a><b><c><d><e><f/></e></d></c></b></a>".to_string(),
            "<a><b><c><d><e><f></f></e></d></c></b></a>".to_string(),
            "<a><b><c><d><e>t<f\n x='1'\n/>u</e></d></c></b></a>".to_string(),
            "<a>\n<b/><b><c><d><e><f><g/></f></e></d></c></b>\n</a>".to_string(),
            "<a><b><c><d><e/></d></c></b><b><c><d><e><f>x</f></e></d></c></b></a>".to_string(),
            "<?xml version='1.0'?><!-- <x><y><z> --><a><b><c><d><e><![CDATA[<f><g>]]></e></d></c></b></a>".to_string(),
            format!("<a>{}{}</a>", "<b>".repeat(70), "</b>".repeat(70)),
        ];
        for text in &docs {
            let doc = roxmltree::Document::parse(text).expect("well-formed");
            let scanned = prescan(text, 5).err().map(|e| e.to_string());
            let walked = check_depth(&doc, text, 5).err().map(|e| e.to_string());
            assert_eq!(walked, scanned, "{text}");
        }
    }

    #[test]
    fn deep_nesting_within_the_node_limit_is_rejected_at_the_first_tag_too_deep() {
        let depth = 150_000;
        let text = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let limits = ParseLimits {
            max_bytes: usize::MAX,
            ..ParseLimits::default()
        };
        match parse(&text, &limits) {
            Err(FormatError::NotWellFormed {
                message, column, ..
            }) => {
                assert!(message.contains("deeper than 64"), "{message}");
                assert_eq!(column, 65 * 3 - 2);
            }
            other => panic!("expected a depth error, got {other:?}"),
        }
    }

    #[test]
    fn nesting_up_to_the_limit_is_accepted() {
        let limits = ParseLimits {
            max_depth: 5,
            ..ParseLimits::default()
        };
        let ok = "<a><b x='>' y=\"/>\"><c><!-- <d><e><f> --><d><![CDATA[<e><f><g>]]><e/></d></c></b></a>";
        assert!(parse(ok, &limits).is_ok());
        let too_deep = "<a><b><c><d><e><f/></e></d></c></b></a>";
        assert!(
            parse(
                too_deep,
                &ParseLimits {
                    max_depth: 5,
                    ..limits
                }
            )
            .is_ok()
        );
        let deeper = "<a><b><c><d><e><f></f></e></d></c></b></a>";
        assert!(matches!(
            parse(deeper, &limits),
            Err(FormatError::NotWellFormed { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_an_encoding_error_with_the_offset() {
        let mut bytes = b"<?xml version=\"1.0\"?><index>".to_vec();
        bytes.extend_from_slice(&[0x83, 0x65]);
        match decode(&bytes) {
            Err(FormatError::Encoding(m)) => assert!(m.contains("offset 28"), "{m}"),
            other => panic!("expected an encoding error, got {other:?}"),
        }
        let mut with_bom = UTF8_BOM.to_vec();
        with_bom.extend_from_slice(b"<x>\xFF</x>");
        match decode(&with_bom) {
            Err(FormatError::Encoding(m)) => assert!(m.contains("offset 6"), "{m}"),
            other => panic!("expected an encoding error, got {other:?}"),
        }
    }

    #[test]
    fn shift_jis_declaration_is_an_encoding_error() {
        let text = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><index/>";
        match decode(text) {
            Err(FormatError::Encoding(m)) => assert!(m.contains("Shift_JIS"), "{m}"),
            other => panic!("expected an encoding error, got {other:?}"),
        }
        let single = b"<?xml version='1.0' encoding = 'EUC-JP' ?><index/>";
        assert!(matches!(decode(single), Err(FormatError::Encoding(_))));
        assert!(matches!(
            decode(b"\xFF\xFE<\x00"),
            Err(FormatError::Encoding(_))
        ));
    }

    #[test]
    fn utf8_declarations_bom_and_no_declaration_are_accepted() {
        assert!(
            decode(b"<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?><a/>").is_ok()
        );
        assert!(decode(b"<?xml version=\"1.0\"?><a/>").is_ok());
        assert!(decode(b"<a/>").is_ok());
        assert_eq!(decode(b"\xEF\xBB\xBF<a/>").ok(), Some("<a/>"));
    }

    #[test]
    fn huge_attribute_beyond_the_size_limit_is_too_large() {
        let text = format!("<a x=\"{}\"/>", "y".repeat(9 << 20));
        assert!(
            matches!(parse_default(&text), Err(FormatError::TooLarge { limit, .. }) if limit == 8 << 20)
        );
        // Within the size limit a long attribute is fine.
        let text = format!("<a x=\"{}\"/>", "y".repeat(1 << 20));
        assert!(parse_default(&text).is_ok());
    }

    #[test]
    fn too_many_nodes_is_not_well_formed() {
        let text = format!("<a>{}</a>", "<b/>".repeat(100));
        let limits = ParseLimits {
            max_nodes: 50,
            ..ParseLimits::default()
        };
        assert!(matches!(
            parse(&text, &limits),
            Err(FormatError::NotWellFormed { .. })
        ));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        match parse_default("<a>\n  <b></c>\n</a>") {
            Err(FormatError::NotWellFormed { line, column, .. }) => {
                assert_eq!((line, column), (2, 6))
            }
            other => panic!("expected NotWellFormed, got {other:?}"),
        }
        assert!(matches!(
            parse_default(""),
            Err(FormatError::NotWellFormed { .. })
        ));
        assert!(matches!(
            parse_default("<a"),
            Err(FormatError::NotWellFormed { .. })
        ));
        assert!(matches!(
            parse_default("<a>&unknown;</a>"),
            Err(FormatError::NotWellFormed { .. })
        ));
    }

    #[test]
    fn kind_of_dispatches_on_root_and_namespace() {
        let k = |t: &str| kind_of(&parse_default(t).expect("parse"));
        let ns24 = NS_MHLW_2024;
        assert_eq!(
            k(INDEX_2007).ok(),
            Some((DocumentKind::Index, Some(Generation::G2018)))
        );
        assert_eq!(
            k(&format!("<summary xmlns='{ns24}'/>")).ok(),
            Some((DocumentKind::Summary, Some(Generation::G2024)))
        );
        assert_eq!(
            k(&format!("<p:checkupClaim xmlns:p='{NS_2007}'/>")).ok(),
            Some((DocumentKind::CheckupClaim, Some(Generation::G2018)))
        );
        assert_eq!(
            k(&format!("<healthGuidanceClaim xmlns='{ns24}'/>")).ok(),
            Some((DocumentKind::GuidanceClaim, Some(Generation::G2024)))
        );
        let cda = |code: &str| {
            format!(
                "<ClinicalDocument xmlns='urn:hl7-org:v3'><typeId/><code code='{code}'/></ClinicalDocument>"
            )
        };
        assert_eq!(k(&cda("10")).ok(), Some((DocumentKind::CheckupCda, None)));
        assert_eq!(k(&cda("21")).ok(), Some((DocumentKind::GuidanceCda, None)));
        assert_eq!(
            k("<ClinicalDocument xmlns='urn:hl7-org:v3'/>").ok(),
            Some((DocumentKind::CheckupCda, None))
        );
        for wrong in [
            "<index/>".to_string(),
            "<index xmlns='urn:hl7-org:v3'/>".to_string(),
            format!("<ClinicalDocument xmlns='{NS_2007}'/>"),
            format!("<claim xmlns='{NS_2007}'/>"),
            "<index xmlns='http://tokuteikenshin.jp/checkup/2008'/>".to_string(),
        ] {
            assert!(
                matches!(k(&wrong), Err(FormatError::UnknownRoot { .. })),
                "{wrong}"
            );
        }
    }

    #[test]
    fn a_reader_given_the_wrong_root_is_a_structure_error() {
        let doc = parse_default(INDEX_2007).expect("parse");
        assert!(matches!(
            read_summary(&doc),
            Err(FormatError::Structure { .. })
        ));
        assert!(matches!(read_cda(&doc), Err(FormatError::Structure { .. })));
        assert!(matches!(
            read_checkup_claim(&doc),
            Err(FormatError::Structure { .. })
        ));
    }

    #[test]
    fn readers_are_lenient_about_layout_prefixes_and_missing_parts() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
            <!-- a comment -->\r\n\
            <ix:index xmlns:ix=\"http://tokuteikenshin.jp/checkup/2007\">\r\n\
            <ix:interactionType code=\"1\"/><!-- inside -->\r\n\
            <ix:sender><ix:id root=\"1.2.392.200119.6.102\" extension=\"9910000018\"/></ix:sender>\r\n\
            <ix:totalRecordCount value=\"0002\"/>\r\n\
            </ix:index>";
        let doc = parse_default(text).expect("parse");
        let ix = read_index(&doc).expect("index");
        assert_eq!(ix.interaction_type, "1");
        assert_eq!(
            ix.creation_time, "",
            "a missing required element reads as empty"
        );
        assert_eq!(ix.service_event_type, "");
        assert_eq!(ix.sender.extension, "9910000018");
        assert_eq!(ix.receiver, None);
        assert_eq!(ix.total_record_count, "0002", "kept as written");
    }

    /// The one-pass shortcut of [`collapsed`] agrees with XML Schema's collapse (split on
    /// blanks, join with one space) on every string of up to 5 characters over blanks,
    /// ASCII and a Japanese letter.
    #[test]
    fn collapsed_agrees_with_split_and_join_on_every_short_string() {
        let alphabet = [' ', '\t', '\n', '\r', 'a', 'あ'];
        let mut strings = vec![String::new()];
        for _ in 0..6 {
            let mut longer = Vec::new();
            for s in &strings {
                for c in alphabet {
                    let mut t = s.clone();
                    t.push(c);
                    longer.push(t);
                }
            }
            for s in &strings {
                let expected: Vec<&str> = s
                    .split([' ', '\t', '\n', '\r'])
                    .filter(|w| !w.is_empty())
                    .collect();
                assert_eq!(collapsed(s), expected.join(" "), "{s:?}");
            }
            strings = longer;
        }
    }

    #[test]
    fn values_whose_type_collapses_white_space_are_read_as_the_schema_reads_them() {
        assert_eq!(collapse(" 1 "), "1");
        assert_eq!(collapse("\t01\r\n"), "01");
        assert_eq!(collapse(" a \t b "), "a b", "inner runs become one space");
        assert_eq!(collapse("   "), "");
        let ix = format!(
            "<index xmlns='{NS_2007}'><interactionType code=' 1 '/>\
             <creationTime value=' 20230620'/><sender><id root='1.2.392.200119.6.102' \
             extension=' 9910000018'/></sender><serviceEventType code='1&#9;'/>\
             <totalRecordCount value=' 2 '/></index>"
        );
        let ix = read_index(&parse_default(&ix).expect("parse")).expect("index");
        assert_eq!(ix.interaction_type, "1");
        assert_eq!(ix.service_event_type, "1");
        assert_eq!(ix.total_record_count, "2");
        // xs:string (date, id): kept, so the checks still see the blank.
        assert_eq!(ix.creation_time, " 20230620");
        assert_eq!(ix.sender.extension, " 9910000018");
        let claim = format!(
            "<healthGuidanceClaim xmlns='{NS_2007}'><encounter><serviceEventType code=' 1'/>\
             <guidanceLevel code='2 '/><guidanceTiming code=' 1 '/></encounter>\
             <subjectPerson><administrativeGender code=' 2 '/></subjectPerson>\
             <healthGuidanceCard><copayment code=' 2 '><amount value=' 01000' currency=' JPY'/>\
             </copayment></healthGuidanceCard><settlement><paymentRate value=' 100 ' unit=' % '/>\
             <payment><status code=' 1 '/><amount value=' 0 '/></payment></settlement>\
             <agencyAdjudicationResult><interactionType code=' 4'/><recordDate value='20230701 '/>\
             <reason code=' 01 '/></agencyAdjudicationResult></healthGuidanceClaim>"
        );
        let g = read_guidance_claim(&parse_default(&claim).expect("parse")).expect("claim");
        assert_eq!(
            (
                g.service_event_type.as_str(),
                g.guidance_level.as_str(),
                g.guidance_timing.as_str()
            ),
            ("1", "2", "1")
        );
        assert_eq!(g.subject.gender, "2");
        let copay = g.card.copayment.expect("copayment");
        assert_eq!(copay.code, "2");
        let amount = copay.amount.expect("amount");
        assert_eq!(
            amount.value, " 01000",
            "chargeMonetaryAmount is an xs:string"
        );
        assert_eq!(amount.currency.as_deref(), Some("JPY"));
        assert_eq!(g.settlement.payment_rate.value, "100");
        assert_eq!(g.settlement.payment_rate.unit.as_deref(), Some("%"));
        assert_eq!(g.settlement.payment_status, "1");
        assert_eq!(g.settlement.payment_amount.value, "0");
        let a = g.agency_adjudication.expect("adjudication");
        assert_eq!(
            (a.interaction_type.as_str(), a.reason_code.as_str()),
            ("4", "01")
        );
        assert_eq!(a.record_date, "20230701 ", "a date is an xs:string");
        let cda = |code: &str| {
            format!(
                "<ClinicalDocument xmlns='urn:hl7-org:v3'><code code='{code}'/></ClinicalDocument>"
            )
        };
        let kind = |t: &str| kind_of(&parse_default(t).expect("parse")).ok();
        assert_eq!(kind(&cda(" 21 ")), Some((DocumentKind::GuidanceCda, None)));
        assert_eq!(kind(&cda(" 10")), Some((DocumentKind::CheckupCda, None)));
    }

    #[test]
    fn mixed_content_addresses_and_padded_amounts_are_kept() {
        let text = format!(
            "<checkupClaim xmlns='{NS_2007}'><subjectPerson><name>ミホン\r\nタロウ</name>\
             <addr> 見本市<postalCode>000-0000</postalCode>架空町 </addr></subjectPerson>\
             <checkupCard><chargeTypeBasic code='3'><rate value='030000'/></chargeTypeBasic></checkupCard>\
             <settlement><unitAmount value='08700'/><claimAmount value='7700' currency='JPY'/></settlement></checkupClaim>"
        );
        let doc = parse_default(&text).expect("parse");
        let c = read_checkup_claim(&doc).expect("claim");
        assert_eq!(c.subject.addr.text, "見本市架空町");
        assert_eq!(c.subject.addr.postal_code.as_deref(), Some("000-0000"));
        assert_eq!(
            c.subject.name, "ミホン\nタロウ",
            "CRLF is normalised by XML"
        );
        let basic = c.card.charge_basic.expect("basic");
        assert_eq!(
            basic.rate,
            Some(Rate {
                value: "030000".into(),
                unit: None
            })
        );
        assert_eq!(
            c.settlement.unit_amount,
            Money {
                value: "08700".into(),
                currency: None
            }
        );
        assert_eq!(c.settlement.payment_amount, Money::default());
        assert_eq!(c.subject.birth_time, "");
    }

    #[test]
    fn read_document_reports_each_failure_kind() {
        assert!(matches!(
            read_document(b"\x80"),
            Err(FormatError::Encoding(_))
        ));
        assert!(matches!(
            read_document(b"<a><b></a>"),
            Err(FormatError::NotWellFormed { .. })
        ));
        assert!(matches!(
            read_document(b"<html/>"),
            Err(FormatError::UnknownRoot { .. })
        ));
        assert!(matches!(
            read_document(INDEX_2007.as_bytes()),
            Ok(Document::Index(_))
        ));
    }
}
