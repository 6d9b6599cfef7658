//! Retention and destruction (保存期間と廃棄, SECURITY.md S26) by crypto-shredding.
//!
//! An organisation's blobs (archives, check reports, deliveries) are sealed under the data
//! key of a *retention scope* `<org id>/<fiscal year of writing>` (年度, April to March): the
//! keyring's tenant string carries the scope, so no schema change was needed and reads are
//! unchanged (the envelope names its key). Data written before scopes existed stays under the
//! plain per-organisation key until `daiko keys rescope` ([`Store::rescope_blobs`]) seals it
//! again under the scope key of its fiscal year of writing; until then it is not destroyed
//! by scope ([`Store::unscoped_blobs`] counts it).
//!
//! Retention years per data type and organisation live in the `retention` setting (JSON).
//! A scope is *due* once the longest retention of the blob-bearing types has passed since
//! the end of its fiscal year. An insurer's 年度 with rosters or invitations but no data key
//! (no scoped data that year, or its keys destroyed before the rosters were due) is a scope
//! without keys, due once the `rosters` retention has passed; so are the rosters of a keyed
//! scope whose `rosters` retention is shorter than the scope's (its rosters-only part, listed
//! beside it and destroyed on its own: the scope keeps its keys). Destroying a scope (after a
//! four-eyes `destruction` approval, S10) deletes its wrapped data keys (the ciphertext, including copies in
//! backups, becomes unreadable once no key row holds it), blanks the personal identifiers of
//! the records rows of its submissions (the rows stay: billing lines keep referring to them
//! and their amounts and counts are not personal) and of their billing lines, deletes an
//! insurer's rosters and invitations of that 年度 once the `rosters` retention has passed
//! ([`destroy_copies`]), marks the submissions `destroyed`, deletes the blob files and
//! writes the certificate (`retention.destroy`) into the audit chain.
//! Then it purges the scope from the installation's backup generations
//! ([`crate::backup::purge_destroyed`], audited `retention.backup_purge`); a restore applies
//! destructions again ([`Store::reapply_destructions`]). Other processes stop using the keys
//! at once: the keyring re-checks a scope key's row before each use.

mod rescope;

pub use rescope::{RESCOPE_ACTION, Rescoped};

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use thiserror::Error;

use crate::audit::AuditEntry;
use crate::governance::Approval;
use crate::keyring::{AGENCY_TENANT, EnvelopeHeader};
use crate::{Store, StoreError, now};

/// The settings key holding the policy.
pub const SETTING: &str = "retention";
/// The approval kind that runs a destruction.
pub const KIND: &str = "destruction";
/// The audit action of a destruction certificate (high severity).
pub const CERT_ACTION: &str = "retention.destroy";
/// What the certificate's audit detail starts with (high severity, like other alerts).
const CERT_PREFIX: &str = "severity=high; certificate=";
/// The audit action recording what a destruction did to one backup generation (or that a
/// backup location could not be reached: then `severity=high`).
pub const BACKUP_PURGE_ACTION: &str = "retention.backup_purge";
/// The audit action of a destruction applied again to a restored generation.
pub const REAPPLY_ACTION: &str = "retention.reapply";

/// Data types with a retention period. `audit` is listed to say so, but is never destroyed
/// here (the audit trail keeps its own, longer, retention).
pub const DATA_TYPES: &[&str] = &[
    "archives",
    "reports",
    "deliveries",
    "records",
    "rosters",
    "billing",
    "audit",
];

/// Types whose contents are sealed under a scope key (what crypto-shredding reaches).
const SCOPED_TYPES: &[&str] = &["archives", "reports", "deliveries", "records"];

/// Errors of retention. `Display` is English, [`RetentionError::message_ja`] Japanese.
#[derive(Debug, Error)]
pub enum RetentionError {
    #[error(
        "unknown data type {0:?} (one of: archives, reports, deliveries, records, rosters, billing)"
    )]
    UnknownType(String),
    #[error("retention of {0} must be 1 to 100 years")]
    BadYears(String),
    #[error("the audit trail is never destroyed by retention")]
    Audit,
    #[error("invalid scope {0:?}: expected <organisation id>/<fiscal year>")]
    BadScope(String),
    #[error("scope {scope} is not past retention until {until}")]
    NotDue { scope: String, until: String },
    #[error("approval {0} is not an approved destruction by a second administrator")]
    NotApproved(String),
    #[error("stored retention policy is not valid JSON: {0}")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RetentionError {
    pub fn message_ja(&self) -> String {
        match self {
            RetentionError::UnknownType(t) => format!("不明なデータ種別です: {t}"),
            RetentionError::BadYears(t) => format!("{t} の保存期間は1〜100年で指定してください"),
            RetentionError::Audit => "監査ログは保存期間による廃棄の対象外です".into(),
            RetentionError::BadScope(s) => {
                format!("廃棄範囲 {s:?} が不正です（<組織ID>/<年度> の形式）")
            }
            RetentionError::NotDue { scope, until } => {
                format!("{scope} は {until} まで保存期間内です")
            }
            RetentionError::NotApproved(id) => {
                format!("申請 {id} は別の管理者に承認された廃棄申請ではありません")
            }
            RetentionError::Policy(e) => format!("保存期間の設定が不正な JSON です: {e}"),
            RetentionError::Store(e) => format!("保存領域のエラー: {e}"),
        }
    }
}

/// Retention years per data type, with per-organisation overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Years per data type for every organisation.
    pub defaults: BTreeMap<String, u32>,
    /// Organisation id → data type → years.
    #[serde(default)]
    pub tenants: BTreeMap<String, BTreeMap<String, u32>>,
}

