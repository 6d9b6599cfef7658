//! Hostile archives through the real `daiko check` process, under a 2 GiB address-space
//! limit (`ulimit -v`): each one is a finding with its code, exit 1, never a crash or hang,
//! and the peak resident memory of every child stays under 256 MB.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use zip::write::SimpleFileOptions;

const BASE: &str = "9910000018_99000010_202306200_1";
const MAX_RSS_BYTES: i64 = 256 * 1024 * 1024;

fn zip_with(dir: &Path, name: &str, entries: &[(&str, Vec<u8>)]) -> PathBuf {
    zip_with_method(dir, name, entries, zip::CompressionMethod::Deflated)
}

fn zip_with_method(
    dir: &Path,
    name: &str,
    entries: &[(&str, Vec<u8>)],
    method: zip::CompressionMethod,
) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create");
    let mut z = zip::ZipWriter::new(file);
    let opts = SimpleFileOptions::default().compression_method(method);
    for (n, bytes) in entries {
        z.start_file(*n, opts).expect("start");
        z.write_all(bytes).expect("write");
    }
    z.finish().expect("finish");
    path
}

/// Runs `daiko check --format json` on `path` under `ulimit -v 2 GiB`; returns (exit code, codes found).
fn check_limited(path: &Path) -> (i32, Vec<String>) {
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" check --format json --agency 99000010 \"$1\"")
        .arg(env!("CARGO_BIN_EXE_daiko"))
        .arg(path)
        .output()
        .expect("run daiko");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{} took {:?}",
        path.display(),
        start.elapsed()
    );
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("{} killed by a signal: {:?}", path.display(), out.status));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: no JSON report ({e}); stderr: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let codes = v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    (code, codes)
}

fn children_max_rss_bytes() -> i64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0);
    usage.ru_maxrss * 1024
}

fn nested_xml(depth: usize) -> Vec<u8> {
    let mut s = String::with_capacity(depth * 7 + 100);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    for _ in 0..depth {
        s.push_str("<a>");
    }
    for _ in 0..depth {
        s.push_str("</a>");
    }
    s.into_bytes()
}

#[test]
fn hostile_archives_are_findings_within_memory_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let top = |p: &str| format!("{BASE}/{p}");
    let billion_laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<index xmlns="http://tokuteikenshin.jp/checkup/2007">&lol3;</index>"#
        .to_vec();
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><index xmlns="http://tokuteikenshin.jp/checkup/2007">&e;</index>"#.to_vec();

    let cases: Vec<(PathBuf, &[&str])> = vec![
        // 1 GiB of zeros deflates to about 1 MB: a classic bomb.
        (
            zip_with(
                d,
                &format!("{BASE}.zip"),
                &[(
                    &top("DATA/h99100000182023062001000001.xml"),
                    vec![0u8; 1 << 30],
                )],
            ),
            &["A-09"],
        ),
        (
            {
                let sub = d.join("slip");
                std::fs::create_dir_all(&sub).expect("mkdir");
                zip_with(
                    &sub,
                    &format!("{BASE}.zip"),
                    &[("../../etc/evil.xml", b"<x/>".to_vec())],
                )
            },
            &["A-09"],
        ),
        (
            {
                let sub = d.join("abs");
                std::fs::create_dir_all(&sub).expect("mkdir");
                zip_with(
                    &sub,
                    &format!("{BASE}.zip"),
                    &[("/etc/evil.xml", b"<x/>".to_vec())],
                )
            },
            &["A-09"],
        ),
        (
            {
                let sub = d.join("laughs");
                std::fs::create_dir_all(&sub).expect("mkdir");
                zip_with(
                    &sub,
                    &format!("{BASE}.zip"),
                    &[(&top("ix08_V08.xml"), billion_laughs)],
                )
            },
            &["X-01"],
        ),
        (
            {
                let sub = d.join("xxe");
                std::fs::create_dir_all(&sub).expect("mkdir");
                zip_with(&sub, &format!("{BASE}.zip"), &[(&top("ix08_V08.xml"), xxe)])
            },
            &["X-01"],
        ),
        (
            {
                let sub = d.join("deep");
                std::fs::create_dir_all(&sub).expect("mkdir");
                // Stored, so the compression-ratio bound (A-09) does not stop it before the parser.
                zip_with_method(
                    &sub,
                    &format!("{BASE}.zip"),
                    &[(&top("ix08_V08.xml"), nested_xml(1_000_000))],
                    zip::CompressionMethod::Stored,
                )
            },
            &["X-01"],
        ),
        (
            {
                let sub = d.join("utf8");
                std::fs::create_dir_all(&sub).expect("mkdir");
                zip_with(
                    &sub,
                    &format!("{BASE}.zip"),
                    &[(
                        &top("ix08_V08.xml"),
                        b"<?xml version=\"1.0\"?><index>\xff\xfe</index>".to_vec(),
                    )],
                )
            },
            &["A-10|X-01"],
        ),
        (
            {
                let sub = d.join("garbage");
                std::fs::create_dir_all(&sub).expect("mkdir");
                let p = sub.join(format!("{BASE}.zip"));
                let mut junk = b"PK\x03\x04".to_vec();
                junk.extend((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
                std::fs::write(&p, junk).expect("write");
                p
            },
            &["A-01"],
        ),
    ];
    for (path, expected) in &cases {
        let (code, codes) = check_limited(path);
        assert_eq!(
            code,
            1,
            "{}: exit code {code}, findings {codes:?}",
            path.display()
        );
        for e in *expected {
            // `A|B`: either code is a correct reading of the catalogue.
            assert!(
                e.split('|').any(|alt| codes.iter().any(|c| c == alt)),
                "{}: expected {e}, found {codes:?}",
                path.display()
            );
        }
    }
    let rss = children_max_rss_bytes();
    assert!(
        rss < MAX_RSS_BYTES,
        "peak RSS of a daiko child was {} MiB",
        rss >> 20
    );
}
