//! S18: records' card and voucher numbers at rest. An archive about a person with a marker
//! card number and voucher number goes through check, route and a billing month close; the
//! SQLite file and its write-ahead log hold neither marker, the raw PostgreSQL columns of
//! records, billing lines, ledger keys and closed months hold no clear number, while
//! duplicate detection (U-01 / D-05 over the blind indexes), stage D and the month close
//! (billed once, its line carrying the opened numbers) still work.
//!
//! Two insurers: A loads a voucher ledger, so stage D runs for it (its ledger's numbers are
//! sealed too and found through the blind indexes, store/src/reference.rs), B loads none
//! and carries the markers.

use std::path::Path;
use std::time::Duration;

use daiko_pipeline::billing::{self, close_month_at, cutoff, settlement};
use daiko_pipeline::intake::{Upload, receive_bytes};
use daiko_pipeline::reference::{RefKind, import_csv};
use daiko_pipeline::worker::{WorkerConfig, run_until_idle};
use daiko_sample::reference::{Setting, VoucherRow};
use daiko_sample::{GivenPerson, Period, SampleArchive, SampleConfig};
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::{Store, testdb};
use sqlx::Row;

const AGENCY: &str = "99000010";
const INSTITUTION: &str = "9910000018";
const LIMIT: u64 = 50 << 20;
const CARD_MARK: &str = "86420975";
const VOUCHER_MARK: &str = "24135792468";
const A_CARD: &str = "11223344";
const A_VOUCHER: &str = "24100000017";

fn worker() -> WorkerConfig {
    let mut cfg = WorkerConfig::new(AGENCY, "test:1");
    cfg.lease = Duration::from_secs(60);
    cfg
}

fn covered() -> Setting {
    Setting {
        code: "1".into(),
        ..Setting::default()
    }
}

fn person(insurer: &str, voucher: &str, card: &str, sex: daiko_sample::people::Sex) -> GivenPerson {
    GivenPerson {
        voucher: VoucherRow {
            insurer_number: insurer.into(),
            kind: "1".into(),
            voucher_number: voucher.into(),
            card_symbol: "KIGO".into(),
            card_number: card.into(),
            name_kana: "テスト タロウ".into(),
            birth_date: "19650412".into(),
            expiry: "20250331".into(),
            basic: covered(),
            detail: covered(),
            additional: covered(),
            dock: Setting::default(),
            guidance_level: String::new(),
        },
        sex,
        card_branch: "00".into(),
    }
}

/// Two archives (distinct names) about the same people with the same vouchers.
fn archives(insurers: &[String], persons: &[GivenPerson]) -> Vec<SampleArchive> {
    let twice: Vec<GivenPerson> = persons.iter().chain(persons).cloned().collect();
    let config = SampleConfig {
        archives: 2,
        records: persons.len(),
        seed: 7,
        period: Period::Fy2024,
        sender: Some(INSTITUTION.into()),
        receiver: AGENCY.into(),
        insurers: insurers.to_vec(),
        ..SampleConfig::default()
    };
    daiko_sample::generate_for_persons(&config, &twice).unwrap()
}

fn upload<'a>(org: &'a Org, name: &'a str) -> Upload<'a> {
    Upload {
        org,
        uploaded_by: Some("inst1"),
        role: "institution",
        channel: "api",
        archive_name: name,
        source: "127.0.0.1",
    }
}

/// Rows of one insurer (plus the header) of a CSV with an `insurer_number` column.
fn rows_of(csv_text: &str, insurer: &str) -> String {
    let mut r = csv::ReaderBuilder::new().from_reader(csv_text.as_bytes());
    let header = r.headers().unwrap().clone();
    let col = header.iter().position(|h| h == "insurer_number").unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        if rec.get(col) == Some(insurer) {
            w.write_record(&rec).unwrap();
        }
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// Occurrences of `needle` in the SQLite database files (main file, WAL, journal).
fn hits_in_sqlite_files(dir: &Path, needle: &str) -> usize {
    let mut n = 0;
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let Ok(bytes) = std::fs::read(dir.join(format!("daiko.sqlite3{suffix}"))) else {
            continue;
        };
        n += bytes
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count();
    }
    n
}

