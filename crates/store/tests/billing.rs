//! Billing rows on both databases: the set-based freeze of a month, the never-twice ledger,
//! offsets and bank accounts (PostgreSQL skipped with a message when absent).

use daiko_store::billing::{FreezeMonth, NewOffset};
use daiko_store::orgs::OrgKind;
use daiko_store::submissions::{NewDelivery, NewSubmission, RecordRow};
use daiko_store::{Store, StoreError, testdb};

async fn each(f: impl AsyncFn(&'static str, Store)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        f(name, store).await;
    }
}

/// A record row with the fields billing reads.
#[allow(clippy::too_many_arguments)]
fn rec(
    id: &str,
    sub: &str,
    seq: i64,
    insurer: &str,
    card: &str,
    kind: i64,
    voucher: &str,
    timing: Option<&str>,
    service_date: &str,
    state: &str,
    claim: i64,
) -> RecordRow {
    RecordRow {
        id: id.into(),
        submission_id: sub.into(),
        seq,
        data_file: format!("DATA/{id}.xml"),
        claim_file: format!("CLAIMS/{id}.xml"),
        insurer: insurer.into(),
        institution: "1310000001".into(),
        voucher: voucher.into(),
        card_symbol: String::new(),
        card_number: card.into(),
        service_event_type: kind,
        guidance_timing: timing.map(str::to_string),
        service_date: service_date.into(),
        fiscal_year: 2026,
        outcome: if state == "returned" {
            "returned"
        } else {
            "accepted"
        }
        .into(),
        return_reason: None,
        state: state.into(),
        cost: claim + 1000,
        copayment: 1000,
        other_program: 0,
        claim,
        delivery_id: None,
    }
}

async fn submit(s: &Store, id: &str, org_id: &str, records: &[RecordRow]) {
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

fn freeze<'a>(month: &'a str, cutoff: &'a str, late_before: &'a str) -> FreezeMonth<'a> {
    FreezeMonth {
        month,
        cutoff,
        late_before,
        closed_by: "tester",
        calendar_json: "{\"deadline_day\":5}",
        fees_json: "{}",
    }
}

fn later() -> String {
    daiko_store::format_ts(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600))
}

