//! daiko's compact description of an XML Schema: simple types with facets, complex types with
//! attribute declarations and content models (sequences and choices with occurrence bounds), and
//! element declarations. Everything is `static` data, built at compile time; the rule files
//! (`claims`, `cda`) write the MHLW schemas in this form and `engine` walks documents against it.

/// Presence conditions for a particle or declaration that exists only in some schemas.
/// A declaration is present when its mask shares a bit with the set bits *and* with the profile
/// bits of the validation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct When(pub u8);

impl When {
    pub const V2018: u8 = 0b0000_0001;
    pub const V2024: u8 = 0b0000_0010;
    const SETS: u8 = Self::V2018 | Self::V2024;
    /// hc08 (checkup CDA) and every non-CDA schema.
    pub const HC: u8 = 0b0000_0100;
    /// hg08 (guidance CDA).
    pub const HG: u8 = 0b0000_1000;
    const PROFILES: u8 = Self::HC | Self::HG;

    pub const ALWAYS: When = When(Self::SETS | Self::PROFILES);
    pub const ONLY_2024: When = When(Self::V2024 | Self::PROFILES);
    pub const ONLY_HC: When = When(Self::SETS | Self::HC);
    pub const ONLY_HG: When = When(Self::SETS | Self::HG);

    #[inline]
    pub fn holds(self, ctx: u8) -> bool {
        self.0 == Self::ALWAYS.0
            || ((self.0 & ctx & Self::SETS) != 0 && (self.0 & ctx & Self::PROFILES) != 0)
    }
}

/// How a simple type treats whitespace before checking facets (XSD `whiteSpace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ws {
    /// xs:string: taken as is.
    Preserve,
    /// xs:normalizedString: tabs and line breaks become spaces.
    Replace,
    /// xs:token and every non-string type: runs of whitespace become one space, ends trimmed.
    Collapse,
}

/// The primitive value space a simple type restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prim {
    String,
    /// xs:integer and its derivations.
    Integer,
    Decimal,
    /// xs:double (also accepts INF, -INF, NaN).
    Double,
    Boolean,
    AnyUri,
    Base64,
    /// xs:NMTOKEN.
    NmToken,
    /// xs:ID (an NCName; uniqueness is checked by the engine).
    Id,
    /// xs:IDREF (an NCName that must name an ID in the document).
    IdRef,
}

/// A pattern facet: the pattern text (for messages) and daiko's matcher for it.
#[derive(Clone, Copy)]
pub(crate) struct Pattern {
    pub text: &'static str,
    pub matches: fn(&str) -> bool,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text)
    }
}

/// An atomic simple type: a primitive plus the facets of every restriction step, flattened.
/// Several patterns (one per derivation step) must all match.
#[derive(Debug)]
pub(crate) struct Atomic {
    pub name: &'static str,
    pub prim: Prim,
    pub ws: Ws,
    pub patterns: &'static [Pattern],
    pub enumeration: &'static [&'static str],
    pub min_len: Option<u32>,
    pub max_len: Option<u32>,
    /// Inclusive integer bounds (only for `Prim::Integer`).
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Atomic {
    pub const fn new(name: &'static str, prim: Prim) -> Atomic {
        let ws = match prim {
            Prim::String => Ws::Preserve,
            _ => Ws::Collapse,
        };
        Atomic {
            name,
            prim,
            ws,
            patterns: &[],
            enumeration: &[],
            min_len: None,
            max_len: None,
            min: None,
            max: None,
        }
    }
}

/// A simple type.
#[derive(Debug)]
pub(crate) enum Simple {
    Atomic(Atomic),
    /// Valid when any member is valid.
    Union(&'static str, &'static [&'static Simple]),
    /// A whitespace-separated list of the item type; `min_len` counts items.
    List(&'static str, &'static Simple, Option<u32>),
    /// A type that differs between the 2018 and the 2024 set.
    BySet(&'static Simple, &'static Simple),
}

impl Simple {
    pub fn name(&self) -> &'static str {
        match self {
            Simple::Atomic(a) => a.name,
            Simple::Union(n, _) | Simple::List(n, _, _) => n,
            Simple::BySet(a, _) => a.name(),
        }
    }
}

/// Whether an attribute must appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    Optional,
    Required,
}

/// An attribute declaration (always unqualified in these schemas).
#[derive(Debug)]
pub(crate) struct Attr {
    pub name: &'static str,
    pub ty: &'static Simple,
    pub usage: Use,
    /// A fixed value: when present, the attribute must carry exactly this value.
    pub fixed: Option<&'static str>,
    pub when: When,
}

/// What an element may contain.
#[derive(Debug)]
pub(crate) enum Content {
    /// No element children and no text.
    Empty,
    /// Text only, checked against a simple type.
    Simple(&'static Simple),
    /// Child elements per the model; text only when `mixed`.
    Elements {
        model: &'static Particle,
        mixed: bool,
    },
}

/// How an `xs:any` wildcard treats the elements it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    /// Not validated at all.
    Skip,
    /// Validated when a global declaration is known, otherwise accepted.
    Lax,
    /// Must match a global declaration.
    Strict,
}

