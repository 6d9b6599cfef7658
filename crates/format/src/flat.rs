//! A daiko-owned flat XML tree (平坦なXML木): one pass over the text, no recursion, built
//! for the MHLW documents' hot path.
//!
//! The check engine reads every DATA and CLAIMS document with this tree (through
//! [`crate::tree`]) and falls back to [`crate::read::parse`] (roxmltree, the reference)
//! whenever this reader refuses a document or a reader marks it inexact. Its contract is
//! the one a swap needs: for every document it accepts, the tree has the same content as
//! roxmltree's (names, namespaces, attributes with their values, text with entities and
//! line ends resolved, element positions), shown by [`differences`] over every document
//! `daiko sample` and its defect generator write; and it never accepts a document
//! roxmltree refuses. It may refuse more (anything unusual: a DOCTYPE, a name outside
//! ASCII, a control character, a processing instruction named `xml` after the start, too
//! many attributes …): a refusal means "ask the reference parser", which then gives the
//! verdict and the exact X-01 message, so findings cannot change through this module.
//!
//! Why it is cheaper than roxmltree: nodes live in one `Vec` in document order (an
//! element's descendants follow it, `end` points past them, so the next sibling is one
//! load away); names and most values are byte ranges into the input; text is copied only
//! where an entity, a CDATA section or a carriage return makes it differ from the input;
//! text of XML white space only (space, tab, CR, LF) beside child elements (layout) gets
//! no node at all, and neither do empty texts (an empty CDATA section), comments and
//! processing instructions. An element that lost text this way says so
//! ([`FlatNode::dropped_text`]); a reader whose answer depends on such text marks the
//! document inexact ([`FlatNode::mark_inexact`]) and its caller reads it again with
//! roxmltree, so no answer differs from the reference's. Depth, node and attribute counts are bounded, so
//! memory is bounded by the limits whatever the input.

use crate::read::ParseLimits;
use crate::tree::{same, same_bytes};
use crate::xml::NS_XML;
use std::cell::Cell;

/// Why the flat reader did not build a tree: the document is malformed or outside what
/// this reader handles. Either way the reference parser decides (it gives the X-01
/// message); the reason here is for tests and logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Byte offset where reading stopped.
    pub at: usize,
    /// What was found there.
    pub reason: &'static str,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.at)
    }
}

impl std::error::Error for Refused {}

/// Most attributes (namespace declarations included) on one element: bounds the
/// duplicate check, which compares each attribute with the ones before it.
const MAX_ATTRIBUTES_PER_ELEMENT: usize = 256;
/// Most distinct namespace names in one document (the MHLW files use four).
const MAX_NAMESPACES: usize = 64;

/// A string of the tree: a byte range of the input, or (when `start == OWNED`) an index
/// into the document's decoded strings.
#[derive(Debug, Clone, Copy)]
struct Str {
    start: u32,
    end: u32,
}

const OWNED: u32 = u32::MAX;
/// `NodeData::ns` / `AttrData::ns` for no namespace.
const NO_NS: u32 = u32::MAX;
/// `NodeData::ns` marking a text node.
const TEXT: u32 = u32::MAX - 1;

#[derive(Debug, Clone, Copy)]
struct NodeData {
    /// Element: the local name. Text: the text.
    value: Str,
    /// Element: namespace index or [`NO_NS`]. Text: [`TEXT`].
    ns: u32,
    /// The parent element (the root element is its own parent).
    parent: u32,
    /// Element: the index past its last descendant.
    end: u32,
    attrs_start: u32,
    attrs_end: u32,
    /// Byte offset of the element's `<`, or of the text's first byte.
    pos: u32,
    /// Element: the namespace bindings in scope (an index into
    /// [`FlatDocument::bindings`], or [`NO_BINDING`]).
    scope: u32,
    /// Element: some text of its own got no node (layout white space between child
    /// elements, or an empty CDATA section); see [`FlatNode::dropped_text`].
    dropped: bool,
}

/// A namespace binding: prefix (empty = default namespace), namespace index (or
/// [`NO_NS`] for `xmlns=""`), and the binding in scope before it.
#[derive(Debug, Clone, Copy)]
struct Binding {
    prefix: Str,
    ns: u32,
    prev: u32,
}

const NO_BINDING: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct AttrData {
    local: Str,
    ns: u32,
    value: Str,
}

/// A parsed document: the nodes in document order, the root element first.
#[derive(Debug)]
pub struct FlatDocument<'a> {
    text: &'a str,
    nodes: Vec<NodeData>,
    attrs: Vec<AttrData>,
    namespaces: Vec<std::borrow::Cow<'a, str>>,
    owned: Vec<String>,
    bindings: Vec<Binding>,
    /// Set when a reader asked for something this tree does not keep exactly (see
    /// [`FlatDocument::is_inexact`]).
    inexact: Cell<bool>,
}

/// One node of a [`FlatDocument`]: an element or a text.
#[derive(Debug, Clone, Copy)]
pub struct FlatNode<'d, 'a> {
    doc: &'d FlatDocument<'a>,
    id: u32,
}

impl PartialEq for FlatNode<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && std::ptr::eq(self.doc, other.doc)
    }
}

/// One attribute of an element (namespace declarations are not attributes).
#[derive(Debug, Clone, Copy)]
pub struct FlatAttribute<'d, 'a> {
    doc: &'d FlatDocument<'a>,
    data: AttrData,
}

impl<'a> FlatDocument<'a> {
    /// The root element.
    pub fn root_element(&self) -> FlatNode<'_, 'a> {
        FlatNode { doc: self, id: 0 }
    }
    /// The text the document was read from.
    pub fn input_text(&self) -> &'a str {
        self.text
    }
    /// Number of nodes (elements and texts).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    /// All nodes in document order.
    pub fn descendants(&self) -> impl Iterator<Item = FlatNode<'_, 'a>> {
        (0..self.nodes.len() as u32).map(move |id| FlatNode { doc: self, id })
    }
    /// 1-based line and column (in characters) of a byte offset, as roxmltree counts them.
    pub fn line_column(&self, byte: usize) -> (u32, u32) {
        let before = self.text.get(..byte).unwrap_or(self.text);
        let line = memchr::memchr_iter(b'\n', before.as_bytes()).count() as u32 + 1;
        let line_start = memchr::memrchr(b'\n', before.as_bytes()).map_or(0, |p| p + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) as u32 + 1;
        (line, column)
    }
    fn str(&self, s: Str) -> &str {
        if s.start == OWNED {
            self.owned.get(s.end as usize).map_or("", String::as_str)
        } else {
            self.text
                .get(s.start as usize..s.end as usize)
                .unwrap_or("")
        }
    }
    /// The bytes of a string of the tree (no character-boundary checks: for comparisons).
    #[inline]
    fn bytes(&self, s: Str) -> &[u8] {
        if s.start == OWNED {
            self.owned.get(s.end as usize).map_or(&[], |o| o.as_bytes())
        } else {
            self.text
                .as_bytes()
                .get(s.start as usize..s.end as usize)
                .unwrap_or(&[])
        }
    }
    /// The index of a namespace name in this document (each is kept once, and a document
    /// has a handful), so that nodes and attributes are then compared by index.
    #[inline]
    fn namespace_index(&self, uri: &str) -> Option<u32> {
        self.namespaces
            .iter()
            .position(|n| same(n, uri))
            .map(|i| i as u32)
    }
    fn data(&self, id: u32) -> Option<&NodeData> {
        self.nodes.get(id as usize)
    }
    /// Whether a reader of this tree was told, through [`FlatNode::mark_inexact`], that
    /// what it read may differ from what it would read on roxmltree's tree (text that got
    /// no node was asked for). The caller then reads the document again with the reference
    /// parser.
    pub fn is_inexact(&self) -> bool {
        self.inexact.get()
    }
}

