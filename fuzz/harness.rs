//! What each fuzz target does with one input, shared by the cargo-fuzz targets
//! (`fuzz_targets/*.rs`) and by the stable replay test
//! (`crates/format/tests/fuzz_corpus.rs`), so a corpus file or a regression exercises
//! exactly the same code in both.
//!
//! Each function must never panic on any input; the assertions below are invariants of
//! daiko-format that must hold whatever the bytes are.

use std::io::Cursor;

use daiko_format::archive::{Archive, ArchiveIssue, ArchiveLimits, ArchiveName};
use daiko_format::read::{self, ParseLimits};

/// Limits small enough that the fuzzer reaches every limit check quickly.
pub const ARCHIVE_LIMITS: ArchiveLimits = ArchiveLimits {
    max_archive_bytes: 4 << 20,
    max_entries: 2_000,
    max_entry_bytes: 1 << 20,
    max_total_bytes: 8 << 20,
    max_ratio: 100,
};

/// The archive reader: open (list and judge), then read every entry.
pub fn archive(data: &[u8]) {
    let mut archive = Archive::open(
        "9910000018_99000010_202306200_1.zip",
        Cursor::new(data),
        ARCHIVE_LIMITS,
    );
    assert!(
        archive.entries.len() <= ARCHIVE_LIMITS.max_entries,
        "entry limit not enforced"
    );
    if archive.entries.is_empty() {
        assert!(
            !archive.issues.is_empty(),
            "an archive without entries must have an issue"
        );
    }
    let entries = archive.entries.clone();
    for entry in &entries {
        match archive.read(entry) {
            Ok(bytes) => {
                assert!(
                    bytes.len() as u64 <= ARCHIVE_LIMITS.max_entry_bytes,
                    "read past the limit"
                );
                assert_eq!(
                    bytes.len() as u64,
                    entry.size,
                    "read does not match the declared size"
                );
            }
            Err(ArchiveIssue::NotZip(_) | ArchiveIssue::Unsafe { .. }) => {}
            Err(other) => panic!("read gave an issue that is not about reading: {other:?}"),
        }
    }
}

/// The archive name grammar: parse, and a parsed name must print back to itself.
pub fn archive_name(data: &[u8]) {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = ArchiveName::parse(name) {
        let base = parsed.base();
        assert_eq!(
            name.strip_suffix(".zip").unwrap_or(name),
            base,
            "base() is not the name"
        );
        assert_eq!(
            ArchiveName::parse(&base).as_ref(),
            Ok(&parsed),
            "base() does not parse back"
        );
    }
}

/// The XML entry points: decode → parse → kind_of, and read_document on the raw bytes.
pub fn xml(data: &[u8]) {
    if let Ok(text) = read::decode(data)
        && let Ok(document) = read::parse(text, &ParseLimits::default())
    {
        let _ = read::kind_of(&document);
    }
    let _ = read::read_document(data);
}

/// The flat XML tree (`daiko_format::flat`, the check engine's fast reader) against the
/// reference parser: whatever the flat reader accepts, roxmltree must accept too and read
/// into the same tree, so the fast path can never miss an X-01 finding or read a value
/// differently. (The flat reader may refuse more: the engine then uses roxmltree.)
pub fn flat(data: &[u8]) {
    let Ok(text) = read::decode(data) else {
        return;
    };
    let limits = ParseLimits::default();
    let Ok(fast) = daiko_format::flat::parse(text, &limits) else {
        return;
    };
    let reference = match read::parse(text, &limits) {
        Ok(document) => document,
        Err(e) => panic!("the flat reader accepts what roxmltree refuses ({e}): {text:?}"),
    };
    let differences = daiko_format::flat::differences(&fast, &reference);
    assert!(
        differences.is_empty(),
        "the trees differ: {differences:?} in {text:?}"
    );
}
