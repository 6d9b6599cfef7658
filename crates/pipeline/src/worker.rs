//! The job worker: claims durable jobs and runs them, each completing in the same
//! transaction as its effects (S23: a crash anywhere resumes exactly once).
//!
//! Jobs (kind, subject):
//! * `check` (submission id) — marks the submission `checking`, prefetches a
//!   [`DbReference`], runs `daiko_check::check_archive` on a blocking thread (a panic is a
//!   job failure, not a crash), stores the JSON report (`reports/<id>.json`, the shape of
//!   `daiko check --format json`), then in one transaction: one record row per report
//!   record, the verdict and counts, the `route` job, the audit row `submission.check`,
//!   and the job's completion. If the lease was lost meanwhile, everything rolls back.
//! * `route` (submission id) — for insurers with `immediate` batching, one 種別3 per
//!   insurer from the accepted records and one 種別11 per insurer for held ones; one 種別2
//!   for all returned records to the submitting institution. Delivery ids and blob keys
//!   are derived from (submission, 種別, recipient), so a re-run after a crash overwrites
//!   the same blobs; the delivery rows, record states and job completion commit together.
//! * `batch` (`<insurer>:<period>`) — for `daily` (period `YYYYMMDD`) and `monthly`
//!   (`YYYYMM`) insurers: one 種別3 per schema generation and 実施区分 from the insurer's
//!   accepted, undelivered records of submissions received before the period's end (JST).
//!   [`enqueue_due_batches`] creates these jobs; the server calls it periodically.
//!
//! Insurer services (Org.services):
//! * **no `check`** — routing without content checks. The archive is still checked (the
//!   checker cannot skip per insurer) but against none of that insurer's reference data,
//!   and a record of that insurer is accepted whatever the content findings say, as long
//!   as the record is structurally readable: no finding of stage T or A, and none of
//!   X-01…X-05, P-03, P-05 (the insurer's system must be able to read what it gets). Its
//!   content findings are kept in the report, downgraded to W (informational for the
//!   insurer), and counts and verdict are recomputed. A rejected archive stays rejected.
//! * **no `route`** — no 種別3 and no 種別11 archives: its accepted and held records stay
//!   undelivered (the agency hands them over by other means). Returns (種別2) to the
//!   institution are made regardless: they are the institution's answer.
//!
//! 過誤 (種別4/5 from an insurer): the check job stores the request records that passed
//! in state [`REQUEST_STATE`]; the `route` job makes each an offset on the forwarded record
//! it names (`billing::add_offset`, idempotent) instead of routing (see `kago_job`).
//!
//! Failures retry with backoff (5 s × attempts) and give up after 5 attempts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;
use std::time::Duration;

use daiko_check::finding::{Outcome, Severity};
use daiko_check::report::{Counts, RecordOutcome, Report, Verdict};
use daiko_check::sink::NullSink;
use daiko_check::{CheckConfig, Date};
use daiko_store::audit::AuditEntry;
use daiko_store::jobs::Job;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::submissions::{NewDelivery, RecordRow, Submission};
use daiko_store::{Store, StoreError};
use thiserror::Error;

use crate::intake::jst;
use crate::reference::{ClaimFacts, DbReference};
use crate::route::{
    BuiltArchive, OutputKind, OutputRecord, RouteError, build_archive, extract_records,
};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// 代行機関番号 (8 digits): the sender of every archive the agency builds.
    pub agency_number: String,
    /// Unique per worker (e.g. `host:pid:n`): the lease owner.
    pub owner: String,
    /// How long a claimed job is ours before another worker may take it over.
    pub lease: Duration,
    /// Check configuration template; the reception date is set per submission (the JST
    /// day it was received) and the agency number from `agency_number`.
    pub check: CheckConfig,
    /// How often an idle worker looks for jobs.
    pub poll: Duration,
    /// Malware scanner run before a check opens an archive (S21); `None`: not scanned.
    pub scan: Option<crate::scan::Scanner>,
}

impl WorkerConfig {
    /// Defaults for an agency: 5-minute lease, 1-second polling.
    pub fn new(agency_number: &str, owner: &str) -> WorkerConfig {
        WorkerConfig {
            agency_number: agency_number.to_string(),
            owner: owner.to_string(),
            lease: Duration::from_secs(300),
            check: CheckConfig::for_agency(agency_number),
            poll: Duration::from_secs(1),
            scan: None,
        }
    }
}

/// Why a job failed (it is retried with backoff).
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("writing the report: {0}")]
    Report(String),
    #[error("the check stopped unexpectedly: {0}")]
    Panic(String),
    #[error("reference lookups failed during the check: {0}")]
    Lookup(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("bad job subject {0:?}")]
    Subject(String),
}

