//! The generated archives: deterministic, schema-valid, arithmetically consistent, covering
//! every co-payment pattern, and accepted by the checker when clean; with defects, every
//! injected defect is reported with its code at its file.

use daiko_format::Document;
use daiko_format::read::read_document;
use daiko_sample::{Period, SampleArchive, SampleConfig, generate};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

fn config(
    period: Period,
    archives: usize,
    records: usize,
    seed: u64,
    defects: f64,
) -> SampleConfig {
    SampleConfig {
        archives,
        records,
        seed,
        period,
        defect_rate: defects,
        ..SampleConfig::default()
    }
}

/// Every entry of a zip: (entry name, bytes).
fn entries(archive: &SampleArchive) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(&archive.zip)).expect("generated zip opens");
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).expect("entry reads");
        let name = f.name().map(|n| n.to_string()).unwrap_or_default();
        out.push((name, bytes));
    }
    out
}

/// Entry paths relative to the top folder, with their documents.
fn documents(archive: &SampleArchive) -> BTreeMap<String, Document> {
    entries(archive)
        .into_iter()
        .filter_map(|(name, bytes)| {
            let rel = name.split_once('/').map(|(_, r)| r.to_string())?;
            read_document(&bytes).ok().map(|d| (rel, d))
        })
        .collect()
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let c = config(Period::Fy2024, 2, 15, 42, 0.3);
    let a = generate(&c).unwrap();
    let b = generate(&c).unwrap();
    assert_eq!(a, b);
    let other = generate(&SampleConfig { seed: 43, ..c }).unwrap();
    assert_ne!(a[0].zip, other[0].zip);
}

#[test]
fn archive_names_follow_the_grammar_and_hold_one_top_folder() {
    for a in generate(&config(Period::Fy2023, 3, 4, 5, 0.0)).unwrap() {
        let parsed =
            daiko_format::archive::ArchiveName::parse(&a.name).expect("valid archive name");
        assert_eq!(parsed.service_event_type, 1);
        let base = a.name.trim_end_matches(".zip");
        for (name, _) in entries(&a) {
            assert!(
                name.starts_with(&format!("{base}/")),
                "{name} outside {base}/"
            );
        }
    }
}

#[test]
fn summary_totals_equal_the_claims_and_the_index_counts_the_files() {
    for period in [Period::Fy2023, Period::Fy2024] {
        for a in generate(&SampleConfig {
            guidance_archives: 1,
            ..config(period, 2, 25, 9, 0.0)
        })
        .unwrap()
        {
            let docs = documents(&a);
            let (mut cost, mut pay, mut other, mut claim, mut claims, mut data) =
                (0, 0, 0, 0, 0, 0);
            let mut summary = None;
            let mut index = None;
            for (path, d) in &docs {
                match d {
                    Document::CheckupClaim(c) => {
                        let s = &c.settlement;
                        cost += s.unit_amount.amount().unwrap();
                        pay += s.payment_amount.amount().unwrap();
                        other += s
                            .payment_by_other_program
                            .as_ref()
                            .and_then(|m| m.amount())
                            .unwrap_or(0);
                        claim += s.claim_amount.amount().unwrap();
                        claims += 1;
                        // claimAmount = unitAmount − paymentAmount − other, all > 0.
                        let o = s
                            .payment_by_other_program
                            .as_ref()
                            .and_then(|m| m.amount())
                            .unwrap_or(0);
                        assert_eq!(
                            s.claim_amount.amount().unwrap()
                                + s.payment_amount.amount().unwrap()
                                + o,
                            s.unit_amount.amount().unwrap(),
                            "{path}"
                        );
                        assert!(s.claim_amount.amount().unwrap() > 0, "{path}: zero claim");
                    }
                    Document::Cda(_) => data += 1,
                    Document::Summary(s) => summary = Some(s.clone()),
                    Document::Index(i) => index = Some(i.clone()),
                    Document::GuidanceClaim(g) => {
                        let s = &g.settlement;
                        cost += s.calculated_amount.amount().unwrap();
                        pay += s.payment_amount.amount().unwrap();
                        claim += s.claim_amount.amount().unwrap();
                        claims += 1;
                        assert_eq!(
                            s.claim_amount.amount().unwrap() + s.payment_amount.amount().unwrap(),
                            s.calculated_amount.amount().unwrap(),
                            "{path}"
                        );
                        assert!(s.claim_amount.amount().unwrap() > 0, "{path}: zero claim");
                    }
                }
            }
            let s = summary.expect("summary");
            assert_eq!(s.total_cost_amount.amount(), Some(cost));
            assert_eq!(s.total_payment_amount.amount(), Some(pay));
            assert_eq!(
                s.total_payment_by_other_program
                    .and_then(|m| m.amount())
                    .unwrap_or(0),
                other
            );
            assert_eq!(s.total_claim_amount.amount(), Some(claim));
            assert_eq!(s.total_subject_count, claims.to_string());
            assert_eq!(
                index.expect("index").total_record_count,
                (claims + data).to_string()
            );
        }
    }
}

