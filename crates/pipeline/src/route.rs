//! Routing (受領・振分・送付): turning the records of checked 種別1 archives into the
//! archives the agency sends on. Pure functions of bytes and a check report; no database.
//!
//! * accepted records → per insurer, a **種別3** archive (agency → insurer);
//! * returned records → for the sending institution, a **種別2** archive (agency →
//!   institution) whose claims carry `agencyAdjudicationResult` with the 返戻理由コード;
//! * held records → per insurer, a **種別11** archive (agency → insurer, 確認依頼).
//!
//! Every output is a new standard archive (FORMAT.md §2.2, §11 step 8): the agency is the
//! sender (root …103), a new index (ix08) and a new summary (su08) are computed from the
//! claims it holds, the CDA data files are copied byte for byte, and the index and summary
//! keep the schema generation of the source archive.
//!
//! Format decisions (FORMAT.md leaves them open, [UNK]/[INF]):
//! * **File names.** DATA/CLAIMS files are renumbered
//!   `{prefix}{institution}{YYYYMMDD}{n}{S}{serial:06}.xml`: date, counter and 実施区分 of
//!   the output archive, serials from 000001 in output order (so records of several
//!   source archives never clash), and in the 10-digit slot the institution that made the
//!   record (the source archive's sender). The slot stays the institution's, not the
//!   agency's, because receivers tie it to the record: daiko's own H-08 compares it with
//!   the CDA's institution number. The prefix letter of the source file (`h`/`g`,
//!   `c`/`p`) is kept.
//! * **Archive names** follow `{sender}_{receiver}_{YYYYMMDD}{n}_{S}`. For 種別2 the
//!   receiver is the 10-digit institution number: FORMAT.md §2.1 names it "the receiving
//!   organisation's number", although `ArchiveName::parse` (written for reception) accepts
//!   only 8-digit receivers.
//! * **Adjudications** are written into the claim text (see [`with_adjudication`]), not by
//!   rewriting the claim through the model, so that everything else in the claim, including
//!   the defect a record was returned for, reaches the institution as it was sent.

use daiko_check::Outcome;
use daiko_check::report::{RecordOutcome, Report};
use daiko_format::FormatError;
use daiko_format::archive::{Archive, ArchiveIssue, ArchiveLimits, ArchiveName, ArchiveWriter};
use daiko_format::model::{Adjudication, DocumentKind, Generation, Id, Index, Money, Summary, oid};
use daiko_format::read::{self, ParseLimits};
use daiko_format::write::{write_index, write_summary};
use daiko_format::xml::{escape_attr, escape_text};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read, Seek};
use thiserror::Error;

/// Why records could not be extracted or an archive could not be built.
#[derive(Debug, Error)]
pub enum RouteError {
    /// The source archive cannot be read safely (not a ZIP, unsafe entries, no top folder).
    #[error("archive {archive}: {message}")]
    Archive { archive: String, message: String },
    /// A file the report names is not in the archive.
    #[error("archive {archive}: no entry {path}")]
    MissingEntry { archive: String, path: String },
    /// The source index is missing or cannot be read.
    #[error("archive {archive}: index ix08_V08.xml: {message}")]
    Index { archive: String, message: String },
    /// A record names neither a data nor a claim file.
    #[error("archive {archive}: a record names neither a data file nor a claim file")]
    EmptyRecord { archive: String },
    /// An archive needs at least one record.
    #[error("an output archive needs at least one record")]
    NoRecords,
    /// Too many records for the 6-digit file serial.
    #[error("{count} records do not fit the 6-digit file serial")]
    TooManyRecords { count: usize },
    /// An organisation number of the wrong shape.
    #[error("expected {expected}, found `{value}`")]
    Number {
        expected: &'static str,
        value: String,
    },
    /// The same-day counter `n` of the archive name is one digit.
    #[error("same-day counter {sequence} does not fit the one-digit `n` of the archive name")]
    Counter { sequence: u32 },
    /// The creation date cannot be written as YYYYMMDD.
    #[error("creation date {0} cannot be written as YYYYMMDD")]
    Date(jiff::civil::Date),
    /// Records of both schema generations cannot share one archive.
    #[error("records of the {0} and {1} schema generations cannot share one archive")]
    MixedGenerations(&'static str, &'static str),
    /// Records of different 実施区分 cannot share one archive (FORMAT.md §2.2).
    #[error("records of 実施区分 {0} and {1} cannot share one archive")]
    MixedServiceEventTypes(u8, u8),
    /// A 返戻理由コード outside 別表9 (01-09).
    #[error("返戻理由コード `{0}` is not one of 01-09 (別表9)")]
    Reason(String),
    /// The report rejects the archive as a whole: nothing is routed (the institution gets
    /// the 受付エラー連絡表 instead).
    #[error("archive {0} was rejected (受付不可); its records are not routed")]
    Rejected(String),
    /// The report is not about these bytes.
    #[error("the report is about archive {report_sha256}, not the bytes given ({actual_sha256})")]
    ReportMismatch {
        report_sha256: String,
        actual_sha256: String,
    },
    /// Only 種別1 archives from an institution are routed.
    #[error(
        "archive {archive}: expected 種別1 from an institution, found 種別 {interaction_type} from {sender}"
    )]
    NotFromInstitution {
        archive: String,
        interaction_type: String,
        sender: String,
    },
    /// An accepted or held record whose insurer is unknown cannot be routed.
    #[error("record {file}: insurer number `{insurer}` is not a number of up to 8 digits")]
    Insurer { file: String, insurer: String },
    /// Writing the ZIP failed.
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
}

