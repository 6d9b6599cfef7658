//! Speed of X-02 compared with parsing: prints the time per document of `roxmltree` parsing and
//! of `validate` for each example document. Not an assertion (machines differ); run with
//! `cargo test -p daiko-schema --release --test timing -- --ignored --nocapture`.

use std::path::PathBuf;
use std::time::Instant;

use daiko_schema::{Schema, SchemaSet, validate};

fn examples() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/examples"
    ))
}

#[test]
#[ignore = "timing print; run explicitly in release mode"]
fn validation_costs_less_than_parsing() {
    let dir = examples();
    if !dir.is_dir() {
        eprintln!("SKIP: {} not found", dir.display());
        return;
    }
    let cases = [
        (
            "checkup/9910000018_99000010_202306200_1/DATA/h99100000182023062001000001.xml",
            Schema::CheckupCda,
        ),
        (
            "guidance/9910000018_99000010_202308100_2/DATA/h99100000182023081002000001.xml",
            Schema::GuidanceCda,
        ),
        (
            "checkup/9910000018_99000010_202306200_1/CLAIMS/c99100000182023062001000001.xml",
            Schema::CheckupClaim,
        ),
        (
            "checkup/9910000018_99000010_202306200_1/ix08_V08.xml",
            Schema::Index,
        ),
    ];
    for (rel, schema) in cases {
        let Ok(text) = std::fs::read_to_string(dir.join(rel)) else {
            eprintln!("SKIP: {rel} missing");
            continue;
        };
        // DAIKO_TIMING_ONLY=parse|validate runs one half only (for `perf stat`)
        let only = std::env::var("DAIKO_TIMING_ONLY").unwrap_or_default();
        let rounds = 2000u32;
        let start = Instant::now();
        for _ in 0..if only == "validate" { 0 } else { rounds } {
            let doc = roxmltree::Document::parse(&text).expect("example parses");
            std::hint::black_box(&doc);
        }
        let parse = start.elapsed() / rounds;
        let doc = roxmltree::Document::parse(&text).expect("example parses");
        let start = Instant::now();
        let mut violations = 0;
        for _ in 0..if only == "parse" { 0 } else { rounds } {
            violations += validate(std::hint::black_box(&doc), SchemaSet::V2018, schema).len();
        }
        let check = start.elapsed() / rounds;
        eprintln!(
            "{:>6} bytes  parse {:>8.1} µs  validate {:>8.1} µs  ({:?}, {} violations)",
            text.len(),
            parse.as_secs_f64() * 1e6,
            check.as_secs_f64() * 1e6,
            schema,
            violations / rounds as usize
        );
    }
}
