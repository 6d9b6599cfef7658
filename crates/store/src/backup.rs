//! Backups (バックアップ) and restore (リストア) of a whole installation (SECURITY.md S25).
//!
//! A backup *generation* (世代) is one directory `YYYYMMDDTHHMMSSZ` under the backup target,
//! a local directory or an S3-compatible bucket and prefix `s3://BUCKET/PREFIX` ([`s3`]; the
//! generation is then the objects under `PREFIX/YYYYMMDDTHHMMSSZ/`):
//!
//! | file | what |
//! |---|---|
//! | `keys.json` | the `data_keys` rows: data keys wrapped under the master key (useless without it) |
//! | `manifest.enc` | the manifest (files, sizes, SHA-256 of stored bytes and of plaintext, row counts, schema version, backend, destructions known), sealed under the agency's data key |
//! | `database.sqlite3.enc` | SQLite: a `VACUUM INTO` snapshot, sealed under the agency's data key |
//! | `tables/NNN_name.jsonl.enc` | PostgreSQL: every daiko table as JSON lines, read in one REPEATABLE READ transaction, sealed |
//! | `blobs/…` | every blob as stored: already an envelope under its tenant's data key |
//! | `files/…` | `audit.anchors`, `keys/agency.key`, `daiko.toml`, sealed |
//!
//! Everything but `keys.json` is AES-256-GCM (the keyring's envelope, see [`crate::keyring`])
//! with `daiko-backup-v1/<generation>/<path>` (or the blob key) as context, so a file moved to
//! another name or generation does not open. The manifest is an envelope too, so an edited
//! manifest fails authentication; every other file is checked against the manifest's hashes.
//! The master key is *not* in the backup: restoring needs the escrowed master key configured
//! (`DAIKO_MASTER_KEY_FILE` or `DAIKO_MASTER_KEY`).
//!
//! A destruction (S26) rewrites the generations it can reach and a restore applies the
//! destructions recorded at its location again (`backup/purge.rs`).
//!
//! Consistency while the server runs: the anchors file is copied first (it only names rows
//! already committed), then the database snapshot is taken, then the blobs are copied. Blobs
//! are written durably before any row names them (S23), so every blob the snapshot refers to
//! exists by then; blobs written later are harmless extras.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};
use thiserror::Error;

use crate::keyring::{EnvelopeHeader, KeyError, KeyringConfig, MasterSource};
use crate::retention::{Destroyed, RetentionError};
use crate::{AGENCY_TENANT, Backend, Store, StoreError, new_id, now};

mod purge;
pub mod s3;
pub use purge::{PurgeOutcome, RestoreWarning, purge_destroyed};
pub use s3::{S3Config, S3Target};

/// The manifest format.
const FORMAT: u32 = 1;
/// Files of the data folder kept in a backup besides the database and the blobs (never the
/// master key).
const FOLDER_FILES: [&str; 3] = ["audit.anchors", "keys/agency.key", "daiko.toml"];
/// Rows per INSERT when restoring PostgreSQL.
const ROWS_PER_INSERT: usize = 500;

/// Errors of backup and restore. `Display` is English, [`BackupError::message_ja`] Japanese.
#[derive(Debug, Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a backup generation (no keys.json / manifest.enc)")]
    NotAGeneration(String),
    /// The S3 target's configuration (environment) is missing or refused.
    #[error("{en}")]
    S3Config { en: String, ja: String },
    /// The S3-compatible service failed or refused a request.
    #[error("S3 {location}: {detail}")]
    Remote { location: String, detail: String },
    #[error(
        "backup {0}: altered or damaged (authentication or hash check failed); nothing was restored"
    )]
    Tampered(String),
    #[error("backup file {0} is missing; nothing was restored")]
    Missing(String),
    #[error("restore target {0} is not empty: restore only into an empty data folder or database")]
    NotEmpty(String),
    #[error(
        "no master key configured: set DAIKO_MASTER_KEY_FILE (or DAIKO_MASTER_KEY) to the \
         escrowed master key; it is not part of the backup"
    )]
    NoMasterKey,
    #[error(
        "the backup has schema version {backup}, newer than this daiko ({known}): use a newer daiko"
    )]
    SchemaNewer { backup: i64, known: i64 },
    #[error("the backup is of a {backup} database; {detail}")]
    Backend { backup: String, detail: String },
    #[error("after restore, {0} differs from the backup")]
    Verify(String),
}

impl BackupError {
    /// The message in Japanese.
    pub fn message_ja(&self) -> String {
        match self {
            BackupError::Store(StoreError::Key(k)) => k.message_ja(),
            BackupError::Store(e) => format!("データの保存・読み出しに失敗しました: {e}"),
            BackupError::Io { path, source } => format!("{}: {source}", path.display()),
            BackupError::NotAGeneration(p) => format!(
                "{p} はバックアップの世代ではありません（keys.json / manifest.enc がありません）"
            ),
            BackupError::S3Config { ja, .. } => ja.clone(),
            BackupError::Remote { location, detail } => {
                format!("S3 の {location} を読み書きできません: {detail}")
            }
            BackupError::Tampered(what) => format!(
                "バックアップ {what} が改ざんまたは破損しています（認証またはハッシュの照合に失敗）。何も復元していません"
            ),
            BackupError::Missing(what) => {
                format!("バックアップのファイル {what} がありません。何も復元していません")
            }
            BackupError::NotEmpty(t) => format!(
                "復元先 {t} が空ではありません。空のデータフォルダ・データベースにのみ復元できます"
            ),
            BackupError::NoMasterKey => "マスター鍵が設定されていません。保管してあるマスター鍵を DAIKO_MASTER_KEY_FILE（または DAIKO_MASTER_KEY）に設定してください（バックアップには含まれません）".into(),
            BackupError::SchemaNewer { backup, known } => format!(
                "バックアップのスキーマ版 {backup} はこの daiko（{known}）より新しいため復元できません"
            ),
            BackupError::Backend { backup, detail } => {
                format!("バックアップは {backup} のデータベースです。{detail}")
            }
            BackupError::Verify(what) => format!("復元後の {what} がバックアップと一致しません"),
        }
    }
}

