//! Governance routes (issue 6): the auditors' review (S16), password resets with the
//! identity ledger (S7), four-eyes approvals (S10) and maintenance tickets (S11). The rules
//! live in [`crate::governance`]; these handlers authenticate, check the role and answer.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use daiko_store::orgs::OrgKind;
use serde::Deserialize;
use serde_json::{Value, json};

use super::submissions::query;
use super::{Writer, audit, parse_json, read_limited};
use crate::AppState;
use crate::caller::{Caller, require_role};
use crate::error::ApiError;
use crate::governance::{self as gov, GovError, IdentityCheck};

const BODY_LIMIT: u64 = 64 * 1024;

impl From<GovError> for ApiError {
    fn from(e: GovError) -> Self {
        let (status, code) = match &e {
            GovError::Invalid { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            GovError::NotFound(_) => return ApiError::not_found(),
            GovError::OwnRequest => (StatusCode::FORBIDDEN, "own_request"),
            GovError::NotPending(_) => (StatusCode::CONFLICT, "not_pending"),
            GovError::Store(_) | GovError::Internal(_) => return ApiError::internal(e),
        };
        ApiError::new(status, code, e.message_ja(), e.message_en())
    }
}

#[derive(Debug, Deserialize)]
struct ReviewParams {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/audit/review?from=&to=[&format=json|csv]` (auditor, admin): the events of
/// a period auditors must look at (S16). An insurer's auditor sees its own organisation's.
pub(super) async fn audit_review(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    require_role(&caller, &["auditor", "admin"])?;
    let p: ReviewParams = query(&uri)?;
    let (Some(from), Some(to)) = (p.from, p.to) else {
        return Err(ApiError::bad_request(
            "from と to(YYYY-MM-DD または RFC 3339)を指定してください。",
            "from and to (YYYY-MM-DD or RFC 3339) are required.",
        ));
    };
    let (since, until) = gov::review_period(&from, &to)?;
    let org = caller
        .org
        .as_ref()
        .filter(|o| o.kind != OrgKind::Agency)
        .map(|o| o.number.clone());
    let rows = state
        .store
        .audit_period(&since, &until, None, org.as_deref())
        .await?;
    let items = gov::review(&rows, &state.config.service_hours, &state.config.review);
    audit(
        &state,
        &caller,
        "audit.review",
        "audit".into(),
        String::new(),
        json!({"since": since, "until": until, "org": org, "items": items.len()}).to_string(),
    )
    .await?;
    match p.format.as_deref().unwrap_or("json") {
        "csv" => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            gov::review_csv(&items),
        )
            .into_response()),
        "json" => Ok(Json(json!({
            "since": since,
            "until": until,
            "thresholds": {
                "bulk_records": state.config.review.bulk_records,
                "bulk_downloads": state.config.review.bulk_downloads,
            },
            "items": items,
        }))
        .into_response()),
        other => Err(ApiError::bad_request(
            format!("format は json か csv です: {other:?}"),
            format!("format must be json or csv: {other:?}"),
        )),
    }
}

/// `POST /api/v1/users/{login}/reset` (admin) with the identity check
/// `{verified_by, checked_by, note}`: the one-time code in this answer only (S7).
pub(super) async fn reset_user(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(login): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let check: IdentityCheck = parse_json(&read_limited(&headers, body, BODY_LIMIT).await?)?;
    let user = state
        .store
        .user_by_login(&login)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let issued =
        gov::issue_reset(&state.store, &user, &check, caller.audit("", "", "", "")).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "login": user.login,
            "reset_id": issued.reset.id,
            "reset_code": issued.code,
            "expires_at": issued.reset.expires_at,
            "redeem_at": "/login/reset",
            "verified_by": issued.reset.verified_by,
            "checked_by": issued.reset.checked_by,
        })),
    )
        .into_response())
}

/// Files a role grant as `caller` and answers 202 with the pending approval.
pub(super) async fn role_grant_request(
    state: &AppState,
    caller: &Caller,
    grant: gov::RoleGrant,
) -> Result<Response, ApiError> {
    let payload = serde_json::to_value(&grant).map_err(ApiError::internal)?;
    let a = gov::request(
        &state.store,
        &state.agency,
        "role_grant",
        &payload,
        caller.audit("", "", "", ""),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "pending",
            "approval": a,
            "message_ja": "二者承認が必要です。別の管理者が承認すると実行されます。",
            "message_en": "This needs four-eyes approval: it runs when another administrator approves it.",
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

/// `POST /api/v1/users/{login}/role` (admin) `{role}`: a pending role grant (S10).
pub(super) async fn change_role(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(login): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let b: RoleBody = parse_json(&read_limited(&headers, body, BODY_LIMIT).await?)?;
    role_grant_request(
        &state,
        &caller,
        gov::RoleGrant {
            op: "change".into(),
            login,
            role: b.role,
            org: None,
            name: None,
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct ListParams {
    status: Option<String>,
}

/// `GET /api/v1/approvals?status=` (admin).
pub(super) async fn list_approvals(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let p: ListParams = query(&uri)?;
    let list = state
        .store
        .approvals(p.status.as_deref().filter(|s| !s.is_empty()))
        .await?;
    Ok(Json(json!({ "approvals": list })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    kind: String,
    payload: Value,
}

/// `POST /api/v1/approvals` (admin) `{kind, payload}`: bulk reprocessing or destruction
/// (role grants and tickets have their own routes, which file the same requests).
pub(super) async fn request_approval(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let b: RequestBody = parse_json(&read_limited(&headers, body, BODY_LIMIT).await?)?;
    let a = gov::request(
        &state.store,
        &state.agency,
        &b.kind,
        &b.payload,
        caller.audit("", "", "", ""),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "pending", "approval": a})),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    #[serde(default)]
    reason: String,
}

async fn decision(
    state: AppState,
    caller: Caller,
    id: String,
    headers: HeaderMap,
    body: Body,
    approve: bool,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let bytes = read_limited(&headers, body, BODY_LIMIT).await?;
    let b: DecisionBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        parse_json(&bytes)?
    };
    let d = gov::decide(
        &state.store,
        &state.agency,
        &id,
        approve,
        &b.reason,
        caller.audit("", "", "", ""),
    )
    .await?;
    Ok(Json(json!({"approval": d.approval, "outcome": d.outcome})).into_response())
}

/// `POST /api/v1/approvals/{id}/approve` (admin other than the requester): approves and
/// runs the action; a new account's initial password and TOTP URI are in this answer only.
pub(super) async fn approve(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    decision(state, caller, id, headers, body, true).await
}

/// `POST /api/v1/approvals/{id}/reject` (admin other than the requester) `{reason}`.
pub(super) async fn reject(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    decision(state, caller, id, headers, body, false).await
}

/// `POST /api/v1/maintenance/tickets` (admin) `{ticket, login, from, to, description}`: a
/// pending ticket (S11) that takes effect when a second administrator approves it.
pub(super) async fn request_ticket(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let payload: Value = parse_json(&read_limited(&headers, body, BODY_LIMIT).await?)?;
    let a = gov::request(
        &state.store,
        &state.agency,
        "maintenance_ticket",
        &payload,
        caller.audit("", "", "", ""),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "pending", "approval": a})),
    )
        .into_response())
}

/// `GET /api/v1/maintenance/tickets/{ticket}/report` (auditor, admin of the agency): the
/// ticket and every action of its account since the window opened (S11).
pub(super) async fn ticket_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(ticket): Path<String>,
) -> Result<Response, ApiError> {
    require_role(&caller, &["auditor", "admin"])?;
    if caller
        .org
        .as_ref()
        .is_some_and(|o| o.kind != OrgKind::Agency)
    {
        return Err(ApiError::not_found());
    }
    let r = gov::ticket_report(&state.store, &ticket).await?;
    audit(
        &state,
        &caller,
        "maintenance.report",
        format!("ticket:{ticket}"),
        String::new(),
        format!("{} actions", r.actions.len()),
    )
    .await?;
    Ok(Json(json!(r)).into_response())
}
