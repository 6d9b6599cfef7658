//! Insurer reference data in the database: CSV import ([`import_csv`]) and the checker's
//! [`ReferenceData`] seam answered from the store ([`DbReference`]).
//!
//! ## Import
//! An insurer (or the agency for it) uploads one CSV of docs/reference-data.md at a time:
//! vouchers (受診券/利用券発行台帳), coverage (資格情報) or contracts (契約). The file is
//! parsed with exactly the rules and messages of `daiko check --reference`
//! (`daiko_check::reference::parse_*_csv`), every row must belong to the uploading insurer,
//! and the insurer's data of that kind is replaced in one transaction: all or nothing.
//! Contracts are versioned instead of replaced ([`crate::contracts`]): changed contracts
//! get a new version, contracts the file no longer lists a withdrawn one.
//! Rows keep their file order (`seq` in the stored JSON) so that lookups answer in the
//! order `DirReference` does.
//!
//! ## Prefetch design of [`DbReference`]
//! [`ReferenceData`] is synchronous and the engine calls it from its worker threads, while
//! the store is async. Before a check, [`DbReference::prefetch`] reads the archive cheaply
//! — the archive name (sender, creation date) and every CLAIMS file (insurer, institution,
//! card, voucher; no CDA is parsed) — and loads into memory only the rows those keys can
//! ask for: the organisations, which kinds each insurer has loaded, the ledger rows of
//! each voucher, insured rows of each card, contracts of each (insurer, institution) for
//! the fiscal years of the archive date and the year before, the history rows of each
//! person and voucher, and whether the archive was seen before. The checker then runs on
//! memory only.
//!
//! A key the prefetch could not foresee (a record without a readable claim, whose keys
//! come from the CDA; a service date in another fiscal year) is looked up on demand with
//! `Handle::block_on` from the engine's thread — never from an async task — and cached.
//! A failed lookup cannot be answered honestly (`None` would mean "not loaded" and skip a
//! check): it is remembered and [`DbReference::take_errors`] makes the check job fail
//! and retry instead. [`DbReference::misses`] counts on-demand lookups (tests, logs).
//!
//! Answers: `insurer_is_client` — an insurer org exists with the number and subscribes to
//! `check` or `route` (a route-only insurer is still a client: its records are routed,
//! see `worker`); `Some(false)` for an unknown number; `None` only when the agency has no
//! insurer at all. `institution_is_registered` — an institution org with the number
//! exists (`None` when there are no institutions at all). Vouchers, coverage and contracts
//! answer `None` for an insurer that has not loaded that kind, and also for an insurer
//! that does not subscribe to `check` (its records are not judged against its data).
//! History comes from the `records` table (`active`/`accepted`/`held` → Active), and T-06
//! from submissions received *before* this one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::io::{Cursor, Read, Seek};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use daiko_check::reference::{
    Contract, CoverageRow, PriorRecord, RecordState, ReferenceError, VoucherRecord,
    parse_contracts_csv, parse_coverage_csv, parse_vouchers_csv,
};
use daiko_check::{Date, ReferenceData};
use daiko_format::archive::{Archive, ArchiveLimits, ArchiveName, EntryRole};
use daiko_format::model::DocumentKind;
use daiko_format::read::{self, ParseLimits};
use daiko_store::audit::AuditEntry;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::reference::{InsuredRow, LoadedKinds, VoucherRow};
use daiko_store::submissions::RecordRow;
use daiko_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Which reference file an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// `vouchers.csv` — 受診券/利用券発行台帳.
    Vouchers,
    /// `coverage.csv` — 資格情報.
    Coverage,
    /// `contracts.csv` — 契約.
    Contracts,
}

impl RefKind {
    pub fn file_name(self) -> &'static str {
        match self {
            RefKind::Vouchers => "vouchers.csv",
            RefKind::Coverage => "coverage.csv",
            RefKind::Contracts => "contracts.csv",
        }
    }
    pub fn parse(s: &str) -> Option<RefKind> {
        Some(match s {
            "vouchers" => RefKind::Vouchers,
            "coverage" | "insured" => RefKind::Coverage,
            "contracts" => RefKind::Contracts,
            _ => return None,
        })
    }
}

