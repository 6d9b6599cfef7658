//! Submissions (受付): upload with the receipt (データ受領書), list, the check report in
//! JSON/CSV/PDF, and a record's lineage (submission → record → delivery).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use daiko_pipeline::intake::{self, IntakeError, Upload};
use daiko_report::Lang;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::submissions::Submission;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Writer, audit, content_length};
use crate::AppState;
use crate::caller::{Caller, require_role};
use crate::error::ApiError;

/// A query string, with a JSON 400 when it does not parse.
pub(super) fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri).map(|q| q.0).map_err(|e| {
        ApiError::bad_request(
            format!("クエリ文字列が正しくありません: {e}"),
            format!("invalid query string: {e}"),
        )
    })
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    name: Option<String>,
    /// Institution number (agency staff uploading on an institution's behalf).
    org: Option<String>,
}

fn intake_error(e: IntakeError, limit: u64) -> ApiError {
    match e {
        IntakeError::TooLarge { .. } => ApiError::too_large(limit),
        IntakeError::BadName(why) => ApiError::bad_request(
            format!("ファイル名(name)が正しくありません: {why}"),
            format!("invalid archive name: {why}"),
        ),
        IntakeError::Seal(e) => ApiError::bad_request(
            format!("封緘ファイルを開けません: {e}"),
            format!("cannot open the sealed file: {e}"),
        ),
        IntakeError::Store(e) => ApiError::internal(e),
    }
}

fn wrong_type_for_insurer(kind: Option<&str>) -> ApiError {
    let k = kind.unwrap_or("?");
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_interaction_type",
        format!(
            "保険者が送付できるのは種別4・5(過誤申立て)のアーカイブだけです(このアーカイブの種別は{k})。"
        ),
        format!(
            "An insurer can send only archives of interaction type 4 or 5 (erroneous-payment requests); this archive's index says {k}."
        ),
    )
}

/// The organisation a caller uploads for: institution and insurer users their own (a
/// different `org` is 404); agency staff must name the sender (an institution, or an
/// insurer sending a 過誤 request) with `org`. An insurer's archive must be 種別4/5
/// ([`upload`] reads its index before accepting it).
async fn upload_org(state: &AppState, caller: &Caller, org: Option<&str>) -> Result<Org, ApiError> {
    if caller.is("institution") || caller.is("insurer") {
        let own = caller.org.clone().ok_or_else(ApiError::not_found)?;
        if org.is_some_and(|n| n != own.number)
            || !matches!(own.kind, OrgKind::Institution | OrgKind::Insurer)
        {
            return Err(ApiError::not_found());
        }
        return Ok(own);
    }
    if !caller.is_agency_staff() {
        return Err(ApiError::not_found());
    }
    let Some(number) = org.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "代行機関の利用者は送付元の機関番号を org で指定してください。",
            "Agency staff must name the sending institution with `org=NUMBER`.",
        ));
    };
    match state.store.org_by_number(number).await? {
        Some(o) if matches!(o.kind, OrgKind::Institution | OrgKind::Insurer) => Ok(o),
        _ => Err(ApiError::bad_request(
            format!("機関番号 {number} の健診・保健指導機関は登録されていません。"),
            format!("No institution with number {number} is registered."),
        )),
    }
}

/// `POST /api/v1/submissions?name=…[&org=…]` — streams the body to storage chunk by chunk
/// (bounded memory), 413 over `max_upload_bytes`, 202 with the receipt once durable.
pub(super) async fn upload(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q: UploadQuery = query(&uri)?;
    let Some(name) = q.name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "アーカイブのファイル名を name で指定してください(例: ?name=1310000001_99000010_202406011_1.zip)。",
            "Give the archive's file name with `name` (e.g. ?name=1310000001_99000010_202406011_1.zip).",
        ));
    };
    let org = upload_org(&state, &caller, q.org.as_deref()).await?;
    let limit = state.config.max_upload_bytes;
    if content_length(&headers).is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let up = Upload {
        org: &org,
        uploaded_by: Some(&caller.user.login),
        role: caller.role(),
        channel: "api",
        archive_name: &name,
        source: &caller.source,
    };
    let mut pending = intake::begin(&state.store, &up, limit)
        .await
        .map_err(|e| intake_error(e, limit))?;
    // An insurer's archive is held in memory too (bounded by the same limit) so its index
    // can be read before it is accepted: the 種別 is not in the archive name.
    let mut kept: Option<Vec<u8>> = (org.kind == OrgKind::Insurer).then(Vec::new);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let written = match chunk {
            Ok(bytes) => {
                let r = pending
                    .write(&bytes)
                    .await
                    .map_err(|e| intake_error(e, limit));
                if r.is_ok()
                    && let Some(k) = kept.as_mut()
                {
                    k.extend_from_slice(&bytes);
                }
                r
            }
            Err(e) => Err(ApiError::bad_request(
                format!("アップロードが途中で切れました: {e}"),
                format!("the upload was interrupted: {e}"),
            )),
        };
        if let Err(e) = written {
            pending.abort().await;
            return Err(e);
        }
    }
    if pending.size() == 0 {
        pending.abort().await;
        return Err(ApiError::bad_request(
            "本文が空です。ZIP ファイルを送ってください。",
            "The body is empty: send the ZIP archive.",
        ));
    }
    if let Some(k) = &kept {
        let kind = daiko_pipeline::worker::archive_interaction_type(&name, k);
        if !daiko_pipeline::worker::is_kago_request(kind.as_deref()) {
            pending.abort().await;
            return Err(wrong_type_for_insurer(kind.as_deref()));
        }
    }
    let received = pending.finish().await.map_err(|e| intake_error(e, limit))?;
    Ok((StatusCode::ACCEPTED, Json(received)).into_response())
}

