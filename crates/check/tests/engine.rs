//! The engine as a whole: verdicts and counts, deterministic order whatever the number of
//! workers, what the sink receives, outcome overrides, hostile input, check digits, speed.

mod common;

use common::*;
use daiko_check::check_digit::{
    is_valid_institution_number, is_valid_insurer_number, luhn_check_digit,
};
use daiko_check::report::{RecordOutcome, RecordReport, Report};
use daiko_check::sink::Sink;
use daiko_check::{CheckConfig, Finding, NoReference, Outcome, Verdict, check_archive};
use proptest::prelude::*;
use std::io::Cursor;

fn with_workers(f: &Fixture, workers: usize) -> Report {
    let config = CheckConfig {
        workers: Some(workers),
        ..f.config()
    };
    f.check_with(&config, &NoReference)
}

/// An archive with a defect in every third record.
fn mixed(n: usize) -> Fixture {
    let mut f = checkup(n);
    for i in (0..n).step_by(3) {
        let v = f.claim(i).settlement.claim_amount.amount().unwrap();
        f.claim(i).settlement.claim_amount = daiko_format::model::Money::yen(v + 1);
    }
    f.resum();
    f
}

#[test]
fn verdict_and_counts_follow_record_outcomes() {
    let f = mixed(6);
    let r = f.check();
    assert_eq!(r.verdict, Verdict::PartiallyAccepted);
    assert_eq!(
        (
            r.counts.records,
            r.counts.accepted,
            r.counts.returned,
            r.counts.held
        ),
        (6, 4, 2, 0)
    );
    assert_eq!(r.counts.errors, 2);
    for (i, rec) in r.records.iter().enumerate() {
        let expected = if i % 3 == 0 {
            RecordOutcome::Returned
        } else {
            RecordOutcome::Accepted
        };
        assert_eq!(rec.outcome, expected);
        if expected == RecordOutcome::Returned {
            assert_eq!(rec.return_reason.map(|r| r.code()), Some("01"));
        }
        assert!(!rec.insurer.is_empty() && rec.voucher.len() == 11 && rec.service_date.len() == 8);
        assert!(rec.amounts.claim > 0);
    }
    // Every record returned: rejected.
    let mut g = checkup(2);
    for i in 0..2 {
        g.claim(i).subject.gender = "3".into();
    }
    let r = g.check();
    assert_eq!(r.verdict, Verdict::Rejected);
    assert_eq!(r.counts.accepted, 0);
}

#[test]
fn output_is_the_same_with_any_number_of_workers() {
    let f = mixed(12);
    let one = with_workers(&f, 1);
    for w in [2, 3, 8] {
        let many = with_workers(&f, w);
        assert_eq!(one, many, "workers = {w}");
    }
    // Record findings come in record order.
    let files: Vec<&str> = one.records.iter().map(|r| r.claim_file.as_str()).collect();
    let positions: Vec<usize> = one
        .findings
        .iter()
        .filter_map(|f| files.iter().position(|c| *c == f.file))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] <= w[1]), "{positions:?}");
}

#[derive(Default)]
struct Recorder {
    begun: usize,
    findings: Vec<Finding>,
    records: Vec<RecordReport>,
    finished: Option<Report>,
}

impl Sink for Recorder {
    fn begin(&mut self, _: &daiko_check::report::ArchiveInfo) {
        self.begun += 1;
    }
    fn finding(&mut self, f: &Finding) {
        self.findings.push(f.clone());
    }
    fn record(&mut self, r: &RecordReport) {
        self.records.push(r.clone());
    }
    fn finish(&mut self, r: &Report) {
        self.finished = Some(r.clone());
    }
}

#[test]
fn sink_receives_everything_in_report_order() {
    let f = mixed(4);
    let mut sink = Recorder::default();
    let report = check_archive(
        &f.file_name(),
        Cursor::new(f.zip()),
        &f.config(),
        &NoReference,
        &mut sink,
    );
    assert_eq!(sink.begun, 1);
    assert_eq!(sink.findings, report.findings);
    assert_eq!(sink.records, report.records);
    assert_eq!(sink.finished.as_ref(), Some(&report));
}

#[test]
fn overrides_change_outcomes_per_agency() {
    let f = mixed(3);
    let mut config = f.config();
    config.outcome_overrides.insert("C-07".into(), Outcome::W);
    let r = f.check_with(&config, &NoReference);
    assert_eq!(r.verdict, Verdict::Accepted, "{}", dump(&r));
    config.outcome_overrides.insert("C-07".into(), Outcome::CI);
    let r = f.check_with(&config, &NoReference);
    assert_eq!(r.counts.held, 1);
    assert_eq!(r.verdict, Verdict::PartiallyAccepted);
}

