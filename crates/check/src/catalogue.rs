//! The check catalogue: every code of CHECKS.md with its default outcome, 返戻理由コード,
//! title and fix hint in Japanese and English.

use crate::finding::Finding;

/// Makes a finding for `code` with the catalogue's outcome, severity and return reason,
/// and a message built from the catalogue title, the specific detail, and the fix hint.
///
/// `detail_ja` / `detail_en` say what was found where (e.g. "腹囲が未記録です").
pub fn finding(
    code: &'static str,
    file: &str,
    location: &str,
    value: &str,
    detail_ja: &str,
    detail_en: &str,
) -> Finding {
    let _ = (code, file, location, value, detail_ja, detail_en);
    todo!("engine helper")
}
