//! # daiko-schema — the MHLW V08 schemas, enforced natively
//!
//! Owns daiko's own re-expression of what the official XSDs (ix08, su08, cc08, gc08, co08,
//! hc08, hg08 and the HL7 coreschemas) require: element order and cardinality, required
//! attributes, patterns, enumerations and value types, for the 2018 and 2024 sets. Used by
//! check X-02 on every document, at parse speed. The XSD files themselves are never
//! shipped or read at run time; tests compare verdicts with `xmllint --schema`.
//!
//! Validates any tree of [`daiko_format::tree`] (roxmltree's, or daiko's flat tree); uses
//! nothing else of `daiko-format` and knows nothing of the checks.
//!
//! ## How
//!
//! * `model` — daiko's compact schema vocabulary: simple types (whitespace handling, primitive,
//!   patterns as Rust matchers, enumerations, lengths, integer bounds, unions, lists), complex
//!   types (attributes with use/fixed, empty / simple / element / mixed content, abstract types,
//!   base type for `xsi:type` substitution) and content models (sequences and choices with
//!   occurrence bounds, wildcards). Everything is `static` data: nothing is built at run time.
//! * `claims` — ix08, su08, cc08, gc08 and the shared co08 types, one description for both sets
//!   with the 2024 differences marked. `cda` — hc08 and hg08 with the HL7 data types, narrative
//!   block and the vocabulary lists they reach, one description with the hg08 differences marked.
//! * `engine` — walks the parsed tree with an explicit work list (no recursion over the
//!   document, so hostile depth cannot overflow the stack) and matches each element's children
//!   greedily with one element of look-ahead, exact for the deterministic models XML Schema
//!   allows. One violation is reported per element content (as libxml2 does); attributes and
//!   matched children are still checked.
//! * `memo` — clean outcomes already found (a content model for a sequence of child names, an
//!   attribute set, a simple-type value) are taken again by one look-up in small fixed tables
//!   per thread; whatever is reported is always checked in full, so messages never depend on
//!   what was seen before.
//!
//! ## The reference is libxml2
//!
//! `tests/differential.rs` requires the same valid/invalid verdict as `xmllint --schema` for
//! every document of a corpus of tens of thousands of mutated documents. Where libxml2 reads
//! the schemas in its own way, daiko follows it (each place is commented in the rules):
//! the root may be any globally declared element; `maxOccurs="0"` particles admit one element
//! that must be the last child; the `ts` pattern admits some longer digit runs; the hc08/hg08
//! `Organization` attribute named `determiner` plus whitespace is unusable; vocabularies with a
//! bare `cs` member (RoleClassAssociative, RoleClassRoot, CalendarCycle) accept any code; empty
//! `xs:NMTOKENS`/`xs:IDREFS` lists pass; duplicate `xs:ID`s fail but dangling `xs:IDREF`s pass;
//! whitespace is not allowed in empty content.

/// Which schema of the set a document is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    /// ix08
    Index,
    /// su08
    Summary,
    /// hc08
    CheckupCda,
    /// hg08
    GuidanceCda,
    /// cc08
    CheckupClaim,
    /// gc08
    GuidanceClaim,
}

/// Which official set: they differ in the non-CDA namespace and some code lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaSet {
    /// 第3期 (FY2018–FY2023), namespace `http://tokuteikenshin.jp/checkup/2007`.
    V2018,
    /// 第4期 (FY2024–), namespace `https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html`.
    V2024,
}

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// XPath-like path of the element or attribute, e.g. `/checkupClaim/settlement/claimAmount/@value`.
    pub path: String,
    /// 1-based line and column of the element in the source text.
    pub line: u32,
    pub column: u32,
    /// What was expected and what was found (English).
    pub message: String,
}

mod cda;
mod claims;
mod engine;
mod memo;
#[allow(dead_code)] // parts of the vocabulary are used by the CDA rules only
mod model;
mod simple;

use model::{SchemaRules, When};

fn rules(set: SchemaSet, schema: Schema) -> SchemaRules {
    let namespace = match set {
        SchemaSet::V2018 => claims::NS_2018,
        SchemaSet::V2024 => claims::NS_2024,
    };
    let claims = |globals, types| SchemaRules {
        namespace,
        globals,
        types,
        ctx: When::HC,
    };
    let cda = |ctx| SchemaRules {
        namespace: cda::NS,
        globals: cda::GLOBALS,
        types: cda::named_type,
        ctx,
    };
    match schema {
        Schema::Index => claims(claims::INDEX_GLOBALS, claims::index_type),
        Schema::Summary => claims(claims::SUMMARY_GLOBALS, claims::summary_type),
        Schema::CheckupClaim => claims(claims::CHECKUP_CLAIM_GLOBALS, claims::checkup_claim_type),
        Schema::GuidanceClaim => {
            claims(claims::GUIDANCE_CLAIM_GLOBALS, claims::guidance_claim_type)
        }
        Schema::CheckupCda => cda(When::HC),
        Schema::GuidanceCda => cda(When::HG),
    }
}

/// Validates a parsed document against `schema` of `set`. An empty result means valid.
///
/// As with any XML Schema processor, the root may be any element the schema declares globally
/// (e.g. a lone `interactionType` for ix08); callers that need a particular root check its name.
pub fn validate<D: daiko_format::tree::XmlDocument>(
    doc: &D,
    set: SchemaSet,
    schema: Schema,
) -> Vec<Violation> {
    let set_bit = match set {
        SchemaSet::V2018 => When::V2018,
        SchemaSet::V2024 => When::V2024,
    };
    engine::run(doc, &rules(set, schema), set_bit)
}