/// Why an import was refused (nothing was changed).
#[derive(Debug, Error)]
pub enum ImportError {
    /// The file breaks the format; the message names the line and column.
    #[error(transparent)]
    Invalid(#[from] ReferenceError),
    /// A row of another insurer: an insurer loads only its own data.
    #[error(
        "{file}: line {line}, column {column} (insurer_number): insurer {found} is not the uploading insurer {expected}; an insurer can load only its own data"
    )]
    ForeignInsurer {
        file: &'static str,
        line: u64,
        column: usize,
        found: String,
        expected: String,
    },
    /// Reference data belongs to an insurer organisation.
    #[error("{0} is not an insurer")]
    NotInsurer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("encoding a row: {0}")]
    Json(#[from] serde_json::Error),
}

/// A stored row: the parsed value plus its position in the file.
#[derive(Serialize, Deserialize)]
struct Stored<T> {
    seq: usize,
    #[serde(flatten)]
    value: T,
}

/// Imports one CSV for `insurer`, replacing that kind of its data; answers the row count.
pub async fn import_csv(
    store: &Store,
    insurer: &Org,
    kind: RefKind,
    bytes: &[u8],
    by: &str,
) -> Result<usize, ImportError> {
    if insurer.kind != OrgKind::Insurer {
        return Err(ImportError::NotInsurer(insurer.number.clone()));
    }
    let file = kind.file_name();
    let own = format!("{:0>8}", insurer.number);
    let foreign = |found: &str| -> ImportError { foreign_row(file, bytes, found, &own) };
    let rows = match kind {
        RefKind::Vouchers => {
            let list = parse_vouchers_csv(file, bytes)?;
            if let Some(v) = list.iter().find(|v| v.insurer != own) {
                return Err(foreign(&v.insurer));
            }
            let rows = list
                .into_iter()
                .enumerate()
                .map(|(seq, v)| {
                    Ok(VoucherRow {
                        kind: i64::from(v.kind),
                        number: v.number.clone(),
                        card_symbol: v.card_symbol.clone(),
                        card_number: v.card_number.clone(),
                        row_json: serde_json::to_string(&Stored { seq, value: v })?,
                    })
                })
                .collect::<Result<Vec<_>, serde_json::Error>>()?;
            store.replace_vouchers(&own, &rows, by).await?;
            rows.len()
        }
        RefKind::Coverage => {
            let list: Vec<CoverageRow> = parse_coverage_csv(file, bytes)?;
            if let Some(c) = list.iter().find(|c| c.insurer != own) {
                return Err(foreign(&c.insurer));
            }
            let rows: Vec<InsuredRow> = list
                .into_iter()
                .map(|c| InsuredRow {
                    card_symbol: c.card_symbol,
                    card_number: c.card_number,
                    valid_from: c.valid_from.map(Date::compact).unwrap_or_default(),
                    valid_to: c.valid_to.map(Date::compact).unwrap_or_default(),
                })
                .collect();
            store.replace_insured(&own, &rows, by).await?;
            rows.len()
        }
        RefKind::Contracts => {
            let list = parse_contracts_csv(file, bytes)?;
            if let Some(c) = list.iter().find(|c| c.insurer != own) {
                return Err(foreign(&c.insurer));
            }
            // Contracts are versioned (crate::contracts): the file is the insurer's whole
            // list, changed contracts get a new version, nothing is overwritten.
            crate::contracts::store_parsed(store, &own, &list, by).await?;
            list.len()
        }
    };
    store
        .audit(&AuditEntry {
            actor: by.to_string(),
            role: String::new(),
            org: insurer.number.clone(),
            action: "reference.import".into(),
            target: format!("reference:{}:{}", own, file.trim_end_matches(".csv")),
            records: String::new(),
            source: String::new(),
            detail: serde_json::json!({ "kind": kind, "rows": rows }).to_string(),
        })
        .await?;
    Ok(rows)
}

