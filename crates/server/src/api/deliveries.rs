//! Deliveries (送付): archives built for a recipient — 種別3 and 種別11 for insurers,
//! 種別2 returns for institutions. Listed, downloaded and acknowledged by the recipient.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use daiko_store::submissions::Delivery;
use serde::Deserialize;
use serde_json::{Value, json};

use super::submissions::{org_numbers, query, safe_filename};
use super::{Writer, audit};
use crate::AppState;
use crate::caller::{Caller, require_role};
use crate::error::ApiError;

/// 種別 a recipient of the caller's role receives.
fn kinds_for(caller: &Caller) -> &'static [i64] {
    match caller.role() {
        "insurer" => &[3, 11],
        "institution" => &[2],
        _ => &[2, 3, 11],
    }
}

/// Whether the caller may see a delivery: its recipient (of the matching kinds) or agency
/// staff.
fn may_see(caller: &Caller, d: &Delivery) -> bool {
    caller.is_agency_staff()
        || (matches!(caller.role(), "insurer" | "institution")
            && caller.org_id() == Some(d.recipient_id.as_str())
            && kinds_for(caller).contains(&d.kind))
}

async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<Delivery, ApiError> {
    require_role(caller, &["insurer", "institution", "operator", "emergency"])?;
    let d = state
        .store
        .delivery(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !may_see(caller, &d) {
        return Err(ApiError::not_found());
    }
    Ok(d)
}

/// The record ids in a delivery, comma separated (for the audit row).
///
/// The store has no "records of a delivery" query yet, so this reads the records of the
/// delivery's submission and keeps those pointing at it; a batched delivery without one
/// submission is audited with the delivery id only (see the report to the lead).
async fn record_ids(state: &AppState, d: &Delivery) -> Result<String, ApiError> {
    Ok(state
        .store
        .records_of_delivery(&d.id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect::<Vec<_>>()
        .join(","))
}

fn view(d: &Delivery, recipient_number: &str) -> Value {
    json!({
        "id": d.id,
        "insurer": recipient_number,
        "recipient": recipient_number,
        "kind": d.kind,
        "archive_name": d.archive_name,
        "sha256": d.sha256,
        "records": d.records,
        "claim_total": d.claim_total,
        "created_at": d.created_at,
        "received_at": d.received_at,
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    /// `1`: only deliveries not yet acknowledged.
    new: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/deliveries[?new=1]` — recipient-scoped; agency staff see all.
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    require_role(
        &caller,
        &["insurer", "institution", "operator", "emergency"],
    )?;
    let q: ListQuery = query(&uri)?;
    let only_new = matches!(q.new.as_deref(), Some("1" | "true" | "yes"));
    let recipient = if caller.is_agency_staff() {
        None
    } else {
        Some(caller.org_id().ok_or_else(ApiError::not_found)?.to_string())
    };
    let all = state
        .store
        .deliveries(recipient.as_deref(), q.limit.unwrap_or(1000))
        .await?;
    let numbers = org_numbers(&state).await?;
    let items: Vec<Value> = all
        .iter()
        .filter(|d| may_see(&caller, d))
        .filter(|d| !only_new || d.received_at.is_none())
        .map(|d| {
            view(
                d,
                numbers
                    .get(&d.recipient_id)
                    .map(String::as_str)
                    .unwrap_or(""),
            )
        })
        .collect();
    Ok(Json(json!({ "deliveries": items })).into_response())
}

/// `GET /api/v1/deliveries/{id}/archive` — the ZIP (audited `delivery.download`).
pub(super) async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let d = visible(&state, &caller, &id).await?;
    let bytes = state.store.blobs().get(&d.blob_key).await?;
    let records = record_ids(&state, &d).await?;
    audit(
        &state,
        &caller,
        "delivery.download",
        format!("delivery:{}", d.id),
        records,
        json!({"archive": d.archive_name, "kind": d.kind, "records": d.records}).to_string(),
    )
    .await?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        safe_filename(&d.archive_name)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/v1/deliveries/{id}/receipt` — the recipient acknowledges receipt; idempotent
/// (the first acknowledgement's time is kept and answered every time).
pub(super) async fn receipt(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // Only the recipient itself acknowledges: staff seeing a delivery is not its receipt.
    require_role(&caller, &["insurer", "institution"])?;
    let d = visible(&state, &caller, &id).await?;
    let first = state
        .store
        .acknowledge_delivery(&d.id, &caller.user.login)
        .await?;
    let d = state
        .store
        .delivery(&d.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if first {
        let records = record_ids(&state, &d).await?;
        audit(
            &state,
            &caller,
            "delivery.receipt",
            format!("delivery:{}", d.id),
            records,
            json!({"archive": d.archive_name}).to_string(),
        )
        .await?;
    }
    Ok(Json(json!({
        "id": d.id,
        "received_at": d.received_at,
        "received_by": d.received_by,
    }))
    .into_response())
}
