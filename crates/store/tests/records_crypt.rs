//! S18: records' card and voucher numbers (and their copies in billing) written in the clear
//! by a version before are sealed at open, ledger keys of the clear form are rewritten to the
//! blind-index form, and the never-twice ledger keeps holding across the migration.

use std::path::Path;

use daiko_store::billing::FreezeMonth;
use daiko_store::orgs::OrgKind;
use daiko_store::submissions::{NewSubmission, RecordRow};
use daiko_store::{KeyringConfig, Store, testdb};
use sqlx::Row;

const INS: &str = "06130001";
const CARD1: &str = "75319842";
const CARD3: &str = "75319843";
const VOUCHER2: &str = "24186420971";

fn rec(id: &str, sub: &str, seq: i64, card: &str, kind: i64, voucher: &str) -> RecordRow {
    RecordRow {
        id: id.into(),
        submission_id: sub.into(),
        seq,
        data_file: format!("DATA/{id}.xml"),
        claim_file: format!("CLAIMS/{id}.xml"),
        insurer: INS.into(),
        institution: "1310000001".into(),
        voucher: voucher.into(),
        card_symbol: "SYMX".into(),
        card_number: card.into(),
        service_event_type: kind,
        guidance_timing: (kind == 2).then(|| "1".to_string()),
        service_date: "20261110".into(),
        fiscal_year: 2026,
        outcome: "accepted".into(),
        return_reason: None,
        state: "delivered".into(),
        cost: 6000,
        copayment: 1000,
        other_program: 0,
        claim: 5000,
        delivery_id: None,
    }
}

async fn submit(s: &Store, id: &str, org_id: &str, records: &[RecordRow]) {
    s.prepare_record_keys(&[INS]).await.unwrap();
    let mut tx = s.begin().await.unwrap();
    let no = s.next_receipt_no(&mut tx, "20261201").await.unwrap();
    s.insert_submission_in(
        &mut tx,
        &NewSubmission {
            id,
            org_id,
            uploaded_by: None,
            channel: "api",
            archive_name: &format!("{id}.zip"),
            sha256: id,
            size: 1,
            blob_key: &format!("archives/{id}.zip"),
        },
        &no,
    )
    .await
    .unwrap();
    s.insert_records_in(&mut tx, records).await.unwrap();
    tx.commit().await.unwrap();
}

fn freeze<'a>(month: &'a str, cutoff: &'a str) -> FreezeMonth<'a> {
    FreezeMonth {
        month,
        cutoff,
        late_before: "202601",
        closed_by: "tester",
        calendar_json: "{\"deadline_day\":5}",
        fees_json: "{}",
    }
}

fn later() -> String {
    daiko_store::format_ts(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600))
}

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

