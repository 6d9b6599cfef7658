//! Backups and restore end to end (SECURITY.md S25), as an operator runs them: a server
//! receives archives while `daiko backup` runs; the data folder is destroyed (the master key
//! lives outside it); `daiko restore` brings back every archive, report, delivery and record
//! (compared by hash of the decrypted blobs and a dump of every table); the server serves the
//! old submissions from the restored folder. Tampered generations are refused; old
//! generations are pruned. The same on PostgreSQL, into a second fresh database. The same
//! with an S3-compatible target: a real S3-protocol server (s3s-fs) runs in this process on a
//! loopback port, and `daiko` reaches it through the environment only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

mod common;
use common::{Server, client, free_port, serve, upload, wait_done};

use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};

struct Env<'a> {
    key_file: &'a Path,
    database_url: Option<&'a str>,
}

impl Env<'_> {
    fn command(&self, dir: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_daiko"));
        c.arg("--data-dir")
            .arg(dir)
            .env_remove("DAIKO_MASTER_KEY")
            .env("DAIKO_MASTER_KEY_FILE", self.key_file)
            .env("DAIKO_INITIAL_PASSWORD", "Initial-Pass-2026")
            .env("DAIKO_SERVICE_HOURS", "always");
        match self.database_url {
            Some(u) => c.env("DAIKO_DATABASE_URL", u),
            None => c.env_remove("DAIKO_DATABASE_URL"),
        };
        c
    }
    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(dir).args(args).output().expect("run daiko")
    }
    fn ok(&self, dir: &Path, args: &[&str]) -> String {
        ok(self.run(dir, args))
    }
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

/// The command fails with exit 2 and both a Japanese and an English message containing
/// `ja` and `en`.
fn refused(o: Output, ja: &str, en: &str) {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "expected a refusal: {err}");
    assert!(err.contains(ja) && err.contains(en), "{err}");
}

fn start(env: &Env, dir: &Path, port: u16) -> Server {
    serve(env.command(dir), port)
}

/// An agency with one institution (with an API token) and the sample insurers; returns the
/// token and the sample archives.
fn set_up(env: &Env, dir: &Path, seed: u64) -> (String, Vec<(String, Vec<u8>)>) {
    env.ok(
        dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "テスト代行機関",
        ],
    );
    let samples = daiko_sample::generate(&daiko_sample::SampleConfig {
        archives: 5,
        records: 3,
        seed,
        period: daiko_sample::Period::Fy2024,
        defect_rate: 0.0,
        ..Default::default()
    })
    .expect("samples");
    let institution = samples[0].reference.institution.clone();
    env.ok(
        dir,
        &[
            "org",
            "add",
            "institution",
            "--number",
            &institution,
            "--name",
            "テスト健診センター",
        ],
    );
    for (i, ins) in daiko_sample::people::default_insurers().iter().enumerate() {
        env.ok(
            dir,
            &[
                "org",
                "add",
                "insurer",
                "--number",
                ins,
                "--name",
                &format!("保険者{i}"),
            ],
        );
    }
    env.ok(
        dir,
        &[
            "user",
            "add",
            "--login",
            "clinic",
            "--role",
            "institution",
            "--org",
            &institution,
        ],
    );
    let token = env
        .ok(dir, &["token", "create", "--login", "clinic"])
        .trim()
        .to_string();
    let archives = samples.into_iter().map(|s| (s.name, s.zip)).collect();
    (token, archives)
}

/// Every table as sorted text lines (order of rows is not part of the data).
async fn dump_tables(url: &str) -> BTreeMap<String, Vec<String>> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let postgres = url.starts_with("postgres");
    let list = if postgres {
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename <> '_sqlx_migrations'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'"
    };
    let names: Vec<String> = sqlx::query(list)
        .fetch_all(&mut conn)
        .await
        .expect("tables")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let mut out = BTreeMap::new();
    for t in names {
        let q = if postgres {
            format!("SELECT row_to_json(x)::text FROM \"{t}\" x")
        } else {
            let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{t}')"
            )))
            .fetch_all(&mut conn)
            .await
            .expect("columns")
            .iter()
            .map(|r| format!("quote(\"{}\")", r.get::<String, _>(0)))
            .collect();
            format!("SELECT {} FROM \"{t}\"", cols.join(" || '|' || "))
        };
        let mut rows: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(q))
            .fetch_all(&mut conn)
            .await
            .expect("rows")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        rows.sort();
        out.insert(t, rows);
    }
    conn.close().await.expect("close");
    out
}

