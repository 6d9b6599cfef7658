//! The engine: runs every stage over one archive and pushes the results into a [`Sink`].
//!
//! Order (CHECKS.md): T (deadline, sender, already received) → A (archive issues) → index
//! (X, I) → summary (X, S-01) → every DATA/CLAIMS pair (P, X, H, M, C, D, U) → the
//! archive-wide rows that need every record (U-02, S-02 … S-08, T-04, H-02's AR).
//!
//! Reading is sequential: the main thread reads one pair's bytes at a time from the ZIP
//! and hands them through a bounded channel to worker threads (`available_parallelism`),
//! in batches of up to 8 pairs and 256 KiB of stored bytes (a larger pair goes alone),
//! so at most a few pairs' bytes are in memory at once, whatever the archive holds. Workers return small per-record results (findings, outcome, amounts), which the
//! engine puts back in record order, so the output does not depend on thread timing.
//!
//! An AR finding before the records stops per-record processing: the records then count
//! as not accepted (`counts.records` is the number of pairs, `records` is empty). An FR
//! finding returns its pair with the 返戻理由 of the first FR finding; a CI finding holds
//! it; W and DEFER leave it accepted. Verdict: rejected on any AR or when no record is
//! accepted, accepted when every record is, partially accepted otherwise.
//!
//! Choices worth knowing:
//! * A schema violation returns the pair but does not stop its content checks, so
//!   the clerk also gets the specific message (H-05 "sex code must be 1 or 2"). A file that
//!   cannot be parsed or classified (X-01, X-03, X-04, X-05, A-10, P-05) stops the pair.
//! * S-03 … S-06 are compared only when every claim could be read, and S-07 only when no
//!   claim's own arithmetic failed (C-07): one bad claim returns that record, it does not
//!   reject the archive through the totals.
//! * T-04 is reported once per service month (outcome DEFER), for checkups only (a
//!   guidance CDA dates the start, not the session claimed); T-01 … T-03 concern
//!   physical media and the channel and are judged at intake, not here; U-04 (withdrawal)
//!   is a request outside any archive.
//! * Checks that need reference data not loaded are reported once per archive as info
//!   findings ("Skipped: no … loaded").

