//! # daiko-schema — the MHLW V08 schemas, enforced natively
//!
//! Owns daiko's own re-expression of what the official XSDs (ix08, su08, cc08, gc08, co08,
//! hc08, hg08 and the HL7 coreschemas) require: element order and cardinality, required
//! attributes, patterns, enumerations and value types, for the 2018 and 2024 sets. Used by
//! check X-02 on every document, at parse speed. The XSD files themselves are never
//! shipped or read at run time; tests compare verdicts with `xmllint --schema`.
//!
//! Depends only on `roxmltree`; knows nothing of the typed model or the checks.

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
pub fn validate(doc: &roxmltree::Document<'_>, set: SchemaSet, schema: Schema) -> Vec<Violation> {
    let set_bit = match set {
        SchemaSet::V2018 => When::V2018,
        SchemaSet::V2024 => When::V2024,
    };
    engine::run(doc, &rules(set, schema), set_bit)
}
