//! Invitation rows on both databases: roster history, serial counters, issued vouchers in
//! the checker's ledger (and surviving a vouchers.csv import), templates, letter runs,
//! reminder rounds, returned mail and the responders query.

use daiko_store::invite::{
    CardRow, IssuedBatch, IssuedRow, LetterRun, MemberRow, NewRoster, ReminderRoundRow,
};
use daiko_store::reference::VoucherRow;
use daiko_store::submissions::{NewSubmission, RecordRow};
use daiko_store::{Store, testdb};

async fn each(f: impl AsyncFn(&'static str, Store)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        f(name, store).await;
    }
}

fn card(n: &str) -> CardRow {
    CardRow {
        symbol: "S".into(),
        number: n.into(),
        branch: String::new(),
    }
}

fn issued(number: &str, n: &str, roster: &str) -> IssuedRow {
    IssuedRow {
        fiscal_year: 2024,
        kind: 1,
        number: number.into(),
        card: card(n),
        roster_id: roster.into(),
        voucher_json: format!("{{\"number\":\"{number}\"}}"),
        ledger_json: format!("{{\"seq\":0,\"number\":\"{number}\",\"issued\":true}}"),
        issued_at: daiko_store::now(),
        issued_by: "kenpo1".into(),
    }
}

const INS: &str = "06139999";

fn batch<'a>(from: u32, next: u32, rows: &'a [IssuedRow], by: &'a str) -> IssuedBatch<'a> {
    IssuedBatch {
        insurer: INS,
        fiscal_year: 2024,
        kind: 1,
        from_serial: from,
        next_serial: next,
        rows,
        by,
    }
}