/// SHA-256 of every blob, decrypted through the store.
async fn blob_hashes(dir: &Path, url: Option<&str>, key_file: &Path) -> BTreeMap<String, Vec<u8>> {
    let store = daiko_store::Store::open_with(dir, url, daiko_store::KeyringConfig::file(key_file))
        .await
        .expect("store");
    let root = dir.join("blobs");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            let key = p
                .strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            if p.is_dir() {
                if key != "tmp" {
                    stack.push(p);
                }
            } else {
                let plain = store.blobs().get(&key).await.expect("blob");
                out.insert(key, Sha256::digest(&plain).to_vec());
            }
        }
    }
    store.close().await;
    out
}

/// Compares two installations: every table equal, except that the restored audit trail has
/// the `backup.restore` row after the original's rows up to the backup (the original went on
/// with `backup.create`).
fn assert_same_tables(
    original: &BTreeMap<String, Vec<String>>,
    restored: &BTreeMap<String, Vec<String>>,
) {
    assert_eq!(
        original.keys().collect::<Vec<_>>(),
        restored.keys().collect::<Vec<_>>()
    );
    for (t, rows) in original {
        if t == "audit" {
            continue;
        }
        assert_eq!(rows, &restored[t], "table {t}");
    }
    let (o, r) = (&original["audit"], &restored["audit"]);
    assert_eq!(r.len(), o.len(), "audit rows (+restore, -create)");
    let restore_rows = r.iter().filter(|l| l.contains("backup.restore")).count();
    let create_rows = o.iter().filter(|l| l.contains("backup.create")).count();
    assert_eq!(restore_rows, 1);
    let o_rest: Vec<_> = o.iter().filter(|l| !l.contains("backup.create")).collect();
    let r_rest: Vec<_> = r.iter().filter(|l| !l.contains("backup.restore")).collect();
    // Earlier backups' rows are in both; the last one's only in the original.
    assert_eq!(r_rest.len() + 1, o_rest.len() + create_rows);
    for line in &r_rest {
        assert!(
            o.contains(line),
            "restored audit row not in the original: {line}"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

fn flip_byte(path: &Path, at: usize) {
    let mut b = std::fs::read(path).expect("read");
    let i = at.min(b.len() - 1);
    b[i] ^= 0x01;
    std::fs::write(path, b).expect("write");
}

fn first_blob(generation: &Path) -> PathBuf {
    let mut stack = vec![generation.join("blobs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                return p;
            }
        }
    }
    panic!("no blob in {}", generation.display());
}

fn generations(target: &Path) -> Vec<PathBuf> {
    let mut g: Vec<PathBuf> = std::fs::read_dir(target)
        .expect("target")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    g.sort();
    g
}

fn backup_path(out: &str) -> PathBuf {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("backup written to "))
        .expect("backup path printed");
    PathBuf::from(line.trim())
}

#[test]
fn sqlite_backup_destroy_restore_serve_tamper_and_prune() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let key_file = tmp.path().join("secrets").join("master.key");
    daiko_store::keyring::create_master_file(&key_file).expect("master key");
    let env = Env {
        key_file: &key_file,
        database_url: None,
    };
    let target = tmp.path().join("backups");
    let target_s = target.to_str().expect("utf-8 path");
    let (token, archives) = set_up(&env, &dir, 25);

    let port = free_port();
    let server = start(&env, &dir, port);
    let mut ids: Vec<String> = archives[..2]
        .iter()
        .map(|(n, z)| upload(port, &token, n, z))
        .collect();
    for id in &ids {
        wait_done(port, &token, id);
    }
    // A backup while uploads go on: consistent on its own (restorable, audit chain intact).
    let uploader = {
        let token = token.clone();
        let later: Vec<(String, Vec<u8>)> = archives[2..].to_vec();
        std::thread::spawn(move || {
            later
                .iter()
                .map(|(n, z)| {
                    let id = upload(port, &token, n, z);
                    std::thread::sleep(Duration::from_millis(30));
                    id
                })
                .collect::<Vec<_>>()
        })
    };
    let during = backup_path(&env.ok(&dir, &["backup", "--to", target_s, "--keep", "2"]));
    ids.extend(uploader.join().expect("uploads"));
    for id in &ids {
        wait_done(port, &token, id);
    }
    // The backup of the finished state, server still running.
    let full = backup_path(&env.ok(&dir, &["backup", "--to", target_s, "--keep", "2"]));
    drop(server);
    assert_eq!(generations(&target), vec![during.clone(), full.clone()]);

    let verified = env.ok(&dir, &["backup", "verify", full.to_str().expect("path")]);
    assert!(verified.contains("verified"), "{verified}");
    // Nothing personal is readable in the backup: the snapshot and tables are sealed.
    let db_sealed = std::fs::read(full.join("database.sqlite3.enc")).expect("snapshot");
    assert!(db_sealed.starts_with(b"DAIKOENC"));
    assert!(!db_sealed.windows(15).any(|w| w == b"SQLite format 3"));
    assert!(!db_sealed.windows(6).any(|w| w == b"clinic"));
    // No file of the generation holds a name stored in clear in the database (the control:
    // the live database file does).
    let name = "テスト健診センター".as_bytes();
    assert!(
        live_database_holds(&dir, name),
        "control: the clear name is in the live database or its WAL"
    );
    let mut stack = vec![full.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let b = std::fs::read(&p).expect("read");
                assert!(!b.windows(name.len()).any(|w| w == name), "{}", p.display());
            }
        }
    }

    let db_url = format!("sqlite://{}", dir.join("daiko.sqlite3").display());
    let tables_before = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(dump_tables(&db_url));
    let blobs_before = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(blob_hashes(&dir, None, &key_file));
    assert!(blobs_before.keys().any(|k| k.starts_with("archives/")));
    assert!(blobs_before.keys().any(|k| k.starts_with("reports/")));
    assert!(blobs_before.keys().any(|k| k.starts_with("deliveries/")));

    // Destroy the data folder.
    std::fs::remove_dir_all(&dir).expect("destroy");
    assert!(!dir.exists());

    // Tampered copies are refused before anything is written.
    let restore_into = |generation: &Path, into: &Path| {
        env.run(
            tmp.path(),
            &[
                "restore",
                "--from",
                generation.to_str().expect("path"),
                "--data",
                into.to_str().expect("path"),
            ],
        )
    };
    type Tamper = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tamper, &str, &str)> = vec![
        (
            "flipped blob byte",
            Box::new(|g: &Path| flip_byte(&first_blob(g), 200)),
            "改ざん",
            "altered",
        ),
        (
            "removed blob",
            Box::new(|g: &Path| std::fs::remove_file(first_blob(g)).expect("rm")),
            "ありません",
            "missing",
        ),
        (
            "edited manifest",
            Box::new(|g: &Path| flip_byte(&g.join("manifest.enc"), 120)),
            "改ざん",
            "altered",
        ),
        (
            "flipped database byte",
            Box::new(|g: &Path| flip_byte(&g.join("database.sqlite3.enc"), 5000)),
            "改ざん",
            "altered",
        ),
        (
            "edited keys.json",
            Box::new(|g: &Path| {
                let k = std::fs::read_to_string(g.join("keys.json")).expect("keys");
                std::fs::write(
                    g.join("keys.json"),
                    k.replacen("\"agency\"", "\"agency2\"", 1),
                )
                .expect("write")
            }),
            "改ざん",
            "altered",
        ),
    ];
    for (i, (what, tamper, ja, en)) in cases.iter().enumerate() {
        let copy = tmp
            .path()
            .join(format!("tampered{i}"))
            .join("20000101T000000Z");
        copy_dir(&full, &copy);
        tamper(&copy);
        let into = tmp.path().join(format!("into{i}"));
        eprintln!("tamper case: {what}");
        refused(
            env.run(tmp.path(), &["backup", "verify", copy.to_str().expect("p")]),
            ja,
            en,
        );
        refused(restore_into(&copy, &into), ja, en);
        assert!(!into.exists(), "{what}: nothing may be written");
    }
    // A non-empty target is refused.
    let busy = tmp.path().join("busy");
    std::fs::create_dir_all(&busy).expect("mkdir");
    std::fs::write(busy.join("daiko.toml"), "").expect("write");
    refused(restore_into(&full, &busy), "空ではありません", "not empty");
    // Without the escrowed master key nothing can be restored.
    let o = Command::new(env!("CARGO_BIN_EXE_daiko"))
        .args(["restore", "--from", full.to_str().expect("p"), "--data"])
        .arg(tmp.path().join("nokey"))
        .env_remove("DAIKO_MASTER_KEY")
        .env_remove("DAIKO_MASTER_KEY_FILE")
        .env_remove("DAIKO_DATABASE_URL")
        .output()
        .expect("run");
    refused(o, "マスター鍵", "master key");

    // The backup taken during uploads restores and its audit chain verifies.
    let side = tmp.path().join("side");
    let out = ok(restore_into(&during, &side));
    assert!(out.contains("blobs (decrypted SHA-256 equal)"), "{out}");
    let v = env.ok(&side, &["audit", "verify"]);
    assert!(!v.is_empty());

    // Restore the full backup into the original place.
    let out = ok(restore_into(&full, &dir));
    assert!(out.contains("table submissions"), "{out}");
    let tables_after = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(dump_tables(&db_url));
    let blobs_after = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(blob_hashes(&dir, None, &key_file));
    assert_same_tables(&tables_before, &tables_after);
    assert_eq!(blobs_before, blobs_after);
    env.ok(&dir, &["audit", "verify"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("keys/agency.key"))
            .expect("agency key restored")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The server serves the old submissions from the restored folder, and takes new ones.
    let port = free_port();
    let server = start(&env, &dir, port);
    for id in &ids {
        let r = client()
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/submissions/{id}/report"
            ))
            .bearer_auth(&token)
            .send()
            .expect("report");
        assert_eq!(r.status().as_u16(), 200, "report of {id}");
    }
    let id = upload(port, &token, &archives[0].0, &archives[0].1);
    wait_done(port, &token, &id);
    drop(server);

    // Generations beyond --keep are removed, oldest first.
    let third = backup_path(&env.ok(&dir, &["backup", "--to", target_s, "--keep", "2"]));
    assert_eq!(generations(&target), vec![full, third]);
}

