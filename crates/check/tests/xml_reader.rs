//! The check engine gives the same report whichever XML tree it reads the DATA and CLAIMS
//! files into: daiko's flat tree (the default, with roxmltree where the flat reader
//! refuses a document or a reader marks it inexact) or roxmltree alone (the reference,
//! `XmlReader::Reference`). Compared as whole reports and as their JSON, over the sample
//! generator's archives (checkups and guidance, both generations, with and without
//! injected defects), the fuzz corpora (archives as they are; XML documents as the data
//! and as the claim file of a one-person archive) and documents changed where the two
//! trees differ (layout beside child elements, empty CDATA, U+3000 between elements,
//! prefixed `xsi:type`).

use daiko_check::config::XmlReader;
use daiko_check::reference::NoReference;
use daiko_check::sink::NullSink;
use daiko_check::stages::date::Date;
use daiko_check::{CheckConfig, check_archive};
use daiko_format::archive::{Archive, ArchiveLimits, ArchiveName, ArchiveWriter, EntryRole};
use std::io::Cursor;
use std::path::PathBuf;

fn config(xml: XmlReader, reception: Option<Date>) -> CheckConfig {
    let mut c = CheckConfig::for_agency("99000010");
    if let Some(d) = reception {
        c = c.received_on(d);
    }
    c.xml_reader = xml;
    c.workers = Some(2);
    c
}

