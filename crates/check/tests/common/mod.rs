//! Test fixtures: a valid baseline archive as typed documents, which each test mutates,
//! writes back with `daiko_format::write` + `ArchiveWriter`, and checks.
//!
//! The checkup baseline comes from `daiko_sample` (deterministic, no defects), so the
//! tests run anywhere; the guidance baseline is the shared example archive (tests using it
//! skip with a message when ../shared is absent).

#![allow(dead_code)]

use daiko_check::reference::{Contract, PriorRecord, ReferenceData, VoucherRecord};
use daiko_check::report::Report;
use daiko_check::sink::NullSink;
use daiko_check::{CheckConfig, Date, Finding, NoReference, Outcome, Severity, check_archive};
use daiko_format::archive::{Archive, ArchiveLimits, ArchiveName, ArchiveWriter, EntryRole};
use daiko_format::model::*;
use daiko_format::write;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::PathBuf;

/// The agency of the examples and samples.
pub const AGENCY: &str = "99000010";

/// A claim of either kind.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // test fixtures, a handful per test
pub enum Claim {
    Checkup(CheckupClaim),
    Guidance(GuidanceClaim),
}

impl Claim {
    pub fn checkup(&mut self) -> &mut CheckupClaim {
        match self {
            Claim::Checkup(c) => c,
            Claim::Guidance(_) => panic!("not a checkup claim"),
        }
    }
    pub fn guidance(&mut self) -> &mut GuidanceClaim {
        match self {
            Claim::Guidance(c) => c,
            Claim::Checkup(_) => panic!("not a guidance claim"),
        }
    }
    pub fn subject(&mut self) -> &mut SubjectPerson {
        match self {
            Claim::Checkup(c) => &mut c.subject,
            Claim::Guidance(c) => &mut c.subject,
        }
    }
}

/// One data/claim pair.
#[derive(Debug, Clone)]
pub struct Rec {
    pub data_path: String,
    pub doc: ClinicalDocument,
    pub claim_path: String,
    pub claim: Option<Claim>,
}

/// An archive as documents.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: ArchiveName,
    /// Top folder written into the ZIP (normally `name.base()`).
    pub top: ArchiveName,
    pub generation: Generation,
    pub index: Option<Index>,
    pub summary: Option<Summary>,
    pub records: Vec<Rec>,
    /// Files written as-is (path below the top folder → bytes), after the documents.
    pub extra: Vec<(String, Vec<u8>)>,
    /// Text replacements applied to a written file (path, from, to).
    pub patches: Vec<(String, String, String)>,
    /// Keep the summary's totals in line with the claims when writing.
    pub recompute_summary: bool,
    /// Keep the index's totalRecordCount in line when writing.
    pub recompute_count: bool,
}

fn read_zip(name: &str, zip: &[u8]) -> Fixture {
    let mut archive = Archive::open(name, Cursor::new(zip.to_vec()), ArchiveLimits::default());
    let parsed = archive.parsed_name.clone().expect("baseline name parses");
    let entries = archive.entries.clone();
    let mut index = None;
    let mut summary = None;
    let mut generation = Generation::G2018;
    let mut data: Vec<(String, ClinicalDocument)> = Vec::new();
    let mut claims: BTreeMap<String, (String, Claim)> = BTreeMap::new();
    for e in &entries {
        let bytes = archive.read(e).expect("baseline entry reads");
        let path = e.path.clone().unwrap_or_default();
        match e.role {
            EntryRole::Index => {
                let text = daiko_format::read::decode(&bytes).unwrap();
                let doc = daiko_format::read::parse(text, &Default::default()).unwrap();
                generation = daiko_format::read::kind_of(&doc).unwrap().1.unwrap();
                index = Some(daiko_format::read::read_index(&doc).unwrap());
            }
            EntryRole::Summary => match daiko_format::read::read_document(&bytes).unwrap() {
                Document::Summary(s) => summary = Some(s),
                _ => panic!("summary"),
            },
            EntryRole::Data => match daiko_format::read::read_document(&bytes).unwrap() {
                Document::Cda(d) => data.push((path, *d)),
                _ => panic!("data"),
            },
            EntryRole::Claim => {
                let c = match daiko_format::read::read_document(&bytes).unwrap() {
                    Document::CheckupClaim(c) => Claim::Checkup(*c),
                    Document::GuidanceClaim(c) => Claim::Guidance(*c),
                    _ => panic!("claim"),
                };
                let key = path
                    .trim_start_matches("CLAIMS/")
                    .get(1..)
                    .unwrap_or("")
                    .to_string();
                claims.insert(key, (path, c));
            }
            _ => {}
        }
    }
    let records = data
        .into_iter()
        .map(|(data_path, doc)| {
            let key = data_path
                .trim_start_matches("DATA/")
                .get(1..)
                .unwrap_or("")
                .to_string();
            let (claim_path, claim) = claims.remove(&key).expect("paired claim");
            Rec {
                data_path,
                doc,
                claim_path,
                claim: Some(claim),
            }
        })
        .collect();
    Fixture {
        top: parsed.clone(),
        name: parsed,
        generation,
        index,
        summary,
        records,
        // The official XSD set of the generation, so that A-07 stays quiet (none when
        // ../shared is absent: see `problems`).
        extra: official_xsd(generation).unwrap_or_default(),
        patches: Vec::new(),
        recompute_summary: false,
        recompute_count: false,
    }
}

