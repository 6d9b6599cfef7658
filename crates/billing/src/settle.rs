//! The money of one closed month (BUSINESS.md §5, §6, §9): one invoice (請求書) per insurer,
//! one payment statement (支払明細書) per institution, the agency's fees and the 過誤
//! offsets, with the identities
//!
//! * invoice: `amount_due = claim_total + fee_total − offset_total`;
//! * statement: `amount_paid − carried = claim_total − fee_total − offset_total`, where a
//!   negative payment is paid as 0 and its absolute value `carried` is returned as
//!   [`Statement::carried_forward`], an [`Offset`] with reason [`CARRY`] for the next month;
//! * the month: `Σ amount_paid − Σ carried = Σ invoice claim_total − Σ statement fee_total −
//!   Σ statement offset_total`.
//!
//! An offset (相殺) takes back money already paid for a record an insurer withdrew after
//! delivery or payment (過誤, 種別4/5, reason 別表10): it lowers the insurer's amount due and
//! the institution's payment by the same yen. A carried-forward negative ([`CARRY`]) is the
//! institution's debt to the agency only, so it appears on the statement and on no invoice.

use std::collections::{BTreeMap, HashSet};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::BillingError;
use crate::calendar::{Calendar, YearMonth};

/// The reason code of an offset that carries an institution's negative payment forward
/// (繰越) instead of a 別表10 code.
pub const CARRY: &str = "carry";

/// What a claim line pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// 特定健診
    Checkup,
    /// 特定保健指導
    Guidance,
}

impl ServiceKind {
    /// Japanese label for documents.
    pub fn label_ja(self) -> &'static str {
        match self {
            ServiceKind::Checkup => "健診",
            ServiceKind::Guidance => "保健指導",
        }
    }
}

/// One accepted claim (請求明細) billed in the month. For a checkup, `cost_total` is the
/// 単価合計, `copay_total` the 窓口負担金額, `other_total` the 他制度負担金額 and `claim_total`
/// the 請求金額; for guidance, cost is the 算定金額, copay the 窓口負担 (payment) and other 0.
/// In both cases `claim_total = cost_total − copay_total − other_total`, all ≥ 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLine {
    pub record_id: String,
    /// 保険者番号
    pub insurer: String,
    /// 医療機関コード (健診機関番号)
    pub institution: String,
    /// 被保険者証番号 (symbol and number as delivered)
    pub card_number: String,
    /// 受診券 / 利用券整理番号
    pub voucher_number: String,
    pub kind: ServiceKind,
    /// 別表11 timing of a guidance claim (1 start, 2 final, 3 stop, …).
    pub guidance_timing: Option<String>,
    /// 実施日 YYYYMMDD
    pub service_date: String,
    pub cost_total: i64,
    pub copay_total: i64,
    pub other_total: i64,
    pub claim_total: i64,
    /// 月遅れ: billed later than the month after the service.
    pub late: bool,
}

/// 過誤調整 offset, or a negative payment carried forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offset {
    pub id: String,
    /// 保険者番号; empty for a [`CARRY`] offset.
    pub insurer: String,
    pub institution: String,
    /// The withdrawn record, when the offset is about one record.
    pub record_id: Option<String>,
    /// 別表10 返戻理由コード, or [`CARRY`].
    pub reason_code: String,
    pub reason_text: String,
    /// Positive; reduces the insurer's amount due (not for [`CARRY`]) and the
    /// institution's payment.
    pub amount: i64,
    /// The month of the original payment (or of the carried deficit).
    pub origin_month: Option<YearMonth>,
}

impl Offset {
    /// True for a carried-forward negative payment, which is the institution's alone.
    pub fn is_carry(&self) -> bool {
        self.reason_code == CARRY
    }
}

