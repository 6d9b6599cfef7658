//! Routing checked archives into 種別3 / 種別2 / 種別11 archives, judged by the real
//! components: samples from daiko-sample with injected defects, checked by daiko-check
//! (with an agency configuration that holds some kinds of defects instead of returning
//! them), routed, then every output opened with daiko-format, checked again by
//! daiko-check as its receiver would, and (when xmllint and ../shared are present)
//! validated against the official XSDs.

use daiko_check::report::{RecordOutcome, Report};
use daiko_check::sink::NullSink;
use daiko_check::{CheckConfig, Date, NoReference, Outcome, check_archive};
use daiko_format::archive::{Archive, ArchiveIssue, ArchiveLimits, EntryRole};
use daiko_format::model::*;
use daiko_format::read;
use daiko_pipeline::route::*;
use daiko_sample::{Period, SampleArchive, SampleConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

const AGENCY: &str = "99000010";
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// The agency's intake configuration: received on the archive's day, and some content
/// defects held for the insurer's confirmation (CI) instead of returned, so that samples
/// give held records too (CHECKS.md decision 2: per-agency outcomes).
fn intake_config(date: Date) -> CheckConfig {
    let mut c = CheckConfig::for_agency(AGENCY).received_on(date);
    for spec in ["H-01=CI", "H-10=CI", "C-15=CI", "M-05=CI", "H-07=CI"] {
        c.set_override(spec).unwrap();
    }
    c
}

fn date_of(archive_name: &str) -> Date {
    archive_name
        .split('_')
        .nth(2)
        .and_then(|d| d.get(0..8))
        .and_then(Date::parse)
        .unwrap()
}

fn created_on(d: Date) -> jiff::civil::DateTime {
    jiff::civil::date(d.year as i16, d.month as i8, d.day as i8).at(10, 0, 0, 0)
}

struct Checked {
    sample: SampleArchive,
    report: Report,
    created: jiff::civil::DateTime,
}

fn generate_and_check(period: Period, seed: u64) -> Vec<Checked> {
    let cfg = SampleConfig {
        archives: 3,
        guidance_archives: 1,
        records: 30,
        seed,
        period,
        defect_rate: 0.3,
        ..Default::default()
    };
    daiko_sample::generate(&cfg)
        .unwrap()
        .into_iter()
        .map(|sample| {
            let date = date_of(&sample.name);
            let report = check_archive(
                &sample.name,
                Cursor::new(&sample.zip),
                &intake_config(date),
                &NoReference,
                &mut NullSink,
            );
            Checked {
                sample,
                report,
                created: created_on(date),
            }
        })
        .collect()
}

fn is_rejected(report: &Report) -> bool {
    report.findings.iter().any(|f| f.outcome == Outcome::AR)
}

/// An output archive read back with daiko-format.
struct Opened {
    index: Index,
    index_generation: Generation,
    summary: Summary,
    summary_generation: Generation,
    /// Path below the top folder → bytes, for DATA and CLAIMS.
    files: BTreeMap<String, Vec<u8>>,
    issues: Vec<ArchiveIssue>,
}

fn open_output(built: &BuiltArchive) -> Opened {
    let mut zip = Archive::open(
        &built.name,
        Cursor::new(&built.zip),
        ArchiveLimits::default(),
    );
    let issues = zip.issues.clone();
    let mut index = None;
    let mut summary = None;
    let mut files = BTreeMap::new();
    for entry in zip.entries.clone() {
        let bytes = zip.read(&entry).unwrap();
        let path = entry
            .path
            .clone()
            .expect("every entry is inside the top folder");
        match entry.role {
            EntryRole::Index => index = Some(document(&bytes)),
            EntryRole::Summary => summary = Some(document(&bytes)),
            EntryRole::Data | EntryRole::Claim => {
                files.insert(path, bytes);
            }
            other => panic!("{}: unexpected entry {path} ({other:?})", built.name),
        }
    }
    let (Document::Index(index), Some(ig)) = index.expect("index present") else {
        panic!("{}: ix08_V08.xml is not an index", built.name)
    };
    let (Document::Summary(summary), Some(sg)) = summary.expect("summary present") else {
        panic!("{}: su08_V08.xml is not a summary", built.name)
    };
    Opened {
        index,
        index_generation: ig,
        summary,
        summary_generation: sg,
        files,
        issues,
    }
}

/// A document and the generation its namespace tells (None for CDA).
fn document(bytes: &[u8]) -> (Document, Option<Generation>) {
    let text = read::decode(bytes).unwrap();
    let doc = read::parse(text, &read::ParseLimits::default()).unwrap();
    let (_, generation) = read::kind_of(&doc).unwrap();
    (read::read_document(bytes).unwrap(), generation)
}

/// The agency adjudication and money of a claim, when it reads.
fn claim_info(bytes: &[u8]) -> Option<(Option<Adjudication>, [u64; 4], Option<Generation>)> {
    let text = read::decode(bytes).ok()?;
    let doc = read::parse(text, &read::ParseLimits::default()).ok()?;
    let (_, generation) = read::kind_of(&doc).ok()?;
    let n = |m: &Money| m.amount().unwrap_or(0);
    match read::read_document(bytes).ok()? {
        Document::CheckupClaim(c) => {
            let s = &c.settlement;
            Some((
                c.agency_adjudication.clone(),
                [
                    n(&s.unit_amount),
                    n(&s.payment_amount),
                    s.payment_by_other_program.as_ref().map_or(0, n),
                    n(&s.claim_amount),
                ],
                generation,
            ))
        }
        Document::GuidanceClaim(c) => {
            let s = &c.settlement;
            Some((
                c.agency_adjudication.clone(),
                [
                    n(&s.calculated_amount),
                    n(&s.payment_amount),
                    0,
                    n(&s.claim_amount),
                ],
                generation,
            ))
        }
        _ => None,
    }
}

/// Reads one entry of a source sample archive by its path below the top folder.
fn source_file(sample: &SampleArchive, path: &str) -> Vec<u8> {
    let mut zip = Archive::open(
        &sample.name,
        Cursor::new(&sample.zip),
        ArchiveLimits::default(),
    );
    let entry = zip
        .entries
        .iter()
        .find(|e| e.path.as_deref() == Some(path))
        .cloned()
        .unwrap();
    zip.read(&entry).unwrap()
}

fn amount(m: &Money) -> u64 {
    m.amount().unwrap()
}

/// Asserts what every output must be: names, index, summary against its own claims,
/// file names, generation.
fn assert_well_formed_output(built: &BuiltArchive, source_generation: Generation, date: &str) {
    let o = open_output(built);
    let name = &built.name;
    // Issues the reader reports: none, except that no XSD folder is shipped (A-07, W: we
    // never copy the schema set; receivers validate with their own copy), and, for 種別2,
    // the 10-digit institution receiver that ArchiveName::parse (written for reception)
    // does not accept.
    for issue in &o.issues {
        match issue {
            ArchiveIssue::NoXsdFolder => {}
            ArchiveIssue::BadName(_) if built.kind == OutputKind::Returned => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    let set = built.service_event_type;
    let counter = name.split('_').nth(2).and_then(|p| p.get(8..9)).unwrap();
    assert_eq!(
        name,
        &format!(
            "{}_{}_{date}{counter}_{set}.zip",
            built.sender, built.receiver
        )
    );
    assert_eq!(built.sender, AGENCY);
    let (interaction, receiver_root) = match built.kind {
        OutputKind::ToInsurer => ("3", oid::INSURER),
        OutputKind::Returned => ("2", oid::INSTITUTION),
        OutputKind::Confirmation => ("11", oid::INSURER),
    };
    let ix = &o.index;
    assert_eq!(ix.interaction_type, interaction, "{name}");
    assert_eq!(ix.creation_time, date, "{name}");
    assert_eq!(ix.sender, Id::new(oid::AGENCY, AGENCY), "{name}");
    assert_eq!(
        ix.receiver,
        Some(Id::new(receiver_root, &built.receiver)),
        "{name}"
    );
    assert_eq!(ix.service_event_type, set.to_string());
    assert_eq!(
        o.index_generation, source_generation,
        "{name}: index generation"
    );
    assert_eq!(
        o.summary_generation, source_generation,
        "{name}: summary generation"
    );
    assert_eq!(built.generation, source_generation);

    let data: Vec<&String> = o.files.keys().filter(|p| p.starts_with("DATA/")).collect();
    let claims: Vec<&String> = o
        .files
        .keys()
        .filter(|p| p.starts_with("CLAIMS/"))
        .collect();
    assert_eq!(
        ix.total_record_count,
        (data.len() + claims.len()).to_string(),
        "{name}: totalRecordCount"
    );
    assert_eq!(built.records, built.placed.len());
    assert_eq!(
        data.len(),
        built
            .placed
            .iter()
            .filter(|p| !p.data_file.is_empty())
            .count()
    );
    assert_eq!(o.summary.service_event_type, set.to_string());
    assert_eq!(
        o.summary.total_subject_count,
        claims.len().to_string(),
        "{name}: totalSubjectCount"
    );
    // Totals: the sums of the claims in the archive, read independently.
    let mut sums = [0u64; 4];
    for p in &claims {
        if let Some((_, m, generation)) = claim_info(&o.files[*p]) {
            for (s, v) in sums.iter_mut().zip(m) {
                *s += v;
            }
            if built.kind == OutputKind::ToInsurer {
                assert_eq!(generation, Some(source_generation), "{name}: {p}");
            }
        }
    }
    let s = &o.summary;
    assert_eq!(
        amount(&s.total_cost_amount),
        sums[0],
        "{name}: totalCostAmount"
    );
    assert_eq!(
        amount(&s.total_payment_amount),
        sums[1],
        "{name}: totalPaymentAmount"
    );
    assert_eq!(
        s.total_payment_by_other_program.as_ref().map_or(0, amount),
        sums[2],
        "{name}: totalPaymentByOtherProgram"
    );
    assert_eq!(
        amount(&s.total_claim_amount),
        sums[3],
        "{name}: totalClaimAmount"
    );
    assert_eq!(
        [
            built.totals.cost,
            built.totals.copayment,
            built.totals.other_program,
            built.totals.claim
        ],
        sums
    );
    // File names: prefix + the record's institution (its source archive's sender) + date
    // + n + 実施区分 + serial, and each data file pairs with its claim on the suffix.
    for placed in &built.placed {
        let institution = placed.source_archive.split('_').next().unwrap();
        let stem_head = format!("{institution}{date}{counter}{set}");
        for p in [&placed.data_file, &placed.claim_file] {
            if p.is_empty() {
                continue;
            }
            let base = p.rsplit('/').next().unwrap();
            let digits = base.get(1..base.len() - 4).unwrap();
            assert!(
                digits.len() == 26 && digits.starts_with(&stem_head),
                "{name}: {p}"
            );
        }
        if !placed.data_file.is_empty() && !placed.claim_file.is_empty() {
            assert_eq!(
                placed.data_file[6..],
                placed.claim_file[8..],
                "{name}: pair suffixes"
            );
        }
    }
}

/// Checks an output as its receiver would and asserts that it passes the structural
/// stages (A, X, I, S, P), except for findings the routed records already had at intake.
fn assert_passes_structural_checks(
    built: &BuiltArchive,
    inherited: &BTreeMap<String, BTreeSet<&'static str>>,
    date: Date,
) -> Report {
    let mut config = CheckConfig::for_agency(built.receiver.clone()).received_on(date);
    // I-01 judges what an agency may *receive* (種別1 from institutions, 4/5 from insurers);
    // a 種別3/2/11 archive made by the agency fails it by design. Made a warning so the
    // records are still checked; its value is asserted below.
    config.set_override("I-01=W").unwrap();
    // ArchiveName::parse accepts only 8-digit receivers (the reception grammar), so the
    // 種別2 name with its 10-digit institution receiver gets A-02 (see the module notes).
    if built.kind == OutputKind::Returned {
        config.set_override("A-02=W").unwrap();
    }
    let report = check_archive(
        &built.name,
        Cursor::new(&built.zip),
        &config,
        &NoReference,
        &mut NullSink,
    );
    let mut unexpected = Vec::new();
    for f in &report.findings {
        let structural = matches!(
            f.code.as_bytes().first(),
            Some(b'A' | b'X' | b'I' | b'S' | b'P')
        );
        if !structural {
            continue;
        }
        match f.code {
            // No XSD folder is shipped (we never copy the schema set).
            "A-07" => continue,
            "I-01" => {
                assert_eq!(f.value, built.kind.interaction_type(), "{}", built.name);
                continue;
            }
            "A-02" if built.kind == OutputKind::Returned => continue,
            // The receipt note (S-08) says that the receiver's check did not accept every
            // record: returned and held records carry the defects they were routed for.
            "S-08" if built.kind != OutputKind::ToInsurer => continue,
            _ => {}
        }
        if inherited
            .get(&f.file)
            .is_some_and(|codes| codes.contains(f.code))
        {
            continue;
        }
        unexpected.push(format!(
            "{} {} {} {}",
            f.code, f.file, f.value, f.message_en
        ));
    }
    if std::env::var_os("ROUTE_DEBUG").is_some() {
        for f in &report.findings {
            eprintln!(
                "DEBUG {} {} {:?} {} {}",
                built.name, f.code, f.outcome, f.file, f.message_en
            );
        }
    }
    assert!(
        unexpected.is_empty(),
        "{}: structural findings not present at intake:\n{}",
        built.name,
        unexpected.join("\n")
    );
    report
}

/// Codes the intake check reported at each record's files, keyed by the record's new
/// paths in `built` (both files of a pair share them: P-04 may sit on either).
fn inherited_codes(
    built: &BuiltArchive,
    source: &Report,
) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut out: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for p in &built.placed {
        let codes: BTreeSet<&'static str> = source
            .findings
            .iter()
            .filter(|f| {
                !f.file.is_empty()
                    && (f.file == p.source_data_file || f.file == p.source_claim_file)
            })
            .map(|f| f.code)
            .collect();
        for path in [&p.data_file, &p.claim_file] {
            if !path.is_empty() {
                out.entry(path.clone())
                    .or_default()
                    .extend(codes.iter().copied());
            }
        }
    }
    out
}

type Key = (String, String); // (insurer, voucher)

fn run_period(period: Period, generation: Generation, seed: u64) {
    let checked = generate_and_check(period, seed);
    let mut totals_by_kind: BTreeMap<OutputKind, usize> = BTreeMap::new();
    let mut routed_archives = 0;
    for c in &checked {
        let name = &c.sample.name;
        if is_rejected(&c.report) {
            let err = route_checked(&c.sample.zip, &c.report, AGENCY, c.created, 0).unwrap_err();
            assert!(matches!(err, RouteError::Rejected(_)), "{name}: {err}");
            continue;
        }
        routed_archives += 1;
        let date = date_of(name);
        let ymd = date.compact();
        let outputs = route_checked(&c.sample.zip, &c.report, AGENCY, c.created, 0).unwrap();
        let institution = name.split('_').next().unwrap();

        // Outcomes at intake, by source record.
        let by_source: BTreeMap<(&str, &str), &daiko_check::report::RecordReport> = c
            .report
            .records
            .iter()
            .map(|r| ((r.data_file.as_str(), r.claim_file.as_str()), r))
            .collect();
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut accepted_keys: Vec<Key> = Vec::new();
        let mut names = BTreeSet::new();
        for built in &outputs {
            assert!(names.insert(built.name.clone()), "archive names are unique");
            *totals_by_kind.entry(built.kind).or_default() += built.records;
            assert_well_formed_output(built, generation, &ymd);
            let inherited = inherited_codes(built, &c.report);
            let recheck = assert_passes_structural_checks(built, &inherited, date);
            let opened = open_output(built);
            if built.kind == OutputKind::ToInsurer {
                // Accepted records stay accepted when the insurer checks them.
                assert_eq!(recheck.counts.accepted, built.records, "{}", built.name);
            }
            for p in &built.placed {
                assert_eq!(p.source_archive, *name);
                seen.push((p.source_data_file.clone(), p.source_claim_file.clone()));
                let record =
                    by_source[&(p.source_data_file.as_str(), p.source_claim_file.as_str())];
                // Data files are copied byte for byte.
                if !p.data_file.is_empty() {
                    assert_eq!(
                        opened.files[&p.data_file],
                        source_file(&c.sample, &p.source_data_file),
                        "{}: {}",
                        built.name,
                        p.data_file
                    );
                }
                let claim = (!p.claim_file.is_empty()).then(|| &opened.files[&p.claim_file]);
                let info = claim.and_then(|b| claim_info(b));
                match built.kind {
                    OutputKind::ToInsurer => {
                        assert_eq!(record.outcome, RecordOutcome::Accepted);
                        assert_eq!(built.receiver, format!("{:0>8}", record.insurer));
                        // Accepted claims reach the insurer with the agency's adjudication
                        // (種別3, no reason code) and otherwise as the institution sent them.
                        let claim = claim.expect("accepted records have a claim");
                        let source = source_file(&c.sample, &p.source_claim_file);
                        let expected = with_adjudication(
                            &source,
                            &Adjudication {
                                interaction_type: "3".to_owned(),
                                record_date: ymd.clone(),
                                reason_code: String::new(),
                                reason_text: Some(ACCEPTED_NOTE.to_owned()),
                            },
                        )
                        .expect("accepted claims are readable");
                        assert_eq!(*claim, expected);
                        assert!(p.adjudicated);
                        let (adj, _, _) = info.expect("accepted claims are readable");
                        let adj = adj.expect("an accepted claim carries the agency's adjudication");
                        assert_eq!(adj.interaction_type, "3");
                        assert_eq!(adj.reason_code, "");
                        accepted_keys.push((p.insurer.clone(), p.voucher.clone()));
                        assert_eq!((&p.insurer, &p.voucher), (&record.insurer, &record.voucher));
                    }
                    OutputKind::Confirmation => {
                        assert_eq!(record.outcome, RecordOutcome::Held);
                        assert_eq!(built.receiver, format!("{:0>8}", record.insurer));
                        let (adj, _, _) = info.expect("held claims are readable");
                        let adj = adj.expect("a held claim carries the agency's request");
                        assert_eq!(adj.interaction_type, "11");
                        assert_eq!(adj.record_date, ymd);
                        assert!(adj.reason_text.is_some_and(|t| t.chars().count() <= 100));
                    }
                    OutputKind::Returned => {
                        assert_eq!(record.outcome, RecordOutcome::Returned);
                        assert_eq!(built.receiver, institution);
                        let expected = record.return_reason.map_or("09", |r| r.code());
                        match info {
                            Some((adj, _, _)) => {
                                let adj = adj.expect("a returned claim carries the reason");
                                assert_eq!(adj.interaction_type, "2");
                                assert_eq!(adj.record_date, ymd);
                                assert_eq!(adj.reason_code, expected, "{}", p.claim_file);
                                assert!(p.adjudicated);
                            }
                            // Only a claim that is not well-formed is carried unchanged.
                            None => {
                                if let Some(claim) = claim {
                                    assert!(!p.adjudicated);
                                    assert_eq!(
                                        *claim,
                                        source_file(&c.sample, &p.source_claim_file)
                                    );
                                    assert!(
                                        with_adjudication(claim, &Adjudication::default())
                                            .is_none()
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        // Every record exactly once, in the output its outcome calls for.
        let mut all: Vec<(String, String)> = c
            .report
            .records
            .iter()
            .map(|r| (r.data_file.clone(), r.claim_file.clone()))
            .collect();
        all.sort();
        seen.sort();
        assert_eq!(seen, all, "{name}: every record routed exactly once");
        let mut expected_keys: Vec<Key> = c
            .report
            .records
            .iter()
            .filter(|r| r.outcome == RecordOutcome::Accepted)
            .map(|r| (r.insurer.clone(), r.voucher.clone()))
            .collect();
        expected_keys.sort();
        accepted_keys.sort();
        assert_eq!(accepted_keys, expected_keys, "{name}: 種別3 = accepted");
        // One 種別3 and at most one 種別11 per insurer; 2 and 11 numbered after 3.
        let insurers: BTreeSet<&str> = c
            .report
            .records
            .iter()
            .filter(|r| r.outcome == RecordOutcome::Accepted)
            .map(|r| r.insurer.as_str())
            .collect();
        assert_eq!(
            outputs
                .iter()
                .filter(|b| b.kind == OutputKind::ToInsurer)
                .count(),
            insurers.len()
        );
        for b in outputs
            .iter()
            .filter(|b| b.kind == OutputKind::Confirmation)
        {
            let n = if insurers.contains(b.receiver.as_str()) {
                '1'
            } else {
                '0'
            };
            assert_eq!(b.name.chars().nth(b.name.len() - 7), Some(n), "{}", b.name);
        }
    }
    assert!(routed_archives >= 2, "samples give routable archives");
    for kind in [
        OutputKind::ToInsurer,
        OutputKind::Returned,
        OutputKind::Confirmation,
    ] {
        assert!(
            totals_by_kind.get(&kind).copied().unwrap_or(0) > 0,
            "{}: the samples give {kind:?} records",
            generation.as_str()
        );
    }
}

#[test]
fn routes_every_record_into_valid_archives_2024() {
    run_period(Period::Fy2024, Generation::G2024, 5);
}

/// A 2018-generation source (FY2023 services) routes into 2018-generation outputs: index,
/// summary and claims in `http://tokuteikenshin.jp/checkup/2007`.
#[test]
fn fy2023_samples_route_into_2018_generation_outputs() {
    run_period(Period::Fy2023, Generation::G2018, 5);
}

/// Records of two source archives whose files have the same names (same institution,
/// same day) are combined into one archive without clashes, and it still checks clean.
#[test]
fn combining_two_sources_gives_unique_names() {
    let make = |seed| {
        let cfg = SampleConfig {
            archives: 1,
            records: 8,
            seed,
            period: Period::Fy2024,
            sender: Some("9914265534".into()),
            insurers: vec![daiko_sample::people::default_insurers()[0].clone()],
            ..Default::default()
        };
        daiko_sample::generate(&cfg).unwrap().remove(0)
    };
    let a = make(21);
    let b = make(22);
    assert_eq!(a.name, b.name, "both sources use the same names");
    let mut records = Vec::new();
    for s in [&a, &b] {
        let pairs: Vec<(String, String)> = s
            .manifest
            .records
            .iter()
            .map(|r| (r.data_file.clone(), r.claim_file.clone()))
            .collect();
        for files in extract_records(&s.name, Cursor::new(&s.zip), &pairs).unwrap() {
            records.push(OutputRecord {
                files,
                return_reason: None,
                note: None,
            });
        }
    }
    let insurer = a.manifest.records[0].insurer.clone();
    let date = date_of(&a.name);
    let built = build_archive(
        OutputKind::ToInsurer,
        AGENCY,
        &insurer,
        &records,
        created_on(date),
        3,
    )
    .unwrap();
    assert_eq!(built.records, 16);
    let names: BTreeSet<&String> = built
        .placed
        .iter()
        .flat_map(|p| [&p.data_file, &p.claim_file])
        .collect();
    assert_eq!(names.len(), 32, "32 distinct file names");
    assert!(built.name.ends_with(&format!("{}3_1.zip", date.compact())));
    let opened = open_output(&built);
    // Both sources' contents are there, each once.
    let contents: BTreeSet<&Vec<u8>> = opened.files.values().collect();
    assert_eq!(contents.len(), 32);
    let accepted = Adjudication {
        interaction_type: "3".to_owned(),
        record_date: date.compact(),
        reason_code: String::new(),
        reason_text: Some(ACCEPTED_NOTE.to_owned()),
    };
    for r in &records {
        let claim = with_adjudication(&r.files.claim, &accepted).expect("claims are readable");
        assert!(contents.contains(&r.files.data) && contents.contains(&claim));
    }
    assert_well_formed_output(&built, Generation::G2024, &date.compact());
    let report = assert_passes_structural_checks(&built, &BTreeMap::new(), date);
    assert_eq!(report.counts.accepted, 16);
}

#[test]
fn build_refuses_what_cannot_share_an_archive() {
    let source = |period, guidance: usize| {
        let cfg = SampleConfig {
            archives: 1 - guidance,
            guidance_archives: guidance,
            records: 2,
            period,
            ..Default::default()
        };
        let s = daiko_sample::generate(&cfg).unwrap().remove(0);
        let pairs: Vec<(String, String)> = s
            .manifest
            .records
            .iter()
            .map(|r| (r.data_file.clone(), r.claim_file.clone()))
            .collect();
        extract_records(&s.name, Cursor::new(&s.zip), &pairs)
            .unwrap()
            .into_iter()
            .map(|files| OutputRecord {
                files,
                return_reason: Some("05".into()),
                note: None,
            })
            .collect::<Vec<_>>()
    };
    let created = jiff::civil::date(2024, 6, 3).at(9, 0, 0, 0);
    let g2024 = source(Period::Fy2024, 0);
    let g2018 = source(Period::Fy2023, 0);
    let guidance = source(Period::Fy2024, 1);
    let build = |kind, receiver: &str, records: &[OutputRecord], seq| {
        build_archive(kind, AGENCY, receiver, records, created, seq)
    };
    let mixed: Vec<OutputRecord> = g2024.iter().chain(&g2018).cloned().collect();
    assert!(matches!(
        build(OutputKind::ToInsurer, "06990201", &mixed, 0),
        Err(RouteError::MixedGenerations(..))
    ));
    let mixed: Vec<OutputRecord> = g2024.iter().chain(&guidance).cloned().collect();
    assert!(matches!(
        build(OutputKind::ToInsurer, "06990201", &mixed, 0),
        Err(RouteError::MixedServiceEventTypes(1, 2))
    ));
    assert!(matches!(
        build(OutputKind::ToInsurer, "06990201", &g2024, 10),
        Err(RouteError::Counter { sequence: 10 })
    ));
    assert!(matches!(
        build(OutputKind::ToInsurer, "06990201", &[], 0),
        Err(RouteError::NoRecords)
    ));
    // An institution receives 種別2 only; an insurer number is 8 digits.
    assert!(matches!(
        build(OutputKind::Returned, "06990201", &g2024, 0),
        Err(RouteError::Number { .. })
    ));
    assert!(matches!(
        build(OutputKind::ToInsurer, "9914265534", &g2024, 0),
        Err(RouteError::Number { .. })
    ));
    assert!(matches!(
        build_archive(
            OutputKind::ToInsurer,
            "9900001",
            "06990201",
            &g2024,
            created,
            0
        ),
        Err(RouteError::Number { .. })
    ));
    let mut bad_reason = g2024.clone();
    bad_reason[0].return_reason = Some("10".into());
    assert!(matches!(
        build(OutputKind::Returned, "9914265534", &bad_reason, 0),
        Err(RouteError::Reason(_))
    ));
    // A guidance archive keeps 実施区分 2 and the guidance file prefixes of its source.
    let built = build(OutputKind::Returned, "9914265534", &guidance, 0).unwrap();
    assert!(built.name.ends_with("_2.zip"));
    for (p, r) in built.placed.iter().zip(&guidance) {
        let prefix = |path: &str| path.rsplit('/').next().unwrap().chars().next();
        assert_eq!(prefix(&p.data_file), prefix(&r.files.data_file));
        assert_eq!(prefix(&p.claim_file), prefix(&r.files.claim_file));
    }
}

#[test]
fn route_checked_refuses_a_report_about_other_bytes() {
    let checked = generate_and_check(Period::Fy2024, 9);
    let c = checked.iter().find(|c| !is_rejected(&c.report)).unwrap();
    let mut other = c.sample.zip.clone();
    other.extend_from_slice(b" ");
    let err = route_checked(&other, &c.report, AGENCY, c.created, 0).unwrap_err();
    assert!(matches!(err, RouteError::ReportMismatch { .. }), "{err}");
    assert!(matches!(
        route_checked(&c.sample.zip, &c.report, "123", c.created, 0),
        Err(RouteError::Number { .. })
    ));
}

/// The adjudication goes where the schema puts it (before insurerAdjudicationResult,
/// replacing an earlier one), in the root's namespace prefix, with escaped text cut to 100
/// characters; everything else in the claim is kept.
#[test]
fn adjudication_is_written_in_schema_order_and_namespace() {
    let cfg = SampleConfig {
        records: 1,
        period: Period::Fy2024,
        ..Default::default()
    };
    let s = daiko_sample::generate(&cfg).unwrap().remove(0);
    let claim_path = &s.manifest.records[0].claim_file;
    let original = source_file(&s, claim_path);
    let adj = Adjudication {
        interaction_type: "2".into(),
        record_date: "20240603".into(),
        reason_code: "07".into(),
        reason_text: Some("窓口負担 <&> ".repeat(20)),
    };
    let cut = |a: &Adjudication| Adjudication {
        reason_text: a
            .reason_text
            .as_ref()
            .map(|t| t.chars().take(100).collect()),
        ..a.clone()
    };
    // Plain: appended as the last child.
    let once = with_adjudication(&original, &cut(&adj)).unwrap();
    let Document::CheckupClaim(c) = read::read_document(&once).unwrap() else {
        panic!("a checkup claim")
    };
    assert_eq!(c.agency_adjudication, Some(cut(&adj)));
    let Document::CheckupClaim(before) = read::read_document(&original).unwrap() else {
        panic!("a checkup claim")
    };
    assert_eq!(
        CheckupClaim {
            agency_adjudication: None,
            ..(*c).clone()
        },
        *before
    );
    // Again: replaced, not duplicated.
    let adj2 = Adjudication {
        reason_code: "01".into(),
        reason_text: None,
        ..adj.clone()
    };
    let twice = with_adjudication(&once, &adj2).unwrap();
    let text = String::from_utf8(twice.clone()).unwrap();
    assert_eq!(text.matches("<agencyAdjudicationResult>").count(), 1);
    let Document::CheckupClaim(c) = read::read_document(&twice).unwrap() else {
        panic!()
    };
    assert_eq!(c.agency_adjudication, Some(adj2.clone()));
    // With an insurer result present: inserted before it.
    let mut with_insurer = (*before).clone();
    with_insurer.insurer_adjudication = Some(Adjudication {
        interaction_type: "4".into(),
        record_date: "20240701".into(),
        reason_code: "03".into(),
        reason_text: None,
    });
    let written = daiko_format::write::write_checkup_claim(&with_insurer, Generation::G2024);
    let out = with_adjudication(written.as_bytes(), &adj2).unwrap();
    let Document::CheckupClaim(c) = read::read_document(&out).unwrap() else {
        panic!()
    };
    assert_eq!(c.agency_adjudication, Some(adj2.clone()));
    assert_eq!(c.insurer_adjudication, with_insurer.insurer_adjudication);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.find("<agencyAdjudicationResult>") < text.find("<insurerAdjudicationResult>"));
    // A prefixed root namespace: the new elements take the same prefix.
    let prefixed = String::from_utf8(original.clone()).unwrap().replacen(
        &format!("xmlns=\"{NS_MHLW_2024}\""),
        &format!("xmlns:k=\"{NS_MHLW_2024}\""),
        1,
    );
    let prefixed = prefix_elements(&prefixed, "k");
    let Document::CheckupClaim(p) = read::read_document(prefixed.as_bytes()).unwrap() else {
        panic!("the prefixed claim reads")
    };
    assert_eq!(*p, *before);
    let out = with_adjudication(prefixed.as_bytes(), &adj2).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains("<k:agencyAdjudicationResult>"), "{text}");
    let Document::CheckupClaim(c) = read::read_document(&out).unwrap() else {
        panic!()
    };
    assert_eq!(c.agency_adjudication, Some(adj2));
    // Not a claim, or not XML: nothing to write into.
    assert!(with_adjudication(b"<a", &adj).is_none());
    let data = source_file(&s, &s.manifest.records[0].data_file);
    assert!(with_adjudication(&data, &adj).is_none());
    // Each variant is valid against the official schema.
    let files = vec![
        ("once".to_string(), once),
        ("twice".to_string(), twice),
        ("prefixed".to_string(), out),
    ];
    xsd_validate(Generation::G2024, "cc08_V08.xsd", &files);
}

/// Puts `prefix:` on every element tag of a document written without prefixes.
fn prefix_elements(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if after.starts_with('?') || after.starts_with('!') {
            out.push('<');
        } else if let Some(name) = after.strip_prefix('/') {
            out.push_str("</");
            out.push_str(prefix);
            out.push(':');
            rest = name;
            continue;
        } else {
            out.push('<');
            out.push_str(prefix);
            out.push(':');
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn xsd_dir(generation: Generation) -> Option<PathBuf> {
    let dir = Path::new(SHARED)
        .join("reference/xsd")
        .join(generation.as_str());
    if !dir.is_dir() {
        eprintln!("skipped XSD validation: {} is absent", dir.display());
        return None;
    }
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("skipped XSD validation: xmllint is not installed");
        return None;
    }
    Some(dir)
}

/// Validates files against one official schema with xmllint (skips with a message when
/// xmllint or the schemas are absent).
fn xsd_validate(generation: Generation, schema: &str, files: &[(String, Vec<u8>)]) {
    let Some(xsd) = xsd_dir(generation) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, (label, bytes)) in files.iter().enumerate() {
        let p = tmp
            .path()
            .join(format!("{i:03}-{}.xml", label.replace('/', "_")));
        std::fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd.join(schema))
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} files fail {schema}:\n{}",
        generation.as_str(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One output of each kind, in both generations, validates against the official XSDs:
/// index, summary, every claim and every data file of records accepted at intake.
#[test]
fn outputs_validate_against_the_official_schemas() {
    for (period, generation) in [
        (Period::Fy2024, Generation::G2024),
        (Period::Fy2023, Generation::G2018),
    ] {
        let checked = generate_and_check(period, 5);
        let mut done: BTreeSet<OutputKind> = BTreeSet::new();
        for c in checked.iter().filter(|c| !is_rejected(&c.report)) {
            let outputs = route_checked(&c.sample.zip, &c.report, AGENCY, c.created, 0).unwrap();
            for built in outputs {
                if !done.insert(built.kind) {
                    continue;
                }
                let o = open_output(&built);
                let mut zip = Archive::open(
                    &built.name,
                    Cursor::new(&built.zip),
                    ArchiveLimits::default(),
                );
                let mut by_schema: BTreeMap<&str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
                for e in zip.entries.clone() {
                    let path = e.path.clone().unwrap();
                    let bytes = zip.read(&e).unwrap();
                    let schema = match e.role {
                        EntryRole::Index => "ix08_V08.xsd",
                        EntryRole::Summary => "su08_V08.xsd",
                        EntryRole::Claim | EntryRole::Data => {
                            // Only records whose intake had no schema finding: returned
                            // records may carry the schema defect they were returned for.
                            let placed = built
                                .placed
                                .iter()
                                .find(|p| p.data_file == path || p.claim_file == path)
                                .unwrap();
                            let had_schema_issue = c.report.findings.iter().any(|f| {
                                f.code.starts_with('X')
                                    && (f.file == placed.source_data_file
                                        || f.file == placed.source_claim_file)
                            });
                            if had_schema_issue {
                                continue;
                            }
                            let (kind, _) = {
                                let text = read::decode(&bytes).unwrap();
                                let doc = read::parse(text, &read::ParseLimits::default()).unwrap();
                                read::kind_of(&doc).unwrap()
                            };
                            kind.schema_name()
                        }
                        _ => continue,
                    };
                    by_schema.entry(schema).or_default().push((path, bytes));
                }
                assert!(
                    by_schema.contains_key("ix08_V08.xsd")
                        && by_schema.contains_key("su08_V08.xsd")
                );
                for (schema, files) in &by_schema {
                    xsd_validate(generation, schema, files);
                }
                assert!(!o.files.is_empty());
            }
        }
        assert_eq!(
            done.len(),
            3,
            "{}: one output of each kind",
            generation.as_str()
        );
    }
}
