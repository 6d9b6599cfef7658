//! S24 degraded mode: while routing (delivery) is switched off — workers that run only the
//! `check` job kind — institutions keep uploading and every upload gets its receipt; once
//! routing is back, the backlog drains and every record is delivered exactly once.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;

/// A worker with routing disabled: runs ready `check` jobs only.
async fn run_checks_only(store: &daiko_store::Store) -> usize {
    let cfg = daiko_pipeline::worker::WorkerConfig::new(common::AGENCY, "degraded-check-only");
    let mut n = 0;
    while let Some(job) = store
        .claim_job(&cfg.owner, &["check"], Duration::from_secs(60))
        .await
        .expect("claim")
    {
        daiko_pipeline::worker::run_job(store, &cfg, &job)
            .await
            .expect("run");
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_keeps_issuing_receipts_while_delivery_is_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        let srv = common::start(&w.store, common::config(&dir.path().join(db), 64 << 20)).await;
        let insurers: Vec<String> = vec![w.insurer_a.number.clone(), w.insurer_b.number.clone()];
        let archives = daiko_sample::generate(&daiko_sample::SampleConfig {
            archives: 3,
            records: 8,
            seed: 11,
            insurers,
            sender: Some(w.inst_a.number.clone()),
            receiver: common::AGENCY.into(),
            ..Default::default()
        })
        .expect("samples");
        let client = reqwest::Client::new();
        let mut submissions = Vec::new();
        for a in &archives {
            let r = client
                .post(format!("{}/api/v1/submissions?name={}", srv.base, a.name))
                .bearer_auth(w.token("inst_a"))
                .body(a.zip.clone())
                .send()
                .await
                .expect("upload");
            assert_eq!(
                r.status(),
                StatusCode::ACCEPTED,
                "{db}: receipt while delivery is down"
            );
            let receipt: serde_json::Value = r.json().await.expect("json");
            assert!(
                receipt["receipt_no"]
                    .as_str()
                    .is_some_and(|n| n.starts_with('R'))
            );
            submissions.push(receipt["id"].as_str().expect("id").to_string());
            // Checks run, routing does not.
            assert_eq!(run_checks_only(&w.store).await, 1, "{db}");
        }
        let jobs = w.store.job_counts().await.expect("jobs");
        assert_eq!(jobs.queued, 3, "{db}: the route jobs wait: {jobs:?}");
        for s in &submissions {
            assert!(
                w.store
                    .deliveries_of_submission(s)
                    .await
                    .expect("q")
                    .is_empty()
            );
            let recs = w.store.records_of_submission(s).await.expect("q");
            assert_eq!(recs.len(), 8, "{db}");
            assert!(recs.iter().all(|r| r.delivery_id.is_none()));
        }
        let none = client
            .get(format!("{}/api/v1/deliveries", srv.base))
            .bearer_auth(w.token("insurer_a"))
            .send()
            .await
            .expect("list");
        let v: serde_json::Value = none.json().await.expect("json");
        assert_eq!(
            v["deliveries"].as_array().map(Vec::len),
            Some(0),
            "{db}: {v}"
        );

        // Routing back: the backlog drains.
        common::run_pipeline(&w.store).await;
        let jobs = w.store.job_counts().await.expect("jobs");
        assert_eq!(
            (jobs.queued, jobs.running, jobs.failed),
            (0, 0, 0),
            "{db}: {jobs:?}"
        );
        let mut delivered = HashSet::new();
        let mut total = 0;
        for s in &submissions {
            let ds = w.store.deliveries_of_submission(s).await.expect("q");
            assert!(!ds.is_empty(), "{db}: {s} delivered");
            for d in &ds {
                for r in w.store.records_of_delivery(&d.id).await.expect("q") {
                    total += 1;
                    assert!(
                        delivered.insert(r.id.clone()),
                        "{db}: {} delivered twice",
                        r.id
                    );
                }
            }
            for r in w.store.records_of_submission(s).await.expect("q") {
                assert!(
                    r.delivery_id.is_some(),
                    "{db}: record {} ({}) not delivered",
                    r.id,
                    r.outcome
                );
            }
        }
        assert_eq!(total, 24, "{db}: every record once");
        // Draining again (another worker, a redo) delivers nothing more.
        let count = async || {
            let mut n = 0;
            for s in &submissions {
                n += w.store.deliveries_of_submission(s).await.expect("q").len();
            }
            n
        };
        let before = count().await;
        common::run_pipeline(&w.store).await;
        let again = count().await;
        assert_eq!(again, before, "{db}");
    }
}
