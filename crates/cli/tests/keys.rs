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

        // The agency's media private key (S18): it opens with the new master key only, and
        // neither its DER nor any text form of it is anywhere in the data folder.
        let key_path = dir.join("keys").join("agency.key");
        let on_disk = std::fs::read_to_string(&key_path).expect("agency key file");
        assert!(on_disk.starts_with("daiko-agency-key-v1\n"), "{on_disk}");
        let keys = daiko_pipeline::media::ensure_agency_keys(&store, &dir)
            .await
            .expect("agency keys open");
        let (ders, forms) = private_key_forms(&keys);
        // Control: every form is found where the key is written in the clear (the key file
        // as it was before S18, each DER raw, as PEM and in upper-case hex).
        let clear = keys.to_key_text(&key_path).expect("key text");
        std::fs::write(control.join("agency.key"), clear.as_bytes()).expect("control key");
        for (i, der) in ders.iter().enumerate() {
            std::fs::write(control.join(format!("{i}.der")), der).expect("control der");
            std::fs::write(control.join(format!("{i}.hex")), hex_of(der, true)).expect("hex");
            let pem = base64_of(der)
                .chunks(64)
                .map(|l| format!("{}\n", String::from_utf8_lossy(l)))
                .collect::<String>();
            std::fs::write(
                control.join(format!("{i}.pem")),
                format!("-----BEGIN PRIVATE KEY-----\n{pem}-----END PRIVATE KEY-----\n"),
            )
            .expect("control pem");
        }
        for form in &forms {
            assert!(!grep(&control, form).is_empty(), "control misses a form");
            assert_eq!(grep(&dir, form), Vec::<PathBuf>::new());
        }
    });
}

fn hex_of(b: &[u8], upper: bool) -> Vec<u8> {
    b.iter()
        .map(|x| {
            if upper {
                format!("{x:02X}")
            } else {
                format!("{x:02x}")
            }
        })
        .collect::<String>()
        .into_bytes()
}

fn base64_of(b: &[u8]) -> Vec<u8> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

/// The two PKCS#8 DERs (signing first) and the forms the private keys could be written in:
/// each DER raw, in hex, in upper-case hex, as the first PEM line of its base64, and each
/// raw 32-byte private scalar raw and in hex.
fn private_key_forms(keys: &daiko_seal::OrgKeys) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let text = keys.to_key_text(Path::new("agency.key")).expect("key text");
    let mut forms = Vec::new();
    let mut ders: Vec<Vec<u8>> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| name.ends_with("-pkcs8"))
        .map(|(_, hex)| {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect();
    assert_eq!(ders.len(), 2, "two private keys");
    ders.reverse();
    for der in &ders {
        forms.push(der.clone());
        forms.push(hex_of(der, false));
        forms.push(hex_of(der, true));
        forms.push(base64_of(der)[..64].to_vec());
        // ECPrivateKey: version 1 (02 01 01), then the scalar as a 32-byte OCTET STRING.
        let at = der
            .windows(5)
            .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
            .expect("EC private key in the DER");
        let scalar = &der[at + 5..at + 37];
        forms.push(scalar.to_vec());
        forms.push(hex_of(scalar, false));
    }
    (ders, forms)
}

/// `daiko serve` that must refuse to start: its exit status and stderr.
fn serve_refused(dir: &Path, key_file: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_daiko"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env("DAIKO_SERVICE_HOURS", "always")
        .env_remove("DAIKO_DATABASE_URL")
        .env_remove("DAIKO_MASTER_KEY")
        .env("DAIKO_MASTER_KEY_FILE", key_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start daiko serve");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("daiko serve started although a key file is readable by others");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(!status.success(), "{err}");
    err
}

#[cfg(unix)]
#[test]
fn agency_key_is_encrypted_legacy_migrated_and_checked_by_serve() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let key_file = tmp.path().join("secrets").join("master.key");
    daiko_store::keyring::create_master_file(&key_file).expect("master key");
    let d = |args: &[&str]| ok(daiko(&dir, &key_file, args));
    d(&[
        "init",
        "--agency-number",
        "99000010",
        "--agency-name",
        "テスト代行機関",
    ]);
    let agency_key = dir.join("keys").join("agency.key");
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&agency_key), 0o600);
    let first = std::fs::read_to_string(&agency_key).expect("key file");
    assert!(first.starts_with("daiko-agency-key-v1\n"), "{first}");
    let public = d(&["media", "agency-key"]);
    assert!(
        first.contains(public.trim()),
        "the public key is noted for people"
    );

    // A clear key file from before S18 (as `to_file` writes one): found by grep, then
    // encrypted in place by `keys encrypt-legacy`, the same keys afterwards.
    std::fs::remove_file(&agency_key).expect("remove");
    let legacy = daiko_seal::OrgKeys::generate().expect("keys");
    legacy.to_file(&agency_key).expect("legacy file");
    let (_, forms) = private_key_forms(&legacy);
    assert!(
        !grep(&dir, &forms[1]).is_empty(),
        "control: clear file found"
    );
    let out = d(&["keys", "encrypt-legacy"]);
    assert!(out.contains("agency media key file: encrypted"), "{out}");
    let now = std::fs::read_to_string(&agency_key).expect("key file");
    assert!(now.starts_with("daiko-agency-key-v1\n"), "{now}");
    assert_eq!(mode(&agency_key), 0o600);
    for form in &forms {
        assert_eq!(grep(&dir, form), Vec::<PathBuf>::new());
    }
    assert_eq!(
        d(&["media", "agency-key"]).trim(),
        legacy.public().to_text()
    );
    let again = d(&["keys", "encrypt-legacy"]);
    assert!(
        again.contains("agency media key file: already encrypted"),
        "{again}"
    );

    // A ciphertext that was altered does not open (and says so), also at serve.
    let line = now
        .lines()
        .find(|l| l.starts_with("sealed "))
        .expect("sealed line");
    let flipped = if line.ends_with('0') { '1' } else { '0' };
    let altered = now.replace(line, &format!("{}{flipped}", &line[..line.len() - 1]));
    std::fs::write(&agency_key, &altered).expect("alter");
    let err = serve_refused(&dir, &key_file);
    assert!(err.contains("refusing to start"), "{err}");
    assert!(
        err.contains("does not authenticate") && err.contains("認証に失敗"),
        "{err}"
    );
    std::fs::write(&agency_key, &now).expect("restore");

    // S20: serve refuses to start when the agency key or the master key file is readable
    // by group or others, in Japanese and English.
    std::fs::set_permissions(&agency_key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = serve_refused(&dir, &key_file);
    assert!(
        err.contains("起動しません") && err.contains("refusing to start"),
        "{err}"
    );
    assert!(
        err.contains("グループ") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(err.contains("agency.key"), "{err}");
    std::fs::set_permissions(&agency_key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let err = serve_refused(&dir, &key_file);
    assert!(
        err.contains("起動しません") && err.contains("refusing to start"),
        "{err}"
    );
    assert!(
        err.contains("マスター鍵ファイル") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    // With both files protected it serves, and the key still opens.
    let port = free_port();
    let server = start(&dir, &key_file, port);
    drop(server);
    assert_eq!(
        d(&["media", "agency-key"]).trim(),
        legacy.public().to_text()
    );
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
