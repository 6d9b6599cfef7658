//! Writers: typed model → XML text (UTF-8, with declaration), valid against the official
//! schema of the generation when the model holds valid values.
//!
//! Non-CDA kinds take the [`Generation`] that decides their namespace. Output uses LF line
//! endings and two-space indentation; the CDA body entries are written as stored.

use crate::model::*;

/// Writes `ix08_V08.xml`.
pub fn write_index(index: &Index, generation: Generation) -> String {
    let _ = (index, generation);
    todo!("format-docs helper")
}

/// Writes `su08_V08.xml`.
pub fn write_summary(summary: &Summary, generation: Generation) -> String {
    let _ = (summary, generation);
    todo!("format-docs helper")
}

/// Writes a checkup claim (cc08).
pub fn write_checkup_claim(claim: &CheckupClaim, generation: Generation) -> String {
    let _ = (claim, generation);
    todo!("format-docs helper")
}

/// Writes a guidance claim (gc08).
pub fn write_guidance_claim(claim: &GuidanceClaim, generation: Generation) -> String {
    let _ = (claim, generation);
    todo!("format-docs helper")
}

/// Writes a CDA document (hc08 or hg08; same namespace in both generations).
pub fn write_cda(doc: &ClinicalDocument) -> String {
    let _ = doc;
    todo!("format-docs helper")
}

/// Writes any document.
pub fn write_document(doc: &Document, generation: Generation) -> String {
    match doc {
        Document::Index(d) => write_index(d, generation),
        Document::Summary(d) => write_summary(d, generation),
        Document::Cda(d) => write_cda(d),
        Document::CheckupClaim(d) => write_checkup_claim(d, generation),
        Document::GuidanceClaim(d) => write_guidance_claim(d, generation),
    }
}