/// Finds the line and column of the first row of another insurer (the parsed rows carry
/// no positions; the file parsed already, so a plain CSV pass finds it).
pub(crate) fn foreign_row(file: &'static str, bytes: &[u8], found: &str, own: &str) -> ImportError {
    let mut line = 0;
    let mut column = 0;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let col = reader.headers().ok().and_then(|h| {
        h.iter()
            .position(|c| c.trim_start_matches('\u{feff}').trim() == "insurer_number")
    });
    if let Some(i) = col {
        column = i + 1;
        for rec in reader.records().flatten() {
            let v = rec.get(i).unwrap_or("").trim();
            if !v.is_empty() && format!("{v:0>8}") != own {
                line = rec.position().map(|p| p.line()).unwrap_or(0);
                break;
            }
        }
    }
    ImportError::ForeignInsurer {
        file,
        line,
        column,
        found: found.to_string(),
        expected: own.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// DbReference
// ---------------------------------------------------------------------------------------

/// What one claim says about its record (read during the prefetch; the worker also uses
/// it for the record rows: card, institution, guidance timing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimFacts {
    /// `CLAIMS/…` path as the report names it.
    pub claim_file: String,
    pub insurer: String,
    pub institution: String,
    pub card_symbol: String,
    pub card_number: String,
    pub voucher: String,
    /// 1 checkup (受診券), 2 guidance (利用券).
    pub kind: u8,
    /// 保健指導実施時点 (guidance claims).
    pub guidance_timing: Option<String>,
}

/// Reads every claim of an archive (bounded reads; unreadable claims are skipped: the
/// The lookup keys of one claim (checkup: 受診券, kind 1; guidance: 利用券, kind 2).
fn claim_facts(
    claim_file: String,
    s: &daiko_format::model::SubjectPerson,
    voucher: Option<&daiko_format::model::Id>,
    kind: u8,
    guidance_timing: Option<String>,
) -> ClaimFacts {
    ClaimFacts {
        claim_file,
        insurer: s.insurance_card.insurer_number.extension.clone(),
        institution: s.performer_organization.extension.clone(),
        card_symbol: s
            .insurance_card
            .symbol
            .as_ref()
            .map(|i| i.extension.clone())
            .unwrap_or_default(),
        card_number: s.insurance_card.number.extension.clone(),
        voucher: voucher.map(|i| i.extension.clone()).unwrap_or_default(),
        kind,
        guidance_timing,
    }
}

/// checker reports them).
pub fn read_claim_facts<R: Read + Seek>(name: &str, reader: R) -> Vec<ClaimFacts> {
    let mut zip = Archive::open(name, reader, ArchiveLimits::default());
    let entries: Vec<_> = zip
        .entries
        .iter()
        .filter(|e| e.role == EntryRole::Claim)
        .cloned()
        .collect();
    let limits = ParseLimits::default();
    let mut out = Vec::new();
    for e in entries {
        let Ok(bytes) = zip.read(&e) else { continue };
        let Ok(text) = read::decode(&bytes) else {
            continue;
        };
        let Ok(doc) = read::parse(text, &limits) else {
            continue;
        };
        let Ok((kind, _)) = read::kind_of(&doc) else {
            continue;
        };
        let path = e.path.clone().unwrap_or_else(|| e.name.clone());
        let facts = match kind {
            DocumentKind::CheckupClaim => read::read_checkup_claim(&doc)
                .ok()
                .map(|c| claim_facts(path, &c.subject, c.card.id.as_ref(), 1, None)),
            DocumentKind::GuidanceClaim => read::read_guidance_claim(&doc).ok().map(|c| {
                let timing = Some(c.guidance_timing.clone()).filter(|t| !t.is_empty());
                claim_facts(path, &c.subject, c.card.id.as_ref(), 2, timing)
            }),
            _ => None,
        };
        out.extend(facts);
    }
    out
}

type Cache<K, V> = Mutex<HashMap<K, V>>;

/// Insurer facts the checks need.
#[derive(Debug, Clone, Default)]
struct InsurerInfo {
    client: bool,
    checks: bool,
    loaded: LoadedKinds,
}

/// [`ReferenceData`] answered from the database, prefetched per archive (module doc).
pub struct DbReference {
    store: Store,
    handle: Option<tokio::runtime::Handle>,
    any_insurer: bool,
    institutions: Option<HashSet<String>>,
    insurers: Cache<String, InsurerInfo>,
    vouchers: Cache<(String, u8, String), Vec<VoucherRecord>>,
    insured: Cache<(String, String), Vec<InsuredRow>>,
    contracts: Cache<(String, String, i32), Vec<Contract>>,
    person: Cache<(String, String, i32), Vec<PriorRecord>>,
    voucher_history: Cache<(String, String), Vec<PriorRecord>>,
    archive: (String, String, bool),
    submission_id: String,
    errors: Mutex<Vec<String>>,
    misses: AtomicUsize,
}

/// Maps a record row's state to the checker's history state.
pub fn record_state(state: &str) -> RecordState {
    match state {
        // invoiced: delivered and billed in a closed month (daiko_pipeline::billing).
        "delivered" | "invoiced" => RecordState::Delivered,
        "paid" => RecordState::Paid,
        // A rejected archive comes back whole, like a returned record.
        "returned" | "rejected" => RecordState::Returned,
        // kago_request: a line of an insurer's 過誤 request (種別4/5), never a live claim
        // (crate::worker::REQUEST_STATE); it must not count as history for U-01/U-03/D-05.
        "withdrawn" | "kago_request" => RecordState::Withdrawn,
        // active, accepted, held: received and not yet with the insurer.
        _ => RecordState::Active,
    }
}

fn prior(r: &RecordRow) -> PriorRecord {
    PriorRecord {
        insurer: r.insurer.clone(),
        card_number: r.card_number.clone(),
        voucher: r.voucher.clone(),
        service_event_type: u8::try_from(r.service_event_type).unwrap_or(0),
        guidance_timing: r.guidance_timing.clone(),
        service_date: Date::parse(&r.service_date),
        state: record_state(&r.state),
    }
}

fn decode_sorted<T: serde::de::DeserializeOwned>(rows: Vec<String>) -> Result<Vec<T>, StoreError> {
    let mut list: Vec<Stored<T>> = rows
        .iter()
        .map(|j| serde_json::from_str(j))
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Corrupt(format!("reference row: {e}")))?;
    list.sort_by_key(|s| s.seq);
    Ok(list.into_iter().map(|s| s.value).collect())
}

