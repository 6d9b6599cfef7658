//! Billing and payment (請求・支払) under `/api/v1/billing/…` (docs/api.md): the closed
//! months, insurers' invoices (請求書) and institutions' payment statements (支払明細書) as
//! JSON, PDF and CSV, the 全銀 transfer file, the month close, 過誤 requests, and the agency
//! calendar and fees — the same data as `daiko billing …`, through
//! `daiko_pipeline::billing`, rebuilt from each month's frozen rows.
//!
//! Tenancy: an insurer user sees its own invoice only, and only while it subscribes to
//! `billing` (otherwise 403 with the reason: that tells the insurer only about itself); an
//! institution user sees its own payment statement only; agency staff (operator,
//! emergency) see every document. Anything else — another tenant's document, a role with no
//! business here — answers 404. Closing, the transfer file, the calendar and the fees are
//! for operators. Every read of detail lines (card numbers: personal data) writes an audit
//! row naming the records before the document leaves (S13).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use daiko_billing::{Calendar, FeeSchedule, Invoice, Settlement, Statement, YearMonth};
use daiko_pipeline::billing::{self as flow, BillingFlowError};
use daiko_store::orgs::OrgKind;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::submissions::query;
use super::{Writer, audit, parse_json, read_limited};
use crate::AppState;
use crate::caller::{AGENCY_ROLES, Caller, require_role};
use crate::error::ApiError;

/// Roles that read billing documents (each within its tenancy).
pub(crate) const READ_ROLES: [&str; 4] = ["insurer", "institution", "operator", "emergency"];
/// Roles that close months, download transfer files and change calendar and fees.
pub(crate) const OPERATOR_ROLES: [&str; 1] = ["operator"];
/// The largest JSON body accepted (calendar, fees, 過誤 request).
const BODY_LIMIT: u64 = 64 * 1024;

/// The routes, merged into [`super::routes`].
pub(super) fn routes() -> Vec<super::RouteEntry> {
    use super::{GET, GET_PUT, POST};
    let r = |path, methods| super::ApiRoute { path, methods };
    vec![
        (r("/api/v1/billing/months", GET), get(months)),
        (
            r("/api/v1/billing/months/{month}/invoices", GET),
            get(invoices),
        ),
        (
            r("/api/v1/billing/months/{month}/invoices/{insurer}", GET),
            get(invoice),
        ),
        (
            r("/api/v1/billing/months/{month}/statements", GET),
            get(statements),
        ),
        (
            r(
                "/api/v1/billing/months/{month}/statements/{institution}",
                GET,
            ),
            get(statement),
        ),
        (
            r("/api/v1/billing/months/{month}/transfer-file", GET),
            get(transfer_file),
        ),
        (r("/api/v1/billing/months/{month}/close", POST), post(close)),
        (r("/api/v1/billing/offsets", POST), post(add_offset)),
        (
            r("/api/v1/billing/calendar", GET_PUT),
            get(get_calendar).put(put_calendar),
        ),
        (
            r("/api/v1/billing/fees", GET_PUT),
            get(get_fees).put(put_fees),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tenancy
// ---------------------------------------------------------------------------------------------

/// Whose billing documents a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Agency staff: every invoice and statement.
    All,
    /// An insurer user: the invoice of this insurer number.
    Insurer(String),
    /// An institution user: the statement of this institution number.
    Institution(String),
}

impl Scope {
    pub(crate) fn sees_invoice(&self, insurer: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Insurer(n) => same_number(n, insurer),
            Scope::Institution(_) => false,
        }
    }
    pub(crate) fn sees_statement(&self, institution: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Institution(n) => same_number(n, institution),
            Scope::Insurer(_) => false,
        }
    }
}

/// Organisation numbers compare as registered; an insurer number typed without its
/// leading zeros (6-digit 国保 numbers) still names the same insurer.
fn same_number(a: &str, b: &str) -> bool {
    a == b || format!("{a:0>8}") == format!("{b:0>8}")
}

