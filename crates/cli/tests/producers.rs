//! Archives the way real producers write them: the XSD folder inside, directory entries,
//! CRLF line endings, a `standalone` declaration, comments. Built at test time from the
//! shared example and the official schema copies (never checked in); skipped without ../shared.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use zip::write::SimpleFileOptions;

const BASE: &str = "9910000018_99000010_202306200_1";

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
        &shared.join(format!("spec/examples/checkup/{BASE}")),
        "",
        &mut docs,
    );
    let mut xsd = Vec::new();
    files_under(&shared.join("reference/xsd/2018"), "XSD/", &mut xsd);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{BASE}.zip"));
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    let opts = SimpleFileOptions::default();
    for d in [
        format!("{BASE}/"),
        format!("{BASE}/DATA/"),
        format!("{BASE}/CLAIMS/"),
        format!("{BASE}/XSD/"),
        format!("{BASE}/XSD/coreschemas/"),
    ] {
        z.add_directory(d, opts).expect("dir");
    }
    for (name, bytes) in docs.iter() {
        z.start_file(format!("{BASE}/{name}"), opts).expect("start");
        z.write_all(&crlf(bytes)).expect("write");
    }
    for (name, bytes) in xsd.iter() {
        z.start_file(format!("{BASE}/{name}"), opts).expect("start");
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
