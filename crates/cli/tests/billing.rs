//! `daiko billing …` as an agency's operator runs it, on a data folder whose records were
//! received in October 2026 (inserted through the store, with the receipt time moved back):
//! fees, close (twice), invoices and statements as JSON, CSV and PDF, the transfer file
//! (refused without a remitter, then written and parsed back), a 過誤, the calendar, and
//! errors in Japanese and English.

use std::path::Path;
use std::process::{Command, Output};

use daiko_store::Store;
use daiko_store::submissions::{NewSubmission, RecordRow};

const INS: &str = "06139999";
const INST: &str = "1310000019";

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

/// Exit 2 with a Japanese and an English message; answers stderr.
fn fails(o: Output, ja: &str, en: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(o.stdout.is_empty(), "stdout must carry only data");
    assert!(err.contains(ja) && err.contains(en), "stderr: {err}");
    err
}

fn record(id: &str, seq: i64, card: &str, state: &str, cost: i64, copay: i64) -> RecordRow {
    RecordRow {
        id: id.into(),
        submission_id: "sub-oct".into(),
        seq,
        data_file: format!("DATA/{id}.xml"),
        claim_file: format!("CLAIMS/{id}.xml"),
        insurer: INS.into(),
        institution: INST.into(),
        voucher: format!("V{id}"),
        card_symbol: String::new(),
        card_number: card.into(),
        service_event_type: 1,
        guidance_timing: None,
        service_date: "20260915".into(),
        fiscal_year: 2026,
        outcome: if state == "returned" {
            "returned"
        } else {
            "accepted"
        }
        .into(),
        return_reason: None,
        state: state.into(),
        cost,
        copayment: copay,
        other_program: 0,
        claim: cost - copay,
        delivery_id: None,
    }
}

/// An October submission: two delivered checkups and a returned one.
fn seed(dir: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = Store::open(dir, None).await.unwrap();
        let inst = s.org_by_number(INST).await.unwrap().unwrap();
        let mut tx = s.begin().await.unwrap();
        let no = s.next_receipt_no(&mut tx, "20261002").await.unwrap();
        s.insert_submission_in(
            &mut tx,
            &NewSubmission {
                id: "sub-oct",
                org_id: &inst.id,
                uploaded_by: None,
                channel: "api",
                archive_name: "oct.zip",
                sha256: "00",
                size: 1,
                blob_key: "archives/oct.zip",
            },
            &no,
        )
        .await
        .unwrap();
        s.insert_records_in(
            &mut tx,
            &[
                record("r1", 0, "111", "delivered", 8000, 1000),
                record("r2", 1, "222", "delivered", 9310, 4310),
                record("r3", 2, "333", "returned", 7680, 0),
            ],
        )
        .await
        .unwrap();
        sqlx::query("UPDATE submissions SET received_at = '2026-10-02T01:00:00.000000Z'")
            .execute(&mut *tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        s.close().await;
    });
}

