//! Stages T, A, X, I, S and P: one test per check code, each with an archive that
//! triggers the check and the clean baseline that must not.

mod common;

use common::*;
use daiko_check::reference::NoReference;
use daiko_check::{CheckConfig, Date, Outcome, Verdict};
use daiko_format::archive::ArchiveName;
use daiko_format::model::*;
use std::collections::BTreeSet;
use std::io::Write;

#[test]
fn baseline_is_accepted_without_problems() {
    let f = checkup(3);
    let r = f.check();
    assert_eq!(r.verdict, Verdict::Accepted, "{}", dump(&r));
    assert!(problems(&r).is_empty(), "{}", dump(&r));
    assert_eq!(r.counts.records, 3);
    assert_eq!(r.counts.accepted, 3);
    assert_eq!(r.archive.generation, "2018");
    assert_eq!(r.archive.service_event_type, 1);
    assert_eq!(r.archive.sha256.len(), 64);
}

#[test]
fn baseline_2024_is_accepted_without_problems() {
    let f = checkup_2024(2);
    let r = f.check();
    assert_eq!(r.verdict, Verdict::Accepted, "{}", dump(&r));
    assert!(problems(&r).is_empty(), "{}", dump(&r));
    assert_eq!(r.archive.generation, "2024");
}

// ---- T

#[test]
fn t01_t02_t03_media_checks_are_not_run_on_a_received_archive() {
    // Channel, media encryption and cover sheet are judged at media intake, not here.
    let r = checkup(1).check();
    for code in ["T-01", "T-02", "T-03"] {
        assert!(!r.findings.iter().any(|f| f.code == code));
        assert!(daiko_check::catalogue::check(code).is_some());
    }
}

#[test]
fn t04_deadline_defers_late_services() {
    let f = checkup(1);
    // Services of April 2023 are due by Friday 2023-05-05.
    let on_time = f.check_with(
        &f.config().received_on(Date::new(2023, 5, 5).unwrap()),
        &NoReference,
    );
    assert_absent(&on_time, "T-04");
    let late = f.check_with(
        &f.config().received_on(Date::new(2023, 5, 8).unwrap()),
        &NoReference,
    );
    assert_outcome(&late, "T-04", Outcome::DEFER, None);
    assert_eq!(
        late.verdict,
        Verdict::Accepted,
        "deferred records stay accepted"
    );
    // A holiday on the 5th moves the deadline to the next business day.
    let mut c = f.config().received_on(Date::new(2023, 5, 8).unwrap());
    c.holidays.insert(Date::new(2023, 5, 5).unwrap());
    assert_absent(&f.check_with(&c, &NoReference), "T-04");
}

#[test]
fn t05_sender_not_registered() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    assert_absent(&f.check_with(&f.config(), &reference), "T-05");
    reference.institutions = Some(BTreeSet::new());
    let r = f.check_with(&f.config(), &reference);
    assert_outcome(&r, "T-05", Outcome::AR, None);
    assert_eq!(r.verdict, Verdict::Rejected);
    // Without registration data the check is a note, not a failure.
    let r = f.check();
    assert!(
        r.findings
            .iter()
            .any(|x| x.code == "T-05" && x.severity == daiko_check::Severity::Info)
    );
}

#[test]
fn t06_archive_already_received() {
    let f = checkup(1);
    let mut reference = agreeing_reference(&f);
    assert_absent(&f.check_with(&f.config(), &reference), "T-06");
    reference.archives = Some([f.file_name()].into_iter().collect());
    assert_outcome(
        &f.check_with(&f.config(), &reference),
        "T-06",
        Outcome::AR,
        None,
    );
    // The same bytes under another name are found by their SHA-256.
    let sha = f.check().archive.sha256;
    reference.archives = Some([sha].into_iter().collect());
    assert_found(&f.check_with(&f.config(), &reference), "T-06");
}

// ---- A

fn check_bytes(name: &str, bytes: Vec<u8>, config: &CheckConfig) -> daiko_check::Report {
    daiko_check::check_archive(
        name,
        std::io::Cursor::new(bytes),
        config,
        &NoReference,
        &mut daiko_check::sink::NullSink,
    )
}