#[test]
fn ar_before_records_stops_record_processing() {
    let mut f = checkup(3);
    f.index().interaction_type = "9".into();
    let r = f.check();
    assert_eq!(r.verdict, Verdict::Rejected);
    assert!(r.records.is_empty());
    assert_eq!(r.counts.records, 3);
    assert_eq!(r.counts.accepted, 0);
}

#[test]
fn json_shape_matches_product_md() {
    let r = mixed(3).check();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["verdict"], "partially_accepted");
    assert!(v["archive"]["sha256"].is_string());
    assert_eq!(v["archive"]["generation"], "2018");
    assert_eq!(v["records"][0]["outcome"], "returned");
    assert_eq!(v["records"][0]["return_reason"], "01");
    let f = &v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "C-07")
        .unwrap();
    assert_eq!(f["severity"], "error");
    assert_eq!(f["outcome"], "FR");
    assert!(
        f["message_ja"]
            .as_str()
            .unwrap()
            .starts_with("【C-07 請求金額の計算誤り】")
    );
}

#[test]
fn hostile_bytes_never_panic() {
    let f = checkup(1);
    let good = f.zip();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 48,
        ..Default::default()
    });
    runner
        .run(
            &(0..good.len(), any::<u8>(), 0usize..64),
            |(at, byte, cut)| {
                let mut bytes = good.clone();
                bytes[at] ^= byte | 1;
                bytes.truncate(bytes.len() - cut);
                let r = check_archive(
                    &f.file_name(),
                    Cursor::new(bytes),
                    &f.config(),
                    &NoReference,
                    &mut daiko_check::sink::NullSink,
                );
                prop_assert!(r.counts.accepted <= r.counts.records);
                Ok(())
            },
        )
        .unwrap();
}

proptest! {
    #[test]
    fn check_digit_completes_any_payload(payload in "[0-9]{7,9}") {
        let d = luhn_check_digit(&payload).unwrap();
        let number = format!("{payload}{d}");
        match number.len() {
            8 => prop_assert!(is_valid_insurer_number(&number)),
            10 => prop_assert!(is_valid_institution_number(&number)),
            _ => {}
        }
        // Any other last digit is wrong.
        let wrong = format!("{payload}{}", (d + 1) % 10);
        prop_assert!(!daiko_check::check_digit::has_valid_check_digit(&wrong));
    }

    #[test]
    fn check_digit_catches_single_digit_errors(payload in "[0-9]{9}", pos in 0usize..9, delta in 1u8..10) {
        let number = format!("{payload}{}", luhn_check_digit(&payload).unwrap());
        let mut b = number.into_bytes();
        b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(b).unwrap();
        prop_assert!(!is_valid_institution_number(&changed));
    }
}

#[test]
fn check_digit_vectors_of_checks_md() {
    for n in ["2813303589", "2813300114", "2813301351"] {
        assert!(is_valid_institution_number(n));
    }
    assert!(is_valid_insurer_number("06137251"));
    assert!(!is_valid_institution_number("2813303588"));
    assert!(!is_valid_insurer_number("06137252"));
}

/// Throughput on a sample archive (run with `cargo test -p daiko-check --release --test
/// engine -- --ignored --nocapture`). Target: 10,000 checkup documents per second on 2 cores.
#[test]
#[ignore]
fn throughput() {
    let records = 2_000;
    let cfg = daiko_sample::SampleConfig {
        records,
        ..Default::default()
    };
    let a = daiko_sample::generate(&cfg).unwrap().remove(0);
    let config =
        CheckConfig::for_agency(AGENCY).received_on(daiko_check::Date::new(2023, 5, 3).unwrap());
    let cpu0 = process_cpu_seconds();
    let start = std::time::Instant::now();
    let r = check_archive(
        &a.name,
        Cursor::new(&a.zip),
        &config,
        &NoReference,
        &mut daiko_check::sink::NullSink,
    );
    let secs = start.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu0;
    assert_eq!(r.counts.records, records);
    let docs = (records * 2) as f64;
    println!(
        "{records} records ({docs} documents): {secs:.3}s wall = {:.0} documents/s; {cpu:.3}s CPU = {:.0} documents per CPU-second",
        docs / secs,
        docs / cpu
    );
}

