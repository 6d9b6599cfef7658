//! The keyring (鍵管理) for encryption at rest (SECURITY.md S18).
//!
//! Two levels of keys:
//! - **Master keys** (マスター鍵, AES-256): from `DAIKO_MASTER_KEY` (base64) or a protected file
//!   `DAIKO_MASTER_KEY_FILE` with one `id base64` line per key, the newest last. With neither
//!   set, `<data>/keys/master.key` is generated on first start (mode 0600), which is fine for
//!   the quick start and tests but must be moved off the data folder in production (a key
//!   service or HSM mount): `daiko serve` off loopback refuses that location.
//! - **Data keys** (データ鍵, AES-256), one current key per tenant (an organisation id, or
//!   [`AGENCY_TENANT`] for the agency's own data), generated on first use and stored only
//!   wrapped (AES-256-GCM under the newest master key, AAD binding data key id, tenant and
//!   master id) in the `data_keys` table. Unwrapped keys live only in this process's memory and
//!   are zeroized when dropped. A retention scope's key (tenant `<org>/<fiscal year>`) may be
//!   destroyed by another process (S26), so its row is re-checked before each use.
//!
//! Data is sealed in an *envelope* that names its data key, so reading needs no tenant:
//!
//! ```text
//! header
//!   0   8  magic "DAIKOENC"
//!   8   1  version 1
//!   9   1  n = length of the data key id (1..=64, ASCII)
//!  10   n  data key id
//!       32 salt (random per envelope)
//!        4 chunk size (u32 big-endian; 64 KiB for blobs)
//! chunks i = 0..k-1 (k >= 1): AES-256-GCM(file key, nonce_i, aad = header || context)
//!   plaintext_i is exactly chunk size for i < k-1, the last holds 0..=chunk size bytes
//!   nonce_i = 0 (7 bytes) || i (u32 big-endian) || 1 for the last chunk, else 0
//! file key = HKDF-SHA-256(salt, data key, info "daiko-enc-v1 file key")
//! ```
//!
//! The context is what the bytes are (a blob's key, or `users.totp_secret/<user id>`), so a
//! ciphertext moved to another name does not open. The chunk counter and the last flag make a
//! dropped, repeated, reordered or truncated chunk fail authentication. A fresh file key per
//! envelope keeps the GCM nonce space per key tiny however many blobs a data key seals.
//!
//! Rotation: [`Keyring::rotate_master`] rewraps every data key under the newest master key in
//! one transaction; other processes keep their unwrapped data keys cached and, meeting a data
//! key wrapped under a master id they do not know, reload the master key file. New data keys
//! ([`Keyring::new_data_keys`]) take over writing; the old ones stay for reading.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use aws_lc_rs::hkdf;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sqlx::{AnyPool, Row};
use thiserror::Error;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::{Result, StoreError, new_id, now};

/// The tenant of the agency's own data (TOTP secrets, its keys, blobs without an owner).
pub const AGENCY_TENANT: &str = "agency";
/// Environment variable holding master keys (a base64 key, or `id base64` lines).
pub const MASTER_KEY_ENV: &str = "DAIKO_MASTER_KEY";
/// Environment variable naming the master key file.
pub const MASTER_KEY_FILE_ENV: &str = "DAIKO_MASTER_KEY_FILE";
/// `1` lets `get` return blobs written before encryption existed (for the upgrade only).
pub const ALLOW_PLAINTEXT_LEGACY_ENV: &str = "DAIKO_ALLOW_PLAINTEXT_LEGACY";

/// Magic of an envelope.
pub const MAGIC: &[u8; 8] = b"DAIKOENC";
const VERSION: u8 = 1;
const SALT_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk written by the blob store.
pub const CHUNK_SIZE: u32 = 64 * 1024;
const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
const MASTER_FILE_MAX: u64 = 64 * 1024;
/// How long a process trusts its idea of a tenant's current data key before asking the
/// database again (another process may have started new data keys).
const CURRENT_TTL: Duration = Duration::from_secs(60);

/// Key errors. `Display` is English; [`KeyError::message_ja`] is the Japanese message. No
/// variant ever carries key material.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error(
        "master key file {path} may be read by group or others (mode {mode:o}): chmod 600 it (S20)"
    )]
    FileTooOpen { path: PathBuf, mode: u32 },
    #[error("cannot read master key file {path}: {source}")]
    FileRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin} line {line}: {detail}")]
    BadMasterKey {
        origin: String,
        line: usize,
        detail: &'static str,
    },
    #[error("{origin} holds no master key")]
    NoMasterKey { origin: String },
    #[error("both {MASTER_KEY_ENV} and {MASTER_KEY_FILE_ENV} are set: use one of them")]
    TwoSources,
    #[error(
        "data key {data_key} is wrapped under master key {master:?}, which is not configured: \
         add that key back to the master key file (or environment) and restart"
    )]
    UnknownMaster { master: String, data_key: String },
    #[error("data key {0:?} is not in the keyring (destroyed, or from another installation)")]
    UnknownDataKey(String),
    #[error("data key {0} does not unwrap: wrong master key, or the stored key was altered")]
    Unwrap(String),
    #[error("{0}: encrypted data does not authenticate (altered, truncated or reordered)")]
    Tampered(String),
    #[error(
        "{0}: stored without encryption; set {ALLOW_PLAINTEXT_LEGACY_ENV}=1 to read legacy \
         plaintext while upgrading, then run `daiko keys encrypt-legacy`"
    )]
    Plaintext(String),
    #[error("invalid tenant {0:?}")]
    BadTenant(String),
    #[error("the system random generator or AES-GCM failed")]
    Crypto,
}

