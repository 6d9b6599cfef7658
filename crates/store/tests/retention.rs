//! S26 on SQLite and PostgreSQL: two retention scopes of one institution; destroying the
//! old one needs an approval by a second administrator; afterwards a copy of its ciphertext
//! no longer opens (its data key is gone), the other scope still reads, the records lose
//! their personal identifiers and the certificate sits in a verifying audit chain. Billing
//! lines lose the numbers too, an insurer's scope takes its 年度's rosters and invitations
//! along, and backups and restores follow.

use daiko_store::audit::AuditEntry;
use daiko_store::billing::FreezeMonth;
use daiko_store::governance::Decision;
use daiko_store::invite::{
    CardRow, IssuedBatch, IssuedRow, MemberRow, NewRoster, ReminderRoundRow,
};
use daiko_store::orgs::OrgKind;
use daiko_store::retention::{self, RetentionError};
use daiko_store::testdb;
use sqlx::Row;

fn entry(actor: &str) -> AuditEntry {
    AuditEntry {
        actor: actor.into(),
        role: "admin".into(),
        source: "test".into(),
        ..Default::default()
    }
}

async fn add_submission(s: &daiko_store::Store, id: &str, org: &str, blob: &str, receipt: &str) {
    sqlx::query(
        "INSERT INTO submissions (id, receipt_no, org_id, channel, archive_name, sha256, size, \
         blob_key, status, received_at) VALUES ($1, $2, $3, 'api', 'a.zip', 'x', 1, $4, 'done', $5)",
    )
    .bind(id)
    .bind(receipt)
    .bind(org)
    .bind(blob)
    .bind(daiko_store::now())
    .execute(s.pool())
    .await
    .expect("submission");
    sqlx::query(
        "INSERT INTO records (id, submission_id, seq, data_file, claim_file, insurer, institution, \
         voucher, card_symbol, card_number, service_event_type, service_date, fiscal_year, \
         outcome, state) VALUES ($1, $2, 1, 'd.xml', 'c.xml', '06139999', '1310000001', \
         'V123', 'SYM', 'CARD42', 1, '20150601', 2015, 'accepted', 'accepted')",
    )
    .bind(format!("r-{id}"))
    .bind(id)
    .execute(s.pool())
    .await
    .expect("record");
}

#[tokio::test]
async fn crypto_shredding_of_one_scope_on_both_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let org = s
            .add_org(OrgKind::Institution, "1310000001", "医療機関", &[])
            .await
            .expect("org");
        let old_scope = format!("{}/2015", org.id);
        let new_scope = format!("{}/2024", org.id);
        s.blobs()
            .put_for(&old_scope, "sub/old.zip", b"old personal data")
            .await
            .expect("old blob");
        s.blobs()
            .put_for(&new_scope, "sub/new.zip", b"new personal data")
            .await
            .expect("new blob");
        add_submission(&s, "s-old", &org.id, "sub/old.zip", "R-1").await;
        add_submission(&s, "s-new", &org.id, "sub/new.zip", "R-2").await;
        let copied = std::fs::read(s.blobs().root().join("sub/old.zip")).expect("copy");

        // Policy: defaults, and a longer period for this organisation's archives.
        let mut p = s.retention_policy().await.expect("policy");
        assert_eq!(p.years(&org.id, "archives"), 5);
        p.set(Some(&org.id), "archives", 6).expect("set");
        s.set_retention_policy(&p, &entry("admin1"))
            .await
            .expect("store policy");

        let scopes = s.retention_scopes("2026-12-04").await.expect("scopes");
        let old = scopes
            .iter()
            .find(|x| x.scope == old_scope)
            .expect("old scope");
        let new = scopes
            .iter()
            .find(|x| x.scope == new_scope)
            .expect("new scope");
        assert!(old.due, "{old:?}");
        assert_eq!(old.due_from, "2022-04-01");
        assert_eq!(old.counts.get("archives"), Some(&1));
        assert_eq!(old.counts.get("records"), Some(&1));
        assert!(!new.due, "{new:?}");

        // Not yet due: refused.
        assert!(matches!(
            s.request_destruction(&new_scope, "2026-12-04", &entry("admin1"))
                .await,
            Err(RetentionError::NotDue { .. })
        ));

        let a = s
            .request_destruction(&old_scope, "2026-12-04", &entry("admin1"))
            .await
            .expect("request");
        assert_eq!(a.status, "pending");
        assert_eq!(a.kind, retention::KIND);
        // Pending: nothing runs, and the key still opens the copy.
        assert!(matches!(
            s.execute_destruction(&a.id, &entry("admin1")).await,
            Err(RetentionError::NotApproved(_))
        ));
        assert!(
            s.keyring()
                .decrypt("old", b"sub/old.zip", copied.clone())
                .await
                .is_ok()
        );
        // The requester cannot approve their own request.
        assert_eq!(
            s.decide_approval(&a.id, "admin1", true, "", &entry("admin1"))
                .await
                .expect("decide"),
            Decision::OwnRequest
        );
        assert!(matches!(
            s.decide_approval(&a.id, "admin2", true, "past retention", &entry("admin2"))
                .await
                .expect("decide"),
            Decision::Decided(_)
        ));
        let cert = s
            .execute_destruction(&a.id, &entry("admin2"))
            .await
            .expect("destroy");
        assert_eq!(cert.scope, old_scope);
        assert_eq!(cert.requested_by, "admin1");
        assert_eq!(cert.approved_by, "admin2");
        assert_eq!(cert.key_ids, old.key_ids);
        assert_eq!(cert.manifest_sha256.len(), 64);

        // The copied ciphertext no longer opens: its key id is gone.
        let err = s
            .keyring()
            .decrypt("old", b"sub/old.zip", copied)
            .await
            .expect_err("destroyed key must not open");
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        assert!(!s.blobs().exists("sub/old.zip").await.expect("exists"));
        // The other scope still reads.
        assert_eq!(
            s.blobs().get("sub/new.zip").await.expect("new reads"),
            b"new personal data"
        );
        // Records keep amounts and counts, lose the personal identifiers.
        let card: String =
            sqlx::query_scalar("SELECT card_number FROM records WHERE submission_id = 's-old'")
                .fetch_one(s.pool())
                .await
                .expect("record");
        assert_eq!(card, "");
        let card: String =
            sqlx::query_scalar("SELECT card_number FROM records WHERE submission_id = 's-new'")
                .fetch_one(s.pool())
                .await
                .expect("record");
        assert_eq!(card, "CARD42");
        assert_eq!(
            s.approval(&a.id).await.expect("a").expect("a").status,
            "executed"
        );
        // Approved once, run once.
        assert!(
            s.execute_destruction(&a.id, &entry("admin2"))
                .await
                .is_err()
        );

        let certs = s.destruction_certificates().await.expect("certs");
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].1, cert);
        assert!(s.verify_audit().await.expect("verify").broken.is_none());
        assert!(
            !s.retention_scopes("2026-12-04")
                .await
                .expect("scopes")
                .iter()
                .any(|x| x.scope == old_scope)
        );
    }
}

async fn destroy(s: &daiko_store::Store, scope: &str) -> retention::Certificate {
    let a = s
        .request_destruction(scope, "2026-12-04", &entry("admin1"))
        .await
        .expect("request");
    assert!(matches!(
        s.decide_approval(&a.id, "admin2", true, "past retention", &entry("admin2"))
            .await
            .expect("decide"),
        Decision::Decided(_)
    ));
    let cert = s
        .execute_destruction(&a.id, &entry("admin2"))
        .await
        .expect("destroy");
    purge_backups(s).await;
    cert
}

/// Runs the queued backup purges (what `serve`'s purge worker does).
async fn purge_backups(s: &daiko_store::Store) -> Vec<retention::PurgeRun> {
    let env = |k: &str| std::env::var(k).ok();
    s.run_backup_purges("test-worker", &env, false)
        .await
        .expect("purge backups")
}

/// Two scopes of one institution, with a submission (and its record) in each; answers the
/// old scope, the new scope and a copy of the old scope's ciphertext.
async fn two_scopes(s: &daiko_store::Store) -> (String, String, Vec<u8>) {
    let org = s
        .add_org(OrgKind::Institution, "1310000001", "医療機関", &[])
        .await
        .expect("org");
    let old_scope = format!("{}/2015", org.id);
    let new_scope = format!("{}/2024", org.id);
    s.blobs()
        .put_for(&old_scope, "sub/old.zip", b"old personal data")
        .await
        .expect("old blob");
    s.blobs()
        .put_for(&new_scope, "sub/new.zip", b"new personal data")
        .await
        .expect("new blob");
    add_submission(s, "s-old", &org.id, "sub/old.zip", "R-1").await;
    add_submission(s, "s-new", &org.id, "sub/new.zip", "R-2").await;
    let copied = std::fs::read(s.blobs().root().join("sub/old.zip")).expect("copy");
    (old_scope, new_scope, copied)
}