use crate::catalogue::{self, finding, info};
use crate::config::CheckConfig;
use crate::finding::{Finding, Outcome, Severity};
use crate::reference::ReferenceData;
use crate::report::{
    ArchiveInfo, Counts, RecordAmounts, RecordOutcome, RecordReport, Report, Verdict,
};
use crate::sink::Sink;
use crate::stages::claim::{self, ClaimReference};
use crate::stages::date::Date;
use crate::stages::items::{ItemCheckInput, check_items};
use crate::stages::record::{ClaimDoc, RecordInput, Skipped};
use crate::stages::summary::ClaimTotals;
use crate::stages::xml::{Expected, TreeReader, check_file, parse_file, reader_failure};
use crate::stages::{archive, duplicates, header, index, master, pairing, summary, transport, xsd};
use daiko_format::archive::{Archive, ArchiveIssue, ArchiveName, Entry, EntryRole, StoredEntry};
use daiko_format::model::{DocumentKind, Generation, Index, Summary};
use daiko_format::read;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Checks one archive. `name` is the archive's file name (a path is allowed; its last
/// component is used). Never panics on hostile input: whatever is wrong is a finding.
pub fn check_archive<R: Read + Seek>(
    name: &str,
    mut reader: R,
    config: &CheckConfig,
    reference: &dyn ReferenceData,
    sink: &mut dyn Sink,
) -> Report {
    let file_name = name.rsplit(['/', '\\']).next().unwrap_or(name).to_string();
    let mut head: Vec<Finding> = Vec::new();
    let sha256 = match hash_reader(&mut reader) {
        Ok(h) => h,
        Err(e) => {
            head.push(finding(
                "A-01",
                &file_name,
                "",
                "",
                &format!("ファイルを読み取れません({e})"),
                &format!("The file cannot be read ({e})"),
            ));
            String::new()
        }
    };
    let mut zip = Archive::open(&file_name, reader, config.archive_limits);
    let parsed_name = zip.parsed_name.clone();
    let mut info_block = ArchiveInfo {
        name: file_name.clone(),
        sha256: sha256.clone(),
        sender: parsed_name
            .as_ref()
            .map(|n| n.sender.clone())
            .unwrap_or_default(),
        receiver: parsed_name
            .as_ref()
            .map(|n| n.receiver.clone())
            .unwrap_or_default(),
        service_event_type: 0,
        generation: String::new(),
    };

    // T: sender registered, archive received before.
    transport::check_submission(
        &file_name,
        &sha256,
        parsed_name.as_ref().map(|n| n.sender.as_str()),
        reference,
        &mut head,
    );
    // A: what the archive reader found, and the file counts.
    archive::issue_findings(&file_name, &zip.issues, &mut head);
    // Where A-07 "different" goes once the index has told the generation.
    let xsd_at = head.len();
    let opened = !zip
        .issues
        .iter()
        .any(|i| matches!(i, daiko_format::archive::ArchiveIssue::NotZip(_)))
        || !zip.entries.is_empty();
    if opened {
        archive::file_counts(&file_name, &zip.entries, config.claims_expected, &mut head);
    }

    // an index or summary of another version than V08 (`ix08_V07.xml`).
    for e in &zip.entries {
        if let Some(path) = e.path.as_deref()
            && is_other_version(path)
        {
            head.push(finding(
                "X-05",
                path,
                "",
                path,
                &format!("{path} はV08様式ではありません"),
                &format!("{path} is not of version V08"),
            ));
        }
    }

    // Index and summary.
    let entries = zip.entries.clone();
    let record_files = entries
        .iter()
        .filter(|e| matches!(e.role, EntryRole::Data | EntryRole::Claim))
        .count();
    let mut generation: Option<Generation> = None;
    let mut index_doc: Option<Index> = None;
    if let Some(entry) = entries.iter().find(|e| e.role == EntryRole::Index)
        && let Some(bytes) = read_entry(&mut zip, entry, &file_name, &mut head)
    {
        let file = entry.path.clone().unwrap_or_else(|| entry.name.clone());
        if let Some(p) = parse_file(
            &file,
            &bytes,
            Expected::Index,
            None,
            &config.parse_limits,
            &mut head,
        ) {
            generation = p.generation;
            match read::read_index(&p.doc) {
                Ok(ix) => {
                    let cx = index::IndexContext {
                        file: &file,
                        archive_name: parsed_name.as_ref(),
                        agency_number: config.agency_number.as_deref(),
                        reception_date: config.reception_date,
                        record_files,
                    };
                    index::check_index(&ix, &cx, &mut head);
                    index_doc = Some(ix);
                }
                Err(e) => head.push(reader_failure(&file, &e)),
            }
        }
    }
    let index_set = index_doc
        .as_ref()
        .map(|i| i.service_event_type.clone())
        .unwrap_or_default();
    info_block.service_event_type = index_set.parse().unwrap_or(0);
    info_block.generation = generation
        .map(|g| g.as_str().to_string())
        .unwrap_or_default();

    let mut summary_doc: Option<(String, Summary)> = None;
    if let Some(entry) = entries.iter().find(|e| e.role == EntryRole::Summary)
        && let Some(bytes) = read_entry(&mut zip, entry, &file_name, &mut head)
    {
        let file = entry.path.clone().unwrap_or_else(|| entry.name.clone());
        if let Some(p) = parse_file(
            &file,
            &bytes,
            Expected::Summary,
            generation,
            &config.parse_limits,
            &mut head,
        ) {
            match read::read_summary(&p.doc) {
                Ok(s) => summary_doc = Some((file, s)),
                Err(e) => head.push(reader_failure(&file, &e)),
            }
        }
    }
    // a shipped XSD folder compared with the official set of the index's generation.
    if opened {
        let mut found = Vec::new();
        xsd::xsd_folder(&mut zip, &file_name, generation, &mut found);
        head.splice(xsd_at..xsd_at, found);
    }
    apply_overrides(&mut head, config);
    sink.begin(&info_block);

    // Records: only when nothing so far rejects the archive and the index is readable.
    let pairs = make_pairs(&entries, config.claims_expected);
    let rejected_early = head.iter().any(|f| f.outcome == Outcome::AR) || index_doc.is_none();
    let mut results: Vec<RecordResult> = Vec::new();
    if !rejected_early && let Some(ix) = &index_doc {
        let shared = Shared {
            config,
            reference,
            generation,
            index_set: ix.service_event_type.clone(),
            interaction_type: ix.interaction_type.clone(),
            archive_name: parsed_name.clone(),
            archive_file: file_name.clone(),
        };
        results = run_records(&mut zip, &pairs, &shared);
    }

    // Archive-wide rows that need every record.
    let mut tail: Vec<Finding> = Vec::new();
    let mut skipped: Skipped = Skipped::new();
    if !rejected_early {
        // U-02 within the archive.
        let keys: Vec<(String, String, String)> = results
            .iter()
            .map(|r| {
                let file = if r.report.claim_file.is_empty() {
                    &r.report.data_file
                } else {
                    &r.report.claim_file
                };
                (
                    file.clone(),
                    r.report.insurer.clone(),
                    r.report.voucher.clone(),
                )
            })
            .collect();
        for (i, mut f) in duplicates::duplicate_vouchers(&keys) {
            if let Some(outcome) = config.override_for(f.code) {
                catalogue::apply_override(&mut f, outcome);
            }
            if let Some(r) = results.get_mut(i) {
                r.findings.push(f);
            }
        }
        for r in &results {
            skipped.extend(r.skipped.iter().copied());
        }
        // H-02: AR when no insurer in the archive is a client.
        let with_claims: Vec<&RecordResult> = results.iter().filter(|r| r.checked_master).collect();
        if !with_claims.is_empty()
            && with_claims
                .iter()
                .all(|r| r.findings.iter().any(|f| f.code == "D-01"))
        {
            let mut f = finding(
                "H-02",
                &file_name,
                "",
                "",
                "アーカイブ内に当機関の委託元の保険者が一つもありません",
                "No insurer in this archive is a client of this agency",
            );
            catalogue::apply_override(&mut f, Outcome::AR);
            tail.push(f);
        }
        // T-04 per service month, for checkups. A guidance CDA carries the start of the
        // guidance, not the date of the session being claimed (a final evaluation comes
        // months later), so its deadline cannot be judged from the record.
        let mut months: BTreeMap<(i32, u32), usize> = BTreeMap::new();
        for r in results.iter().filter(|_| index_set == "1") {
            if let Some(d) = Date::parse(&r.report.service_date) {
                *months.entry((d.year, d.month)).or_default() += 1;
            }
        }
        for (month, n) in months {
            transport::check_deadline(&file_name, month, n, config, &mut tail);
        }
        // S-02 … S-07 over the claims. Amounts are compared only when every claim could
        // be read: a returned, unreadable claim is that record's problem, not the summary's.
        if let Some((file, s)) = &summary_doc {
            let mut totals = ClaimTotals::default();
            for r in results.iter().filter(|r| r.has_claim) {
                totals.add(&r.report.amounts);
            }
            let claim_files = results
                .iter()
                .filter(|r| !r.report.claim_file.is_empty())
                .count();
            let unreadable = claim_files.saturating_sub(totals.claims as usize);
            totals.claims = claim_files as u64;
            let consistent = !results
                .iter()
                .any(|r| r.findings.iter().any(|f| f.code == "C-07"));
            let mut found = Vec::new();
            summary::check_summary(file, s, &index_set, &totals, consistent, &mut found);
            if unreadable > 0 {
                found.retain(|f| matches!(f.code, "S-01" | "S-02" | "S-07"));
                tail.push(info(
                    "S-03",
                    file,
                    "/summary",
                    "",
                    &format!("読み取れない決済ファイルが{unreadable}件あるため、S-03〜S-06の金額照合を省略しました"),
                    &format!("{unreadable} claim files could not be read, so the amounts (S-03 to S-06) were not compared"),
                ));
            }
            tail.extend(found);
        }
    } else if let Some((file, s)) = &summary_doc {
        // S-01 only: the claims were not read.
        if s.service_event_type != index_set && !index_set.is_empty() {
            let mut only = Vec::new();
            summary::check_summary(
                file,
                s,
                &index_set,
                &ClaimTotals::default(),
                true,
                &mut only,
            );
            tail.extend(only.into_iter().filter(|f| f.code == "S-01"));
        }
    }
    for (code, missing) in &skipped {
        let (ja, en) = missing.names();
        tail.push(info(
            code,
            &file_name,
            "",
            "",
            &format!("{ja}が読み込まれていないため、このチェックを省略しました"),
            &format!("Skipped: no {en} loaded"),
        ));
    }
    apply_overrides(&mut tail, config);

    // Outcomes.
    let archive_rejected = head
        .iter()
        .chain(tail.iter())
        .any(|f| f.outcome == Outcome::AR)
        || results
            .iter()
            .any(|r| r.findings.iter().any(|f| f.outcome == Outcome::AR));
    let mut records: Vec<RecordReport> = Vec::with_capacity(results.len());
    let mut findings: Vec<Finding> = head;
    findings.append(&mut tail);
    for mut r in results {
        let (outcome, reason) = record_outcome(&r.findings);
        r.report.outcome = outcome;
        r.report.return_reason = reason;
        findings.append(&mut r.findings);
        records.push(r.report);
    }
    let mut counts = Counts {
        records: if rejected_early {
            pairs.len()
        } else {
            records.len()
        },
        ..Counts::default()
    };
    for r in &records {
        match r.outcome {
            RecordOutcome::Accepted => counts.accepted += 1,
            RecordOutcome::Returned => counts.returned += 1,
            RecordOutcome::Held => counts.held += 1,
        }
    }
    if archive_rejected {
        counts.accepted = 0;
    }
    // S-08: the receipt echoes only what was accepted.
    if !archive_rejected && let Some((file, _)) = &summary_doc {
        let accepted_claim: u64 = records
            .iter()
            .filter(|r| r.outcome == RecordOutcome::Accepted)
            .map(|r| r.amounts.claim)
            .sum();
        let mut s8 = Vec::new();
        summary::receipt_note(
            file,
            counts.accepted,
            counts.records,
            accepted_claim,
            &mut s8,
        );
        apply_overrides(&mut s8, config);
        findings.append(&mut s8);
    }
    for f in &findings {
        match f.severity {
            Severity::Error => counts.errors += 1,
            Severity::Warning => counts.warnings += 1,
            Severity::Info => {}
        }
    }
    let verdict = if archive_rejected || counts.accepted == 0 {
        Verdict::Rejected
    } else if counts.accepted == counts.records {
        Verdict::Accepted
    } else {
        Verdict::PartiallyAccepted
    };
    for f in &findings {
        sink.finding(f);
    }
    for r in &records {
        sink.record(r);
    }
    let report = Report {
        archive: info_block,
        verdict,
        counts,
        records,
        findings,
    };
    sink.finish(&report);
    report
}

