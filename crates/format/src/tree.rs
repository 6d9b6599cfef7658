//! One read-only view over the two XML trees daiko reads documents into: roxmltree's
//! (the reference, [`crate::read::parse`]) and daiko's flat tree ([`crate::flat`], the
//! fast one). The schema validator, the readers and the observation views are written
//! once against [`XmlDocument`] / [`XmlNode`] and compiled for each tree.
//!
//! The view shows elements and texts only (roxmltree's comments and processing
//! instructions are neither, so code written against it skips them). The flat tree has
//! no node for layout white space beside child elements nor for empty text; code whose
//! answer depends on such text asks [`XmlNode::dropped_text`] and, when it is set, calls
//! [`XmlNode::mark_inexact`]: the caller then reads the document again on roxmltree's
//! tree ([`XmlDocument::is_inexact`]), so answers never differ between the trees.

use crate::flat::{FlatDocument, FlatNode};

/// Whether two strings are equal, without a call into libc's `memcmp`: the length first,
/// then word loads compared inline. Names, namespace names and codes are short (4–41
/// bytes) and compared thousands of times per document; through `==` each equal-length
/// pair costs a library call that profiles showed as the largest single cost of a check.
#[inline(always)]
pub fn same(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same`] for bytes.
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        // eight bytes at a time, the last word overlapping the one before
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        return word(a, n - 8) == word(b, n - 8);
    }
    if n >= 4 {
        return half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4);
    }
    // 0 to 3 bytes: the first, middle and last byte cover them all
    n == 0 || (a.first() == b.first() && a.get(n / 2) == b.get(n / 2) && a.last() == b.last())
}

#[inline(always)]
fn word(s: &[u8], i: usize) -> u64 {
    s.get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_ne_bytes)
}

#[inline(always)]
fn half(s: &[u8], i: usize) -> u32 {
    s.get(i..i + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_ne_bytes)
}

/// One attribute (namespace declarations are not attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlAttribute<'a> {
    /// Namespace name, when the attribute is prefixed.
    pub namespace: Option<&'a str>,
    /// Local name.
    pub name: &'a str,
    /// Normalized value (references resolved).
    pub value: &'a str,
}

/// A node of a parsed document: an element or a text (or, on roxmltree's tree, another
/// kind that is neither).
pub trait XmlNode<'a>: Copy + PartialEq + 'a {
    /// Whether this is an element.
    fn is_element(self) -> bool;
    /// Whether this is a text.
    fn is_text(self) -> bool;
    /// The element's local name ("" for other nodes).
    fn name(self) -> &'a str;
    /// The element's namespace name.
    fn namespace(self) -> Option<&'a str>;
    /// Whether the element is in the namespace `uri`.
    #[inline]
    fn in_namespace(self, uri: &str) -> bool {
        self.namespace().is_some_and(|n| same(n, uri))
    }
    /// Whether the element's local name is `name`.
    #[inline]
    fn is_named(self, name: &str) -> bool {
        self.is_element() && same(self.name(), name)
    }
    /// A text node's text (references and line ends resolved).
    fn text(self) -> Option<&'a str>;
    /// The element's attributes in document order.
    fn attributes(self) -> impl Iterator<Item = XmlAttribute<'a>> + 'a;
    /// The value of the attribute with this namespace (`None`: unprefixed) and local name.
    fn attribute(self, namespace: Option<&str>, local: &str) -> Option<&'a str>;
    /// The value of the first attribute named `local` whose namespace `accept` takes.
    fn find_attribute(self, local: &str, accept: impl Fn(Option<&str>) -> bool) -> Option<&'a str> {
        self.attributes()
            .find(|a| same(a.name, local) && accept(a.namespace))
            .map(|a| a.value)
    }
    /// The first child.
    fn first_child(self) -> Option<Self>;
    /// The next sibling.
    fn next_sibling(self) -> Option<Self>;
    /// The parent element (`None` for the root element).
    fn parent_element(self) -> Option<Self>;
    /// 1-based line and column (in characters) of the node's start in the source text.
    fn line_column(self) -> (u32, u32);
    /// The namespace bound to `prefix` (`None`: the default namespace) on this element.
    fn lookup_namespace(self, prefix: Option<&str>) -> Option<&'a str>;
    /// Whether some text of this element has no node in this tree (always `false` on
    /// roxmltree's tree); see the module documentation.
    fn dropped_text(self) -> bool;
    /// Records that an answer read from this tree may differ from roxmltree's.
    fn mark_inexact(self);
    /// The children in order.
    fn children(self) -> impl Iterator<Item = Self> + 'a {
        std::iter::successors(self.first_child(), |c| c.next_sibling())
    }
    /// The element children in order.
    fn element_children(self) -> impl Iterator<Item = Self> + 'a {
        self.children().filter(|c| c.is_element())
    }
}

/// A parsed document.
pub trait XmlDocument {
    /// Its nodes.
    type Node<'d>: XmlNode<'d>
    where
        Self: 'd;
    /// The root element.
    fn root(&self) -> Self::Node<'_>;
    /// Whether a reader marked an answer as possibly different from roxmltree's.
    fn is_inexact(&self) -> bool;
}

impl<'a, 'i: 'a> XmlNode<'a> for roxmltree::Node<'a, 'i> {
    #[inline]
    fn is_element(self) -> bool {
        roxmltree::Node::is_element(&self)
    }
    #[inline]
    fn is_text(self) -> bool {
        roxmltree::Node::is_text(&self)
    }
    #[inline]
    fn name(self) -> &'a str {
        self.tag_name().name()
    }
    #[inline]
    fn namespace(self) -> Option<&'a str> {
        self.tag_name().namespace()
    }
    #[inline]
    fn text(self) -> Option<&'a str> {
        roxmltree::Node::text(&self)
    }
    fn attributes(self) -> impl Iterator<Item = XmlAttribute<'a>> + 'a {
        roxmltree::Node::attributes(&self).map(|a| XmlAttribute {
            namespace: a.namespace(),
            name: a.name(),
            value: a.value(),
        })
    }
    fn attribute(self, namespace: Option<&str>, local: &str) -> Option<&'a str> {
        match namespace {
            Some(ns) => roxmltree::Node::attribute(&self, (ns, local)),
            None => roxmltree::Node::attribute(&self, local),
        }
    }
    #[inline]
    fn first_child(self) -> Option<Self> {
        roxmltree::Node::first_child(&self)
    }
    #[inline]
    fn next_sibling(self) -> Option<Self> {
        roxmltree::Node::next_sibling(&self)
    }
    fn parent_element(self) -> Option<Self> {
        roxmltree::Node::parent_element(&self)
    }
    fn line_column(self) -> (u32, u32) {
        let pos = self.document().text_pos_at(self.range().start);
        (pos.row, pos.col)
    }
    fn lookup_namespace(self, prefix: Option<&str>) -> Option<&'a str> {
        self.lookup_namespace_uri(prefix)
    }
    #[inline]
    fn dropped_text(self) -> bool {
        false
    }
    #[inline]
    fn mark_inexact(self) {}
}

impl<'i> XmlDocument for roxmltree::Document<'i> {
    type Node<'d>
        = roxmltree::Node<'d, 'i>
    where
        Self: 'd;
    fn root(&self) -> Self::Node<'_> {
        self.root_element()
    }
    fn is_inexact(&self) -> bool {
        false
    }
}

impl<'d, 'a: 'd> XmlNode<'d> for FlatNode<'d, 'a> {
    #[inline]
    fn is_element(self) -> bool {
        FlatNode::is_element(&self)
    }
    #[inline]
    fn is_text(self) -> bool {
        FlatNode::is_text(&self)
    }
    #[inline]
    fn name(self) -> &'d str {
        FlatNode::name(&self)
    }
    #[inline]
    fn namespace(self) -> Option<&'d str> {
        FlatNode::namespace(&self)
    }
    #[inline]
    fn in_namespace(self, uri: &str) -> bool {
        FlatNode::in_namespace(&self, uri)
    }
    #[inline]
    fn is_named(self, name: &str) -> bool {
        FlatNode::is_named(&self, name)
    }
    #[inline]
    fn text(self) -> Option<&'d str> {
        FlatNode::text(&self)
    }
    fn attributes(self) -> impl Iterator<Item = XmlAttribute<'d>> + 'd {
        FlatNode::attributes(&self).map(|a| XmlAttribute {
            namespace: a.namespace(),
            name: a.name(),
            value: a.value(),
        })
    }
    fn attribute(self, namespace: Option<&str>, local: &str) -> Option<&'d str> {
        FlatNode::attribute(&self, namespace, local)
    }
    fn find_attribute(self, local: &str, accept: impl Fn(Option<&str>) -> bool) -> Option<&'d str> {
        // The name first: the namespace and the value are looked up for a match only.
        FlatNode::find_attribute(&self, local, accept)
    }
    #[inline]
    fn first_child(self) -> Option<Self> {
        FlatNode::first_child(&self)
    }
    #[inline]
    fn next_sibling(self) -> Option<Self> {
        FlatNode::next_sibling(&self)
    }
    fn parent_element(self) -> Option<Self> {
        FlatNode::parent(&self)
    }
    fn line_column(self) -> (u32, u32) {
        self.document().line_column(self.position())
    }
    fn lookup_namespace(self, prefix: Option<&str>) -> Option<&'d str> {
        FlatNode::lookup_namespace(&self, prefix)
    }
    #[inline]
    fn dropped_text(self) -> bool {
        FlatNode::dropped_text(&self)
    }
    fn mark_inexact(self) {
        FlatNode::mark_inexact(&self)
    }
    fn children(self) -> impl Iterator<Item = Self> + 'd {
        FlatNode::children(&self)
    }
}

impl<'a> XmlDocument for FlatDocument<'a> {
    type Node<'d>
        = FlatNode<'d, 'a>
    where
        Self: 'd;
    fn root(&self) -> Self::Node<'_> {
        self.root_element()
    }
    fn is_inexact(&self) -> bool {
        FlatDocument::is_inexact(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_agrees_with_eq() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abc",
            "abd",
            "xbc",
            "code",
            "codf",
            "root",
            "value",
            "valuf",
            "extension",
            "extensiom",
            "urn:hl7-org:v3",
            "urn:hl7-org:v4",
            "vrn:hl7-org:v3",
            "http://www.w3.org/2001/XMLSchema-instance",
            "http://www.w3.org/2001/XMLSchema-instancf",
            "http://www.w3.org/XML/1998/namespace",
            "コード",
            "コーダ",
        ];
        for a in words {
            for b in words {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
        // every length up to 40, a difference at every position
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            for k in 0..n {
                let mut b = a.clone();
                if let Some(c) = b.get_mut(k) {
                    *c ^= 0x80;
                }
                assert!(!same_bytes(&a, &b), "{n} {k}");
            }
        }
    }
}