/// A running process (server, worker) that already unwrapped a scope's key stops opening
/// that scope as soon as another process's destruction commits; its other scopes still open.
#[tokio::test]
async fn a_destruction_in_one_process_reaches_the_key_cache_of_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pairs = Vec::new();
    let lite = dir.path().join("sqlite");
    pairs.push((
        "sqlite",
        daiko_store::Store::open(&lite, None).await.expect("one"),
        daiko_store::Store::open(&lite, None).await.expect("two"),
    ));
    if let Some(url) = testdb::fresh_postgres_url().await {
        let pg = dir.path().join("pg");
        let keys =
            daiko_store::KeyringConfig::from_env(&pg, &|k| std::env::var(k).ok()).expect("keys");
        let one = daiko_store::Store::connect(&url, &pg.join("blobs"), keys.clone())
            .await
            .expect("one");
        let two = daiko_store::Store::connect(&url, &pg.join("blobs"), keys)
            .await
            .expect("two");
        pairs.push(("postgres", one, two));
    }
    for (db, one, two) in pairs {
        eprintln!("-- on {db}");
        let (old_scope, _, copied) = two_scopes(&one).await;
        // Process one has both scopes' keys unwrapped in its cache.
        assert_eq!(
            one.blobs().get("sub/old.zip").await.expect("old reads"),
            b"old personal data"
        );
        assert!(
            one.keyring()
                .decrypt("old", b"sub/old.zip", copied.clone())
                .await
                .is_ok()
        );
        assert_eq!(
            one.blobs().get("sub/new.zip").await.expect("new"),
            b"new personal data"
        );
        // Process two destroys the old scope.
        destroy(&two, &old_scope).await;
        let err = one
            .keyring()
            .decrypt("old", b"sub/old.zip", copied)
            .await
            .expect_err("a destroyed key must not open from another process's cache");
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        assert_eq!(
            one.blobs()
                .get("sub/new.zip")
                .await
                .expect("new still reads"),
            b"new personal data"
        );
        one.close().await;
        two.close().await;
    }
}

fn registered(location: &str) -> AuditEntry {
    AuditEntry {
        action: "backup.create".into(),
        target: location.into(),
        ..entry("cli:op")
    }
}

/// S26 reaching the backups (S25): a destruction purges the scope from every generation at
/// the locations the installation backed up to (verify still passes, keys and blobs gone,
/// records blanked), reports a location it cannot reach (severity high), and a restore of a
/// generation it could not purge destroys the scope again from the record of a newer
/// generation at the same place.
#[tokio::test]
async fn destruction_purges_backups_and_restore_does_not_resurrect() {
    use daiko_store::backup::{self, Generation, Target};
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let data_dir = s.blobs().root().parent().expect("data dir").to_path_buf();
        let keys = s.keyring().config().clone();
        let (old_scope, new_scope, copied) = two_scopes(&s).await;
        let (ins_scope, roster_old, roster_new) = billed_and_invited(&s).await;
        let bk = dir.path().join(format!("{db}-bk"));
        let g1 = backup::create(&s, &data_dir, &Target::Dir(bk.clone()))
            .await
            .expect("backup");
        s.audit(&registered(&g1.location)).await.expect("audit");
        // A second location, offline (moved away) when the destruction runs.
        let off = dir.path().join(format!("{db}-off"));
        let g_off = backup::create(&s, &data_dir, &Target::Dir(off.clone()))
            .await
            .expect("backup");
        s.audit(&registered(&g_off.location)).await.expect("audit");
        let moved = dir.path().join(format!("{db}-off-moved"));
        std::fs::rename(&off, &moved).expect("move");

        let cert = destroy(&s, &old_scope).await;
        let ins_cert = destroy(&s, &ins_scope).await;
        assert!(ins_cert.data_types.iter().any(|t| t == "rosters"));

        let purges = s.backup_purges().await.expect("purges");
        let p1 = purges
            .iter()
            .find(|p| p.location == g1.location)
            .expect("g1 purged");
        assert!(!p1.failed(), "{p1:?}");
        assert!(p1.detail.contains("removed 1 keys, 1 blobs"), "{p1:?}");
        let unreachable = purges
            .iter()
            .find(|p| {
                Some(p.location.as_str())
                    == std::path::Path::new(&g_off.location)
                        .parent()
                        .and_then(|x| x.to_str())
            })
            .expect("offline location reported");
        assert!(unreachable.failed(), "{unreachable:?}");
        assert!(unreachable.detail.starts_with("severity=high"));

        // The purged generation: keys.json without the scope, blob gone, verifies.
        let g1_path = std::path::PathBuf::from(&g1.location);
        let kj: serde_json::Value =
            serde_json::from_slice(&std::fs::read(g1_path.join("keys.json")).expect("keys"))
                .expect("json");
        let tenants: Vec<&str> = kj["data_keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k["tenant"].as_str())
            .collect();
        assert!(!tenants.contains(&old_scope.as_str()), "{tenants:?}");
        assert!(tenants.contains(&new_scope.as_str()), "{tenants:?}");
        assert!(!g1_path.join("blobs/sub/old.zip").exists());
        let opened = backup::open(&Generation::Dir(g1_path.clone()), keys.clone())
            .await
            .expect("the purged generation verifies");
        assert!(
            opened
                .manifest
                .destroyed
                .as_ref()
                .expect("list")
                .iter()
                .any(|d| d.scope == old_scope && d.approval == cert.approval)
        );
        assert!(
            !opened
                .manifest
                .files
                .iter()
                .any(|f| f.name == "sub/old.zip")
        );
        opened.close().await;
        // The snapshot inside holds no key of the scope either: restored, nothing of it opens.
        let url1 = match db {
            "postgres" => Some(testdb::fresh_postgres_url().await.expect("pg")),
            _ => None,
        };
        let r1 = dir.path().join(format!("{db}-restored1"));
        let restored = backup::restore(
            &Generation::Dir(g1_path),
            &r1,
            url1.as_deref(),
            keys.clone(),
        )
        .await
        .expect("restore purged");
        // The purge left nothing of the scopes to destroy again (billing lines and rosters
        // included: the checks below see the purge, not a re-application).
        assert!(restored.reapplied.is_empty(), "{:?}", restored.reapplied);
        let back = daiko_store::Store::open_with(&r1, url1.as_deref(), keys.clone())
            .await
            .expect("restored");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys WHERE tenant = $1")
            .bind(&old_scope)
            .fetch_one(back.pool())
            .await
            .expect("count");
        assert_eq!(n, 0);
        // Blanked for the destroyed scope; kept (sealed at open) for the other.
        for (sub, blank) in [("s-old", true), ("s-new", false)] {
            let c: String =
                sqlx::query_scalar("SELECT card_number FROM records WHERE submission_id = $1")
                    .bind(sub)
                    .fetch_one(back.pool())
                    .await
                    .expect("record");
            assert_eq!(c.is_empty(), blank, "{sub}: {c}");
        }
        // The snapshot's billing lines and rosters as live (billing numbers sealed at open).
        let (card, voucher) = line_numbers(&back, "r-s-old").await;
        assert_eq!((card.as_str(), voucher.as_str()), ("", ""));
        let (card, voucher) = line_numbers(&back, "r-s-new").await;
        assert!(!card.is_empty() && !voucher.is_empty());
        assert_rosters_purged(&back, &roster_old, &roster_new).await;
        assert!(
            back.keyring()
                .decrypt("old", b"sub/old.zip", copied.clone())
                .await
                .is_err()
        );
        assert_eq!(
            back.blobs().get("sub/new.zip").await.expect("new"),
            b"new personal data"
        );
        back.close().await;

        // The offline generation was not purged; a newer generation at its place records the
        // destruction, so restoring the old one destroys the scope again.
        let g_new = backup::create(&s, &data_dir, &Target::Dir(moved.clone()))
            .await
            .expect("newer backup");
        assert_eq!(g_new.manifest.destroyed.as_ref().expect("list").len(), 2);
        let g_off_moved = moved.join(&g_off.manifest.generation);
        let url2 = match db {
            "postgres" => Some(testdb::fresh_postgres_url().await.expect("pg")),
            _ => None,
        };
        let r2 = dir.path().join(format!("{db}-restored2"));
        let restored = backup::restore(
            &Generation::Dir(g_off_moved),
            &r2,
            url2.as_deref(),
            keys.clone(),
        )
        .await
        .expect("restore unpurged");
        assert_eq!(
            restored.reapplied,
            vec![old_scope.clone(), ins_scope.clone()]
        );
        assert!(restored.warnings.is_empty(), "{:?}", restored.warnings);
        let back = daiko_store::Store::open_with(&r2, url2.as_deref(), keys.clone())
            .await
            .expect("restored");
        let err = back
            .keyring()
            .decrypt("old", b"sub/old.zip", copied.clone())
            .await
            .expect_err("resurrected");
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        assert!(!back.blobs().exists("sub/old.zip").await.expect("exists"));
        let c: String =
            sqlx::query_scalar("SELECT card_number FROM records WHERE submission_id = 's-old'")
                .fetch_one(back.pool())
                .await
                .expect("record");
        assert_eq!(c, "");
        let (card, voucher) = line_numbers(&back, "r-s-old").await;
        assert_eq!((card.as_str(), voucher.as_str()), ("", ""));
        assert_rosters_purged(&back, &roster_old, &roster_new).await;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE action = $1")
            .bind(retention::REAPPLY_ACTION)
            .fetch_one(back.pool())
            .await
            .expect("count");
        assert_eq!(n, 2);
        assert!(back.verify_audit().await.expect("verify").broken.is_none());
        assert_eq!(
            back.blobs().get("sub/new.zip").await.expect("new"),
            b"new personal data"
        );
        back.close().await;
    }
}