#[test]
fn a01_not_a_zip() {
    let f = checkup(1);
    let r = check_bytes(
        &f.file_name(),
        b"this is not a zip file".to_vec(),
        &f.config(),
    );
    assert_outcome(&r, "A-01", Outcome::AR, None);
    assert_eq!(r.verdict, Verdict::Rejected);
    assert_absent(&f.check(), "A-01");
}

#[test]
fn a02_archive_name() {
    let f = checkup(1);
    let r = check_bytes("archive.zip", f.zip(), &f.config());
    assert_outcome(&r, "A-02", Outcome::AR, None);
    assert_absent(&f.check(), "A-02");
}

#[test]
fn a03_top_folder() {
    let mut f = checkup(1);
    f.top = ArchiveName {
        counter: 7,
        ..f.name.clone()
    };
    assert_outcome(&f.check(), "A-03", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "A-03");
}

#[test]
fn a04_index_missing() {
    let mut f = checkup(1);
    f.index = None;
    let r = f.check();
    assert_outcome(&r, "A-04", Outcome::AR, None);
    assert_eq!(r.verdict, Verdict::Rejected);
    assert_absent(&checkup(1).check(), "A-04");
}

#[test]
fn a05_summary_missing() {
    let mut f = checkup(1);
    f.summary = None;
    assert_outcome(&f.check(), "A-05", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "A-05");
}

#[test]
fn a06_unexpected_entries() {
    let mut f = checkup(1);
    f.extra.push(("notes.txt".into(), b"hello".to_vec()));
    let r = f.check();
    // A stray file only warns.
    assert_outcome(&r, "A-06", Outcome::W, None);
    assert_eq!(r.verdict, Verdict::Accepted);
    assert_absent(&checkup(1).check(), "A-06");
}