/// The caller's billing scope (module doc): 404 for roles outside billing and for users
/// without a fitting organisation; 403 for an insurer that does not subscribe to `billing`.
pub(crate) fn scope(caller: &Caller) -> Result<Scope, ApiError> {
    require_role(caller, &READ_ROLES)?;
    if AGENCY_ROLES.contains(&caller.role()) {
        return Ok(Scope::All);
    }
    let org = caller.org.as_ref().ok_or_else(ApiError::not_found)?;
    match (caller.role(), org.kind) {
        ("insurer", OrgKind::Insurer) => {
            if !org.subscribes("billing") {
                return Err(not_subscribed());
            }
            Ok(Scope::Insurer(org.number.clone()))
        }
        ("institution", OrgKind::Institution) => Ok(Scope::Institution(org.number.clone())),
        _ => Err(ApiError::not_found()),
    }
}

fn not_subscribed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_subscribed",
        "請求・支払代行サービスを利用していないため、請求書は作成されません。代行機関にお問い合わせください。",
        "Your insurer does not subscribe to the billing service, so no invoices are made. Contact the agency.",
    )
}

// ---------------------------------------------------------------------------------------------
// Errors and helpers
// ---------------------------------------------------------------------------------------------

/// Maps a billing flow error to an answer: input errors 400, state conflicts 409, a month
/// not closed or a record not found 404, the rest 500.
pub(crate) fn flow_error(e: BillingFlowError) -> ApiError {
    let (ja, en) = (e.message_ja(), e.to_string());
    match &e {
        BillingFlowError::NotClosed(_) | BillingFlowError::RecordNotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", ja, en)
        }
        BillingFlowError::OutOfOrder { .. }
        | BillingFlowError::WindowOpen { .. }
        | BillingFlowError::NotForwarded { .. }
        | BillingFlowError::AlreadyOffset(_)
        | BillingFlowError::NoRemitter
        | BillingFlowError::MissingAccounts(_) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", ja, en)
        }
        BillingFlowError::BadReason(_)
        | BillingFlowError::NotInstitution(_)
        | BillingFlowError::BadAccount { .. }
        | BillingFlowError::Billing(_) => ApiError::bad_request(ja, en),
        BillingFlowError::Store(_) | BillingFlowError::Setting { .. } => ApiError::internal(e),
        #[allow(unreachable_patterns)]
        _ => ApiError::internal(e),
    }
}

/// A `YYYY-MM` path segment.
pub(crate) fn parse_month(s: &str) -> Result<YearMonth, ApiError> {
    s.parse::<YearMonth>().map_err(|_| {
        ApiError::bad_request(
            format!("{s:?} は年月(YYYY-MM)ではありません。"),
            format!("{s:?} is not a month (YYYY-MM)."),
        )
    })
}

/// The settlement of a closed month (404 when the month is not closed).
pub(crate) async fn settled(state: &AppState, month: YearMonth) -> Result<Settlement, ApiError> {
    flow::settlement(&state.store, month)
        .await
        .map_err(flow_error)?
        .ok_or_else(ApiError::not_found)
}

/// The format a document is asked in: the path segment's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocFormat {
    Json,
    Pdf,
    Csv,
}

impl DocFormat {
    fn as_str(self) -> &'static str {
        match self {
            DocFormat::Json => "json",
            DocFormat::Pdf => "pdf",
            DocFormat::Csv => "csv",
        }
    }
}

/// Splits `06139999.pdf` into the number and the format.
fn split_format(segment: &str) -> (&str, DocFormat) {
    if let Some(n) = segment.strip_suffix(".pdf") {
        (n, DocFormat::Pdf)
    } else if let Some(n) = segment.strip_suffix(".csv") {
        (n, DocFormat::Csv)
    } else if let Some(n) = segment.strip_suffix(".json") {
        (n, DocFormat::Json)
    } else {
        (segment, DocFormat::Json)
    }
}

