//! A-07 "different": the archive's `XSD` folder compared with the official V08 set.
//!
//! The agency always validates with its own schemas (FORMAT.md §2.1), so a producer's
//! copy is only compared, never used, and a difference is only a warning (one per
//! archive). The set compared with is the one of the index's generation (its namespace,
//! as every other check picks it); when the index gives none, both sets are tried and the
//! folder differs only if it matches neither.
//!
//! What is compared: the file names below `XSD/` (ASCII case ignored, as on the Windows
//! machines that write and read these folders) and each official file's content with a
//! leading UTF-8 BOM dropped and CRLF read as LF, so a producer's CRLF copy is the same
//! file. The official digests live in [`super::xsd_table`].
//!
//! Reading stays bounded and cheap: nothing is read when there is no XSD folder (that is
//! the "missing" A-07 the archive reader reports); only entries carrying an official name
//! are read (at most one per name, through the same per-entry limits as every entry),
//! entries larger than [`MAX_XSD_BYTES`] differ without being read, and other names are
//! "extra" by name alone. An entry already judged unsafe is left out of the
//! comparison; one found unsafe or unreadable while reading is reported like any entry
//! and left out too.

use super::archive::issue_finding;
use super::xsd_table;
use crate::catalogue::finding;
use crate::finding::Finding;
use daiko_format::archive::{Archive, ArchiveIssue, EntryRole};
use daiko_format::model::Generation;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{Read, Seek};

/// A shipped file larger than this differs without being read (the largest official file,
/// `coreschemas/voc_hcgv08.xsd`, is about 0.8 MB).
pub const MAX_XSD_BYTES: u64 = 2 << 20;

/// Names listed in a message per kind of difference; the rest are counted.
const SHOWN: usize = 3;

/// The official set of a generation: (path below `XSD/`, normalised SHA-256 in hex).
pub fn official_set(generation: Generation) -> &'static [(&'static str, &'static str)] {
    match generation {
        Generation::G2018 => xsd_table::FY2018,
        Generation::G2024 => xsd_table::FY2024,
    }
}

/// SHA-256 (lower-case hex) of `bytes` without a leading UTF-8 BOM and with every CRLF
/// read as LF.
pub fn normalised_sha256(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut hasher = Sha256::new();
    let mut start = 0;
    for (at, pair) in bytes.windows(2).enumerate() {
        if pair == b"\r\n" {
            hasher.update(bytes.get(start..at).unwrap_or(&[]));
            start = at + 1;
        }
    }
    hasher.update(bytes.get(start..).unwrap_or(&[]));
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// One file of the shipped folder, as far as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// Path below `XSD/`.
    pub path: String,
    /// What is known of its content.
    pub content: Content,
}

/// What is known of a shipped file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Read: the normalised SHA-256.
    Digest(String),
    /// Not read: larger than any official file can be, so different.
    TooLarge,
    /// Not read: no official name (an extra file).
    NotOfficial,
    /// Unsafe or unreadable (reported as ): not judged here.
    Unjudged,
}

/// How a shipped folder differs from one official set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub set: Generation,
    /// Official files shipped with other content.
    pub changed: Vec<String>,
    /// Official files not shipped.
    pub missing: Vec<String>,
    /// Shipped files the set does not have.
    pub extra: Vec<String>,
}

impl Difference {
    fn count(&self) -> usize {
        self.changed.len() + self.missing.len() + self.extra.len()
    }
}

/// How `shipped` differs from the set of `set`; `None` when it is that set.
pub fn compare(shipped: &[Shipped], set: Generation) -> Option<Difference> {
    let official = official_set(set);
    let mut difference = Difference {
        set,
        changed: Vec::new(),
        missing: Vec::new(),
        extra: Vec::new(),
    };
    for (name, digest) in official {
        match shipped
            .iter()
            .find(|s| s.path.eq_ignore_ascii_case(name))
            .map(|s| &s.content)
        {
            None => difference.missing.push((*name).to_owned()),
            Some(Content::Digest(d)) if d == digest => {}
            Some(Content::Unjudged) => {}
            Some(_) => difference.changed.push((*name).to_owned()),
        }
    }
    for s in shipped {
        if !official
            .iter()
            .any(|(name, _)| s.path.eq_ignore_ascii_case(name))
        {
            difference.extra.push(s.path.clone());
        }
    }
    difference.extra.sort();
    (difference.count() > 0).then_some(difference)
}

/// The difference to report for `shipped`: against the set of `generation`, or, when it
/// is unknown, against the closer of both sets (`None` if it matches either).
pub fn judge(shipped: &[Shipped], generation: Option<Generation>) -> Option<Difference> {
    match generation {
        Some(g) => compare(shipped, g),
        None => {
            let older = compare(shipped, Generation::G2018)?;
            let newer = compare(shipped, Generation::G2024)?;
            Some(if newer.count() < older.count() {
                newer
            } else {
                older
            })
        }
    }
}