/// Facts about the archive a record came from, read from its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The source archive's file name.
    pub archive: String,
    /// 送付元 `sender/id/@extension` of the source index.
    pub sender: String,
    /// `sender/id/@root` (…102 for an institution).
    pub sender_root: String,
    /// 種別 of the source index.
    pub interaction_type: String,
    /// Schema generation (namespace of the source index): outputs keep it.
    pub generation: Generation,
    /// 実施区分 of the source index.
    pub service_event_type: u8,
}

/// One data/claim pair as read from a received archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFiles {
    pub source: SourceInfo,
    /// `DATA/…` path below the top folder; empty when the pair had no data file (P-03).
    pub data_file: String,
    /// `CLAIMS/…` path; empty when the pair had no claim file (P-03).
    pub claim_file: String,
    pub data: Vec<u8>,
    pub claim: Vec<u8>,
}

/// Pulls the named (data, claim) pairs out of a received archive, reading each entry
/// through the bounded reader of `daiko_format::archive` (default limits). `name` is the
/// archive's file name (it tells the top folder). An empty path means the pair lacks
/// that file. The source index is read too: it tells the generation and 実施区分 the
/// outputs keep.
pub fn extract_records<R: Read + Seek>(
    name: &str,
    archive: R,
    pairs: &[(String, String)],
) -> Result<Vec<RecordFiles>, RouteError> {
    let mut zip = Archive::open(name, archive, ArchiveLimits::default());
    let fail = |message: String| RouteError::Archive {
        archive: name.to_owned(),
        message,
    };
    if let Some(issue) = zip.issues.iter().find(|i| {
        matches!(
            i,
            ArchiveIssue::NotZip(_) | ArchiveIssue::Unsafe { .. } | ArchiveIssue::TopFolder(_)
        )
    }) {
        return Err(fail(describe_issue(issue)));
    }
    let entries = zip.entries.clone();
    let by_path: HashMap<&str, &daiko_format::archive::Entry> = entries
        .iter()
        .filter_map(|e| e.path.as_deref().map(|p| (p, e)))
        .collect();

    let index_error = |message: String| RouteError::Index {
        archive: name.to_owned(),
        message,
    };
    let index_entry = by_path
        .get("ix08_V08.xml")
        .ok_or_else(|| index_error("missing".to_owned()))?;
    let index_bytes = zip
        .read(index_entry)
        .map_err(|issue| index_error(describe_issue(&issue)))?;
    let (index, generation) = read_index_bytes(&index_bytes).map_err(index_error)?;
    let service_event_type = single_digit(&index.service_event_type).ok_or_else(|| {
        index_error(format!(
            "実施区分 `{}` is not one digit",
            index.service_event_type
        ))
    })?;
    let source = SourceInfo {
        archive: name.to_owned(),
        sender: index.sender.extension.clone(),
        sender_root: index.sender.root.clone(),
        interaction_type: index.interaction_type.clone(),
        generation,
        service_event_type,
    };

    let mut out = Vec::with_capacity(pairs.len());
    for (data_file, claim_file) in pairs {
        if data_file.is_empty() && claim_file.is_empty() {
            return Err(RouteError::EmptyRecord {
                archive: name.to_owned(),
            });
        }
        let mut read_one = |path: &str| -> Result<Vec<u8>, RouteError> {
            if path.is_empty() {
                return Ok(Vec::new());
            }
            let entry = by_path
                .get(path)
                .filter(|e| {
                    matches!(
                        e.role,
                        daiko_format::archive::EntryRole::Data
                            | daiko_format::archive::EntryRole::Claim
                    )
                })
                .ok_or_else(|| RouteError::MissingEntry {
                    archive: name.to_owned(),
                    path: path.to_owned(),
                })?;
            zip.read(entry)
                .map_err(|issue| fail(describe_issue(&issue)))
        };
        let data = read_one(data_file)?;
        let claim = read_one(claim_file)?;
        out.push(RecordFiles {
            source: source.clone(),
            data_file: data_file.clone(),
            claim_file: claim_file.clone(),
            data,
            claim,
        });
    }
    Ok(out)
}

