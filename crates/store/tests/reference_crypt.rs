//! The reference tables' numbers are sealed (S18): voucher ledger rows (`vouchers`: number,
//! card symbol and number) and insured-status rows (`insured`: card symbol and number) are
//! `enc1:` envelopes found through blind indexes; nothing of them is readable in the SQLite
//! file or its write-ahead log, nor in the raw PostgreSQL columns; a value moved to another
//! row does not open; rows written in the clear by a version before are sealed at open.

use std::path::Path;

use daiko_store::invite::{CardRow, ReminderRoundRow};
use daiko_store::reference::{InsuredRow, VoucherRow};
use daiko_store::{KeyringConfig, Store, testdb};
use sqlx::Row;

const INS: &str = "06139997";
const NUMBER_MARK: &str = "86420975311";
const CARD_MARK: &str = "7319508642";
const SYMBOL_MARK: &str = "ZqxSymMark";

fn ledger() -> Vec<VoucherRow> {
    let row = |i: usize| VoucherRow {
        kind: 1,
        number: format!("{NUMBER_MARK}{i}"),
        card_symbol: format!("{SYMBOL_MARK}{i}"),
        card_number: format!("{CARD_MARK}{i}"),
        row_json: format!("{{\"row\":{i}}}"),
    };
    // The same number and card twice: kept once (the uniqueness of the blind indexes).
    vec![row(0), row(1), row(1)]
}

fn insured() -> Vec<InsuredRow> {
    (0..2)
        .map(|i| InsuredRow {
            card_symbol: format!("{SYMBOL_MARK}{i}"),
            card_number: format!("{CARD_MARK}{i}"),
            valid_from: "20240401".into(),
            valid_to: String::new(),
        })
        .collect()
}

fn hits_in_sqlite_files(dir: &Path, needle: &str) -> usize {
    ["", "-wal", "-journal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::read(dir.join(format!("daiko.sqlite3{suffix}"))).ok())
        .map(|b| {
            b.windows(needle.len())
                .filter(|w| *w == needle.as_bytes())
                .count()
        })
        .sum()
}

async fn raw(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for q in [
        "SELECT number, card_symbol, card_number, number_idx, card_idx FROM vouchers",
        "SELECT card_symbol, card_number, card_idx, valid_from, valid_to FROM insured",
    ] {
        for r in sqlx::query(q).fetch_all(s.pool()).await.unwrap() {
            for i in 0..3 {
                out.push(r.try_get::<String, _>(i).unwrap());
            }
        }
    }
    out
}

fn assert_sealed(raw: &[String], rows: usize) {
    // Per row: two or three sealed columns and the indexes (hex).
    assert_eq!(raw.len(), rows * 3);
    for v in raw {
        assert!(
            v.starts_with("enc1:") || (v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())),
            "neither sealed nor an index: {v}"
        );
        for mark in [NUMBER_MARK, CARD_MARK, SYMBOL_MARK] {
            assert!(!v.contains(mark), "{mark} in the clear: {v}");
        }
    }
}