/// Opens and checks an archive file.
pub fn check_path(
    path: &Path,
    config: &CheckConfig,
    reference: &dyn ReferenceData,
    sink: &mut dyn Sink,
) -> std::io::Result<Report> {
    let file = std::fs::File::open(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(check_archive(
        &name,
        std::io::BufReader::new(file),
        config,
        reference,
        sink,
    ))
}

/// Whether a top-level path is an index or summary file of a version other than V08.
fn is_other_version(path: &str) -> bool {
    let Some(stem) = path.strip_suffix(".xml") else {
        return false;
    };
    let b = stem.as_bytes();
    (stem.starts_with("ix") || stem.starts_with("su"))
        && b.len() == 8
        && b.get(4) == Some(&b'_')
        && b.get(5) == Some(&b'V')
        && [2, 3, 6, 7]
            .iter()
            .all(|&i| b.get(i).is_some_and(u8::is_ascii_digit))
        && &stem[5..] != "V08"
}

/// SHA-256 of the whole reader, which is then rewound.
fn hash_reader<R: Read + Seek>(reader: &mut R) -> std::io::Result<String> {
    reader.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or(&[]));
    }
    reader.seek(SeekFrom::Start(0))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Reads one entry, turning a read failure into an archive finding.
fn read_entry<R: Read + Seek>(
    zip: &mut Archive<R>,
    entry: &Entry,
    archive: &str,
    out: &mut Vec<Finding>,
) -> Option<Vec<u8>> {
    match zip.read(entry) {
        Ok(b) => Some(b),
        Err(issue) => {
            out.push(archive::issue_finding(archive, &issue));
            None
        }
    }
}

