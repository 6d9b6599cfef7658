//! The validator: walks a parsed document against a [`SchemaRules`] description, iteratively
//! (an explicit work list, never recursion over the document), and reports violations with an
//! XPath-like path, a position and an English message.
//!
//! Content models are matched greedily with one element of look-ahead, which is exact for the
//! deterministic models XML Schema allows (Unique Particle Attribution).

use daiko_format::tree::{XmlDocument, XmlNode, same};

use crate::Violation;
use crate::memo::{self, Key, Memo, ValidValues};
use crate::model::*;
use crate::simple::{self, is_xml_ws};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Validates `doc`; `set_bit` is [`When::V2018`] or [`When::V2024`].
pub(crate) fn run<D: XmlDocument>(doc: &D, rules: &SchemaRules, set_bit: u8) -> Vec<Violation> {
    let (memo, attr_memo, valid_values) = Memo::take();
    let mut v = Validator {
        rules,
        ctx: set_bit | rules.ctx,
        v2024: set_bit == When::V2024,
        out: Vec::new(),
        work: Vec::with_capacity(64),
        ids: None,
        target_ns_seen: std::ptr::null(),
        memo,
        valid_values,
        attr_memo,
        attr_key: Key::default(),
        key: Key::default(),
        kids: Vec::new(),
        kid_names: Vec::new(),
    };
    let root = doc.root();
    match find_global(rules, v.ctx, root) {
        Some(decl) => v.work.push((root, decl.ty)),
        None => {
            let found = qualified(root);
            v.report(
                root,
                None,
                format!(
                    "root element {found} is not declared by the schema; expected `{}` in namespace `{}`",
                    rules.globals.first().map(|p| term_name(&p.term)).unwrap_or("?"),
                    rules.namespace
                ),
            );
        }
    }
    while let Some((node, ty)) = v.work.pop() {
        v.element(node, ty);
    }
    let Validator {
        mut out,
        memo,
        attr_memo,
        valid_values,
        ..
    } = v;
    Memo::put_back((memo, attr_memo, valid_values));
    if out.len() > 1 {
        out.sort_by_key(|x| (x.line, x.column));
    }
    out
}

fn find_global<'a, N: XmlNode<'a>>(
    rules: &SchemaRules,
    ctx: u8,
    node: N,
) -> Option<&'static Element> {
    if node.namespace() != Some(rules.namespace) {
        return None;
    }
    let name = node.name();
    rules.globals.iter().find_map(|p| match p.term {
        Term::Element(e) if p.when.holds(ctx) && e.name == name => Some(e),
        _ => None,
    })
}

fn term_name(t: &Term) -> &'static str {
    match t {
        Term::Element(e) => e.name,
        _ => "?",
    }
}

/// `name` or `{namespace}name` for messages.
fn qualified<'a, N: XmlNode<'a>>(node: N) -> String {
    match node.namespace() {
        Some(ns) => format!("`{}` (namespace `{ns}`)", node.name()),
        None => format!("`{}` (no namespace)", node.name()),
    }
}

struct Validator<'r, 'a, N: XmlNode<'a>> {
    rules: &'r SchemaRules,
    ctx: u8,
    v2024: bool,
    out: Vec<Violation>,
    work: Vec<(N, TypeRef)>,
    /// xs:ID values seen so far (created on the first ID: most documents have none).
    ids: Option<std::collections::HashSet<&'a str>>,
    /// Where this document stores the target namespace name (compared by address, never read).
    target_ns_seen: *const u8,
    /// Content-model matches remembered across elements and documents.
    memo: Memo,
    /// Attribute sets (per declaration list) already found valid.
    attr_memo: Memo,
    /// The attributes of the element being checked (reused buffer).
    attr_key: Key,
    /// Simple-type values already found valid.
    valid_values: ValidValues,
    /// The child names of the element being matched (reused buffer).
    key: Key,
    /// Its child elements (reused buffer).
    kids: Vec<N>,
    /// Their names as the matcher sees them (reused buffer).
    kid_names: Vec<&'a str>,
}

