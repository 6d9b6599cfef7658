//! Job-kind pauses over the API (S24 degraded mode), the same as `daiko jobs`: an
//! administrator stops one pipeline job kind in every process (its jobs wait queued) and
//! resumes it; staff read each kind's state and counts. The pause is a row the claim reads
//! (`daiko_store::jobs`), so it needs no restart.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use daiko_pipeline::worker::KINDS;
use serde_json::{Value, json};

use super::{Writer, parse_json, read_limited};
use crate::AppState;
use crate::caller::{Caller, require_role};
use crate::error::ApiError;

const BODY_LIMIT: u64 = 16 * 1024;

pub(super) fn routes() -> Vec<super::RouteEntry> {
    use super::{GET, POST};
    let r = |path, methods| super::ApiRoute { path, methods };
    vec![
        (r("/api/v1/jobs", GET), get(status)),
        (r("/api/v1/jobs/{kind}/pause", POST), post(pause)),
        (r("/api/v1/jobs/{kind}/resume", POST), post(resume)),
    ]
}

/// `GET /api/v1/jobs` (admin, operator): every job kind, paused or running, with its jobs by
/// state.
async fn status(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    require_role(&caller, &["admin", "operator"])?;
    let pauses = state.store.job_pauses().await?;
    let counts = state.store.job_counts_by_kind().await?;
    let kinds: Vec<Value> = KINDS
        .iter()
        .map(|k| {
            json!({
                "kind": k,
                "paused": pauses.iter().find(|p| p.kind == *k),
                "jobs": counts
                    .iter()
                    .find(|c| c.kind == *k)
                    .map(|c| c.counts.clone())
                    .unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({ "kinds": kinds })).into_response())
}

fn known_kind(kind: &str) -> Result<&'static str, ApiError> {
    KINDS.iter().copied().find(|k| *k == kind).ok_or_else(|| {
        ApiError::bad_request(
            format!("ジョブの種類 {kind:?} はありません({})。", KINDS.join(", ")),
            format!("No job kind {kind:?} (one of {}).", KINDS.join(", ")),
        )
    })
}

/// `POST /api/v1/jobs/{kind}/pause` (admin) `{"reason": "…"}`: every worker of every process
/// skips the kind from its next claim; audited `jobs.pause`. Answers whether it changed.
async fn pause(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let kind = known_kind(&kind)?;
    let raw = read_limited(&headers, body, BODY_LIMIT).await?;
    let reason = if raw.iter().all(u8::is_ascii_whitespace) {
        String::new()
    } else {
        let v: Value = parse_json(&raw)?;
        v.get("reason")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let entry = caller.audit("jobs.pause", format!("job_kind:{kind}"), "", reason.clone());
    let changed = state.store.pause_job_kind(kind, &reason, &entry).await?;
    Ok(Json(json!({"kind": kind, "paused": true, "changed": changed})).into_response())
}

/// `POST /api/v1/jobs/{kind}/resume` (admin): the kind's waiting jobs run again; audited
/// `jobs.resume`. Answers whether it changed.
async fn resume(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let kind = known_kind(&kind)?;
    let entry = caller.audit("jobs.resume", format!("job_kind:{kind}"), "", "");
    let changed = state.store.resume_job_kind(kind, &entry).await?;
    Ok(Json(json!({"kind": kind, "paused": false, "changed": changed})).into_response())
}
