//! The store's queries on both databases (PostgreSQL skipped with a message when absent).

use daiko_store::audit::AuditEntry;
use daiko_store::orgs::OrgKind;
use daiko_store::submissions::{NewDelivery, NewSubmission, RecordRow};
use daiko_store::users::NewUser;
use daiko_store::{Store, testdb};
use std::time::Duration;

async fn each(f: impl AsyncFn(&'static str, Store)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        f(name, store).await;
    }
}

#[tokio::test]
async fn orgs_users_tokens_sessions() {
    each(async |_db, s| {
        let ins = s
            .add_org(
                OrgKind::Insurer,
                "06139999",
                "テスト健保",
                &["check", "route"],
            )
            .await
            .unwrap();
        assert!(ins.subscribes("route"));
        assert!(
            s.add_org(OrgKind::Insurer, "06139999", "dup", &[])
                .await
                .unwrap_err()
                .is_unique_violation()
        );
        let u = s
            .add_user(&NewUser {
                login: "kenpo1",
                display_name: "保険者 太郎",
                role: "insurer",
                org_id: Some(&ins.id),
                password_hash: "$pbkdf2-sha256$i=1$x$y",
                must_change_password: true,
                totp_secret: "ABC",
            })
            .await
            .unwrap();
        assert!(u.must_change_password);
        assert!(
            !format!("{u:?}").contains("pbkdf2"),
            "hash leaks into Debug"
        );
        s.add_token(&u.id, "hash1").await.unwrap();
        assert_eq!(
            s.user_by_token("hash1").await.unwrap().unwrap().login,
            "kenpo1"
        );
        assert!(s.user_by_token("nope").await.unwrap().is_none());
        s.revoke_tokens(&u.id).await.unwrap();
        assert!(s.user_by_token("hash1").await.unwrap().is_none());
        assert!(s.use_totp_step(&u.id, 100).await.unwrap());
        assert!(
            !s.use_totp_step(&u.id, 100).await.unwrap(),
            "replayed step accepted"
        );
        assert!(s.use_totp_step(&u.id, 101).await.unwrap());
        s.set_setting("k", "v1").await.unwrap();
        s.set_setting("k", "v2").await.unwrap();
        assert_eq!(s.setting("k").await.unwrap().as_deref(), Some("v2"));
    })
    .await;
}