/// Result of matching one term against the children at the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The term cannot start here and cannot be empty.
    NoMatch,
    /// The term matched without consuming anything.
    Empty,
    /// The term consumed at least one element.
    Consumed,
}

/// A content-model failure: where it happened and what would have been acceptable.
struct Mismatch {
    /// The particles any of which could have come next (the failing one and the optional
    /// ones before it that were skipped).
    expected: &'static [Particle],
}

impl Mismatch {
    fn at(p: &'static Particle) -> Mismatch {
        Mismatch {
            expected: std::slice::from_ref(p),
        }
    }
}

/// The child elements of one parent, consumed left to right. The name of the next child is
/// read once per step (models with many optional particles test it many times).
struct Cursor<'a, N: XmlNode<'a>> {
    next: Option<N>,
    /// Local name of `next` when it is in the target namespace, else "" (matches nothing).
    next_name: &'a str,
    last: Option<N>,
    /// Set once a `{0,0}` particle has matched: nothing more may match.
    closed: bool,
    ns: &'static str,
    element_only: bool,
    stray_text: Option<N>,
}

impl<'a, N: XmlNode<'a>> Cursor<'a, N> {
    /// A cursor on the first element child of `parent`. With `element_only`, the first text
    /// node that is not whitespace is remembered in `stray_text` on the way (one pass over the
    /// children serves both checks).
    fn new(parent: N, ns: &'static str, element_only: bool) -> Self {
        let mut c = Cursor {
            next: None,
            next_name: "",
            last: None,
            closed: false,
            ns,
            element_only,
            stray_text: None,
        };
        c.walk(parent.first_child());
        c
    }

    /// Moves to the first element at or after `from`, looking at text on the way.
    fn walk(&mut self, mut from: Option<N>) {
        while let Some(n) = from {
            if n.is_element() {
                break;
            }
            if self.element_only
                && self.stray_text.is_none()
                && n.is_text()
                && !simple::all_xml_ws(n.text().unwrap_or(""))
            {
                self.stray_text = Some(n);
            }
            from = n.next_sibling();
        }
        self.next = from;
        self.next_name = match from {
            Some(n) if n.in_namespace(self.ns) => n.name(),
            _ => "",
        };
    }

    fn advance(&mut self) {
        self.last = self.next;
        self.walk(self.next.and_then(|n| n.next_sibling()));
    }

    /// Walks to the end so that trailing text is looked at too.
    fn finish(&mut self) {
        if self.element_only && self.stray_text.is_none() {
            let mut from = self.next;
            while let Some(n) = from {
                if n.is_text() && !simple::all_xml_ws(n.text().unwrap_or("")) {
                    self.stray_text = Some(n);
                    break;
                }
                from = n.next_sibling();
            }
        }
    }

    /// Whether the next child is the element `name` of the target namespace.
    #[inline]
    fn at(&self, name: &str) -> bool {
        let (a, b) = (self.next_name.as_bytes(), name.as_bytes());
        // compared inline: no memcmp call
        !self.closed && !a.is_empty() && daiko_format::tree::same_bytes(a, b)
    }
}

