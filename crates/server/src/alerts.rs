//! The alert channel (S12): break-glass events are posted as JSON to a webhook configured in
//! `daiko.toml` (`[alerts] webhook = "https://…"`) or `DAIKO_ALERT_WEBHOOK`, besides the
//! ALERT log line. The URL must be HTTPS unless its host is the loopback (a local relay).
//! Every attempt is an audit row: `alert.sent` (with the answer's status) or `alert.failed`
//! (high severity, with the error), so an auditor sees whether the alert got out.
//!
//! The body: `{"system": "daiko", "event": "emergency.use", "severity": "high", "actor": …,
//! "target": …, "detail": …, "at": "2026-…Z"}`.

use std::net::IpAddr;
use std::time::Duration;

use daiko_store::Store;
use daiko_store::audit::AuditEntry;

use crate::config::ConfigError;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Checks a webhook URL from the configuration (`name` is the key or variable): HTTPS, or
/// plain HTTP to a loopback host only.
pub fn parse_webhook(name: &str, value: &str) -> Result<reqwest::Url, ConfigError> {
    let bad = |message: String| ConfigError::Value {
        name: name.to_string(),
        message,
    };
    let url = reqwest::Url::parse(value.trim())
        .map_err(|e| bad(format!("not a URL ({e}): {value:?}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "the webhook URL must not carry credentials (S20)".into()
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| bad(format!("no host in {value:?}")))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|a| a.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(bad(
            "the webhook must use https:// (plain http only to a loopback address)".into(),
        )),
        s => Err(bad(format!("unsupported scheme {s:?}"))),
    }
}

/// One alert.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The event: `emergency.use`, `emergency.declare`, `emergency.close`.
    pub event: String,
    pub actor: String,
    pub target: String,
    pub detail: String,
}

/// Posts `alert` to `webhook` and records the delivery in the audit trail as `who` (the
/// row's actor, role and source). Answers whether the webhook took it (2xx). Without a
/// webhook nothing is sent and `false` is answered (the log line is the only alert).
pub async fn send(
    store: &Store,
    webhook: Option<&reqwest::Url>,
    alert: &Alert,
    who: &AuditEntry,
) -> bool {
    let Some(url) = webhook else {
        return false;
    };
    let body = serde_json::json!({
        "system": "daiko",
        "event": alert.event,
        "severity": "high",
        "actor": alert.actor,
        "target": alert.target,
        "detail": alert.detail,
        "at": daiko_store::now(),
    });
    let result = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client
            .post(url.clone())
            .json(&body)
            .send()
            .await
            .map(|r| r.status()),
        Err(e) => Err(e),
    };
    let host = url.host_str().unwrap_or("").to_string();
    let (action, detail, ok) = match result {
        Ok(status) if status.is_success() => (
            "alert.sent",
            format!(
                "event={}; webhook answered {}",
                alert.event,
                status.as_u16()
            ),
            true,
        ),
        Ok(status) => (
            "alert.failed",
            format!(
                "severity=high; event={}; webhook answered {}",
                alert.event,
                status.as_u16()
            ),
            false,
        ),
        Err(e) => (
            "alert.failed",
            format!("severity=high; event={}; {e}", alert.event),
            false,
        ),
    };
    if !ok {
        tracing::error!(webhook = %host, event = %alert.event, "ALERT not delivered: {detail}");
    }
    let entry = AuditEntry {
        action: action.into(),
        target: format!("webhook:{host}"),
        records: String::new(),
        detail,
        ..who.clone()
    };
    if let Err(e) = store.audit(&entry).await {
        tracing::error!(error = %e, "alert delivery not recorded");
    }
    ok
}
