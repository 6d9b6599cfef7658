//! Replays the `record` fuzz target's seeds and saved crashes (`fuzz/corpus/record/`,
//! `fuzz/regressions/record/`) through the same harness (`fuzz/harness_check.rs`), on
//! stable, as an ordinary test.

use std::path::PathBuf;

#[allow(dead_code)]
#[path = "../../../fuzz/harness_check.rs"]
mod harness_check;

#[test]
fn record_corpus_and_regressions_replay_without_panic() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz"));
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        if let Ok(listing) = std::fs::read_dir(root.join(kind).join("record")) {
            for entry in listing.flatten() {
                let path = entry.path();
                let hidden = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'));
                if path.is_file() && !hidden {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "fuzz/corpus/record has seeds");
    for path in &files {
        let data = std::fs::read(path).expect("readable seed");
        harness_check::record(&data);
    }
    // The base archive itself must be clean, so mutations start from an accepted record.
    let (data_path, others) = harness_check::base_data_file();
    assert!(data_path.starts_with("DATA/"), "{data_path}");
    assert!(others >= 3, "index, summary and claim are kept");
}
