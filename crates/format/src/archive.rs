//! The submission archive (提供用アーカイブファイル): name grammar, safe reading with
//! limits, and writing.
//!
//! Reading never extracts to disk and never trusts the archive: entries are listed from
//! the central directory, judged (paths, symlinks, encryption, duplicates, sizes, ratio),
//! and read one at a time into memory through a bounded reader, so memory stays bounded
//! whatever the archive holds. What is unsafe or unexpected is reported as an
//! [`ArchiveIssue`] for the checks to turn into findings; reading goes on where it can.

use std::io::{Read, Seek};

/// The parts of an archive name `{sender}_{receiver}_{YYYYMMDD}{n}_{S}.zip`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArchiveName {
    /// 送付元: 10-digit institution number or 8-digit agency/insurer number.
    pub sender: String,
    /// 送付先: 8-digit agency/insurer number.
    pub receiver: String,
    /// 作成日 YYYYMMDD.
    pub date: String,
    /// Same-day counter `n` (one digit).
    pub counter: u8,
    /// 実施区分 `S` (one digit).
    pub service_event_type: u8,
}

impl ArchiveName {
    /// Parses a file name (with or without `.zip`, without any directory part).
    pub fn parse(name: &str) -> Result<ArchiveName, String> {
        let _ = name;
        todo!("archive helper")
    }
    /// The base name without `.zip` (also the top folder name).
    pub fn base(&self) -> String {
        format!("{}_{}_{}{}_{}", self.sender, self.receiver, self.date, self.counter, self.service_event_type)
    }
    /// The common part of DATA/CLAIMS file names after the prefix letter, for `serial`:
    /// `{sender}{YYYYMMDD}{n}{S}{######}`.
    pub fn file_stem(&self, serial: u32) -> String {
        format!("{}{}{}{}{:06}", self.sender, self.date, self.counter, self.service_event_type, serial)
    }
}

/// Limits that keep reading an archive bounded.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Largest archive file accepted.
    pub max_archive_bytes: u64,
    /// Most entries accepted.
    pub max_entries: usize,
    /// Largest uncompressed size of one entry.
    pub max_entry_bytes: u64,
    /// Largest uncompressed total.
    pub max_total_bytes: u64,
    /// Largest compression ratio (uncompressed / compressed) of an entry above 64 KiB.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_archive_bytes: 2 << 30,
            max_entries: 400_000,
            max_entry_bytes: 8 << 20,
            max_total_bytes: 16 << 30,
            max_ratio: 200,
        }
    }
}

/// What role an entry plays, by its path relative to the top folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryRole {
    /// `ix08_V08.xml`
    Index,
    /// `su08_V08.xml`
    Summary,
    /// `DATA/*.xml`
    Data,
    /// `CLAIMS/*.xml`
    Claim,
    /// `XSD/…` (a producer's schema copy; never used for validation)
    Xsd,
    /// A directory entry.
    Directory,
    /// Anything else.
    Other,
}

/// One entry of the archive, from the central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the ZIP central directory.
    pub index: usize,
    /// The name as stored (lossy UTF-8 for display).
    pub name: String,
    /// The path below the top folder (`DATA/h….xml`), when the entry is inside it.
    pub path: Option<String>,
    pub role: EntryRole,
    /// Declared uncompressed size.
    pub size: u64,
    pub compressed_size: u64,
}

/// Something about the archive that the checks must report (stage A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveIssue {
    /// not a ZIP, or the ZIP cannot be read.
    NotZip(String),
    /// the archive name does not follow the grammar.
    BadName(String),
    /// no single top folder named like the archive.
    TopFolder(String),
    /// `ix08_V08.xml` is missing.
    NoIndex,
    /// `su08_V08.xml` is missing while claims are present.
    NoSummary,
    /// an entry outside DATA/CLAIMS/XSD, or an unexpected file.
    Unexpected { entry: String },
    /// the XSD folder is missing.
    NoXsdFolder,
    /// unsafe: absolute path, `..`, symlink, encrypted, duplicate (case-folded),
    /// too many entries, too large, ratio too high, an entry inflating past its declared size.
    Unsafe { entry: String, reason: String },
    /// a non-ASCII file or folder name.
    NonAscii { entry: String },
}

/// An opened archive: the entry list and the issues found while listing it.
pub struct Archive<R: Read + Seek> {
    /// The archive file name as given.
    pub name: String,
    /// Parsed name, when it follows the grammar.
    pub parsed_name: Option<ArchiveName>,
    /// Entries in central-directory order.
    pub entries: Vec<Entry>,
    /// Issues found while listing.
    pub issues: Vec<ArchiveIssue>,
    zip: Option<zip::ZipArchive<R>>,
    limits: ArchiveLimits,
}

impl<R: Read + Seek> Archive<R> {
    /// Opens and lists an archive. Never fails: an unreadable ZIP gives an archive with no
    /// entries and an [`ArchiveIssue::NotZip`].
    pub fn open(name: &str, reader: R, limits: ArchiveLimits) -> Archive<R> {
        let _ = (name, reader, limits);
        todo!("archive helper")
    }

    /// Reads one entry fully into memory, bounded by the limits. An entry that inflates
    /// past its declared size or the per-entry limit gives an [`ArchiveIssue::Unsafe`].
    pub fn read(&mut self, entry: &Entry) -> Result<Vec<u8>, ArchiveIssue> {
        let _ = (entry, &mut self.zip, self.limits);
        todo!("archive helper")
    }
}

/// Builds a standard archive in memory: `{base}/ix08_V08.xml`, `{base}/su08_V08.xml`,
/// `{base}/DATA/…`, `{base}/CLAIMS/…`.
#[derive(Debug, Default)]
pub struct ArchiveWriter {
    base: String,
    files: Vec<(String, Vec<u8>)>,
}

impl ArchiveWriter {
    /// A writer for an archive whose base name is `name.base()`.
    pub fn new(name: &ArchiveName) -> Self {
        ArchiveWriter { base: name.base(), files: Vec::new() }
    }
    /// Adds a file at `path` below the top folder (e.g. `DATA/h….xml`).
    pub fn add(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.push((path.into(), bytes.into()));
    }
    /// The ZIP bytes (deflate), entries in the order added.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        let _ = (self.base, self.files);
        todo!("archive helper")
    }
}