/// Japanese fonts, found once per process; without them a PDF is 503 with what to install,
/// never a PDF with missing glyphs.
fn fonts() -> Result<&'static daiko_pdf::Fonts, ApiError> {
    static FONTS: std::sync::OnceLock<Result<daiko_pdf::Fonts, String>> =
        std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| daiko_pdf::Fonts::discover().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_fonts",
                format!("PDF を作成できません(日本語フォントがありません): {e}"),
                format!("Cannot make the PDF (no Japanese fonts): {e}"),
            )
        })
}

fn billing_error(e: daiko_billing::BillingError) -> ApiError {
    ApiError::internal(format!("{e} / {}", e.message_ja()))
}

/// A download answer.
fn file(content_type: &'static str, name: String, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// The record ids behind a document's detail lines and offsets, for the audit row.
fn record_ids<'a>(
    lines: impl Iterator<Item = &'a daiko_billing::ClaimLine>,
    offsets: impl Iterator<Item = &'a daiko_billing::Offset>,
) -> (String, usize) {
    let mut ids: Vec<&str> = lines.map(|l| l.record_id.as_str()).collect();
    let n = ids.len();
    ids.extend(offsets.filter_map(|o| o.record_id.as_deref()));
    (ids.join(","), n)
}

// ---------------------------------------------------------------------------------------------
// Months and summaries
// ---------------------------------------------------------------------------------------------

/// One closed month as its reader may see it.
#[derive(Debug, Serialize)]
pub(crate) struct MonthView {
    pub month: String,
    pub closed_at: String,
    /// Agency staff: the month's billed records and claims; tenants: their document's.
    pub records: i64,
    pub claim_total: i64,
    /// Agency staff: every summary; an insurer: its invoice; an institution: none.
    pub invoices: Vec<daiko_billing::InvoiceSummary>,
    /// Agency staff: every summary; an institution: its statement; an insurer: none.
    pub statements: Vec<daiko_billing::StatementSummary>,
}

/// The closed months, newest first, with the caller's documents; a tenant sees only the
/// months in which it has a document.
pub(crate) async fn month_views(
    state: &AppState,
    scope: &Scope,
) -> Result<Vec<MonthView>, ApiError> {
    let mut out = Vec::new();
    let mut months = state.store.billing_months().await?;
    months.sort_by(|a, b| b.month.cmp(&a.month));
    for m in months {
        let ym = parse_month(&m.month).map_err(|_| ApiError::internal("stored month"))?;
        let st = settled(state, ym).await?;
        let invoices: Vec<_> = st
            .invoices
            .iter()
            .filter(|i| scope.sees_invoice(&i.insurer))
            .map(Invoice::summary)
            .collect();
        let statements: Vec<_> = st
            .statements
            .iter()
            .filter(|s| scope.sees_statement(&s.institution))
            .map(Statement::summary)
            .collect();
        let (records, claim_total) = match scope {
            Scope::All => (m.lines, m.claim_total),
            Scope::Insurer(_) => (
                invoices.iter().map(|i| i.records).sum(),
                invoices.iter().map(|i| i.claim_total).sum(),
            ),
            Scope::Institution(_) => (
                statements.iter().map(|s| s.records).sum(),
                statements.iter().map(|s| s.claim_total).sum(),
            ),
        };
        if *scope != Scope::All && invoices.is_empty() && statements.is_empty() {
            continue;
        }
        out.push(MonthView {
            month: m.month,
            closed_at: m.closed_at,
            records,
            claim_total,
            invoices,
            statements,
        });
    }
    Ok(out)
}

/// `GET /api/v1/billing/months` — closed months, newest first (JSON array).
async fn months(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let scope = scope(&caller)?;
    Ok(Json(month_views(&state, &scope).await?).into_response())
}

/// `GET /api/v1/billing/months/{month}/invoices` — the invoice summaries the caller may see,
/// in the order and shape of `daiko billing invoices --format json`.
async fn invoices(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
) -> Result<Response, ApiError> {
    let scope = scope(&caller)?;
    if matches!(scope, Scope::Institution(_)) {
        return Err(ApiError::not_found());
    }
    let st = settled(&state, parse_month(&month)?).await?;
    let out: Vec<_> = st
        .invoices
        .iter()
        .filter(|i| scope.sees_invoice(&i.insurer))
        .map(Invoice::summary)
        .collect();
    Ok(Json(out).into_response())
}

