//! The JSON API under `/api/v1` (PRODUCT.md "HTTP API"; documented in docs/api.md and the
//! OpenAPI document at `/api/v1/openapi.json`).
//!
//! Every route except `health` and `openapi.json` extracts a [`Caller`] (401 without
//! credentials, S1). Who may do what is decided per handler with [`require_role`] and the
//! tenancy helpers of [`crate::caller`]; anything outside the caller's role or tenancy
//! answers 404, never 403 (S8, S9). Mutating requests of portal sessions (cookie callers)
//! must carry the session's CSRF token in `X-CSRF-Token` ([`Writer`]). Every read of
//! personal data writes an audit row naming the records before the data leaves (S13): if
//! the audit row cannot be written, the answer is 500 and nothing is disclosed.

mod admin;
pub(crate) mod billing;
mod contracts;
mod deliveries;
mod governance;
mod invitations;
mod jobs;
mod reference;
mod submissions;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::json;

use crate::AppState;
use crate::caller::Caller;
use crate::error::ApiError;

pub use submissions::render_pdf;

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// One API route: its path template and the methods it answers. [`routes`] is built from
/// the same table as [`route_list`], so the list is the router (the tenancy walk in
/// `tests/tenancy.rs` classifies every entry and fails on an unclassified one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRoute {
    pub path: &'static str,
    pub methods: &'static [&'static str],
}

pub(crate) type RouteEntry = (ApiRoute, MethodRouter<AppState>);

pub(crate) const GET: &[&str] = &["GET"];
pub(crate) const POST: &[&str] = &["POST"];
pub(crate) const GET_POST: &[&str] = &["GET", "POST"];
pub(crate) const GET_PUT: &[&str] = &["GET", "PUT"];

/// Every API route with its handlers.
fn table() -> Vec<RouteEntry> {
    let r = |path, methods| ApiRoute { path, methods };
    let mut t: Vec<RouteEntry> = vec![
        (r("/api/v1/health", GET), get(health)),
        (r("/api/v1/openapi.json", GET), get(openapi)),
        (
            r("/api/v1/submissions", GET_POST),
            post(submissions::upload)
                .layer(axum::extract::DefaultBodyLimit::disable())
                .get(submissions::list),
        ),
        (r("/api/v1/submissions/{id}", GET), get(submissions::show)),
        (
            r("/api/v1/submissions/{id}/report", GET),
            get(submissions::report),
        ),
        (
            r("/api/v1/records/{id}/lineage", GET),
            get(submissions::lineage),
        ),
        (r("/api/v1/deliveries", GET), get(deliveries::list)),
        (
            r("/api/v1/deliveries/{id}/archive", GET),
            get(deliveries::archive),
        ),
        (
            r("/api/v1/deliveries/{id}/receipt", POST),
            post(deliveries::receipt),
        ),
        (
            r("/api/v1/reference/{kind}", POST),
            post(reference::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (
            r("/api/v1/orgs", GET_POST),
            get(admin::list_orgs).post(admin::create_org),
        ),
        (
            r("/api/v1/users", GET_POST),
            get(admin::list_users).post(admin::create_user),
        ),
        (r("/api/v1/audit", GET), get(admin::audit_search)),
        (r("/api/v1/audit/verify", GET), get(admin::audit_verify)),
    ];
    t.extend(invitations::routes());
    t.extend(contracts::routes());
    t.extend(billing::routes());
    t.extend(jobs::routes());
    t.extend([
        (
            r("/api/v1/audit/review", GET),
            get(governance::audit_review),
        ),
        (
            r("/api/v1/users/{login}/reset", POST),
            post(governance::reset_user),
        ),
        (
            r("/api/v1/users/{login}/role", POST),
            post(governance::change_role),
        ),
        (
            r("/api/v1/approvals", GET_POST),
            get(governance::list_approvals).post(governance::request_approval),
        ),
        (
            r("/api/v1/approvals/{id}/approve", POST),
            post(governance::approve),
        ),
        (
            r("/api/v1/approvals/{id}/reject", POST),
            post(governance::reject),
        ),
        (
            r("/api/v1/maintenance/tickets", POST),
            post(governance::request_ticket),
        ),
        (
            r("/api/v1/maintenance/tickets/{ticket}/report", GET),
            get(governance::ticket_report),
        ),
    ]);
    t
}

/// The routes of the API.
pub fn routes() -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |router, (r, m)| router.route(r.path, m))
}

/// Every API route (path template and methods), in the order of the router.
pub fn route_list() -> Vec<ApiRoute> {
    table().into_iter().map(|(r, _)| r).collect()
}

/// A caller allowed to change something: portal sessions must echo their CSRF token in
/// `X-CSRF-Token` (bearer-token callers are not exposed to cross-site requests).
pub struct Writer(pub Caller);

/// Name of the CSRF header for cookie callers.
pub const CSRF_HEADER: &str = "x-csrf-token";

impl FromRequestParts<AppState> for Writer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = Caller::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(session) = &caller.session {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            let ok = !session.csrf.is_empty()
                && aws_lc_rs::constant_time::verify_slices_are_equal(sent, session.csrf.as_bytes())
                    .is_ok();
            if !ok {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "セッションの確認トークン(X-CSRF-Token)がありません。画面を再読み込みしてください。",
                    "Missing or wrong X-CSRF-Token for this session. Reload the page.",
                )
                .into_response());
            }
        }
        Ok(Writer(caller))
    }
}

/// Writes an audit row for `caller`; the request fails (500) when it cannot be written, so
/// personal data never leaves without its audit record (S13).
async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: String,
    records: String,
    detail: String,
) -> Result<(), ApiError> {
    state
        .store
        .audit(&caller.audit(action, target, records, detail))
        .await?;
    Ok(())
}

/// Reads a request body up to `limit` bytes (413 beyond), checking `Content-Length` first.
async fn read_limited(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: u64,
) -> Result<Vec<u8>, ApiError> {
    if content_length(headers).is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                format!("本文を受信できませんでした: {e}"),
                format!("could not read the request body: {e}"),
            )
        })?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(ApiError::too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The declared `Content-Length`, when present and numeric.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// A JSON body, with a JSON 400 (not axum's plain-text rejection) when it does not parse.
fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            format!("JSON の形式が正しくありません: {e}"),
            format!("invalid JSON body: {e}"),
        )
    })
}

/// `GET /api/v1/health` — public; database kind, job counts, paused job kinds and the time.
/// No personal data.
async fn health(State(state): State<AppState>) -> Response {
    let database = match state.store.backend() {
        daiko_store::Backend::Sqlite => "sqlite",
        daiko_store::Backend::Postgres => "postgres",
    };
    let time_utc = daiko_store::now();
    let clock = crate::clock::health(&state.store, &state.config.time).await;
    let counts = async {
        let jobs = state.store.job_counts().await?;
        let paused = state.store.job_pauses().await?;
        Ok::<_, daiko_store::StoreError>((jobs, paused))
    };
    match counts.await {
        Ok((jobs, paused)) => Json(json!({
            "status": "ok",
            "database": database,
            "jobs": jobs,
            // Job kinds an administrator paused (S24, `daiko jobs pause`): their work waits.
            "paused_jobs": paused.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(),
            "time_utc": time_utc,
            "clock": clock,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "error",
                    "database": database,
                    "jobs": null,
                    "time_utc": time_utc,
                })),
            )
                .into_response()
        }
    }
}

/// `GET /api/v1/openapi.json` — public.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}
