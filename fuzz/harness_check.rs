//! The `record` fuzz target: one data file (the fuzz input) inside an otherwise valid
//! archive (index, summary and the paired claim of a one-person `daiko sample` archive),
//! through the whole check engine. It must never panic, whatever the bytes; libFuzzer's
//! panic hook aborts even on panics the engine would catch and turn into a held record.
//! Shared with the stable replay test `crates/check/tests/fuzz_corpus.rs`.

use std::io::Cursor;
use std::sync::OnceLock;

use daiko_check::config::CheckConfig;
use daiko_check::engine::check_archive;
use daiko_check::reference::NoReference;
use daiko_check::sink::NullSink;
use daiko_check::stages::date::Date;
use daiko_format::archive::{Archive, ArchiveLimits, ArchiveName, ArchiveWriter, EntryRole};

/// A one-person archive: its name, and every entry but the data file.
struct Base {
    name: String,
    data_path: String,
    others: Vec<(String, Vec<u8>)>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let config = daiko_sample::SampleConfig {
            records: 1,
            ..Default::default()
        };
        let sample = daiko_sample::generate(&config)
            .ok()
            .and_then(|mut v| v.pop())
            .expect("the sample generator makes a one-person archive");
        let mut archive = Archive::open(
            &sample.name,
            Cursor::new(sample.zip),
            ArchiveLimits::default(),
        );
        let entries = archive.entries.clone();
        let mut data_path = String::new();
        let mut others = Vec::new();
        for e in entries {
            let Some(path) = e.path.clone() else { continue };
            if e.role == EntryRole::Data {
                data_path = path;
            } else if e.role != EntryRole::Directory {
                let bytes = archive.read(&e).expect("sample entries read back");
                others.push((path, bytes));
            }
        }
        Base {
            name: sample.name,
            data_path,
            others,
        }
    })
}

/// The data file of the base archive, for seeding the corpus.
pub fn base_data_file() -> (String, usize) {
    let b = base();
    (b.data_path.clone(), b.others.len())
}

/// Checks the base archive with `data` as its data file.
pub fn record(data: &[u8]) {
    let b = base();
    let Ok(name) = ArchiveName::parse(&b.name) else {
        return;
    };
    let mut w = ArchiveWriter::new(&name);
    for (path, bytes) in &b.others {
        w.add(path.clone(), bytes.clone());
    }
    w.add(b.data_path.clone(), data.to_vec());
    let Ok(zip) = w.finish() else { return };
    let mut config = CheckConfig::for_agency("99000010");
    config.workers = Some(1);
    if let Some(d) = Date::new(2023, 5, 2) {
        config = config.received_on(d);
    }
    let report = check_archive(
        &b.name,
        Cursor::new(zip),
        &config,
        &NoReference,
        &mut NullSink,
    );
    assert_eq!(report.counts.records, 1, "one pair in, one record out");
}