impl From<KeyError> for BackupError {
    fn from(e: KeyError) -> BackupError {
        BackupError::Store(StoreError::Key(e))
    }
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> BackupError {
        BackupError::Store(StoreError::Db(e))
    }
}

pub type Result<T, E = BackupError> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a file of a generation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// The SQLite snapshot.
    Database,
    /// One PostgreSQL table as JSON lines.
    Table,
    /// A blob, stored as it was (its own envelope).
    Blob,
    /// A file of the data folder (anchors, the agency's media key, the configuration).
    Folder,
}

/// One file of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the generation.
    pub path: String,
    pub kind: FileKind,
    /// The blob key, table name or data-folder path it restores to.
    pub name: String,
    /// Size and SHA-256 (hex) of the bytes in the backup.
    pub size: u64,
    pub sha256: String,
    /// Size and SHA-256 of the decrypted content.
    pub plain_size: u64,
    pub plain_sha256: String,
}

/// Rows of one table at the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCount {
    pub name: String,
    pub rows: i64,
}

/// The manifest of a generation (sealed as `manifest.enc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub generation: String,
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The newest migration applied.
    pub schema_version: i64,
    /// SHA-256 of `keys.json`.
    pub keys_sha256: String,
    /// Tables in creation (migration) order.
    pub tables: Vec<TableCount>,
    pub files: Vec<FileEntry>,
    /// Destructions (S26) known when the generation was made or purged since; a restore
    /// applies them again. `None`: made by a version before this record existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed: Option<Vec<Destroyed>>,
    /// Files a purge replaced (older names of rewritten files, deleted blobs): no longer
    /// part of the generation, deleted after the manifest naming their successors was
    /// written, and again by any later purge should that have been interrupted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
}

impl Manifest {
    pub fn blob_count(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.kind == FileKind::Blob)
            .count()
    }
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// One `data_keys` row as kept in `keys.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WrappedKey {
    id: String,
    tenant: String,
    master_id: String,
    wrapped: String,
    created_at: String,
    rewrapped_at: Option<String>,
    retired_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeysFile {
    generation: String,
    /// The data key sealing the manifest and the database.
    manifest_key: String,
    data_keys: Vec<WrappedKey>,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The keys a purge writes before the manifest that authenticates them; renamed over
/// `keys.json` once that manifest is in place (see [`purge`]).
const KEYS_NEXT: &str = "keys.json.next";

fn context(generation: &str, path: &str) -> Vec<u8> {
    format!("daiko-backup-v1/{generation}/{path}").into_bytes()
}

/// Whether a directory name is a generation (`YYYYMMDDTHHMMSSZ`).
pub fn is_generation_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
}

/// Where generations are kept: a local directory or an S3-compatible bucket and prefix.
#[derive(Debug, Clone)]
pub enum Target {
    Dir(PathBuf),
    S3(S3Target),
}

impl Target {
    /// `s3://BUCKET/PREFIX` (reached as configured in `env`, see [`s3`]) or a directory.
    pub fn parse(target: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
        if target.starts_with("s3://") {
            Ok(Target::S3(S3Target::new(
                target,
                &S3Config::from_env(env)?,
            )?))
        } else {
            Ok(Target::Dir(PathBuf::from(target)))
        }
    }

    /// The directory path or `s3://BUCKET/PREFIX`.
    pub fn location(&self) -> String {
        match self {
            Target::Dir(d) => d.display().to_string(),
            Target::S3(t) => t.url(),
        }
    }

    fn generation(&self, name: &str) -> Generation {
        match self {
            Target::Dir(d) => Generation::Dir(d.join(name)),
            Target::S3(t) => Generation::S3 {
                target: t.clone(),
                name: name.to_string(),
            },
        }
    }
}

/// One generation: a directory, or a generation under an S3 target.
#[derive(Debug, Clone)]
pub enum Generation {
    Dir(PathBuf),
    S3 { target: S3Target, name: String },
}

impl Generation {
    /// `s3://BUCKET/PREFIX/YYYYMMDDTHHMMSSZ` (reached as configured in `env`) or a directory.
    pub fn parse(generation: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Generation> {
        if !generation.starts_with("s3://") {
            return Ok(Generation::Dir(PathBuf::from(generation)));
        }
        let trimmed = generation.trim_end_matches('/');
        let (target, name) = trimmed.rsplit_once('/').unwrap_or((trimmed, ""));
        // `s3://BUCKET/GEN`: the target is the bucket itself.
        if !is_generation_name(name) || target == "s3:/" {
            return Err(BackupError::NotAGeneration(generation.to_string()));
        }
        Ok(Generation::S3 {
            target: S3Target::new(target, &S3Config::from_env(env)?)?,
            name: name.to_string(),
        })
    }

    /// The directory path or `s3://BUCKET/PREFIX/GENERATION`.
    pub fn location(&self) -> String {
        match self {
            Generation::Dir(d) => d.display().to_string(),
            Generation::S3 { target, name } => target.generation_url(name),
        }
    }

    /// The file `rel` of the generation, or `None` when it is missing.
    async fn get(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Generation::Dir(d) => {
                let p = d.join(rel);
                match std::fs::read(&p) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io(&p)(e)),
                }
            }
            Generation::S3 { target, name } => target.get(&format!("{name}/{rel}")).await,
        }
    }

    /// Replaces the file `rel` (a purge rewrites a generation in place).
    async fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Generation::Dir(d) => write_new(&d.join(rel), bytes),
            Generation::S3 { target, name } => target.put(&format!("{name}/{rel}"), bytes).await,
        }
    }

    /// Removes the file `rel` (gone already is fine).
    async fn remove(&self, rel: &str) -> Result<()> {
        match self {
            Generation::Dir(d) => {
                let p = d.join(rel);
                match std::fs::remove_file(&p) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io(&p)(e)),
                }
            }
            Generation::S3 { target, name } => target.delete(&format!("{name}/{rel}")).await,
        }
    }

    /// Every file of the generation (relative paths with `/`), listed or not.
    async fn files(&self) -> Result<Vec<String>> {
        match self {
            Generation::Dir(d) => blob_keys(d),
            Generation::S3 { target, name } => target.files_of(name).await,
        }
    }

    /// The target holding this generation and the generation's name.
    fn parent(&self) -> Option<(Target, String)> {
        match self {
            Generation::Dir(d) => {
                let name = d.file_name()?.to_str()?.to_string();
                let parent = d.parent().filter(|p| !p.as_os_str().is_empty());
                Some((
                    Target::Dir(parent.unwrap_or(Path::new(".")).to_path_buf()),
                    name,
                ))
            }
            Generation::S3 { target, name } => Some((Target::S3(target.clone()), name.clone())),
        }
    }
}

