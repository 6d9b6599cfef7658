//! Encryption at rest (S18): the keyring, wrapped data keys in SQL, blob envelopes, TOTP
//! secrets and master key rotation, on SQLite and PostgreSQL (skipped with a message when
//! absent).

use std::path::{Path, PathBuf};

use daiko_store::keyring::{
    KeyError, KeyringConfig, MasterSource, append_master_key, create_master_file,
};
use daiko_store::users::NewUser;
use daiko_store::{AGENCY_TENANT, Store, StoreError, testdb};
use sqlx::Row;

const MARKER: &[u8] = b"S18-MARKER-7f3a9c";

/// Where a test store lives: its database URL (None: SQLite in `dir`) and folders.
struct Place {
    name: &'static str,
    dir: PathBuf,
    url: Option<String>,
}

impl Place {
    async fn open(&self, keys: KeyringConfig) -> Result<Store, StoreError> {
        match &self.url {
            None => Store::open_with(&self.dir, None, keys).await,
            Some(u) => Store::connect(u, &self.dir.join("blobs"), keys).await,
        }
    }
}

async fn places(dir: &Path) -> Vec<Place> {
    let mut out = vec![Place {
        name: "sqlite",
        dir: dir.join("sqlite"),
        url: None,
    }];
    if let Some(url) = testdb::fresh_postgres_url().await {
        out.push(Place {
            name: "postgres",
            dir: dir.join("pg"),
            url: Some(url),
        });
    }
    out
}

