//! The pipeline end to end on both databases (PostgreSQL skipped with a message when
//! absent): intake → check against the database → routing, compared with the checker run
//! on the same reference data as a folder of CSV files.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use daiko_check::sink::NullSink;
use daiko_check::{CheckConfig, Date, DirReference};
use daiko_pipeline::intake::{IntakeError, Upload, begin, receive_bytes};
use daiko_pipeline::media::{MediaReader, ensure_agency_keys, receive_sealed, seal_deliveries};
use daiko_pipeline::reference::{ImportError, RefKind, import_csv};
use daiko_pipeline::worker::{WorkerConfig, run_until_idle};
use daiko_sample::{SampleArchive, SampleConfig};
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::{Store, testdb};

const AGENCY: &str = "99000010";
const LIMIT: u64 = 50 << 20;

async fn each(f: impl AsyncFn(&'static str, Store, &Path)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        let data = dir.path().join(format!("data-{name}"));
        std::fs::create_dir_all(&data).unwrap();
        f(name, store, &data).await;
    }
}

fn sample(seed: u64, records: usize, defects: f64) -> SampleArchive {
    let cfg = SampleConfig {
        archives: 1,
        records,
        seed,
        defect_rate: defects,
        receiver: AGENCY.into(),
        ..SampleConfig::default()
    };
    daiko_sample::generate(&cfg).unwrap().remove(0)
}

/// The sample's reference files (name → CSV text).
fn reference_files(a: &SampleArchive) -> BTreeMap<&'static str, String> {
    daiko_sample::reference::reference_files(
        &a.reference.institution,
        a.reference.fiscal_year,
        &a.reference.contracts,
        &[&a.reference],
    )
    .into_iter()
    .collect()
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

struct Setup {
    institution: Org,
    insurers: Vec<Org>,
}

/// The agency, the sample's insurers (check + route) and institution, and every
/// insurer's reference data imported from the sample's CSV files.
async fn setup(s: &Store, a: &SampleArchive) -> Setup {
    s.add_org(OrgKind::Agency, AGENCY, "代行機関", &[])
        .await
        .unwrap();
    let institution = s
        .add_org(
            OrgKind::Institution,
            &a.reference.institution,
            "健診機関",
            &[],
        )
        .await
        .unwrap();
    let files = reference_files(a);
    let mut insurers = Vec::new();
    for number in SampleConfig::default().insurers {
        let org = s
            .add_org(OrgKind::Insurer, &number, "保険者", &["check", "route"])
            .await
            .unwrap();
        for (kind, file) in [
            (RefKind::Vouchers, "vouchers.csv"),
            (RefKind::Coverage, "coverage.csv"),
            (RefKind::Contracts, "contracts.csv"),
        ] {
            let text = rows_of(&files[file], &number);
            import_csv(s, &org, kind, text.as_bytes(), "tester")
                .await
                .unwrap();
        }
        insurers.push(org);
    }
    Setup {
        institution,
        insurers,
    }
}

/// The same reference data as a folder for `DirReference` (no history yet).
fn reference_dir(a: &SampleArchive, dir: &Path) -> DirReference {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in reference_files(a) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("archives.csv"), "archive_name,sha256\n").unwrap();
    std::fs::write(
        dir.join("records.csv"),
        "insurer_number,card_number,voucher_number,service_event_type,guidance_timing,service_date,state\n",
    )
    .unwrap();
    DirReference::load(dir).unwrap()
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