/// A valid checkup archive of `n` records (2018 generation, FY2023 services).
pub fn checkup(n: usize) -> Fixture {
    sample(n, daiko_sample::Period::Fy2023)
}

/// A valid checkup archive of the 2024 generation (FY2024 services).
pub fn checkup_2024(n: usize) -> Fixture {
    sample(n, daiko_sample::Period::Fy2024)
}

/// A sample archive cut down to `n` records that the checks accept without a return
/// (records on which daiko and the sample generator disagree are left out, so that each
/// test sees only the defect it makes), with index and summary in line.
fn sample(n: usize, period: daiko_sample::Period) -> Fixture {
    let cfg = daiko_sample::SampleConfig {
        records: n + 8,
        period,
        ..Default::default()
    };
    let a = daiko_sample::generate(&cfg)
        .expect("sample generates")
        .remove(0);
    let mut f = read_zip(&a.name, &a.zip);
    f.recompute_count = true;
    let report = f.check();
    let bad: BTreeSet<&str> = report
        .findings
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| x.file.as_str())
        .collect();
    let bad: BTreeSet<String> = bad.into_iter().map(String::from).collect();
    f.records
        .retain(|r| !bad.contains(&r.data_path) && !bad.contains(&r.claim_path));
    f.records.truncate(n);
    assert_eq!(
        f.records.len(),
        n,
        "not enough clean sample records:\n{}",
        dump(&report)
    );
    f.resum();
    f
}

/// The shared example archives, when ../shared is present.
pub fn example(kind: &str) -> Option<Fixture> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/examples"
    ));
    let name = match kind {
        "checkup" => "9910000018_99000010_202306200_1.zip",
        _ => "9910000018_99000010_202308100_2.zip",
    };
    let path = dir.join(kind).join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(read_zip(name, &bytes)),
        Err(_) => {
            eprintln!(
                "skipping: {} is absent (../shared not available)",
                path.display()
            );
            None
        }
    }
}

impl Fixture {
    pub fn rec(&mut self, i: usize) -> &mut Rec {
        &mut self.records[i]
    }
    pub fn claim(&mut self, i: usize) -> &mut CheckupClaim {
        self.records[i].claim.as_mut().unwrap().checkup()
    }
    pub fn doc(&mut self, i: usize) -> &mut ClinicalDocument {
        &mut self.records[i].doc
    }
    pub fn index(&mut self) -> &mut Index {
        self.index.as_mut().unwrap()
    }
    pub fn summary(&mut self) -> &mut Summary {
        self.summary.as_mut().unwrap()
    }
    pub fn patch(&mut self, path: &str, from: &str, to: &str) {
        self.patches.push((path.into(), from.into(), to.into()));
    }

    /// The file name of the archive.
    pub fn file_name(&self) -> String {
        format!("{}.zip", self.name.base())
    }

    /// The reception date that makes the baseline on time: the archive's date.
    pub fn reception(&self) -> Date {
        Date::parse(&self.name.date).unwrap()
    }