/// Where the time of one record goes (run like [`throughput`]).
#[test]
#[ignore]
fn stage_costs() {
    use daiko_format::read;
    let f = checkup(1);
    let files = f.files();
    let n = 2_000;
    // A 40-record archive: the per-archive work (index, summary, hashing) is shared.
    let big = checkup(40);
    let big_zip = big.zip();
    let data = files
        .iter()
        .find(|(p, _)| p.starts_with("DATA/"))
        .unwrap()
        .1
        .clone();
    let claim = files
        .iter()
        .find(|(p, _)| p.starts_with("CLAIMS/"))
        .unwrap()
        .1
        .clone();
    let time = |label: &str, mut run: Box<dyn FnMut()>| {
        let start = std::time::Instant::now();
        let cpu0 = process_cpu_seconds();
        for _ in 0..n {
            run();
        }
        let cpu = process_cpu_seconds() - cpu0;
        println!(
            "{label:>26}: {:>7.1} µs wall {:>7.1} µs CPU",
            start.elapsed().as_secs_f64() * 1e6 / n as f64,
            cpu * 1e6 / n as f64
        );
    };
    let limits = Default::default();
    time(
        "parse cda",
        Box::new(|| {
            let t = read::decode(&data).unwrap();
            std::hint::black_box(read::parse(t, &limits).unwrap());
        }),
    );
    let text = read::decode(&data).unwrap();
    let doc = read::parse(text, &limits).unwrap();
    time(
        "validate cda",
        Box::new(|| {
            std::hint::black_box(daiko_schema::validate(
                &doc,
                daiko_schema::SchemaSet::V2018,
                daiko_schema::Schema::CheckupCda,
            ));
        }),
    );
    time(
        "read_cda",
        Box::new(|| {
            std::hint::black_box(read::read_cda(&doc).unwrap());
        }),
    );
    let cda = read::read_cda(&doc).unwrap();
    time(
        "observations",
        Box::new(|| {
            std::hint::black_box(daiko_format::cda::observations(&cda));
        }),
    );
    let obs = daiko_format::cda::observations(&cda);
    time(
        "check_items",
        Box::new(|| {
            let input = daiko_check::stages::items::ItemCheckInput {
                file: "DATA/x.xml",
                doc: &cda,
                observations: &obs,
                checkup_claim: None,
                guidance_claim: None,
                fiscal_year: Some(2023),
            };
            let mut out = Vec::new();
            daiko_check::stages::items::check_items(&input, &mut out);
            std::hint::black_box(out);
        }),
    );
    time(
        "parse+validate+read claim",
        Box::new(|| {
            let t = read::decode(&claim).unwrap();
            let d = read::parse(t, &limits).unwrap();
            std::hint::black_box(daiko_schema::validate(
                &d,
                daiko_schema::SchemaSet::V2018,
                daiko_schema::Schema::CheckupClaim,
            ));
            std::hint::black_box(read::read_checkup_claim(&d).unwrap());
        }),
    );
    let zip = f.zip();
    time(
        "whole archive (1 record)",
        Box::new(|| {
            std::hint::black_box(check_archive(
                &f.file_name(),
                Cursor::new(&zip),
                &f.config(),
                &NoReference,
                &mut daiko_check::sink::NullSink,
            ));
        }),
    );
    time(
        "archive of 40, per record",
        Box::new(|| {
            let config = CheckConfig {
                workers: Some(1),
                ..big.config()
            };
            for _ in 0..(1 + n / 2000) {
                std::hint::black_box(check_archive(
                    &big.file_name(),
                    Cursor::new(&big_zip),
                    &config,
                    &NoReference,
                    &mut daiko_check::sink::NullSink,
                ));
            }
        }),
    );
    println!("(the last line is per archive of 40 records: divide by 40)");
    println!("cda {} bytes, claim {} bytes", data.len(), claim.len());
}

/// CPU time of this process (all threads), from /proc (0 where unavailable): wall time is
/// meaningless on a machine shared with other builds.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / 100.0
}

/// A reference implementation with a bug: it panics.
struct PanickingReference;

impl daiko_check::ReferenceData for PanickingReference {
    fn insurer_is_client(&self, _: &str, _: daiko_check::Date) -> Option<bool> {
        panic!("database went away")
    }
    fn institution_is_registered(&self, _: &str) -> Option<bool> {
        None
    }
    fn vouchers(
        &self,
        _: &str,
        _: u8,
        _: &str,
    ) -> Option<Vec<daiko_check::reference::VoucherRecord>> {
        None
    }
    fn is_covered(&self, _: &str, _: &str, _: &str, _: daiko_check::Date) -> Option<bool> {
        None
    }
    fn contracts(&self, _: &str, _: &str, _: i32) -> Option<Vec<daiko_check::reference::Contract>> {
        None
    }
    fn archive_received(&self, _: &str, _: &str) -> Option<bool> {
        None
    }
    fn records_of_person(
        &self,
        _: &str,
        _: &str,
        _: i32,
    ) -> Option<Vec<daiko_check::reference::PriorRecord>> {
        None
    }
    fn records_of_voucher(
        &self,
        _: &str,
        _: &str,
    ) -> Option<Vec<daiko_check::reference::PriorRecord>> {
        None
    }
}