#[test]
fn postgres_backup_restores_into_another_database() {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let Some(source_url) = rt.block_on(daiko_store::testdb::fresh_postgres_url()) else {
        return;
    };
    let Some(target_url) = rt.block_on(daiko_store::testdb::fresh_postgres_url()) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let key_file = tmp.path().join("secrets").join("master.key");
    daiko_store::keyring::create_master_file(&key_file).expect("master key");
    let dir = tmp.path().join("data");
    let env = Env {
        key_file: &key_file,
        database_url: Some(&source_url),
    };
    let (token, archives) = set_up(&env, &dir, 26);
    let port = free_port();
    let server = start(&env, &dir, port);
    let ids: Vec<String> = archives[..3]
        .iter()
        .map(|(n, z)| upload(port, &token, n, z))
        .collect();
    for id in &ids {
        wait_done(port, &token, id);
    }
    let target = tmp.path().join("backups");
    let generation = backup_path(&env.ok(&dir, &["backup", "--to", target.to_str().expect("p")]));
    drop(server);
    assert!(generation.join("tables").is_dir());
    let tables_before = rt.block_on(dump_tables(&source_url));
    let blobs_before = rt.block_on(blob_hashes(&dir, Some(&source_url), &key_file));

    let restored = tmp.path().join("restored");
    let target_env = Env {
        key_file: &key_file,
        database_url: Some(&target_url),
    };
    let out = target_env.ok(
        tmp.path(),
        &[
            "restore",
            "--from",
            generation.to_str().expect("p"),
            "--data",
            restored.to_str().expect("p"),
            "--database-url",
            &target_url,
        ],
    );
    assert!(out.contains("table records"), "{out}");
    // A second restore into the now non-empty database is refused.
    let again = target_env.run(
        tmp.path(),
        &[
            "restore",
            "--from",
            generation.to_str().expect("p"),
            "--data",
            tmp.path().join("other").to_str().expect("p"),
            "--database-url",
            &target_url,
        ],
    );
    refused(again, "空ではありません", "not empty");

    let tables_after = rt.block_on(dump_tables(&target_url));
    let blobs_after = rt.block_on(blob_hashes(&restored, Some(&target_url), &key_file));
    assert_same_tables(&tables_before, &tables_after);
    assert_eq!(blobs_before, blobs_after);
    target_env.ok(&restored, &["audit", "verify"]);

    // The server runs on the restored database and serves the old submissions.
    let port = free_port();
    let server = start(&target_env, &restored, port);
    for id in &ids {
        let r = client()
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/submissions/{id}/report"
            ))
            .bearer_auth(&token)
            .send()
            .expect("report");
        assert_eq!(r.status().as_u16(), 200);
    }
    drop(server);

    rt.block_on(async {
        let admin = daiko_store::testdb::postgres_admin_url();
        let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("admin");
        for url in [&source_url, &target_url] {
            let name = url.rsplit('/').next().expect("db name");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .expect("drop database");
        }
    });
}