    /// The documents as (path, bytes), in archive order.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, String)> = Vec::new();
        if let Some(ix) = &self.index {
            let mut ix = ix.clone();
            if self.recompute_count {
                let n = self
                    .records
                    .iter()
                    .map(|r| 1 + usize::from(r.claim.is_some()))
                    .sum::<usize>();
                ix.total_record_count = n.to_string();
            }
            files.push((
                "ix08_V08.xml".into(),
                write::write_index(&ix, self.generation),
            ));
        }
        if let Some(s) = &self.summary {
            files.push((
                "su08_V08.xml".into(),
                write::write_summary(s, self.generation),
            ));
        }
        for r in &self.records {
            files.push((r.data_path.clone(), write::write_cda(&r.doc)));
        }
        for r in &self.records {
            if let Some(c) = &r.claim {
                let text = match c {
                    Claim::Checkup(c) => write::write_checkup_claim(c, self.generation),
                    Claim::Guidance(c) => write::write_guidance_claim(c, self.generation),
                };
                files.push((r.claim_path.clone(), text));
            }
        }
        let mut out: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|(p, mut text)| {
                for (path, from, to) in &self.patches {
                    if *path == p {
                        assert!(
                            text.contains(from.as_str()),
                            "patch target {from:?} not in {p}"
                        );
                        text = text.replacen(from.as_str(), to, 1);
                    }
                }
                (p, text.into_bytes())
            })
            .collect();
        out.extend(self.extra.iter().cloned());
        out
    }

    /// The ZIP bytes.
    pub fn zip(&self) -> Vec<u8> {
        let mut w = ArchiveWriter::new(&self.top);
        for (p, b) in self.files() {
            w.add(p, b);
        }
        w.finish().expect("archive writes")
    }

    /// Checks with agency 99000010, reception on the archive date, no reference data.
    pub fn check(&self) -> Report {
        self.check_with(&self.config(), &NoReference)
    }

    pub fn config(&self) -> CheckConfig {
        CheckConfig::for_agency(AGENCY).received_on(self.reception())
    }

    pub fn check_with(&self, config: &CheckConfig, reference: &dyn ReferenceData) -> Report {
        check_archive(
            &self.file_name(),
            Cursor::new(self.zip()),
            config,
            reference,
            &mut NullSink,
        )
    }

    /// Keeps the summary in line with the claims (after changing amounts on purpose).
    pub fn resum(&mut self) {
        let mut cost = 0;
        let mut pay = 0;
        let mut other = 0;
        let mut claim = 0;
        for r in &self.records {
            if let Some(Claim::Checkup(c)) = &r.claim {
                let s = &c.settlement;
                cost += s.unit_amount.amount().unwrap_or(0);
                pay += s.payment_amount.amount().unwrap_or(0);
                other += s
                    .payment_by_other_program
                    .as_ref()
                    .and_then(|m| m.amount())
                    .unwrap_or(0);
                claim += s.claim_amount.amount().unwrap_or(0);
            }
        }
        let n = self.records.iter().filter(|r| r.claim.is_some()).count();
        let s = self.summary();
        s.total_subject_count = n.to_string();
        s.total_cost_amount = Money::yen(cost);
        s.total_payment_amount = Money::yen(pay);
        s.total_payment_by_other_program = if other > 0 {
            Some(Money::yen(other))
        } else {
            s.total_payment_by_other_program
                .clone()
                .map(|_| Money::yen(0))
        };
        s.total_claim_amount = Money::yen(claim);
    }
}

/// Findings that are not notes. Without ../shared the fixtures cannot ship the official
/// XSD set, so the A-07 "XSD folder missing" warning they then get is left out.
pub fn problems(report: &Report) -> Vec<&Finding> {
    let no_xsd_set = official_xsd(Generation::G2018).is_none();
    report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .filter(|f| !(no_xsd_set && f.code == "A-07" && f.message_en.contains("is missing")))
        .collect()
}

/// Files below the top folder (path, bytes).
type XsdFiles = Vec<(String, Vec<u8>)>;

/// The official XSD set of `generation` from ../shared/reference/xsd, as files below
/// `XSD/` (read once); `None` when ../shared is absent.
pub fn official_xsd(generation: Generation) -> Option<XsdFiles> {
    static SETS: std::sync::OnceLock<[Option<XsdFiles>; 2]> = std::sync::OnceLock::new();
    fn read(folder: &str) -> Option<XsdFiles> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/xsd")
            .join(folder);
        if !dir.is_dir() {
            return None;
        }
        let mut out = Vec::new();
        let mut pending = vec![(dir, "XSD/".to_owned())];
        while let Some((dir, prefix)) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let entry = entry.expect("dir entry");
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if entry.path().is_dir() {
                    pending.push((entry.path(), format!("{name}/")));
                } else {
                    out.push((name, std::fs::read(entry.path()).expect("read xsd")));
                }
            }
        }
        out.sort();
        Some(out)
    }
    let sets = SETS.get_or_init(|| [read("2018"), read("2024")]);
    match generation {
        Generation::G2018 => sets[0].clone(),
        Generation::G2024 => sets[1].clone(),
    }
}