#[tokio::test]
async fn rosters_keep_history() {
    each(async |_db, s| {
        assert!(s.current_roster(INS).await.unwrap().is_none());
        let members: Vec<MemberRow> = (0..3)
            .map(|i| MemberRow {
                card: card(&format!("{i:02}")),
                member_json: format!("{{\"i\":{i}}}"),
            })
            .collect();
        let r1 = s
            .add_roster(&NewRoster {
                insurer: INS,
                sha256: "aa",
                encoding: "shift_jis",
                file_name: "roster.csv",
                imported_by: "kenpo1",
                members: &members,
            })
            .await
            .unwrap();
        assert_eq!((r1.version, r1.members), (1, 3));
        let r2 = s
            .add_roster(&NewRoster {
                insurer: INS,
                sha256: "bb",
                encoding: "utf8",
                file_name: "roster2.csv",
                imported_by: "kenpo1",
                members: &members[..1],
            })
            .await
            .unwrap();
        assert_eq!(r2.version, 2);
        assert_eq!(s.current_roster(INS).await.unwrap().unwrap().id, r2.id);
        let all = s.rosters(INS).await.unwrap();
        assert_eq!(
            all.iter().map(|r| r.version).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert_eq!(all[1].encoding, "shift_jis");
        let back = s.roster_members(&r1.id).await.unwrap();
        assert_eq!(back, members);
        assert_eq!(s.roster_members(&r2.id).await.unwrap().len(), 1);
        // Another insurer's roster starts at version 1.
        let other = s
            .add_roster(&NewRoster {
                insurer: "06130000",
                sha256: "cc",
                encoding: "utf8",
                file_name: "",
                imported_by: "x",
                members: &[],
            })
            .await
            .unwrap();
        assert_eq!(other.version, 1);
    })
    .await;
}

#[tokio::test]
async fn issued_vouchers_are_in_the_ledger_and_survive_an_import() {
    each(async |_db, s| {
        assert_eq!(s.next_voucher_serial(INS, 2024, 1).await.unwrap(), 1);
        assert_eq!(s.loaded_kinds(INS).await.unwrap().vouchers, None);
        let run = [
            issued("24100000001", "01", "r"),
            issued("24100000002", "02", "r"),
        ];
        s.record_issued_vouchers(&batch(1, 3, &run, "kenpo1"))
            .await
            .unwrap();
        assert_eq!(s.next_voucher_serial(INS, 2024, 1).await.unwrap(), 3);
        assert_eq!(s.next_voucher_serial(INS, 2024, 2).await.unwrap(), 1);
        assert_eq!(s.next_voucher_serial(INS, 2025, 1).await.unwrap(), 1);
        // The checker's ledger has them and the kind counts as loaded.
        assert_eq!(s.loaded_kinds(INS).await.unwrap().vouchers, Some(2));
        let rows = s.voucher_rows(INS, 1, "24100000001").await.unwrap();
        assert_eq!(rows, vec![run[0].ledger_json.clone()]);
        // A stale run (counter moved on) writes nothing.
        let stale = s
            .record_issued_vouchers(&batch(1, 2, &[issued("24100000001", "09", "r")], "x"))
            .await
            .unwrap_err();
        assert!(stale.is_unique_violation());
        // The same member twice in a year is refused, and nothing of the run is kept.
        let again = s
            .record_issued_vouchers(&batch(
                3,
                5,
                &[
                    issued("24100000003", "03", "r"),
                    issued("24100000004", "01", "r"),
                ],
                "x",
            ))
            .await
            .unwrap_err();
        assert!(again.is_unique_violation(), "{again}");
        assert_eq!(s.next_voucher_serial(INS, 2024, 1).await.unwrap(), 3);
        assert!(
            s.voucher_rows(INS, 1, "24100000003")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.issued_vouchers(INS, 2024, None).await.unwrap().len(), 2);
        assert_eq!(
            s.issued_vouchers(INS, 2024, Some(2)).await.unwrap().len(),
            0
        );

        // The insurer imports its own vouchers.csv: its rows replace the old import, the
        // issued vouchers stay, and a number the import already uses is never issued.
        let imported = VoucherRow {
            kind: 1,
            number: "24100000040".into(),
            card_symbol: "S".into(),
            card_number: "77".into(),
            row_json: "{\"seq\":0,\"imported\":true}".into(),
        };
        s.replace_vouchers(INS, std::slice::from_ref(&imported), "kenpo1")
            .await
            .unwrap();
        assert_eq!(
            s.voucher_rows(INS, 1, "24100000040").await.unwrap(),
            vec![imported.row_json.clone()]
        );
        assert_eq!(
            s.voucher_rows(INS, 1, "24100000002").await.unwrap(),
            vec![run[1].ledger_json.clone()]
        );
        assert_eq!(s.next_voucher_serial(INS, 2024, 1).await.unwrap(), 41);
        // A second import without that row drops it; issued rows still stay.
        s.replace_vouchers(INS, &[], "kenpo1").await.unwrap();
        assert!(
            s.voucher_rows(INS, 1, "24100000040")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.voucher_rows(INS, 1, "24100000001").await.unwrap().len(),
            1
        );
        assert_eq!(s.next_voucher_serial(INS, 2024, 1).await.unwrap(), 3);
        // Another insurer's import does not bring this insurer's vouchers along.
        s.replace_vouchers("06130000", &[], "x").await.unwrap();
        assert!(
            s.voucher_rows("06130000", 1, "24100000001")
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn templates_runs_reminders_returned_mail() {
    each(async |_db, s| {
        assert!(s.invite_settings(INS).await.unwrap().is_none());
        s.set_invite_settings(INS, "{\"a\":1}", "k").await.unwrap();
        s.set_invite_settings(INS, "{\"a\":2}", "k").await.unwrap();
        assert_eq!(s.invite_settings(INS).await.unwrap().unwrap(), "{\"a\":2}");

        assert_eq!(
            s.add_invite_template(INS, "{\"t\":1}", "k").await.unwrap(),
            1
        );
        assert_eq!(
            s.add_invite_template(INS, "{\"t\":2}", "k").await.unwrap(),
            2
        );
        let t = s.invite_templates(INS).await.unwrap();
        assert_eq!(
            (t[0].version, t[0].template_json.as_str()),
            (2, "{\"t\":2}")
        );
        assert_eq!(t.len(), 2);

        let id = s
            .add_letter_run(&LetterRun {
                id: String::new(),
                insurer: INS.into(),
                fiscal_year: 2024,
                roster_id: "r".into(),
                template_version: 2,
                letters: 10,
                files: 1,
                unmailable: 2,
                barcoded: 9,
                run_at: daiko_store::now(),
                run_by: "k".into(),
            })
            .await
            .unwrap();
        let runs = s.letter_runs(INS, 2024).await.unwrap();
        assert_eq!((runs[0].id.as_str(), runs[0].letters), (id.as_str(), 10));
        assert!(s.letter_runs(INS, 2025).await.unwrap().is_empty());

        let round = ReminderRoundRow {
            insurer: INS.into(),
            fiscal_year: 2024,
            round: 1,
            sent_on: "2024-09-30".into(),
            variants_json: "[\"A\",\"B\"]".into(),
            created_at: daiko_store::now(),
            created_by: "k".into(),
            items: vec![(card("02"), 1), (card("01"), 0)],
        };
        s.add_reminder_round(&round).await.unwrap();
        assert!(
            s.add_reminder_round(&round)
                .await
                .unwrap_err()
                .is_unique_violation()
        );
        let back = s.reminder_rounds(INS, 2024).await.unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].items, vec![(card("01"), 0), (card("02"), 1)]);
        assert_eq!(back[0].sent_on, "2024-09-30");

        s.mark_returned_mail(INS, &card("05"), "転居先不明", "k")
            .await
            .unwrap();
        s.mark_returned_mail(INS, &card("05"), "again", "k")
            .await
            .unwrap();
        assert_eq!(s.returned_mail(INS).await.unwrap(), vec![card("05")]);
        assert!(s.unmark_returned_mail(INS, &card("05")).await.unwrap());
        assert!(!s.unmark_returned_mail(INS, &card("05")).await.unwrap());
        assert!(s.returned_mail(INS).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn checkups_of_year_skip_returned_and_rejected() {
    each(async |_db, s| {
        let inst = s
            .add_org(
                daiko_store::orgs::OrgKind::Institution,
                "1311111111",
                "機関",
                &[],
            )
            .await
            .unwrap();
        let mut tx = s.begin().await.unwrap();
        let receipt = s.next_receipt_no(&mut tx, "20241001").await.unwrap();
        s.insert_submission_in(
            &mut tx,
            &NewSubmission {
                id: "sub1",
                org_id: &inst.id,
                uploaded_by: None,
                channel: "api",
                archive_name: "a.zip",
                sha256: "00",
                size: 1,
                blob_key: "k",
            },
            &receipt,
        )
        .await
        .unwrap();
        let rec = |seq: i64, number: &str, event: i64, fy: i64, state: &str| RecordRow {
            id: daiko_store::new_id(),
            submission_id: "sub1".into(),
            seq,
            data_file: format!("d{seq}"),
            claim_file: format!("c{seq}"),
            insurer: INS.into(),
            institution: inst.number.clone(),
            voucher: format!("2410000000{seq}"),
            card_symbol: "S".into(),
            card_number: number.into(),
            service_event_type: event,
            guidance_timing: None,
            service_date: "20241001".into(),
            fiscal_year: fy,
            outcome: "accepted".into(),
            return_reason: None,
            state: state.into(),
            cost: 0,
            copayment: 0,
            other_program: 0,
            claim: 0,
            delivery_id: None,
        };
        s.insert_records_in(
            &mut tx,
            &[
                rec(1, "01", 1, 2024, "delivered"),
                rec(2, "02", 1, 2024, "returned"),
                rec(3, "03", 1, 2024, "rejected"),
                rec(4, "04", 2, 2024, "accepted"),
                rec(5, "05", 1, 2023, "accepted"),
                rec(6, "06", 1, 2024, "held"),
            ],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let seen = s.checkups_of_year(INS, 2024).await.unwrap();
        let mut numbers: Vec<&str> = seen.iter().map(|c| c.card_number.as_str()).collect();
        numbers.sort();
        assert_eq!(numbers, vec!["01", "06"]);
    })
    .await;
}