async fn fetch_insurer(store: &Store, number: &str) -> Result<InsurerInfo, StoreError> {
    let Some(org) = store.org_by_number(number).await? else {
        return Ok(InsurerInfo::default());
    };
    if org.kind != OrgKind::Insurer {
        return Ok(InsurerInfo::default());
    }
    let mut loaded = store.loaded_kinds(number).await?;
    // A member of another insurer's collective contract (集合契約) has contracts even
    // without an import of its own.
    if loaded.contracts.is_none() && store.bound_by_contract(number).await? {
        loaded.contracts = Some(0);
    }
    Ok(InsurerInfo {
        client: org.subscribes("check") || org.subscribes("route"),
        checks: org.subscribes("check"),
        loaded,
    })
}

async fn fetch_vouchers(
    store: &Store,
    insurer: &str,
    kind: u8,
    number: &str,
) -> Result<Vec<VoucherRecord>, StoreError> {
    decode_sorted(store.voucher_rows(insurer, i64::from(kind), number).await?)
}

async fn fetch_contracts(
    store: &Store,
    insurer: &str,
    institution: &str,
    fy: i32,
) -> Result<Vec<Contract>, StoreError> {
    // The current versions binding this pair (individual first, then collective, each
    // in file order: the order DirReference answers in).
    store
        .contracts_between(insurer, institution, i64::from(fy))
        .await?
        .iter()
        .map(|j| serde_json::from_str(j).map_err(|e| StoreError::Corrupt(format!("contract: {e}"))))
        .collect()
}