#[test]
fn billing_month_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    ok(daiko(
        &dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "テスト代行機関",
        ],
    ));
    ok(daiko(
        &dir,
        &[
            "org",
            "add",
            "insurer",
            "--number",
            INS,
            "--name",
            "テスト健保",
        ],
    ));
    ok(daiko(
        &dir,
        &[
            "org",
            "add",
            "institution",
            "--number",
            INST,
            "--name",
            "テスト健診センター",
        ],
    ));
    seed(&dir);

    let fees: serde_json::Value = serde_json::from_str(&ok(daiko(
        &dir,
        &[
            "billing",
            "fees",
            "--insurer-per-record",
            "10",
            "--institution-per-statement",
            "100",
        ],
    )))
    .unwrap();
    assert_eq!(fees["insurer_per_record"], 10);
    fails(
        daiko(&dir, &["billing", "fees", "--insurer-per-record=-5"]),
        "手数料",
        "fee insurer_per_record",
    );

    // Bad months and an open reception window are refused.
    fails(
        daiko(&dir, &["billing", "close", "--month", "2026-13"]),
        "年月",
        "is not a month",
    );
    fails(
        daiko(&dir, &["billing", "close", "--month", "2099-01"]),
        "まだ締められません",
        "cannot be closed yet",
    );
    fails(
        daiko(&dir, &["billing", "invoices", "--month", "2026-10"]),
        "締められていません",
        "is not closed",
    );

    let closed: serde_json::Value = serde_json::from_str(&ok(daiko(
        &dir,
        &["billing", "close", "--month", "2026-10"],
    )))
    .unwrap();
    assert_eq!(closed["lines"], 2);
    assert_eq!(closed["claim_total"], 7000 + 5000);
    assert_eq!(closed["already_closed"], false);
    let again: serde_json::Value = serde_json::from_str(&ok(daiko(
        &dir,
        &["billing", "close", "--month", "2026-10"],
    )))
    .unwrap();
    assert_eq!(again["already_closed"], true);
    assert_eq!(again["claim_total"], closed["claim_total"]);

    // Invoices: the fixed fields first, in order.
    let text = ok(daiko(
        &dir,
        &[
            "billing", "invoices", "--month", "2026-10", "--format", "json",
        ],
    ));
    let fields = [
        "\"insurer\"",
        "\"records\"",
        "\"cost_total\"",
        "\"copay_total\"",
        "\"other_total\"",
        "\"claim_total\"",
        "\"fee_total\"",
        "\"offset_total\"",
        "\"amount_due\"",
    ];
    let pos: Vec<usize> = fields.iter().map(|f| text.find(f).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "field order: {text}");
    let inv: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(inv.as_array().unwrap().len(), 1);
    let inv = &inv[0];
    assert_eq!(inv["insurer"], INS);
    assert_eq!(inv["records"], 2);
    assert_eq!(inv["cost_total"], 8000 + 9310);
    assert_eq!(inv["copay_total"], 1000 + 4310);
    assert_eq!(inv["claim_total"], 12000);
    assert_eq!(inv["fee_total"], 20);
    assert_eq!(inv["amount_due"], 12020);

    let st: serde_json::Value = serde_json::from_str(&ok(daiko(
        &dir,
        &[
            "billing",
            "statements",
            "--month",
            "2026-10",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    assert_eq!(st[0]["institution"], INST);
    assert_eq!(st[0]["amount_paid"], 12000 - 100);

    // CSV: summaries on stdout; one Excel-friendly file per document with --out.
    let csv_text = ok(daiko(
        &dir,
        &[
            "billing",
            "statements",
            "--month",
            "2026-10",
            "--format",
            "csv",
        ],
    ));
    assert!(
        csv_text.starts_with("institution,records,claim_total,fee_total,offset_total,amount_paid")
    );
    assert!(csv_text.contains(&format!("{INST},2,12000,100,0,11900")));
    let docs = tmp.path().join("docs");
    let listed = ok(daiko(
        &dir,
        &[
            "billing",
            "invoices",
            "--month",
            "2026-10",
            "--format",
            "csv",
            "--out",
            docs.to_str().unwrap(),
        ],
    ));
    let csv_path = docs.join(format!("invoice-2026-10-{INS}.csv"));
    assert_eq!(listed.trim(), csv_path.display().to_string());
    assert!(
        std::fs::read(&csv_path)
            .unwrap()
            .starts_with(b"\xEF\xBB\xBF")
    );
    fails(
        daiko(
            &dir,
            &[
                "billing", "invoices", "--month", "2026-10", "--format", "pdf",
            ],
        ),
        "--out",
        "needs --out DIR",
    );
    if daiko_pdf::Fonts::discover().is_ok() {
        ok(daiko(
            &dir,
            &[
                "billing",
                "statements",
                "--month",
                "2026-10",
                "--format",
                "pdf",
                "--out",
                docs.to_str().unwrap(),
            ],
        ));
        let pdf = std::fs::read(docs.join(format!("statement-2026-10-{INST}.pdf"))).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    } else {
        eprintln!("SKIPPED the PDF part: no Japanese fonts on this machine");
    }

    // Transfer file: remitter and account first.
    let file = tmp.path().join("furikomi.txt");
    let f = file.to_str().unwrap();
    fails(
        daiko(
            &dir,
            &["billing", "transfer-file", "--month", "2026-10", "--out", f],
        ),
        "振込依頼人",
        "no remitter",
    );
    ok(daiko(
        &dir,
        &[
            "billing",
            "remitter",
            "--code",
            "1234567890",
            "--name",
            "ﾀﾞｲｺｳｷｶﾝ",
            "--bank",
            "0001",
            "--branch",
            "001",
            "--type",
            "1",
            "--number",
            "1234567",
        ],
    ));
    fails(
        daiko(
            &dir,
            &["billing", "transfer-file", "--month", "2026-10", "--out", f],
        ),
        "振込口座が未登録",
        INST,
    );
    fails(
        daiko(
            &dir,
            &[
                "billing",
                "account",
                "set",
                "--org",
                INST,
                "--bank",
                "0005",
                "--branch",
                "123",
                "--type",
                "手形",
                "--number",
                "7654321",
                "--holder",
                "テスト",
            ],
        ),
        "預金種目",
        "--type must be",
    );
    let account: serde_json::Value = serde_json::from_str(&ok(daiko(
        &dir,
        &[
            "billing",
            "account",
            "set",
            "--org",
            INST,
            "--bank",
            "0005",
            "--branch",
            "123",
            "--type",
            "普通",
            "--number",
            "7654321",
            "--holder",
            "テストケンシンセンター",
        ],
    )))
    .unwrap();
    assert_eq!(account["holder_kana"], "ﾃｽﾄｹﾝｼﾝｾﾝﾀ-");
    assert_eq!(
        ok(daiko(
            &dir,
            &["billing", "transfer-file", "--month", "2026-10", "--out", f]
        ))
        .trim(),
        f
    );
    let bytes = std::fs::read(&file).unwrap();
    let parsed = daiko_billing::parse_transfer_file(&bytes).unwrap();
    assert_eq!((parsed.total_count, parsed.total_amount), (1, 11900));
    assert_eq!(parsed.transfers[0].customer_code, INST);

    // 過誤: on a returned record refused, on a billed one an offset; a bad code refused.
    fails(
        daiko(
            &dir,
            &[
                "billing", "offset", "add", "--record", "r3", "--reason", "07",
            ],
        ),
        "送付されていません",
        "was not forwarded",
    );
    fails(
        daiko(
            &dir,
            &[
                "billing", "offset", "add", "--record", "r1", "--reason", "99",
            ],
        ),
        "別表10",
        "is not a 別表10 reason code",
    );
    let off: serde_json::Value = serde_json::from_str(&ok(daiko(
        &dir,
        &[
            "billing", "offset", "add", "--record", "r1", "--reason", "07",
        ],
    )))
    .unwrap();
    assert_eq!(off["outcome"], "offset");
    assert_eq!(off["amount"], 7000);
    assert_eq!(off["origin_month"], "2026-10");
    let pending: serde_json::Value =
        serde_json::from_str(&ok(daiko(&dir, &["billing", "offset", "pending"]))).unwrap();
    assert_eq!(pending[0]["record_id"], "r1");

    // The calendar: 2027-05-05 is こどもの日 (a Wednesday), so May's deadline is the 6th.
    let cal = ok(daiko(&dir, &["billing", "calendar", "--year", "2027"]));
    assert!(cal.starts_with("month\tdeadline\tinvoice_date\tinsurer_due_date\tpayment_date\n"));
    assert!(cal.contains("\n2027-05\t2027-05-06\t"), "{cal}");
    assert!(cal.contains("2027-05-05\tこどもの日"), "{cal}");
    let cal = ok(daiko(
        &dir,
        &[
            "billing",
            "calendar",
            "--year",
            "2027",
            "--deadline-day",
            "10",
        ],
    ));
    assert!(cal.contains("\n2027-05\t2027-05-10\t"), "{cal}");

    // Everything above is in the audit trail, and the trail is intact.
    ok(daiko(&dir, &["audit", "verify"]));
}