/// Applies the agency's outcome overrides.
fn apply_overrides(findings: &mut [Finding], config: &CheckConfig) {
    if config.outcome_overrides.is_empty() {
        return;
    }
    for f in findings {
        if let Some(o) = config.override_for(f.code) {
            catalogue::apply_override(f, o);
        }
    }
}

/// What happens to a record given its findings.
fn record_outcome(findings: &[Finding]) -> (RecordOutcome, Option<crate::finding::ReturnReason>) {
    if let Some(f) = findings.iter().find(|f| f.outcome == Outcome::FR) {
        return (RecordOutcome::Returned, f.return_reason);
    }
    if findings.iter().any(|f| f.outcome == Outcome::CI) {
        return (RecordOutcome::Held, None);
    }
    (RecordOutcome::Accepted, None)
}

/// A data/claim pair by entry.
#[derive(Debug, Clone)]
struct Pair {
    data: Option<Entry>,
    claim: Option<Entry>,
}

/// Pairs DATA and CLAIMS files by their name without the prefix letter (P-03): data files
/// in archive order, then claims without a data file.
fn make_pairs(entries: &[Entry], claims_expected: bool) -> Vec<Pair> {
    let mut claims: HashMap<String, &Entry> = HashMap::new();
    let mut claim_order: Vec<&Entry> = Vec::new();
    for e in entries.iter().filter(|e| e.role == EntryRole::Claim) {
        let key = pairing::pair_key(e.path.as_deref().unwrap_or(&e.name)).to_string();
        claims.entry(key).or_insert(e);
        claim_order.push(e);
    }
    let mut used: std::collections::HashSet<usize> = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for d in entries.iter().filter(|e| e.role == EntryRole::Data) {
        let key = pairing::pair_key(d.path.as_deref().unwrap_or(&d.name));
        let claim = claims
            .get(key)
            .filter(|c| !used.contains(&c.index))
            .map(|c| (*c).clone());
        if let Some(c) = &claim {
            used.insert(c.index);
        }
        let _ = claims_expected;
        pairs.push(Pair {
            data: Some(d.clone()),
            claim,
        });
    }
    for c in claim_order {
        if !used.contains(&c.index) {
            pairs.push(Pair {
                data: None,
                claim: Some(c.clone()),
            });
        }
    }
    pairs
}