impl<'r, 'a, N: XmlNode<'a>> Validator<'r, 'a, N> {
    fn report(&mut self, node: N, attr: Option<&str>, message: String) {
        let (line, column) = node.line_column();
        let mut path = element_path(node);
        if let Some(a) = attr {
            path.push_str("/@");
            path.push_str(a);
        }
        self.out.push(Violation {
            path,
            line,
            column,
            message,
        });
    }

    fn element(&mut self, node: N, declared: TypeRef) {
        let ty = match self.effective_type(node, declared) {
            Some(t) => t,
            None => return,
        };
        match ty {
            TypeRef::Simple(s) => {
                self.attributes(node, &[]);
                self.simple_content(node, s);
            }
            TypeRef::Complex(c) => {
                self.attributes(node, c.attrs);
                match &c.content {
                    Content::Empty => {
                        // The flat tree keeps no node for layout beside elements nor for
                        // empty text, either of which roxmltree may find first here.
                        if node.dropped_text() {
                            node.mark_inexact();
                        }
                        if let Some(child) = node
                            .first_child()
                            .and_then(|_| node.children().find(|n| n.is_element() || n.is_text()))
                        {
                            let what = if child.is_element() {
                                format!("element `{}`", child.name())
                            } else {
                                "text".to_string()
                            };
                            self.report(
                                node,
                                None,
                                format!(
                                    "element `{}` must be empty (type {}), found {what}",
                                    node.name(),
                                    c.name
                                ),
                            );
                        }
                    }
                    Content::Simple(s) => self.simple_content(node, s),
                    Content::Elements { model, mixed } => self.children(node, model, !*mixed),
                }
            }
        }
    }

    /// Resolves `xsi:type`, checks it is a valid substitution, and rejects abstract types.
    fn effective_type(&mut self, node: N, declared: TypeRef) -> Option<TypeRef> {
        let mut ty = declared;
        if let Some(raw) = node.attribute(Some(XSI), "type") {
            let qname = simple::trim_xml_ws(raw);
            let (prefix, local) = match qname.split_once(':') {
                Some((p, l)) => (Some(p), l),
                None => (None, qname),
            };
            let ns = node.lookup_namespace(prefix);
            let found = if ns == Some(self.rules.namespace) {
                (self.rules.types)(local, self.ctx)
            } else {
                None
            };
            let Some(named) = found else {
                self.report(
                    node,
                    Some("xsi:type"),
                    format!("xsi:type `{qname}` does not name a type of the schema"),
                );
                return None;
            };
            if !derives_from(named, declared) {
                self.report(
                    node,
                    Some("xsi:type"),
                    format!(
                        "xsi:type `{qname}` is not derived from the declared type {}",
                        type_name(declared)
                    ),
                );
                return None;
            }
            ty = named;
        }
        if let TypeRef::Complex(c) = ty
            && c.is_abstract
        {
            self.report(
                node,
                None,
                format!(
                    "element `{}` has the abstract type {}; an xsi:type naming a concrete type is required",
                    node.name(),
                    c.name
                ),
            );
            return None;
        }
        Some(ty)
    }

    fn attributes(&mut self, node: N, decls: &'static [Attr]) {
        // The set as written (namespace class, name, value) is hashed in place and, on a
        // hit, compared in place with the stored key: the key is built only to store it.
        // No attribute written (about a third of the elements): only the required ones
        // can be missing, which the declarations alone tell (as the full check below
        // would find), without a table look-up.
        if node.attributes().next().is_none() {
            self.missing_required(node, decls, 0);
            return;
        }
        let decls_id = decls.as_ptr() as usize;
        let count = decls.len() as u32;
        let mut hash = (decls_id as u64 ^ u64::from(self.ctx).rotate_left(56)) ^ u64::from(count);
        let mut rememberable = true;
        for attr in node.attributes() {
            let class = match attr.namespace {
                None => 0u8,
                Some(ns) if same(ns, XSI) => 1,
                Some(_) => {
                    rememberable = false;
                    break;
                }
            };
            hash = memo::hash_piece(hash ^ u64::from(class), attr.name.as_bytes());
            hash = memo::hash_piece(hash, attr.value.as_bytes());
        }
        if rememberable
            && self
                .attr_memo
                .get_hashed(hash, decls_id, self.ctx, |stored| {
                    same_attributes(stored, count, node)
                })
                .is_some()
        {
            return;
        }
        let reported = self.out.len();
        let mut has_id = false;
        // which declarations were used, to find missing required ones without a second scan
        let mut present: u64 = 0;
        for attr in node.attributes() {
            let name = attr.name;
            match attr.namespace {
                Some(ns) if same(ns, XSI) => match name {
                    "type" | "schemaLocation" | "noNamespaceSchemaLocation" => {}
                    "nil" => self.report(
                        node,
                        Some("xsi:nil"),
                        format!("element `{}` is not nillable", node.name()),
                    ),
                    _ => self.report(
                        node,
                        Some(name),
                        format!("attribute `xsi:{name}` is not allowed"),
                    ),
                },
                Some(ns) => self.report(
                    node,
                    Some(name),
                    format!(
                        "attribute `{name}` (namespace `{ns}`) is not allowed on `{}`",
                        node.name()
                    ),
                ),
                None => {
                    let found = decls
                        .iter()
                        .enumerate()
                        .find(|(_, d)| same_name(d.name, name) && d.when.holds(self.ctx));
                    let Some((index, decl)) = found else {
                        self.report(
                            node,
                            Some(name),
                            format!("attribute `{name}` is not allowed on `{}`", node.name()),
                        );
                        continue;
                    };
                    if index < 64 {
                        present |= 1 << index;
                    }
                    has_id |= simple::is_id(decl.ty);
                    let value = attr.value;
                    if decl.fixed.is_some_and(|f| same(f, value)) {
                        // exactly the fixed value: valid by construction
                        continue;
                    }
                    if let Err(why) = self.check_value(decl.ty, value) {
                        self.report(
                            node,
                            Some(name),
                            format!("attribute `{name}` = `{value}` {why}"),
                        );
                    } else if simple::is_id(decl.ty) {
                        let id = value.trim_matches(is_xml_ws);
                        if !self.ids.get_or_insert_with(Default::default).insert(id) {
                            self.report(
                                node,
                                Some(name),
                                format!("attribute `{name}` = `{value}` repeats an ID already used in the document"),
                            );
                        }
                    } else if let Some(f) = decl.fixed
                        && !simple::same_value(decl.ty, value, f)
                    {
                        self.report(
                            node,
                            Some(name),
                            format!(
                                "attribute `{name}` = `{value}` must have the fixed value `{f}`"
                            ),
                        );
                    }
                }
            }
        }
        self.missing_required(node, decls, present);
        // a clean set without IDs (whose uniqueness depends on the document) is remembered
        if rememberable && !has_id && self.out.len() == reported {
            self.attr_key.clear();
            self.attr_key.names.extend_from_slice(&count.to_le_bytes());
            for attr in node.attributes() {
                self.attr_key.names.push(u8::from(attr.namespace.is_some()));
                self.attr_key.push(attr.name);
                self.attr_key.push(attr.value);
            }
            self.attr_memo
                .insert_hashed(hash, decls_id, self.ctx, &self.attr_key, Box::default());
        }
    }

    /// Reports the required attributes of `decls` that `node` lacks; `present` has bit `i`
    /// set when declaration `i` (< 64) was written.
    fn missing_required(&mut self, node: N, decls: &'static [Attr], present: u64) {
        for (index, decl) in decls.iter().enumerate() {
            let seen = if index < 64 {
                present & (1 << index) != 0
            } else {
                node.attribute(None, decl.name).is_some()
            };
            if decl.usage == Use::Required && decl.when.holds(self.ctx) && !seen {
                self.report(
                    node,
                    Some(decl.name),
                    format!(
                        "required attribute `{}` is missing on `{}`",
                        decl.name,
                        node.name()
                    ),
                );
            }
        }
    }

    /// Whether a namespace name is the target namespace. The document keeps one copy of each
    /// namespace name, so after the first full comparison its address settles the question.
    #[inline]
    fn in_target(&mut self, ns: Option<&str>) -> bool {
        match ns {
            Some(u)
                if std::ptr::eq(u.as_ptr(), self.target_ns_seen)
                    && u.len() == self.rules.namespace.len() =>
            {
                true
            }
            Some(u) if same(u, self.rules.namespace) => {
                self.target_ns_seen = u.as_ptr();
                true
            }
            _ => false,
        }
    }

    /// [`simple::check`], skipped for a value already found valid for the same type.
    #[inline]
    fn check_value(&mut self, ty: &'static Simple, value: &str) -> Result<(), String> {
        let key = std::ptr::from_ref(ty) as usize | usize::from(self.v2024);
        if self.valid_values.contains(key, value) {
            return Ok(());
        }
        simple::check(ty, value, self.v2024)?;
        self.valid_values.insert(key, value);
        Ok(())
    }

    fn simple_content(&mut self, node: N, ty: &'static Simple) {
        if let Some(child) = node.children().find(|n| n.is_element()) {
            self.report(
                child,
                None,
                format!(
                    "element `{}` allows text only, found element `{}`",
                    node.name(),
                    child.name()
                ),
            );
            return;
        }
        let text = text_of(node);
        if let Err(why) = self.check_value(ty, &text) {
            self.report(
                node,
                None,
                format!("text of `{}` = `{}` {why}", node.name(), text),
            );
        }
    }

    fn stray_text(&mut self, node: N, text: N) {
        let sample: String = text.text().unwrap_or("").trim().chars().take(20).collect();
        self.report(
            node,
            None,
            format!(
                "element `{}` allows child elements only, found text `{sample}`",
                node.name()
            ),
        );
    }

    fn children(&mut self, node: N, model: &'static Particle, element_only: bool) {
        let ns = self.rules.namespace;
        let model_id = std::ptr::from_ref(model) as usize;
        // one pass over the children: their names (as the matcher sees them), hashed in
        // place for the remembered matches, and stray text
        self.kid_names.clear();
        self.kids.clear();
        let mut hash = model_id as u64 ^ u64::from(self.ctx).rotate_left(56);
        let mut stray = None;
        let mut child = node.first_child();
        while let Some(n) = child {
            if n.is_element() {
                let in_target = self.in_target(n.namespace());
                let name = if in_target { n.name() } else { "" };
                hash = memo::hash_piece(hash, name.as_bytes());
                self.kid_names.push(name);
                self.kids.push(n);
            } else if element_only
                && stray.is_none()
                && n.is_text()
                && !simple::all_xml_ws(n.text().unwrap_or(""))
            {
                stray = Some(n);
            }
            child = n.next_sibling();
        }
        let names = &self.kid_names;
        if let Some(types) = self
            .memo
            .get_hashed(hash, model_id, self.ctx, |stored| same_names(stored, names))
            && types.len() == self.kids.len()
        {
            self.work
                .extend(self.kids.iter().copied().zip(types.iter().copied()));
            if let Some(text) = stray {
                self.stray_text(node, text);
            }
            return;
        }

        let mut cur = Cursor::new(node, ns, element_only);
        let start = self.work.len();
        let reported = self.out.len();
        let outcome = self.particle(model, &mut cur, ns);
        cur.finish();
        // a clean match of every child is remembered for the next element of this shape
        if matches!(outcome, Ok(Outcome::Consumed | Outcome::Empty))
            && cur.next.is_none()
            && self.out.len() == reported
            && self.work.len() - start == self.kids.len()
            && self.work[start..]
                .iter()
                .zip(self.kids.iter())
                .all(|((a, _), b)| a == b)
        {
            let types: Box<[TypeRef]> = self.work[start..].iter().map(|(_, t)| *t).collect();
            self.key.clear();
            for name in &self.kid_names {
                self.key.push(name);
            }
            self.memo
                .insert_hashed(hash, model_id, self.ctx, &self.key, types);
        }
        if let Some(text) = cur.stray_text {
            self.stray_text(node, text);
        }
        match outcome {
            Err(m) => self.mismatch(node, &cur, m),
            Ok(Outcome::NoMatch) => self.mismatch(node, &cur, Mismatch::at(model)),
            Ok(_) => {
                if let Some(extra) = cur.next {
                    let after = match cur.last {
                        Some(l) => format!(" after `{}`", l.name()),
                        None => String::new(),
                    };
                    let found = describe(extra, ns);
                    self.report(
                        extra,
                        None,
                        format!("unexpected element {found}{after} in `{}`", node.name()),
                    );
                }
            }
        }
    }

    fn mismatch(&mut self, parent: N, cur: &Cursor<'a, N>, m: Mismatch) {
        let mut names = Vec::new();
        for p in m.expected {
            first_names(p, self.ctx, &mut names, 0);
        }
        let expected = if names.is_empty() {
            "more content".to_string()
        } else {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let after = match cur.last {
            Some(l) => format!(" after `{}`", l.name()),
            None => format!(" as first child of `{}`", parent.name()),
        };
        match cur.next {
            Some(found) => {
                let found_s = describe(found, self.rules.namespace);
                self.report(
                    found,
                    None,
                    format!("expected element {expected}{after}, found {found_s}"),
                );
            }
            None => self.report(
                parent,
                None,
                format!(
                    "expected element {expected}{after}, found the end of `{}`",
                    parent.name()
                ),
            ),
        }
    }

    /// The common case, kept inline: an element particle takes as many matching children as
    /// its bounds allow.
    #[inline(always)]
    fn element_run(
        &mut self,
        p: &'static Particle,
        e: &'static Element,
        cur: &mut Cursor<'a, N>,
    ) -> Result<Outcome, Mismatch> {
        let mut count = 0u32;
        while count < p.max {
            match cur.next {
                Some(n) if cur.at(e.name) => {
                    self.work.push((n, e.ty));
                    cur.advance();
                    count += 1;
                }
                _ => break,
            }
        }
        if count >= p.min {
            Ok(if count > 0 {
                Outcome::Consumed
            } else {
                Outcome::Empty
            })
        } else if count == 0 {
            Ok(Outcome::NoMatch)
        } else {
            Err(Mismatch::at(p))
        }
    }

    fn particle(
        &mut self,
        p: &'static Particle,
        cur: &mut Cursor<'a, N>,
        ns: &'static str,
    ) -> Result<Outcome, Mismatch> {
        if !p.when.holds(self.ctx) {
            return Ok(Outcome::Empty);
        }
        if p.max == 0 {
            // libxml2's reading of maxOccurs="0": one element, then the content ends
            let r = self.term(&p.term, cur, ns)?;
            if r == Outcome::Consumed {
                cur.closed = true;
            }
            return Ok(if r == Outcome::Consumed {
                Outcome::Consumed
            } else {
                Outcome::Empty
            });
        }
        let mut count = 0u32;
        if let Term::Element(e) = p.term {
            return self.element_run(p, e, cur);
        }
        let mut nullable = false;
        while count < p.max {
            match self.term(&p.term, cur, ns)? {
                Outcome::Consumed => count += 1,
                Outcome::Empty => {
                    nullable = true;
                    break;
                }
                Outcome::NoMatch => break,
            }
        }
        if count >= p.min || nullable {
            Ok(if count > 0 {
                Outcome::Consumed
            } else {
                Outcome::Empty
            })
        } else if count == 0 {
            Ok(Outcome::NoMatch)
        } else {
            Err(Mismatch::at(p))
        }
    }

    fn term(
        &mut self,
        t: &'static Term,
        cur: &mut Cursor<'a, N>,
        ns: &'static str,
    ) -> Result<Outcome, Mismatch> {
        match t {
            Term::Element(e) => match cur.next {
                Some(n) if cur.at(e.name) => {
                    self.work.push((n, e.ty));
                    cur.advance();
                    Ok(Outcome::Consumed)
                }
                _ => Ok(Outcome::NoMatch),
            },
            Term::Seq(parts) => {
                let mut consumed = false;
                // index of the first particle that could still take the next element
                let mut open_from = 0;
                for (index, p) in parts.iter().enumerate() {
                    let outcome = match p.term {
                        Term::Element(e) if p.max != 0 && p.when == When::ALWAYS => {
                            self.element_run(p, e, cur)?
                        }
                        _ => self.particle(p, cur, ns)?,
                    };
                    match outcome {
                        Outcome::Consumed => {
                            consumed = true;
                            // a repeatable particle may take more; otherwise move past it
                            open_from = if p.max > 1 { index } else { index + 1 };
                        }
                        Outcome::Empty => {}
                        Outcome::NoMatch => {
                            return if consumed {
                                let from = open_from.min(index);
                                Err(Mismatch {
                                    expected: parts
                                        .get(from..=index)
                                        .unwrap_or(std::slice::from_ref(p)),
                                })
                            } else {
                                Ok(Outcome::NoMatch)
                            };
                        }
                    }
                }
                Ok(if consumed {
                    Outcome::Consumed
                } else {
                    Outcome::Empty
                })
            }
            Term::Choice(parts) => {
                let mut nullable = false;
                for p in parts.iter() {
                    // an alternative absent from this schema is no alternative at all
                    if !p.when.holds(self.ctx) {
                        continue;
                    }
                    match self.particle(p, cur, ns)? {
                        Outcome::Consumed => return Ok(Outcome::Consumed),
                        Outcome::Empty => nullable = true,
                        Outcome::NoMatch => {}
                    }
                }
                Ok(if nullable {
                    Outcome::Empty
                } else {
                    Outcome::NoMatch
                })
            }
            Term::Any(wild, process) => match cur.next {
                Some(n) if !cur.closed && wildcard_admits(*wild, n, ns) => {
                    match process {
                        Process::Skip => {}
                        Process::Lax | Process::Strict => {
                            match find_global(self.rules, self.ctx, n) {
                                Some(decl) => self.work.push((n, decl.ty)),
                                None if *process == Process::Strict => {
                                    let found = qualified(n);
                                    self.report(
                                        n,
                                        None,
                                        format!("no declaration is known for element {found}"),
                                    );
                                }
                                None => {}
                            }
                        }
                    }
                    cur.advance();
                    Ok(Outcome::Consumed)
                }
                _ => Ok(Outcome::NoMatch),
            },
        }
    }
}