/// The agency's fees (代行手数料), integer yen. The per-invoice and per-statement fees are
/// charged only on documents that bill at least one record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSchedule {
    /// Charged to the insurer per billed record (added to the invoice).
    pub insurer_per_record: i64,
    /// Charged to the insurer per invoice.
    pub insurer_per_invoice: i64,
    /// Deducted from the institution's payment per paid record.
    pub institution_per_record: i64,
    /// Deducted per payment statement.
    pub institution_per_statement: i64,
}

impl FeeSchedule {
    /// Fees are non-negative and below 1,000,000 yen each.
    pub fn validate(&self) -> Result<(), BillingError> {
        for (name, v) in [
            ("insurer_per_record", self.insurer_per_record),
            ("insurer_per_invoice", self.insurer_per_invoice),
            ("institution_per_record", self.institution_per_record),
            ("institution_per_statement", self.institution_per_statement),
        ] {
            if !(0..1_000_000).contains(&v) {
                return Err(BillingError::BadFee {
                    name: name.to_string(),
                    value: v,
                });
            }
        }
        Ok(())
    }
}

/// Totals for one counterpart on a document: per institution on an invoice, per insurer on
/// a statement (小計).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Subtotal {
    /// Institution or insurer number.
    pub code: String,
    pub name: String,
    pub records: i64,
    pub cost_total: i64,
    pub copay_total: i64,
    pub other_total: i64,
    pub claim_total: i64,
    pub offset_total: i64,
}

/// 請求書: what one insurer owes the agency for the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub month: YearMonth,
    pub insurer: String,
    pub insurer_name: String,
    pub records: i64,
    pub cost_total: i64,
    pub copay_total: i64,
    pub other_total: i64,
    pub claim_total: i64,
    pub fee_total: i64,
    pub offset_total: i64,
    /// claim_total + fee_total − offset_total; negative = the agency refunds the insurer.
    pub amount_due: i64,
    pub invoice_date: Date,
    pub due_date: Date,
    pub per_institution: Vec<Subtotal>,
    pub lines: Vec<ClaimLine>,
    pub offsets: Vec<Offset>,
}

/// 支払明細書: what the agency pays one institution for the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub month: YearMonth,
    pub institution: String,
    pub institution_name: String,
    pub records: i64,
    pub cost_total: i64,
    pub copay_total: i64,
    pub other_total: i64,
    pub claim_total: i64,
    pub fee_total: i64,
    pub offset_total: i64,
    /// max(0, claim_total − fee_total − offset_total).
    pub amount_paid: i64,
    pub payment_date: Date,
    pub per_insurer: Vec<Subtotal>,
    pub lines: Vec<ClaimLine>,
    pub offsets: Vec<Offset>,
    /// The deficit when fees and offsets exceed the claims, to be offset next month.
    pub carried_forward: Option<Offset>,
}

/// The month's documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    pub month: YearMonth,
    pub invoices: Vec<Invoice>,
    pub statements: Vec<Statement>,
}

/// The summary of an invoice, fields in the order of the fixed interface
/// (`daiko billing invoices --format json`). Serialize this struct to keep the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceSummary {
    pub insurer: String,
    pub records: i64,
    pub cost_total: i64,
    pub copay_total: i64,
    pub other_total: i64,
    pub claim_total: i64,
    pub fee_total: i64,
    pub offset_total: i64,
    pub amount_due: i64,
    pub insurer_name: String,
    pub month: YearMonth,
    pub invoice_date: Date,
    pub due_date: Date,
}

/// The summary of a statement, fields in the order of the fixed interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementSummary {
    pub institution: String,
    pub records: i64,
    pub claim_total: i64,
    pub fee_total: i64,
    pub offset_total: i64,
    pub amount_paid: i64,
    pub carried_forward: i64,
    pub institution_name: String,
    pub month: YearMonth,
    pub payment_date: Date,
    pub cost_total: i64,
    pub copay_total: i64,
    pub other_total: i64,
}

