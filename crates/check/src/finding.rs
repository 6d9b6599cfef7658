//! Findings: what a check says about one place in one file.

use serde::{Deserialize, Serialize};

/// How serious a finding is, as printed in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A note: a check skipped for lack of reference data, or an accepted special case.
    Info,
    Warning,
    Error,
}

/// What a finding does to the archive or record (CHECKS.md §0.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// 受付不可: the whole archive is rejected.
    AR,
    /// 返戻: one data/claim pair is returned with a 返戻理由コード.
    FR,
    /// Warning only.
    W,
    /// 確認依頼: the record is held for the insurer's confirmation.
    CI,
    /// The record moves to the next monthly cycle.
    DEFER,
}

impl Outcome {
    /// The severity a finding with this outcome is printed with.
    pub fn severity(self) -> Severity {
        match self {
            Outcome::AR | Outcome::FR => Severity::Error,
            Outcome::W | Outcome::CI | Outcome::DEFER => Severity::Warning,
        }
    }
}

/// 返戻理由コード (別表9, OID 1.2.392.200119.6.1109).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReturnReason {
    /// 01 記録形式不備
    #[serde(rename = "01")]
    FormatDefect,
    /// 02 記録もれ
    #[serde(rename = "02")]
    MissingEntries,
    /// 03 健診結果異常
    #[serde(rename = "03")]
    AbnormalResult,
    /// 04 契約対象外
    #[serde(rename = "04")]
    OutsideContract,
    /// 05 整理番号不備
    #[serde(rename = "05")]
    VoucherDefect,
    /// 06 有効期限外
    #[serde(rename = "06")]
    OutsideValidity,
    /// 07 窓口負担金額不備
    #[serde(rename = "07")]
    CopaymentDefect,
    /// 08 取下げ依頼
    #[serde(rename = "08")]
    Withdrawal,
    /// 09 その他
    #[serde(rename = "09")]
    Other,
}

impl ReturnReason {
    /// The two-digit code written into `agencyAdjudicationResult/reason/@code`.
    pub fn code(self) -> &'static str {
        match self {
            ReturnReason::FormatDefect => "01",
            ReturnReason::MissingEntries => "02",
            ReturnReason::AbnormalResult => "03",
            ReturnReason::OutsideContract => "04",
            ReturnReason::VoucherDefect => "05",
            ReturnReason::OutsideValidity => "06",
            ReturnReason::CopaymentDefect => "07",
            ReturnReason::Withdrawal => "08",
            ReturnReason::Other => "09",
        }
    }
    /// The Japanese name of the reason.
    pub fn name_ja(self) -> &'static str {
        match self {
            ReturnReason::FormatDefect => "記録形式不備",
            ReturnReason::MissingEntries => "記録もれ",
            ReturnReason::AbnormalResult => "健診結果異常",
            ReturnReason::OutsideContract => "契約対象外",
            ReturnReason::VoucherDefect => "整理番号不備",
            ReturnReason::OutsideValidity => "有効期限外",
            ReturnReason::CopaymentDefect => "窓口負担金額不備",
            ReturnReason::Withdrawal => "取下げ依頼",
            ReturnReason::Other => "その他",
        }
    }
}

/// One finding: a stable check code at a location, with a message for a clerk in
/// Japanese and English (each ending with a hint on how to fix it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable check code from CHECKS.md, e.g. `M-07`.
    pub code: &'static str,
    pub severity: Severity,
    pub outcome: Outcome,
    /// 返戻理由コード for FR findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_reason: Option<ReturnReason>,
    /// Path inside the archive (`DATA/h….xml`), or the archive name for archive-level findings.
    pub file: String,
    /// XPath-like path or `line:column`.
    pub location: String,
    /// The offending value, as found.
    pub value: String,
    pub message_ja: String,
    pub message_en: String,
}

/// A finding as stored (JSON): the code is read back as the catalogue's own
/// `&'static str`; a code the catalogue does not know is an error (a report from another
/// version, or tampering).
#[derive(Deserialize)]
struct StoredFinding {
    code: String,
    severity: Severity,
    outcome: Outcome,
    #[serde(default)]
    return_reason: Option<ReturnReason>,
    file: String,
    location: String,
    value: String,
    message_ja: String,
    message_en: String,
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Finding, D::Error> {
        Finding::try_from(StoredFinding::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<StoredFinding> for Finding {
    type Error = String;
    fn try_from(f: StoredFinding) -> Result<Finding, String> {
        let code = crate::catalogue::CATALOGUE
            .iter()
            .find(|c| c.code == f.code)
            .map(|c| c.code)
            .ok_or_else(|| format!("unknown check code {:?}", f.code))?;
        Ok(Finding {
            code,
            severity: f.severity,
            outcome: f.outcome,
            return_reason: f.return_reason,
            file: f.file,
            location: f.location,
            value: f.value,
            message_ja: f.message_ja,
            message_en: f.message_en,
        })
    }
}