impl<'d, 'a> FlatNode<'d, 'a> {
    fn data(&self) -> NodeData {
        self.doc.data(self.id).copied().unwrap_or(NodeData {
            value: Str { start: 0, end: 0 },
            ns: TEXT,
            parent: 0,
            end: 0,
            attrs_start: 0,
            attrs_end: 0,
            pos: 0,
            scope: NO_BINDING,
            dropped: false,
        })
    }
    /// The document this node belongs to.
    pub fn document(&self) -> &'d FlatDocument<'a> {
        self.doc
    }
    /// Whether some text of this element got no node: layout white space (only space,
    /// tab, CR and LF) beside child elements, or an empty CDATA section. roxmltree keeps
    /// such text as text nodes; a reader whose answer depends on them must call
    /// [`FlatNode::mark_inexact`].
    pub fn dropped_text(&self) -> bool {
        self.data().dropped
    }
    /// Records on the document that a reader's answer may differ from the reference
    /// (see [`FlatDocument::is_inexact`]).
    pub fn mark_inexact(&self) {
        self.doc.inexact.set(true);
    }
    /// The namespace bound to `prefix` (`None`: the default namespace) on this element, as
    /// roxmltree's `lookup_namespace_uri` gives it for any prefix other than `xml`.
    pub fn lookup_namespace(&self, prefix: Option<&str>) -> Option<&'d str> {
        let want = prefix.unwrap_or("");
        let mut at = self.data().scope;
        let mut steps = 0;
        while let Some(b) = self.doc.bindings.get(at as usize) {
            if same_bytes(self.doc.bytes(b.prefix), want.as_bytes()) {
                if b.ns == NO_NS {
                    return Some("");
                }
                return self.doc.namespaces.get(b.ns as usize).map(|c| c.as_ref());
            }
            at = b.prev;
            steps += 1;
            if steps > self.doc.bindings.len() {
                break;
            }
        }
        None
    }
    /// The first child (element or text).
    pub fn first_child(&self) -> Option<FlatNode<'d, 'a>> {
        self.children().next()
    }
    /// The next sibling (element or text).
    pub fn next_sibling(&self) -> Option<FlatNode<'d, 'a>> {
        if self.id == 0 {
            return None;
        }
        let d = self.data();
        let next = if d.ns == TEXT {
            self.id + 1
        } else {
            d.end.max(self.id + 1)
        };
        let parent_end = self.doc.data(d.parent).map_or(0, |p| p.end);
        (next < parent_end).then_some(FlatNode {
            doc: self.doc,
            id: next,
        })
    }
    /// Whether this is an element.
    pub fn is_element(&self) -> bool {
        self.data().ns != TEXT
    }
    /// Whether this is a text.
    pub fn is_text(&self) -> bool {
        self.data().ns == TEXT
    }
    /// The element's local name (empty for a text).
    pub fn name(&self) -> &'d str {
        let d = self.data();
        if d.ns == TEXT {
            ""
        } else {
            self.doc.str(d.value)
        }
    }
    /// The element's namespace name, if it has one.
    pub fn namespace(&self) -> Option<&'d str> {
        let d = self.data();
        if d.ns == TEXT || d.ns == NO_NS {
            return None;
        }
        self.doc.namespaces.get(d.ns as usize).map(|c| c.as_ref())
    }
    /// Whether the element is in namespace `uri` (compared once with the document's few
    /// namespace names, then by index).
    #[inline]
    pub fn in_namespace(&self, uri: &str) -> bool {
        let d = self.data();
        d.ns != TEXT && d.ns != NO_NS && self.doc.namespace_index(uri) == Some(d.ns)
    }
    /// Whether the element's local name is `name`.
    #[inline]
    pub fn is_named(&self, name: &str) -> bool {
        let d = self.data();
        d.ns != TEXT && same_bytes(self.doc.bytes(d.value), name.as_bytes())
    }
    /// The text of a text node (entities and line ends resolved).
    pub fn text(&self) -> Option<&'d str> {
        let d = self.data();
        (d.ns == TEXT).then(|| self.doc.str(d.value))
    }
    /// Byte offset of the element's `<` or of the text's first byte.
    pub fn position(&self) -> usize {
        self.data().pos as usize
    }
    /// The parent element (`None` for the root element).
    pub fn parent(&self) -> Option<FlatNode<'d, 'a>> {
        (self.id != 0).then(|| FlatNode {
            doc: self.doc,
            id: self.data().parent,
        })
    }
    /// The element's attributes in document order.
    pub fn attributes(&self) -> impl Iterator<Item = FlatAttribute<'d, 'a>> + use<'d, 'a> {
        let d = self.data();
        let doc = self.doc;
        let range = if d.ns == TEXT {
            &[][..]
        } else {
            doc.attrs
                .get(d.attrs_start as usize..d.attrs_end as usize)
                .unwrap_or(&[])
        };
        range.iter().map(move |&data| FlatAttribute { doc, data })
    }
    /// The value of the attribute with this namespace (`None`: no namespace) and local name.
    pub fn attribute(&self, namespace: Option<&str>, local: &str) -> Option<&'d str> {
        let doc = self.doc;
        let attrs = self.attribute_data();
        let want = local.as_bytes();
        let found = match namespace {
            None => attrs
                .iter()
                .find(|a| a.ns == NO_NS && same_bytes(doc.bytes(a.local), want)),
            // The wanted namespace as this document's index, looked up only when a
            // prefixed attribute of that local name is there (most elements have none, and
            // the validator asks every element for `xsi:type`).
            Some(uri) => {
                let mut index = None;
                attrs.iter().find(|a| {
                    a.ns != NO_NS
                        && same_bytes(doc.bytes(a.local), want)
                        && *index.get_or_insert_with(|| doc.namespace_index(uri)) == Some(a.ns)
                })
            }
        };
        found.map(|a| doc.str(a.value))
    }
    /// The value of the first attribute named `local` whose namespace `accept` takes.
    pub fn find_attribute(
        &self,
        local: &str,
        accept: impl Fn(Option<&str>) -> bool,
    ) -> Option<&'d str> {
        let doc = self.doc;
        self.attribute_data()
            .iter()
            .find(|&&data| {
                same_bytes(doc.bytes(data.local), local.as_bytes())
                    && accept(FlatAttribute { doc, data }.namespace())
            })
            .map(|a| doc.str(a.value))
    }
    fn attribute_data(&self) -> &'d [AttrData] {
        let d = self.data();
        if d.ns == TEXT {
            &[]
        } else {
            self.doc
                .attrs
                .get(d.attrs_start as usize..d.attrs_end as usize)
                .unwrap_or(&[])
        }
    }
    /// The children (elements and texts; no layout whitespace between elements).
    pub fn children(&self) -> Children<'d, 'a> {
        let d = self.data();
        let (next, end) = if d.ns == TEXT {
            (0, 0)
        } else {
            (self.id + 1, d.end)
        };
        Children {
            doc: self.doc,
            next,
            end,
        }
    }
    /// The element children.
    pub fn element_children(&self) -> impl Iterator<Item = FlatNode<'d, 'a>> + use<'d, 'a> {
        self.children().filter(FlatNode::is_element)
    }
}

impl<'d> FlatAttribute<'d, '_> {
    /// Local name.
    pub fn name(&self) -> &'d str {
        self.doc.str(self.data.local)
    }
    /// Namespace name, if the attribute is prefixed.
    pub fn namespace(&self) -> Option<&'d str> {
        if self.data.ns == NO_NS {
            return None;
        }
        self.doc
            .namespaces
            .get(self.data.ns as usize)
            .map(|c| c.as_ref())
    }
    /// The normalized value (entities resolved, white space characters as spaces).
    pub fn value(&self) -> &'d str {
        self.doc.str(self.data.value)
    }
}

/// The children of an element, in order.
#[derive(Debug, Clone)]
pub struct Children<'d, 'a> {
    doc: &'d FlatDocument<'a>,
    next: u32,
    end: u32,
}

impl<'d, 'a> Iterator for Children<'d, 'a> {
    type Item = FlatNode<'d, 'a>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let id = self.next;
        let d = self.doc.data(id)?;
        self.next = if d.ns == TEXT {
            id + 1
        } else {
            d.end.max(id + 1)
        };
        Some(FlatNode { doc: self.doc, id })
    }
}

/// An open element while reading.
struct Frame {
    node: u32,
    /// The qualified name as written, for the end tag.
    qname: (usize, usize),
    /// Length of the namespace scope before this element's declarations.
    scope_len: usize,
    /// [`Reader::binding_head`] before this element's declarations.
    binding_head: u32,
    /// [`Reader::default_ns`] before this element's declarations.
    default_ns: u32,
    has_element_child: bool,
}

