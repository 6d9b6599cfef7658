//! Malware scanning (ウイルス検査, S21) through ClamAV's clamd, before anything opens a
//! received archive.
//!
//! The client speaks clamd's `zINSTREAM` command over TCP or a unix socket: the file goes in
//! length-prefixed chunks, the answer is `stream: OK`, `stream: <signature> FOUND` or
//! `… ERROR`. [`gate`] is the check job's first step after it reads the stored archive:
//! * clean → the check goes on;
//! * infected → the submission becomes `quarantined` (never checked, never routed), an audit
//!   row `submission.quarantine` with severity high names the signature, and the job ends;
//! * clamd unreachable, too slow or answering an error → the submission is `held_scan` and
//!   the job is retried after [`Scanner::hold_retry`] with no attempt limit: nothing passes
//!   unscanned, and once clamd answers the held submission is scanned and checked once.
//!
//! Sealed media are decrypted before intake stores them, so their archives go through the
//! same gate after decryption. This module must not know HTTP or the CLI.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use daiko_store::audit::AuditEntry;
use daiko_store::jobs::Job;
use daiko_store::submissions::Submission;
use daiko_store::{Store, StoreError};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where clamd listens: `tcp://host:port`, or a unix socket (`unix:///path` or `/path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdAddr {
    Tcp(String),
    Unix(PathBuf),
}

impl FromStr for ClamdAddr {
    type Err = ScanError;
    fn from_str(s: &str) -> Result<ClamdAddr, ScanError> {
        let s = s.trim();
        if let Some(hp) = s.strip_prefix("tcp://") {
            let ok = hp
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            if ok {
                return Ok(ClamdAddr::Tcp(hp.to_string()));
            }
        } else if let Some(p) = s.strip_prefix("unix://") {
            if p.starts_with('/') {
                return Ok(ClamdAddr::Unix(PathBuf::from(p)));
            }
        } else if s.starts_with('/') {
            return Ok(ClamdAddr::Unix(PathBuf::from(s)));
        }
        Err(ScanError::Address(s.to_string()))
    }
}

impl std::fmt::Display for ClamdAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamdAddr::Tcp(hp) => write!(f, "tcp://{hp}"),
            ClamdAddr::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// Why a file could not be scanned (the submission is held, never passed).
#[derive(Debug, Error)]
pub enum ScanError {
    #[error(
        "not a clamd address: {0:?} (expected tcp://host:port, unix:///path/to/clamd.ctl or /path)"
    )]
    Address(String),
    #[error("clamd at {addr} is unreachable: {source}")]
    Unavailable {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("clamd at {addr} did not answer within {secs} s")]
    Timeout { addr: String, secs: u64 },
    /// clamd answered an error, e.g. `INSTREAM size limit exceeded` (raise StreamMaxLength).
    #[error("clamd refused the scan: {0}")]
    Refused(String),
    #[error("unexpected answer from clamd: {0:?}")]
    Protocol(String),
}

/// The scanner's answer for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// ウイルス検出: the signature clamd named.
    Infected(String),
}

/// A clamd client.
#[derive(Debug, Clone)]
pub struct Scanner {
    pub addr: ClamdAddr,
    /// Limit for connecting, sending and the answer together.
    pub timeout: Duration,
    /// How long a held submission waits before the next try.
    pub hold_retry: Duration,
}

/// Bytes per INSTREAM chunk.
const CHUNK: usize = 64 * 1024;
/// Longest answer we read (signature names are short).
const MAX_REPLY: u64 = 4096;

impl Scanner {
    /// A scanner with a 120 s timeout and a 60 s retry for held submissions.
    pub fn new(addr: ClamdAddr) -> Scanner {
        Scanner {
            addr,
            timeout: Duration::from_secs(120),
            hold_retry: Duration::from_secs(60),
        }
    }

    /// Scans `data` with INSTREAM.
    pub async fn scan(&self, data: &[u8]) -> Result<Verdict, ScanError> {
        let reply = self.exchange(Request::Instream(data)).await?;
        parse_reply(&reply)
    }

    /// `PING` → `PONG`: whether clamd is up.
    pub async fn ping(&self) -> Result<(), ScanError> {
        match self.exchange(Request::Ping).await?.as_str() {
            "PONG" => Ok(()),
            other => Err(ScanError::Protocol(other.to_string())),
        }
    }

    async fn exchange(&self, req: Request<'_>) -> Result<String, ScanError> {
        let addr = self.addr.to_string();
        let unavailable = |source| ScanError::Unavailable {
            addr: addr.clone(),
            source,
        };
        let work = async {
            match &self.addr {
                ClamdAddr::Tcp(hp) => {
                    let s = tokio::net::TcpStream::connect(hp.as_str())
                        .await
                        .map_err(unavailable)?;
                    talk(s, req).await.map_err(unavailable)
                }
                #[cfg(unix)]
                ClamdAddr::Unix(p) => {
                    let s = tokio::net::UnixStream::connect(p)
                        .await
                        .map_err(unavailable)?;
                    talk(s, req).await.map_err(unavailable)
                }
                #[cfg(not(unix))]
                ClamdAddr::Unix(_) => Err(unavailable(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "unix sockets need a unix system",
                ))),
            }
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ScanError::Timeout {
                addr: addr.clone(),
                secs: self.timeout.as_secs(),
            })?
    }
}

enum Request<'a> {
    Ping,
    Instream(&'a [u8]),
}

/// Sends one command and reads the NUL-terminated answer.
async fn talk<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: Request<'_>,
) -> std::io::Result<String> {
    let sent = async {
        match req {
            Request::Ping => s.write_all(b"zPING\0").await?,
            Request::Instream(data) => {
                s.write_all(b"zINSTREAM\0").await?;
                for chunk in data.chunks(CHUNK) {
                    let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
                    s.write_all(&len.to_be_bytes()).await?;
                    s.write_all(chunk).await?;
                }
                s.write_all(&0u32.to_be_bytes()).await?;
            }
        }
        s.flush().await
    }
    .await;
    // clamd closes early when a stream exceeds its limit, after writing why: read the
    // answer even when sending failed, and report the send error only without one.
    let mut reply = Vec::new();
    let read = (&mut s).take(MAX_REPLY).read_to_end(&mut reply).await;
    if reply.is_empty() {
        sent?;
        read?;
    }
    let text = String::from_utf8_lossy(&reply);
    Ok(text.trim_end_matches(['\0', '\n', '\r', ' ']).to_string())
}

/// Parses `stream: OK`, `stream: <sig> FOUND`, `<why> ERROR`.
pub fn parse_reply(reply: &str) -> Result<Verdict, ScanError> {
    let body = reply.strip_prefix("stream: ").unwrap_or(reply).trim();
    if body == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(sig) = body.strip_suffix(" FOUND") {
        Ok(Verdict::Infected(sig.trim().to_string()))
    } else if let Some(why) = body.strip_suffix(" ERROR") {
        Err(ScanError::Refused(why.trim().to_string()))
    } else {
        Err(ScanError::Protocol(reply.to_string()))
    }
}

/// What the check job does after [`gate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Scanned clean (or scanning is not configured): check the archive.
    Proceed,
    /// Quarantined or held: the job's outcome is already recorded, stop.
    Stop,
}