/// A real S3-protocol server: `s3s` over `s3s-fs` (objects as files under `root`), on a free
/// loopback port in this process, with one access key. Stopped when dropped.
struct S3Server {
    endpoint: String,
    root: PathBuf,
    access_key: String,
    secret_key: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

const BUCKET: &str = "daiko-backups";

impl S3Server {
    fn start(root: &Path) -> S3Server {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket folder");
        let access_key = "daiko-test-access".to_string();
        let secret_key = format!("daiko-test-secret-{}", std::process::id());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs");
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(
            access_key.clone(),
            secret_key.clone(),
        ));
        let service = builder.build();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            root: root.to_path_buf(),
            access_key,
            secret_key,
            runtime: Some(runtime),
        }
    }

    /// The environment `daiko` reads for an S3 target.
    fn env<'a>(&'a self, c: &'a mut Command) -> &'a mut Command {
        c.env("DAIKO_S3_ENDPOINT", &self.endpoint)
            .env("AWS_REGION", "ap-northeast-1")
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env_remove("AWS_SESSION_TOKEN")
    }

    /// A client of our own, to inspect and tamper with objects through the protocol.
    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("ap-northeast-1")
            .with_bucket_name(BUCKET)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .build()
            .expect("client")
    }
}

/// Every object key under `prefix/`.
async fn object_keys(
    client: &object_store::aws::AmazonS3,
    prefix: &str,
) -> Vec<object_store::path::Path> {
    use futures_util::TryStreamExt;
    use object_store::ObjectStore;
    let mut keys: Vec<_> = client
        .list(Some(&object_store::path::Path::from(prefix)))
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .expect("list");
    keys.sort();
    keys
}