/// What every worker shares.
struct Shared<'a> {
    config: &'a CheckConfig,
    reference: &'a dyn ReferenceData,
    generation: Option<Generation>,
    index_set: String,
    interaction_type: String,
    archive_name: Option<ArchiveName>,
    /// The archive's file name, for findings on its entries.
    archive_file: String,
}

/// One pair's stored (still compressed) entries on their way to a worker, which inflates
/// them: inflating is about an eighth of the work, and done on the reading thread it
/// competed with the workers for the cores.
struct Job {
    seq: usize,
    data_path: String,
    /// The DATA entry as read, or why it could not be read (an A finding).
    data: Option<Result<StoredEntry, ArchiveIssue>>,
    claim_path: String,
    claim: Option<Result<StoredEntry, ArchiveIssue>>,
}

impl Job {
    /// Bytes the pair's entries hold in memory.
    fn held_bytes(&self) -> usize {
        let of = |e: &Option<Result<StoredEntry, ArchiveIssue>>| match e {
            Some(Ok(entry)) => entry.held_bytes(),
            _ => 0,
        };
        of(&self.data).saturating_add(of(&self.claim))
    }
}

/// A pair's entries inflated, with the findings made while reading and inflating them
/// (A-01 / A-09 on an entry), DATA's before CLAIMS's as when the reading thread inflated.
struct Inflated {
    data: Option<Vec<u8>>,
    claim: Option<Vec<u8>>,
    read_findings: Vec<Finding>,
}

impl Job {
    /// Inflates both entries (on the worker's thread).
    fn inflate(&mut self, archive: &str) -> Inflated {
        let mut read_findings = Vec::new();
        let mut inflate = |slot: Option<Result<StoredEntry, ArchiveIssue>>| match slot? {
            Ok(stored) => match stored.inflate() {
                Ok(bytes) => Some(bytes),
                Err(issue) => {
                    read_findings.push(archive::issue_finding(archive, &issue));
                    None
                }
            },
            Err(issue) => {
                read_findings.push(archive::issue_finding(archive, &issue));
                None
            }
        };
        let data = inflate(self.data.take());
        let claim = inflate(self.claim.take());
        Inflated {
            data,
            claim,
            read_findings,
        }
    }
}

/// What a worker returns for one pair.
struct RecordResult {
    seq: usize,
    report: RecordReport,
    findings: Vec<Finding>,
    skipped: Skipped,
    has_claim: bool,
    /// Whether stage D ran (for H-02's archive-level AR).
    checked_master: bool,
}

