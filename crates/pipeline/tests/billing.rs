//! The billing month end to end on both databases (PostgreSQL skipped with a message when
//! absent): generated submissions (checkups and guidance, every co-payment pattern the
//! generator makes, injected defects that return records) pushed through intake and the
//! worker, then three month closes with a late claim, a duplicate claim, a 過誤 and a
//! carried-forward negative payment, and the transfer file.

use std::collections::BTreeMap;
use std::time::Duration;

use daiko_billing::{
    BankAccount, Calendar, FeeSchedule, Remitter, Settlement, YearMonth, parse_transfer_file,
};
use daiko_pipeline::billing::{
    self, BillingFlowError, OffsetOutcome, close_month_at, cutoff, settlement,
};
use daiko_pipeline::intake::{Upload, receive_bytes};
use daiko_pipeline::worker::{WorkerConfig, run_until_idle};
use daiko_sample::{SampleArchive, SampleConfig};
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::submissions::{NewSubmission, RecordRow};
use daiko_store::{Store, testdb};

const AGENCY: &str = "99000010";
const LIMIT: u64 = 50 << 20;

const FEES: FeeSchedule = FeeSchedule {
    insurer_per_record: 50,
    insurer_per_invoice: 1000,
    institution_per_record: 30,
    institution_per_statement: 500,
};

async fn each(f: impl AsyncFn(&'static str, Store)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        f(name, store).await;
    }
}

