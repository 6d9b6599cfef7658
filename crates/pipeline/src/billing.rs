//! The billing month (請求・支払の月次締め, BUSINESS.md §6): the close, the month's
//! documents rebuilt from frozen rows, 過誤 offsets, bank accounts and the transfer file.
//!
//! * [`close_month`] freezes month M in ONE transaction: the records accepted or delivered,
//!   received before the end (JST) of M's reception deadline, of insurers that subscribe to
//!   `billing`, and never billed, become M's claim lines; the never-twice ledger gives each
//!   checkup (insurer + card + fiscal year, U-01) and guidance timing (insurer + voucher +
//!   timing, U-05) to the first claim only — a later claim for a paid key stays unbilled and
//!   is listed in the result; pending offsets join; negative payments are carried forward as
//!   offsets of the next month; the audit row `billing.close` commits with it. Records
//!   received earlier but not billed (returned and re-sent, held then accepted, or arriving
//!   after an earlier close) join the month they are closed in, flagged 月遅れ when their
//!   service month is before M−1. Closing a closed month changes nothing and answers the
//!   stored result.
//! * [`settlement`] rebuilds `daiko_billing::Settlement` from the frozen lines, offsets,
//!   calendar and fees: the same bytes every time, whatever the settings say today.
//! * [`add_offset`] registers an insurer's 過誤 request (種別4/5, 別表10 reason) on a record
//!   the agency forwarded (U-06): a billed record becomes an offset of its claim amount in
//!   the next close (on the insurer's invoice and the institution's statement) and frees its
//!   ledger key for a corrected claim; a record never billed is withdrawn instead.
//! * Settings: `billing.calendar`, `billing.fees`, `billing.remitter` (JSON in the settings
//!   table), with defaults for the first two.

use std::collections::BTreeMap;

use daiko_billing::{
    AgencyInfo, BankAccount, BillingError, Calendar, ClaimLine, FeeSchedule, Offset, Remitter,
    ServiceKind, Settlement, YearMonth,
};
use daiko_store::audit::AuditEntry;
use daiko_store::billing::{BillingLine, Excluded, FreezeMonth, NewOffset, OffsetRow};
use daiko_store::orgs::OrgKind;
use daiko_store::{Store, StoreError};
use thiserror::Error;

use crate::intake::jst;

/// Settings key of the agency calendar (daiko_billing::Calendar JSON).
pub const CALENDAR_KEY: &str = "billing.calendar";
/// Settings key of the fee schedule (daiko_billing::FeeSchedule JSON).
pub const FEES_KEY: &str = "billing.fees";
/// Settings key of the remitter (依頼人) of the transfer file (daiko_billing::Remitter JSON).
pub const REMITTER_KEY: &str = "billing.remitter";

/// 別表10 過誤返戻理由 codes.
pub const OFFSET_REASONS: [(&str, &str); 9] = [
    ("01", "記号・番号誤り"),
    ("02", "受診券（利用券）整理番号誤り"),
    ("03", "氏名誤り"),
    ("04", "該当者なし"),
    ("05", "保険者番号と記号の不一致"),
    ("06", "資格喪失後の受診"),
    ("07", "重複請求"),
    ("08", "機関の申出による取下げ"),
    ("09", "その他"),
];

