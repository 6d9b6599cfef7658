//! Blob storage for archives, reports and built deliveries: a folder on disk by default.
//!
//! Writes are durable before they return (write to a temporary file, fsync, rename, fsync
//! the folder), because a receipt may only be issued for an archive that survives a crash
//! (S23). Keys are relative paths of `[a-z0-9._-]` segments chosen by daiko, never by a
//! sender.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{Result, StoreError};

/// Blob storage rooted at a folder.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
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
    pub fn open(root: &Path) -> Result<BlobStore> {
        std::fs::create_dir_all(root.join("tmp")).map_err(io_err(root))?;
        Ok(BlobStore {
            root: root.to_path_buf(),
        })
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
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let mut w = self.writer(key, u64::MAX).await?;
        w.write(bytes).await?;
        w.finish().await?;
        Ok(())
    }

    /// Reads a whole blob.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound {
                what: "blob",
                key: key.to_string(),
            }),
            Err(source) => Err(StoreError::Io { path, source }),
        }
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

    /// Starts a streamed, size-limited, hashed write of `key`.
    pub async fn writer(&self, key: &str, limit: u64) -> Result<BlobWriter> {
        let path = self.path_of(key)?;
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{}.part", uuid::Uuid::new_v4()));
        let file = tokio::fs::File::create(&tmp).await.map_err(io_err(&tmp))?;
        Ok(BlobWriter {
            file: Some(file),
            tmp,
            path,
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }
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
        file.write_all(chunk).await.map_err(io_err(&self.tmp))?;
        Ok(true)
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the blob durable under its key and returns its hash and size.
    pub async fn finish(mut self) -> Result<Written> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Corrupt("blob writer finished twice".into()))?;
        file.flush().await.map_err(io_err(&self.tmp))?;
        file.sync_all().await.map_err(io_err(&self.tmp))?;
        drop(file);
        if let Some(parent) = self.path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io_err(parent))?;
        }
        tokio::fs::rename(&self.tmp, &self.path)
            .await
            .map_err(io_err(&self.path))?;
        if let Some(parent) = self.path.parent() {
            sync_dir(parent)?;
        }
        Ok(Written {
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
            size: self.size,
        })
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

    #[tokio::test]
    async fn put_get_limit() {
        let dir = tempfile::tempdir().unwrap();
        let b = BlobStore::open(dir.path()).unwrap();
        b.put("x/y.bin", b"hello").await.unwrap();
        assert_eq!(b.get("x/y.bin").await.unwrap(), b"hello");
        let mut w = b.writer("x/z.bin", 4).await.unwrap();
        assert!(!w.write(b"hello").await.unwrap());
        w.abort().await;
        assert!(!b.exists("x/z.bin").await.unwrap());
        assert!(matches!(
            b.get("x/z.bin").await,
            Err(StoreError::NotFound { .. })
        ));
        let tmp_entries = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        assert_eq!(tmp_entries, 0);
    }
}