/// Reads the pairs' stored bytes sequentially and inflates and checks them on worker
/// threads; results in order.
fn run_records<R: Read + Seek>(
    zip: &mut Archive<R>,
    pairs: &[Pair],
    shared: &Shared<'_>,
) -> Vec<RecordResult> {
    let workers = shared
        .config
        .workers
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let mut read_job = |seq: usize, pair: &Pair| -> Job {
        let path_of = |e: &Option<Entry>| {
            e.as_ref()
                .map(|e| e.path.clone().unwrap_or_else(|| e.name.clone()))
                .unwrap_or_default()
        };
        // Only the stored bytes are read here; the worker inflates them.
        let data = pair.data.as_ref().map(|e| zip.read_stored(e));
        let claim = pair.claim.as_ref().map(|e| zip.read_stored(e));
        Job {
            seq,
            data_path: path_of(&pair.data),
            data,
            claim_path: path_of(&pair.claim),
            claim,
        }
    };
    let mut results: Vec<RecordResult> = Vec::with_capacity(pairs.len());
    if workers == 1 || pairs.len() < 4 {
        for (seq, pair) in pairs.iter().enumerate() {
            let job = read_job(seq, pair);
            results.push(check_record_guarded(job, shared));
        }
        return results;
    }
    // Pairs travel in small batches: one hand-over (a futex wake and a context switch on
    // a busy machine) per batch instead of per pair. A batch is one pair, or several
    // holding at most `BATCH_BYTES` together, so the queue's memory bound is the one of
    // single pairs.
    const BATCH_PAIRS: usize = 8;
    const BATCH_BYTES: usize = 256 << 10;
    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Job>>(workers * 2);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (res_tx, res_rx) = mpsc::channel::<RecordResult>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            scope.spawn(move || {
                loop {
                    let batch = {
                        let Ok(rx) = job_rx.lock() else { return };
                        match rx.recv() {
                            Ok(b) => b,
                            Err(_) => return,
                        }
                    };
                    for job in batch {
                        if res_tx.send(check_record_guarded(job, shared)).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        drop(res_tx);
        // Only the workers hold the receiver now: if they all stopped, sending fails
        // instead of blocking forever.
        drop(job_rx);
        let mut batch: Vec<Job> = Vec::with_capacity(BATCH_PAIRS);
        let mut batch_bytes = 0usize;
        for (seq, pair) in pairs.iter().enumerate() {
            let job = read_job(seq, pair);
            let bytes = job.held_bytes();
            if !batch.is_empty()
                && (batch.len() >= BATCH_PAIRS || batch_bytes.saturating_add(bytes) > BATCH_BYTES)
            {
                if job_tx.send(std::mem::take(&mut batch)).is_err() {
                    break;
                }
                batch_bytes = 0;
            }
            batch_bytes = batch_bytes.saturating_add(bytes);
            batch.push(job);
        }
        if !batch.is_empty() {
            // Fails only when every worker stopped, which the results then show.
            let _ = job_tx.send(batch);
        }
        drop(job_tx);
        results.extend(res_rx.iter());
    });
    results.sort_by_key(|r| r.seq);
    results
}

/// [`check_record`], turning a panic (a bug, never expected) into a held record with a
/// finding, so that one record can neither crash nor hang the whole run.
fn check_record_guarded(job: Job, shared: &Shared<'_>) -> RecordResult {
    let seq = job.seq;
    let data_file = job.data_path.clone();
    let claim_file = job.claim_path.clone();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_record(job, shared))) {
        Ok(r) => r,
        Err(_) => {
            let file = if data_file.is_empty() {
                claim_file.clone()
            } else {
                data_file.clone()
            };
            let f = catalogue::finding_with_outcome(
                "X-02",
                Outcome::CI,
                &file,
                "",
                "",
                "内部エラーのためこの記録を点検できませんでした。当機関で確認します",
                "This record could not be checked because of an internal error; the agency will review it",
            );
            RecordResult {
                seq,
                report: RecordReport {
                    data_file,
                    claim_file,
                    insurer: String::new(),
                    voucher: String::new(),
                    outcome: RecordOutcome::Held,
                    return_reason: None,
                    amounts: RecordAmounts::default(),
                    service_date: String::new(),
                },
                findings: vec![f],
                skipped: Skipped::new(),
                has_claim: false,
                checked_master: false,
            }
        }
    }
}

/// Reads a claim (either kind) from its tree.
struct ClaimReader;

impl TreeReader for ClaimReader {
    type Out = Result<ClaimDoc, daiko_format::FormatError>;
    fn read<D: daiko_format::tree::XmlDocument>(&self, doc: &D, kind: DocumentKind) -> Self::Out {
        match kind {
            DocumentKind::CheckupClaim => read::read_checkup_claim(doc).map(ClaimDoc::Checkup),
            _ => read::read_guidance_claim(doc).map(ClaimDoc::Guidance),
        }
    }
}

