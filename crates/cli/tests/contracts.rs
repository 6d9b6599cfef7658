//! `daiko contracts import | export | history` as an operator runs them: a collective and an
//! individual contract imported, exported in the format import reads, re-imported without
//! a new version, a price change giving version 2 with version 1 still readable.

use std::path::Path;
use std::process::{Command, Output};

fn daiko(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daiko"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DAIKO_DATABASE_URL")
        .output()
        .expect("run daiko")
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "daiko failed ({:?}): {}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const FILE: &str = "contract_id,form,insurer_number,member_insurers,institution_number,coordinator,member_institutions,fiscal_year,commission_type,valid_from,valid_to,item,price
HK-2024-A,collective,06010001,06010002,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,basic,7680
HK-2024-A,collective,06010001,06010002,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,detail:2,1600
,,06010001,,0110000009,,,2024,2,,,basic,6600
,,06010001,,0110000009,,,2023,2,,,basic,6500
";

#[test]
fn import_export_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    ok(daiko(
        &dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "代行",
        ],
    ));
    for n in ["06010001", "06010002"] {
        ok(daiko(
            &dir,
            &["org", "add", "insurer", "--number", n, "--name", "保険者"],
        ));
    }
    let file = tmp.path().join("contracts.csv");
    std::fs::write(&file, FILE).unwrap();
    let out = ok(daiko(
        &dir,
        &[
            "contracts",
            "import",
            "--insurer",
            "06010001",
            file.to_str().unwrap(),
        ],
    ));
    assert!(
        out.contains("3 new, 0 changed, 0 unchanged, 0 withdrawn"),
        "{out}"
    );

    // Export → import: nothing changes.
    let exported = ok(daiko(
        &dir,
        &["contracts", "export", "--insurer", "06010001"],
    ));
    assert!(
        exported.starts_with("contract_id,form,insurer_number,"),
        "{exported}"
    );
    assert!(exported.contains("HK-2024-A,collective,06010001,06010001,06010002,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,basic,7680"), "{exported}");
    let back = tmp.path().join("export.csv");
    std::fs::write(&back, &exported).unwrap();
    let out = ok(daiko(
        &dir,
        &[
            "contracts",
            "import",
            "--insurer",
            "06010001",
            back.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("0 new, 0 changed, 3 unchanged"), "{out}");
    let again = ok(daiko(
        &dir,
        &["contracts", "export", "--insurer", "06010001"],
    ));
    assert_eq!(exported, again);

    // One fiscal year only.
    let fy2023 = ok(daiko(
        &dir,
        &["contracts", "export", "--fiscal-year", "2023"],
    ));
    assert_eq!(fy2023.lines().count(), 3, "{fy2023}"); // header, basic, other_program

    // A price change → version 2; version 1 stays readable.
    std::fs::write(&file, FILE.replace(",basic,7680", ",basic,7700")).unwrap();
    let out = ok(daiko(
        &dir,
        &[
            "contracts",
            "import",
            "--insurer",
            "06010001",
            file.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("1 changed"), "{out}");
    let hist = ok(daiko(
        &dir,
        &[
            "contracts",
            "history",
            "--insurer",
            "06010001",
            "--contract",
            "HK-2024-A",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&hist).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["contract"]["basic"], 7680);
    assert!(list[0]["superseded_at"].is_string());
    assert_eq!(list[1]["contract"]["basic"], 7700);
    assert_eq!(list[1]["version"], 2);
    let table = ok(daiko(
        &dir,
        &["contracts", "history", "--insurer", "06010001"],
    ));
    assert!(
        table.contains("superseded") && table.contains("current"),
        "{table}"
    );

    // A file with an error changes nothing and exits 1 with the position.
    std::fs::write(&file, FILE.replace("HK-2024-A,collective,06010001,06010002,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,detail:2", ",collective,06010001,06010002,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,detail:2")).unwrap();
    let o = daiko(
        &dir,
        &[
            "contracts",
            "import",
            "--insurer",
            "06010001",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 3, column 1 (contract_id)"), "{err}");
    // A member insurer cannot import another insurer's contract.
    std::fs::write(&file, FILE).unwrap();
    let o = daiko(
        &dir,
        &[
            "contracts",
            "import",
            "--insurer",
            "06010002",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    // Unknown insurer: exit 2.
    let o = daiko(&dir, &["contracts", "history", "--insurer", "06019999"]);
    assert_eq!(o.status.code(), Some(2));
}
