//! Archives the way other producers write them, judged through the `daiko check` binary.
//!
//! Every archive is built at test time from the shared hand-written examples
//! (`../shared/spec/examples`, checkup and guidance), the official schema copies and
//! daiko's own generator (`daiko sample --period 2024`); nothing is checked in. Skipped with
//! a message when `../shared` is absent.
//!
//! Each case says, from FORMAT.md / CHECKS.md (section cited beside it), what the spec
//! wants: a valid variant must be accepted with no error and no warning beyond the
//! example's own (M-14 on the checkup example, A-07 when no XSD folder is shipped); an
//! invalid one must get exactly the prescribed codes, no crash and no unrelated code.
//!
//! ZIP containers are written by a small writer below, so that the producer styles the
//! `zip` crate does not write can be made byte for byte: data descriptors with and without
//! their signature (Java `ZipOutputStream`, Info-ZIP streaming), Zip64 extra fields and a
//! Zip64 end record on small archives, stored entries, backslash separators, directory
//! entries in any order.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use zip::write::SimpleFileOptions;

const CHECKUP: &str = "9910000018_99000010_202306200_1";
const GUIDANCE: &str = "9910000018_99000010_202308100_2";
const NS_2018: &str = "http://tokuteikenshin.jp/checkup/2007";
const NS_2024: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";
const NS_CDA: &str = "urn:hl7-org:v3";

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.join("spec/examples/checkup").exists().then_some(p)
}

fn files_under(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.path().is_dir() {
            files_under(&e.path(), &format!("{name}/"), out);
        } else {
            out.push((name, std::fs::read(e.path()).expect("read")));
        }
    }
}

fn crlf(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    text.replace(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>",
    )
    .into_bytes()
}

#[test]
fn producer_style_archive_with_xsd_folder_crlf_and_directories_is_accepted() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let mut docs = Vec::new();
    files_under(
        &shared.join(format!("spec/examples/checkup/{CHECKUP}")),
        "",
        &mut docs,
    );
    let mut xsd = Vec::new();
    files_under(&shared.join("reference/xsd/2018"), "XSD/", &mut xsd);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{CHECKUP}.zip"));
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    let opts = SimpleFileOptions::default();
    for d in [
        format!("{CHECKUP}/"),
        format!("{CHECKUP}/DATA/"),
        format!("{CHECKUP}/CLAIMS/"),
        format!("{CHECKUP}/XSD/"),
        format!("{CHECKUP}/XSD/coreschemas/"),
    ] {
        z.add_directory(d, opts).expect("dir");
    }
    for (name, bytes) in docs.iter() {
        z.start_file(format!("{CHECKUP}/{name}"), opts)
            .expect("start");
        z.write_all(&crlf(bytes)).expect("write");
    }
    for (name, bytes) in xsd.iter() {
        z.start_file(format!("{CHECKUP}/{name}"), opts)
            .expect("start");
        z.write_all(bytes).expect("write");
    }
    z.finish().expect("finish");

    let out = Command::new(env!("CARGO_BIN_EXE_daiko"))
        .args([
            "check",
            "--format",
            "json",
            "--agency",
            "99000010",
            "--reception-date",
            "2023-06-21",
        ])
        .arg(&path)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(v["verdict"], "accepted", "{v}");
    let noisy: Vec<_> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] != "info")
        // The hand-written example judges メタボ 1 (基準該当) with only one risk (BP 136/87;
        // FPG 108 < 110, HbA1c 5.9 < 6.0, TG 132, HDL 48): daiko rightly warns (M-14).
        .filter(|f| f["code"] != "M-14")
        .collect();
    assert!(
        noisy.is_empty(),
        "a clean producer archive should raise no errors or warnings: {noisy:?}"
    );
    assert_eq!(out.status.code(), Some(0));
}

// ---------------------------------------------------------------------------------------
// A raw ZIP writer for producer styles.

/// How the container is written.
#[derive(Clone, Copy, Default)]
struct Style {
    /// Method 0 instead of deflate.
    stored: bool,
    /// General-purpose flag bit 3: CRC and sizes 0 in the local header, a data descriptor
    /// after the data (`Some(true)` with its optional `PK\x07\x08` signature).
    descriptor: Option<bool>,
    /// Zip64 extended information (0x0001) in local and central headers, sizes 0xFFFFFFFF.
    zip64: bool,
    /// A Zip64 end of central directory record and locator before the classic one.
    zip64_end: bool,
}

/// One entry: the name bytes exactly as stored, and the content (a name ending in `/`
/// is a directory entry).
struct Item {
    name: Vec<u8>,
    data: Vec<u8>,
}

fn item(name: impl Into<String>, data: impl Into<Vec<u8>>) -> Item {
    Item {
        name: name.into().into_bytes(),
        data: data.into(),
    }
}

/// Raw deflate of `data` and its CRC-32, taken from a one-entry archive of the zip crate.
fn deflate(data: &[u8]) -> (Vec<u8>, u32) {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file(
        "x",
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
    )
    .expect("start");
    z.write_all(data).expect("write");
    let bytes = z.finish().expect("finish").into_inner();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("reopen");
    let mut raw = archive.by_index_raw(0).expect("raw");
    let crc = raw.crc32();
    let mut compressed = Vec::new();
    raw.read_to_end(&mut compressed).expect("read raw");
    (compressed, crc)
}

