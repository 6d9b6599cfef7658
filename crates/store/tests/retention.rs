//! S26 on SQLite and PostgreSQL: two retention scopes of one institution; destroying the
//! old one needs an approval by a second administrator; afterwards a copy of its ciphertext
//! no longer opens (its data key is gone), the other scope still reads, the records lose
//! their personal identifiers and the certificate sits in a verifying audit chain.

use daiko_store::audit::AuditEntry;
use daiko_store::governance::Decision;
use daiko_store::orgs::OrgKind;
use daiko_store::retention::{self, RetentionError};
use daiko_store::testdb;

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
