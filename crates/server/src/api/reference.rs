//! Insurers' reference data (受診券発行台帳, 資格情報, 契約) uploaded as CSV
//! (docs/reference-data.md); one upload replaces that kind of the insurer's data.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use daiko_pipeline::reference::{ImportError, RefKind, import_csv};
use daiko_store::orgs::{Org, OrgKind};
use serde::Deserialize;
use serde_json::json;

use super::submissions::query;
use super::{Writer, audit, read_limited};
use crate::AppState;
use crate::caller::{Caller, require_role};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
struct RefQuery {
    /// 保険者番号 (required for agency staff; optional for insurer users, must be their own).
    insurer: Option<String>,
}

/// The insurer the data is for: an insurer user's own organisation (another number is
/// outside its tenancy: 404), or the one an operator names.
async fn target_insurer(
    state: &AppState,
    caller: &Caller,
    number: Option<&str>,
) -> Result<Org, ApiError> {
    if caller.is("insurer") {
        let own = caller.org.clone().ok_or_else(ApiError::not_found)?;
        if number.is_some_and(|n| n != own.number) || own.kind != OrgKind::Insurer {
            return Err(ApiError::not_found());
        }
        return Ok(own);
    }
    let Some(number) = number.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "保険者番号を insurer で指定してください。",
            "Name the insurer with `insurer=NUMBER`.",
        ));
    };
    match state.store.org_by_number(number).await? {
        Some(o) if o.kind == OrgKind::Insurer => Ok(o),
        _ => Err(ApiError::bad_request(
            format!("保険者番号 {number} の保険者は登録されていません。"),
            format!("No insurer with number {number} is registered."),
        )),
    }
}

/// `POST /api/v1/reference/{kind}?insurer=NUMBER` (body: text/csv) → `{"rows": n}`.
pub(super) async fn upload(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(kind): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["insurer", "operator", "emergency"])?;
    let Some(ref_kind) = RefKind::parse(&kind)
        .filter(|_| matches!(kind.as_str(), "vouchers" | "coverage" | "contracts"))
    else {
        return Err(ApiError::not_found());
    };
    let q: RefQuery = query(&uri)?;
    let insurer = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let bytes = read_limited(&headers, body, state.config.max_upload_bytes).await?;
    let rows = match import_csv(&state.store, &insurer, ref_kind, &bytes, &caller.user.login).await
    {
        Ok(n) => n,
        Err(ImportError::Store(e)) => return Err(ApiError::internal(e)),
        Err(e) => {
            return Err(ApiError::bad_request(
                format!(
                    "{} を取り込めません(何も変更していません): {e}",
                    ref_kind.file_name()
                ),
                format!(
                    "{} was not imported (nothing changed): {e}",
                    ref_kind.file_name()
                ),
            ));
        }
    };
    audit(
        &state,
        &caller,
        "reference.upload",
        format!("insurer:{}", insurer.number),
        String::new(),
        json!({"kind": kind, "rows": rows, "bytes": bytes.len()}).to_string(),
    )
    .await?;
    Ok(Json(json!({ "kind": kind, "insurer": insurer.number, "rows": rows })).into_response())
}