/// Job kinds this worker runs.
pub const KINDS: [&str; 3] = ["check", "route", "batch"];
const MAX_ATTEMPTS: i64 = 5;

/// Runs ready jobs until none is left; answers how many ran (including failed runs).
pub async fn run_until_idle(store: &Store, cfg: &WorkerConfig) -> Result<usize, PipelineError> {
    let mut n = 0;
    while let Some(job) = store.claim_job(&cfg.owner, &KINDS, cfg.lease).await? {
        run_job(store, cfg, &job).await?;
        n += 1;
    }
    Ok(n)
}

/// Runs jobs until `shutdown` turns true, polling every `cfg.poll` when idle.
pub async fn run(
    store: Store,
    cfg: WorkerConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match store.claim_job(&cfg.owner, &KINDS, cfg.lease).await {
            Ok(Some(job)) => {
                if let Err(e) = run_job(&store, &cfg, &job).await {
                    tracing::error!(job = job.id, "could not record the job's failure: {e}");
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("claiming a job: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.poll) => {}
            _ = store.job_added() => {}
            r = shutdown.changed() => if r.is_err() { return },
        }
    }
}

/// Runs one claimed job; its own failure is recorded with [`Store::fail_job`] (the
/// returned error is only a failure to record that).
pub async fn run_job(store: &Store, cfg: &WorkerConfig, job: &Job) -> Result<(), PipelineError> {
    let renew = {
        let store = store.clone();
        let job = job.clone();
        let lease = cfg.lease;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                if !matches!(store.renew_lease(&job, lease).await, Ok(true)) {
                    return;
                }
            }
        })
    };
    let started = std::time::Instant::now();
    let result = match job.kind.as_str() {
        "check" => check_job(store, cfg, job).await,
        "route" => route_job(store, cfg, job).await,
        "batch" => batch_job(store, cfg, job).await,
        other => Err(PipelineError::Subject(format!("unknown job kind {other}"))),
    };
    renew.abort();
    tracing::debug!(
        job = job.id,
        kind = %job.kind,
        ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "job ran"
    );
    if let Err(e) = result {
        tracing::warn!(job = job.id, kind = %job.kind, subject = %job.subject, "job failed: {e}");
        let backoff = Duration::from_secs(5 * u64::try_from(job.attempts.max(1)).unwrap_or(1));
        store
            .fail_job(job, &e.to_string(), backoff, MAX_ATTEMPTS)
            .await?;
    }
    Ok(())
}

async fn submission(store: &Store, id: &str) -> Result<Submission, PipelineError> {
    store
        .submission(id)
        .await?
        .ok_or_else(|| PipelineError::NotFound(format!("submission {id}")))
}

/// The JST calendar day of a stored UTC timestamp.
fn jst_date_of(ts: &str) -> Option<Date> {
    let z = daiko_store::parse_ts(ts)?.to_zoned(jst());
    Date::new(
        i32::from(z.year()),
        u32::try_from(z.month()).ok()?,
        u32::try_from(z.day()).ok()?,
    )
}

/// Codes that make a record unreadable for its receiver (routing without checks keeps
/// these).
fn structural(code: &str) -> bool {
    code.starts_with("T-")
        || code.starts_with("A-")
        || matches!(
            code,
            "X-01" | "X-02" | "X-03" | "X-04" | "X-05" | "P-03" | "P-05"
        )
}

/// Applies "routing without content checks" for insurers that do not subscribe to
/// `check` (module doc). Answers whether anything changed.
pub fn apply_subscriptions(report: &mut Report, unchecked: &HashSet<String>) -> bool {
    if unchecked.is_empty() || report.findings.iter().any(|f| f.outcome == Outcome::AR) {
        return false;
    }
    let mut changed = false;
    for rec in report.records.iter_mut() {
        if rec.outcome == RecordOutcome::Accepted || !unchecked.contains(&rec.insurer) {
            continue;
        }
        let of_record = |f: &daiko_check::Finding| {
            !f.file.is_empty() && (f.file == rec.data_file || f.file == rec.claim_file)
        };
        if report.findings.iter().any(|f| {
            of_record(f) && structural(f.code) && matches!(f.outcome, Outcome::FR | Outcome::CI)
        }) {
            continue;
        }
        for f in report.findings.iter_mut().filter(|f| of_record(f)) {
            if matches!(f.outcome, Outcome::FR | Outcome::CI) {
                f.outcome = Outcome::W;
                f.severity = Severity::Warning;
                f.return_reason = None;
            }
        }
        rec.outcome = RecordOutcome::Accepted;
        rec.return_reason = None;
        changed = true;
    }
    if changed {
        let mut c = Counts {
            records: report.counts.records,
            ..Counts::default()
        };
        for r in &report.records {
            match r.outcome {
                RecordOutcome::Accepted => c.accepted += 1,
                RecordOutcome::Returned => c.returned += 1,
                RecordOutcome::Held => c.held += 1,
            }
        }
        for f in &report.findings {
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => {}
            }
        }
        report.verdict = if c.accepted == 0 {
            Verdict::Rejected
        } else if c.accepted == c.records {
            Verdict::Accepted
        } else {
            Verdict::PartiallyAccepted
        };
        report.counts = c;
    }
    changed
}