/// A generation being written: a hidden directory renamed when complete, or objects under
/// the generation's S3 prefix, the manifest last.
enum Sink<'a> {
    Dir(PathBuf),
    S3 { target: &'a S3Target, name: String },
}

impl Sink<'_> {
    async fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Sink::Dir(d) => write_new(&d.join(rel), bytes),
            Sink::S3 { target, name } => target.put(&format!("{name}/{rel}"), bytes).await,
        }
    }
}

/// The complete generations at a target, oldest first, as locations.
pub async fn generations(target: &Target) -> Result<Vec<String>> {
    Ok(generation_names(target)
        .await?
        .iter()
        .map(|n| target.generation(n).location())
        .collect())
}

async fn generation_names(target: &Target) -> Result<Vec<String>> {
    match target {
        Target::Dir(d) => Ok(dir_generations(d)?
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect()),
        Target::S3(t) => t.generations().await,
    }
}

/// Removes the oldest generations beyond `keep` (at least one is always kept); returns their
/// locations.
pub async fn prune(target: &Target, keep: usize) -> Result<Vec<String>> {
    let all = generation_names(target).await?;
    let excess = all.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for name in all.into_iter().take(excess) {
        match target {
            Target::Dir(d) => {
                let g = d.join(&name);
                std::fs::remove_dir_all(&g).map_err(io(&g))?;
            }
            Target::S3(t) => {
                // The manifest first: a generation interrupted while being removed no longer
                // counts as one.
                t.delete(&format!("{name}/manifest.enc")).await?;
                t.delete_all(&name).await?;
            }
        }
        removed.push(target.generation(&name).location());
    }
    Ok(removed)
}