async fn fetch_person(
    store: &Store,
    insurer: &str,
    card: &str,
    fy: i32,
) -> Result<Vec<PriorRecord>, StoreError> {
    Ok(store
        .records_of_person(insurer, card, i64::from(fy))
        .await?
        .iter()
        .map(prior)
        .collect())
}

async fn fetch_voucher_history(
    store: &Store,
    insurer: &str,
    voucher: &str,
) -> Result<Vec<PriorRecord>, StoreError> {
    Ok(store
        .records_of_voucher(insurer, voucher)
        .await?
        .iter()
        .map(prior)
        .collect())
}

/// Whether an archive of this name or hash was received before submission `id`.
pub async fn archive_seen_before(
    store: &Store,
    name: &str,
    sha256: &str,
    id: &str,
) -> Result<bool, StoreError> {
    if !store.archive_seen(name, sha256, id).await? {
        return Ok(false);
    }
    // Seen: count only submissions received before this one (the later one is the copy).
    let Some(me) = store.submission(id).await? else {
        return Ok(true);
    };
    let others = store.submissions(None, 10_000).await?;
    Ok(others.iter().any(|s| {
        s.id != id
            // A quarantined (infected, S21) upload was never received: its clean resend is
            // not a copy.
            && s.status != crate::scan::QUARANTINED
            && (s.archive_name == name || s.sha256 == sha256)
            && (s.received_at.as_str(), s.id.as_str()) < (me.received_at.as_str(), id)
    }))
}

