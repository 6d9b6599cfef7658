//! The `daiko` command as a user runs it: exit codes, output shapes, samples checked clean,
//! injected defects reported with their codes.

use std::path::Path;
use std::process::{Command, Output};

fn daiko(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daiko"))
        .args(args)
        .output()
        .expect("run daiko")
}

fn write_samples(dir: &Path, extra: &[&str]) {
    let out = dir.to_str().expect("utf-8 temp path");
    let mut args = vec!["sample", "--out", out];
    args.extend_from_slice(extra);
    let o = daiko(&args);
    assert!(
        o.status.success(),
        "daiko sample failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn zips(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn clean_samples_are_accepted_with_exit_0_and_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_samples(
        dir.path(),
        &["--archives", "2", "--records", "5", "--seed", "7"],
    );
    let files = zips(dir.path());
    assert_eq!(files.len(), 2);
    let mut args = vec!["check", "--format", "json", "--agency", "99000010"];
    args.extend(files.iter().map(String::as_str));
    let o = daiko(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one JSON object per archive");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["verdict"], "accepted");
        assert_eq!(v["counts"]["records"], 5);
        assert_eq!(v["counts"]["accepted"], 5);
        assert_eq!(v["counts"]["errors"], 0);
        assert_eq!(v["archive"]["receiver"], "99000010");
        assert_eq!(v["archive"]["service_event_type"], 1);
        assert_eq!(v["archive"]["sha256"].as_str().map(str::len), Some(64));
        assert_eq!(v["records"].as_array().map(Vec::len), Some(5));
        for f in v["findings"].as_array().expect("findings") {
            assert_ne!(f["severity"], "error", "clean sample has an error: {f}");
        }
    }
}

/// Writes defective samples with `extra` options, checks them (with the reference folder
/// written beside them when `with_reference`), and asserts every manifest code is reported
/// at one of its files.
fn assert_defects_reported(extra: &[&str], with_reference: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sample_args = vec![
        "--archives",
        "3",
        "--records",
        "30",
        "--seed",
        "11",
        "--defects",
        "0.5",
    ];
    sample_args.extend_from_slice(extra);
    write_samples(dir.path(), &sample_args);
    let reference = dir.path().join("reference");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).expect("manifest"))
            .expect("json");
    let files = zips(dir.path());
    let mut args = vec!["check", "--format", "json", "--agency", "99000010"];
    if with_reference {
        args.extend(["--reference", reference.to_str().expect("utf-8")]);
    }
    args.extend(files.iter().map(String::as_str));
    let o = daiko(&args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "defective archives exit 1: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let reports: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let mut checked = 0;
    for archive in manifest["archives"].as_array().expect("archives") {
        let name = archive["archive"].as_str().expect("name");
        let report = reports
            .iter()
            .find(|r| r["archive"]["name"] == name)
            .unwrap_or_else(|| panic!("no report for {name}"));
        for defect in archive["defects"].as_array().expect("defects") {
            let files: Vec<&serde_json::Value> =
                defect["files"].as_array().expect("files").iter().collect();
            for code in defect["codes"].as_array().expect("codes") {
                let found = report["findings"]
                    .as_array()
                    .expect("findings")
                    .iter()
                    .any(|f| {
                        f["code"] == *code && (files.is_empty() || files.contains(&&f["file"]))
                    });
                assert!(
                    found,
                    "{name}: defect {defect} expected {code} at {files:?}, report findings: {}",
                    report["findings"]
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 5,
        "the defect sample should carry several defects, found {checked}"
    );
}

#[test]
fn every_injected_defect_is_reported_with_its_code() {
    assert_defects_reported(&[], false);
}

#[test]
fn reference_defects_are_reported_with_the_reference_folder() {
    assert_defects_reported(&["--reference-defects", "--guidance", "1"], true);
}

#[test]
fn text_report_is_a_japanese_error_notice_and_english_on_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_samples(
        dir.path(),
        &["--records", "4", "--seed", "3", "--defects", "1.0"],
    );
    let files = zips(dir.path());
    let o = daiko(&["check", &files[0]]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1));
    assert!(text.contains("受付エラー連絡表"), "{text}");
    assert!(
        text.contains("対処"),
        "Japanese messages carry a fix hint: {text}"
    );
    let o = daiko(&["check", "--lang", "en", &files[0]]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Reception error report"), "{text}");
}

#[test]
fn csv_opens_in_excel_with_a_bom_and_one_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_samples(
        dir.path(),
        &["--archives", "2", "--records", "4", "--defects", "1.0"],
    );
    let files = zips(dir.path());
    let mut args = vec!["check", "--format", "csv"];
    args.extend(files.iter().map(String::as_str));
    let o = daiko(&args);
    assert!(
        o.stdout.starts_with("\u{feff}".as_bytes()),
        "UTF-8 BOM first"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.matches("アーカイブ,判定,コード").count(),
        1,
        "one header for all archives"
    );
    assert!(text.lines().count() > 2);
}

#[test]
fn unreadable_file_and_bad_usage_exit_2() {
    let o = daiko(&["check", "/nonexistent/9910000018_99000010_202306200_1.zip"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        o.stdout.is_empty(),
        "nothing on stdout when nothing was checked"
    );
    let o = daiko(&["check"]);
    assert_eq!(o.status.code(), Some(2));
    let o = daiko(&["check", "--agency", "12", "x.zip"]);
    assert_eq!(o.status.code(), Some(2));
    let o = daiko(&["check", "--format", "xml", "x.zip"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn not_a_zip_is_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("9910000018_99000010_202306200_1.zip");
    std::fs::write(&path, b"this is not a zip file").expect("write");
    let o = daiko(&["check", "--format", "json", path.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["verdict"], "rejected");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "A-01")
    );
}

#[test]
fn the_shared_example_archive_is_accepted() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/spec/examples/checkup/9910000018_99000010_202306200_1.zip");
    if !example.exists() {
        eprintln!("skipped: {} not present", example.display());
        return;
    }
    let o = daiko(&[
        "check",
        "--format",
        "json",
        "--agency",
        "99000010",
        "--reception-date",
        "2023-06-21",
        example.to_str().expect("utf-8"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn docs_checks_md_is_the_catalogue() {
    let o = daiko(&["checks", "--format", "markdown"]);
    assert!(o.status.success());
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
    let on_disk = std::fs::read_to_string(&doc).unwrap_or_default();
    assert_eq!(
        on_disk,
        String::from_utf8_lossy(&o.stdout),
        "docs/checks.md is out of date: run `cargo run -- checks --format markdown > docs/checks.md`"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    for code in [
        "T-01", "A-09", "X-02", "I-07", "S-08", "P-05", "H-12", "M-17", "C-16", "D-06", "U-06",
    ] {
        assert!(
            text.contains(&format!("| {code} |")),
            "{code} missing from the catalogue"
        );
    }
}