/// `GET /api/v1/billing/months/{month}/statements` — the statement summaries the caller may
/// see, as `daiko billing statements --format json`.
async fn statements(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
) -> Result<Response, ApiError> {
    let scope = scope(&caller)?;
    if matches!(scope, Scope::Insurer(_)) {
        return Err(ApiError::not_found());
    }
    let st = settled(&state, parse_month(&month)?).await?;
    let out: Vec<_> = st
        .statements
        .iter()
        .filter(|s| scope.sees_statement(&s.institution))
        .map(Statement::summary)
        .collect();
    Ok(Json(out).into_response())
}

// ---------------------------------------------------------------------------------------------
// Documents with detail lines (audited)
// ---------------------------------------------------------------------------------------------

/// One insurer's invoice of a closed month in `format`, audited (`billing.invoice.read`).
/// 404 when the month is not closed, the insurer has no invoice, or it is not the caller's.
pub(crate) async fn invoice_document(
    state: &AppState,
    caller: &Caller,
    month: &str,
    insurer: &str,
    format: DocFormat,
) -> Result<Response, ApiError> {
    let scope = scope(caller)?;
    if !scope.sees_invoice(insurer) {
        return Err(ApiError::not_found());
    }
    let ym = parse_month(month)?;
    let st = settled(state, ym).await?;
    let inv = st
        .invoices
        .into_iter()
        .find(|i| same_number(&i.insurer, insurer))
        .ok_or_else(ApiError::not_found)?;
    // Made before the audit row so a failure discloses nothing, and audited before it
    // leaves.
    let body = match format {
        DocFormat::Json => None,
        DocFormat::Pdf => Some(
            daiko_billing::invoice_pdf(fonts()?, &agency(state).await?, &inv)
                .map_err(billing_error)?,
        ),
        DocFormat::Csv => Some(daiko_billing::invoice_csv(&inv)),
    };
    let (records, n) = record_ids(inv.lines.iter(), inv.offsets.iter());
    audit(
        state,
        caller,
        "billing.invoice.read",
        format!("billing_invoice:{ym}:{}", inv.insurer),
        records,
        json!({"month": ym.to_string(), "insurer": inv.insurer, "lines": n, "format": format.as_str()})
            .to_string(),
    )
    .await?;
    let name = format!("invoice_{ym}_{}", inv.insurer);
    Ok(match (format, body) {
        (DocFormat::Pdf, Some(b)) => file("application/pdf", format!("{name}.pdf"), b),
        (DocFormat::Csv, Some(b)) => file("text/csv; charset=utf-8", format!("{name}.csv"), b),
        _ => Json(inv).into_response(),
    })
}

/// One institution's payment statement of a closed month in `format`, audited
/// (`billing.statement.read`).
pub(crate) async fn statement_document(
    state: &AppState,
    caller: &Caller,
    month: &str,
    institution: &str,
    format: DocFormat,
) -> Result<Response, ApiError> {
    let scope = scope(caller)?;
    if !scope.sees_statement(institution) {
        return Err(ApiError::not_found());
    }
    let ym = parse_month(month)?;
    let st = settled(state, ym).await?;
    let doc = st
        .statements
        .into_iter()
        .find(|s| same_number(&s.institution, institution))
        .ok_or_else(ApiError::not_found)?;
    let body = match format {
        DocFormat::Json => None,
        DocFormat::Pdf => Some(
            daiko_billing::statement_pdf(fonts()?, &agency(state).await?, &doc)
                .map_err(billing_error)?,
        ),
        DocFormat::Csv => Some(daiko_billing::statement_csv(&doc)),
    };
    let (records, n) = record_ids(doc.lines.iter(), doc.offsets.iter());
    audit(
        state,
        caller,
        "billing.statement.read",
        format!("billing_statement:{ym}:{}", doc.institution),
        records,
        json!({"month": ym.to_string(), "institution": doc.institution, "lines": n, "format": format.as_str()})
            .to_string(),
    )
    .await?;
    let name = format!("statement_{ym}_{}", doc.institution);
    Ok(match (format, body) {
        (DocFormat::Pdf, Some(b)) => file("application/pdf", format!("{name}.pdf"), b),
        (DocFormat::Csv, Some(b)) => file("text/csv; charset=utf-8", format!("{name}.csv"), b),
        _ => Json(doc).into_response(),
    })
}