impl Default for Policy {
    /// Our defaults: checkup data 5 years (the insurers' obligation to keep specific
    /// checkup records is 5 years under the MHLW implementation rules, 特定健康診査及び特定
    /// 保健指導の実施に関する基準 第10条; the agency keeps its copies no longer); billing
    /// documents 7 years (corporate tax law's 7-year book retention); rosters and
    /// invitations 5 years (our default, aligned with the checkup data).
    fn default() -> Policy {
        let defaults = [
            ("archives", 5),
            ("reports", 5),
            ("deliveries", 5),
            ("records", 5),
            ("rosters", 5),
            ("billing", 7),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Policy {
            defaults,
            tenants: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// Years for `data_type` of organisation `org`.
    pub fn years(&self, org: &str, data_type: &str) -> u32 {
        self.tenants
            .get(org)
            .and_then(|m| m.get(data_type))
            .or_else(|| self.defaults.get(data_type))
            .copied()
            .unwrap_or(5)
    }

    /// Sets years for a type, for one organisation or (`org` = None) the default.
    pub fn set(
        &mut self,
        org: Option<&str>,
        data_type: &str,
        years: u32,
    ) -> Result<(), RetentionError> {
        if data_type == "audit" {
            return Err(RetentionError::Audit);
        }
        if !DATA_TYPES.contains(&data_type) {
            return Err(RetentionError::UnknownType(data_type.into()));
        }
        if !(1..=100).contains(&years) {
            return Err(RetentionError::BadYears(data_type.into()));
        }
        let map = match org {
            Some(o) => self.tenants.entry(o.to_string()).or_default(),
            None => &mut self.defaults,
        };
        map.insert(data_type.to_string(), years);
        Ok(())
    }
}

/// The Japanese fiscal year (年度, April start) of an RFC 3339 timestamp.
pub fn fiscal_year(ts: &str) -> Option<i32> {
    let y: i32 = ts.get(0..4)?.parse().ok()?;
    let m: u32 = ts.get(5..7)?.parse().ok()?;
    Some(if m >= 4 { y } else { y - 1 })
}

/// The keyring tenant new data of `tenant` is sealed under at time `at`: the agency's own
/// data and already scoped tenants unchanged, an organisation `<org>/<fiscal year>`.
pub fn write_scope(tenant: &str, at: &str) -> String {
    if tenant == AGENCY_TENANT || tenant.contains('/') {
        return tenant.to_string();
    }
    match fiscal_year(at) {
        Some(fy) => format!("{tenant}/{fy}"),
        None => tenant.to_string(),
    }
}

/// Splits a scope `<org>/<fiscal year>`.
pub fn parse_scope(scope: &str) -> Result<(String, i32), RetentionError> {
    let bad = || RetentionError::BadScope(scope.to_string());
    let (org, fy) = scope.rsplit_once('/').ok_or_else(bad)?;
    let fy: i32 = fy.parse().map_err(|_| bad())?;
    if org.is_empty() || org == AGENCY_TENANT || !(1900..=9999).contains(&fy) {
        return Err(bad());
    }
    Ok((org.to_string(), fy))
}

/// One scope and what it holds, for `daiko retention due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeInfo {
    pub scope: String,
    pub org: String,
    pub fiscal_year: i32,
    pub key_ids: Vec<String>,
    /// First day on which the scope may be destroyed (YYYY-MM-DD).
    pub due_from: String,
    pub due: bool,
    /// Data type → count of items sealed under the scope's keys.
    pub counts: BTreeMap<String, u64>,
}

/// One destroyed item, as listed (hashed) in the certificate's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Item {
    data_type: &'static str,
    id: String,
    blob_key: String,
}

/// A destruction certificate (廃棄証明), kept as the detail of a `retention.destroy` audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub approval: String,
    pub scope: String,
    pub data_types: Vec<String>,
    pub key_ids: Vec<String>,
    pub counts: BTreeMap<String, u64>,
    /// SHA-256 (hex) of the JSON manifest of destroyed items (type, id, blob key).
    pub manifest_sha256: String,
    pub destroyed_at: String,
    pub requested_by: String,
    pub approved_by: String,
    /// The blob keys of the destroyed items (not personal: names daiko chose), so that
    /// copies sealed under another key reach their end too: a backup generation made
    /// before `daiko keys rescope` holds them under the organisation's key, which is not
    /// destroyed ([`crate::backup::purge_destroyed`] deletes them by name). Absent in
    /// certificates written before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blobs: Vec<String>,
}

/// What a backup generation records about a destruction (in its sealed manifest), so that a
/// restore can apply it again ([`Store::reapply_destructions`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destroyed {
    pub scope: String,
    pub key_ids: Vec<String>,
    pub approval: String,
    pub destroyed_at: String,
    /// Whether the destruction deleted the scope's rosters ([`destroy_copies`]); absent in
    /// lists written before rosters were destroyed by scope.
    #[serde(default)]
    pub rosters: bool,
    /// The blob keys destroyed ([`Certificate::blobs`]); absent in older lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blobs: Vec<String>,
}

impl From<&Certificate> for Destroyed {
    fn from(c: &Certificate) -> Destroyed {
        Destroyed {
            scope: c.scope.clone(),
            key_ids: c.key_ids.clone(),
            approval: c.approval.clone(),
            destroyed_at: c.destroyed_at.clone(),
            rosters: c.data_types.iter().any(|t| t == "rosters"),
            blobs: c.blobs.clone(),
        }
    }
}

impl Destroyed {
    /// Whether the destruction took the scope's keys: every destruction but a rosters-only
    /// one (no key ids, rosters taken), which leaves the keys of its scope, if any, alone
    /// (an insurer's rosters past their shorter retention while its keyed scope is kept).
    pub fn takes_keys(&self) -> bool {
        !(self.key_ids.is_empty() && self.rosters)
    }
}

/// The job kind purging a destruction's backups (subject: the approval id).
pub const BACKUP_PURGE_JOB: &str = "backup_purge";
/// Attempts of a backup purge before it stays `failed` (about a day and a half of retries).
pub const BACKUP_PURGE_ATTEMPTS: i64 = 14;

