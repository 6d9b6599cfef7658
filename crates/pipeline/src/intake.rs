//! Intake (受付): an archive arrives, is streamed to durable storage with bounded memory,
//! and only then gets a receipt (データ受領書).
//!
//! Order matters for S23 ("no accepted submission is ever lost"):
//! 1. the bytes go to a temporary blob, hashed on the way, refused once over the size limit
//!    (nothing of a refused upload remains);
//! 2. [`Pending::finish`] renames the blob to `archives/<submission id>.zip` after an fsync;
//! 3. one transaction issues the receipt number, inserts the submission, enqueues its
//!    `check` job and appends the audit row `submission.receive`, and commits;
//! 4. only then is the [`Received`] receipt returned.
//!
//! A crash between 2 and 3 leaves an orphan blob and no receipt (the sender retries); a
//! crash after 3 leaves a receipt whose check job a worker will run. The archive name's
//! grammar is not judged here: that is the checker's T/A findings, reported like any other.

use daiko_store::audit::AuditEntry;
use daiko_store::blob::BlobWriter;
use daiko_store::orgs::Org;
use daiko_store::submissions::NewSubmission;
use daiko_store::{Store, StoreError};
use serde::Serialize;
use thiserror::Error;

/// Why an upload was not received.
#[derive(Debug, Error)]
pub enum IntakeError {
    /// Over the size limit (HTTP 413); nothing was kept.
    #[error("the archive exceeds the size limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The file name cannot be stored (empty, too long, path separators, control chars).
    #[error("unusable archive file name: {0}")]
    BadName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed file could not be opened (media intake).
    #[error(transparent)]
    Seal(#[from] daiko_seal::SealError),
}

/// Who sends what, through which channel.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// The sending organisation (an institution for 種別1; insurers for 種別4/5).
    pub org: &'a Org,
    /// Login of the person or system that uploaded (None for media read by the agency).
    pub uploaded_by: Option<&'a str>,
    /// Role of the uploader (for the audit row).
    pub role: &'a str,
    /// `api`, `web` or `media`.
    pub channel: &'a str,
    /// The archive's file name as sent.
    pub archive_name: &'a str,
    /// Client address, or `cli`.
    pub source: &'a str,
}

/// The receipt (データ受領書) of a durably stored archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// Submission id.
    pub id: String,
    /// データ受領書番号 `R{YYYYMMDD}-{nnnnnn}` (JST day).
    pub receipt_no: String,
    pub sha256: String,
    pub size: u64,
    pub archive_name: String,
    /// RFC 3339 UTC.
    pub received_at: String,
}

/// An upload being streamed to storage.
pub struct Pending {
    store: Store,
    writer: Option<BlobWriter>,
    id: String,
    blob_key: String,
    limit: u64,
    org_id: String,
    org_number: String,
    uploaded_by: Option<String>,
    role: String,
    channel: String,
    archive_name: String,
    source: String,
}

/// Checks a file name: non-empty, ≤ 255 bytes, no path separators, no control characters.
pub fn validate_name(name: &str) -> Result<(), IntakeError> {
    let bad = |why: &str| Err(IntakeError::BadName(format!("{why}: {name:?}")));
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > 255 {
        return bad("longer than 255 bytes");
    }
    if name.contains(['/', '\\']) {
        return bad("contains a path separator");
    }
    if name.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    if name == "." || name == ".." {
        return bad("not a file name");
    }
    Ok(())
}

/// Starts receiving an upload of at most `limit` bytes.
pub async fn begin(store: &Store, up: &Upload<'_>, limit: u64) -> Result<Pending, IntakeError> {
    validate_name(up.archive_name)?;
    let id = daiko_store::new_id();
    let blob_key = format!("archives/{id}.zip");
    let writer = store
        .blobs()
        .writer_for(&up.org.id, &blob_key, limit)
        .await?;
    Ok(Pending {
        store: store.clone(),
        writer: Some(writer),
        id,
        blob_key,
        limit,
        org_id: up.org.id.clone(),
        org_number: up.org.number.clone(),
        uploaded_by: up.uploaded_by.map(str::to_string),
        role: up.role.to_string(),
        channel: up.channel.to_string(),
        archive_name: up.archive_name.to_string(),
        source: up.source.to_string(),
    })
}