/// A destruction that commits while a backup is being written (here: its certificate is in
/// the audit trail but the snapshot still holds the scope's keys) is purged from the new
/// generation before `create` returns; a restore from a folder not named like a generation
/// warns that newer generations were not consulted.
#[tokio::test]
async fn a_backup_racing_a_destruction_is_purged_and_restore_warns_when_it_cannot_know() {
    use daiko_store::backup::{self, Generation, RestoreWarning, Target};
    let dir = tempfile::tempdir().expect("tempdir");
    let s = daiko_store::Store::open(&dir.path().join("data"), None)
        .await
        .expect("store");
    let (old_scope, new_scope, _) = two_scopes(&s).await;
    let key_ids: Vec<String> = sqlx::query_scalar("SELECT id FROM data_keys WHERE tenant = $1")
        .bind(&old_scope)
        .fetch_all(s.pool())
        .await
        .expect("keys");
    let cert = retention::Certificate {
        approval: "a-race".into(),
        scope: old_scope.clone(),
        data_types: vec!["archives".into()],
        key_ids,
        counts: Default::default(),
        manifest_sha256: "0".repeat(64),
        destroyed_at: daiko_store::now(),
        requested_by: "admin1".into(),
        approved_by: "admin2".into(),
        blobs: Vec::new(),
    };
    s.audit(&AuditEntry {
        action: retention::CERT_ACTION.into(),
        target: format!("scope:{old_scope}"),
        detail: format!(
            "severity=high; certificate={}",
            serde_json::to_string(&cert).expect("json")
        ),
        ..entry("admin2")
    })
    .await
    .expect("certificate");
    let data_dir = dir.path().join("data");
    let g = backup::create(&s, &data_dir, &Target::Dir(dir.path().join("bk")))
        .await
        .expect("backup");
    let g_path = std::path::PathBuf::from(&g.location);
    let kj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(g_path.join("keys.json")).expect("keys"))
            .expect("json");
    let tenants: Vec<&str> = kj["data_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["tenant"].as_str())
        .collect();
    assert!(!tenants.contains(&old_scope.as_str()), "{tenants:?}");
    assert!(tenants.contains(&new_scope.as_str()), "{tenants:?}");
    assert!(!g.manifest.files.iter().any(|f| f.name == "sub/old.zip"));
    let keys = s.keyring().config().clone();
    backup::open(&Generation::Dir(g_path.clone()), keys.clone())
        .await
        .expect("verifies")
        .close()
        .await;
    // A copy under another name: restored, with a warning in both languages.
    let copy = dir.path().join("copies").join("mycopy");
    std::fs::create_dir_all(&copy).expect("mkdir");
    for e in walk(&g_path) {
        let rel = e.strip_prefix(&g_path).expect("rel");
        std::fs::create_dir_all(copy.join(rel).parent().expect("parent")).expect("mkdir");
        std::fs::copy(&e, copy.join(rel)).expect("copy");
    }
    let restored = backup::restore(
        &Generation::Dir(copy),
        &dir.path().join("restored"),
        None,
        keys,
    )
    .await
    .expect("restore");
    assert!(
        restored
            .warnings
            .iter()
            .any(|w| matches!(w, RestoreWarning::NotComparable { .. })
                && w.ja().contains("daiko retention certificates")
                && w.en().contains("not named")),
        "{:?}",
        restored.warnings
    );
    s.close().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// An invitation roster (名簿) of two members for insurer `INSURER`, imported at `at`.
async fn roster_at(s: &daiko_store::Store, at: &str) -> String {
    let members: Vec<MemberRow> = (0..2)
        .map(|i| MemberRow {
            card: card(&format!("{at}-{i}")),
            member_json: format!("{{\"i\":{i}}}"),
        })
        .collect();
    let r = s
        .add_roster(&NewRoster {
            insurer: INSURER,
            sha256: "aa",
            encoding: "utf8",
            file_name: "roster.csv",
            imported_by: "kenpo1",
            members: &members,
        })
        .await
        .expect("roster");
    sqlx::query("UPDATE invite_rosters SET imported_at = $1 WHERE id = $2")
        .bind(at)
        .bind(&r.id)
        .execute(s.pool())
        .await
        .expect("backdate roster");
    r.id
}

const INSURER: &str = "06139999";

fn card(n: &str) -> CardRow {
    CardRow {
        symbol: "S".into(),
        number: n.into(),
        branch: String::new(),
    }
}

/// Vouchers, a reminder round and a returned-mail mark of fiscal year `fy` for insurer
/// `INSURER` (the mark backdated to `marked_at`).
async fn invitations(s: &daiko_store::Store, fy: i64, roster: &str, marked_at: &str) {
    let number = format!("{:02}100000001", fy % 100);
    let row = IssuedRow {
        fiscal_year: fy,
        kind: 1,
        number: number.clone(),
        card: card(&format!("{fy}-0")),
        roster_id: roster.into(),
        voucher_json: format!("{{\"number\":\"{number}\"}}"),
        ledger_json: format!("{{\"number\":\"{number}\"}}"),
        issued_at: daiko_store::now(),
        issued_by: "kenpo1".into(),
    };
    s.record_issued_vouchers(&IssuedBatch {
        insurer: INSURER,
        fiscal_year: fy,
        kind: 1,
        from_serial: 1,
        next_serial: 2,
        rows: &[row],
        by: "kenpo1",
    })
    .await
    .expect("issue");
    s.add_reminder_round(&ReminderRoundRow {
        insurer: INSURER.into(),
        fiscal_year: fy,
        round: 1,
        sent_on: format!("{fy}-10-01"),
        variants_json: "[\"A\"]".into(),
        created_at: daiko_store::now(),
        created_by: "kenpo1".into(),
        items: vec![(card(&format!("{fy}-1")), 0)],
    })
    .await
    .expect("reminder");
    let c = card(&format!("{fy}-2"));
    s.mark_returned_mail(INSURER, &c, "宛所不明", "kenpo1")
        .await
        .expect("returned");
    let idx = s.card_key_index(INSURER, &c).await.expect("idx");
    sqlx::query("UPDATE invite_returned_mail SET marked_at = $1 WHERE card_key_idx = $2")
        .bind(marked_at)
        .bind(idx)
        .execute(s.pool())
        .await
        .expect("backdate mark");
}

async fn count(s: &daiko_store::Store, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(s.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn close_month(s: &daiko_store::Store, month: &str) -> daiko_store::billing::FreezeOutcome {
    let mut tx = s.begin().await.expect("tx");
    let out = s
        .freeze_billing_month_in(
            &mut tx,
            &FreezeMonth {
                month,
                cutoff: "9999-01-01T00:00:00Z",
                late_before: "201501",
                closed_by: "tester",
                calendar_json: "{\"deadline_day\":5}",
                fees_json: "{}",
            },
        )
        .await
        .expect("freeze");
    tx.commit().await.expect("commit");
    out
}

/// After [`two_scopes`]: an insurer subscribing to billing, both records billed in month
/// 2026-11 (their ledger keys from distinct card indexes), and the insurer's scope of 年度
/// 2015 (a data key), with rosters and invitations of 2015 (to be destroyed) and 2024
/// (kept). Answers the insurer's scope, the 2015 roster and the 2024 roster.
async fn billed_and_invited(s: &daiko_store::Store) -> (String, String, String) {
    let ins = s
        .add_org(
            OrgKind::Insurer,
            INSURER,
            "健保",
            &["check", "route", "billing"],
        )
        .await
        .expect("insurer");
    for (rec, idx) in [("r-s-old", "cidx-old"), ("r-s-new", "cidx-new")] {
        sqlx::query("UPDATE records SET card_idx = $1, voucher_idx = $2 WHERE id = $3")
            .bind(idx)
            .bind(format!("v{idx}"))
            .bind(rec)
            .execute(s.pool())
            .await
            .expect("indexes");
    }
    let first = close_month(s, "2026-11").await;
    assert_eq!(first.lines, 2, "{first:?}");
    let ins_scope = format!("{}/2015", ins.id);
    s.blobs()
        .put_for(&ins_scope, "deliv/old.zip", b"delivery")
        .await
        .expect("insurer scope");
    // Only its key is needed (a delivery row would name the file; here none does).
    s.blobs()
        .delete("deliv/old.zip")
        .await
        .expect("delete blob");
    let roster_old = roster_at(s, "2015-06-01T00:00:00Z").await;
    let roster_new = roster_at(s, "2024-06-01T00:00:00Z").await;
    invitations(s, 2015, &roster_old, "2016-03-31T23:00:00Z").await;
    invitations(s, 2024, &roster_new, "2024-07-01T00:00:00Z").await;
    (ins_scope, roster_old, roster_new)
}

/// The raw numbers of a record's billing line (empty when blanked).
async fn line_numbers(s: &daiko_store::Store, rec: &str) -> (String, String) {
    let r = sqlx::query("SELECT card_number, voucher FROM billing_lines WHERE record_id = $1")
        .bind(rec)
        .fetch_one(s.pool())
        .await
        .expect("line");
    (
        r.try_get("card_number").expect("card"),
        r.try_get("voucher").expect("voucher"),
    )
}

/// The 2015 roster and invitations of [`billed_and_invited`] are gone, 2024's are there.
async fn assert_rosters_purged(s: &daiko_store::Store, old: &str, new: &str) {
    assert_rosters_of_year_purged(s, old, new, 2015).await;
}

/// The roster `old` and the invitations of fiscal year `old_fy` (made by [`invitations`])
/// are gone, the roster `new` and 2024's invitations are there.
async fn assert_rosters_of_year_purged(s: &daiko_store::Store, old: &str, new: &str, old_fy: i64) {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM invite_rosters ORDER BY id")
        .fetch_all(s.pool())
        .await
        .expect("rosters");
    assert_eq!(ids, vec![new.to_string()]);
    assert!(s.roster_members(old).await.expect("members").is_empty());
    assert_eq!(s.roster_members(new).await.expect("members").len(), 2);
    for t in [
        "invite_vouchers",
        "invite_reminder_items",
        "invite_reminder_rounds",
    ] {
        let years: Vec<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT fiscal_year FROM {t}")))
                .fetch_all(s.pool())
                .await
                .expect(t);
        assert_eq!(years, vec![2024], "{t}");
    }
    assert!(
        s.voucher_rows(INSURER, 1, &format!("{:02}100000001", old_fy % 100))
            .await
            .expect("ledger")
            .is_empty()
    );
    assert_eq!(
        s.voucher_rows(INSURER, 1, "24100000001")
            .await
            .expect("ledger")
            .len(),
        1
    );
    let marks: Vec<String> = sqlx::query_scalar("SELECT marked_at FROM invite_returned_mail")
        .fetch_all(s.pool())
        .await
        .expect("marks");
    assert_eq!(marks, vec!["2024-07-01T00:00:00Z".to_string()]);
}

/// A destruction reaches the copies outside the scope's keys: the billing lines of the
/// scope's records lose their sealed numbers (amounts and the never-twice ledger stay, so a
/// later close bills neither record again nor the same checkup under another record), and
/// an insurer's scope takes its 年度's rosters, issued vouchers (with their ledger copies),
/// reminder items and returned-mail marks along; the certificate counts them.
#[tokio::test]
async fn destruction_blanks_billing_lines_and_purges_rosters() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let (old_scope, _, _) = two_scopes(&s).await;
        let (ins_scope, roster_old, roster_new) = billed_and_invited(&s).await;
        let key_old = s
            .ledger_of_record("r-s-old")
            .await
            .expect("ledger")
            .expect("billed");

        // A record of the old scope never billed (it came after the close).
        s.blobs()
            .put_for(&old_scope, "sub/late.zip", b"late personal data")
            .await
            .expect("late blob");
        add_submission(
            &s,
            "s-late",
            &institution_id(&s).await,
            "sub/late.zip",
            "R-4",
        )
        .await;
        let vouchers_before = count(&s, "SELECT COUNT(*) FROM vouchers").await;
        assert_eq!(vouchers_before, 2);

        let cert = destroy(&s, &old_scope).await;
        assert_eq!(cert.counts.get("billing"), Some(&1), "{cert:?}");
        assert_eq!(cert.counts.get("records"), Some(&2), "{cert:?}");
        assert!(cert.data_types.iter().any(|t| t == "billing"), "{cert:?}");
        assert!(!cert.data_types.iter().any(|t| t == "rosters"), "{cert:?}");
        // The billing lines of the destroyed scope lose the numbers (raw columns); the other
        // scope's keep them; amounts stay.
        let (card_old, voucher_old) = line_numbers(&s, "r-s-old").await;
        assert_eq!((card_old.as_str(), voucher_old.as_str()), ("", ""));
        let (card_new, voucher_new) = line_numbers(&s, "r-s-new").await;
        assert_eq!(
            (card_new.as_str(), voucher_new.as_str()),
            ("CARD42", "V123")
        );
        let line = s
            .billing_line("r-s-old")
            .await
            .expect("open")
            .expect("line");
        assert_eq!(
            (line.card_number.as_str(), line.kind.as_str()),
            ("", "checkup")
        );
        assert_eq!(line.month, "2026-11");
        // The ledger row stays as it was.
        assert_eq!(
            s.ledger_of_record("r-s-old").await.expect("ledger"),
            Some(key_old.clone())
        );

        // A later close bills neither record again, nor the same checkup (same person and
        // fiscal year) arriving in another record, nor the destroyed scope's unbilled record
        // (its numbers are gone).
        add_submission(
            &s,
            "s-again",
            &institution_id(&s).await,
            "sub/again.zip",
            "R-3",
        )
        .await;
        sqlx::query("UPDATE records SET card_idx = 'cidx-old' WHERE id = 'r-s-again'")
            .execute(s.pool())
            .await
            .expect("same person");
        let second = close_month(&s, "2026-12").await;
        assert_eq!(second.lines, 0, "{second:?}");
        assert_eq!(second.excluded.len(), 1, "{second:?}");
        assert_eq!(second.excluded[0].record_id, "r-s-again");
        assert_eq!(second.excluded[0].billed_record_id, "r-s-old");
        assert_eq!(
            count(&s, "SELECT COUNT(*) FROM billing_lines").await,
            2,
            "no record billed twice"
        );

        // The insurer's scope of 2015: its rosters and invitations go, 2024's stay.
        let cert = destroy(&s, &ins_scope).await;
        assert!(cert.data_types.iter().any(|t| t == "rosters"), "{cert:?}");
        for (k, n) in [
            ("rosters", 1),
            ("roster_members", 2),
            ("issued_vouchers", 1),
            ("reminder_items", 1),
            ("returned_mail", 1),
        ] {
            assert_eq!(cert.counts.get(k), Some(&n), "{k}: {cert:?}");
        }
        let certs = s.destruction_certificates().await.expect("certs");
        assert_eq!(certs.last().map(|c| &c.1), Some(&cert));
        assert_eq!(
            count(&s, "SELECT COUNT(*) FROM invite_members").await,
            2,
            "only the kept roster's members"
        );
        assert_eq!(count(&s, "SELECT COUNT(*) FROM vouchers").await, 1);
        assert_rosters_purged(&s, &roster_old, &roster_new).await;
        assert!(s.verify_audit().await.expect("verify").broken.is_none());
    }
}

/// The institution of [`two_scopes`].
async fn institution_id(s: &daiko_store::Store) -> String {
    s.org_by_number("1310000001")
        .await
        .expect("org")
        .expect("institution")
        .id
}

/// An insurer with roster rows only (no data key) for 年度 2015 and a keyed scope for 2024.
/// Answers the insurer's id, the 2015 roster and the 2024 roster.
async fn insurer_with_rosters_only_in_2015(s: &daiko_store::Store) -> (String, String, String) {
    let ins = s
        .add_org(OrgKind::Insurer, INSURER, "健保", &["check", "route"])
        .await
        .expect("insurer");
    s.blobs()
        .put_for(&format!("{}/2024", ins.id), "deliv/new.zip", b"delivery")
        .await
        .expect("insurer scope 2024");
    let roster_old = roster_at(s, "2015-06-01T00:00:00Z").await;
    let roster_new = roster_at(s, "2024-06-01T00:00:00Z").await;
    invitations(s, 2015, &roster_old, "2016-03-31T23:00:00Z").await;
    invitations(s, 2024, &roster_new, "2024-07-01T00:00:00Z").await;
    (ins.id, roster_old, roster_new)
}

/// Sets the insurer's `rosters` retention.
async fn rosters_years(s: &daiko_store::Store, org: &str, years: u32) {
    let mut p = s.retention_policy().await.expect("policy");
    p.set(Some(org), "rosters", years).expect("set");
    s.set_retention_policy(&p, &entry("admin1"))
        .await
        .expect("store policy");
}

/// The scope `scope` as `retention_scopes` lists it on `day`.
async fn listed(s: &daiko_store::Store, scope: &str, day: &str) -> Option<retention::ScopeInfo> {
    s.retention_scopes(day)
        .await
        .expect("scopes")
        .into_iter()
        .find(|x| x.scope == scope)
}

/// Rosters of a 年度 in which the insurer received no scoped data (no data key, so no scope
/// of keys): listed as a scope without keys, due only once the `rosters` retention has
/// passed (not the scoped types'); not due, refused; after the four-eyes approval their
/// rows are gone, the certificate (no keys, type `rosters`) is in the audit trail, the other
/// 年度 and the keyed scope are kept; the backups are purged and a restore of a generation
/// that missed the purge applies the destruction again.
#[tokio::test]
async fn rosters_of_a_year_without_scoped_data_are_destroyed_after_their_retention() {
    use daiko_store::backup::{self, Generation, Target};
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let data_dir = s.blobs().root().parent().expect("data dir").to_path_buf();
        let keys = s.keyring().config().clone();
        let (org, roster_old, roster_new) = insurer_with_rosters_only_in_2015(&s).await;
        let scope = format!("{org}/2015");
        let keyed = format!("{org}/2024");
        // Rosters kept 6 years: 2015's due from 2022-04-01 (the scoped types' 5 years would
        // make it 2021-04-01).
        rosters_years(&s, &org, 6).await;
        let before = listed(&s, &scope, "2021-12-01")
            .await
            .expect("the 2015 rosters are listed");
        assert!(!before.due, "{before:?}");
        assert_eq!(before.due_from, "2022-04-01");
        assert!(before.key_ids.is_empty(), "{before:?}");
        for (k, n) in [
            ("rosters", 1),
            ("roster_members", 2),
            ("issued_vouchers", 1),
            ("reminder_items", 1),
            ("returned_mail", 1),
        ] {
            assert_eq!(before.counts.get(k), Some(&n), "{k}: {before:?}");
        }
        assert!(listed(&s, &scope, "2022-04-01").await.expect("listed").due);
        assert!(matches!(
            s.request_destruction(&scope, "2021-12-01", &entry("admin1"))
                .await,
            Err(RetentionError::NotDue { .. })
        ));
        // The keyed 2024 scope shows its roster counts; the 2024 rosters are not due.
        let k = listed(&s, &keyed, "2026-12-04").await.expect("keyed");
        assert_eq!(k.key_ids.len(), 1, "{k:?}");
        assert_eq!(k.counts.get("rosters"), Some(&1), "{k:?}");
        assert!(!k.due);

        // A backup the installation knows (purged) and one it does not (missed).
        let g1 = backup::create(
            &s,
            &data_dir,
            &Target::Dir(dir.path().join(format!("{db}-bk"))),
        )
        .await
        .expect("backup");
        s.audit(&registered(&g1.location)).await.expect("audit");
        let g0 = backup::create(
            &s,
            &data_dir,
            &Target::Dir(dir.path().join(format!("{db}-unknown"))),
        )
        .await
        .expect("backup");

        // Pending: nothing runs.
        let a = s
            .request_destruction(&scope, "2026-12-04", &entry("admin1"))
            .await
            .expect("request");
        assert!(matches!(
            s.execute_destruction(&a.id, &entry("admin1")).await,
            Err(RetentionError::NotApproved(_))
        ));
        assert_eq!(count(&s, "SELECT COUNT(*) FROM invite_rosters").await, 2);
        assert!(matches!(
            s.decide_approval(&a.id, "admin2", true, "past retention", &entry("admin2"))
                .await
                .expect("decide"),
            Decision::Decided(_)
        ));
        let cert = s
            .execute_destruction(&a.id, &entry("admin2"))
            .await
            .expect("destroy");
        purge_backups(&s).await;
        assert_eq!(cert.scope, scope);
        assert!(cert.key_ids.is_empty(), "{cert:?}");
        assert_eq!(cert.data_types, vec!["rosters".to_string()]);
        for (k, n) in [
            ("rosters", 1),
            ("roster_members", 2),
            ("issued_vouchers", 1),
            ("reminder_items", 1),
            ("returned_mail", 1),
        ] {
            assert_eq!(cert.counts.get(k), Some(&n), "{k}: {cert:?}");
        }
        assert_rosters_purged(&s, &roster_old, &roster_new).await;
        let certs = s.destruction_certificates().await.expect("certs");
        assert_eq!(certs.last().map(|c| &c.1), Some(&cert));
        assert!(s.verify_audit().await.expect("verify").broken.is_none());
        assert!(listed(&s, &scope, "2026-12-04").await.is_none());
        assert!(listed(&s, &keyed, "2026-12-04").await.is_some());
        assert_eq!(
            s.blobs().get("deliv/new.zip").await.expect("2024 reads"),
            b"delivery"
        );

        // The known generation was purged: restored, the 2015 rosters are gone already.
        let purge = s
            .backup_purges()
            .await
            .expect("purges")
            .into_iter()
            .find(|p| p.location == g1.location)
            .expect("purged");
        assert!(!purge.failed(), "{purge:?}");
        for (name, g) in [("purged", &g1), ("missed", &g0)] {
            let url = match db {
                "postgres" => Some(testdb::fresh_postgres_url().await.expect("pg")),
                _ => None,
            };
            let r = dir.path().join(format!("{db}-restored-{name}"));
            let restored = backup::restore(
                &Generation::Dir(std::path::PathBuf::from(&g.location)),
                &r,
                url.as_deref(),
                keys.clone(),
            )
            .await
            .expect("restore");
            assert!(restored.reapplied.is_empty(), "{:?}", restored.reapplied);
            let back = daiko_store::Store::open_with(&r, url.as_deref(), keys.clone())
                .await
                .expect("restored");
            if name == "missed" {
                // Its location lists no destruction: the certificate's record applies it.
                assert_eq!(count(&back, "SELECT COUNT(*) FROM invite_rosters").await, 2);
                let again = back
                    .reapply_destructions(&[retention::Destroyed::from(&cert)], "test")
                    .await
                    .expect("reapply");
                assert_eq!(again, vec![scope.clone()]);
            }
            assert_rosters_purged(&back, &roster_old, &roster_new).await;
            back.close().await;
        }
    }
}

