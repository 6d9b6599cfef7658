//! # daiko-check — the reception checks (受付チェック / 事務点検)
//!
//! Owns the check catalogue of CHECKS.md (stable codes, outcomes, 返戻理由コード,
//! messages in Japanese and English), the engine that runs the stages T, A, X, I, S, P,
//! H, M, C, U and D over one archive, and the seam through which insurer reference data
//! (vouchers, coverage, contracts, history) is supplied ([`reference::ReferenceData`]).
//!
//! Checks are functions of documents plus reference data. The engine pushes findings into
//! a [`sink::Sink`] and knows nothing of printing, HTTP or databases. It depends on
//! `daiko-format` (reading), `daiko-schema` (native XSD rules) and `daiko-items` (the item
//! master); it must not depend on the store, server, report printers or CLI.
//!
//! ```no_run
//! use daiko_check::{CheckConfig, DirReference, NoReference, ReferenceData, check_path};
//! use daiko_check::sink::NullSink;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = CheckConfig::for_agency("99000010"); // reception date: today (JST)
//! config.set_override("H-06=FR")?; // an agency that returns out-of-age checkups
//! let reference: Box<dyn ReferenceData> = match std::env::args().nth(2) {
//!     Some(dir) => Box::new(DirReference::load(dir.as_ref())?), // docs/reference-data.md
//!     None => Box::new(NoReference),
//! };
//! let report = check_path("archive.zip".as_ref(), &config, reference.as_ref(), &mut NullSink)?;
//! println!("{:?}: {} of {} records accepted", report.verdict, report.counts.accepted, report.counts.records);
//! # Ok(()) }
//! ```

pub mod catalogue;
pub mod config;
pub mod engine;
pub mod finding;
pub mod reference;
pub mod report;
pub mod sink;
pub mod stages;

pub use config::CheckConfig;
pub use engine::{check_archive, check_path};
pub use finding::{Finding, Outcome, ReturnReason, Severity};
pub use reference::{DirReference, NoReference, ReferenceData};
pub use report::{Report, Verdict};
pub use sink::Sink;
pub use stages::date::Date;
/// Check digits of institution and insurer numbers (CHECKS.md §13.2).
pub use stages::digits as check_digit;
