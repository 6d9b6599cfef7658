//! The submission archive: name grammar, layout checks (A-03 … A-07), the example
//! archives of the spec, and the writer's round trip and determinism.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use daiko_format::archive::{
    Archive, ArchiveIssue, ArchiveLimits, ArchiveName, ArchiveWriter, EntryRole,
};

const CHECKUP_NAME: &str = "9910000018_99000010_202306200_1.zip";

fn shared() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

fn open(name: &str, bytes: Vec<u8>) -> Archive<Cursor<Vec<u8>>> {
    Archive::open(name, Cursor::new(bytes), ArchiveLimits::default())
}

fn written(name: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let parsed = ArchiveName::parse(name).expect("test archive names are valid");
    let mut writer = ArchiveWriter::new(&parsed);
    for (path, bytes) in files {
        writer.add(*path, bytes.to_vec());
    }
    writer.finish().expect("in-memory archive")
}

/// A complete, well-formed checkup archive (with an XSD folder).
fn standard_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("ix08_V08.xml", b"<index/>".as_slice()),
        ("su08_V08.xml", b"<summary/>".as_slice()),
        (
            "DATA/h99100000182023062001000001.xml",
            b"<ClinicalDocument/>".as_slice(),
        ),
        (
            "CLAIMS/c99100000182023062001000001.xml",
            b"<checkupClaim/>".as_slice(),
        ),
        ("XSD/ix08_V08.xsd", b"<schema/>".as_slice()),
        ("XSD/coreschemas/voc_hcgv08.xsd", b"<schema/>".as_slice()),
    ]
}

// --- the name grammar -------------------------------------------------------------

#[test]
fn a02_valid_names_parse_into_their_parts() {
    let name = ArchiveName::parse("9910000018_99000010_202306200_1.zip").expect("valid");
    assert_eq!(name.sender, "9910000018");
    assert_eq!(name.receiver, "99000010");
    assert_eq!(name.date, "20230620");
    assert_eq!(name.counter, 0);
    assert_eq!(name.service_event_type, 1);
    assert_eq!(name.base(), "9910000018_99000010_202306200_1");
    assert_eq!(name.file_stem(1), "99100000182023062001000001");

    let sample = ArchiveName::parse("6631111116_01130012_200901150_1.zip").expect("valid");
    assert_eq!((sample.date.as_str(), sample.counter), ("20090115", 0));

    // Without `.zip`, an 8-digit (agency) sender, guidance, counter 9, leap day.
    let agency = ArchiveName::parse("99000010_06990014_202402299_2").expect("valid");
    assert_eq!(agency.sender, "99000010");
    assert_eq!(
        (
            agency.date.as_str(),
            agency.counter,
            agency.service_event_type
        ),
        ("20240229", 9, 2)
    );
}

#[test]
fn a02_invalid_names_say_what_was_expected_and_found() {
    let cases: &[(&str, &str)] = &[
        ("9910000018_99000010_202302300_1.zip", "calendar date"),
        ("9910000018_99000010_202313010_1.zip", "calendar date"),
        ("9910000018_99000010_202300000_1.zip", "calendar date"),
        ("9910000018_99000010_202302290_1.zip", "20230229"), // 2023 is not a leap year
        ("99100000AB_99000010_202306200_1.zip", "sender"),
        ("991000001_99000010_202306200_1.zip", "sender"),
        ("99100000188_99000010_202306200_1.zip", "sender"),
        ("9910000018_9900001_202306200_1.zip", "receiver"),
        ("9910000018_990000100_202306200_1.zip", "receiver"),
        ("9910000018_99000010_20230620_1.zip", "9 digits"),
        ("9910000018_99000010_2023062000_1.zip", "9 digits"),
        ("9910000018_99000010_202306200_12.zip", "実施区分"),
        ("9910000018_99000010_202306200_x.zip", "実施区分"),
        ("9910000018_99000010_202306200.zip", "4 parts"),
        ("9910000018_99000010_202306200_1_1.zip", "4 parts"),
        ("", "4 parts"),
        ("dir/9910000018_99000010_202306200_1.zip", "directory"),
        ("9910000018_99000010_202306200_1.ZIP", "実施区分"),
    ];
    for (name, expected) in cases {
        let error = ArchiveName::parse(name).expect_err(name);
        assert!(error.contains(expected), "`{name}`: {error}");
        assert!(
            error.contains("expected") && error.contains("found"),
            "`{name}`: {error}"
        );
    }
}

#[test]
fn a02_open_reports_a_bad_name() {
    let bytes = written(CHECKUP_NAME, &standard_files());
    let archive = open("checkup.zip", bytes);
    assert!(archive.parsed_name.is_none());
    assert!(
        archive
            .issues
            .iter()
            .any(|i| matches!(i, ArchiveIssue::BadName(_))),
        "{:?}",
        archive.issues
    );
}

#[test]
fn open_takes_the_name_from_a_path() {
    let bytes = written(CHECKUP_NAME, &standard_files());
    let archive = open(&format!("/var/spool/in/{CHECKUP_NAME}"), bytes);
    assert!(archive.issues.is_empty(), "{:?}", archive.issues);
}

