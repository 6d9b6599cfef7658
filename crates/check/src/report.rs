//! The check report of one archive, in the shape fixed by PRODUCT.md ("Check report").

use crate::finding::{Finding, ReturnReason};
use serde::{Deserialize, Serialize};

/// The verdict on a whole archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every record accepted (warnings allowed).
    Accepted,
    /// Some records returned or held, others accepted.
    PartiallyAccepted,
    /// The archive was rejected (AR), or no record was accepted.
    Rejected,
}

/// What happened to one data/claim pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordOutcome {
    Accepted,
    Returned,
    Held,
}

/// Facts about the archive itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveInfo {
    pub name: String,
    pub sha256: String,
    pub sender: String,
    pub receiver: String,
    /// 実施区分 from the index (0 when unreadable).
    pub service_event_type: u8,
    /// "2018" or "2024" (empty when unknown).
    pub generation: String,
}

/// Counts printed at the top of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub records: usize,
    pub accepted: usize,
    pub returned: usize,
    pub held: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// One data/claim pair and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordReport {
    pub data_file: String,
    pub claim_file: String,
    /// 保険者番号
    pub insurer: String,
    /// 受診券/利用券整理番号
    pub voucher: String,
    pub outcome: RecordOutcome,
    /// 返戻理由コード when returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_reason: Option<ReturnReason>,
    /// Money of the record (for receipts and billing): 単価合計/算定金額, 窓口負担, 他制度, 請求.
    #[serde(skip)]
    pub amounts: RecordAmounts,
    /// 実施日 YYYYMMDD (for billing months and stage D).
    #[serde(skip)]
    pub service_date: String,
}

/// Money of one record, as read from its claim (0 where unreadable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordAmounts {
    pub cost: u64,
    pub copayment: u64,
    pub other_program: u64,
    pub claim: u64,
}

/// The whole report of one archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub archive: ArchiveInfo,
    pub verdict: Verdict,
    pub counts: Counts,
    pub records: Vec<RecordReport>,
    pub findings: Vec<Finding>,
}