/// Whether a stored content-model key (each child name followed by a NUL) is `names`.
fn same_names(stored: &[u8], names: &[&str]) -> bool {
    let mut rest = stored;
    for name in names {
        let n = name.len();
        match (rest.get(..n), rest.get(n)) {
            (Some(p), Some(0)) if daiko_format::tree::same_bytes(p, name.as_bytes()) => {
                rest = rest.get(n + 1..).unwrap_or(&[]);
            }
            _ => return false,
        }
    }
    rest.is_empty()
}

/// Whether a stored attribute-set key (see [`Validator::attributes`]: the declaration
/// count, then per attribute its namespace class, name and value, each name and value
/// followed by a NUL, which no XML text holds) is the set of `node`, whose attributes are
/// all unprefixed or XSI ones.
fn same_attributes<'a, N: XmlNode<'a>>(stored: &[u8], count: u32, node: N) -> bool {
    let Some((head, mut rest)) = stored.split_at_checked(4) else {
        return false;
    };
    if !daiko_format::tree::same_bytes(head, &count.to_le_bytes()) {
        return false;
    }
    for attr in node.attributes() {
        let Some((&class, after)) = rest.split_first() else {
            return false;
        };
        if class != u8::from(attr.namespace.is_some()) {
            return false;
        }
        rest = after;
        for piece in [attr.name.as_bytes(), attr.value.as_bytes()] {
            let n = piece.len();
            match (rest.get(..n), rest.get(n)) {
                (Some(p), Some(0)) if daiko_format::tree::same_bytes(p, piece) => {
                    rest = rest.get(n + 1..).unwrap_or(&[]);
                }
                _ => return false,
            }
        }
    }
    rest.is_empty()
}

