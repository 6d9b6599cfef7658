//! Cross-check with daiko-sample: every defect the generator injects is reported with the
//! check codes its manifest names, at one of the files it names.

use daiko_check::reference::ReferenceData;
use daiko_check::{CheckConfig, Date, NoReference, Severity, check_archive, sink::NullSink};
use std::io::Cursor;

#[test]
fn injected_defects_are_found() {
    let cfg = daiko_sample::SampleConfig {
        archives: 4,
        guidance_archives: 2,
        records: 40,
        seed: 7,
        defect_rate: 0.3,
        ..Default::default()
    };
    let archives = daiko_sample::generate(&cfg).unwrap();
    assert!(
        archives.iter().any(|a| a.manifest.service_event_type == 2),
        "guidance archives are generated"
    );
    assert_manifest_holds(&archives, &NoReference);
}

#[test]
fn injected_defects_are_found_with_reference_data() {
    for period in [daiko_sample::Period::Fy2023, daiko_sample::Period::Fy2024] {
        let cfg = daiko_sample::SampleConfig {
            archives: 3,
            records: 40,
            seed: 11,
            period,
            defect_rate: 0.3,
            reference_defects: true,
            ..Default::default()
        };
        let archives = daiko_sample::generate(&cfg).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        daiko_sample::write_to_dir(&archives, tmp.path()).unwrap();
        let reference = daiko_check::DirReference::load(&tmp.path().join("reference")).unwrap();
        assert_manifest_holds(&archives, &reference);
    }
}

/// Checks every archive (as received on the day in its name) and asserts that every
/// manifest code is reported at one of its files, and that no error is raised where no
/// defect was injected.
fn assert_manifest_holds(archives: &[daiko_sample::SampleArchive], reference: &dyn ReferenceData) {
    let mut missed = Vec::new();
    let mut total = 0;
    for a in archives {
        let date = a
            .name
            .split('_')
            .nth(2)
            .and_then(|d| d.get(0..8))
            .and_then(Date::parse)
            .unwrap();
        let config = CheckConfig::for_agency("99000010").received_on(date);
        let r = check_archive(
            &a.name,
            Cursor::new(&a.zip),
            &config,
            reference,
            &mut NullSink,
        );
        // No false alarms: every error is where a defect was injected, in a record that
        // carries one (knock-on findings), or in an archive with an archive-level defect.
        let defect_files: std::collections::BTreeSet<&str> = a
            .manifest
            .defects
            .iter()
            .flat_map(|d| d.files.iter().map(String::as_str))
            .collect();
        let archive_defect = a.manifest.defects.iter().any(|d| {
            d.files
                .iter()
                .any(|f| *f == a.name || f.starts_with("ix08") || f.starts_with("su08"))
        });
        for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
            let in_defective_record = a.manifest.records.iter().any(|m| {
                (m.data_file == f.file || m.claim_file == f.file)
                    && (defect_files.contains(m.data_file.as_str())
                        || defect_files.contains(m.claim_file.as_str()))
            });
            if !(defect_files.contains(f.file.as_str()) || in_defective_record || archive_defect) {
                missed.push(format!(
                    "{}: false alarm {} at {}: {}",
                    a.name, f.code, f.file, f.message_en
                ));
            }
        }
        for d in &a.manifest.defects {
            total += 1;
            for code in &d.codes {
                let found = r.findings.iter().any(|f| {
                    f.code == code
                        && f.severity != Severity::Info
                        && (d.files.is_empty() || d.files.contains(&f.file))
                });
                if !found {
                    missed.push(format!(
                        "{}: {} expects {code} at {:?} ({})",
                        a.name, d.kind, d.files, d.description
                    ));
                }
            }
        }
    }
    assert!(total > 10, "the generator injected only {total} defects");
    assert!(
        missed.is_empty(),
        "{} of {total} defects not reported as the manifest says:\n{}",
        missed.len(),
        missed.join("\n")
    );
}
