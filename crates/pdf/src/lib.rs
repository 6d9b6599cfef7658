//! # daiko-pdf — printable documents as A4 PDF in Japanese
//!
//! krilla writes the PDF and subsets the fonts; everything above it is here: font
//! discovery at run time ([`Fonts`]; no font files are shipped), a fallback chain per
//! character run (so 𠮷, 髙 and 﨑 print), shaping, Japanese line breaking with 禁則処理,
//! and a small layout layer ([`layout`]) of paragraphs, ruled tables with repeated header
//! rows, absolutely placed text and "n / N" footers, meant to carry the invoices
//! (請求書), payment statements (支払明細書) and letters that follow.
//!
//! The first document is the 受付エラー連絡表 of one checked archive:
//! [`error_report_pdf`].

mod error_report;
mod fonts;
pub mod layout;
mod text;

pub use error_report::{Lang, ReportMeta, error_report_pdf};
pub use fonts::Fonts;

use std::path::PathBuf;

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// No font with Japanese glyphs was found.
    #[error(
        "no Japanese font found (searched {searched}); install fonts-noto-cjk (or fonts-morisawa-bizud-gothic) or set DAIKO_FONT_DIR to a folder of .ttf/.otf/.ttc files"
    )]
    NoFonts { searched: String },
    #[error("cannot read font {path}: {source}")]
    FontIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a usable font")]
    BadFont { path: PathBuf },
    #[error("invalid page size")]
    PageSize,
    /// krilla refused to write the document.
    #[error("cannot write the PDF: {0}")]
    Write(String),
}
