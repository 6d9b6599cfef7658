//! Fuzz target `record`: see `../harness_check.rs` for what it checks.
#![no_main]

#[allow(dead_code)]
#[path = "../harness_check.rs"]
mod harness_check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness_check::record(data));
