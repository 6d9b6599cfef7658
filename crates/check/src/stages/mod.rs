//! The check stages, one module each, and the small helpers they share.
//!
//! Every stage function is a pure function of documents (plus reference data and
//! configuration where the row needs them) that pushes findings into a `Vec<Finding>`;
//! the engine ([`crate::engine`]) decides what the findings do to records and the archive.

pub mod archive;
pub mod claim;
pub mod date;
pub mod digits;
pub mod duplicates;
pub mod header;
pub mod index;
pub mod items;
pub mod master;
pub mod pairing;
pub mod record;
pub mod summary;
pub mod transport;
pub mod xml;
pub mod xsd;
pub mod xsd_table;