/// The archive of `f` with extra entries written at the ZIP root (beside the top folder).
fn zip_with_root_entries(f: &Fixture, root: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (p, b) in f.files() {
        w.start_file(format!("{}/{p}", f.name.base()), opts)
            .unwrap();
        w.write_all(&b).unwrap();
    }
    for (name, bytes) in root {
        if name.ends_with('/') {
            w.add_directory(name.trim_end_matches('/'), opts).unwrap();
        } else {
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a06_unexpected_top_level_file() {
    // A file beside the top folder, at the root of the ZIP: an unknown file, so a warning;
    // it is not a second top folder (A-03 counts folders only).
    let f = checkup(1);
    let bytes = zip_with_root_entries(&f, &[("readme.txt", b"hello")]);
    let r = check_bytes(&f.file_name(), bytes, &f.config());
    let a06 = assert_outcome(&r, "A-06", Outcome::W, None);
    assert_eq!(a06.value, "readme.txt");
    assert_absent(&r, "A-03");
    assert_eq!(r.verdict, Verdict::Accepted, "{}", dump(&r));
    // A folder inside the top folder that the layout does not have rejects the archive.
    let mut g = checkup(1);
    g.extra.push(("OTHER/".into(), Vec::new()));
    let bytes = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for (p, b) in g.files() {
            let name = format!("{}/{p}", g.name.base());
            if p.ends_with('/') {
                w.add_directory(name.trim_end_matches('/'), opts).unwrap();
            } else {
                w.start_file(name, opts).unwrap();
                w.write_all(&b).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    };
    let r = check_bytes(&g.file_name(), bytes, &g.config());
    assert_outcome(&r, "A-06", Outcome::AR, None);
}

#[test]
fn a07_xsd_folder_missing() {
    let mut f = checkup(1);
    f.extra.clear();
    let r = f.check();
    assert_outcome(&r, "A-07", Outcome::W, None);
    assert_eq!(r.verdict, Verdict::Accepted);
    assert_absent(&checkup(1).check(), "A-07");
}

/// The A-07 findings of `f`'s check.
fn a07s(f: &Fixture) -> Vec<daiko_check::Finding> {
    f.check()
        .findings
        .into_iter()
        .filter(|x| x.code == "A-07")
        .collect()
}

/// `f` with its XSD files replaced by `files`.
fn with_xsd(mut f: Fixture, files: Vec<(String, Vec<u8>)>) -> Fixture {
    f.extra.retain(|(p, _)| !p.starts_with("XSD/"));
    f.extra.extend(files);
    f
}

#[test]
fn a07_official_set_and_crlf_copies_are_not_different() {
    let (Some(set18), Some(set24)) = (
        official_xsd(Generation::G2018),
        official_xsd(Generation::G2024),
    ) else {
        eprintln!("skipped: ../shared/reference/xsd not present");
        return;
    };
    assert!(a07s(&with_xsd(checkup(1), set18.clone())).is_empty());
    assert!(a07s(&with_xsd(checkup_2024(1), set24)).is_empty());
    // A producer's copy with CRLF everywhere, a BOM on one file, upper-case letters in a
    // name (Windows): the same set.
    let crlf: Vec<(String, Vec<u8>)> = set18
        .iter()
        .map(|(p, b)| {
            let text = String::from_utf8_lossy(b)
                .replace("\r\n", "\n")
                .replace('\n', "\r\n");
            let mut bytes = text.into_bytes();
            if p.ends_with("ix08_V08.xsd") {
                bytes.splice(0..0, *b"\xEF\xBB\xBF");
            }
            let p = p.replace("coreschemas/", "CoreSchemas/");
            (p, bytes)
        })
        .collect();
    assert_ne!(crlf, set18);
    let r = with_xsd(checkup(1), crlf).check();
    assert_absent(&r, "A-07");
    assert!(problems(&r).is_empty(), "{}", dump(&r));
}

#[test]
fn a07_xsd_folder_different() {
    let (Some(set18), Some(set24)) = (
        official_xsd(Generation::G2018),
        official_xsd(Generation::G2024),
    ) else {
        eprintln!("skipped: ../shared/reference/xsd not present");
        return;
    };
    // The FY2024 set in a 2018 archive: one warning for the archive, naming the files.
    let f = with_xsd(checkup(1), set24);
    let found = a07s(&f);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].outcome, Outcome::W);
    assert_eq!(found[0].location, "XSD/");
    let en = &found[0].message_en;
    assert!(en.contains("FY2018–FY2023"), "{en}");
    assert!(
        en.contains("changed: XSD/cc08_V08.xsd, XSD/co08_V08.xsd, XSD/gc08_V08.xsd and 2 more"),
        "{en}"
    );
    assert!(!en.contains("missing:") && !en.contains("extra:"), "{en}");
    assert!(
        found[0].message_ja.contains("内容相違: XSD/cc08_V08.xsd"),
        "{}",
        found[0].message_ja
    );
    assert_eq!(f.check().verdict, Verdict::Accepted);
    // And the FY2018 set in a 2024 archive.
    assert_eq!(a07s(&with_xsd(checkup_2024(1), set18.clone())).len(), 1);

    // One file edited.
    let mut edited = set18.clone();
    let hc = edited
        .iter_mut()
        .find(|(p, _)| p == "XSD/hc08_V08.xsd")
        .expect("hc08 in the set");
    hc.1.extend_from_slice(b"<!-- local change -->");
    let found = a07s(&with_xsd(checkup(1), edited));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message_en.contains(
            "differs from the official V08 schema set for FY2018–FY2023 (changed: XSD/hc08_V08.xsd); the agency validates with its own schemas"
        ),
        "{}",
        found[0].message_en
    );

    // One file missing, one extra.
    let mut fewer: Vec<_> = set18
        .iter()
        .filter(|(p, _)| p != "XSD/gc08_V08.xsd")
        .cloned()
        .collect();
    fewer.push(("XSD/readme.txt".into(), b"schemas\n".to_vec()));
    let found = a07s(&with_xsd(checkup(1), fewer));
    assert_eq!(found.len(), 1, "{found:?}");
    let en = &found[0].message_en;
    assert!(
        en.contains("(missing: XSD/gc08_V08.xsd; extra: XSD/readme.txt)"),
        "{en}"
    );
    assert!(
        found[0]
            .message_ja
            .contains("不足: XSD/gc08_V08.xsd、余分: XSD/readme.txt")
    );

    // A folder of placeholders only.
    let found = a07s(&with_xsd(
        checkup(1),
        vec![("XSD/readme.txt".into(), b"x".to_vec())],
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message_en.contains("missing: XSD/cc08_V08.xsd, XSD/co08_V08.xsd, XSD/coreschemas/datatypes-base_hcgv08.xsd and 8 more"), "{}", found[0].message_en);
}

#[test]
fn a07_unsafe_xsd_entry_is_a09_only_and_unknown_generation_tries_both_sets() {
    let (Some(set18), Some(set24)) = (
        official_xsd(Generation::G2018),
        official_xsd(Generation::G2024),
    ) else {
        eprintln!("skipped: ../shared/reference/xsd not present");
        return;
    };
    // A second copy of hc08 under a case-folded name is A-09 (AR); it is not compared.
    let mut twice = set18.clone();
    twice.push(("XSD/HC08_V08.xsd".into(), b"<other/>".to_vec()));
    let r = with_xsd(checkup(1), twice).check();
    assert_outcome(&r, "A-09", Outcome::AR, None);
    assert_absent(&r, "A-07");

    // An hc08 compressing 3 MiB of blanks past the ratio bound is A-09 (AR), not read or
    // compared; 3 MiB of varied bytes is larger than any official file: changed, unread.
    for (bytes, unsafe_entry) in [
        (vec![b' '; 3 << 20], true),
        (
            (0u32..3 << 20)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect::<Vec<u8>>(),
            false,
        ),
    ] {
        let mut big = set18.clone();
        big.iter_mut()
            .find(|(p, _)| p == "XSD/hc08_V08.xsd")
            .expect("hc08 in the set")
            .1 = bytes;
        let f = with_xsd(checkup(1), big);
        let r = f.check();
        if unsafe_entry {
            assert_outcome(&r, "A-09", Outcome::AR, None);
            assert_absent(&r, "A-07");
        } else {
            assert_absent(&r, "A-09");
            let found = a07s(&f);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0].message_en.contains("(changed: XSD/hc08_V08.xsd)"),
                "{}",
                found[0].message_en
            );
        }
    }

    // Without an index the generation is unknown: either official set is fine …
    for set in [set18.clone(), set24.clone()] {
        let mut f = with_xsd(checkup(1), set);
        f.index = None;
        let r = f.check();
        assert_found(&r, "A-04");
        assert_absent(&r, "A-07");
    }
    // … a set matching neither is reported against the closer one.
    let mut edited = set24;
    edited.retain(|(p, _)| p != "XSD/su08_V08.xsd");
    let mut f = with_xsd(checkup(1), edited);
    f.index = None;
    let found = a07s(&f);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message_en.contains(
            "matches no official V08 schema set (against the closest, for FY2024 onwards: missing: XSD/su08_V08.xsd)"
        ),
        "{}",
        found[0].message_en
    );
}