impl KeyError {
    /// The message in Japanese.
    pub fn message_ja(&self) -> String {
        match self {
            KeyError::FileTooOpen { path, mode } => format!(
                "マスター鍵ファイル {} はグループ・他者から読めます（モード {mode:o}）。chmod 600 にしてください（S20）",
                path.display()
            ),
            KeyError::FileRead { path, source } => format!(
                "マスター鍵ファイル {} を読めません: {source}",
                path.display()
            ),
            KeyError::BadMasterKey {
                origin,
                line,
                detail,
            } => format!(
                "{origin} の {line} 行目のマスター鍵が不正です（{detail}）。「鍵ID base64（32バイト）」の形式で書いてください"
            ),
            KeyError::NoMasterKey { origin } => format!("{origin} にマスター鍵がありません"),
            KeyError::TwoSources => format!(
                "{MASTER_KEY_ENV} と {MASTER_KEY_FILE_ENV} の両方が設定されています。どちらか一方にしてください"
            ),
            KeyError::UnknownMaster { master, data_key } => format!(
                "データ鍵 {data_key} はマスター鍵 {master:?} で保護されていますが、その鍵が設定されていません。鍵ファイル（または環境変数）に戻して再起動してください"
            ),
            KeyError::UnknownDataKey(id) => format!(
                "データ鍵 {id:?} が鍵管理台帳にありません（廃棄済み、または別環境のデータ）"
            ),
            KeyError::Unwrap(id) => format!(
                "データ鍵 {id} を復号できません（マスター鍵の誤り、または保存された鍵の改ざん）"
            ),
            KeyError::Tampered(what) => {
                format!("{what}: 暗号化データの認証に失敗しました（改ざん・欠落・順序の入れ替え）")
            }
            KeyError::Plaintext(what) => format!(
                "{what}: 暗号化されずに保存されています。移行中のみ {ALLOW_PLAINTEXT_LEGACY_ENV}=1 で読み出せます。`daiko keys encrypt-legacy` で暗号化してください"
            ),
            KeyError::BadTenant(t) => format!("テナント {t:?} が不正です"),
            KeyError::Crypto => "乱数生成または AES-GCM の処理に失敗しました".into(),
        }
    }
}

impl From<KeyError> for StoreError {
    fn from(e: KeyError) -> StoreError {
        StoreError::Key(e)
    }
}

/// Where the master keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterSource {
    /// `DAIKO_MASTER_KEY` (cannot be reloaded while running: restart to change it).
    Env,
    /// `DAIKO_MASTER_KEY_FILE`.
    File(PathBuf),
    /// Nothing configured: `<data>/keys/master.key`, generated when missing. Quick start and
    /// tests only; `serve` off loopback refuses it.
    DataFolder(PathBuf),
}

impl MasterSource {
    /// The file to read, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            MasterSource::Env => None,
            MasterSource::File(p) | MasterSource::DataFolder(p) => Some(p),
        }
    }
}

/// How a keyring is set up.
#[derive(Clone)]
pub struct KeyringConfig {
    pub source: MasterSource,
    env_value: Option<Zeroizing<String>>,
    /// Whether blobs without an envelope may be read (upgrade of an old data folder).
    pub allow_plaintext_legacy: bool,
}

impl std::fmt::Debug for KeyringConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringConfig")
            .field("source", &self.source)
            .field("allow_plaintext_legacy", &self.allow_plaintext_legacy)
            .finish_non_exhaustive()
    }
}

impl KeyringConfig {
    /// Reads `DAIKO_MASTER_KEY`, `DAIKO_MASTER_KEY_FILE` and `DAIKO_ALLOW_PLAINTEXT_LEGACY`
    /// through `env`; without a key, the data folder's generated `keys/master.key`.
    pub fn from_env(
        data_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<KeyringConfig, KeyError> {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let value = get(MASTER_KEY_ENV).map(Zeroizing::new);
        let file = get(MASTER_KEY_FILE_ENV);
        let source = match (&value, file) {
            (Some(_), Some(_)) => return Err(KeyError::TwoSources),
            (Some(_), None) => MasterSource::Env,
            (None, Some(f)) => MasterSource::File(PathBuf::from(f)),
            (None, None) => MasterSource::DataFolder(default_master_file(data_dir)),
        };
        Ok(KeyringConfig {
            source,
            env_value: value,
            allow_plaintext_legacy: get(ALLOW_PLAINTEXT_LEGACY_ENV).is_some_and(|v| v == "1"),
        })
    }

    /// A configuration reading the master keys from `path`.
    pub fn file(path: &Path) -> KeyringConfig {
        KeyringConfig {
            source: MasterSource::File(path.to_path_buf()),
            env_value: None,
            allow_plaintext_legacy: false,
        }
    }
}

/// The generated master key file of a data folder (outside the blob tree).
pub fn default_master_file(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("master.key")
}

struct MasterKey {
    id: String,
    key: LessSafeKey,
}

/// An unwrapped data key. The bytes are zeroized on drop and never printed.
pub struct DataKey {
    id: String,
    tenant: String,
    raw: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl DataKey {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
}

/// What [`Keyring::rotate_master`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub master: String,
    pub rewrapped: u64,
    pub already: u64,
}

/// One data key as [`Keyring::status`] lists it (never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyInfo {
    pub id: String,
    pub tenant: String,
    pub master: String,
    pub created_at: String,
    /// When it stopped being used for new data (kept for reading).
    pub retired_at: Option<String>,
}