/// Reads what the comparison needs from the archive's XSD folder (see the module doc for
/// the bounds). Read failures are pushed to `out` as archive findings. `None` when the
/// archive has no XSD folder (already the "missing" A-07) or could not be listed.
pub fn shipped_files<R: Read + Seek>(
    zip: &mut Archive<R>,
    archive: &str,
    out: &mut Vec<Finding>,
) -> Option<Vec<Shipped>> {
    if zip.entries.is_empty() || zip.issues.contains(&ArchiveIssue::NoXsdFolder) {
        return None;
    }
    let unsafe_entries: HashSet<String> = zip
        .issues
        .iter()
        .filter_map(|issue| match issue {
            ArchiveIssue::Unsafe { entry, .. } => Some(entry.clone()),
            _ => None,
        })
        .collect();
    let candidates: Vec<_> = zip
        .entries
        .iter()
        .filter(|e| e.role == EntryRole::Xsd)
        .filter_map(|e| {
            let path = e.path.as_deref()?.strip_prefix("XSD/")?.to_owned();
            Some((e.clone(), path))
        })
        .collect();
    let mut shipped: Vec<Shipped> = Vec::with_capacity(candidates.len());
    let mut read_names: HashSet<String> = HashSet::new();
    for (entry, path) in candidates {
        let official = xsd_table::FY2018
            .iter()
            .chain(xsd_table::FY2024)
            .any(|(name, _)| path.eq_ignore_ascii_case(name));
        let content = if unsafe_entries.contains(&entry.name) {
            Content::Unjudged
        } else if !official {
            Content::NotOfficial
        } else if entry.size > MAX_XSD_BYTES {
            Content::TooLarge
        } else if !read_names.insert(path.to_ascii_lowercase()) {
            // A second entry of the same name is already A-09 (duplicate).
            Content::Unjudged
        } else {
            match zip.read(&entry) {
                Ok(bytes) => Content::Digest(normalised_sha256(&bytes)),
                Err(issue) => {
                    out.push(issue_finding(archive, &issue));
                    Content::Unjudged
                }
            }
        };
        shipped.push(Shipped { path, content });
    }
    Some(shipped)
}

/// A-07 when the archive's XSD folder is not the official V08 set of `generation` (of
/// either set when the generation is unknown). One finding per archive.
pub fn xsd_folder<R: Read + Seek>(
    zip: &mut Archive<R>,
    archive: &str,
    generation: Option<Generation>,
    out: &mut Vec<Finding>,
) {
    let Some(shipped) = shipped_files(zip, archive, out) else {
        return;
    };
    if let Some(difference) = judge(&shipped, generation) {
        out.push(difference_finding(
            archive,
            &difference,
            generation.is_none(),
        ));
    }
}

/// The A-07 finding for a difference; `unknown` when the generation was not known and the
/// closer set is named.
pub fn difference_finding(archive: &str, difference: &Difference, unknown: bool) -> Finding {
    let (set_ja, set_en) = match difference.set {
        Generation::G2018 => ("2018〜2023年度", "FY2018–FY2023"),
        Generation::G2024 => ("2024年度以降", "FY2024 onwards"),
    };
    let list = |names: &[String], ja: bool| -> String {
        let shown: Vec<String> = names
            .iter()
            .take(SHOWN)
            .map(|n| format!("XSD/{n}"))
            .collect();
        let mut text = shown.join(if ja { "、" } else { ", " });
        if names.len() > SHOWN {
            let rest = names.len() - SHOWN;
            text.push_str(&if ja {
                format!(" ほか{rest}件")
            } else {
                format!(" and {rest} more")
            });
        }
        text
    };
    let mut parts_ja = Vec::new();
    let mut parts_en = Vec::new();
    for (names, ja, en) in [
        (&difference.changed, "内容相違", "changed"),
        (&difference.missing, "不足", "missing"),
        (&difference.extra, "余分", "extra"),
    ] {
        if !names.is_empty() {
            parts_ja.push(format!("{ja}: {}", list(names, true)));
            parts_en.push(format!("{en}: {}", list(names, false)));
        }
    }
    let (whom_ja, whom_en) = if unknown {
        (
            format!("どの公式V08スキーマ一式とも異なります(最も近い{set_ja}版との比較。"),
            format!("matches no official V08 schema set (against the closest, for {set_en}: "),
        )
    } else {
        (
            format!("公式V08スキーマ一式({set_ja}版)と異なります("),
            format!("differs from the official V08 schema set for {set_en} ("),
        )
    };
    finding(
        "A-07",
        archive,
        "XSD/",
        "",
        &format!(
            "XSDフォルダが{whom_ja}{})。受付は当機関のスキーマで行います",
            parts_ja.join("、")
        ),
        &format!(
            "The XSD folder {whom_en}{}); the agency validates with its own schemas",
            parts_en.join("; ")
        ),
    )
}
