//! Contracts (契約) as versioned data (docs/reference-data.md, docs/api.md):
//!
//! * `GET /api/v1/contracts?insurer=N&fiscal_year=Y[&format=csv]` — the current contracts.
//!   Agency staff: every insurer's (or one). An insurer's users: the contracts binding
//!   their insurer (its own and the collective contracts it is a member of); with
//!   `format=csv` its own, in the `contracts.csv` format import reads.
//! * `GET /api/v1/contracts/{insurer}/{contract_id}` — the current version and every
//!   version before it.
//! * `PUT /api/v1/contracts/{insurer}/{contract_id}` — agency staff only; body
//!   `{"version": N | null, "contract": {…}}` where `version` is the version the edit
//!   started from (`null` creates a contract). Saves a new version; 409 when another
//!   version was saved meanwhile. Insurers' users read only (they load their contracts as
//!   CSV through `/api/v1/reference/contracts`).
//!
//! Outside the caller's tenancy the answer is 404. Every call writes an audit row.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use daiko_check::reference::Contract;
use daiko_pipeline::contracts::{self, EditError};
use daiko_store::orgs::{Org, OrgKind};
use serde::Deserialize;
use serde_json::json;

use super::submissions::query;
use super::{Writer, audit, parse_json, read_limited};
use crate::AppState;
use crate::caller::{AGENCY_ROLES, Caller, require_role};
use crate::error::ApiError;

const READ_ROLES: [&str; 3] = ["insurer", "operator", "emergency"];

pub(super) fn routes() -> Vec<super::RouteEntry> {
    let r = |path, methods| super::ApiRoute { path, methods };
    vec![
        (r("/api/v1/contracts", super::GET), get(list)),
        (
            r("/api/v1/contracts/{insurer}/{contract_id}", super::GET_PUT),
            get(show).put(update),
        ),
    ]
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    insurer: Option<String>,
    fiscal_year: Option<i32>,
    format: Option<String>,
}

/// The insurer organisation of a number (404 when there is none).
async fn insurer_org(state: &AppState, number: &str) -> Result<Org, ApiError> {
    let padded = format!("{:0>8}", number.trim());
    match state.store.org_by_number(&padded).await? {
        Some(o) if o.kind == OrgKind::Insurer => Ok(o),
        _ => Err(ApiError::not_found()),
    }
}

/// An insurer user's own insurer number (`None` for agency staff).
fn own_insurer(caller: &Caller) -> Result<Option<String>, ApiError> {
    if AGENCY_ROLES.contains(&caller.role()) {
        return Ok(None);
    }
    match &caller.org {
        Some(o) if caller.is("insurer") && o.kind == OrgKind::Insurer => Ok(Some(o.number.clone())),
        _ => Err(ApiError::not_found()),
    }
}

/// `GET /api/v1/contracts`.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    require_role(&caller, &READ_ROLES)?;
    let q: ListQuery = query(&uri)?;
    let own = own_insurer(&caller)?;
    let wanted = q.insurer.as_deref().filter(|n| !n.is_empty());
    if let (Some(own), Some(w)) = (&own, wanted)
        && format!("{w:0>8}") != *own
    {
        return Err(ApiError::not_found());
    }
    let number = match (&own, wanted) {
        (Some(own), _) => Some(own.clone()),
        (None, Some(w)) => Some(insurer_org(&state, w).await?.number),
        (None, None) => None,
    };
    let csv = q.format.as_deref() == Some("csv");
    audit(
        &state,
        &caller,
        "contracts.read",
        format!("contracts:{}", number.as_deref().unwrap_or("*")),
        String::new(),
        json!({ "fiscal_year": q.fiscal_year, "format": q.format }).to_string(),
    )
    .await?;
    if csv {
        let bytes = contracts::export_csv(&state.store, number.as_deref(), q.fiscal_year).await?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"contracts.csv\"",
                ),
            ],
            bytes,
        )
            .into_response());
    }
    let list = match (&own, &number) {
        (Some(own), _) => contracts::binding(&state.store, own, q.fiscal_year).await?,
        (None, n) => contracts::current(&state.store, n.as_deref(), q.fiscal_year).await?,
    };
    Ok(Json(json!({ "contracts": list })).into_response())
}

/// The contract's history when the caller may read it (404 otherwise).
async fn readable(
    state: &AppState,
    caller: &Caller,
    insurer: &str,
    contract_id: &str,
) -> Result<(Org, Vec<contracts::StoredContract>), ApiError> {
    let org = insurer_org(state, insurer).await?;
    let versions = contracts::history(&state.store, &org.number, Some(contract_id)).await?;
    let Some(current) = versions.last() else {
        return Err(ApiError::not_found());
    };
    if let Some(own) = own_insurer(caller)? {
        // The holder reads its contract; a member insurer reads the collective contract
        // that binds it (as it is now).
        let member =
            !current.version.withdrawn && current.contract.insurers().contains(&own.as_str());
        if own != org.number && !member {
            return Err(ApiError::not_found());
        }
    }
    Ok((org, versions))
}

/// `GET /api/v1/contracts/{insurer}/{contract_id}`.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((insurer, contract_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    require_role(&caller, &READ_ROLES)?;
    let (org, versions) = readable(&state, &caller, &insurer, &contract_id).await?;
    audit(
        &state,
        &caller,
        "contracts.read",
        format!("contract:{}:{contract_id}", org.number),
        String::new(),
        json!({ "versions": versions.len() }).to_string(),
    )
    .await?;
    Ok(Json(json!({
        "current": versions.last(),
        "versions": versions,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct UpdateBody {
    /// The version the edit started from; `null` creates a contract.
    version: Option<i64>,
    contract: Contract,
}

/// `PUT /api/v1/contracts/{insurer}/{contract_id}` (agency staff).
async fn update(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path((insurer, contract_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &AGENCY_ROLES)?;
    let org = insurer_org(&state, &insurer).await?;
    let bytes = read_limited(&headers, body, 1 << 20).await?;
    let mut req: UpdateBody = parse_json(&bytes)?;
    if req.contract.contract_id.is_empty() {
        req.contract.contract_id = contract_id.clone();
    }
    if req.contract.insurer.is_empty() {
        req.contract.insurer = org.number.clone();
    }
    if req.contract.contract_id != contract_id {
        return Err(ApiError::bad_request(
            "本文の contract_id が URL の契約番号と異なります。",
            "contract_id in the body differs from the contract id of the URL.",
        ));
    }
    let who = caller.audit("", String::new(), String::new(), String::new());
    match contracts::save_edit(&state.store, &org, &req.contract, req.version, &who).await {
        Ok(saved) => Ok(Json(json!({ "contract": saved })).into_response()),
        Err(EditError::Store(e)) => Err(ApiError::internal(e)),
        Err(e @ EditError::Stale { .. }) => {
            let (ja, en) = e.messages();
            Err(ApiError::new(StatusCode::CONFLICT, "stale", ja, en))
        }
        Err(e) => {
            let (ja, en) = e.messages();
            Err(ApiError::bad_request(ja, en))
        }
    }
}
