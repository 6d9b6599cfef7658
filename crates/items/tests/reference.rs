//! Tests against the MHLW reference tables in ../shared (skipped when absent): the shipped
//! data files are exactly what the generator makes of them, and every code daiko ships
//! exists in the reference table it came from.

use std::path::PathBuf;

#[path = "../gen/generate.rs"]
mod generator;

fn reference_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/items"
    ));
    if dir.join("XMLhc18tab.csv").exists() {
        Some(dir)
    } else {
        println!(
            "skipped: reference item tables not found at {}",
            dir.display()
        );
        None
    }
}

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}

#[test]
fn shipped_data_is_what_the_generator_makes() {
    let Some(src) = reference_dir() else { return };
    let out = std::env::temp_dir().join(format!("daiko-items-gen-{}", std::process::id()));
    generator::run(&src, &out).unwrap();
    for name in [
        "checkup_fy2018.tsv",
        "checkup_fy2024.tsv",
        "guidance_fy2018.tsv",
        "code_values.tsv",
    ] {
        let fresh = std::fs::read_to_string(out.join(name)).unwrap();
        let shipped = std::fs::read_to_string(data_dir().join(name)).unwrap();
        assert!(
            fresh == shipped,
            "{name} is stale: rerun examples/gen_items.rs"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Item codes of a reference CSV (the column holding 17- or 10-character codes).
fn reference_codes(
    src: &std::path::Path,
    file: &str,
    column: usize,
) -> std::collections::HashSet<String> {
    let text = std::fs::read_to_string(src.join(file)).unwrap();
    // Codes never contain commas or quotes, and sit before any quoted multi-line note in
    // these tables, so a plain split per line finds them.
    text.lines()
        .filter_map(|l| l.split(',').nth(column).map(|s| s.trim().to_string()))
        .filter(|c| {
            (c.len() == 17 || c.len() == 10) && c.chars().all(|ch| ch.is_ascii_alphanumeric())
        })
        .collect()
}

#[test]
fn every_shipped_code_exists_in_its_reference_table() {
    let Some(src) = reference_dir() else { return };
    let r18 = reference_codes(&src, "XMLhc18tab.csv", 3);
    let mut r24 = reference_codes(&src, "XMLhc24tab.csv", 15);
    r24.extend(reference_codes(&src, "XMLhc24ext.csv", 15));
    let g18 = reference_codes(&src, "XMLhg18tab.csv", 2);
    let ext24 = reference_codes(&src, "XMLhc24ext.csv", 15);
    for item in daiko_items::table_for_fiscal_year(2018).items() {
        if item.requirement == daiko_items::Requirement::Additional {
            assert!(
                ext24.contains(&item.code),
                "FY2018 additional {} not in XMLhc24ext",
                item.code
            );
            continue;
        }
        assert!(
            r18.contains(&item.code),
            "FY2018 code {} not in XMLhc18tab",
            item.code
        );
    }
    for item in daiko_items::table_for_fiscal_year(2024).items() {
        assert!(
            r24.contains(&item.code),
            "FY2024 code {} not in XMLhc24tab/ext",
            item.code
        );
    }
    for item in daiko_items::guidance_table().items() {
        assert!(
            g18.contains(&item.code),
            "guidance code {} not in XMLhg18tab",
            item.code
        );
    }
    // and nothing was dropped
    let basic18 = daiko_items::table_for_fiscal_year(2018)
        .items()
        .iter()
        .filter(|i| i.requirement != daiko_items::Requirement::Additional)
        .count();
    assert_eq!(basic18, r18.len());
    assert_eq!(
        daiko_items::table_for_fiscal_year(2024).items().len(),
        r24.len()
    );
}
