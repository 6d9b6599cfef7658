//! Blob storage for archives, reports and built deliveries: a folder on disk by default.
//!
//! Writes are durable before they return (write to a temporary file, fsync, rename, fsync
//! the folder), because a receipt may only be issued for an archive that survives a crash
//! (S23). Keys are relative paths of `[a-z0-9._-]` segments chosen by daiko, never by a
//! sender.
//!
//! Every blob is encrypted at rest (S18): an envelope (see [`crate::keyring`]) under the
//! current data key of a tenant, in 64 KiB AES-256-GCM chunks with the blob key as context.
//! `put`/`writer` use the agency's key; `put_for`/`writer_for` the tenant's (the organisation
//! the data belongs to). `get` finds the data key from the envelope, so it needs no tenant.
//! The hash and size a write reports are those of the plaintext.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::keyring::{AGENCY_TENANT, CHUNK_SIZE, EnvelopeHeader, KeyError, Keyring, Sealer};
use crate::{Result, StoreError};

/// Blob storage rooted at a folder, encrypting through a keyring.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    keys: Arc<Keyring>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks a blob key: relative, `/`-separated segments of `[A-Za-z0-9._-]`, no `..`.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

impl BlobStore {
    /// Opens (creating) blob storage under `root`.
    pub fn open(root: &Path, keys: Arc<Keyring>) -> Result<BlobStore> {
        std::fs::create_dir_all(root.join("tmp")).map_err(io_err(root))?;
        Ok(BlobStore {
            root: root.to_path_buf(),
            keys,
        })
    }

    /// The keyring the blobs are encrypted with.
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keys
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        if !valid_key(key) {
            return Err(StoreError::Corrupt(format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    /// Stores `bytes` under `key` durably (replacing an earlier blob of the same key, so a
    /// job that is re-run after a crash writes the same result again).
    /// Encrypted under the agency's data key; use [`BlobStore::put_for`] for data that
    /// belongs to an organisation.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.put_for(AGENCY_TENANT, key, bytes).await
    }

    /// Stores `bytes` under `key`, encrypted under `tenant`'s data key (an organisation id,
    /// or [`AGENCY_TENANT`]).
    pub async fn put_for(&self, tenant: &str, key: &str, bytes: &[u8]) -> Result<()> {
        let mut w = self.writer_for(tenant, key, u64::MAX).await?;
        w.write(bytes).await?;
        w.finish().await?;
        Ok(())
    }

    /// Reads and decrypts a whole blob. A blob without an envelope is refused
    /// ([`KeyError::Plaintext`]) unless `DAIKO_ALLOW_PLAINTEXT_LEGACY=1`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path_of(key)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    what: "blob",
                    key: key.to_string(),
                });
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let Some(header) = EnvelopeHeader::parse(&bytes)? else {
            if self.keys.allow_plaintext_legacy() {
                tracing::warn!(
                    blob = key,
                    "read a legacy plaintext blob (S18 upgrade pending)"
                );
                return Ok(bytes);
            }
            return Err(KeyError::Plaintext(format!("blob {key}")).into());
        };
        let dk = self.keys.data_key(&header.key_id).await?;
        let context = key.to_string();
        // AES-GCM over hundreds of megabytes is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            crate::keyring::open_envelope(
                &dk,
                &header,
                context.as_bytes(),
                bytes,
                &format!("blob {context}"),
            )
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("decryption task failed: {e}")))?
        .map_err(StoreError::from)
    }

    /// Whether the stored blob is an envelope (false for legacy plaintext).
    pub async fn is_encrypted(&self, key: &str) -> Result<bool> {
        use tokio::io::AsyncReadExt;
        let path = self.path_of(key)?;
        let mut f = tokio::fs::File::open(&path).await.map_err(io_err(&path))?;
        let mut head = [0u8; 8];
        let mut n = 0;
        while n < head.len() {
            let r = f.read(&mut head[n..]).await.map_err(io_err(&path))?;
            if r == 0 {
                break;
            }
            n += r;
        }
        Ok(&head[..n] == crate::keyring::MAGIC.as_slice())
    }

    /// Whether a blob exists.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path_of(key)?;
        Ok(tokio::fs::try_exists(&path).await.unwrap_or(false))
    }

    /// Deletes a blob (missing is fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// Starts a streamed, size-limited, hashed write of `key` under the agency's data key.
    pub async fn writer(&self, key: &str, limit: u64) -> Result<BlobWriter> {
        self.writer_for(AGENCY_TENANT, key, limit).await
    }

    /// Starts a streamed, size-limited, hashed write of `key`, encrypted under `tenant`'s
    /// data key. Call it outside an open write transaction (the tenant's first data key is
    /// inserted on first use).
    pub async fn writer_for(&self, tenant: &str, key: &str, limit: u64) -> Result<BlobWriter> {
        let path = self.path_of(key)?;
        // S26: organisations' data is sealed under the key of its retention scope (the
        // fiscal year of writing), so that one scope can be crypto-shredded on its own.
        let dk = self
            .keys
            .current(&crate::retention::write_scope(tenant, &crate::now()))
            .await?;
        let sealer = Sealer::new(&dk, key.as_bytes(), CHUNK_SIZE)?;
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{}.part", uuid::Uuid::new_v4()));
        let mut file = tokio::fs::File::create(&tmp).await.map_err(io_err(&tmp))?;
        file.write_all(sealer.header())
            .await
            .map_err(io_err(&tmp))?;
        Ok(BlobWriter {
            file: Some(file),
            tmp,
            path,
            hasher: Sha256::new(),
            size: 0,
            limit,
            sealer,
            pending: Vec::with_capacity(CHUNK_SIZE as usize + 16),
        })
    }
}