#[test]
fn a08_no_data_files() {
    let mut f = checkup(1);
    f.records.clear();
    f.resum();
    let r = f.check();
    assert_outcome(&r, "A-08", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "A-08");
}

#[test]
fn a09_unsafe_entries() {
    let mut f = checkup(1);
    // The same data file name twice when case is ignored.
    let (path, bytes) = f
        .files()
        .into_iter()
        .find(|(p, _)| p.starts_with("DATA/"))
        .unwrap();
    f.extra.push((path.replace("DATA/h", "DATA/H"), bytes));
    assert_outcome(&f.check(), "A-09", Outcome::AR, None);

    // A path escaping the top folder, written with the zip crate directly.
    let g = checkup(1);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (p, b) in g.files() {
        w.start_file(format!("{}/{p}", g.name.base()), opts)
            .unwrap();
        w.write_all(&b).unwrap();
    }
    w.start_file(format!("{}/../evil.xml", g.name.base()), opts)
        .unwrap();
    w.write_all(b"<x/>").unwrap();
    let bytes = w.finish().unwrap().into_inner();
    assert_outcome(
        &check_bytes(&g.file_name(), bytes, &g.config()),
        "A-09",
        Outcome::AR,
        None,
    );
    assert_absent(&g.check(), "A-09");
}