#[test]
fn every_copayment_pattern_and_code_appears_in_a_large_sample() {
    let archives = generate(&config(Period::Fy2024, 3, 40, 11, 0.0)).unwrap();
    let mut patterns = BTreeSet::new();
    let mut claim_types = BTreeSet::new();
    let mut other_programme = false;
    for a in &archives {
        for r in &a.manifest.records {
            patterns.insert(r.copayment_basic);
            claim_types.insert(r.claim_type.clone());
            other_programme |= r.other_program > 0;
        }
    }
    assert_eq!(patterns, (1..=6).collect(), "basic co-payment patterns");
    // 請求区分: basic, + detailed, + additional, both, 人間ドック.
    let all_types: BTreeSet<String> = ["1", "2", "3", "4", "5"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(claim_types, all_types);
    assert!(other_programme, "some record has an other-programme burden");

    // As written: every 窓口負担 code 1-4, and code 4 both from a plain cap and from a binding cap.
    let mut codes = BTreeSet::new();
    for a in &archives {
        for d in documents(a).values() {
            if let Document::CheckupClaim(c) = d
                && let Some(ch) = &c.card.charge_basic
            {
                codes.insert(ch.code.clone());
            }
        }
    }
    assert_eq!(
        codes,
        ["1", "2", "3", "4"].iter().map(|s| s.to_string()).collect()
    );
}

// ---------------------------------------------------------------------------------------
// Schema validity (xmllint against the official XSDs, when available)
// ---------------------------------------------------------------------------------------

fn xsd_dir(generation: &str) -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/xsd"
    ))
    .join(generation);
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return None;
    }
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("skipped: xmllint is not installed");
        return None;
    }
    Some(dir)
}

/// Validates every file of the archives with xmllint; returns the files that fail.
fn invalid_files(archives: &[SampleArchive], xsd: &Path) -> BTreeSet<String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut by_schema: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    for a in archives {
        for (name, bytes) in entries(a) {
            if name.contains("..") || !name.ends_with(".xml") {
                continue;
            }
            let path = tmp.path().join(&name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            let guidance = name
                .split('/')
                .next()
                .is_some_and(|top| top.ends_with("_2"));
            let schema = match (name.rsplit('/').next().unwrap_or(""), guidance) {
                ("ix08_V08.xml", _) => "ix08_V08.xsd",
                ("su08_V08.xml", _) => "su08_V08.xsd",
                (n, false) if n.starts_with('h') => "hc08_V08.xsd",
                (n, true) if n.starts_with('h') => "hg08_V08.xsd",
                (_, false) => "cc08_V08.xsd",
                (_, true) => "gc08_V08.xsd",
            };
            by_schema.entry(schema).or_default().push(path);
        }
    }
    let mut bad = BTreeSet::new();
    for (schema, files) in by_schema {
        for chunk in files.chunks(200) {
            let out = Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(xsd.join(schema))
                .args(chunk)
                .output()
                .unwrap();
            for line in String::from_utf8_lossy(&out.stderr).lines() {
                if let Some(f) = line.strip_suffix(" fails to validate") {
                    bad.insert(
                        f.trim_start_matches(&*tmp.path().to_string_lossy())
                            .trim_start_matches('/')
                            .to_string(),
                    );
                } else if line.contains("parser error")
                    && let Some((f, _)) = line.split_once(':')
                {
                    bad.insert(
                        f.trim_start_matches(&*tmp.path().to_string_lossy())
                            .trim_start_matches('/')
                            .to_string(),
                    );
                }
            }
        }
    }
    bad
}