fn jst_day(ts: &str) -> Date {
    let z = daiko_store::parse_ts(ts)
        .unwrap()
        .to_zoned(daiko_pipeline::intake::jst());
    Date::new(i32::from(z.year()), z.month() as u32, z.day() as u32).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_check_route_equals_the_checker_with_the_same_reference_data() {
    let a = sample(7, 12, 0.3);
    each(async |db, s, data| {
        let setup = setup(&s, &a).await;
        let got = receive_bytes(&s, &upload(&setup.institution, &a.name), &a.zip, LIMIT)
            .await
            .unwrap();
        assert!(got.receipt_no.starts_with('R'));
        assert_eq!(got.size, a.zip.len() as u64);
        // The receipt exists only with the submission, its job and its audit row.
        assert_eq!(
            s.job_state("check", &got.id).await.unwrap().as_deref(),
            Some("queued")
        );
        assert!(run_until_idle(&s, &worker()).await.unwrap() >= 2);
        let sub = s.submission(&got.id).await.unwrap().unwrap();
        assert_eq!(sub.status, "done");

        // The checker on the same data from a folder.
        let dir = reference_dir(&a, &data.join("ref"));
        let config = CheckConfig::for_agency(AGENCY).received_on(jst_day(&sub.received_at));
        let expected =
            daiko_check::check_archive(&a.name, Cursor::new(&a.zip), &config, &dir, &mut NullSink);
        let counts: daiko_check::report::Counts = {
            let v: serde_json::Value =
                serde_json::from_str(sub.counts_json.as_deref().unwrap()).unwrap();
            daiko_check::report::Counts {
                records: v["records"].as_u64().unwrap() as usize,
                accepted: v["accepted"].as_u64().unwrap() as usize,
                returned: v["returned"].as_u64().unwrap() as usize,
                held: v["held"].as_u64().unwrap() as usize,
                errors: v["errors"].as_u64().unwrap() as usize,
                warnings: v["warnings"].as_u64().unwrap() as usize,
            }
        };
        assert_eq!(counts, expected.counts, "{db}: counts differ");
        let verdict = serde_json::to_value(expected.verdict).unwrap();
        assert_eq!(sub.verdict.as_deref(), verdict.as_str(), "{db}");
        assert!(
            expected.counts.accepted > 0 && expected.counts.accepted < expected.counts.records,
            "the sample should be partly accepted: {:?}",
            expected.counts
        );
        // Same findings, one by one (code, file, outcome), from the stored JSON report.
        let report: serde_json::Value = serde_json::from_slice(
            &s.blobs()
                .get(sub.report_key.as_deref().unwrap())
                .await
                .unwrap(),
        )
        .unwrap();
        let ours: Vec<(String, String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_string(),
                    f["file"].as_str().unwrap().to_string(),
                    f["outcome"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let theirs: Vec<(String, String, String)> = expected
            .findings
            .iter()
            .map(|f| {
                (
                    f.code.to_string(),
                    f.file.clone(),
                    serde_json::to_value(f.outcome)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{db}: findings differ");
        assert!(
            !ours.iter().any(|(_, _, o)| o == "AR"),
            "no archive rejection expected"
        );

        // Records and deliveries.
        let records = s.records_of_submission(&got.id).await.unwrap();
        assert_eq!(records.len(), expected.records.len());
        for (r, e) in records.iter().zip(&expected.records) {
            assert_eq!((&r.insurer, &r.voucher), (&e.insurer, &e.voucher));
            assert!(!r.card_number.is_empty(), "card number read from the claim");
            assert_eq!(r.institution, a.reference.institution);
        }
        let deliveries = s.deliveries_of_submission(&got.id).await.unwrap();
        let to_insurers: i64 = deliveries
            .iter()
            .filter(|d| d.kind == 3)
            .map(|d| d.records)
            .sum();
        assert_eq!(to_insurers as usize, expected.counts.accepted);
        let returned: i64 = deliveries
            .iter()
            .filter(|d| d.kind == 2)
            .map(|d| d.records)
            .sum();
        assert_eq!(returned as usize, expected.counts.returned);
        for d in deliveries.iter().filter(|d| d.kind == 3) {
            let ins = setup
                .insurers
                .iter()
                .find(|i| i.id == d.recipient_id)
                .unwrap();
            let zip = s.blobs().get(&d.blob_key).await.unwrap();
            // Every 種別3 archive is itself accepted by the checker.
            let rep = daiko_check::check_archive(
                &d.archive_name,
                Cursor::new(&zip),
                &CheckConfig::default(),
                &daiko_check::NoReference,
                &mut NullSink,
            );
            assert_eq!(rep.archive.receiver, ins.number);
            assert_eq!(rep.counts.records as i64, d.records);
            let claim: i64 = records
                .iter()
                .filter(|r| r.delivery_id.as_deref() == Some(&d.id))
                .map(|r| r.claim)
                .sum();
            assert_eq!(claim, d.claim_total);
        }
        assert!(
            records
                .iter()
                .filter(|r| r.outcome == "accepted")
                .all(|r| r.state == "delivered" && r.delivery_id.is_some())
        );

        // The same bytes again: T-06 (and the first submission is not judged by it).
        let again = receive_bytes(&s, &upload(&setup.institution, &a.name), &a.zip, LIMIT)
            .await
            .unwrap();
        assert_ne!(again.receipt_no, got.receipt_no);
        run_until_idle(&s, &worker()).await.unwrap();
        let sub2 = s.submission(&again.id).await.unwrap().unwrap();
        let rep2 = String::from_utf8(
            s.blobs()
                .get(sub2.report_key.as_deref().unwrap())
                .await
                .unwrap(),
        )
        .unwrap();
        assert!(rep2.contains("\"T-06\""), "{db}: second copy lacks T-06");
        assert!(!serde_json::to_string(&report).unwrap().contains("\"T-06\""));
        // T-06 rejects the copy as a whole: nothing of it is routed.
        assert_eq!(sub2.verdict.as_deref(), Some("rejected"));
        assert!(
            s.deliveries_of_submission(&again.id)
                .await
                .unwrap()
                .is_empty()
        );
        let audit = s.verify_audit().await.unwrap();
        assert!(audit.broken.is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_all_or_nothing_and_per_insurer() {
    let a = sample(3, 6, 0.0);
    each(async |_db, s, _data| {
        let setup = setup(&s, &a).await;
        let me = &setup.insurers[0];
        let other = &setup.insurers[1];
        let before = s.loaded_kinds(&me.number).await.unwrap();
        assert!(before.vouchers.unwrap() > 0);
        let files = reference_files(&a);
        // Another insurer's rows inside my file.
        let mut text = rows_of(&files["vouchers.csv"], &me.number);
        let theirs = rows_of(&files["vouchers.csv"], &other.number);
        text.push_str(theirs.lines().nth(1).unwrap());
        text.push('\n');
        let err = import_csv(&s, me, RefKind::Vouchers, text.as_bytes(), "x")
            .await
            .unwrap_err();
        assert!(matches!(err, ImportError::ForeignInsurer { line, column: 1, .. } if line as usize == text.lines().count()), "{err}");
        // A bad value names its line and column.
        let mut bad = rows_of(&files["vouchers.csv"], &me.number);
        let good_row = bad.lines().nth(1).unwrap().to_string();
        let mut cells: Vec<&str> = good_row.split(',').collect();
        cells[1] = "3";
        bad.push_str(&cells.join(","));
        bad.push('\n');
        let err = import_csv(&s, me, RefKind::Vouchers, bad.as_bytes(), "x")
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ImportError::Invalid(_)));
        assert!(msg.contains(&format!("line {}", bad.lines().count())) && msg.contains("column 2 (kind)"), "{msg}");
        // Nothing changed.
        assert_eq!(s.loaded_kinds(&me.number).await.unwrap(), before);
        // An institution cannot hold reference data.
        assert!(matches!(
            import_csv(&s, &setup.institution, RefKind::Coverage, b"", "x").await,
            Err(ImportError::NotInsurer(_))
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_resumes_exactly_once() {
    let a = sample(11, 8, 0.2);
    each(async |_db, s, _data| {
        let setup = setup(&s, &a).await;
        let got = receive_bytes(&s, &upload(&setup.institution, &a.name), &a.zip, LIMIT)
            .await
            .unwrap();
        // A worker claims the check and dies.
        let dead = s
            .claim_job("dead:1", &["check"], Duration::from_millis(300))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            run_until_idle(&s, &worker()).await.unwrap(),
            0,
            "leased job taken"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        run_until_idle(&s, &worker()).await.unwrap();
        // The dead worker's late completion is refused.
        let mut tx = s.begin().await.unwrap();
        assert!(!s.complete_job_in(&mut tx, &dead).await.unwrap());
        drop(tx);
        let records = s.records_of_submission(&got.id).await.unwrap();
        let sub = s.submission(&got.id).await.unwrap().unwrap();
        let counts: serde_json::Value =
            serde_json::from_str(sub.counts_json.as_deref().unwrap()).unwrap();
        assert_eq!(records.len() as u64, counts["records"].as_u64().unwrap());
        let deliveries = s.deliveries_of_submission(&got.id).await.unwrap();
        let delivered: i64 = deliveries.iter().map(|d| d.records).sum();
        assert_eq!(
            delivered as usize,
            records.iter().filter(|r| r.delivery_id.is_some()).count()
        );
        // Re-running the route job's work cannot happen: its job is done, and running
        // again finds nothing.
        assert_eq!(
            s.job_state("route", &got.id).await.unwrap().as_deref(),
            Some("done")
        );
        assert_eq!(run_until_idle(&s, &worker()).await.unwrap(), 0);
        assert_eq!(
            s.deliveries_of_submission(&got.id).await.unwrap().len(),
            deliveries.len()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_leaves_nothing() {
    each(async |_db, s, _data| {
        let inst = s
            .add_org(OrgKind::Institution, "1310000001", "病院", &[])
            .await
            .unwrap();
        let mut p = begin(&s, &upload(&inst, "a.zip"), 10).await.unwrap();
        p.write(b"12345").await.unwrap();
        assert!(matches!(
            p.write(b"123456").await,
            Err(IntakeError::TooLarge { limit: 10 })
        ));
        assert!(p.finish().await.is_err());
        assert!(s.submissions(None, 10).await.unwrap().is_empty());
        let root = s.blobs().root().to_path_buf();
        let archives = std::fs::read_dir(root.join("archives"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(archives, 0);
        assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        for bad in ["", "../x.zip", "a/b.zip", "a\nb.zip"] {
            assert!(matches!(
                begin(&s, &upload(&inst, bad), 10).await,
                Err(IntakeError::BadName(_))
            ));
        }
        assert_eq!(s.job_counts().await.unwrap().queued, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_media_both_ways() {
    let a = sample(5, 6, 0.0);
    each(async |_db, s, data| {
        let setup = setup(&s, &a).await;
        let agency_keys = ensure_agency_keys(&s, data).await.unwrap();
        // Institution → agency on media.
        let inst_keys = daiko_seal::OrgKeys::generate().unwrap();
        s.set_org_media_key(&setup.institution.id, &inst_keys.public().to_text())
            .await
            .unwrap();
        let sealed = data.join("in.sealed");
        let mut out = Vec::new();
        daiko_seal::seal(
            Cursor::new(&a.zip),
            &mut out,
            &a.name,
            &setup.institution.number,
            &inst_keys,
            AGENCY,
            agency_keys.public(),
        )
        .unwrap();
        std::fs::write(&sealed, &out).unwrap();
        let reader = MediaReader {
            uploaded_by: Some("clerk"),
            role: "operator",
            source: "cli",
            limit: LIMIT,
        };
        let got = receive_sealed(&s, data, &sealed, &reader).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].archive_name, a.name);
        let sub = s.submission(&got[0].id).await.unwrap().unwrap();
        assert_eq!(
            (sub.channel.as_str(), sub.org_id.as_str()),
            ("media", setup.institution.id.as_str())
        );
        // A flipped bit is refused before anything is received.
        let mut bad = out.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        std::fs::write(&sealed, &bad).unwrap();
        assert!(receive_sealed(&s, data, &sealed, &reader).await.is_err());
        assert_eq!(s.submissions(None, 10).await.unwrap().len(), 1);

        run_until_idle(&s, &worker()).await.unwrap();
        // Agency → insurer: one sealed container of its deliveries.
        let ins = &setup.insurers[0];
        let ins_keys = daiko_seal::OrgKeys::generate().unwrap();
        let file = data.join("out.sealed");
        let no_key = seal_deliveries(&s, data, ins, &file).await;
        assert!(no_key.is_err(), "sealed without a registered key");
        s.set_org_media_key(&ins.id, &ins_keys.public().to_text())
            .await
            .unwrap();
        let ins = s.org(&ins.id).await.unwrap().unwrap();
        let expected: Vec<_> = s
            .deliveries(Some(&ins.id), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.received_at.is_none())
            .collect();
        assert!(!expected.is_empty());
        let sealed_out = seal_deliveries(&s, data, &ins, &file).await.unwrap();
        assert_eq!(sealed_out.deliveries.len(), expected.len());
        let mut plain = Vec::new();
        let agency_pub = agency_keys.public().clone();
        let opened = daiko_seal::open(
            Cursor::new(std::fs::read(&file).unwrap()),
            &mut plain,
            &ins.number,
            &ins_keys,
            |id| (id == AGENCY).then(|| agency_pub.clone()),
        )
        .unwrap();
        assert_eq!(opened.file_name, sealed_out.file_name);
        let mut zip = zip::ZipArchive::new(Cursor::new(plain)).unwrap();
        assert_eq!(zip.len(), expected.len());
        for d in &expected {
            let mut f = zip.by_name(&d.archive_name).unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
            assert_eq!(bytes, s.blobs().get(&d.blob_key).await.unwrap());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_daily_batching() {
    let a = sample(7, 12, 0.3);
    each(async |_db, s, _data| {
        let setup = setup(&s, &a).await;
        let route_only = &setup.insurers[0];
        let daily = &setup.insurers[1];
        s.set_org_services(&route_only.id, &["route"], "immediate")
            .await
            .unwrap();
        s.set_org_services(&daily.id, &["check", "route"], "daily")
            .await
            .unwrap();
        let got = receive_bytes(&s, &upload(&setup.institution, &a.name), &a.zip, LIMIT)
            .await
            .unwrap();
        run_until_idle(&s, &worker()).await.unwrap();
        let sub = s.submission(&got.id).await.unwrap().unwrap();
        let report: serde_json::Value = serde_json::from_slice(
            &s.blobs()
                .get(sub.report_key.as_deref().unwrap())
                .await
                .unwrap(),
        )
        .unwrap();
        let findings = report["findings"].as_array().unwrap();
        let records = s.records_of_submission(&got.id).await.unwrap();
        // Routing without checks: a route-only insurer's records are accepted unless a
        // structural finding stops them, and none of its findings returns or holds.
        let mine: Vec<_> = records
            .iter()
            .filter(|r| r.insurer == route_only.number)
            .collect();
        assert!(!mine.is_empty());
        for r in &mine {
            let blocking: Vec<&str> = findings
                .iter()
                .filter(|f| {
                    let file = f["file"].as_str().unwrap();
                    (file == r.data_file || file == r.claim_file)
                        && matches!(f["outcome"].as_str(), Some("FR" | "CI"))
                })
                .map(|f| f["code"].as_str().unwrap())
                .collect();
            if r.outcome != "accepted" {
                assert!(
                    !blocking.is_empty(),
                    "{} not accepted without a reason",
                    r.claim_file
                );
                assert!(
                    blocking
                        .iter()
                        .all(|c| c.starts_with('X') || c.starts_with('P') || c.starts_with('A')),
                    "{blocking:?}"
                );
            } else {
                assert!(blocking.is_empty());
            }
        }
        // Daily batching: accepted records wait, then one 種別3 takes them.
        let waiting: Vec<_> = records
            .iter()
            .filter(|r| r.insurer == daily.number && r.outcome == "accepted")
            .collect();
        assert!(!waiting.is_empty());
        assert!(
            waiting
                .iter()
                .all(|r| r.delivery_id.is_none() && r.state == "accepted")
        );
        let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
        assert_eq!(
            daiko_pipeline::worker::enqueue_due_batches(&s, tomorrow)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            daiko_pipeline::worker::enqueue_due_batches(&s, tomorrow)
                .await
                .unwrap(),
            0,
            "a batch is enqueued once"
        );
        run_until_idle(&s, &worker()).await.unwrap();
        let batches: Vec<_> = s
            .deliveries(Some(&daily.id), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.kind == 3)
            .collect();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].records as usize, waiting.len());
        assert!(batches[0].submission_id.is_none());
        assert!(
            s.undelivered_records(&daily.number, "accepted")
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}