/// Why a billing operation could not be done. `Display` is English;
/// [`BillingFlowError::message_ja`] is Japanese.
#[derive(Debug, Error)]
pub enum BillingFlowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", .0)]
    Billing(#[from] BillingError),
    #[error("setting {key} is not valid JSON for it: {detail}")]
    Setting { key: &'static str, detail: String },
    #[error("month {month} cannot be closed: {latest} is already closed (months close in order)")]
    OutOfOrder { month: String, latest: String },
    #[error("month {month} cannot be closed yet: its reception window is open until {cutoff}")]
    WindowOpen { month: String, cutoff: String },
    #[error(
        "records whose claim is not cost − co-payment − other burden (or negative): {}",
        .0.join(", ")
    )]
    InconsistentLines(Vec<String>),
    #[error("month {0} is not closed")]
    NotClosed(String),
    #[error("record {0} not found")]
    RecordNotFound(String),
    #[error(
        "record {id} was not forwarded to its insurer (state {state}): a 過誤 must refer to a delivered record (U-06)"
    )]
    NotForwarded { id: String, state: String },
    #[error("record {0} already has a 過誤 offset")]
    AlreadyOffset(String),
    #[error("{0:?} is not a 別表10 reason code (01-09)")]
    BadReason(String),
    #[error("{0} is not a registered institution")]
    NotInstitution(String),
    #[error("bank account: {en}")]
    BadAccount { en: String, ja: String },
    #[error("no remitter is configured (setting billing.remitter)")]
    NoRemitter,
    #[error("institutions without a bank account: {}", list_orgs(.0))]
    MissingAccounts(Vec<(String, String)>),
}

fn list_orgs(v: &[(String, String)]) -> String {
    v.iter()
        .map(|(n, name)| format!("{n} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl BillingFlowError {
    /// The Japanese message.
    pub fn message_ja(&self) -> String {
        match self {
            BillingFlowError::Store(e) => format!("データベースの処理に失敗しました: {e}"),
            BillingFlowError::Billing(e) => e.message_ja(),
            BillingFlowError::Setting { key, detail } => {
                format!("設定 {key} の内容が正しくありません: {detail}")
            }
            BillingFlowError::OutOfOrder { month, latest } => {
                format!("{month} は締められません: {latest} が締め済みです（月は順に締めます）")
            }
            BillingFlowError::WindowOpen { month, cutoff } => {
                format!("{month} はまだ締められません: 受付期間は {cutoff} までです")
            }
            BillingFlowError::InconsistentLines(ids) => format!(
                "請求金額が 単価合計 − 窓口負担 − 他制度負担 と一致しない（または負の）レコードがあるため締められません: {}",
                ids.join(", ")
            ),
            BillingFlowError::NotClosed(m) => format!("{m} は締められていません"),
            BillingFlowError::RecordNotFound(id) => format!("レコード {id} が見つかりません"),
            BillingFlowError::NotForwarded { id, state } => format!(
                "レコード {id} は保険者へ送付されていません（状態 {state}）: 過誤は送付済みのレコードにのみ登録できます（U-06）"
            ),
            BillingFlowError::AlreadyOffset(id) => {
                format!("レコード {id} には過誤が登録済みです")
            }
            BillingFlowError::BadReason(c) => {
                format!("{c:?} は別表10の過誤返戻理由コード（01〜09）ではありません")
            }
            BillingFlowError::NotInstitution(n) => {
                format!("{n} は登録された健診機関ではありません")
            }
            BillingFlowError::BadAccount { ja, .. } => format!("口座情報: {ja}"),
            BillingFlowError::NoRemitter => {
                "振込依頼人が設定されていません（設定 billing.remitter）".to_string()
            }
            BillingFlowError::MissingAccounts(v) => {
                format!("振込口座が未登録の機関があります: {}", list_orgs(v))
            }
        }
    }
}

type Result<T, E = BillingFlowError> = std::result::Result<T, E>;

async fn json_setting<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &'static str,
) -> Result<Option<T>> {
    match store.setting(key).await? {
        None => Ok(None),
        Some(v) => serde_json::from_str(&v)
            .map(Some)
            .map_err(|e| BillingFlowError::Setting {
                key,
                detail: e.to_string(),
            }),
    }
}

async fn set_json_setting<T: serde::Serialize>(
    store: &Store,
    key: &'static str,
    value: &T,
    actor: &str,
) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|e| BillingFlowError::Setting {
        key,
        detail: e.to_string(),
    })?;
    store.set_setting(key, &json).await?;
    store
        .audit(&AuditEntry {
            actor: actor.to_string(),
            role: "operator".into(),
            action: "billing.settings".into(),
            target: format!("setting:{key}"),
            source: "billing".into(),
            detail: json,
            ..AuditEntry::default()
        })
        .await?;
    Ok(())
}