async fn check_lookups(s: &Store) {
    assert_eq!(
        s.voucher_rows(INS, 1, &format!("{NUMBER_MARK}1"))
            .await
            .unwrap(),
        vec!["{\"row\":1}".to_string()]
    );
    assert!(
        s.voucher_rows(INS, 2, &format!("{NUMBER_MARK}1"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.voucher_rows(INS, 1, "24100000001")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.voucher_rows("06139996", 1, &format!("{NUMBER_MARK}1"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.insured_rows(INS, &format!("{CARD_MARK}1")).await.unwrap(),
        vec![insured()[1].clone()]
    );
    assert!(s.insured_rows(INS, "12345").await.unwrap().is_empty());
}

async fn check_sealed(s: &Store) {
    s.replace_vouchers(INS, &ledger(), "kenpo1").await.unwrap();
    s.replace_insured(INS, &insured(), "kenpo1").await.unwrap();
    check_lookups(s).await;
    assert_sealed(&raw(s).await, 4);
    // A sealed card number moved to another row does not open.
    sqlx::query(
        "UPDATE insured SET card_number = (SELECT card_number FROM insured WHERE card_idx <> \
         (SELECT MIN(card_idx) FROM insured) LIMIT 1) WHERE card_idx = (SELECT MIN(card_idx) \
         FROM insured)",
    )
    .execute(s.pool())
    .await
    .unwrap();
    let min: String = sqlx::query_scalar("SELECT MIN(card_idx) FROM insured")
        .fetch_one(s.pool())
        .await
        .unwrap();
    let ik = s.index_key(INS).await.unwrap();
    let victim = (0..2)
        .map(|i| format!("{CARD_MARK}{i}"))
        .find(|c| ik.index("card", c) == min)
        .unwrap();
    let err = s.insured_rows(INS, &victim).await.unwrap_err();
    assert!(err.to_string().contains("authenticate"), "{err}");
    s.replace_insured(INS, &insured(), "kenpo1").await.unwrap();
}

#[tokio::test]
async fn reference_numbers_are_sealed_on_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Store::open(&data, None).await.unwrap();
    check_sealed(&s).await;
    s.close().await;
    let s = Store::open(&data, None).await.unwrap();
    check_lookups(&s).await;
    s.close().await;
    for mark in [NUMBER_MARK, CARD_MARK, SYMBOL_MARK] {
        assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
    }
}

#[tokio::test]
async fn reference_numbers_are_sealed_on_postgres() {
    let Some(url) = testdb::fresh_postgres_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyringConfig::from_env(dir.path(), &|_| None).unwrap();
    let s = Store::connect(&url, &dir.path().join("blobs"), keys)
        .await
        .unwrap();
    check_sealed(&s).await;
}

/// Writes reference rows the way a version before did (clear numbers, no indexes).
async fn write_clear(s: &Store) {
    for (i, v) in ledger().iter().take(2).enumerate() {
        sqlx::query(
            "INSERT INTO vouchers (insurer, kind, number, card_symbol, card_number, row_json) \
             VALUES ($1, 1, $2, $3, $4, $5)",
        )
        .bind(INS)
        .bind(&v.number)
        .bind(&v.card_symbol)
        .bind(&v.card_number)
        .bind(format!("{{\"row\":{i}}}"))
        .execute(s.pool())
        .await
        .unwrap();
    }
    for r in insured() {
        sqlx::query(
            "INSERT INTO insured (insurer, card_symbol, card_number, valid_from, valid_to) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(INS)
        .bind(&r.card_symbol)
        .bind(&r.card_number)
        .bind(&r.valid_from)
        .bind(&r.valid_to)
        .execute(s.pool())
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn clear_reference_rows_are_sealed_at_open_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Store::open(&data, None).await.unwrap();
    write_clear(&s).await;
    s.close().await;
    assert!(
        hits_in_sqlite_files(&data, CARD_MARK) > 0,
        "the old rows are clear"
    );
    let s = Store::open(&data, None).await.unwrap();
    check_lookups(&s).await;
    assert_sealed(&raw(&s).await, 4);
    s.close().await;
    // A second open finds nothing to migrate and everything still opens.
    let s = Store::open(&data, None).await.unwrap();
    check_lookups(&s).await;
    s.close().await;
    for mark in [NUMBER_MARK, CARD_MARK, SYMBOL_MARK] {
        assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
    }
}

#[tokio::test]
async fn clear_reference_rows_are_sealed_at_open_on_postgres() {
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
    write_clear(&s).await;
    s.close().await;
    let s = open().await;
    check_lookups(&s).await;
    assert_sealed(&raw(&s).await, 4);
    s.close().await;
    let s = open().await;
    check_lookups(&s).await;
}

fn card(i: usize) -> CardRow {
    CardRow {
        symbol: format!("{SYMBOL_MARK}{i}"),
        number: format!("{CARD_MARK}{i}"),
        branch: format!("0{i}"),
    }
}

fn round() -> ReminderRoundRow {
    ReminderRoundRow {
        insurer: INS.into(),
        fiscal_year: 2024,
        round: 1,
        sent_on: "2024-10-01".into(),
        variants_json: "[\"A\",\"B\"]".into(),
        created_at: daiko_store::now(),
        created_by: "kenpo1".into(),
        items: vec![(card(0), 0), (card(1), 1)],
    }
}

async fn raw_cards(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for t in ["invite_reminder_items", "invite_returned_mail"] {
        for r in sqlx::query(crate_sql(t)).fetch_all(s.pool()).await.unwrap() {
            for i in 0..3 {
                out.push(r.try_get::<String, _>(i).unwrap());
            }
        }
    }
    out
}

fn crate_sql(table: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "SELECT card_symbol, card_number, card_branch, card_key_idx FROM {table}"
    ))
}

async fn check_cards(s: &Store) {
    assert_eq!(s.returned_mail(INS).await.unwrap(), vec![card(0), card(1)]);
    let rounds = s.reminder_rounds(INS, 2024).await.unwrap();
    assert_eq!(rounds.len(), 1);
    assert_eq!(rounds[0].items, round().items);
    let raw = raw_cards(s).await;
    assert_eq!(raw.len(), 12);
    for v in &raw {
        assert!(v.starts_with("enc1:"), "not sealed: {v}");
    }
}

#[tokio::test]
async fn reminder_items_and_returned_mail_are_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut stores = vec![("sqlite", Store::open(&data, None).await.unwrap())];
    if let Some(url) = testdb::fresh_postgres_url().await {
        let keys = KeyringConfig::from_env(dir.path(), &|_| None).unwrap();
        stores.push((
            "postgres",
            Store::connect(&url, &dir.path().join("blobs-pg"), keys)
                .await
                .unwrap(),
        ));
    }
    for (_db, s) in &stores {
        s.add_reminder_round(&round()).await.unwrap();
        for i in [1, 0, 1] {
            // Marking again keeps the first mark (unique by the card key's index).
            s.mark_returned_mail(INS, &card(i), "", "kenpo1")
                .await
                .unwrap();
        }
        check_cards(s).await;
        assert!(s.unmark_returned_mail(INS, &card(1)).await.unwrap());
        assert!(!s.unmark_returned_mail(INS, &card(1)).await.unwrap());
        assert_eq!(s.returned_mail(INS).await.unwrap(), vec![card(0)]);
        s.mark_returned_mail(INS, &card(1), "", "kenpo1")
            .await
            .unwrap();
        check_cards(s).await;
    }
    for (_, s) in stores {
        s.close().await;
    }
    for mark in [CARD_MARK, SYMBOL_MARK] {
        assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
    }
}

#[tokio::test]
async fn clear_card_keys_are_sealed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = testdb::fresh_postgres_url().await;
    for db in ["sqlite", "postgres"] {
        let open = async || match db {
            "sqlite" => Some(Store::open(&data, None).await.unwrap()),
            _ => {
                let keys = KeyringConfig::from_env(dir.path(), &|_| None).unwrap();
                Some(
                    Store::connect(url.as_deref()?, &dir.path().join("blobs-pg"), keys)
                        .await
                        .unwrap(),
                )
            }
        };
        let Some(s) = open().await else {
            continue;
        };
        // Written the way a version before did.
        sqlx::query(
            "INSERT INTO invite_reminder_rounds (insurer, fiscal_year, round, sent_on, \
             variants_json, created_at, created_by) VALUES ($1, 2024, 1, '2024-10-01', \
             '[\"A\",\"B\"]', '', 'kenpo1')",
        )
        .bind(INS)
        .execute(s.pool())
        .await
        .unwrap();
        for (c, v) in round().items {
            sqlx::query(
                "INSERT INTO invite_reminder_items (insurer, fiscal_year, round, card_symbol, \
                 card_number, card_branch, variant) VALUES ($1, 2024, 1, $2, $3, $4, $5)",
            )
            .bind(INS)
            .bind(&c.symbol)
            .bind(&c.number)
            .bind(&c.branch)
            .bind(v)
            .execute(s.pool())
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO invite_returned_mail (insurer, card_symbol, card_number, \
                 card_branch, note, marked_at, marked_by) VALUES ($1, $2, $3, $4, '', '', 'k')",
            )
            .bind(INS)
            .bind(&c.symbol)
            .bind(&c.number)
            .bind(&c.branch)
            .execute(s.pool())
            .await
            .unwrap();
        }
        s.close().await;
        let s = open().await.unwrap();
        check_cards(&s).await;
        s.close().await;
        if db == "sqlite" {
            for mark in [CARD_MARK, SYMBOL_MARK] {
                assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
            }
        }
    }
}