async fn agency(state: &AppState) -> Result<daiko_billing::AgencyInfo, ApiError> {
    flow::agency_info(&state.store).await.map_err(flow_error)
}

/// `GET /api/v1/billing/months/{month}/invoices/{insurer}[.pdf|.csv]`.
async fn invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path((month, segment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (insurer, format) = split_format(&segment);
    invoice_document(&state, &caller, &month, insurer, format).await
}

/// `GET /api/v1/billing/months/{month}/statements/{institution}[.pdf|.csv]`.
async fn statement(
    State(state): State<AppState>,
    caller: Caller,
    Path((month, segment)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (institution, format) = split_format(&segment);
    statement_document(&state, &caller, &month, institution, format).await
}

/// The transfer file of a closed month (operators), audited `billing.transfer_file.read`:
/// it names every paid institution's bank account.
pub(crate) async fn transfer_file_response(
    state: &AppState,
    caller: &Caller,
    month: &str,
) -> Result<Response, ApiError> {
    require_role(caller, &OPERATOR_ROLES)?;
    let ym = parse_month(month)?;
    let tf = flow::transfer_file(&state.store, ym)
        .await
        .map_err(flow_error)?;
    audit(
        state,
        caller,
        "billing.transfer_file.read",
        format!("billing_month:{ym}"),
        String::new(),
        json!({
            "month": ym.to_string(),
            "payment_date": tf.payment_date.to_string(),
            "transfers": tf.count,
            "total": tf.total,
        })
        .to_string(),
    )
    .await?;
    Ok(file(
        "application/octet-stream",
        format!("zengin_{ym}_{}.txt", tf.payment_date.strftime("%Y%m%d")),
        tf.bytes,
    ))
}

/// `GET /api/v1/billing/months/{month}/transfer-file` — 全銀 総合振込 (Shift_JIS), operators.
async fn transfer_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
) -> Result<Response, ApiError> {
    transfer_file_response(&state, &caller, &month).await
}

// ---------------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------------

/// Closes a month for an operator (idempotent: a closed month answers its stored result
/// with `already_closed: true`), audited `billing.close.request` with the caller's address
/// besides the flow's own `billing.close` row.
pub(crate) async fn close_for(
    state: &AppState,
    caller: &Caller,
    month: &str,
) -> Result<flow::CloseResult, ApiError> {
    require_role(caller, &OPERATOR_ROLES)?;
    let ym = parse_month(month)?;
    let done = flow::close_month(&state.store, ym, &caller.user.login)
        .await
        .map_err(flow_error)?;
    audit(
        state,
        caller,
        "billing.close.request",
        format!("billing_month:{ym}"),
        String::new(),
        json!({
            "already_closed": done.already_closed,
            "lines": done.lines,
            "claim_total": done.claim_total,
        })
        .to_string(),
    )
    .await?;
    Ok(done)
}

/// `POST /api/v1/billing/months/{month}/close` — operators.
async fn close(
    State(state): State<AppState>,
    Writer(caller): Writer,
    Path(month): Path<String>,
) -> Result<Response, ApiError> {
    let done = close_for(&state, &caller, &month).await?;
    Ok(Json(done).into_response())
}

/// A 過誤 request (種別4/5): the record, the 別表10 reason and the insurer's text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OffsetRequest {
    record_id: String,
    reason_code: String,
    #[serde(default)]
    reason_text: String,
}

