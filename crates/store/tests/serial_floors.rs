//! The next voucher serial without opening the sealed ledger (S18): an import records the
//! serial after its highest number per prefix, issuing reads that and the counter only (a
//! ledger whose numbers no longer open does not stop it), a number already in the ledger
//! refuses the run through the blind index, and a ledger stored before the floors is
//! measured once at open. On SQLite and PostgreSQL.

use daiko_store::invite::{CardRow, IssuedBatch, IssuedRow};
use daiko_store::reference::VoucherRow;
use daiko_store::{KeyringConfig, Store, testdb};

const INS: &str = "06139995";

fn ledger_row(kind: i64, number: &str, card: &str) -> VoucherRow {
    VoucherRow {
        kind,
        number: number.into(),
        card_symbol: "S".into(),
        card_number: card.into(),
        row_json: format!("{{\"number\":\"{number}\"}}"),
    }
}

fn ledger() -> Vec<VoucherRow> {
    vec![
        ledger_row(1, "26100000005", "1"),
        ledger_row(1, "26100000002", "2"),
        ledger_row(2, "26200000009", "3"),
        ledger_row(1, "25100000100", "4"),
        // Not of the 11-digit form: no floor.
        ledger_row(1, "123", "5"),
    ]
}

fn issued(number: &str, card: &str) -> IssuedRow {
    IssuedRow {
        fiscal_year: 2026,
        kind: 1,
        number: number.into(),
        card: CardRow {
            symbol: "S".into(),
            number: card.into(),
            branch: String::new(),
        },
        roster_id: "r".into(),
        voucher_json: "{}".into(),
        ledger_json: format!("{{\"number\":\"{number}\"}}"),
        issued_at: daiko_store::now(),
        issued_by: "kenpo1".into(),
    }
}

fn batch<'a>(from: u32, next: u32, rows: &'a [IssuedRow]) -> IssuedBatch<'a> {
    IssuedBatch {
        insurer: INS,
        fiscal_year: 2026,
        kind: 1,
        from_serial: from,
        next_serial: next,
        rows,
        by: "kenpo1",
    }
}

async fn serials(s: &Store) -> [u32; 4] {
    [
        s.next_voucher_serial(INS, 2026, 1).await.unwrap(),
        s.next_voucher_serial(INS, 2026, 2).await.unwrap(),
        s.next_voucher_serial(INS, 2025, 1).await.unwrap(),
        s.next_voucher_serial(INS, 2027, 1).await.unwrap(),
    ]
}

async fn open(db: &str, dir: &std::path::Path, url: Option<&str>) -> Option<Store> {
    match db {
        "sqlite" => Some(Store::open(&dir.join("data"), None).await.unwrap()),
        _ => {
            let keys = KeyringConfig::from_env(dir, &|_| None).unwrap();
            Some(
                Store::connect(url?, &dir.join("blobs-pg"), keys)
                    .await
                    .unwrap(),
            )
        }
    }
}

#[tokio::test]
async fn next_serial_reads_floors_and_counters_not_the_ledger() {
    let url = testdb::fresh_postgres_url().await;
    for db in ["sqlite", "postgres"] {
        let dir = tempfile::tempdir().unwrap();
        let Some(s) = open(db, dir.path(), url.as_deref()).await else {
            continue;
        };
        eprintln!("-- on {db}");
        assert_eq!(serials(&s).await, [1, 1, 1, 1]);
        s.replace_vouchers(INS, &ledger(), "kenpo1").await.unwrap();
        assert_eq!(serials(&s).await, [6, 10, 101, 1]);

        // Issuing reads no ledger number: with every number unreadable it still works
        // (searching the ledger would fail to open them). Kept aside and put back after.
        let saved: Vec<(String, String)> =
            sqlx::query_as("SELECT number_idx, number FROM vouchers WHERE insurer = $1")
                .bind(INS)
                .fetch_all(s.pool())
                .await
                .unwrap();
        sqlx::query("UPDATE vouchers SET number = 'enc1:AAAA' WHERE insurer = $1")
            .bind(INS)
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(serials(&s).await, [6, 10, 101, 1]);
        let run = [issued("26100000006", "11"), issued("26100000007", "12")];
        s.record_issued_vouchers(&batch(6, 8, &run)).await.unwrap();
        assert_eq!(serials(&s).await, [8, 10, 101, 1]);
        for (idx, number) in &saved {
            sqlx::query("UPDATE vouchers SET number = $1 WHERE insurer = $2 AND number_idx = $3")
                .bind(number)
                .bind(INS)
                .bind(idx)
                .execute(s.pool())
                .await
                .unwrap();
        }

        // A number already in the ledger (an imported row the floors do not cover, here
        // with the floors lost) refuses the whole run through its blind index.
        let mut with_eight = ledger();
        with_eight.push(ledger_row(1, "26100000008", "6"));
        s.replace_vouchers(INS, &with_eight, "kenpo1")
            .await
            .unwrap();
        assert_eq!(serials(&s).await, [9, 10, 101, 1]);
        sqlx::query("DELETE FROM voucher_serial_floors WHERE insurer = $1")
            .bind(INS)
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(serials(&s).await, [8, 1, 1, 1]);
        let clash = [issued("26100000008", "13"), issued("26100000009", "14")];
        let err = s
            .record_issued_vouchers(&batch(8, 10, &clash))
            .await
            .unwrap_err();
        assert!(err.is_unique_violation(), "{err}");
        assert!(err.to_string().contains("26100000008"), "{err}");
        assert_eq!(s.issued_vouchers(INS, 2026, None).await.unwrap().len(), 2);
        assert_eq!(s.next_voucher_serial(INS, 2026, 1).await.unwrap(), 8);

        // A ledger stored before the floors (as after migration 0009): measured once at
        // open, by opening its numbers.
        sqlx::query("INSERT INTO voucher_serial_floors_pending (insurer) VALUES ($1)")
            .bind(INS)
            .execute(s.pool())
            .await
            .unwrap();
        s.close().await;
        let s = open(db, dir.path(), url.as_deref()).await.unwrap();
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM voucher_serial_floors_pending")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(pending, 0);
        assert_eq!(serials(&s).await, [9, 10, 101, 1]);
        // Pending at issuance (e.g. the open's pass failed): measured then.
        sqlx::query("DELETE FROM voucher_serial_floors WHERE insurer = $1")
            .bind(INS)
            .execute(s.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO voucher_serial_floors_pending (insurer) VALUES ($1)")
            .bind(INS)
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(serials(&s).await, [9, 10, 101, 1]);
        s.close().await;
    }
}