/// Name equality without a memcmp call.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    same(a, b)
}

fn wildcard_admits<'a, N: XmlNode<'a>>(wild: WildNs, n: N, target: &str) -> bool {
    match wild {
        WildNs::Any => true,
        WildNs::Other => matches!(n.namespace(), Some(ns) if ns != target),
    }
}

/// The element names that may start `p` (for "expected ..." messages).
fn first_names(p: &'static Particle, ctx: u8, out: &mut Vec<&'static str>, depth: u32) {
    if depth > 16 || !p.when.holds(ctx) {
        return;
    }
    match &p.term {
        Term::Element(e) => {
            if !out.contains(&e.name) {
                out.push(e.name);
            }
        }
        Term::Seq(parts) => {
            for q in parts.iter() {
                first_names(q, ctx, out, depth + 1);
                if q.min > 0 && q.when.holds(ctx) && !nullable(q, ctx, 0) {
                    break;
                }
            }
        }
        Term::Choice(parts) => {
            for q in parts.iter() {
                first_names(q, ctx, out, depth + 1);
            }
        }
        Term::Any(..) => out.push("(any element)"),
    }
}

fn nullable(p: &Particle, ctx: u8, depth: u32) -> bool {
    if p.min == 0 || !p.when.holds(ctx) || depth > 16 {
        return true;
    }
    match &p.term {
        Term::Element(_) | Term::Any(..) => false,
        Term::Seq(parts) => parts.iter().all(|q| nullable(q, ctx, depth + 1)),
        Term::Choice(parts) => parts.iter().any(|q| nullable(q, ctx, depth + 1)),
    }
}