impl DbReference {
    /// Reads the archive's claims and loads every row they can ask about (module doc).
    /// `submission_id` is the submission being checked (excluded from T-06).
    pub async fn prefetch(
        store: &Store,
        submission_id: &str,
        archive_name: &str,
        archive: &[u8],
        sha256: &str,
    ) -> Result<(DbReference, Vec<ClaimFacts>), StoreError> {
        let facts = {
            let name = archive_name.to_string();
            let bytes = archive.to_vec();
            tokio::task::spawn_blocking(move || read_claim_facts(&name, Cursor::new(bytes)))
                .await
                .unwrap_or_default()
        };
        let orgs = store.orgs().await?;
        let any_insurer = orgs.iter().any(|o| o.kind == OrgKind::Insurer);
        let institutions: HashSet<String> = orgs
            .iter()
            .filter(|o| o.kind == OrgKind::Institution)
            .map(|o| o.number.clone())
            .collect();
        let parsed = ArchiveName::parse(archive_name).ok();
        let sender = parsed
            .as_ref()
            .map(|n| n.sender.clone())
            .unwrap_or_default();
        let mut years: BTreeSet<i32> = BTreeSet::new();
        if let Some(d) = parsed.as_ref().and_then(|n| Date::parse(&n.date)) {
            years.insert(d.fiscal_year());
            years.insert(d.fiscal_year() - 1);
        }
        let me = DbReference {
            store: store.clone(),
            handle: tokio::runtime::Handle::try_current().ok(),
            any_insurer,
            institutions: (!institutions.is_empty()).then_some(institutions),
            insurers: Mutex::default(),
            vouchers: Mutex::default(),
            insured: Mutex::default(),
            contracts: Mutex::default(),
            person: Mutex::default(),
            voucher_history: Mutex::default(),
            archive: (
                archive_name.to_string(),
                sha256.to_string(),
                archive_seen_before(store, archive_name, sha256, submission_id).await?,
            ),
            submission_id: submission_id.to_string(),
            errors: Mutex::default(),
            misses: AtomicUsize::new(0),
        };
        let insurers: BTreeSet<&str> = facts.iter().map(|f| f.insurer.as_str()).collect();
        let mut info: HashMap<String, InsurerInfo> = HashMap::new();
        for i in insurers {
            let inf = fetch_insurer(store, i).await?;
            info.insert(i.to_string(), inf);
        }
        let mut institutions: BTreeSet<&str> =
            facts.iter().map(|f| f.institution.as_str()).collect();
        if !sender.is_empty() {
            institutions.insert(sender.as_str());
        }
        for f in &facts {
            let Some(inf) = info.get(&f.insurer) else {
                continue;
            };
            if inf.checks && inf.loaded.vouchers.is_some() {
                let key = (f.insurer.clone(), f.kind, f.voucher.clone());
                let v = fetch_vouchers(store, &f.insurer, f.kind, &f.voucher).await?;
                lock(&me.vouchers).insert(key, v);
            }
            if inf.checks && inf.loaded.insured.is_some() {
                let v = store.insured_rows(&f.insurer, &f.card_number).await?;
                lock(&me.insured).insert((f.insurer.clone(), f.card_number.clone()), v);
            }
        }
        // The agency's history of these people and vouchers: one batched query per
        // insurer instead of three per record.
        let mut keys: BTreeMap<&str, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for f in &facts {
            let k = keys.entry(f.insurer.as_str()).or_default();
            k.0.insert(f.card_number.clone());
            k.1.insert(f.voucher.clone());
        }
        let fys: Vec<i64> = years.iter().map(|y| i64::from(*y)).collect();
        for (insurer, (cards, vouchers)) in keys {
            let cards: Vec<String> = cards.into_iter().collect();
            let vouchers: Vec<String> = vouchers.into_iter().collect();
            let people = store.records_of_people(insurer, &cards, &fys).await?;
            let used = store.records_of_vouchers(insurer, &vouchers).await?;
            let mut person = lock(&me.person);
            for card in &cards {
                for &fy in &years {
                    person.insert((insurer.to_string(), card.clone(), fy), Vec::new());
                }
            }
            for r in &people {
                if let Ok(fy) = i32::try_from(r.fiscal_year)
                    && let Some(list) =
                        person.get_mut(&(insurer.to_string(), r.card_number.clone(), fy))
                {
                    list.push(prior(r));
                }
            }
            drop(person);
            let mut history = lock(&me.voucher_history);
            for v in &vouchers {
                history.insert((insurer.to_string(), v.clone()), Vec::new());
            }
            for r in &used {
                if let Some(list) = history.get_mut(&(insurer.to_string(), r.voucher.clone())) {
                    list.push(prior(r));
                }
            }
        }
        for (insurer, inf) in &info {
            if !(inf.checks && inf.loaded.contracts.is_some()) {
                continue;
            }
            for inst in &institutions {
                for &fy in &years {
                    let v = fetch_contracts(store, insurer, inst, fy).await?;
                    lock(&me.contracts).insert((insurer.clone(), inst.to_string(), fy), v);
                }
            }
        }
        *lock(&me.insurers) = info;
        Ok((me, facts))
    }