/// The agency calendar in force (the default of BUSINESS.md §6.2 when none is set).
pub async fn calendar(store: &Store) -> Result<Calendar> {
    let cal: Calendar = json_setting(store, CALENDAR_KEY).await?.unwrap_or_default();
    cal.validate()?;
    Ok(cal)
}

/// Replaces the agency calendar (validated; closed months keep theirs).
pub async fn set_calendar(store: &Store, cal: &Calendar, actor: &str) -> Result<()> {
    cal.validate()?;
    set_json_setting(store, CALENDAR_KEY, cal, actor).await
}

/// The fee schedule in force (no fees when none is set).
pub async fn fees(store: &Store) -> Result<FeeSchedule> {
    let fees: FeeSchedule = json_setting(store, FEES_KEY).await?.unwrap_or_default();
    fees.validate()?;
    Ok(fees)
}

/// Replaces the fee schedule (validated; closed months keep theirs).
pub async fn set_fees(store: &Store, fees: &FeeSchedule, actor: &str) -> Result<()> {
    fees.validate()?;
    set_json_setting(store, FEES_KEY, fees, actor).await
}

/// The first instant after month `m`'s reception deadline day, in Japan.
pub fn cutoff(cal: &Calendar, m: YearMonth) -> jiff::Timestamp {
    let next_day = cal.deadline(m).tomorrow().unwrap_or(cal.deadline(m));
    next_day
        .to_zoned(jst())
        .map(|z| z.timestamp())
        .unwrap_or(jiff::Timestamp::MAX)
}

/// The fee deducted from an institution's payment for `lines` paid records (the rule of
/// daiko_billing::settle: per record plus per statement, only on a statement that pays at
/// least one record).
fn institution_fee(fees: &FeeSchedule, lines: i64) -> i64 {
    if lines > 0 {
        fees.institution_per_record * lines + fees.institution_per_statement
    } else {
        0
    }
}

/// What a close did (or, for a month closed before, what it had done).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CloseResult {
    pub month: YearMonth,
    /// True when the month was already closed and nothing changed.
    pub already_closed: bool,
    pub closed_at: String,
    pub closed_by: String,
    /// Records received before this instant were eligible.
    pub cutoff: String,
    pub lines: i64,
    pub claim_total: i64,
    /// Offsets settled in the month (過誤 and carries).
    pub offsets: i64,
    /// Records left unbilled: their checkup or guidance timing was already billed
    /// (U-01/U-05).
    pub excluded: Vec<Excluded>,
}

/// Closes `month` now (see the module doc).
pub async fn close_month(store: &Store, month: YearMonth, actor: &str) -> Result<CloseResult> {
    close_month_at(store, month, actor, jiff::Timestamp::now()).await
}