/// `POST /api/v1/billing/offsets` — an insurer for a record delivered to it, or an operator
/// for any record. 201 with the outcome (an offset in the next close, or the record
/// withdrawn when it was never billed).
async fn add_offset(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["insurer", "operator"])?;
    let scope = scope(&caller)?;
    let bytes = read_limited(&headers, body, BODY_LIMIT).await?;
    let req: OffsetRequest = parse_json(&bytes)?;
    let record = state
        .store
        .record(req.record_id.trim())
        .await?
        .ok_or_else(ApiError::not_found)?;
    // Another insurer's record is outside the caller's tenancy: 404, as if absent.
    if !scope.sees_invoice(&record.insurer) {
        return Err(ApiError::not_found());
    }
    let outcome = flow::add_offset(
        &state.store,
        &record.id,
        req.reason_code.trim(),
        &req.reason_text,
        &caller.user.login,
    )
    .await
    .map_err(flow_error)?;
    audit(
        &state,
        &caller,
        "billing.offset.request",
        format!("record:{}", record.id),
        record.id.clone(),
        json!({"reason_code": req.reason_code.trim(), "result": &outcome}).to_string(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(outcome)).into_response())
}

#[derive(Debug, Deserialize)]
struct CalendarQuery {
    /// Also list the year's dates per month.
    year: Option<i16>,
}

/// The calendar's dates of one month.
#[derive(Debug, Serialize)]
struct MonthDates {
    month: YearMonth,
    deadline: jiff::civil::Date,
    invoice_date: jiff::civil::Date,
    insurer_due_date: jiff::civil::Date,
    payment_date: jiff::civil::Date,
}

fn calendar_view(cal: &Calendar, year: Option<i16>) -> serde_json::Value {
    let dates: Option<Vec<MonthDates>> = year.map(|y| {
        (1..=12)
            .map(|m| {
                let month = YearMonth { year: y, month: m };
                MonthDates {
                    month,
                    deadline: cal.deadline(month),
                    invoice_date: cal.invoice_date(month),
                    insurer_due_date: cal.insurer_due_date(month),
                    payment_date: cal.payment_date(month),
                }
            })
            .collect()
    });
    json!({ "calendar": cal, "dates": dates })
}

/// `GET /api/v1/billing/calendar[?year=YYYY]` — operators.
async fn get_calendar(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    require_role(&caller, &OPERATOR_ROLES)?;
    let q: CalendarQuery = query(&uri)?;
    if q.year.is_some_and(|y| !(1980..=2099).contains(&y)) {
        return Err(ApiError::bad_request(
            "year は 1980〜2099 で指定してください。",
            "`year` must be between 1980 and 2099.",
        ));
    }
    let cal = flow::calendar(&state.store).await.map_err(flow_error)?;
    Ok(Json(calendar_view(&cal, q.year)).into_response())
}

/// `PUT /api/v1/billing/calendar` — operators; body: the calendar (validated; closed months
/// keep theirs).
async fn put_calendar(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &OPERATOR_ROLES)?;
    let bytes = read_limited(&headers, body, BODY_LIMIT).await?;
    let cal: Calendar = parse_json(&bytes)?;
    flow::set_calendar(&state.store, &cal, &caller.user.login)
        .await
        .map_err(flow_error)?;
    Ok(Json(calendar_view(&cal, None)).into_response())
}

/// `GET /api/v1/billing/fees` — operators.
async fn get_fees(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    require_role(&caller, &OPERATOR_ROLES)?;
    let fees = flow::fees(&state.store).await.map_err(flow_error)?;
    Ok(Json(fees).into_response())
}

/// `PUT /api/v1/billing/fees` — operators; body: the fee schedule (validated; closed months
/// keep theirs).
async fn put_fees(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &OPERATOR_ROLES)?;
    let bytes = read_limited(&headers, body, BODY_LIMIT).await?;
    let fees: FeeSchedule = parse_json(&bytes)?;
    flow::set_fees(&state.store, &fees, &caller.user.login)
        .await
        .map_err(flow_error)?;
    Ok(Json(fees).into_response())
}
