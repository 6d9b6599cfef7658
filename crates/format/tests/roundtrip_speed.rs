//! Reading speed of the example checkup CDA (~25 KB): our typed reading must cost less
//! than roxmltree's own parse of the same text, so parsing stays the dominant cost.
//!
//! Timing depends on the machine and its load, so this is ignored by default; run it
//! optimised: `cargo test --release -p daiko-format --test roundtrip_speed -- --ignored --nocapture`.

use daiko_format::read::{self, ParseLimits};
use daiko_format::{cda, write};
use std::time::{Duration, Instant};

/// The best per-call time over several rounds (the least disturbed by other work).
fn best<F: FnMut()>(mut f: F) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..200 {
            f();
        }
        best = best.min(t.elapsed() / 200);
    }
    best
}

#[test]
#[ignore = "timing; run with --release -- --ignored"]
fn reading_a_checkup_cda_costs_less_than_parsing_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/examples/checkup/9910000018_99000010_202306200_1/DATA/h99100000182023062001000001.xml"
    );
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("skipped: {path} is absent");
        return;
    };
    let text = read::decode(&bytes).expect("utf-8");
    let limits = ParseLimits::default();
    let roxmltree_only = best(|| {
        std::hint::black_box(roxmltree::Document::parse(text).expect("parse"));
    });
    let ours_parse = best(|| {
        std::hint::black_box(read::parse(text, &limits).expect("parse"));
    });
    let doc = read::parse(text, &limits).expect("parse");
    let read_cda = best(|| {
        std::hint::black_box(read::read_cda(&doc).expect("read"));
    });
    let model = read::read_cda(&doc).expect("read");
    let observations = best(|| {
        std::hint::black_box(cda::observations(&model));
    });
    let written = best(|| {
        std::hint::black_box(write::write_cda(&model));
    });
    eprintln!(
        "{} bytes: roxmltree parse {roxmltree_only:?}, parse with checks {ours_parse:?}, \
         read_cda {read_cda:?}, observations {observations:?}, write_cda {written:?}",
        bytes.len()
    );
    assert!(
        read_cda < roxmltree_only,
        "reading the model costs more than parsing"
    );
    assert!(
        ours_parse < roxmltree_only * 5 / 4,
        "the pre-scan costs more than a quarter of the parse"
    );
}