/// What an output archive is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutputKind {
    /// 種別3: accepted records, agency → insurer.
    ToInsurer,
    /// 種別2: returned records (返戻), agency → institution.
    Returned,
    /// 種別11: held records, agency → insurer, asking the insurer to confirm (確認依頼).
    Confirmation,
}

impl OutputKind {
    /// 種別 (別表1) written into the index and into adjudications.
    pub fn interaction_type(self) -> &'static str {
        match self {
            OutputKind::ToInsurer => "3",
            OutputKind::Returned => "2",
            OutputKind::Confirmation => "11",
        }
    }
    /// OID root of the receiver: an insurer (…101) or an institution (…102).
    pub fn receiver_root(self) -> &'static str {
        match self {
            OutputKind::ToInsurer | OutputKind::Confirmation => oid::INSURER,
            OutputKind::Returned => oid::INSTITUTION,
        }
    }
    /// Digits of the receiver number: 8 for an insurer, 10 for an institution.
    fn receiver_digits(self) -> usize {
        match self {
            OutputKind::ToInsurer | OutputKind::Confirmation => 8,
            OutputKind::Returned => 10,
        }
    }
}

/// One record to place into an output archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    pub files: RecordFiles,
    /// 返戻理由コード (別表9, `01`-`09`): required meaning for [`OutputKind::Returned`]
    /// (`09` その他 when `None`), optional for [`OutputKind::Confirmation`] (the reason
    /// the record would be returned for), ignored for [`OutputKind::ToInsurer`].
    pub return_reason: Option<String>,
    /// `reason/text` (≤ 100 characters, cut to fit): what the clerk should know, e.g. the
    /// finding that returned or held the record; for [`OutputKind::ToInsurer`] the text of
    /// the acceptance ([`ACCEPTED_NOTE`] when `None`).
    pub note: Option<String>,
}

/// Money totals of an archive's claims, in yen (as its summary states them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Σ unitAmount (checkup) / calculatedAmount (guidance).
    pub cost: u64,
    /// Σ paymentAmount / payment/amount (窓口負担).
    pub copayment: u64,
    /// Σ paymentByOtherProgram.
    pub other_program: u64,
    /// Σ claimAmount.
    pub claim: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.cost = self.cost.saturating_add(other.cost);
        self.copayment = self.copayment.saturating_add(other.copayment);
        self.other_program = self.other_program.saturating_add(other.other_program);
        self.claim = self.claim.saturating_add(other.claim);
    }
}

/// Where one record went: its source files and its new names (lineage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedRecord {
    pub source_archive: String,
    pub source_data_file: String,
    pub source_claim_file: String,
    /// New `DATA/…` path (empty when the record had no data file).
    pub data_file: String,
    /// New `CLAIMS/…` path (empty when the record had no claim file).
    pub claim_file: String,
    /// 保険者番号 and 受診券/利用券整理番号 read from the claim (empty when unreadable).
    pub insurer: String,
    pub voucher: String,
    /// Whether `agencyAdjudicationResult` was written into the claim. False only for a
    /// claim that is not well-formed XML (carried unchanged).
    pub adjudicated: bool,
}