fn outcome_str(o: RecordOutcome) -> &'static str {
    match o {
        RecordOutcome::Accepted => "accepted",
        RecordOutcome::Returned => "returned",
        RecordOutcome::Held => "held",
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Accepted => "accepted",
        Verdict::PartiallyAccepted => "partially_accepted",
        Verdict::Rejected => "rejected",
    }
}

fn money(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// One record row per report record (module doc of the store: the start of lineage).
fn record_rows(
    sub: &Submission,
    sender: &str,
    report: &Report,
    facts: &[ClaimFacts],
) -> Vec<RecordRow> {
    let by_claim: HashMap<&str, &ClaimFacts> =
        facts.iter().map(|f| (f.claim_file.as_str(), f)).collect();
    // An archive-level rejection (AR) sends the whole archive back: none of its records is
    // accepted, whatever its own checks said.
    let archive_rejected = report.findings.iter().any(|f| f.outcome == Outcome::AR);
    report
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = by_claim.get(r.claim_file.as_str()).copied();
            let outcome = if archive_rejected {
                "rejected"
            } else {
                outcome_str(r.outcome)
            };
            RecordRow {
                id: String::new(),
                submission_id: sub.id.clone(),
                seq: i as i64,
                data_file: r.data_file.clone(),
                claim_file: r.claim_file.clone(),
                insurer: r.insurer.clone(),
                institution: f
                    .map(|f| f.institution.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| sender.to_string()),
                voucher: r.voucher.clone(),
                card_symbol: f.map(|f| f.card_symbol.clone()).unwrap_or_default(),
                card_number: f.map(|f| f.card_number.clone()).unwrap_or_default(),
                service_event_type: i64::from(report.archive.service_event_type),
                guidance_timing: f.and_then(|f| f.guidance_timing.clone()),
                service_date: r.service_date.clone(),
                fiscal_year: Date::parse(&r.service_date)
                    .map(|d| i64::from(d.fiscal_year()))
                    .unwrap_or(0),
                outcome: outcome.to_string(),
                return_reason: r.return_reason.map(|x| x.code().to_string()),
                state: outcome.to_string(),
                cost: money(r.amounts.cost),
                copayment: money(r.amounts.copayment),
                other_program: money(r.amounts.other_program),
                claim: money(r.amounts.claim),
                delivery_id: None,
            }
        })
        .collect()
}

