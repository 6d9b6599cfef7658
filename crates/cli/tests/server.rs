//! The server as an operator runs it: `init`, `org add`, `user add`, `token create`, `serve`,
//! `audit verify` — and the no-loss guarantee (S23): kill -9 the server while it receives
//! and checks archives, restart it, and every archive that got a receipt completes exactly
//! once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn daiko(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daiko"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DAIKO_DATABASE_URL")
        .output()
        .expect("run daiko")
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "daiko failed ({:?}): {}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A folder set up as an operator would: agency, one institution, one token.
struct Installation {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    token: String,
    insurer_token: String,
    samples: Vec<daiko_sample::SampleArchive>,
}

fn install(archives: usize, records: usize) -> Installation {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    ok(daiko(
        &dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "テスト代行機関",
        ],
    ));
    let samples = daiko_sample::generate(&daiko_sample::SampleConfig {
        archives,
        records,
        seed: 99,
        period: daiko_sample::Period::Fy2024,
        defect_rate: 0.2,
        ..Default::default()
    })
    .expect("samples");
    let institution = samples[0].reference.institution.clone();
    ok(daiko(
        &dir,
        &[
            "org",
            "add",
            "institution",
            "--number",
            &institution,
            "--name",
            "テスト健診センター",
        ],
    ));
    for (i, ins) in daiko_sample::people::default_insurers().iter().enumerate() {
        ok(daiko(
            &dir,
            &[
                "org",
                "add",
                "insurer",
                "--number",
                ins,
                "--name",
                &format!("保険者{i}"),
            ],
        ));
    }
    let insurer = &daiko_sample::people::default_insurers()[0];
    let add = |login: &str, role: &str, org: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_daiko"))
            .arg("--data-dir")
            .arg(&dir)
            .args([
                "user", "add", "--login", login, "--role", role, "--org", org,
            ])
            .env("DAIKO_INITIAL_PASSWORD", "Initial-Pass-2026")
            .output()
            .expect("user add");
        ok(o);
    };
    add("clinic", "institution", &institution);
    add("kenpo", "insurer", insurer);
    let token = ok(daiko(&dir, &["token", "create", "--login", "clinic"]));
    let token = token.trim().to_string();
    assert!(
        token.starts_with("dk_") && !token.contains('\n'),
        "token create prints one token: {token:?}"
    );
    let insurer_token = ok(daiko(&dir, &["token", "create", "--login", "kenpo"]))
        .trim()
        .to_string();
    Installation {
        _tmp: tmp,
        dir,
        token,
        insurer_token,
        samples,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start(dir: &Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_daiko"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DAIKO_SERVICE_HOURS", "always")
        .env_remove("DAIKO_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start daiko serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::blocking::get(format!("http://127.0.0.1:{port}/api/v1/health"))
            && r.status().is_success()
        {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("daiko serve exited early ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "daiko serve did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// Uploads an archive; `Some(id)` when a receipt came back.
fn upload(port: u16, token: &str, name: &str, zip: &[u8]) -> Option<String> {
    let r = client()
        .post(format!(
            "http://127.0.0.1:{port}/api/v1/submissions?name={name}"
        ))
        .bearer_auth(token)
        .header("content-type", "application/zip")
        .body(zip.to_vec())
        .send()
        .ok()?;
    if r.status().as_u16() != 202 {
        return None;
    }
    let v: serde_json::Value = r.json().ok()?;
    assert!(
        v["receipt_no"].as_str().is_some_and(|s| s.starts_with('R')),
        "receipt: {v}"
    );
    v["id"].as_str().map(str::to_string)
}

/// Waits (briefly) until the server reports a running job.
fn wait_for_running_job(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(h) = client()
            .get(format!("http://127.0.0.1:{port}/api/v1/health"))
            .send()
            .and_then(|r| r.json::<serde_json::Value>())
            && h["jobs"]["running"].as_i64().unwrap_or(0) > 0
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn status(port: u16, token: &str, id: &str) -> Option<serde_json::Value> {
    let r = client()
        .get(format!("http://127.0.0.1:{port}/api/v1/submissions/{id}"))
        .bearer_auth(token)
        .send()
        .ok()?;
    r.json().ok()
}

#[test]
fn operator_commands_and_audit_verify() {
    let inst = install(1, 3);
    let orgs = ok(daiko(&inst.dir, &["org", "list"]));
    assert!(
        orgs.contains("institution") && orgs.contains("insurer"),
        "{orgs}"
    );
    // Wrong inputs are exit 2 with a message, never a panic.
    let o = daiko(
        &inst.dir,
        &["org", "add", "insurer", "--number", "123", "--name", "x"],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = daiko(
        &inst.dir,
        &["user", "add", "--login", "x", "--role", "king"],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = daiko(&inst.dir, &["token", "create", "--login", "nobody"]);
    assert_eq!(o.status.code(), Some(2));
    let verify = ok(daiko(&inst.dir, &["audit", "verify"]));
    assert!(verify.contains("intact"), "{verify}");

    // Deleting the newest rows leaves a chain that verifies by itself; the anchor written
    // by the last verification (S14) gives it away.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let head = rt.block_on(async {
        let store = daiko_store::Store::open(&inst.dir, None)
            .await
            .expect("store");
        let (seq, _) = store.audit_head().await.expect("head").expect("rows");
        sqlx::query("DELETE FROM audit WHERE seq = $1")
            .bind(seq)
            .execute(store.pool())
            .await
            .expect("delete");
        store.close().await;
        seq
    });
    let o = daiko(&inst.dir, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("record {head}")) && out.contains("missing"),
        "{out}"
    );

    // Tamper with one audit row directly in the database: the verifier names it.
    rt.block_on(async {
        let store = daiko_store::Store::open(&inst.dir, None)
            .await
            .expect("store");
        sqlx::query("UPDATE audit SET detail = 'forged' WHERE seq = 3")
            .execute(store.pool())
            .await
            .expect("tamper");
        store.close().await;
    });
    let o = daiko(&inst.dir, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("record 3"), "{out}");
}

#[test]
fn kill_9_during_intake_and_checks_loses_nothing_and_duplicates_nothing() {
    let inst = install(6, 150);
    let port = free_port();
    let mut server = start(&inst.dir, port);
    let mut receipts: Vec<(String, usize)> = Vec::new();
    let mut kills_during_checks = 0;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for (round, pair) in inst.samples.chunks(2).enumerate() {
        // Upload from a thread while the main thread kills the server after a random delay.
        let (token, zips): (String, Vec<(String, Vec<u8>, usize)>) = (
            inst.token.clone(),
            pair.iter()
                .map(|s| (s.name.clone(), s.zip.clone(), s.manifest.records.len()))
                .collect(),
        );
        let uploader = std::thread::spawn(move || {
            zips.into_iter()
                .filter_map(|(name, zip, n)| upload(port, &token, &name, &zip).map(|id| (id, n)))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(20 + next() % 300));
        server.kill().expect("kill -9");
        let _ = server.wait();
        receipts.extend(uploader.join().expect("uploader"));
        eprintln!(
            "round {round}: killed during intake; {} receipts so far",
            receipts.len()
        );
        server = start(&inst.dir, port);
        // Kill again while a check job is running, if one is.
        if wait_for_running_job(port) {
            std::thread::sleep(Duration::from_millis(next() % 100));
            server.kill().expect("kill -9");
            let _ = server.wait();
            kills_during_checks += 1;
            eprintln!("round {round}: killed during a check");
            server = start(&inst.dir, port);
        }
    }
    assert!(
        kills_during_checks > 0,
        "no kill happened while a check was running"
    );
    // Whatever did not get a receipt before a kill is uploaded again now (the client retries).
    let mut have: Vec<String> = Vec::new();
    for s in &inst.samples {
        let got = receipts.iter().any(|(id, _)| {
            status(port, &inst.token, id).is_some_and(|v| v["archive_name"] == s.name.as_str())
        });
        if got {
            have.push(s.name.clone());
        }
    }
    for s in &inst.samples {
        if !have.contains(&s.name)
            && let Some(id) = upload(port, &inst.token, &s.name, &s.zip)
        {
            receipts.push((id, s.manifest.records.len()));
        }
    }
    assert!(!receipts.is_empty());
    // One more kill while checks run, then let everything finish.
    std::thread::sleep(Duration::from_millis(100));
    server.kill().expect("kill -9");
    let _ = server.wait();
    server = start(&inst.dir, port);
    let deadline = Instant::now() + Duration::from_secs(180);
    for (id, records) in &receipts {
        loop {
            let v = status(port, &inst.token, id).expect("submission readable after restart");
            if v["status"] == "done" {
                let report = &v["report"];
                assert_eq!(
                    report["counts"]["records"].as_u64(),
                    Some(*records as u64),
                    "submission {id}: {v}"
                );
                break;
            }
            if Instant::now() > deadline {
                let _ = server.kill();
                let jobs = dump_jobs(&inst.dir);
                panic!("submission {id} never finished: {v}\njobs:\n{jobs}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Let routing finish too, then stop and inspect the database.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let h: serde_json::Value = client()
            .get(format!("http://127.0.0.1:{port}/api/v1/health"))
            .send()
            .and_then(|r| r.json())
            .expect("health");
        if h["jobs"]["queued"] == 0 && h["jobs"]["running"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "jobs never drained: {h}");
        std::thread::sleep(Duration::from_millis(200));
    }
    server.kill().expect("stop");
    let _ = server.wait();

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = daiko_store::Store::open(&inst.dir, None).await.expect("store");
        let mut complete = std::collections::BTreeSet::new();
        let mut received_names = std::collections::BTreeSet::new();
        for (id, _) in &receipts {
            let sub = store.submission(id).await.expect("query").expect("submission");
            received_names.insert(sub.archive_name.clone());
        }
        // Every stored submission — with or without a receipt that reached the client — is
        // processed exactly once.
        let all = store.submissions(None, 1000).await.expect("submissions");
        for sub in &all {
            let id = &sub.id;
            let records = &inst
                .samples
                .iter()
                .find(|s| s.name == sub.archive_name)
                .map(|s| s.manifest.records.len())
                .expect("a sample archive");
            assert_eq!(sub.status, "done", "submission {id} never finished");
            let rows = store.records_of_submission(id).await.expect("records");
            // Exactly the report's records are stored, once. A second copy of an archive
            // (the client re-sent it after a kill) is rejected as a duplicate (T-06) before
            // its records are read, so it stores none.
            let report: serde_json::Value = serde_json::from_slice(
                &store.blobs().get(sub.report_key.as_deref().expect("report")).await.expect("blob"),
            )
            .expect("report json");
            let in_report = report["records"].as_array().map_or(0, Vec::len);
            let duplicate = report["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["code"] == "T-06"));
            if rows.len() != in_report || (!duplicate && rows.len() != *records) {
                panic!(
                    "submission {id}: {} records stored, report has {in_report}, archive {records}\n{sub:?}\njobs:\n{}",
                    rows.len(),
                    dump_jobs_async(&store).await
                );
            }
            if !duplicate {
                complete.insert(sub.archive_name.clone());
            }
            let deliveries = store.deliveries_of_submission(id).await.expect("deliveries");
            let mut keys: Vec<(i64, String)> =
                deliveries.iter().map(|d| (d.kind, d.recipient_id.clone())).collect();
            keys.sort();
            let before = keys.len();
            keys.dedup();
            assert_eq!(before, keys.len(), "submission {id}: a delivery was built twice");
            for r in rows.iter().filter(|r| r.outcome == "accepted") {
                assert!(
                    r.delivery_id.is_some(),
                    "accepted record never delivered: {r:?}\nsubmission: {:?}\ndeliveries: {deliveries:?}",
                    store.submission(id).await
                );
            }
        }
        // Every archive that got a receipt was processed in full by one submission.
        for name in &received_names {
            assert!(complete.contains(name), "archive {name} never processed in full");
        }
        let counts = store.job_counts().await.expect("jobs");
        assert_eq!(counts.failed, 0, "failed jobs: {counts:?}");
        let chain = store.verify_audit().await.expect("verify");
        assert!(chain.broken.is_none(), "audit chain broken after kills: {chain:?}");
        store.close().await;
    });
    // The insurer can list what it got.
    let _ = inst.insurer_token;
}

/// The job table, for failure messages.
async fn dump_jobs_async(store: &daiko_store::Store) -> String {
    use sqlx::Row;
    let rows =
        sqlx::query("SELECT id, kind, subject, state, attempts, last_error FROM jobs ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("jobs");
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {:?}",
                r.get::<i64, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
                r.get::<String, _>(3),
                r.get::<i64, _>(4),
                r.get::<Option<String>, _>(5)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The job table, for failure messages.
fn dump_jobs(dir: &Path) -> String {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = daiko_store::Store::open(dir, None).await.expect("store");
        dump_jobs_async(&store).await
    })
}