/// Reads a CDA from its tree: the document without its entries, and the observation
/// views straight from the tree (the body is not needed as an owned tree; cheaper by a
/// quarter of a CDA's reading cost).
struct DataReader;

impl TreeReader for DataReader {
    type Out = Result<
        (daiko_format::model::ClinicalDocument, LentObservations),
        daiko_format::FormatError,
    >;
    fn read<D: daiko_format::tree::XmlDocument>(&self, doc: &D, _: DocumentKind) -> Self::Out {
        let read = read::read_cda_without_entries(doc)?;
        let mut observations = LentObservations(SPARE_OBSERVATIONS.take());
        daiko_format::cda::observations_into(doc, &mut observations.0);
        Ok((read, observations))
    }
}

thread_local! {
    /// The observation vector of this worker's previous data file, whose strings the
    /// next file's observations overwrite instead of allocating their own (about half
    /// of a record's allocations otherwise).
    static SPARE_OBSERVATIONS: std::cell::Cell<Vec<daiko_format::cda::Observation>> =
        const { std::cell::Cell::new(Vec::new()) };
}

/// A data file's observations, given back to [`SPARE_OBSERVATIONS`] when the record is done.
struct LentObservations(Vec<daiko_format::cda::Observation>);

impl Drop for LentObservations {
    fn drop(&mut self) {
        SPARE_OBSERVATIONS.set(std::mem::take(&mut self.0));
    }
}

