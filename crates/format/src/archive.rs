//! The submission archive (提供用アーカイブファイル): name grammar, safe reading with
//! limits, and writing.
//!
//! Reading never extracts to disk and never trusts the archive: entries are listed from
//! the central directory, judged (paths, symlinks, encryption, duplicates, sizes, ratio),
//! and read one at a time into memory through a bounded reader, so memory stays bounded
//! whatever the archive holds. What is unsafe or unexpected is reported as an
//! [`ArchiveIssue`] for the checks to turn into findings; reading goes on where it can.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};

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
    ///
    /// Errors say which part is wrong, what was expected and what was found.
    pub fn parse(name: &str) -> Result<ArchiveName, String> {
        if name.contains(['/', '\\']) {
            return Err(format!(
                "archive name `{name}`: expected a bare file name, found a directory part"
            ));
        }
        let base = name.strip_suffix(".zip").unwrap_or(name);
        let parts: Vec<&str> = base.split('_').collect();
        let [sender, receiver, date_counter, event] = parts.as_slice() else {
            return Err(format!(
                "archive name `{name}`: expected 4 parts `{{sender}}_{{receiver}}_{{YYYYMMDD}}{{n}}_{{S}}`, found {}",
                parts.len()
            ));
        };
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !(digits(sender) && (sender.len() == 10 || sender.len() == 8)) {
            return Err(format!(
                "archive name `{name}`: expected a sender of 10 digits (institution) or 8 digits (agency/insurer), found `{sender}`"
            ));
        }
        if !(digits(receiver) && receiver.len() == 8) {
            return Err(format!(
                "archive name `{name}`: expected a receiver of 8 digits, found `{receiver}`"
            ));
        }
        if !(digits(date_counter) && date_counter.len() == 9) {
            return Err(format!(
                "archive name `{name}`: expected a date YYYYMMDD followed by a one-digit counter (9 digits), found `{date_counter}`"
            ));
        }
        let (date, counter) = date_counter.split_at(8);
        if !is_calendar_date(date) {
            return Err(format!(
                "archive name `{name}`: expected a valid calendar date YYYYMMDD, found `{date}`"
            ));
        }
        if !(digits(event) && event.len() == 1) {
            return Err(format!(
                "archive name `{name}`: expected a one-digit 実施区分, found `{event}`"
            ));
        }
        Ok(ArchiveName {
            sender: (*sender).to_owned(),
            receiver: (*receiver).to_owned(),
            date: date.to_owned(),
            counter: digit_value(counter),
            service_event_type: digit_value(event),
        })
    }
    /// The base name without `.zip` (also the top folder name).
    pub fn base(&self) -> String {
        format!(
            "{}_{}_{}{}_{}",
            self.sender, self.receiver, self.date, self.counter, self.service_event_type
        )
    }
    /// The common part of DATA/CLAIMS file names after the prefix letter, for `serial`:
    /// `{sender}{YYYYMMDD}{n}{S}{######}`.
    pub fn file_stem(&self, serial: u32) -> String {
        format!(
            "{}{}{}{}{:06}",
            self.sender, self.date, self.counter, self.service_event_type, serial
        )
    }
}

