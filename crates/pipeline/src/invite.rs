//! Checkup invitations (健診案内作成及び発送) against the database: the flow that ties the
//! pure rules of `daiko-invite` to the store (docs/invitations.md, "Operations").
//!
//! * [`import_roster`] — a roster CSV becomes the insurer's next roster version;
//! * [`targets`] — every member of the roster in force with its target decision;
//! * [`issue`] — 受診券 for the targets who have none for the year yet (idempotent), written
//!   to the checker's voucher ledger so stage D accepts them;
//! * [`letters`] — letters (PDF per batch) and the mailing list (UTF-8 and Shift_JIS) for the
//!   members holding a voucher, minus returned mail (宛所不明);
//! * [`reminders`] — the next reminder round as of a date: targets without a checkup record
//!   this year (from delivered data) and not returned by post, with message variants;
//! * [`uptake`] — uptake per round and variant; [`dashboard`] — counts for the portal.
//!
//! Only insurers subscribed to `invite` may use it ([`InviteError::NotSubscribed`]). Every
//! call that reads or writes personal data writes an audit row first ([`Actor`]).
//!
//! **Responders** (who had a checkup this year): records of the insurer's fiscal year with
//! 実施区分 1 in any state but `rejected`/`returned`. A record is matched to a member by its
//! voucher number when that is a voucher issued here (exact, branch included); otherwise by
//! card symbol and number when exactly one roster member has them (records carry no 枝番,
//! so a symbol/number shared by family members with different branches matches nobody
//! rather than the wrong person).

use std::collections::{BTreeMap, HashMap, HashSet};

use daiko_check::reference::CopaymentSetting;
use daiko_invite::letters::{LetterContext, LetterInput, LetterTemplate};
use daiko_invite::mailing::{self, MailItem, SjisError, SjisExportError, SjisPolicy};
use daiko_invite::reminders::{ReminderError, ReminderItem, ReminderRound, VariantUptake};
use daiko_invite::roster::{CardKey, Member, MemberType, RosterEncoding, RosterErrors};
use daiko_invite::targets::{TargetDecision, TargetRules};
use daiko_invite::vouchers::{
    FyMonthDay, IssuedVoucher, SupportLevel, VoucherError, VoucherKind, VoucherSettings,
};
use daiko_pdf::Fonts;
use daiko_store::audit::AuditEntry;
use daiko_store::invite::{
    CardRow, CheckupSource, IssuedBatch, IssuedRow, LetterRun, MemberRow, NewRoster,
    ReminderRoundRow, RosterInfo,
};
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::{Store, StoreError};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use daiko_invite;

/// Why an invitation operation failed. Every variant has a Japanese and an English
/// message ([`InviteError::ja`], [`InviteError::en`]; `Display` shows both).
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("{}", both(self))]
    NoSuchInsurer(String),
    #[error("{}", both(self))]
    NotSubscribed(String),
    #[error("{}", both(self))]
    Roster(RosterErrors),
    #[error("{}", both(self))]
    NoRoster(String),
    #[error("{}", both(self))]
    BadSettings(String),
    #[error("{}", both(self))]
    BadTemplate(String),
    #[error("{}", both(self))]
    BadFiscalYear(i64),
    #[error("{}", both(self))]
    Voucher(VoucherError),
    #[error("{}", both(self))]
    Letter(daiko_invite::LetterError),
    #[error("{}", both(self))]
    NothingIssued { fiscal_year: i16 },
    #[error("{}", both(self))]
    Reminder(ReminderError),
    #[error("{}", both(self))]
    Busy,
    #[error("{}", both(self))]
    NoFonts(String),
    #[error("{}", both(self))]
    Output(String),
    #[error("{}", both(self))]
    Store(StoreError),
}

fn both(e: &InviteError) -> String {
    format!("{} / {}", e.ja(), e.en())
}

impl From<StoreError> for InviteError {
    fn from(e: StoreError) -> Self {
        InviteError::Store(e)
    }
}

impl InviteError {
    /// The message in Japanese.
    pub fn ja(&self) -> String {
        match self {
            InviteError::NoSuchInsurer(n) => format!("保険者番号 {n} の保険者は登録されていません"),
            InviteError::NotSubscribed(n) => {
                format!("保険者 {n} は健診案内サービス(invite)を契約していません")
            }
            InviteError::Roster(e) => {
                let lines: Vec<String> = e
                    .errors
                    .iter()
                    .take(20)
                    .map(|r| format!("{}行目 {}: {}", r.line, r.column, r.ja))
                    .collect();
                format!(
                    "名簿を取り込めません(何も取り込んでいません)。{}件の誤り: {}",
                    e.errors.len(),
                    lines.join("; ")
                )
            }
            InviteError::NoRoster(n) => {
                format!("保険者 {n} の名簿がありません。先に名簿を取り込んでください")
            }
            InviteError::BadSettings(e) => format!("健診案内の設定が正しくありません: {e}"),
            InviteError::BadTemplate(e) => format!("案内文のひな形が正しくありません: {e}"),
            InviteError::BadFiscalYear(y) => format!("年度 {y} は扱えません(2008〜2099)"),
            InviteError::Voucher(e) => format!("受診券を発行できません: {e}"),
            InviteError::Letter(e) => format!("案内状を作成できません: {e}"),
            InviteError::NothingIssued { fiscal_year } => format!(
                "{fiscal_year}年度の受診券がまだ発行されていません。先に受診券を発行してください"
            ),
            InviteError::Reminder(e) => format!("受診勧奨の回を計画できません: {e}"),
            InviteError::Busy => {
                "同じ保険者の受診券発行が同時に行われました。もう一度実行してください".into()
            }
            InviteError::NoFonts(e) => {
                format!("PDF を作成できません(日本語フォントがありません): {e}")
            }
            InviteError::Output(e) => format!("出力を作成できません: {e}"),
            InviteError::Store(e) => format!("データベースのエラー: {e}"),
        }
    }

    /// The message in English.
    pub fn en(&self) -> String {
        match self {
            InviteError::NoSuchInsurer(n) => format!("no insurer with number {n} is registered"),
            InviteError::NotSubscribed(n) => {
                format!("insurer {n} does not subscribe to the invitation service (invite)")
            }
            InviteError::Roster(e) => {
                let lines: Vec<String> = e
                    .errors
                    .iter()
                    .take(20)
                    .map(|r| format!("line {}, column {}: {}", r.line, r.column, r.en))
                    .collect();
                format!(
                    "the roster was not imported (nothing was). {} error(s): {}",
                    e.errors.len(),
                    lines.join("; ")
                )
            }
            InviteError::NoRoster(n) => {
                format!("insurer {n} has no roster; import one first")
            }
            InviteError::BadSettings(e) => format!("invalid invitation settings: {e}"),
            InviteError::BadTemplate(e) => format!("invalid letter template: {e}"),
            InviteError::BadFiscalYear(y) => format!("fiscal year {y} is out of range (2008-2099)"),
            InviteError::Voucher(e) => format!("vouchers cannot be issued: {e}"),
            InviteError::Letter(e) => format!("letters cannot be made: {e}"),
            InviteError::NothingIssued { fiscal_year } => format!(
                "no vouchers have been issued for fiscal year {fiscal_year}; issue them first"
            ),
            InviteError::Reminder(e) => format!("the reminder round cannot be planned: {e}"),
            InviteError::Busy => {
                "another voucher issue for the same insurer ran at the same time; run it again"
                    .into()
            }
            InviteError::NoFonts(e) => format!("cannot make the PDF (no Japanese fonts): {e}"),
            InviteError::Output(e) => format!("cannot make the output: {e}"),
            InviteError::Store(e) => format!("database error: {e}"),
        }
    }

