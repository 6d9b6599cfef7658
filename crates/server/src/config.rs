//! Server configuration: `DATA_DIR/daiko.toml` plus environment variables, which win
//! (PRODUCT.md "Configuration"). Secrets are never read from the file: a key that looks like
//! one is refused (S20).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::hours::ServiceHours;
use crate::tls::TlsConfig;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{name}: {message}")]
    Value { name: String, message: String },
}

/// The file's shape (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database_url: Option<String>,
    service_hours: Option<String>,
    api_intake_always_open: Option<bool>,
    max_upload_mb: Option<u64>,
    workers: Option<usize>,
    session_idle_minutes: Option<i64>,
    session_absolute_hours: Option<i64>,
    public_url: Option<String>,
    tls: Option<FileTls>,
    scan: Option<FileScan>,
    time: Option<FileTime>,
    review: Option<FileReview>,
    alerts: Option<FileAlerts>,
}

/// `[alerts]`: where break-glass alerts are posted (S12).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAlerts {
    webhook: Option<String>,
    retry_seconds: Option<u64>,
}

/// `[time]`: NTP servers for the clock-offset check (S15).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTime {
    #[serde(default)]
    ntp: Vec<String>,
    max_offset_ms: Option<i64>,
    check_minutes: Option<u64>,
}

/// `[review]`: thresholds of the auditors' review (S16).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileReview {
    bulk_records: Option<usize>,
    bulk_downloads: Option<usize>,
}

/// `[tls]`: certificate and key files (S17).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    #[serde(default)]
    client_orgs: BTreeMap<String, String>,
}

/// `[scan]`: the malware scanner (S21).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScan {
    clamd: Option<String>,
}

/// Effective configuration of `daiko serve`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `None`: the embedded SQLite in the data folder.
    pub database_url: Option<String>,
    pub service_hours: ServiceHours,
    /// Whether `POST /api/v1/submissions` is open outside service hours.
    pub api_intake_always_open: bool,
    pub max_upload_bytes: u64,
    /// In-process pipeline workers (0: run `daiko worker` processes instead).
    pub workers: usize,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Whether cookies get the `Secure` flag (true unless serving plain HTTP on loopback).
    pub secure_cookies: bool,
    /// TLS terminated by `serve` itself (S17); `None`: plain HTTP, loopback only.
    pub tls: Option<TlsConfig>,
    /// clamd address for malware scanning (S21); `None`: no scanning (warned at start).
    pub clamd: Option<daiko_pipeline::scan::ClamdAddr>,
    /// The clock-offset check (S15); no servers: disabled.
    pub time: crate::clock::TimeConfig,
    /// Thresholds of the auditors' review (S16).
    pub review: crate::governance::ReviewConfig,
    /// The alert webhook (S12, `crate::alerts`); `None`: alerts go to the log only.
    pub alert_webhook: Option<reqwest::Url>,
    /// How often `serve` posts alerts the webhook did not take yet (`crate::alerts::retry_due`).
    pub alert_retry: std::time::Duration,
}