impl Pending {
    /// Appends a chunk. Over the limit the blob is abandoned and every later call answers
    /// [`IntakeError::TooLarge`].
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), IntakeError> {
        let Some(w) = self.writer.as_mut() else {
            return Err(IntakeError::TooLarge { limit: self.limit });
        };
        if !w.write(chunk).await? {
            if let Some(w) = self.writer.take() {
                w.abort().await;
            }
            return Err(IntakeError::TooLarge { limit: self.limit });
        }
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.writer.as_ref().map(BlobWriter::size).unwrap_or(0)
    }

    /// Makes the archive durable, then registers it in one transaction, and answers the
    /// receipt only after that transaction committed.
    pub async fn finish(mut self) -> Result<Received, IntakeError> {
        let Some(w) = self.writer.take() else {
            return Err(IntakeError::TooLarge { limit: self.limit });
        };
        let written = w.finish().await?;
        let store = &self.store;
        let registered = async {
            let mut tx = store.begin().await?;
            let receipt_no = store.next_receipt_no(&mut tx, &jst_yyyymmdd_now()).await?;
            store
                .insert_submission_in(
                    &mut tx,
                    &NewSubmission {
                        id: &self.id,
                        org_id: &self.org_id,
                        uploaded_by: self.uploaded_by.as_deref(),
                        channel: &self.channel,
                        archive_name: &self.archive_name,
                        sha256: &written.sha256,
                        size: i64::try_from(written.size).unwrap_or(i64::MAX),
                        blob_key: &self.blob_key,
                    },
                    &receipt_no,
                )
                .await?;
            store.enqueue_in(&mut tx, "check", &self.id).await?;
            let detail = serde_json::json!({
                "name": self.archive_name,
                "size": written.size,
                "sha256": written.sha256,
                "channel": self.channel,
                "receipt_no": receipt_no,
            });
            store
                .audit_in(
                    &mut tx,
                    &AuditEntry {
                        actor: self.uploaded_by.clone().unwrap_or_else(|| "system".into()),
                        role: self.role.clone(),
                        org: self.org_number.clone(),
                        action: "submission.receive".into(),
                        target: format!("submission:{}", self.id),
                        records: String::new(),
                        source: self.source.clone(),
                        detail: detail.to_string(),
                    },
                )
                .await?;
            tx.commit().await?;
            Ok::<String, StoreError>(receipt_no)
        }
        .await;
        let receipt_no = match registered {
            Ok(r) => r,
            Err(e) => {
                // No receipt was issued: the stored bytes belong to nobody.
                let _ = store.blobs().delete(&self.blob_key).await;
                return Err(e.into());
            }
        };
        let received_at = match store.submission(&self.id).await {
            Ok(Some(s)) => s.received_at,
            _ => daiko_store::now(),
        };
        Ok(Received {
            id: self.id.clone(),
            receipt_no,
            sha256: written.sha256,
            size: written.size,
            archive_name: self.archive_name.clone(),
            received_at,
        })
    }

    /// Abandons the upload (a client that went away); nothing is kept.
    pub async fn abort(mut self) {
        if let Some(w) = self.writer.take() {
            w.abort().await;
        }
    }
}

/// Receives a whole archive held in memory (tests, the CLI, media).
pub async fn receive_bytes(
    store: &Store,
    up: &Upload<'_>,
    bytes: &[u8],
    limit: u64,
) -> Result<Received, IntakeError> {
    let mut p = begin(store, up, limit).await?;
    for chunk in bytes.chunks(64 * 1024) {
        p.write(chunk).await?;
    }
    p.finish().await
}

/// Japan Standard Time (UTC+9, no daylight saving).
pub fn jst() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(9))
}

/// Today's JST date as `YYYYMMDD`.
pub fn jst_yyyymmdd_now() -> String {
    jiff::Timestamp::now()
        .to_zoned(jst())
        .strftime("%Y%m%d")
        .to_string()
}
