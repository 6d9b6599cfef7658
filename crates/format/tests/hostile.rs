//! Hostile archives (SECURITY.md S22, CHECKS.md ): each one is built here,
//! in memory, and must give its issue — never a panic — in bounded time and bounded memory.
//!
//! Memory is measured by a counting global allocator (per thread, so parallel tests do not
//! disturb each other): the peak of live bytes while opening and reading, and the largest
//! single allocation. The input archive is allocated before measuring starts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant};

use daiko_format::archive::{Archive, ArchiveIssue, ArchiveLimits, EntryRole};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

// --- Memory accounting -----------------------------------------------------------------

struct CountingAllocator;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn grew(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

fn shrank(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters change.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(pointer, layout) }
    }
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// What opening and reading one archive cost.
struct Usage {
    /// Peak of bytes allocated on top of what was live before.
    peak: usize,
    /// Largest single allocation.
    largest: usize,
    elapsed: Duration,
}

fn measured<T>(work: impl FnOnce() -> T) -> (T, Usage) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    LARGEST.with(|largest| largest.set(0));
    let start = Instant::now();
    let result = work();
    let elapsed = start.elapsed();
    let usage = Usage {
        peak: PEAK.with(Cell::get).saturating_sub(before),
        largest: LARGEST.with(Cell::get),
        elapsed,
    };
    (result, usage)
}

// --- Opening and reading under the limits ----------------------------------------------

const NAME: &str = "9910000018_99000010_202306200_1.zip";
const TOP: &str = "9910000018_99000010_202306200_1";

/// Small limits, so the tests stay fast and the bounds are easy to state.
const LIMITS: ArchiveLimits = ArchiveLimits {
    max_archive_bytes: 64 << 20,
    max_entries: 200_000,
    max_entry_bytes: 1 << 20,
    max_total_bytes: 4 << 20,
    max_ratio: 100,
};

/// Memory allowed for opening and reading an archive beyond the per-entry buffer: the
/// entry table plus the inflater's buffers.
const OVERHEAD: usize = 4 << 20;
/// Time allowed for any one hostile archive (unoptimised test build, shared machine).
const TIME: Duration = Duration::from_secs(30);

/// The issues from opening, and from reading every entry, of one archive.
struct Outcome {
    open: Vec<ArchiveIssue>,
    read: Vec<ArchiveIssue>,
    entries: usize,
    largest_read: usize,
}

impl Outcome {
    fn all(&self) -> impl Iterator<Item = &ArchiveIssue> {
        self.open.iter().chain(&self.read)
    }
    fn has_unsafe(&self, reason: &str) -> bool {
        self.all()
            .any(|i| matches!(i, ArchiveIssue::Unsafe { reason: r, .. } if r.contains(reason)))
    }
    fn has_unsafe_entry(&self, entry: &str, reason: &str) -> bool {
        self.all().any(
            |i| matches!(i, ArchiveIssue::Unsafe { entry: e, reason: r } if e == entry && r.contains(reason)),
        )
    }
    fn has_not_zip(&self) -> bool {
        self.all().any(|i| matches!(i, ArchiveIssue::NotZip(_)))
    }
}

/// Opens `bytes` and reads every entry, checking the time, memory and buffer bounds.
fn examine_with(bytes: Vec<u8>, limits: ArchiveLimits, per_entry_overhead: usize) -> Outcome {
    let input = bytes.len();
    let reader = Cursor::new(bytes);
    let (outcome, usage) = measured(move || {
        let mut archive = Archive::open(NAME, reader, limits);
        let mut read = Vec::new();
        let mut largest_read = 0;
        for entry in archive.entries.clone() {
            match archive.read(&entry) {
                Ok(bytes) => largest_read = largest_read.max(bytes.len()),
                Err(issue) => read.push(issue),
            }
        }
        let entries = archive.entries.len();
        Outcome {
            open: archive.issues,
            read,
            entries,
            largest_read,
        }
    });
    let entry_limit = usize::try_from(limits.max_entry_bytes).unwrap_or(usize::MAX);
    assert!(
        outcome.largest_read <= entry_limit,
        "read returned {} bytes",
        outcome.largest_read
    );
    let memory_bound = entry_limit + OVERHEAD + outcome.entries * per_entry_overhead;
    assert!(
        usage.peak <= memory_bound,
        "peak {} bytes > bound {memory_bound} (input {input})",
        usage.peak
    );
    let largest_bound = entry_limit.max(outcome.entries * per_entry_overhead) + (256 << 10);
    assert!(
        usage.largest <= largest_bound,
        "one allocation of {} bytes > {largest_bound}",
        usage.largest
    );
    assert!(usage.elapsed <= TIME, "took {:?}", usage.elapsed);
    outcome
}

