//! The A-07 table of official schema digests (`src/stages/xsd_table.rs`) is generated from
//! `../shared/reference/xsd/{2018,2024}`: this test recomputes it and fails, printing the
//! text to paste into that file, when they differ (skipped when ../shared is absent).

use daiko_check::stages::xsd::normalised_sha256;
use std::path::{Path, PathBuf};

const TABLE: &str = include_str!("../src/stages/xsd_table.rs");

const HEADER: &str = "\
//! The official V08 schema sets as daiko needs them for A-07 (CHECKS.md): each file's path
//! below `XSD/` and the SHA-256 of its content with line endings normalised (a leading UTF-8
//! BOM dropped, CRLF read as LF; see [`super::xsd::normalised_sha256`]). The schema files
//! themselves stay in `../shared/reference/xsd/{2018,2024}` and are not copied here.
//!
//! Generated, not written by hand: `cargo test -p daiko-check --test xsd_table` recomputes
//! this file from `../shared/reference/xsd` and, when it differs, fails printing the new
//! text to paste here.

";

/// Every file below `dir`, as (path relative to `dir` with `/`, absolute path).
fn files_under(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("dir entry");
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            files_under(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push((name, entry.path()));
        }
    }
}

/// The text of `xsd_table.rs` for the reference sets in `xsd` (`…/reference/xsd`).
fn generate(xsd: &Path) -> String {
    let mut text = HEADER.to_owned();
    for (folder, constant, doc) in [
        (
            "2018",
            "FY2018",
            "FY2018–FY2023 (第3期), `reference/xsd/2018`",
        ),
        (
            "2024",
            "FY2024",
            "FY2024 onwards (第4期), `reference/xsd/2024`",
        ),
    ] {
        let mut files = Vec::new();
        files_under(&xsd.join(folder), "", &mut files);
        files.sort();
        text.push_str(&format!(
            "/// The set for {doc}.\npub const {constant}: &[(&str, &str)] = &[\n"
        ));
        for (name, path) in files {
            let digest = normalised_sha256(&std::fs::read(path).expect("read"));
            text.push_str(&format!(
                "    (\n        \"{name}\",\n        \"{digest}\",\n    ),\n"
            ));
        }
        text.push_str("];\n");
    }
    text
}

#[test]
fn official_xsd_table_matches_the_reference_sets() {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/xsd");
    if !xsd.join("2018").is_dir() || !xsd.join("2024").is_dir() {
        eprintln!("skipped: ../shared/reference/xsd not present");
        return;
    }
    let generated = generate(&xsd);
    assert!(
        generated == TABLE,
        "src/stages/xsd_table.rs is out of date with ../shared/reference/xsd; its text should be:\n{generated}"
    );
}

#[test]
fn normalisation_ignores_crlf_and_a_bom_only() {
    let lf = normalised_sha256(b"<a>\n<b/>\n</a>\n");
    assert_eq!(normalised_sha256(b"<a>\r\n<b/>\r\n</a>\r\n"), lf);
    assert_eq!(normalised_sha256(b"\xEF\xBB\xBF<a>\r\n<b/>\n</a>\r\n"), lf);
    // A lone CR, a BOM not at the start, other content: different.
    assert_ne!(normalised_sha256(b"<a>\r<b/>\n</a>\n"), lf);
    assert_ne!(normalised_sha256(b"<a>\n\xEF\xBB\xBF<b/>\n</a>\n"), lf);
    assert_ne!(normalised_sha256(b"<a>\n<c/>\n</a>\n"), lf);
    assert_eq!(
        normalised_sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
