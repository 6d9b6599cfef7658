//! The flat XML tree (`daiko_format::flat`) against roxmltree, the reference, over every
//! document `daiko sample` and its defect generator write (checkups and guidance, both
//! generations, record and archive defects, the file patches that break the XML) and the
//! XML fuzz corpus: wherever roxmltree accepts a document the flat tree holds the same
//! content, and wherever roxmltree refuses one the flat reader refuses it too.

use daiko_format::archive::{Archive, ArchiveLimits};
use daiko_format::flat;
use daiko_format::model::Generation;
use daiko_format::read::{self, ParseLimits};
use daiko_format::tree::XmlDocument;
use daiko_sample::defects::FilePatch;
use daiko_schema::{Schema, SchemaSet};
use std::io::Cursor;
use std::path::PathBuf;

/// Tallies of one comparison run.
#[derive(Default, Debug)]
struct Tally {
    same: usize,
    both_refused: usize,
    /// Accepted by roxmltree, refused by the flat reader (allowed: the reference then
    /// decides), with the reason.
    flat_only_refused: Vec<String>,
    disagreements: Vec<String>,
    /// Documents whose readers marked the flat tree inexact (the engine reads them again
    /// with roxmltree).
    inexact: Vec<String>,
}

impl Tally {
    fn compare(&mut self, label: &str, bytes: &[u8]) {
        let Ok(text) = read::decode(bytes) else {
            return;
        };
        let limits = ParseLimits::default();
        let reference = read::parse(text, &limits);
        let flat = flat::parse(text, &limits);
        match (reference, flat) {
            (Ok(r), Ok(f)) => {
                let diff = flat::differences(&f, &r);
                if diff.is_empty() {
                    self.same += 1;
                } else {
                    self.disagreements.push(format!("{label}: {diff:?}"));
                }
                let (on_flat, on_reference) = (readings(&f), readings(&r));
                if f.is_inexact() {
                    self.inexact.push(label.to_string());
                } else if on_flat != on_reference {
                    self.disagreements.push(format!(
                        "{label}: read differently\nflat: {on_flat}\nreference: {on_reference}"
                    ));
                }
            }
            (Err(_), Err(_)) => self.both_refused += 1,
            (Ok(_), Err(refused)) => self.flat_only_refused.push(format!("{label}: {refused}")),
            (Err(e), Ok(_)) => self.disagreements.push(format!(
                "{label}: roxmltree refuses ({e}), the flat reader accepts"
            )),
        }
    }
}

/// Everything the check engine takes from a tree, as text: the kind, the X-02 violations
/// of both schema sets, the readers' models and the observation views.
fn readings<D: XmlDocument>(doc: &D) -> String {
    let mut out = format!("{:?}\n", read::kind_of(doc));
    for set in [SchemaSet::V2018, SchemaSet::V2024] {
        for schema in [
            Schema::CheckupCda,
            Schema::GuidanceCda,
            Schema::CheckupClaim,
            Schema::GuidanceClaim,
        ] {
            out.push_str(&format!("{:?}\n", daiko_schema::validate(doc, set, schema)));
        }
    }
    out.push_str(&format!("{:?}\n", read::read_checkup_claim(doc)));
    out.push_str(&format!("{:?}\n", read::read_guidance_claim(doc)));
    out.push_str(&format!("{:?}\n", read::read_cda(doc)));
    out.push_str(&format!("{:?}\n", read::read_cda_without_entries(doc)));
    out.push_str(&format!("{:?}\n", daiko_format::cda::observations_in(doc)));
    out
}