/// The list/summary view of a submission (no personal data).
fn summary(s: &Submission, org_number: &str) -> Value {
    json!({
        "id": s.id,
        "receipt_no": s.receipt_no,
        "org": org_number,
        "channel": s.channel,
        "archive_name": s.archive_name,
        "sha256": s.sha256,
        "size": s.size,
        "status": s.status,
        "verdict": s.verdict,
        "counts": s.counts_json.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok()),
        "received_at": s.received_at,
        "checked_at": s.checked_at,
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<i64>,
    /// Institution number filter (agency staff).
    org: Option<String>,
}

/// `GET /api/v1/submissions` — institution users: their own; agency staff: all.
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    require_role(&caller, &["institution", "operator", "emergency"])?;
    let q: ListQuery = query(&uri)?;
    let limit = q.limit.unwrap_or(200);
    let org_id = if caller.is_agency_staff() {
        match q.org.as_deref().filter(|n| !n.is_empty()) {
            Some(n) => match state.store.org_by_number(n).await? {
                Some(o) => Some(o.id),
                None => return Ok(Json(json!({ "submissions": [] })).into_response()),
            },
            None => None,
        }
    } else {
        Some(caller.org_id().ok_or_else(ApiError::not_found)?.to_string())
    };
    let subs = state.store.submissions(org_id.as_deref(), limit).await?;
    let numbers = org_numbers(&state).await?;
    let items: Vec<Value> = subs
        .iter()
        .map(|s| summary(s, numbers.get(&s.org_id).map(String::as_str).unwrap_or("")))
        .collect();
    Ok(Json(json!({ "submissions": items })).into_response())
}

/// Organisation id → number.
pub(super) async fn org_numbers(
    state: &AppState,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    Ok(state
        .store
        .orgs()
        .await?
        .into_iter()
        .map(|o| (o.id, o.number))
        .collect())
}