/// [`close_month`] as if the clock said `now` (the reception window must be over by then).
pub async fn close_month_at(
    store: &Store,
    month: YearMonth,
    actor: &str,
    now: jiff::Timestamp,
) -> Result<CloseResult> {
    if let Some(done) = closed_result(store, month).await? {
        return Ok(done);
    }
    let cal = calendar(store).await?;
    let fee_schedule = fees(store).await?;
    let cut = cutoff(&cal, month);
    if now < cut {
        return Err(BillingFlowError::WindowOpen {
            month: month.to_string(),
            cutoff: cut
                .to_zoned(jst())
                .strftime("%Y-%m-%d %H:%M JST")
                .to_string(),
        });
    }
    let cutoff_text = daiko_store::format_ts(cut);
    let prev = month.prev();
    let late_before = format!("{:04}{:02}", prev.year, prev.month);
    let month_text = month.to_string();
    let calendar_json = to_json(CALENDAR_KEY, &cal)?;
    let fees_json = to_json(FEES_KEY, &fee_schedule)?;

    let mut tx = store.begin().await?;
    // Checked again under the write lock: another close may have committed meanwhile.
    if store
        .billing_month_in(&mut tx, &month_text)
        .await?
        .is_some()
    {
        drop(tx);
        return closed_result(store, month)
            .await?
            .ok_or_else(|| BillingFlowError::NotClosed(month_text.clone()));
    }
    if let Some(latest) = store.latest_billing_month_in(&mut tx).await?
        && latest >= month_text
    {
        return Err(BillingFlowError::OutOfOrder {
            month: month_text,
            latest,
        });
    }
    let frozen = store
        .freeze_billing_month_in(
            &mut tx,
            &FreezeMonth {
                month: &month_text,
                cutoff: &cutoff_text,
                late_before: &late_before,
                closed_by: actor,
                calendar_json: &calendar_json,
                fees_json: &fees_json,
            },
        )
        .await;
    let out = match frozen {
        Ok(out) => out,
        // On PostgreSQL another process may have closed the month meanwhile: its result
        // stands (this transaction rolls back).
        Err(e) if e.is_unique_violation() => {
            drop(tx);
            return match closed_result(store, month).await? {
                Some(done) => Ok(done),
                None => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    // Amounts the settlement would refuse abort the close (a record's claim must be its
    // cost less the co-payment and other-programme burden, none negative).
    let bad = store.inconsistent_lines_in(&mut tx, &month_text).await?;
    if !bad.is_empty() {
        return Err(BillingFlowError::InconsistentLines(bad));
    }
    // Negative payments become next month's offsets in the same commit. Only the sums per
    // institution are needed (reading a million lines back here would double the close);
    // the rule is daiko_billing::settle's, and the tests compare the carries written here
    // with the statements' carried_forward.
    let totals = store.institution_totals_in(&mut tx, &month_text).await?;
    let mut carried = 0;
    let mut amount_paid: i64 = 0;
    for t in &totals {
        let net = t.claim_total - institution_fee(&fee_schedule, t.lines) - t.offset_total;
        if net >= 0 {
            amount_paid += net;
            continue;
        }
        let origin = month.to_string();
        store
            .insert_offset_in(
                &mut tx,
                &NewOffset {
                    id: &format!("{}:{month}:{}", daiko_billing::CARRY, t.institution),
                    insurer: "",
                    institution: &t.institution,
                    record_id: None,
                    reason_code: daiko_billing::CARRY,
                    reason_text: &format!("{month} 支払不足額の繰越"),
                    amount: -net,
                    requested_by: actor,
                    origin_month: Some(&origin),
                },
            )
            .await?;
        carried += 1;
    }
    store
        .audit_in(
            &mut tx,
            &AuditEntry {
                actor: actor.to_string(),
                role: "operator".into(),
                action: "billing.close".into(),
                target: format!("billing_month:{month_text}"),
                source: "billing".into(),
                detail: serde_json::json!({
                    "lines": out.lines,
                    "claim_total": out.claim_total,
                    "offsets": out.offsets,
                    "excluded": out.excluded.len(),
                    "statements": totals.len(),
                    "amount_paid": amount_paid,
                    "carried_forward": carried,
                })
                .to_string(),
                ..AuditEntry::default()
            },
        )
        .await?;
    tx.commit().await?;
    let mut done = closed_result(store, month)
        .await?
        .ok_or_else(|| BillingFlowError::NotClosed(month_text.clone()))?;
    done.already_closed = false;
    Ok(done)
}

fn to_json<T: serde::Serialize>(key: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| BillingFlowError::Setting {
        key,
        detail: e.to_string(),
    })
}

/// The stored result of a closed month.
async fn closed_result(store: &Store, month: YearMonth) -> Result<Option<CloseResult>> {
    let Some(m) = store.billing_month(&month.to_string()).await? else {
        return Ok(None);
    };
    let excluded: Vec<Excluded> =
        serde_json::from_str(&m.excluded_json).map_err(|e| BillingFlowError::Setting {
            key: "billing_months.excluded_json",
            detail: e.to_string(),
        })?;
    let offsets = store.offsets_of_month(&m.month).await?.len() as i64;
    Ok(Some(CloseResult {
        month,
        already_closed: true,
        closed_at: m.closed_at,
        closed_by: m.closed_by,
        cutoff: m.cutoff,
        lines: m.lines,
        claim_total: m.claim_total,
        offsets,
        excluded,
    }))
}

/// Insurer and institution numbers → names.
async fn org_names(store: &Store) -> Result<BTreeMap<String, String>> {
    Ok(store
        .orgs()
        .await?
        .into_iter()
        .filter(|o| o.kind != OrgKind::Agency)
        .map(|o| (o.number, o.name))
        .collect())
}

/// A frozen line as the billing crate's claim line.
pub fn claim_line(l: BillingLine) -> ClaimLine {
    ClaimLine {
        record_id: l.record_id,
        insurer: l.insurer,
        institution: l.institution,
        card_number: l.card_number,
        voucher_number: l.voucher,
        kind: if l.kind == "guidance" {
            ServiceKind::Guidance
        } else {
            ServiceKind::Checkup
        },
        guidance_timing: l.guidance_timing,
        service_date: l.service_date,
        cost_total: l.cost,
        copay_total: l.copayment,
        other_total: l.other_program,
        claim_total: l.claim,
        late: l.late,
    }
}

/// A stored offset as the billing crate's offset.
pub fn offset(o: &OffsetRow) -> Result<Offset> {
    let origin_month = match &o.origin_month {
        Some(m) => Some(m.parse::<YearMonth>()?),
        None => None,
    };
    Ok(Offset {
        id: o.id.clone(),
        insurer: o.insurer.clone(),
        institution: o.institution.clone(),
        record_id: o.record_id.clone(),
        reason_code: o.reason_code.clone(),
        reason_text: o.reason_text.clone(),
        amount: o.amount,
        origin_month,
    })
}

/// The documents of a closed month, rebuilt from its frozen rows, calendar and fees
/// (`None` when the month is not closed).
pub async fn settlement(store: &Store, month: YearMonth) -> Result<Option<Settlement>> {
    let Some(m) = store.billing_month(&month.to_string()).await? else {
        return Ok(None);
    };
    let cal: Calendar =
        serde_json::from_str(&m.calendar_json).map_err(|e| BillingFlowError::Setting {
            key: "billing_months.calendar_json",
            detail: e.to_string(),
        })?;
    let fee_schedule: FeeSchedule =
        serde_json::from_str(&m.fees_json).map_err(|e| BillingFlowError::Setting {
            key: "billing_months.fees_json",
            detail: e.to_string(),
        })?;
    let names = org_names(store).await?;
    let lines = store.billing_lines_with(&m.month, claim_line).await?;
    let offsets = store
        .offsets_of_month(&m.month)
        .await?
        .iter()
        .map(offset)
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(daiko_billing::settle(
        month,
        &cal,
        &fee_schedule,
        &lines,
        &offsets,
        &names,
    )?))
}

/// What [`add_offset`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OffsetOutcome {
    /// The record was billed in `origin_month`: its claim is taken back in the next close.
    Offset {
        id: String,
        record_id: String,
        insurer: String,
        institution: String,
        amount: i64,
        origin_month: String,
    },
    /// The record was never billed: it is withdrawn and will never be.
    Withdrawn { record_id: String },
}