/// A scope whose `rosters` retention is longer than its scoped types': its destruction
/// leaves the 年度's rosters (not yet due), which are then listed as a scope without keys
/// and destroyed once their own retention has passed.
#[tokio::test]
async fn rosters_outliving_their_scope_are_destroyed_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let (org, roster_old, roster_new) = insurer_with_rosters_only_in_2015(&s).await;
        let scope = format!("{org}/2015");
        s.blobs()
            .put_for(&scope, "deliv/old.zip", b"delivery")
            .await
            .expect("insurer scope 2015");
        // Rosters kept 20 years: not due when the scope is (2021-04-01).
        rosters_years(&s, &org, 20).await;
        let info = listed(&s, &scope, "2026-12-04").await.expect("keyed");
        assert_eq!(info.key_ids.len(), 1, "{info:?}");
        assert!(info.due, "{info:?}");
        let cert = destroy(&s, &scope).await;
        assert!(!cert.data_types.iter().any(|t| t == "rosters"), "{cert:?}");
        assert_eq!(count(&s, "SELECT COUNT(*) FROM invite_rosters").await, 2);

        // Its keys are gone, its rosters are still listed, due from 2036-04-01.
        let left = listed(&s, &scope, "2026-12-04")
            .await
            .expect("the 2015 rosters stay listed");
        assert!(left.key_ids.is_empty(), "{left:?}");
        assert!(!left.due, "{left:?}");
        assert_eq!(left.due_from, "2036-04-01");
        assert!(matches!(
            s.request_destruction(&scope, "2026-12-04", &entry("admin1"))
                .await,
            Err(RetentionError::NotDue { .. })
        ));
        // Once due (here: the retention shortened), they go with a second certificate.
        rosters_years(&s, &org, 6).await;
        let cert = destroy(&s, &scope).await;
        assert_eq!(cert.data_types, vec!["rosters".to_string()]);
        assert_eq!(cert.counts.get("rosters"), Some(&1), "{cert:?}");
        assert_rosters_purged(&s, &roster_old, &roster_new).await;
        assert_eq!(s.destruction_certificates().await.expect("certs").len(), 2);
        assert!(listed(&s, &scope, "2026-12-04").await.is_none());
    }
}

