//! Errors of reading and writing files and archives.

use thiserror::Error;

/// Why a document or archive could not be read or written.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The bytes are not well-formed XML (or use a forbidden construct such as a DOCTYPE).
    #[error("not well-formed XML at {line}:{column}: {message}")]
    NotWellFormed {
        line: u32,
        column: u32,
        message: String,
    },
    /// The XML is not UTF-8.
    #[error("the document is not UTF-8: {0}")]
    Encoding(String),
    /// The root element is not one of the six kinds (or is in an unknown namespace).
    #[error("unknown root element {{{namespace}}}{name}")]
    UnknownRoot { namespace: String, name: String },
    /// A required element or attribute is missing, so the model cannot be built.
    #[error("{path}: {message}")]
    Structure { path: String, message: String },
    /// The document is larger than the configured limit.
    #[error("document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    /// I/O while reading or writing.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