/// Findings (code, file) of a submission's report.
async fn findings(s: &Store, sub: &str) -> Vec<(String, String)> {
    let sub = s.submission(sub).await.unwrap().unwrap();
    assert_eq!(sub.status, "done");
    let report: serde_json::Value = serde_json::from_slice(
        &s.blobs()
            .get(sub.report_key.as_deref().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                f["file"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_and_voucher_numbers_are_sealed_and_still_checked_and_billed() {
    let insurers = daiko_sample::people::default_insurers();
    let (ins_a, ins_b) = (insurers[0].clone(), insurers[1].clone());
    let both = vec![ins_a.clone(), ins_b.clone()];
    let persons = vec![
        person(&ins_a, A_VOUCHER, A_CARD, daiko_sample::people::Sex::Female),
        person(
            &ins_b,
            VOUCHER_MARK,
            CARD_MARK,
            daiko_sample::people::Sex::Male,
        ),
    ];
    let mut two = archives(&both, &persons);
    let second = two.pop().unwrap();
    let first = two.pop().unwrap();
    assert_ne!(first.name, second.name);
    let dir = tempfile::tempdir().unwrap();
    for (db, s) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {db}");
        s.add_org(OrgKind::Agency, AGENCY, "代行機関", &[])
            .await
            .unwrap();
        let inst = s
            .add_org(OrgKind::Institution, INSTITUTION, "健診機関", &[])
            .await
            .unwrap();
        let services = &["check", "route", "billing"];
        let org_a = s
            .add_org(OrgKind::Insurer, &ins_a, "保険者A", services)
            .await
            .unwrap();
        s.add_org(OrgKind::Insurer, &ins_b, "保険者B", services)
            .await
            .unwrap();
        let files: std::collections::BTreeMap<&str, String> =
            daiko_sample::reference::reference_files(
                &first.reference.institution,
                first.reference.fiscal_year,
                &first.reference.contracts,
                &[&first.reference],
            )
            .into_iter()
            .collect();
        let vouchers = rows_of(&files["vouchers.csv"], &ins_a);
        assert!(vouchers.contains(A_VOUCHER), "{vouchers}");
        import_csv(&s, &org_a, RefKind::Vouchers, vouchers.as_bytes(), "tester")
            .await
            .unwrap();

        // First archive: both accepted; A passed stage D (no D- finding).
        let sub1 = receive_bytes(&s, &upload(&inst, &first.name), &first.zip, LIMIT)
            .await
            .unwrap()
            .id;
        run_until_idle(&s, &worker()).await.unwrap();
        // Findings on the records' files (not the archive-level notes of checks skipped
        // for reference data not loaded).
        let on_records = |a: &SampleArchive, f: Vec<(String, String)>| -> Vec<(String, String)> {
            let files: Vec<&str> = a
                .manifest
                .records
                .iter()
                .flat_map(|r| [r.data_file.as_str(), r.claim_file.as_str()])
                .collect();
            f.into_iter()
                .filter(|(_, file)| files.contains(&file.as_str()))
                .collect()
        };
        let f1 = on_records(&first, findings(&s, &sub1).await);
        assert!(
            !f1.iter().any(|(c, _)| c.starts_with("D-")),
            "{db}: stage D findings {f1:?}"
        );
        let recs1 = s.records_of_submission(&sub1).await.unwrap();
        assert_eq!(recs1.len(), 2);
        for r in &recs1 {
            assert_eq!(r.outcome, "accepted", "{db}: {r:?} {f1:?}");
        }
        let marked = recs1.iter().find(|r| r.insurer == ins_b).unwrap();
        assert_eq!(
            (marked.card_number.as_str(), marked.voucher.as_str()),
            (CARD_MARK, VOUCHER_MARK),
            "{db}: the numbers open"
        );
        assert_eq!(marked.card_symbol, "KIGO");
        // History lookups by number find the record through the index.
        let by_voucher = s.records_of_voucher(&ins_b, VOUCHER_MARK).await.unwrap();
        assert_eq!(by_voucher.len(), 1, "{db}");
        let by_card = s
            .records_of_person(&ins_b, CARD_MARK, marked.fiscal_year)
            .await
            .unwrap();
        assert_eq!(by_card.len(), 1, "{db}");
        assert!(
            s.records_of_voucher(&ins_a, VOUCHER_MARK)
                .await
                .unwrap()
                .is_empty(),
            "{db}: another insurer's index does not match"
        );

        // Month close: the two accepted records are billed once, the lines open.
        let cal = billing::calendar(&s).await.unwrap();
        let received = s.submission(&sub1).await.unwrap().unwrap().received_at;
        let m1 = cal.billing_month_of(daiko_store::parse_ts(&received).unwrap());
        let after = |m| cutoff(&cal, m) + jiff::SignedDuration::from_secs(1);
        let c1 = close_month_at(&s, m1, "tester", after(m1)).await.unwrap();
        assert_eq!(c1.lines, 2, "{db}");
        let st = settlement(&s, m1).await.unwrap().unwrap();
        assert_eq!(st.invoices.len(), 2, "{db}");
        let month = m1.to_string();
        let lines = s.billing_lines_with(&month, |l| l).await.unwrap();
        let line_b = lines.iter().find(|l| l.insurer == ins_b).unwrap();
        assert_eq!(
            (line_b.card_number.as_str(), line_b.voucher.as_str()),
            (CARD_MARK, VOUCHER_MARK)
        );
        let key = format!(
            "CI:{ins_b}:{}:{}",
            s.index_key(&ins_b).await.unwrap().index("card", CARD_MARK),
            marked.fiscal_year
        );
        assert_eq!(s.ledger_key_count(&key).await.unwrap(), 1, "{db}: {key}");
        let c2 = close_month_at(&s, m1.next(), "tester", after(m1.next()))
            .await
            .unwrap();
        assert_eq!(c2.lines, 0, "{db}: billed twice");

        // The insurer paid: the records' state becomes `paid` (U-01 / D-05 look for it).
        let mut tx = s.begin().await.unwrap();
        for r in &recs1 {
            assert!(
                s.set_record_state_in(&mut tx, &r.id, &["invoiced", "delivered"], "paid")
                    .await
                    .unwrap(),
                "{db}: {r:?}"
            );
        }
        tx.commit().await.unwrap();

        // Second archive about the same people and vouchers: duplicates found (U-01 for the
        // person paid this year, D-05 for the voucher consumed), nothing accepted.
        let sub2 = receive_bytes(&s, &upload(&inst, &second.name), &second.zip, LIMIT)
            .await
            .unwrap()
            .id;
        run_until_idle(&s, &worker()).await.unwrap();
        let f2 = on_records(&second, findings(&s, &sub2).await);
        for r in s.records_of_submission(&sub2).await.unwrap() {
            assert_ne!(r.outcome, "accepted", "{db}: a duplicate passed: {f2:?}");
        }
        for r in &second.manifest.records {
            for code in ["U-01", "D-05"] {
                assert!(
                    f2.iter()
                        .any(|(c, f)| c == code && (f == &r.data_file || f == &r.claim_file)),
                    "{db}: no {code} for {}: {f2:?}",
                    r.data_file
                );
            }
        }

        // At rest: raw columns sealed, no marker anywhere in billing.
        for r in sqlx::query(
            "SELECT voucher, card_symbol, card_number, voucher_idx, card_idx FROM records",
        )
        .fetch_all(s.pool())
        .await
        .unwrap()
        {
            for i in 0..3 {
                let v: String = r.try_get(i).unwrap();
                assert!(v.starts_with("enc1:"), "{db}: not sealed: {v}");
            }
            let idx: String = r.try_get(4).unwrap();
            assert_eq!(idx.len(), 32, "{db}: {idx}");
        }
        for sql in [
            "SELECT card_number || ' ' || voucher FROM billing_lines",
            "SELECT key FROM billing_ledger",
            "SELECT excluded_json FROM billing_months",
            "SELECT voucher || card_symbol || card_number FROM records",
            "SELECT number || ' ' || card_symbol || ' ' || card_number || ' ' || row_json \
             FROM vouchers",
        ] {
            for v in sqlx::query_scalar::<_, String>(sql)
                .fetch_all(s.pool())
                .await
                .unwrap()
            {
                for mark in [CARD_MARK, VOUCHER_MARK, A_CARD, A_VOUCHER] {
                    assert!(!v.contains(mark), "{db}: {mark} in the clear: {sql}: {v}");
                }
            }
        }
        // A's voucher ledger (stage D read it above) holds sealed numbers only.
        let numbers: Vec<String> = sqlx::query_scalar("SELECT number FROM vouchers")
            .fetch_all(s.pool())
            .await
            .unwrap();
        assert!(!numbers.is_empty(), "{db}: no ledger rows");
        for n in &numbers {
            assert!(
                n.starts_with("enc1:"),
                "{db}: ledger number not sealed: {n}"
            );
        }
        if db == "sqlite" {
            let file_dir = dir.path().join("sqlite");
            assert!(file_dir.join("daiko.sqlite3").exists());
            // Control: a column kept in the clear (the institution number) is found.
            assert!(hits_in_sqlite_files(&file_dir, INSTITUTION) > 0);
            for mark in [CARD_MARK, VOUCHER_MARK, A_CARD, A_VOUCHER] {
                assert_eq!(
                    hits_in_sqlite_files(&file_dir, mark),
                    0,
                    "{mark} in the SQLite files"
                );
            }
        }
    }
}