/// Registers an insurer's 過誤 request on a record (module doc). `reason_code` is a 別表10
/// code (01–09).
pub async fn add_offset(
    store: &Store,
    record_id: &str,
    reason_code: &str,
    reason_text: &str,
    actor: &str,
) -> Result<OffsetOutcome> {
    let Some(reason_ja) = OFFSET_REASONS
        .iter()
        .find(|(c, _)| *c == reason_code)
        .map(|(_, t)| *t)
    else {
        return Err(BillingFlowError::BadReason(reason_code.to_string()));
    };
    let text = if reason_text.trim().is_empty() {
        reason_ja.to_string()
    } else {
        reason_text.trim().to_string()
    };
    let record = store
        .record(record_id)
        .await?
        .ok_or_else(|| BillingFlowError::RecordNotFound(record_id.to_string()))?;
    if store.offset_of_record(record_id).await?.is_some() {
        return Err(BillingFlowError::AlreadyOffset(record_id.to_string()));
    }
    if !matches!(record.state.as_str(), "delivered" | "invoiced" | "paid") {
        return Err(BillingFlowError::NotForwarded {
            id: record.id,
            state: record.state,
        });
    }
    let line = store.billing_line(record_id).await?;
    let mut tx = store.begin().await?;
    let forwarded = ["delivered", "invoiced", "paid"];
    if !store
        .set_record_state_in(&mut tx, record_id, &forwarded, "withdrawn")
        .await?
    {
        // Changed since it was read (another request won): nothing is written.
        return Err(BillingFlowError::AlreadyOffset(record_id.to_string()));
    }
    let outcome = match &line {
        Some(l) if l.claim > 0 => {
            let id = daiko_store::new_id();
            store
                .insert_offset_in(
                    &mut tx,
                    &NewOffset {
                        id: &id,
                        insurer: &l.insurer,
                        institution: &l.institution,
                        record_id: Some(record_id),
                        reason_code,
                        reason_text: &text,
                        amount: l.claim,
                        requested_by: actor,
                        origin_month: Some(&l.month),
                    },
                )
                .await
                .map_err(|e| {
                    if e.is_unique_violation() {
                        BillingFlowError::AlreadyOffset(record_id.to_string())
                    } else {
                        e.into()
                    }
                })?;
            store.reverse_ledger_in(&mut tx, record_id, &id).await?;
            OffsetOutcome::Offset {
                id,
                record_id: record_id.to_string(),
                insurer: l.insurer.clone(),
                institution: l.institution.clone(),
                amount: l.claim,
                origin_month: l.month.clone(),
            }
        }
        // Billed for 0 yen: nothing to take back, but the key is freed all the same.
        Some(_) => {
            store
                .reverse_ledger_in(&mut tx, record_id, &daiko_store::new_id())
                .await?;
            OffsetOutcome::Withdrawn {
                record_id: record_id.to_string(),
            }
        }
        None => OffsetOutcome::Withdrawn {
            record_id: record_id.to_string(),
        },
    };
    store
        .audit_in(
            &mut tx,
            &AuditEntry {
                actor: actor.to_string(),
                role: "operator".into(),
                org: record.insurer.clone(),
                action: "billing.offset".into(),
                target: format!("record:{record_id}"),
                records: record_id.to_string(),
                source: "billing".into(),
                detail: serde_json::json!({
                    "reason_code": reason_code,
                    "reason_text": text,
                    "result": &outcome,
                })
                .to_string(),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The remitter (振込依頼人) of transfer files, if configured.
pub async fn remitter(store: &Store) -> Result<Option<Remitter>> {
    json_setting(store, REMITTER_KEY).await
}

/// Sets the remitter (checked and converted to 全銀 half-width kana first).
pub async fn set_remitter(store: &Store, r: &Remitter, actor: &str) -> Result<Remitter> {
    let r = r.normalized()?;
    set_json_setting(store, REMITTER_KEY, &r, actor).await?;
    Ok(r)
}

/// Registers or replaces an institution's bank account (checked and converted to 全銀
/// half-width kana first); answers the account as stored.
pub async fn set_bank_account(
    store: &Store,
    institution: &str,
    account: &BankAccount,
    actor: &str,
) -> Result<BankAccount> {
    let org = store
        .org_by_number(institution)
        .await?
        .filter(|o| o.kind == OrgKind::Institution)
        .ok_or_else(|| BillingFlowError::NotInstitution(institution.to_string()))?;
    let account = account.normalized()?;
    let json = to_json("bank_accounts.account_json", &account)?;
    let mut tx = store.begin().await?;
    store
        .set_bank_account_in(&mut tx, &org.id, &json, actor)
        .await?;
    store
        .audit_in(
            &mut tx,
            &AuditEntry {
                actor: actor.to_string(),
                role: "operator".into(),
                org: org.number.clone(),
                action: "billing.account".into(),
                target: format!("org:{}", org.id),
                source: "billing".into(),
                // The bank and branch only: the account number stays out of the trail.
                detail: format!("{} {}", account.bank_code, account.branch_code),
                ..AuditEntry::default()
            },
        )
        .await?;
    tx.commit().await?;
    Ok(account)
}

/// Every institution's bank account, by institution number.
pub async fn bank_accounts(store: &Store) -> Result<BTreeMap<String, BankAccount>> {
    let mut out = BTreeMap::new();
    for (number, json) in store.bank_accounts().await? {
        let a: BankAccount =
            serde_json::from_str(&json).map_err(|e| BillingFlowError::Setting {
                key: "bank_accounts.account_json",
                detail: format!("{number}: {e}"),
            })?;
        out.insert(number, a);
    }
    Ok(out)
}

/// A month's 全銀 総合振込 file and its totals.
#[derive(Debug, Clone)]
pub struct TransferFile {
    pub bytes: Vec<u8>,
    pub payment_date: jiff::civil::Date,
    pub count: i64,
    pub total: i64,
}

/// The transfer file paying a closed month's statements: one transfer per institution with
/// a positive payment, on the month's payment date. Fails listing every paid institution
/// that has no bank account.
pub async fn transfer_file(store: &Store, month: YearMonth) -> Result<TransferFile> {
    let settled = settlement(store, month)
        .await?
        .ok_or_else(|| BillingFlowError::NotClosed(month.to_string()))?;
    let remitter = remitter(store).await?.ok_or(BillingFlowError::NoRemitter)?;
    let accounts = bank_accounts(store).await?;
    let missing: Vec<(String, String)> = settled
        .statements
        .iter()
        .filter(|s| s.amount_paid > 0 && !accounts.contains_key(&s.institution))
        .map(|s| (s.institution.clone(), s.institution_name.clone()))
        .collect();
    if !missing.is_empty() {
        return Err(BillingFlowError::MissingAccounts(missing));
    }
    let transfers = daiko_billing::transfers_from_statements(&settled.statements, &accounts)?;
    let payment_date = match settled.statements.first() {
        Some(s) => s.payment_date,
        None => frozen_calendar(store, month).await?.payment_date(month),
    };
    let bytes = daiko_billing::transfer_file(&remitter, payment_date, &transfers)?;
    Ok(TransferFile {
        bytes,
        payment_date,
        count: transfers.len() as i64,
        total: transfers.iter().map(|t| t.amount).sum(),
    })
}

async fn frozen_calendar(store: &Store, month: YearMonth) -> Result<Calendar> {
    let m = store
        .billing_month(&month.to_string())
        .await?
        .ok_or_else(|| BillingFlowError::NotClosed(month.to_string()))?;
    serde_json::from_str(&m.calendar_json).map_err(|e| BillingFlowError::Setting {
        key: "billing_months.calendar_json",
        detail: e.to_string(),
    })
}

/// Settings key of the agency as printed on invoices and statements
/// (daiko_billing::AgencyInfo JSON).
pub const AGENCY_KEY: &str = "billing.agency";

/// The agency as printed on documents: the `billing.agency` setting, its name defaulting to
/// the agency organisation's name.
pub async fn agency_info(store: &Store) -> Result<AgencyInfo> {
    let mut info: AgencyInfo = json_setting(store, AGENCY_KEY).await?.unwrap_or_default();
    if info.name.trim().is_empty()
        && let Some(a) = store.agency().await?
    {
        info.name = a.name;
    }
    Ok(info)
}

/// Replaces the agency's printed details.
pub async fn set_agency_info(store: &Store, info: &AgencyInfo, actor: &str) -> Result<()> {
    set_json_setting(store, AGENCY_KEY, info, actor).await
}

/// Writes an audit row for reading a month's documents (they carry card numbers).
pub async fn audit_read(
    store: &Store,
    month: YearMonth,
    what: &str,
    actor: &str,
    source: &str,
) -> Result<()> {
    store
        .audit(&AuditEntry {
            actor: actor.to_string(),
            role: "operator".into(),
            action: format!("billing.{what}.read"),
            target: format!("billing_month:{month}"),
            source: source.to_string(),
            ..AuditEntry::default()
        })
        .await?;
    Ok(())
}
