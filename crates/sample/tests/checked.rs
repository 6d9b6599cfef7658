//! The samples against the checker: clean archives are accepted without errors, and every
//! injected defect is reported with each of its codes at one of its files.

use daiko_check::{
    CheckConfig, Date, DirReference, NoReference, ReferenceData, Report, Severity, Verdict,
    check_archive, sink::NullSink,
};
use daiko_sample::defects::{ArchiveDefect, RecordDefect};
use daiko_sample::reference::ReferenceDefect;
use daiko_sample::{Period, SampleArchive, SampleConfig, generate, write_to_dir};
use std::collections::BTreeSet;
use std::io::Cursor;

fn check(a: &SampleArchive) -> Report {
    check_with(a, &NoReference)
}

fn check_with(a: &SampleArchive, reference: &dyn ReferenceData) -> Report {
    // Received on the day the archive was made (its name's date), before the deadline.
    let date = a
        .name
        .split('_')
        .nth(2)
        .and_then(|d| d.get(..8))
        .and_then(Date::parse);
    let received = date
        .or_else(|| Date::new(2025, 6, 1))
        .unwrap_or_else(Date::today_jst);
    let config = CheckConfig::for_agency("99000010").received_on(received);
    check_archive(
        &a.name,
        Cursor::new(&a.zip),
        &config,
        reference,
        &mut NullSink,
    )
}

/// Findings a clean sample has: A-07 (no XSD folder; daiko's samples never ship the
/// official schemas).
const EXPECTED_IN_CLEAN: &[&str] = &["A-07"];

fn print_findings(report: &Report) {
    for f in &report.findings {
        if f.severity != Severity::Info {
            eprintln!(
                "  {} {:?} {} {} [{}] {}",
                f.code, f.outcome, f.file, f.location, f.value, f.message_en
            );
        }
    }
}

fn clean_samples_are_accepted(period: Period) {
    let cfg = SampleConfig {
        archives: 3,
        guidance_archives: 2,
        records: 40,
        seed: 17,
        period,
        ..SampleConfig::default()
    };
    for a in generate(&cfg).unwrap() {
        let report = check(&a);
        let errors = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let warnings: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning && !EXPECTED_IN_CLEAN.contains(&f.code))
            .map(|f| f.code)
            .collect();
        assert!(
            warnings.is_empty(),
            "{}: warnings in a clean sample: {warnings:?}",
            a.name
        );
        if errors > 0 || report.verdict != Verdict::Accepted {
            print_findings(&report);
        }
        assert_eq!(errors, 0, "{}: errors in a clean sample", a.name);
        assert_eq!(report.verdict, Verdict::Accepted, "{}", a.name);
        assert_eq!(report.counts.records, 40);
    }
}

#[test]
fn clean_fy2023_samples_are_accepted_without_errors() {
    clean_samples_are_accepted(Period::Fy2023);
}

#[test]
fn clean_fy2024_samples_are_accepted_without_errors() {
    clean_samples_are_accepted(Period::Fy2024);
}

/// Checks every archive of `cfg` and returns the defect kinds seen.
fn every_defect_is_reported(cfg: &SampleConfig) -> BTreeSet<String> {
    every_defect_is_reported_with(cfg, false)
}

/// With `with_reference`, the archives are checked against the reference folder that
/// `write_to_dir` writes next to them.
fn every_defect_is_reported_with(cfg: &SampleConfig, with_reference: bool) -> BTreeSet<String> {
    let mut missing = Vec::new();
    let mut checked = 0;
    let mut kinds = BTreeSet::new();
    let mut unexplained = Vec::new();
    let archives = generate(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let reference: Box<dyn ReferenceData> = if with_reference {
        write_to_dir(&archives, dir.path()).unwrap();
        Box::new(DirReference::load(&dir.path().join("reference")).unwrap())
    } else {
        Box::new(NoReference)
    };
    for a in archives {
        let report = check_with(&a, reference.as_ref());
        // With reference data, a record defect that changes identity fields also makes the
        // record disagree with the ledger built from its claim (stage D, C-13, U-*), and an
        // archive defect may touch the registration checks: only the listed codes count.
        let archive_defect = a
            .manifest
            .defects
            .iter()
            .any(|d| d.files.iter().all(|x| !x.contains('/')));
        let lenient = |code: &str, file: &str| {
            with_reference
                && (archive_defect
                    || (code.starts_with("D-") || code.starts_with("U-") || code == "C-13")
                        && a.manifest
                            .defects
                            .iter()
                            .any(|d| d.files.iter().any(|x| x == file)))
        };
        let base = a.name.trim_end_matches(".zip");
        // Nothing else: every warning or error is one of a defect's codes or knock-ons, at
        // its files (an archive-level defect explains findings anywhere in its archive).
        for f in report
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info && !EXPECTED_IN_CLEAN.contains(&f.code))
        {
            let at_root = !f.file.contains('/');
            let explained = a.manifest.defects.iter().any(|d| {
                let archive_level = d.files.iter().all(|x| !x.contains('/'));
                let main = d.codes.iter().any(|c| c == f.code);
                let knock_on = d.may_also.iter().any(|c| c == f.code);
                (main || knock_on) && (archive_level || d.files.contains(&f.file))
                    || knock_on && at_root
            });
            if !explained && !lenient(f.code, &f.file) {
                unexplained.push(format!(
                    "{} {} {} {} {}",
                    a.name, f.code, f.file, f.location, f.message_en
                ));
            }
        }
        for d in &a.manifest.defects {
            kinds.insert(d.kind.clone());
            for code in &d.codes {
                checked += 1;
                let found = report.findings.iter().any(|f| {
                    f.code == code.as_str()
                        && d.files
                            .iter()
                            .any(|file| f.file == *file || f.file == a.name || f.file == base)
                });
                if !found {
                    let got: Vec<String> = report
                        .findings
                        .iter()
                        .filter(|f| d.files.contains(&f.file))
                        .map(|f| format!("{} {}", f.code, f.message_en))
                        .collect();
                    missing.push(format!(
                        "{} {} {} at {:?}; reported there: {got:?}",
                        a.name, d.kind, code, d.files
                    ));
                }
            }
        }
    }
    assert!(checked > 0, "no defect injected");
    assert!(
        unexplained.is_empty(),
        "{} findings not explained by a defect:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        missing.is_empty(),
        "{} of {checked} not reported:\n{}",
        missing.len(),
        missing.join("\n")
    );
    kinds
}