#[test]
fn a_panic_while_checking_holds_the_record_instead_of_crashing() {
    let f = checkup(6);
    for workers in [1, 2] {
        let config = CheckConfig {
            workers: Some(workers),
            ..f.config()
        };
        let r = f.check_with(&config, &PanickingReference);
        assert_eq!(r.counts.held, 6, "{}", dump(&r));
        assert!(r.records.iter().all(|x| x.outcome == RecordOutcome::Held));
    }
}

#[test]
fn data_only_exchange_needs_no_claims_or_summary() {
    let mut f = checkup(2);
    for r in &mut f.records {
        r.claim = None;
    }
    f.summary = None;
    let config = CheckConfig {
        claims_expected: false,
        ..f.config()
    };
    let r = f.check_with(&config, &NoReference);
    assert_eq!(r.verdict, Verdict::Accepted, "{}", dump(&r));
    assert!(problems(&r).is_empty(), "{}", dump(&r));
    // A settlement exchange without claims is rejected and every data file is unpaired.
    let r = f.check();
    assert_eq!(r.verdict, Verdict::Rejected);
    assert_found(&r, "A-08");
}

/// Where the local header and the central directory record of entry `name` start.
fn entry_headers(bytes: &[u8], name: &[u8]) -> (usize, usize) {
    let at = |signature: &[u8; 4], offset: usize| {
        bytes
            .windows(name.len())
            .enumerate()
            .find(|(i, w)| {
                *w == name && *i >= offset && bytes[*i - offset..*i - offset + 4] == *signature
            })
            .map(|(i, _)| i - offset)
            .expect("entry header")
    };
    (at(b"PK\x03\x04", 30), at(b"PK\x01\x02", 46))
}

/// Sets a little-endian u32 in both headers of an entry (`local`/`central` field offsets).
fn set_both(bytes: &mut [u8], name: &str, local: usize, central: usize, value: u32) {
    let (l, c) = entry_headers(bytes, name.as_bytes());
    bytes[l + local..l + local + 4].copy_from_slice(&value.to_le_bytes());
    bytes[c + central..c + central + 4].copy_from_slice(&value.to_le_bytes());
}

fn crc_of(bytes: &[u8], name: &str) -> u32 {
    let (_, c) = entry_headers(bytes, name.as_bytes());
    u32::from_le_bytes([bytes[c + 16], bytes[c + 17], bytes[c + 18], bytes[c + 19]])
}

/// Entries are inflated by the workers (the reading thread hands over the stored bytes):
/// a CRC mismatch and an entry inflating past its declared size give the same findings, in
/// the same order (a pair's DATA before its CLAIMS), with one worker and with several.
#[test]
fn entry_faults_found_while_inflating_are_the_same_with_any_number_of_workers() {
    let f = checkup(8);
    let base = f.top.base();
    let mut bytes = f.zip();
    let data = |i: usize| format!("{base}/{}", f.records[i].data_path);
    let claim = |i: usize| format!("{base}/{}", f.records[i].claim_path);
    // Record 1: DATA with a wrong CRC-32. Record 4: CLAIMS declares 3 bytes. Record 6: both.
    for name in [data(1), data(6)] {
        let crc = crc_of(&bytes, &name) ^ 1;
        set_both(&mut bytes, &name, 14, 16, crc);
    }
    for name in [claim(4), claim(6)] {
        set_both(&mut bytes, &name, 22, 24, 3);
    }
    let run = |workers: usize| {
        let config = CheckConfig {
            workers: Some(workers),
            ..f.config()
        };
        check_archive(
            &f.file_name(),
            Cursor::new(bytes.clone()),
            &config,
            &NoReference,
            &mut daiko_check::sink::NullSink,
        )
    };
    let one = run(1);
    for workers in [2, 3] {
        assert_eq!(one, run(workers), "workers = {workers}");
    }
    let entry_findings: Vec<(&str, &str)> = one
        .findings
        .iter()
        .filter(|x| x.code == "A-01" || x.code == "A-09")
        .map(|x| (x.code, x.message_en.as_str()))
        .collect();
    assert_eq!(entry_findings.len(), 4, "{}", dump(&one));
    let crc = |m: &str| m.contains("CRC-32 mismatch");
    let past = |m: &str| m.contains("inflates past its declared size of 3 bytes");
    assert!(crc(entry_findings[0].1), "{entry_findings:?}");
    assert!(past(entry_findings[1].1), "{entry_findings:?}");
    assert!(
        crc(entry_findings[2].1) && past(entry_findings[3].1),
        "{entry_findings:?}"
    );
    // A damaged entry is an archive-level fault (AR): nothing is accepted.
    assert_eq!(one.verdict, Verdict::Rejected, "{}", dump(&one));
}