/// Limits that keep reading an archive bounded.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Largest archive file accepted.
    pub max_archive_bytes: u64,
    /// Most entries accepted. Listing costs about 600 bytes per entry, so the default
    /// (100,000 persons × DATA + CLAIMS, plus index, summary and an XSD folder) keeps the
    /// entry table near 120 MB, inside the 256 MB bound on a whole check.
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
            max_entries: 200_100,
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
    pub fn open(name: &str, mut reader: R, limits: ArchiveLimits) -> Archive<R> {
        let file_name = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let mut issues = Vec::new();
        let parsed_name = match ArchiveName::parse(file_name) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                issues.push(ArchiveIssue::BadName(message));
                None
            }
        };
        let mut archive = Archive {
            name: name.to_owned(),
            parsed_name,
            entries: Vec::new(),
            issues,
            zip: None,
            limits,
        };

        // Before the ZIP library builds its entry table, bound what it would build.
        let length = match reader.seek(SeekFrom::End(0)) {
            Ok(length) => length,
            Err(error) => {
                archive.issues.push(ArchiveIssue::NotZip(format!(
                    "the archive cannot be read: {error}"
                )));
                return archive;
            }
        };
        if length > limits.max_archive_bytes {
            archive.issues.push(ArchiveIssue::Unsafe {
                entry: name.to_owned(),
                reason: format!(
                    "archive of {length} bytes exceeds the limit of {} bytes",
                    limits.max_archive_bytes
                ),
            });
            return archive;
        }
        match declared_entry_count(&mut reader, length) {
            Ok(declared) if declared > limits.max_entries as u64 => {
                archive.issues.push(ArchiveIssue::Unsafe {
                    entry: name.to_owned(),
                    reason: format!(
                        "the central directory declares {declared} entries, more than the limit of {}",
                        limits.max_entries
                    ),
                });
                return archive;
            }
            Ok(_) => {}
            Err(error) => {
                archive.issues.push(ArchiveIssue::NotZip(format!(
                    "the archive cannot be read: {error}"
                )));
                return archive;
            }
        }

        let mut zip = match zip::ZipArchive::new(reader) {
            Ok(zip) => zip,
            Err(error) => {
                archive.issues.push(ArchiveIssue::NotZip(format!(
                    "not a readable ZIP archive: {error}"
                )));
                return archive;
            }
        };
        if zip.has_duplicate_names() {
            // The ZIP library keeps one entry per exact name; find the names it merged.
            let mut reader = zip.into_inner();
            let duplicates = exact_duplicate_names(&mut reader, limits.max_entries);
            for duplicate in &duplicates {
                archive.issues.push(ArchiveIssue::Unsafe {
                    entry: duplicate.clone(),
                    reason: "the same name is stored more than once".to_owned(),
                });
            }
            if duplicates.is_empty() {
                archive.issues.push(ArchiveIssue::Unsafe {
                    entry: name.to_owned(),
                    reason: "the central directory stores some name more than once".to_owned(),
                });
            }
            zip = match zip::ZipArchive::new(reader) {
                Ok(zip) => zip,
                Err(error) => {
                    archive.issues.push(ArchiveIssue::NotZip(format!(
                        "not a readable ZIP archive: {error}"
                    )));
                    return archive;
                }
            };
        }
        if zip.len() > limits.max_entries {
            archive.issues.push(ArchiveIssue::Unsafe {
                entry: name.to_owned(),
                reason: format!(
                    "{} entries, more than the limit of {}",
                    zip.len(),
                    limits.max_entries
                ),
            });
            return archive;
        }
        match zip.has_overlapping_entries() {
            Ok(false) => {}
            Ok(true) => archive.issues.push(ArchiveIssue::Unsafe {
                entry: name.to_owned(),
                reason: "entries overlap each other or the central directory".to_owned(),
            }),
            Err(error) => archive.issues.push(ArchiveIssue::NotZip(format!(
                "a local file header cannot be read: {error}"
            ))),
        }
        archive.list(&zip);
        archive.zip = Some(zip);
        archive
    }

    /// Builds the entry list from the central directory and judges names, sizes and layout.
    fn list(&mut self, zip: &zip::ZipArchive<R>) {
        let limits = self.limits;
        let expected_top = self
            .parsed_name
            .as_ref()
            .map(ArchiveName::base)
            .unwrap_or_else(|| archive_stem(&self.name).to_owned());
        let mut raw: Vec<RawEntry> = Vec::with_capacity(zip.len());
        let mut total: u64 = 0;
        let mut total_reported = false;
        let mut folded: HashMap<Vec<u8>, String> = HashMap::with_capacity(zip.len());
        for index in 0..zip.len() {
            let Ok(data) = zip.by_index_data(index) else {
                continue;
            };
            let name_raw = data.name_raw();
            let name = String::from_utf8_lossy(name_raw).into_owned();
            // Windows tools (PowerShell 5.1 Compress-Archive, .NET Framework before 4.6.1)
            // store `\` as the folder separator, against APPNOTE 4.4.17; every extractor
            // (Explorer, 7-Zip, Info-ZIP unzip) reads it as one. The layout and the safety
            // judgements use the separator-normalised name (so `a\..\b` is still a `..`
            // climb and `a\b` a duplicate of `a/b`); `name` stays as stored for reading.
            let separated = separators_normalised(name_raw);
            let name_raw: &[u8] = &separated;
            let path_name = String::from_utf8_lossy(name_raw).into_owned();
            let size = data.size();
            let compressed_size = data.compressed_size();
            let mut unsafe_reasons = Vec::new();
            if let Some(reason) = unsafe_path(name_raw) {
                unsafe_reasons.push(reason);
            }
            if data.is_symlink() {
                unsafe_reasons.push("a symbolic link".to_owned());
            }
            if data.flags().is_encrypted() {
                unsafe_reasons.push("an encrypted entry".to_owned());
            }
            if size > limits.max_entry_bytes {
                unsafe_reasons.push(format!(
                    "declares {size} bytes uncompressed, more than the limit of {} bytes",
                    limits.max_entry_bytes
                ));
            }
            if size > RATIO_FLOOR && size / compressed_size.max(1) > limits.max_ratio {
                unsafe_reasons.push(format!(
                    "compression ratio {}:1 ({size} from {compressed_size} bytes) exceeds {}:1",
                    size / compressed_size.max(1),
                    limits.max_ratio
                ));
            }
            if let Some(first) = folded.get(&case_folded(name_raw)) {
                unsafe_reasons.push(format!("the same name as `{first}` when case is ignored"));
            } else {
                folded.insert(case_folded(name_raw), name.clone());
            }
            if !name_raw.is_ascii() {
                self.issues.push(ArchiveIssue::NonAscii {
                    entry: display_raw_name(data.name_raw()),
                });
            }
            let safe = unsafe_reasons.is_empty();
            for reason in unsafe_reasons {
                self.issues.push(ArchiveIssue::Unsafe {
                    entry: name.clone(),
                    reason,
                });
            }
            total = total.saturating_add(size);
            if total > limits.max_total_bytes && !total_reported {
                total_reported = true;
                self.issues.push(ArchiveIssue::Unsafe {
                    entry: name.clone(),
                    reason: format!(
                        "the entries declare more than {} bytes uncompressed in total",
                        limits.max_total_bytes
                    ),
                });
            }
            let is_dir = name_raw.ends_with(b"/");
            raw.push(RawEntry {
                index,
                name,
                path_name,
                is_dir,
                safe,
                size,
                compressed_size,
            });
        }

        // exactly one top folder, named like the archive.
        // Distinct first components in order of appearance (a set, so that an archive
        // of many folders stays linear).
        let mut tops: Vec<&str> = Vec::new();
        let mut seen_tops: HashSet<&str> = HashSet::new();
        for entry in raw.iter().filter(|e| e.safe) {
            if let Some((top, _)) = entry.path_name.split_once('/')
                && seen_tops.insert(top)
            {
                tops.push(top);
            }
        }
        let top = if seen_tops.contains(expected_top.as_str()) {
            Some(expected_top.clone())
        } else if let [only] = tops.as_slice() {
            Some((*only).to_owned())
        } else {
            None
        };
        match tops.as_slice() {
            [] => self.issues.push(ArchiveIssue::TopFolder(format!(
                "expected one top folder `{expected_top}/`, found no folder"
            ))),
            [only] if *only != expected_top => self.issues.push(ArchiveIssue::TopFolder(format!(
                "expected the top folder `{expected_top}/`, found `{only}/`"
            ))),
            [_] => {}
            several => {
                const SHOWN: usize = 5;
                let mut shown: Vec<String> = several
                    .iter()
                    .take(SHOWN)
                    .map(|t| format!("`{t}/`"))
                    .collect();
                if several.len() > SHOWN {
                    shown.push("…".to_owned());
                }
                self.issues.push(ArchiveIssue::TopFolder(format!(
                    "expected one top folder `{expected_top}/`, found {}: {}",
                    several.len(),
                    shown.join(", ")
                )))
            }
        }

        let mut has_index = false;
        let mut has_summary = false;
        let mut has_claims = false;
        let mut has_xsd = false;
        for entry in raw {
            let path = top
                .as_deref()
                .and_then(|top| entry.path_name.strip_prefix(top))
                .and_then(|rest| rest.strip_prefix('/'))
                .map(str::to_owned);
            let role = match &path {
                Some(path) => role_of(path, entry.is_dir),
                None => {
                    if entry.is_dir {
                        EntryRole::Directory
                    } else {
                        EntryRole::Other
                    }
                }
            };
            match role {
                EntryRole::Index => has_index = true,
                EntryRole::Summary => has_summary = true,
                EntryRole::Claim => has_claims = true,
                EntryRole::Xsd => has_xsd = true,
                EntryRole::Directory
                    if path
                        .as_deref()
                        .is_some_and(|p| p == "XSD/" || p.starts_with("XSD/")) =>
                {
                    has_xsd = true
                }
                _ => {}
            }
            // anything not in the standard layout (unsafe names are already A-09).
            let expected_place = match (&path, role) {
                (None, EntryRole::Directory) => false,
                (None, _) => false,
                (Some(_), EntryRole::Other) => false,
                (Some(p), EntryRole::Directory) => is_expected_directory(p),
                (Some(_), _) => true,
            };
            if !expected_place && entry.safe {
                self.issues.push(ArchiveIssue::Unexpected {
                    entry: entry.name.clone(),
                });
            }
            self.entries.push(Entry {
                index: entry.index,
                name: entry.name,
                path,
                role,
                size: entry.size,
                compressed_size: entry.compressed_size,
            });
        }
        if !has_index {
            self.issues.push(ArchiveIssue::NoIndex);
        }
        if has_claims && !has_summary {
            self.issues.push(ArchiveIssue::NoSummary);
        }
        if !has_xsd {
            self.issues.push(ArchiveIssue::NoXsdFolder);
        }
    }

    /// Reads one entry fully into memory, bounded by the limits. An entry that inflates
    /// past its declared size or the per-entry limit gives an [`ArchiveIssue::Unsafe`].
    ///
    /// The same as [`Archive::read_stored`] followed by [`StoredEntry::inflate`].
    pub fn read(&mut self, entry: &Entry) -> Result<Vec<u8>, ArchiveIssue> {
        self.read_stored(entry)?.inflate()
    }

    /// Reads one entry's stored (compressed) bytes and the local facts needed to inflate
    /// them, without inflating: the reading thread stays cheap and the inflating moves to
    /// whichever thread calls [`StoredEntry::inflate`], with the same limits and the same
    /// issues as [`Archive::read`].
    ///
    /// Every judgement that needs the archive itself is made here (the entry is this
    /// archive's, not encrypted, not a symlink, declares no more than the per-entry limit,
    /// its local header is readable); what the bytes inflate to is judged by `inflate`.
    /// The stored bytes held are bounded too: an entry whose compressed form is larger than
    /// any deflate stream of at most `max_entry_bytes` can be (or whose method is neither
    /// stored nor deflate) is inflated here instead, through the ZIP library's own reader,
    /// so the memory held never depends on what the entry claims.
    pub fn read_stored(&mut self, entry: &Entry) -> Result<StoredEntry, ArchiveIssue> {
        let limit = self.limits.max_entry_bytes;
        let unsafe_entry = |reason: String| ArchiveIssue::Unsafe {
            entry: entry.name.clone(),
            reason,
        };
        let Some(zip) = self.zip.as_mut() else {
            return Err(ArchiveIssue::NotZip(
                "the archive could not be opened".to_owned(),
            ));
        };
        let data = zip
            .by_index_data(entry.index)
            .map_err(|error| ArchiveIssue::NotZip(format!("{}: {error}", entry.name)))?;
        if data.name_raw() != entry.name.as_bytes()
            && String::from_utf8_lossy(data.name_raw()) != entry.name
        {
            return Err(ArchiveIssue::NotZip(format!(
                "{}: not an entry of this archive",
                entry.name
            )));
        }
        if data.flags().is_encrypted() {
            return Err(unsafe_entry("an encrypted entry".to_owned()));
        }
        if data.is_symlink() {
            return Err(unsafe_entry("a symbolic link".to_owned()));
        }
        let declared = data.size();
        if declared > limit {
            return Err(unsafe_entry(format!(
                "declares {declared} bytes, more than the limit of {limit} bytes"
            )));
        }
        let method = match data.compression() {
            zip::CompressionMethod::Stored => Some(StoredMethod::Stored),
            zip::CompressionMethod::Deflated => Some(StoredMethod::Deflated),
            _ => None,
        };
        let compressed_size = data.compressed_size();
        let crc32 = data.crc32();
        let open_error = |error: zip::result::ZipError| match error {
            zip::result::ZipError::UnsupportedArchive(what) => {
                ArchiveIssue::NotZip(format!("{}: unsupported: {what}", entry.name))
            }
            other => ArchiveIssue::NotZip(format!("{}: {other}", entry.name)),
        };
        if let Some(method) = method
            && compressed_size <= stored_bytes_cap(limit)
        {
            let mut raw = zip.by_index_raw(entry.index).map_err(open_error)?;
            // Bounded by the cap just checked (the raw reader stops at compressed_size).
            let mut compressed = Vec::with_capacity(usize::try_from(compressed_size).unwrap_or(0));
            if let Err(error) = raw.read_to_end(&mut compressed) {
                return Err(ArchiveIssue::NotZip(format!(
                    "{}: cannot be extracted: {error}",
                    entry.name
                )));
            }
            return Ok(StoredEntry {
                name: entry.name.clone(),
                content: StoredContent::Compressed {
                    method,
                    declared,
                    crc32,
                    limit,
                    compressed,
                },
            });
        }
        let file = zip.by_index(entry.index).map_err(open_error)?;
        let bytes = inflate_checked(file, &entry.name, declared, limit)?;
        Ok(StoredEntry {
            name: entry.name.clone(),
            content: StoredContent::Inflated(bytes),
        })
    }
}