/// The generation directories under a directory target, oldest first.
fn dir_generations(target: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(target) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(target)(e)),
    };
    for e in entries {
        let e = e.map_err(io(target))?;
        if e.path().is_dir() && e.file_name().to_str().is_some_and(is_generation_name) {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Relative paths (with `/`) of every blob under `root`, skipping uploads in progress.
fn blob_keys(root: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(dir)(e)),
        };
        for e in entries {
            let e = e.map_err(io(dir))?;
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let ft = e.file_type().map_err(io(&e.path()))?;
            if ft.is_dir() {
                if key != "tmp" {
                    walk(&e.path(), &key, out)?;
                }
            } else if ft.is_file() && !name.ends_with(".tmp") {
                out.push(key);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    crate::blob::write_file_durably(path, bytes)?;
    Ok(())
}

/// What [`create`] made.
#[derive(Debug, Clone)]
pub struct Created {
    /// The generation's directory or `s3://BUCKET/PREFIX/GENERATION`.
    pub location: String,
    pub manifest: Manifest,
}

fn generation_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Takes a backup of the store and the data folder `data_dir` into a new generation at
/// `target`, while the server may keep running.
pub async fn create(store: &Store, data_dir: &Path, target: &Target) -> Result<Created> {
    // The destructions certified before the snapshot begins: the snapshot reflects them.
    let before = certified(store).await?;
    let mut created = create_generation(store, data_dir, target).await?;
    let generation = target.generation(&created.manifest.generation);
    if purge_raced(store, &generation, &before).await? {
        let o = open_manifest(&generation, store.keyring().config().clone()).await?;
        created.manifest = o.manifest.clone();
        o.close().await;
    }
    Ok(created)
}

/// The approvals of the destructions certified so far (S26), for [`purge_raced`].
pub async fn certified(store: &Store) -> Result<BTreeSet<String>> {
    Ok(store
        .destruction_certificates()
        .await
        .map_err(retention_error)?
        .into_iter()
        .map(|(_, c)| c.approval)
        .collect())
}

/// What [`create`] does once its generation is complete: a destruction (S26) that committed
/// while the generation was written may have missed it (its purge lists the locations
/// before the generation is complete) while the snapshot still holds what it destroyed.
/// Every destruction certified since `before` ([`certified`] taken before the snapshot
/// began) is applied to the generation, keys or not (a rosters-only destruction deletes
/// rows), and so is any whose keys the generation still holds. Answers whether the
/// generation was rewritten.
pub async fn purge_raced(
    store: &Store,
    generation: &Generation,
    before: &BTreeSet<String>,
) -> Result<bool> {
    let Some(keys) = generation.get("keys.json").await? else {
        return Err(BackupError::Missing("keys.json".into()));
    };
    let keys: KeysFile =
        serde_json::from_slice(&keys).map_err(|_| BackupError::Tampered("keys.json".into()))?;
    let mut purged = false;
    for (_, c) in store
        .destruction_certificates()
        .await
        .map_err(retention_error)?
    {
        let d = Destroyed::from(&c);
        let holds_keys = keys
            .data_keys
            .iter()
            .any(|k| (d.takes_keys() && k.tenant == c.scope) || c.key_ids.contains(&k.id));
        if holds_keys || !before.contains(&c.approval) {
            let config = store.keyring().config().clone();
            let (_, _, rewritten) = purge::purge_generation(generation, config, &d).await?;
            purged |= rewritten;
        }
    }
    Ok(purged)
}

async fn create_generation(store: &Store, data_dir: &Path, target: &Target) -> Result<Created> {
    let ring = store.keyring();
    let agency = ring.current(AGENCY_TENANT).await?;
    let mut generation = generation_now();
    // Two backups in the same second: wait for the next one rather than mix them.
    loop {
        let taken = match target {
            Target::Dir(d) => d.join(&generation).exists(),
            Target::S3(t) => t.has_any(&generation).await?,
        };
        if !taken {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        generation = generation_now();
    }
    match target {
        Target::Dir(dir) => {
            // An absolute location is audited (`backup.create`), so that a destruction run
            // by another process (a server) finds the generations to purge (S26).
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            let dir = &std::fs::canonicalize(dir).map_err(io(dir))?;
            let partial = dir.join(format!(".{generation}.partial-{}", new_id()));
            std::fs::create_dir_all(&partial).map_err(io(&partial))?;
            // Only the backup operator reads a generation (its files are sealed anyway).
            private_dir(&partial)?;
            let sink = Sink::Dir(partial.clone());
            match fill(store, data_dir, &sink, &generation, agency.id()).await {
                Ok(manifest) => {
                    let path = dir.join(&generation);
                    std::fs::rename(&partial, &path).map_err(io(&path))?;
                    Ok(Created {
                        location: path.display().to_string(),
                        manifest,
                    })
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&partial);
                    Err(e)
                }
            }
        }
        Target::S3(t) => {
            let sink = Sink::S3 {
                target: t,
                name: generation.clone(),
            };
            // The manifest is written last: until then the generation does not count.
            match fill(store, data_dir, &sink, &generation, agency.id()).await {
                Ok(manifest) => Ok(Created {
                    location: t.generation_url(&generation),
                    manifest,
                }),
                Err(e) => {
                    let _ = t.delete_all(&generation).await;
                    Err(e)
                }
            }
        }
    }
}

async fn seal_file(
    store: &Store,
    sink: &Sink<'_>,
    generation: &str,
    path: &str,
    kind: FileKind,
    name: &str,
    plain: &[u8],
) -> Result<FileEntry> {
    let sealed = store
        .keyring()
        .encrypt_value(AGENCY_TENANT, &context(generation, path), plain)
        .await?;
    sink.put(path, &sealed).await?;
    Ok(FileEntry {
        path: path.to_string(),
        kind,
        name: name.to_string(),
        size: sealed.len() as u64,
        sha256: sha256_hex(&sealed),
        plain_size: plain.len() as u64,
        plain_sha256: sha256_hex(plain),
    })
}

async fn fill(
    store: &Store,
    data_dir: &Path,
    dir: &Sink<'_>,
    generation: &str,
    manifest_key: &str,
) -> Result<Manifest> {
    let mut files = Vec::new();
    // 1. Folder files first: the anchors then name only rows the snapshot holds.
    for rel in FOLDER_FILES {
        let p = data_dir.join(rel);
        match std::fs::read(&p) {
            Ok(plain) => {
                let path = format!("files/{rel}");
                files.push(
                    seal_file(store, dir, generation, &path, FileKind::Folder, rel, &plain).await?,
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&p)(e)),
        }
    }
    // 2. The database, consistently.
    let (tables, schema_version, data_keys) = match store.backend() {
        Backend::Sqlite => {
            let snap = data_dir.join(format!(".backup-{}.sqlite3", new_id()));
            let r = sqlite_snapshot(store, &snap).await;
            let r = match r {
                Ok(counts) => match std::fs::read(&snap) {
                    Ok(plain) => {
                        let e = seal_file(
                            store,
                            dir,
                            generation,
                            "database.sqlite3.enc",
                            FileKind::Database,
                            "daiko.sqlite3",
                            &plain,
                        )
                        .await;
                        e.map(|e| {
                            files.push(e);
                            counts
                        })
                    }
                    Err(e) => Err(io(&snap)(e)),
                },
                Err(e) => Err(e),
            };
            let _ = std::fs::remove_file(&snap);
            r?
        }
        Backend::Postgres => {
            let (tables, version, keys, dumps) = postgres_export(store).await?;
            for (i, (t, body)) in dumps.iter().enumerate() {
                let path = format!("tables/{:03}_{t}.jsonl.enc", i + 1);
                files.push(
                    seal_file(store, dir, generation, &path, FileKind::Table, t, body).await?,
                );
            }
            (tables, version, keys)
        }
    };
    // 3. Blobs, as stored (already sealed under their tenant's key); the plaintext hash is
    // taken by opening them, which also proves them readable.
    let root = store.blobs().root().to_path_buf();
    for key in blob_keys(&root)? {
        let p = root.join(&key);
        let sealed = match std::fs::read(&p) {
            Ok(b) => b,
            // Removed since listed (an aborted upload): nothing refers to it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&p)(e)),
        };
        let plain = store
            .keyring()
            .decrypt(&format!("blob {key}"), key.as_bytes(), sealed.clone())
            .await?;
        let path = format!("blobs/{key}");
        dir.put(&path, &sealed).await?;
        files.push(FileEntry {
            path,
            kind: FileKind::Blob,
            name: key,
            size: sealed.len() as u64,
            sha256: sha256_hex(&sealed),
            plain_size: plain.len() as u64,
            plain_sha256: sha256_hex(&plain),
        });
    }
    // 4. The wrapped data keys (clear: useless without the master key) and the manifest.
    let keys = serde_json::to_vec_pretty(&KeysFile {
        generation: generation.to_string(),
        manifest_key: manifest_key.to_string(),
        data_keys,
    })
    .map_err(|e| StoreError::Corrupt(format!("keys.json: {e}")))?;
    dir.put("keys.json", &keys).await?;
    let destroyed = store
        .destruction_certificates()
        .await
        .map_err(retention_error)?
        .iter()
        .map(|(_, c)| Destroyed::from(c))
        .collect();
    let manifest = Manifest {
        format: FORMAT,
        generation: generation.to_string(),
        created_at: now(),
        backend: backend_name(store.backend()).into(),
        schema_version,
        keys_sha256: sha256_hex(&keys),
        tables,
        files,
        destroyed: Some(destroyed),
        superseded: Vec::new(),
    };
    let body = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| StoreError::Corrupt(format!("manifest: {e}")))?;
    let sealed = store
        .keyring()
        .encrypt_value(AGENCY_TENANT, &context(generation, "manifest"), &body)
        .await?;
    dir.put("manifest.enc", &sealed).await?;
    Ok(manifest)
}

fn retention_error(e: RetentionError) -> BackupError {
    match e {
        RetentionError::Store(e) => BackupError::Store(e),
        e => BackupError::Store(StoreError::Corrupt(e.to_string())),
    }
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

type Snapshot = (Vec<TableCount>, i64, Vec<WrappedKey>);

const KEY_COLUMNS: &str = "id, tenant, master_id, wrapped, created_at, rewrapped_at, retired_at";

fn wrapped_key(r: &sqlx::any::AnyRow) -> Result<WrappedKey> {
    Ok(WrappedKey {
        id: r.try_get(0)?,
        tenant: r.try_get(1)?,
        master_id: r.try_get(2)?,
        wrapped: r.try_get(3)?,
        created_at: r.try_get(4)?,
        rewrapped_at: r.try_get(5)?,
        retired_at: r.try_get(6)?,
    })
}

/// `VACUUM INTO` a new file (a read transaction: writers are not blocked), then counts the
/// snapshot's rows.
async fn sqlite_snapshot(store: &Store, snap: &Path) -> Result<Snapshot> {
    let quoted = snap.display().to_string().replace('\'', "''");
    sqlx::query(crate::sql(format!("VACUUM INTO '{quoted}'")))
        .execute(store.pool())
        .await?;
    sqlite_contents(snap).await
}

/// Row counts, schema version and wrapped keys of a SQLite database file.
async fn sqlite_contents(snap: &Path) -> Result<Snapshot> {
    let mut conn =
        sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=ro", snap.display())).await?;
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY rowid",
    )
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>(0))
    .collect::<Result<_, _>>()?;
    let mut tables = Vec::new();
    for name in names {
        let rows: i64 = sqlx::query(crate::sql(format!("SELECT COUNT(*) FROM \"{name}\"")))
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
        tables.push(TableCount { name, rows });
    }
    let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    let keys = sqlx::query(crate::sql(format!("SELECT {KEY_COLUMNS} FROM data_keys")))
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(wrapped_key)
        .collect::<Result<_>>()?;
    conn.close().await?;
    Ok((tables, version, keys))
}