#[tokio::test]
async fn submissions_records_deliveries_and_jobs() {
    each(async |_db, s| {
        let inst = s
            .add_org(OrgKind::Institution, "1310000001", "病院", &[])
            .await
            .unwrap();
        let ins = s
            .add_org(OrgKind::Insurer, "06130001", "健保", &["check", "route"])
            .await
            .unwrap();
        let mut tx = s.begin().await.unwrap();
        let r1 = s.next_receipt_no(&mut tx, "20261124").await.unwrap();
        let r2 = s.next_receipt_no(&mut tx, "20261124").await.unwrap();
        assert_eq!(
            (r1.as_str(), r2.as_str()),
            ("R20261124-000001", "R20261124-000002")
        );
        s.insert_submission_in(
            &mut tx,
            &NewSubmission {
                id: "sub1",
                org_id: &inst.id,
                uploaded_by: None,
                channel: "api",
                archive_name: "a.zip",
                sha256: "ff",
                size: 10,
                blob_key: "archives/sub1.zip",
            },
            &r2,
        )
        .await
        .unwrap();
        assert!(s.enqueue_in(&mut tx, "check", "sub1").await.unwrap());
        tx.commit().await.unwrap();
        assert!(
            !s.enqueue("check", "sub1").await.unwrap(),
            "job created twice"
        );
        assert!(s.archive_seen("a.zip", "00", "other").await.unwrap());
        assert!(!s.archive_seen("a.zip", "ff", "sub1").await.unwrap());

        let job = s
            .claim_job("w1", &["check"], Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.subject, "sub1");
        assert!(
            s.claim_job("w2", &["check"], Duration::from_secs(60))
                .await
                .unwrap()
                .is_none()
        );
        let recs: Vec<RecordRow> = (0..3)
            .map(|i| RecordRow {
                id: format!("rec{i}"),
                submission_id: "sub1".into(),
                seq: i,
                data_file: format!("DATA/h{i}.xml"),
                claim_file: format!("CLAIMS/c{i}.xml"),
                insurer: "06130001".into(),
                institution: "1310000001".into(),
                voucher: format!("2400000000{i}"),
                card_symbol: String::new(),
                card_number: "123".into(),
                service_event_type: 1,
                guidance_timing: None,
                service_date: "20240601".into(),
                fiscal_year: 2024,
                outcome: "accepted".into(),
                return_reason: None,
                state: "accepted".into(),
                cost: 8000,
                copayment: 1000,
                other_program: 0,
                claim: 7000,
                delivery_id: None,
            })
            .collect();
        let mut tx = s.begin().await.unwrap();
        s.insert_records_in(&mut tx, &recs).await.unwrap();
        s.finish_check_in(&mut tx, "sub1", "accepted", "{}", "reports/sub1.json")
            .await
            .unwrap();
        s.insert_delivery_in(
            &mut tx,
            &NewDelivery {
                id: "d1",
                recipient_id: &ins.id,
                kind: 3,
                submission_id: Some("sub1"),
                archive_name: "x.zip",
                blob_key: "deliveries/d1.zip",
                sha256: "aa",
                records: 2,
                claim_total: 14000,
            },
            &["rec0".to_string(), "rec1".to_string()],
            "delivered",
        )
        .await
        .unwrap();
        assert!(s.complete_job_in(&mut tx, &job).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(
            s.job_state("check", "sub1").await.unwrap().as_deref(),
            Some("done")
        );
        let undelivered = s.undelivered_records("06130001", "accepted").await.unwrap();
        assert_eq!(undelivered.len(), 1);
        assert_eq!(
            s.records_of_person("06130001", "123", 2024)
                .await
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            s.records_of_voucher("06130001", "24000000001")
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(s.deliveries(Some(&ins.id), 10).await.unwrap().len(), 1);
        assert!(s.acknowledge_delivery("d1", "kenpo1").await.unwrap());
        assert!(!s.acknowledge_delivery("d1", "kenpo1").await.unwrap());
        assert_eq!(s.submission("sub1").await.unwrap().unwrap().status, "done");
    })
    .await;
}

#[tokio::test]
async fn lost_lease_cannot_complete() {
    each(async |_db, s| {
        s.enqueue("route", "x").await.unwrap();
        let a = s
            .claim_job("a", &["route"], Duration::from_millis(1))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b = s
            .claim_job("b", &["route"], Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(b.attempts, 2);
        let mut tx = s.begin().await.unwrap();
        assert!(
            !s.complete_job_in(&mut tx, &a).await.unwrap(),
            "stale worker completed"
        );
        drop(tx);
        let mut tx = s.begin().await.unwrap();
        assert!(s.complete_job_in(&mut tx, &b).await.unwrap());
        tx.commit().await.unwrap();
        // fail/retry
        s.enqueue("route", "y").await.unwrap();
        let j = s
            .claim_job("a", &["route"], Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        s.fail_job(&j, "boom", Duration::ZERO, 1).await.unwrap();
        assert_eq!(
            s.job_state("route", "y").await.unwrap().as_deref(),
            Some("failed")
        );
        assert_eq!(s.retry_failed_jobs("route").await.unwrap(), 1);
        assert_eq!(s.job_counts().await.unwrap().queued, 1);
    })
    .await;
}

#[tokio::test]
async fn audit_chain_detects_tampering() {
    each(async |_db, s| {
        for i in 0..5 {
            s.audit(&AuditEntry {
                actor: "op1".into(),
                role: "operator".into(),
                action: "submission.read".into(),
                target: format!("submission:{i}"),
                records: "r1,r2".into(),
                source: "127.0.0.1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        let ok = s.verify_audit().await.unwrap();
        assert_eq!((ok.rows, ok.broken.clone()), (5, None));
        sqlx::query("UPDATE audit SET actor = 'evil' WHERE seq = 3")
            .execute(s.pool())
            .await
            .unwrap();
        let bad = s.verify_audit().await.unwrap();
        assert_eq!(bad.broken.unwrap().seq, 3);
        sqlx::query("UPDATE audit SET actor = 'op1' WHERE seq = 3")
            .execute(s.pool())
            .await
            .unwrap();
        assert!(s.verify_audit().await.unwrap().broken.is_none());
        sqlx::query("DELETE FROM audit WHERE seq = 2")
            .execute(s.pool())
            .await
            .unwrap();
        assert_eq!(s.verify_audit().await.unwrap().broken.unwrap().seq, 2);
        let found = s
            .audit_search(&daiko_store::audit::AuditQuery {
                action_prefix: Some("submission.".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(found.len(), 4);
        assert_eq!(found[0].seq, 5);
    })
    .await;
}

#[tokio::test]
async fn reference_loads_replace() {
    use daiko_store::reference::{InsuredRow, VoucherRow};
    each(async |_db, s| {
        assert_eq!(s.loaded_kinds("06130001").await.unwrap().vouchers, None);
        let rows: Vec<VoucherRow> = (0..1200)
            .map(|i| VoucherRow {
                kind: 1,
                number: format!("{i:011}"),
                card_symbol: String::new(),
                card_number: format!("{i}"),
                row_json: format!("{{\"n\":{i}}}"),
            })
            .collect();
        s.replace_vouchers("06130001", &rows, "op").await.unwrap();
        s.replace_vouchers("06130001", &rows[..10], "op")
            .await
            .unwrap();
        assert_eq!(s.loaded_kinds("06130001").await.unwrap().vouchers, Some(10));
        assert_eq!(
            s.voucher_rows("06130001", 1, "00000000005")
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            s.voucher_rows("06130001", 1, "00000000500")
                .await
                .unwrap()
                .is_empty()
        );
        s.replace_insured(
            "06130001",
            &[InsuredRow {
                card_symbol: "A".into(),
                card_number: "1".into(),
                valid_from: "20240401".into(),
                valid_to: String::new(),
            }],
            "op",
        )
        .await
        .unwrap();
        assert_eq!(s.insured_rows("06130001", "1").await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn anchors_catch_deleted_newest_rows() {
    use daiko_store::audit::anchors;
    each(async |db, s| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{db}.anchors"));
        for i in 0..4 {
            s.audit(&AuditEntry {
                actor: "a".into(),
                action: format!("x.{i}"),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        assert!(anchors::write(&s, &path).await.unwrap());
        assert!(
            !anchors::write(&s, &path).await.unwrap(),
            "same head, no new anchor"
        );
        assert!(anchors::check(&s, &path).await.unwrap().is_none());
        // Truncating the newest rows keeps the chain itself intact …
        sqlx::query("DELETE FROM audit WHERE seq >= 3")
            .execute(s.pool())
            .await
            .unwrap();
        assert!(s.verify_audit().await.unwrap().broken.is_none());
        // … but not the anchor.
        assert_eq!(anchors::check(&s, &path).await.unwrap().unwrap().seq, 4);
    })
    .await;
}
