//! Data written before retention scopes existed (S26): blobs of submissions (archive and
//! check report) and deliveries sealed under their organisation's plain data key (tenant
//! `<org id>`, no `/<fiscal year>`) cannot be destroyed by scope. [`Store::rescope_blobs`]
//! (`daiko keys rescope`) seals each of them again under the scope key of the fiscal year
//! in which it was written (the submission's `received_at`, the delivery's `created_at`),
//! so that its scope's destruction reaches it; [`Store::unscoped_blobs`] counts what is
//! left (`daiko retention due` prints it).
//!
//! Each blob is re-sealed like any write (a new file in `tmp/`, synced, renamed over the
//! old one), so readers see the old or the new envelope, never a mix, and the organisation
//! key stays readable for copies (older backup generations). A blob rewritten while it was
//! being re-sealed is left as it is ([`crate::blob::BlobWriter::finish_replacing`]: the
//! check and the rename under the blob folder's exclusive lock, which every write takes
//! shared around its rename, so no write lands between them); a run again finds only what
//! is left. Servers may keep running.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{RetentionError, fiscal_year};
use crate::audit::AuditEntry;
use crate::keyring::AGENCY_TENANT;
use crate::{Store, StoreError};

/// The audit action of a re-scoping run.
pub const RESCOPE_ACTION: &str = "keys.rescope";

/// What [`Store::rescope_blobs`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rescoped {
    /// Blobs sealed again, per scope `<org id>/<fiscal year>`.
    pub moved: BTreeMap<String, u64>,
    /// Blobs already under a scope key (or the agency's).
    pub already: u64,
    /// Blobs left under their organisation's key: no readable time of writing, or
    /// rewritten meanwhile (run again).
    pub left: u64,
}

impl Rescoped {
    pub fn total(&self) -> u64 {
        self.moved.values().sum()
    }
}

/// One blob an organisation owns, with the time it was written.
struct Owned {
    key: String,
    org: String,
    at: String,
}

impl Store {
    /// Blobs of submissions and deliveries with the organisation they belong to and the
    /// time they were written.
    async fn owned_blobs(&self) -> Result<Vec<Owned>, StoreError> {
        let mut out = Vec::new();
        for sql in [
            "SELECT blob_key AS k, org_id AS o, received_at AS t FROM submissions \
             WHERE status <> 'destroyed'",
            "SELECT report_key AS k, org_id AS o, received_at AS t FROM submissions \
             WHERE report_key IS NOT NULL AND status <> 'destroyed'",
            "SELECT blob_key AS k, recipient_id AS o, created_at AS t FROM deliveries",
        ] {
            for r in sqlx::query(sql).fetch_all(self.pool()).await? {
                out.push(Owned {
                    key: r.try_get("k")?,
                    org: r.try_get("o")?,
                    at: r.try_get("t")?,
                });
            }
        }
        Ok(out)
    }

    /// Data key id → tenant of every key row.
    async fn key_tenants(&self) -> Result<BTreeMap<String, String>, StoreError> {
        Ok(
            sqlx::query_as::<_, (String, String)>("SELECT id, tenant FROM data_keys")
                .fetch_all(self.pool())
                .await?
                .into_iter()
                .collect(),
        )
    }

    /// Whether the blob `key` is sealed under a plain organisation key (written before
    /// retention scopes existed).
    async fn unscoped(&self, key: &str, tenants: &BTreeMap<String, String>) -> bool {
        match self.blob_key_id(key).await {
            Some(id) => tenants
                .get(&id)
                .is_some_and(|t| t != AGENCY_TENANT && !t.contains('/')),
            None => false,
        }
    }

    /// Per organisation id, how many of its blobs (submissions' archives and reports,
    /// deliveries) are still sealed under its plain organisation key: not destroyable by
    /// scope until [`Store::rescope_blobs`] has run.
    pub async fn unscoped_blobs(&self) -> Result<BTreeMap<String, u64>, RetentionError> {
        let tenants = self.key_tenants().await?;
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for o in self.owned_blobs().await? {
            if self.unscoped(&o.key, &tenants).await {
                *out.entry(o.org).or_default() += 1;
            }
        }
        Ok(out)
    }

    /// Seals every blob still under a plain organisation key again under the key of its
    /// retention scope (the organisation and the fiscal year of its time of writing), and
    /// audits the run (`keys.rescope`, with `audit`'s actor). Idempotent.
    pub async fn rescope_blobs(&self, audit: &AuditEntry) -> Result<Rescoped, RetentionError> {
        let tenants = self.key_tenants().await?;
        let mut out = Rescoped::default();
        for o in self.owned_blobs().await? {
            if !self.unscoped(&o.key, &tenants).await {
                out.already += 1;
                continue;
            }
            let Some(fy) = fiscal_year(&o.at) else {
                out.left += 1;
                continue;
            };
            let scope = format!("{}/{fy}", o.org);
            let path = self.blobs().root().join(&o.key);
            let sealed = match tokio::fs::read(&path).await {
                Ok(b) => b,
                // Gone since listed (deleted by a destruction or a clean-up): nothing to do.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(StoreError::Io { path, source }.into()),
            };
            let digest = hex::encode(Sha256::digest(&sealed));
            let plain = self
                .keyring()
                .decrypt(&format!("blob {}", o.key), o.key.as_bytes(), sealed)
                .await?;
            let mut w = self.blobs().writer_for(&scope, &o.key, u64::MAX).await?;
            w.write(&plain).await?;
            match w.finish_replacing(&digest).await? {
                Some(_) => *out.moved.entry(scope).or_default() += 1,
                None => out.left += 1,
            }
        }
        let moved: Vec<String> = out.moved.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut entry = audit.clone();
        entry.action = RESCOPE_ACTION.into();
        entry.detail = format!(
            "re-sealed {} blobs under their retention scope keys ({}); already scoped {}; left {}",
            out.total(),
            moved.join(", "),
            out.already,
            out.left
        );
        self.audit(&entry).await?;
        Ok(out)
    }
}