/// The keyring's state for `daiko keys status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub source: MasterSource,
    /// Configured master ids, oldest first, with the number of data keys wrapped under each.
    pub masters: Vec<(String, u64)>,
    /// Master ids that wrap data keys but are not configured (those keys cannot be read).
    pub missing_masters: Vec<(String, u64)>,
    pub data_keys: Vec<DataKeyInfo>,
}

/// The keyring: master keys, the wrapped data keys in SQL, unwrapped ones cached by id.
pub struct Keyring {
    config: KeyringConfig,
    masters: RwLock<Arc<Vec<MasterKey>>>,
    data: RwLock<HashMap<String, Arc<DataKey>>>,
    current: RwLock<HashMap<String, (Arc<DataKey>, Instant)>>,
    pool: AnyPool,
    write_lock: Option<Arc<Mutex<()>>>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Parses master key text: lines `id base64` or a bare `base64` (its id is derived from the
/// key), `#` comments and blank lines ignored; the last key is the newest.
fn parse_masters(origin: &str, text: &str) -> Result<Vec<MasterKey>, KeyError> {
    let mut out: Vec<MasterKey> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |detail| KeyError::BadMasterKey {
            origin: origin.to_string(),
            line: n + 1,
            detail,
        };
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (id, b64) = match parts.as_slice() {
            [b64] => (None, *b64),
            [id, b64] => (Some(*id), *b64),
            _ => return Err(bad("expected `id base64`")),
        };
        let raw = Zeroizing::new(B64.decode(b64).map_err(|_| bad("not base64"))?);
        if raw.len() != 32 {
            return Err(bad("an AES-256 key is 32 bytes"));
        }
        let id = match id {
            Some(id) if valid_id(id) => id.to_string(),
            Some(_) => return Err(bad("id must be 1-64 characters of A-Z a-z 0-9 . _ -")),
            None => {
                let d = digest::digest(
                    &digest::SHA256,
                    &[b"daiko master key id\0", &raw[..]].concat(),
                );
                format!("m{}", hex::encode(&d.as_ref()[..6]))
            }
        };
        if out.iter().any(|m| m.id == id) {
            return Err(bad("duplicate id"));
        }
        let key = UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| KeyError::Crypto)?;
        out.push(MasterKey {
            id,
            key: LessSafeKey::new(key),
        });
    }
    if out.is_empty() {
        return Err(KeyError::NoMasterKey {
            origin: origin.to_string(),
        });
    }
    Ok(out)
}

