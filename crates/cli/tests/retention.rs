//! `daiko retention` through the real binary (S26): two retention scopes of one institution;
//! the destruction of the old one waits for a second administrator's approval (S10), then
//! crypto-shreds it: a copy of its ciphertext no longer opens, the other scope reads, the
//! certificate is printed and sits in a verifying audit chain.

use std::path::Path;
use std::process::{Command, Output};

use daiko_store::invite::{CardRow, MemberRow, NewRoster};
use daiko_store::orgs::OrgKind;

fn daiko(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_daiko"));
    c.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DAIKO_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run daiko")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "daiko failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn backup_path(out: &str) -> std::path::PathBuf {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("backup written to "))
        .unwrap_or_else(|| panic!("no backup path in {out}"));
    std::path::PathBuf::from(line.trim())
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read dir") {
        let e = e.expect("entry");
        let to = dst.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[test]
fn destruction_waits_for_a_second_admin_then_shreds_one_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    ok(daiko(
        &dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "代行",
        ],
        &[],
    ));
    ok(daiko(
        &dir,
        &["user", "add", "--login", "boss", "--role", "admin"],
        &[("DAIKO_INITIAL_PASSWORD", "Initial-Pass-2026-x")],
    ));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (org, copied, ins) = rt.block_on(async {
        let store = daiko_store::Store::open(&dir, None).await.expect("store");
        let boss = store.user_by_login("boss").await.expect("q").expect("boss");
        let hash = daiko_server::auth::hash_password("Boss-Own-Pass-2026").expect("hash");
        store
            .set_password(&boss.id, &hash, false)
            .await
            .expect("password");
        store.set_totp_secret(&boss.id, SECRET).await.expect("totp");
        let org = store
            .add_org(OrgKind::Institution, "1310000001", "医療機関", &[])
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
        // An insurer with a roster of 年度 2015 and no scoped data that year.
        let ins = store
            .add_org(OrgKind::Insurer, "06139999", "健保", &["check"])
            .await
            .expect("insurer");
        let members = [MemberRow {
            card: CardRow {
                symbol: "S".into(),
                number: "1".into(),
                branch: String::new(),
            },
            member_json: "{}".into(),
        }];
        let roster = store
            .add_roster(&NewRoster {
                insurer: "06139999",
                sha256: "aa",
                encoding: "utf8",
                file_name: "roster.csv",
                imported_by: "kenpo1",
                members: &members,
            })
            .await
            .expect("roster");
        sqlx::query("UPDATE invite_rosters SET imported_at = '2015-06-01T00:00:00Z' WHERE id = $1")
            .bind(&roster.id)
            .execute(store.pool())
            .await
            .expect("backdate roster");
        (org, copied, ins.id)
    });

    ok(daiko(
        &dir,
        &[
            "retention",
            "set",
            "archives",
            "6",
            "--tenant",
            "1310000001",
        ],
        &[],
    ));
    assert!(ok(daiko(&dir, &["retention", "show"], &[])).contains("1310000001 archives: 6"));
    let due = ok(daiko(&dir, &["retention", "due"], &[]));
    assert!(due.contains(&format!("{}/2015", org.id)), "{due}");
    assert!(!due.contains(&format!("{}/2024", org.id)), "{due}");
    assert!(due.contains("archives=1"), "{due}");
    // The insurer's rosters of 2015 without scoped data: listed without keys, with counts.
    assert!(
        due.contains(&format!(
            "{ins}/2015 tenant=06139999 fiscal_year=2015 DUE from 2021-04-01 \
             keys=- (rosters only/名簿のみ) roster_members=1 rosters=1"
        )),
        "{due}"
    );
    // The 2024 scope is still within retention.
    let o = daiko(
        &dir,
        &[
            "retention",
            "destroy",
            "--tenant",
            "1310000001",
            "--scope",
            "2024",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = ok(daiko(
        &dir,
        &[
            "retention",
            "destroy",
            "--tenant",
            "1310000001",
            "--scope",
            "2015",
        ],
        &[],
    ));
    let id = out
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no approval id in {out:?}"))
        .to_string();
    // Pending: nothing destroyed yet.
    assert!(ok(daiko(&dir, &["retention", "certificates"], &[])).is_empty());
    // Two backup locations; the second is offline (moved away) when the destruction runs.
    let bk = tmp.path().join("bk");
    let g1 = backup_path(&ok(daiko(
        &dir,
        &["backup", "--to", bk.to_str().expect("utf-8")],
        &[],
    )));
    let bk2 = tmp.path().join("bk2");
    let g_off = backup_path(&ok(daiko(
        &dir,
        &["backup", "--to", bk2.to_str().expect("utf-8")],
        &[],
    )));
    let moved = tmp.path().join("bk2-moved");
    std::fs::rename(&bk2, &moved).expect("move");
    let code = daiko_server::auth::totp_code(SECRET, jiff::Timestamp::now().as_second() as u64)
        .expect("code");
    // Without a running server, the approving command runs the queued backup purge itself.
    let approved = ok(daiko(
        &dir,
        &["approvals", "approve", &id, "--as", "boss", "--totp", &code],
        &[("DAIKO_PASSWORD", "Boss-Own-Pass-2026")],
    ));
    assert!(approved.contains("NOT complete"), "{approved}");
    let certs = ok(daiko(&dir, &["retention", "certificates"], &[]));
    // Not complete (a location is offline): pending, retried later.
    let pending = certs
        .lines()
        .find(|l| l.contains("PENDING"))
        .unwrap_or_else(|| panic!("no pending purge in {certs}"));
    assert!(
        pending.contains("state=queued") && pending.contains("attempts=1"),
        "{pending}"
    );
    // Run at once while the location is still away: still not complete (exit 1).
    let again = daiko(&dir, &["retention", "purge-backups"], &[]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let certs = ok(daiko(&dir, &["retention", "certificates"], &[]));
    assert!(certs.contains("attempts=2"), "{certs}");
    let certs: String = certs
        .lines()
        .filter(|l| !l.contains("PENDING"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(certs.contains(&format!("scope={}/2015", org.id)), "{certs}");
    assert!(certs.contains("approved_by=boss"), "{certs}");
    assert!(certs.contains("archives=1"), "{certs}");
    // S26 in the backups: the reachable generation was purged and still verifies; the
    // offline location is listed as not purged (severity high).
    let purged = certs
        .lines()
        .find(|l| l.contains("backup purge") && l.contains(&g1.display().to_string()))
        .unwrap_or_else(|| panic!("no purge of {} in {certs}", g1.display()));
    assert!(purged.contains("removed 1 keys, 1 blobs"), "{purged}");
    let offline = certs
        .lines()
        .find(|l| l.contains("backup purge") && l.contains(&bk2.display().to_string()))
        .unwrap_or_else(|| panic!("no line for the offline location in {certs}"));
    assert!(
        offline.contains("UNREACHABLE") && offline.contains("severity=high"),
        "{offline}"
    );
    ok(daiko(
        &dir,
        &["backup", "verify", g1.to_str().expect("utf-8")],
        &[],
    ));
    let kj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(g1.join("keys.json")).expect("keys")).expect("json");
    let old_scope = format!("{}/2015", org.id);
    assert!(
        kj["data_keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["tenant"].as_str() != Some(old_scope.as_str())),
        "{kj}"
    );
    assert!(!g1.join("blobs/archives/s-old.zip").exists());
    // A newer generation where the offline one lives records the destruction: restoring the
    // old generation there destroys the scope again.
    ok(daiko(
        &dir,
        &["backup", "--to", moved.to_str().expect("utf-8")],
        &[],
    ));
    let restored = tmp.path().join("restored");
    let master = dir.join("keys").join("master.key");
    let from = moved.join(g_off.file_name().expect("name"));
    let out = ok(daiko(
        &restored,
        &[
            "restore",
            "--from",
            from.to_str().expect("utf-8"),
            "--data",
            restored.to_str().expect("utf-8"),
        ],
        &[("DAIKO_MASTER_KEY_FILE", master.to_str().expect("utf-8"))],
    ));
    assert!(out.contains(&format!("廃棄を再適用: {old_scope}")), "{out}");
    rt.block_on(async {
        let store = daiko_store::Store::open_with(
            &restored,
            None,
            daiko_store::KeyringConfig::file(&master),
        )
        .await
        .expect("restored store");
        let err = store
            .keyring()
            .decrypt("old", b"archives/s-old.zip", copied.clone())
            .await
            .expect_err("a restore must not bring a destroyed scope back");
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        assert_eq!(
            store.blobs().get("archives/s-new.zip").await.expect("new"),
            b"s-new"
        );
        store.close().await;
    });

    rt.block_on(async {
        let store = daiko_store::Store::open(&dir, None).await.expect("store");
        let err = store
            .keyring()
            .decrypt("old", b"archives/s-old.zip", copied)
            .await
            .expect_err("a destroyed scope must not open");
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        assert_eq!(
            store.blobs().get("archives/s-new.zip").await.expect("new"),
            b"s-new"
        );
        assert!(store.verify_audit().await.expect("verify").broken.is_none());
        assert_eq!(
            store.approval(&id).await.expect("q").expect("a").status,
            "executed"
        );
    });
    // The location is back (a copy: the newer backup made `moved` a known location too):
    // `retention purge-backups` completes the purge, nothing pending.
    copy_tree(&moved, &bk2);
    let out = ok(daiko(&dir, &["retention", "purge-backups"], &[]));
    assert!(out.contains("done / 完了"), "{out}");
    let certs = ok(daiko(&dir, &["retention", "certificates"], &[]));
    assert!(!certs.contains("PENDING"), "{certs}");
    ok(daiko(
        &dir,
        &[
            "backup",
            "verify",
            bk2.join(g_off.file_name().expect("name"))
                .to_str()
                .expect("utf-8"),
        ],
        &[],
    ));
    assert!(
        !bk2.join(g_off.file_name().expect("name"))
            .join("blobs/archives/s-old.zip")
            .exists()
    );
}

/// Data written before retention scopes (an archive sealed under the organisation's own
/// key): `retention due` reports it unscoped, `keys rescope` seals it again under its
/// scope's key (the 年度 of receipt, 2015), after which the scope is listed with it and a
/// second run has nothing to do.
#[test]
fn keys_rescope_brings_old_data_under_its_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    ok(daiko(
        &dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "代行",
        ],
        &[],
    ));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let org = rt.block_on(async {
        let store = daiko_store::Store::open(&dir, None).await.expect("store");
        let org = store
            .add_org(OrgKind::Institution, "1310000001", "医療機関", &[])
            .await
            .expect("org");
        let key = "archives/s-old.zip";
        let sealed = store
            .keyring()
            .encrypt_value(&org.id, key.as_bytes(), b"old data")
            .await
            .expect("seal");
        let path = store.blobs().root().join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, sealed).expect("write");
        sqlx::query(
            "INSERT INTO submissions (id, receipt_no, org_id, channel, archive_name, sha256, \
             size, blob_key, status, received_at) \
             VALUES ('s-old', 'R-1', $1, 'api', 'a.zip', 'x', 1, $2, 'done', \
             '2015-06-01T00:00:00Z')",
        )
        .bind(&org.id)
        .bind(key)
        .execute(store.pool())
        .await
        .expect("submission");
        store.close().await;
        org
    });
    let due = ok(daiko(&dir, &["retention", "due", "--all"], &[]));
    assert!(
        due.contains(&format!("{} tenant=1310000001 UNSCOPED blobs=1", org.id)),
        "{due}"
    );
    assert!(!due.contains(&format!("{}/2015", org.id)), "{due}");
    let out = ok(daiko(&dir, &["keys", "rescope"], &[]));
    assert!(
        out.contains(&format!("1 blobs sealed again under scope {}/2015", org.id)),
        "{out}"
    );
    let due = ok(daiko(&dir, &["retention", "due", "--all"], &[]));
    assert!(!due.contains("UNSCOPED"), "{due}");
    assert!(
        due.contains(&format!(
            "{}/2015 tenant=1310000001 fiscal_year=2015 DUE",
            org.id
        )) && due.contains("archives=1"),
        "{due}"
    );
    let again = ok(daiko(&dir, &["keys", "rescope"], &[]));
    assert!(
        again.contains("0 blobs moved into retention scopes, 1 already scoped, 0 left"),
        "{again}"
    );
}