/// A qualified name read at the cursor: its byte range and where its colon is (0: none;
/// a name never starts with one), so that no later step looks for the colon again.
#[derive(Debug, Clone, Copy)]
struct QName {
    start: usize,
    colon: usize,
    end: usize,
}

/// An attribute of the start tag being read.
#[derive(Debug, Clone, Copy)]
struct Pending {
    name: QName,
    value: Str,
    /// A namespace declaration (`xmlns` or `xmlns:…`), found while reading the name.
    declaration: bool,
}

/// A text run being collected (character data, references and CDATA sections up to the
/// next tag, comment or processing instruction).
struct TextRun {
    start: usize,
    /// The run is exactly the input `start..end` (nothing decoded).
    plain_end: Option<usize>,
    /// The decoded run, once it differs from the input.
    decoded: Option<String>,
}

/// Reads `text` into a flat tree, or refuses (see the module documentation).
pub fn parse<'a>(text: &'a str, limits: &ParseLimits) -> Result<FlatDocument<'a>, Refused> {
    Reader::new(text, limits)?.run()
}

struct Reader<'a, 'l> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    limits: &'l ParseLimits,
    doc: FlatDocument<'a>,
    stack: Vec<Frame>,
    /// Namespace bindings in scope: prefix ("" = default) → namespace index or NO_NS.
    scope: Vec<(&'a str, u32)>,
    /// The innermost binding in [`FlatDocument::bindings`] in scope (for the elements).
    binding_head: u32,
    run: Option<TextRun>,
    /// The default namespace in scope (the binding of the empty prefix in
    /// [`Reader::scope`], kept apart so that unprefixed elements need no search), or
    /// [`NO_NS`].
    default_ns: u32,
    /// Attributes of the start tag being read.
    pending: Vec<Pending>,
}

