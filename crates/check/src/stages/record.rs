//! One data/claim pair as the per-record stages see it.

use crate::report::RecordAmounts;
use crate::stages::date::Date;
use daiko_format::archive::ArchiveName;
use daiko_format::model::{
    CheckupClaim, ClinicalDocument, GuidanceClaim, Id, SubjectPerson, VoucherParticipant, oid,
};

/// The claim of a pair, either kind (one per record, so the size difference is harmless).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum ClaimDoc {
    Checkup(CheckupClaim),
    Guidance(GuidanceClaim),
}

impl ClaimDoc {
    /// 受診者/利用者 block.
    pub fn subject(&self) -> &SubjectPerson {
        match self {
            ClaimDoc::Checkup(c) => &c.subject,
            ClaimDoc::Guidance(c) => &c.subject,
        }
    }
    /// 実施区分 of the claim's encounter.
    pub fn service_event_type(&self) -> &str {
        match self {
            ClaimDoc::Checkup(c) => &c.service_event_type,
            ClaimDoc::Guidance(c) => &c.service_event_type,
        }
    }
    /// 受診券整理番号 (checkup) or 利用券整理番号 (guidance).
    pub fn voucher(&self) -> Option<&Id> {
        match self {
            ClaimDoc::Checkup(c) => c.card.id.as_ref(),
            ClaimDoc::Guidance(c) => c.card.id.as_ref(),
        }
    }
    /// 有効期限 of that voucher.
    pub fn expiry(&self) -> Option<&str> {
        match self {
            ClaimDoc::Checkup(c) => c.card.expiry.as_deref(),
            ClaimDoc::Guidance(c) => c.card.expiry.as_deref(),
        }
    }
    /// 券面種別 of the claimed voucher: 1 受診券, 2 利用券.
    pub fn voucher_kind(&self) -> u8 {
        match self {
            ClaimDoc::Checkup(_) => 1,
            ClaimDoc::Guidance(_) => 2,
        }
    }
    /// The money of the claim as written (0 where unreadable).
    pub fn amounts(&self) -> RecordAmounts {
        let v = |m: &daiko_format::model::Money| m.amount().unwrap_or(0);
        match self {
            ClaimDoc::Checkup(c) => RecordAmounts {
                cost: v(&c.settlement.unit_amount),
                copayment: v(&c.settlement.payment_amount),
                other_program: c
                    .settlement
                    .payment_by_other_program
                    .as_ref()
                    .map(v)
                    .unwrap_or(0),
                claim: v(&c.settlement.claim_amount),
            },
            ClaimDoc::Guidance(c) => RecordAmounts {
                cost: v(&c.settlement.calculated_amount),
                copayment: v(&c.settlement.payment_amount),
                other_program: 0,
                claim: v(&c.settlement.claim_amount),
            },
        }
    }
}

/// Everything the per-record stages look at for one pair.
pub struct RecordInput<'a> {
    /// `DATA/…`
    pub data_file: &'a str,
    /// `CLAIMS/…` (empty when the pair has no claim).
    pub claim_file: &'a str,
    pub doc: &'a ClinicalDocument,
    pub claim: Option<&'a ClaimDoc>,
    /// 実施日 (serviceEvent/effectiveTime), when a valid date.
    pub service_date: Option<Date>,
    /// 実施区分 of the index.
    pub index_service_event_type: &'a str,
    pub archive_name: Option<&'a ArchiveName>,
    /// 受付日
    pub reception_date: Date,
}

impl RecordInput<'_> {
    /// 保険者番号: the claim's, else the CDA's.
    pub fn insurer(&self) -> &str {
        match self.claim {
            Some(c)
                if !c
                    .subject()
                    .insurance_card
                    .insurer_number
                    .extension
                    .is_empty() =>
            {
                &c.subject().insurance_card.insurer_number.extension
            }
            _ => self.doc.patient.id(oid::INSURER).unwrap_or(""),
        }
    }
    /// 実施機関番号: the claim's performerOrganization, else the CDA author's organisation.
    pub fn institution(&self) -> &str {
        match self.claim {
            Some(c) if !c.subject().performer_organization.extension.is_empty() => {
                &c.subject().performer_organization.extension
            }
            _ => self
                .doc
                .authors
                .first()
                .and_then(|a| a.organization.id.as_ref())
                .map(|i| i.extension.as_str())
                .unwrap_or(""),
        }
    }
    /// 被保険者証等番号 (claim, else CDA).
    pub fn card_number(&self) -> &str {
        match self.claim {
            Some(c) if !c.subject().insurance_card.number.extension.is_empty() => {
                &c.subject().insurance_card.number.extension
            }
            _ => self.doc.patient.id(oid::CARD_NUMBER).unwrap_or(""),
        }
    }
    /// 被保険者証等記号 (claim, else CDA; empty when none).
    pub fn card_symbol(&self) -> &str {
        match self.claim {
            Some(c) => c
                .subject()
                .insurance_card
                .symbol
                .as_ref()
                .map(|s| s.extension.as_str())
                .unwrap_or(""),
            None => self.doc.patient.id(oid::CARD_SYMBOL).unwrap_or(""),
        }
    }
    /// The CDA's voucher participant of `function_code` (1 受診券, 2 利用券).
    pub fn cda_voucher(&self, function_code: &str) -> Option<&VoucherParticipant> {
        self.doc
            .vouchers
            .iter()
            .find(|v| v.function_code == function_code)
    }
    /// The voucher number this record is billed on (claim, else CDA).
    pub fn voucher_number(&self) -> &str {
        let kind = if self.is_guidance() { "2" } else { "1" };
        match self.claim.and_then(|c| c.voucher()) {
            Some(id) if !id.extension.is_empty() => &id.extension,
            _ => self
                .cda_voucher(kind)
                .map(|v| v.id.extension.as_str())
                .unwrap_or(""),
        }
    }
    /// Whether this is a guidance record (by the index's 実施区分).
    pub fn is_guidance(&self) -> bool {
        self.index_service_event_type == "2"
    }
    /// 年度 of the service date.
    pub fn fiscal_year(&self) -> Option<i32> {
        self.service_date.map(Date::fiscal_year)
    }
}

/// Which kind of reference data a skipped check needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Missing {
    /// 保険者(委託)データ
    Insurers,
    /// 機関登録データ
    Institutions,
    /// 受診券・利用券発行台帳
    Vouchers,
    /// 資格データ (被保険者マスタ)
    Coverage,
    /// 契約データ (健診等契約マスタ)
    Contracts,
    /// 受付・支払履歴
    History,
}

impl Missing {
    /// Japanese and English names of the data.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Missing::Insurers => ("保険者の委託データ", "insurer client data"),
            Missing::Institutions => ("機関の登録データ", "institution registration data"),
            Missing::Vouchers => ("受診券・利用券発行台帳", "voucher ledger"),
            Missing::Coverage => ("資格データ", "coverage data"),
            Missing::Contracts => ("契約データ", "contract data"),
            Missing::History => ("受付・支払履歴", "history of records"),
        }
    }
}

/// Checks skipped for lack of reference data: (check code, missing data). The engine
/// reports each once per archive as an info finding.
pub type Skipped = std::collections::BTreeSet<(&'static str, Missing)>;