/// Reads a master key file, refusing one that group or others may read (S20).
fn read_master_file(path: &Path) -> Result<Vec<MasterKey>, KeyError> {
    let read_err = |source| KeyError::FileRead {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::FileTooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    if !meta.is_file() {
        return Err(read_err(std::io::Error::other("not a regular file")));
    }
    let mut text = Zeroizing::new(String::new());
    file.take(MASTER_FILE_MAX)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    parse_masters(&path.display().to_string(), &text)
}

/// A new master key line `id base64` (id from the current UTC time).
fn new_master_line() -> Result<(String, Zeroizing<String>), KeyError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(&mut raw[..])
        .map_err(|_| KeyError::Crypto)?;
    let id = format!("m{}", jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.6fZ")).replace('.', "");
    let line = Zeroizing::new(format!("{id} {}\n", B64.encode(&raw[..])));
    Ok((id, line))
}

/// Creates a master key file with one new key (mode 0600, folder 0700); refuses to replace
/// an existing file. Answers the new key's id.
pub fn create_master_file(path: &Path) -> Result<String, KeyError> {
    let io = |source| KeyError::FileRead {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let (id, line) = new_master_line()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io)?;
    let text = format!(
        "# daiko master keys (SECURITY.md S18/S20): `id base64` per line, newest last.\n\
         # Keep mode 0600. In production keep this file outside the data folder (key service or HSM mount).\n{}",
        line.as_str()
    );
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(id)
}

/// Appends a new master key to an existing, protected master key file; answers its id. The
/// key is used for new wraps once processes reload the file; run [`Keyring::rotate_master`]
/// to rewrap the existing data keys.
pub fn append_master_key(path: &Path) -> Result<String, KeyError> {
    let existing = read_master_file(path)?;
    let (id, line) = new_master_line()?;
    if existing.iter().any(|m| m.id == id) {
        return Err(KeyError::BadMasterKey {
            origin: path.display().to_string(),
            line: 0,
            detail: "duplicate id",
        });
    }
    let io = |source| KeyError::FileRead {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io)?;
    f.write_all(line.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(id)
}

fn wrap_aad(key_id: &str, tenant: &str, master: &str) -> Vec<u8> {
    [
        b"daiko-data-key-v1\0".as_slice(),
        key_id.as_bytes(),
        b"\0",
        tenant.as_bytes(),
        b"\0",
        master.as_bytes(),
    ]
    .concat()
}

/// A retention scope `<org>/<fiscal year>` (the only tenants whose keys are destroyed).
fn is_scope_tenant(t: &str) -> bool {
    t.contains('/')
}

fn valid_tenant(t: &str) -> bool {
    (1..=100).contains(&t.len()) && !t.chars().any(char::is_control)
}

impl Keyring {
    /// Loads the master keys (generating the data folder's key file when nothing is
    /// configured) and makes sure the agency's data key exists.
    pub(crate) async fn open(
        config: KeyringConfig,
        pool: AnyPool,
        write_lock: Option<Arc<Mutex<()>>>,
    ) -> Result<Keyring> {
        if let MasterSource::DataFolder(path) = &config.source
            && !path.exists()
        {
            match create_master_file(path) {
                Ok(id) => tracing::warn!(
                    "generated master key {id} at {} (quick start): move it to a key service or \
                     HSM path and set {MASTER_KEY_FILE_ENV} in production (S18)",
                    path.display()
                ),
                // Another process created it at the same moment: read theirs.
                Err(KeyError::FileRead { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        let masters = load_masters(&config)?;
        let ring = Keyring {
            config,
            masters: RwLock::new(Arc::new(masters)),
            data: RwLock::new(HashMap::new()),
            current: RwLock::new(HashMap::new()),
            pool,
            write_lock,
            rng: SystemRandom::new(),
        };
        ring.current(AGENCY_TENANT).await?;
        Ok(ring)
    }

    pub fn source(&self) -> &MasterSource {
        &self.config.source
    }

    /// The configuration (to open backup generations with the same master keys).
    pub fn config(&self) -> &KeyringConfig {
        &self.config
    }

    /// Whether legacy plaintext blobs may be read (`DAIKO_ALLOW_PLAINTEXT_LEGACY=1`).
    pub fn allow_plaintext_legacy(&self) -> bool {
        self.config.allow_plaintext_legacy
    }

    /// Configured master key ids, oldest first (the last one wraps new data keys).
    pub fn master_ids(&self) -> Vec<String> {
        self.masters_now().iter().map(|m| m.id.clone()).collect()
    }

    fn masters_now(&self) -> Arc<Vec<MasterKey>> {
        match self.masters.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Re-reads the master key file (after a key was added or removed).
    pub fn reload_masters(&self) -> Result<()> {
        let fresh = load_masters(&self.config)?;
        match self.masters.write() {
            Ok(mut g) => *g = Arc::new(fresh),
            Err(p) => *p.into_inner() = Arc::new(fresh),
        }
        Ok(())
    }

    async fn lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(l) => Some(l.lock().await),
            None => None,
        }
    }

    /// A write transaction. On SQLite it starts IMMEDIATE: a deferred one that reads and then
    /// writes fails with SQLITE_BUSY_SNAPSHOT when another process (a running server) wrote
    /// in between, and the busy timeout does not help with that.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(if self.write_lock.is_some() {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            self.pool.begin().await?
        })
    }

    fn cache(&self, dk: &Arc<DataKey>) {
        if let Ok(mut g) = self.data.write() {
            g.insert(dk.id.clone(), Arc::clone(dk));
        }
    }

    fn cached(&self, id: &str) -> Option<Arc<DataKey>> {
        self.data.read().ok().and_then(|g| g.get(id).cloned())
    }

    /// Drops destroyed data keys (S26 crypto-shredding) from this process's caches, so that
    /// their envelopes stop opening here at once; the rows are deleted by the caller.
    pub fn forget(&self, ids: &[String]) {
        if let Ok(mut g) = self.data.write() {
            for id in ids {
                g.remove(id);
            }
        }
        if let Ok(mut g) = self.current.write() {
            g.retain(|_, (dk, _)| !ids.contains(&dk.id));
        }
    }

    /// Unwraps a stored data key, reloading the master keys once when its master is unknown.
    fn unwrap(&self, id: &str, tenant: &str, master: &str, wrapped: &str) -> Result<Arc<DataKey>> {
        let mut masters = self.masters_now();
        if !masters.iter().any(|m| m.id == master) && self.config.source.file().is_some() {
            self.reload_masters()?;
            masters = self.masters_now();
        }
        let m = masters
            .iter()
            .find(|m| m.id == master)
            .ok_or_else(|| KeyError::UnknownMaster {
                master: master.to_string(),
                data_key: id.to_string(),
            })?;
        let mut bytes = Zeroizing::new(
            B64.decode(wrapped)
                .map_err(|_| KeyError::Unwrap(id.to_string()))?,
        );
        if bytes.len() != NONCE_LEN + 32 + TAG_LEN {
            return Err(KeyError::Unwrap(id.to_string()).into());
        }
        let (nonce, sealed) = bytes.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| KeyError::Unwrap(id.to_string()))?;
        let plain = m
            .key
            .open_in_place(nonce, Aad::from(wrap_aad(id, tenant, master)), sealed)
            .map_err(|_| KeyError::Unwrap(id.to_string()))?;
        let mut raw = Zeroizing::new([0u8; 32]);
        raw.copy_from_slice(plain);
        let dk = Arc::new(DataKey {
            id: id.to_string(),
            tenant: tenant.to_string(),
            raw,
        });
        self.cache(&dk);
        Ok(dk)
    }

    /// Wraps `raw` under master `m`: base64(nonce || ciphertext || tag).
    fn wrap(&self, m: &MasterKey, id: &str, tenant: &str, raw: &[u8; 32]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| KeyError::Crypto)?;
        let mut buf = Zeroizing::new(raw.to_vec());
        m.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(id, tenant, &m.id)),
                &mut *buf,
            )
            .map_err(|_| KeyError::Crypto)?;
        Ok(B64.encode([&nonce[..], &buf[..]].concat()))
    }

    /// Whether a cached key may still be used. A retention scope's key (tenant
    /// `<org>/<fiscal year>`) can be destroyed by another process (S26): its row is looked up
    /// again at every use (one primary-key read, next to the blob I/O it guards), so a running
    /// server stops opening a destroyed scope as soon as the destruction commits. Other keys
    /// are never deleted and are trusted from the cache.
    async fn still_exists(&self, dk: &DataKey) -> Result<bool> {
        if !is_scope_tenant(&dk.tenant) {
            return Ok(true);
        }
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM data_keys WHERE id = $1")
            .bind(&dk.id)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        if n == 0 {
            self.forget(std::slice::from_ref(&dk.id));
        }
        Ok(n > 0)
    }

    /// The data key with this id (from the cache, else unwrapped from the database).
    pub async fn data_key(&self, id: &str) -> Result<Arc<DataKey>> {
        if let Some(dk) = self.cached(id) {
            if self.still_exists(&dk).await? {
                return Ok(dk);
            }
            return Err(KeyError::UnknownDataKey(id.to_string()).into());
        }
        let row = sqlx::query("SELECT tenant, master_id, wrapped FROM data_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| KeyError::UnknownDataKey(id.to_string()))?;
        self.unwrap(
            id,
            &row.try_get::<String, _>("tenant")?,
            &row.try_get::<String, _>("master_id")?,
            &row.try_get::<String, _>("wrapped")?,
        )
    }

    /// The tenant's current data key, created (and wrapped under the newest master key) on
    /// first use. Do not call inside an open write transaction on SQLite (it may insert).
    pub async fn current(&self, tenant: &str) -> Result<Arc<DataKey>> {
        if !valid_tenant(tenant) {
            return Err(KeyError::BadTenant(tenant.to_string()).into());
        }
        if let Some(dk) = self.cached_current(tenant).await? {
            return Ok(dk);
        }
        for _ in 0..3 {
            if let Some(dk) = self.current_from_db(tenant).await? {
                return Ok(self.remember_current(tenant, dk));
            }
            match self.insert_new_key(tenant).await {
                Ok(dk) => return Ok(self.remember_current(tenant, dk)),
                // Another process created the tenant's key first: use theirs.
                Err(e) if e.is_unique_violation() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Corrupt(format!(
            "no current data key for tenant {tenant:?}"
        )))
    }

    /// The tenant's current data key when it exists already (cache or database read, never
    /// an insert: safe inside an open write transaction on SQLite).
    pub(crate) async fn current_existing(&self, tenant: &str) -> Result<Option<Arc<DataKey>>> {
        if let Some(dk) = self.cached_current(tenant).await? {
            return Ok(Some(dk));
        }
        self.current_from_db(tenant).await
    }

    /// The tenant's cached current key while it is fresh and (for a retention scope) still
    /// in the database.
    async fn cached_current(&self, tenant: &str) -> Result<Option<Arc<DataKey>>> {
        let cached = self
            .current
            .read()
            .ok()
            .and_then(|g| g.get(tenant).cloned());
        match cached {
            Some((dk, at)) if at.elapsed() < CURRENT_TTL && self.still_exists(&dk).await? => {
                Ok(Some(dk))
            }
            _ => Ok(None),
        }
    }

    fn remember_current(&self, tenant: &str, dk: Arc<DataKey>) -> Arc<DataKey> {
        if let Ok(mut g) = self.current.write() {
            g.insert(tenant.to_string(), (Arc::clone(&dk), Instant::now()));
        }
        dk
    }

    async fn current_from_db(&self, tenant: &str) -> Result<Option<Arc<DataKey>>> {
        let row = sqlx::query(
            "SELECT id, master_id, wrapped FROM data_keys WHERE tenant = $1 AND retired_at IS NULL",
        )
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id")?;
        if let Some(dk) = self.cached(&id) {
            return Ok(Some(dk));
        }
        let dk = self.unwrap(
            &id,
            tenant,
            &row.try_get::<String, _>("master_id")?,
            &row.try_get::<String, _>("wrapped")?,
        )?;
        Ok(Some(dk))
    }

    /// Generates the first data key of `tenant`, wrapped under the newest master key (the
    /// partial unique index lets only one process win).
    async fn insert_new_key(&self, tenant: &str) -> Result<Arc<DataKey>> {
        // Pick up a master key added since start, so that no new key is wrapped under a
        // master the operator is about to remove.
        if self.config.source.file().is_some() {
            self.reload_masters()?;
        }
        let masters = self.masters_now();
        let m = masters.last().ok_or(KeyError::NoMasterKey {
            origin: "keyring".into(),
        })?;
        let mut raw = Zeroizing::new([0u8; 32]);
        self.rng.fill(&mut raw[..]).map_err(|_| KeyError::Crypto)?;
        let id = new_id();
        let wrapped = self.wrap(m, &id, tenant, &raw)?;
        let _guard = self.lock().await;
        sqlx::query(
            "INSERT INTO data_keys (id, tenant, master_id, wrapped, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(tenant)
        .bind(&m.id)
        .bind(&wrapped)
        .bind(now())
        .execute(&self.pool)
        .await?;
        let dk = Arc::new(DataKey {
            id,
            tenant: tenant.to_string(),
            raw,
        });
        self.cache(&dk);
        Ok(dk)
    }

    /// Rewraps every data key under the newest master key, in one transaction. Data keys
    /// already under it are left alone. Fails (changing nothing) when a data key is wrapped
    /// under a master key that is not configured.
    pub async fn rotate_master(&self) -> Result<Rotation> {
        let mut r = self.rotate_once().await?;
        // A process that read the key file just before the new key was added may insert a
        // tenant's first data key under the old master while this runs: sweep again.
        for _ in 0..3 {
            let left: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM data_keys WHERE master_id <> $1")
                    .bind(&r.master)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
            if left == 0 {
                break;
            }
            let again = self.rotate_once().await?;
            r.rewrapped += again.rewrapped;
        }
        Ok(r)
    }

    async fn rotate_once(&self) -> Result<Rotation> {
        if self.config.source.file().is_some() {
            self.reload_masters()?;
        }
        let masters = self.masters_now();
        let newest = masters.last().ok_or(KeyError::NoMasterKey {
            origin: "keyring".into(),
        })?;
        let _guard = self.lock().await;
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query("SELECT id, tenant, master_id, wrapped FROM data_keys ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
        let (mut rewrapped, mut already) = (0, 0);
        for row in rows {
            let id: String = row.try_get("id")?;
            let tenant: String = row.try_get("tenant")?;
            let master: String = row.try_get("master_id")?;
            if master == newest.id {
                already += 1;
                continue;
            }
            let dk = self.unwrap(&id, &tenant, &master, &row.try_get::<String, _>("wrapped")?)?;
            let wrapped = self.wrap(newest, &id, &tenant, &dk.raw)?;
            sqlx::query(
                "UPDATE data_keys SET master_id = $1, wrapped = $2, rewrapped_at = $3 \
                 WHERE id = $4 AND master_id = $5",
            )
            .bind(&newest.id)
            .bind(&wrapped)
            .bind(now())
            .bind(&id)
            .bind(&master)
            .execute(&mut *tx)
            .await?;
            rewrapped += 1;
        }
        tx.commit().await?;
        Ok(Rotation {
            master: newest.id.clone(),
            rewrapped,
            already,
        })
    }

    /// Starts a new data key for every tenant that has one (the old keys are retired: kept
    /// for reading, no longer used for new data), in one transaction. Answers
    /// `(tenant, new key id)` pairs.
    pub async fn new_data_keys(&self) -> Result<Vec<(String, String)>> {
        if self.config.source.file().is_some() {
            self.reload_masters()?;
        }
        let masters = self.masters_now();
        let m = masters.last().ok_or(KeyError::NoMasterKey {
            origin: "keyring".into(),
        })?;
        let _guard = self.lock().await;
        let mut tx = self.begin_write().await?;
        let tenants: Vec<String> =
            sqlx::query("SELECT tenant FROM data_keys WHERE retired_at IS NULL ORDER BY tenant")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("tenant"))
                .collect::<Result<_, _>>()?;
        let at = now();
        let mut out = Vec::new();
        for tenant in tenants {
            sqlx::query(
                "UPDATE data_keys SET retired_at = $1 WHERE tenant = $2 AND retired_at IS NULL",
            )
            .bind(&at)
            .bind(&tenant)
            .execute(&mut *tx)
            .await?;
            let mut raw = Zeroizing::new([0u8; 32]);
            self.rng.fill(&mut raw[..]).map_err(|_| KeyError::Crypto)?;
            let id = new_id();
            let wrapped = self.wrap(m, &id, &tenant, &raw)?;
            sqlx::query(
                "INSERT INTO data_keys (id, tenant, master_id, wrapped, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id)
            .bind(&tenant)
            .bind(&m.id)
            .bind(&wrapped)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            out.push((tenant, id));
        }
        tx.commit().await?;
        if let Ok(mut g) = self.current.write() {
            g.clear();
        }
        Ok(out)
    }

    /// Ids, tenants and counts, never key material.
    pub async fn status(&self) -> Result<KeyStatus> {
        if self.config.source.file().is_some() {
            self.reload_masters()?;
        }
        let rows = sqlx::query(
            "SELECT id, tenant, master_id, created_at, retired_at FROM data_keys \
             ORDER BY tenant, created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut data_keys = Vec::new();
        let mut per_master: BTreeMap<String, u64> = BTreeMap::new();
        for r in rows {
            let info = DataKeyInfo {
                id: r.try_get("id")?,
                tenant: r.try_get("tenant")?,
                master: r.try_get("master_id")?,
                created_at: r.try_get("created_at")?,
                retired_at: r.try_get("retired_at")?,
            };
            *per_master.entry(info.master.clone()).or_default() += 1;
            data_keys.push(info);
        }
        let ids = self.master_ids();
        let masters = ids
            .iter()
            .map(|id| (id.clone(), per_master.get(id).copied().unwrap_or(0)))
            .collect();
        let missing_masters = per_master
            .into_iter()
            .filter(|(id, _)| !ids.contains(id))
            .collect();
        Ok(KeyStatus {
            source: self.config.source.clone(),
            masters,
            missing_masters,
            data_keys,
        })
    }

    /// Seals a small value (e.g. a TOTP secret) under the tenant's current data key.
    pub async fn encrypt_value(
        &self,
        tenant: &str,
        context: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        let dk = self.current(tenant).await?;
        let mut s = Sealer::new(&dk, context, CHUNK_SIZE)?;
        let mut out = s.header().to_vec();
        for (i, part) in chunks_or_empty(plain, CHUNK_SIZE as usize).enumerate() {
            let last = (i + 1) * CHUNK_SIZE as usize >= plain.len();
            let mut buf = part.to_vec();
            s.seal_chunk(&mut buf, last)?;
            out.extend_from_slice(&buf);
        }
        Ok(out)
    }

    /// Opens an envelope made by [`Keyring::encrypt_value`] or the blob store; `what` names
    /// it in errors.
    pub async fn decrypt(&self, what: &str, context: &[u8], sealed: Vec<u8>) -> Result<Vec<u8>> {
        let header =
            EnvelopeHeader::parse(&sealed)?.ok_or_else(|| KeyError::Plaintext(what.into()))?;
        let dk = self.data_key(&header.key_id).await?;
        Ok(open_envelope(&dk, &header, context, sealed, what)?)
    }
}

fn chunks_or_empty(b: &[u8], n: usize) -> Box<dyn Iterator<Item = &[u8]> + '_> {
    if b.is_empty() {
        Box::new(std::iter::once(b))
    } else {
        Box::new(b.chunks(n))
    }
}

fn load_masters(config: &KeyringConfig) -> Result<Vec<MasterKey>, KeyError> {
    match (&config.source, &config.env_value) {
        (MasterSource::Env, Some(v)) => parse_masters(MASTER_KEY_ENV, v),
        (MasterSource::Env, None) => Err(KeyError::NoMasterKey {
            origin: MASTER_KEY_ENV.into(),
        }),
        (MasterSource::File(p) | MasterSource::DataFolder(p), _) => read_master_file(p),
    }
}

fn file_key(dk: &DataKey, salt: &[u8]) -> Result<LessSafeKey, KeyError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&dk.raw[..]);
    let okm = prk
        .expand(&[b"daiko-enc-v1 file key"], &AES_256_GCM)
        .map_err(|_| KeyError::Crypto)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

fn chunk_nonce(i: u32, last: bool) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[7..11].copy_from_slice(&i.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Encrypts one envelope chunk by chunk (the blob writer streams through it).
pub struct Sealer {
    key: LessSafeKey,
    header: Vec<u8>,
    aad: Vec<u8>,
    next: u32,
    done: bool,
}

impl Sealer {
    /// A new envelope under `dk` for `context` (a blob key), with a random salt.
    pub fn new(dk: &DataKey, context: &[u8], chunk_size: u32) -> Result<Sealer, KeyError> {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| KeyError::Crypto)?;
        let mut header = Vec::with_capacity(16 + dk.id.len() + SALT_LEN);
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        header.push(dk.id.len() as u8);
        header.extend_from_slice(dk.id.as_bytes());
        header.extend_from_slice(&salt);
        header.extend_from_slice(&chunk_size.to_be_bytes());
        let aad = [header.as_slice(), context].concat();
        Ok(Sealer {
            key: file_key(dk, &salt)?,
            header,
            aad,
            next: 0,
            done: false,
        })
    }

    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Encrypts `buf` in place as the next chunk (appending the tag).
    pub fn seal_chunk(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<(), KeyError> {
        if self.done {
            return Err(KeyError::Crypto);
        }
        let i = self.next;
        self.next = self.next.checked_add(1).ok_or(KeyError::Crypto)?;
        self.done = last;
        self.key
            .seal_in_place_append_tag(chunk_nonce(i, last), Aad::from(&self.aad[..]), buf)
            .map_err(|_| KeyError::Crypto)
    }
}

/// A parsed envelope header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    pub key_id: String,
    pub chunk_size: u32,
    salt: [u8; SALT_LEN],
    len: usize,
}

impl EnvelopeHeader {
    /// `Ok(None)` when `bytes` do not start with the magic (plaintext); an error when the
    /// magic is there but the header is damaged.
    pub fn parse(bytes: &[u8]) -> Result<Option<EnvelopeHeader>, KeyError> {
        if !bytes.starts_with(MAGIC) {
            return Ok(None);
        }
        let bad = || KeyError::Tampered("envelope header".into());
        let version = *bytes.get(8).ok_or_else(bad)?;
        if version != VERSION {
            return Err(bad());
        }
        let n = usize::from(*bytes.get(9).ok_or_else(bad)?);
        let id = bytes.get(10..10 + n).ok_or_else(bad)?;
        let key_id = std::str::from_utf8(id).map_err(|_| bad())?.to_string();
        if !valid_id(&key_id) {
            return Err(bad());
        }
        let salt: [u8; SALT_LEN] = bytes
            .get(10 + n..10 + n + SALT_LEN)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        let cs = bytes
            .get(10 + n + SALT_LEN..14 + n + SALT_LEN)
            .ok_or_else(bad)?;
        let chunk_size = u32::from_be_bytes([cs[0], cs[1], cs[2], cs[3]]);
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(bad());
        }
        Ok(Some(EnvelopeHeader {
            key_id,
            chunk_size,
            salt,
            len: 14 + n + SALT_LEN,
        }))
    }
}

/// Decrypts a whole envelope in place and returns the plaintext.
pub fn open_envelope(
    dk: &DataKey,
    header: &EnvelopeHeader,
    context: &[u8],
    mut bytes: Vec<u8>,
    what: &str,
) -> Result<Vec<u8>, KeyError> {
    let tampered = || KeyError::Tampered(what.to_string());
    if dk.id != header.key_id {
        return Err(tampered());
    }
    let key = file_key(dk, &header.salt)?;
    let aad = [&bytes[..header.len], context].concat();
    let full = header.chunk_size as usize + TAG_LEN;
    let (mut read, mut write, mut i) = (header.len, 0usize, 0u32);
    loop {
        let remaining = bytes.len() - read;
        let last = remaining <= full;
        let take = if last { remaining } else { full };
        if take < TAG_LEN {
            return Err(tampered());
        }
        let plain_len = key
            .open_in_place(
                chunk_nonce(i, last),
                Aad::from(&aad[..]),
                &mut bytes[read..read + take],
            )
            .map_err(|_| tampered())?
            .len();
        bytes.copy_within(read..read + plain_len, write);
        write += plain_len;
        read += take;
        if last {
            break;
        }
        i = i.checked_add(1).ok_or_else(tampered)?;
    }
    bytes.truncate(write);
    Ok(bytes)
}

/// What [`crate::Store::encrypt_legacy_blobs`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyEncryption {
    /// Blobs encrypted, per tenant: the retention scope `<org id>/<fiscal year of writing>`
    /// of an organisation's blob (S26), the agency otherwise.
    pub encrypted: BTreeMap<String, u64>,
    /// Blobs that already were envelopes.
    pub already: u64,
    /// Blobs rewritten by something else while being encrypted: left as they are (an
    /// envelope now, or found again by the next run).
    pub left: u64,
}