fn refuse<T>(at: usize, reason: &'static str) -> Result<T, Refused> {
    Err(Refused { at, reason })
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Text of XML white space only (or empty): the layout the tree keeps no node for when
/// it stands beside child elements. Other white space (U+3000 …) is kept as text.
fn is_xml_space(t: &str) -> bool {
    t.bytes().all(is_space)
}

/// Whether a qualified attribute name is a namespace declaration (`xmlns` or `xmlns:…`).
#[inline]
fn is_declaration(b: &[u8], name: QName) -> bool {
    b.get(name.start..name.start + 5) == Some(b"xmlns".as_slice())
        && (name.end == name.start + 5 || name.colon == name.start + 5)
}

/// The number of XML white space bytes at `k`. Every byte up to 0x20 is one (space, tab,
/// LF, CR): [`Reader::new`] refused the other control characters. Eight bytes a step, as
/// layout is mostly runs of spaces.
#[inline(always)]
fn spaces_at(b: &[u8], k: usize) -> usize {
    let mut at = k;
    while let Some(w) = word_at(b, at) {
        // The high bit of each byte above 0x20: (low seven bits + 0x5F) carries into it
        // when they exceed 0x20 (no carry leaves the byte), or it is set already.
        let other = (((w & !HIGHS) + 0x5F5F_5F5F_5F5F_5F5F) | w) & HIGHS;
        if other != 0 {
            return at - k + (other.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at - k
        + b.get(at..)
            .unwrap_or(&[])
            .iter()
            .take_while(|&&c| is_space(c))
            .count()
}

/// Eight bytes from `k` as one little-endian word (the first byte lowest), if there are
/// eight.
#[inline(always)]
fn word_at(b: &[u8], k: usize) -> Option<u64> {
    b.get(k..k + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map(u64::from_le_bytes)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that is zero, and possibly of bytes above (more
/// significant than) a zero byte, never below the lowest zero byte: so the lowest bit set
/// is exact, and a zero byte is always marked.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// ASCII name characters: letters, digits, `_`, `-`, `.` (1) and `:` ([`COLON`]); 0 for
/// any other byte.
const NAME_CHARS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b == b':' {
            COLON
        } else if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.') {
            1
        } else {
            0
        };
        c += 1;
    }
    t
};
const COLON: u8 = 2;

#[inline]
fn is_name_char(c: u8) -> bool {
    NAME_CHARS[c as usize] != 0
}

impl<'a, 'l> Reader<'a, 'l> {
    fn new(text: &'a str, limits: &'l ParseLimits) -> Result<Self, Refused> {
        if text.len() > limits.max_bytes || text.len() >= (OWNED - 1) as usize {
            return refuse(0, "the document is larger than the limit");
        }
        let b = text.as_bytes();
        // Every character must be an XML Char: no C0 controls but tab, LF, CR, and no
        // U+FFFE / U+FFFF (EF BF BE / EF BF BF). One pass over the bytes up front keeps
        // the rest of the reader free of these tests.
        // Chunks folded without an early exit, so that the test compiles to vector code.
        let control = |c: u8| c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r';
        // A cheaper test first (below 0x20 but LF: tab and CR are rare), the exact one
        // only on the chunks it flags.
        let suspect = |chunk: &[u8]| {
            chunk
                .iter()
                .fold(false, |seen, &c| seen | ((c < 0x20) & (c != b'\n')))
        };
        if b.chunks(64)
            .any(|chunk| suspect(chunk) && chunk.iter().fold(false, |seen, &c| seen | control(c)))
        {
            let at = b.iter().position(|&c| control(c)).unwrap_or(0);
            return refuse(at, "a control character");
        }
        for at in memchr::memchr_iter(0xEF, b) {
            if b.get(at + 1) == Some(&0xBF) && matches!(b.get(at + 2), Some(0xBE | 0xBF)) {
                return refuse(at, "a non-character U+FFFE or U+FFFF");
            }
        }
        let mut namespaces = Vec::with_capacity(4);
        namespaces.push(std::borrow::Cow::Borrowed(NS_XML));
        Ok(Reader {
            text,
            b,
            i: 0,
            limits,
            doc: FlatDocument {
                text,
                // A CDA of 22 KB has about 1,000 nodes that are not layout.
                nodes: Vec::with_capacity(text.len() / 24 + 4),
                attrs: Vec::with_capacity(text.len() / 32 + 4),
                namespaces,
                owned: Vec::new(),
                bindings: Vec::new(),
                inexact: Cell::new(false),
            },
            stack: Vec::with_capacity(16),
            scope: vec![("xml", 0)],
            binding_head: NO_BINDING,
            run: None,
            default_ns: NO_NS,
            pending: Vec::with_capacity(8),
        })
    }

    fn run(mut self) -> Result<FlatDocument<'a>, Refused> {
        self.prolog()?;
        self.start_tag()?;
        while !self.stack.is_empty() {
            self.content_step()?;
        }
        self.epilog()?;
        Ok(self.doc)
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.b.get(self.i..).unwrap_or(&[])
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.i;
        let n = self.rest().iter().take_while(|&&c| is_space(c)).count();
        self.i = start + n;
        n > 0
    }

    /// Position just past the first `pat` at or after `from`.
    fn find(&self, from: usize, pat: &[u8]) -> Option<usize> {
        let hay = self.b.get(from..)?;
        memchr::memmem::find(hay, pat).map(|p| from + p)
    }

    /// The XML declaration (only at the very start), then comments, processing
    /// instructions and white space up to the root element.
    fn prolog(&mut self) -> Result<(), Refused> {
        // A byte order mark left in the text (roxmltree skips it too).
        if self.rest().starts_with("\u{feff}".as_bytes()) {
            self.i += 3;
        }
        if self.rest().starts_with(b"<?xml") && self.at(5).is_some_and(is_space) {
            self.declaration()?;
        }
        loop {
            self.skip_spaces();
            match self.rest() {
                [b'<', b'!', b'-', b'-', ..] => self.comment()?,
                [b'<', b'?', ..] => self.processing_instruction()?,
                [b'<', c, ..] if is_name_start(*c) => return Ok(()),
                _ => return refuse(self.i, "expected the root element"),
            }
        }
    }

    /// `<?xml version="1.0" encoding="…" standalone="yes|no"?>`, strictly.
    fn declaration(&mut self) -> Result<(), Refused> {
        let start = self.i;
        self.i += 5;
        let mut seen = 0u8; // 1 = version, 2 = encoding, 3 = standalone
        loop {
            let spaced = self.skip_spaces();
            if self.rest().starts_with(b"?>") {
                if seen == 0 {
                    return refuse(start, "an XML declaration without a version");
                }
                self.i += 2;
                return Ok(());
            }
            if !spaced {
                return refuse(self.i, "an unusual XML declaration");
            }
            let name_start = self.i;
            while self.at(0).is_some_and(|c| c.is_ascii_lowercase()) {
                self.i += 1;
            }
            let name = self.b.get(name_start..self.i).unwrap_or(&[]);
            let which = match name {
                b"version" if seen == 0 => 1,
                b"encoding" if seen == 1 => 2,
                b"standalone" if (1..3).contains(&seen) => 3,
                _ => return refuse(name_start, "an unusual XML declaration"),
            };
            self.skip_spaces();
            if self.at(0) != Some(b'=') {
                return refuse(self.i, "an unusual XML declaration");
            }
            self.i += 1;
            self.skip_spaces();
            let Some(quote) = self.at(0).filter(|q| *q == b'"' || *q == b'\'') else {
                return refuse(self.i, "an unusual XML declaration");
            };
            let value_start = self.i + 1;
            let Some(value_end) = memchr::memchr(quote, self.b.get(value_start..).unwrap_or(&[]))
                .map(|p| value_start + p)
            else {
                return refuse(self.i, "an unusual XML declaration");
            };
            let value = self.b.get(value_start..value_end).unwrap_or(&[]);
            let fine = match which {
                1 => value == b"1.0",
                2 => {
                    value.first().is_some_and(u8::is_ascii_alphabetic)
                        && value
                            .iter()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
                }
                _ => value == b"yes" || value == b"no",
            };
            if !fine {
                return refuse(value_start, "an unusual XML declaration");
            }
            seen = which;
            self.i = value_end + 1;
        }
    }

    /// `<!-- … -->` (no `--` inside).
    fn comment(&mut self) -> Result<(), Refused> {
        let body = self.i + 4;
        let Some(close) = self.find(body, b"--") else {
            return refuse(self.i, "an unclosed comment");
        };
        if self.b.get(close + 2) != Some(&b'>') {
            return refuse(close, "`--` inside a comment");
        }
        self.i = close + 3;
        Ok(())
    }

    /// `<?target …?>` with a target other than `xml` (any case).
    fn processing_instruction(&mut self) -> Result<(), Refused> {
        let start = self.i;
        self.i += 2;
        let name_start = self.i;
        if !self.at(0).is_some_and(is_name_start) {
            return refuse(start, "an unusual processing instruction");
        }
        while self.at(0).is_some_and(|c| is_name_char(c) && c != b':') {
            self.i += 1;
        }
        let name = self.b.get(name_start..self.i).unwrap_or(&[]);
        if name.eq_ignore_ascii_case(b"xml") {
            return refuse(start, "an XML declaration after the start");
        }
        if !(self.rest().starts_with(b"?>") || self.at(0).is_some_and(is_space)) {
            return refuse(start, "an unusual processing instruction");
        }
        let Some(close) = self.find(self.i, b"?>") else {
            return refuse(start, "an unclosed processing instruction");
        };
        self.i = close + 2;
        Ok(())
    }

    /// After the root element: white space, comments and processing instructions only.
    fn epilog(&mut self) -> Result<(), Refused> {
        loop {
            self.skip_spaces();
            match self.rest() {
                [] => return Ok(()),
                [b'<', b'!', b'-', b'-', ..] => self.comment()?,
                [b'<', b'?', ..] => self.processing_instruction()?,
                _ => return refuse(self.i, "content after the root element"),
            }
        }
    }

    /// A qualified name at the cursor, with at most one inner colon.
    #[inline]
    fn qname(&mut self) -> Result<QName, Refused> {
        let start = self.i;
        let b = self.b;
        if !b.get(start).copied().is_some_and(is_name_start) {
            return refuse(start, "an unusual name");
        }
        // Name characters other than `:` (one table load and one test a byte), then at
        // most one colon and a second part.
        let plain = |k: usize| b.get(k).is_some_and(|&c| NAME_CHARS[c as usize] == 1);
        let mut k = start + 1;
        while plain(k) {
            k += 1;
        }
        let mut colon = 0;
        if b.get(k) == Some(&b':') {
            colon = k;
            k += 1;
            if !b.get(k).copied().is_some_and(is_name_start) {
                return refuse(colon, "an unusual name");
            }
            k += 1;
            while plain(k) {
                k += 1;
            }
            if b.get(k) == Some(&b':') {
                return refuse(colon, "an unusual name");
            }
        }
        self.i = k;
        if b.get(k).is_some_and(|c| !c.is_ascii()) {
            return refuse(k, "a name outside ASCII");
        }
        Ok(QName {
            start,
            colon,
            end: k,
        })
    }

    fn slice(&self, (s, e): (usize, usize)) -> &'a str {
        self.text.get(s..e).unwrap_or("")
    }

    fn input_str(s: usize, e: usize) -> Str {
        Str {
            start: s as u32,
            end: e as u32,
        }
    }

    fn own(&mut self, s: String) -> Str {
        self.doc.owned.push(s);
        Str {
            start: OWNED,
            end: (self.doc.owned.len() - 1) as u32,
        }
    }

    fn count_check(&self) -> Result<(), Refused> {
        if self.doc.nodes.len() + self.doc.attrs.len() > self.limits.max_nodes as usize {
            return refuse(self.i, "more nodes than the limit");
        }
        Ok(())
    }

    /// A start tag at the cursor (`<name …>` or `<name …/>`).
    fn start_tag(&mut self) -> Result<(), Refused> {
        let lt = self.i;
        if self.stack.len() + 1 > self.limits.max_depth {
            return refuse(lt, "nested deeper than the limit");
        }
        self.i += 1;
        let qname = self.qname()?;
        self.pending.clear();
        let mut declarations = false;
        let scope_len = self.scope.len();
        let binding_head = self.binding_head;
        let default_ns = self.default_ns;
        // Attributes go straight into the tree, resolved in the scope the element starts
        // in, until a namespace declaration (which may change that scope), a prefix that
        // scope does not bind, or a prefixed duplicate turns up: then they are all done
        // again after the declarations, as written below.
        let attrs_start = self.doc.attrs.len();
        let mut direct = true;
        let empty = loop {
            let spaced = self.skip_spaces();
            match self.at(0) {
                Some(b'>') => {
                    self.i += 1;
                    break false;
                }
                Some(b'/') if self.at(1) == Some(b'>') => {
                    self.i += 2;
                    break true;
                }
                Some(_) if spaced => {}
                _ => return refuse(self.i, "an unusual start tag"),
            }
            if self.pending.len() >= MAX_ATTRIBUTES_PER_ELEMENT {
                return refuse(self.i, "too many attributes");
            }
            let name = self.qname()?;
            // `=` right after the name is the usual way.
            if self.at(0) == Some(b'=') {
                self.i += 1;
            } else {
                self.skip_spaces();
                if self.at(0) != Some(b'=') {
                    return refuse(self.i, "an attribute without a value");
                }
                self.i += 1;
                self.skip_spaces();
            }
            let Some(quote) = self.at(0).filter(|q| *q == b'"' || *q == b'\'') else {
                return refuse(self.i, "an unquoted attribute value");
            };
            let value_start = self.i + 1;
            let Some((value_end, special)) = self.value_end(value_start, quote) else {
                return refuse(self.i, "an unclosed attribute value");
            };
            let value = if special {
                self.attribute_value(value_start, value_end)?
            } else {
                Self::input_str(value_start, value_end)
            };
            self.i = value_end + 1;
            let b = self.b;
            let declaration = is_declaration(b, name);
            if direct
                && !declaration
                && let Some((ns, local)) = self.resolve(name, false)
            {
                // The same namespace and local name as an earlier one (unprefixed:
                // the same name as written, refused; prefixed: done again below).
                let lb = b.get(local.0..local.1).unwrap_or(&[]);
                let doc = &self.doc;
                let twice = doc
                    .attrs
                    .get(attrs_start..)
                    .unwrap_or(&[])
                    .iter()
                    .any(|a| a.ns == ns && same_bytes(doc.bytes(a.local), lb));
                if twice && ns == NO_NS {
                    return refuse(name.start, "an attribute written twice");
                }
                if !twice {
                    self.doc.attrs.push(AttrData {
                        local: Self::input_str(local.0, local.1),
                        ns,
                        value,
                    });
                    self.pending.push(Pending {
                        name,
                        value,
                        declaration,
                    });
                    continue;
                }
            }
            direct = false;
            let qn = b.get(name.start..name.end).unwrap_or(&[]);
            if self
                .pending
                .iter()
                .any(|p| same_bytes(b.get(p.name.start..p.name.end).unwrap_or(&[]), qn))
            {
                return refuse(name.start, "an attribute written twice");
            }
            declarations |= declaration;
            self.pending.push(Pending {
                name,
                value,
                declaration,
            });
        };
        // Namespace declarations first: they apply to the element and all its attributes.
        if declarations {
            self.declare()?;
        }
        let Some((element_ns, local)) = self.resolve(qname, true) else {
            return refuse(qname.start, "an undeclared prefix");
        };
        // The element node; a parent that gets its first element child drops the layout
        // text it had so far.
        let first_element_child = match self.stack.last_mut() {
            Some(parent) if !parent.has_element_child => {
                parent.has_element_child = true;
                Some(parent.node)
            }
            _ => None,
        };
        if let Some(parent_node) = first_element_child {
            self.flush_text()?;
            // Every node after the parent is one of its texts: it had no element child.
            let first = parent_node as usize + 1;
            let mut kept = first;
            for k in first..self.doc.nodes.len() {
                let Some(n) = self.doc.nodes.get(k).copied() else {
                    break;
                };
                if !is_xml_space(self.doc.str(n.value)) {
                    if let Some(slot) = self.doc.nodes.get_mut(kept) {
                        *slot = n;
                    }
                    kept += 1;
                }
            }
            if kept < self.doc.nodes.len() {
                self.doc.nodes.truncate(kept);
                self.mark_dropped(parent_node);
            }
        } else {
            self.flush_text()?;
        }
        let id = self.doc.nodes.len() as u32;
        if !direct {
            self.attrs_again(attrs_start)?;
        }
        let parent = self.stack.last().map_or(0, |f| f.node);
        self.doc.nodes.push(NodeData {
            value: Self::input_str(local.0, local.1),
            ns: element_ns,
            parent,
            end: id + 1,
            attrs_start: attrs_start as u32,
            attrs_end: self.doc.attrs.len() as u32,
            pos: lt as u32,
            scope: self.binding_head,
            dropped: false,
        });
        self.count_check()?;
        if empty {
            self.scope.truncate(scope_len);
            self.binding_head = binding_head;
            self.default_ns = default_ns;
        } else {
            self.stack.push(Frame {
                node: id,
                qname: (qname.start, qname.end),
                scope_len,
                binding_head,
                default_ns,
                has_element_child: false,
            });
        }
        Ok(())
    }

    /// The attributes of the start tag being read, into the tree from `attrs_start` on,
    /// resolved in the scope after its declarations.
    fn attrs_again(&mut self, attrs_start: usize) -> Result<(), Refused> {
        self.doc.attrs.truncate(attrs_start);
        for k in 0..self.pending.len() {
            let Some(&Pending {
                name,
                value,
                declaration,
            }) = self.pending.get(k)
            else {
                break;
            };
            if declaration {
                continue;
            }
            let Some((ns, local)) = self.resolve(name, false) else {
                return refuse(name.start, "an undeclared prefix");
            };
            // Unprefixed names were compared as written above; only prefixed ones can
            // name the same attribute through two prefixes of one namespace.
            if ns != NO_NS
                && self
                    .doc
                    .attrs
                    .get(attrs_start..)
                    .unwrap_or(&[])
                    .iter()
                    .any(|a| {
                        a.ns == ns
                            && same_bytes(
                                self.doc.bytes(a.local),
                                self.b.get(local.0..local.1).unwrap_or(&[]),
                            )
                    })
            {
                return refuse(name.start, "an attribute written twice");
            }
            self.doc.attrs.push(AttrData {
                local: Self::input_str(local.0, local.1),
                ns,
                value,
            });
        }
        Ok(())
    }

    /// Where the attribute value starting at `from` ends (the position of its closing
    /// `quote`), and whether it holds a byte that only [`Reader::attribute_value`] reads
    /// right (`<`, `&`, or a byte below 0x20: tab, LF or CR). Eight bytes a step: the
    /// values are short, and one pass replaces a `memchr` call and a second scan.
    #[inline]
    fn value_end(&self, from: usize, quote: u8) -> Option<(usize, bool)> {
        let b = self.b;
        let quotes = ONES * u64::from(quote);
        let mut k = from;
        while let Some(w) = word_at(b, k) {
            let at_quote = zero_bytes(w ^ quotes);
            // Every special byte is marked; a mark can be wrong only above a right one.
            let special = zero_bytes(w ^ (ONES * u64::from(b'<')))
                | zero_bytes(w ^ (ONES * u64::from(b'&')))
                | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
            if at_quote != 0 {
                let n = at_quote.trailing_zeros() / 8;
                let below = special & ((1u64 << (n * 8)) - 1);
                return Some((k + n as usize, below != 0));
            }
            if special != 0 {
                let rest = b.get(k..)?;
                return memchr::memchr(quote, rest).map(|p| (k + p, true));
            }
            k += 8;
        }
        let mut special = false;
        while let Some(&c) = b.get(k) {
            if c == quote {
                return Some((k, special));
            }
            special |= c == b'<' || c == b'&' || c < 0x20;
            k += 1;
        }
        None
    }

    /// The namespace declarations of the start tag being read, into the scope.
    fn declare(&mut self) -> Result<(), Refused> {
        for k in 0..self.pending.len() {
            let Some(&Pending {
                name,
                value,
                declaration,
            }) = self.pending.get(k)
            else {
                break;
            };
            if !declaration {
                continue;
            }
            let qn = self.slice((name.start, name.end));
            let (prefix, prefix_range) = match qn.get(6..) {
                None => ("", Self::input_str(name.end, name.end)),
                Some(p) => (p, Self::input_str(name.start + 6, name.end)),
            };
            if prefix == "xml" || prefix == "xmlns" {
                return refuse(name.start, "a declaration of a reserved prefix");
            }
            let uri: std::borrow::Cow<'a, str> = if value.start == OWNED {
                std::borrow::Cow::Owned(self.doc.str(value).to_owned())
            } else {
                std::borrow::Cow::Borrowed(
                    self.text
                        .get(value.start as usize..value.end as usize)
                        .unwrap_or(""),
                )
            };
            if same(&uri, NS_XML) || same(&uri, "http://www.w3.org/2000/xmlns/") {
                return refuse(name.start, "a reserved namespace name");
            }
            if uri.is_empty() && !prefix.is_empty() {
                return refuse(name.start, "an empty namespace for a prefix");
            }
            // `xmlns=""` binds the empty namespace name, which roxmltree reports as
            // `Some("")`, so it is kept as a name like any other.
            let index = if let Some(at) = self.doc.namespaces.iter().position(|n| same(n, &uri)) {
                at as u32
            } else {
                if self.doc.namespaces.len() >= MAX_NAMESPACES {
                    return refuse(name.start, "too many namespaces");
                }
                self.doc.namespaces.push(uri);
                (self.doc.namespaces.len() - 1) as u32
            };
            if prefix.is_empty() {
                self.default_ns = index;
            }
            self.scope.push((prefix, index));
            self.doc.bindings.push(Binding {
                prefix: prefix_range,
                ns: index,
                prev: self.binding_head,
            });
            self.binding_head = (self.doc.bindings.len() - 1) as u32;
        }
        Ok(())
    }

    /// The namespace and local-name range of a qualified name in the current scope. An
    /// unprefixed attribute has no namespace; an unprefixed element takes the default one.
    /// (`None`: an undeclared prefix.)
    #[inline(always)]
    fn resolve(&self, name: QName, element: bool) -> Option<(u32, (usize, usize))> {
        if name.colon == 0 {
            let ns = if element { self.default_ns } else { NO_NS };
            return Some((ns, (name.start, name.end)));
        }
        let prefix = self.b.get(name.start..name.colon).unwrap_or(&[]);
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| same_bytes(p.as_bytes(), prefix))
            .map(|&(_, ns)| (ns, (name.colon + 1, name.end)))
    }

    /// An attribute value `start..end` (between the quotes): as written when it holds no
    /// reference and no white space other than spaces, else decoded and normalized
    /// (references resolved, each tab, LF, CR or CR LF written becomes one space).
    fn attribute_value(&mut self, start: usize, end: usize) -> Result<Str, Refused> {
        let raw = self.b.get(start..end).unwrap_or(&[]);
        // One pass without an early exit (it compiles to vector code): `<`, `&`, and
        // below 0x20 only tab, LF and CR remain (the other controls were refused).
        let special = raw.iter().fold(false, |seen, &c| {
            seen | (c == b'<') | (c == b'&') | (c < 0x20)
        });
        if !special {
            return Ok(Self::input_str(start, end));
        }
        if raw.contains(&b'<') {
            return refuse(start, "`<` in an attribute value");
        }
        let mut out = String::with_capacity(raw.len());
        let mut k = start;
        while k < end {
            let c = self.b.get(k).copied().unwrap_or(0);
            match c {
                b'&' => k = self.reference(k, end, &mut out)?,
                b'\r' => {
                    out.push(' ');
                    k += if self.b.get(k + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                }
                b'\t' | b'\n' => {
                    out.push(' ');
                    k += 1;
                }
                _ => {
                    // Up to the next byte that needs the arms above (all ASCII, so the
                    // slice ends on a character boundary).
                    let next = (k + 1..end)
                        .find(|&j| matches!(self.b.get(j), Some(b'&' | b'\t' | b'\n' | b'\r')))
                        .unwrap_or(end);
                    out.push_str(self.text.get(k..next).unwrap_or(""));
                    k = next;
                }
            }
        }
        Ok(self.own(out))
    }

    /// A reference at `at` (`&…;`, ending before `limit`), decoded into `out`; returns the
    /// position after it. Only the five predefined entities and character references.
    fn reference(&self, at: usize, limit: usize, out: &mut String) -> Result<usize, Refused> {
        let window_end = limit.min(at + 12);
        let Some(semi) = self
            .b
            .get(at..window_end)
            .and_then(|w| memchr::memchr(b';', w))
            .map(|p| at + p)
        else {
            return refuse(at, "an unusual reference");
        };
        let body = self.b.get(at + 1..semi).unwrap_or(&[]);
        let c = match body {
            b"lt" => '<',
            b"gt" => '>',
            b"amp" => '&',
            b"apos" => '\'',
            b"quot" => '"',
            [b'#', b'x', hex @ ..] if !hex.is_empty() => {
                let digits = std::str::from_utf8(hex).unwrap_or("");
                if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
                    return refuse(at, "an unusual reference");
                }
                char_of(u32::from_str_radix(digits, 16).ok(), at)?
            }
            [b'#', dec @ ..] if !dec.is_empty() => {
                let digits = std::str::from_utf8(dec).unwrap_or("");
                if !digits.bytes().all(|d| d.is_ascii_digit()) {
                    return refuse(at, "an unusual reference");
                }
                char_of(digits.parse::<u32>().ok(), at)?
            }
            _ => return refuse(at, "an entity other than the predefined five"),
        };
        out.push(c);
        Ok(semi + 1)
    }

    /// One step inside the open element: character data up to the next markup, then the
    /// markup (a child, an end tag, a comment, a processing instruction or CDATA).
    fn content_step(&mut self) -> Result<(), Refused> {
        let start = self.i;
        // White space first: when `<` follows it, the text is layout and no search for
        // `<` is needed (most texts are the short layout between child elements).
        let spaces = spaces_at(self.b, start);
        let lt = if self.b.get(start + spaces) == Some(&b'<') {
            start + spaces
        } else {
            let from = start + spaces;
            let Some(lt) =
                memchr::memchr(b'<', self.b.get(from..).unwrap_or(&[])).map(|p| from + p)
            else {
                return refuse(start, "an element is not closed");
            };
            lt
        };
        if lt > start {
            // Layout between child elements (the most common text): no run and no node,
            // unless a CDATA section follows and may continue it. Layout before a start
            // tag is such layout too: that element is a child, so the start tag would drop
            // the run at once (and mark the parent the same way).
            let layout =
                self.run.is_none() && self.b.get(lt + 1) != Some(&b'!') && lt == start + spaces;
            let child_next = self.b.get(lt + 1).copied().is_some_and(is_name_start);
            match self.stack.last() {
                Some(f) if layout && (f.has_element_child || child_next) => {
                    let parent = f.node;
                    self.mark_dropped(parent);
                }
                _ => self.char_data(start, lt)?,
            }
        }
        self.i = lt;
        match self.at(1) {
            Some(b'/') => self.end_tag(),
            Some(b'!') => {
                if self.rest().starts_with(b"<!--") {
                    self.flush_text()?;
                    self.comment()
                } else if self.rest().starts_with(b"<![CDATA[") {
                    self.cdata()
                } else {
                    refuse(lt, "a markup declaration")
                }
            }
            Some(b'?') => {
                self.flush_text()?;
                self.processing_instruction()
            }
            _ => self.start_tag(),
        }
    }

    /// Character data `start..end` (no `<`), added to the text run.
    fn char_data(&mut self, start: usize, end: usize) -> Result<(), Refused> {
        let raw = self.b.get(start..end).unwrap_or(&[]);
        // Most runs are short layout: one plain loop beats three searches set up.
        let (needs, gt) = if raw.len() <= 64 {
            raw.iter().fold((false, false), |(n, g), &c| {
                (n | (c == b'&') | (c == b'\r'), g | (c == b'>'))
            })
        } else {
            (
                memchr::memchr2(b'&', b'\r', raw).is_some(),
                memchr::memchr(b'>', raw).is_some(),
            )
        };
        if gt && memchr::memmem::find(raw, b"]]>").is_some() {
            return refuse(start, "`]]>` in text");
        }
        if !needs && self.run.is_none() {
            self.run = Some(TextRun {
                start,
                plain_end: Some(end),
                decoded: None,
            });
            return Ok(());
        }
        let mut decoded = self.take_run_decoded(start);
        let mut k = start;
        while k < end {
            let next = memchr::memchr2(b'&', b'\r', self.b.get(k..end).unwrap_or(&[]))
                .map_or(end, |p| k + p);
            decoded.push_str(self.text.get(k..next).unwrap_or(""));
            k = next;
            match self.b.get(k) {
                Some(b'&') if k < end => k = self.reference(k, end, &mut decoded)?,
                Some(b'\r') if k < end => {
                    // roxmltree keeps a lone CR that a reference follows (`\r&#65;`) as CR,
                    // where the line-end rule says LF; the reference parser reads these.
                    if self.b.get(k + 1) == Some(&b'&') && k + 1 < end {
                        return refuse(k, "a carriage return before a reference");
                    }
                    decoded.push('\n');
                    k += if self.b.get(k + 1) == Some(&b'\n') && k + 1 < end {
                        2
                    } else {
                        1
                    };
                }
                _ => {}
            }
        }
        self.set_run_decoded(decoded);
        Ok(())
    }

    /// `<![CDATA[ … ]]>`: added to the text run as written (line ends normalized).
    fn cdata(&mut self) -> Result<(), Refused> {
        let body = self.i + 9;
        let Some(close) = self.find(body, b"]]>") else {
            return refuse(self.i, "an unclosed CDATA section");
        };
        let mut decoded = self.take_run_decoded(self.i);
        let raw = self.text.get(body..close).unwrap_or("");
        if raw.contains('\r') {
            decoded.push_str(&raw.replace("\r\n", "\n").replace('\r', "\n"));
        } else {
            decoded.push_str(raw);
        }
        self.set_run_decoded(decoded);
        self.i = close + 3;
        Ok(())
    }

    /// The text run so far as an owned string (starting a run at `start` if none).
    fn take_run_decoded(&mut self, start: usize) -> String {
        match self.run.take() {
            None => {
                self.run = Some(TextRun {
                    start,
                    plain_end: None,
                    decoded: None,
                });
                String::new()
            }
            Some(mut run) => {
                let s = match (run.decoded.take(), run.plain_end) {
                    (Some(d), _) => d,
                    (None, Some(e)) => self.text.get(run.start..e).unwrap_or("").to_owned(),
                    (None, None) => String::new(),
                };
                run.plain_end = None;
                self.run = Some(run);
                s
            }
        }
    }

    fn set_run_decoded(&mut self, decoded: String) {
        if let Some(run) = self.run.as_mut() {
            run.plain_end = None;
            run.decoded = Some(decoded);
        }
    }

    /// Ends the text run: a text node, unless it is layout in an element that has element
    /// children (or empty).
    #[inline]
    fn flush_text(&mut self) -> Result<(), Refused> {
        if self.run.is_none() {
            return Ok(());
        }
        self.flush_run()
    }

    fn flush_run(&mut self) -> Result<(), Refused> {
        let Some(run) = self.run.take() else {
            return Ok(());
        };
        let Some((parent_node, has_element_child)) =
            self.stack.last().map(|p| (p.node, p.has_element_child))
        else {
            return Ok(());
        };
        let value = match (run.decoded, run.plain_end) {
            (Some(d), _) => {
                if d.is_empty() || (has_element_child && is_xml_space(&d)) {
                    self.mark_dropped(parent_node);
                    return Ok(());
                }
                self.own(d)
            }
            (None, Some(e)) => {
                let t = self.text.get(run.start..e).unwrap_or("");
                if t.is_empty() || (has_element_child && is_xml_space(t)) {
                    self.mark_dropped(parent_node);
                    return Ok(());
                }
                Self::input_str(run.start, e)
            }
            (None, None) => {
                self.mark_dropped(parent_node);
                return Ok(());
            }
        };
        self.doc.nodes.push(NodeData {
            value,
            ns: TEXT,
            parent: parent_node,
            end: 0,
            attrs_start: 0,
            attrs_end: 0,
            pos: run.start as u32,
            scope: NO_BINDING,
            dropped: false,
        });
        self.count_check()
    }

    fn mark_dropped(&mut self, element: u32) {
        if let Some(n) = self.doc.nodes.get_mut(element as usize) {
            n.dropped = true;
        }
    }

    /// `</name>` closing the innermost open element.
    fn end_tag(&mut self) -> Result<(), Refused> {
        self.flush_text()?;
        let lt = self.i;
        // The usual end tag: the start tag's name as written, then `>` (what the general
        // way below accepts the same way: a name the start tag had, ended by `>`).
        if let Some(frame) = self.stack.last() {
            let (s, e) = frame.qname;
            let at = lt + 2;
            let b = self.b;
            if b.get(at + (e - s)) == Some(&b'>')
                && same_bytes(
                    b.get(at..at + (e - s)).unwrap_or(&[]),
                    b.get(s..e).unwrap_or(&[]),
                )
            {
                self.i = at + (e - s) + 1;
                let node = frame.node;
                let scope_len = frame.scope_len;
                let binding_head = frame.binding_head;
                let default_ns = frame.default_ns;
                self.stack.pop();
                let end = self.doc.nodes.len() as u32;
                if let Some(n) = self.doc.nodes.get_mut(node as usize) {
                    n.end = end;
                }
                self.scope.truncate(scope_len);
                self.binding_head = binding_head;
                self.default_ns = default_ns;
                return Ok(());
            }
        }
        self.i += 2;
        let name = self.qname()?;
        let name = (name.start, name.end);
        self.skip_spaces();
        if self.at(0) != Some(b'>') {
            return refuse(self.i, "an unusual end tag");
        }
        self.i += 1;
        let Some(frame) = self.stack.pop() else {
            return refuse(lt, "an end tag without a start tag");
        };
        if !same_bytes(
            self.b.get(name.0..name.1).unwrap_or(&[]),
            self.b.get(frame.qname.0..frame.qname.1).unwrap_or(&[]),
        ) {
            return refuse(lt, "an end tag that does not match its start tag");
        }
        let end = self.doc.nodes.len() as u32;
        if let Some(n) = self.doc.nodes.get_mut(frame.node as usize) {
            n.end = end;
        }
        self.scope.truncate(frame.scope_len);
        self.binding_head = frame.binding_head;
        self.default_ns = frame.default_ns;
        Ok(())
    }
}