impl Invoice {
    /// The ordered summary (see [`InvoiceSummary`]).
    pub fn summary(&self) -> InvoiceSummary {
        InvoiceSummary {
            insurer: self.insurer.clone(),
            records: self.records,
            cost_total: self.cost_total,
            copay_total: self.copay_total,
            other_total: self.other_total,
            claim_total: self.claim_total,
            fee_total: self.fee_total,
            offset_total: self.offset_total,
            amount_due: self.amount_due,
            insurer_name: self.insurer_name.clone(),
            month: self.month,
            invoice_date: self.invoice_date,
            due_date: self.due_date,
        }
    }

    /// The summary as a JSON value. `serde_json::Value` objects sort their keys in this
    /// workspace (no `preserve_order`); serialize [`Invoice::summary`] to keep the
    /// interface's field order.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::to_value(self.summary()).unwrap_or(serde_json::Value::Null)
    }
}

impl Statement {
    /// The ordered summary (see [`StatementSummary`]).
    pub fn summary(&self) -> StatementSummary {
        StatementSummary {
            institution: self.institution.clone(),
            records: self.records,
            claim_total: self.claim_total,
            fee_total: self.fee_total,
            offset_total: self.offset_total,
            amount_paid: self.amount_paid,
            carried_forward: self.carried_forward.as_ref().map_or(0, |o| o.amount),
            institution_name: self.institution_name.clone(),
            month: self.month,
            payment_date: self.payment_date,
            cost_total: self.cost_total,
            copay_total: self.copay_total,
            other_total: self.other_total,
        }
    }

    /// The summary as a JSON value (keys sorted; serialize [`Statement::summary`] for the
    /// interface's order).
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::to_value(self.summary()).unwrap_or(serde_json::Value::Null)
    }
}

fn add(a: i64, b: i64) -> Result<i64, BillingError> {
    a.checked_add(b).ok_or(BillingError::Overflow)
}

fn mul(a: i64, b: i64) -> Result<i64, BillingError> {
    a.checked_mul(b).ok_or(BillingError::Overflow)
}

/// Checks one line's amounts and identity.
fn check_line(l: &ClaimLine) -> Result<(), BillingError> {
    let bad = |en: &'static str, ja: &'static str| BillingError::BadLine {
        record_id: l.record_id.clone(),
        en,
        ja,
    };
    if l.record_id.is_empty() || l.insurer.is_empty() || l.institution.is_empty() {
        return Err(bad(
            "record id, insurer and institution must be present",
            "レコードID・保険者番号・機関番号が必要です",
        ));
    }
    if l.cost_total < 0 || l.copay_total < 0 || l.other_total < 0 || l.claim_total < 0 {
        return Err(bad("amounts must not be negative", "金額が負です"));
    }
    let expected = l
        .cost_total
        .checked_sub(l.copay_total)
        .and_then(|x| x.checked_sub(l.other_total));
    if expected != Some(l.claim_total) {
        return Err(bad(
            "claim_total must equal cost_total − copay_total − other_total",
            "請求金額が 単価合計 − 窓口負担 − 他制度負担 と一致しません",
        ));
    }
    Ok(())
}