/// One entry read from the archive but not yet inflated (展開前のエントリ): its stored
/// bytes and the local facts (method, declared size, CRC-32, the per-entry limit) that
/// inflating needs, so that any thread can inflate it without the archive.
#[derive(Debug)]
pub struct StoredEntry {
    name: String,
    content: StoredContent,
}

#[derive(Debug)]
enum StoredContent {
    /// Already inflated on the reading thread (an unusual method or an oversized stored form).
    Inflated(Vec<u8>),
    /// The compressed bytes, exactly as the ZIP library would have decoded them.
    Compressed {
        method: StoredMethod,
        declared: u64,
        crc32: u32,
        limit: u64,
        compressed: Vec<u8>,
    },
}

/// The two compression methods inflated away from the reading thread.
#[derive(Debug, Clone, Copy)]
enum StoredMethod {
    Stored,
    Deflated,
}

impl StoredEntry {
    /// The entry's name as stored.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Bytes this entry holds in memory (compressed, or inflated when the reading thread
    /// inflated it), to bound what a queue of entries holds.
    pub fn held_bytes(&self) -> usize {
        match &self.content {
            StoredContent::Inflated(bytes) => bytes.len(),
            StoredContent::Compressed { compressed, .. } => compressed.len(),
        }
    }

    /// Inflates and checks the entry: the output may not pass the declared size (nor the
    /// per-entry limit), must match the declared size and the CRC-32. The issues are the
    /// ones [`Archive::read`] has always given, with the same messages: the decoder chain
    /// is the ZIP library's own (a buffered reader, flate2's deflate decoder, a CRC-32
    /// reader that fails past the declared size), rebuilt over the bytes in memory. A
    /// deflated entry is first inflated in one call by this thread's reused decoder, which
    /// is taken only when the entry is clean (see `inflate_clean`).
    pub fn inflate(self) -> Result<Vec<u8>, ArchiveIssue> {
        match self.content {
            StoredContent::Inflated(bytes) => Ok(bytes),
            StoredContent::Compressed {
                method,
                declared,
                crc32,
                limit,
                compressed,
            } => match method {
                StoredMethod::Stored => inflate_checked(
                    CheckedReader::new(compressed.as_slice(), crc32, declared),
                    &self.name,
                    declared,
                    limit,
                ),
                StoredMethod::Deflated => match inflate_clean(&compressed, declared, crc32) {
                    Some(bytes) => Ok(bytes),
                    // Anything else (a corrupt, truncated, oversized or short stream, a
                    // CRC-32 mismatch) goes through the library's chain, which words
                    // the issue exactly as before.
                    None => inflate_checked(
                        CheckedReader::new(
                            // The bytes are in memory: the slice is the decoder's buffer
                            // (no 8 KiB buffer allocated and filled per entry).
                            flate2::bufread::DeflateDecoder::new(compressed.as_slice()),
                            crc32,
                            declared,
                        ),
                        &self.name,
                        declared,
                        limit,
                    ),
                },
            },
        }
    }
}

