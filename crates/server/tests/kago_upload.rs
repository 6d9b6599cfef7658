//! Who may upload a 過誤 request (種別4/5) on SQLite and PostgreSQL (skipped with a
//! message when absent): an insurer (or an operator naming it) uploads a 種別4 archive
//! and the worker applies it to the records it names (withdrawn when not yet billed); an insurer's 種別1 archive is refused with 422
//! before anything is stored; an institution's 種別4 archive is refused by the check
//! (I-01: an institution sends only 種別1) and makes no offset.

mod common;

use std::io::Cursor;

use common::{World, config, run_pipeline, seed, start};
use daiko_format::archive::{Archive, ArchiveLimits, ArchiveName, ArchiveWriter};
use daiko_format::model::oid;
use daiko_pipeline::route::{OutputKind, OutputRecord, build_archive, extract_records};
use reqwest::{Client, StatusCode};
use serde_json::Value;

const MB: u64 = 1024 * 1024;
const AGENCY: &str = "99000010";

/// A 種別4 archive from `insurer` naming the institution's accepted records of that
/// insurer (reason 01), built from the received archive; `n` is the same-day counter
/// (two different archives: the same bytes twice would be a duplicate archive).
async fn kago_archive(w: &World, sub_id: &str, insurer: &str, n: u32) -> (String, Vec<u8>) {
    let sub = w.store.submission(sub_id).await.unwrap().unwrap();
    let zip = w.store.blobs().get(&sub.blob_key).await.unwrap();
    let pairs: Vec<(String, String)> = w
        .store
        .records_of_submission(sub_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.insurer == insurer && r.state == "delivered")
        .map(|r| (r.data_file, r.claim_file))
        .collect();
    assert!(!pairs.is_empty(), "{}: delivered records", w.db);
    let outputs: Vec<OutputRecord> =
        extract_records(&sub.archive_name, Cursor::new(zip.as_slice()), &pairs)
            .unwrap()
            .into_iter()
            .map(|files| OutputRecord {
                files,
                return_reason: None,
                note: None,
            })
            .collect();
    let created = jiff::Timestamp::now()
        .to_zoned(daiko_pipeline::intake::jst())
        .datetime();
    let built =
        build_archive(OutputKind::ToInsurer, insurer, AGENCY, &outputs, created, n).unwrap();
    let mut zip = Archive::open(
        &built.name,
        Cursor::new(built.zip.as_slice()),
        ArchiveLimits::default(),
    );
    let entries = zip.entries.clone();
    let mut out = ArchiveWriter::new(&ArchiveName::parse(&built.name).unwrap());
    for e in &entries {
        let Some(path) = e.path.clone() else { continue };
        let bytes = zip.read(e).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let text = if path == "ix08_V08.xml" {
            text.replace("code=\"3\"", "code=\"4\"")
                .replace(oid::AGENCY, "@SENDER@")
                .replace(oid::INSURER, oid::AGENCY)
                .replace("@SENDER@", oid::INSURER)
        } else if path.starts_with("CLAIMS/") {
            let end = text.rfind("agencyAdjudicationResult>").unwrap();
            let open = text[..end].rfind("</").unwrap();
            let p = &text[open + 2..end];
            let close = end + "agencyAdjudicationResult>".len();
            format!(
                "{}<{p}insurerAdjudicationResult><{p}interactionType code=\"4\"/><{p}recordDate value=\"20991231\"/><{p}reason code=\"01\"/></{p}insurerAdjudicationResult>{}",
                &text[..close],
                &text[close..]
            )
        } else {
            text
        };
        out.add(path, text.into_bytes());
    }
    (built.name.clone(), out.finish().unwrap())
}

async fn upload(
    base: &str,
    token: &str,
    name: &str,
    org: Option<&str>,
    zip: &[u8],
) -> (StatusCode, Value) {
    let org = org.map(|o| format!("&org={o}")).unwrap_or_default();
    let r = Client::new()
        .post(format!("{base}/api/v1/submissions?name={name}{org}"))
        .bearer_auth(token)
        .body(zip.to_vec())
        .send()
        .await
        .expect("upload");
    let status = r.status();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insurers_upload_kago_requests_institutions_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = seed(db, store).await;
        let srv = start(&w.store, config(&dir.path().join(db), 64 * MB)).await;
        let (status, receipt) = upload(
            &srv.base,
            w.token("inst_a"),
            &w.sample.name,
            None,
            &w.sample.zip,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{db}");
        let sub_id = receipt["id"].as_str().unwrap().to_string();
        run_pipeline(&w.store).await;
        let (name, kago) = kago_archive(&w, &sub_id, &w.insurer_a.number, 0).await;
        let (inst_name, inst_kago) = kago_archive(&w, &sub_id, &w.insurer_a.number, 1).await;

        // An insurer may not send anything but 4/5: its 種別1 archive is refused (422).
        let before = w.store.submissions(None, 1000).await.unwrap().len();
        let (status, body) = upload(
            &srv.base,
            w.token("insurer_a"),
            &w.sample.name,
            None,
            &w.sample.zip,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{db}: {body}");
        assert!(body.to_string().contains("種別"), "{db}: {body}");
        assert_eq!(w.store.submissions(None, 1000).await.unwrap().len(), before);

        // An institution's 種別4 archive is refused by the check (I-01), no offset.
        let (status, receipt) =
            upload(&srv.base, w.token("inst_a"), &inst_name, None, &inst_kago).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{db}");
        run_pipeline(&w.store).await;
        let rejected = w
            .store
            .submission(receipt["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rejected.verdict.as_deref(), Some("rejected"), "{db}");
        assert!(w.store.pending_offsets().await.unwrap().is_empty(), "{db}");

        // The insurer's own 種別4 archive is accepted and becomes offsets.
        let (status, body) = upload(&srv.base, w.token("insurer_a"), &name, None, &kago).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{db}: {body}");
        // Another insurer's name in `org` is not the caller's: 404.
        let (status, _) = upload(
            &srv.base,
            w.token("insurer_b"),
            &name,
            Some(&w.insurer_a.number),
            &kago,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db}");
        run_pipeline(&w.store).await;
        // Not yet billed (no month closed): the named records are withdrawn instead.
        let recs = w.store.records_of_submission(&sub_id).await.unwrap();
        let of_a: Vec<_> = recs
            .iter()
            .filter(|r| r.insurer == w.insurer_a.number && r.outcome == "accepted")
            .collect();
        assert!(!of_a.is_empty());
        assert!(
            of_a.iter().all(|r| r.state == "withdrawn"),
            "{db}: {of_a:?}"
        );
        assert!(
            recs.iter()
                .filter(|r| r.insurer == w.insurer_b.number && r.outcome == "accepted")
                .all(|r| r.state == "delivered"),
            "{db}: insurer B's records are untouched"
        );
    }
}