/// One run of a backup purge job ([`Store::run_backup_purges`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRun {
    pub approval: String,
    /// The destroyed scope (empty when its certificate could not be read).
    pub scope: String,
    pub attempt: i64,
    /// Every generation purged (or holding nothing of the scope): the job is done.
    pub done: bool,
    pub outcomes: Vec<crate::backup::PurgeOutcome>,
}

/// A backup purge not finished ([`Store::pending_backup_purges`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPurge {
    pub approval: String,
    pub scope: String,
    /// `queued`, `running` or `failed` (attempts exhausted).
    pub state: String,
    pub attempts: i64,
    pub run_after: String,
    pub last_error: String,
}

/// One `retention.backup_purge` audit row, for `daiko retention certificates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPurge {
    pub seq: i64,
    pub at: String,
    /// The generation or backup location.
    pub location: String,
    pub detail: String,
}

impl BackupPurge {
    /// Whether the location was not purged (unreachable or refused).
    pub fn failed(&self) -> bool {
        self.detail.starts_with("severity=high")
    }
}

/// Deletes a scope's data keys (when `keys`: not for a rosters-only destruction, whose
/// scope may keep its keys), blanks the personal identifiers of its submissions' records
/// and marks them destroyed, inside `tx` (a destruction, or its re-application); then
/// [`destroy_copies`]. Answers the counts of the copies.
async fn destroy_rows(
    tx: &mut crate::Tx,
    scope: &str,
    (keys, key_ids): (bool, &[String]),
    subs: &[String],
    rosters: bool,
) -> Result<BTreeMap<String, u64>, StoreError> {
    if keys {
        sqlx::query("DELETE FROM data_keys WHERE tenant = $1")
            .bind(scope)
            .execute(tx.conn())
            .await?;
    }
    for id in key_ids {
        sqlx::query("DELETE FROM data_keys WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    for s in subs {
        sqlx::query(
            "UPDATE records SET voucher = '', card_symbol = '', card_number = '', voucher_idx = '', \
             card_idx = '' WHERE submission_id = $1",
        )
        .bind(s)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE submissions SET status = 'destroyed' WHERE id = $1")
            .bind(s)
            .execute(tx.conn())
            .await?;
    }
    let (org, fy) = parse_scope(scope).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    destroy_copies(tx.conn(), &org, fy, subs, rosters, true).await
}

/// The first and the day after the last day of fiscal year `fy` (text bounds for RFC 3339
/// timestamps, matching [`fiscal_year`]).
fn fiscal_bounds(fy: i32) -> (String, String) {
    (
        format!("{fy:04}-04-01"),
        format!("{:04}-04-01", i64::from(fy) + 1),
    )
}

/// The first day on which the rosters of fiscal year `fy` of `org` are past retention.
fn rosters_due_from(policy: &Policy, org: &str, fy: i32) -> String {
    format!(
        "{:04}-04-01",
        i64::from(fy) + 1 + i64::from(policy.years(org, "rosters"))
    )
}

/// Whether the rosters of fiscal year `fy` of `org` are past retention on `today`.
fn rosters_due(policy: &Policy, org: &str, fy: i32, today: &str) -> bool {
    today >= rosters_due_from(policy, org, fy).as_str()
}

/// What a destruction removes besides keys, blobs and records, on `conn` (the live database
/// inside the destruction's transaction, or a backup's SQLite snapshot being purged, so both
/// run the same statements):
///
/// - billing lines (請求明細) of the scope's records lose their sealed card and voucher
///   numbers (sealed under the insurer's key, which is not destroyed). Amounts, counts and the
///   never-twice ledger stay: its keys are keyed blind indexes (no number can be read back
///   from them) and must keep refusing a second payment for the same checkup or guidance
///   timing (U-01/U-05), billing documents being kept 7 years;
/// - when `rosters` (the scope's organisation is an insurer and its `rosters` retention has
///   passed for fiscal year `fy`): roster versions (名簿) imported in that 年度 with their
///   members, the vouchers issued for that 年度 (受診券・利用券) with their copies in the
///   checker's ledger (`vouchers`, when `ledger_copies`: a snapshot older than migration 0008
///   lacks the index), the 年度's reminder rounds and items (受診勧奨) and the returned-mail
///   marks (宛所不明) made in that 年度 are deleted. Letter runs (counts only) and serial
///   counters (so no number is issued twice) stay.
///
/// Answers counts per kind: `billing` (lines blanked), `rosters`, `roster_members`,
/// `issued_vouchers`, `reminder_items`, `returned_mail`.
pub(crate) async fn destroy_copies(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    fy: i32,
    subs: &[String],
    rosters: bool,
    ledger_copies: bool,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut billing = 0u64;
    for s in subs {
        billing += sqlx::query(
            "UPDATE billing_lines SET card_number = '', voucher = '' WHERE record_id IN \
             (SELECT id FROM records WHERE submission_id = $1) \
             AND (card_number <> '' OR voucher <> '')",
        )
        .bind(s)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    counts.insert("billing".into(), billing);
    if !rosters {
        return Ok(counts);
    }
    let insurer: Option<String> =
        sqlx::query_scalar("SELECT number FROM orgs WHERE id = $1 AND kind = 'insurer'")
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(insurer) = insurer else {
        return Ok(counts);
    };
    let (from, to) = fiscal_bounds(fy);
    let year = i64::from(fy);
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM invite_rosters WHERE insurer = $1 AND imported_at >= $2 \
         AND imported_at < $3 ORDER BY id",
    )
    .bind(&insurer)
    .bind(&from)
    .bind(&to)
    .fetch_all(&mut *conn)
    .await?;
    let mut members = 0u64;
    for id in &ids {
        members += sqlx::query("DELETE FROM invite_members WHERE roster_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM invite_rosters WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    counts.insert("rosters".into(), ids.len() as u64);
    counts.insert("roster_members".into(), members);
    if ledger_copies {
        sqlx::query(
            "DELETE FROM vouchers WHERE insurer = $1 AND number_idx <> '' AND EXISTS \
             (SELECT 1 FROM invite_vouchers i WHERE i.insurer = vouchers.insurer \
              AND i.kind = vouchers.kind AND i.number_idx = vouchers.number_idx \
              AND i.fiscal_year = $2)",
        )
        .bind(&insurer)
        .bind(year)
        .execute(&mut *conn)
        .await?;
    }
    let issued = sqlx::query("DELETE FROM invite_vouchers WHERE insurer = $1 AND fiscal_year = $2")
        .bind(&insurer)
        .bind(year)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    counts.insert("issued_vouchers".into(), issued);
    let items =
        sqlx::query("DELETE FROM invite_reminder_items WHERE insurer = $1 AND fiscal_year = $2")
            .bind(&insurer)
            .bind(year)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    sqlx::query("DELETE FROM invite_reminder_rounds WHERE insurer = $1 AND fiscal_year = $2")
        .bind(&insurer)
        .bind(year)
        .execute(&mut *conn)
        .await?;
    counts.insert("reminder_items".into(), items);
    let returned = sqlx::query(
        "DELETE FROM invite_returned_mail WHERE insurer = $1 AND marked_at >= $2 \
         AND marked_at < $3",
    )
    .bind(&insurer)
    .bind(&from)
    .bind(&to)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    counts.insert("returned_mail".into(), returned);
    Ok(counts)
}

impl Store {
    /// The policy in force (the defaults when none was set).
    pub async fn retention_policy(&self) -> Result<Policy, RetentionError> {
        match self.setting(SETTING).await? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| RetentionError::Policy(e.to_string()))
            }
            None => Ok(Policy::default()),
        }
    }

    /// Stores the policy and audits the change (`retention.set`).
    pub async fn set_retention_policy(
        &self,
        policy: &Policy,
        audit: &AuditEntry,
    ) -> Result<(), RetentionError> {
        let text =
            serde_json::to_string(policy).map_err(|e| RetentionError::Policy(e.to_string()))?;
        self.set_setting(SETTING, &text).await?;
        let mut a = audit.clone();
        a.action = "retention.set".into();
        a.detail = text;
        self.audit(&a).await?;
        Ok(())
    }

    /// Data key id sealing a blob, `None` when missing or plaintext.
    async fn blob_key_id(&self, key: &str) -> Option<String> {
        let path = self.blobs().root().join(key);
        let mut head = vec![0u8; 128];
        let n = {
            use tokio::io::AsyncReadExt;
            let mut f = tokio::fs::File::open(&path).await.ok()?;
            f.read(&mut head).await.ok()?
        };
        head.truncate(n);
        EnvelopeHeader::parse(&head)
            .ok()
            .flatten()
            .map(|h| h.key_id)
    }

    /// Items sealed under `key_ids` (or named in `blobs`: a destruction applied again to a
    /// restored generation made before `daiko keys rescope`): submissions (archive +
    /// report) of `org` and deliveries to it, and the records rows of those submissions.
    async fn scope_items(
        &self,
        org: &str,
        key_ids: &[String],
        blobs: &[String],
    ) -> Result<(Vec<Item>, Vec<String>, u64), RetentionError> {
        let ours = |blob: &str, k: Option<String>| {
            blobs.iter().any(|b| b == blob) || k.is_some_and(|k| key_ids.contains(&k))
        };
        let mut items = Vec::new();
        let mut subs = Vec::new();
        let rows = sqlx::query(
            "SELECT id, blob_key, report_key FROM submissions WHERE org_id = $1 AND status <> 'destroyed' ORDER BY id",
        )
        .bind(org)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from)?;
        for r in rows {
            let id: String = r.try_get("id").map_err(StoreError::from)?;
            let blob: String = r.try_get("blob_key").map_err(StoreError::from)?;
            let report: Option<String> = r.try_get("report_key").map_err(StoreError::from)?;
            if ours(&blob, self.blob_key_id(&blob).await) {
                items.push(Item {
                    data_type: "archives",
                    id: id.clone(),
                    blob_key: blob,
                });
                subs.push(id.clone());
            }
            if let Some(report) = report
                && ours(&report, self.blob_key_id(&report).await)
            {
                items.push(Item {
                    data_type: "reports",
                    id,
                    blob_key: report,
                });
            }
        }
        let rows =
            sqlx::query("SELECT id, blob_key FROM deliveries WHERE recipient_id = $1 ORDER BY id")
                .bind(org)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::from)?;
        for r in rows {
            let blob: String = r.try_get("blob_key").map_err(StoreError::from)?;
            if ours(&blob, self.blob_key_id(&blob).await) {
                items.push(Item {
                    data_type: "deliveries",
                    id: r.try_get("id").map_err(StoreError::from)?,
                    blob_key: blob,
                });
            }
        }
        let mut records = 0u64;
        for s in &subs {
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM records WHERE submission_id = $1")
                    .bind(s)
                    .fetch_one(self.pool())
                    .await
                    .map_err(StoreError::from)?;
            records += u64::try_from(n).unwrap_or(0);
        }
        Ok((items, subs, records))
    }

    /// Fiscal years (年度) in which insurer `number` has roster or invitation rows: the years
    /// [`destroy_copies`] deletes by (rosters and returned-mail marks by the 年度 of their
    /// time, issued vouchers and reminders by their fiscal year).
    async fn roster_years(&self, number: &str) -> Result<BTreeSet<i32>, StoreError> {
        let mut years = BTreeSet::new();
        for sql in [
            "SELECT DISTINCT substr(imported_at, 1, 7) FROM invite_rosters WHERE insurer = $1",
            "SELECT DISTINCT substr(marked_at, 1, 7) FROM invite_returned_mail WHERE insurer = $1",
        ] {
            let months: Vec<String> = sqlx::query_scalar(sql)
                .bind(number)
                .fetch_all(self.pool())
                .await?;
            years.extend(months.iter().filter_map(|m| fiscal_year(m)));
        }
        for sql in [
            "SELECT DISTINCT fiscal_year FROM invite_vouchers WHERE insurer = $1",
            "SELECT DISTINCT fiscal_year FROM invite_reminder_rounds WHERE insurer = $1",
            "SELECT DISTINCT fiscal_year FROM invite_reminder_items WHERE insurer = $1",
        ] {
            let fys: Vec<i64> = sqlx::query_scalar(sql)
                .bind(number)
                .fetch_all(self.pool())
                .await?;
            years.extend(fys.into_iter().filter_map(|y| i32::try_from(y).ok()));
        }
        Ok(years)
    }

    /// What [`destroy_copies`] would delete of insurer `number`'s rosters and invitations of
    /// fiscal year `fy` (its count names; zero counts left out).
    async fn roster_counts(
        &self,
        number: &str,
        fy: i32,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let (from, to) = fiscal_bounds(fy);
        let year = i64::from(fy);
        let mut out = BTreeMap::new();
        for (name, sql, by_time) in [
            (
                "rosters",
                "SELECT COUNT(*) FROM invite_rosters WHERE insurer = $1 AND imported_at >= $2 \
                 AND imported_at < $3",
                true,
            ),
            (
                "roster_members",
                "SELECT COUNT(*) FROM invite_members m JOIN invite_rosters r ON r.id = m.roster_id \
                 WHERE r.insurer = $1 AND r.imported_at >= $2 AND r.imported_at < $3",
                true,
            ),
            (
                "returned_mail",
                "SELECT COUNT(*) FROM invite_returned_mail WHERE insurer = $1 AND marked_at >= $2 \
                 AND marked_at < $3",
                true,
            ),
            (
                "issued_vouchers",
                "SELECT COUNT(*) FROM invite_vouchers WHERE insurer = $1 AND fiscal_year = $2",
                false,
            ),
            (
                "reminder_items",
                "SELECT COUNT(*) FROM invite_reminder_items WHERE insurer = $1 AND fiscal_year = $2",
                false,
            ),
        ] {
            let q = sqlx::query_scalar::<_, i64>(sql).bind(number);
            let q = if by_time {
                q.bind(from.as_str()).bind(to.as_str())
            } else {
                q.bind(year)
            };
            let n = q.fetch_one(self.pool()).await?;
            if n > 0 {
                out.insert(name.to_string(), u64::try_from(n).unwrap_or(0));
            }
        }
        Ok(out)
    }

    /// Every retention scope with its keys, counts and whether it is past retention on
    /// `today` (YYYY-MM-DD). Besides the scopes of data keys, an insurer's 年度 holding
    /// rosters or invitations but no data key (it received no scoped data that year, or the
    /// scope's keys were destroyed before the rosters were due) is listed with no keys, due
    /// once the `rosters` retention has passed; an insurer's keyed scope shows its roster
    /// counts too, and when its `rosters` retention is shorter than the scope's, its rosters
    /// are listed a second time (after the keyed entry) as the scope's rosters-only part:
    /// no keys, due once the `rosters` retention has passed.
    pub async fn retention_scopes(&self, today: &str) -> Result<Vec<ScopeInfo>, RetentionError> {
        let policy = self.retention_policy().await?;
        let rows = sqlx::query("SELECT id, tenant FROM data_keys ORDER BY tenant, created_at, id")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::from)?;
        let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows {
            let tenant: String = r.try_get("tenant").map_err(StoreError::from)?;
            if parse_scope(&tenant).is_ok() {
                keys.entry(tenant)
                    .or_default()
                    .push(r.try_get("id").map_err(StoreError::from)?);
            }
        }
        let insurers: BTreeMap<String, String> = sqlx::query_as::<_, (String, String)>(
            "SELECT id, number FROM orgs WHERE kind = 'insurer'",
        )
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from)?
        .into_iter()
        .collect();
        let mut out = Vec::new();
        for (org, number) in &insurers {
            for fy in self.roster_years(number).await? {
                let scope = format!("{org}/{fy}");
                if keys.contains_key(&scope) {
                    continue;
                }
                let due_from = rosters_due_from(&policy, org, fy);
                out.push(ScopeInfo {
                    due: today >= due_from.as_str(),
                    scope,
                    org: org.clone(),
                    fiscal_year: fy,
                    key_ids: Vec::new(),
                    due_from,
                    counts: self.roster_counts(number, fy).await?,
                });
            }
        }
        for (scope, key_ids) in keys {
            let (org, fy) = parse_scope(&scope)?;
            let years = SCOPED_TYPES
                .iter()
                .map(|t| policy.years(&org, t))
                .max()
                .unwrap_or(5);
            // The fiscal year ends on 31 March of fy+1; retention counts from the next day.
            let due_from = format!("{:04}-04-01", i64::from(fy) + 1 + i64::from(years));
            let (items, _, records) = self.scope_items(&org, &key_ids, &[]).await?;
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for i in &items {
                *counts.entry(i.data_type.to_string()).or_default() += 1;
            }
            counts.insert("records".into(), records);
            // An insurer's rosters whose retention is shorter than the scope's: their own
            // part of the scope, without keys, destroyable before the keyed scope.
            let mut rosters_part = None;
            if let Some(number) = insurers.get(&org) {
                let rosters = self.roster_counts(number, fy).await?;
                let rosters_from = rosters_due_from(&policy, &org, fy);
                if !rosters.is_empty() && rosters_from < due_from {
                    rosters_part = Some(ScopeInfo {
                        due: today >= rosters_from.as_str(),
                        scope: scope.clone(),
                        org: org.clone(),
                        fiscal_year: fy,
                        key_ids: Vec::new(),
                        due_from: rosters_from,
                        counts: rosters.clone(),
                    });
                }
                counts.extend(rosters);
            }
            out.push(ScopeInfo {
                due: today >= due_from.as_str(),
                scope,
                org,
                fiscal_year: fy,
                key_ids,
                due_from,
                counts,
            });
            // Listed after its keyed scope (the sort below is stable).
            out.extend(rosters_part);
        }
        out.sort_by(|a, b| a.scope.cmp(&b.scope));
        Ok(out)
    }

    /// Files the `destruction` approval for a scope that is past retention on `today`: the
    /// whole scope when its keyed entry is due, else its rosters-only part when that is due
    /// (payload `rosters_only`: the scope's keys, if any, stay).
    pub async fn request_destruction(
        &self,
        scope: &str,
        today: &str,
        audit: &AuditEntry,
    ) -> Result<Approval, RetentionError> {
        let (org, _) = parse_scope(scope)?;
        let listed: Vec<ScopeInfo> = self
            .retention_scopes(today)
            .await?
            .into_iter()
            .filter(|s| s.scope == scope)
            .collect();
        let info = listed
            .iter()
            .find(|s| s.due && !s.key_ids.is_empty())
            .or_else(|| listed.iter().find(|s| s.due));
        let Some(info) = info else {
            return Err(match listed.iter().map(|s| s.due_from.clone()).min() {
                Some(until) => RetentionError::NotDue {
                    scope: scope.into(),
                    until,
                },
                None => RetentionError::BadScope(scope.to_string()),
            });
        };
        let payload = serde_json::json!({
            "scope": scope,
            "tenant": org,
            "key_ids": info.key_ids,
            "rosters_only": info.key_ids.is_empty(),
        });
        let summary = if info.key_ids.is_empty() {
            format!("destroy {scope} (rosters only)")
        } else {
            format!("destroy {scope} ({} keys)", info.key_ids.len())
        };
        let mut a = audit.clone();
        a.action = "approval.request".into();
        a.detail = format!("kind=destruction; scope={scope}");
        Ok(self
            .request_approval(KIND, &payload.to_string(), &summary, &audit.actor, &a)
            .await?)
    }

    /// Runs an approved `destruction` (decided by someone other than its requester):
    /// deletes the scope's data keys, blanks the records' personal identifiers and their
    /// billing lines' numbers, deletes rosters and invitations when due ([`destroy_copies`]),
    /// marks the submissions destroyed and writes the certificate (counting all of it) into
    /// the audit chain, all in one transaction; then drops the keys from this process's cache, deletes the blob files
    /// and marks the approval executed.
    pub async fn execute_destruction(
        &self,
        approval_id: &str,
        audit: &AuditEntry,
    ) -> Result<Certificate, RetentionError> {
        let not = || RetentionError::NotApproved(approval_id.to_string());
        let a = self.approval(approval_id).await?.ok_or_else(not)?;
        let approved_by = a.decided_by.clone().unwrap_or_default();
        if a.kind != KIND
            || a.status != "approved"
            || approved_by.is_empty()
            || approved_by == a.requested_by
        {
            return Err(not());
        }
        let payload: serde_json::Value =
            serde_json::from_str(&a.payload).map_err(|e| RetentionError::Policy(e.to_string()))?;
        let scope = payload
            .get("scope")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(not)?
            .to_string();
        let (org, fy) = parse_scope(&scope)?;
        // Only the scope's rosters (their retention shorter than the scope's): its keys stay.
        let rosters_only = payload
            .get("rosters_only")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        // Filed through the API or CLI, it is checked again now: never before its time.
        let today: String = now().chars().take(10).collect();
        // Rosters belong to insurers; only theirs are taken, and only once due.
        let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM orgs WHERE id = $1")
            .bind(&org)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from)?;
        let policy = self.retention_policy().await?;
        let rosters = kind.as_deref() == Some("insurer") && rosters_due(&policy, &org, fy, &today);
        if rosters_only {
            if !rosters {
                return Err(RetentionError::NotDue {
                    until: rosters_due_from(&policy, &org, fy),
                    scope,
                });
            }
        } else {
            let listed: Vec<ScopeInfo> = self
                .retention_scopes(&today)
                .await?
                .into_iter()
                .filter(|s| s.scope == scope)
                .collect();
            // The keyed entry when there is one (a rosters-only part does not count here).
            if let Some(info) = listed
                .iter()
                .find(|s| !s.key_ids.is_empty())
                .or_else(|| listed.first())
                && !info.due
            {
                return Err(RetentionError::NotDue {
                    scope,
                    until: info.due_from.clone(),
                });
            }
        }
        let key_ids: Vec<String> = if rosters_only {
            Vec::new()
        } else {
            sqlx::query_scalar("SELECT id FROM data_keys WHERE tenant = $1 ORDER BY id")
                .bind(&scope)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::from)?
        };
        let (items, subs, records) = self.scope_items(&org, &key_ids, &[]).await?;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for i in &items {
            *counts.entry(i.data_type.to_string()).or_default() += 1;
        }
        counts.insert("records".into(), records);
        let manifest =
            serde_json::to_vec(&items).map_err(|e| RetentionError::Policy(e.to_string()))?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &manifest);
        // A scope without keys is an insurer's 年度 of rosters only (see `retention_scopes`).
        let mut data_types: Vec<String> = Vec::new();
        if !key_ids.is_empty() || !rosters {
            data_types.extend(SCOPED_TYPES.iter().map(|s| s.to_string()));
            data_types.push("billing".into());
        }
        if rosters {
            data_types.push("rosters".into());
        }
        let mut cert = Certificate {
            approval: a.id.clone(),
            scope: scope.clone(),
            data_types,
            key_ids: key_ids.clone(),
            counts,
            manifest_sha256: hex::encode(digest.as_ref()),
            destroyed_at: now(),
            requested_by: a.requested_by.clone(),
            approved_by,
            blobs: items.iter().map(|i| i.blob_key.clone()).collect(),
        };
        let mut tx = self.begin().await?;
        // The copies' counts are what the transaction changed, so they join the certificate
        // written in it.
        cert.counts.extend(
            destroy_rows(&mut tx, &scope, (!rosters_only, &key_ids), &subs, rosters).await?,
        );
        let mut entry = audit.clone();
        entry.action = CERT_ACTION.into();
        entry.target = format!("scope:{scope}");
        entry.detail = format!(
            "{CERT_PREFIX}{}",
            serde_json::to_string(&cert).map_err(|e| RetentionError::Policy(e.to_string()))?
        );
        self.audit_in(&mut tx, &entry).await?;
        // The backups are purged by a durable job queued in the same transaction (run by
        // `serve`'s purge worker, or `daiko retention purge-backups`), retried until done.
        self.enqueue_in(&mut tx, BACKUP_PURGE_JOB, &a.id).await?;
        tx.commit().await?;
        self.keyring().forget(&key_ids);
        for i in &items {
            // The key is gone, so a file left behind (already deleted, or a failure here) is
            // unreadable ciphertext; deleting it only reclaims the space.
            let _ = self.blobs().delete(&i.blob_key).await;
        }
        self.finish_approval(
            &a.id,
            true,
            &format!("destroyed {scope}: {}", cert.manifest_sha256),
        )
        .await?;
        Ok(cert)
    }

    /// Purges the backups of the destruction approved as `approval` (its certificate must
    /// exist): every generation at every known location ([`crate::backup::purge_destroyed`],
    /// S3 reached with the credentials `env` gives), each outcome audited
    /// `retention.backup_purge` (not purged: `severity=high`) as `audit`.
    pub async fn purge_backups_of(
        &self,
        approval: &str,
        audit: &AuditEntry,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<(String, Vec<crate::backup::PurgeOutcome>), RetentionError> {
        let cert = self
            .destruction_certificates()
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .find(|c| c.approval == approval)
            .ok_or_else(|| RetentionError::NotApproved(approval.to_string()))?;
        let outcomes = crate::backup::purge_destroyed(self, &Destroyed::from(&cert), env).await;
        for o in &outcomes {
            let mut entry = audit.clone();
            entry.action = BACKUP_PURGE_ACTION.into();
            entry.target = o.location().to_string();
            entry.detail = o.detail(&cert.scope);
            self.audit(&entry).await?;
        }
        Ok((cert.scope, outcomes))
    }

    /// Runs the queued backup purges that are ready (`at_once`: every pending one, failed
    /// ones and those waiting for their retry included) as worker `owner`. A purge with a
    /// location or generation not purged is retried with backoff (1 minute doubling up to 6
    /// hours, [`BACKUP_PURGE_ATTEMPTS`] attempts), each attempt audited; then it stays
    /// `failed` (listed by [`Store::pending_backup_purges`]) until run again.
    pub async fn run_backup_purges(
        &self,
        owner: &str,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
        at_once: bool,
    ) -> Result<Vec<PurgeRun>, RetentionError> {
        if at_once {
            self.retry_failed_jobs(BACKUP_PURGE_JOB).await?;
            sqlx::query("UPDATE jobs SET run_after = $1 WHERE kind = $2 AND state = 'queued'")
                .bind(now())
                .bind(BACKUP_PURGE_JOB)
                .execute(self.pool())
                .await
                .map_err(StoreError::from)?;
        }
        let lease = std::time::Duration::from_secs(3600);
        let audit = AuditEntry {
            actor: "system".into(),
            role: "system".into(),
            source: format!("job:{BACKUP_PURGE_JOB}"),
            ..Default::default()
        };
        let mut runs = Vec::new();
        loop {
            // One purge at a time across processes (two rewriting one S3 generation from the
            // same manifest would undo each other; folder generations are locked as well):
            // while another worker holds a live lease on one, this one leaves them.
            let busy: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'running' \
                 AND lease_until > $2",
            )
            .bind(BACKUP_PURGE_JOB)
            .bind(now())
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::from)?;
            if busy > 0 {
                break;
            }
            let Some(job) = self.claim_job(owner, &[BACKUP_PURGE_JOB], lease).await? else {
                break;
            };
            let renew = {
                let (store, job) = (self.clone(), job.clone());
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(lease / 3).await;
                        if !matches!(store.renew_lease(&job, lease).await, Ok(true)) {
                            return;
                        }
                    }
                })
            };
            let r = self.purge_backups_of(&job.subject, &audit, env).await;
            renew.abort();
            let error = match &r {
                Ok((_, o)) => o
                    .iter()
                    .filter(|o| matches!(o, crate::backup::PurgeOutcome::Failed { .. }))
                    .map(|o| o.location().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(e) => e.to_string(),
            };
            let done = error.is_empty();
            if done {
                let mut tx = self.begin().await?;
                if self.complete_job_in(&mut tx, &job).await? {
                    tx.commit().await?;
                }
            } else {
                let shift = u32::try_from(job.attempts.clamp(1, 10) - 1).unwrap_or(0);
                let backoff = std::time::Duration::from_secs((60u64 << shift).min(6 * 3600));
                let msg = format!("not purged / 未消去: {error}");
                self.fail_job(&job, &msg, backoff, BACKUP_PURGE_ATTEMPTS)
                    .await?;
            }
            let (scope, outcomes) = r.unwrap_or_default();
            runs.push(PurgeRun {
                approval: job.subject.clone(),
                scope,
                attempt: job.attempts,
                done,
                outcomes,
            });
        }
        Ok(runs)
    }

    /// Backup purges not finished: queued (waiting for a retry), running, or failed after
    /// their last attempt.
    pub async fn pending_backup_purges(&self) -> Result<Vec<PendingPurge>, RetentionError> {
        let rows = sqlx::query(
            "SELECT subject, state, attempts, run_after, last_error FROM jobs \
             WHERE kind = $1 AND state <> 'done' ORDER BY id",
        )
        .bind(BACKUP_PURGE_JOB)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::from)?;
        let certs = self.destruction_certificates().await?;
        let mut out = Vec::new();
        for r in rows {
            let approval: String = r.try_get("subject").map_err(StoreError::from)?;
            out.push(PendingPurge {
                scope: certs
                    .iter()
                    .find(|(_, c)| c.approval == approval)
                    .map(|(_, c)| c.scope.clone())
                    .unwrap_or_default(),
                approval,
                state: r.try_get("state").map_err(StoreError::from)?,
                attempts: r.try_get("attempts").map_err(StoreError::from)?,
                run_after: r.try_get("run_after").map_err(StoreError::from)?,
                last_error: r
                    .try_get::<Option<String>, _>("last_error")
                    .map_err(StoreError::from)?
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// `retention.backup_purge` rows, oldest first.
    pub async fn backup_purges(&self) -> Result<Vec<BackupPurge>, RetentionError> {
        let rows =
            sqlx::query("SELECT seq, at, target, detail FROM audit WHERE action = $1 ORDER BY seq")
                .bind(BACKUP_PURGE_ACTION)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::from)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(BackupPurge {
                seq: r.try_get("seq").map_err(StoreError::from)?,
                at: r.try_get("at").map_err(StoreError::from)?,
                location: r.try_get("target").map_err(StoreError::from)?,
                detail: r.try_get("detail").map_err(StoreError::from)?,
            });
        }
        Ok(out)
    }

    /// Applies destructions again after a restore (a generation taken before them brings
    /// the scopes' keys and files back): deletes the scopes' keys, blanks and marks their
    /// submissions, deletes their blob files and audits `retention.reapply` (severity high)
    /// for each scope that had anything left. Answers the scopes destroyed again.
    pub async fn reapply_destructions(
        &self,
        list: &[Destroyed],
        restored_from: &str,
    ) -> Result<Vec<String>, RetentionError> {
        let mut done: Vec<String> = Vec::new();
        // One scope may have several destructions (its rosters-only part, then its keys):
        // each applies, once even when several generations list it.
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for d in list {
            if !seen.insert(d.approval.clone()) {
                continue;
            }
            let Ok((org, _)) = parse_scope(&d.scope) else {
                continue;
            };
            let keys = d.takes_keys();
            let mut key_ids: Vec<String> = if keys {
                sqlx::query_scalar("SELECT id FROM data_keys WHERE tenant = $1 ORDER BY id")
                    .bind(&d.scope)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::from)?
            } else {
                Vec::new()
            };
            let present = !key_ids.is_empty();
            for k in &d.key_ids {
                if !key_ids.contains(k) {
                    key_ids.push(k.clone());
                }
            }
            let (items, subs, records) = self.scope_items(&org, &key_ids, &d.blobs).await?;
            if !present && items.is_empty() && subs.is_empty() && !d.rosters {
                continue;
            }
            let mut tx = self.begin().await?;
            let copies =
                destroy_rows(&mut tx, &d.scope, (keys, &key_ids), &subs, d.rosters).await?;
            if !present && items.is_empty() && subs.is_empty() && copies.values().all(|n| *n == 0) {
                // Nothing of the scope was left (dropping the transaction rolls it back).
                continue;
            }
            let entry = AuditEntry {
                actor: "system".into(),
                role: "system".into(),
                source: "restore".into(),
                action: REAPPLY_ACTION.into(),
                target: format!("scope:{}", d.scope),
                detail: format!(
                    "severity=high; scope={}; approval={}; destroyed_at={}; keys={}; items={}; \
                     records={records}; copies={copies:?}; restored from {restored_from}",
                    d.scope,
                    d.approval,
                    d.destroyed_at,
                    key_ids.join(","),
                    items.len()
                ),
                ..Default::default()
            };
            self.audit_in(&mut tx, &entry).await?;
            tx.commit().await?;
            self.keyring().forget(&key_ids);
            for i in &items {
                let _ = self.blobs().delete(&i.blob_key).await;
            }
            if !done.contains(&d.scope) {
                done.push(d.scope.clone());
            }
        }
        Ok(done)
    }

    /// Destruction certificates from the audit trail, oldest first.
    pub async fn destruction_certificates(
        &self,
    ) -> Result<Vec<(i64, Certificate)>, RetentionError> {
        let rows = sqlx::query("SELECT seq, detail FROM audit WHERE action = $1 ORDER BY seq")
            .bind(CERT_ACTION)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::from)?;
        let mut out = Vec::new();
        for r in rows {
            let detail: String = r.try_get("detail").map_err(StoreError::from)?;
            let json = detail.strip_prefix(CERT_PREFIX).unwrap_or(&detail);
            let cert =
                serde_json::from_str(json).map_err(|e| RetentionError::Policy(e.to_string()))?;
            out.push((r.try_get("seq").map_err(StoreError::from)?, cert));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_years_start_in_april() {
        assert_eq!(fiscal_year("2024-03-31T23:59:59Z"), Some(2023));
        assert_eq!(fiscal_year("2024-04-01T00:00:00Z"), Some(2024));
        assert_eq!(write_scope("org1", "2025-01-10T00:00:00Z"), "org1/2024");
        assert_eq!(
            write_scope(AGENCY_TENANT, "2025-01-10T00:00:00Z"),
            AGENCY_TENANT
        );
        assert_eq!(
            write_scope("org1/2019", "2025-01-10T00:00:00Z"),
            "org1/2019"
        );
        assert!(parse_scope("agency/2020").is_err());
        assert!(parse_scope("org1").is_err());
    }

    #[test]
    fn policy_refuses_audit_and_unknown_types() {
        let mut p = Policy::default();
        assert!(matches!(
            p.set(None, "audit", 3),
            Err(RetentionError::Audit)
        ));
        assert!(p.set(None, "photos", 3).is_err());
        assert!(p.set(None, "archives", 0).is_err());
        p.set(Some("o1"), "archives", 10).expect("set");
        assert_eq!(p.years("o1", "archives"), 10);
        assert_eq!(p.years("o2", "archives"), 5);
    }
}