/// Which namespaces a wildcard admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WildNs {
    Any,
    /// `##other`: any namespace except the target namespace (and no namespace).
    Other,
}

/// A term of a content model.
#[derive(Debug)]
pub(crate) enum Term {
    Element(&'static Element),
    Seq(&'static [Particle]),
    Choice(&'static [Particle]),
    Any(WildNs, Process),
}

/// A term with its occurrence bounds; `max == UNBOUNDED` means no upper bound.
#[derive(Debug)]
pub(crate) struct Particle {
    pub min: u32,
    pub max: u32,
    pub term: Term,
    pub when: When,
}

pub(crate) const UNBOUNDED: u32 = u32::MAX;

/// The type of an element.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TypeRef {
    Complex(&'static Complex),
    Simple(&'static Simple),
}

/// An element declaration (local or global; always qualified with the target namespace).
#[derive(Debug)]
pub(crate) struct Element {
    pub name: &'static str,
    pub ty: TypeRef,
}

/// A complex type.
#[derive(Debug)]
pub(crate) struct Complex {
    pub name: &'static str,
    pub attrs: &'static [Attr],
    pub content: Content,
    /// Abstract types need an `xsi:type` naming a concrete derived type.
    pub is_abstract: bool,
    /// The type this one is derived from (for `xsi:type` substitution).
    pub base: Option<&'static Complex>,
}

/// One whole schema: its target namespace, global elements (valid roots) and named types
/// (for `xsi:type`).
pub(crate) struct SchemaRules {
    pub namespace: &'static str,
    pub globals: &'static [Particle],
    pub types: fn(&str, u8) -> Option<TypeRef>,
    pub ctx: u8,
}

// ---- small constructors so that the rule files read like the schemas they describe ----

pub(crate) const fn el(name: &'static str, ty: TypeRef) -> Element {
    Element { name, ty }
}

/// Exactly one occurrence of an element.
pub(crate) const fn one(e: &'static Element) -> Particle {
    occ(e, 1, 1)
}

/// Zero or one occurrence of an element.
pub(crate) const fn opt(e: &'static Element) -> Particle {
    occ(e, 0, 1)
}

/// Zero or more occurrences of an element.
pub(crate) const fn many(e: &'static Element) -> Particle {
    occ(e, 0, UNBOUNDED)
}

/// One or more occurrences of an element.
pub(crate) const fn some(e: &'static Element) -> Particle {
    occ(e, 1, UNBOUNDED)
}

/// A particle the schema declares with `maxOccurs="0"`: libxml2 admits one such element, after
/// which the element's content must end. Written `{0,0}` in daiko's model.
pub(crate) const fn last(e: &'static Element) -> Particle {
    occ(e, 0, 0)
}

pub(crate) const fn occ(e: &'static Element, min: u32, max: u32) -> Particle {
    Particle {
        min,
        max,
        term: Term::Element(e),
        when: When::ALWAYS,
    }
}

pub(crate) const fn seq(parts: &'static [Particle]) -> Particle {
    Particle {
        min: 1,
        max: 1,
        term: Term::Seq(parts),
        when: When::ALWAYS,
    }
}

pub(crate) const fn choice(min: u32, max: u32, parts: &'static [Particle]) -> Particle {
    Particle {
        min,
        max,
        term: Term::Choice(parts),
        when: When::ALWAYS,
    }
}

pub(crate) const fn when(p: Particle, w: When) -> Particle {
    Particle { when: w, ..p }
}

pub(crate) const fn req(name: &'static str, ty: &'static Simple) -> Attr {
    Attr {
        name,
        ty,
        usage: Use::Required,
        fixed: None,
        when: When::ALWAYS,
    }
}

pub(crate) const fn optional(name: &'static str, ty: &'static Simple) -> Attr {
    Attr {
        name,
        ty,
        usage: Use::Optional,
        fixed: None,
        when: When::ALWAYS,
    }
}

pub(crate) const fn fixed(name: &'static str, ty: &'static Simple, value: &'static str) -> Attr {
    Attr {
        name,
        ty,
        usage: Use::Optional,
        fixed: Some(value),
        when: When::ALWAYS,
    }
}

pub(crate) const fn req_fixed(
    name: &'static str,
    ty: &'static Simple,
    value: &'static str,
) -> Attr {
    Attr {
        name,
        ty,
        usage: Use::Required,
        fixed: Some(value),
        when: When::ALWAYS,
    }
}

/// A complex type with attributes only (empty content).
pub(crate) const fn attrs_only(name: &'static str, attrs: &'static [Attr]) -> Complex {
    Complex {
        name,
        attrs,
        content: Content::Empty,
        is_abstract: false,
        base: None,
    }
}

pub(crate) const fn elements(
    name: &'static str,
    model: &'static Particle,
    attrs: &'static [Attr],
) -> Complex {
    Complex {
        name,
        attrs,
        content: Content::Elements {
            model,
            mixed: false,
        },
        is_abstract: false,
        base: None,
    }
}