fn with_marker(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    // The marker repeated, across chunk boundaries too.
    let mut at = 0;
    while at + MARKER.len() <= len {
        v[at..at + MARKER.len()].copy_from_slice(MARKER);
        at += 40_000;
    }
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` that contains `needle`.
fn grep(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if contains(&std::fs::read(&p).unwrap(), needle) {
                hits.push(p);
            }
        }
    }
    hits
}

fn key_error(e: StoreError) -> KeyError {
    match e {
        StoreError::Key(k) => k,
        other => panic!("expected a key error, got {other:?}"),
    }
}

#[tokio::test]
async fn blobs_are_encrypted_per_tenant_and_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    for place in places(tmp.path()).await {
        eprintln!("-- on {}", place.name);
        let master = place.dir.join("master.key");
        std::fs::create_dir_all(&place.dir).unwrap();
        create_master_file(&master).unwrap();
        let s = place.open(KeyringConfig::file(&master)).await.unwrap();
        let b = s.blobs();
        let full = 64 * 1024;
        for (i, len) in [0, 1, full - 1, full, full + 1, 3 * full, 200_001]
            .into_iter()
            .enumerate()
        {
            let data = with_marker(len);
            let key = format!("archives/t{i}.zip");
            b.put_for("org-a", &key, &data).await.unwrap();
            assert_eq!(b.get(&key).await.unwrap(), data, "length {len}");
            assert!(b.is_encrypted(&key).await.unwrap());
            // Streamed in odd pieces: the same plaintext, hash and size.
            let skey = format!("archives/s{i}.zip");
            let mut w = b.writer_for("org-a", &skey, u64::MAX).await.unwrap();
            for piece in data.chunks(7_777) {
                assert!(w.write(piece).await.unwrap());
            }
            let written = w.finish().await.unwrap();
            assert_eq!(written.size, len as u64);
            assert_eq!(b.get(&skey).await.unwrap(), data);
        }
        // Nothing of the plaintext is on disk (control: the marker is in what was put).
        assert!(contains(&with_marker(200_001), MARKER));
        assert_eq!(grep(b.root(), MARKER), Vec::<PathBuf>::new());

        // The size limit still holds and leaves nothing behind.
        let mut w = b.writer("x/z.bin", 4).await.unwrap();
        assert!(!w.write(b"hello").await.unwrap());
        w.abort().await;
        assert!(!b.exists("x/z.bin").await.unwrap());
        assert!(matches!(
            b.get("x/z.bin").await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(std::fs::read_dir(b.root().join("tmp")).unwrap().count(), 0);

        // One data key per tenant, named in the envelope; `put` is the agency's.
        b.put("reports/agency.json", b"{}").await.unwrap();
        b.put_for("org-b", "reports/b.json", b"{}").await.unwrap();
        let header = |k: &str| {
            let bytes = std::fs::read(b.root().join(k)).unwrap();
            daiko_store::keyring::EnvelopeHeader::parse(&bytes)
                .unwrap()
                .unwrap()
                .key_id
        };
        let (ka, kb, kg) = (
            header("archives/t1.zip"),
            header("reports/b.json"),
            header("reports/agency.json"),
        );
        assert!(ka != kb && kb != kg && ka != kg);
        let rows =
            sqlx::query("SELECT id, tenant, master_id, wrapped FROM data_keys ORDER BY tenant")
                .fetch_all(s.pool())
                .await
                .unwrap();
        let tenants: Vec<String> = rows.iter().map(|r| r.get("tenant")).collect();
        // S26: an organisation's blobs are sealed under its retention scope's key.
        let scope = |org: &str| daiko_store::retention::write_scope(org, &daiko_store::now());
        assert_eq!(
            tenants,
            [AGENCY_TENANT.to_string(), scope("org-a"), scope("org-b")]
        );
        for r in &rows {
            let wrapped: String = r.get("wrapped");
            // base64 of nonce (12) + key (32) + tag (16)
            assert_eq!(wrapped.len(), 80);
        }
        let ids: Vec<String> = rows.iter().map(|r| r.get("id")).collect();
        assert!(ids.contains(&ka) && ids.contains(&kb) && ids.contains(&kg));

        // A second process (a fresh store on the same database) reads everything.
        let again = place.open(KeyringConfig::file(&master)).await.unwrap();
        assert_eq!(
            again.blobs().get("archives/t6.zip").await.unwrap(),
            with_marker(200_001)
        );
        let st = again.keyring().status().await.unwrap();
        assert_eq!(st.data_keys.len(), 3);
        assert_eq!(st.masters.len(), 1);
        assert_eq!(st.masters[0].1, 3);
        assert!(st.missing_masters.is_empty());
    }
}

#[tokio::test]
async fn tampering_truncation_reordering_and_moves_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for place in places(tmp.path()).await {
        eprintln!("-- on {}", place.name);
        let master = place.dir.join("master.key");
        std::fs::create_dir_all(&place.dir).unwrap();
        create_master_file(&master).unwrap();
        let s = place.open(KeyringConfig::file(&master)).await.unwrap();
        let b = s.blobs();
        let full = 64 * 1024;
        let data = with_marker(3 * full + 10);
        b.put_for("org-a", "archives/a.zip", &data).await.unwrap();
        let path = b.root().join("archives/a.zip");
        let good = std::fs::read(&path).unwrap();
        let header_len = good.len() - (data.len() + 4 * 16);
        let chunk = full + 16;
        let refused = async |bytes: Vec<u8>, what: &str| {
            std::fs::write(&path, bytes).unwrap();
            match key_error(b.get("archives/a.zip").await.unwrap_err()) {
                KeyError::Tampered(_) => {}
                other => panic!("{what}: {other:?}"),
            }
        };
        let mut flipped = good.clone();
        flipped[header_len + 100] ^= 1;
        refused(flipped, "flipped bit").await;
        let mut flipped = good.clone();
        flipped[12] ^= 1; // in the data key id
        std::fs::write(&path, &flipped).unwrap();
        assert!(b.get("archives/a.zip").await.is_err());
        // Dropping the last chunk leaves a file that ends on a chunk boundary.
        refused(good[..header_len + 3 * chunk].to_vec(), "truncated").await;
        refused(good[..good.len() - 1].to_vec(), "one byte short").await;
        let mut swapped = good[..header_len].to_vec();
        swapped.extend_from_slice(&good[header_len + chunk..header_len + 2 * chunk]);
        swapped.extend_from_slice(&good[header_len..header_len + chunk]);
        swapped.extend_from_slice(&good[header_len + 2 * chunk..]);
        refused(swapped, "reordered").await;
        let mut extended = good.clone();
        extended.extend_from_slice(&good[header_len..header_len + chunk]);
        refused(extended, "repeated chunk").await;
        std::fs::write(&path, &good).unwrap();
        assert_eq!(b.get("archives/a.zip").await.unwrap(), data);
        // The blob key is authenticated: a copy under another name does not open.
        std::fs::copy(&path, b.root().join("archives/b.zip")).unwrap();
        match key_error(b.get("archives/b.zip").await.unwrap_err()) {
            KeyError::Tampered(_) => {}
            other => panic!("moved blob: {other:?}"),
        }
        // A wrapped key altered in the database does not unwrap (fresh process, no cache).
        let dk = daiko_store::keyring::EnvelopeHeader::parse(&good)
            .unwrap()
            .unwrap()
            .key_id;
        let wrapped: String = sqlx::query("SELECT wrapped FROM data_keys WHERE id = $1")
            .bind(&dk)
            .fetch_one(s.pool())
            .await
            .unwrap()
            .get("wrapped");
        let mut bad = wrapped.into_bytes();
        bad[20] = if bad[20] == b'A' { b'B' } else { b'A' };
        sqlx::query("UPDATE data_keys SET wrapped = $1 WHERE id = $2")
            .bind(String::from_utf8(bad).unwrap())
            .bind(&dk)
            .execute(s.pool())
            .await
            .unwrap();
        let fresh = place.open(KeyringConfig::file(&master)).await.unwrap();
        match key_error(fresh.blobs().get("archives/a.zip").await.unwrap_err()) {
            KeyError::Unwrap(id) => assert_eq!(id, dk),
            other => panic!("altered wrapped key: {other:?}"),
        }
    }
}

#[tokio::test]
async fn legacy_plaintext_is_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = Store::open_with(
        &dir,
        None,
        KeyringConfig::from_env(&dir, &|_| None).unwrap(),
    )
    .await
    .unwrap();
    // Without a configured key the quick start generates one outside the blob tree, 0600.
    let generated = dir.join("keys/master.key");
    assert_eq!(
        s.keyring().source(),
        &MasterSource::DataFolder(generated.clone())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&generated).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(!generated.starts_with(s.blobs().root()));
    std::fs::create_dir_all(s.blobs().root().join("archives")).unwrap();
    std::fs::write(s.blobs().root().join("archives/old.zip"), b"PK\x03\x04old").unwrap();
    let e = key_error(s.blobs().get("archives/old.zip").await.unwrap_err());
    assert!(matches!(e, KeyError::Plaintext(_)));
    assert!(e.to_string().contains("DAIKO_ALLOW_PLAINTEXT_LEGACY"));
    assert!(e.message_ja().contains("暗号化されず"));
    assert!(!s.blobs().is_encrypted("archives/old.zip").await.unwrap());
    drop(s);
    let env = |k: &str| (k == "DAIKO_ALLOW_PLAINTEXT_LEGACY").then(|| "1".to_string());
    let s = Store::open_with(&dir, None, KeyringConfig::from_env(&dir, &env).unwrap())
        .await
        .unwrap();
    assert_eq!(
        s.blobs().get("archives/old.zip").await.unwrap(),
        b"PK\x03\x04old"
    );
}

#[tokio::test]
async fn master_key_sources_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // 32 bytes
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert!(matches!(
        KeyringConfig::from_env(
            dir,
            &env(&[("DAIKO_MASTER_KEY", "x"), ("DAIKO_MASTER_KEY_FILE", "/y")])
        ),
        Err(KeyError::TwoSources)
    ));
    // A key from the environment: no file is generated.
    let e = dir.join("env");
    let pairs: &'static [(&str, &str)] = Box::leak(Box::new([("DAIKO_MASTER_KEY", key)]));
    let s = Store::open_with(&e, None, KeyringConfig::from_env(&e, &env(pairs)).unwrap())
        .await
        .unwrap();
    assert_eq!(s.keyring().source(), &MasterSource::Env);
    assert!(!e.join("keys/master.key").exists());
    assert_eq!(s.keyring().master_ids().len(), 1);
    s.blobs().put("a/b", b"x").await.unwrap();
    assert_eq!(s.blobs().get("a/b").await.unwrap(), b"x");
    drop(s);
    // Another master key cannot read the wrapped data keys: named, nothing read.
    let other: &'static [(&str, &str)] = Box::leak(Box::new([(
        "DAIKO_MASTER_KEY",
        "k2 AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )]));
    let err = Store::open_with(&e, None, KeyringConfig::from_env(&e, &env(other)).unwrap())
        .await
        .err()
        .unwrap();
    match key_error(err) {
        KeyError::UnknownMaster { master, .. } => assert!(master.starts_with('m')),
        other => panic!("{other:?}"),
    }

    // Files: group/world-readable refused (S20), bad lines named without the value.
    let f = dir.join("master.key");
    std::fs::write(&f, format!("k1 {key}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Store::open_with(&dir.join("f"), None, KeyringConfig::file(&f))
            .await
            .err()
            .unwrap();
        let k = key_error(err);
        assert!(matches!(k, KeyError::FileTooOpen { mode: 0o644, .. }));
        assert!(k.message_ja().contains("chmod 600"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    for (text, detail) in [
        ("k1 notbase64!!\n", "not base64"),
        ("k1 AAEC\n", "an AES-256 key is 32 bytes"),
        (&*format!("k1 {key}\nk1 {key}\n"), "duplicate id"),
        (&*format!("bad/id {key}\n"), "id must be"),
        ("# only a comment\n", ""),
    ] {
        std::fs::write(&f, text).unwrap();
        let err = Store::open_with(&dir.join("f"), None, KeyringConfig::file(&f))
            .await
            .err()
            .unwrap();
        let k = key_error(err);
        assert!(k.to_string().contains(detail), "{k}");
        assert!(!k.to_string().contains(key));
    }
}

#[tokio::test]
async fn rotation_while_another_process_keeps_reading() {
    let tmp = tempfile::tempdir().unwrap();
    for place in places(tmp.path()).await {
        eprintln!("-- on {}", place.name);
        let master = place.dir.join("master.key");
        std::fs::create_dir_all(&place.dir).unwrap();
        let m1 = create_master_file(&master).unwrap();
        // "server": runs throughout; "cli": the operator's commands.
        let server = place.open(KeyringConfig::file(&master)).await.unwrap();
        for org in ["org-a", "org-b"] {
            server
                .blobs()
                .put_for(org, &format!("archives/{org}-1.zip"), &with_marker(70_000))
                .await
                .unwrap();
        }
        let m2 = append_master_key(&master).unwrap();
        assert_ne!(m1, m2);
        let cli = place.open(KeyringConfig::file(&master)).await.unwrap();
        assert_eq!(cli.keyring().master_ids(), [m1.clone(), m2.clone()]);
        let r = cli.keyring().rotate_master().await.unwrap();
        assert_eq!(
            (r.master.as_str(), r.rewrapped, r.already),
            (m2.as_str(), 3, 0)
        );
        assert_eq!(cli.keyring().rotate_master().await.unwrap().already, 3);
        let st = cli.keyring().status().await.unwrap();
        assert_eq!(st.masters, [(m1.clone(), 0), (m2.clone(), 3)]);

        // The old master key can go: remove its line from the file.
        let text = std::fs::read_to_string(&master).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with(&format!("{m1} ")))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&master, kept).unwrap();
        // The running server keeps reading (cached keys) and writing.
        assert_eq!(
            server.blobs().get("archives/org-a-1.zip").await.unwrap(),
            with_marker(70_000)
        );
        server
            .blobs()
            .put_for("org-a", "archives/org-a-2.zip", b"after rotation")
            .await
            .unwrap();
        // A tenant's first key made by another process under m2: the server does not know
        // m2 yet, reloads the file and reads it.
        cli.blobs()
            .put_for("org-c", "archives/org-c-1.zip", b"new tenant")
            .await
            .unwrap();
        assert_eq!(
            server.blobs().get("archives/org-c-1.zip").await.unwrap(),
            b"new tenant"
        );
        // A process started now (only m2 in the file) reads everything.
        let later = place.open(KeyringConfig::file(&master)).await.unwrap();
        assert_eq!(later.keyring().master_ids(), std::slice::from_ref(&m2));
        for (k, v) in [
            ("archives/org-a-1.zip", with_marker(70_000)),
            ("archives/org-b-1.zip", with_marker(70_000)),
            ("archives/org-a-2.zip", b"after rotation".to_vec()),
            ("archives/org-c-1.zip", b"new tenant".to_vec()),
        ] {
            assert_eq!(later.blobs().get(k).await.unwrap(), v, "{k}");
        }

        // New data keys: old blobs still read, new blobs use the new key.
        let started = later.keyring().new_data_keys().await.unwrap();
        assert_eq!(started.len(), 4); // agency, org-a, org-b, org-c
        later
            .blobs()
            .put_for("org-a", "archives/org-a-3.zip", b"third")
            .await
            .unwrap();
        let id_of = |k: &str| {
            let bytes = std::fs::read(later.blobs().root().join(k)).unwrap();
            daiko_store::keyring::EnvelopeHeader::parse(&bytes)
                .unwrap()
                .unwrap()
                .key_id
        };
        assert_ne!(id_of("archives/org-a-3.zip"), id_of("archives/org-a-2.zip"));
        assert!(started.iter().any(|(t, id)| *t
            == daiko_store::retention::write_scope("org-a", &daiko_store::now())
            && *id == id_of("archives/org-a-3.zip")));
        assert_eq!(
            later.blobs().get("archives/org-a-1.zip").await.unwrap(),
            with_marker(70_000)
        );
        let st = later.keyring().status().await.unwrap();
        assert_eq!(st.data_keys.len(), 8);
        assert_eq!(
            st.data_keys
                .iter()
                .filter(|k| k.retired_at.is_some())
                .count(),
            4
        );
    }
}

#[tokio::test]
async fn totp_secrets_are_encrypted_and_clear_ones_migrated() {
    let tmp = tempfile::tempdir().unwrap();
    for place in places(tmp.path()).await {
        eprintln!("-- on {}", place.name);
        let master = place.dir.join("master.key");
        std::fs::create_dir_all(&place.dir).unwrap();
        create_master_file(&master).unwrap();
        let s = place.open(KeyringConfig::file(&master)).await.unwrap();
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let u = s
            .add_user(&NewUser {
                login: "op1",
                display_name: "",
                role: "operator",
                org_id: None,
                password_hash: "x",
                must_change_password: false,
                totp_secret: secret,
            })
            .await
            .unwrap();
        assert_eq!(u.totp_secret, secret);
        let stored = |s: &Store, id: String| {
            let pool = s.pool().clone();
            async move {
                sqlx::query("SELECT totp_secret FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .get::<String, _>("totp_secret")
            }
        };
        let raw = stored(&s, u.id.clone()).await;
        assert!(raw.starts_with("enc1:") && !raw.contains(secret), "{raw}");
        assert_eq!(
            s.user_by_login("op1").await.unwrap().unwrap().totp_secret,
            secret
        );
        s.set_totp_secret(&u.id, "NEWSECRETNEWSECRET")
            .await
            .unwrap();
        assert!(!stored(&s, u.id.clone()).await.contains("NEWSECRET"));
        assert_eq!(
            s.users(None).await.unwrap()[0].totp_secret,
            "NEWSECRETNEWSECRET"
        );
        // Another user's ciphertext does not open for this user (the id is authenticated).
        let v = s
            .add_user(&NewUser {
                login: "op2",
                display_name: "",
                role: "operator",
                org_id: None,
                password_hash: "x",
                must_change_password: false,
                totp_secret: "",
            })
            .await
            .unwrap();
        assert_eq!(stored(&s, v.id.clone()).await, "");
        sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2")
            .bind(stored(&s, u.id.clone()).await)
            .bind(&v.id)
            .execute(s.pool())
            .await
            .unwrap();
        assert!(matches!(
            key_error(s.user(&v.id).await.unwrap_err()),
            KeyError::Tampered(_)
        ));
        // A clear value left by a version before S18 is encrypted when the store opens.
        sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2")
            .bind(secret)
            .bind(&v.id)
            .execute(s.pool())
            .await
            .unwrap();
        assert!(matches!(
            key_error(s.user(&v.id).await.unwrap_err()),
            KeyError::Plaintext(_)
        ));
        let reopened = place.open(KeyringConfig::file(&master)).await.unwrap();
        let raw = stored(&reopened, v.id.clone()).await;
        assert!(raw.starts_with("enc1:") && !raw.contains(secret));
        assert_eq!(
            reopened.user(&v.id).await.unwrap().unwrap().totp_secret,
            secret
        );
    }
}

#[tokio::test]
async fn legacy_blobs_are_encrypted_under_their_owners_keys() {
    use daiko_store::orgs::OrgKind;
    use daiko_store::submissions::NewSubmission;
    let tmp = tempfile::tempdir().unwrap();
    for place in places(tmp.path()).await {
        eprintln!("-- on {}", place.name);
        let master = place.dir.join("master.key");
        std::fs::create_dir_all(&place.dir).unwrap();
        create_master_file(&master).unwrap();
        let s = place.open(KeyringConfig::file(&master)).await.unwrap();
        let inst = s
            .add_org(OrgKind::Institution, "1311111111", "健診センター", &[])
            .await
            .unwrap();
        let mut tx = s.begin().await.unwrap();
        let receipt = s.next_receipt_no(&mut tx, "20261204").await.unwrap();
        s.insert_submission_in(
            &mut tx,
            &NewSubmission {
                id: "old1",
                org_id: &inst.id,
                uploaded_by: None,
                channel: "api",
                archive_name: "a.zip",
                sha256: "ff",
                size: 10,
                blob_key: "archives/old1.zip",
            },
            &receipt,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // Received in 2016-01 (年度 2015), long before the current year.
        sqlx::query(
            "UPDATE submissions SET received_at = '2016-01-10T09:00:00Z' WHERE id = 'old1'",
        )
        .execute(s.pool())
        .await
        .unwrap();
        // As a version before S18 left them: plaintext files.
        let root = s.blobs().root().to_path_buf();
        std::fs::create_dir_all(root.join("archives")).unwrap();
        std::fs::create_dir_all(root.join("misc")).unwrap();
        std::fs::write(root.join("archives/old1.zip"), with_marker(100_000)).unwrap();
        std::fs::write(root.join("misc/note.txt"), MARKER).unwrap();
        s.blobs().put("misc/new.txt", b"already").await.unwrap();
        assert_eq!(grep(&root, MARKER).len(), 2);

        let r = s.encrypt_legacy_blobs().await.unwrap();
        assert_eq!(r.already, 1);
        // Sealed into the scope of its 年度 of receipt (S26), not the current year's.
        let scope = format!("{}/2015", inst.id);
        assert_eq!(r.encrypted.get(&scope), Some(&1), "{r:?}");
        assert_eq!(r.left, 0);
        assert_eq!(r.encrypted.get(AGENCY_TENANT), Some(&1));
        assert_eq!(grep(&root, MARKER), Vec::<PathBuf>::new());
        assert_eq!(
            s.blobs().get("archives/old1.zip").await.unwrap(),
            with_marker(100_000)
        );
        assert_eq!(s.blobs().get("misc/note.txt").await.unwrap(), MARKER);
        let id = daiko_store::keyring::EnvelopeHeader::parse(
            &std::fs::read(root.join("archives/old1.zip")).unwrap(),
        )
        .unwrap()
        .unwrap()
        .key_id;
        assert_eq!(s.keyring().data_key(&id).await.unwrap().tenant(), scope);
        // So the 2015 scope lists it and its destruction would reach it.
        let listed = s
            .retention_scopes("2026-12-04")
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.scope == scope)
            .expect("2015 scope listed");
        assert_eq!(listed.counts.get("archives"), Some(&1), "{listed:?}");
        // Running it again finds nothing to do.
        let again = s.encrypt_legacy_blobs().await.unwrap();
        assert!(again.encrypted.is_empty());
        assert_eq!(again.already, 3);
    }
}