/// An insurer with a keyed scope of 年度 2021 (a delivery's key; its ciphertext answered),
/// rosters and invitations of 2021 and 2024, rosters kept 2 years and the other types the
/// default 5: answers the insurer's id, the 2021 roster, the 2024 roster and the ciphertext.
async fn insurer_keyed_2021_rosters_2(s: &daiko_store::Store) -> (String, String, String, Vec<u8>) {
    let ins = s
        .add_org(OrgKind::Insurer, INSURER, "健保", &["check", "route"])
        .await
        .expect("insurer");
    s.blobs()
        .put_for(
            &format!("{}/2021", ins.id),
            "deliv/2021.zip",
            b"delivery 2021",
        )
        .await
        .expect("insurer scope 2021");
    let copied = std::fs::read(s.blobs().root().join("deliv/2021.zip")).expect("copy");
    let roster_old = roster_at(s, "2021-06-01T00:00:00Z").await;
    let roster_new = roster_at(s, "2024-06-01T00:00:00Z").await;
    invitations(s, 2021, &roster_old, "2022-03-31T23:00:00Z").await;
    invitations(s, 2024, &roster_new, "2024-07-01T00:00:00Z").await;
    rosters_years(s, &ins.id, 2).await;
    (ins.id, roster_old, roster_new, copied)
}