/// A submission the caller may see (the submitting organisation or agency staff), else 404.
async fn visible_submission(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Submission, ApiError> {
    let s = state
        .store
        .submission(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !caller.may_see_org(&s.org_id) {
        return Err(ApiError::not_found());
    }
    Ok(s)
}

/// The record ids of a submission, comma separated (for the audit row).
async fn record_ids(state: &AppState, submission_id: &str) -> Result<String, ApiError> {
    Ok(state
        .store
        .records_of_submission(submission_id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect::<Vec<_>>()
        .join(","))
}

/// The stored check report, or `None` until the check is done.
async fn stored_report(state: &AppState, s: &Submission) -> Result<Option<Value>, ApiError> {
    let Some(key) = &s.report_key else {
        return Ok(None);
    };
    let bytes = state.store.blobs().get(key).await?;
    let value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(format!("report {key} is not JSON: {e}")))?;
    Ok(Some(value))
}

/// `GET /api/v1/submissions/{id}` — status, verdict and the report (audited
/// `submission.read`).
pub(super) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = visible_submission(&state, &caller, &id).await?;
    let report = stored_report(&state, &s).await?;
    let records = record_ids(&state, &s.id).await?;
    audit(
        &state,
        &caller,
        "submission.read",
        format!("submission:{}", s.id),
        records,
        String::new(),
    )
    .await?;
    let org = state
        .store
        .org(&s.org_id)
        .await?
        .map(|o| o.number)
        .unwrap_or_default();
    let mut body = summary(&s, &org);
    body["report"] = report.unwrap_or(Value::Null);
    Ok(Json(body).into_response())
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    format: Option<String>,
    lang: Option<String>,
}

/// `GET /api/v1/submissions/{id}/report?format=json|csv|pdf[&lang=ja|en]` (audited
/// `report.read`). 409 until the check is done.
pub(super) async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let s = visible_submission(&state, &caller, &id).await?;
    let q: ReportQuery = query(&uri)?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv" | "pdf") {
        return Err(ApiError::bad_request(
            format!("format は json、csv、pdf のいずれかです: {format:?}"),
            format!("format must be json, csv or pdf: {format:?}"),
        ));
    }
    let lang = match q.lang.as_deref().unwrap_or(caller.lang()) {
        "en" => Lang::En,
        _ => Lang::Ja,
    };
    let Some(report) = stored_report(&state, &s).await? else {
        // S21: an infected upload is never checked; tell the sender so.
        if s.status == daiko_pipeline::scan::QUARANTINED {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "quarantined",
                "ウイルスが検出されたため、このファイルは隔離され点検していません。駆除したファイルを再送してください。",
                "Malware was found in this file: it is quarantined and was not checked. Send a clean file again.",
            ));
        }
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_ready",
            format!(
                "まだ点検中です(状態: {})。しばらくしてから再度お試しください。",
                s.status
            ),
            format!(
                "The archive is not checked yet (status: {}). Try again shortly.",
                s.status
            ),
        ));
    };
    let stem = s
        .archive_name
        .strip_suffix(".zip")
        .unwrap_or(&s.archive_name);
    let (content_type, ext, bytes) = match format {
        "csv" => ("text/csv; charset=utf-8", "csv", report_csv(&report, lang)?),
        "pdf" => {
            let meta = daiko_pdf::ReportMeta {
                agency_name: state.agency.name.clone(),
                receipt_no: Some(s.receipt_no.clone()),
                received_at: Some(s.received_at.clone()),
                printed_at: daiko_store::now(),
            };
            let pdf = tokio::task::spawn_blocking(move || render_pdf(&report, lang, &meta))
                .await
                .map_err(ApiError::internal)??;
            ("application/pdf", "pdf", pdf)
        }
        _ => (
            "application/json",
            "json",
            serde_json::to_vec(&report).map_err(ApiError::internal)?,
        ),
    };
    let records = record_ids(&state, &s.id).await?;
    audit(
        &state,
        &caller,
        "report.read",
        format!("submission:{}", s.id),
        records,
        format!("format={format}"),
    )
    .await?;
    let disposition = format!(
        "attachment; filename=\"{}.{ext}\"",
        safe_filename(&format!("{stem}_report"))
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// A file name safe inside a quoted `Content-Disposition` (ASCII letters, digits, `._-`).
pub(super) fn safe_filename(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The PDF 受付エラー連絡表 of a stored report. Fonts are found once per process
/// (daiko_pdf::Fonts::discover); without Japanese fonts the answer is 503 with what to
/// install, never a PDF with missing glyphs.
pub fn render_pdf(
    report: &Value,
    lang: Lang,
    meta: &daiko_pdf::ReportMeta,
) -> Result<Vec<u8>, ApiError> {
    static FONTS: std::sync::OnceLock<Result<daiko_pdf::Fonts, String>> =
        std::sync::OnceLock::new();
    let fonts = FONTS
        .get_or_init(|| daiko_pdf::Fonts::discover().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_fonts",
                format!("PDF を作成できません(日本語フォントがありません): {e}"),
                format!("Cannot make the PDF (no Japanese fonts): {e}"),
            )
        })?;
    let report: daiko_check::report::Report =
        serde_json::from_value(report.clone()).map_err(ApiError::internal)?;
    daiko_pdf::error_report_pdf(&report, lang, meta, fonts).map_err(ApiError::internal)
}

/// The report as CSV for Excel, exactly as `daiko check --format csv` prints it
/// (daiko_report::CsvPrinter: UTF-8 BOM, CRLF, one row per finding), from the stored JSON.
pub fn report_csv(report: &Value, lang: Lang) -> Result<Vec<u8>, ApiError> {
    let report: daiko_check::report::Report =
        serde_json::from_value(report.clone()).map_err(ApiError::internal)?;
    let mut out = Vec::new();
    let mut printer = daiko_report::CsvPrinter::new(&mut out, lang).map_err(ApiError::internal)?;
    printer.write(&report).map_err(ApiError::internal)?;
    drop(printer);
    Ok(out)
}

/// `GET /api/v1/records/{id}/lineage` — the record, its submission and its delivery
/// (audited `record.lineage`). Visible to the submitting institution, to the insurer the
/// record was delivered to (once delivered), and to agency staff.
pub(super) async fn lineage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_role(
        &caller,
        &["institution", "insurer", "operator", "emergency"],
    )?;
    let record = state
        .store
        .record(&id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let sub = state
        .store
        .submission(&record.submission_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let delivery = match &record.delivery_id {
        Some(d) => state.store.delivery(d).await?,
        None => None,
    };
    let allowed = caller.is_agency_staff()
        || (caller.is("institution") && caller.org_id() == Some(sub.org_id.as_str()))
        || (caller.is("insurer")
            && record.insurer == caller.org_number()
            && delivery
                .as_ref()
                .is_some_and(|d| caller.org_id() == Some(d.recipient_id.as_str())));
    if !allowed {
        return Err(ApiError::not_found());
    }
    audit(
        &state,
        &caller,
        "record.lineage",
        format!("record:{}", record.id),
        record.id.clone(),
        String::new(),
    )
    .await?;
    let delivery = delivery.map(|d| {
        json!({
            "id": d.id,
            "kind": d.kind,
            "archive_name": d.archive_name,
            "created_at": d.created_at,
            "received_at": d.received_at,
        })
    });
    Ok(Json(json!({
        "record": record,
        "submission": {
            "id": sub.id,
            "receipt_no": sub.receipt_no,
            "archive_name": sub.archive_name,
            "received_at": sub.received_at,
        },
        "delivery": delivery,
    }))
    .into_response())
}
