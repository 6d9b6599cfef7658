//! Trustworthy time (S15, 時刻同期): daiko stores every timestamp in UTC; this module asks
//! NTP servers (SNTP, RFC 4330, over UDP) how far the local clock is off and raises an alert
//! — an ERROR log line and a high-severity audit row — when the offset passes the threshold.
//! The last check is kept in the `clock_check` setting, so the health endpoint of every
//! process shows it. Without `[time] ntp` the check is disabled and reported as such.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::net::UdpSocket;

use daiko_store::Store;
use daiko_store::audit::AuditEntry;

/// Seconds between the NTP era (1900-01-01) and the Unix epoch.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The setting that keeps the last check (JSON of [`ClockCheck`]).
pub const SETTING: &str = "clock_check";

/// `[time]` of daiko.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeConfig {
    /// NTP servers (`host:port`), asked in order until one answers; empty: check disabled.
    pub ntp: Vec<String>,
    /// Alert when |offset| is larger than this.
    pub max_offset_ms: i64,
    /// Minutes between checks in `serve`.
    pub check_minutes: u64,
    /// How long to wait for one server's answer.
    pub timeout: Duration,
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            ntp: Vec::new(),
            max_offset_ms: 1000,
            check_minutes: 10,
            timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Error)]
pub enum ClockError {
    #[error("cannot resolve NTP server {0}")]
    Resolve(String),
    #[error("NTP server {server}: {source}")]
    Io {
        server: String,
        #[source]
        source: std::io::Error,
    },
    #[error("NTP server {0} did not answer in time")]
    Timeout(String),
    #[error("NTP server {server} sent an unusable answer: {why}")]
    BadAnswer { server: String, why: &'static str },
}

/// One SNTP measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    /// How far the server's clock is ahead of ours (negative: ours is ahead).
    pub offset_ms: i64,
    /// Round-trip delay.
    pub delay_ms: i64,
    pub stratum: u8,
}

/// NTP 64-bit timestamp of a Unix time in nanoseconds.
fn to_ntp(unix_nanos: i128) -> u64 {
    let secs = (unix_nanos.div_euclid(1_000_000_000) as u64).wrapping_add(NTP_UNIX_OFFSET);
    let frac = ((unix_nanos.rem_euclid(1_000_000_000) as u128) << 32) / 1_000_000_000;
    (secs << 32) | (frac as u64 & 0xffff_ffff)
}

/// Unix time in nanoseconds of an NTP timestamp (era 0, i.e. until 2036).
fn from_ntp(ts: u64) -> i128 {
    let secs = i128::from(ts >> 32) - i128::from(NTP_UNIX_OFFSET);
    let frac = (i128::from(ts & 0xffff_ffff) * 1_000_000_000) >> 32;
    secs * 1_000_000_000 + frac
}

fn now_nanos() -> i128 {
    jiff::Timestamp::now().as_nanosecond()
}

fn ts_at(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_be_bytes(b)
}

/// Asks one server (SNTP client mode, version 4) and computes the offset
/// `((T2 - T1) + (T3 - T4)) / 2` and delay `(T4 - T1) - (T3 - T2)`.
pub async fn query(server: &str, timeout: Duration) -> Result<Measurement, ClockError> {
    let addr = tokio::net::lookup_host(server)
        .await
        .map_err(|_| ClockError::Resolve(server.into()))?
        .next()
        .ok_or_else(|| ClockError::Resolve(server.into()))?;
    let io = |source| ClockError::Io {
        server: server.into(),
        source,
    };
    let bind = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(bind).await.map_err(io)?;
    sock.connect(addr).await.map_err(io)?;
    let mut req = [0u8; 48];
    req[0] = 0x23; // LI 0, version 4, mode 3 (client)
    let t1 = now_nanos();
    let t1_ntp = to_ntp(t1);
    req[40..48].copy_from_slice(&t1_ntp.to_be_bytes());
    sock.send(&req).await.map_err(io)?;
    let mut buf = [0u8; 128];
    let n = tokio::time::timeout(timeout, sock.recv(&mut buf))
        .await
        .map_err(|_| ClockError::Timeout(server.into()))?
        .map_err(io)?;
    let t4 = now_nanos();
    let bad = |why| ClockError::BadAnswer {
        server: server.into(),
        why,
    };
    if n < 48 {
        return Err(bad("shorter than 48 bytes"));
    }
    if buf[0] & 0x07 != 4 {
        return Err(bad("not a server-mode packet"));
    }
    if buf[0] >> 6 == 3 {
        return Err(bad("server clock not synchronised (leap indicator 3)"));
    }
    let stratum = buf[1];
    if stratum == 0 || stratum > 15 {
        return Err(bad("kiss-of-death or unsynchronised stratum"));
    }
    // The server must echo our transmit time: this answers our request, not a stray one.
    if ts_at(&buf, 24) != t1_ntp {
        return Err(bad("origin timestamp does not match the request"));
    }
    let (t2, t3) = (from_ntp(ts_at(&buf, 32)), from_ntp(ts_at(&buf, 40)));
    let offset = ((t2 - t1) + (t3 - t4)) / 2;
    let delay = (t4 - t1) - (t3 - t2);
    Ok(Measurement {
        offset_ms: (offset / 1_000_000) as i64,
        delay_ms: (delay / 1_000_000).max(0) as i64,
        stratum,
    })
}

