//! # daiko-server — the clearing house on the network
//!
//! Owns the HTTP side of daiko: the JSON API of PRODUCT.md ([`api`]), the Japanese web
//! portal ([`web`]), authentication (passwords, TOTP, tokens, sessions: [`auth`],
//! [`caller`]), who may see what (roles and tenancy, in [`caller`]), service hours and
//! maintenance ([`hours`]), TLS termination and client certificates ([`tls`]), and running
//! the pipeline's workers beside the listener.
//!
//! Handlers are thin: they authenticate, check tenancy, call the store or the pipeline,
//! write the audit row and render. The server must not judge archives (that is
//! `daiko-check`) nor write SQL (that is `daiko-store`).

pub mod alerts;
pub mod api;
pub mod auth;
pub mod caller;
pub mod clock;
pub mod config;
pub mod error;
pub mod governance;
pub mod hours;
pub mod tls;
pub mod tokens;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use daiko_store::Store;
use daiko_store::orgs::Org;
use thiserror::Error;
use tokio::sync::watch;

pub use config::ServerConfig;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// The agency this installation serves (`daiko init`).
    pub agency: Arc<Org>,
}

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(
        "the data folder is not initialised: run `daiko init --agency-number … --agency-name …` first"
    )]
    NotInitialised,
    #[error(
        "refusing to listen on {0} without TLS: anything off loopback must be encrypted (S17); \
         listen on 127.0.0.1 behind a TLS terminator, or configure TLS"
    )]
    PlainOffLoopback(SocketAddr),
    #[error(
        "refusing to listen on {0} with the master key inside the data folder ({1}): set \
         DAIKO_MASTER_KEY_FILE to a file outside it (key service or HSM mount) (S18)"
    )]
    MasterKeyInDataFolder(SocketAddr, std::path::PathBuf),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] daiko_store::StoreError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

impl AppState {
    /// State for a store whose agency exists.
    pub async fn new(store: Store, config: ServerConfig) -> Result<AppState, ServeError> {
        let agency = store.agency().await?.ok_or(ServeError::NotInitialised)?;
        Ok(AppState {
            store,
            config: Arc::new(config),
            agency: Arc::new(agency),
        })
    }
}

/// The whole application: API, portal, service-hours gate; HSTS when serving TLS.
pub fn router(state: AppState) -> Router {
    let hsts = state.config.tls.is_some();
    let app = Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .layer(middleware::from_fn_with_state(state.clone(), service_gate))
        .with_state(state);
    if hsts {
        app.layer(middleware::map_response(strict_transport_security))
    } else {
        app
    }
}

/// Browsers that reached us over TLS must never fall back to plain HTTP (S17).
async fn strict_transport_security(mut res: Response) -> Response {
    res.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    res
}

/// Paths that stay reachable outside service hours and during maintenance.
fn always_reachable(path: &str) -> bool {
    path == "/api/v1/health" || path == "/api/v1/openapi.json" || path.starts_with("/static/")
}

/// Outside service hours or in maintenance, answer with the notice (S27). API intake may be
/// configured to run around the clock.
async fn service_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if always_reachable(path) {
        return next.run(req).await;
    }
    let maintenance = state
        .store
        .setting("maintenance")
        .await
        .ok()
        .flatten()
        .filter(|m| !m.is_empty());
    let api = path.starts_with("/api/");
    let closed = |ja: &str, en: &str| {
        if api {
            caller::closed_notice(ja, en)
        } else {
            web::closed_page(ja, en)
        }
    };
    if let Some(notice) = maintenance {
        return closed(
            &format!("ただいまメンテナンス中です。{notice}"),
            &format!("daiko is under maintenance. {notice}"),
        );
    }
    let intake = req.method() == axum::http::Method::POST && path == "/api/v1/submissions";
    let open = state.config.service_hours.is_open(jiff::Timestamp::now())
        || (intake && state.config.api_intake_always_open);
    if !open {
        let hours = state.config.service_hours.describe();
        return closed(
            &format!(
                "サービス時間外です(サービス時間: 日本時間 {hours})。時間内に再度お試しください。"
            ),
            &format!("Outside service hours ({hours} JST). Please try again within service hours."),
        );
    }
    next.run(req).await
}