thread_local! {
    /// This thread's deflate decoder, reset between entries: setting one up zeroes several
    /// kilobytes of state, once per thread instead of once per entry.
    static INFLATER: std::cell::Cell<Option<flate2::Decompress>> =
        const { std::cell::Cell::new(None) };
}

/// The clean case in one call: a deflate stream that ends, inflating to exactly `declared`
/// bytes whose CRC-32 is `crc32`, decoded with this thread's reused decoder straight into
/// a buffer of `declared` + 1 bytes (never zeroed first; bounded, as `declared` ≤ the
/// per-entry limit here). Deflate decoding is deterministic, so the library's chain would
/// give the same bytes and no issue; for anything else this gives `None` and the caller
/// takes that chain, so every issue and message stays its own.
fn inflate_clean(compressed: &[u8], declared: u64, crc32: u32) -> Option<Vec<u8>> {
    let declared = usize::try_from(declared).ok()?;
    let mut out = Vec::with_capacity(declared.checked_add(1)?);
    let mut decoder = INFLATER
        .with(std::cell::Cell::take)
        .unwrap_or_else(|| flate2::Decompress::new(false));
    decoder.reset(false);
    let status = decoder.decompress_vec(compressed, &mut out, flate2::FlushDecompress::Finish);
    INFLATER.with(|cell| cell.set(Some(decoder)));
    match status {
        Ok(flate2::Status::StreamEnd)
            if out.len() == declared && crc32fast::hash(&out) == crc32 =>
        {
            Some(out)
        }
        _ => None,
    }
}

