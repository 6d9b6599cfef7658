//! S24 degraded mode: while routing (delivery) is switched off — workers that run only the
//! `check` job kind, or the `route` kind paused in a running server (`daiko jobs pause`) —
//! institutions keep uploading and every upload gets its receipt; once routing is back, the
//! backlog drains and every record is delivered exactly once. Billing down (the month not
//! closed while uploads go on): the late close bills every accepted record exactly once.

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

/// Polls `cond` every 100 ms until it holds or `secs` pass (answers whether it held).
async fn eventually<F, Fut>(secs: u64, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real `serve` (HTTP and its two in-process workers) on a loopback port; the sender
/// stops it.
async fn serve(
    store: &daiko_store::Store,
    dir: &std::path::Path,
) -> (
    String,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let config = common::config(dir, 64 << 20);
    assert!(config.workers > 0, "serve runs in-process workers");
    common::serve(store, config).await
}

fn admin_entry(action: &str, kind: &str) -> daiko_store::audit::AuditEntry {
    daiko_store::audit::AuditEntry {
        actor: "admin-user".into(),
        role: "admin".into(),
        org: common::AGENCY.into(),
        action: action.into(),
        target: format!("job_kind:{kind}"),
        source: "test".into(),
        detail: "delivery partner down".into(),
        ..Default::default()
    }
}

async fn audit_count(store: &daiko_store::Store, action: &str) -> usize {
    let q = daiko_store::audit::AuditQuery {
        actor: None,
        action_prefix: Some(action.to_string()),
        org: None,
        since: None,
        until: None,
        limit: 10_000,
    };
    store
        .audit_search(&q)
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.entry.action == action)
        .count()
}

async fn upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    a: &daiko_sample::SampleArchive,
) -> String {
    let r = client
        .post(format!("{base}/api/v1/submissions?name={}", a.name))
        .bearer_auth(token)
        .body(a.zip.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::ACCEPTED, "a receipt");
    let receipt: serde_json::Value = r.json().await.expect("json");
    assert!(
        receipt["receipt_no"]
            .as_str()
            .is_some_and(|n| n.starts_with('R')),
        "{receipt}"
    );
    receipt["id"].as_str().expect("id").to_string()
}