/// Rosters whose retention (2 years) is shorter than their keyed scope's (5): the scope is
/// listed a second time as its rosters-only part (no keys, due from 2024-04-01 while the
/// scope is kept until 2027-04-01); its destruction is four-eyes like any other, deletes
/// the 年度's rosters and invitations, certifies type `rosters` with no keys and leaves the
/// scope's key (its ciphertext still opens); the keyed destruction, once due, finds no
/// rosters left and destroys the key.
#[tokio::test]
async fn rosters_shorter_than_their_scope_are_destroyed_first_keys_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let (org, roster_old, roster_new, copied) = insurer_keyed_2021_rosters_2(&s).await;
        let scope = format!("{org}/2021");
        let parts = |day: &'static str| {
            let s = &s;
            let scope = scope.clone();
            async move {
                s.retention_scopes(day)
                    .await
                    .expect("scopes")
                    .into_iter()
                    .filter(|x| x.scope == scope)
                    .collect::<Vec<_>>()
            }
        };
        let listed_now = parts("2026-12-04").await;
        assert_eq!(listed_now.len(), 2, "{listed_now:?}");
        let (keyed, rosters) = (&listed_now[0], &listed_now[1]);
        assert_eq!(keyed.key_ids.len(), 1, "{keyed:?}");
        assert!(!keyed.due, "{keyed:?}");
        assert_eq!(keyed.due_from, "2027-04-01");
        assert!(rosters.key_ids.is_empty(), "{rosters:?}");
        assert!(rosters.due, "{rosters:?}");
        assert_eq!(rosters.due_from, "2024-04-01");
        for (k, n) in [
            ("rosters", 1),
            ("roster_members", 2),
            ("issued_vouchers", 1),
            ("reminder_items", 1),
            ("returned_mail", 1),
        ] {
            assert_eq!(rosters.counts.get(k), Some(&n), "{k}: {rosters:?}");
        }
        // Before the rosters are due: refused, with their date.
        match s
            .request_destruction(&scope, "2024-03-31", &entry("admin1"))
            .await
        {
            Err(RetentionError::NotDue { until, .. }) => assert_eq!(until, "2024-04-01"),
            other => panic!("{other:?}"),
        }

        // Four-eyes: pending and own approval do not run.
        let a = s
            .request_destruction(&scope, "2026-12-04", &entry("admin1"))
            .await
            .expect("request");
        assert!(a.summary.contains("rosters only"), "{a:?}");
        assert!(a.payload.contains("\"rosters_only\":true"), "{a:?}");
        assert!(matches!(
            s.execute_destruction(&a.id, &entry("admin1")).await,
            Err(RetentionError::NotApproved(_))
        ));
        assert_eq!(
            s.decide_approval(&a.id, "admin1", true, "", &entry("admin1"))
                .await
                .expect("decide"),
            Decision::OwnRequest
        );
        assert_eq!(count(&s, "SELECT COUNT(*) FROM invite_rosters").await, 2);
        assert!(matches!(
            s.decide_approval(
                &a.id,
                "admin2",
                true,
                "rosters past retention",
                &entry("admin2")
            )
            .await
            .expect("decide"),
            Decision::Decided(_)
        ));
        let cert = s
            .execute_destruction(&a.id, &entry("admin2"))
            .await
            .expect("destroy rosters");
        purge_backups(&s).await;
        assert_eq!(cert.scope, scope);
        assert!(cert.key_ids.is_empty(), "{cert:?}");
        assert_eq!(cert.data_types, vec!["rosters".to_string()]);
        for (k, n) in [
            ("rosters", 1),
            ("roster_members", 2),
            ("issued_vouchers", 1),
            ("reminder_items", 1),
            ("returned_mail", 1),
        ] {
            assert_eq!(cert.counts.get(k), Some(&n), "{k}: {cert:?}");
        }
        assert_rosters_of_year_purged(&s, &roster_old, &roster_new, 2021).await;
        // The scope's key stays: its ciphertext opens, the scope is listed once, kept.
        assert_eq!(
            s.keyring()
                .decrypt("2021", b"deliv/2021.zip", copied.clone())
                .await
                .expect("the scope's key is kept"),
            b"delivery 2021"
        );
        let left = parts("2026-12-04").await;
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].key_ids, keyed.key_ids);
        assert!(!left[0].counts.contains_key("rosters"), "{left:?}");
        assert!(matches!(
            s.request_destruction(&scope, "2026-12-04", &entry("admin1"))
                .await,
            Err(RetentionError::NotDue { .. })
        ));

        // Later (here: the scoped types' retention shortened to 4 years, due 2026-04-01):
        // the keyed destruction finds no rosters and destroys the key.
        let mut p = s.retention_policy().await.expect("policy");
        for t in ["archives", "reports", "deliveries", "records"] {
            p.set(Some(&org), t, 4).expect("set");
        }
        s.set_retention_policy(&p, &entry("admin1"))
            .await
            .expect("store policy");
        let cert2 = destroy(&s, &scope).await;
        assert_eq!(cert2.key_ids, keyed.key_ids);
        assert!(
            cert2.data_types.iter().any(|t| t == "deliveries"),
            "{cert2:?}"
        );
        assert_eq!(cert2.counts.get("rosters"), Some(&0), "{cert2:?}");
        let err = s
            .keyring()
            .decrypt("2021", b"deliv/2021.zip", copied)
            .await
            .expect_err("destroyed key must not open");
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        assert_rosters_of_year_purged(&s, &roster_old, &roster_new, 2021).await;
        assert!(parts("2026-12-04").await.is_empty());
        let certs = s.destruction_certificates().await.expect("certs");
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].1, cert);
        assert_eq!(certs[1].1, cert2);
        assert!(s.verify_audit().await.expect("verify").broken.is_none());
    }
}

/// A rosters-only destruction (no keys) committing while a backup is written: the
/// generation's snapshot still holds the rows and none of its keys is destroyed, so a check
/// of keys alone misses it. `create`'s end ([`daiko_store::backup::purge_raced`] with the
/// destructions certified before the snapshot began) deletes them from the generation,
/// which then verifies, lists the destruction and restores without the rows and with
/// nothing to apply again; the scope's key stays in it.
#[tokio::test]
async fn a_backup_racing_a_rosters_only_destruction_is_purged() {
    use daiko_store::backup::{self, Generation, Target};
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let data_dir = s.blobs().root().parent().expect("data dir").to_path_buf();
        let keys = s.keyring().config().clone();
        let (org, roster_old, roster_new, _) = insurer_keyed_2021_rosters_2(&s).await;
        let scope = format!("{org}/2021");
        // The backup begins (what is certified so far), its snapshot holds the 2021
        // rosters; the destruction commits before the check at its end (here: the
        // generation is complete at a location the destruction does not know).
        let before = backup::certified(&s).await.expect("certified");
        let g = backup::create(
            &s,
            &data_dir,
            &Target::Dir(dir.path().join(format!("{db}-bk"))),
        )
        .await
        .expect("backup");
        let cert = destroy(&s, &scope).await;
        assert!(cert.key_ids.is_empty(), "{cert:?}");
        assert_eq!(cert.data_types, vec!["rosters".to_string()]);
        let generation = Generation::Dir(std::path::PathBuf::from(&g.location));
        // Known before the snapshot (as for a later backup): nothing to do here, the
        // generation holds none of the destroyed keys.
        let now = backup::certified(&s).await.expect("certified");
        assert!(
            !backup::purge_raced(&s, &generation, &now)
                .await
                .expect("check")
        );
        // Certified since the snapshot began: purged.
        assert!(
            backup::purge_raced(&s, &generation, &before)
                .await
                .expect("purge")
        );
        let opened = backup::open(&generation, keys.clone())
            .await
            .expect("verifies");
        assert!(
            opened
                .manifest
                .destroyed
                .as_ref()
                .is_some_and(|l| l.iter().any(|d| d.approval == cert.approval && d.rosters)),
            "{:?}",
            opened.manifest.destroyed
        );
        opened.close().await;
        // Once purged, a second check changes nothing.
        assert!(
            !backup::purge_raced(&s, &generation, &before)
                .await
                .expect("again")
        );
        let url = match db {
            "postgres" => Some(testdb::fresh_postgres_url().await.expect("pg")),
            _ => None,
        };
        let r = dir.path().join(format!("{db}-restored"));
        let restored = backup::restore(&generation, &r, url.as_deref(), keys.clone())
            .await
            .expect("restore");
        assert!(restored.reapplied.is_empty(), "{:?}", restored.reapplied);
        let back = daiko_store::Store::open_with(&r, url.as_deref(), keys.clone())
            .await
            .expect("restored");
        assert_rosters_of_year_purged(&back, &roster_old, &roster_new, 2021).await;
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys WHERE tenant = $1")
            .bind(&scope)
            .fetch_one(back.pool())
            .await
            .expect("keys");
        assert_eq!(kept, 1, "the scope's key is not destroyed by its rosters");
        assert_eq!(
            back.blobs().get("deliv/2021.zip").await.expect("reads"),
            b"delivery 2021"
        );
        back.close().await;
    }
}