/// The most stored bytes held for one entry: any deflate stream of at most `limit` bytes
/// of output fits (stored blocks add 5 bytes per 64 KiB; an eighth is ample room).
fn stored_bytes_cap(limit: u64) -> u64 {
    limit.saturating_add(limit / 8).saturating_add(64 << 10)
}

/// Reads an entry's decoded bytes to the end, bounded by `limit`, and turns what went
/// wrong into the entry's issue. `declared` (≤ `limit`) bounds the capacity.
fn inflate_checked<Rd: Read>(
    reader: Rd,
    name: &str,
    declared: u64,
    limit: u64,
) -> Result<Vec<u8>, ArchiveIssue> {
    let unsafe_entry = |reason: String| ArchiveIssue::Unsafe {
        entry: name.to_owned(),
        reason,
    };
    // Declared ≤ limit here, so this capacity is bounded.
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    let read = reader.take(limit.saturating_add(1)).read_to_end(&mut bytes);
    if let Err(error) = read {
        let message = error.to_string();
        return Err(if message.contains("larger than its declared") {
            unsafe_entry(format!(
                "inflates past its declared size of {declared} bytes"
            ))
        } else if message.contains("checksum") {
            ArchiveIssue::NotZip(format!("{name}: CRC-32 mismatch"))
        } else {
            ArchiveIssue::NotZip(format!("{name}: cannot be extracted: {message}"))
        });
    }
    let actual = bytes.len() as u64;
    if actual > limit {
        return Err(unsafe_entry(format!(
            "inflates past the limit of {limit} bytes"
        )));
    }
    if actual != declared {
        return Err(unsafe_entry(format!(
            "declares {declared} bytes but holds {actual}"
        )));
    }
    Ok(bytes)
}