const FROM_MARK: &str = "19370815";
const TO_MARK: &str = "19381116";
const OLD_FROM_MARK: &str = "19390217";
const V8_TO_MARK: &str = "19400318";
const NOTE_MARK: &str = "ZqxNoteMark宛所不明";
const OLD_NOTE_MARK: &str = "ZqxOldNoteMark";
const INS2: &str = "06139994";

/// Raw dates of `insured` and notes of `invite_returned_mail`.
async fn raw_dates_and_notes(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for r in sqlx::query("SELECT valid_from, valid_to FROM insured")
        .fetch_all(s.pool())
        .await
        .unwrap()
    {
        for i in 0..2 {
            out.push(r.try_get::<String, _>(i).unwrap());
        }
    }
    out.extend(
        sqlx::query_scalar::<_, String>("SELECT note FROM invite_returned_mail")
            .fetch_all(s.pool())
            .await
            .unwrap(),
    );
    out
}

fn dated(i: usize, from: &str, to: &str) -> InsuredRow {
    InsuredRow {
        card_symbol: format!("{SYMBOL_MARK}{i}"),
        card_number: format!("{CARD_MARK}{i}"),
        valid_from: from.into(),
        valid_to: to.into(),
    }
}

async fn check_dates_and_notes(s: &Store) {
    assert_eq!(
        s.insured_rows(INS, &format!("{CARD_MARK}0")).await.unwrap(),
        vec![dated(0, FROM_MARK, TO_MARK)]
    );
    assert_eq!(
        s.insured_rows(INS, &format!("{CARD_MARK}1")).await.unwrap(),
        vec![dated(1, OLD_FROM_MARK, "")]
    );
    assert_eq!(
        s.insured_rows(INS2, &format!("{CARD_MARK}2"))
            .await
            .unwrap(),
        vec![dated(2, "20240401", V8_TO_MARK)]
    );
    let note = |i| async move {
        s.returned_mail_mark(INS, &card(i))
            .await
            .unwrap()
            .unwrap()
            .note
    };
    assert_eq!(note(0).await, NOTE_MARK);
    assert_eq!(note(1).await, OLD_NOTE_MARK);
    assert_eq!(note(2).await, "");
    assert!(s.returned_mail_mark(INS, &card(3)).await.unwrap().is_none());
    let raw = raw_dates_and_notes(s).await;
    assert_eq!(raw.len(), 9);
    for v in &raw {
        // The open end and the empty note stay empty.
        assert!(v.is_empty() || v.starts_with("enc1:"), "in the clear: {v}");
    }
    assert_eq!(raw.iter().filter(|v| v.is_empty()).count(), 2);
}

