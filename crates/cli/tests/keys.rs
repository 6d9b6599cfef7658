//! Encryption at rest end to end (SECURITY.md S18), as an operator runs it: a server
//! receives archives whose members are stored uncompressed with a marker string; nothing in
//! the data folder contains the marker; the master key is rotated while the server runs and
//! uploads continue; every archive, report and delivery is readable afterwards with only the
//! new master key.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

mod common;
use common::{Server, client, free_port, serve, upload, wait_done};

fn daiko(dir: &Path, key_file: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daiko"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DAIKO_DATABASE_URL")
        .env_remove("DAIKO_MASTER_KEY")
        .env("DAIKO_MASTER_KEY_FILE", key_file)
        .env("DAIKO_INITIAL_PASSWORD", "Initial-Pass-2026")
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

fn start(dir: &Path, key_file: &Path, port: u16) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_daiko"));
    command
        .arg("--data-dir")
        .arg(dir)
        .env("DAIKO_SERVICE_HOURS", "always")
        .env_remove("DAIKO_DATABASE_URL")
        .env_remove("DAIKO_MASTER_KEY")
        .env("DAIKO_MASTER_KEY_FILE", key_file);
    serve(command, port)
}

/// The archive rewritten with every member stored (no compression) and `marker` in an XML
/// comment of the first data file, so that the marker is plain in the ZIP bytes.
fn stored_with_marker(zip: &[u8], marker: &str) -> Vec<u8> {
    let mut input = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("sample zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut marked = false;
    for i in 0..input.len() {
        let mut f = input.by_index(i).expect("entry");
        let name = f.name().expect("entry name").to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).expect("read entry");
        if f.is_dir() {
            out.add_directory(name, options).expect("dir");
            continue;
        }
        if !marked && name.contains("/DATA/") && name.ends_with(".xml") {
            let text = String::from_utf8(bytes).expect("utf-8");
            let at = text.find("?>").map(|i| i + 2).unwrap_or(0);
            bytes = format!("{}<!--{marker}-->{}", &text[..at], &text[at..]).into_bytes();
            marked = true;
        }
        out.start_file(name, options).expect("start");
        out.write_all(&bytes).expect("write");
    }
    assert!(marked, "no data file to mark");
    out.finish().expect("finish").into_inner()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` whose bytes contain `needle`.
fn grep(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if contains(&std::fs::read(&p).unwrap_or_default(), needle) {
                hits.push(p);
            }
        }
    }
    hits
}

#[test]
fn nothing_readable_at_rest_and_rotation_while_serving() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    // The master key lives outside the data folder, as in production.
    let key_file = tmp.path().join("secrets").join("master.key");
    let m1 = daiko_store::keyring::create_master_file(&key_file).expect("master key");
    let d = |args: &[&str]| ok(daiko(&dir, &key_file, args));
    d(&[
        "init",
        "--agency-number",
        "99000010",
        "--agency-name",
        "テスト代行機関",
    ]);
    let samples = daiko_sample::generate(&daiko_sample::SampleConfig {
        archives: 6,
        records: 3,
        seed: 18,
        period: daiko_sample::Period::Fy2024,
        defect_rate: 0.0,
        ..Default::default()
    })
    .expect("samples");
    let institution = samples[0].reference.institution.clone();
    d(&[
        "org",
        "add",
        "institution",
        "--number",
        &institution,
        "--name",
        "テスト健診センター",
    ]);
    for (i, ins) in daiko_sample::people::default_insurers().iter().enumerate() {
        d(&[
            "org",
            "add",
            "insurer",
            "--number",
            ins,
            "--name",
            &format!("保険者{i}"),
        ]);
    }
    d(&[
        "user",
        "add",
        "--login",
        "clinic",
        "--role",
        "institution",
        "--org",
        &institution,
    ]);
    let token = d(&["token", "create", "--login", "clinic"])
        .trim()
        .to_string();

    let marker = format!("S18-MARKER-{}", std::process::id());
    let archives: Vec<(String, Vec<u8>)> = samples
        .iter()
        .map(|s| (s.name.clone(), stored_with_marker(&s.zip, &marker)))
        .collect();
    // Control: the marker is in the uploaded bytes as they are, and grep finds it on disk.
    assert!(contains(&archives[0].1, marker.as_bytes()));
    let control = tmp.path().join("control");
    std::fs::create_dir_all(&control).expect("control dir");
    std::fs::write(control.join("upload.zip"), &archives[0].1).expect("control file");
    assert_eq!(grep(&control, marker.as_bytes()).len(), 1);

    let port = free_port();
    let server = start(&dir, &key_file, port);
    let mut ids = Vec::new();
    for (name, zip) in &archives[..2] {
        ids.push(upload(port, &token, name, zip));
    }
    for id in &ids {
        wait_done(port, &token, id);
    }

    // Rotate while uploads continue.
    let uploader = {
        let token = token.clone();
        let later: Vec<(String, Vec<u8>)> = archives[2..].to_vec();
        std::thread::spawn(move || {
            later
                .iter()
                .map(|(name, zip)| {
                    let id = upload(port, &token, name, zip);
                    std::thread::sleep(Duration::from_millis(50));
                    id
                })
                .collect::<Vec<_>>()
        })
    };
    let added = d(&["keys", "new-master"]);
    assert!(added.contains("added master key"), "{added}");
    let rotated = d(&["keys", "rotate"]);
    assert!(rotated.contains("rewrapped"), "{rotated}");
    ids.extend(uploader.join().expect("uploads"));
    for id in &ids {
        wait_done(port, &token, id);
    }
    // Sweep again for keys made under the old master during the rotation, then check.
    d(&["keys", "rotate"]);
    let status = d(&["keys", "status"]);
    assert!(
        status.contains(&format!("  {m1}: wraps 0 data keys")),
        "{status}"
    );
    // Status never shows key material.
    let key_text = std::fs::read_to_string(&key_file).expect("key file");
    for line in key_text.lines().filter(|l| !l.starts_with('#')) {
        let b64 = line.split_whitespace().last().expect("key");
        assert!(!status.contains(b64));
    }
    // The old master key is removed from the file while the server runs; it keeps
    // serving reads and new uploads.
    let kept: String = key_text
        .lines()
        .filter(|l| !l.starts_with(&format!("{m1} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&key_file, kept).expect("rewrite key file");
    let r = client()
        .get(format!(
            "http://127.0.0.1:{port}/api/v1/submissions/{}/report",
            ids[0]
        ))
        .bearer_auth(&token)
        .send()
        .expect("report");
    assert_eq!(r.status().as_u16(), 200);
    let last = upload(port, &token, &archives[0].0, &archives[0].1);
    wait_done(port, &token, &last);
    ids.push(last);
    drop(server);

    // S18's test: nothing in the data folder contains the marker.
    assert_eq!(grep(&dir, marker.as_bytes()), Vec::<PathBuf>::new());

    // Everything is readable with only the new master key, and it is what was uploaded.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let keys = daiko_store::KeyringConfig::file(&key_file);
        let store = daiko_store::Store::open_with(&dir, None, keys)
            .await
            .expect("store");
        assert_eq!(store.keyring().master_ids().len(), 1);
        let mut deliveries = 0;
        for id in &ids {
            let sub = store.submission(id).await.expect("query").expect("row");
            let zip = store.blobs().get(&sub.blob_key).await.expect("archive");
            // The control inside the store: decrypted, the marker is there.
            assert!(contains(&zip, marker.as_bytes()));
            assert!(archives.iter().any(|(_, a)| *a == zip));
            let report = store
                .blobs()
                .get(sub.report_key.as_deref().expect("report key"))
                .await
                .expect("report");
            assert!(serde_json::from_slice::<serde_json::Value>(&report).is_ok());
        }
        for dl in store.deliveries(None, 10_000).await.expect("deliveries") {
            assert!(
                !store
                    .blobs()
                    .get(&dl.blob_key)
                    .await
                    .expect("delivery")
                    .is_empty()
            );
            deliveries += 1;
        }
        assert!(deliveries > 0, "the samples should produce deliveries");
        let st = store.keyring().status().await.expect("status");
        // agency, the institution and at least one insurer, each with its own key.
        assert!(st.data_keys.len() >= 3, "{st:?}");
        assert!(st.missing_masters.is_empty());
    });
}

#[test]
fn quick_start_key_is_generated_with_mode_0600_and_checked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_daiko"))
            .arg("--data-dir")
            .arg(&dir)
            .args(args)
            .env_remove("DAIKO_DATABASE_URL")
            .env_remove("DAIKO_MASTER_KEY")
            .env_remove("DAIKO_MASTER_KEY_FILE")
            .output()
            .expect("run daiko")
    };
    ok(run(&[
        "init",
        "--agency-number",
        "99000010",
        "--agency-name",
        "テスト代行機関",
    ]));
    let key = dir.join("keys").join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("generated key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let status = ok(run(&["keys", "status"]));
    assert!(status.contains("quick start only"), "{status}");
    // `serve` off loopback refuses this key: server/tests/master_key.rs (it needs TLS first).
    // A world-readable key file is refused by every command (S20).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let o = run(&["keys", "status"]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("chmod 600"));
    }
}