async fn get_object(
    client: &object_store::aws::AmazonS3,
    key: &object_store::path::Path,
) -> Vec<u8> {
    use object_store::ObjectStoreExt;
    client
        .get(key)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes")
        .to_vec()
}

async fn put_object(client: &object_store::aws::AmazonS3, key: &str, bytes: Vec<u8>) {
    use object_store::ObjectStoreExt;
    client
        .put(&object_store::path::Path::from(key), bytes.into())
        .await
        .expect("put");
}

/// Copies the generation `from` (a key prefix) to `to` through the protocol.
async fn copy_generation(client: &object_store::aws::AmazonS3, from: &str, to: &str) {
    for key in object_keys(client, from).await {
        let rel = key.as_ref().strip_prefix(from).expect("under the prefix");
        let bytes = get_object(client, &key).await;
        put_object(client, &format!("{to}{rel}"), bytes).await;
    }
}

/// Generation names under `prefix/` that have a manifest.
async fn s3_generations(client: &object_store::aws::AmazonS3, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = object_keys(client, prefix)
        .await
        .iter()
        .filter_map(|k| {
            let rel = k.as_ref().strip_prefix(&format!("{prefix}/"))?;
            rel.strip_suffix("/manifest.enc").map(str::to_string)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn sqlite_backup_to_s3_verify_restore_tamper_and_prune() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let key_file = tmp.path().join("secrets").join("master.key");
    daiko_store::keyring::create_master_file(&key_file).expect("master key");
    let env = Env {
        key_file: &key_file,
        database_url: None,
    };
    let (token, archives) = set_up(&env, &dir, 27);
    let s3 = S3Server::start(&tmp.path().join("s3"));
    let client = s3.client();
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let run = |dir: &Path, args: &[&str]| {
        let mut c = env.command(dir);
        s3.env(&mut c).args(args).output().expect("run daiko")
    };
    // Every output of an S3 command is checked for the secret (S20).
    let no_secret = |o: &Output| {
        for text in [&o.stdout, &o.stderr] {
            let t = String::from_utf8_lossy(text);
            assert!(!t.contains(&s3.secret_key), "secret shown: {t}");
        }
    };
    let target = format!("s3://{BUCKET}/site-a");

    let port = free_port();
    let server = start(&env, &dir, port);
    let ids: Vec<String> = archives[..3]
        .iter()
        .map(|(n, z)| upload(port, &token, n, z))
        .collect();
    for id in &ids {
        wait_done(port, &token, id);
    }
    let o = run(&dir, &["backup", "--to", &target, "--keep", "2"]);
    no_secret(&o);
    let out = ok(o);
    drop(server);
    let generation = out
        .lines()
        .find_map(|l| l.strip_prefix("backup written to "))
        .expect("location printed")
        .trim()
        .to_string();
    let name = generation
        .strip_prefix(&format!("{target}/"))
        .expect("generation under the target")
        .to_string();
    // The objects are on the server: its folder holds them, sealed.
    let stored = s3.root.join(BUCKET).join("site-a").join(&name);
    assert!(
        stored.join("manifest.enc").is_file(),
        "{}",
        stored.display()
    );
    assert!(stored.join("database.sqlite3.enc").is_file());
    let keys = rt.block_on(object_keys(&client, &format!("site-a/{name}")));
    assert!(
        keys.iter().any(|k| k.as_ref().contains("/blobs/archives/")),
        "{keys:?}"
    );
    let clear_name = "テスト健診センター".as_bytes();
    assert!(
        live_database_holds(&dir, clear_name),
        "control: the clear name is in the live database or its WAL"
    );
    for k in &keys {
        let b = rt.block_on(get_object(&client, k));
        assert!(!b.windows(clear_name.len()).any(|w| w == clear_name), "{k}");
        assert!(!b.windows(15).any(|w| w == b"SQLite format 3"), "{k}");
    }

    let o = run(&dir, &["backup", "verify", &generation]);
    no_secret(&o);
    assert!(ok(o).contains("verified"));

    let db_url = format!("sqlite://{}", dir.join("daiko.sqlite3").display());
    let tables_before = rt.block_on(dump_tables(&db_url));
    let blobs_before = rt.block_on(blob_hashes(&dir, None, &key_file));
    assert!(blobs_before.keys().any(|k| k.starts_with("reports/")));
    // The audit trail names the S3 location, never the credentials.
    let audit = tables_before["audit"].join("\n");
    assert!(
        audit.contains(&generation),
        "backup.create names {generation}"
    );
    assert!(!audit.contains(&s3.secret_key));

    // Destroy the data folder and restore from the bucket.
    std::fs::remove_dir_all(&dir).expect("destroy");
    let restore = |from: &str, into: &Path| {
        run(
            tmp.path(),
            &[
                "restore",
                "--from",
                from,
                "--data",
                into.to_str().expect("path"),
            ],
        )
    };

    // Tampered objects are refused by verify and restore, with nothing written.
    let blob_rel = keys
        .iter()
        .find_map(|k| {
            let r = k.as_ref().strip_prefix(&format!("site-a/{name}/"))?;
            r.starts_with("blobs/").then(|| r.to_string())
        })
        .expect("a blob");
    let cases: Vec<(&str, &str, bool, &str, &str)> = vec![
        (
            "flipped blob byte",
            blob_rel.as_str(),
            true,
            "改ざん",
            "altered",
        ),
        (
            "removed blob",
            blob_rel.as_str(),
            false,
            "ありません",
            "missing",
        ),
        ("edited manifest", "manifest.enc", true, "改ざん", "altered"),
        (
            "flipped database byte",
            "database.sqlite3.enc",
            true,
            "改ざん",
            "altered",
        ),
        ("edited keys.json", "keys.json", true, "改ざん", "altered"),
    ];
    for (i, (what, rel, flip, ja, en)) in cases.iter().enumerate() {
        eprintln!("S3 tamper case: {what}");
        let copy_prefix = format!("tampered{i}/20000101T000000Z");
        rt.block_on(async {
            copy_generation(&client, &format!("site-a/{name}"), &copy_prefix).await;
            let key = object_store::path::Path::from(format!("{copy_prefix}/{rel}"));
            if *flip {
                let mut b = get_object(&client, &key).await;
                let at = 200.min(b.len() - 1);
                b[at] ^= 0x01;
                put_object(&client, key.as_ref(), b).await;
            } else {
                use object_store::ObjectStoreExt;
                client.delete(&key).await.expect("delete");
            }
        });
        let copy = format!("s3://{BUCKET}/{copy_prefix}");
        let o = run(tmp.path(), &["backup", "verify", &copy]);
        no_secret(&o);
        refused(o, ja, en);
        let into = tmp.path().join(format!("into{i}"));
        refused(restore(&copy, &into), ja, en);
        assert!(!into.exists(), "{what}: nothing may be written");
    }
    // A location without a generation is not one.
    refused(
        run(
            tmp.path(),
            &["backup", "verify", &format!("{target}/20000101T000000Z")],
        ),
        "世代ではありません",
        "not a backup generation",
    );

    let o = restore(&generation, &dir);
    no_secret(&o);
    let out = ok(o);
    assert!(out.contains("blobs (decrypted SHA-256 equal)"), "{out}");
    let tables_after = rt.block_on(dump_tables(&db_url));
    let blobs_after = rt.block_on(blob_hashes(&dir, None, &key_file));
    assert_same_tables(&tables_before, &tables_after);
    assert_eq!(blobs_before, blobs_after);
    env.ok(&dir, &["audit", "verify"]);

    // An interrupted generation (no manifest) neither counts nor is pruned; with --keep 2 the
    // oldest complete generation goes, every object of it.
    rt.block_on(put_object(
        &client,
        "site-a/20000101T000000Z/keys.json",
        b"{}".to_vec(),
    ));
    let second = ok(run(&dir, &["backup", "--to", &target, "--keep", "2"]));
    assert!(!second.contains("removed old generation"), "{second}");
    let third = ok(run(&dir, &["backup", "--to", &target, "--keep", "2"]));
    assert!(
        third.contains(&format!("removed old generation {generation}")),
        "{third}"
    );
    let left = rt.block_on(s3_generations(&client, "site-a"));
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&name), "{left:?}");
    assert!(
        rt.block_on(object_keys(&client, &format!("site-a/{name}")))
            .is_empty()
    );
    assert_eq!(
        rt.block_on(object_keys(&client, "site-a/20000101T000000Z"))
            .len(),
        1
    );
    for g in &left {
        ok(run(&dir, &["backup", "verify", &format!("{target}/{g}")]));
    }

    // The environment is the only configuration, and it is checked before any request.
    let mut c = env.command(&dir);
    s3.env(&mut c)
        .env("DAIKO_S3_ENDPOINT", "http://s3.example.invalid:9000")
        .args(["backup", "--to", &target]);
    let o = c.output().expect("run");
    no_secret(&o);
    refused(o, "ループバック", "off loopback");
    let mut c = env.command(&dir);
    s3.env(&mut c)
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["backup", "--to", &target]);
    refused(
        c.output().expect("run"),
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY",
    );
    // A wrong secret is refused by the server.
    let mut c = env.command(&dir);
    s3.env(&mut c)
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .args(["backup", "--to", &target]);
    let o = c.output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");
    assert_eq!(rt.block_on(s3_generations(&client, "site-a")), left);
}