    /// Lookup failures during the check (the job must fail and retry: the report could
    /// otherwise say "skipped" for data that exists).
    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.errors))
    }

    /// How many lookups were not prefetched and went to the database during the check.
    pub fn misses(&self) -> usize {
        self.misses.load(Ordering::Relaxed)
    }

    /// The submission this reference was built for.
    pub fn submission_id(&self) -> &str {
        &self.submission_id
    }

    /// Runs an on-demand query from an engine thread (module doc).
    fn block<T>(&self, what: &str, fut: impl Future<Output = Result<T, StoreError>>) -> Option<T> {
        self.misses.fetch_add(1, Ordering::Relaxed);
        let Some(h) = &self.handle else {
            lock(&self.errors).push(format!("{what}: no runtime for an on-demand lookup"));
            return None;
        };
        // Engine threads are plain threads (or the blocking-pool thread the check runs
        // on), never an async task, so blocking on the runtime is allowed here.
        let r = h.block_on(fut);
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                lock(&self.errors).push(format!("{what}: {e}"));
                None
            }
        }
    }

    fn cached<K: std::hash::Hash + Eq + Clone, V: Clone>(
        &self,
        cache: &Cache<K, V>,
        key: K,
        what: &str,
        fetch: impl Future<Output = Result<V, StoreError>>,
    ) -> Option<V> {
        if let Some(v) = lock(cache).get(&key) {
            return Some(v.clone());
        }
        let v = self.block(what, fetch)?;
        lock(cache).insert(key, v.clone());
        Some(v)
    }

    fn insurer(&self, number: &str) -> Option<InsurerInfo> {
        self.cached(
            &self.insurers,
            number.to_string(),
            "insurer",
            fetch_insurer(&self.store, number),
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned cache only means another engine thread panicked mid-insert; the map
    // itself is still consistent (inserts are single operations).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ReferenceData for DbReference {
    fn insurer_is_client(&self, insurer: &str, _date: Date) -> Option<bool> {
        if !self.any_insurer {
            return None;
        }
        Some(self.insurer(insurer)?.client)
    }

    fn institution_is_registered(&self, institution: &str) -> Option<bool> {
        Some(self.institutions.as_ref()?.contains(institution))
    }

    fn vouchers(&self, insurer: &str, kind: u8, number: &str) -> Option<Vec<VoucherRecord>> {
        let inf = self.insurer(insurer)?;
        if !(inf.checks && inf.loaded.vouchers.is_some()) {
            return None;
        }
        self.cached(
            &self.vouchers,
            (insurer.to_string(), kind, number.to_string()),
            "vouchers",
            fetch_vouchers(&self.store, insurer, kind, number),
        )
    }

    fn is_covered(
        &self,
        insurer: &str,
        card_symbol: &str,
        card_number: &str,
        date: Date,
    ) -> Option<bool> {
        let inf = self.insurer(insurer)?;
        if !(inf.checks && inf.loaded.insured.is_some()) {
            return None;
        }
        let rows = self.cached(
            &self.insured,
            (insurer.to_string(), card_number.to_string()),
            "insured",
            self.store.insured_rows(insurer, card_number),
        )?;
        Some(rows.iter().any(|c| {
            (c.card_symbol.is_empty() || c.card_symbol == card_symbol)
                && Date::parse(&c.valid_from).is_none_or(|f| f <= date)
                && Date::parse(&c.valid_to).is_none_or(|t| date <= t)
        }))
    }

    fn contracts(
        &self,
        insurer: &str,
        institution: &str,
        fiscal_year: i32,
    ) -> Option<Vec<Contract>> {
        let inf = self.insurer(insurer)?;
        if !(inf.checks && inf.loaded.contracts.is_some()) {
            return None;
        }
        self.cached(
            &self.contracts,
            (insurer.to_string(), institution.to_string(), fiscal_year),
            "contracts",
            fetch_contracts(&self.store, insurer, institution, fiscal_year),
        )
    }

    fn archive_received(&self, name: &str, sha256: &str) -> Option<bool> {
        let (n, h, seen) = &self.archive;
        if n == name && h.eq_ignore_ascii_case(sha256) {
            return Some(*seen);
        }
        self.block(
            "archives",
            archive_seen_before(&self.store, name, sha256, &self.submission_id),
        )
    }

    fn records_of_person(
        &self,
        insurer: &str,
        card_number: &str,
        fiscal_year: i32,
    ) -> Option<Vec<PriorRecord>> {
        self.cached(
            &self.person,
            (insurer.to_string(), card_number.to_string(), fiscal_year),
            "records of person",
            fetch_person(&self.store, insurer, card_number, fiscal_year),
        )
    }

    fn records_of_voucher(&self, insurer: &str, voucher: &str) -> Option<Vec<PriorRecord>> {
        self.cached(
            &self.voucher_history,
            (insurer.to_string(), voucher.to_string()),
            "records of voucher",
            fetch_voucher_history(&self.store, insurer, voucher),
        )
    }
}
