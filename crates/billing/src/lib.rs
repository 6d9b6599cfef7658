//! # daiko-billing — billing and payment (請求・支払代行), the pure core
//!
//! The money rules of one month as plain functions over values (BUSINESS.md §3, §5, §6, §9):
//!
//! * [`calendar`]: Japanese public holidays computed from the law (春分/秋分 by formula,
//!   Happy Monday, 振替休日, 国民の休日, the 2019–2021 special years), business days, and the
//!   agency [`Calendar`]: reception deadline, invoice date, insurer due date, payment date,
//!   and the billing month of a receipt;
//! * [`settle`]: one closed month → invoices per insurer (請求書), payment statements per
//!   institution (支払明細書), agency fees, 過誤 offsets and negative payments carried forward,
//!   with the balancing identities;
//! * [`zengin`]: the 全銀協 総合振込 bank transfer file (120-byte records, Shift_JIS, half-width
//!   katakana) and a validating parser;
//! * [`documents`]: invoice and statement as A4 Japanese PDF (through daiko-pdf) and CSV.
//!
//! It must not touch a database, HTTP, the CLI, files or the clock: callers pass the month's
//! claim lines and offsets (selected and frozen by the store's month close), dates and
//! timestamps, and get values and bytes back. Claim amounts per record are computed upstream
//! by `daiko_format::money` and checked by daiko-check; this crate only sums and moves them.

pub mod calendar;
pub mod documents;
pub mod settle;
pub mod zengin;

pub use calendar::{Calendar, YearMonth, holiday_name, holidays_of_year, is_business_day};
pub use documents::{AgencyInfo, invoice_csv, invoice_pdf, statement_csv, statement_pdf};
pub use settle::{
    CARRY, ClaimLine, ERRONEOUS_PAYMENT_REASONS, FeeSchedule, Invoice, InvoiceSummary, Offset,
    ServiceKind, Settlement, Statement, StatementSummary, Subtotal, erroneous_payment_reason,
    settle,
};
pub use zengin::{
    BankAccount, ParsedTransferFile, Remitter, Transfer, parse_transfer_file, to_zengin_kana,
    transfer_file, transfers_from_statements,
};

/// Why billing could not proceed. `Display` is English; [`BillingError::message_ja`] is the
/// Japanese message for operators.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BillingError {
    #[error("{value:?} is not a month (YYYY-MM)")]
    BadMonth { value: String },
    #[error("calendar: {en}")]
    BadCalendar { en: String, ja: String },
    #[error("fee {name} must be between 0 and 999,999 yen, got {value}")]
    BadFee { name: String, value: i64 },
    #[error("claim line {record_id}: {en}")]
    BadLine {
        record_id: String,
        en: &'static str,
        ja: &'static str,
    },
    #[error("record {record_id} appears twice in the month")]
    DuplicateRecord { record_id: String },
    #[error("offset {id}: {en}")]
    BadOffset {
        id: String,
        en: &'static str,
        ja: &'static str,
    },
    #[error("an amount does not fit in 64 bits")]
    Overflow,
    #[error("bank field {field} {value:?} {en}")]
    BankField {
        field: String,
        value: String,
        en: String,
        ja: String,
    },
    #[error(
        "{field}: {ch:?} cannot be written in a 全銀 transfer (half-width kana, A-Z, 0-9, space and ( ) . - / only)"
    )]
    KanaChar { field: String, ch: char },
    #[error("no institution is to be paid: a transfer file needs at least one transfer")]
    NoTransfers,
    #[error("institutions without a bank account: {}", institutions.join(", "))]
    MissingAccounts { institutions: Vec<String> },
    #[error("cannot make the PDF: {0}")]
    Pdf(String),
    #[error("transfer file, record {record}: {en}")]
    BadTransferFile {
        record: usize,
        en: String,
        ja: String,
    },
}

impl BillingError {
    /// The Japanese message.
    pub fn message_ja(&self) -> String {
        match self {
            BillingError::BadMonth { value } => {
                format!("{value:?} は年月（YYYY-MM）ではありません")
            }
            BillingError::BadCalendar { ja, .. } => format!("請求カレンダー: {ja}"),
            BillingError::BadFee { name, value } => {
                format!("手数料 {name} は 0〜999,999 円で指定してください（{value}）")
            }
            BillingError::BadLine { record_id, ja, .. } => {
                format!("請求明細 {record_id} が不正です: {ja}")
            }
            BillingError::DuplicateRecord { record_id } => {
                format!("レコード {record_id} が同じ月に二重に含まれています")
            }
            BillingError::BadOffset { id, ja, .. } => format!("相殺 {id} が不正です: {ja}"),
            BillingError::Overflow => "金額が桁あふれしました".to_string(),
            BillingError::BankField {
                field, value, ja, ..
            } => {
                format!("口座情報 {field} {value:?} {ja}")
            }
            BillingError::KanaChar { field, ch } => format!(
                "{field}: {ch:?} は全銀振込で使えません（半角カナ・英大文字・数字・空白・( ) . - / のみ）"
            ),
            BillingError::NoTransfers => {
                "支払対象の医療機関がありません（振込データは 1 件以上必要です）".to_string()
            }
            BillingError::MissingAccounts { institutions } => {
                format!(
                    "口座が登録されていない医療機関: {}",
                    institutions.join("、")
                )
            }
            BillingError::Pdf(e) => format!("PDF を作成できません: {e}"),
            BillingError::BadTransferFile { record, ja, .. } => {
                format!("振込データ {record} 件目のレコード: {ja}")
            }
        }
    }
}