/// 別表10 過誤返戻理由 (OID 1.2.392.200119.6.1110): why an insurer takes back a claim after
/// delivery or payment (FORMAT.md, CHECKS.md U-06). Not the agency's 返戻理由 of
/// `daiko_check::finding::ReturnReason`, which shares the codes but not the meanings.
pub const ERRONEOUS_PAYMENT_REASONS: [(&str, &str); 9] = [
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

/// The Japanese name of a 別表10 code, if it is one.
pub fn erroneous_payment_reason(code: &str) -> Option<&'static str> {
    ERRONEOUS_PAYMENT_REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

fn check_offset(o: &Offset) -> Result<(), BillingError> {
    let bad = |en: &'static str, ja: &'static str| BillingError::BadOffset {
        id: o.id.clone(),
        en,
        ja,
    };
    if o.amount <= 0 {
        return Err(bad(
            "the amount must be positive",
            "金額は正の数にしてください",
        ));
    }
    if o.institution.is_empty() {
        return Err(bad("the institution must be present", "機関番号が必要です"));
    }
    if !o.is_carry() && erroneous_payment_reason(&o.reason_code).is_none() {
        return Err(bad(
            "the reason must be a 別表10 code (01–09) or \"carry\"",
            "理由は 別表10 のコード（01〜09）または carry にしてください",
        ));
    }
    if !o.is_carry() && o.insurer.is_empty() {
        return Err(bad(
            "an offset other than a carry must name its insurer",
            "繰越以外の相殺には保険者番号が必要です",
        ));
    }
    Ok(())
}

/// Running totals of a group of lines and offsets.
#[derive(Default)]
struct Totals {
    records: i64,
    cost: i64,
    copay: i64,
    other: i64,
    claim: i64,
    offsets: i64,
}

impl Totals {
    fn add_line(&mut self, l: &ClaimLine) -> Result<(), BillingError> {
        self.records = add(self.records, 1)?;
        self.cost = add(self.cost, l.cost_total)?;
        self.copay = add(self.copay, l.copay_total)?;
        self.other = add(self.other, l.other_total)?;
        self.claim = add(self.claim, l.claim_total)?;
        Ok(())
    }

    fn add_offset(&mut self, o: &Offset) -> Result<(), BillingError> {
        self.offsets = add(self.offsets, o.amount)?;
        Ok(())
    }

    fn subtotal(&self, code: &str, names: &BTreeMap<String, String>) -> Subtotal {
        Subtotal {
            code: code.to_string(),
            name: names.get(code).cloned().unwrap_or_default(),
            records: self.records,
            cost_total: self.cost,
            copay_total: self.copay,
            other_total: self.other,
            claim_total: self.claim,
            offset_total: self.offsets,
        }
    }
}

/// Builds the month's invoices and statements from its claim lines and offsets.
///
/// `names` maps insurer and institution numbers to names (missing names print empty).
/// Errors on a malformed line or offset, a duplicate record id (a record is never billed
/// twice in one month), an invalid fee schedule or an overflow.
pub fn settle(
    month: YearMonth,
    cal: &Calendar,
    fees: &FeeSchedule,
    lines: &[ClaimLine],
    offsets: &[Offset],
    names: &BTreeMap<String, String>,
) -> Result<Settlement, BillingError> {
    fees.validate()?;
    let mut seen = HashSet::with_capacity(lines.len());
    for l in lines {
        check_line(l)?;
        if !seen.insert(l.record_id.as_str()) {
            return Err(BillingError::DuplicateRecord {
                record_id: l.record_id.clone(),
            });
        }
    }
    let mut seen_offsets = HashSet::with_capacity(offsets.len());
    for o in offsets {
        check_offset(o)?;
        if !seen_offsets.insert(o.id.as_str()) {
            return Err(BillingError::BadOffset {
                id: o.id.clone(),
                en: "the offset id appears twice",
                ja: "相殺IDが重複しています",
            });
        }
    }

    let mut sorted: Vec<&ClaimLine> = lines.iter().collect();
    sorted.sort_by(|a, b| {
        (a.institution.as_str(), a.record_id.as_str())
            .cmp(&(b.institution.as_str(), b.record_id.as_str()))
    });
    let mut sorted_offsets: Vec<&Offset> = offsets.iter().collect();
    sorted_offsets.sort_by(|a, b| {
        (a.institution.as_str(), a.insurer.as_str(), a.id.as_str()).cmp(&(
            b.institution.as_str(),
            b.insurer.as_str(),
            b.id.as_str(),
        ))
    });

    // Group by insurer and by institution; BTreeMap keeps the number order.
    let mut by_insurer: BTreeMap<&str, (Vec<&ClaimLine>, Vec<&Offset>)> = BTreeMap::new();
    let mut by_institution: BTreeMap<&str, (Vec<&ClaimLine>, Vec<&Offset>)> = BTreeMap::new();
    for l in &sorted {
        by_insurer.entry(&l.insurer).or_default().0.push(l);
        by_institution.entry(&l.institution).or_default().0.push(l);
    }
    for o in &sorted_offsets {
        if !o.is_carry() {
            by_insurer.entry(&o.insurer).or_default().1.push(o);
        }
        by_institution.entry(&o.institution).or_default().1.push(o);
    }

    let invoice_date = cal.invoice_date(month);
    let due_date = cal.insurer_due_date(month);
    let payment_date = cal.payment_date(month);

    let mut invoices = Vec::with_capacity(by_insurer.len());
    for (insurer, (ls, os)) in by_insurer {
        let mut total = Totals::default();
        let mut per: BTreeMap<&str, Totals> = BTreeMap::new();
        for l in &ls {
            total.add_line(l)?;
            per.entry(&l.institution).or_default().add_line(l)?;
        }
        for o in &os {
            total.add_offset(o)?;
            per.entry(&o.institution).or_default().add_offset(o)?;
        }
        let fee_total = if total.records > 0 {
            add(
                mul(fees.insurer_per_record, total.records)?,
                fees.insurer_per_invoice,
            )?
        } else {
            0
        };
        let amount_due = add(total.claim, fee_total)?
            .checked_sub(total.offsets)
            .ok_or(BillingError::Overflow)?;
        invoices.push(Invoice {
            month,
            insurer: insurer.to_string(),
            insurer_name: names.get(insurer).cloned().unwrap_or_default(),
            records: total.records,
            cost_total: total.cost,
            copay_total: total.copay,
            other_total: total.other,
            claim_total: total.claim,
            fee_total,
            offset_total: total.offsets,
            amount_due,
            invoice_date,
            due_date,
            per_institution: per.iter().map(|(k, t)| t.subtotal(k, names)).collect(),
            lines: ls.into_iter().cloned().collect(),
            offsets: os.into_iter().cloned().collect(),
        });
    }

    let mut statements = Vec::with_capacity(by_institution.len());
    for (institution, (ls, os)) in by_institution {
        let mut total = Totals::default();
        let mut per: BTreeMap<&str, Totals> = BTreeMap::new();
        for l in &ls {
            total.add_line(l)?;
            per.entry(&l.insurer).or_default().add_line(l)?;
        }
        for o in &os {
            total.add_offset(o)?;
            // A carry has no insurer; it is listed under the empty code, which documents
            // print as 前月繰越.
            per.entry(&o.insurer).or_default().add_offset(o)?;
        }
        let fee_total = if total.records > 0 {
            add(
                mul(fees.institution_per_record, total.records)?,
                fees.institution_per_statement,
            )?
        } else {
            0
        };
        let net = total
            .claim
            .checked_sub(fee_total)
            .and_then(|x| x.checked_sub(total.offsets))
            .ok_or(BillingError::Overflow)?;
        let carried_forward = (net < 0).then(|| Offset {
            id: format!("{CARRY}:{month}:{institution}"),
            insurer: String::new(),
            institution: institution.to_string(),
            record_id: None,
            reason_code: CARRY.to_string(),
            reason_text: format!("{month} 支払不足額の繰越"),
            amount: -net,
            origin_month: Some(month),
        });
        statements.push(Statement {
            month,
            institution: institution.to_string(),
            institution_name: names.get(institution).cloned().unwrap_or_default(),
            records: total.records,
            cost_total: total.cost,
            copay_total: total.copay,
            other_total: total.other,
            claim_total: total.claim,
            fee_total,
            offset_total: total.offsets,
            amount_paid: net.max(0),
            payment_date,
            per_insurer: per.iter().map(|(k, t)| t.subtotal(k, names)).collect(),
            lines: ls.into_iter().cloned().collect(),
            offsets: os.into_iter().cloned().collect(),
            carried_forward,
        });
    }

    Ok(Settlement {
        month,
        invoices,
        statements,
    })
}