/// An output archive, ready to store and deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltArchive {
    /// File name `{agency}_{receiver}_{YYYYMMDD}{n}_{S}.zip`.
    pub name: String,
    pub kind: OutputKind,
    pub sender: String,
    pub receiver: String,
    pub generation: Generation,
    /// 実施区分 (1 checkup, 2 guidance).
    pub service_event_type: u8,
    pub zip: Vec<u8>,
    /// SHA-256 of `zip`, lower-case hex.
    pub sha256: String,
    /// Number of records (data/claim pairs).
    pub records: usize,
    /// Totals of the claims, as written into the summary.
    pub totals: Totals,
    /// One entry per record, in archive order.
    pub placed: Vec<PlacedRecord>,
}

/// Builds one output archive of `kind` from `records` (which may come from several source
/// archives of the same generation and 実施区分).
///
/// `agency` is the 8-digit 代行機関番号; `receiver` the insurer (8 digits) or, for
/// [`OutputKind::Returned`], the institution (10 digits). `created` (JST) gives the
/// archive date, the index `creationTime` and the adjudications' `recordDate`.
/// `sequence` is the same-day counter `n` of the name (0-9): the caller counts the
/// archives already made that day for the same sender and receiver.
///
/// Claims: every claim gets the agency's adjudication (`agencyAdjudicationResult`,
/// written by [`with_adjudication`]) with the 種別 of the output and the recordDate. For
/// 種別3 (accepted) the reason carries no code — 別表9 lists only reasons for a return, and
/// the XSD makes `reason/@code` optional — and its text says the record passed the
/// agency's check ([`ACCEPTED_NOTE`] unless the caller gives a note). For 種別2 and 種別11
/// the reason has the 返戻理由コード and the finding as text. Everything else in the claim
/// is the institution's bytes.
pub fn build_archive(
    kind: OutputKind,
    agency: &str,
    receiver: &str,
    records: &[OutputRecord],
    created: jiff::civil::DateTime,
    sequence: u32,
) -> Result<BuiltArchive, RouteError> {
    if !is_digits(agency, 8) {
        return Err(RouteError::Number {
            expected: "an 8-digit agency number (代行機関番号)",
            value: agency.to_owned(),
        });
    }
    if !is_digits(receiver, kind.receiver_digits()) {
        return Err(RouteError::Number {
            expected: match kind {
                OutputKind::Returned => "a 10-digit institution number",
                _ => "an 8-digit insurer number",
            },
            value: receiver.to_owned(),
        });
    }
    let counter = u8::try_from(sequence)
        .ok()
        .filter(|n| *n <= 9)
        .ok_or(RouteError::Counter { sequence })?;
    let first = records.first().ok_or(RouteError::NoRecords)?;
    if records.len() > 999_999 {
        return Err(RouteError::TooManyRecords {
            count: records.len(),
        });
    }
    let generation = first.files.source.generation;
    let service_event_type = first.files.source.service_event_type;
    for r in records {
        if r.files.source.generation != generation {
            return Err(RouteError::MixedGenerations(
                generation.as_str(),
                r.files.source.generation.as_str(),
            ));
        }
        if r.files.source.service_event_type != service_event_type {
            return Err(RouteError::MixedServiceEventTypes(
                service_event_type,
                r.files.source.service_event_type,
            ));
        }
    }
    let date = ymd(created.date())?;
    let name = ArchiveName {
        sender: agency.to_owned(),
        receiver: receiver.to_owned(),
        date: date.clone(),
        counter,
        service_event_type,
    };

    let mut data_files: Vec<(String, Vec<u8>)> = Vec::with_capacity(records.len());
    let mut claim_files: Vec<(String, Vec<u8>)> = Vec::with_capacity(records.len());
    let mut placed = Vec::with_capacity(records.len());
    let mut totals = Totals::default();
    for (i, r) in records.iter().enumerate() {
        let f = &r.files;
        let stem = file_stem(&name, &f.source, (i + 1) as u32);
        let data_file = if f.data_file.is_empty() {
            String::new()
        } else {
            let path = format!("DATA/{}{stem}.xml", prefix_of(&f.data_file, 'h'));
            data_files.push((path.clone(), f.data.clone()));
            path
        };
        let mut adjudicated = false;
        let mut insurer = String::new();
        let mut voucher = String::new();
        let claim_file = if f.claim_file.is_empty() {
            String::new()
        } else {
            let path = format!("CLAIMS/{}{stem}.xml", prefix_of(&f.claim_file, 'c'));
            let adjudication = match kind {
                OutputKind::ToInsurer => Some(Adjudication {
                    interaction_type: kind.interaction_type().to_owned(),
                    record_date: date.clone(),
                    reason_code: String::new(),
                    reason_text: Some(reason_text(r.note.as_deref().unwrap_or(ACCEPTED_NOTE))),
                }),
                OutputKind::Returned => Some(Adjudication {
                    interaction_type: kind.interaction_type().to_owned(),
                    record_date: date.clone(),
                    reason_code: reason_code(r.return_reason.as_deref())?
                        .unwrap_or("09")
                        .to_owned(),
                    reason_text: r.note.as_deref().map(reason_text),
                }),
                OutputKind::Confirmation => Some(Adjudication {
                    interaction_type: kind.interaction_type().to_owned(),
                    record_date: date.clone(),
                    reason_code: reason_code(r.return_reason.as_deref())?
                        .unwrap_or("")
                        .to_owned(),
                    reason_text: r.note.as_deref().map(reason_text),
                }),
            };
            let bytes = match &adjudication {
                None => f.claim.clone(),
                Some(a) => match with_adjudication(&f.claim, a) {
                    Some(b) => {
                        adjudicated = true;
                        b
                    }
                    None => f.claim.clone(),
                },
            };
            if let Some(facts) = claim_facts(&bytes) {
                totals.add(&facts.totals);
                insurer = facts.insurer;
                voucher = facts.voucher;
            }
            claim_files.push((path.clone(), bytes));
            path
        };
        placed.push(PlacedRecord {
            source_archive: f.source.archive.clone(),
            source_data_file: f.data_file.clone(),
            source_claim_file: f.claim_file.clone(),
            data_file,
            claim_file,
            insurer,
            voucher,
            adjudicated,
        });
    }

    let index = Index {
        interaction_type: kind.interaction_type().to_owned(),
        creation_time: date.clone(),
        sender: Id::new(oid::AGENCY, agency),
        receiver: Some(Id::new(kind.receiver_root(), receiver)),
        service_event_type: service_event_type.to_string(),
        total_record_count: (data_files.len() + claim_files.len()).to_string(),
    };
    let summary = Summary {
        service_event_type: service_event_type.to_string(),
        // 受診者/利用者の総数: one person per claim file (S-02).
        total_subject_count: claim_files.len().to_string(),
        total_cost_amount: Money::yen(totals.cost),
        total_payment_amount: Money::yen(totals.copayment),
        // Omitted when zero, as claims omit paymentByOtherProgram (FORMAT.md §8).
        total_payment_by_other_program: (totals.other_program > 0)
            .then(|| Money::yen(totals.other_program)),
        total_claim_amount: Money::yen(totals.claim),
    };
    let mut writer = ArchiveWriter::new(&name);
    writer.add("ix08_V08.xml", write_index(&index, generation));
    writer.add("su08_V08.xml", write_summary(&summary, generation));
    for (path, bytes) in data_files.into_iter().chain(claim_files) {
        writer.add(path, bytes);
    }
    let zip = writer.finish()?;
    let sha256 = hex::encode(Sha256::digest(&zip));
    Ok(BuiltArchive {
        name: format!("{}.zip", name.base()),
        kind,
        sender: agency.to_owned(),
        receiver: receiver.to_owned(),
        generation,
        service_event_type,
        zip,
        sha256,
        records: records.len(),
        totals,
        placed,
    })
}

