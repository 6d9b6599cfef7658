//! # daiko-store — persistence
//!
//! Owns everything daiko keeps: the SQL schema (plain migration files in `migrations/sqlite`
//! and `migrations/postgres`, the same tables on both), typed queries over one
//! [`sqlx::AnyPool`] so that one binary runs on the embedded SQLite default or on
//! PostgreSQL, the blob storage for archives and reports ([`blob`]), the durable job queue
//! ([`jobs`]) and the hash-chained audit trail ([`audit`]).
//!
//! It knows rows, not rules: it must not depend on the check engine, HTTP or the CLI, and it
//! never decides what a record's outcome is. Queries are checked at run time (the `Any`
//! driver has no compile-time checking), so every query runs in the tests on both databases.
//!
//! SQL conventions: placeholders are `$1, $2, …` (both drivers accept them), timestamps are
//! RFC 3339 UTC text with microseconds ([`now`]), booleans are integers.

pub mod alerts;
pub mod audit;
pub mod backup;
pub mod billing;
pub mod blob;
pub mod colcrypt;
pub mod contracts;
pub mod governance;
pub mod invite;
pub mod jobs;
pub mod keyring;
pub mod orgs;
pub mod recordcrypt;
pub mod reference;
pub mod retention;
pub mod submissions;
#[doc(hidden)]
pub mod testdb;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use thiserror::Error;
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use blob::BlobStore;
pub use keyring::{AGENCY_TENANT, Keyring, KeyringConfig};

/// Errors of the store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("storage error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported database URL {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("{what} {key:?} already exists")]
    Duplicate { what: &'static str, key: String },
    #[error("{what} {key:?} not found")]
    NotFound { what: &'static str, key: String },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// Encryption at rest (S18): keys, envelopes, legacy plaintext.
    #[error(transparent)]
    Key(keyring::KeyError),
}

impl StoreError {
    /// Whether the error is a unique-constraint violation (a duplicate insert).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => {
                e.kind() == sqlx::error::ErrorKind::UniqueViolation
            }
            StoreError::Duplicate { .. } => true,
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database the pool talks to (a few statements differ: job claiming, audit locking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store: one SQL pool plus blob storage.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    blobs: BlobStore,
    /// SQLite allows one writer; writers in this process queue here instead of failing with
    /// SQLITE_BUSY when a deferred transaction upgrades. `None` on PostgreSQL.
    write_lock: Option<Arc<Mutex<()>>>,
    url: String,
    /// Wakes this process's idle workers when a transaction that queued a job commits
    /// (workers in other processes find it by polling).
    jobs_added: Arc<tokio::sync::Notify>,
}

/// A write transaction. On SQLite it also holds the process-wide writer lock.
pub struct Tx {
    pub tx: Transaction<'static, Any>,
    backend: Backend,
    _guard: Option<OwnedMutexGuard<()>>,
    jobs_added: Arc<tokio::sync::Notify>,
    /// Whether this transaction queued a job (workers are woken on commit).
    pub(crate) queued_job: bool,
}

impl Tx {
    pub fn backend(&self) -> Backend {
        self.backend
    }
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
    pub async fn commit(self) -> Result<()> {
        let (notify, queued) = (Arc::clone(&self.jobs_added), self.queued_job);
        self.tx.commit().await?;
        if queued {
            notify.notify_waiters();
            notify.notify_one();
        }
        Ok(())
    }
}

impl Store {
    /// Opens (creating when needed) the store for a data folder: SQLite at
    /// `DIR/daiko.sqlite3` unless `database_url` names another database; blobs under
    /// `DIR/blobs`. Runs the migrations. Master keys come from the process environment
    /// ([`KeyringConfig::from_env`]; without one, `DIR/keys/master.key` is generated).
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Store> {
        let keys = KeyringConfig::from_env(data_dir, &|k| std::env::var(k).ok())?;
        Store::open_with(data_dir, database_url, keys).await
    }

    /// [`Store::open`] with an explicit keyring configuration.
    pub async fn open_with(
        data_dir: &Path,
        database_url: Option<&str>,
        keys: KeyringConfig,
    ) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let url = match database_url {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("daiko.sqlite3").display()
            ),
        };
        Store::connect(&url, &data_dir.join("blobs"), keys).await
    }

    /// Connects to `url` with blob storage under `blob_root`, runs the migrations and opens
    /// the keyring (S18).
    pub async fn connect(url: &str, blob_root: &Path, keys: KeyringConfig) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; FULL makes a commit
                            // durable before a receipt is issued (S23).
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = FULL",
                                "PRAGMA busy_timeout = 30000",
                                "PRAGMA foreign_keys = ON",
                            ] {
                                sqlx::query(pragma).execute(&mut *conn).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        let write_lock = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let keyring = Arc::new(Keyring::open(keys, pool.clone(), write_lock.clone()).await?);
        let blobs = BlobStore::open(blob_root, Arc::clone(&keyring))?;
        let store = Store {
            pool,
            backend,
            blobs,
            write_lock,
            url: redact_url(url),
            jobs_added: Arc::new(tokio::sync::Notify::new()),
        };
        store.encrypt_clear_totp_secrets().await?;
        if store.encrypt_clear_columns().await? > 0
            && let Err(e) = store.scrub_after_migration().await
        {
            // The values are sealed either way; only the old pages may linger until the
            // next rebuild (e.g. another process held the database).
            tracing::warn!("could not rebuild the database after sealing clear columns: {e}");
        }
        Ok(store)
    }

    /// The keyring of encryption at rest (S18).
    pub fn keyring(&self) -> &Arc<Keyring> {
        self.blobs.keyring()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
    pub fn backend(&self) -> Backend {
        self.backend
    }
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }
    /// The database URL without any password (for logs and the health page).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Begins a write transaction (serialised per process on SQLite).
    pub async fn begin(&self) -> Result<Tx> {
        let guard = match &self.write_lock {
            Some(lock) => Some(Arc::clone(lock).lock_owned().await),
            None => None,
        };
        // On SQLite the write lock is taken at BEGIN (IMMEDIATE): a deferred transaction that
        // reads and then writes fails at once with SQLITE_BUSY when another process (a CLI
        // command beside a running server) writes meanwhile; waiting at BEGIN honours the
        // busy timeout instead.
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            tx,
            backend: self.backend,
            _guard: guard,
            jobs_added: Arc::clone(&self.jobs_added),
            queued_job: false,
        })
    }

    /// Resolves when a job queued by this process has been committed (or spuriously);
    /// idle workers wait on this and on their polling interval.
    pub async fn job_added(&self) {
        self.jobs_added.notified().await;
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Removes a password from a database URL.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.split_once('@')
    {
        let user = creds.split(':').next().unwrap_or("");
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// Now, as stored: RFC 3339 UTC with microseconds.
pub fn now() -> String {
    format_ts(jiff::Timestamp::now())
}

/// The stored timestamp `d` from now (leases, retry times); saturates instead of overflowing.
pub(crate) fn later(d: std::time::Duration) -> String {
    let ts = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(jiff::Timestamp::MAX);
    format_ts(ts)
}

/// A timestamp as stored.
pub fn format_ts(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a stored timestamp.
pub fn parse_ts(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

/// A new time-ordered id (UUID v7).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Marks a statement built at run time as safe. Only for SQL assembled from this crate's
/// constant fragments and `$n` placeholders; values always go through `bind`.
pub(crate) fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(s)
}
