//! 過誤 by archive on both databases (PostgreSQL skipped with a message when absent): an
//! institution's archive is accepted and delivered (種別3), the month is closed, then the
//! insurer sends a 種別4 archive naming two of the delivered records and one it never
//! received. The two become offsets with the request's 別表10 reason, shown on the next
//! close on the insurer's invoice and the institution's statement; the unknown one is
//! refused with U-06 and makes no offset; re-running the job creates nothing new.

use std::io::Cursor;
use std::time::Duration;

use daiko_billing::{FeeSchedule, YearMonth};
use daiko_format::archive::{Archive, ArchiveLimits, ArchiveName, ArchiveWriter};
use daiko_format::model::oid;
use daiko_pipeline::billing::{self, close_month_at, cutoff, settlement};
use daiko_pipeline::intake::{Upload, receive_bytes};
use daiko_pipeline::route::{OutputKind, OutputRecord, build_archive, extract_records};
use daiko_pipeline::worker::{REQUEST_STATE, WorkerConfig, run_until_idle};
use daiko_sample::SampleConfig;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::submissions::RecordRow;
use daiko_store::testdb;

const AGENCY: &str = "99000010";
const LIMIT: u64 = 50 << 20;

fn upload<'a>(org: &'a Org, role: &'a str, name: &'a str) -> Upload<'a> {
    Upload {
        org,
        uploaded_by: Some("tester"),
        role,
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

/// Inserts the insurer's `insurerAdjudicationResult` (種別4, reason `code`) after the
/// agency's adjudication of a delivered claim, with the claim's namespace prefix.
fn with_insurer_request(claim: &[u8], code: &str) -> Vec<u8> {
    let text = std::str::from_utf8(claim).unwrap();
    // The agency's closing tag `</p:agencyAdjudicationResult>` (the last occurrence).
    let end = text.rfind("agencyAdjudicationResult>").unwrap();
    let open = text[..end].rfind("</").unwrap();
    let prefix = &text[open + 2..end];
    let close = end + "agencyAdjudicationResult>".len();
    let q = |l: &str| format!("{prefix}{l}");
    let block = format!(
        "\n  <{r}><{i} code=\"4\"/><{d} value=\"20991231\"/><{n} code=\"{code}\"><{t}>記号番号の誤り</{t}></{n}></{r}>",
        r = q("insurerAdjudicationResult"),
        i = q("interactionType"),
        d = q("recordDate"),
        n = q("reason"),
        t = q("text"),
    );
    format!("{}{block}{}", &text[..close], &text[close..]).into_bytes()
}

/// A 種別4 archive from `insurer` to the agency carrying `records` (from the received
/// archive), each with a request of reason `01`; in the record `unknown`, the voucher
/// number is replaced by one the agency never delivered.
fn kago_archive(
    insurer: &str,
    sub_name: &str,
    sub_zip: &[u8],
    records: &[&RecordRow],
    unknown: Option<(&str, &str)>,
) -> (String, Vec<u8>) {
    let pairs: Vec<(String, String)> = records
        .iter()
        .map(|r| (r.data_file.clone(), r.claim_file.clone()))
        .collect();
    let files = extract_records(sub_name, Cursor::new(sub_zip), &pairs).unwrap();
    let outputs: Vec<OutputRecord> = files
        .into_iter()
        .map(|mut f| {
            if let Some((from, to)) = unknown
                && String::from_utf8_lossy(&f.claim).contains(from)
            {
                f.claim = String::from_utf8_lossy(&f.claim)
                    .replace(from, to)
                    .into_bytes();
                f.data = String::from_utf8_lossy(&f.data)
                    .replace(from, to)
                    .into_bytes();
            }
            OutputRecord {
                files: f,
                return_reason: None,
                note: None,
            }
        })
        .collect();
    let created = jiff::Timestamp::now()
        .to_zoned(daiko_pipeline::intake::jst())
        .datetime();
    // A 種別3 layout with the insurer as sender, then turned into a 種別4 request.
    let built =
        build_archive(OutputKind::ToInsurer, insurer, AGENCY, &outputs, created, 0).unwrap();
    let name = ArchiveName::parse(&built.name).unwrap();
    let mut zip = Archive::open(
        &built.name,
        Cursor::new(built.zip.as_slice()),
        ArchiveLimits::default(),
    );
    let entries = zip.entries.clone();
    let mut out = ArchiveWriter::new(&name);
    for e in &entries {
        let Some(path) = e.path.clone() else { continue };
        let bytes = zip.read(e).unwrap();
        let bytes = if path == "ix08_V08.xml" {
            String::from_utf8(bytes)
                .unwrap()
                .replace("code=\"3\"", "code=\"4\"")
                .replace(oid::AGENCY, "@SENDER@")
                .replace(oid::INSURER, oid::AGENCY)
                .replace("@SENDER@", oid::INSURER)
                .into_bytes()
        } else if path.starts_with("CLAIMS/") {
            with_insurer_request(&bytes, "01")
        } else {
            bytes
        };
        out.add(path, bytes);
    }
    (built.name.clone(), out.finish().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kago_archive_becomes_offsets_on_both_sides() {
    let cfg = SampleConfig {
        archives: 1,
        guidance_archives: 0,
        records: 30,
        seed: 41,
        defect_rate: 0.0,
        receiver: AGENCY.into(),
        ..SampleConfig::default()
    };
    let archives = daiko_sample::generate(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (db, s) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {db}");
        s.add_org(OrgKind::Agency, AGENCY, "代行機関", &[])
            .await
            .unwrap();
        let inst_no = archives[0].reference.institution.clone();
        let inst = s
            .add_org(OrgKind::Institution, &inst_no, "健診センター", &[])
            .await
            .unwrap();
        let mut insurers = Vec::new();
        for (i, n) in cfg.insurers.iter().enumerate() {
            insurers.push(
                s.add_org(
                    OrgKind::Insurer,
                    n,
                    &format!("保険者{i}"),
                    &["check", "route", "billing"],
                )
                .await
                .unwrap(),
            );
        }
        billing::set_fees(&s, &FeeSchedule::default(), "tester")
            .await
            .unwrap();
        let cal = billing::calendar(&s).await.unwrap();

        let a = &archives[0];
        let got = receive_bytes(&s, &upload(&inst, "institution", &a.name), &a.zip, LIMIT)
            .await
            .unwrap();
        run_until_idle(&s, &worker()).await.unwrap();
        let sub = s.submission(&got.id).await.unwrap().unwrap();
        let recs = s.records_of_submission(&sub.id).await.unwrap();
        let m1 = cal.billing_month_of(daiko_store::parse_ts(&sub.received_at).unwrap());
        let after = |m: YearMonth| cutoff(&cal, m) + jiff::SignedDuration::from_secs(1);
        close_month_at(&s, m1, "tester", after(m1)).await.unwrap();

        // The insurer (8 digits) with the most delivered records.
        let insurer = insurers
            .iter()
            .filter(|o| o.number.len() == 8)
            .max_by_key(|o| {
                recs.iter()
                    .filter(|r| r.insurer == o.number && r.claim > 0)
                    .filter(|r| matches!(r.state.as_str(), "delivered" | "invoiced"))
                    .count()
            })
            .unwrap();
        let named: Vec<&RecordRow> = recs
            .iter()
            .filter(|r| r.insurer == insurer.number && r.claim > 0)
            .filter(|r| matches!(r.state.as_str(), "delivered" | "invoiced"))
            .take(3)
            .collect();
        assert_eq!(
            named.len(),
            3,
            "{db}: three delivered records of one insurer"
        );
        let zip = s.blobs().get(&sub.blob_key).await.unwrap();

        let unknown_voucher = "99999999999";
        let (name, kago) = kago_archive(
            &insurer.number,
            &sub.archive_name,
            &zip,
            &named,
            Some((named[2].voucher.as_str(), unknown_voucher)),
        );
        assert_eq!(
            daiko_pipeline::worker::archive_interaction_type(&name, &kago).as_deref(),
            Some("4")
        );
        let req = receive_bytes(&s, &upload(insurer, "insurer", &name), &kago, LIMIT)
            .await
            .unwrap();
        run_until_idle(&s, &worker()).await.unwrap();
        let req_sub = s.submission(&req.id).await.unwrap().unwrap();
        let report = s
            .blobs()
            .get(req_sub.report_key.as_ref().unwrap())
            .await
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
        let codes: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["outcome"] == "FR" || f["outcome"] == "AR")
            .filter_map(|f| f["code"].as_str())
            .collect();
        assert_eq!(
            codes,
            vec!["U-06"],
            "{db}: only the unknown record is refused: {report}"
        );
        let req_recs = s.records_of_submission(&req.id).await.unwrap();
        assert_eq!(
            req_recs.iter().filter(|r| r.state == REQUEST_STATE).count(),
            2,
            "{db}: {req_recs:?}"
        );
        // Two offsets pending, with the request's reason; none for the unknown record.
        for r in &named[..2] {
            let o = s.offset_of_record(&r.id).await.unwrap().expect("offset");
            assert_eq!(o.reason_code, "01");
            assert_eq!(o.amount, r.claim);
        }
        assert!(s.offset_of_record(&named[2].id).await.unwrap().is_none());
        assert_eq!(s.pending_offsets().await.unwrap().len(), 2);
        // Nothing was delivered back to the insurer for a request.
        assert!(
            s.deliveries(Some(&insurer.id), 100)
                .await
                .unwrap()
                .iter()
                .all(|d| d.submission_id.as_deref() != Some(req.id.as_str()))
        );

        // Re-running the job (as after a crash before its completion) creates nothing new.
        let rerun = daiko_store::jobs::Job {
            id: -1,
            kind: "route".into(),
            subject: req.id.clone(),
            attempts: 1,
            lease_owner: "test:1".into(),
        };
        daiko_pipeline::worker::run_job(&s, &worker(), &rerun)
            .await
            .unwrap();
        assert_eq!(s.pending_offsets().await.unwrap().len(), 2, "{db}: re-run");

        // The next close: on the insurer's invoice and the institution's statement.
        let m2 = m1.next();
        close_month_at(&s, m2, "tester", after(m2)).await.unwrap();
        let st = settlement(&s, m2).await.unwrap().unwrap();
        let inv = st
            .invoices
            .iter()
            .find(|i| i.insurer == insurer.number)
            .unwrap();
        let stmt = st
            .statements
            .iter()
            .find(|x| x.institution == inst_no)
            .unwrap();
        for r in &named[..2] {
            for offsets in [&inv.offsets, &stmt.offsets] {
                assert!(
                    offsets
                        .iter()
                        .any(|o| o.record_id.as_deref() == Some(r.id.as_str())
                            && o.reason_code == "01"
                            && o.amount == r.claim
                            && o.origin_month == Some(m1)),
                    "{db}: {offsets:?}"
                );
            }
        }
        assert!(
            inv.offsets
                .iter()
                .all(|o| o.record_id.as_deref() != Some(named[2].id.as_str()))
        );
        // The request rows are never billed.
        let billed: Vec<String> = s
            .billing_lines_with(&m2.to_string(), |l| l.record_id)
            .await
            .unwrap();
        assert!(req_recs.iter().all(|r| !billed.contains(&r.id)));
    }
}