#[test]
fn clean_archives_are_valid_against_the_official_schemas() {
    for (period, generation) in [(Period::Fy2023, "2018"), (Period::Fy2024, "2024")] {
        let Some(xsd) = xsd_dir(generation) else {
            return;
        };
        let archives = generate(&SampleConfig {
            guidance_archives: 2,
            ..config(period, 2, 30, 3, 0.0)
        })
        .unwrap();
        assert_eq!(
            archives
                .iter()
                .filter(|a| a.manifest.service_event_type == 2)
                .count(),
            2
        );
        let bad = invalid_files(&archives, &xsd);
        assert!(bad.is_empty(), "FY{period:?}: invalid files {bad:?}");
    }
}

#[test]
fn only_schema_defects_make_files_invalid() {
    // Defects other than X-01/X-02/X-03/C-14 keep every file schema-valid, so they test
    // the business rules and not the schema.
    for (period, generation) in [(Period::Fy2023, "2018"), (Period::Fy2024, "2024")] {
        let Some(xsd) = xsd_dir(generation) else {
            return;
        };
        let archives = generate(&SampleConfig {
            guidance_archives: 2,
            ..config(period, 3, 60, 21, 0.6)
        })
        .unwrap();
        let mut allowed = BTreeSet::new();
        let mut required = BTreeSet::new();
        for a in &archives {
            let base = a.name.trim_end_matches(".zip");
            for d in &a.manifest.defects {
                let schema_kind = d
                    .codes
                    .iter()
                    .chain(&d.may_also)
                    .any(|c| ["X-01", "X-02", "X-03"].contains(&c.as_str()));
                if schema_kind {
                    for f in &d.files {
                        allowed.insert(format!("{base}/{f}"));
                    }
                }
                if d.codes.iter().any(|c| c == "X-01" || c == "X-02") {
                    required.extend(d.files.iter().map(|f| format!("{base}/{f}")));
                }
            }
        }
        let bad = invalid_files(&archives, &xsd);
        let unexpected: Vec<_> = bad.difference(&allowed).collect();
        assert!(
            unexpected.is_empty(),
            "{generation}: unexpectedly invalid {unexpected:?}"
        );
        let missed: Vec<_> = required.difference(&bad).collect();
        assert!(
            !required.is_empty() && missed.is_empty(),
            "{generation}: X-01/X-02 defects that xmllint accepts: {missed:?}"
        );
    }
}

#[test]
fn defect_files_exist_in_their_archive() {
    let archives = generate(&config(Period::Fy2024, 4, 40, 8, 0.5)).unwrap();
    let mut kinds = BTreeSet::new();
    for a in &archives {
        let names: BTreeSet<String> = entries(a)
            .into_iter()
            .filter_map(|(n, _)| n.split_once('/').map(|(_, r)| r.to_string()))
            .collect();
        for d in &a.manifest.defects {
            kinds.insert(d.kind.clone());
            assert!(!d.codes.is_empty());
            for f in &d.files {
                assert!(
                    names.contains(f) || *f == a.name,
                    "{}: {f} not in {}",
                    d.kind,
                    a.name
                );
            }
        }
    }
    assert!(
        kinds.len() >= 20,
        "only {} defect kinds in a large sample: {kinds:?}",
        kinds.len()
    );
}