/// Serves until `shutdown` turns true: the listener, `config.workers` pipeline workers and
/// the periodic batching tick.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    // S17: TLS material is read and checked before anything else starts.
    let acceptor = state.config.tls.as_ref().map(tls::acceptor).transpose()?;
    if acceptor.is_none() && !addr.ip().is_loopback() {
        return Err(ServeError::PlainOffLoopback(addr));
    }
    // S18: the generated quick-start key next to the data it protects is for loopback only.
    if !addr.ip().is_loopback()
        && let Some(key) = state.store.keyring().source().file()
        && daiko_store::keyring::is_inside(key, &state.config.data_dir)
    {
        return Err(ServeError::MasterKeyInDataFolder(addr, key.to_path_buf()));
    }
    if state.config.clamd.is_none() {
        tracing::warn!(
            "malware scanning is off: set scan.clamd (or DAIKO_SCAN_CLAMD) in production (S21)"
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    if state.store.backend() == daiko_store::Backend::Sqlite {
        // Single process: no other worker can hold a lease.
        state.store.requeue_running_jobs().await?;
    }
    spawn_background(&state, &mut tasks, &shutdown);
    match acceptor {
        Some(acceptor) => tls::serve_tls(listener, acceptor, router(state), shutdown).await?,
        None => {
            let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                })
                .await?;
        }
    }
    tasks.shutdown().await;
    Ok(())
}

/// Starts the pipeline workers and the batching tick of this process.
fn spawn_background(
    state: &AppState,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) {
    for n in 0..state.config.workers {
        tasks.spawn(daiko_pipeline::worker::run(
            state.store.clone(),
            worker_config(state, n),
            shutdown.clone(),
        ));
    }
    if !state.config.time.ntp.is_empty() {
        // S15: the clock-offset check, at start and then every `check_minutes`.
        let (store, time, mut rx) = (
            state.store.clone(),
            state.config.time.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            loop {
                if let Err(e) = clock::check_and_record(&store, &time).await {
                    tracing::warn!(error = %e, "recording the clock check failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(60 * time.check_minutes)) => {}
                    r = rx.changed() => if r.is_err() || *rx.borrow() { break },
                }
            }
        });
    } else {
        tracing::warn!("the clock-offset check is disabled: set [time] ntp in production (S15)");
    }
    if let Some(url) = state.config.alert_webhook.clone() {
        // S12: alerts the webhook did not take (here or in another process) are posted again.
        let (store, every, mut rx) = (
            state.store.clone(),
            state.config.alert_retry,
            shutdown.clone(),
        );
        tasks.spawn(async move {
            loop {
                crate::alerts::retry_due(&store, &url).await;
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    r = rx.changed() => if r.is_err() || *rx.borrow() { break },
                }
            }
        });
    }
    if state.config.workers > 0 {
        // S26: backup purges queued by destructions run here, not in the approving request.
        tasks.spawn(backup_purge_worker(
            state.store.clone(),
            format!("{}:{}:purge", hostname(), std::process::id()),
            shutdown.clone(),
        ));
    }
    let store = state.store.clone();
    let anchors = state.config.data_dir.join("audit.anchors");
    let mut rx = shutdown.clone();
    tasks.spawn(async move {
        loop {
            if let Err(e) =
                daiko_pipeline::worker::enqueue_due_batches(&store, jiff::Timestamp::now()).await
            {
                tracing::warn!(error = %e, "batching tick failed");
            }
            // S14: anchor the audit chain's head outside the database once a minute.
            if let Err(e) = daiko_store::audit::anchors::write(&store, &anchors).await {
                tracing::warn!(error = %e, "writing the audit anchor failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                r = rx.changed() => if r.is_err() || *rx.borrow() { break },
            }
        }
    });
}

/// Runs the backup purges destructions queue (S26, `Store::run_backup_purges`) until
/// `shutdown`: woken by new jobs, and once a minute for the retries (with backoff) of
/// purges that could not reach every generation. `serve` and `daiko worker` run one.
pub async fn backup_purge_worker(
    store: daiko_store::Store,
    owner: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let env = |k: &str| std::env::var(k).ok();
    loop {
        match store.run_backup_purges(&owner, &env, false).await {
            Ok(runs) => {
                for r in runs.iter().filter(|r| !r.done) {
                    tracing::warn!(approval = %r.approval, attempt = r.attempt,
                        "backup purge not complete; retried later");
                }
            }
            Err(e) => tracing::warn!(error = %e, "backup purge failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            _ = store.job_added() => {}
            r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { break },
        }
    }
}

/// The pipeline worker configuration for worker `n` of this process.
pub fn worker_config(state: &AppState, n: usize) -> daiko_pipeline::worker::WorkerConfig {
    let mut cfg = daiko_pipeline::worker::WorkerConfig::new(
        &state.agency.number,
        &format!("{}:{}:{n}", hostname(), std::process::id()),
    );
    cfg.scan = state
        .config
        .clamd
        .clone()
        .map(daiko_pipeline::scan::Scanner::new);
    cfg
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