    /// Whether the caller's input (not the system) is at fault.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            InviteError::Store(_) | InviteError::NoFonts(_) | InviteError::Output(_)
        )
    }
}

/// Who acts, for the audit rows.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub login: String,
    pub role: String,
    /// The actor's organisation number ("" for agency staff and the CLI).
    pub org: String,
    /// Client address or `cli`.
    pub source: String,
}

impl Actor {
    fn entry(&self, action: &str, insurer: &str, records: String, detail: String) -> AuditEntry {
        AuditEntry {
            actor: self.login.clone(),
            role: self.role.clone(),
            org: self.org.clone(),
            action: action.to_string(),
            target: format!("insurer:{insurer}"),
            records,
            source: self.source.clone(),
            detail,
        }
    }
}

/// The insurer's invitation settings (stored as JSON; defaults when never set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InviteSettings {
    /// 受診券 有効期限 within the fiscal year.
    pub checkup_expiry: FyMonthDay,
    /// 利用券 有効期限 in the fiscal year after the checkup.
    pub guidance_expiry: FyMonthDay,
    /// Co-payments (別表6) per category; `null` = not covered.
    pub basic: Option<CopaymentSetting>,
    pub detail: Option<CopaymentSetting>,
    pub additional: Option<CopaymentSetting>,
    pub dock: Option<CopaymentSetting>,
    pub guidance: Option<CopaymentSetting>,
    /// Member types invited (`null` = all), e.g. `["dependant", "voluntary"]`.
    pub member_types: Option<Vec<MemberType>>,
    /// Reference date for "insured on" (month/day in the fiscal year; default 1 April).
    pub reference_date: Option<FyMonthDay>,
    /// Reminder message variants (names), at least one.
    pub reminder_variants: Vec<String>,
    /// Sender lines printed under the insurer's name (address, phone).
    pub sender: Vec<String>,
    /// Letters per PDF file.
    pub batch_size: usize,
    /// Shift_JIS export of the mailing list: `mark` (〓 + gaiji column) or `refuse`.
    pub sjis_policy: SjisPolicy,
    /// Postage per letter in yen (for the barcode-discount estimate).
    pub postage_yen: u64,
}

impl Default for InviteSettings {
    fn default() -> Self {
        let free = CopaymentSetting {
            code: 1,
            ..CopaymentSetting::default()
        };
        InviteSettings {
            checkup_expiry: FyMonthDay { month: 3, day: 31 },
            guidance_expiry: FyMonthDay { month: 3, day: 31 },
            basic: Some(free),
            detail: Some(free),
            additional: None,
            dock: None,
            guidance: Some(free),
            member_types: None,
            reference_date: None,
            reminder_variants: vec!["A".into(), "B".into()],
            sender: Vec::new(),
            batch_size: daiko_invite::letters::DEFAULT_BATCH,
            sjis_policy: SjisPolicy::Mark,
            postage_yen: 110,
        }
    }
}

impl InviteSettings {
    /// The voucher settings of `insurer` (validated).
    pub fn vouchers(&self, insurer: &Org) -> Result<VoucherSettings, InviteError> {
        let v = VoucherSettings {
            insurer_number: insurer.number.clone(),
            insurer_name: insurer.name.clone(),
            checkup_expiry: self.checkup_expiry,
            guidance_expiry: self.guidance_expiry,
            basic: self.basic,
            detail: self.detail,
            additional: self.additional,
            dock: self.dock,
            guidance: self.guidance,
        };
        v.validate()
            .map_err(|e| InviteError::BadSettings(e.to_string()))?;
        Ok(v)
    }

    /// The target rules for fiscal year `fy`.
    pub fn rules(&self, fy: i16) -> Result<TargetRules, InviteError> {
        let mut r = TargetRules::new(fy);
        if let Some(md) = self.reference_date {
            r.reference_date = Some(
                md.in_fy(fy)
                    .map_err(|e| InviteError::BadSettings(e.to_string()))?,
            );
        }
        r.member_types = self
            .member_types
            .as_ref()
            .map(|t| t.iter().copied().collect());
        Ok(r)
    }

