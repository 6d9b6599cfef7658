//! A small owned XML element tree, used for the parts of a CDA body that daiko passes
//! through without interpreting every element (entries, narrative text).
//!
//! Element names are local names (the CDA body is all in `urn:hl7-org:v3`); attribute
//! names keep the prefix daiko writes (`xsi:type`), whatever prefix the producer used.
//!
//! Names and attribute values are [`XmlStr`] (`Cow<'static, str>`): the CDA vocabulary
//! (element and attribute names, `OBS`, `EVN`, `PQ`, common units …) is borrowed from a
//! static table when read, so converting a body allocates only for the values that are
//! really the producer's own. Builders accept `&'static str` and `String` alike.

use crate::tree::XmlNode;
use std::borrow::Cow;

/// A name or attribute value: borrowed from the static vocabulary, or owned.
pub type XmlStr = Cow<'static, str>;

/// The namespace bound to the `xml:` prefix.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Whether text between child elements is only layout (indentation, line breaks), which
/// [`Element::from_node`] drops. XML white space is checked byte-wise (the common case);
/// other text keeps the original rule (`str::trim`, which also counts Unicode spaces).
pub(crate) fn is_layout(t: &str) -> bool {
    if t.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        return true;
    }
    !t.is_ascii() && t.trim().is_empty()
}

/// An XML element with its attributes and children, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Element {
    /// Local name, e.g. `observation`.
    pub name: XmlStr,
    /// Attributes in document order; the XSI namespace is always spelled `xsi:`.
    pub attrs: Vec<(XmlStr, XmlStr)>,
    pub children: Vec<Node>,
}

/// A child of an [`Element`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Element(Element),
    /// Character data (entities already resolved).
    Text(String),
}