/// PostgreSQL tables of the current schema in creation order (their oids grow).
const PG_TABLES: &str = "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations' \
     ORDER BY c.oid";

type Export = (
    Vec<TableCount>,
    i64,
    Vec<WrappedKey>,
    Vec<(String, Vec<u8>)>,
);

/// Every table as JSON lines, read in one REPEATABLE READ transaction.
async fn postgres_export(store: &Store) -> Result<Export> {
    let mut conn = store.pool().acquire().await?;
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *conn)
        .await?;
    let result = async {
        let names: Vec<String> = sqlx::query(PG_TABLES)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        let mut tables = Vec::new();
        let mut dumps = Vec::new();
        for name in names {
            let rows = sqlx::query(crate::sql(format!(
                "SELECT row_to_json(t)::text FROM \"{name}\" t"
            )))
            .fetch_all(&mut *conn)
            .await?;
            let mut body = Vec::new();
            for r in &rows {
                let line: String = r.try_get(0)?;
                body.extend_from_slice(line.as_bytes());
                body.push(b'\n');
            }
            tables.push(TableCount {
                name: name.clone(),
                rows: rows.len() as i64,
            });
            dumps.push((name, body));
        }
        let version: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0)::bigint FROM _sqlx_migrations")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
        let keys = sqlx::query(crate::sql(format!("SELECT {KEY_COLUMNS} FROM data_keys")))
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(wrapped_key)
            .collect::<Result<_>>()?;
        Ok::<_, BackupError>((tables, version, keys, dumps))
    }
    .await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    sqlx::query(end).execute(&mut *conn).await?;
    result
}

/// A verified generation: its manifest and a keyring able to open it.
pub struct Opened {
    pub generation: Generation,
    pub manifest: Manifest,
    keystore: Store,
    scratch: PathBuf,
    keys_file: KeysFile,
    /// Path of each blob checked → the data key id sealing it.
    blob_keys: std::sync::Mutex<BTreeMap<String, String>>,
    /// The generation's keys when they are those of `keys.json.next` (a purge interrupted
    /// after its manifest was written, before the rename over `keys.json`).
    keys_next: Option<Vec<u8>>,
    /// Whether a `keys.json.next` lies beside a `keys.json` that is current (a purge
    /// interrupted before its manifest was written): left over, to be deleted.
    stale_next: bool,
}

impl Opened {
    /// Removes the temporary key store.
    pub async fn close(self) {
        self.keystore.close().await;
        let _ = std::fs::remove_dir_all(&self.scratch);
    }