fn record_defects(period: Period, seed: u64) -> SampleConfig {
    // Enough defective records for every kind to come up at least once (the kinds are
    // dealt from a deck; a few archives carry an archive defect instead).
    SampleConfig {
        archives: 8,
        guidance_archives: 2,
        records: 60,
        seed,
        period,
        defect_rate: 0.4,
        ..SampleConfig::default()
    }
}

/// Every record defect kind the generator has (plus the duplicate-voucher pair), minus the
/// ones that do not exist in a period.
fn all_record_kinds(period: Period) -> BTreeSet<String> {
    let mut all: BTreeSet<String> = RecordDefect::ALL
        .iter()
        .map(|d| d.kind().to_string())
        .collect();
    all.insert("duplicate-voucher".into());
    for k in [
        "guidance-calculated-amount",
        "guidance-plan-missing",
        "guidance-completed-points",
        "guidance-report-kind",
    ] {
        all.insert(k.into());
    }
    if period == Period::Fy2023 {
        // 被保険者証等枝番 is not in the 2018 claims.
        all.remove("branch-not-two-digits");
    }
    all
}

#[test]
fn every_injected_fy2023_defect_is_reported_with_its_code_and_nothing_else() {
    let kinds = every_defect_is_reported(&record_defects(Period::Fy2023, 31));
    let missing: Vec<_> = all_record_kinds(Period::Fy2023)
        .difference(&kinds)
        .cloned()
        .collect();
    assert!(missing.is_empty(), "kinds never injected: {missing:?}");
}

#[test]
fn every_injected_fy2024_defect_is_reported_with_its_code_and_nothing_else() {
    let kinds = every_defect_is_reported(&record_defects(Period::Fy2024, 32));
    let missing: Vec<_> = all_record_kinds(Period::Fy2024)
        .difference(&kinds)
        .cloned()
        .collect();
    assert!(missing.is_empty(), "kinds never injected: {missing:?}");
}

#[test]
fn every_injected_archive_defect_is_reported_with_its_code_and_nothing_else() {
    // Rate 1.0: every archive but the first carries one archive-level defect.
    for (period, seed) in [(Period::Fy2023, 41), (Period::Fy2024, 42)] {
        let cfg = SampleConfig {
            archives: 40,
            records: 3,
            seed,
            period,
            defect_rate: 1.0,
            ..SampleConfig::default()
        };
        let kinds = every_defect_is_reported(&cfg);
        // Archive 0 carries record defects; the 39 others deal every archive defect kind.
        let records = all_record_kinds(Period::Fy2024);
        let archive_kinds = kinds.iter().filter(|k| !records.contains(*k)).count();
        assert_eq!(archive_kinds, ArchiveDefect::ALL.len(), "{kinds:?}");
    }
}

/// The CDA entries of an archive as (path, text).
fn cda_texts(a: &SampleArchive) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(&a.zip)).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        if !name.contains("/DATA/") {
            continue;
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        out.push((name, text));
    }
    out
}