    /// Checks what can be checked without a fiscal year.
    pub fn validate(&self, insurer: &Org) -> Result<(), InviteError> {
        self.vouchers(insurer)?;
        self.rules(2024)?;
        if self.reminder_variants.is_empty()
            || self.reminder_variants.iter().any(|v| v.trim().is_empty())
        {
            return Err(InviteError::BadSettings(
                "reminder_variants needs at least one non-empty name".into(),
            ));
        }
        if self.batch_size == 0 {
            return Err(InviteError::BadSettings(
                "batch_size must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// The insurer (by 保険者番号, 6 or 8 digits) if it exists and subscribes to `invite`.
pub async fn invite_insurer(store: &Store, number: &str) -> Result<Org, InviteError> {
    let n = number.trim();
    let mut org = store.org_by_number(n).await?;
    if org.is_none() && n.len() == 6 {
        org = store.org_by_number(&format!("{n:0>8}")).await?;
    }
    let org = org
        .filter(|o| o.kind == OrgKind::Insurer)
        .ok_or_else(|| InviteError::NoSuchInsurer(n.to_string()))?;
    require_subscribed(&org)?;
    Ok(org)
}

/// Refuses an insurer that does not subscribe to `invite`.
pub fn require_subscribed(org: &Org) -> Result<(), InviteError> {
    if org.kind != OrgKind::Insurer {
        return Err(InviteError::NoSuchInsurer(org.number.clone()));
    }
    if !org.subscribes("invite") {
        return Err(InviteError::NotSubscribed(org.number.clone()));
    }
    Ok(())
}

/// The 8-digit key of the insurer in the invitation and ledger tables.
fn key(org: &Org) -> String {
    format!("{:0>8}", org.number)
}

fn fiscal_year(fy: i64) -> Result<i16, InviteError> {
    if (2008..=2099).contains(&fy) {
        Ok(fy as i16)
    } else {
        Err(InviteError::BadFiscalYear(fy))
    }
}

fn card_row(c: &CardKey) -> CardRow {
    CardRow {
        symbol: c.symbol.clone(),
        number: c.number.clone(),
        branch: c.branch.clone(),
    }
}

fn card_key(c: &CardRow) -> CardKey {
    CardKey {
        symbol: c.symbol.clone(),
        number: c.number.clone(),
        branch: c.branch.clone(),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> InviteError {
    InviteError::Store(StoreError::Corrupt(format!("{what}: {e}")))
}

/// The insurer's settings (defaults when never set).
pub async fn settings(store: &Store, org: &Org) -> Result<InviteSettings, InviteError> {
    match store.invite_settings(&key(org)).await? {
        Some(j) => serde_json::from_str(&j).map_err(|e| corrupt("invite settings", e)),
        None => Ok(InviteSettings::default()),
    }
}

/// Validates and stores the insurer's settings.
pub async fn save_settings(
    store: &Store,
    org: &Org,
    s: &InviteSettings,
    actor: &Actor,
) -> Result<(), InviteError> {
    require_subscribed(org)?;
    s.validate(org)?;
    let json = serde_json::to_string(s).map_err(|e| InviteError::Output(e.to_string()))?;
    store
        .set_invite_settings(&key(org), &json, &actor.login)
        .await?;
    store
        .audit(&actor.entry("invite.settings.save", &key(org), String::new(), json))
        .await?;
    Ok(())
}

/// Parses settings JSON sent by a user (unknown fields refused).
pub fn parse_settings(json: &[u8]) -> Result<InviteSettings, InviteError> {
    serde_json::from_slice(json).map_err(|e| InviteError::BadSettings(e.to_string()))
}

// ---- roster ----

/// Imports a roster CSV as the insurer's next roster version (all or nothing).
pub async fn import_roster(
    store: &Store,
    org: &Org,
    bytes: &[u8],
    file_name: &str,
    actor: &Actor,
) -> Result<RosterInfo, InviteError> {
    require_subscribed(org)?;
    let roster = daiko_invite::parse_roster(bytes).map_err(InviteError::Roster)?;
    let encoding = match roster.encoding {
        RosterEncoding::Utf8 => "utf8",
        RosterEncoding::Utf8Bom => "utf8_bom",
        RosterEncoding::ShiftJis => "shift_jis",
    };
    let members = roster
        .members
        .iter()
        .map(|m| {
            Ok(MemberRow {
                card: card_row(&m.card),
                member_json: serde_json::to_string(m)?,
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(|e| InviteError::Output(e.to_string()))?;
    let sha = hex::encode(Sha256::digest(bytes));
    let info = store
        .add_roster(&NewRoster {
            insurer: &key(org),
            sha256: &sha,
            encoding,
            file_name,
            imported_by: &actor.login,
            members: &members,
        })
        .await?;
    store
        .audit(
            &actor.entry(
                "invite.roster.import",
                &key(org),
                format!("roster:{}", info.id),
                serde_json::json!({"version": info.version, "members": info.members,
                "encoding": encoding, "sha256": sha, "file": file_name})
                .to_string(),
            ),
        )
        .await?;
    Ok(info)
}

/// The roster in force with its members.
async fn load_roster(store: &Store, org: &Org) -> Result<(RosterInfo, Vec<Member>), InviteError> {
    let info = store
        .current_roster(&key(org))
        .await?
        .ok_or_else(|| InviteError::NoRoster(org.number.clone()))?;
    let members = store
        .roster_members(&info.id)
        .await?
        .iter()
        .map(|m| serde_json::from_str::<Member>(&m.member_json))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt("roster member", e))?;
    Ok((info, members))
}

// ---- targets ----

/// Target decisions of every member of the roster in force.
#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    pub roster: RosterInfo,
    pub fiscal_year: i16,
    pub members: usize,
    pub targets: usize,
    pub decisions: Vec<TargetDecision>,
}

fn decide(
    members: &[Member],
    settings: &InviteSettings,
    fy: i16,
) -> Result<Vec<TargetDecision>, InviteError> {
    Ok(daiko_invite::decide_all(members, &settings.rules(fy)?))
}

/// Decides who is a target in fiscal year `fy` (audited: it lists members).
pub async fn targets(
    store: &Store,
    org: &Org,
    fy: i64,
    actor: &Actor,
) -> Result<Targets, InviteError> {
    require_subscribed(org)?;
    let fy = fiscal_year(fy)?;
    let s = settings(store, org).await?;
    let (roster, members) = load_roster(store, org).await?;
    let decisions = decide(&members, &s, fy)?;
    let n = decisions.iter().filter(|d| d.target).count();
    store
        .audit(
            &actor.entry(
                "invite.targets.read",
                &key(org),
                format!("roster:{}", roster.id),
                serde_json::json!({"fiscal_year": fy, "members": members.len(), "targets": n})
                    .to_string(),
            ),
        )
        .await?;
    Ok(Targets {
        fiscal_year: fy,
        members: members.len(),
        targets: n,
        roster,
        decisions,
    })
}

/// One decision as the CLI and API print it: the decision plus flat card fields and the
/// reason codes, so a consumer needs no nesting to filter.
pub fn decision_json(d: &TargetDecision) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("card_symbol".into(), d.card.symbol.clone().into());
        o.insert("card_number".into(), d.card.number.clone().into());
        o.insert("card_branch".into(), d.card.branch.clone().into());
        o.insert(
            "reason_codes".into(),
            d.reasons
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .into(),
        );
        o.insert(
            "reasons_ja".into(),
            d.reasons.iter().map(|r| r.ja()).collect::<Vec<_>>().into(),
        );
    }
    v
}

// ---- issue ----

/// What an issue run did.
#[derive(Debug, Clone, Serialize)]
pub struct IssueReport {
    pub fiscal_year: i16,
    /// `checkup` (受診券) or `guidance` (利用券).
    pub kind: VoucherKind,
    /// 受診券: the targets of the year; 利用券: members of the roster in force whose
    /// checkup this year gave a support level.
    pub targets: usize,
    /// Vouchers issued now.
    pub issued: usize,
    /// Targets that already held a voucher of the kind for the year (not issued again).
    pub already: usize,
    pub first_number: Option<String>,
    pub last_number: Option<String>,
}

/// Ledger row JSON as the checker's DbReference reads it (`{"seq": …, …VoucherRecord}`).
#[derive(Serialize)]
struct LedgerRow<'a> {
    seq: u64,
    #[serde(flatten)]
    record: &'a daiko_check::reference::VoucherRecord,
}

/// Issues 受診券 to every target of fiscal year `fy` without one yet. Running it again
/// issues nothing new (a member who joined the roster since gets one).
pub async fn issue(
    store: &Store,
    org: &Org,
    fy: i64,
    actor: &Actor,
) -> Result<IssueReport, InviteError> {
    require_subscribed(org)?;
    let fy = fiscal_year(fy)?;
    let s = settings(store, org).await?;
    let vs = s.vouchers(org)?;
    let (roster, members) = load_roster(store, org).await?;
    let decisions = decide(&members, &s, fy)?;
    let insurer = key(org);
    let held: HashSet<CardKey> = store
        .issued_vouchers(&insurer, i64::from(fy), Some(1))
        .await?
        .iter()
        .map(|r| card_key(&r.card))
        .collect();
    let mut todo: Vec<(&Member, Option<Date>)> = Vec::new();
    let mut targets = 0;
    for (m, d) in members.iter().zip(&decisions) {
        if !d.target {
            continue;
        }
        targets += 1;
        if !held.contains(&m.card) {
            todo.push((m, Some(d.eligible_until)));
        }
    }
    let already = targets - todo.len();
    let mut report = IssueReport {
        fiscal_year: fy,
        kind: VoucherKind::Checkup,
        targets,
        issued: todo.len(),
        already,
        first_number: None,
        last_number: None,
    };
    if !todo.is_empty() {
        let from = store
            .next_voucher_serial(&insurer, i64::from(fy), 1)
            .await?;
        let out =
            daiko_invite::issue_checkup(&vs, fy, &todo, from).map_err(InviteError::Voucher)?;
        let (first, last) = record_issued(store, &insurer, fy, &roster, from, out, actor).await?;
        report.first_number = first;
        report.last_number = last;
    }
    store
        .audit(&actor.entry(
            "invite.vouchers.issue",
            &insurer,
            format!("roster:{}", roster.id),
            serde_json::to_string(&report).unwrap_or_default(),
        ))
        .await?;
    Ok(report)
}

/// Writes one run's vouchers (issuance rows and the checker's ledger rows) in one
/// transaction; answers the first and last number.
async fn record_issued(
    store: &Store,
    insurer: &str,
    fy: i16,
    roster: &RosterInfo,
    from: u32,
    out: daiko_invite::vouchers::Issued,
    actor: &Actor,
) -> Result<(Option<String>, Option<String>), InviteError> {
    let Some(kind) = out.vouchers.first().map(|v| i64::from(v.kind.digit())) else {
        return Ok((None, None));
    };
    let at = daiko_store::now();
    let rows = out
        .vouchers
        .iter()
        .map(|v| {
            let record = v.to_record();
            Ok(IssuedRow {
                fiscal_year: i64::from(fy),
                kind: i64::from(v.kind.digit()),
                number: v.number.to_string(),
                card: card_row(&v.card),
                roster_id: roster.id.clone(),
                voucher_json: serde_json::to_string(v)?,
                ledger_json: serde_json::to_string(&LedgerRow {
                    seq: u64::from(v.number.serial()),
                    record: &record,
                })?,
                issued_at: at.clone(),
                issued_by: actor.login.clone(),
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(|e| InviteError::Output(e.to_string()))?;
    match store
        .record_issued_vouchers(&IssuedBatch {
            insurer,
            fiscal_year: i64::from(fy),
            kind,
            from_serial: from,
            next_serial: out.next_serial,
            rows: &rows,
            by: &actor.login,
        })
        .await
    {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => return Err(InviteError::Busy),
        Err(e) => return Err(e.into()),
    }
    Ok((
        rows.first().map(|r| r.number.clone()),
        rows.last().map(|r| r.number.clone()),
    ))
}

/// Issues vouchers of `kind`: 受診券 ([`issue`]) or 利用券 ([`issue_guidance`]).
pub async fn issue_kind(
    store: &Store,
    org: &Org,
    fy: i64,
    kind: VoucherKind,
    actor: &Actor,
) -> Result<IssueReport, InviteError> {
    match kind {
        VoucherKind::Checkup => issue(store, org, fy, actor).await,
        VoucherKind::Guidance => issue_guidance(store, org, fy, actor).await,
    }
}

/// Issues 利用券 (guidance vouchers) of fiscal year `fy` to the members of the roster in
/// force whose checkup this year gave a support level, with that level; idempotent like
/// [`issue`] (a member holding a 利用券 of the year is skipped). The level is the
/// 保健指導レベル the CDA of the member's latest accepted checkup record states (the
/// checker's M-14 has compared it with `daiko_items::stratify` on the values): 1 積極的支援,
/// 2 動機付け支援; なし and 判定不能 get none. Records are matched to members as for
/// responders (module doc).
pub async fn issue_guidance(
    store: &Store,
    org: &Org,
    fy: i64,
    actor: &Actor,
) -> Result<IssueReport, InviteError> {
    require_subscribed(org)?;
    let fy = fiscal_year(fy)?;
    let s = settings(store, org).await?;
    let vs = s.vouchers(org)?;
    let (roster, members) = load_roster(store, org).await?;
    let insurer = key(org);
    let matcher = MemberMatcher::new(store, &insurer, fy, &members).await?;
    // The latest record per member (sources come in service-date order).
    let mut latest: HashMap<CardKey, CheckupSource> = HashMap::new();
    for src in store
        .checkup_sources_of_year(&insurer, i64::from(fy))
        .await?
    {
        if let Some(card) = matcher.member(&src.voucher, &src.card_symbol, &src.card_number) {
            latest.insert(card, src);
        }
    }
    let levels = support_levels(store, latest).await?;
    let held: HashSet<CardKey> = store
        .issued_vouchers(&insurer, i64::from(fy), Some(2))
        .await?
        .iter()
        .map(|r| card_key(&r.card))
        .collect();
    let mut todo: Vec<(&Member, SupportLevel)> = Vec::new();
    let mut targets = 0;
    for m in &members {
        let Some(level) = levels.get(&m.card) else {
            continue;
        };
        targets += 1;
        if !held.contains(&m.card) {
            todo.push((m, *level));
        }
    }
    let mut report = IssueReport {
        fiscal_year: fy,
        kind: VoucherKind::Guidance,
        targets,
        issued: todo.len(),
        already: targets - todo.len(),
        first_number: None,
        last_number: None,
    };
    if !todo.is_empty() {
        let from = store
            .next_voucher_serial(&insurer, i64::from(fy), 2)
            .await?;
        let out =
            daiko_invite::issue_guidance(&vs, fy, &todo, from).map_err(InviteError::Voucher)?;
        let (first, last) = record_issued(store, &insurer, fy, &roster, from, out, actor).await?;
        report.first_number = first;
        report.last_number = last;
    }
    store
        .audit(&actor.entry(
            "invite.vouchers.issue",
            &insurer,
            format!("roster:{}", roster.id),
            serde_json::to_string(&report).unwrap_or_default(),
        ))
        .await?;
    Ok(report)
}

/// The support level each member's record states, reading every archive once.
async fn support_levels(
    store: &Store,
    latest: HashMap<CardKey, CheckupSource>,
) -> Result<HashMap<CardKey, SupportLevel>, InviteError> {
    let mut by_archive: BTreeMap<(String, String), Vec<(CardKey, String)>> = BTreeMap::new();
    for (card, src) in latest {
        by_archive
            .entry((src.archive_name, src.blob_key))
            .or_default()
            .push((card, src.data_file));
    }
    let mut out = HashMap::new();
    for ((name, blob), cards) in by_archive {
        let bytes = store.blobs().get(&blob).await?;
        let pairs: Vec<(String, String)> = cards
            .iter()
            .map(|(_, data)| (data.clone(), String::new()))
            .collect();
        let files = crate::route::extract_records(&name, std::io::Cursor::new(bytes), &pairs)
            .map_err(|e| corrupt("stored archive", e))?;
        for ((card, _), f) in cards.into_iter().zip(files) {
            if let Some(level) = recorded_level(&f.data) {
                out.insert(card, level);
            }
        }
    }
    Ok(out)
}

/// JLAC code of 保健指導レベル (`daiko_items::rules::item::GUIDANCE_LEVEL`; daiko-items is
/// not a dependency of this crate, the checker's M-14 is where it is interpreted).
const GUIDANCE_LEVEL_ITEM: &str = "9N506000000000011";

/// 保健指導レベル of a checkup CDA: 1 積極的支援, 2 動機付け支援 (3 なし, 4 判定不能: none).
fn recorded_level(cda: &[u8]) -> Option<SupportLevel> {
    use daiko_format::cda::Value;
    let text = daiko_format::read::decode(cda).ok()?;
    let doc = daiko_format::read::parse(text, &daiko_format::read::ParseLimits::default()).ok()?;
    let obs = daiko_format::cda::observations_in(&doc);
    let o = obs.iter().find(|o| o.item_code() == GUIDANCE_LEVEL_ITEM)?;
    o.values.iter().find_map(|v| match v {
        Value::Coded { code, .. } => match code.code.as_str() {
            "1" => Some(SupportLevel::Active),
            "2" => Some(SupportLevel::Motivational),
            _ => None,
        },
        _ => None,
    })
}

/// Finds the roster member a record is about: by an issued 受診券 number (exact), else by
/// card symbol and number when exactly one member has them (module doc).
struct MemberMatcher {
    by_voucher: HashMap<String, CardKey>,
    by_card: HashMap<(String, String), Option<CardKey>>,
}

impl MemberMatcher {
    async fn new(
        store: &Store,
        insurer: &str,
        fy: i16,
        members: &[Member],
    ) -> Result<MemberMatcher, InviteError> {
        let by_voucher = store
            .issued_vouchers(insurer, i64::from(fy), Some(1))
            .await?
            .iter()
            .map(|r| (r.number.clone(), card_key(&r.card)))
            .collect();
        let mut by_card: HashMap<(String, String), Option<CardKey>> = HashMap::new();
        for m in members {
            by_card
                .entry((m.card.symbol.clone(), m.card.number.clone()))
                .and_modify(|e| *e = None)
                .or_insert_with(|| Some(m.card.clone()));
        }
        Ok(MemberMatcher {
            by_voucher,
            by_card,
        })
    }

    fn member(&self, voucher: &str, symbol: &str, number: &str) -> Option<CardKey> {
        self.by_voucher.get(voucher).cloned().or_else(|| {
            let k = CardKey::new(symbol, number, "");
            self.by_card.get(&(k.symbol, k.number)).cloned().flatten()
        })
    }
}

/// The issued 受診券 of a fiscal year (personal data: audited).
pub async fn issued(
    store: &Store,
    org: &Org,
    fy: i64,
    actor: &Actor,
) -> Result<Vec<IssuedVoucher>, InviteError> {
    require_subscribed(org)?;
    let fy = fiscal_year(fy)?;
    let rows = store
        .issued_vouchers(&key(org), i64::from(fy), None)
        .await?;
    store
        .audit(&actor.entry(
            "invite.vouchers.read",
            &key(org),
            String::new(),
            serde_json::json!({"fiscal_year": fy, "vouchers": rows.len()}).to_string(),
        ))
        .await?;
    rows.iter()
        .map(|r| serde_json::from_str(&r.voucher_json).map_err(|e| corrupt("issued voucher", e)))
        .collect()
}

// ---- letters ----

/// Output files (name, bytes) of letters or reminders.
#[derive(Debug, Clone)]
pub struct OutputFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What a letter run produced.
#[derive(Debug, Clone)]
pub struct LettersOutput {
    pub run: LetterRun,
    /// `letters_FY_NNN.pdf` …, `mailing_FY.csv` (UTF-8), `mailing_FY_sjis.csv` (unless refused).
    pub files: Vec<OutputFile>,
    /// Members with a voucher who cannot be mailed (no address, or 宛所不明).
    pub unmailable: Vec<CardKey>,
    /// Cells the Shift_JIS export refused (policy `refuse`; no Shift_JIS file then).
    pub sjis_errors: Vec<SjisError>,
    pub discount: mailing::BarcodeDiscount,
    pub saving_yen: u64,
}

/// Japanese fonts, found once per process.
pub fn fonts() -> Result<&'static Fonts, InviteError> {
    static FONTS: std::sync::OnceLock<Result<Fonts, String>> = std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| Fonts::discover().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| InviteError::NoFonts(e.clone()))
}

/// The template in force: the newest stored version, or the built-in one (version 0).
pub async fn template(store: &Store, org: &Org) -> Result<(i64, LetterTemplate), InviteError> {
    match store.invite_templates(&key(org)).await?.into_iter().next() {
        Some(t) => Ok((
            t.version,
            serde_json::from_str(&t.template_json).map_err(|e| corrupt("template", e))?,
        )),
        None => Ok((0, LetterTemplate::default())),
    }
}

/// Checks (compiles) and stores a new template version.
pub async fn save_template(
    store: &Store,
    org: &Org,
    t: &LetterTemplate,
    actor: &Actor,
) -> Result<i64, InviteError> {
    require_subscribed(org)?;
    t.compile()
        .map_err(|e| InviteError::BadTemplate(e.to_string()))?;
    let json = serde_json::to_string(t).map_err(|e| InviteError::Output(e.to_string()))?;
    let v = store
        .add_invite_template(&key(org), &json, &actor.login)
        .await?;
    store
        .audit(&actor.entry(
            "invite.template.save",
            &key(org),
            String::new(),
            serde_json::json!({"version": v}).to_string(),
        ))
        .await?;
    Ok(v)
}

fn context(org: &Org, s: &InviteSettings, fy: i16, today: Date) -> LetterContext {
    LetterContext {
        fiscal_year: fy,
        issued_on: today,
        insurer_name: org.name.clone(),
        sender: s.sender.clone(),
    }
}

/// A one-page preview of `t` for a sample member (no personal data), e.g. for the editor.
pub fn preview_pdf(
    org: &Org,
    s: &InviteSettings,
    t: &LetterTemplate,
    fy: i64,
    today: Date,
) -> Result<Vec<u8>, InviteError> {
    let fy = fiscal_year(fy)?;
    let compiled = t
        .compile()
        .map_err(|e| InviteError::BadTemplate(e.to_string()))?;
    let member = sample_member(fy);
    let vs = s.vouchers(org)?;
    let issued = daiko_invite::issue_checkup(&vs, fy, &[(&member, None)], 1)
        .map_err(InviteError::Voucher)?;
    let Some(voucher) = issued.vouchers.first() else {
        return Err(InviteError::Output("no sample voucher".into()));
    };
    daiko_invite::render_letters(
        fonts()?,
        &compiled,
        &context(org, s, fy, today),
        &[LetterInput {
            member: &member,
            voucher,
        }],
    )
    .map_err(InviteError::Letter)
}

/// The sample addressee of previews: Japan Post's worked barcode example address.
fn sample_member(fy: i16) -> Member {
    let date = |y: i16, m: i8, d: i8| Date::new(y, m, d).unwrap_or(Date::ZERO);
    Member {
        line: 2,
        card: CardKey::new("見本", "0000", ""),
        name: "見本 花子".into(),
        name_kana: "ミホン ハナコ".into(),
        sex: daiko_invite::Sex::Female,
        birth_date: date(fy - 50, 4, 10),
        postal_code: "1000013".into(),
        address1: "東京都千代田区霞が関".into(),
        address2: "1丁目3番2号".into(),
        address3: "郵便プラザ503室".into(),
        insured_from: date(fy - 10, 4, 1),
        insured_to: None,
        member_type: MemberType::Insured,
        exclusions: Vec::new(),
        returned_mail: false,
    }
}

/// Members with a 受診券 of the year, from the roster in force, plus their vouchers.
async fn holders(
    store: &Store,
    org: &Org,
    fy: i16,
) -> Result<(RosterInfo, Vec<(Member, IssuedVoucher)>), InviteError> {
    let (roster, members) = load_roster(store, org).await?;
    let mut by_card: HashMap<CardKey, Member> =
        members.into_iter().map(|m| (m.card.clone(), m)).collect();
    let mut out = Vec::new();
    for r in store
        .issued_vouchers(&key(org), i64::from(fy), Some(1))
        .await?
    {
        let v: IssuedVoucher =
            serde_json::from_str(&r.voucher_json).map_err(|e| corrupt("issued voucher", e))?;
        // A member who left the roster since issuing is not mailed.
        if let Some(m) = by_card.remove(&v.card) {
            out.push((m, v));
        }
    }
    Ok((roster, out))
}

async fn returned_set(store: &Store, org: &Org) -> Result<HashSet<CardKey>, InviteError> {
    Ok(store
        .returned_mail(&key(org))
        .await?
        .iter()
        .map(card_key)
        .collect())
}

/// Makes the letters and the mailing list of fiscal year `fy` for every member holding a
/// 受診券, in postal-code order, `batch_size` letters per PDF.
pub async fn letters(
    store: &Store,
    org: &Org,
    fy: i64,
    today: Date,
    actor: &Actor,
) -> Result<LettersOutput, InviteError> {
    require_subscribed(org)?;
    let fy = fiscal_year(fy)?;
    let s = settings(store, org).await?;
    let (version, t) = template(store, org).await?;
    let compiled = t
        .compile()
        .map_err(|e| InviteError::BadTemplate(e.to_string()))?;
    let (roster, mut holders) = holders(store, org, fy).await?;
    if holders.is_empty() {
        return Err(InviteError::NothingIssued { fiscal_year: fy });
    }
    let returned = returned_set(store, org).await?;
    for (m, _) in holders.iter_mut() {
        if returned.contains(&m.card) {
            m.returned_mail = true;
        }
    }
    let (mut mail, not_mail): (Vec<_>, Vec<_>) =
        holders.iter().partition(|(m, _)| mailing::mailable(m));
    mailing::sort_for_mailing(&mut mail, |(m, _)| m);
    // Personal data leaves in files: the audit row comes first.
    store
        .audit(
            &actor.entry(
                "invite.letters",
                &key(org),
                format!("roster:{}", roster.id),
                serde_json::json!({"fiscal_year": fy, "letters": mail.len(),
                "unmailable": not_mail.len(), "template_version": version})
                .to_string(),
            ),
        )
        .await?;
    let fonts = fonts()?;
    let ctx = context(org, &s, fy, today);
    let mut files = Vec::new();
    let mut items: Vec<(String, usize)> = Vec::with_capacity(mail.len());
    for (i, chunk) in mail.chunks(s.batch_size.max(1)).enumerate() {
        let name = format!("letters_{fy}_{:03}.pdf", i + 1);
        let inputs: Vec<LetterInput<'_>> = chunk
            .iter()
            .map(|(m, v)| LetterInput {
                member: m,
                voucher: v,
            })
            .collect();
        let pdf = daiko_invite::render_letters(fonts, &compiled, &ctx, &inputs)
            .map_err(InviteError::Letter)?;
        for p in 0..chunk.len() {
            items.push((name.clone(), p + 1));
        }
        files.push(OutputFile { name, bytes: pdf });
    }
    let mail_items: Vec<MailItem<'_>> = mail
        .iter()
        .zip(&items)
        .map(|((m, v), (file, page))| MailItem {
            member: m,
            voucher_number: v.number.as_str(),
            file,
            page: *page,
        })
        .collect();
    let list = daiko_invite::build_mailing(&mail_items);
    let utf8 =
        mailing::write_csv_utf8(&list.rows).map_err(|e| InviteError::Output(e.to_string()))?;
    files.push(OutputFile {
        name: format!("mailing_{fy}.csv"),
        bytes: utf8,
    });
    let mut sjis_errors = Vec::new();
    match mailing::write_csv_sjis(&list.rows, s.sjis_policy) {
        Ok(b) => files.push(OutputFile {
            name: format!("mailing_{fy}_sjis.csv"),
            bytes: b,
        }),
        Err(SjisExportError::Unmappable(errs)) => sjis_errors = errs,
        Err(SjisExportError::Csv(e)) => return Err(InviteError::Output(e.to_string())),
    }
    let unmailable: Vec<CardKey> = not_mail.iter().map(|(m, _)| m.card.clone()).collect();
    let run = LetterRun {
        id: String::new(),
        insurer: key(org),
        fiscal_year: i64::from(fy),
        roster_id: roster.id.clone(),
        template_version: version,
        letters: mail.len() as i64,
        files: files.iter().filter(|f| f.name.ends_with(".pdf")).count() as i64,
        unmailable: unmailable.len() as i64,
        barcoded: list.discount.barcoded as i64,
        run_at: daiko_store::now(),
        run_by: actor.login.clone(),
    };
    let id = store.add_letter_run(&run).await?;
    Ok(LettersOutput {
        run: LetterRun { id, ..run },
        files,
        unmailable,
        sjis_errors,
        saving_yen: list.discount.saving_yen(s.postage_yen),
        discount: list.discount,
    })
}

// ---- responders, reminders, uptake ----

fn compact_date(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::new(
        s[..4].parse().ok()?,
        s[4..6].parse().ok()?,
        s[6..].parse().ok()?,
    )
    .ok()
}

/// First checkup date this fiscal year per member (see the module doc for the matching).
pub async fn responders(
    store: &Store,
    org: &Org,
    fy: i16,
    members: &[Member],
) -> Result<HashMap<CardKey, Date>, InviteError> {
    let insurer = key(org);
    let matcher = MemberMatcher::new(store, &insurer, fy, members).await?;
    let mut out: HashMap<CardKey, Date> = HashMap::new();
    for r in store.checkups_of_year(&insurer, i64::from(fy)).await? {
        let Some(date) = compact_date(&r.service_date) else {
            continue;
        };
        if let Some(card) = matcher.member(&r.voucher, &r.card_symbol, &r.card_number) {
            out.entry(card)
                .and_modify(|d| *d = (*d).min(date))
                .or_insert(date);
        }
    }
    Ok(out)
}

fn round_from_row(r: &ReminderRoundRow) -> Result<ReminderRound, InviteError> {
    Ok(ReminderRound {
        round: u32::try_from(r.round).map_err(|e| corrupt("reminder round", e))?,
        sent_on: r.sent_on.parse().map_err(|e| corrupt("reminder date", e))?,
        variants: serde_json::from_str(&r.variants_json).map_err(|e| corrupt("variants", e))?,
        items: r
            .items
            .iter()
            .map(|(c, v)| ReminderItem {
                card: card_key(c),
                variant: usize::try_from(*v).unwrap_or(0),
            })
            .collect(),
    })
}

/// What a reminder round planned.
#[derive(Debug, Clone)]
pub struct RemindersOutput {
    pub round: u32,
    pub sent_on: Date,
    pub variants: Vec<String>,
    /// Reminders per variant (same order as `variants`).
    pub per_variant: Vec<usize>,
    pub reminded: usize,
    /// Targets with a checkup by `as_of` (no reminder).
    pub responded: usize,
    /// Targets whose mail came back (宛所不明; no reminder).
    pub returned: usize,
    /// Targets without a postal address (no reminder).
    pub unmailable: usize,
    /// `reminders_FY_rN.csv` (UTF-8 with BOM, postal-code order).
    pub files: Vec<OutputFile>,
}

/// Plans and stores the next reminder round of fiscal year `fy` as of `as_of` (the posting
/// date): targets of the roster in force with no checkup on or before `as_of`, not
/// returned by post and with an address.
pub async fn reminders(
    store: &Store,
    org: &Org,
    fy: i64,
    as_of: Date,
    actor: &Actor,
) -> Result<RemindersOutput, InviteError> {
    require_subscribed(org)?;
    let fy = fiscal_year(fy)?;
    let s = settings(store, org).await?;
    let (roster, members) = load_roster(store, org).await?;
    let decisions = decide(&members, &s, fy)?;
    let targets: Vec<&Member> = members
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.target)
        .map(|(m, _)| m)
        .collect();
    let (with_address, no_address): (Vec<&Member>, Vec<&Member>) = targets
        .iter()
        .partition(|m| m.postal_code.len() == 7 && !m.address1.is_empty());
    let responded: HashSet<CardKey> = responders(store, org, fy, &members)
        .await?
        .into_iter()
        .filter(|(_, d)| *d <= as_of)
        .map(|(c, _)| c)
        .collect();
    let returned = returned_set(store, org).await?;
    let previous = store
        .reminder_rounds(&key(org), i64::from(fy))
        .await?
        .iter()
        .map(round_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next = previous.iter().map(|r| r.round).max().unwrap_or(0) + 1;
    let plan = daiko_invite::plan_round(
        next,
        as_of,
        &s.reminder_variants,
        &with_address,
        &responded,
        &returned,
        &previous,
    )
    .map_err(InviteError::Reminder)?;
    // Those without an address who have not responded nor were returned.
    let unmailable = no_address
        .iter()
        .filter(|m| !responded.contains(&m.card) && !m.returned_mail && !returned.contains(&m.card))
        .count();
    store
        .audit(
            &actor.entry(
                "invite.reminders",
                &key(org),
                format!("roster:{}", roster.id),
                serde_json::json!({"fiscal_year": fy, "round": next, "as_of": as_of.to_string(),
                "reminded": plan.round.items.len(), "responded": plan.responded,
                "returned": plan.returned})
                .to_string(),
            ),
        )
        .await?;
    store
        .add_reminder_round(&ReminderRoundRow {
            insurer: key(org),
            fiscal_year: i64::from(fy),
            round: i64::from(next),
            sent_on: as_of.to_string(),
            variants_json: serde_json::to_string(&s.reminder_variants)
                .map_err(|e| InviteError::Output(e.to_string()))?,
            created_at: daiko_store::now(),
            created_by: actor.login.clone(),
            items: plan
                .round
                .items
                .iter()
                .map(|i| (card_row(&i.card), i.variant as i64))
                .collect(),
        })
        .await?;
    let by_card: HashMap<&CardKey, &Member> = members.iter().map(|m| (&m.card, m)).collect();
    let mut list: Vec<(&Member, usize)> = plan
        .round
        .items
        .iter()
        .filter_map(|i| by_card.get(&i.card).map(|m| (*m, i.variant)))
        .collect();
    mailing::sort_for_mailing(&mut list, |(m, _)| m);
    let mut per_variant = vec![0; s.reminder_variants.len()];
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let out = |e: csv::Error| InviteError::Output(e.to_string());
    w.write_record([
        "seq",
        "round",
        "variant",
        "postal_code",
        "address1",
        "address2",
        "address3",
        "name",
        "name_kana",
        "card_symbol",
        "card_number",
        "card_branch",
    ])
    .map_err(out)?;
    for (i, (m, v)) in list.iter().enumerate() {
        if let Some(n) = per_variant.get_mut(*v) {
            *n += 1;
        }
        let variant = s.reminder_variants.get(*v).cloned().unwrap_or_default();
        w.write_record([
            (i + 1).to_string(),
            next.to_string(),
            variant,
            format!("{}-{}", &m.postal_code[..3], &m.postal_code[3..]),
            m.address1.clone(),
            m.address2.clone(),
            m.address3.clone(),
            m.name.clone(),
            m.name_kana.clone(),
            m.card.symbol.clone(),
            m.card.number.clone(),
            m.card.branch.clone(),
        ])
        .map_err(out)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| InviteError::Output(e.to_string()))?;
    Ok(RemindersOutput {
        round: next,
        sent_on: as_of,
        variants: s.reminder_variants.clone(),
        per_variant,
        reminded: plan.round.items.len(),
        responded: plan.responded,
        returned: plan.returned,
        unmailable,
        files: vec![OutputFile {
            name: format!("reminders_{fy}_r{next}.csv"),
            bytes,
        }],
    })
}

/// Uptake per round and variant of fiscal year `fy` (counts only; no personal data leaves).
pub async fn uptake(store: &Store, org: &Org, fy: i64) -> Result<Vec<VariantUptake>, InviteError> {
    require_subscribed(org)?;
    let fy = fiscal_year(fy)?;
    let rounds = stored_rounds(store, org, fy).await?;
    if rounds.is_empty() {
        return Ok(Vec::new());
    }
    let members = match load_roster(store, org).await {
        Ok((_, m)) => m,
        Err(InviteError::NoRoster(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let seen = responders(store, org, fy, &members).await?;
    Ok(daiko_invite::uptake(&rounds, &seen))
}

async fn stored_rounds(
    store: &Store,
    org: &Org,
    fy: i16,
) -> Result<Vec<ReminderRound>, InviteError> {
    store
        .reminder_rounds(&key(org), i64::from(fy))
        .await?
        .iter()
        .map(round_from_row)
        .collect()
}

/// Counts for the portal's dashboard (no personal data).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dashboard {
    pub fiscal_year: i16,
    pub roster_version: Option<i64>,
    pub members: usize,
    pub targets: usize,
    pub issued: usize,
    pub responded: usize,
    pub returned_mail: usize,
    pub letter_runs: usize,
    pub reminder_rounds: usize,
    pub uptake: Vec<VariantUptake>,
}

/// Dashboard counts of fiscal year `fy`.
pub async fn dashboard(store: &Store, org: &Org, fy: i64) -> Result<Dashboard, InviteError> {
    require_subscribed(org)?;
    let fyi = fiscal_year(fy)?;
    let s = settings(store, org).await?;
    let mut d = Dashboard {
        fiscal_year: fyi,
        ..Dashboard::default()
    };
    let members = match load_roster(store, org).await {
        Ok((info, members)) => {
            d.roster_version = Some(info.version);
            members
        }
        Err(InviteError::NoRoster(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let decisions = decide(&members, &s, fyi)?;
    d.members = members.len();
    d.targets = decisions.iter().filter(|x| x.target).count();
    let target_cards: HashSet<&CardKey> = members
        .iter()
        .zip(&decisions)
        .filter(|(_, x)| x.target)
        .map(|(m, _)| &m.card)
        .collect();
    d.issued = store.issued_vouchers(&key(org), fy, Some(1)).await?.len();
    let seen = responders(store, org, fyi, &members).await?;
    d.responded = seen.keys().filter(|c| target_cards.contains(c)).count();
    d.returned_mail = store.returned_mail(&key(org)).await?.len();
    d.letter_runs = store.letter_runs(&key(org), fy).await?.len();
    let rounds = stored_rounds(store, org, fyi).await?;
    d.reminder_rounds = rounds.len();
    d.uptake = daiko_invite::uptake(&rounds, &seen);
    Ok(d)
}

/// Marks (or with `returned = false` clears) 宛所不明 for a member.
pub async fn set_returned_mail(
    store: &Store,
    org: &Org,
    card: &CardKey,
    returned: bool,
    note: &str,
    actor: &Actor,
) -> Result<(), InviteError> {
    require_subscribed(org)?;
    let row = card_row(card);
    if returned {
        store
            .mark_returned_mail(&key(org), &row, note, &actor.login)
            .await?;
    } else {
        store.unmark_returned_mail(&key(org), &row).await?;
    }
    // The card key itself stays out of the audit trail (S18): `records` names the table's
    // lookup key of the card key (`card_key_idx`, [`Store::card_key_index`]) and the note is
    // sealed for that member; [`returned_mail_history`] finds and opens them.
    let idx = store.card_key_index(&key(org), &row).await?;
    let note = store
        .seal_returned_audit_note(&key(org), &idx, note)
        .await?;
    store
        .audit(&actor.entry(
            if returned {
                "invite.returned.mark"
            } else {
                "invite.returned.clear"
            },
            &key(org),
            format!("card-key:{idx}"),
            note,
        ))
        .await?;
    Ok(())
}

/// A member's returned-mail (宛所不明) mark and the audit rows of its marking and clearing.
#[derive(Debug, Clone, Serialize)]
pub struct ReturnedMailHistory {
    /// The lookup key of the card key in the tables and the audit trail (`card-key:<it>`).
    pub card_key_idx: String,
    pub mark: Option<daiko_store::invite::ReturnedMark>,
    pub events: Vec<ReturnedMailEvent>,
}

/// One `invite.returned.mark|clear` audit row, its note opened.
#[derive(Debug, Clone, Serialize)]
pub struct ReturnedMailEvent {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub note: String,
}

/// Finds a member's returned-mail mark and audit rows by the card key (for an auditor: the
/// trail names only the card key's index). Rows written before the index was shared with
/// the tables (`card-idx:` of purpose `card` over the card key's text) are found too. The
/// look-up is itself audited (`invite.returned.find`).
pub async fn returned_mail_history(
    store: &Store,
    org: &Org,
    card: &CardKey,
    actor: &Actor,
) -> Result<ReturnedMailHistory, InviteError> {
    let insurer = key(org);
    let row = card_row(card);
    let idx = store.card_key_index(&insurer, &row).await?;
    let legacy = store
        .index_key(&insurer)
        .await?
        .index("card", &card.to_string());
    let rows = store
        .audit_of_records(
            &format!("insurer:{insurer}"),
            &[format!("card-key:{idx}"), format!("card-idx:{legacy}")],
        )
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    for r in rows {
        if !r.entry.action.starts_with("invite.returned.") || r.entry.action.ends_with(".find") {
            continue;
        }
        events.push(ReturnedMailEvent {
            note: store
                .open_returned_audit_note(&insurer, &idx, &r.entry.detail)
                .await?,
            seq: r.seq,
            at: r.at,
            actor: r.entry.actor,
            action: r.entry.action,
        });
    }
    let mark = store.returned_mail_mark(&insurer, &row).await?;
    store
        .audit(&actor.entry(
            "invite.returned.find",
            &insurer,
            format!("card-key:{idx}"),
            format!("events:{}", events.len()),
        ))
        .await?;
    Ok(ReturnedMailHistory {
        card_key_idx: idx,
        mark,
        events,
    })
}

/// Uptake rows grouped by round (for charts).
pub fn uptake_by_round(rows: &[VariantUptake]) -> BTreeMap<u32, Vec<&VariantUptake>> {
    let mut out: BTreeMap<u32, Vec<&VariantUptake>> = BTreeMap::new();
    for r in rows {
        out.entry(r.round).or_default().push(r);
    }
    out
}

/// The output files in one ZIP (for the API: letters or reminders in one download).
pub fn zip_files(files: &[OutputFile]) -> Result<Vec<u8>, InviteError> {
    use std::io::Write;
    let out = |e: &dyn std::fmt::Display| InviteError::Output(e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for f in files {
        zip.start_file(f.name.as_str(), options)
            .map_err(|e| out(&e))?;
        zip.write_all(&f.bytes).map_err(|e| out(&e))?;
    }
    Ok(zip.finish().map_err(|e| out(&e))?.into_inner())
}