impl Element {
    /// A new element without attributes or children.
    pub fn new(name: impl Into<XmlStr>) -> Self {
        Element {
            name: name.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }
    /// Builder: add an attribute.
    pub fn attr(mut self, name: impl Into<XmlStr>, value: impl Into<XmlStr>) -> Self {
        self.attrs.push((name.into(), value.into()));
        self
    }
    /// Builder: add a child element.
    pub fn child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }
    /// Builder: add text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.children.push(Node::Text(text.into()));
        self
    }
    /// The value of an attribute.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }
    /// Child elements in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }
    /// The first child element with this local name.
    pub fn first(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }
    /// All child elements with this local name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }
    /// The concatenated text of the direct text children (mixed content), trimmed.
    pub fn own_text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s.trim().to_string()
    }

    /// Converts a roxmltree element (and its subtree) to an owned tree.
    ///
    /// Whitespace-only text between child elements is layout, not content: it is
    /// dropped so that re-indented output reads back to the same tree.
    pub fn from_node(node: roxmltree::Node<'_, '_>) -> Element {
        Element::from_xml(node)
    }

    /// [`Element::from_node`] for either tree ([`crate::tree`]). On the flat tree, an
    /// element without child elements that lost a text (an empty CDATA section, which
    /// roxmltree keeps as an empty text child) marks the document inexact.
    pub fn from_xml<'a, N: XmlNode<'a>>(node: N) -> Element {
        let mut attrs = Vec::new();
        for a in node.attributes() {
            let name = match a.namespace {
                Some(crate::model::NS_XSI) => prefixed("xsi:", a.name),
                Some(NS_XML) => prefixed("xml:", a.name),
                _ => intern(a.name),
            };
            attrs.push((name, intern(a.value)));
        }
        let mut elements = 0usize;
        let mut texts = 0usize;
        for c in node.children() {
            if c.is_element() {
                elements += 1;
            } else if c.is_text() {
                texts += 1;
            }
        }
        if elements == 0 && node.dropped_text() {
            node.mark_inexact();
        }
        let mut children = Vec::with_capacity(if elements > 0 {
            elements + texts
        } else {
            texts.min(1)
        });
        for c in node.children() {
            if c.is_element() {
                children.push(Node::Element(Element::from_xml(c)));
            } else if let Some(t) = c.text().filter(|_| c.is_text()) {
                if elements > 0 && is_layout(t) {
                    continue;
                }
                children.push(Node::Text(t.to_string()));
            }
        }
        Element {
            name: intern(node.name()),
            attrs,
            children,
        }
    }

    /// Writes the element on its own lines at `depth` (two spaces per level): children
    /// of an element-only element are indented one level deeper; an element with text
    /// (mixed content) is written on one line exactly as stored.
    pub fn write_indented(&self, out: &mut String, depth: usize) {
        indent(out, depth);
        let mixed = self.children.iter().any(|c| matches!(c, Node::Text(_)));
        if self.children.is_empty() || mixed {
            self.write_to(out);
            out.push('\n');
            return;
        }
        out.push('<');
        out.push_str(&self.name);
        self.write_attrs(out);
        out.push_str(">\n");
        for c in self.elements() {
            c.write_indented(out, depth + 1);
        }
        indent(out, depth);
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }

    fn write_attrs(&self, out: &mut String) {
        for (n, v) in &self.attrs {
            out.push(' ');
            out.push_str(n);
            out.push_str("=\"");
            escape_attr(v, out);
            out.push('"');
        }
    }

    /// Writes the element (and subtree) as XML text on one line, exactly as stored.
    pub fn write_to(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        self.write_attrs(out);
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for c in &self.children {
            match c {
                Node::Element(e) => e.write_to(out),
                Node::Text(t) => escape_text(t, out),
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

/// Two spaces per level.
pub fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Escapes character data for an element's content.
pub fn escape_text(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value (double-quoted).
pub fn escape_attr(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn prefixed(prefix: &'static str, local: &str) -> XmlStr {
    match local {
        "type" if prefix == "xsi:" => Cow::Borrowed("xsi:type"),
        "schemaLocation" if prefix == "xsi:" => Cow::Borrowed("xsi:schemaLocation"),
        "lang" if prefix == "xml:" => Cow::Borrowed("xml:lang"),
        _ => {
            let mut s = String::with_capacity(prefix.len() + local.len());
            s.push_str(prefix);
            s.push_str(local);
            Cow::Owned(s)
        }
    }
}

/// Borrows `s` from the static vocabulary when it is a known name or common value,
/// otherwise copies it.
pub fn intern(s: &str) -> XmlStr {
    match known(s) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(s.to_string()),
    }
}

/// Builds `known`: one `match` per length, so a lookup is a length switch and a few
/// fixed-size comparisons.
macro_rules! vocabulary {
    ($($len:literal => [$($word:literal),* $(,)?]),* $(,)?) => {
        fn known(s: &str) -> Option<&'static str> {
            match s.len() {
                $($len => match s { $($word => Some($word),)* _ => None },)*
                _ => None,
            }
        }
        #[cfg(test)]
        const VOCABULARY: &[(usize, &[&str])] = &[$(($len, &[$($word),*])),*];
    };
}

vocabulary! {
    1 => ["H", "L", "N", "A", "%", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    2 => ["id", "PQ", "CD", "CO", "ST", "CE", "CS", "CV", "TS", "II", "BL", "ED", "NI", "NA", "cm", "kg", "wk", "br", "td", "th", "tr", "10", "21", "22", "23", "24", "25", "01", "02", "03"],
    3 => ["act", "low", "OBS", "EVN", "ACT", "INT", "GOL", "RQO", "UNK", "U/L", "min", "sub", "sup", "AUT", "PRF", "010", "100", "HLD", "DOC"],
    4 => ["ASKU", "code", "text", "time", "name", "high", "unit", "root", "list", "item", "COMP", "RSON", "SPRT", "REFR", "true", "kcal", "addr", "mg/L", "g/dL", "IU/L"],
    5 => ["IDENT", "entry", "value", "table", "tbody", "thead", "false", "mg/dL", "kg/m2", "mEq/L"],
    6 => ["IVL_PQ", "ml/min", "author", "IVL_TS", "mm[Hg]", "mmol/L"],
    7 => ["DOCCLIN", "telecom", "10*4/uL", "10*3/uL", "IVL_INT", "caption", "content", "EVN.CRT"],
    8 => ["moodCode", "typeCode", "xsi:type", "specimen"],
    9 => ["organizer", "performer", "component", "classCode", "extension", "paragraph", "qualifier"],
    10 => ["statusCode", "methodCode", "codeSystem", "nullFlavor"],
    11 => ["observation", "translation", "participant", "negationInd", "displayName"],
    12 => ["functionCode", "originalText", "inversionInd", "priorityCode"],
    13 => ["ml/min/1.73m2", "effectiveTime"],
    14 => ["assignedEntity", "targetSiteCode", "assignedAuthor", "assignedPerson", "referenceRange", "codeSystemName"],
    16 => ["observationRange"],
    17 => ["entryRelationship", "codeSystemVersion"],
    18 => ["interpretationCode"],
    20 => ["contextConductionInd"],
    21 => ["1.2.392.200119.6.1005", "1.2.392.200119.6.1006", "1.2.392.200119.6.1007", "1.2.392.200119.6.1008", "1.2.392.200119.6.1010", "1.2.392.200119.6.2001", "1.2.392.200119.6.2002", "1.2.392.200119.6.2003", "1.2.392.200119.6.2004", "1.2.392.200119.6.2005", "1.2.392.200119.6.2006", "1.2.392.200119.6.2007", "1.2.392.200119.6.2100", "1.2.392.200119.6.2101", "1.2.392.200119.6.2102", "1.2.392.200119.6.2202", "1.2.392.200119.6.3001", "1.2.392.200119.6.3002", "1.2.392.200119.6.3020"],
    22 => ["2.16.840.1.113883.5.83", "1.2.392.200119.6.18030", "1.2.392.200119.6.18040", "1.2.392.200119.6.18110", "1.2.392.200119.6.18140", "1.2.392.200119.6.24010", "1.2.392.200119.6.24040", "1.2.392.200119.6.24050", "1.2.392.200119.6.24060"],
    23 => ["representedOrganization"],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_words_sit_under_their_length_and_are_found() {
        for (len, words) in VOCABULARY {
            for w in *words {
                assert_eq!(w.len(), *len, "{w} is filed under the wrong length");
                assert_eq!(known(w), Some(*w));
            }
        }
        assert_eq!(known("observatio"), None);
        assert!(matches!(intern("observation"), Cow::Borrowed(_)));
        assert!(matches!(intern("3F015000002327101"), Cow::Owned(_)));
    }

    #[test]
    fn from_node_keeps_content_and_drops_layout() {
        let text = "<r xmlns:x='http://www.w3.org/2001/XMLSchema-instance'>\n  <v x:type='ST'> a </v>\n  <m>t<b/>u</m>\n</r>";
        let doc = roxmltree::Document::parse(text).expect("parse");
        let e = Element::from_node(doc.root_element());
        assert_eq!(e.children.len(), 2);
        let v = e.first("v").expect("v");
        assert_eq!(v.get("xsi:type"), Some("ST"));
        assert_eq!(v.children, vec![Node::Text(" a ".into())]);
        let m = e.first("m").expect("m");
        assert_eq!(m.children.len(), 3);
        let mut out = String::new();
        e.write_indented(&mut out, 0);
        assert_eq!(
            out,
            "<r>\n  <v xsi:type=\"ST\"> a </v>\n  <m>t<b/>u</m>\n</r>\n"
        );
    }
}