/// The ZIP library's CRC-32 reader, rebuilt: fails as soon as the output passes the
/// declared size ("larger than its declared uncompressed size") and, at the end, when the
/// CRC-32 differs ("Invalid checksum"), so [`inflate_checked`] maps both as before.
struct CheckedReader<Rd> {
    inner: Rd,
    hasher: crc32fast::Hasher,
    expected: u32,
    declared: u64,
    produced: u64,
}

impl<Rd> CheckedReader<Rd> {
    fn new(inner: Rd, expected: u32, declared: u64) -> Self {
        CheckedReader {
            inner,
            hasher: crc32fast::Hasher::new(),
            expected,
            declared,
            produced: 0,
        }
    }
}

impl<Rd: Read> Read for CheckedReader<Rd> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Like the library's decompressor: an empty buffer reads nothing and decides nothing.
        let count = if buf.is_empty() {
            0
        } else {
            self.inner.read(buf)?
        };
        self.produced = self.produced.saturating_add(count as u64);
        if self.produced > self.declared {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "File is larger than its declared uncompressed size",
            ));
        }
        if count == 0 && !buf.is_empty() && self.hasher.clone().finalize() != self.expected {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "Invalid checksum",
            ));
        }
        self.hasher.update(buf.get(..count).unwrap_or(&[]));
        Ok(count)
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
        ArchiveWriter {
            base: name.base(),
            files: Vec::new(),
        }
    }
    /// Adds a file at `path` below the top folder (e.g. `DATA/h….xml`).
    pub fn add(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.push((path.into(), bytes.into()));
    }
    /// The ZIP bytes (deflate), entries in the order added.
    ///
    /// Deterministic: every entry carries the same fixed timestamp (1980-01-01 00:00) and
    /// permissions, so the same files give the same bytes. A path that is absolute,
    /// climbs out (`..`), uses backslashes or is empty is refused.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644)
            .large_file(false);
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (path, bytes) in &self.files {
            if path.is_empty() || path.ends_with('/') || unsafe_path(path.as_bytes()).is_some() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("expected a relative file path below the top folder, found `{path}`"),
                ));
            }
            writer
                .start_file(format!("{}/{path}", self.base), options)
                .map_err(std::io::Error::other)?;
            writer.write_all(bytes)?;
        }
        let cursor = writer.finish().map_err(std::io::Error::other)?;
        Ok(cursor.into_inner())
    }
}

/// Entries below this uncompressed size are not judged by their compression ratio
/// (small XML files compress very well and are harmless).
const RATIO_FLOOR: u64 = 64 << 10;

/// An entry as listed, before its role is known.
struct RawEntry {
    index: usize,
    name: String,
    /// `name` with `\` separators read as `/` (the layout is judged on this).
    path_name: String,
    is_dir: bool,
    safe: bool,
    size: u64,
    compressed_size: u64,
}