/// Insured-status dates and returned-mail notes are sealed when written, and rows written in
/// the clear by the versions before (everything clear; cards sealed but dates and notes
/// clear) are sealed at open; nothing of them in the SQLite file or WAL (control: found
/// before the open that seals them).
#[tokio::test]
async fn insured_dates_and_returned_notes_are_sealed_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = testdb::fresh_postgres_url().await;
    for db in ["sqlite", "postgres"] {
        let open = async || match db {
            "sqlite" => Some(Store::open(&data, None).await.unwrap()),
            _ => {
                let keys = KeyringConfig::from_env(dir.path(), &|_| None).unwrap();
                Some(
                    Store::connect(url.as_deref()?, &dir.path().join("blobs-pg"), keys)
                        .await
                        .unwrap(),
                )
            }
        };
        let Some(s) = open().await else {
            continue;
        };
        eprintln!("-- on {db}");
        // Written now: sealed.
        s.replace_insured(INS, &[dated(0, FROM_MARK, TO_MARK)], "kenpo1")
            .await
            .unwrap();
        s.mark_returned_mail(INS, &card(0), NOTE_MARK, "kenpo1")
            .await
            .unwrap();
        s.mark_returned_mail(INS, &card(2), "", "kenpo1")
            .await
            .unwrap();
        // As a version before 0008 wrote them: all clear.
        let c = dated(1, OLD_FROM_MARK, "");
        sqlx::query(
            "INSERT INTO insured (insurer, card_symbol, card_number, valid_from, valid_to) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(INS)
        .bind(&c.card_symbol)
        .bind(&c.card_number)
        .bind(&c.valid_from)
        .bind(&c.valid_to)
        .execute(s.pool())
        .await
        .unwrap();
        let c1 = card(1);
        sqlx::query(
            "INSERT INTO invite_returned_mail (insurer, card_symbol, card_number, \
             card_branch, note, marked_at, marked_by) VALUES ($1, $2, $3, $4, $5, '', 'k')",
        )
        .bind(INS)
        .bind(&c1.symbol)
        .bind(&c1.number)
        .bind(&c1.branch)
        .bind(OLD_NOTE_MARK)
        .execute(s.pool())
        .await
        .unwrap();
        // As version 0008 wrote them: cards sealed, dates and notes clear.
        s.replace_insured(INS2, &[dated(2, "20240401", "")], "kenpo1")
            .await
            .unwrap();
        sqlx::query("UPDATE insured SET valid_from = '20240401', valid_to = $1 WHERE insurer = $2")
            .bind(V8_TO_MARK)
            .bind(INS2)
            .execute(s.pool())
            .await
            .unwrap();
        let raw = raw_dates_and_notes(&s).await;
        for mark in [OLD_FROM_MARK, V8_TO_MARK, OLD_NOTE_MARK] {
            assert!(raw.iter().any(|v| v == mark), "control: {mark} clear");
        }
        for mark in [FROM_MARK, TO_MARK, NOTE_MARK] {
            assert!(!raw.iter().any(|v| v.contains(mark)), "{mark} in the clear");
        }
        s.close().await;
        if db == "sqlite" {
            assert!(hits_in_sqlite_files(&data, OLD_FROM_MARK) > 0, "control");
            assert!(hits_in_sqlite_files(&data, OLD_NOTE_MARK) > 0, "control");
        }
        let s = open().await.unwrap();
        check_dates_and_notes(&s).await;
        s.close().await;
        // A second open finds nothing to migrate.
        let s = open().await.unwrap();
        check_dates_and_notes(&s).await;
        s.close().await;
        if db == "sqlite" {
            for mark in [
                FROM_MARK,
                TO_MARK,
                OLD_FROM_MARK,
                V8_TO_MARK,
                NOTE_MARK,
                OLD_NOTE_MARK,
            ] {
                assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
            }
        }
    }
}