/// Routes one checked 種別1 archive: accepted records grouped by insurer (→ 種別3), held
/// records grouped by insurer (→ 種別11), returned records to the sending institution
/// (→ 種別2, reason @code = the report's 返戻理由コード, text = the finding that returned
/// it). Outputs come in that order, insurers in ascending number.
///
/// `first_sequence` is the same-day counter of the first archive to each receiver; a
/// receiver that gets two archives (種別3 and 種別11) gets `first_sequence` and the next.
/// A report that rejects the archive (any AR finding) routes nothing:
/// [`RouteError::Rejected`].
pub fn route_checked(
    archive_zip: &[u8],
    report: &Report,
    agency: &str,
    created: jiff::civil::DateTime,
    first_sequence: u32,
) -> Result<Vec<BuiltArchive>, RouteError> {
    let actual = hex::encode(Sha256::digest(archive_zip));
    if !report.archive.sha256.is_empty() && report.archive.sha256 != actual {
        return Err(RouteError::ReportMismatch {
            report_sha256: report.archive.sha256.clone(),
            actual_sha256: actual,
        });
    }
    if report.findings.iter().any(|f| f.outcome == Outcome::AR) {
        return Err(RouteError::Rejected(report.archive.name.clone()));
    }
    if report.records.is_empty() {
        return Ok(Vec::new());
    }
    let pairs: Vec<(String, String)> = report
        .records
        .iter()
        .map(|r| (r.data_file.clone(), r.claim_file.clone()))
        .collect();
    let files = extract_records(&report.archive.name, Cursor::new(archive_zip), &pairs)?;
    let source = &files.first().ok_or(RouteError::NoRecords)?.source;
    if source.interaction_type != "1"
        || source.sender_root != oid::INSTITUTION
        || !is_digits(&source.sender, 10)
    {
        return Err(RouteError::NotFromInstitution {
            archive: report.archive.name.clone(),
            interaction_type: source.interaction_type.clone(),
            sender: source.sender.clone(),
        });
    }
    let institution = source.sender.clone();

    let mut accepted: BTreeMap<String, Vec<OutputRecord>> = BTreeMap::new();
    let mut held: BTreeMap<String, Vec<OutputRecord>> = BTreeMap::new();
    let mut returned: Vec<OutputRecord> = Vec::new();
    for (record, files) in report.records.iter().zip(files) {
        let of_record = |outcome: Outcome| {
            report
                .findings
                .iter()
                .find(|f| {
                    f.outcome == outcome
                        && !f.file.is_empty()
                        && (f.file == record.data_file || f.file == record.claim_file)
                })
                .map(|f| f.message_ja.clone())
        };
        let file = if record.claim_file.is_empty() {
            &record.data_file
        } else {
            &record.claim_file
        };
        match record.outcome {
            RecordOutcome::Accepted => accepted
                .entry(insurer_key(&record.insurer, file)?)
                .or_default()
                .push(OutputRecord {
                    files,
                    return_reason: None,
                    note: None,
                }),
            RecordOutcome::Held => held
                .entry(insurer_key(&record.insurer, file)?)
                .or_default()
                .push(OutputRecord {
                    files,
                    return_reason: None,
                    note: of_record(Outcome::CI),
                }),
            RecordOutcome::Returned => returned.push(OutputRecord {
                files,
                return_reason: record.return_reason.map(|r| r.code().to_owned()),
                note: of_record(Outcome::FR),
            }),
        }
    }

    let mut counters: HashMap<String, u32> = HashMap::new();
    let mut next = |receiver: &str| {
        let n = counters
            .entry(receiver.to_owned())
            .or_insert(first_sequence);
        let this = *n;
        *n += 1;
        this
    };
    let mut out = Vec::new();
    for (insurer, records) in &accepted {
        let n = next(insurer);
        out.push(build_archive(
            OutputKind::ToInsurer,
            agency,
            insurer,
            records,
            created,
            n,
        )?);
    }
    for (insurer, records) in &held {
        let n = next(insurer);
        out.push(build_archive(
            OutputKind::Confirmation,
            agency,
            insurer,
            records,
            created,
            n,
        )?);
    }
    if !returned.is_empty() {
        let n = next(&institution);
        out.push(build_archive(
            OutputKind::Returned,
            agency,
            &institution,
            &returned,
            created,
            n,
        )?);
    }
    Ok(out)
}