/// S26 reaching an S3 target: a destruction approved through the binary (with the S3
/// environment) purges the scope's keys and blob from the generation on the S3-protocol
/// server; the generation still verifies and the certificates list the purge.
#[test]
fn destruction_purges_an_s3_generation() {
    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let key_file = tmp.path().join("secrets").join("master.key");
    daiko_store::keyring::create_master_file(&key_file).expect("master key");
    let env = Env {
        key_file: &key_file,
        database_url: None,
    };
    env.ok(
        &dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "代行",
        ],
    );
    env.ok(&dir, &["user", "add", "--login", "boss", "--role", "admin"]);
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let (org, copied) = rt.block_on(async {
        let store =
            daiko_store::Store::open_with(&dir, None, daiko_store::KeyringConfig::file(&key_file))
                .await
                .expect("store");
        let boss = store.user_by_login("boss").await.expect("q").expect("boss");
        let hash = daiko_server::auth::hash_password("Boss-Own-Pass-2026").expect("hash");
        store
            .set_password(&boss.id, &hash, false)
            .await
            .expect("password");
        store.set_totp_secret(&boss.id, SECRET).await.expect("totp");
        let org = store
            .add_org(
                daiko_store::orgs::OrgKind::Institution,
                "1310000001",
                "医療機関",
                &[],
            )
            .await
            .expect("org");
        for (fy, id, receipt) in [(2015, "s-old", "R-1"), (2024, "s-new", "R-2")] {
            let key = format!("archives/{id}.zip");
            store
                .blobs()
                .put_for(&format!("{}/{fy}", org.id), &key, id.as_bytes())
                .await
                .expect("blob");
            sqlx::query(
                "INSERT INTO submissions (id, receipt_no, org_id, channel, archive_name, sha256, \
                 size, blob_key, status, received_at) \
                 VALUES ($1, $2, $3, 'api', 'a.zip', 'x', 1, $4, 'done', $5)",
            )
            .bind(id)
            .bind(receipt)
            .bind(&org.id)
            .bind(&key)
            .bind(daiko_store::now())
            .execute(store.pool())
            .await
            .expect("submission");
        }
        let copied = std::fs::read(store.blobs().root().join("archives/s-old.zip")).expect("copy");
        store.close().await;
        (org, copied)
    });
    let s3 = S3Server::start(&tmp.path().join("s3"));
    let client = s3.client();
    let run = |args: &[&str], extra: &[(&str, &str)]| {
        let mut c = env.command(&dir);
        s3.env(&mut c);
        for (k, v) in extra {
            c.env(k, v);
        }
        ok(c.args(args).output().expect("run daiko"))
    };
    let target = format!("s3://{BUCKET}/site");
    let location = backup_path(&run(&["backup", "--to", &target], &[]));
    let generation = location
        .to_str()
        .expect("utf-8")
        .rsplit('/')
        .next()
        .expect("name")
        .to_string();
    let out = run(
        &[
            "retention",
            "destroy",
            "--tenant",
            "1310000001",
            "--scope",
            "2015",
        ],
        &[],
    );
    let id = out
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no approval id in {out:?}"))
        .to_string();
    let code = daiko_server::auth::totp_code(SECRET, jiff::Timestamp::now().as_second() as u64)
        .expect("code");
    run(
        &["approvals", "approve", &id, "--as", "boss", "--totp", &code],
        &[("DAIKO_PASSWORD", "Boss-Own-Pass-2026")],
    );
    let certs = run(&["retention", "certificates"], &[]);
    let purged = certs
        .lines()
        .find(|l| l.contains("backup purge") && l.contains(&format!("{target}/{generation}")))
        .unwrap_or_else(|| panic!("no S3 purge in {certs}"));
    assert!(purged.contains("removed 1 keys, 1 blobs"), "{purged}");
    assert!(!certs.contains(&s3.secret_key), "{certs}");
    run(
        &["backup", "verify", &format!("{target}/{generation}")],
        &[],
    );
    let old_scope = format!("{}/2015", org.id);
    rt.block_on(async {
        let keys = get_object(
            &client,
            &object_store::path::Path::from(format!("site/{generation}/keys.json")),
        )
        .await;
        let kj: serde_json::Value = serde_json::from_slice(&keys).expect("json");
        let tenants: Vec<&str> = kj["data_keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k["tenant"].as_str())
            .collect();
        assert!(!tenants.contains(&old_scope.as_str()), "{tenants:?}");
        assert!(tenants.contains(&format!("{}/2024", org.id).as_str()));
        let left = object_keys(&client, &format!("site/{generation}/blobs/archives")).await;
        let names: Vec<&str> = left.iter().map(|k| k.as_ref()).collect();
        assert!(!names.iter().any(|n| n.ends_with("s-old.zip")), "{names:?}");
        assert!(names.iter().any(|n| n.ends_with("s-new.zip")), "{names:?}");
        // The old ciphertext has no key anywhere the installation knows.
        let store =
            daiko_store::Store::open_with(&dir, None, daiko_store::KeyringConfig::file(&key_file))
                .await
                .expect("store");
        assert!(
            store
                .keyring()
                .decrypt("old", b"archives/s-old.zip", copied)
                .await
                .is_err()
        );
        store.close().await;
    });
}

/// Whether the live SQLite database holds `needle`, in the main file or (not yet
/// checkpointed) in its write-ahead log.
fn live_database_holds(dir: &Path, needle: &[u8]) -> bool {
    ["daiko.sqlite3", "daiko.sqlite3-wal"].iter().any(|f| {
        std::fs::read(dir.join(f))
            .map(|b| b.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}