    async fn read(&self, entry: &FileEntry) -> Result<Vec<u8>> {
        let Some(bytes) = self.generation.get(&entry.path).await? else {
            return Err(BackupError::Missing(entry.path.clone()));
        };
        if bytes.len() as u64 != entry.size || sha256_hex(&bytes) != entry.sha256 {
            return Err(BackupError::Tampered(entry.path.clone()));
        }
        Ok(bytes)
    }

    /// Reads one file, checks its hash, decrypts it and checks the plaintext's hash.
    async fn open_file(&self, entry: &FileEntry) -> Result<(Vec<u8>, Vec<u8>)> {
        let sealed = self.read(entry).await?;
        if entry.kind == FileKind::Blob
            && let Ok(Some(h)) = EnvelopeHeader::parse(&sealed)
            && let Ok(mut g) = self.blob_keys.lock()
        {
            g.insert(entry.path.clone(), h.key_id);
        }
        let ctx = match entry.kind {
            FileKind::Blob => entry.name.clone().into_bytes(),
            _ => context(&self.manifest.generation, &entry.path),
        };
        let plain = self
            .keystore
            .keyring()
            .decrypt(&entry.path, &ctx, sealed.clone())
            .await
            .map_err(|e| match e {
                StoreError::Key(KeyError::Tampered(_)) => BackupError::Tampered(entry.path.clone()),
                e => BackupError::Store(e),
            })?;
        if plain.len() as u64 != entry.plain_size || sha256_hex(&plain) != entry.plain_sha256 {
            return Err(BackupError::Tampered(entry.path.clone()));
        }
        Ok((sealed, plain))
    }
}

/// Opens a generation: loads its wrapped keys into a temporary key store (they unwrap only
/// under the configured master key), authenticates the manifest and checks every file's
/// hashes (decrypting each). Writes nothing but the temporary key store.
pub async fn open(generation: &Generation, keys: KeyringConfig) -> Result<Opened> {
    let opened = open_manifest(generation, keys).await?;
    for entry in &opened.manifest.files {
        if let Err(e) = opened.open_file(entry).await {
            opened.close().await;
            return Err(e);
        }
    }
    Ok(opened)
}

/// Opens a generation's keys and authenticates its manifest, without checking the files.
async fn open_manifest(generation: &Generation, keys: KeyringConfig) -> Result<Opened> {
    if let MasterSource::DataFolder(p) = &keys.source
        && !p.exists()
    {
        return Err(BackupError::NoMasterKey);
    }
    let (Some(keys_bytes), Some(sealed_manifest)) = (
        generation.get("keys.json").await?,
        generation.get("manifest.enc").await?,
    ) else {
        return Err(BackupError::NotAGeneration(generation.location()));
    };
    // A purge writes `keys.json.next`, then the manifest, then renames: the manifest
    // authenticates one of the two (S26, crash-safe purge).
    let next = generation.get(KEYS_NEXT).await?;
    match open_with_keys(generation, keys.clone(), &keys_bytes, &sealed_manifest).await {
        Ok(mut o) => {
            o.stale_next = next.is_some();
            Ok(o)
        }
        Err(BackupError::Tampered(what)) => match next {
            Some(next) => {
                let mut o = open_with_keys(generation, keys, &next, &sealed_manifest)
                    .await
                    .map_err(|_| BackupError::Tampered(what))?;
                o.keys_next = Some(next);
                Ok(o)
            }
            None => Err(BackupError::Tampered(what)),
        },
        Err(e) => Err(e),
    }
}

async fn open_with_keys(
    generation: &Generation,
    keys: KeyringConfig,
    keys_bytes: &[u8],
    sealed_manifest: &[u8],
) -> Result<Opened> {
    let sealed_manifest = sealed_manifest.to_vec();
    let keys_file: KeysFile = serde_json::from_slice(keys_bytes)
        .map_err(|_| BackupError::Tampered("keys.json".into()))?;
    let scratch = std::env::temp_dir().join(format!("daiko-backup-keys-{}", new_id()));
    std::fs::create_dir_all(&scratch).map_err(io(&scratch))?;
    let opened = async {
        let url = format!(
            "sqlite://{}?mode=rwc",
            scratch.join("keys.sqlite3").display()
        );
        let keystore = Store::connect(&url, &scratch.join("blobs"), keys).await?;
        let mut tx = keystore.begin().await?;
        sqlx::query("DELETE FROM data_keys")
            .execute(tx.conn())
            .await?;
        for k in &keys_file.data_keys {
            sqlx::query(crate::sql(format!(
                "INSERT INTO data_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )))
            .bind(&k.id)
            .bind(&k.tenant)
            .bind(&k.master_id)
            .bind(&k.wrapped)
            .bind(&k.created_at)
            .bind(k.rewrapped_at.clone())
            .bind(k.retired_at.clone())
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await?;
        let ctx = context(&keys_file.generation, "manifest");
        let body = keystore
            .keyring()
            .decrypt("manifest", &ctx, sealed_manifest)
            .await
            .map_err(|e| match e {
                StoreError::Key(KeyError::Tampered(_) | KeyError::Unwrap(_)) => {
                    BackupError::Tampered("manifest.enc / keys.json".into())
                }
                e => BackupError::Store(e),
            })?;
        let manifest: Manifest = serde_json::from_slice(&body)
            .map_err(|_| BackupError::Tampered("manifest.enc".into()))?;
        if manifest.generation != keys_file.generation
            || manifest.keys_sha256 != sha256_hex(keys_bytes)
        {
            return Err(BackupError::Tampered("keys.json".into()));
        }
        Ok::<_, BackupError>(Opened {
            generation: generation.clone(),
            manifest,
            keystore,
            scratch: scratch.clone(),
            keys_file: keys_file.clone(),
            blob_keys: std::sync::Mutex::new(BTreeMap::new()),
            keys_next: None,
            stale_next: false,
        })
    }
    .await;
    match opened {
        Ok(o) => Ok(o),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&scratch);
            Err(e)
        }
    }
}

/// One line of the comparison printed after a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// `table NAME`, `blobs`, `files`.
    pub what: String,
    pub expected: i64,
    pub restored: i64,
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    pub comparison: Vec<Comparison>,
    /// Scopes destroyed after the generation was taken (S26), destroyed again after the
    /// restore.
    pub reapplied: Vec<String>,
    /// Destructions the restore could not know about.
    pub warnings: Vec<RestoreWarning>,
}

fn dir_is_empty(dir: &Path, master: Option<&Path>) -> Result<bool> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(io(dir)(e)),
    };
    for e in entries {
        let e = e.map_err(io(dir))?;
        let p = e.path();
        // The escrowed master key may already sit at its quick-start place.
        if master == Some(p.as_path()) {
            continue;
        }
        if p.is_dir() && master.is_some_and(|m| m.starts_with(&p)) && dir_is_empty(&p, master)? {
            continue;
        }
        return Ok(false);
    }
    Ok(true)
}