/// Inflates one pair and checks it: P, X, H, M, C, D, U.
fn check_record(mut job: Job, shared: &Shared<'_>) -> RecordResult {
    let config = shared.config;
    let inflated = job.inflate(&shared.archive_file);
    let mut out: Vec<Finding> = inflated.read_findings;
    let mut skipped = Skipped::new();
    let guidance = shared.index_set == "2";
    let mut report = RecordReport {
        data_file: job.data_path.clone(),
        claim_file: job.claim_path.clone(),
        insurer: String::new(),
        voucher: String::new(),
        outcome: RecordOutcome::Accepted,
        return_reason: None,
        amounts: RecordAmounts::default(),
        service_date: String::new(),
    };
    let result = |out: Vec<Finding>,
                  report: RecordReport,
                  skipped: Skipped,
                  has_claim: bool,
                  checked_master: bool| {
        let mut findings = out;
        apply_overrides(&mut findings, config);
        RecordResult {
            seq: job.seq,
            report,
            findings,
            skipped,
            has_claim,
            checked_master,
        }
    };

    // P-01 / P-02 names, P-03 pairing.
    for path in [&job.data_path, &job.claim_path] {
        if !path.is_empty() {
            pairing::check_file_name(path, guidance, shared.archive_name.as_ref(), &mut out);
        }
    }
    if job.data_path.is_empty() {
        pairing::unpaired(&job.claim_path, &mut out);
    } else if job.claim_path.is_empty() && config.claims_expected {
        pairing::unpaired(&job.data_path, &mut out);
    }

    // X on the claim, then read it.
    let mut claim: Option<ClaimDoc> = None;
    let mut usable = true;
    if let Some(bytes) = &inflated.claim {
        let before = out.len();
        match check_file(
            &job.claim_path,
            bytes,
            Expected::Claim,
            shared.generation,
            &config.parse_limits,
            config.xml_reader,
            &mut out,
            &ClaimReader,
        ) {
            Some((p, read)) => {
                pairing::check_kind(&job.claim_path, p.kind, &shared.index_set, &mut out);
                match read {
                    Ok(c) => claim = Some(c),
                    Err(e) => out.push(reader_failure(&job.claim_path, &e)),
                }
            }
            None => usable = false,
        }
        if out.len() > before && out[before..].iter().any(|f| f.outcome == Outcome::AR) {
            usable = false;
        }
    } else if !job.claim_path.is_empty() {
        usable = false;
    }
    if let Some(c) = &claim {
        report.amounts = c.amounts();
        report.insurer = c.subject().insurance_card.insurer_number.extension.clone();
        report.voucher = c.voucher().map(|v| v.extension.clone()).unwrap_or_default();
    }
    let has_claim = claim.is_some();

    // X on the data file, then read it.
    let Some(bytes) = &inflated.data else {
        return result(out, report, skipped, has_claim, false);
    };
    let parsed = check_file(
        &job.data_path,
        bytes,
        Expected::Data,
        shared.generation,
        &config.parse_limits,
        config.xml_reader,
        &mut out,
        &DataReader,
    );
    let Some((p, read)) = parsed else {
        return result(out, report, skipped, has_claim, false);
    };
    pairing::check_kind(&job.data_path, p.kind, &shared.index_set, &mut out);
    let (doc, observations) = match read {
        Ok(d) => d,
        Err(e) => {
            out.push(reader_failure(&job.data_path, &e));
            return result(out, report, skipped, has_claim, false);
        }
    };
    let service_raw = doc
        .service_event
        .as_ref()
        .map(|e| e.effective_time.clone())
        .unwrap_or_default();
    let service_date = service_raw.get(0..8).and_then(Date::parse);
    report.service_date = service_date.map(|d| d.compact()).unwrap_or_default();
    if report.insurer.is_empty() {
        report.insurer = doc
            .patient
            .id(daiko_format::model::oid::INSURER)
            .unwrap_or("")
            .to_string();
    }
    // Schema violations do not stop the record: the reader is lenient, and the
    // content checks then name the problem in the clerk's terms (H-05 rather than only
    // "attribute code is not one of 1, 2"). A file that could not be parsed or classified
    // (X-01, X-03, X-04, X-05, A-10, P-05) or an AR stops it.
    let stopping = |f: &Finding| {
        f.outcome == Outcome::AR
            || (f.outcome == Outcome::FR
                && matches!(f.code, "X-01" | "X-03" | "X-04" | "X-05" | "A-10" | "P-05"))
    };
    if !usable || out.iter().any(stopping) {
        // A file the format checks cannot read is not checked further.
        if report.voucher.is_empty() {
            let kind = if guidance { "2" } else { "1" };
            report.voucher = doc
                .vouchers
                .iter()
                .find(|v| v.function_code == kind)
                .map(|v| v.id.extension.clone())
                .unwrap_or_default();
        }
        return result(out, report, skipped, has_claim, false);
    }

    // the generation must be the one of the service's fiscal year (decision 1).
    if let (Some(d), Some(g)) = (service_date, shared.generation)
        && Generation::for_fiscal_year(d.fiscal_year()) != g
        && has_claim
    {
        out.push(finding(
            "X-03",
            &job.claim_path,
            "",
            g.namespace(),
            &format!(
                "{}年度の実施分は{}年様式の名前空間で作成してください",
                d.fiscal_year(),
                Generation::for_fiscal_year(d.fiscal_year()).as_str()
            ),
            &format!(
                "Services of FY{} must use the {} namespace",
                d.fiscal_year(),
                Generation::for_fiscal_year(d.fiscal_year()).as_str()
            ),
        ));
    }

    let r = RecordInput {
        data_file: &job.data_path,
        claim_file: &job.claim_path,
        doc: &doc,
        claim: claim.as_ref(),
        service_date,
        index_service_event_type: &shared.index_set,
        archive_name: shared.archive_name.as_ref(),
        reception_date: config.reception_date,
    };
    if report.voucher.is_empty() {
        report.voucher = r.voucher_number().to_string();
    }
    pairing::check_pair_content(&r, &mut out);
    header::check_header(&r, &mut out);

    // M: items.
    let items_input = ItemCheckInput {
        file: &job.data_path,
        doc: &doc,
        observations: &observations.0,
        checkup_claim: match &claim {
            Some(ClaimDoc::Checkup(c)) => Some(c),
            _ => None,
        },
        guidance_claim: match &claim {
            Some(ClaimDoc::Guidance(c)) => Some(c),
            _ => None,
        },
        fiscal_year: service_date.map(Date::fiscal_year),
    };
    check_items(&items_input, &mut out);

    // C, D, U.
    let md = master::lookup(&r, shared.reference);
    let refs = ClaimReference {
        contracts: md.contracts.as_deref(),
        vouchers: md.vouchers.as_deref(),
    };
    match &claim {
        Some(ClaimDoc::Checkup(c)) => {
            claim::check_checkup_claim(&r, c, &refs, &mut skipped, &mut out)
        }
        Some(ClaimDoc::Guidance(c)) => {
            claim::check_guidance_claim(&r, c, &refs, &mut skipped, &mut out)
        }
        None => {}
    }
    master::check_master(&r, &md, shared.reference, &mut skipped, &mut out);
    duplicates::check_history(
        &r,
        &shared.interaction_type,
        shared.reference,
        &mut skipped,
        &mut out,
    );
    result(out, report, skipped, has_claim, true)
}
