//! `daiko bench serve`: the whole server end to end. Generates archives (fixed seed), starts
//! the real server on loopback in this process (embedded SQLite in a temporary folder, or
//! PostgreSQL with `--database-url`), uploads them over HTTP from concurrent clients, and
//! waits until every archive is checked and every accepted record is delivered. The figure
//! is records per second from the first upload to the last delivery.
//!
//! With PostgreSQL, `--worker-processes N` runs the checks in N extra `daiko worker`
//! processes (the server then runs none itself), to show how the pipeline scales out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use daiko_store::orgs::OrgKind;
use daiko_store::users::NewUser;

use crate::Exit;

#[derive(Debug, Args)]
pub struct BenchServeArgs {
    /// Archives to upload.
    #[arg(long, default_value_t = 8)]
    pub archives: usize,
    /// Records per archive.
    #[arg(long, default_value_t = 500)]
    pub records: usize,
    /// Concurrent upload clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Pipeline workers inside the server process.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Extra `daiko worker` processes (PostgreSQL only).
    #[arg(long, default_value_t = 0)]
    pub worker_processes: usize,
    /// PostgreSQL URL (a fresh, empty database); default: SQLite in a temporary folder.
    #[arg(long)]
    pub database_url: Option<String>,
}

pub fn run(args: BenchServeArgs) -> Result<Exit> {
    if args.worker_processes > 0 && args.database_url.is_none() {
        bail!("--worker-processes needs --database-url (PostgreSQL): SQLite is one process");
    }
    let rt = crate::admin::runtime()?;
    rt.block_on(bench(args))
}

async fn bench(args: BenchServeArgs) -> Result<Exit> {
    let tmp = std::env::temp_dir().join(format!("daiko-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let result = bench_in(&args, &tmp).await;
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

async fn bench_in(args: &BenchServeArgs, dir: &std::path::Path) -> Result<Exit> {
    eprintln!(
        "generating {} archives × {} records …",
        args.archives, args.records
    );
    let samples = daiko_sample::generate(&daiko_sample::SampleConfig {
        archives: args.archives,
        records: args.records,
        seed: 1,
        period: daiko_sample::Period::Fy2024,
        ..Default::default()
    })
    .context("generating archives")?;
    let records: usize = samples.iter().map(|s| s.manifest.records.len()).sum();

    let store = daiko_store::Store::open(dir, args.database_url.as_deref()).await?;
    let agency = store
        .add_org(OrgKind::Agency, "99000010", "ベンチ代行機関", &[])
        .await?;
    let institution = store
        .add_org(
            OrgKind::Institution,
            &samples[0].reference.institution,
            "ベンチ健診センター",
            &[],
        )
        .await?;
    for ins in daiko_sample::people::default_insurers() {
        store
            .add_org(
                OrgKind::Insurer,
                &ins,
                "ベンチ保険者",
                &daiko_store::orgs::SERVICES,
            )
            .await?;
    }
    let user = store
        .add_user(&NewUser {
            login: "bench",
            display_name: "",
            role: "institution",
            org_id: Some(&institution.id),
            password_hash: "",
            must_change_password: false,
            totp_secret: "",
        })
        .await?;
    let token = daiko_server::auth::new_api_token()?;
    store.add_token(&user.id, &token.hash).await?;

    let mut config = daiko_server::ServerConfig::defaults(dir);
    config.service_hours = daiko_server::hours::ServiceHours::parse("always").context("hours")?;
    config.workers = if args.worker_processes > 0 {
        0
    } else {
        args.workers
    };
    config.database_url = args.database_url.clone();
    let state = daiko_server::AppState::new(store.clone(), config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(daiko_server::serve(state, listener, stop_rx));

    let mut children = Vec::new();
    if let Some(url) = &args.database_url {
        let exe = std::env::current_exe()?;
        for _ in 0..args.worker_processes {
            children.push(
                tokio::process::Command::new(&exe)
                    .arg("--data-dir")
                    .arg(dir)
                    .args(["worker", "--workers", "2"])
                    .env("DAIKO_DATABASE_URL", url)
                    .kill_on_drop(true)
                    .spawn()
                    .context("starting a worker process")?,
            );
        }
    }
    let _ = agency;

    let client = reqwest::Client::new();
    let base = format!("http://{addr}/api/v1");
    let queue = Arc::new(tokio::sync::Mutex::new(
        samples.into_iter().collect::<Vec<_>>(),
    ));
    let started = Instant::now();
    let mut uploads = tokio::task::JoinSet::new();
    for _ in 0..args.clients.max(1) {
        let (queue, client, base, token) = (
            queue.clone(),
            client.clone(),
            base.clone(),
            token.plain.clone(),
        );
        uploads.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let Some(s) = queue.lock().await.pop() else {
                    break;
                };
                let r = client
                    .post(format!("{base}/submissions?name={}", s.name))
                    .bearer_auth(&token)
                    .header("content-type", "application/zip")
                    .body(s.zip)
                    .send()
                    .await?;
                if r.status().as_u16() != 202 {
                    bail!("upload of {} answered {}", s.name, r.status());
                }
                let v: serde_json::Value = r.json().await?;
                ids.push(v["id"].as_str().unwrap_or_default().to_string());
            }
            Ok::<_, anyhow::Error>(ids)
        });
    }
    let mut ids = Vec::new();
    while let Some(r) = uploads.join_next().await {
        ids.extend(r??);
    }
    let uploaded = started.elapsed();
    // Wait until every submission is checked and no job is left.
    loop {
        let c = store.job_counts().await?;
        if c.queued == 0 && c.running == 0 {
            break;
        }
        if c.failed > 0 {
            bail!("{} pipeline jobs failed", c.failed);
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("not finished after an hour");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let mut delivered = 0usize;
    for id in &ids {
        delivered += store
            .records_of_submission(id)
            .await?
            .iter()
            .filter(|r| r.delivery_id.is_some())
            .count();
    }
    let _ = stop_tx.send(true);
    let _ = server.await;
    for mut c in children {
        let _ = c.kill().await;
    }
    let db = if args.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "{} archives, {records} records ({delivered} delivered) over HTTP with {} clients; {db}; \
         {} in-process workers, {} worker processes",
        ids.len(),
        args.clients,
        if args.worker_processes > 0 {
            0
        } else {
            args.workers
        },
        args.worker_processes
    );
    println!(
        "uploads done in {:.2} s; all checked and delivered in {:.2} s: {:.0} records/s end to end",
        uploaded.as_secs_f64(),
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64()
    );
    Ok(Exit::Ok)
}