/// Restores a generation into the empty data folder `data_dir` (and the empty PostgreSQL
/// database `database_url` for a PostgreSQL backup). Everything is verified before anything
/// is written; afterwards the restored store is opened, every blob re-hashed and every
/// table's rows counted.
pub async fn restore(
    generation: &Generation,
    data_dir: &Path,
    database_url: Option<&str>,
    keys: KeyringConfig,
) -> Result<Restored> {
    let master = match &keys.source {
        MasterSource::DataFolder(p) => Some(p.clone()),
        _ => None,
    };
    let opened = open(generation, keys.clone()).await?;
    let r = restore_opened(
        &opened,
        data_dir,
        database_url,
        keys.clone(),
        master.as_deref(),
    )
    .await;
    let manifest = opened.manifest.clone();
    opened.close().await;
    let mut restored = r?;
    // Never bring a destroyed scope back (S26): apply the destructions recorded by this
    // generation and by every newer generation at the same location.
    let (known, warnings) = purge::destructions_known(generation, &manifest, &keys).await;
    let url = database_url.filter(|u| !u.is_empty());
    let store = Store::open_with(data_dir, url, keys).await?;
    let r = store
        .reapply_destructions(&known, &generation.location())
        .await
        .map_err(retention_error);
    store.close().await;
    restored.reapplied = r?;
    restored.warnings = warnings;
    Ok(restored)
}

async fn restore_opened(
    opened: &Opened,
    data_dir: &Path,
    database_url: Option<&str>,
    keys: KeyringConfig,
    master: Option<&Path>,
) -> Result<Restored> {
    let m = &opened.manifest;
    let known = known_schema_version();
    if m.schema_version > known {
        return Err(BackupError::SchemaNewer {
            backup: m.schema_version,
            known,
        });
    }
    let url = database_url.filter(|u| !u.is_empty());
    match (m.backend.as_str(), url) {
        ("sqlite", Some(u)) if !u.starts_with("sqlite:") => {
            return Err(BackupError::Backend {
                backup: "SQLite".into(),
                detail: "restore it into a data folder without --database-url".into(),
            });
        }
        ("sqlite", Some(_)) => {
            return Err(BackupError::Backend {
                backup: "SQLite".into(),
                detail: "it is restored to DATA_DIR/daiko.sqlite3: leave out --database-url".into(),
            });
        }
        ("postgres", None) => {
            return Err(BackupError::Backend {
                backup: "PostgreSQL".into(),
                detail: "give the empty target database with --database-url".into(),
            });
        }
        _ => {}
    }
    if !dir_is_empty(data_dir, master)? {
        return Err(BackupError::NotEmpty(data_dir.display().to_string()));
    }
    if let Some(u) = url {
        postgres_is_empty(u).await?;
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    // Folder files, blobs and the SQLite database: written as verified.
    for entry in &m.files {
        match entry.kind {
            FileKind::Blob => {
                let sealed = opened.read(entry).await?;
                write_new(&data_dir.join("blobs").join(&entry.name), &sealed)?;
            }
            FileKind::Folder | FileKind::Database => {
                let (_, plain) = opened.open_file(entry).await?;
                let dest = data_dir.join(&entry.name);
                write_new(&dest, &plain)?;
                if entry.name.starts_with("keys/") {
                    restrict(&dest)?;
                }
            }
            FileKind::Table => {}
        }
    }
    if let Some(u) = url {
        let store = Store::connect(u, &data_dir.join("blobs"), keys.clone()).await?;
        let r = postgres_import(opened, &store).await;
        store.close().await;
        r?;
    }
    // Verification on the restored installation, through the normal store.
    let store = Store::open_with(data_dir, url, keys).await?;
    let r = compare(&store, m).await;
    store.close().await;
    let comparison = r?;
    Ok(Restored {
        manifest: m.clone(),
        comparison,
        reapplied: Vec::new(),
        warnings: Vec::new(),
    })
}

#[cfg(unix)]
fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(io(path))
}

#[cfg(not(unix))]
fn private_dir(_path: &Path) -> Result<()> {
    Ok(())
}

