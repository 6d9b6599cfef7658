//! The alert channel (S12): break-glass events are posted as JSON to a webhook configured in
//! `daiko.toml` (`[alerts] webhook = "https://…"`) or `DAIKO_ALERT_WEBHOOK`, besides the
//! ALERT log line. The URL must be HTTPS unless its host is the loopback (a local relay).
//! Every attempt is an audit row: `alert.sent` (with the answer's status) or `alert.failed`
//! (high severity, with the error), so an auditor sees whether the alert got out. An alert
//! is kept in the store's outbox until the webhook takes it: one the receiver did not take
//! is posted again by `serve` ([`retry_due`], every `[alerts] retry_seconds`, default 30)
//! after a pause that grows to 15 minutes, also after a restart.
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

/// Raises `alert`: keeps it in the outbox (`daiko_store::alerts`), posts it to `webhook` at
/// once and records the attempt in the audit trail as `who` (the row's actor, role and
/// source). Answers whether the webhook took it (2xx); when it did not, the alert stays in
/// the outbox and [`retry_due`] posts it again later. Without a webhook nothing is kept or
/// sent and `false` is answered (the log line is the only alert).
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
    })
    .to_string();
    let kept = match store.enqueue_alert(&alert.event, &body).await {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(error = %e, "ALERT could not be kept for retries");
            None
        }
    };
    match kept {
        Some(id) => deliver(store, url, &id, who, false).await == Some(true),
        None => {
            // The database is what failed: still try the receiver once, it is the alert
            // that matters.
            let (ok, detail) = post(url, &body, &alert.event, 1).await;
            record(store, url, ok, detail, who).await;
            ok
        }
    }
}

/// Posts every alert of the outbox whose retry time has come (alerts raised by any process,
/// also by a command such as `daiko emergency declare` while the receiver was down). The
/// attempts are audited as `system`. Answers how many the webhook took.
pub async fn retry_due(store: &Store, webhook: &reqwest::Url) -> usize {
    let who = AuditEntry {
        actor: "system".into(),
        role: "system".into(),
        source: "alerts".into(),
        ..Default::default()
    };
    let ids = match store.due_alerts(100).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "reading the alert outbox failed");
            return 0;
        }
    };
    let mut delivered = 0;
    for id in ids {
        if deliver(store, webhook, &id, &who, true).await == Some(true) {
            delivered += 1;
        }
    }
    delivered
}

/// The pause after failed attempt `attempts`: none after the first (the next tick of
/// [`retry_due`] tries again), then 30 s, doubling, at most 15 minutes. An alert is never
/// given up: each failed attempt is a high-severity audit row until one succeeds.
pub fn retry_after(attempts: i64) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let doublings = (attempts - 2).clamp(0, 5) as u32;
    Duration::from_secs((30u64 << doublings).min(15 * 60))
}

/// How long one sender holds an alert before another may try it.
const LEASE: Duration = Duration::from_secs(60);

/// One attempt at alert `id`, if it can be claimed. `None`: another sender holds it, it was
/// delivered meanwhile, or (with `due_only`) its time has not come.
async fn deliver(
    store: &Store,
    url: &reqwest::Url,
    id: &str,
    who: &AuditEntry,
    due_only: bool,
) -> Option<bool> {
    let pending = match store.claim_alert(id, LEASE, due_only).await {
        Ok(p) => p?,
        Err(e) => {
            tracing::error!(error = %e, "claiming an alert failed");
            return None;
        }
    };
    let (ok, detail) = post(url, &pending.body, &pending.event, pending.attempts).await;
    let kept = if ok {
        store.alert_delivered(id).await
    } else {
        store
            .alert_failed(id, &detail, retry_after(pending.attempts))
            .await
    };
    if let Err(e) = kept {
        tracing::error!(error = %e, "the alert outbox could not be updated");
    }
    record(store, url, ok, detail, who).await;
    Some(ok)
}

/// Posts `body`; answers whether the receiver took it and the audit detail.
async fn post(url: &reqwest::Url, body: &str, event: &str, attempt: i64) -> (bool, String) {
    let result = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map(|r| r.status()),
        Err(e) => Err(e),
    };
    match result {
        Ok(status) if status.is_success() => (
            true,
            format!(
                "event={event}; attempt={attempt}; webhook answered {}",
                status.as_u16()
            ),
        ),
        Ok(status) => (
            false,
            format!(
                "severity=high; event={event}; attempt={attempt}; webhook answered {}",
                status.as_u16()
            ),
        ),
        Err(e) => (
            false,
            format!("severity=high; event={event}; attempt={attempt}; {e}"),
        ),
    }
}

/// The audit row of one attempt: `alert.sent` or `alert.failed`.
async fn record(store: &Store, url: &reqwest::Url, ok: bool, detail: String, who: &AuditEntry) {
    let host = url.host_str().unwrap_or("").to_string();
    if !ok {
        tracing::error!(webhook = %host, "ALERT not delivered (kept for a retry): {detail}");
    }
    let entry = AuditEntry {
        action: if ok { "alert.sent" } else { "alert.failed" }.into(),
        target: format!("webhook:{host}"),
        records: String::new(),
        detail,
        ..who.clone()
    };
    if let Err(e) = store.audit(&entry).await {
        tracing::error!(error = %e, "alert delivery not recorded");
    }
}