/// The character of a character reference, when it is an XML Char.
fn char_of(code: Option<u32>, at: usize) -> Result<char, Refused> {
    let Some(c) = code.and_then(char::from_u32) else {
        return refuse(at, "a character reference to no character");
    };
    let allowed = matches!(c, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}';
    if !allowed {
        return refuse(at, "a character reference to a character XML forbids");
    }
    Ok(c)
}

/// Where a flat tree and roxmltree's tree of the same text differ (empty: the same
/// content). The reference for the comparison is roxmltree's tree read the way
/// [`crate::xml::Element::from_node`] reads it: comments and processing instructions
/// skipped, layout text dropped in elements that have element children, namespace
/// declarations not counted as attributes. Walks both trees without recursion and stops
/// after 20 differences.
pub fn differences(flat: &FlatDocument<'_>, reference: &roxmltree::Document<'_>) -> Vec<String> {
    let mut found = Vec::new();
    let mut work = vec![(flat.root_element(), reference.root_element(), String::new())];
    while let Some((f, r, parent_path)) = work.pop() {
        if found.len() >= 20 {
            break;
        }
        let path = format!("{parent_path}/{}", r.tag_name().name());
        if f.name() != r.tag_name().name() || f.namespace() != r.tag_name().namespace() {
            found.push(format!(
                "{path}: element {:?} {{{:?}}} against {:?} {{{:?}}}",
                f.name(),
                f.namespace(),
                r.tag_name().name(),
                r.tag_name().namespace()
            ));
            continue;
        }
        if f.position() != r.range().start {
            found.push(format!(
                "{path}: at byte {} against {}",
                f.position(),
                r.range().start
            ));
        }
        let fa: Vec<(Option<&str>, &str, &str)> = f
            .attributes()
            .map(|a| (a.namespace(), a.name(), a.value()))
            .collect();
        let ra: Vec<(Option<&str>, &str, &str)> = r
            .attributes()
            .map(|a| (a.namespace(), a.name(), a.value()))
            .collect();
        if fa != ra {
            found.push(format!("{path}: attributes {fa:?} against {ra:?}"));
        }
        let has_elements = r.children().any(|c| c.is_element());
        let kept = |c: &roxmltree::Node<'_, '_>| {
            c.is_element()
                || (c.is_text()
                    && !(has_elements && c.text().is_some_and(is_xml_space))
                    && c.text().is_some_and(|t| !t.is_empty()))
        };
        let rc: Vec<roxmltree::Node<'_, '_>> = r.children().filter(kept).collect();
        let dropped = r.children().any(|c| c.is_text() && !kept(&c));
        if f.dropped_text() != dropped {
            found.push(format!(
                "{path}: dropped text {} against {dropped}",
                f.dropped_text()
            ));
        }
        for prefix in [None, Some("xsi"), Some("v3"), Some("p")] {
            if r.lookup_namespace_uri(prefix) != f.lookup_namespace(prefix) {
                found.push(format!(
                    "{path}: namespace of {prefix:?} {:?} against {:?}",
                    f.lookup_namespace(prefix),
                    r.lookup_namespace_uri(prefix)
                ));
            }
        }
        let siblings: Vec<usize> = std::iter::successors(f.first_child(), |c| c.next_sibling())
            .map(|c| c.id as usize)
            .collect();
        let direct: Vec<usize> = f.children().map(|c| c.id as usize).collect();
        if siblings != direct {
            found.push(format!(
                "{path}: sibling links {siblings:?} against {direct:?}"
            ));
        }
        let fc: Vec<FlatNode<'_, '_>> = f.children().collect();
        if fc.len() != rc.len() {
            found.push(format!(
                "{path}: {} children against {}",
                fc.len(),
                rc.len()
            ));
            continue;
        }
        for (k, (fch, rch)) in fc.into_iter().zip(rc).enumerate().rev() {
            match (fch.is_element(), rch.is_element()) {
                (true, true) => work.push((fch, rch, path.clone())),
                (false, false) => {
                    if fch.text() != rch.text() {
                        found.push(format!(
                            "{path}: text {k} {:?} against {:?}",
                            fch.text(),
                            rch.text()
                        ));
                    }
                }
                _ => found.push(format!("{path}: child {k} is of another kind")),
            }
            if fch.parent().map(|p| p.id) != Some(f.id) {
                found.push(format!("{path}: child {k} has another parent"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ParseLimits {
        ParseLimits::default()
    }

    /// Parses with both readers; when roxmltree accepts and the flat reader does too, the
    /// trees must agree; when roxmltree refuses, the flat reader must refuse.
    fn agree(text: &str) -> Result<(), Refused> {
        let options = roxmltree::ParsingOptions {
            allow_dtd: false,
            ..Default::default()
        };
        let reference = roxmltree::Document::parse_with_options(text, options);
        let flat = parse(text, &limits());
        match (&reference, &flat) {
            (Ok(r), Ok(f)) => {
                let diff = differences(f, r);
                assert!(diff.is_empty(), "{text:?}: {diff:#?}");
            }
            (Err(e), Ok(_)) => {
                panic!("{text:?}: roxmltree refuses ({e}) but the flat reader accepts")
            }
            _ => {}
        }
        flat.map(|_| ())
    }

    #[test]
    fn same_tree_as_roxmltree_on_the_usual_shapes() {
        for text in [
            "<a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b x='1' y=\"2\">t</b>\n  <c/>\n</a>\n",
            "<?xml version='1.0' encoding='utf-8' standalone='yes'?><a>x</a>",
            "<a xmlns='urn:hl7-org:v3' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'><value xsi:type='PQ' value='1'/></a>",
            "<p:a xmlns:p='urn:p'><p:b/><c/></p:a>",
            "<a xmlns='urn:x'><b xmlns=''><c/></b></a>",
            "<a>x &amp; y &lt;z&gt; &#x41;&#66; &quot;&apos;</a>",
            "<a v='a&amp;b&#10;c\td\r\ne'/>",
            "<a>line1\r\nline2\rline3</a>",
            "<a>  <b/>  text  <c/>  </a>",
            "<a>   </a>",
            "<a><!-- c --><b/><?pi data?></a><!-- after -->",
            "<a>x<!-- c -->y</a>",
            "<a>x<![CDATA[<y>&amp;\r\n]]>z</a>",
            "<a><![CDATA[   ]]><b/></a>",
            "<a>住所 東京都\u{3000}千代田区</a>",
            "<a>\u{3000}<b/>\u{3000}</a>",
            "<a\n  x = \"1\"\n></a >",
            "<a xml:lang='ja'/>",
            "\u{feff}<a/>",
        ] {
            agree(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"));
        }
    }

    #[test]
    fn refuses_what_roxmltree_refuses_and_the_unusual() {
        for text in [
            "",
            "text",
            "<a>",
            "<a></b>",
            "<a><b></a></b>",
            "<a x='1' x='2'/>",
            "<a xmlns:p='urn:1' xmlns:q='urn:1' p:x='1' q:x='2'/>",
            "<p:a/>",
            "<a>&unknown;</a>",
            "<a>&#0;</a>",
            "<a>&#xD800;</a>",
            "<a>]]></a>",
            "<a x='<'/>",
            "<a x=1/>",
            "<a x='1'y='2'/>",
            "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>",
            "<a/><b/>",
            "<a/>text",
            "<a>\u{1}</a>",
            "<a>\u{fffe}</a>",
            "<a><?xml version='1.0'?></a>",
            " <?xml version='1.0'?><a/>",
            "<a><!-- x -- y --></a>",
            "<a><b/>",
            "<a xmlns:xml='urn:other'/>",
            "<a xmlns:p=''/>",
            "<ä/>",
        ] {
            assert!(agree(text).is_err(), "{text:?} is accepted");
        }
    }

    #[test]
    fn the_fast_paths_agree_with_roxmltree() {
        // Attribute values of every length around the eight-byte steps, with a byte that
        // needs decoding (or a quote of the other kind) at every position.
        for len in 0..20 {
            for at in 0..=len {
                for special in [
                    "&amp;", "\t", "\n", "\r\n", "'", "\"", "&#x3042;", "あ", "<",
                ] {
                    let mut value = "v".repeat(len);
                    value.insert_str(at, special);
                    for quote in ['"', '\''] {
                        let text = format!("<a x={quote}{value}{quote} y='1'/>");
                        let _ = agree(&text);
                    }
                }
            }
        }
        // Layout of every length before tags, texts and end tags.
        for n in 0..20 {
            let pad = " ".repeat(n);
            for text in [
                format!("<a>{pad}<b/>{pad}</a>"),
                format!("<a>{pad}x{pad}<b/></a>"),
                format!("<a>\n{pad}\t<b/>\r\n{pad}</a>"),
                format!("<a>{pad}<![CDATA[ ]]>{pad}</a>"),
                format!("<a><b/>{pad}あ</a>"),
            ] {
                agree(&text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"));
            }
        }
        for text in [
            // A prefix declared after the attribute that uses it, on the same element.
            "<a p:x='1' xmlns:p='urn:p'/>",
            "<a xmlns:p='urn:1'><b p:x='1' xmlns:p='urn:2'/><c p:x='2'/></a>",
            // Two prefixes of one namespace, one rebound on the element: no duplicate.
            "<a xmlns:p='urn:1' xmlns:q='urn:1'><b p:x='1' q:x='2' xmlns:q='urn:2'/></a>",
            // The default namespace changed and restored.
            "<a xmlns='urn:1'><b xmlns='urn:2'><c/></b><d/><e xmlns='urn:3'/><f/></a>",
            "<p:a xmlns:p='urn:p'><p:b></p:b ><p:c></p:c></p:a>",
            "<a><b></b\n></a>",
            "<a x = '1'\ty\n=\n\"2\"/>",
        ] {
            agree(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"));
        }
        for text in [
            "<a xmlns:p='urn:1' xmlns:q='urn:1'><b p:x='1' q:x='2'/></a>",
            "<a x='1' y='2' x='3'/>",
            "<a p:x='1'/>",
            "<a><b></bb></a>",
            "<a><b></b:c></a>",
            "<a><bc></b></a>",
            "<a:b:c/>",
            "<a:/>",
            "<a x:='1'/>",
            "<a>\u{7}<b/></a>",
            "<a x='\u{1}'/>",
        ] {
            assert!(agree(text).is_err(), "{text:?} is accepted");
        }
    }

    #[test]
    fn limits_hold_without_recursion() {
        let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
        let refused = parse(&deep, &limits()).expect_err("too deep");
        assert_eq!(refused.reason, "nested deeper than the limit");
        let ok = "<a>".repeat(64) + &"</a>".repeat(64);
        assert!(parse(&ok, &limits()).is_ok());
        let wide = format!("<a>{}</a>", "<b/>".repeat(250_000));
        let small = ParseLimits {
            max_bytes: 8 << 20,
            max_depth: 64,
            max_nodes: 200_000,
        };
        assert_eq!(
            parse(&wide, &small).expect_err("too many").reason,
            "more nodes than the limit"
        );
        let big = "<a>".to_owned() + &"x".repeat(9 << 20) + "</a>";
        assert!(parse(&big, &limits()).is_err());
    }

    #[test]
    fn navigation() {
        let text = "<r xmlns='urn:r'>\n <a k='v'>1</a>\n <b><c/>t</b>\n</r>";
        let doc = parse(text, &limits()).expect("parses");
        let root = doc.root_element();
        assert_eq!(root.namespace(), Some("urn:r"));
        let kids: Vec<&str> = root.children().map(|c| c.name()).collect();
        assert_eq!(kids, ["a", "b"]);
        let a = root.element_children().next().expect("a");
        assert_eq!(a.attribute(None, "k"), Some("v"));
        assert_eq!(a.children().next().and_then(|t| t.text()), Some("1"));
        let b = root.element_children().nth(1).expect("b");
        let inner: Vec<(bool, &str)> = b
            .children()
            .map(|c| (c.is_text(), c.text().unwrap_or(c.name())))
            .collect();
        assert_eq!(inner, [(false, "c"), (true, "t")]);
        assert_eq!(b.parent().map(|p| p.name()), Some("r"));
        assert_eq!(doc.line_column(b.position()), (3, 2));
    }
}