/// The newest migration this binary knows (both databases have the same list).
fn known_schema_version() -> i64 {
    sqlx::migrate!("migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

async fn postgres_is_empty(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let n: i64 = sqlx::query(
        "SELECT COUNT(*)::bigint FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await?
    .try_get(0)?;
    conn.close().await?;
    if n > 0 {
        return Err(BackupError::NotEmpty(crate::redact_url(url)));
    }
    Ok(())
}

/// Loads the exported tables into a freshly migrated database in one transaction: rows the
/// migrations seeded are replaced, user triggers (e.g. voucher import) are off while loading,
/// sequences continue after the restored ids.
async fn postgres_import(opened: &Opened, store: &Store) -> Result<()> {
    let m = &opened.manifest;
    let tables: Vec<&FileEntry> = m
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Table)
        .collect();
    let mut tx = store.begin().await?;
    for t in tables.iter().rev() {
        sqlx::query(crate::sql(format!("DELETE FROM \"{}\"", t.name)))
            .execute(tx.conn())
            .await?;
    }
    for t in &tables {
        let (_, plain) = opened.open_file(t).await?;
        let text = String::from_utf8(plain).map_err(|_| BackupError::Tampered(t.path.clone()))?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        sqlx::query(crate::sql(format!(
            "ALTER TABLE \"{}\" DISABLE TRIGGER USER",
            t.name
        )))
        .execute(tx.conn())
        .await?;
        for batch in lines.chunks(ROWS_PER_INSERT) {
            let array = format!("[{}]", batch.join(","));
            sqlx::query(crate::sql(format!(
                "INSERT INTO \"{0}\" SELECT * FROM json_populate_recordset(NULL::\"{0}\", $1::json)",
                t.name
            )))
            .bind(array)
            .execute(tx.conn())
            .await?;
        }
        sqlx::query(crate::sql(format!(
            "ALTER TABLE \"{}\" ENABLE TRIGGER USER",
            t.name
        )))
        .execute(tx.conn())
        .await?;
    }
    let serials = sqlx::query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
    )
    .fetch_all(tx.conn())
    .await?;
    for r in serials {
        let (table, column): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        sqlx::query(crate::sql(format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), \
             COALESCE((SELECT MAX(\"{column}\") FROM \"{table}\"), 0) + 1, false)::bigint"
        )))
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn compare(store: &Store, m: &Manifest) -> Result<Vec<Comparison>> {
    let mut out = Vec::new();
    for t in &m.tables {
        let n: i64 = sqlx::query(crate::sql(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM \"{}\"",
            t.name
        )))
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
        out.push(Comparison {
            what: format!("table {}", t.name),
            expected: t.rows,
            restored: n,
        });
    }
    let mut blobs_ok = 0i64;
    let mut expected = 0i64;
    for f in m.files.iter().filter(|f| f.kind == FileKind::Blob) {
        expected += 1;
        let plain = store.blobs().get(&f.name).await?;
        if sha256_hex(&plain) == f.plain_sha256 {
            blobs_ok += 1;
        }
    }
    out.push(Comparison {
        what: "blobs (decrypted SHA-256 equal)".into(),
        expected,
        restored: blobs_ok,
    });
    let mismatch: Vec<String> = out
        .iter()
        .filter(|c| c.expected != c.restored)
        .map(|c| c.what.clone())
        .collect();
    if !mismatch.is_empty() {
        return Err(BackupError::Verify(mismatch.join(", ")));
    }
    Ok(out)
}

/// Counts per table and blobs of a generation, for printing.
pub fn summary(m: &Manifest) -> BTreeMap<String, i64> {
    let mut s: BTreeMap<String, i64> = m.tables.iter().map(|t| (t.name.clone(), t.rows)).collect();
    s.insert("(blobs)".into(), m.blob_count() as i64);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn generation_names_and_pruning() {
        assert!(is_generation_name("20261204T191837Z"));
        for bad in [
            "20261204T191837",
            "2026120AT191837Z",
            ".20261204T191837Z.partial-x",
            "x0261204T191837Z",
        ] {
            assert!(!is_generation_name(bad), "{bad}");
        }
        let tmp = std::env::temp_dir().join(format!("daiko-prune-{}", new_id()));
        let target = Target::Dir(tmp.clone());
        let names = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"];
        for n in names {
            std::fs::create_dir_all(tmp.join(n)).unwrap();
        }
        let loc = |n: &str| tmp.join(n).display().to_string();
        // Partial generations and other files are never counted or removed.
        std::fs::create_dir_all(tmp.join(".20260104T000000Z.partial-1")).unwrap();
        let removed = prune(&target, 2).await.unwrap();
        assert_eq!(removed, vec![loc(names[0])]);
        assert_eq!(
            generations(&target).await.unwrap(),
            vec![loc(names[1]), loc(names[2])]
        );
        // At least one generation is always kept.
        prune(&target, 0).await.unwrap();
        assert_eq!(generations(&target).await.unwrap(), vec![loc(names[2])]);
        assert!(tmp.join(".20260104T000000Z.partial-1").exists());
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn generation_locations() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("id".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_string()),
            "DAIKO_S3_ENDPOINT" => Some("http://127.0.0.1:9".to_string()),
            _ => None,
        };
        let g = Generation::parse("s3://bucket/site/a/20261204T191837Z/", &env).unwrap();
        assert_eq!(g.location(), "s3://bucket/site/a/20261204T191837Z");
        let g = Generation::parse("s3://bucket/20261204T191837Z", &env).unwrap();
        assert_eq!(g.location(), "s3://bucket/20261204T191837Z");
        for bad in ["s3://bucket/site", "s3://20261204T191837Z", "s3://bucket"] {
            assert!(
                matches!(
                    Generation::parse(bad, &env),
                    Err(BackupError::NotAGeneration(_) | BackupError::S3Config { .. })
                ),
                "{bad}"
            );
        }
        let g = Generation::parse("/srv/backups/20261204T191837Z", &env).unwrap();
        assert!(matches!(g, Generation::Dir(_)));
        let t = Target::parse("s3://bucket/site", &env).unwrap();
        assert_eq!(t.location(), "s3://bucket/site");
        assert_eq!(
            t.generation("20261204T191837Z").location(),
            "s3://bucket/site/20261204T191837Z"
        );
        // Without credentials an s3:// target is refused, a directory needs none.
        let none = |_: &str| None;
        assert!(matches!(
            Target::parse("s3://bucket/site", &none),
            Err(BackupError::S3Config { .. })
        ));
        assert!(Target::parse("/srv/backups", &none).is_ok());
    }
}