fn compare_archives(archives: &[daiko_sample::SampleArchive], tally: &mut Tally) {
    for a in archives {
        let mut zip = Archive::open(
            &a.name,
            Cursor::new(a.zip.as_slice()),
            ArchiveLimits::default(),
        );
        let entries = zip.entries.clone();
        for entry in &entries {
            if !entry.name.ends_with(".xml") {
                continue;
            }
            let Ok(bytes) = zip.read(entry) else { continue };
            let label = format!("{}/{}", a.name, entry.name);
            tally.compare(&label, &bytes);
            // The file patches of the defect generator, on every document.
            for (patch, generation) in [
                (FilePatch::Truncate, Generation::G2024),
                (FilePatch::UnknownElement, Generation::G2024),
                (FilePatch::OtherGeneration, Generation::G2018),
                (FilePatch::OtherGeneration, Generation::G2024),
                (FilePatch::OldSchemaVersion, Generation::G2024),
            ] {
                tally.compare(
                    &format!("{label} {patch:?}"),
                    &patch.apply(&bytes, generation),
                );
            }
        }
    }
}

#[test]
fn flat_tree_matches_roxmltree_on_every_generated_document() {
    let mut tally = Tally::default();
    for (period, seed) in [
        (daiko_sample::Period::Fy2023, 3),
        (daiko_sample::Period::Fy2024, 5),
    ] {
        let cfg = daiko_sample::SampleConfig {
            archives: 3,
            guidance_archives: 2,
            records: 30,
            seed,
            period,
            defect_rate: 0.5,
            reference_defects: true,
            ..Default::default()
        };
        let archives = daiko_sample::generate(&cfg).expect("samples generate");
        compare_archives(&archives, &mut tally);
    }
    // The XML fuzz target's seeds and saved crashes (hostile documents).
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz"));
    for kind in ["corpus", "regressions"] {
        if let Ok(listing) = std::fs::read_dir(root.join(kind).join("xml")) {
            for entry in listing.flatten() {
                let path = entry.path();
                if let Ok(bytes) = std::fs::read(&path) {
                    tally.compare(&path.display().to_string(), &bytes);
                }
            }
        }
    }
    eprintln!(
        "flat vs roxmltree: {} same, {} refused by both, {} refused by flat only, {} inexact",
        tally.same,
        tally.both_refused,
        tally.flat_only_refused.len(),
        tally.inexact.len()
    );
    assert!(
        tally.disagreements.is_empty(),
        "{} disagreements: {:#?}",
        tally.disagreements.len(),
        tally.disagreements.iter().take(10).collect::<Vec<_>>()
    );
    // Every document the generator writes is ordinary XML: the flat reader must take all
    // of them itself (refusals are for hostile input only).
    let generated_refusals: Vec<&String> = tally
        .flat_only_refused
        .iter()
        .filter(|l| !l.contains("/fuzz/"))
        .collect();
    assert!(
        generated_refusals.is_empty(),
        "generated documents refused: {generated_refusals:#?}"
    );
    // … and read all of them exactly (no second reading with roxmltree).
    let generated_inexact: Vec<&String> = tally
        .inexact
        .iter()
        .filter(|l| !l.contains("/fuzz/"))
        .collect();
    assert!(
        generated_inexact.is_empty(),
        "generated documents read inexactly: {generated_inexact:#?}"
    );
    assert!(tally.same > 1_000, "{tally:?}");
    assert!(
        tally.both_refused > 0,
        "the truncation patch is refused by both"
    );
}