/// `daiko jobs pause route` in a running `serve`: uploads get receipts and are checked by the
/// server's own workers, nothing is delivered, health names the paused kind; after the
/// resume the same workers deliver every record exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_route_in_a_running_server_holds_deliveries_until_resumed() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        let (base, stop, task) = serve(&w.store, &dir.path().join(db)).await;
        assert!(
            w.store
                .pause_job_kind(
                    "route",
                    "delivery partner down",
                    &admin_entry("jobs.pause", "route")
                )
                .await
                .expect("pause"),
            "{db}"
        );
        assert!(
            !w.store
                .pause_job_kind("route", "again", &admin_entry("jobs.pause", "route"))
                .await
                .expect("pause again"),
            "{db}: a second pause is a no-op"
        );
        let client = reqwest::Client::new();
        let health: serde_json::Value = client
            .get(format!("{base}/api/v1/health"))
            .send()
            .await
            .expect("health")
            .json()
            .await
            .expect("json");
        assert_eq!(health["paused_jobs"], serde_json::json!(["route"]), "{db}");
        // The staff home page names the paused kind and its reason.
        let home = async |who: &str| -> String {
            let (sid, _) = common::session(&w.store, &w.logins[who]).await;
            client
                .get(format!("{base}/"))
                .header("cookie", format!("daiko_session={sid}"))
                .send()
                .await
                .expect("home")
                .text()
                .await
                .expect("text")
        };
        let page = home("operator").await;
        assert!(
            page.contains("一時停止中のジョブ種別")
                && page.contains("route (delivery partner down)"),
            "{db}: {page}"
        );
        assert!(!home("inst_a").await.contains("一時停止中"), "{db}");

        let archives = daiko_sample::generate(&daiko_sample::SampleConfig {
            archives: 3,
            records: 8,
            seed: 12,
            insurers: vec![w.insurer_a.number.clone(), w.insurer_b.number.clone()],
            sender: Some(w.inst_a.number.clone()),
            receiver: common::AGENCY.into(),
            ..Default::default()
        })
        .expect("samples");
        let mut submissions = Vec::new();
        for a in &archives {
            submissions.push(upload(&client, &base, w.token("inst_a"), a).await);
        }
        // The server's workers check every upload; the route jobs wait.
        let store = &w.store;
        let subs = &submissions;
        let checked = eventually(60, || async move {
            for s in subs {
                if store.job_state("check", s).await.expect("q").as_deref() != Some("done") {
                    return false;
                }
            }
            true
        })
        .await;
        assert!(checked, "{db}: checks ran while route is paused");
        // Longer than a worker's poll: still nothing routed.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for s in &submissions {
            assert_eq!(
                w.store.job_state("route", s).await.expect("q").as_deref(),
                Some("queued"),
                "{db}: {s}'s route job waits"
            );
            assert!(
                w.store
                    .deliveries_of_submission(s)
                    .await
                    .expect("q")
                    .is_empty(),
                "{db}: {s} delivered while route is paused"
            );
        }
        for who in ["insurer_a", "insurer_b"] {
            let v: serde_json::Value = client
                .get(format!("{base}/api/v1/deliveries"))
                .bearer_auth(w.token(who))
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            assert_eq!(
                v["deliveries"].as_array().map(Vec::len),
                Some(0),
                "{db}: {who}: {v}"
            );
        }

        // Resume: the running server's workers drain the backlog.
        assert!(
            w.store
                .resume_job_kind("route", &admin_entry("jobs.resume", "route"))
                .await
                .expect("resume"),
            "{db}"
        );
        assert!(
            !w.store
                .resume_job_kind("route", &admin_entry("jobs.resume", "route"))
                .await
                .expect("resume again"),
            "{db}: resuming a running kind is a no-op"
        );
        let routed = eventually(60, || async move {
            for s in subs {
                if store.job_state("route", s).await.expect("q").as_deref() != Some("done") {
                    return false;
                }
            }
            true
        })
        .await;
        assert!(routed, "{db}: route jobs done after the resume");
        let mut delivered = HashSet::new();
        for s in &submissions {
            for d in w.store.deliveries_of_submission(s).await.expect("q") {
                for r in w.store.records_of_delivery(&d.id).await.expect("q") {
                    assert!(delivered.insert(r.id.clone()), "{db}: {} twice", r.id);
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
        assert_eq!(delivered.len(), 24, "{db}: every record exactly once");
        let health: serde_json::Value = client
            .get(format!("{base}/api/v1/health"))
            .send()
            .await
            .expect("health")
            .json()
            .await
            .expect("json");
        assert_eq!(health["paused_jobs"], serde_json::json!([]), "{db}");
        assert!(!home("operator").await.contains("一時停止中"), "{db}");
        let jobs = w.store.job_counts().await.expect("jobs");
        assert_eq!((jobs.queued, jobs.failed), (0, 0), "{db}: {jobs:?}");
        // One audit row per change (the no-op pause and resume wrote none).
        assert_eq!(audit_count(&w.store, "jobs.pause").await, 1, "{db}");
        assert_eq!(audit_count(&w.store, "jobs.resume").await, 1, "{db}");
        let _ = stop.send(true);
        task.await.expect("serve ended");
        w.store.close().await;
    }
}

/// Billing "down" — no month close runs while uploads go on (billing is not a job kind: the
/// close is an operator's act, and intake never waits for it). The late close bills every
/// accepted record of the month exactly once, a second close adds nothing, and a record
/// received later is billed once by its own month's close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_during_a_billing_outage_are_billed_exactly_once() {
    use daiko_billing::{Calendar, YearMonth};
    use daiko_pipeline::billing as flow;

    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        for o in [&w.insurer_a, &w.insurer_b] {
            w.store
                .set_org_services(&o.id, &["check", "route", "billing"], "immediate")
                .await
                .expect("services");
        }
        let (base, stop, task) = serve(&w.store, &dir.path().join(db)).await;
        let client = reqwest::Client::new();
        let archives = daiko_sample::generate(&daiko_sample::SampleConfig {
            archives: 3,
            records: 8,
            seed: 13,
            insurers: vec![w.insurer_a.number.clone(), w.insurer_b.number.clone()],
            sender: Some(w.inst_a.number.clone()),
            receiver: common::AGENCY.into(),
            ..Default::default()
        })
        .expect("samples");
        let mut submissions = Vec::new();
        for a in &archives {
            submissions.push(upload(&client, &base, w.token("inst_a"), a).await);
        }
        let store = &w.store;
        let subs = &submissions;
        let drained = eventually(60, || async move {
            for s in subs {
                if store.job_state("route", s).await.expect("q").as_deref() != Some("done") {
                    return false;
                }
            }
            true
        })
        .await;
        assert!(drained, "{db}: the uploads were checked and delivered");

        // The first two arrived about three months ago, while no close ran; the third now.
        let received = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 90);
        for s in &submissions[..2] {
            sqlx::query("UPDATE submissions SET received_at = $1 WHERE id = $2")
                .bind(daiko_store::format_ts(received))
                .bind(s)
                .execute(w.store.pool())
                .await
                .expect("back-date");
        }
        let cal = Calendar::default();
        let month: YearMonth = cal.billing_month_of(received);
        let now_month: YearMonth = cal.billing_month_of(jiff::Timestamp::now());
        let accepted = async |subs: &[String]| -> Vec<String> {
            let mut out = Vec::new();
            for s in subs {
                for r in w.store.records_of_submission(s).await.expect("records") {
                    if r.outcome == "accepted" {
                        out.push(r.id);
                    }
                }
            }
            out
        };
        let old = accepted(&submissions[..2]).await;
        let late = accepted(&submissions[2..]).await;
        assert!(
            !old.is_empty() && !late.is_empty(),
            "{db}: accepted records"
        );
        let billed = async || -> Vec<String> {
            sqlx::query_scalar::<_, String>(
                "SELECT record_id FROM billing_lines ORDER BY record_id",
            )
            .fetch_all(w.store.pool())
            .await
            .expect("lines")
        };
        assert!(
            billed().await.is_empty(),
            "{db}: nothing billed before a close"
        );

        // The close, late, through the API as the operator.
        let close = async |m: &YearMonth| -> serde_json::Value {
            let r = client
                .post(format!("{base}/api/v1/billing/months/{m}/close"))
                .bearer_auth(w.token("operator"))
                .send()
                .await
                .expect("close");
            assert_eq!(r.status(), StatusCode::OK, "{db}: close {m}");
            r.json().await.expect("json")
        };
        let first = close(&month).await;
        assert_eq!(first["already_closed"], serde_json::json!(false), "{db}");
        let excluded: HashSet<String> = first["excluded"]
            .as_array()
            .expect("excluded")
            .iter()
            .filter_map(|e| e["record_id"].as_str().map(String::from))
            .collect();
        let lines = billed().await;
        let unique: HashSet<&String> = lines.iter().collect();
        assert_eq!(unique.len(), lines.len(), "{db}: a record billed twice");
        for r in &old {
            assert!(
                unique.contains(r) != excluded.contains(r),
                "{db}: accepted record {r} neither billed nor excluded (or both)"
            );
        }
        assert!(
            late.iter().all(|r| !unique.contains(r)),
            "{db}: a record received after the month was billed in it"
        );
        assert_eq!(
            first["lines"].as_i64(),
            Some(lines.len() as i64),
            "{db}: {first}"
        );

        // A second close adds nothing.
        let second = close(&month).await;
        assert_eq!(second["already_closed"], serde_json::json!(true), "{db}");
        assert_eq!(second["lines"], first["lines"], "{db}");
        assert_eq!(
            billed().await,
            lines,
            "{db}: the second close changed the lines"
        );

        // The third upload's month, closed once its window is over (clock moved past it).
        let after = flow::cutoff(&cal, now_month) + jiff::SignedDuration::from_hours(1);
        let third = flow::close_month_at(&w.store, now_month, "operator-user", after)
            .await
            .expect("close the current month");
        let all = billed().await;
        let all_unique: HashSet<&String> = all.iter().collect();
        assert_eq!(all_unique.len(), all.len(), "{db}: a record billed twice");
        let excluded_late: HashSet<&String> = third.excluded.iter().map(|e| &e.record_id).collect();
        for r in &late {
            assert!(
                all_unique.contains(r) != excluded_late.contains(r),
                "{db}: late record {r} neither billed nor excluded (or both)"
            );
        }
        assert_eq!(
            all.len(),
            lines.len() + third.lines as usize,
            "{db}: the second month billed only its own records"
        );
        let again = flow::close_month_at(&w.store, now_month, "operator-user", after)
            .await
            .expect("again");
        assert!(again.already_closed, "{db}");
        assert_eq!(billed().await, all, "{db}");
        let _ = stop.send(true);
        task.await.expect("serve ended");
        w.store.close().await;
    }
}

