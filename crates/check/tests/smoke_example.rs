//! The shared example archives and fresh sample archives are accepted without errors.

use daiko_check::{CheckConfig, Date, NoReference, Severity, Verdict, check_path, sink::NullSink};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/examples"
    ));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared is absent");
        None
    }
}

#[test]
fn example_archives_are_accepted() {
    let Some(dir) = shared() else { return };
    for (f, received) in [
        (
            "checkup/9910000018_99000010_202306200_1.zip",
            Date::new(2023, 7, 3),
        ),
        (
            "guidance/9910000018_99000010_202308100_2.zip",
            Date::new(2023, 8, 10),
        ),
    ] {
        let config = CheckConfig::for_agency("99000010").received_on(received.unwrap());
        let report = check_path(&dir.join(f), &config, &NoReference, &mut NullSink).unwrap();
        let errors: Vec<_> = report
            .findings
            .iter()
            .filter(|x| x.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{f}: {errors:#?}");
        assert_eq!(report.verdict, Verdict::Accepted, "{f}");
        assert_eq!(report.counts.records, 1);
    }
}

#[test]
fn sample_archives_are_accepted() {
    for period in [daiko_sample::Period::Fy2023, daiko_sample::Period::Fy2024] {
        let cfg = daiko_sample::SampleConfig {
            records: 20,
            period,
            ..Default::default()
        };
        for a in daiko_sample::generate(&cfg).unwrap() {
            let date = a
                .name
                .split('_')
                .nth(2)
                .and_then(|d| d.get(0..8))
                .and_then(Date::parse)
                .unwrap();
            let config = CheckConfig::for_agency("99000010").received_on(date);
            let report = daiko_check::check_archive(
                &a.name,
                std::io::Cursor::new(&a.zip),
                &config,
                &NoReference,
                &mut NullSink,
            );
            let errors: Vec<_> = report
                .findings
                .iter()
                .filter(|x| x.severity == Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", a.name);
            assert_eq!(report.verdict, Verdict::Accepted, "{}", a.name);
            assert_eq!(report.counts.accepted, 20);
        }
    }
}