/// The advisory lock (`flock`) on the blob folder itself that orders blob replacements
/// across processes sharing the folder (S26): ordinary writes take it shared around their
/// rename, a compare-and-replace ([`BlobWriter::finish_replacing`]) exclusive around its
/// check and rename. `None` where the folder cannot be opened as a file (not Unix): no lock.
async fn folder_lock(root: PathBuf, exclusive: bool) -> Result<Option<std::fs::File>> {
    tokio::task::spawn_blocking(move || {
        let Ok(f) = std::fs::File::open(&root) else {
            return Ok(None);
        };
        if exclusive { f.lock() } else { f.lock_shared() }.map_err(io_err(&root))?;
        Ok(Some(f))
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("blob folder lock task failed: {e}")))?
}

/// A blob being written. Dropping it without [`BlobWriter::finish`] leaves only a file in
/// `tmp/`, which is never read.
pub struct BlobWriter {
    file: Option<tokio::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    limit: u64,
    sealer: Sealer,
    /// Plaintext not yet encrypted: a chunk is sealed only once more bytes follow it, so the
    /// last chunk (flagged as such) is known at `finish`.
    pending: Vec<u8>,
}

/// What a finished write stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub sha256: String,
    pub size: u64,
}

impl BlobWriter {
    /// Appends bytes. Answers `Ok(false)` once the total exceeds the limit (the caller
    /// answers 413 and aborts); nothing beyond the limit is written.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<bool> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Ok(false);
        }
        self.hasher.update(chunk);
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| StoreError::Corrupt("blob writer used after finish".into()))?;
        let full = CHUNK_SIZE as usize;
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.pending.len() == full {
                // More bytes follow, so the pending chunk is not the last.
                self.sealer.seal_chunk(&mut self.pending, false)?;
                file.write_all(&self.pending)
                    .await
                    .map_err(io_err(&self.tmp))?;
                self.pending.clear();
            }
            let n = rest.len().min(full - self.pending.len());
            self.pending.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        Ok(true)
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the blob durable under its key and returns its hash and size.
    pub async fn finish(self) -> Result<Written> {
        self.complete(None)
            .await?
            .ok_or_else(|| StoreError::Corrupt("blob write not completed".into()))
    }

    /// Like [`BlobWriter::finish`], but replaces the blob only if its stored bytes still
    /// hash (SHA-256, hex) to `sealed_sha256`, the ciphertext the caller read before
    /// re-sealing it; answers `None` (nothing replaced, the new file discarded) when
    /// something else rewrote the blob meanwhile. The check and the rename happen under
    /// the blob folder's exclusive lock ([`folder_lock`]), and every other write renames
    /// under its shared lock, in this process or another: no write lands between them.
    pub async fn finish_replacing(self, sealed_sha256: &str) -> Result<Option<Written>> {
        self.complete(Some(sealed_sha256)).await
    }

    async fn complete(mut self, expect: Option<&str>) -> Result<Option<Written>> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Corrupt("blob writer finished twice".into()))?;
        let mut last = std::mem::take(&mut self.pending);
        self.sealer.seal_chunk(&mut last, true)?;
        file.write_all(&last).await.map_err(io_err(&self.tmp))?;
        file.flush().await.map_err(io_err(&self.tmp))?;
        file.sync_all().await.map_err(io_err(&self.tmp))?;
        drop(file);
        if let Some(parent) = self.path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io_err(parent))?;
        }
        // Held until the rename is durable: shared for a write, exclusive for a replacement
        // that compares first (so that no write renames between its check and its rename).
        let root = self
            .tmp
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let _lock = match root {
            Some(root) => folder_lock(root, expect.is_some()).await?,
            None => None,
        };
        if let Some(expect) = expect {
            let now = match tokio::fs::read(&self.path).await {
                Ok(b) => hex::encode(Sha256::digest(&b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(source) => {
                    let _ = tokio::fs::remove_file(&self.tmp).await;
                    return Err(StoreError::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
            };
            if now != expect {
                let _ = tokio::fs::remove_file(&self.tmp).await;
                return Ok(None);
            }
        }
        tokio::fs::rename(&self.tmp, &self.path)
            .await
            .map_err(io_err(&self.path))?;
        if let Some(parent) = self.path.parent() {
            sync_dir(parent)?;
        }
        Ok(Some(Written {
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
            size: self.size,
        }))
    }

    /// Abandons the write and removes the temporary file.
    pub async fn abort(mut self) {
        self.file.take();
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    let f = std::fs::File::open(dir).map_err(io_err(dir))?;
    f.sync_all().map_err(io_err(dir))?;
    Ok(())
}

/// Writes `bytes` to `path` durably (used for small files outside the blob store).
pub fn write_file_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(valid_key("archives/0190-abc.zip"));
        assert!(!valid_key("../x"));
        assert!(!valid_key("/abs"));
        assert!(!valid_key("a//b"));
        assert!(!valid_key("a/./b"));
        assert!(!valid_key(""));
    }
}