#[tokio::test]
async fn freeze_month_ledger_offsets_and_accounts() {
    each(async |_db, s| {
        let inst = s
            .add_org(OrgKind::Institution, "1310000001", "病院", &[])
            .await
            .unwrap();
        let ins = s
            .add_org(
                OrgKind::Insurer,
                "06130001",
                "健保",
                &["check", "route", "billing"],
            )
            .await
            .unwrap();
        // An insurer that does not subscribe to billing: its records are never billed here.
        s.add_org(OrgKind::Insurer, "06130002", "別健保", &["check", "route"])
            .await
            .unwrap();
        let first = vec![
            rec(
                "r1", "s1", 0, "06130001", "111", 1, "v1", None, "20261105", "accepted", 7000,
            ),
            // the same person and fiscal year again: U-01, left unbilled
            rec(
                "r2", "s1", 1, "06130001", "111", 1, "v2", None, "20261106", "accepted", 7000,
            ),
            rec(
                "r3",
                "s1",
                2,
                "06130001",
                "222",
                2,
                "g1",
                Some("1"),
                "20261107",
                "accepted",
                3000,
            ),
            rec(
                "r4", "s1", 3, "06130001", "333", 1, "v4", None, "20260901", "accepted", 5000,
            ),
            rec(
                "r5", "s1", 4, "06130001", "444", 1, "v5", None, "20261108", "returned", 9000,
            ),
            rec(
                "r6", "s1", 5, "06130002", "555", 1, "v6", None, "20261108", "accepted", 8000,
            ),
        ];
        submit(&s, "s1", &inst.id, &first).await;
        // r1 and r3 went to the insurer (種別3); r4 still waits for its monthly batch.
        let mut tx = s.begin().await.unwrap();
        s.insert_delivery_in(
            &mut tx,
            &NewDelivery {
                id: "d1",
                recipient_id: &ins.id,
                kind: 3,
                submission_id: Some("s1"),
                archive_name: "d1.zip",
                blob_key: "deliveries/d1.zip",
                sha256: "aa",
                records: 2,
                claim_total: 10000,
            },
            &["r1".to_string(), "r3".to_string()],
            "delivered",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let between = daiko_store::now();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        // Received after the cut-off of 2026-12: joins 2027-01.
        submit(
            &s,
            "s2",
            &inst.id,
            &[rec(
                "r7", "s2", 0, "06130001", "777", 1, "v7", None, "20261201", "accepted", 6000,
            )],
        )
        .await;

        let mut tx = s.begin().await.unwrap();
        let out = s
            .freeze_billing_month_in(&mut tx, &freeze("2026-12", &between, "202611"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((out.lines, out.claim_total), (3, 15000));
        assert_eq!(out.excluded.len(), 1);
        assert_eq!(out.excluded[0].record_id, "r2");
        assert_eq!(out.excluded[0].billed_record_id, "r1");
        // The ledger key names the card by its blind index (S18), never in the clear.
        let key111 = format!(
            "CI:06130001:{}:2026",
            s.index_key("06130001").await.unwrap().index("card", "111")
        );
        assert_eq!(out.excluded[0].key, key111);
        let lines = s.billing_lines_with("2026-12", |l| l).await.unwrap();
        let ids: Vec<&str> = lines.iter().map(|l| l.record_id.as_str()).collect();
        assert_eq!(ids, ["r1", "r3", "r4"]);
        assert!(
            lines[2].late,
            "a September service billed in December is 月遅れ"
        );
        assert!(!lines[0].late);
        assert_eq!(lines[1].kind, "guidance");
        assert_eq!(lines[1].guidance_timing.as_deref(), Some("1"));
        // Paging gives the same lines in the same order.
        let paged = s
            .billing_lines_paged_with("2026-12", 1, |l| l.record_id)
            .await
            .unwrap();
        assert_eq!(paged, ["r1", "r3", "r4"]);
        let state = async |id: &str| s.record(id).await.unwrap().unwrap().state;
        assert_eq!(state("r1").await, "invoiced");
        assert_eq!(
            state("r4").await,
            "accepted",
            "undelivered records keep their state"
        );
        assert_eq!(state("r2").await, "accepted");
        let m = s.billing_month("2026-12").await.unwrap().unwrap();
        assert_eq!((m.lines, m.claim_total), (3, 15000));
        assert!(m.excluded_json.contains("r2"));
        assert_eq!(m.calendar_json, "{\"deadline_day\":5}");

        // A second freeze of the month is refused and changes nothing.
        let mut tx = s.begin().await.unwrap();
        let again = s
            .freeze_billing_month_in(&mut tx, &freeze("2026-12", &later(), "202611"))
            .await;
        assert!(matches!(again, Err(StoreError::Duplicate { .. })));
        drop(tx);
        assert_eq!(
            s.billing_lines_with("2026-12", |l| l).await.unwrap().len(),
            3
        );

        // A 過誤 on r1: offset pending, ledger key freed.
        let mut tx = s.begin().await.unwrap();
        s.insert_offset_in(
            &mut tx,
            &NewOffset {
                id: "o1",
                insurer: "06130001",
                institution: "1310000001",
                record_id: Some("r1"),
                reason_code: "01",
                reason_text: "記号番号誤り",
                amount: 7000,
                requested_by: "tester",
                origin_month: Some("2026-12"),
            },
        )
        .await
        .unwrap();
        assert!(s.reverse_ledger_in(&mut tx, "r1", "o1").await.unwrap());
        assert!(!s.reverse_ledger_in(&mut tx, "r1", "o1").await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = s.begin().await.unwrap();
        let dup = s
            .insert_offset_in(
                &mut tx,
                &NewOffset {
                    id: "o2",
                    insurer: "06130001",
                    institution: "1310000001",
                    record_id: Some("r1"),
                    reason_code: "07",
                    reason_text: "",
                    amount: 7000,
                    requested_by: "tester",
                    origin_month: None,
                },
            )
            .await
            .unwrap_err();
        assert!(dup.is_unique_violation(), "a record is offset once");
        drop(tx);
        assert_eq!(s.pending_offsets().await.unwrap().len(), 1);
        let l1 = s.ledger_of_record("r1").await.unwrap().unwrap();
        assert_eq!(
            (l1.key.as_str(), l1.state.as_str()),
            (format!("{key111}~o1").as_str(), "reversed")
        );

        // January: r7 (received after December's cut-off) and the offset join; r2 now holds
        // the freed key (a corrected claim for the same person) and is billed.
        let mut tx = s.begin().await.unwrap();
        let out = s
            .freeze_billing_month_in(&mut tx, &freeze("2027-01", &later(), "202612"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((out.lines, out.claim_total, out.offsets), (2, 13000, 1));
        assert!(out.excluded.is_empty());
        let ids = s
            .billing_lines_with("2027-01", |l| l.record_id)
            .await
            .unwrap();
        assert_eq!(ids, ["r2", "r7"]);
        let offs = s.offsets_of_month("2027-01").await.unwrap();
        assert_eq!(offs.len(), 1);
        assert_eq!(offs[0].month.as_deref(), Some("2027-01"));
        assert!(s.pending_offsets().await.unwrap().is_empty());
        assert_eq!(s.ledger_key_count(&key111).await.unwrap(), 1);
        assert_eq!(
            s.ledger_of_record("r2").await.unwrap().unwrap().month,
            "2027-01"
        );
        let mut tx = s.begin().await.unwrap();
        assert_eq!(
            s.latest_billing_month_in(&mut tx).await.unwrap().as_deref(),
            Some("2027-01")
        );
        drop(tx);
        assert_eq!(
            s.billing_months()
                .await
                .unwrap()
                .iter()
                .map(|m| m.month.as_str())
                .collect::<Vec<_>>(),
            ["2026-12", "2027-01"]
        );
        // Nothing left to bill: an empty month closes with zero lines.
        let mut tx = s.begin().await.unwrap();
        let out = s
            .freeze_billing_month_in(&mut tx, &freeze("2027-02", &later(), "202701"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((out.lines, out.claim_total, out.offsets), (0, 0, 0));

        // A carry from an earlier month joins the next close even when recorded late.
        let mut tx = s.begin().await.unwrap();
        s.insert_offset_in(
            &mut tx,
            &NewOffset {
                id: "c1",
                insurer: "",
                institution: "1310000001",
                record_id: None,
                reason_code: "carry",
                reason_text: "",
                amount: 500,
                requested_by: "system",
                origin_month: Some("2027-02"),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = s.begin().await.unwrap();
        let out = s
            .freeze_billing_month_in(
                &mut tx,
                &freeze("2027-03", "2000-01-01T00:00:00.000000Z", "202702"),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(out.offsets, 1);

        // Record states move only from the named states.
        let mut tx = s.begin().await.unwrap();
        assert!(
            s.set_record_state_in(&mut tx, "r5", &["returned"], "withdrawn")
                .await
                .unwrap()
        );
        assert!(
            !s.set_record_state_in(&mut tx, "r5", &["returned"], "withdrawn")
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        assert_eq!(state("r5").await, "withdrawn");

        // Bank accounts: set, replace, list by organisation number.
        let mut tx = s.begin().await.unwrap();
        s.set_bank_account_in(&mut tx, &inst.id, "{\"a\":1}", "tester")
            .await
            .unwrap();
        s.set_bank_account_in(&mut tx, &inst.id, "{\"a\":2}", "tester")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            s.bank_account(&inst.id).await.unwrap().as_deref(),
            Some("{\"a\":2}")
        );
        assert_eq!(
            s.bank_accounts().await.unwrap(),
            vec![("1310000001".to_string(), "{\"a\":2}".to_string())]
        );
        assert!(s.bank_account(&ins.id).await.unwrap().is_none());
        let line = s.billing_line("r3").await.unwrap().unwrap();
        assert_eq!((line.month.as_str(), line.claim), ("2026-12", 3000));
        assert!(s.billing_line("r5").await.unwrap().is_none());
        assert!(s.offset_of_record("r1").await.unwrap().is_some());
    })
    .await;
}