// --- … A-07: the layout ----------------------------------------------------

#[test]
fn standard_archive_opens_without_issues_and_reads_back() {
    let files = standard_files();
    let bytes = written(CHECKUP_NAME, &files);
    let mut archive = open(CHECKUP_NAME, bytes);
    assert!(archive.issues.is_empty(), "{:?}", archive.issues);
    let roles: Vec<EntryRole> = archive.entries.iter().map(|e| e.role).collect();
    assert_eq!(
        roles,
        [
            EntryRole::Index,
            EntryRole::Summary,
            EntryRole::Data,
            EntryRole::Claim,
            EntryRole::Xsd,
            EntryRole::Xsd
        ]
    );
    for (entry, (path, content)) in archive.entries.clone().iter().zip(&files) {
        assert_eq!(entry.path.as_deref(), Some(*path));
        assert_eq!(
            entry.name,
            format!("9910000018_99000010_202306200_1/{path}")
        );
        assert_eq!(archive.read(entry).expect("reads"), *content);
    }
}

#[test]
fn a01_garbage_is_not_a_zip() {
    let archive = open(CHECKUP_NAME, b"this is not a zip archive at all".to_vec());
    assert!(
        matches!(archive.issues.as_slice(), [ArchiveIssue::NotZip(_)]),
        "{:?}",
        archive.issues
    );
    assert!(archive.entries.is_empty());
}

#[test]
fn a03_top_folder_must_be_named_like_the_archive() {
    let bytes = written("9910000018_99000010_202306201_1.zip", &standard_files());
    let mut archive = open(CHECKUP_NAME, bytes);
    let found: Vec<_> = archive
        .issues
        .iter()
        .filter(|i| matches!(i, ArchiveIssue::TopFolder(_)))
        .collect();
    assert_eq!(found.len(), 1, "{:?}", archive.issues);
    // The single (misnamed) folder is still used, so reading goes on.
    let index = archive
        .entries
        .iter()
        .find(|e| e.role == EntryRole::Index)
        .cloned()
        .expect("index found");
    assert_eq!(archive.read(&index).expect("reads"), b"<index/>");
}

#[test]
fn a03_two_top_folders() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for name in [
        "9910000018_99000010_202306200_1/ix08_V08.xml",
        "9910000018_99000010_202306200_1/XSD/a.xsd",
        "other/ix08_V08.xml",
    ] {
        zip.start_file(name, options).expect("entry");
    }
    let bytes = zip.finish().expect("zip").into_inner();
    let archive = open(CHECKUP_NAME, bytes);
    assert!(
        archive
            .issues
            .iter()
            .any(|i| matches!(i, ArchiveIssue::TopFolder(m) if m.contains("found 2")))
    );
    assert!(archive.issues.contains(&ArchiveIssue::Unexpected {
        entry: "other/ix08_V08.xml".into()
    }));
}

#[test]
fn a04_missing_index() {
    let files: Vec<_> = standard_files()
        .into_iter()
        .filter(|(p, _)| *p != "ix08_V08.xml")
        .collect();
    let archive = open(CHECKUP_NAME, written(CHECKUP_NAME, &files));
    assert_eq!(archive.issues, [ArchiveIssue::NoIndex]);
}

#[test]
fn a05_missing_summary_with_claims() {
    let files: Vec<_> = standard_files()
        .into_iter()
        .filter(|(p, _)| *p != "su08_V08.xml")
        .collect();
    let archive = open(CHECKUP_NAME, written(CHECKUP_NAME, &files));
    assert_eq!(archive.issues, [ArchiveIssue::NoSummary]);
}

#[test]
fn a05_summary_may_be_absent_without_claims() {
    let files: Vec<_> = standard_files()
        .into_iter()
        .filter(|(p, _)| *p != "su08_V08.xml" && !p.starts_with("CLAIMS/"))
        .collect();
    let archive = open(CHECKUP_NAME, written(CHECKUP_NAME, &files));
    assert!(archive.issues.is_empty(), "{:?}", archive.issues);
}

#[test]
fn a06_unexpected_entries() {
    let mut files = standard_files();
    files.push(("readme.txt", b"hello"));
    files.push(("DATA/notes.txt", b"hello"));
    files.push(("DATA/sub/h1.xml", b"<x/>"));
    files.push(("OTHER/h1.xml", b"<x/>"));
    let archive = open(CHECKUP_NAME, written(CHECKUP_NAME, &files));
    let unexpected: Vec<&str> = archive
        .issues
        .iter()
        .filter_map(|i| match i {
            ArchiveIssue::Unexpected { entry } => Some(entry.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        unexpected,
        [
            "9910000018_99000010_202306200_1/readme.txt",
            "9910000018_99000010_202306200_1/DATA/notes.txt",
            "9910000018_99000010_202306200_1/DATA/sub/h1.xml",
            "9910000018_99000010_202306200_1/OTHER/h1.xml",
        ]
    );
    assert_eq!(archive.issues.len(), 4, "{:?}", archive.issues);
}

#[test]
fn a06_directory_entries_of_the_layout_are_expected() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let top = "9910000018_99000010_202306200_1";
    for dir in ["", "DATA", "CLAIMS", "XSD", "XSD/coreschemas", "TMP"] {
        zip.add_directory(format!("{top}/{dir}"), options)
            .expect("dir");
    }
    zip.start_file(format!("{top}/ix08_V08.xml"), options)
        .expect("entry");
    let bytes = zip.finish().expect("zip").into_inner();
    let archive = open(CHECKUP_NAME, bytes);
    assert_eq!(
        archive.issues,
        [ArchiveIssue::Unexpected {
            entry: format!("{top}/TMP/")
        }]
    );
    assert!(
        archive
            .entries
            .iter()
            .filter(|e| e.role == EntryRole::Directory)
            .count()
            >= 5
    );
}

#[test]
fn a07_no_xsd_folder() {
    let files: Vec<_> = standard_files()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("XSD/"))
        .collect();
    let archive = open(CHECKUP_NAME, written(CHECKUP_NAME, &files));
    assert_eq!(archive.issues, [ArchiveIssue::NoXsdFolder]);
}