fn write_zip(path: &Path, items: &[Item], style: Style) {
    let mut out: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    let (time, date) = (0x4800u16, 0x56D4u16); // 2023-06-20 09:00
    for it in items {
        let is_dir = it.name.ends_with(b"/");
        let (method, body, crc) = if is_dir || it.data.is_empty() {
            (0u16, Vec::new(), 0u32)
        } else if style.stored {
            (0, it.data.clone(), crc32(&it.data))
        } else {
            let (body, crc) = deflate(&it.data);
            (8, body, crc)
        };
        let (csize, usize_) = (body.len() as u64, it.data.len() as u64);
        let flags: u16 = if style.descriptor.is_some() && !is_dir {
            0x0008
        } else {
            0
        };
        let needed: u16 = if style.zip64 { 45 } else { 20 };
        let offset = out.len() as u32;
        // Local header.
        let zip64_local: Vec<u8> = if style.zip64 {
            let (u, c) = if flags & 8 != 0 {
                (0, 0)
            } else {
                (usize_, csize)
            };
            [
                &1u16.to_le_bytes()[..],
                &16u16.to_le_bytes(),
                &u.to_le_bytes(),
                &c.to_le_bytes(),
            ]
            .concat()
        } else {
            Vec::new()
        };
        out.extend(0x04034b50u32.to_le_bytes());
        out.extend(needed.to_le_bytes());
        out.extend(flags.to_le_bytes());
        out.extend(method.to_le_bytes());
        out.extend(time.to_le_bytes());
        out.extend(date.to_le_bytes());
        if flags & 8 != 0 {
            out.extend([0u8; 4]);
            let size = if style.zip64 { u32::MAX } else { 0 };
            out.extend(size.to_le_bytes());
            out.extend(size.to_le_bytes());
        } else {
            out.extend(crc.to_le_bytes());
            let (c, u) = if style.zip64 {
                (u32::MAX, u32::MAX)
            } else {
                (csize as u32, usize_ as u32)
            };
            out.extend(c.to_le_bytes());
            out.extend(u.to_le_bytes());
        }
        out.extend((it.name.len() as u16).to_le_bytes());
        out.extend((zip64_local.len() as u16).to_le_bytes());
        out.extend(&it.name);
        out.extend(&zip64_local);
        out.extend(&body);
        if flags & 8 != 0 {
            if style.descriptor == Some(true) {
                out.extend(0x08074b50u32.to_le_bytes());
            }
            out.extend(crc.to_le_bytes());
            if style.zip64 {
                out.extend(csize.to_le_bytes());
                out.extend(usize_.to_le_bytes());
            } else {
                out.extend((csize as u32).to_le_bytes());
                out.extend((usize_ as u32).to_le_bytes());
            }
        }
        // Central header.
        let zip64_central: Vec<u8> = if style.zip64 {
            [
                &1u16.to_le_bytes()[..],
                &16u16.to_le_bytes(),
                &usize_.to_le_bytes(),
                &csize.to_le_bytes(),
            ]
            .concat()
        } else {
            Vec::new()
        };
        central.extend(0x02014b50u32.to_le_bytes());
        central.extend(0x031Eu16.to_le_bytes()); // made by: UNIX, 3.0
        central.extend(needed.to_le_bytes());
        central.extend(flags.to_le_bytes());
        central.extend(method.to_le_bytes());
        central.extend(time.to_le_bytes());
        central.extend(date.to_le_bytes());
        central.extend(crc.to_le_bytes());
        let (c, u) = if style.zip64 {
            (u32::MAX, u32::MAX)
        } else {
            (csize as u32, usize_ as u32)
        };
        central.extend(c.to_le_bytes());
        central.extend(u.to_le_bytes());
        central.extend((it.name.len() as u16).to_le_bytes());
        central.extend((zip64_central.len() as u16).to_le_bytes());
        central.extend(0u16.to_le_bytes()); // comment
        central.extend(0u16.to_le_bytes()); // disk
        central.extend(0u16.to_le_bytes()); // internal attributes
        let external: u32 = if is_dir {
            (0o40755 << 16) | 0x10
        } else {
            0o100644 << 16
        };
        central.extend(external.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(&it.name);
        central.extend(&zip64_central);
    }
    let cd_offset = out.len() as u64;
    let cd_size = central.len() as u64;
    out.extend(&central);
    let count = items.len() as u64;
    if style.zip64_end {
        let record_at = out.len() as u64;
        out.extend(0x06064b50u32.to_le_bytes());
        out.extend(44u64.to_le_bytes());
        out.extend(0x031Eu16.to_le_bytes());
        out.extend(45u16.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(cd_size.to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(0x07064b50u32.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(record_at.to_le_bytes());
        out.extend(1u32.to_le_bytes());
    }
    out.extend(0x06054b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    let c16 = if style.zip64_end {
        u16::MAX
    } else {
        count as u16
    };
    out.extend(c16.to_le_bytes());
    out.extend(c16.to_le_bytes());
    let (s32, o32) = if style.zip64_end {
        (u32::MAX, u32::MAX)
    } else {
        (cd_size as u32, cd_offset as u32)
    };
    out.extend(s32.to_le_bytes());
    out.extend(o32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    std::fs::write(path, out).expect("write zip");
}

/// CRC-32 (IEEE), the checksum ZIP uses.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ---------------------------------------------------------------------------------------
// Text transformations a producer's XML writer makes.

/// Applies `f` to every start and end tag (`<…>`, not comments, processing instructions
/// or the declaration); everything else is copied. Quotes inside tags are respected.
fn map_tags(text: &str, mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end_marker = if rest.starts_with("<!--") {
            Some("-->")
        } else if rest.starts_with("<?") {
            Some("?>")
        } else {
            None
        };
        if let Some(marker) = end_marker {
            let end = rest.find(marker).expect("closed") + marker.len();
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let mut quote: Option<char> = None;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&f(&rest[..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn text_map(bytes: &[u8], f: impl Fn(&str) -> String) -> Vec<u8> {
    f(std::str::from_utf8(bytes).expect("utf-8")).into_bytes()
}

/// Element names in the document whose default namespace is `ns` get `prefix:`; the
/// default declaration becomes a prefixed one; `xsi:type` values get the prefix when
/// `qualify_types` (an unqualified `PQ` would name a type in no namespace).
fn prefixed(bytes: &[u8], ns: &str, prefix: &str, qualify_types: bool) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let default = format!("xmlns=\"{ns}\"");
    if !text.contains(&default) {
        return bytes.to_vec();
    }
    map_tags(text, |tag| {
        let (open, name_at) = if tag.starts_with("</") {
            ("</", 2)
        } else {
            ("<", 1)
        };
        let mut t = format!("{open}{prefix}:{}", &tag[name_at..]);
        t = t.replace(&default, &format!("xmlns:{prefix}=\"{ns}\""));
        if qualify_types {
            t = qualify_type(&t, prefix);
        }
        t
    })
    .into_bytes()
}

fn qualify_type(tag: &str, prefix: &str) -> String {
    match tag.find("xsi:type=\"") {
        Some(at) => {
            let at = at + "xsi:type=\"".len();
            format!("{}{prefix}:{}", &tag[..at], &tag[at..])
        }
        None => tag.to_owned(),
    }
}

fn single_quoted(bytes: &[u8]) -> Vec<u8> {
    text_map(bytes, |t| {
        map_tags(t, |tag| {
            if tag.contains('\'') {
                tag.to_owned()
            } else {
                tag.replace('"', "'")
            }
        })
    })
}

/// Tabs for indentation, attributes on their own lines, blanks before `/>` and `>`.
fn layout_whitespace(bytes: &[u8]) -> Vec<u8> {
    text_map(bytes, |t| {
        let t = map_tags(t, |tag| {
            let body = tag.replace("\" ", "\"\n\t\t");
            match body.strip_suffix("/>") {
                Some(b) => format!("{b} \t/>"),
                None => match body.strip_suffix('>') {
                    Some(b) if !b.starts_with("</") => format!("{b}\t>"),
                    _ => body,
                },
            }
        });
        t.replace("\n  ", "\n\t")
    })
}

fn without_declaration(bytes: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    match text.strip_prefix("<?xml") {
        Some(rest) => {
            let end = rest.find("?>").expect("declaration end") + 2;
            rest[end..].trim_start().as_bytes().to_vec()
        }
        None => bytes.to_vec(),
    }
}

fn without_schema_location(bytes: &[u8]) -> Vec<u8> {
    text_map(bytes, |t| {
        map_tags(t, |tag| match tag.find("xsi:schemaLocation=\"") {
            Some(at) => {
                let value = at + "xsi:schemaLocation=\"".len();
                let end = value + tag[value..].find('"').expect("quote") + 1;
                let start = tag[..at].trim_end().len();
                format!("{}{}", &tag[..start], &tag[end..])
            }
            None => tag.to_owned(),
        })
    })
}

/// Integer totals written with leading zeros (xs:integer / xs:nonNegativeInteger allow them).
fn padded_totals(bytes: &[u8]) -> Vec<u8> {
    const TOTALS: [&str; 8] = [
        "unitAmount",
        "paymentAmount",
        "claimAmount",
        "calculatedAmount",
        "totalCostAmount",
        "totalPaymentAmount",
        "totalClaimAmount",
        "totalSubjectCount",
    ];
    text_map(bytes, |t| {
        map_tags(t, |tag| {
            let name = tag
                .trim_start_matches('<')
                .split([' ', '/', '>', '\n', '\t'])
                .next()
                .unwrap_or("");
            let local = name.rsplit(':').next().unwrap_or(name);
            if !TOTALS.contains(&local) {
                return tag.to_owned();
            }
            match tag.find(" value=\"") {
                Some(at) => {
                    let v = at + " value=\"".len();
                    let end = v + tag[v..].find('"').expect("quote");
                    format!("{}{:0>9}{}", &tag[..v], &tag[v..end], &tag[end..])
                }
                None => tag.to_owned(),
            }
        })
    })
}

/// Blanks around the integer `value`s of the index, summary and claims: their XSD type
/// (`xs:integer` amounts and counts) collapses white space, so xmllint reads ` 8700 ` as
/// 8700. (Codes, `xs:token`, collapse too: [`blanks_around_codes`].)
fn blanks_around_collapsed_values(bytes: &[u8]) -> Vec<u8> {
    const INTEGERS: [&str; 14] = [
        "unitAmount",
        "paymentAmount",
        "claimAmount",
        "calculatedAmount",
        "paymentByOtherProgram",
        "totalCostAmount",
        "totalPaymentAmount",
        "totalPaymentByOtherProgram",
        "totalClaimAmount",
        "totalSubjectCount",
        "totalRecordCount",
        "pointCountCompleted",
        "pointCountIntended",
        "paymentRate",
    ];
    text_map(bytes, |t| {
        if t.contains(NS_CDA) {
            return t.to_owned();
        }
        map_tags(t, |tag| {
            let name = tag
                .trim_start_matches('<')
                .split([' ', '/', '>', '\n', '\t'])
                .next()
                .unwrap_or("");
            let mut tag = tag.to_owned();
            let mut blank = |attribute: &str| {
                let key = format!(" {attribute}=\"");
                if let Some(at) = tag.find(&key) {
                    let v = at + key.len();
                    let end = v + tag[v..].find('"').expect("quote");
                    tag = format!("{} {} {}", &tag[..v], &tag[v..end], &tag[end..]);
                }
            };
            if INTEGERS.contains(&name) {
                blank("value");
            }
            tag
        })
    })
}

/// Blanks (a space and a tab character reference) around every code of the index, summary
/// and claims: `@code`, `@currency` and `@unit` are `codedSimpleValue`, a restriction of
/// `xs:token` (co08_V08.xsd), whose white space collapses, so xmllint reads `" 1&#9;"`
/// as `1`. The CDAs are left alone (their codes are the CDA reader's).
fn blanks_around_codes(bytes: &[u8]) -> Vec<u8> {
    text_map(bytes, |t| {
        if t.contains(NS_CDA) {
            return t.to_owned();
        }
        map_tags(t, |tag| blanks_around(tag, &["code", "currency", "unit"]))
    })
}

/// Blanks (a space and a tab character reference) around the CDA values whose HL7 type
/// collapses white space (datatypes-base_hcgv08.xsd): every `@code` (`cs`, an `xs:token`:
/// document, section, gender, function, item, interpretation and method codes, CD/CO
/// values), PQ `@value` (`real`, a union of `xs:decimal` and `xs:double`) and `@unit`
/// (`cs`), INT `@value` (`xs:integer`), and the reference range's `low`/`high`. Left as
/// written: timestamps (`ts`, an `xs:string` pattern: `effectiveTime`, `time`,
/// `birthTime`, the voucher's `time/high`), `@codeSystem` (`uid`), `@displayName` (`st`).
fn blanks_around_cda_values(bytes: &[u8]) -> Vec<u8> {
    text_map(bytes, |t| {
        if !t.contains(NS_CDA) {
            return t.to_owned();
        }
        let mut in_range = false;
        map_tags(t, |tag| {
            let name = tag
                .trim_start_matches('<')
                .split([' ', '/', '>', '\n', '\t', '\r'])
                .next()
                .unwrap_or("");
            let local = name.rsplit(':').next().unwrap_or(name);
            if local == "referenceRange" {
                in_range = !tag.starts_with("</");
            }
            if tag.starts_with("</") {
                return tag.to_owned();
            }
            let xsi_type = tag
                .find("type=\"")
                .map(|at| &tag[at + 6..])
                .and_then(|r| r.split('"').next())
                .map(|ty| ty.rsplit(':').next().unwrap_or(ty))
                .unwrap_or("");
            let attributes: &[&str] = match local {
                "value" if matches!(xsi_type, "PQ" | "INT") => &["value", "unit"],
                "low" | "high" if in_range => &["value", "unit"],
                "value" if !matches!(xsi_type, "CD" | "CO") => &[],
                "effectiveTime" | "time" | "birthTime" | "low" | "high" => &[],
                _ => &["code"],
            };
            blanks_around(tag, attributes)
        })
    })
}

/// `tag` with a space before and a tab reference after the value of each named attribute.
fn blanks_around(tag: &str, attributes: &[&str]) -> String {
    let mut tag = tag.to_owned();
    for attribute in attributes {
        let key = format!(" {attribute}=\"");
        if let Some(at) = tag.find(&key) {
            let v = at + key.len();
            let end = v + tag[v..].find('"').expect("quote");
            tag = format!("{} {}&#9;{}", &tag[..v], &tag[v..end], &tag[end..]);
        }
    }
    tag
}

/// The 6-digit window amounts (`chargeType*/amount`, `paymentFor*/amount`) without padding.
fn unpadded_amounts(bytes: &[u8]) -> Vec<u8> {
    text_map(bytes, |t| {
        if !t.contains("checkupClaim") {
            return t.to_owned();
        }
        map_tags(t, |tag| match tag.strip_prefix("<amount value=\"") {
            Some(rest) => {
                let end = rest.find('"').expect("quote");
                let digits = rest[..end].trim_start_matches('0');
                let digits = if digits.is_empty() { "0" } else { digits };
                format!("<amount value=\"{digits}{}", &rest[end..])
            }
            None => tag.to_owned(),
        })
    })
}

// ---------------------------------------------------------------------------------------
// Running the binary.

struct Verdict {
    verdict: String,
    exit: Option<i32>,
    /// Codes of the findings above info, with their severity.
    codes: BTreeSet<String>,
    errors: BTreeSet<String>,
    report: String,
}

fn check(path: &Path, reception: &str, agency: &str) -> Verdict {
    let out = Command::new(env!("CARGO_BIN_EXE_daiko"))
        .args(["check", "--format", "json", "--agency", agency])
        .args(["--reception-date", reception])
        .arg(path)
        .output()
        .expect("run daiko check");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: no JSON report ({e}); exit {:?}, stderr {}",
            path.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut codes = BTreeSet::new();
    let mut errors = BTreeSet::new();
    let mut report = String::new();
    for f in v["findings"].as_array().expect("findings") {
        if f["severity"] == "info" {
            continue;
        }
        let code = f["code"].as_str().expect("code").to_owned();
        if f["severity"] == "error" {
            errors.insert(code.clone());
        }
        report.push_str(&format!(
            "\n  {} {} {} {} {}",
            code, f["severity"], f["file"], f["location"], f["message_en"]
        ));
        codes.insert(code);
    }
    Verdict {
        verdict: v["verdict"].as_str().unwrap_or("?").to_owned(),
        exit: out.status.code(),
        codes,
        errors,
        report,
    }
}

/// One source of documents: the top folder, the files below it, the reception date and
/// agency to check with, and the warnings its content raises whatever the packing.
struct Source {
    label: &'static str,
    base: String,
    files: Vec<(String, Vec<u8>)>,
    reception: String,
    agency: String,
    /// Codes every packing of this source gets (the example's own M-14).
    own: &'static [&'static str],
    /// The folder of its generation's official XSD set in ../shared/reference/xsd.
    xsd: &'static str,
}

fn example(shared: &Path, kind: &str, base: &str, reception: &str) -> Source {
    let mut files = Vec::new();
    files_under(
        &shared.join(format!("spec/examples/{kind}/{base}")),
        "",
        &mut files,
    );
    Source {
        label: if kind == "checkup" {
            "example checkup"
        } else {
            "example guidance"
        },
        base: base.to_owned(),
        files,
        reception: reception.to_owned(),
        agency: "99000010".to_owned(),
        // The checkup example judges メタボ 1 with one risk: daiko rightly warns (M-14).
        own: if kind == "checkup" { &["M-14"] } else { &[] },
        xsd: "2018",
    }
}

/// FY2024 (第4期, 2024 namespace) archives from daiko's generator, unpacked to files.
fn generated_2024(dir: &Path) -> Vec<Source> {
    let out = dir.join("sample2024");
    let status = Command::new(env!("CARGO_BIN_EXE_daiko"))
        .args([
            "sample",
            "--period",
            "2024",
            "--records",
            "2",
            "--guidance",
            "1",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run daiko sample");
    assert!(status.status.success(), "daiko sample failed: {status:?}");
    let mut zips: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("sample dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    zips.sort();
    assert_eq!(zips.len(), 2, "{zips:?}");
    zips.iter()
        .map(|zip_path| {
            let base = zip_path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let mut archive =
                zip::ZipArchive::new(std::fs::File::open(zip_path).expect("open")).expect("zip");
            let mut files = Vec::new();
            for i in 0..archive.len() {
                let mut f = archive.by_index(i).expect("entry");
                let name = String::from_utf8_lossy(f.name_raw()).into_owned();
                let rel = name
                    .strip_prefix(&format!("{base}/"))
                    .expect("under the top folder")
                    .to_owned();
                let mut bytes = Vec::new();
                f.read_to_end(&mut bytes).expect("read");
                files.push((rel, bytes));
            }
            let parts: Vec<&str> = base.split('_').collect();
            Source {
                label: if base.ends_with("_1") {
                    "generated 2024 checkup"
                } else {
                    "generated 2024 guidance"
                },
                reception: parts[2][..8].to_owned(),
                agency: parts[1].to_owned(),
                base,
                files,
                own: &[],
                xsd: "2024",
            }
        })
        .collect()
}

/// The files below the top folder (path, bytes).
type Files = [(String, Vec<u8>)];
/// The entries a case stores, given the top folder and the files.
type Layout = Box<dyn Fn(&str, &Files) -> Vec<Item>>;
/// A rewrite of one file (path below the top folder, bytes).
type Rewrite = fn(&str, &[u8]) -> Vec<u8>;
/// A rewrite of a document's text.
type TextEdit = fn(&str) -> String;

/// How a case packs a source.
struct Packing {
    name: &'static str,
    /// Entries as stored (full names), given the base and the files below it.
    items: Layout,
    style: Style,
}

fn standard(base: &str, files: &Files) -> Vec<Item> {
    files
        .iter()
        .map(|(n, b)| item(format!("{base}/{n}"), b.clone()))
        .collect()
}

fn transformed(f: fn(&[u8]) -> Vec<u8>) -> Layout {
    Box::new(move |base, files| {
        files
            .iter()
            .map(|(n, b)| {
                let bytes = if n.ends_with(".xml") { f(b) } else { b.clone() };
                item(format!("{base}/{n}"), bytes)
            })
            .collect()
    })
}

fn packing(name: &'static str, items: Layout) -> Packing {
    Packing {
        name,
        items,
        style: Style::default(),
    }
}

fn styled(name: &'static str, style: Style) -> Packing {
    Packing {
        name,
        items: Box::new(standard),
        style,
    }
}

/// The packings every source must pass through unharmed: each is a way real producers
/// write valid archives.
fn valid_packings() -> Vec<Packing> {
    vec![
        // FORMAT.md §2.1: files only, no directory entries needed [ORCA].
        styled("deflate, files only", Style::default()),
        // APPNOTE 4.3.9: Java ZipOutputStream / streaming writers set flag bit 3, write
        // CRC and sizes as 0 in the local header and a data descriptor after the data.
        styled(
            "data descriptors with signature (Java ZipOutputStream)",
            Style {
                descriptor: Some(true),
                ..Style::default()
            },
        ),
        styled(
            "data descriptors without signature",
            Style {
                descriptor: Some(false),
                ..Style::default()
            },
        ),
        styled(
            "stored (uncompressed) entries",
            Style {
                stored: true,
                ..Style::default()
            },
        ),
        styled(
            "stored entries with data descriptors",
            Style {
                stored: true,
                descriptor: Some(true),
                ..Style::default()
            },
        ),
        // APPNOTE 4.5.3: Zip64 extra fields are legal on small entries (Info-ZIP -fz,
        // .NET, streaming writers that do not know the size beforehand).
        styled(
            "Zip64 extra fields and end record on a small archive",
            Style {
                zip64: true,
                zip64_end: true,
                ..Style::default()
            },
        ),
        styled(
            "Zip64 with data descriptors (streaming Zip64)",
            Style {
                zip64: true,
                descriptor: Some(true),
                ..Style::default()
            },
        ),
        // FORMAT.md §2.1 gives the tree, not an order: CLAIMS first, index last.
        packing(
            "CLAIMS before DATA, index last, directory entries after their files",
            Box::new(|base, files| {
                let rank = |n: &str| match n {
                    _ if n.starts_with("CLAIMS/") => 0,
                    _ if n.starts_with("DATA/") => 1,
                    "su08_V08.xml" => 2,
                    _ => 3,
                };
                let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
                sorted.sort_by_key(|(n, _)| rank(n));
                let mut items: Vec<Item> = sorted
                    .iter()
                    .map(|(n, b)| item(format!("{base}/{n}"), b.clone()))
                    .collect();
                for d in ["CLAIMS/", "DATA/", ""] {
                    items.push(item(format!("{base}/{d}"), Vec::new()));
                }
                items
            }),
        ),
        // Windows PowerShell 5.1 Compress-Archive and .NET Framework < 4.6.1 store `\`
        // separators (against APPNOTE 4.4.17); Explorer, 7-Zip and Info-ZIP unzip all read
        // them as folders, so the archive extracts to the FORMAT.md §2.1 tree (A-01 passes).
        packing(
            "backslash separators, no directory entries (Windows tools)",
            Box::new(|base, files| {
                files
                    .iter()
                    .map(|(n, b)| item(format!("{base}\\{}", n.replace('/', "\\")), b.clone()))
                    .collect()
            }),
        ),
        // XML 1.0 §4.3.3 / §2.8: a UTF-8 BOM, no declaration (UTF-8 is the default) are
        // UTF-8 (FORMAT.md §2.3, A-10 asks for UTF-8 only).
        packing(
            "UTF-8 BOM before the declaration (.NET, Notepad)",
            transformed(|b| [&b"\xEF\xBB\xBF"[..], b].concat()),
        ),
        packing("no XML declaration", transformed(without_declaration)),
        packing("CRLF line ends and standalone=\"yes\"", transformed(crlf)),
        packing("single-quoted attributes", transformed(single_quoted)),
        packing(
            "tabs, attributes on separate lines, blanks before > and />",
            transformed(layout_whitespace),
        ),
        // FORMAT.md §1: elements are qualified by namespace; the prefix is the producer's.
        packing(
            "CDA elements with the hl7: prefix",
            transformed(|b| prefixed(b, NS_CDA, "hl7", true)),
        ),
        packing(
            "CDA elements with the v3: prefix",
            transformed(|b| prefixed(b, NS_CDA, "v3", true)),
        ),
        packing(
            "CDA default namespace with qualified xsi:type values (v3:PQ)",
            transformed(|b| {
                text_map(b, |t| {
                    if !t.contains("xmlns=\"urn:hl7-org:v3\"") {
                        return t.to_owned();
                    }
                    map_tags(t, |tag| {
                        qualify_type(
                            &tag.replace(
                                "xmlns=\"urn:hl7-org:v3\"",
                                "xmlns=\"urn:hl7-org:v3\" xmlns:v3=\"urn:hl7-org:v3\"",
                            ),
                            "v3",
                        )
                    })
                })
            }),
        ),
        packing(
            "index, summary and claims with a prefix (2018 namespace)",
            transformed(|b| prefixed(b, NS_2018, "tk", false)),
        ),
        packing(
            "index, summary and claims with a prefix (2024 namespace)",
            transformed(|b| prefixed(b, NS_2024, "mhlw", false)),
        ),
        packing(
            "another prefix for the XML Schema instance namespace",
            transformed(|b| {
                text_map(b, |t| {
                    t.replace("xmlns:xsi=", "xmlns:i=").replace("xsi:", "i:")
                })
            }),
        ),
        // FORMAT.md §2.1: the schemaLocation hint is optional and never trusted.
        packing(
            "no xsi:schemaLocation",
            transformed(without_schema_location),
        ),
        // CHECKS.md C-14: only the window amounts are 6-digit strings; the totals are
        // integers (FORMAT.md §8), where leading zeros are legal.
        packing(
            "integer totals with leading zeros",
            transformed(padded_totals),
        ),
        // XSD Part 2 §4.3.6: xs:integer collapses white space.
        packing(
            "blanks around integer values (index, summary, claims)",
            transformed(blanks_around_collapsed_values),
        ),
        // XSD Part 2 §4.3.6: xs:token collapses white space (every code of co08_V08.xsd).
        packing(
            "blanks around codes (index, summary, claims)",
            transformed(blanks_around_codes),
        ),
        // XSD Part 2 §4.3.6: cs (xs:token), real and int collapse (datatypes-base_hcgv08.xsd).
        packing(
            "blanks around CDA codes, quantities and integers",
            transformed(blanks_around_cda_values),
        ),
    ]
}

fn pack(dir: &Path, source: &Source, packing: &Packing, index: usize) -> PathBuf {
    let folder = dir.join(format!("case{index}"));
    std::fs::create_dir_all(&folder).expect("case dir");
    let path = folder.join(format!("{}.zip", source.base));
    write_zip(
        &path,
        &(packing.items)(&source.base, &source.files),
        packing.style,
    );
    path
}

/// Asserts the verdict and the exact set of codes above info (`expected` plus the
/// source's own warnings, plus A-07 when the case ships no XSD folder).
fn expect(case: &str, v: &Verdict, verdict: &str, expected: &[&str], source: &Source, xsd: bool) {
    let accepted = verdict == "accepted";
    let mut want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    if accepted {
        // A rejected archive or a returned pair may stop before the stage that raises
        // them: rejected cases name every code they expect.
        want.extend(source.own.iter().map(|s| s.to_string()));
    }
    if !xsd {
        // CHECKS.md A-07: W when the XSD folder is missing.
        want.insert("A-07".to_owned());
    }
    assert_eq!(
        v.verdict, verdict,
        "{} / {case}: verdict{}",
        source.label, v.report
    );
    assert_eq!(
        v.codes, want,
        "{} / {case}: codes above info{}",
        source.label, v.report
    );
    if accepted {
        assert!(v.errors.is_empty(), "{} / {case}{}", source.label, v.report);
        assert_eq!(v.exit, Some(0), "{} / {case}", source.label);
    } else {
        assert_ne!(v.exit, Some(0), "{} / {case}", source.label);
    }
}

fn sources(shared: &Path, dir: &Path) -> Vec<Source> {
    let mut all = vec![
        example(shared, "checkup", CHECKUP, "20230621"),
        example(shared, "guidance", GUIDANCE, "20230811"),
    ];
    all.extend(generated_2024(dir));
    all
}

#[test]
fn shared_example_zips_are_accepted_as_they_are() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    for (kind, base, reception) in [
        ("checkup", CHECKUP, "20230621"),
        ("guidance", GUIDANCE, "20230811"),
    ] {
        let path = shared.join(format!("spec/examples/{kind}/{base}.zip"));
        let v = check(&path, reception, "99000010");
        let source = example(&shared, kind, base, reception);
        expect("the shared zip", &v, "accepted", &[], &source, false);
    }
}

#[test]
fn valid_producer_packings_are_accepted_without_findings() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    for source in sources(&shared, dir.path()) {
        for p in valid_packings() {
            n += 1;
            let path = pack(dir.path(), &source, &p, n);
            let v = check(&path, &source.reception, &source.agency);
            expect(p.name, &v, "accepted", &[], &source, false);
        }
    }
}

#[test]
fn producer_content_spellings_are_accepted() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = [
        example(&shared, "checkup", CHECKUP, "20230621"),
        example(&shared, "guidance", GUIDANCE, "20230811"),
    ];
    // Values spelled differently but equal after XML parsing; applied to every file, so
    // pairs still agree (CHECKS.md P-04 compares values, not spellings).
    let cases: Vec<(&'static str, TextEdit)> = vec![
        (
            "numeric character references in the name, &amp; in addresses and names",
            |t: &str| {
                t.replace("ミホンタロウ", "&#x30DF;&#12507;ンタロウ")
                    .replace("見本市", "見本&amp;市")
                    .replace("見本健診", "見本&#38;健診")
            },
        ),
        // FORMAT.md §2.3: full-width katakana is what ORCA writes; no CHECKS.md row
        // rejects half-width kana (H-05 asks for a name, "katakana in practice").
        ("half-width kana name", |t: &str| {
            t.replace("ミホンタロウ", "ﾐﾎﾝﾀﾛｳ")
        }),
    ];
    let mut n = 100;
    for source in &sources {
        for &(name, f) in &cases {
            n += 1;
            let p = Packing {
                name,
                items: Box::new(move |base, files| {
                    files
                        .iter()
                        .map(|(n, b)| {
                            let t = std::str::from_utf8(b).expect("utf-8");
                            item(format!("{base}/{n}"), f(t).into_bytes())
                        })
                        .collect()
                }),
                style: Style::default(),
            };
            let path = pack(dir.path(), source, &p, n);
            let v = check(&path, &source.reception, &source.agency);
            expect(name, &v, "accepted", &[], source, false);
        }
    }
}

#[test]
fn archive_noise_from_desktop_systems_is_judged_by_the_catalogue() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 200;
    for source in sources(&shared, dir.path()) {
        let base = source.base.clone();
        let with = |extra: Vec<(String, Vec<u8>)>| {
            let files = source.files.clone();
            Box::new(move |b: &str, _: &Files| {
                let mut items: Vec<Item> = files
                    .iter()
                    .map(|(n, bytes)| item(format!("{b}/{n}"), bytes.clone()))
                    .collect();
                items.extend(
                    extra
                        .iter()
                        .map(|(n, bytes)| item(n.clone(), bytes.clone())),
                );
                items
            }) as Layout
        };
        let mut xsd = Vec::new();
        files_under(
            &shared.join("reference/xsd").join(source.xsd),
            "XSD/",
            &mut xsd,
        );
        let cases: Vec<(&str, Packing, &str, &[&str], bool)> = vec![
            // CHECKS.md A-06 "no other files — AR (unknown files: W)": stray files inside
            // the top folder only warn.
            (
                ".DS_Store in the top folder (macOS Finder)",
                packing(
                    "",
                    with(vec![(
                        format!("{base}/.DS_Store"),
                        b"\0\0\0\x01Bud1".to_vec(),
                    )]),
                ),
                "accepted",
                &["A-06"],
                false,
            ),
            (
                "Thumbs.db in DATA (Windows Explorer)",
                packing(
                    "",
                    with(vec![(
                        format!("{base}/DATA/Thumbs.db"),
                        b"\xD0\xCF\x11\xE0".to_vec(),
                    )]),
                ),
                "accepted",
                &["A-06"],
                false,
            ),
            // CHECKS.md A-07: the producer's XSD folder is tolerated and never used; with
            // the official set of the archive's generation, no A-07.
            (
                "XSD folder with coreschemas (ORCA)",
                packing(
                    "",
                    with(
                        xsd.iter()
                            .map(|(n, b)| (format!("{base}/{n}"), b.clone()))
                            .collect(),
                    ),
                ),
                "accepted",
                &[],
                true,
            ),
            // CHECKS.md A-03 "exactly one top folder" (AR): Finder's "Compress" adds a
            // second top folder `__MACOSX/` of AppleDouble files; those files are also
            // unknown files (A-06, W). Nothing else is reported: the real top folder is read.
            (
                "__MACOSX/ beside the top folder (macOS Finder)",
                packing(
                    "",
                    with(vec![
                        (
                            format!("__MACOSX/{base}/._ix08_V08.xml"),
                            b"\0\x05\x16\x07".to_vec(),
                        ),
                        (
                            format!("__MACOSX/{base}/DATA/._x.xml"),
                            b"\0\x05\x16\x07".to_vec(),
                        ),
                    ]),
                ),
                "rejected",
                &["A-03", "A-06"],
                false,
            ),
            // CHECKS.md A-03: the top folder must be named like the archive (AR); the
            // files inside are still read, so nothing else is reported.
            (
                "top folder named differently from the zip",
                packing(
                    "",
                    Box::new(|b: &str, files: &Files| {
                        files
                            .iter()
                            .map(|(n, bytes)| item(format!("{b}_copy/{n}"), bytes.clone()))
                            .collect()
                    }),
                ),
                "rejected",
                &["A-03"],
                false,
            ),
            // FORMAT.md §2.3, CHECKS.md A-10: names are ASCII (AR); the stray file is
            // also unknown (A-06, W).
            (
                "a Japanese file name in DATA",
                packing(
                    "",
                    with(vec![(format!("{base}/DATA/メモ.txt"), b"memo".to_vec())]),
                ),
                "rejected",
                &["A-10", "A-06"],
                false,
            ),
            // FORMAT.md §2.1 names the files `ix08_V08.xml`, `DATA/h….xml`: an upper-case
            // extension is another name. A-04 (no index, AR), A-08 (no data and no claim
            // files, AR) and A-06 for each unknown file (W).
            (
                "upper-case .XML extensions",
                packing(
                    "",
                    Box::new(|b: &str, files: &Files| {
                        files
                            .iter()
                            .map(|(n, bytes)| {
                                let n = n
                                    .strip_suffix(".xml")
                                    .map_or(n.clone(), |s| format!("{s}.XML"));
                                item(format!("{b}/{n}"), bytes.clone())
                            })
                            .collect()
                    }),
                ),
                "rejected",
                &["A-04", "A-06", "A-08"],
                false,
            ),
        ];
        for (name, p, verdict, codes, xsd) in cases {
            n += 1;
            let path = pack(dir.path(), &source, &p, n);
            let v = check(&path, &source.reception, &source.agency);
            expect(name, &v, verdict, codes, &source, xsd);
        }
    }
}

/// CHECKS.md A-07 "W if missing/different": a shipped XSD folder is compared with the
/// official V08 set of the archive's generation (line endings and a BOM aside); a
/// difference is one warning for the archive naming what differs.
#[test]
fn shipped_xsd_folders_are_compared_with_the_official_set() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 400;
    for source in sources(&shared, dir.path()) {
        let set = |folder: &str| {
            let mut xsd = Vec::new();
            files_under(&shared.join("reference/xsd").join(folder), "XSD/", &mut xsd);
            xsd
        };
        let own = set(source.xsd);
        let other = set(if source.xsd == "2018" { "2024" } else { "2018" });
        let crlf_copies: Vec<(String, Vec<u8>)> = own
            .iter()
            .map(|(name, bytes)| {
                let text = String::from_utf8_lossy(bytes)
                    .replace("\r\n", "\n")
                    .replace('\n', "\r\n");
                (name.clone(), text.into_bytes())
            })
            .collect();
        let edited: Vec<(String, Vec<u8>)> = own
            .iter()
            .map(|(name, bytes)| {
                let mut bytes = bytes.clone();
                if name == "XSD/hc08_V08.xsd" {
                    bytes.extend_from_slice(b"<!-- edited -->\r\n");
                }
                (name.clone(), bytes)
            })
            .collect();
        let missing: Vec<(String, Vec<u8>)> = own
            .iter()
            .filter(|(name, _)| name != "XSD/coreschemas/voc_hcgv08.xsd")
            .cloned()
            .collect();
        let label = if source.xsd == "2018" {
            "FY2018–FY2023"
        } else {
            "FY2024 onwards"
        };
        // (case, the XSD files shipped, the A-07 message expected).
        type Case<'a> = (&'a str, Vec<(String, Vec<u8>)>, Option<String>);
        let cases: Vec<Case> = vec![
            ("the official set", own.clone(), None),
            ("CRLF copies of the official set", crlf_copies, None),
            (
                "the other generation's set",
                other,
                Some(format!(
                    "official V08 schema set for {label} (changed: XSD/cc08_V08.xsd, XSD/co08_V08.xsd, XSD/gc08_V08.xsd and 2 more)"
                )),
            ),
            (
                "one file edited",
                edited,
                Some(format!(
                    "official V08 schema set for {label} (changed: XSD/hc08_V08.xsd)"
                )),
            ),
            (
                "one file missing",
                missing,
                Some(format!(
                    "official V08 schema set for {label} (missing: XSD/coreschemas/voc_hcgv08.xsd)"
                )),
            ),
        ];
        for (case, xsd, message) in cases {
            n += 1;
            let files = source.files.clone();
            let p = packing(
                "",
                Box::new(move |b: &str, _: &Files| {
                    files
                        .iter()
                        .chain(xsd.iter())
                        .map(|(name, bytes)| item(format!("{b}/{name}"), bytes.clone()))
                        .collect()
                }),
            );
            let path = pack(dir.path(), &source, &p, n);
            let v = check(&path, &source.reception, &source.agency);
            let expected: &[&str] = if message.is_some() { &["A-07"] } else { &[] };
            expect(case, &v, "accepted", expected, &source, true);
            if let Some(message) = message {
                let lines: Vec<&str> = v.report.lines().filter(|l| l.contains("A-07")).collect();
                assert_eq!(
                    lines.len(),
                    1,
                    "{} / {case}: one A-07{}",
                    source.label,
                    v.report
                );
                assert!(
                    lines[0].contains(&message) && lines[0].contains("\"XSD/\""),
                    "{} / {case}: expected `{message}`{}",
                    source.label,
                    v.report
                );
            }
        }
    }
}

#[test]
fn producer_defects_get_the_prescribed_codes() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let checkup = example(&shared, "checkup", CHECKUP, "20230621");
    let guidance = example(&shared, "guidance", GUIDANCE, "20230811");
    let generated = generated_2024(dir.path());
    // A returned pair (FR) leaves the receipt short: S-08 (W) says so.
    let cases: Vec<(&str, &Source, Rewrite, &str, &[&str])> = vec![
        // CHECKS.md C-14 (6-digit window amounts, FR 01), C-12 (a code-2 charge carries a
        // 6-digit amount) and X-02 (the co08 pattern [0-9]{6}).
        (
            "unpadded 6-digit window amounts",
            &checkup,
            |_, b| unpadded_amounts(b),
            "rejected",
            &["C-12", "C-14", "X-02", "S-08", "M-14"],
        ),
        // CHECKS.md decision 1 and X-03: a FY2023 archive (2018 namespace) with a claim of
        // the 2024 namespace.
        (
            "one claim in the 2024 namespace inside a 2018 archive",
            &checkup,
            |n, b| {
                if n.starts_with("CLAIMS/") {
                    text_map(b, |t| t.replace(NS_2018, NS_2024))
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["X-03", "S-08"],
        ),
        (
            "one guidance claim in the 2024 namespace inside a 2018 archive",
            &guidance,
            |n, b| {
                if n.starts_with("CLAIMS/") {
                    text_map(b, |t| t.replace(NS_2018, NS_2024))
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["X-03", "S-08"],
        ),
        (
            "one claim in the 2018 namespace inside a FY2024 archive",
            &generated[0],
            |n, b| {
                if n.ends_with("000001.xml") && n.starts_with("CLAIMS/") {
                    text_map(b, |t| t.replace(NS_2024, NS_2018))
                } else {
                    b.to_vec()
                }
            },
            "partially_accepted",
            &["X-03", "S-08"],
        ),
        // XSD: a prefixed CDA whose xsi:type values stay unqualified names types in no
        // namespace; xmllint rejects every such value (X-02, FR 01).
        (
            "hl7: prefix with unqualified xsi:type values",
            &checkup,
            |_, b| prefixed(b, NS_CDA, "hl7", false),
            "rejected",
            &["X-02", "S-08", "M-14"],
        ),
        // XML 1.0 §2.8: the declaration must open the document; a newline before it is
        // not well-formed (X-01, AR for the index).
        (
            "a newline before the index's XML declaration",
            &checkup,
            |n, b| {
                if n == "ix08_V08.xml" {
                    [&b"\n"[..], b].concat()
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["X-01"],
        ),
        // X-01 for a data file returns its pair (FR 01).
        (
            "NUL padding after the CDA's root element",
            &guidance,
            |n, b| {
                if n.starts_with("DATA/") {
                    [b, &b"\0\0\0\0"[..]].concat()
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["X-01", "S-08"],
        ),
        (
            "a guidance claim written in UTF-16",
            &guidance,
            |n, b| {
                if n.starts_with("CLAIMS/") {
                    let t = std::str::from_utf8(b)
                        .expect("utf-8")
                        .replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
                    let mut out = vec![0xFF, 0xFE];
                    for unit in t.encode_utf16() {
                        out.extend(unit.to_le_bytes());
                    }
                    out
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["A-10"],
        ),
        // FORMAT.md §2.3, CHECKS.md A-10: XML must be UTF-8 (AR).
        (
            "a claim written in Shift_JIS",
            &checkup,
            |n, b| {
                if n.starts_with("CLAIMS/") {
                    let t = std::str::from_utf8(b)
                        .expect("utf-8")
                        .replace("encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"");
                    encoding_rs::SHIFT_JIS.encode(&t).0.into_owned()
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["A-10"],
        ),
        // co08_V08.xsd: 被保険者証等番号 is an xs:string (maxLength 20), which keeps white
        // space: a trailing blank is schema-valid but a different number from the CDA's.
        (
            "a blank after the claim's insurance card number (xs:string)",
            &checkup,
            |n, b| {
                if n.starts_with("CLAIMS/") {
                    text_map(b, |t| {
                        t.replace("extension=\"１２３４５\"", "extension=\"１２３４５ \"")
                    })
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["P-04", "S-08", "M-14"],
        ),
        // co08_V08.xsd: 受診券整理番号 is an xs:string pattern [0-9]{11}; a blank breaks it.
        (
            "a blank after the claim's checkup voucher number (xs:string)",
            &checkup,
            |n, b| {
                if n.starts_with("CLAIMS/") {
                    text_map(b, |t| {
                        t.replace("extension=\"23100000001\"", "extension=\"23100000001 \"")
                    })
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["X-02", "H-09", "P-04", "S-08", "M-14"],
        ),
        // co08_V08.xsd: the index date is an xs:string pattern (YYYYMMDD).
        (
            "a blank before the index's creation date (xs:string)",
            &checkup,
            |n, b| {
                if n == "ix08_V08.xml" {
                    text_map(b, |t| {
                        t.replace("value=\"20230620\"", "value=\" 20230620\"")
                    })
                } else {
                    b.to_vec()
                }
            },
            "rejected",
            &["X-02", "I-02"],
        ),
    ];
    let mut n = 300;
    for (name, source, f, verdict, codes) in cases {
        n += 1;
        let p = Packing {
            name,
            items: Box::new(move |base, files| {
                files
                    .iter()
                    .map(|(n, b)| item(format!("{base}/{n}"), f(n, b)))
                    .collect()
            }),
            style: Style::default(),
        };
        let path = pack(dir.path(), source, &p, n);
        let v = check(&path, &source.reception, &source.agency);
        expect(name, &v, verdict, codes, source, false);
    }
}

#[test]
fn guidance_prefix_letters_are_judged_by_p02() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared not present");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sources = vec![example(&shared, "guidance", GUIDANCE, "20230811")];
    sources.extend(
        generated_2024(dir.path())
            .into_iter()
            .filter(|s| s.base.ends_with("_2")),
    );
    // FORMAT.md §2.1: guidance prefix letters are not confirmed; accept `h` or `g` for
    // DATA and pair on the suffix. CHECKS.md P-02: DATA `h`/`g`, CLAIMS `c` (or `p`, the
    // letter a secondary source gives); `g` is no claim prefix (FR 01).
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        ("g", "c", "accepted", &[]),
        ("g", "p", "accepted", &[]),
        ("h", "p", "accepted", &[]),
        ("g", "g", "rejected", &["P-02", "S-08"]),
    ];
    let mut n = 400;
    for source in &sources {
        for (data, claim, verdict, codes) in cases {
            n += 1;
            let renamed: Vec<(String, Vec<u8>)> = source
                .files
                .iter()
                .map(|(name, bytes)| {
                    let name = if let Some(rest) = name.strip_prefix("DATA/h") {
                        format!("DATA/{data}{rest}")
                    } else if let Some(rest) = name.strip_prefix("CLAIMS/c") {
                        format!("CLAIMS/{claim}{rest}")
                    } else {
                        name.clone()
                    };
                    (name, bytes.clone())
                })
                .collect();
            let p = Packing {
                name: "prefixes",
                items: Box::new(move |base, _| standard(base, &renamed)),
                style: Style::default(),
            };
            let path = pack(dir.path(), source, &p, n);
            let v = check(&path, &source.reception, &source.agency);
            // A generated archive has one guidance person: a returned pair rejects it too.
            expect(
                &format!("DATA/{data}…, CLAIMS/{claim}…"),
                &v,
                verdict,
                codes,
                source,
                false,
            );
        }
    }
}
