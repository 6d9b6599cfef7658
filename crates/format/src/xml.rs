//! A small owned XML element tree, used for the parts of a CDA body that daiko passes
//! through without interpreting every element (entries, narrative text).
//!
//! Element names are local names (the CDA body is all in `urn:hl7-org:v3`); attribute
//! names keep the prefix daiko writes (`xsi:type`), whatever prefix the producer used.

/// An XML element with its attributes and children, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Element {
    /// Local name, e.g. `observation`.
    pub name: String,
    /// Attributes in document order; the XSI namespace is always spelled `xsi:`.
    pub attrs: Vec<(String, String)>,
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
    pub fn new(name: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }
    /// Builder: add an attribute.
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
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
            .map(|(_, v)| v.as_str())
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
    pub fn from_node(node: roxmltree::Node<'_, '_>) -> Element {
        let mut el = Element::new(node.tag_name().name());
        for a in node.attributes() {
            let name = match a.namespace() {
                Some(crate::model::NS_XSI) => format!("xsi:{}", a.name()),
                Some("http://www.w3.org/XML/1998/namespace") => format!("xml:{}", a.name()),
                _ => a.name().to_string(),
            };
            el.attrs.push((name, a.value().to_string()));
        }
        // Whitespace-only text between child elements is layout, not content: it is
        // dropped so that re-indented output reads back to the same tree.
        let has_elements = node.children().any(|c| c.is_element());
        for c in node.children() {
            if c.is_element() {
                el.children.push(Node::Element(Element::from_node(c)));
            } else if c.is_text() {
                if let Some(t) = c.text() {
                    if has_elements && t.trim().is_empty() {
                        continue;
                    }
                    el.children.push(Node::Text(t.to_string()));
                }
            }
        }
        el
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