// --- The writer ---------------------------------------------------------------------------

#[test]
fn writer_is_deterministic_and_deflates() {
    let first = written(CHECKUP_NAME, &standard_files());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = written(CHECKUP_NAME, &standard_files());
    assert_eq!(first, second);
    let mut zip = zip::ZipArchive::new(Cursor::new(first)).expect("zip");
    for i in 0..zip.len() {
        let file = zip.by_index(i).expect("entry");
        assert_eq!(file.compression(), zip::CompressionMethod::Deflated);
        assert!(file.is_file());
    }
}

#[test]
fn writer_refuses_paths_that_escape() {
    let name = ArchiveName::parse(CHECKUP_NAME).expect("valid");
    for path in [
        "../x.xml",
        "/abs.xml",
        "DATA\\h.xml",
        "",
        "DATA/",
        "a//b.xml",
    ] {
        let mut writer = ArchiveWriter::new(&name);
        writer.add(path, b"x".to_vec());
        assert!(writer.finish().is_err(), "{path:?} accepted");
    }
}

// --- The example archives of the spec ---------------------------------------------------

fn example_zips() -> Option<Vec<PathBuf>> {
    let examples = shared().join("spec/examples");
    if !examples.is_dir() {
        println!("skipped: {} is absent", examples.display());
        return None;
    }
    let mut zips = Vec::new();
    for kind in ["checkup", "guidance"] {
        let dir = examples.join(kind);
        for entry in std::fs::read_dir(&dir).expect("examples readable") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "zip") {
                zips.push(path);
            }
        }
    }
    Some(zips)
}

#[test]
fn example_archives_open_with_only_a07_and_read_back() {
    let Some(zips) = example_zips() else { return };
    assert_eq!(zips.len(), 2, "{zips:?}");
    for path in zips {
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        let bytes = std::fs::read(&path).expect("example readable");
        let mut archive = open(&file_name, bytes);
        assert_eq!(archive.issues, [ArchiveIssue::NoXsdFolder], "{file_name}");
        assert_eq!(archive.entries.len(), 4, "{file_name}");
        let loose_tree = path.with_extension("");
        for entry in archive.entries.clone() {
            let bytes = archive.read(&entry).expect("entry reads");
            assert_eq!(bytes.len() as u64, entry.size);
            let relative = entry.path.as_deref().expect("inside the top folder");
            let loose =
                std::fs::read(Path::new(&loose_tree).join(relative)).expect("loose copy exists");
            assert_eq!(bytes, loose, "{}", entry.name);
        }
        let roles: Vec<_> = archive.entries.iter().map(|e| e.role).collect();
        for role in [
            EntryRole::Index,
            EntryRole::Summary,
            EntryRole::Data,
            EntryRole::Claim,
        ] {
            assert!(roles.contains(&role), "{file_name}: no {role:?}");
        }
    }
}

// --- Archives from other producers (made with Python's zipfile, kept as fuzz seeds) -----

fn fuzz_seed(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/archive/");
    std::fs::read(format!("{path}{name}")).expect("seed exists")
}

#[test]
fn zip64_records_are_read() {
    let mut archive = open(CHECKUP_NAME, fuzz_seed("zip64.zip"));
    assert!(archive.issues.is_empty(), "{:?}", archive.issues);
    let contents: Vec<Vec<u8>> = archive
        .entries
        .clone()
        .iter()
        .map(|e| archive.read(e).expect("reads"))
        .collect();
    assert_eq!(contents, [b"<index/>".to_vec(), b"<schema/>".to_vec()]);
}

#[test]
fn streamed_entries_with_data_descriptors_are_read() {
    let mut archive = open(CHECKUP_NAME, fuzz_seed("data_descriptor.zip"));
    assert_eq!(archive.issues, [ArchiveIssue::NoXsdFolder]);
    let contents: Vec<Vec<u8>> = archive
        .entries
        .clone()
        .iter()
        .map(|e| archive.read(e).expect("reads"))
        .collect();
    assert_eq!(
        contents,
        [b"<index/>".to_vec(), b"<ClinicalDocument/>".to_vec()]
    );
}
