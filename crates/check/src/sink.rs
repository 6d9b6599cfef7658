//! Where the engine pushes what it finds.
//!
//! The engine *pushes* findings and record outcomes into a [`Sink`] as it goes (like
//! ripgrep's searcher into its printers) and also returns the assembled [`Report`] that the
//! printers and the CLI use. A consumer that wants results as they happen (the server's
//! database writer, a progress display) implements `Sink`; one that only wants the report
//! passes [`NullSink`].

use crate::finding::Finding;
use crate::report::{ArchiveInfo, RecordReport, Report};

/// Receives the engine's results for one archive, in order.
pub trait Sink {
    /// Called once, when the archive's identity is known (possibly partially).
    fn begin(&mut self, _archive: &ArchiveInfo) {}
    /// Called for every finding, in the order found.
    fn finding(&mut self, finding: &Finding);
    /// Called for every data/claim pair once its outcome is final.
    fn record(&mut self, _record: &RecordReport) {}
    /// Called once at the end with the full report.
    fn finish(&mut self, _report: &Report) {}
}

/// A sink that ignores everything (for callers that only want the returned report).
#[derive(Debug, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn finding(&mut self, _finding: &Finding) {}
}