/// Writes billed records, then turns them into what a version before column encryption
/// left: clear numbers, no indexes, clear ledger keys (one reversed), clear lines and a
/// closed month whose excluded list names a clear key.
async fn write_old_version(s: &Store) {
    s.add_org(
        OrgKind::Insurer,
        INS,
        "保険者",
        &["check", "route", "billing"],
    )
    .await
    .unwrap();
    let inst = s
        .add_org(OrgKind::Institution, "1310000001", "機関", &[])
        .await
        .unwrap();
    submit(
        s,
        "s1",
        &inst.id,
        &[
            rec("r1", "s1", 1, CARD1, 1, "24100000001"),
            rec("r2", "s1", 2, "", 2, VOUCHER2),
            rec("r3", "s1", 3, CARD3, 1, "24100000003"),
        ],
    )
    .await;
    let mut tx = s.begin().await.unwrap();
    let out = s
        .freeze_billing_month_in(&mut tx, &freeze("2026-12", &later()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(out.lines, 3);
    let mut tx = s.begin().await.unwrap();
    for (id, card, voucher, key, state) in [
        (
            "r1",
            CARD1,
            "24100000001",
            format!("C:{INS}:{CARD1}:2026"),
            "billed",
        ),
        (
            "r2",
            "",
            VOUCHER2,
            format!("G:{INS}:{VOUCHER2}:1"),
            "billed",
        ),
        (
            "r3",
            CARD3,
            "24100000003",
            format!("C:{INS}:{CARD3}:2026~o9"),
            "reversed",
        ),
    ] {
        sqlx::query(
            "UPDATE records SET voucher = $1, card_symbol = 'SYMX', card_number = $2, \
             voucher_idx = '', card_idx = '' WHERE id = $3",
        )
        .bind(voucher)
        .bind(card)
        .bind(id)
        .execute(tx.conn())
        .await
        .unwrap();
        sqlx::query("UPDATE billing_lines SET voucher = $1, card_number = $2 WHERE record_id = $3")
            .bind(voucher)
            .bind(card)
            .bind(id)
            .execute(tx.conn())
            .await
            .unwrap();
        sqlx::query("UPDATE billing_ledger SET key = $1, state = $2 WHERE record_id = $3")
            .bind(key)
            .bind(state)
            .bind(id)
            .execute(tx.conn())
            .await
            .unwrap();
    }
    let excluded = format!(
        "[{{\"record_id\":\"rx\",\"key\":\"C:{INS}:{CARD1}:2026\",\"billed_record_id\":\"r1\",\"billed_month\":\"2026-12\"}}]"
    );
    sqlx::query("UPDATE billing_months SET excluded_json = $1 WHERE month = '2026-12'")
        .bind(excluded)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn check_migrated(s: &Store, inst_id: &str) {
    let ik = s.index_key(INS).await.unwrap();
    // Records open, raw columns sealed, indexes set.
    let recs = s.records_of_submission("s1").await.unwrap();
    let numbers: Vec<(&str, &str, &str)> = recs
        .iter()
        .map(|r| {
            (
                r.card_symbol.as_str(),
                r.card_number.as_str(),
                r.voucher.as_str(),
            )
        })
        .collect();
    assert_eq!(
        numbers,
        [
            ("SYMX", CARD1, "24100000001"),
            ("SYMX", "", VOUCHER2),
            ("SYMX", CARD3, "24100000003")
        ]
    );
    for r in
        sqlx::query("SELECT voucher, card_symbol, card_number, card_idx, voucher_idx FROM records")
            .fetch_all(s.pool())
            .await
            .unwrap()
    {
        for i in 0..3 {
            assert!(r.try_get::<String, _>(i).unwrap().starts_with("enc1:"));
        }
        assert_eq!(r.try_get::<String, _>(4).unwrap().len(), 32);
    }
    assert_eq!(
        s.records_of_person(INS, CARD1, 2026).await.unwrap().len(),
        1
    );
    assert_eq!(s.records_of_voucher(INS, VOUCHER2).await.unwrap().len(), 1);
    // Ledger keys in the index form, the reversal kept.
    let k1 = format!("CI:{INS}:{}:2026", ik.index("card", CARD1));
    let k2 = format!("GI:{INS}:{}:1", ik.index("voucher", VOUCHER2));
    let k3 = format!("CI:{INS}:{}:2026", ik.index("card", CARD3));
    let l = |id: &'static str| async move { s.ledger_of_record(id).await.unwrap().unwrap() };
    assert_eq!(l("r1").await.key, k1);
    assert_eq!(l("r2").await.key, k2);
    assert_eq!(
        (l("r3").await.key, l("r3").await.state),
        (format!("{k3}~o9"), "reversed".to_string())
    );
    // Lines open; the month's excluded list names the index key.
    let lines = s.billing_lines_with("2026-12", |l| l).await.unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].card_number, CARD1);
    assert_eq!(lines[1].voucher, VOUCHER2);
    let month = s.billing_months().await.unwrap().remove(0);
    assert!(month.excluded_json.contains(&k1), "{}", month.excluded_json);
    assert!(!month.excluded_json.contains(CARD1));
    for sql in [
        "SELECT key FROM billing_ledger",
        "SELECT card_number || voucher FROM billing_lines",
        "SELECT voucher || card_number FROM records",
    ] {
        for v in sqlx::query_scalar::<_, String>(sql)
            .fetch_all(s.pool())
            .await
            .unwrap()
        {
            for m in [CARD1, CARD3, VOUCHER2] {
                assert!(!v.contains(m), "{m} in the clear: {sql}: {v}");
            }
        }
    }
    // Never twice across the migration: the same person and year again is excluded, the
    // same guidance voucher and timing too; the reversed key is free for a correction.
    submit(
        s,
        "s2",
        inst_id,
        &[
            rec("r4", "s2", 1, CARD1, 1, "24100000004"),
            rec("r5", "s2", 2, "", 2, VOUCHER2),
            rec("r6", "s2", 3, CARD3, 1, "24100000006"),
        ],
    )
    .await;
    let mut tx = s.begin().await.unwrap();
    let out = s
        .freeze_billing_month_in(&mut tx, &freeze("2027-01", &later()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(out.lines, 1, "{out:?}");
    let ids: Vec<&str> = out.excluded.iter().map(|x| x.record_id.as_str()).collect();
    assert_eq!(ids, ["r4", "r5"]);
    assert_eq!(out.excluded[0].key, k1);
    assert_eq!(s.ledger_of_record("r6").await.unwrap().unwrap().key, k3);
    // A second open finds nothing to do.
}

#[tokio::test]
async fn clear_records_and_ledger_keys_are_migrated_at_open_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Store::open(&data, None).await.unwrap();
    write_old_version(&s).await;
    s.close().await;
    assert!(
        hits_in_sqlite_files(&data, CARD1) > 0,
        "the old rows are clear"
    );
    let s = Store::open(&data, None).await.unwrap();
    let inst = s.org_by_number("1310000001").await.unwrap().unwrap();
    check_migrated(&s, &inst.id).await;
    s.close().await;
    for mark in [CARD1, CARD3, VOUCHER2] {
        assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
    }
    // Idempotent: opening again changes nothing.
    let s = Store::open(&data, None).await.unwrap();
    assert_eq!(
        s.records_of_person(INS, CARD1, 2026).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn clear_records_and_ledger_keys_are_migrated_at_open_on_postgres() {
    let Some(url) = testdb::fresh_postgres_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let open = async || {
        let keys = KeyringConfig::from_env(dir.path(), &|_| None).unwrap();
        Store::connect(&url, &dir.path().join("blobs"), keys)
            .await
            .unwrap()
    };
    let s = open().await;
    write_old_version(&s).await;
    s.close().await;
    let s = open().await;
    let inst = s.org_by_number("1310000001").await.unwrap().unwrap();
    check_migrated(&s, &inst.id).await;
    s.close().await;
    let s = open().await;
    assert_eq!(
        s.records_of_person(INS, CARD1, 2026).await.unwrap().len(),
        2
    );
}
