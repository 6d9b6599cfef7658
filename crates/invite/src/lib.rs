//! # daiko-invite — checkup invitations (健診案内作成及び発送), the pure core
//!
//! What an insurer needs to invite the right members to the specific health checkup
//! (BUSINESS.md §4 and §7), as plain functions over values:
//!
//! * [`roster`]: member roster CSV (UTF-8 with/without BOM or Shift_JIS/CP932, detected and
//!   decoded strictly) → [`Member`]s, all or nothing with row-level errors;
//! * [`targets`]: who is a target in a fiscal year (Japanese age reckoning, insured on the
//!   reference date, ministerial exclusions, insurer filters), with reasons;
//! * [`vouchers`]: 受診券 / 利用券 numbering (`YY K SSSSSSSS`), expiry and co-payments from the
//!   insurer's settings, as the checker's ledger (`VoucherRecord`, `vouchers.csv`);
//! * [`barcode`]: Japan Post customer barcode (カスタマバーコード): address-number extraction,
//!   check digit, bars;
//! * [`letters`]: invitation letter + voucher as A4 PDF (window-envelope address, barcode,
//!   editable template), many letters per file;
//! * [`mailing`]: mailing list CSV for print vendors (UTF-8, and Shift_JIS that marks what
//!   CP932 cannot carry), barcode discount counts;
//! * [`reminders`]: non-responders for reminder round k with deterministic message
//!   variants, and uptake per variant.
//!
//! It owns these rules and nothing else: no database, HTTP, CLI, files or clock (callers
//! pass dates, bytes and writers). It must not touch the checker's rules (it only produces
//! `daiko_check::reference::VoucherRecord`s) nor daiko-pdf's text layout (it draws through
//! `daiko_pdf::layout`). The store, CLI (`daiko invite …`), API and UI build on it.

pub mod barcode;
pub mod letters;
pub mod mailing;
pub mod reminders;
pub mod roster;
pub mod targets;
pub mod vouchers;

pub use barcode::CustomerBarcode;
pub use letters::{
    CompiledTemplate, LetterContext, LetterError, LetterInput, LetterTemplate, render_letters,
};
pub use mailing::{MailItem, Mailing, MailingRow, SjisPolicy, build_mailing};
pub use reminders::{ReminderPlan, ReminderRound, plan_round, uptake};
pub use roster::{
    CardKey, Exclusion, Member, MemberType, Roster, RosterEncoding, RosterError, RosterErrors, Sex,
    parse_roster,
};
pub use targets::{NotTarget, TargetDecision, TargetRules, decide, decide_all};
pub use vouchers::{
    FyMonthDay, Issued, IssuedVoucher, SupportLevel, VoucherError, VoucherKind, VoucherNumber,
    VoucherSettings, issue_checkup, issue_guidance, write_vouchers_csv,
};