/// Writes `adjudication` as the claim's `agencyAdjudicationResult`, editing the text:
/// replacing an existing one, else inserting it before `insurerAdjudicationResult`, else
/// before the root's end tag (the schema order). Elements take the root's namespace
/// prefix, so the claim's namespace, and so its generation, is kept. An empty reason
/// code is left out (`reason/@code` is optional). Gives `None` when the claim is not a
/// well-formed claim document (it is then carried unchanged).
pub fn with_adjudication(claim: &[u8], adjudication: &Adjudication) -> Option<Vec<u8>> {
    let text = read::decode(claim).ok()?;
    let doc = read::parse(text, &ParseLimits::default()).ok()?;
    let (kind, _) = read::kind_of(&doc).ok()?;
    if !matches!(
        kind,
        DocumentKind::CheckupClaim | DocumentKind::GuidanceClaim
    ) {
        return None;
    }
    let root = doc.root_element();
    // The qualified name as written: `<ns:checkupClaim …` gives the prefix `ns`.
    let root_range = root.range();
    let qname: &str = text
        .get(root_range.start + 1..root_range.end)?
        .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .next()?;
    let prefix = qname.split_once(':').map(|(p, _)| p);
    let children: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    let existing = children
        .iter()
        .find(|n| n.tag_name().name() == "agencyAdjudicationResult");
    let insurer = children
        .iter()
        .find(|n| n.tag_name().name() == "insurerAdjudicationResult");
    // The byte range to replace and the indentation of the line it starts on.
    let (at, end) = match (existing, insurer) {
        (Some(n), _) => (n.range().start, n.range().end),
        (None, Some(n)) => (n.range().start, n.range().start),
        (None, None) => {
            let close = text.get(..root_range.end)?.rfind("</")?;
            (close, close)
        }
    };
    let before = text.get(..at)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let lead = &before[line_start..];
    let on_own_line = lead.chars().all(|c| c == ' ' || c == '\t');
    let mut out = String::with_capacity(text.len() + 512);
    if on_own_line && existing.is_none() && insurer.is_none() {
        // Before the root's end tag: a child one level deeper than the end tag.
        let child_indent = format!("{lead}  ");
        out.push_str(&text[..line_start]);
        out.push_str(&child_indent);
        out.push_str(&adjudication_xml(prefix, adjudication, Some(&child_indent)));
        out.push('\n');
        out.push_str(&text[line_start..]);
        return Some(out.into_bytes());
    }
    let indent = on_own_line.then_some(lead);
    out.push_str(before);
    out.push_str(&adjudication_xml(prefix, adjudication, indent));
    // Inserted before insurerAdjudicationResult: put that back on its own line.
    if existing.is_none()
        && let Some(i) = indent
    {
        out.push('\n');
        out.push_str(i);
    }
    out.push_str(text.get(end..)?);
    Some(out.into_bytes())
}