impl crate::Store {
    /// Encrypts every blob written in plaintext before S18, under the data key of the tenant
    /// it belongs to (a submission's archive and report: the sender; a delivery: the
    /// recipient; anything else: the agency). An organisation's blob goes to the retention
    /// scope of the fiscal year in which it was written (the submission's `received_at`,
    /// the delivery's `created_at`), as `daiko keys rescope` places it (S26), so that the
    /// scope's destruction reaches it. Each blob is replaced atomically, and only if it is
    /// still what was read ([`crate::blob::BlobWriter::finish_replacing`]); running it
    /// again finds nothing to do.
    pub async fn encrypt_legacy_blobs(&self) -> Result<LegacyEncryption> {
        // Blob key → (owner, time of writing).
        let mut owners: HashMap<String, (String, String)> = HashMap::new();
        for sql in [
            "SELECT blob_key AS k, org_id AS t, received_at AS w FROM submissions",
            "SELECT report_key AS k, org_id AS t, received_at AS w FROM submissions \
             WHERE report_key IS NOT NULL",
            "SELECT blob_key AS k, recipient_id AS t, created_at AS w FROM deliveries",
        ] {
            for r in sqlx::query(sql).fetch_all(self.pool()).await? {
                owners.insert(r.try_get("k")?, (r.try_get("t")?, r.try_get("w")?));
            }
        }
        let root = self.blobs().root().to_path_buf();
        let mut out = LegacyEncryption::default();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
            for e in entries {
                let path = e
                    .map_err(|source| StoreError::Io {
                        path: dir.clone(),
                        source,
                    })?
                    .path();
                if path == root.join("tmp") {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Some(key) = path
                    .strip_prefix(&root)
                    .ok()
                    .and_then(|p| p.to_str())
                    .map(|k| k.replace(std::path::MAIN_SEPARATOR, "/"))
                else {
                    continue;
                };
                if self.blobs().is_encrypted(&key).await? {
                    out.already += 1;
                    continue;
                }
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(|source| StoreError::Io {
                        path: path.clone(),
                        source,
                    })?;
                let tenant = match owners.get(&key) {
                    Some((org, at)) => match crate::retention::fiscal_year(at) {
                        Some(fy) => format!("{org}/{fy}"),
                        None => org.clone(),
                    },
                    None => AGENCY_TENANT.to_string(),
                };
                let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
                let mut w = self.blobs().writer_for(&tenant, &key, u64::MAX).await?;
                w.write(&bytes).await?;
                match w.finish_replacing(&digest).await? {
                    Some(_) => *out.encrypted.entry(tenant).or_default() += 1,
                    None => out.left += 1,
                }
            }
        }
        Ok(out)
    }
}

/// Whether `path` lies inside `dir` (both resolved when they exist), e.g. a master key file
/// inside the data folder it protects.
pub fn is_inside(path: &Path, dir: &Path) -> bool {
    let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    resolve(path).starts_with(resolve(dir))
}

impl DataKey {
    /// An HMAC-SHA-256 key derived from this data key for `purpose` (HKDF-SHA-256 without
    /// salt, info `daiko-blind-index-v1\0` || purpose), for the keyed blind indexes of
    /// encrypted columns ([`crate::colcrypt`]). Domain-separated from the envelope file keys;
    /// never used to encrypt.
    pub(crate) fn derive_hmac_key(&self, purpose: &[u8]) -> Result<aws_lc_rs::hmac::Key, KeyError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(&self.raw[..]);
        let info = [b"daiko-blind-index-v1\0".as_slice(), purpose].concat();
        let info = [info.as_slice()];
        let okm = prk
            .expand(&info, aws_lc_rs::hmac::HMAC_SHA256)
            .map_err(|_| KeyError::Crypto)?;
        Ok(aws_lc_rs::hmac::Key::from(okm))
    }
}