/// Data written before retention scopes existed: an archive and a delivery sealed under
/// the institution's plain organisation key (as older versions wrote them), so no scope
/// lists them and `unscoped_blobs` counts them. `rescope_blobs` seals each again under the
/// key of its fiscal year of writing (the submission's `received_at`, the delivery's
/// `created_at`), audited, and a second run finds nothing; destroying the 2015 scope then
/// makes the re-sealed archive's ciphertext unreadable while the 2016 delivery still reads.
/// A backup generation made before the re-sealing (the archive under the organisation key,
/// which is not destroyed) loses the archive by name: purged when its location is known,
/// deleted again on restore when it is not.
#[tokio::test]
async fn data_sealed_under_an_organisation_key_is_rescoped_and_then_destroyed() {
    use daiko_store::backup::{self, Generation, Target};
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let data_dir = s.blobs().root().parent().expect("data dir").to_path_buf();
        let keys = s.keyring().config().clone();
        let org = s
            .add_org(OrgKind::Institution, "1310000001", "医療機関", &[])
            .await
            .expect("org");
        // As before scopes: sealed under the tenant `<org id>` itself.
        for (key, plain) in [
            ("sub/legacy.zip", &b"legacy personal data"[..]),
            ("deliv/legacy.zip", &b"legacy delivery"[..]),
        ] {
            let sealed = s
                .keyring()
                .encrypt_value(&org.id, key.as_bytes(), plain)
                .await
                .expect("seal");
            let path = s.blobs().root().join(key);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, sealed).expect("write");
        }
        let org_key: String = sqlx::query_scalar("SELECT id FROM data_keys WHERE tenant = $1")
            .bind(&org.id)
            .fetch_one(s.pool())
            .await
            .expect("organisation key");
        add_submission(&s, "s-legacy", &org.id, "sub/legacy.zip", "R-9").await;
        sqlx::query("UPDATE submissions SET received_at = $1 WHERE id = 's-legacy'")
            .bind("2016-03-31T12:00:00Z")
            .execute(s.pool())
            .await
            .expect("backdate submission");
        sqlx::query(
            "INSERT INTO deliveries (id, recipient_id, kind, archive_name, blob_key, sha256, \
             records, created_at) VALUES ('d-legacy', $1, 3, 'd.zip', 'deliv/legacy.zip', 'x', \
             1, '2016-04-01T00:00:00Z')",
        )
        .bind(&org.id)
        .execute(s.pool())
        .await
        .expect("delivery");
        let before = std::fs::read(s.blobs().root().join("sub/legacy.zip")).expect("copy");
        // Generations made before the re-sealing: one known to the installation, one not.
        let known = backup::create(
            &s,
            &data_dir,
            &Target::Dir(dir.path().join(format!("{db}-rescope-bk"))),
        )
        .await
        .expect("backup");
        s.audit(&registered(&known.location)).await.expect("audit");
        let missed = backup::create(
            &s,
            &data_dir,
            &Target::Dir(dir.path().join(format!("{db}-rescope-unknown"))),
        )
        .await
        .expect("backup");
        let unscoped = s.unscoped_blobs().await.expect("unscoped");
        assert_eq!(unscoped.get(&org.id), Some(&2), "{unscoped:?}");
        assert!(
            !s.retention_scopes("2026-12-04")
                .await
                .expect("scopes")
                .iter()
                .any(|x| x.org == org.id),
            "no scope holds them yet"
        );

        let r = s.rescope_blobs(&entry("cli:op")).await.expect("rescope");
        let (old_scope, new_scope) = (format!("{}/2015", org.id), format!("{}/2016", org.id));
        assert_eq!(r.moved.get(&old_scope), Some(&1), "{r:?}");
        assert_eq!(r.moved.get(&new_scope), Some(&1), "{r:?}");
        assert_eq!(r.left, 0, "{r:?}");
        assert!(s.unscoped_blobs().await.expect("unscoped").is_empty());
        let audited: Vec<String> =
            sqlx::query_scalar("SELECT detail FROM audit WHERE action = $1 ORDER BY seq")
                .bind(retention::RESCOPE_ACTION)
                .fetch_all(s.pool())
                .await
                .expect("audit");
        assert_eq!(audited.len(), 1);
        assert!(audited[0].contains("re-sealed 2 blobs"), "{audited:?}");
        // Idempotent: nothing left to move.
        let again = s.rescope_blobs(&entry("cli:op")).await.expect("again");
        assert_eq!((again.total(), again.already, again.left), (0, 2, 0));
        // Same contents, now under the scope keys; the organisation key stays for copies.
        assert_eq!(
            s.blobs().get("sub/legacy.zip").await.expect("reads"),
            b"legacy personal data"
        );
        let rescoped = std::fs::read(s.blobs().root().join("sub/legacy.zip")).expect("copy");
        assert_ne!(rescoped, before);
        assert!(
            s.keyring()
                .decrypt("before", b"sub/legacy.zip", before)
                .await
                .is_ok()
        );
        let scopes = s.retention_scopes("2026-12-04").await.expect("scopes");
        let old = scopes
            .iter()
            .find(|x| x.scope == old_scope)
            .expect("2015 scope");
        assert_eq!(old.counts.get("archives"), Some(&1), "{old:?}");
        assert!(old.key_ids.iter().all(|k| *k != org_key));

        let cert = destroy(&s, &old_scope).await;
        assert_eq!(cert.counts.get("archives"), Some(&1), "{cert:?}");
        assert_eq!(cert.counts.get("records"), Some(&1), "{cert:?}");
        let err = s
            .keyring()
            .decrypt("rescoped", b"sub/legacy.zip", rescoped)
            .await
            .expect_err("the destroyed scope key must not open");
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        assert!(!s.blobs().exists("sub/legacy.zip").await.expect("exists"));
        assert_eq!(
            s.blobs().get("deliv/legacy.zip").await.expect("2016 reads"),
            b"legacy delivery"
        );
        let card: String =
            sqlx::query_scalar("SELECT card_number FROM records WHERE submission_id = 's-legacy'")
                .fetch_one(s.pool())
                .await
                .expect("record");
        assert_eq!(card, "");
        assert_eq!(cert.blobs, vec!["sub/legacy.zip".to_string()]);

        // The known generation: the archive (under the organisation key there) is gone by
        // name, the generation verifies; the unknown one gets it deleted on restore.
        let purge = s
            .backup_purges()
            .await
            .expect("purges")
            .into_iter()
            .find(|p| p.location == known.location)
            .expect("purged");
        assert!(!purge.failed(), "{purge:?}");
        for (name, g, reapplied) in [("known", &known, false), ("missed", &missed, true)] {
            let generation = Generation::Dir(std::path::PathBuf::from(&g.location));
            let opened = backup::open(&generation, keys.clone())
                .await
                .expect("verifies");
            let holds = opened
                .manifest
                .files
                .iter()
                .any(|f| f.name == "sub/legacy.zip");
            assert_eq!(holds, reapplied, "{name}");
            opened.close().await;
            let url = match db {
                "postgres" => Some(testdb::fresh_postgres_url().await.expect("pg")),
                _ => None,
            };
            let r = dir.path().join(format!("{db}-rescope-restored-{name}"));
            let restored = backup::restore(&generation, &r, url.as_deref(), keys.clone())
                .await
                .expect("restore");
            let back = daiko_store::Store::open_with(&r, url.as_deref(), keys.clone())
                .await
                .expect("restored");
            if reapplied {
                // Its location lists no destruction: the certificate's record applies it.
                assert!(restored.reapplied.is_empty(), "{:?}", restored.reapplied);
                assert!(back.blobs().exists("sub/legacy.zip").await.expect("exists"));
                let again = back
                    .reapply_destructions(&[retention::Destroyed::from(&cert)], "test")
                    .await
                    .expect("reapply");
                assert_eq!(again, vec![old_scope.clone()]);
            }
            assert!(
                !back.blobs().exists("sub/legacy.zip").await.expect("exists"),
                "{name}"
            );
            let card: String = sqlx::query_scalar(
                "SELECT card_number FROM records WHERE submission_id = 's-legacy'",
            )
            .fetch_one(back.pool())
            .await
            .expect("record");
            assert_eq!(card, "", "{name}");
            assert_eq!(
                back.blobs()
                    .get("deliv/legacy.zip")
                    .await
                    .expect("2016 reads"),
                b"legacy delivery"
            );
            back.close().await;
        }
    }
}