#[test]
fn a10_names_and_encoding() {
    let mut f = checkup(1);
    f.extra.push(("XSD/スキーマ.xsd".into(), b"x".to_vec()));
    assert_outcome(&f.check(), "A-10", Outcome::AR, None);

    let mut g = checkup(1);
    let claim = g.records[0].claim_path.clone();
    g.patch(&claim, "encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"");
    assert_found(&g.check(), "A-10");
    assert_absent(&checkup(1).check(), "A-10");
}

// ---- X

#[test]
fn x01_not_well_formed() {
    let mut f = checkup(2);
    let claim = f.records[0].claim_path.clone();
    f.patch(&claim, "</checkupClaim>", "</checkupClaim");
    let r = f.check();
    let x = assert_outcome(&r, "X-01", Outcome::FR, Some("01"));
    assert_eq!(x.file, claim);
    assert_eq!(r.verdict, Verdict::PartiallyAccepted, "{}", dump(&r));

    let mut g = checkup(1);
    g.patch("ix08_V08.xml", "</index>", "<index>");
    assert_outcome(&g.check(), "X-01", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "X-01");
}

#[test]
fn x02_schema_violation() {
    let mut f = checkup(1);
    let claim = f.records[0].claim_path.clone();
    f.patch(&claim, "<encounter>", "<encounter><unexpected/>");
    assert_outcome(&f.check(), "X-02", Outcome::FR, Some("01"));
    assert_absent(&checkup(1).check(), "X-02");
}

#[test]
fn x03_namespace() {
    // A claim of the other generation inside a 2018 archive.
    let mut f = checkup(1);
    let claim = f.records[0].claim_path.clone();
    f.patch(&claim, NS_2007, NS_MHLW_2024);
    assert_outcome(&f.check(), "X-03", Outcome::FR, Some("01"));
    // An unknown namespace on the index rejects the archive.
    let mut g = checkup(1);
    g.patch("ix08_V08.xml", NS_2007, "urn:example:other");
    assert_outcome(&g.check(), "X-03", Outcome::AR, None);
    // FY2024 services in the 2018 generation (decision 1).
    let mut h = checkup_2024(1);
    h.generation = Generation::G2018;
    assert_found(&h.check(), "X-03");
    assert_absent(&checkup(1).check(), "X-03");
}

#[test]
fn x04_root_does_not_match_folder() {
    let mut f = checkup(2);
    let claim_bytes = f
        .files()
        .into_iter()
        .find(|(p, _)| *p == f.records[0].claim_path)
        .unwrap()
        .1;
    let data = f.records[0].data_path.clone();
    // The claim written where its CDA belongs.
    f.records.remove(0);
    f.extra.push((data.clone(), claim_bytes));
    f.recompute_count = false;
    f.index().total_record_count = "3".into();
    let r = f.check();
    let x = assert_outcome(&r, "X-04", Outcome::FR, Some("01"));
    assert_eq!(x.file, data);
    assert_absent(&checkup(1).check(), "X-04");
}

#[test]
fn x05_version() {
    let mut f = checkup(1);
    f.patch("su08_V08.xml", "su08_V08.xsd", "su08_V07.xsd");
    assert_outcome(&f.check(), "X-05", Outcome::AR, None);
    // An index of version V07 in place of ix08_V08.xml.
    let mut g = checkup(1);
    let ix = g
        .files()
        .into_iter()
        .find(|(p, _)| p == "ix08_V08.xml")
        .unwrap()
        .1;
    g.index = None;
    g.extra.push(("ix08_V07.xml".into(), ix));
    let x = assert_outcome(&g.check(), "X-05", Outcome::AR, None);
    assert_eq!(x.file, "ix08_V07.xml");
    assert_absent(&checkup(1).check(), "X-05");
}

// ---- I

#[test]
fn i01_interaction_type() {
    let mut f = checkup(1);
    f.index().interaction_type = "2".into();
    assert_outcome(&f.check(), "I-01", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "I-01");
}

#[test]
fn i02_creation_time() {
    let mut f = checkup(1);
    f.index().creation_time = "20991231".into();
    assert_outcome(&f.check(), "I-02", Outcome::AR, None);
    let mut g = checkup(1);
    g.index().creation_time = "20230231".into();
    assert_found(&g.check(), "I-02");
    // After the archive date but not in the future: a warning.
    let mut h = checkup(1);
    let later = Date::parse(&h.name.date).unwrap().succ();
    h.index().creation_time = later.compact();
    let r = h.check_with(&h.config().received_on(later), &NoReference);
    assert_outcome(&r, "I-02", Outcome::W, None);
    assert_absent(&checkup(1).check(), "I-02");
}

#[test]
fn i03_sender() {
    let mut f = checkup(1);
    f.index().sender.extension = "2813303589".into();
    assert_outcome(&f.check(), "I-03", Outcome::AR, None);
    let mut g = checkup(1);
    g.index().sender.root = "1.2.392.200119.6.999".into();
    assert_found(&g.check(), "I-03");
    assert_absent(&checkup(1).check(), "I-03");
}

#[test]
fn i04_receiver() {
    let f = checkup(1);
    let other = f.check_with(
        &CheckConfig::for_agency("99000028").received_on(f.reception()),
        &NoReference,
    );
    assert_outcome(&other, "I-04", Outcome::AR, None);
    let mut g = checkup(1);
    g.index().receiver = Some(Id::new(oid::AGENCY, "99000028"));
    assert_found(&g.check(), "I-04");
    // Without a configured agency number: only the archive-name comparison, and a note.
    let no_agency = CheckConfig {
        agency_number: None,
        ..f.config()
    };
    let r = f.check_with(&no_agency, &NoReference);
    assert_absent(&r, "I-04");
    assert!(
        r.findings
            .iter()
            .any(|x| x.code == "I-04" && x.severity == daiko_check::Severity::Info)
    );
    assert_absent(&f.check(), "I-04");
}

#[test]
fn i05_service_event_type() {
    let mut f = checkup(1);
    f.index().service_event_type = "3".into();
    assert_outcome(&f.check(), "I-05", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "I-05");
}

#[test]
fn i06_total_record_count() {
    let mut f = checkup(2);
    f.recompute_count = false;
    f.index().total_record_count = "3".into();
    assert_outcome(&f.check(), "I-06", Outcome::AR, None);
    assert_absent(&checkup(2).check(), "I-06");
}

#[test]
fn i07_sender_check_digit() {
    let mut f = checkup(1);
    let sender = f.name.sender.clone();
    let last = sender.as_bytes()[9] - b'0';
    let wrong = format!("{}{}", &sender[..9], (last + 1) % 10);
    f.index().sender.extension = wrong;
    assert_outcome(&f.check(), "I-07", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "I-07");
}

// ---- S

#[test]
fn s01_summary_service_event_type() {
    let mut f = checkup(1);
    f.summary().service_event_type = "2".into();
    assert_outcome(&f.check(), "S-01", Outcome::AR, None);
    assert_absent(&checkup(1).check(), "S-01");
}

#[test]
fn s02_subject_count() {
    let mut f = checkup(2);
    f.summary().total_subject_count = "3".into();
    assert_outcome(&f.check(), "S-02", Outcome::AR, None);
    assert_absent(&checkup(2).check(), "S-02");
}

#[test]
fn s03_total_cost() {
    let mut f = checkup(2);
    let v = f.summary().total_cost_amount.amount().unwrap();
    f.summary().total_cost_amount = Money::yen(v + 1);
    assert_outcome(&f.check(), "S-03", Outcome::AR, None);
    assert_absent(&checkup(2).check(), "S-03");
}

#[test]
fn s04_total_payment() {
    let mut f = checkup(2);
    let v = f.summary().total_payment_amount.amount().unwrap();
    f.summary().total_payment_amount = Money::yen(v + 10);
    assert_outcome(&f.check(), "S-04", Outcome::AR, None);
    assert_absent(&checkup(2).check(), "S-04");
}

#[test]
fn s05_total_other_program() {
    let mut f = checkup(2);
    let v = f
        .summary()
        .total_payment_by_other_program
        .as_ref()
        .and_then(|m| m.amount())
        .unwrap_or(0);
    f.summary().total_payment_by_other_program = Some(Money::yen(v + 500));
    assert_outcome(&f.check(), "S-05", Outcome::AR, None);
    assert_absent(&checkup(2).check(), "S-05");
}

#[test]
fn s06_total_claim() {
    let mut f = checkup(2);
    let v = f.summary().total_claim_amount.amount().unwrap();
    f.summary().total_claim_amount = Money::yen(v + 1);
    assert_outcome(&f.check(), "S-06", Outcome::AR, None);
    assert_absent(&checkup(2).check(), "S-06");
}

#[test]
fn s07_totals_add_up() {
    let mut f = checkup(2);
    let v = f.summary().total_claim_amount.amount().unwrap();
    f.summary().total_claim_amount = Money::yen(v + 1);
    assert_found(&f.check(), "S-07");
    assert_absent(&checkup(2).check(), "S-07");
}

#[test]
fn s08_receipt_shows_accepted_records_only() {
    let mut f = checkup(2);
    f.claim(0).subject.gender = "3".into();
    let r = f.check();
    assert_outcome(&r, "S-08", Outcome::W, None);
    assert_eq!(r.verdict, Verdict::PartiallyAccepted);
    assert_absent(&checkup(2).check(), "S-08");
}

// ---- P

#[test]
fn p01_file_name() {
    let mut f = checkup(1);
    for (i, r) in f.records.iter_mut().enumerate() {
        r.data_path = format!("DATA/h{i}.xml");
        r.claim_path = format!("CLAIMS/c{i}.xml");
    }
    assert_outcome(&f.check(), "P-01", Outcome::FR, Some("01"));
    // Right shape, but the date does not repeat the archive name.
    let mut g = checkup(1);
    let date = g.name.date.clone();
    for r in g.records.iter_mut() {
        r.data_path = r.data_path.replace(&date, "20230101");
        r.claim_path = r.claim_path.replace(&date, "20230101");
    }
    assert_found(&g.check(), "P-01");
    assert_absent(&checkup(1).check(), "P-01");
}

#[test]
fn p02_prefix() {
    let mut f = checkup(1);
    f.records[0].claim_path = f.records[0].claim_path.replace("CLAIMS/c", "CLAIMS/x");
    f.records[0].data_path = f.records[0].data_path.replace("DATA/h", "DATA/x");
    assert_outcome(&f.check(), "P-02", Outcome::FR, Some("01"));
    assert_absent(&checkup(1).check(), "P-02");
}

#[test]
fn p03_pairing() {
    let mut f = checkup(2);
    f.records[0].claim = None;
    let r = f.check();
    let x = assert_outcome(&r, "P-03", Outcome::FR, Some("01"));
    assert_eq!(x.file, f.records[0].data_path);
    // A claim without a data file.
    let mut g = checkup(2);
    g.records[1].data_path = g.records[1].data_path.replace("000", "999");
    assert_found(&g.check(), "P-03");
    assert_absent(&checkup(2).check(), "P-03");
}

#[test]
fn p04_pair_content() {
    let mut f = checkup(1);
    f.claim(0).subject.birth_time = "19600101".into();
    assert_outcome(&f.check(), "P-04", Outcome::FR, Some("01"));
    let mut g = checkup(1);
    g.claim(0).subject.insurance_card.number.extension.push('9');
    assert_found(&g.check(), "P-04");
    assert_absent(&checkup(1).check(), "P-04");
}

#[test]
fn p05_mixed_service_event_types() {
    let mut f = checkup(2);
    // A guidance CDA (報告区分 21) in a checkup archive.
    f.doc(0).code = Some(Code {
        code: "21".into(),
        code_system: Some(oid::REPORT_KIND.into()),
        display_name: None,
    });
    let r = f.check();
    assert_outcome(&r, "P-05", Outcome::AR, None);
    assert_eq!(r.verdict, Verdict::Rejected);
    assert_eq!(r.counts.accepted, 0);
    assert_absent(&checkup(2).check(), "P-05");
}