/// The pause switch over the API (`/api/v1/jobs`): an administrator pauses and resumes a
/// kind, staff read it, an operator cannot change it, a tenant does not see it, an unknown
/// kind is a 400; each change is one audit row, a repeated one changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_kinds_are_paused_and_resumed_through_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        let srv = common::start(&w.store, common::config(&dir.path().join(db), 1 << 20)).await;
        let client = reqwest::Client::new();
        let post = async |who: &str, path: &str, body: &str| {
            let r = client
                .post(format!("{}{path}", srv.base))
                .bearer_auth(w.token(who))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        };
        let get = async |who: &str, path: &str| {
            let r = client
                .get(format!("{}{path}", srv.base))
                .bearer_auth(w.token(who))
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        };

        let (s, v) = post(
            "admin",
            "/api/v1/jobs/route/pause",
            r#"{"reason":"配送先障害"}"#,
        )
        .await;
        assert_eq!((s, v["changed"].as_bool()), (200, Some(true)), "{db}: {v}");
        let (s, v) = post("admin", "/api/v1/jobs/route/pause", "{}").await;
        assert_eq!((s, v["changed"].as_bool()), (200, Some(false)), "{db}: {v}");
        assert_eq!(audit_count(&w.store, "jobs.pause").await, 1, "{db}");
        // Every process reads the same row: the store no longer hands out route jobs.
        let pauses = w.store.job_pauses().await.expect("pauses");
        assert_eq!(pauses.len(), 1);
        assert_eq!(pauses[0].kind, "route");
        assert_eq!(pauses[0].reason, "配送先障害");
        assert_eq!(pauses[0].paused_by, w.logins["admin"]);

        let (s, v) = get("operator", "/api/v1/jobs").await;
        assert_eq!(s, 200, "{db}: {v}");
        let route = v["kinds"]
            .as_array()
            .and_then(|k| k.iter().find(|k| k["kind"] == "route"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(route["paused"]["reason"], "配送先障害", "{v}");
        let check = v["kinds"]
            .as_array()
            .and_then(|k| k.iter().find(|k| k["kind"] == "check"))
            .cloned()
            .unwrap_or_default();
        assert!(check["paused"].is_null(), "{v}");
        let (_, health) = get("operator", "/api/v1/health").await;
        assert_eq!(
            health["paused_jobs"],
            serde_json::json!(["route"]),
            "{health}"
        );

        // Only an administrator changes it; tenants see nothing; kinds are checked.
        assert_eq!(
            post("operator", "/api/v1/jobs/check/pause", "{}").await.0,
            404
        );
        assert_eq!(post("inst_a", "/api/v1/jobs/route/resume", "").await.0, 404);
        assert_eq!(get("insurer_a", "/api/v1/jobs").await.0, 404);
        let (s, v) = post("admin", "/api/v1/jobs/billing/pause", "{}").await;
        assert_eq!(s, 400, "{db}: {v}");
        assert_eq!(w.store.job_pauses().await.expect("pauses").len(), 1, "{db}");

        let (s, v) = post("admin", "/api/v1/jobs/route/resume", "").await;
        assert_eq!((s, v["changed"].as_bool()), (200, Some(true)), "{db}: {v}");
        let (s, v) = post("admin", "/api/v1/jobs/route/resume", "").await;
        assert_eq!((s, v["changed"].as_bool()), (200, Some(false)), "{db}: {v}");
        assert!(
            w.store.job_pauses().await.expect("pauses").is_empty(),
            "{db}"
        );
        assert_eq!(audit_count(&w.store, "jobs.resume").await, 1, "{db}");
        assert_eq!(audit_count(&w.store, "jobs.pause").await, 1, "{db}");
        w.store.close().await;
    }
}