/// Copies a folder tree (a backup generation) file by file.
fn copy_tree(src: &std::path::Path, dst: &std::path::Path) {
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

/// The files of a folder tree, relative.
fn files_of(root: &std::path::Path) -> std::collections::BTreeSet<String> {
    fn walk(
        d: &std::path::Path,
        root: &std::path::Path,
        out: &mut std::collections::BTreeSet<String>,
    ) {
        for e in std::fs::read_dir(d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if let Ok(r) = p.strip_prefix(root) {
                out.insert(r.display().to_string());
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// S26: the backup purge is a job queued in the destruction's transaction, not run by the
/// approval: until a worker runs it the generations are untouched and it is listed pending;
/// a location it cannot reach keeps it queued with a later retry (audited high), and once
/// the location is back it completes. A purge interrupted before its manifest is written
/// leaves the old generation verifying, after it the new one; the next purge finishes it.
#[tokio::test]
async fn backup_purge_is_a_retried_job_and_an_interrupted_purge_leaves_a_verifying_generation() {
    use daiko_store::backup::{self, Generation, Target};
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let data_dir = s.blobs().root().parent().expect("data dir").to_path_buf();
        let keys = s.keyring().config().clone();
        let (old_scope, _new_scope, _copied) = two_scopes(&s).await;
        let g1 = backup::create(
            &s,
            &data_dir,
            &Target::Dir(dir.path().join(format!("{db}-bk"))),
        )
        .await
        .expect("backup");
        s.audit(&registered(&g1.location)).await.expect("audit");
        let g1_path = std::path::PathBuf::from(&g1.location);
        let gen_name = g1_path.file_name().expect("name").to_owned();
        let before = dir.path().join(format!("{db}-before"));
        copy_tree(&g1_path, &before);
        let off = dir.path().join(format!("{db}-off"));
        let g_off = backup::create(&s, &data_dir, &Target::Dir(off.clone()))
            .await
            .expect("backup");
        s.audit(&registered(&g_off.location)).await.expect("audit");
        let moved = dir.path().join(format!("{db}-off-moved"));
        std::fs::rename(&off, &moved).expect("move");

        let a = s
            .request_destruction(&old_scope, "2026-12-04", &entry("admin1"))
            .await
            .expect("request");
        s.decide_approval(&a.id, "admin2", true, "past retention", &entry("admin2"))
            .await
            .expect("decide");
        let cert = s
            .execute_destruction(&a.id, &entry("admin2"))
            .await
            .expect("destroy");
        // Not purged by the approval: queued.
        assert!(s.backup_purges().await.expect("purges").is_empty());
        assert!(g1_path.join("blobs/sub/old.zip").exists());
        let pending = s.pending_backup_purges().await.expect("pending");
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(
            (pending[0].scope.as_str(), pending[0].state.as_str()),
            (old_scope.as_str(), "queued")
        );
        assert_eq!(pending[0].approval, cert.approval);
        // Another process's worker holds it (a live lease): this one leaves every purge.
        let other = s
            .claim_job(
                "other-process",
                &[retention::BACKUP_PURGE_JOB],
                std::time::Duration::from_secs(3600),
            )
            .await
            .expect("claim")
            .expect("the purge job");
        // (a second destruction's purge, queued meanwhile, waits too)
        s.enqueue(retention::BACKUP_PURGE_JOB, "another-approval")
            .await
            .expect("enqueue");
        assert!(purge_backups(&s).await.is_empty());
        assert_eq!(
            s.pending_backup_purges().await.expect("pending")[0].state,
            "running"
        );
        sqlx::query("DELETE FROM jobs WHERE subject = 'another-approval'")
            .execute(s.pool())
            .await
            .expect("delete");
        // That worker died: once its lease has run out, the purge is taken over.
        sqlx::query("UPDATE jobs SET lease_until = '2000-01-01T00:00:00Z' WHERE id = $1")
            .bind(other.id)
            .execute(s.pool())
            .await
            .expect("expire");

        // First run: the known folder purged, the moved one not: queued for a later retry.
        let runs = purge_backups(&s).await;
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert!(!runs[0].done);
        assert!(!g1_path.join("blobs/sub/old.zip").exists());
        let pending = s.pending_backup_purges().await.expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (pending[0].state.as_str(), pending[0].attempts),
            ("queued", 2)
        );
        assert!(pending[0].run_after > daiko_store::now(), "{pending:?}");
        assert!(
            pending[0].last_error.contains(&format!("{db}-off")),
            "{pending:?}"
        );
        let purges = s.backup_purges().await.expect("purges");
        assert!(purges.iter().any(|p| p.failed()), "{purges:?}");
        assert!(
            purges
                .iter()
                .any(|p| p.location == g1.location && !p.failed())
        );
        // Not due yet: a worker leaves it.
        assert!(purge_backups(&s).await.is_empty());
        // The location is back; run at once (`daiko retention purge-backups`): done.
        std::fs::rename(&moved, &off).expect("move back");
        let env = |k: &str| std::env::var(k).ok();
        let runs = s
            .run_backup_purges("cli", &env, true)
            .await
            .expect("purge at once");
        assert_eq!(runs.len(), 1);
        assert!(runs[0].done, "{runs:?}");
        assert!(s.pending_backup_purges().await.expect("pending").is_empty());
        let o = backup::open(
            &Generation::Dir(g_off.location.clone().into()),
            keys.clone(),
        )
        .await
        .expect("the retried generation verifies");
        assert!(!o.manifest.files.iter().any(|f| f.name == "sub/old.zip"));
        o.close().await;

        // Interrupted purges, rebuilt from the files before and after.
        let after = files_of(&g1_path);
        let old_files = files_of(&before);
        let new_only: Vec<&String> = after.difference(&old_files).collect();
        let old_only: Vec<&String> = old_files.difference(&after).collect();
        assert!(!new_only.is_empty() && old_only.iter().any(|f| f.as_str() == "blobs/sub/old.zip"));
        // (a) New files and keys.json.next written, the manifest not yet: the old generation.
        let a_gen = dir.path().join(format!("{db}-int-a")).join(&gen_name);
        copy_tree(&before, &a_gen);
        for f in &new_only {
            let to = a_gen.join(f);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(g1_path.join(f), to).expect("copy");
        }
        std::fs::copy(g1_path.join("keys.json"), a_gen.join("keys.json.next")).expect("copy");
        let o = backup::open(&Generation::Dir(a_gen.clone()), keys.clone())
            .await
            .expect("interrupted before the manifest: the old generation verifies");
        assert!(o.manifest.files.iter().any(|f| f.name == "sub/old.zip"));
        o.close().await;
        // (b) The manifest written, keys.json not yet renamed, old files not yet deleted.
        let b_gen = dir.path().join(format!("{db}-int-b")).join(&gen_name);
        copy_tree(&g1_path, &b_gen);
        for f in &old_only {
            let to = b_gen.join(f);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(before.join(f), to).expect("copy");
        }
        std::fs::copy(before.join("keys.json"), b_gen.join("keys.json")).expect("copy");
        std::fs::copy(g1_path.join("keys.json"), b_gen.join("keys.json.next")).expect("copy");
        let o = backup::open(&Generation::Dir(b_gen.clone()), keys.clone())
            .await
            .expect("interrupted after the manifest: the new generation verifies");
        assert!(!o.manifest.files.iter().any(|f| f.name == "sub/old.zip"));
        o.close().await;
        // A tampered keys.json.next is not taken.
        let c_gen = dir.path().join(format!("{db}-int-c")).join(&gen_name);
        copy_tree(&b_gen, &c_gen);
        std::fs::write(c_gen.join("keys.json.next"), b"{}").expect("write");
        assert!(
            backup::open(&Generation::Dir(c_gen.clone()), keys.clone())
                .await
                .is_err()
        );
        std::fs::remove_dir_all(c_gen.parent().expect("parent")).expect("rm");

        // The next purge of those locations finishes both.
        for g in [&a_gen, &b_gen] {
            s.audit(&registered(&g.display().to_string()))
                .await
                .expect("audit");
        }
        // A purge of a folder generation waits for another one's lock on it: (a) alone,
        // purged as `create` purges its own generation.
        let manifest_a = std::fs::read(a_gen.join("manifest.enc")).expect("manifest");
        let lock = std::fs::File::open(&a_gen).expect("open generation");
        lock.lock().expect("lock");
        let first = {
            let (s, g) = (s.clone(), Generation::Dir(a_gen.clone()));
            tokio::spawn(async move {
                backup::purge_raced(&s, &g, &std::collections::BTreeSet::new()).await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert!(
            !first.is_finished(),
            "purged a generation another purge holds"
        );
        assert_eq!(
            std::fs::read(a_gen.join("manifest.enc")).expect("manifest"),
            manifest_a
        );
        drop(lock);
        assert!(first.await.expect("join").expect("purge (a)"));
        let (_, outcomes) = s
            .purge_backups_of(&cert.approval, &entry("cli:op"), &env)
            .await
            .expect("purge again");
        assert!(
            outcomes
                .iter()
                .all(|o| !matches!(o, backup::PurgeOutcome::Failed { .. })),
            "{outcomes:?}"
        );
        for g in [&a_gen, &b_gen] {
            let o = backup::open(&Generation::Dir(g.clone()), keys.clone())
                .await
                .expect("verifies");
            let listed: std::collections::BTreeSet<String> =
                o.manifest.files.iter().map(|f| f.path.clone()).collect();
            o.close().await;
            assert!(!g.join("keys.json.next").exists(), "{g:?}");
            assert!(!g.join("blobs/sub/old.zip").exists(), "{g:?}");
            let kj = std::fs::read_to_string(g.join("keys.json")).expect("keys");
            assert!(!kj.contains(&format!("\"{old_scope}\"")), "{g:?}");
            // Nothing left but the keys, the manifest and the files it lists (the files of
            // the attempt interrupted before its manifest in (a) deleted too).
            for f in files_of(g) {
                let known = f == "keys.json" || f == "manifest.enc" || listed.contains(&f);
                assert!(known, "{g:?}: {f}");
            }
            if g == &a_gen {
                assert!(new_only.iter().all(|f| !listed.contains(*f)), "{g:?}");
            }
        }
    }
}

/// S26 `rescope`: a blob re-sealed by compare-and-replace cannot have a write land between
/// its check and its rename. Both sides take the blob folder's lock: while a replacement
/// holds it (its check done, its rename not yet), an ordinary write waits and then wins;
/// while a write is renaming, the replacement waits, then finds the blob changed and leaves
/// it. Without the lock each would finish at once.
#[tokio::test]
async fn no_write_lands_between_a_rescope_check_and_its_rename() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let org = s
            .add_org(OrgKind::Institution, "1310000009", "医療機関", &[])
            .await
            .expect("org");
        let scope = format!("{}/2015", org.id);
        s.blobs()
            .put_for(&org.id, "sub/raced.zip", b"version 1")
            .await
            .expect("v1");
        let root = s.blobs().root().to_path_buf();
        let hash = |b: &[u8]| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(b))
        };
        let wait = std::time::Duration::from_millis(300);

        // A replacement in its window (exclusive lock held): a write waits for it.
        let lock = std::fs::File::open(&root).expect("open folder");
        lock.lock().expect("exclusive");
        let writer = {
            let s = s.clone();
            let org = org.id.clone();
            tokio::spawn(
                async move { s.blobs().put_for(&org, "sub/raced.zip", b"version 2").await },
            )
        };
        tokio::time::sleep(wait).await;
        assert!(
            !writer.is_finished(),
            "a write renamed inside a replacement's window"
        );
        drop(lock);
        writer.await.expect("join").expect("v2 written");
        assert_eq!(
            s.blobs().get("sub/raced.zip").await.expect("read"),
            b"version 2"
        );

        // A write renaming (shared lock held): the replacement waits, then sees the change.
        let stale = hash(b"not what is stored");
        let lock = std::fs::File::open(&root).expect("open folder");
        lock.lock_shared().expect("shared");
        let replacer = {
            let s = s.clone();
            let scope = scope.clone();
            tokio::spawn(async move {
                let mut w = s
                    .blobs()
                    .writer_for(&scope, "sub/raced.zip", u64::MAX)
                    .await?;
                w.write(b"version 1 re-sealed").await?;
                w.finish_replacing(&stale).await
            })
        };
        tokio::time::sleep(wait).await;
        assert!(
            !replacer.is_finished(),
            "a replacement checked while a write renamed"
        );
        drop(lock);
        assert!(replacer.await.expect("join").expect("replace").is_none());
        assert_eq!(
            s.blobs().get("sub/raced.zip").await.expect("read"),
            b"version 2"
        );

        // Unchanged since read: replaced, under the scope key.
        let current = std::fs::read(root.join("sub/raced.zip")).expect("read raw");
        let mut w = s
            .blobs()
            .writer_for(&scope, "sub/raced.zip", u64::MAX)
            .await
            .expect("writer");
        w.write(b"version 2").await.expect("write");
        assert!(
            w.finish_replacing(&hash(&current))
                .await
                .expect("replace")
                .is_some()
        );
        assert_eq!(
            s.blobs().get("sub/raced.zip").await.expect("read"),
            b"version 2"
        );
        assert_ne!(
            std::fs::read(root.join("sub/raced.zip")).expect("raw"),
            current
        );
    }
}