fn describe<'a, N: XmlNode<'a>>(n: N, target: &str) -> String {
    match n.namespace() {
        Some(ns) if ns == target => format!("`{}`", n.name()),
        _ => qualified(n),
    }
}

fn derives_from(named: TypeRef, declared: TypeRef) -> bool {
    match (named, declared) {
        (TypeRef::Complex(a), TypeRef::Complex(b)) => {
            let mut t = Some(a);
            let mut steps = 0;
            while let Some(x) = t {
                if std::ptr::eq(x, b) {
                    return true;
                }
                steps += 1;
                if steps > 32 {
                    break;
                }
                t = x.base;
            }
            false
        }
        (TypeRef::Simple(a), TypeRef::Simple(b)) => std::ptr::eq(a, b),
        _ => false,
    }
}

fn type_name(t: TypeRef) -> &'static str {
    match t {
        TypeRef::Complex(c) => c.name,
        TypeRef::Simple(s) => s.name(),
    }
}

/// Text content of an element with no element children (text split by comments is joined).
fn text_of<'a, N: XmlNode<'a>>(node: N) -> std::borrow::Cow<'a, str> {
    let mut texts = node.children().filter(|n| n.is_text());
    let first = texts.next();
    match (first, texts.next()) {
        (None, _) => std::borrow::Cow::Borrowed(""),
        (Some(a), None) => std::borrow::Cow::Borrowed(a.text().unwrap_or("")),
        (Some(_), Some(_)) => std::borrow::Cow::Owned(
            node.children()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect(),
        ),
    }
}

/// `/a/b[2]/c`: element names from the root, with a position when a name repeats.
fn element_path<'a, N: XmlNode<'a>>(node: N) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur {
        if !n.is_element() {
            break;
        }
        let name = n.name();
        let (mut before, mut after, mut seen) = (0usize, 0usize, false);
        if let Some(parent) = n.parent_element() {
            for s in parent.children() {
                if s == n {
                    seen = true;
                } else if s.is_element() && s.name() == name {
                    if seen {
                        after += 1;
                    } else {
                        before += 1;
                    }
                }
            }
        }
        if before + after > 0 {
            parts.push(format!("{name}[{}]", before + 1));
        } else {
            parts.push(name.to_string());
        }
        cur = n.parent_element();
    }
    let mut path = String::new();
    for p in parts.iter().rev() {
        path.push('/');
        path.push_str(p);
    }
    path
}
