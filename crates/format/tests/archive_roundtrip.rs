//! Property: whatever files the writer is given (safe paths, any bytes), the archive it
//! makes opens cleanly, gives every file its role and path, reads each file back
//! unchanged, and is the same bytes when written again.

use std::collections::BTreeMap;
use std::io::Cursor;

use daiko_format::archive::{
    Archive, ArchiveIssue, ArchiveLimits, ArchiveName, ArchiveWriter, EntryRole,
};
use proptest::prelude::*;

const NAME: &str = "9910000018_99000010_202306200_1.zip";

fn files() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let path = prop_oneof![
        "DATA/h[0-9]{26}\\.xml",
        "CLAIMS/c[0-9]{26}\\.xml",
        "XSD/[a-z0-9_]{1,12}\\.xsd",
        "XSD/coreschemas/[a-z0-9_]{1,12}\\.xsd",
        Just("ix08_V08.xml".to_owned()),
        Just("su08_V08.xml".to_owned()),
    ];
    let content = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        // Compressible content, as real XML is.
        ("[a-z<>/ ]{0,64}", 1usize..64).prop_map(|(s, n)| s.repeat(n).into_bytes()),
    ];
    proptest::collection::btree_map(path, content, 0..12)
}

fn role_of(path: &str) -> EntryRole {
    match path {
        "ix08_V08.xml" => EntryRole::Index,
        "su08_V08.xml" => EntryRole::Summary,
        p if p.starts_with("DATA/") => EntryRole::Data,
        p if p.starts_with("CLAIMS/") => EntryRole::Claim,
        _ => EntryRole::Xsd,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn written_archives_open_and_read_back(files in files()) {
        let name = ArchiveName::parse(NAME).expect("valid name");
        let write = || {
            let mut writer = ArchiveWriter::new(&name);
            for (path, bytes) in &files {
                writer.add(path.clone(), bytes.clone());
            }
            writer.finish().expect("in-memory archive")
        };
        let bytes = write();
        prop_assert_eq!(&bytes, &write());

        let mut archive = Archive::open(NAME, Cursor::new(bytes), ArchiveLimits::default());
        // Only layout issues that follow from which files were chosen.
        let mut expected = Vec::new();
        if files.is_empty() {
            expected.push(ArchiveIssue::TopFolder(
                "expected one top folder `9910000018_99000010_202306200_1/`, found no folder".to_owned(),
            ));
        }
        if !files.contains_key("ix08_V08.xml") {
            expected.push(ArchiveIssue::NoIndex);
        }
        if files.keys().any(|p| p.starts_with("CLAIMS/")) && !files.contains_key("su08_V08.xml") {
            expected.push(ArchiveIssue::NoSummary);
        }
        if !files.keys().any(|p| p.starts_with("XSD/")) {
            expected.push(ArchiveIssue::NoXsdFolder);
        }
        prop_assert_eq!(&archive.issues, &expected);
        prop_assert_eq!(archive.entries.len(), files.len());
        for (entry, (path, content)) in archive.entries.clone().iter().zip(&files) {
            prop_assert_eq!(entry.path.as_deref(), Some(path.as_str()));
            prop_assert_eq!(entry.role, role_of(path));
            prop_assert_eq!(entry.size, content.len() as u64);
            prop_assert_eq!(&archive.read(entry).expect("reads back"), content);
        }
    }
}