/// The outcome of a check, as kept and shown by the health endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockCheck {
    /// `ok`, `alert` (offset beyond the threshold), `unreachable` or `disabled`.
    pub status: String,
    pub checked_at: String,
    pub server: Option<String>,
    pub offset_ms: Option<i64>,
    pub delay_ms: Option<i64>,
    pub threshold_ms: i64,
    pub error: Option<String>,
}

/// Asks the configured servers in order; the first answer decides.
pub async fn check(cfg: &TimeConfig) -> ClockCheck {
    let mut c = ClockCheck {
        status: "disabled".into(),
        checked_at: daiko_store::now(),
        server: None,
        offset_ms: None,
        delay_ms: None,
        threshold_ms: cfg.max_offset_ms,
        error: None,
    };
    if cfg.ntp.is_empty() {
        return c;
    }
    let mut errors = Vec::new();
    for server in &cfg.ntp {
        match query(server, cfg.timeout).await {
            Ok(m) => {
                c.status = if m.offset_ms.abs() > cfg.max_offset_ms {
                    "alert"
                } else {
                    "ok"
                }
                .into();
                c.server = Some(server.clone());
                c.offset_ms = Some(m.offset_ms);
                c.delay_ms = Some(m.delay_ms);
                return c;
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    c.status = "unreachable".into();
    c.error = Some(errors.join("; "));
    c
}

/// Checks, keeps the result for the health endpoint, and raises the alert: an ERROR log
/// line and a `clock.offset_alert` audit row with `severity=high` (an unreachable server is
/// a warning and an audit row too, since an unverified clock cannot be trusted).
pub async fn check_and_record(
    store: &Store,
    cfg: &TimeConfig,
) -> Result<ClockCheck, daiko_store::StoreError> {
    let c = check(cfg).await;
    let text =
        serde_json::to_string(&c).map_err(|e| daiko_store::StoreError::Corrupt(e.to_string()))?;
    store.set_setting(SETTING, &text).await?;
    let entry = |action: &str, detail: String| AuditEntry {
        actor: "system".into(),
        role: "system".into(),
        action: action.into(),
        target: c.server.clone().unwrap_or_default(),
        source: "ntp".into(),
        detail,
        ..Default::default()
    };
    match c.status.as_str() {
        "alert" => {
            let off = c.offset_ms.unwrap_or_default();
            tracing::error!(
                offset_ms = off,
                threshold_ms = c.threshold_ms,
                server = c.server.as_deref().unwrap_or(""),
                "ALERT: the clock is off by more than the threshold (S15)"
            );
            store
                .audit(&entry(
                    "clock.offset_alert",
                    format!(
                        "severity=high; offset {off} ms, threshold {} ms",
                        c.threshold_ms
                    ),
                ))
                .await?;
        }
        "unreachable" => {
            tracing::warn!(
                error = c.error.as_deref().unwrap_or(""),
                "no NTP server answered (S15)"
            );
            store
                .audit(&entry(
                    "clock.unverified",
                    format!(
                        "no NTP server answered: {}",
                        c.error.as_deref().unwrap_or("")
                    ),
                ))
                .await?;
        }
        _ => {}
    }
    Ok(c)
}

/// The health endpoint's `clock` field: the last check, or `disabled`/`pending`.
pub async fn health(store: &Store, cfg: &TimeConfig) -> serde_json::Value {
    if cfg.ntp.is_empty() {
        return serde_json::json!({
            "status": "disabled",
            "threshold_ms": cfg.max_offset_ms,
            "note": "no [time] ntp servers configured: the clock offset is not checked",
        });
    }
    let last = store
        .setting(SETTING)
        .await
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_str::<ClockCheck>(&t).ok());
    match last {
        Some(mut c) => {
            c.threshold_ms = cfg.max_offset_ms;
            serde_json::to_value(&c).unwrap_or(serde_json::Value::Null)
        }
        None => serde_json::json!({
            "status": "pending",
            "threshold_ms": cfg.max_offset_ms,
            "servers": cfg.ntp,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_timestamps_round_trip() {
        for nanos in [0i128, 1_764_892_800_123_456_789, 2_000_000_000_999_999_999] {
            let back = from_ntp(to_ntp(nanos));
            assert!((back - nanos).abs() < 2, "{nanos} → {back}");
        }
        // 1970-01-01 is 2208988800 s after 1900-01-01 (RFC 5905).
        assert_eq!(to_ntp(0) >> 32, 2_208_988_800);
    }
}