/// Whether a non-info finding with `code` is present.
pub fn has(report: &Report, code: &str) -> bool {
    problems(report).iter().any(|f| f.code == code)
}

/// Asserts that `code` was found (printing everything otherwise).
#[track_caller]
pub fn assert_found(report: &Report, code: &str) -> Finding {
    match problems(report).into_iter().find(|f| f.code == code) {
        Some(f) => f.clone(),
        None => panic!("expected {code}, found:\n{}", dump(report)),
    }
}

/// Asserts that `code` was not found.
#[track_caller]
pub fn assert_absent(report: &Report, code: &str) {
    assert!(
        !has(report, code),
        "did not expect {code}, found:\n{}",
        dump(report)
    );
}

/// Asserts a finding with code, outcome and (for FR) reason.
#[track_caller]
pub fn assert_outcome(
    report: &Report,
    code: &str,
    outcome: Outcome,
    reason: Option<&str>,
) -> Finding {
    let f = assert_found(report, code);
    assert_eq!(f.outcome, outcome, "{code}: {}", f.message_en);
    assert_eq!(
        f.return_reason.map(|r| r.code()),
        reason,
        "{code}: {}",
        f.message_en
    );
    f
}

pub fn dump(report: &Report) -> String {
    let mut s = format!("verdict {:?} {:?}\n", report.verdict, report.counts);
    for f in &report.findings {
        s.push_str(&format!(
            "  {} {:?} {:?} {} {} | {}\n",
            f.code, f.severity, f.outcome, f.file, f.location, f.message_en
        ));
    }
    s
}

/// Reference data held in memory for tests.
#[derive(Default)]
pub struct TestReference {
    pub clients: Option<BTreeSet<String>>,
    pub institutions: Option<BTreeSet<String>>,
    pub vouchers: Option<Vec<VoucherRecord>>,
    pub coverage: Option<BTreeSet<(String, String)>>,
    pub contracts: Option<Vec<Contract>>,
    pub archives: Option<BTreeSet<String>>,
    pub records: Option<Vec<PriorRecord>>,
}

impl ReferenceData for TestReference {
    fn insurer_is_client(&self, insurer: &str, _: Date) -> Option<bool> {
        Some(self.clients.as_ref()?.contains(insurer))
    }
    fn institution_is_registered(&self, institution: &str) -> Option<bool> {
        Some(self.institutions.as_ref()?.contains(institution))
    }
    fn vouchers(&self, insurer: &str, kind: u8, number: &str) -> Option<Vec<VoucherRecord>> {
        Some(
            self.vouchers
                .as_ref()?
                .iter()
                .filter(|v| v.insurer == insurer && v.kind == kind && v.number == number)
                .cloned()
                .collect(),
        )
    }
    fn is_covered(&self, insurer: &str, _: &str, number: &str, _: Date) -> Option<bool> {
        Some(
            self.coverage
                .as_ref()?
                .contains(&(insurer.to_string(), number.to_string())),
        )
    }
    fn contracts(&self, insurer: &str, institution: &str, fy: i32) -> Option<Vec<Contract>> {
        Some(
            self.contracts
                .as_ref()?
                .iter()
                .filter(|c| {
                    c.insurer == insurer && c.institution == institution && c.fiscal_year == fy
                })
                .cloned()
                .collect(),
        )
    }
    fn archive_received(&self, name: &str, sha: &str) -> Option<bool> {
        let a = self.archives.as_ref()?;
        Some(a.contains(name) || a.contains(sha))
    }
    fn records_of_person(&self, insurer: &str, card: &str, fy: i32) -> Option<Vec<PriorRecord>> {
        Some(
            self.records
                .as_ref()?
                .iter()
                .filter(|r| {
                    r.insurer == insurer
                        && r.card_number == card
                        && r.service_date.is_some_and(|d| d.fiscal_year() == fy)
                })
                .cloned()
                .collect(),
        )
    }
    fn records_of_voucher(&self, insurer: &str, voucher: &str) -> Option<Vec<PriorRecord>> {
        Some(
            self.records
                .as_ref()?
                .iter()
                .filter(|r| r.insurer == insurer && r.voucher == voucher)
                .cloned()
                .collect(),
        )
    }
}