/// `agencyAdjudicationResult` as text; `indent` is the indentation of its own line
/// (nested lines go two spaces deeper), `None` writes it on one line.
fn adjudication_xml(prefix: Option<&str>, a: &Adjudication, indent: Option<&str>) -> String {
    let q = |local: &str| match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_owned(),
    };
    let (nl1, nl2) = match indent {
        Some(i) => (format!("\n{i}  "), format!("\n{i}")),
        None => (String::new(), String::new()),
    };
    let mut s = String::new();
    s.push_str(&format!("<{}>", q("agencyAdjudicationResult")));
    s.push_str(&nl1);
    s.push_str(&format!("<{} code=\"", q("interactionType")));
    escape_attr(&a.interaction_type, &mut s);
    s.push_str("\"/>");
    s.push_str(&nl1);
    s.push_str(&format!("<{} value=\"", q("recordDate")));
    escape_attr(&a.record_date, &mut s);
    s.push_str("\"/>");
    s.push_str(&nl1);
    s.push_str(&format!("<{}", q("reason")));
    if !a.reason_code.is_empty() {
        s.push_str(" code=\"");
        escape_attr(&a.reason_code, &mut s);
        s.push('"');
    }
    match &a.reason_text {
        None => s.push_str("/>"),
        Some(t) => {
            s.push('>');
            s.push_str(&format!("<{}>", q("text")));
            escape_text(t, &mut s);
            s.push_str(&format!("</{}>", q("text")));
            s.push_str(&format!("</{}>", q("reason")));
        }
    }
    s.push_str(&nl2);
    s.push_str(&format!("</{}>", q("agencyAdjudicationResult")));
    s
}

/// The `reason/text` of an accepted record's adjudication in a 種別3 archive.
pub const ACCEPTED_NOTE: &str = "代行機関の事務点検済（受付）";

/// What the routing needs from a claim: its money, insurer and voucher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimFacts {
    pub totals: Totals,
    pub insurer: String,
    pub voucher: String,
    pub generation: Option<Generation>,
}