async fn check_job(store: &Store, cfg: &WorkerConfig, job: &Job) -> Result<(), PipelineError> {
    let sub = submission(store, &job.subject).await?;
    if sub.status == "done" {
        // Effects already committed (cannot happen without the job's completion, but a
        // manual re-queue must not insert records twice).
        let mut tx = store.begin().await?;
        if store.complete_job_in(&mut tx, job).await? {
            tx.commit().await?;
        }
        return Ok(());
    }
    {
        let mut tx = store.begin().await?;
        store
            .set_submission_status(&mut tx, &sub.id, "checking")
            .await?;
        tx.commit().await?;
    }
    let t0 = std::time::Instant::now();
    let bytes = store.blobs().get(&sub.blob_key).await?;
    // S21: scan before anything opens the archive; infected or unscannable stops here.
    if crate::scan::gate(store, cfg.scan.as_ref(), &sub, job, &bytes).await?
        == crate::scan::Gate::Stop
    {
        return Ok(());
    }
    let kago = is_kago_request(archive_interaction_type(&sub.archive_name, &bytes).as_deref());
    let (reference, facts) =
        DbReference::prefetch(store, &sub.id, &sub.archive_name, &bytes, &sub.sha256).await?;
    let t_prefetch = t0.elapsed();
    let mut config = cfg.check.clone();
    config.agency_number = Some(cfg.agency_number.clone());
    if let Some(d) = jst_date_of(&sub.received_at) {
        config.reception_date = d;
    }
    let name = sub.archive_name.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            daiko_check::check_archive(
                &name,
                Cursor::new(bytes),
                &config,
                &reference,
                &mut NullSink,
            )
        }));
        (r, reference)
    })
    .await;
    let (caught, reference) = joined.map_err(|e| PipelineError::Panic(e.to_string()))?;
    let t_check = t0.elapsed();
    let mut report = caught.map_err(|p| {
        PipelineError::Panic(
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into()),
        )
    })?;
    let errors = reference.take_errors();
    if !errors.is_empty() {
        return Err(PipelineError::Lookup(errors.join("; ")));
    }
    if reference.misses() > 0 {
        tracing::debug!(submission = %sub.id, misses = reference.misses(), "reference lookups not prefetched");
    }
    drop(reference);

    // Insurer services.
    let mut unchecked = HashSet::new();
    for insurer in report
        .records
        .iter()
        .map(|r| r.insurer.clone())
        .collect::<HashSet<_>>()
    {
        if let Some(org) = store.org_by_number(&insurer).await?
            && org.kind == OrgKind::Insurer
            && !org.subscribes("check")
        {
            unchecked.insert(insurer);
        }
    }
    apply_subscriptions(&mut report, &unchecked);
    let submitter = store.org(&sub.org_id).await?;
    if kago
        && submitter
            .as_ref()
            .is_none_or(|o| o.kind != OrgKind::Insurer)
    {
        refuse_kago_from_non_insurer(&mut report);
    }

    let mut json = Vec::new();
    daiko_report::write_json(&report, &mut json)
        .map_err(|e| PipelineError::Report(e.to_string()))?;
    let report_key = format!("reports/{}.json", sub.id);
    store
        .blobs()
        .put_for(&sub.org_id, &report_key, &json)
        .await?;

    let sender = store
        .org(&sub.org_id)
        .await?
        .map(|o| o.number)
        .unwrap_or_default();
    let mut rows = record_rows(&sub, &sender, &report, &facts);
    if kago {
        // A 過誤 request that passed is no claim: the route job turns it into an offset.
        for r in rows.iter_mut().filter(|r| r.state == "accepted") {
            r.state = REQUEST_STATE.to_string();
        }
    }
    let counts =
        serde_json::to_string(&report.counts).map_err(|e| PipelineError::Report(e.to_string()))?;
    let verdict = verdict_str(report.verdict);
    let t_blob = t0.elapsed();
    // The insurers' data keys seal the records' numbers; created outside the transaction.
    let mut insurers: Vec<&str> = rows.iter().map(|r| r.insurer.as_str()).collect();
    insurers.sort_unstable();
    insurers.dedup();
    store.prepare_record_keys(&insurers).await?;
    let mut tx = store.begin().await?;
    let t_lock = t0.elapsed();
    store.insert_records_in(&mut tx, &rows).await?;
    let t_insert = t0.elapsed();
    store
        .finish_check_in(&mut tx, &sub.id, verdict, &counts, &report_key)
        .await?;
    store.enqueue_in(&mut tx, "route", &sub.id).await?;
    store
        .audit_in(
            &mut tx,
            &AuditEntry {
                actor: "system".into(),
                role: "system".into(),
                org: sender,
                action: "submission.check".into(),
                target: format!("submission:{}", sub.id),
                records: String::new(),
                source: cfg.owner.clone(),
                detail: serde_json::json!({ "verdict": verdict, "counts": report.counts })
                    .to_string(),
            },
        )
        .await?;
    if !store.complete_job_in(&mut tx, job).await? {
        // Lease lost: another worker owns the job now; dropping the transaction rolls back.
        tracing::warn!(job = job.id, "lease lost; check effects rolled back");
        return Ok(());
    }
    tx.commit().await?;
    tracing::debug!(
        job = job.id,
        prefetch_ms = t_prefetch.as_millis() as u64,
        check_ms = (t_check - t_prefetch).as_millis() as u64,
        report_ms = (t_blob - t_check).as_millis() as u64,
        lock_ms = (t_lock - t_blob).as_millis() as u64,
        insert_ms = (t_insert - t_lock).as_millis() as u64,
        commit_ms = (t0.elapsed() - t_insert).as_millis() as u64,
        "check job phases"
    );
    Ok(())
}

/// The same-day counter `n` for a new archive to `receiver`: archives already made today
/// for it (modulo 10: the name has one digit; an 11th archive of a day reuses 0).
async fn day_counter(
    store: &Store,
    recipient: &Org,
    agency: &str,
    day: &str,
) -> Result<u32, StoreError> {
    let prefix = format!("{agency}_{}_{day}", recipient.number);
    let n = store
        .deliveries(Some(&recipient.id), 10_000)
        .await?
        .iter()
        .filter(|d| d.archive_name.starts_with(&prefix))
        .count();
    Ok(u32::try_from(n % 10).unwrap_or(0))
}

/// Notes (the finding that returned or held a record) from a stored report.
fn record_notes(report_json: &[u8], outcome: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(report_json) else {
        return out;
    };
    let Some(findings) = v.get("findings").and_then(|f| f.as_array()) else {
        return out;
    };
    for f in findings {
        if f.get("outcome").and_then(|o| o.as_str()) != Some(outcome) {
            continue;
        }
        let (Some(file), Some(msg)) = (
            f.get("file").and_then(|x| x.as_str()),
            f.get("message_ja").and_then(|x| x.as_str()),
        ) else {
            continue;
        };
        if !file.is_empty() {
            out.entry(file.to_string())
                .or_insert_with(|| msg.to_string());
        }
    }
    out
}