/// A reference that agrees with every record of `f` (clients, registration, ledger,
/// coverage, contracts at the claimed prices, empty history).
pub fn agreeing_reference(f: &Fixture) -> TestReference {
    use daiko_check::reference::CopaymentSetting;
    let mut r = TestReference {
        clients: Some(BTreeSet::new()),
        institutions: Some(BTreeSet::new()),
        vouchers: Some(Vec::new()),
        coverage: Some(BTreeSet::new()),
        contracts: Some(Vec::new()),
        archives: Some(BTreeSet::new()),
        records: Some(Vec::new()),
    };
    let setting = |c: &Option<Charge>| -> Option<CopaymentSetting> {
        let c = c.as_ref()?;
        let code: u8 = c.code.parse().ok()?;
        let amount = c.amount.as_ref().and_then(|m| m.amount());
        let rate = c.rate.as_ref().and_then(|r| r.value.parse().ok());
        Some(match code {
            4 => CopaymentSetting {
                code,
                amount: None,
                rate: None,
                cap: amount,
            },
            _ => CopaymentSetting {
                code,
                amount,
                rate,
                cap: None,
            },
        })
    };
    for rec in &f.records {
        let Some(Claim::Checkup(c)) = &rec.claim else {
            continue;
        };
        let insurer = c.subject.insurance_card.insurer_number.extension.clone();
        let institution = c.subject.performer_organization.extension.clone();
        r.clients.as_mut().unwrap().insert(insurer.clone());
        r.institutions.as_mut().unwrap().insert(institution.clone());
        r.coverage.as_mut().unwrap().insert((
            insurer.clone(),
            c.subject.insurance_card.number.extension.clone(),
        ));
        r.vouchers.as_mut().unwrap().push(VoucherRecord {
            insurer: insurer.clone(),
            kind: 1,
            number: c
                .card
                .id
                .as_ref()
                .map(|i| i.extension.clone())
                .unwrap_or_default(),
            card_symbol: c
                .subject
                .insurance_card
                .symbol
                .as_ref()
                .map(|s| s.extension.clone())
                .unwrap_or_default(),
            card_number: c.subject.insurance_card.number.extension.clone(),
            name: c.subject.name.clone(),
            birth_date: Date::parse(&c.subject.birth_time),
            expiry: c.card.expiry.as_deref().and_then(Date::parse),
            basic: setting(&c.card.charge_basic),
            detail: setting(&c.card.charge_detail),
            additional: setting(&c.card.charge_other),
            dock: None,
            guidance_level: None,
        });
        let service = rec
            .doc
            .service_event
            .as_ref()
            .and_then(|e| Date::parse(&e.effective_time))
            .unwrap();
        let s = &c.settlement;
        let mut contract = Contract {
            insurer: insurer.clone(),
            institution: institution.clone(),
            fiscal_year: service.fiscal_year(),
            commission_type: s.commission_type.parse().unwrap_or(1),
            basic: s.unit_price_basic.as_ref().and_then(|m| m.amount()),
            other_program_allowed: true,
            ..Contract::default()
        };
        for d in &s.unit_price_detail {
            contract
                .detail
                .insert(d.code.clone(), d.amount.amount().unwrap());
        }
        for o in &s.unit_price_other {
            if let Some(item) = &o.item {
                contract
                    .additional
                    .insert(item.code.clone(), o.amount.amount().unwrap());
            }
        }
        let cs = r.contracts.as_mut().unwrap();
        // One contract per insurer × institution × FY × commission type, with every price seen.
        if let Some(existing) = cs.iter_mut().find(|x| {
            x.insurer == contract.insurer
                && x.institution == contract.institution
                && x.fiscal_year == contract.fiscal_year
                && x.commission_type == contract.commission_type
                && x.basic == contract.basic
        }) {
            existing.detail.extend(contract.detail);
            existing.additional.extend(contract.additional);
        } else {
            cs.push(contract);
        }
    }
    r
}