/// Not a check: the workload for comparing the two parsers' instruction counts under
/// callgrind (docs/performance.md gives the command). Parses the same 200 checkup CDAs
/// and 200 claims with each reader, in functions of their own so that callgrind's
/// inclusive counts separate them.
#[test]
#[ignore]
fn flat_and_roxmltree_parse_cost() {
    let cfg = daiko_sample::SampleConfig {
        records: 200,
        seed: 1,
        ..Default::default()
    };
    let archives = daiko_sample::generate(&cfg).expect("samples generate");
    let mut texts = Vec::new();
    for a in &archives {
        let mut zip = Archive::open(
            &a.name,
            Cursor::new(a.zip.as_slice()),
            ArchiveLimits::default(),
        );
        let entries = zip.entries.clone();
        for entry in entries
            .iter()
            .filter(|e| e.name.contains("/DATA/") || e.name.contains("/CLAIMS/"))
        {
            if let Ok(bytes) = zip.read(entry) {
                texts.push(String::from_utf8(bytes).expect("UTF-8"));
            }
        }
    }
    let limits = ParseLimits::default();
    let flat_nodes = parse_all_flat(&texts, &limits);
    let reference_nodes = parse_all_roxmltree(&texts, &limits);
    eprintln!(
        "{} documents: flat {flat_nodes} nodes, roxmltree {reference_nodes} nodes",
        texts.len()
    );
    // With an argument, also a wall-clock comparison (printed, never asserted: the
    // machine's load decides it), alternating the two parsers.
    let rounds: usize = std::env::var("DAIKO_PARSE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let (mut flat_time, mut reference_time) = (0.0, 0.0);
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        std::hint::black_box(parse_all_flat(&texts, &limits));
        flat_time += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        std::hint::black_box(parse_all_roxmltree(&texts, &limits));
        reference_time += t.elapsed().as_secs_f64();
    }
    if rounds > 0 {
        let per = |s: f64| s / (rounds * texts.len()) as f64 * 1e6;
        eprintln!(
            "per document: flat {:.1} µs, roxmltree {:.1} µs",
            per(flat_time),
            per(reference_time)
        );
    }
    assert!(flat_nodes > 0 && reference_nodes > flat_nodes);
}

#[inline(never)]
fn parse_all_flat(texts: &[String], limits: &ParseLimits) -> usize {
    texts
        .iter()
        .map(|t| flat::parse(t, limits).map_or(0, |d| d.node_count()))
        .sum()
}

#[inline(never)]
fn parse_all_roxmltree(texts: &[String], limits: &ParseLimits) -> usize {
    texts
        .iter()
        .map(|t| read::parse(t, limits).map_or(0, |d| d.descendants().count()))
        .sum()
}

/// Where the flat tree keeps less than roxmltree's, the readers notice it: the document
/// is marked inexact exactly when an answer would differ, and otherwise reads the same.
#[test]
fn readers_mark_the_flat_tree_inexact_where_it_lost_text() {
    let cda = |patient_name: &str, type_id: &str| {
        format!(
            "<ClinicalDocument xmlns='urn:hl7-org:v3'>\n  {type_id}\n  <recordTarget><patientRole>\
             <patient>{patient_name}</patient></patientRole></recordTarget>\n</ClinicalDocument>"
        )
    };
    let plain_id = "<typeId root='2.16.840.1.113883.1.3' extension='POCD_HD000040'/>";
    // (document, marked inexact, reads differently on the flat tree)
    for (text, inexact, differs) in [
        (cda("<name>a</name>", plain_id), false, false),
        (cda("<name>a<![CDATA[]]></name>", plain_id), false, false),
        (
            cda("<name><given>a</given>b</name>", plain_id),
            false,
            false,
        ),
        (
            cda("<name>\u{3000}<given>a</given></name>", plain_id),
            false,
            false,
        ),
        (
            cda("<name>\n <given>a</given>\n</name>", plain_id),
            true,
            true,
        ),
        (cda("<name><![CDATA[]]></name>", plain_id), true, false),
        (cda("<name>a</name>", "<typeId> <x/></typeId>"), true, true),
        (
            cda("<name>a</name>", "<typeId><![CDATA[]]></typeId>"),
            true,
            true,
        ),
    ] {
        let limits = ParseLimits::default();
        let f = flat::parse(&text, &limits).expect("the flat reader takes it");
        let r = read::parse(&text, &limits).expect("roxmltree takes it");
        assert!(flat::differences(&f, &r).is_empty(), "{text}");
        let (on_flat, on_reference) = (readings(&f), readings(&r));
        assert_eq!(f.is_inexact(), inexact, "{text}");
        assert_eq!(on_flat != on_reference, differs, "{text}");
    }
}