/// A stored name with every `\` read as the folder separator `/` (borrowed when there is
/// none). Only for judging an archive's layout: the writer still refuses backslashes.
fn separators_normalised(name: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if name.contains(&b'\\') {
        std::borrow::Cow::Owned(
            name.iter()
                .map(|&b| if b == b'\\' { b'/' } else { b })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// Why a stored name is unsafe to map to a path, if it is.
fn unsafe_path(name: &[u8]) -> Option<String> {
    if name.is_empty() {
        return Some("an empty name".to_owned());
    }
    if name.contains(&0) {
        return Some("a NUL byte in the name".to_owned());
    }
    if name.contains(&b'\\') {
        return Some("a backslash in the name".to_owned());
    }
    if name.starts_with(b"/") {
        return Some("an absolute path".to_owned());
    }
    if let [drive, b':', ..] = name
        && drive.is_ascii_alphabetic()
    {
        return Some("a drive letter".to_owned());
    }
    let inner = name.strip_suffix(b"/").unwrap_or(name);
    for component in inner.split(|&b| b == b'/') {
        match component {
            b".." => return Some("a `..` component climbing out of the folder".to_owned()),
            b"." => return Some("a `.` component".to_owned()),
            b"" => return Some("an empty path component (`//`)".to_owned()),
            _ => {}
        }
    }
    None
}

/// The key under which two names are the same when case is ignored: the lower-cased
/// text for UTF-8 names, the ASCII-lower-cased bytes (marked by a leading 0xFF, which
/// UTF-8 never contains) for other names, so distinct undecodable names stay distinct.
fn case_folded(raw: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_lowercase().into_bytes(),
        Err(_) => {
            let mut key = Vec::with_capacity(raw.len() + 1);
            key.push(0xFF);
            key.extend(raw.iter().map(u8::to_ascii_lowercase));
            key
        }
    }
}

/// The name for display in an A-10 issue: UTF-8 when it is UTF-8, else the raw bytes in
/// hex (names without the UTF-8 flag are often CP437 or CP932, which we do not guess).
fn display_raw_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_owned(),
        Err(_) => {
            let mut shown = String::with_capacity(raw.len() * 2);
            for &byte in raw {
                if byte.is_ascii_graphic() || byte == b' ' {
                    shown.push(char::from(byte));
                } else {
                    shown.push_str(&format!("\\x{byte:02x}"));
                }
            }
            shown
        }
    }
}

/// The archive's file name without directory and `.zip`, for an archive whose name does
/// not follow the grammar.
fn archive_stem(name: &str) -> &str {
    let file_name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    file_name.strip_suffix(".zip").unwrap_or(file_name)
}

/// The role of an entry from its path below the top folder.
fn role_of(path: &str, is_dir: bool) -> EntryRole {
    if is_dir {
        return EntryRole::Directory;
    }
    match path {
        "ix08_V08.xml" => return EntryRole::Index,
        "su08_V08.xml" => return EntryRole::Summary,
        _ => {}
    }
    if path.starts_with("XSD/") {
        return EntryRole::Xsd;
    }
    let xml_file =
        |name: &str| !name.contains('/') && name.len() > ".xml".len() && name.ends_with(".xml");
    if let Some(name) = path.strip_prefix("DATA/")
        && xml_file(name)
    {
        return EntryRole::Data;
    }
    if let Some(name) = path.strip_prefix("CLAIMS/")
        && xml_file(name)
    {
        return EntryRole::Claim;
    }
    EntryRole::Other
}

/// Whether a directory entry (path below the top folder, ending in `/`) is part of the
/// standard layout.
fn is_expected_directory(path: &str) -> bool {
    path.is_empty() || path == "DATA/" || path == "CLAIMS/" || path.starts_with("XSD/")
}

/// Whether `date` (8 ASCII digits) is a valid Gregorian calendar date YYYYMMDD.
fn is_calendar_date(date: &str) -> bool {
    let number =
        |range: std::ops::Range<usize>| date.get(range).and_then(|s| s.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(4..6), number(6..8)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// The value of a one-character ASCII digit string (checked by the caller).
fn digit_value(digit: &str) -> u8 {
    digit.bytes().next().map_or(0, |b| b.saturating_sub(b'0'))
}

/// End of central directory record signature (`PK\x05\x06`).
const EOCD_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
/// ZIP64 end of central directory locator signature (`PK\x06\x07`).
const ZIP64_LOCATOR_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
/// ZIP64 end of central directory record signature (`PK\x06\x06`).
const ZIP64_EOCD_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
/// Central directory file header signature (`PK\x01\x02`).
const CENTRAL_HEADER_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
/// The smallest central directory record.
const CENTRAL_HEADER_LEN: u64 = 46;

/// The largest entry count that any end-of-central-directory candidate in the archive's
/// tail could really hold, so that a large entry table is refused before the ZIP library
/// builds it. A candidate counts only if its central directory lies before it; its count
/// is capped by the room there for the smallest records. Gives 0 when no candidate is
/// plausible (the ZIP library then reports the archive as unreadable).
fn declared_entry_count<R: Read + Seek>(reader: &mut R, length: u64) -> std::io::Result<u64> {
    let tail_len = length.min(22 + (1 << 16));
    let tail_start = length - tail_len;
    reader.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::with_capacity(usize::try_from(tail_len).unwrap_or(0));
    reader.by_ref().take(tail_len).read_to_end(&mut tail)?;
    let mut most = 0u64;
    let mut zip64_records = Vec::new();
    for at in 0..tail.len().saturating_sub(3) {
        if tail.get(at..at + 4) != Some(&EOCD_SIGNATURE[..]) {
            continue;
        }
        let position = tail_start + at as u64;
        let (Some(entries), Some(directory_size), Some(directory_offset)) = (
            le16(&tail, at + 10),
            le32(&tail, at + 12),
            le32(&tail, at + 16),
        ) else {
            continue;
        };
        if entries == 0xFFFF || directory_size == 0xFFFF_FFFF || directory_offset == 0xFFFF_FFFF {
            // ZIP64: the real values are in the ZIP64 record the locator points at.
            if let Some(locator) = at.checked_sub(20)
                && tail.get(locator..locator + 4) == Some(&ZIP64_LOCATOR_SIGNATURE[..])
                && let Some(record) = le64(&tail, locator + 8)
            {
                zip64_records.push(record);
            }
            continue;
        }
        if directory_offset + directory_size <= position {
            most = most.max(entries.min((position - directory_offset) / CENTRAL_HEADER_LEN));
        }
    }
    for position in zip64_records {
        if position.saturating_add(56) > length {
            continue;
        }
        reader.seek(SeekFrom::Start(position))?;
        let mut record = [0u8; 56];
        if reader.read_exact(&mut record).is_err() || record[..4] != ZIP64_EOCD_SIGNATURE {
            continue;
        }
        let (Some(entries), Some(directory_size), Some(directory_offset)) =
            (le64(&record, 32), le64(&record, 40), le64(&record, 48))
        else {
            continue;
        };
        if directory_offset
            .checked_add(directory_size)
            .is_some_and(|end| end <= position)
        {
            most = most.max(entries.min((position - directory_offset) / CENTRAL_HEADER_LEN));
        }
    }
    Ok(most)
}

/// Little-endian integers at `at`, if the bytes are there.
fn le16(bytes: &[u8], at: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(2)?)?;
    Some(u64::from(u16::from_le_bytes(field.try_into().ok()?)))
}

fn le32(bytes: &[u8], at: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(4)?)?;
    Some(u64::from(u32::from_le_bytes(field.try_into().ok()?)))
}