/// Submission status of an archive the scanner found infected.
pub const QUARANTINED: &str = "quarantined";
/// Submission status while the scanner cannot answer.
pub const HELD_SCAN: &str = "held_scan";

/// Scans a submission's archive before the check opens it (module doc). Without a
/// scanner the archive passes: the server warns about that at start.
pub async fn gate(
    store: &Store,
    scanner: Option<&Scanner>,
    sub: &Submission,
    job: &Job,
    bytes: &[u8],
) -> Result<Gate, StoreError> {
    let Some(scanner) = scanner else {
        return Ok(Gate::Proceed);
    };
    // The uploader's organisation, so the row shows up in its part of the trail.
    let org = store
        .org(&sub.org_id)
        .await?
        .map(|o| o.number)
        .unwrap_or_default();
    let audit = |action: &str, detail: serde_json::Value| AuditEntry {
        actor: "system".into(),
        role: "system".into(),
        org: org.clone(),
        action: action.into(),
        target: format!("submission:{}", sub.id),
        records: String::new(),
        source: "scanner".into(),
        detail: detail.to_string(),
    };
    match scanner.scan(bytes).await {
        Ok(Verdict::Clean) => Ok(Gate::Proceed),
        Ok(Verdict::Infected(signature)) => {
            tracing::error!(submission = %sub.id, %signature, "ALERT: infected upload quarantined");
            let mut tx = store.begin().await?;
            store
                .set_submission_status(&mut tx, &sub.id, QUARANTINED)
                .await?;
            store
                .audit_in(
                    &mut tx,
                    &audit(
                        "submission.quarantine",
                        serde_json::json!({
                            "severity": "high",
                            "signature": signature,
                            "archive": sub.archive_name,
                            "sha256": sub.sha256,
                            "uploaded_by": sub.uploaded_by,
                            "org_id": sub.org_id,
                        }),
                    ),
                )
                .await?;
            // A lost lease rolls everything back: the new owner scans again.
            if store.complete_job_in(&mut tx, job).await? {
                tx.commit().await?;
            }
            Ok(Gate::Stop)
        }
        Err(e) => {
            tracing::warn!(submission = %sub.id, error = %e, "scan failed: submission held");
            let mut tx = store.begin().await?;
            store
                .set_submission_status(&mut tx, &sub.id, HELD_SCAN)
                .await?;
            if sub.status != HELD_SCAN {
                store
                    .audit_in(
                        &mut tx,
                        &audit(
                            "submission.hold_scan",
                            serde_json::json!({"severity": "medium", "error": e.to_string()}),
                        ),
                    )
                    .await?;
            }
            tx.commit().await?;
            // No attempt limit: a held archive waits for the scanner, however long.
            store
                .fail_job(job, &format!("held: {e}"), scanner.hold_retry, i64::MAX)
                .await?;
            Ok(Gate::Stop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_and_addresses() {
        assert_eq!(parse_reply("stream: OK").ok(), Some(Verdict::Clean));
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature.UNOFFICIAL FOUND").ok(),
            Some(Verdict::Infected("Eicar-Test-Signature.UNOFFICIAL".into()))
        );
        assert!(matches!(
            parse_reply("INSTREAM size limit exceeded. ERROR"),
            Err(ScanError::Refused(_))
        ));
        assert!(matches!(parse_reply(""), Err(ScanError::Protocol(_))));
        assert_eq!(
            "tcp://127.0.0.1:3310".parse::<ClamdAddr>().ok(),
            Some(ClamdAddr::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            "/run/clamav/clamd.ctl".parse::<ClamdAddr>().ok(),
            Some(ClamdAddr::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert!("tcp://nohost".parse::<ClamdAddr>().is_err());
        assert!("clamd".parse::<ClamdAddr>().is_err());
    }
}
