//! Column-level encryption of personal fields (S18): roster members are sealed in the
//! database (nothing of them readable in the SQLite file or its write-ahead log, nor in the
//! raw PostgreSQL columns), values do not open when moved to another row, and rows written in
//! the clear by an older version are sealed (and scrubbed from the file) at the next open.

use std::path::Path;

use daiko_store::invite::{CardRow, IssuedBatch, IssuedRow, MemberRow, NewRoster, RosterInfo};
use daiko_store::reference::VoucherRow;
use daiko_store::{KeyringConfig, Store, testdb};
use sqlx::Row;

const INS: &str = "06139998";
const NAME_MARK: &str = "ZqxMarkerName";
const CARD_MARK: &str = "97531864";
const ADDR_MARK: &str = "ZqxMarkerStreet";

fn members() -> Vec<MemberRow> {
    (0..3)
        .map(|i| MemberRow {
            card: CardRow {
                symbol: format!("SYM{i}"),
                number: format!("{CARD_MARK}{i}"),
                branch: format!("0{i}"),
            },
            member_json: format!(
                "{{\"name\":\"{NAME_MARK}{i}\",\"address\":\"{ADDR_MARK} {i}\",\"birth\":\"19600{i}01\"}}"
            ),
        })
        .collect()
}

fn roster<'a>(m: &'a [MemberRow]) -> NewRoster<'a> {
    NewRoster {
        insurer: INS,
        sha256: "00",
        encoding: "utf8",
        file_name: "roster.csv",
        imported_by: "kenpo1",
        members: m,
    }
}

/// Occurrences of `needle` in the files of the SQLite database (main file, WAL, journal).
fn hits_in_sqlite_files(dir: &Path, needle: &str) -> usize {
    let mut n = 0;
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let path = dir.join(format!("daiko.sqlite3{suffix}"));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        n += bytes
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count();
    }
    n
}

async fn raw_member_columns(s: &Store, roster_id: &str) -> Vec<Vec<String>> {
    sqlx::query(
        "SELECT card_symbol, card_number, card_branch, member_json FROM invite_members \
         WHERE roster_id = $1 ORDER BY seq",
    )
    .bind(roster_id)
    .fetch_all(s.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (0..4).map(|i| r.try_get::<String, _>(i).unwrap()).collect())
    .collect()
}

fn assert_sealed(rows: &[Vec<String>]) {
    assert!(!rows.is_empty());
    for cols in rows {
        for c in cols {
            assert!(c.starts_with("enc1:"), "not sealed: {c}");
            for mark in [NAME_MARK, CARD_MARK, ADDR_MARK, "SYM"] {
                assert!(!c.contains(mark), "{mark} in the clear: {c}");
            }
        }
    }
}

async fn check_sealed_roster(s: &Store) -> RosterInfo {
    let m = members();
    let info = s.add_roster(&roster(&m)).await.unwrap();
    assert_eq!(s.roster_members(&info.id).await.unwrap(), m);
    let raw = raw_member_columns(s, &info.id).await;
    assert_sealed(&raw);
    // Two encryptions of the same value differ (fresh key and nonce per value).
    let again = s.add_roster(&roster(&m)).await.unwrap();
    assert_ne!(raw, raw_member_columns(s, &again.id).await);

    info
}

async fn check_sealed_vouchers(s: &Store, info: &RosterInfo) {
    let m = members();
    // Issued vouchers and the checker's ledger (names, birth dates) are sealed too, and
    // the ledger rows an import trigger copies back still open.
    let issued: Vec<IssuedRow> = m
        .iter()
        .enumerate()
        .map(|(i, mm)| IssuedRow {
            fiscal_year: 2024,
            kind: 1,
            number: format!("2410000000{i}"),
            card: mm.card.clone(),
            roster_id: info.id.clone(),
            voucher_json: format!("{{\"name\":\"{NAME_MARK}{i}\"}}"),
            ledger_json: format!("{{\"name\":\"{NAME_MARK}{i}\",\"card\":\"{CARD_MARK}\"}}"),
            issued_at: daiko_store::now(),
            issued_by: "kenpo1".into(),
        })
        .collect();
    s.record_issued_vouchers(&IssuedBatch {
        insurer: INS,
        fiscal_year: 2024,
        kind: 1,
        from_serial: 0,
        next_serial: 3,
        rows: &issued,
        by: "kenpo1",
    })
    .await
    .unwrap();
    let imported = VoucherRow {
        kind: 1,
        number: "24100000050".into(),
        card_symbol: String::new(),
        card_number: "1".into(),
        row_json: format!("{{\"name\":\"{NAME_MARK}-imported\"}}"),
    };
    s.replace_vouchers(INS, std::slice::from_ref(&imported), "kenpo1")
        .await
        .unwrap();
    assert_eq!(s.issued_vouchers(INS, 2024, None).await.unwrap(), issued);
    assert_eq!(
        s.voucher_rows(INS, 1, "24100000001").await.unwrap(),
        vec![issued[1].ledger_json.clone()]
    );
    assert_eq!(
        s.voucher_rows(INS, 1, "24100000050").await.unwrap(),
        vec![imported.row_json.clone()]
    );
    let raw: Vec<String> = sqlx::query_scalar(
        "SELECT voucher_json FROM invite_vouchers UNION ALL SELECT ledger_json FROM invite_vouchers \
         UNION ALL SELECT row_json FROM vouchers",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    // 3 issued (voucher and ledger JSON), the ledger: 3 issued copied back + 1 imported.
    assert_eq!(raw.len(), 10);
    assert_sealed(&[raw]);
}

async fn check_moves_fail(s: &Store) {
    let m = members();
    let info = s.add_roster(&roster(&m)).await.unwrap();
    let again = s.add_roster(&roster(&m)).await.unwrap();
    // A sealed value moved to another row (or column) does not open.
    sqlx::query(
        "UPDATE invite_members SET member_json = (SELECT member_json FROM invite_members \
         WHERE roster_id = $1 AND seq = 1) WHERE roster_id = $1 AND seq = 0",
    )
    .bind(&again.id)
    .execute(s.pool())
    .await
    .unwrap();
    let err = s.roster_members(&again.id).await.unwrap_err();
    assert!(err.to_string().contains("authenticate"), "{err}");
    sqlx::query(
        "UPDATE invite_members SET card_number = card_symbol WHERE roster_id = $1 AND seq = 2",
    )
    .bind(&info.id)
    .execute(s.pool())
    .await
    .unwrap();
    assert!(s.roster_members(&info.id).await.is_err());
}

#[tokio::test]
async fn roster_members_are_sealed_on_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Store::open(&data, None).await.unwrap();
    let info = check_sealed_roster(&s).await;
    for mark in [NAME_MARK, CARD_MARK, ADDR_MARK] {
        assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
    }
    check_sealed_vouchers(&s, &info).await;
    check_moves_fail(&s).await;
    s.close().await;
    // Issued vouchers' numbers and card keys and the ledger's numbers are sealed too:
    // names, addresses, card and voucher numbers are nowhere.
    for mark in [NAME_MARK, ADDR_MARK, CARD_MARK, "2410000000"] {
        assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
    }
}