impl ServerConfig {
    /// Defaults for a data folder (no file, no environment).
    pub fn defaults(data_dir: &Path) -> ServerConfig {
        ServerConfig {
            data_dir: data_dir.to_path_buf(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            service_hours: ServiceHours::default(),
            api_intake_always_open: false,
            max_upload_bytes: 512 * 1024 * 1024,
            workers: 2,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            secure_cookies: false,
            tls: None,
            clamd: None,
            time: crate::clock::TimeConfig::default(),
            review: crate::governance::ReviewConfig::default(),
            alert_webhook: None,
            alert_retry: std::time::Duration::from_secs(30),
        }
    }

    /// Loads `DATA_DIR/daiko.toml` (if present), then applies `DAIKO_*` variables from `env`.
    pub fn load(
        data_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, ConfigError> {
        let mut c = ServerConfig::defaults(data_dir);
        let path = data_dir.join("daiko.toml");
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let f: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if let Some(url) = &f.database_url
                && url_has_password(url)
            {
                return Err(ConfigError::Parse {
                    path,
                    message: "database_url must not contain a password: put the URL with its \
                              password in DAIKO_DATABASE_URL (environment) instead"
                        .into(),
                });
            }
            if let Some(l) = f.listen {
                c.listen = parse_listen("listen", &l)?;
            }
            c.database_url = f.database_url;
            if let Some(h) = f.service_hours {
                c.service_hours = parse_hours("service_hours", &h)?;
            }
            if let Some(a) = f.api_intake_always_open {
                c.api_intake_always_open = a;
            }
            if let Some(mb) = f.max_upload_mb {
                c.max_upload_bytes = mb.saturating_mul(1024 * 1024);
            }
            if let Some(w) = f.workers {
                c.workers = w;
            }
            if let Some(m) = f.session_idle_minutes {
                c.session_idle_minutes = m;
            }
            if let Some(h) = f.session_absolute_hours {
                c.session_absolute_hours = h;
            }
            let _ = f.public_url;
            if let Some(t) = f.tls {
                let (Some(cert), Some(key)) = (t.cert, t.key) else {
                    return Err(ConfigError::Parse {
                        path,
                        message: "[tls] needs both `cert` and `key`".into(),
                    });
                };
                // Relative paths are relative to the data folder.
                c.tls = Some(TlsConfig {
                    cert: data_dir.join(cert),
                    key: data_dir.join(key),
                    client_ca: t.client_ca.map(|p| data_dir.join(p)),
                    client_orgs: t.client_orgs,
                });
            }
            if let Some(a) = f.scan.and_then(|s| s.clamd) {
                c.clamd = Some(parse_clamd("scan.clamd", &a)?);
            }
            if let Some(t) = f.time {
                c.time.ntp = t.ntp;
                if let Some(m) = t.max_offset_ms {
                    c.time.max_offset_ms = m.max(1);
                }
                if let Some(m) = t.check_minutes {
                    c.time.check_minutes = m.max(1);
                }
            }
            if let Some(a) = f.alerts {
                if let Some(w) = a.webhook {
                    c.alert_webhook = Some(crate::alerts::parse_webhook("alerts.webhook", &w)?);
                }
                if let Some(s) = a.retry_seconds {
                    c.alert_retry = std::time::Duration::from_secs(s.max(1));
                }
            }
            if let Some(r) = f.review {
                if let Some(n) = r.bulk_records {
                    c.review.bulk_records = n;
                }
                if let Some(n) = r.bulk_downloads {
                    c.review.bulk_downloads = n;
                }
            }
        }
        if let Some(l) = env("DAIKO_LISTEN") {
            c.listen = parse_listen("DAIKO_LISTEN", &l)?;
        }
        if let Some(u) = env("DAIKO_DATABASE_URL").filter(|u| !u.is_empty()) {
            c.database_url = Some(u);
        }
        if let Some(h) = env("DAIKO_SERVICE_HOURS") {
            c.service_hours = parse_hours("DAIKO_SERVICE_HOURS", &h)?;
        }
        if let Some(a) = env("DAIKO_API_INTAKE_ALWAYS_OPEN") {
            c.api_intake_always_open = matches!(a.as_str(), "1" | "true" | "yes");
        }
        if let Some(mb) = env("DAIKO_MAX_UPLOAD_MB") {
            let mb: u64 = mb.parse().map_err(|_| ConfigError::Value {
                name: "DAIKO_MAX_UPLOAD_MB".into(),
                message: format!("not a number: {mb:?}"),
            })?;
            c.max_upload_bytes = mb.saturating_mul(1024 * 1024);
        }
        if let Some(w) = env("DAIKO_WORKERS") {
            c.workers = w.parse().map_err(|_| ConfigError::Value {
                name: "DAIKO_WORKERS".into(),
                message: format!("not a number: {w:?}"),
            })?;
        }
        apply_tls_env(&mut c, env)?;
        if let Some(a) = env("DAIKO_SCAN_CLAMD").filter(|a| !a.is_empty()) {
            c.clamd = Some(parse_clamd("DAIKO_SCAN_CLAMD", &a)?);
        }
        if let Some(w) = env("DAIKO_ALERT_WEBHOOK").filter(|w| !w.is_empty()) {
            c.alert_webhook = Some(crate::alerts::parse_webhook("DAIKO_ALERT_WEBHOOK", &w)?);
        }
        c.secure_cookies = c.tls.is_some();
        Ok(c)
    }
}

/// `DAIKO_TLS_CERT` and `DAIKO_TLS_KEY` (both, or neither unless the file set them),
/// `DAIKO_TLS_CLIENT_CA`, `DAIKO_TLS_CLIENT_ORGS` (`number=dns.name,…`).
fn apply_tls_env(
    c: &mut ServerConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    let (cert, key) = (get("DAIKO_TLS_CERT"), get("DAIKO_TLS_KEY"));
    if cert.is_some() || key.is_some() {
        let t = c.tls.get_or_insert_with(TlsConfig::default);
        if let Some(p) = cert {
            t.cert = PathBuf::from(p);
        }
        if let Some(p) = key {
            t.key = PathBuf::from(p);
        }
        if t.cert.as_os_str().is_empty() || t.key.as_os_str().is_empty() {
            return Err(ConfigError::Value {
                name: "DAIKO_TLS_CERT/DAIKO_TLS_KEY".into(),
                message: "TLS needs both a certificate and a key file".into(),
            });
        }
    }
    let ca = get("DAIKO_TLS_CLIENT_CA");
    let orgs = get("DAIKO_TLS_CLIENT_ORGS");
    if ca.is_none() && orgs.is_none() {
        return Ok(());
    }
    let Some(t) = c.tls.as_mut() else {
        return Err(ConfigError::Value {
            name: "DAIKO_TLS_CLIENT_CA".into(),
            message: "client certificates need TLS: set DAIKO_TLS_CERT and DAIKO_TLS_KEY".into(),
        });
    };
    if let Some(p) = ca {
        t.client_ca = Some(PathBuf::from(p));
    }
    if let Some(list) = orgs {
        t.client_orgs = parse_client_orgs(&list)?;
    }
    Ok(())
}

fn parse_client_orgs(list: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(n, d)| (n.trim().to_string(), d.trim().to_string()))
                .filter(|(n, d)| !n.is_empty() && !d.is_empty())
                .ok_or_else(|| ConfigError::Value {
                    name: "DAIKO_TLS_CLIENT_ORGS".into(),
                    message: format!("expected number=dns.name, got {pair:?}"),
                })
        })
        .collect()
}

