//! Replays every fuzz seed (`fuzz/corpus/<target>/`) and every saved crash
//! (`fuzz/regressions/<target>/`) through the same harness the cargo-fuzz targets use
//! (`fuzz/harness.rs`), on stable, as an ordinary test: a fixed crash stays fixed.

use std::path::{Path, PathBuf};

#[allow(dead_code)] // the fuzz targets use the harness too
#[path = "../../../fuzz/harness.rs"]
mod harness;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz"))
}

/// Every file under `fuzz/{corpus,regressions}/<target>/` (dot-files excluded).
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind).join(target);
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in listing {
            let path = entry.expect("readable directory entry").path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if path.is_file() && !hidden {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let files = inputs(target);
    for path in &files {
        let bytes = std::fs::read(path).expect("readable input");
        let result = std::panic::catch_unwind(|| run(&bytes));
        assert!(result.is_ok(), "{target}: {} panics", display(path));
    }
    files.len()
}

fn display(path: &Path) -> String {
    path.strip_prefix(fuzz_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn archive_corpus_and_regressions_replay() {
    let count = replay("archive", harness::archive);
    assert!(
        count >= 10,
        "only {count} archive inputs: the seed corpus is missing"
    );
}

#[test]
fn archive_name_corpus_and_regressions_replay() {
    let count = replay("archive_name", harness::archive_name);
    assert!(count >= 5, "only {count} archive_name inputs");
}

#[test]
fn xml_corpus_and_regressions_replay() {
    let count = replay("xml", harness::xml);
    assert!(count >= 10, "only {count} xml inputs");
}

#[test]
fn flat_corpus_and_regressions_replay() {
    // The flat target's seeds are the XML target's (the same documents, both readers).
    let count = replay("xml", harness::flat) + replay("flat", harness::flat);
    assert!(count >= 10, "only {count} flat inputs");
}
