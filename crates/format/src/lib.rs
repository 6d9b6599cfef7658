//! # daiko-format — the MHLW 特定健診・特定保健指導 standard files
//!
//! Owns the typed model of the six document kinds (index ix08, summary su08, checkup CDA
//! hc08, guidance CDA hg08, checkup claim cc08, guidance claim gc08) for both schema
//! generations, their readers and writers, and the submission archive (name grammar, top
//! folder, DATA/CLAIMS pairing, safe ZIP reading with limits).
//!
//! It reads and writes; it does **not** judge. Anything a rule forbids but a reader can
//! still represent is kept in the model for `daiko-check` to report. This crate must not
//! depend on the checks, the store, the server or the CLI.

pub mod archive;
pub mod cda;
pub mod error;
pub mod flat;
pub mod model;
pub mod money;
pub mod read;
pub mod tree;
pub mod write;
pub mod xml;

pub use error::FormatError;
pub use model::*;