fn parse_clamd(name: &str, s: &str) -> Result<daiko_pipeline::scan::ClamdAddr, ConfigError> {
    s.parse()
        .map_err(|e: daiko_pipeline::scan::ScanError| ConfigError::Value {
            name: name.into(),
            message: e.to_string(),
        })
}

fn url_has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(creds, _)| creds.contains(':'))
}

fn parse_listen(name: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse().map_err(|_| ConfigError::Value {
        name: name.into(),
        message: format!("not an address like 127.0.0.1:8080: {s:?}"),
    })
}

fn parse_hours(name: &str, s: &str) -> Result<ServiceHours, ConfigError> {
    ServiceHours::parse(s).ok_or_else(|| ConfigError::Value {
        name: name.into(),
        message: format!("expected HH:MM-HH:MM (end may be up to 30:00) or `always`: {s:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_and_passwords_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("daiko.toml"),
            "listen = \"127.0.0.1:9000\"\nservice_hours = \"always\"\n",
        )
        .unwrap();
        let env = |k: &str| (k == "DAIKO_LISTEN").then(|| "127.0.0.1:9100".to_string());
        let c = ServerConfig::load(dir.path(), &env).unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert!(c.service_hours.is_always());
        std::fs::write(
            dir.path().join("daiko.toml"),
            "database_url = \"postgres://u:secret@db/x\"\n",
        )
        .unwrap();
        let err = ServerConfig::load(dir.path(), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DAIKO_DATABASE_URL") && !err.contains("secret"),
            "{err}"
        );
        std::fs::write(dir.path().join("daiko.toml"), "bogus = 1\n").unwrap();
        assert!(ServerConfig::load(dir.path(), &|_| None).is_err());
    }
}