/// Checks `zip` both ways and requires the same report; returns its number of findings.
fn same_report(name: &str, zip: &[u8], reception: Option<Date>) -> usize {
    let check = |xml| {
        check_archive(
            name,
            Cursor::new(zip),
            &config(xml, reception),
            &NoReference,
            &mut NullSink,
        )
    };
    let flat = check(XmlReader::Flat);
    let reference = check(XmlReader::Reference);
    let (jf, jr) = (
        serde_json::to_string_pretty(&flat).expect("json"),
        serde_json::to_string_pretty(&reference).expect("json"),
    );
    if jf != jr {
        let at = jf
            .lines()
            .zip(jr.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let around = |j: &str| {
            j.lines()
                .skip(at.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{name}: the JSON reports differ at line {at}\nflat:\n{}\nreference:\n{}",
            around(&jf),
            around(&jr)
        );
    }
    assert_eq!(flat, reference, "{name}: the reports differ");
    flat.findings.len() + flat.records.len()
}

#[test]
fn generated_archives_give_the_same_report_on_both_trees() {
    let mut archives = 0;
    let mut findings = 0;
    for (period, seed) in [
        (daiko_sample::Period::Fy2023, 3),
        (daiko_sample::Period::Fy2024, 5),
    ] {
        for defect_rate in [0.0, 0.5] {
            let cfg = daiko_sample::SampleConfig {
                archives: 2,
                guidance_archives: 2,
                records: 40,
                seed,
                period,
                defect_rate,
                reference_defects: defect_rate > 0.0,
                ..Default::default()
            };
            for a in daiko_sample::generate(&cfg).expect("samples generate") {
                findings += same_report(&a.name, &a.zip, None);
                archives += 1;
            }
        }
    }
    assert_eq!(archives, 16);
    assert!(findings > 100, "{findings}");
}

/// A one-person archive (index, summary, data and claim) to put documents into.
struct Base {
    name: String,
    entries: Vec<(String, EntryRole, Vec<u8>)>,
}

fn base() -> Base {
    let sample = daiko_sample::generate(&daiko_sample::SampleConfig {
        records: 1,
        ..Default::default()
    })
    .expect("samples")
    .pop()
    .expect("one archive");
    let mut archive = Archive::open(
        &sample.name,
        Cursor::new(sample.zip),
        ArchiveLimits::default(),
    );
    let mut entries = Vec::new();
    for e in archive.entries.clone() {
        let Some(path) = e.path.clone() else { continue };
        if e.role != EntryRole::Directory {
            let bytes = archive.read(&e).expect("sample entries read back");
            entries.push((path, e.role, bytes));
        }
    }
    Base {
        name: sample.name,
        entries,
    }
}

impl Base {
    fn file(&self, role: EntryRole) -> &[u8] {
        self.entries
            .iter()
            .find(|(_, r, _)| *r == role)
            .map(|(_, _, b)| b.as_slice())
            .expect("the base archive has this file")
    }

    /// The archive with `bytes` in place of the file of `role`.
    fn with(&self, role: EntryRole, bytes: &[u8]) -> Vec<u8> {
        let name = ArchiveName::parse(&self.name).expect("sample names parse");
        let mut w = ArchiveWriter::new(&name);
        for (path, r, b) in &self.entries {
            let b = if *r == role { bytes } else { b.as_slice() };
            w.add(path.clone(), b.to_vec());
        }
        w.finish().expect("archive writes")
    }
}

fn reception() -> Option<Date> {
    Date::new(2023, 5, 2)
}

#[test]
fn fuzz_corpora_give_the_same_report_on_both_trees() {
    let base = base();
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz"));
    let mut checked = 0;
    for kind in ["corpus", "regressions"] {
        for target in ["xml", "record", "archive"] {
            let Ok(listing) = std::fs::read_dir(root.join(kind).join(target)) else {
                continue;
            };
            let mut files: Vec<PathBuf> = listing.flatten().map(|e| e.path()).collect();
            files.sort();
            for path in files {
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let label = path.display().to_string();
                if target == "archive" {
                    same_report(&label, &bytes, reception());
                } else {
                    for role in [EntryRole::Data, EntryRole::Claim] {
                        same_report(
                            &format!("{label} as {role:?}"),
                            &base.with(role, &bytes),
                            reception(),
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "{checked}");
}

/// Documents changed where the flat tree keeps less than roxmltree's (text beside child
/// elements, empty text) or resolves more (namespace prefixes): each must give the
/// report roxmltree's tree gives.
#[test]
fn documents_at_the_trees_differences_give_the_same_report() {
    let base = base();
    let data = String::from_utf8(base.file(EntryRole::Data).to_vec()).expect("utf-8");
    let claim = String::from_utf8(base.file(EntryRole::Claim).to_vec()).expect("utf-8");
    let first_value = data
        .find("xsi:type=\"PQ\"")
        .expect("the sample has a PQ value");
    let changes: Vec<(&str, EntryRole, String)> = vec![
        (
            "layout and an element in the patient's name",
            EntryRole::Data,
            data.replacen("</name>", "\n  <given>x</given>\n</name>", 1),
        ),
        (
            "layout around a comment in the patient's name",
            EntryRole::Data,
            data.replacen("</name>", "<!-- c --> \n</name>", 1),
        ),
        (
            "an empty CDATA section in an empty element",
            EntryRole::Data,
            data.replacen(
                "extension=\"POCD_HD000040\"/>",
                "extension=\"POCD_HD000040\"><![CDATA[]]></typeId>",
                1,
            ),
        ),
        (
            "layout and an element in an empty element",
            EntryRole::Data,
            data.replacen(
                "extension=\"POCD_HD000040\"/>",
                "extension=\"POCD_HD000040\">\n  <id/>\n</typeId>",
                1,
            ),
        ),
        (
            "U+3000 between child elements",
            EntryRole::Data,
            data.replacen("<recordTarget>", "<recordTarget>\u{3000}", 1),
        ),
        (
            "an empty CDATA section in a value",
            EntryRole::Data,
            data.replacen("</name>", "<![CDATA[]]></name>", 1),
        ),
        (
            "a prefixed xsi:type on an inner element",
            EntryRole::Data,
            format!(
                "{}xmlns:v3=\"urn:hl7-org:v3\" xsi:type=\"v3:PQ\"{}",
                &data[..first_value],
                &data[first_value + "xsi:type=\"PQ\"".len()..]
            ),
        ),
        (
            "an xsi:type prefix bound to another namespace",
            EntryRole::Data,
            format!(
                "{}xmlns:v3=\"urn:other\" xsi:type=\"v3:PQ\"{}",
                &data[..first_value],
                &data[first_value + "xsi:type=\"PQ\"".len()..]
            ),
        ),
        (
            "layout and an element in the subject's name",
            EntryRole::Claim,
            claim.replacen("</name>", "\n <x/>\n</name>", 1),
        ),
        (
            "text, layout and elements in the subject's address",
            EntryRole::Claim,
            claim.replacen("<postalCode>", "<x/> <postalCode>", 1),
        ),
    ];
    for (what, role, text) in &changes {
        assert_ne!(
            text.as_bytes(),
            base.file(*role),
            "{what}: the change applies"
        );
        same_report(what, &base.with(*role, text.as_bytes()), reception());
    }
}