/// Reads a claim's money (as the check engine does: 0 for an amount that is not a plain
/// number), insurer and voucher. `None` when the bytes are not a readable claim.
pub fn claim_facts(bytes: &[u8]) -> Option<ClaimFacts> {
    let text = read::decode(bytes).ok()?;
    let doc = read::parse(text, &ParseLimits::default()).ok()?;
    let (kind, generation) = read::kind_of(&doc).ok()?;
    let v = |m: &Money| m.amount().unwrap_or(0);
    match kind {
        DocumentKind::CheckupClaim => {
            let c = read::read_checkup_claim(&doc).ok()?;
            let s = &c.settlement;
            Some(ClaimFacts {
                totals: Totals {
                    cost: v(&s.unit_amount),
                    copayment: v(&s.payment_amount),
                    other_program: s.payment_by_other_program.as_ref().map_or(0, v),
                    claim: v(&s.claim_amount),
                },
                insurer: c.subject.insurance_card.insurer_number.extension,
                voucher: c.card.id.map(|i| i.extension).unwrap_or_default(),
                generation,
            })
        }
        DocumentKind::GuidanceClaim => {
            let c = read::read_guidance_claim(&doc).ok()?;
            let s = &c.settlement;
            Some(ClaimFacts {
                totals: Totals {
                    cost: v(&s.calculated_amount),
                    copayment: v(&s.payment_amount),
                    other_program: 0,
                    claim: v(&s.claim_amount),
                },
                insurer: c.subject.insurance_card.insurer_number.extension,
                voucher: c.card.id.map(|i| i.extension).unwrap_or_default(),
                generation,
            })
        }
        _ => None,
    }
}

/// `{institution}{YYYYMMDD}{n}{S}{serial:06}`: the shared part of a DATA/CLAIMS name. The
/// institution is the source archive's sender (an institution, 10 digits); a record from
/// any other sender gets that sender's number zero-padded to 10 digits, so the name keeps
/// its 26 digits.
fn file_stem(name: &ArchiveName, source: &SourceInfo, serial: u32) -> String {
    format!(
        "{:0>10}{}{}{}{:06}",
        source.sender, name.date, name.counter, name.service_event_type, serial
    )
}

/// The prefix letter of a source file name (`DATA/h….xml` → `h`), or `default`.
fn prefix_of(path: &str, default: char) -> char {
    path.rsplit('/')
        .next()
        .and_then(|base| base.chars().next())
        .filter(char::is_ascii_lowercase)
        .unwrap_or(default)
}

/// A 返戻理由コード of 別表9, validated.
fn reason_code(code: Option<&str>) -> Result<Option<&str>, RouteError> {
    match code {
        None => Ok(None),
        Some(c) if c.len() == 2 && ("01"..="09").contains(&c) => Ok(Some(c)),
        Some(c) => Err(RouteError::Reason(c.to_owned())),
    }
}

/// `reason/text`: control characters become spaces, cut to the schema's 100 characters.
fn reason_text(note: &str) -> String {
    note.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(100)
        .collect()
}

/// An insurer number as an 8-digit receiver (国保 numbers of 6 digits are zero-padded).
fn insurer_key(insurer: &str, file: &str) -> Result<String, RouteError> {
    if insurer.is_empty() || insurer.len() > 8 || !insurer.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RouteError::Insurer {
            file: file.to_owned(),
            insurer: insurer.to_owned(),
        });
    }
    Ok(format!("{insurer:0>8}"))
}

/// Reads an index from bytes: the model and the generation its namespace tells.
fn read_index_bytes(bytes: &[u8]) -> Result<(Index, Generation), String> {
    let text = read::decode(bytes).map_err(|e| e.to_string())?;
    let doc = read::parse(text, &ParseLimits::default()).map_err(|e| e.to_string())?;
    let (kind, generation) = read::kind_of(&doc).map_err(|e: FormatError| e.to_string())?;
    if kind != DocumentKind::Index {
        return Err(format!("expected an index, found {}", kind.schema_name()));
    }
    let generation = generation.ok_or_else(|| "no schema generation".to_owned())?;
    let index = read::read_index(&doc).map_err(|e| e.to_string())?;
    Ok((index, generation))
}

fn describe_issue(issue: &ArchiveIssue) -> String {
    match issue {
        ArchiveIssue::NotZip(m) | ArchiveIssue::BadName(m) | ArchiveIssue::TopFolder(m) => {
            m.clone()
        }
        ArchiveIssue::Unsafe { entry, reason } => format!("{entry}: {reason}"),
        other => format!("{other:?}"),
    }
}

/// YYYYMMDD of a date in years 1-9999.
fn ymd(date: jiff::civil::Date) -> Result<String, RouteError> {
    if !(1..=9999).contains(&date.year()) {
        return Err(RouteError::Date(date));
    }
    Ok(format!(
        "{:04}{:02}{:02}",
        date.year(),
        date.month(),
        date.day()
    ))
}

fn single_digit(s: &str) -> Option<u8> {
    match s.as_bytes() {
        [d @ b'0'..=b'9'] => Some(d - b'0'),
        _ => None,
    }
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}