fn le64(bytes: &[u8], at: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(field.try_into().ok()?))
}

/// Names stored more than once in the central directory (the ZIP library keeps only one
/// of them). Reads the central directory records directly, at most `max_entries` of them.
fn exact_duplicate_names<R: Read + Seek>(reader: &mut R, max_entries: usize) -> Vec<String> {
    let Ok(length) = reader.seek(SeekFrom::End(0)) else {
        return Vec::new();
    };
    let Some(start) = central_directory_start(reader, length) else {
        return Vec::new();
    };
    if reader.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut reader = std::io::BufReader::new(reader);
    let mut seen: HashMap<Vec<u8>, bool> = HashMap::new();
    let mut duplicates = Vec::new();
    for _ in 0..max_entries {
        let mut header = [0u8; CENTRAL_HEADER_LEN as usize];
        if reader.read_exact(&mut header).is_err() || header[..4] != CENTRAL_HEADER_SIGNATURE {
            break;
        }
        let name_len = usize::from(u16::from_le_bytes([header[28], header[29]]));
        let extra_len = i64::from(u16::from_le_bytes([header[30], header[31]]));
        let comment_len = i64::from(u16::from_le_bytes([header[32], header[33]]));
        let mut name = vec![0u8; name_len];
        if reader.read_exact(&mut name).is_err()
            || reader.seek_relative(extra_len + comment_len).is_err()
        {
            break;
        }
        match seen.get_mut(&name) {
            Some(reported) => {
                if !*reported {
                    *reported = true;
                    duplicates.push(String::from_utf8_lossy(&name).into_owned());
                }
            }
            None => {
                seen.insert(name, false);
            }
        }
    }
    duplicates
}

/// The central directory offset from the last end-of-central-directory record (ZIP64
/// aware), when there is one.
fn central_directory_start<R: Read + Seek>(reader: &mut R, length: u64) -> Option<u64> {
    let tail_len = length.min(22 + (1 << 16));
    reader.seek(SeekFrom::Start(length - tail_len)).ok()?;
    let mut tail = Vec::new();
    reader.by_ref().take(tail_len).read_to_end(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|w| w == EOCD_SIGNATURE)?;
    let offset = tail
        .get(at + 16..at + 20)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))?;
    if offset != u32::MAX {
        return Some(u64::from(offset));
    }
    let locator = tail.get(at.checked_sub(20)?..at)?;
    if locator.get(..4)? != ZIP64_LOCATOR_SIGNATURE {
        return None;
    }
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(locator.get(8..16)?);
    let record_at = u64::from_le_bytes(bytes);
    reader.seek(SeekFrom::Start(record_at)).ok()?;
    let mut record = [0u8; 56];
    reader.read_exact(&mut record).ok()?;
    if record[..4] != ZIP64_EOCD_SIGNATURE {
        return None;
    }
    bytes.copy_from_slice(&record[48..56]);
    Some(u64::from_le_bytes(bytes))
}