#[test]
fn special_cases_appear_in_a_large_sample() {
    let archives = generate(&SampleConfig {
        guidance_archives: 1,
        ..config(Period::Fy2024, 3, 60, 13, 0.0)
    })
    .unwrap();
    let (mut not_performed, mut no_waist, mut reason_item) = (0, 0, 0);
    let mut details = BTreeSet::new();
    let mut levels = BTreeSet::new();
    let mut timings = BTreeSet::new();
    for a in &archives {
        for (name, bytes) in entries(a) {
            let text = String::from_utf8_lossy(&bytes);
            if a.manifest.service_event_type == 1 && name.contains("/DATA/") {
                not_performed += usize::from(text.contains("negationInd=\"true\""));
                no_waist += usize::from(!text.contains("9N016"));
                reason_item += usize::from(text.contains("9N512000000000011"));
            }
        }
        for d in documents(a).values() {
            match d {
                Document::CheckupClaim(c) => details.extend(
                    c.settlement
                        .unit_price_detail
                        .iter()
                        .map(|p| p.code.clone()),
                ),
                Document::GuidanceClaim(g) => {
                    levels.insert(g.guidance_level.clone());
                    timings.insert(g.guidance_timing.clone());
                }
                _ => {}
            }
        }
    }
    assert!(
        not_performed > 0 && reason_item == not_performed,
        "urine not performed: {not_performed}, reasons {reason_item}"
    );
    assert!(no_waist > 0, "waist omitted (BMI < 20)");
    assert_eq!(
        details,
        ["1", "2", "3", "4"].iter().map(|s| s.to_string()).collect(),
        "detailed checkups"
    );
    assert_eq!(
        levels,
        ["1", "2"].iter().map(|s| s.to_string()).collect(),
        "guidance levels"
    );
    // First sessions, final evaluations, early terminations, incomplete initial interviews.
    assert_eq!(
        timings,
        ["1", "2", "3", "5"].iter().map(|s| s.to_string()).collect(),
        "guidance timings"
    );
}

#[test]
fn invalid_configurations_are_errors_not_panics() {
    let base = config(Period::Fy2023, 1, 1, 1, 0.0);
    for bad in [
        SampleConfig {
            archives: 0,
            guidance_archives: 0,
            ..base.clone()
        },
        SampleConfig {
            archives: 121,
            ..base.clone()
        },
        SampleConfig {
            records: 0,
            ..base.clone()
        },
        SampleConfig {
            defect_rate: 1.5,
            ..base.clone()
        },
        SampleConfig {
            defect_rate: f64::NAN,
            ..base.clone()
        },
        SampleConfig {
            receiver: "9900001".into(),
            ..base.clone()
        },
        SampleConfig {
            sender: Some("12345".into()),
            ..base.clone()
        },
        SampleConfig {
            insurers: Vec::new(),
            ..base.clone()
        },
        SampleConfig {
            insurers: vec!["0613201".into()],
            ..base.clone()
        },
    ] {
        assert!(
            matches!(generate(&bad), Err(daiko_sample::SampleError::Config(_))),
            "{bad:?} should be rejected"
        );
    }
}

#[test]
fn write_to_dir_writes_the_archives_the_manifest_and_the_reference_folder() {
    let archives = generate(&SampleConfig {
        guidance_archives: 1,
        ..config(Period::Fy2024, 2, 5, 4, 0.5)
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    daiko_sample::write_to_dir(&archives, dir.path()).unwrap();
    for a in &archives {
        assert_eq!(std::fs::read(dir.path().join(&a.name)).unwrap(), a.zip);
    }
    let manifest: daiko_sample::Manifest =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let expected: Vec<_> = archives.iter().map(|a| a.manifest.clone()).collect();
    assert_eq!(manifest.archives, expected);
    for f in [
        "insurers.csv",
        "institutions.csv",
        "vouchers.csv",
        "coverage.csv",
        "contracts.csv",
        "records.csv",
        "archives.csv",
    ] {
        assert!(
            dir.path().join("reference").join(f).is_file(),
            "reference/{f}"
        );
    }
}