#[tokio::test]
async fn roster_members_are_sealed_on_postgres() {
    let Some(url) = testdb::fresh_postgres_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyringConfig::from_env(dir.path(), &|_| None).unwrap();
    let s = Store::connect(&url, &dir.path().join("blobs"), keys)
        .await
        .unwrap();
    let info = check_sealed_roster(&s).await;
    check_sealed_vouchers(&s, &info).await;
    check_moves_fail(&s).await;
}

/// Writes a roster the way a version before column encryption did (clear columns).
async fn write_clear_roster(s: &Store) -> String {
    let id = daiko_store::new_id();
    sqlx::query(
        "INSERT INTO invite_rosters (id, insurer, version, sha256, encoding, members, file_name, \
         imported_by, imported_at) VALUES ($1, $2, 1, '00', 'utf8', 3, 'old.csv', 'kenpo1', $3)",
    )
    .bind(&id)
    .bind(INS)
    .bind(daiko_store::now())
    .execute(s.pool())
    .await
    .unwrap();
    for (seq, m) in members().iter().enumerate() {
        sqlx::query(
            "INSERT INTO invite_members (roster_id, seq, card_symbol, card_number, card_branch, \
             member_json) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(seq as i64)
        .bind(&m.card.symbol)
        .bind(&m.card.number)
        .bind(&m.card.branch)
        .bind(&m.member_json)
        .execute(s.pool())
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO invite_vouchers (insurer, fiscal_year, kind, number, card_symbol, \
         card_number, card_branch, roster_id, voucher_json, ledger_json, issued_at, issued_by) \
         VALUES ($1, 2024, 1, '24100000007', 'S', '7', '', $2, $3, $4, $5, 'kenpo1')",
    )
    .bind(INS)
    .bind(&id)
    .bind(format!("{{\"name\":\"{NAME_MARK}-voucher\"}}"))
    .bind(format!("{{\"name\":\"{NAME_MARK}-ledger\"}}"))
    .bind(daiko_store::now())
    .execute(s.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO vouchers (insurer, kind, number, card_symbol, card_number, row_json) \
         VALUES ($1, 1, '24100000007', 'S', '7', $2)",
    )
    .bind(INS)
    .bind(format!("{{\"name\":\"{NAME_MARK}-ledger\"}}"))
    .execute(s.pool())
    .await
    .unwrap();
    id
}

async fn check_migrated(s: &Store, id: &str) {
    assert_sealed(&raw_member_columns(s, id).await);
    assert_eq!(s.roster_members(id).await.unwrap(), members());
    let v = s.issued_vouchers(INS, 2024, None).await.unwrap();
    assert_eq!(v.len(), 1);
    assert!(v[0].voucher_json.contains(NAME_MARK));
    assert_eq!(
        s.voucher_rows(INS, 1, "24100000007").await.unwrap(),
        vec![format!("{{\"name\":\"{NAME_MARK}-ledger\"}}")]
    );
    let raw: Vec<String> = sqlx::query_scalar(
        "SELECT voucher_json FROM invite_vouchers UNION ALL SELECT ledger_json FROM invite_vouchers \
         UNION ALL SELECT row_json FROM vouchers",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert_sealed(&[raw]);
}

#[tokio::test]
async fn clear_roster_rows_are_sealed_at_open_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Store::open(&data, None).await.unwrap();
    let id = write_clear_roster(&s).await;
    s.close().await;
    assert!(
        hits_in_sqlite_files(&data, NAME_MARK) > 0,
        "the old rows are clear"
    );
    let s = Store::open(&data, None).await.unwrap();
    check_migrated(&s, &id).await;
    s.close().await;
    // Rewritten, and the old pages and log frames scrubbed.
    for mark in [NAME_MARK, CARD_MARK, ADDR_MARK, "24100000007"] {
        assert_eq!(hits_in_sqlite_files(&data, mark), 0, "{mark} in the files");
    }
}

#[tokio::test]
async fn clear_roster_rows_are_sealed_at_open_on_postgres() {
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
    let id = write_clear_roster(&s).await;
    s.close().await;
    let s = open().await;
    check_migrated(&s, &id).await;
}