/// A built archive and the record ids it carries.
struct Planned {
    delivery_id: String,
    recipient: Org,
    built: BuiltArchive,
    record_ids: Vec<String>,
    submission_id: Option<String>,
}

fn now_jst() -> jiff::civil::DateTime {
    jiff::Timestamp::now().to_zoned(jst()).datetime()
}

fn state_for(kind: OutputKind) -> &'static str {
    match kind {
        OutputKind::ToInsurer => "delivered",
        OutputKind::Returned => "returned",
        OutputKind::Confirmation => "held",
    }
}

fn kind_number(kind: OutputKind) -> i64 {
    match kind {
        OutputKind::ToInsurer => 3,
        OutputKind::Returned => 2,
        OutputKind::Confirmation => 11,
    }
}

/// Stores the blobs, then records deliveries, states, audit and the job in one
/// transaction. Answers false when the lease was lost (rolled back).
async fn commit_deliveries(
    store: &Store,
    cfg: &WorkerConfig,
    job: &Job,
    planned: &[Planned],
) -> Result<bool, PipelineError> {
    for p in planned {
        store
            .blobs()
            .put_for(
                &p.recipient.id,
                &format!("deliveries/{}.zip", p.delivery_id),
                &p.built.zip,
            )
            .await?;
    }
    let mut tx = store.begin().await?;
    for p in planned {
        let key = format!("deliveries/{}.zip", p.delivery_id);
        let kind = kind_number(p.built.kind);
        store
            .insert_delivery_in(
                &mut tx,
                &NewDelivery {
                    id: &p.delivery_id,
                    recipient_id: &p.recipient.id,
                    kind,
                    submission_id: p.submission_id.as_deref(),
                    archive_name: &p.built.name,
                    blob_key: &key,
                    sha256: &p.built.sha256,
                    records: p.built.records as i64,
                    claim_total: money(p.built.totals.claim),
                },
                &p.record_ids,
                state_for(p.built.kind),
            )
            .await?;
        store
            .audit_in(
                &mut tx,
                &AuditEntry {
                    actor: "system".into(),
                    role: "system".into(),
                    org: p.recipient.number.clone(),
                    action: "delivery.create".into(),
                    target: format!("delivery:{}", p.delivery_id),
                    records: p.record_ids.join(","),
                    source: cfg.owner.clone(),
                    detail: serde_json::json!({
                        "kind": kind,
                        "archive": p.built.name,
                        "records": p.built.records,
                        "claim_total": p.built.totals.claim,
                    })
                    .to_string(),
                },
            )
            .await?;
    }
    if !store.complete_job_in(&mut tx, job).await? {
        tracing::warn!(job = job.id, "lease lost; deliveries rolled back");
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

async fn route_job(store: &Store, cfg: &WorkerConfig, job: &Job) -> Result<(), PipelineError> {
    let sub = submission(store, &job.subject).await?;
    if store
        .org(&sub.org_id)
        .await?
        .is_some_and(|o| o.kind == OrgKind::Insurer)
    {
        // An insurer sends only 過誤 requests (種別4/5): offsets, no deliveries.
        return kago_job(store, cfg, job, &sub).await;
    }
    let records = store.records_of_submission(&sub.id).await?;
    let pending: Vec<&RecordRow> = records.iter().filter(|r| r.delivery_id.is_none()).collect();
    if sub.verdict.as_deref() == Some("rejected") && pending.iter().all(|r| r.outcome != "returned")
    {
        return finish_empty(store, job).await;
    }
    let institution = store.org(&sub.org_id).await?;
    let mut orgs: HashMap<String, Option<Org>> = HashMap::new();
    for r in &pending {
        if !orgs.contains_key(&r.insurer) {
            orgs.insert(r.insurer.clone(), store.org_by_number(&r.insurer).await?);
        }
    }
    let routable = |insurer: &str| -> Option<&Org> {
        orgs.get(insurer)
            .and_then(Option::as_ref)
            .filter(|o| o.kind == OrgKind::Insurer && o.subscribes("route"))
    };
    // Groups: (kind, recipient number) → records.
    let mut groups: BTreeMap<(OutputKind, String), Vec<&RecordRow>> = BTreeMap::new();
    for r in &pending {
        match r.outcome.as_str() {
            "accepted" => {
                if let Some(o) = routable(&r.insurer)
                    && o.batching == "immediate"
                {
                    groups
                        .entry((OutputKind::ToInsurer, r.insurer.clone()))
                        .or_default()
                        .push(r);
                }
            }
            "held" if routable(&r.insurer).is_some() => {
                groups
                    .entry((OutputKind::Confirmation, r.insurer.clone()))
                    .or_default()
                    .push(r);
            }
            "returned" => {
                if let Some(inst) = &institution
                    && inst.kind == OrgKind::Institution
                {
                    groups
                        .entry((OutputKind::Returned, inst.number.clone()))
                        .or_default()
                        .push(r);
                }
            }
            _ => {}
        }
    }
    if groups.is_empty() {
        return finish_empty(store, job).await;
    }
    let bytes = store.blobs().get(&sub.blob_key).await?;
    let notes_fr;
    let notes_ci;
    {
        let report = match &sub.report_key {
            Some(k) => store.blobs().get(k).await.unwrap_or_default(),
            None => Vec::new(),
        };
        notes_fr = record_notes(&report, "FR");
        notes_ci = record_notes(&report, "CI");
    }
    let created = now_jst();
    let day = created.strftime("%Y%m%d").to_string();
    let mut planned = Vec::new();
    for ((kind, number), recs) in groups {
        let recipient = if kind == OutputKind::Returned {
            institution.clone()
        } else {
            orgs.get(&number).cloned().flatten()
        };
        let Some(recipient) = recipient else { continue };
        let pairs: Vec<(String, String)> = recs
            .iter()
            .map(|r| (r.data_file.clone(), r.claim_file.clone()))
            .collect();
        let files = extract_records(&sub.archive_name, Cursor::new(bytes.as_slice()), &pairs)?;
        let outputs: Vec<OutputRecord> = recs
            .iter()
            .zip(files)
            .map(|(r, files)| {
                let notes = if kind == OutputKind::Confirmation {
                    &notes_ci
                } else {
                    &notes_fr
                };
                OutputRecord {
                    files,
                    return_reason: r.return_reason.clone(),
                    note: notes
                        .get(&r.claim_file)
                        .or_else(|| notes.get(&r.data_file))
                        .cloned(),
                }
            })
            .collect();
        let n = day_counter(store, &recipient, &cfg.agency_number, &day).await?;
        let built = build_archive(kind, &cfg.agency_number, &number, &outputs, created, n)?;
        planned.push(Planned {
            delivery_id: format!("{}-k{}-{}", sub.id, kind_number(kind), number),
            recipient,
            built,
            record_ids: recs.iter().map(|r| r.id.clone()).collect(),
            submission_id: Some(sub.id.clone()),
        });
    }
    commit_deliveries(store, cfg, job, &planned).await?;
    Ok(())
}

async fn finish_empty(store: &Store, job: &Job) -> Result<(), PipelineError> {
    let mut tx = store.begin().await?;
    if store.complete_job_in(&mut tx, job).await? {
        tx.commit().await?;
    }
    Ok(())
}

/// The end (exclusive, UTC) of a batching period `YYYYMMDD` or `YYYYMM` in JST.
fn period_end(period: &str) -> Option<jiff::Timestamp> {
    let digits = period.bytes().all(|b| b.is_ascii_digit());
    let (y, m, d) = match period.len() {
        8 if digits => (
            period[0..4].parse().ok()?,
            period[4..6].parse().ok()?,
            period[6..8].parse().ok()?,
        ),
        6 if digits => (period[0..4].parse().ok()?, period[4..6].parse().ok()?, 1),
        _ => return None,
    };
    let start = jiff::civil::Date::new(y, m, d).ok()?;
    let end = if period.len() == 8 {
        start.tomorrow().ok()?
    } else {
        start.last_of_month().tomorrow().ok()?
    };
    end.to_zoned(jst()).ok().map(|z| z.timestamp())
}

async fn batch_job(store: &Store, cfg: &WorkerConfig, job: &Job) -> Result<(), PipelineError> {
    let (insurer, period) = job
        .subject
        .split_once(':')
        .ok_or_else(|| PipelineError::Subject(job.subject.clone()))?;
    let end = period_end(period).ok_or_else(|| PipelineError::Subject(job.subject.clone()))?;
    let Some(org) = store.org_by_number(insurer).await? else {
        return finish_empty(store, job).await;
    };
    if org.kind != OrgKind::Insurer || !org.subscribes("route") {
        return finish_empty(store, job).await;
    }
    let records = store.undelivered_records(insurer, "accepted").await?;
    // Records of submissions received before the period's end, per submission.
    let mut by_sub: BTreeMap<String, Vec<RecordRow>> = BTreeMap::new();
    for r in records {
        by_sub.entry(r.submission_id.clone()).or_default().push(r);
    }
    // (generation, 実施区分) → (records, their ids)
    type Group = (Vec<OutputRecord>, Vec<String>);
    let mut groups: BTreeMap<(&'static str, u8), Group> = BTreeMap::new();
    for (sid, recs) in by_sub {
        let sub = submission(store, &sid).await?;
        if daiko_store::parse_ts(&sub.received_at).is_none_or(|t| t >= end) {
            continue;
        }
        let bytes = store.blobs().get(&sub.blob_key).await?;
        let pairs: Vec<(String, String)> = recs
            .iter()
            .map(|r| (r.data_file.clone(), r.claim_file.clone()))
            .collect();
        let files = extract_records(&sub.archive_name, Cursor::new(bytes.as_slice()), &pairs)?;
        for (r, files) in recs.iter().zip(files) {
            let key = (
                files.source.generation.as_str(),
                files.source.service_event_type,
            );
            let g = groups.entry(key).or_default();
            g.0.push(OutputRecord {
                files,
                return_reason: None,
                note: None,
            });
            g.1.push(r.id.clone());
        }
    }
    if groups.is_empty() {
        return finish_empty(store, job).await;
    }
    let created = now_jst();
    let day = created.strftime("%Y%m%d").to_string();
    let mut planned = Vec::new();
    let first = day_counter(store, &org, &cfg.agency_number, &day).await?;
    for (i, ((generation, set), (outputs, ids))) in groups.into_iter().enumerate() {
        let n = (first + i as u32) % 10;
        let built = build_archive(
            OutputKind::ToInsurer,
            &cfg.agency_number,
            insurer,
            &outputs,
            created,
            n,
        )?;
        planned.push(Planned {
            delivery_id: format!("batch-{insurer}-{period}-{generation}-{set}"),
            recipient: org.clone(),
            built,
            record_ids: ids,
            submission_id: None,
        });
    }
    commit_deliveries(store, cfg, job, &planned).await?;
    Ok(())
}

/// Enqueues the batching jobs that are due at `now`: for `daily` insurers the previous
/// JST day (`<insurer>:YYYYMMDD`); for `monthly` insurers, from the 5th of a month (the
/// month-close deadline), the previous month (`<insurer>:YYYYMM`). A job of the same
/// subject is created once; a batch takes every undelivered accepted record received
/// before its period's end, so a day the server was down is caught up by the next batch.
/// Answers how many jobs were created.
pub async fn enqueue_due_batches(
    store: &Store,
    now: jiff::Timestamp,
) -> Result<usize, PipelineError> {
    let today = now.to_zoned(jst()).date();
    let mut n = 0;
    for org in store.orgs().await? {
        if org.kind != OrgKind::Insurer || !org.subscribes("route") {
            continue;
        }
        let subject = match org.batching.as_str() {
            "daily" => match today.yesterday() {
                Ok(d) => format!("{}:{}", org.number, d.strftime("%Y%m%d")),
                Err(_) => continue,
            },
            "monthly" if today.day() >= 5 => {
                let first = today.first_of_month();
                match first.yesterday() {
                    Ok(d) => format!("{}:{}", org.number, d.strftime("%Y%m")),
                    Err(_) => continue,
                }
            }
            _ => continue,
        };
        if store.enqueue("batch", &subject).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// The 種別 (別表1) an archive's index declares (`interactionType/@code`), read with the
/// bounded archive reader; `None` when the archive or its index cannot be read (the check
/// then reports why). The archive name does not carry the 種別, only the index does.
pub fn archive_interaction_type(name: &str, bytes: &[u8]) -> Option<String> {
    use daiko_format::archive::{Archive, ArchiveLimits};
    let mut zip = Archive::open(name, Cursor::new(bytes), ArchiveLimits::default());
    let entry = zip
        .entries
        .iter()
        .find(|e| e.path.as_deref() == Some("ix08_V08.xml"))
        .cloned()?;
    let text = zip.read(&entry).ok()?;
    match daiko_format::read::read_document(&text).ok()? {
        daiko_format::model::Document::Index(ix) => Some(ix.interaction_type),
        _ => None,
    }
}

/// A 種別4/5 archive uploaded by anyone but an insurer goes back whole (I-01, AR): its
/// index may name an insurer as sender, but the uploader decides who is asking.
fn refuse_kago_from_non_insurer(report: &mut Report) {
    let file = report.archive.name.clone();
    report
        .findings
        .push(daiko_check::catalogue::finding_with_outcome(
            "I-01",
            Outcome::AR,
            &file,
            "/index/interactionType/@code",
            "",
            "過誤申立て(種別4・5)は保険者だけが送付できます",
            "Only an insurer can send an erroneous-payment request (interaction type 4 or 5)",
        ));
    for r in report.records.iter_mut() {
        if r.outcome == RecordOutcome::Accepted {
            r.outcome = RecordOutcome::Returned;
        }
    }
    report.counts.errors += 1;
    report.counts.returned += report.counts.accepted;
    report.counts.accepted = 0;
    report.verdict = Verdict::Rejected;
}

/// 過誤申立て (種別4/5): an insurer asks to take back records the agency forwarded.
pub fn is_kago_request(interaction_type: Option<&str>) -> bool {
    matches!(interaction_type, Some("4" | "5"))
}

/// State of a record row that is an insurer's 過誤 request (not a claim: never routed,
/// batched or billed; the offset it causes is on the original record).
pub const REQUEST_STATE: &str = "kago_request";

/// 別表10 reason and text of a request claim's `insurerAdjudicationResult`.
fn kago_reason(claim: &[u8]) -> Option<(String, Option<String>)> {
    use daiko_format::model::Document;
    let adj = match daiko_format::read::read_document(claim).ok()? {
        Document::CheckupClaim(c) => c.insurer_adjudication,
        Document::GuidanceClaim(c) => c.insurer_adjudication,
        _ => None,
    }?;
    Some((adj.reason_code, adj.reason_text))
}

/// The `route` job of a 種別4/5 submission: every request record that passed its checks
/// becomes an offset (`billing::add_offset`) on the forwarded record it names (same
/// insurer, voucher, service date and institution; delivered, invoiced or paid), with the
/// request's 別表10 reason (`09` with a note when it has none or an unknown one). A
/// re-run creates nothing new: an original already offset (or withdrawn) counts as done.
/// Refused requests (returned by the check) stay in the insurer's report; nothing is
/// delivered. One audit row `billing.kago` per request record.
async fn kago_job(
    store: &Store,
    cfg: &WorkerConfig,
    job: &Job,
    sub: &Submission,
) -> Result<(), PipelineError> {
    let sender = store.org(&sub.org_id).await?;
    let Some(sender) = sender.filter(|o| o.kind == OrgKind::Insurer) else {
        // Only an insurer's request is a 過誤 (the check refuses others: I-01).
        return finish_empty(store, job).await;
    };
    let records = store.records_of_submission(&sub.id).await?;
    let requests: Vec<&RecordRow> = records
        .iter()
        .filter(|r| r.state == REQUEST_STATE && r.insurer == sender.number)
        .collect();
    if requests.is_empty() {
        return finish_empty(store, job).await;
    }
    let bytes = store.blobs().get(&sub.blob_key).await?;
    let pairs: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.data_file.clone(), r.claim_file.clone()))
        .collect();
    let files = extract_records(&sub.archive_name, Cursor::new(bytes.as_slice()), &pairs)?;
    let actor = format!("insurer:{}", sender.number);
    for (req, files) in requests.iter().zip(files) {
        let (mut code, mut text) = kago_reason(&files.claim).unwrap_or_default();
        if !crate::billing::OFFSET_REASONS
            .iter()
            .any(|(c, _)| *c == code)
        {
            text = Some(format!(
                "過誤申立て(理由コード「{code}」は別表10にないため「その他」)"
            ));
            code = "09".into();
        }
        let original = store
            .records_of_voucher(&req.insurer, &req.voucher)
            .await?
            .into_iter()
            .filter(|o| {
                o.submission_id != sub.id
                    && o.service_date == req.service_date
                    && o.institution == req.institution
                    && o.card_number == req.card_number
                    && matches!(
                        o.state.as_str(),
                        "delivered" | "invoiced" | "paid" | "withdrawn"
                    )
            })
            // A live (not yet offset) original first.
            .min_by_key(|o| (o.state == "withdrawn", o.id.clone()));
        let result = match &original {
            None => "no_original".to_string(),
            Some(o) => match crate::billing::add_offset(
                store,
                &o.id,
                &code,
                text.as_deref().unwrap_or(""),
                &actor,
            )
            .await
            {
                Ok(crate::billing::OffsetOutcome::Offset { .. }) => "offset".into(),
                Ok(crate::billing::OffsetOutcome::Withdrawn { .. }) => "withdrawn".into(),
                // Done by an earlier run (or by an operator): nothing new.
                Err(crate::billing::BillingFlowError::AlreadyOffset(_))
                | Err(crate::billing::BillingFlowError::NotForwarded { .. }) => "already".into(),
                Err(e) => return Err(PipelineError::Subject(format!("過誤 {}: {e}", o.id))),
            },
        };
        store
            .audit(&AuditEntry {
                actor: "system".into(),
                role: "system".into(),
                org: sender.number.clone(),
                action: "billing.kago".into(),
                target: format!("submission:{}", sub.id),
                records: [
                    Some(req.id.clone()),
                    original.as_ref().map(|o| o.id.clone()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(","),
                source: cfg.owner.clone(),
                detail: serde_json::json!({ "reason": code, "result": result }).to_string(),
            })
            .await?;
    }
    finish_empty(store, job).await
}
