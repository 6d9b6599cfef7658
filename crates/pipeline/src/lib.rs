//! # daiko-pipeline — the durable jobs between intake and delivery
//!
//! Owns what happens to an archive after it arrives: intake (stream to storage, receipt
//! only once durable: [`intake`]), the check job (the checker plus stage D and the history
//! rows of U against the database: [`reference`], [`worker`]), routing of accepted records
//! into rebuilt per-insurer 種別3 archives, returns (種別2) and confirmation requests
//! (種別11) ([`route`]), and sealed offline media ([`media`]); malware scanning through clamd
//! before an archive is opened ([`scan`]).
//!
//! Jobs live in the store's queue and complete in the same transaction as their effects,
//! so a crash at any point resumes exactly once (S23). This crate must not know HTTP, HTML
//! or the CLI; it depends on `daiko-format`, `daiko-check`, `daiko-report`, `daiko-seal`
//! and `daiko-store`.

pub mod billing;
pub mod contracts;
pub mod intake;
pub mod invite;
pub mod media;
pub mod reference;
pub mod route;
pub mod scan;
pub mod worker;
