//! Generator of daiko's item master data files (development-time tool).
//!
//! Reads the MHLW item tables in `../shared/reference/items` (CSV as distributed, which
//! daiko must not ship) and writes daiko's own tab-separated files in `crates/items/data/`,
//! keeping only the facts the checks need, in daiko's own columns:
//!
//! ```text
//! cargo run -p daiko-items --example gen_items -- ../shared/reference/items crates/items/data
//! ```
//!
//! Derivations made here (documented again in the data file headers):
//! * FY2024 `requirement` comes from the specific-checkup column (CASE01): `1` mandatory,
//!   `2` detail, a letter a one-of group, `5`/`6`/`7` optional, `0` unused; additional
//!   items (ext table) are `additional`.
//! * FY2018 has no requirement, dependency or abnormal-value columns: they are taken from
//!   the FY2024 row with the same item code (codes only in FY2018 get `optional`). The
//!   rule differences between the years are hand-written in `src/rules.rs`.
//! * `positive` (the answer that makes a dependent item expected) comes from the FY2024
//!   abnormal-value columns: condition 2 `=`, 3 `>=`, 4 `!=`.
//! * Identity code (同一性項目コード): FY2018 column; FY2024 has none, so the first five
//!   characters of the item code.
//! * Code values per result code system are collected from the FY2024 and guidance notes
//!   ("1:…、2:…" lists), union over all items using the system.

#[path = "../gen/generate.rs"]
mod generate;

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (src, dst) = match (args.get(1), args.get(2)) {
        (Some(s), Some(d)) => (PathBuf::from(s), PathBuf::from(d)),
        _ => {
            eprintln!("usage: gen_items <reference/items dir> <output data dir>");
            std::process::exit(2);
        }
    };
    if let Err(e) = generate::run(&src, &dst) {
        eprintln!("gen_items: {e}");
        std::process::exit(1);
    }
}