fn examine(bytes: Vec<u8>) -> Outcome {
    examine_with(bytes, LIMITS, 1024)
}

// --- Building archives -----------------------------------------------------------------

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
}

/// An archive with the standard layout plus `extra` entries (path, bytes) added as given.
fn archive_with(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in standard().iter().chain(extra) {
        zip.start_file(*path, deflated()).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

fn standard() -> Vec<(&'static str, &'static [u8])> {
    vec![
        (
            "9910000018_99000010_202306200_1/ix08_V08.xml",
            b"<index/>".as_slice(),
        ),
        (
            "9910000018_99000010_202306200_1/su08_V08.xml",
            b"<summary/>".as_slice(),
        ),
        (
            "9910000018_99000010_202306200_1/DATA/h99100000182023062001000001.xml",
            b"<ClinicalDocument/>".as_slice(),
        ),
        (
            "9910000018_99000010_202306200_1/CLAIMS/c99100000182023062001000001.xml",
            b"<checkupClaim/>".as_slice(),
        ),
        (
            "9910000018_99000010_202306200_1/XSD/ix08_V08.xsd",
            b"<schema/>".as_slice(),
        ),
    ]
}

/// Where the local header and the central directory record of the entry named `name`
/// start (the name is at +30 in the one and +46 in the other).
fn headers_of(bytes: &[u8], name: &[u8]) -> (usize, usize) {
    let found: Vec<usize> = bytes
        .windows(name.len())
        .enumerate()
        .filter(|(_, w)| *w == name)
        .map(|(i, _)| i)
        .collect();
    let local = found
        .iter()
        .copied()
        .find(|&at| at >= 30 && bytes[at - 30..at - 26] == *b"PK\x03\x04");
    let central = found
        .iter()
        .copied()
        .find(|&at| at >= 46 && bytes[at - 46..at - 42] == *b"PK\x01\x02");
    (
        local.expect("local header") - 30,
        central.expect("central record") - 46,
    )
}

fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Sets the declared uncompressed size of entry `name` in both headers.
fn declare_size(bytes: &mut [u8], name: &str, size: u32) {
    let (local, central) = headers_of(bytes, name.as_bytes());
    put_u32(bytes, local + 22, size);
    put_u32(bytes, central + 24, size);
}

/// Replaces every occurrence of `from` by `to` (same length): renames an entry in both headers.
fn rename_raw(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(from.len()).position(|w| w == from) {
        bytes[at + offset..at + offset + to.len()].copy_from_slice(to);
        at += offset + to.len();
    }
}

/// A deflated entry of `size` zero bytes, streamed so that building it stays small.
fn zeros_entry(zip: &mut zip::ZipWriter<Cursor<Vec<u8>>>, name: &str, size: u64) {
    zip.start_file(name, deflated().large_file(size > u64::from(u32::MAX)))
        .expect("entry");
    std::io::copy(&mut std::io::repeat(0).take(size), zip).expect("write zeros");
}

// --- zip bombs -------------------------------------------------------------------

#[test]
fn a09_zip_bomb_declared_huge_is_refused_without_inflating() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in standard() {
        zip.start_file(path, deflated()).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    let bomb = format!("{TOP}/DATA/h99100000182023062001000002.xml");
    zeros_entry(&mut zip, &bomb, 256 << 20);
    let bytes = zip.finish().expect("zip").into_inner();
    assert!(
        bytes.len() < 1 << 20,
        "the bomb itself is small: {}",
        bytes.len()
    );
    let outcome = examine(bytes);
    assert!(
        outcome.has_unsafe_entry(&bomb, "more than the limit"),
        "{:?}",
        outcome.open
    );
    assert!(
        outcome.has_unsafe_entry(&bomb, "compression ratio"),
        "{:?}",
        outcome.open
    );
    assert!(outcome.has_unsafe("total"), "{:?}", outcome.open);
}

#[test]
fn a09_zip_bomb_lying_about_its_size_stops_at_the_declared_size() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let bomb = format!("{TOP}/DATA/h99100000182023062001000002.xml");
    zip.start_file(format!("{TOP}/ix08_V08.xml"), deflated())
        .expect("entry");
    zeros_entry(&mut zip, &bomb, 64 << 20);
    let mut bytes = zip.finish().expect("zip").into_inner();
    // Claims 1,000 bytes: passes the size and ratio checks at listing time.
    declare_size(&mut bytes, &bomb, 1000);
    let outcome = examine(bytes);
    assert!(
        !outcome
            .open
            .iter()
            .any(|i| matches!(i, ArchiveIssue::Unsafe { .. })),
        "{:?}",
        outcome.open
    );
    assert!(
        outcome.has_unsafe_entry(&bomb, "inflates past its declared size"),
        "{:?}",
        outcome.read
    );
}

#[test]
fn a09_nested_zip_is_an_opaque_unexpected_entry() {
    let mut inner = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zeros_entry(&mut inner, "bomb.xml", 64 << 20);
    let inner = inner.finish().expect("zip").into_inner();
    let nested = format!("{TOP}/DATA/inner.zip");
    let outcome = examine(archive_with(&[(&nested, &inner)]));
    // Never opened recursively: the outer entry reads back as the inner bytes, bounded.
    assert_eq!(outcome.open, [ArchiveIssue::Unexpected { entry: nested }]);
    assert!(outcome.read.is_empty(), "{:?}", outcome.read);
    assert!(outcome.largest_read >= inner.len());
}

#[test]
fn a09_overlapping_entries_are_unsafe() {
    let first = format!("{TOP}/DATA/h99100000182023062001000001.xml");
    let second = format!("{TOP}/DATA/h99100000182023062001000002.xml");
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file(format!("{TOP}/ix08_V08.xml"), deflated())
        .expect("entry");
    zip.start_file(&first, deflated()).expect("entry");
    zip.write_all(b"<ClinicalDocument/>").expect("write");
    zip.start_file(&second, deflated()).expect("entry");
    zip.write_all(b"<ClinicalDocument/>").expect("write");
    let mut bytes = zip.finish().expect("zip").into_inner();
    // Point the second record at the first entry's data (the "overlapping files" bomb).
    let (first_local, _) = headers_of(&bytes, first.as_bytes());
    let (_, second_central) = headers_of(&bytes, second.as_bytes());
    put_u32(&mut bytes, second_central + 42, first_local as u32);
    let outcome = examine(bytes);
    assert!(outcome.has_unsafe("overlap"), "{:?}", outcome.open);
}

#[test]
fn a09_total_size_over_the_limit() {
    let files: Vec<(String, Vec<u8>)> = (2..=7)
        .map(|i| {
            (
                format!("{TOP}/DATA/h9910000018202306200100000{i}.xml"),
                vec![b'x'; 900 << 10],
            )
        })
        .collect();
    let extra: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let outcome = examine(archive_with(&extra));
    assert!(outcome.has_unsafe("in total"), "{:?}", outcome.open);
}

#[test]
fn a09_archive_over_the_size_limit_is_not_listed() {
    let limits = ArchiveLimits {
        max_archive_bytes: 512,
        ..LIMITS
    };
    let outcome = examine_with(archive_with(&[]), limits, 1024);
    assert_eq!(outcome.entries, 0);
    assert!(
        outcome.has_unsafe("exceeds the limit"),
        "{:?}",
        outcome.open
    );
}

// --- paths -------------------------------------------------------------------------

#[test]
fn a09_zip_slip() {
    for evil in [
        "../x.xml",
        "9910000018_99000010_202306200_1/../../x.xml",
        "9910000018_99000010_202306200_1/DATA/./h.xml",
    ] {
        let outcome = examine(archive_with(&[(evil, b"x")]));
        assert!(
            outcome.has_unsafe_entry(evil, "component"),
            "{evil}: {:?}",
            outcome.open
        );
        // An unsafe entry is A-09, not also A-06.
        assert!(
            !outcome
                .open
                .contains(&ArchiveIssue::Unexpected { entry: evil.into() }),
            "{:?}",
            outcome.open
        );
    }
}

#[test]
fn a09_absolute_paths_drive_letters_and_backslashes() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in standard() {
        zip.start_file(path, deflated()).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    // The writer normalises some of these names, so write placeholders and patch them.
    let cases: [(&str, &str, &str); 3] = [
        ("QQQQQQQQQQQ", "/etc/passwd", "absolute path"),
        ("QQQQQQQQQQR", "C:/evil.xml", "drive letter"),
        // A backslash is read as a separator (Windows tools write it), so this is a `..` climb.
        ("QQQQQQQQQQS", "a\\..\\bb.xml", "climbing out"),
    ];
    for (placeholder, _, _) in cases {
        zip.start_file(placeholder, deflated()).expect("entry");
    }
    let mut bytes = zip.finish().expect("zip").into_inner();
    for (placeholder, evil, _) in cases {
        rename_raw(&mut bytes, placeholder.as_bytes(), evil.as_bytes());
    }
    let outcome = examine(bytes);
    for (_, evil, reason) in cases {
        assert!(
            outcome.has_unsafe_entry(evil, reason),
            "{evil}: {:?}",
            outcome.open
        );
    }
}

/// Windows tools (PowerShell 5.1 Compress-Archive, .NET Framework before 4.6.1) store `\`
/// as the folder separator; extractors read it as one, so the layout is the standard one
/// and every entry reads. A name equal to another once separators are read is a duplicate.
#[test]
fn backslash_separators_are_folders_and_make_duplicates() {
    let standard = standard();
    let windows: Vec<String> = standard.iter().map(|(p, _)| p.replace('/', "\\")).collect();
    // The writer normalises backslashes: write same-length placeholders, then patch them.
    let placeholders: Vec<String> = windows
        .iter()
        .enumerate()
        .map(|(index, name)| {
            char::from(b'Q' + index as u8)
                .to_string()
                .repeat(name.len())
        })
        .collect();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (placeholder, (_, content)) in placeholders.iter().zip(&standard) {
        zip.start_file(placeholder.as_str(), deflated())
            .expect("entry");
        zip.write_all(content).expect("write");
    }
    let copy = format!("{TOP}/DATA/h99100000182023062001000001.xml");
    zip.start_file(copy.as_str(), deflated()).expect("entry");
    zip.write_all(b"<ClinicalDocument/>").expect("write");
    let mut bytes = zip.finish().expect("zip").into_inner();
    for (placeholder, name) in placeholders.iter().zip(&windows) {
        rename_raw(&mut bytes, placeholder.as_bytes(), name.as_bytes());
    }

    let mut archive = Archive::open(NAME, Cursor::new(bytes), LIMITS);
    let roles: Vec<EntryRole> = archive.entries.iter().map(|e| e.role).collect();
    assert_eq!(
        roles,
        [
            EntryRole::Index,
            EntryRole::Summary,
            EntryRole::Data,
            EntryRole::Claim,
            EntryRole::Xsd,
            EntryRole::Data
        ],
        "{:?}",
        archive.entries
    );
    assert_eq!(
        archive.entries[2].path.as_deref(),
        Some("DATA/h99100000182023062001000001.xml")
    );
    // Names stay as stored (reading finds the entry by them).
    assert_eq!(archive.entries[2].name, windows[2]);
    // The only issue: the `/` copy of a `\` name is a duplicate.
    assert_eq!(
        archive.issues,
        vec![ArchiveIssue::Unsafe {
            entry: copy.clone(),
            reason: format!("the same name as `{}` when case is ignored", windows[2]),
        }]
    );
    for entry in archive.entries.clone().iter().take(5) {
        assert!(archive.read(entry).is_ok(), "{entry:?}");
    }
}

#[test]
fn a09_symlink_entry() {
    let link = format!("{TOP}/DATA/h99100000182023062001000002.xml");
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in standard() {
        zip.start_file(path, deflated()).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.add_symlink(&link, "/etc/passwd", stored())
        .expect("symlink");
    let outcome = examine(zip.finish().expect("zip").into_inner());
    assert!(
        outcome.has_unsafe_entry(&link, "symbolic link"),
        "{:?}",
        outcome.open
    );
    // Reading it is refused too, rather than handing out the link target as content.
    assert!(
        outcome
            .read
            .iter()
            .any(|i| matches!(i, ArchiveIssue::Unsafe { entry, .. } if *entry == link))
    );
}

#[test]
fn a09_encrypted_entry() {
    let secret = format!("{TOP}/DATA/h99100000182023062001000002.xml");
    let mut bytes = archive_with(&[(&secret, b"<ClinicalDocument/>")]);
    let (local, central) = headers_of(&bytes, secret.as_bytes());
    put_u16(&mut bytes, local + 6, 1);
    put_u16(&mut bytes, central + 8, 1);
    let outcome = examine(bytes);
    assert!(
        outcome.has_unsafe_entry(&secret, "encrypted"),
        "{:?}",
        outcome.open
    );
    assert!(outcome.read.iter().any(|i| matches!(i, ArchiveIssue::Unsafe { entry, reason } if *entry == secret && reason.contains("encrypted"))));
}

#[test]
fn a09_duplicate_names() {
    let twin = format!("{TOP}/DATA/h99100000182023062001000001.xml");
    let placeholder = format!("{TOP}/DATA/h99100000182023062001000009.xml");
    let mut bytes = archive_with(&[(&placeholder, b"<other/>")]);
    rename_raw(&mut bytes, placeholder.as_bytes(), twin.as_bytes());
    let outcome = examine(bytes);
    assert!(
        outcome.has_unsafe_entry(&twin, "more than once"),
        "{:?}",
        outcome.open
    );
}

#[test]
fn a09_case_duplicate_names() {
    let upper = format!("{TOP}/IX08_v08.XML");
    let outcome = examine(archive_with(&[(&upper, b"<index/>")]));
    assert!(
        outcome.has_unsafe_entry(&upper, "case is ignored"),
        "{:?}",
        outcome.open
    );
}

#[test]
fn a09_hundred_thousand_empty_entries() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in standard() {
        zip.start_file(path, stored()).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    for i in 0..100_000 {
        zip.start_file(format!("{TOP}/XSD/e{i}"), stored())
            .expect("entry");
    }
    let bytes = zip.finish().expect("zip").into_inner();

    // Under the limit: listed in bounded time and memory (about 1 KiB per entry).
    let outcome = examine_with(bytes.clone(), LIMITS, 1024);
    assert_eq!(outcome.entries, 100_005, "{:?}", outcome.open);
    assert!(
        outcome.open.is_empty(),
        "{:?}",
        &outcome.open[..outcome.open.len().min(3)]
    );

    // Over the limit: refused before any entry table is built.
    let limits = ArchiveLimits {
        max_entries: 10_000,
        ..LIMITS
    };
    let outcome = examine_with(bytes, limits, 0);
    assert_eq!(outcome.entries, 0);
    assert!(
        outcome.has_unsafe("entries, more than the limit"),
        "{:?}",
        outcome.open
    );
}

#[test]
fn a03_fifty_thousand_top_folders_stay_linear() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..50_000 {
        zip.start_file(format!("folder{i}/ix08_V08.xml"), stored())
            .expect("entry");
    }
    let outcome = examine(zip.finish().expect("zip").into_inner());
    let top_folder: Vec<_> = outcome
        .open
        .iter()
        .filter(|i| matches!(i, ArchiveIssue::TopFolder(_)))
        .collect();
    match top_folder.as_slice() {
        [ArchiveIssue::TopFolder(message)] => {
            assert!(message.contains("found 50000"), "{message}");
            assert!(
                message.len() < 400,
                "the message lists every folder: {} bytes",
                message.len()
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a01_forged_entry_count_is_not_a_zip() {
    // The end record claims far more entries than its central directory has room for:
    // nothing is allocated for them, and the archive is unreadable.
    let mut bytes = archive_with(&[]);
    let end = bytes.len() - 22;
    assert_eq!(bytes[end..end + 4], *b"PK\x05\x06");
    put_u16(&mut bytes, end + 8, 60_000);
    put_u16(&mut bytes, end + 10, 60_000);
    let limits = ArchiveLimits {
        max_entries: 10_000,
        ..LIMITS
    };
    let outcome = examine_with(bytes.clone(), limits, 0);
    assert_eq!(outcome.entries, 0);
    assert!(outcome.has_not_zip(), "{:?}", outcome.open);
    // A directory size larger than the file is not believed either.
    put_u32(&mut bytes, end + 12, u32::MAX - 1);
    let outcome = examine_with(bytes, limits, 0);
    assert!(outcome.has_not_zip(), "{:?}", outcome.open);
}

// --- names that are not ASCII ----------------------------------------------------

#[test]
fn a10_cp932_name_without_the_utf8_flag() {
    let placeholder = format!("{TOP}/DATA/QQQQ.xml");
    let mut bytes = archive_with(&[(&placeholder, b"<x/>")]);
    // 健診 in CP932 (Shift_JIS), stored as raw bytes with the UTF-8 flag clear.
    rename_raw(&mut bytes, b"QQQQ", &[0x8c, 0x92, 0x90, 0x66]);
    let mut raw_name = format!("{TOP}/DATA/").into_bytes();
    raw_name.extend_from_slice(&[0x8c, 0x92, 0x90, 0x66]);
    raw_name.extend_from_slice(b".xml");
    let (local, central) = headers_of(&bytes, &raw_name);
    assert_eq!(get_u32(&bytes, local + 6) & 0x0800, 0);
    assert_eq!(get_u32(&bytes, central + 8) & 0x0800, 0);
    let outcome = examine(bytes);
    let non_ascii: Vec<_> = outcome
        .open
        .iter()
        .filter(|i| matches!(i, ArchiveIssue::NonAscii { .. }))
        .collect();
    assert_eq!(
        non_ascii,
        [&ArchiveIssue::NonAscii {
            entry: format!("{TOP}/DATA/\\x8c\\x92\\x90f.xml")
        }],
        "{:?}",
        outcome.open
    );
}

#[test]
fn a10_utf8_name_and_invalid_utf8_name() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in standard() {
        zip.start_file(path, deflated()).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.start_file(format!("{TOP}/DATA/健診.xml"), deflated())
        .expect("entry");
    zip.start_file(format!("{TOP}/DATA/QQ.xml"), deflated())
        .expect("entry");
    zip.start_file(format!("{TOP}/DATA/QR.xml"), deflated())
        .expect("entry");
    let mut bytes = zip.finish().expect("zip").into_inner();
    rename_raw(&mut bytes, b"QQ", &[0xff, 0xfe]);
    rename_raw(&mut bytes, b"QR", &[0xff, 0xfd]);
    let outcome = examine(bytes);
    assert!(outcome.open.contains(&ArchiveIssue::NonAscii {
        entry: format!("{TOP}/DATA/健診.xml")
    }));
    assert!(outcome.open.contains(&ArchiveIssue::NonAscii {
        entry: format!("{TOP}/DATA/\\xff\\xfe.xml")
    }));
    assert!(outcome.open.contains(&ArchiveIssue::NonAscii {
        entry: format!("{TOP}/DATA/\\xff\\xfd.xml")
    }));
    // Undecodable names differ by their bytes, not by their lossy display.
    assert!(!outcome.has_unsafe("case is ignored"), "{:?}", outcome.open);
}

// --- damaged archives --------------------------------------------------------------

#[test]
fn a01_every_truncation_is_not_a_zip() {
    let bytes = archive_with(&[]);
    for cut in 0..bytes.len() {
        let outcome = examine(bytes[..cut].to_vec());
        assert!(outcome.has_not_zip(), "cut at {cut}: {:?}", outcome.open);
    }
}

#[test]
fn a01_garbage_bytes() {
    // A fixed linear congruential sequence: the same garbage on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for length in [0usize, 1, 4, 22, 100, 4096, 70_000] {
        let mut bytes = Vec::with_capacity(length);
        for _ in 0..length {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            bytes.push((state >> 56) as u8);
        }
        let outcome = examine(bytes);
        assert!(outcome.has_not_zip(), "{length} bytes: {:?}", outcome.open);
    }
    let outcome = examine(b"PK\x05\x06 looks like the end of a zip".to_vec());
    assert!(outcome.has_not_zip(), "{:?}", outcome.open);
}

#[test]
fn a01_crc_mismatch() {
    let data = format!("{TOP}/DATA/h99100000182023062001000001.xml");
    let mut bytes = archive_with(&[]);
    let (local, central) = headers_of(&bytes, data.as_bytes());
    let crc = get_u32(&bytes, central + 16) ^ 1;
    put_u32(&mut bytes, local + 14, crc);
    put_u32(&mut bytes, central + 16, crc);
    let outcome = examine(bytes);
    assert!(
        outcome
            .read
            .iter()
            .any(|i| matches!(i, ArchiveIssue::NotZip(m) if m.contains("CRC"))),
        "{:?}",
        outcome.read
    );
}

#[test]
fn a09_declared_size_larger_than_the_content() {
    let data = format!("{TOP}/DATA/h99100000182023062001000001.xml");
    let mut bytes = archive_with(&[]);
    declare_size(&mut bytes, &data, 5000);
    let outcome = examine(bytes);
    assert!(
        outcome.has_unsafe_entry(&data, "declares 5000 bytes but holds"),
        "{:?}",
        outcome.read
    );
}

#[test]
fn a09_declared_size_smaller_than_the_content() {
    let data = format!("{TOP}/DATA/h99100000182023062001000001.xml");
    let mut bytes = archive_with(&[]);
    declare_size(&mut bytes, &data, 3);
    let outcome = examine(bytes);
    assert!(
        outcome.has_unsafe_entry(&data, "inflates past its declared size"),
        "{:?}",
        outcome.read
    );
}

#[test]
fn reading_a_safe_archive_gives_every_role() {
    let outcome = examine(archive_with(&[]));
    assert!(
        outcome.open.is_empty() && outcome.read.is_empty(),
        "{:?} {:?}",
        outcome.open,
        outcome.read
    );
    let mut archive = Archive::open(NAME, Cursor::new(archive_with(&[])), LIMITS);
    let roles: Vec<EntryRole> = archive.entries.iter().map(|e| e.role).collect();
    assert_eq!(
        roles,
        [
            EntryRole::Index,
            EntryRole::Summary,
            EntryRole::Data,
            EntryRole::Claim,
            EntryRole::Xsd
        ]
    );
    let index = archive.entries[0].clone();
    assert_eq!(archive.read(&index).expect("reads"), b"<index/>");
}