#[test]
fn out_of_input_range_results_are_generated_and_accepted() {
    // FORMAT.md §6.4: a PQ then CD H/L (以上/以下) of 2.16.840.1.113883.5.83. The checker
    // must take it as legal: no M-02 (extra value), M-04 (mask) or M-12 (plausibility).
    let (mut high, mut low) = (0, 0);
    for period in [Period::Fy2023, Period::Fy2024] {
        let cfg = SampleConfig {
            archives: 2,
            records: 60,
            seed: 61,
            period,
            ..SampleConfig::default()
        };
        for a in generate(&cfg).unwrap() {
            let flagged: Vec<String> = cda_texts(&a)
                .into_iter()
                .filter(|(_, t)| t.contains("2.16.840.1.113883.5.83"))
                .map(|(name, t)| {
                    high += usize::from(t.contains("displayName=\"以上\""));
                    low += usize::from(t.contains("displayName=\"以下\""));
                    name.split_once('/')
                        .map_or(name.clone(), |(_, p)| p.to_string())
                })
                .collect();
            let report = check(&a);
            let bad: Vec<String> = report
                .findings
                .iter()
                .filter(|f| flagged.contains(&f.file) && f.severity != Severity::Info)
                .map(|f| format!("{} {} {}", f.code, f.file, f.message_en))
                .collect();
            assert!(bad.is_empty(), "{}: {bad:#?}", a.name);
        }
    }
    assert!(high > 0 && low > 0, "以上 {high}, 以下 {low}");
}

#[test]
fn clean_samples_pass_the_reference_checks() {
    // Ledger, coverage, contracts and prices agree with the archives: stage D, C-09 … C-16
    // and the history checks run and find nothing.
    for period in [Period::Fy2023, Period::Fy2024] {
        let cfg = SampleConfig {
            archives: 2,
            guidance_archives: 1,
            records: 40,
            seed: 23,
            period,
            ..SampleConfig::default()
        };
        let archives = generate(&cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_to_dir(&archives, dir.path()).unwrap();
        let reference = DirReference::load(&dir.path().join("reference")).unwrap();
        for a in &archives {
            let report = check_with(a, &reference);
            let bad: Vec<String> = report
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Info && !EXPECTED_IN_CLEAN.contains(&f.code))
                .map(|f| format!("{} {} {}", f.code, f.file, f.message_en))
                .collect();
            assert!(bad.is_empty(), "{}: {bad:#?}", a.name);
            assert_eq!(report.verdict, Verdict::Accepted, "{}", a.name);
        }
    }
}

#[test]
fn every_reference_defect_is_reported_with_its_code() {
    for (period, seed) in [(Period::Fy2023, 51), (Period::Fy2024, 52)] {
        let cfg = SampleConfig {
            archives: 4,
            guidance_archives: 1,
            records: 50,
            seed,
            period,
            defect_rate: 0.4,
            reference_defects: true,
            ..SampleConfig::default()
        };
        let kinds = every_defect_is_reported_with(&cfg, true);
        let missing: Vec<&str> = ReferenceDefect::ALL
            .iter()
            .map(|d| d.spec().0)
            .chain([
                "guidance-final-without-first",
                "guidance-second-first-session",
            ])
            .filter(|k| !kinds.contains(*k))
            .collect();
        assert!(
            missing.is_empty(),
            "reference defect kinds never injected: {missing:?}"
        );
    }
}

#[test]
fn archive_defects_seen_only_with_the_history_are_reported() {
    // T-06 (an archive of the same name received before) is dealt only with reference
    // defects; the root-level file with any archive defect.
    let cfg = SampleConfig {
        archives: 40,
        records: 3,
        seed: 71,
        defect_rate: 0.5,
        reference_defects: true,
        ..SampleConfig::default()
    };
    let kinds = every_defect_is_reported_with(&cfg, true);
    assert!(kinds.contains("archive-already-received"), "{kinds:?}");
    assert!(kinds.contains("root-file"), "{kinds:?}");
}

#[test]
fn clean_samples_of_many_seeds_have_no_errors_or_warnings() {
    // Rare combinations (boundary values, waist omitted, urine not performed, docks, other
    // programmes, caps that bind) over many seeds: none may produce a finding.
    let mut bad = Vec::new();
    for seed in 100..124 {
        for period in [Period::Fy2023, Period::Fy2024] {
            let cfg = SampleConfig {
                archives: 1,
                guidance_archives: 1,
                records: 40,
                seed,
                period,
                ..SampleConfig::default()
            };
            for a in generate(&cfg).unwrap() {
                let report = check(&a);
                bad.extend(
                    report
                        .findings
                        .iter()
                        .filter(|f| {
                            f.severity != Severity::Info && !EXPECTED_IN_CLEAN.contains(&f.code)
                        })
                        .map(|f| {
                            format!(
                                "seed {seed} {} {} {} {}",
                                a.name, f.code, f.file, f.message_en
                            )
                        }),
                );
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} findings in clean samples:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn defects_of_many_seeds_are_reported_exactly() {
    for seed in 300..306 {
        for period in [Period::Fy2023, Period::Fy2024] {
            let cfg = SampleConfig {
                archives: 3,
                guidance_archives: 1,
                records: 30,
                seed,
                period,
                defect_rate: 0.5,
                reference_defects: seed % 2 == 0,
                ..SampleConfig::default()
            };
            every_defect_is_reported_with(&cfg, cfg.reference_defects);
        }
    }
}