fn samples(seed: u64, sender: Option<&str>) -> Vec<SampleArchive> {
    let cfg = SampleConfig {
        archives: 1,
        guidance_archives: 1,
        records: 24,
        seed,
        defect_rate: 0.2,
        sender: sender.map(str::to_string),
        receiver: AGENCY.into(),
        ..SampleConfig::default()
    };
    daiko_sample::generate(&cfg).unwrap()
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

fn worker() -> WorkerConfig {
    let mut cfg = WorkerConfig::new(AGENCY, "test:1");
    cfg.lease = Duration::from_secs(60);
    cfg
}

/// Uploads the archives and runs the worker; answers the submission ids.
async fn submit(s: &Store, org: &Org, archives: &[SampleArchive]) -> Vec<String> {
    let mut ids = Vec::new();
    for a in archives {
        let got = receive_bytes(s, &upload(org, &a.name), &a.zip, LIMIT)
            .await
            .unwrap();
        ids.push(got.id);
    }
    run_until_idle(s, &worker()).await.unwrap();
    ids
}

async fn records(s: &Store, subs: &[String]) -> Vec<RecordRow> {
    let mut out = Vec::new();
    for id in subs {
        out.extend(s.records_of_submission(id).await.unwrap());
    }
    out
}

/// The identities every settlement must satisfy, with the test's fee schedule.
fn check_identities(st: &Settlement) {
    for inv in &st.invoices {
        let fee = if inv.records > 0 {
            FEES.insurer_per_record * inv.records + FEES.insurer_per_invoice
        } else {
            0
        };
        assert_eq!(inv.fee_total, fee, "invoice fee of {}", inv.insurer);
        assert_eq!(
            inv.amount_due,
            inv.claim_total + inv.fee_total - inv.offset_total
        );
        assert_eq!(
            inv.claim_total,
            inv.lines.iter().map(|l| l.claim_total).sum::<i64>()
        );
        assert_eq!(
            inv.offset_total,
            inv.offsets.iter().map(|o| o.amount).sum::<i64>()
        );
        assert!(
            inv.offsets.iter().all(|o| !o.is_carry()),
            "a carry on an invoice"
        );
    }
    let mut carried = 0;
    for s in &st.statements {
        let fee = if s.records > 0 {
            FEES.institution_per_record * s.records + FEES.institution_per_statement
        } else {
            0
        };
        assert_eq!(s.fee_total, fee, "statement fee of {}", s.institution);
        let carry = s.carried_forward.as_ref().map_or(0, |c| c.amount);
        carried += carry;
        assert_eq!(
            s.amount_paid - carry,
            s.claim_total - s.fee_total - s.offset_total,
            "statement of {}",
            s.institution
        );
        assert!(s.amount_paid >= 0);
    }
    let sum =
        |f: &dyn Fn(&daiko_billing::Statement) -> i64| st.statements.iter().map(f).sum::<i64>();
    let inv_claims: i64 = st.invoices.iter().map(|i| i.claim_total).sum();
    assert_eq!(inv_claims, sum(&|s| s.claim_total));
    // Statements equal invoices minus fees and offsets.
    assert_eq!(
        sum(&|s| s.amount_paid) - carried,
        inv_claims - sum(&|s| s.fee_total) - sum(&|s| s.offset_total)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn month_close_invoices_statements_offsets_and_transfer_file() {
    let first = samples(37, None);
    let institution_x = first[0].reference.institution.clone();
    assert!(
        first
            .iter()
            .all(|a| a.reference.institution == institution_x),
        "the checkup and guidance archives come from one institution"
    );
    let institution_y = if institution_x == "1310000019" {
        "1320000017"
    } else {
        "1310000019"
    };
    let second = samples(32, Some(institution_y));
    each(async |db, s| {
        s.add_org(OrgKind::Agency, AGENCY, "代行機関", &[])
            .await
            .unwrap();
        let x = s
            .add_org(
                OrgKind::Institution,
                &institution_x,
                "エックス健診センター",
                &[],
            )
            .await
            .unwrap();
        let y = s
            .add_org(OrgKind::Institution, institution_y, "ワイ診療所", &[])
            .await
            .unwrap();
        // Insurers load no reference data (checks that need it are skipped, the others
        // return defective records); the second one does not use the billing service.
        let numbers = SampleConfig::default().insurers;
        let mut billing_insurers = Vec::new();
        for (i, n) in numbers.iter().enumerate() {
            let services: &[&str] = if i == 1 {
                &["check", "route"]
            } else {
                billing_insurers.push(n.clone());
                &["check", "route", "billing"]
            };
            s.add_org(OrgKind::Insurer, n, &format!("保険者{i}"), services)
                .await
                .unwrap();
        }
        billing::set_fees(&s, &FEES, "tester").await.unwrap();
        let cal = billing::calendar(&s).await.unwrap();
        assert_eq!(cal, Calendar::default());

        let subs_x = submit(&s, &x, &first).await;
        let recs_x = records(&s, &subs_x).await;
        let received = s.submission(&subs_x[0]).await.unwrap().unwrap().received_at;
        let m1 = cal.billing_month_of(daiko_store::parse_ts(&received).unwrap());
        let (m2, m3) = (m1.next(), m1.next().next());
        let after = |m: YearMonth| cutoff(&cal, m) + jiff::SignedDuration::from_secs(1);
        assert!(
            recs_x.iter().any(|r| r.outcome == "returned"),
            "{db}: no returns"
        );
        assert!(
            recs_x
                .iter()
                .any(|r| r.service_event_type == 1 && r.state == "delivered"),
            "{db}: the checkup archive should be (partly) accepted"
        );
        assert!(
            recs_x
                .iter()
                .any(|r| r.service_event_type == 2 && r.state == "delivered")
        );
        assert!(
            recs_x
                .iter()
                .any(|r| r.state == "delivered" && !billing_insurers.contains(&r.insurer)),
            "{db}: the non-billing insurer should have delivered records"
        );

        // Not yet: the reception window of M1 is open at its deadline day.
        let early = cutoff(&cal, m1) - jiff::SignedDuration::from_secs(1);
        assert!(matches!(
            close_month_at(&s, m1, "tester", early).await,
            Err(BillingFlowError::WindowOpen { .. })
        ));

        // ---- M1 ----
        let c1 = close_month_at(&s, m1, "tester", after(m1)).await.unwrap();
        assert!(!c1.already_closed);
        assert!(c1.excluded.is_empty());
        let billable =
            |r: &RecordRow| r.outcome == "accepted" && billing_insurers.contains(&r.insurer);
        let expected: BTreeMap<String, (i64, i64)> =
            recs_x
                .iter()
                .filter(|r| billable(r))
                .fold(BTreeMap::new(), |mut m, r| {
                    let e = m.entry(r.insurer.clone()).or_insert((0, 0));
                    e.0 += 1;
                    e.1 += r.claim;
                    m
                });
        let st1 = settlement(&s, m1).await.unwrap().unwrap();
        let got: BTreeMap<String, (i64, i64)> = st1
            .invoices
            .iter()
            .map(|i| (i.insurer.clone(), (i.records, i.claim_total)))
            .collect();
        assert_eq!(
            got, expected,
            "{db}: invoice totals = Σ accepted claims per insurer"
        );
        assert_eq!(c1.claim_total, expected.values().map(|v| v.1).sum::<i64>());
        check_identities(&st1);
        // The generated month has co-payments and none, checkups and guidance.
        let lines: Vec<_> = st1.invoices.iter().flat_map(|i| &i.lines).collect();
        assert!(lines.iter().any(|l| l.copay_total > 0));
        assert!(lines.iter().any(|l| l.copay_total == 0));
        assert!(
            lines
                .iter()
                .any(|l| l.kind == daiko_billing::ServiceKind::Guidance)
        );
        for r in s.records_of_submission(&subs_x[0]).await.unwrap() {
            if billable(&r) && r.delivery_id.is_some() {
                assert_eq!(r.state, "invoiced");
            }
        }
        // The checker's history still sees an invoiced record as delivered (U-06).
        assert_eq!(
            daiko_pipeline::reference::record_state("invoiced"),
            daiko_check::reference::RecordState::Delivered
        );

        // Closing twice changes nothing; documents come back byte for byte.
        let again = close_month_at(&s, m1, "tester", after(m1)).await.unwrap();
        assert!(again.already_closed);
        assert_eq!((again.lines, again.claim_total), (c1.lines, c1.claim_total));
        let st1b = settlement(&s, m1).await.unwrap().unwrap();
        assert_eq!(
            serde_json::to_string(&st1).unwrap(),
            serde_json::to_string(&st1b).unwrap()
        );
        // Settings changed after the close do not change a closed month.
        billing::set_fees(&s, &FeeSchedule::default(), "tester")
            .await
            .unwrap();
        assert_eq!(settlement(&s, m1).await.unwrap().unwrap(), st1);
        billing::set_fees(&s, &FEES, "tester").await.unwrap();
        assert!(matches!(
            close_month_at(&s, m1.prev(), "tester", after(m1)).await,
            Err(BillingFlowError::OutOfOrder { .. })
        ));

        // Transfer file: refused without a remitter, then listing the institution without
        // an account, then written; its totals equal the statements.
        assert!(matches!(
            billing::transfer_file(&s, m1).await,
            Err(BillingFlowError::NoRemitter)
        ));
        billing::set_remitter(
            &s,
            &Remitter {
                code: "1234567890".into(),
                name_kana: "ダイコウキカン".into(),
                bank_code: "0001".into(),
                bank_name_kana: "ミズホ".into(),
                branch_code: "001".into(),
                branch_name_kana: "トウキヨウ".into(),
                account_type: 1,
                account_number: "1234567".into(),
            },
            "tester",
        )
        .await
        .unwrap();
        match billing::transfer_file(&s, m1).await {
            Err(BillingFlowError::MissingAccounts(v)) => {
                assert_eq!(
                    v,
                    vec![(institution_x.clone(), "エックス健診センター".to_string())]
                );
                let e = BillingFlowError::MissingAccounts(v);
                assert!(e.message_ja().contains("振込口座が未登録"));
                assert!(e.to_string().contains(&institution_x));
            }
            other => panic!("{db}: expected missing accounts, got {other:?}"),
        }
        let account = BankAccount {
            bank_code: "0005".into(),
            bank_name_kana: "ミツビシユーエフジェイ".into(),
            branch_code: "123".into(),
            branch_name_kana: "シンジュク".into(),
            account_type: 1,
            account_number: "7654321".into(),
            holder_kana: "イ）エックスケンシンセンター".into(),
        };
        assert!(matches!(
            billing::set_bank_account(&s, "06139999", &account, "tester").await,
            Err(BillingFlowError::NotInstitution(_))
        ));
        billing::set_bank_account(&s, &institution_x, &account, "tester")
            .await
            .unwrap();
        let tf = billing::transfer_file(&s, m1).await.unwrap();
        let parsed = parse_transfer_file(&tf.bytes).unwrap();
        let paid: Vec<_> = st1
            .statements
            .iter()
            .filter(|s| s.amount_paid > 0)
            .collect();
        assert_eq!(parsed.total_count, paid.len() as i64);
        assert_eq!(
            parsed.total_amount,
            paid.iter().map(|s| s.amount_paid).sum::<i64>()
        );
        assert_eq!(
            (tf.count, tf.total),
            (parsed.total_count, parsed.total_amount)
        );
        assert_eq!(tf.payment_date, cal.payment_date(m1));

        // ---- between M1 and M2 ----
        // A 過誤 (07 duplicate claim) on a record billed in M1.
        let victim = s
            .billing_lines_with(&m1.to_string(), |l| l)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.claim > 0)
            .unwrap();
        let out = billing::add_offset(&s, &victim.record_id, "07", "", "tester")
            .await
            .unwrap();
        assert_eq!(
            out,
            OffsetOutcome::Offset {
                id: match &out {
                    OffsetOutcome::Offset { id, .. } => id.clone(),
                    _ => unreachable!(),
                },
                record_id: victim.record_id.clone(),
                insurer: victim.insurer.clone(),
                institution: victim.institution.clone(),
                amount: victim.claim,
                origin_month: m1.to_string(),
            }
        );
        assert!(matches!(
            billing::add_offset(&s, &victim.record_id, "07", "", "tester").await,
            Err(BillingFlowError::AlreadyOffset(_))
        ));
        assert!(matches!(
            billing::add_offset(&s, &victim.record_id, "10", "", "tester").await,
            Err(BillingFlowError::BadReason(_))
        ));
        let returned = recs_x.iter().find(|r| r.outcome == "returned").unwrap();
        assert!(matches!(
            billing::add_offset(&s, &returned.id, "01", "", "tester").await,
            Err(BillingFlowError::NotForwarded { .. })
        ));
        // A 過誤 on a record never billed (its insurer does not use billing): withdrawn.
        let unbilled = recs_x
            .iter()
            .find(|r| r.state == "delivered" && !billing_insurers.contains(&r.insurer))
            .unwrap();
        assert_eq!(
            billing::add_offset(&s, &unbilled.id, "08", "取下げ", "tester")
                .await
                .unwrap(),
            OffsetOutcome::Withdrawn {
                record_id: unbilled.id.clone()
            }
        );
        assert_eq!(
            s.record(&unbilled.id).await.unwrap().unwrap().state,
            "withdrawn"
        );

        // A late claim from another institution (received after M1 was closed) and a
        // duplicate of a checkup billed in M1 (same insurer, card and fiscal year).
        let subs_y = submit(&s, &y, &second).await;
        let recs_y = records(&s, &subs_y).await;
        let original = s
            .billing_lines_with(&m1.to_string(), |l| l)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.kind == "checkup" && l.record_id != victim.record_id)
            .unwrap();
        let orig = s.record(&original.record_id).await.unwrap().unwrap();
        let mut tx = s.begin().await.unwrap();
        let no = s.next_receipt_no(&mut tx, "20990101").await.unwrap();
        s.insert_submission_in(
            &mut tx,
            &NewSubmission {
                id: "dup-sub",
                org_id: &y.id,
                uploaded_by: None,
                channel: "api",
                archive_name: "dup.zip",
                sha256: "dup",
                size: 1,
                blob_key: "archives/dup.zip",
            },
            &no,
        )
        .await
        .unwrap();
        let dup = RecordRow {
            id: "dup-record".into(),
            submission_id: "dup-sub".into(),
            seq: 0,
            institution: institution_y.into(),
            state: "accepted".into(),
            delivery_id: None,
            ..orig.clone()
        };
        s.insert_records_in(&mut tx, std::slice::from_ref(&dup))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // ---- M2 ----
        let c2 = close_month_at(&s, m2, "tester", after(m2)).await.unwrap();
        assert!(
            c2.excluded
                .iter()
                .any(|e| e.record_id == "dup-record" && e.billed_record_id == orig.id),
            "{db}: the duplicate is left unbilled (U-01): {:?}",
            c2.excluded
        );
        let st2 = settlement(&s, m2).await.unwrap().unwrap();
        check_identities(&st2);
        let m2_ids: Vec<String> = s
            .billing_lines_with(&m2.to_string(), |l| l.record_id)
            .await
            .unwrap();
        let expected_y: Vec<&RecordRow> = recs_y
            .iter()
            .filter(|r| billable(r))
            .filter(|r| !c2.excluded.iter().any(|e| e.record_id == r.id))
            .collect();
        assert_eq!(m2_ids.len(), expected_y.len());
        assert!(expected_y.iter().all(|r| m2_ids.contains(&r.id)));
        let m1_ids: Vec<String> = s
            .billing_lines_with(&m1.to_string(), |l| l.record_id)
            .await
            .unwrap();
        assert!(m2_ids.iter().all(|id| !m1_ids.contains(id)), "billed twice");
        assert!(!m2_ids.contains(&"dup-record".to_string()));
        // Late: the generated services are from FY2023, long before M2−1.
        assert!(st2.statements.iter().flat_map(|s| &s.lines).all(|l| l.late));
        assert!(
            st2.statements
                .iter()
                .all(|s| s.institution != institution_x || s.records == 0)
        );
        // The 過誤 on both sides: the insurer's invoice and institution X's statement.
        let inv = st2
            .invoices
            .iter()
            .find(|i| i.insurer == victim.insurer)
            .unwrap();
        assert!(
            inv.offsets
                .iter()
                .any(|o| o.record_id.as_deref() == Some(&victim.record_id)
                    && o.reason_code == "07"
                    && o.amount == victim.claim
                    && o.origin_month == Some(m1))
        );
        let stx = st2
            .statements
            .iter()
            .find(|s| s.institution == institution_x)
            .unwrap();
        assert_eq!(stx.offset_total, victim.claim);
        // X has nothing to be paid in M2: the offset is carried forward.
        assert_eq!(stx.amount_paid, 0);
        let carry = stx.carried_forward.clone().unwrap();
        assert_eq!(carry.amount, victim.claim);
        let pending = s.pending_offsets().await.unwrap();
        assert_eq!(pending.len(), 1);
        // The carry the close wrote is exactly the statement's carried_forward.
        assert_eq!(&billing::offset(&pending[0]).unwrap(), &carry);

        // ---- M3 ----: the carry is on X's statement and on no invoice.
        let c3 = close_month_at(&s, m3, "tester", after(m3)).await.unwrap();
        assert_eq!((c3.lines, c3.offsets), (0, 1));
        let st3 = settlement(&s, m3).await.unwrap().unwrap();
        check_identities(&st3);
        assert!(st3.invoices.is_empty());
        let stx = st3
            .statements
            .iter()
            .find(|s| s.institution == institution_x)
            .unwrap();
        assert_eq!(stx.offset_total, victim.claim);
        assert!(stx.offsets.iter().all(|o| o.is_carry()));

        // The ledger: no key held twice, every billed record exactly once.
        let mut all_ids: Vec<String> = Vec::new();
        for m in [m1, m2, m3] {
            all_ids.extend(
                s.billing_lines_with(&m.to_string(), |l| l.record_id)
                    .await
                    .unwrap(),
            );
        }
        let mut sorted = all_ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all_ids.len());
        // Every close wrote its audit row.
        let rows = s
            .audit_search(&daiko_store::audit::AuditQuery {
                action_prefix: Some("billing.close".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert!(s.verify_audit().await.unwrap().broken.is_none());
    })
    .await;
}

/// Two closes of the same month at once (two tasks; on PostgreSQL two connections): the
/// month is frozen once, both answer the same result, the records are billed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_closes_freeze_once() {
    each(async |db, s| {
        let inst = s
            .add_org(OrgKind::Institution, "1310000019", "機関", &[])
            .await
            .unwrap();
        s.add_org(OrgKind::Insurer, "06139999", "健保", &["billing"])
            .await
            .unwrap();
        let mut tx = s.begin().await.unwrap();
        let no = s.next_receipt_no(&mut tx, "20261201").await.unwrap();
        s.insert_submission_in(
            &mut tx,
            &NewSubmission {
                id: "sub",
                org_id: &inst.id,
                uploaded_by: None,
                channel: "api",
                archive_name: "a.zip",
                sha256: "a",
                size: 1,
                blob_key: "archives/a.zip",
            },
            &no,
        )
        .await
        .unwrap();
        let rows: Vec<RecordRow> = (0..200)
            .map(|i| RecordRow {
                id: format!("r{i:03}"),
                submission_id: "sub".into(),
                seq: i,
                data_file: format!("DATA/{i}.xml"),
                claim_file: format!("CLAIMS/{i}.xml"),
                insurer: "06139999".into(),
                institution: "1310000019".into(),
                voucher: format!("v{i}"),
                card_symbol: String::new(),
                card_number: format!("c{i}"),
                service_event_type: 1,
                guidance_timing: None,
                service_date: "20261110".into(),
                fiscal_year: 2026,
                outcome: "accepted".into(),
                return_reason: None,
                state: "delivered".into(),
                cost: 9000,
                copayment: 1000,
                other_program: 0,
                claim: 8000,
                delivery_id: None,
            })
            .collect();
        // One record whose claim does not add up: the close refuses and writes nothing.
        let bad = RecordRow {
            id: "bad".into(),
            seq: 999,
            card_number: "bad".into(),
            claim: 8500,
            ..rows[0].clone()
        };
        s.insert_records_in(&mut tx, &rows).await.unwrap();
        s.insert_records_in(&mut tx, &[bad]).await.unwrap();
        tx.commit().await.unwrap();
        let cal = billing::calendar(&s).await.unwrap();
        let m = cal.billing_month_of(jiff::Timestamp::now());
        let at = cutoff(&cal, m) + jiff::SignedDuration::from_secs(1);
        match close_month_at(&s, m, "one", at).await {
            Err(BillingFlowError::InconsistentLines(ids)) => assert_eq!(ids, ["bad"]),
            other => panic!("{db}: expected inconsistent lines, got {other:?}"),
        }
        assert!(s.billing_month(&m.to_string()).await.unwrap().is_none());
        let mut tx = s.begin().await.unwrap();
        assert!(
            s.set_record_state_in(&mut tx, "bad", &["delivered"], "returned")
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let (a, b) = tokio::join!(
            close_month_at(&s, m, "one", at),
            close_month_at(&s, m, "two", at)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            [a.already_closed, b.already_closed]
                .iter()
                .filter(|x| !**x)
                .count(),
            1,
            "{db}: exactly one close froze the month"
        );
        assert_eq!((a.lines, a.claim_total), (200, 1_600_000));
        assert_eq!((b.lines, b.claim_total), (a.lines, a.claim_total));
        assert_eq!(
            s.billing_lines_with(&m.to_string(), |l| l.record_id)
                .await
                .unwrap()
                .len(),
            200
        );
    })
    .await;
}
