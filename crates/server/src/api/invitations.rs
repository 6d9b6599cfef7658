//! Checkup invitations (健診案内) under `/api/v1/invitations/…` (docs/api.md): the same
//! operations as `daiko invite …`, through `daiko_pipeline::invite`, which writes the audit
//! row of every access to personal data.
//!
//! Tenancy: an insurer user works on its own organisation only (naming another insurer
//! answers 404); agency operators name any insurer with `insurer=NUMBER`; every other role
//! gets 404 (never 403, PRODUCT.md). An insurer that does not subscribe to `invite` gets 403
//! with the reason — that only tells the insurer about itself.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use daiko_pipeline::invite::{self, Actor, InviteError};
use daiko_store::orgs::{Org, OrgKind};
use serde::Deserialize;
use serde_json::json;

use super::submissions::query;
use super::{Writer, parse_json, read_limited};
use crate::AppState;
use crate::caller::{Caller, require_role};
use crate::error::ApiError;

/// Roles that may use the invitation endpoints.
const ROLES: [&str; 3] = ["insurer", "operator", "emergency"];

/// The routes, merged into [`super::routes`].
pub(super) fn routes() -> Vec<super::RouteEntry> {
    use super::{GET, GET_POST, GET_PUT, POST};
    let r = |path, methods| super::ApiRoute { path, methods };
    vec![
        (
            r("/api/v1/invitations/roster", GET_POST),
            post(import_roster)
                .get(rosters)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (r("/api/v1/invitations/targets", GET), get(targets)),
        (r("/api/v1/invitations/issue", POST), post(issue)),
        (r("/api/v1/invitations/vouchers", GET), get(vouchers)),
        (r("/api/v1/invitations/letters", POST), post(letters)),
        (r("/api/v1/invitations/reminders", POST), post(reminders)),
        (r("/api/v1/invitations/uptake", GET), get(uptake)),
        (r("/api/v1/invitations/dashboard", GET), get(dashboard)),
        (r("/api/v1/invitations/returned", POST), post(returned)),
        (
            r("/api/v1/invitations/settings", GET_PUT),
            get(get_settings).put(put_settings),
        ),
        (
            r("/api/v1/invitations/template", GET_PUT),
            get(get_template).put(put_template),
        ),
        (
            r("/api/v1/invitations/template/preview", POST),
            post(preview),
        ),
    ]
}

#[derive(Debug, Deserialize)]
struct Q {
    /// 保険者番号 (required for agency staff; optional for insurer users, must be their own).
    insurer: Option<String>,
    fiscal_year: Option<i64>,
    /// `true`: targets only (default: every member with its decision).
    targets_only: Option<bool>,
    /// YYYY-MM-DD: reminders' posting date, letters' issue date.
    as_of: Option<String>,
    issued_on: Option<String>,
    /// Roster file name for the history.
    name: Option<String>,
    /// `issue`: `checkup` (受診券, default) or `guidance` (利用券).
    kind: Option<String>,
}

/// Maps a flow error to an answer: input errors 400 (422 for roster rows with the rows),
/// not subscribed 403, the rest 500.
pub(crate) fn invite_error(e: InviteError) -> ApiError {
    match &e {
        InviteError::NotSubscribed(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "not_subscribed", e.ja(), e.en())
        }
        InviteError::NoSuchInsurer(_) => ApiError::not_found(),
        InviteError::NoFonts(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_fonts", e.ja(), e.en())
        }
        _ if e.is_input_error() => ApiError::bad_request(e.ja(), e.en()),
        _ => ApiError::internal(e),
    }
}

/// The insurer of the request (tenancy as in the module doc), subscribed to `invite`.
pub(crate) async fn target_insurer(
    state: &AppState,
    caller: &Caller,
    number: Option<&str>,
) -> Result<Org, ApiError> {
    require_role(caller, &ROLES)?;
    let org = if caller.is("insurer") {
        let own = caller.org.clone().ok_or_else(ApiError::not_found)?;
        if own.kind != OrgKind::Insurer
            || number.is_some_and(|n| {
                !n.is_empty() && format!("{n:0>8}") != format!("{:0>8}", own.number)
            })
        {
            return Err(ApiError::not_found());
        }
        own
    } else {
        let Some(number) = number.filter(|n| !n.is_empty()) else {
            return Err(ApiError::bad_request(
                "保険者番号を insurer で指定してください。",
                "Name the insurer with `insurer=NUMBER`.",
            ));
        };
        return invite::invite_insurer(&state.store, number)
            .await
            .map_err(invite_error);
    };
    invite::require_subscribed(&org).map_err(invite_error)?;
    Ok(org)
}

fn actor(c: &Caller) -> Actor {
    Actor {
        login: c.user.login.clone(),
        role: c.user.role.clone(),
        org: c.org_number().to_string(),
        source: c.source.clone(),
    }
}

fn year(q: &Q) -> Result<i64, ApiError> {
    q.fiscal_year.ok_or_else(|| {
        ApiError::bad_request(
            "年度を fiscal_year で指定してください(例: 2024)。",
            "Name the fiscal year with `fiscal_year=YYYY`.",
        )
    })
}

fn date(s: Option<&str>, what: &str) -> Result<Option<jiff::civil::Date>, ApiError> {
    s.map(|s| {
        s.parse().map_err(|_| {
            ApiError::bad_request(
                format!("{what} は YYYY-MM-DD の日付で指定してください: {s:?}"),
                format!("{what} must be a date YYYY-MM-DD, got {s:?}"),
            )
        })
    })
    .transpose()
}

fn today_in_japan() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(daiko_pipeline::intake::jst())
        .date()
}

/// `POST /api/v1/invitations/roster?insurer=N[&name=FILE]` (body: the roster CSV).
async fn import_roster(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let bytes = read_limited(&headers, body, state.config.max_upload_bytes).await?;
    let name = q.name.unwrap_or_default();
    match invite::import_roster(&state.store, &org, &bytes, &name, &actor(&caller)).await {
        Ok(info) => Ok((StatusCode::CREATED, Json(json!(info))).into_response()),
        Err(InviteError::Roster(rows)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "roster_rows",
                "message_ja": "名簿に誤りがあるため取り込みませんでした(何も取り込んでいません)。",
                "message_en": "The roster has errors and was not imported (nothing was).",
                "errors": rows.errors,
            })),
        )
            .into_response()),
        Err(e) => Err(invite_error(e)),
    }
}

/// `GET /api/v1/invitations/roster?insurer=N` — the roster versions (no member data).
async fn rosters(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let list = state.store.rosters(&format!("{:0>8}", org.number)).await?;
    Ok(Json(json!({ "insurer": org.number, "rosters": list })).into_response())
}

/// `GET /api/v1/invitations/targets?insurer=N&fiscal_year=Y[&targets_only=true]`.
async fn targets(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let t = invite::targets(&state.store, &org, year(&q)?, &actor(&caller))
        .await
        .map_err(invite_error)?;
    let only = q.targets_only.unwrap_or(false);
    let decisions: Vec<serde_json::Value> = t
        .decisions
        .iter()
        .filter(|d| d.target || !only)
        .map(invite::decision_json)
        .collect();
    Ok(Json(json!({
        "insurer": org.number,
        "fiscal_year": t.fiscal_year,
        "roster_version": t.roster.version,
        "members": t.members,
        "targets": t.targets,
        "decisions": decisions,
    }))
    .into_response())
}

/// `POST /api/v1/invitations/issue?insurer=N&fiscal_year=Y[&kind=checkup|guidance]`.
async fn issue(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
) -> Result<Response, ApiError> {
    use invite::daiko_invite::vouchers::VoucherKind;
    let q: Q = query(&uri)?;
    let kind = match q.kind.as_deref() {
        None | Some("") | Some("checkup") => VoucherKind::Checkup,
        Some("guidance") => VoucherKind::Guidance,
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("kind は checkup(受診券)か guidance(利用券)です: {other}"),
                format!("kind must be checkup or guidance, not {other}"),
            ));
        }
    };
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let r = invite::issue_kind(&state.store, &org, year(&q)?, kind, &actor(&caller))
        .await
        .map_err(invite_error)?;
    Ok(Json(json!(r)).into_response())
}

/// `GET /api/v1/invitations/vouchers?insurer=N&fiscal_year=Y` — the issued vouchers.
async fn vouchers(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let v = invite::issued(&state.store, &org, year(&q)?, &actor(&caller))
        .await
        .map_err(invite_error)?;
    Ok(Json(json!({ "insurer": org.number, "vouchers": v })).into_response())
}

fn zip_answer(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `POST /api/v1/invitations/letters?insurer=N&fiscal_year=Y[&issued_on=DATE]` → ZIP of the
/// PDF files, the mailing lists and `summary.json`.
async fn letters(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let fy = year(&q)?;
    let on = date(q.issued_on.as_deref(), "issued_on")?.unwrap_or_else(today_in_japan);
    let mut o = invite::letters(&state.store, &org, fy, on, &actor(&caller))
        .await
        .map_err(invite_error)?;
    let summary = json!({
        "run": o.run,
        "unmailable": o.unmailable,
        "sjis_errors": o.sjis_errors,
        "discount": o.discount,
        "saving_yen": o.saving_yen,
    });
    o.files.push(invite::OutputFile {
        name: "summary.json".into(),
        bytes: serde_json::to_vec_pretty(&summary).map_err(ApiError::internal)?,
    });
    let zip = invite::zip_files(&o.files).map_err(invite_error)?;
    Ok(zip_answer(&format!("letters_{fy}.zip"), zip))
}

/// `POST /api/v1/invitations/reminders?insurer=N&fiscal_year=Y&as_of=DATE` → ZIP of the
/// reminder list and `summary.json`.
async fn reminders(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let fy = year(&q)?;
    let Some(as_of) = date(q.as_of.as_deref(), "as_of")? else {
        return Err(ApiError::bad_request(
            "送付日を as_of で指定してください(YYYY-MM-DD)。",
            "Name the posting date with `as_of=YYYY-MM-DD`.",
        ));
    };
    let mut r = invite::reminders(&state.store, &org, fy, as_of, &actor(&caller))
        .await
        .map_err(invite_error)?;
    let summary = json!({
        "round": r.round,
        "sent_on": r.sent_on.to_string(),
        "variants": r.variants,
        "per_variant": r.per_variant,
        "reminded": r.reminded,
        "responded": r.responded,
        "returned": r.returned,
        "unmailable": r.unmailable,
    });
    r.files.push(invite::OutputFile {
        name: "summary.json".into(),
        bytes: serde_json::to_vec_pretty(&summary).map_err(ApiError::internal)?,
    });
    let zip = invite::zip_files(&r.files).map_err(invite_error)?;
    Ok(zip_answer(&format!("reminders_{fy}_r{}.zip", r.round), zip))
}

/// `GET /api/v1/invitations/uptake?insurer=N&fiscal_year=Y` (counts only).
async fn uptake(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let rows = invite::uptake(&state.store, &org, year(&q)?)
        .await
        .map_err(invite_error)?;
    Ok(Json(json!({ "insurer": org.number, "uptake": rows })).into_response())
}

/// `GET /api/v1/invitations/dashboard?insurer=N&fiscal_year=Y` (counts only).
async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let d = invite::dashboard(&state.store, &org, year(&q)?)
        .await
        .map_err(invite_error)?;
    Ok(Json(json!(d)).into_response())
}

#[derive(Debug, Deserialize)]
struct ReturnedBody {
    #[serde(default)]
    card_symbol: String,
    card_number: String,
    #[serde(default)]
    card_branch: String,
    /// `false` clears the mark.
    #[serde(default = "yes")]
    returned: bool,
    #[serde(default)]
    note: String,
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/invitations/returned?insurer=N` (JSON: card, returned, note).
async fn returned(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let b: ReturnedBody = parse_json(&read_limited(&headers, body, 64 * 1024).await?)?;
    let card = invite::daiko_invite::CardKey::new(&b.card_symbol, &b.card_number, &b.card_branch);
    invite::set_returned_mail(
        &state.store,
        &org,
        &card,
        b.returned,
        &b.note,
        &actor(&caller),
    )
    .await
    .map_err(invite_error)?;
    Ok(Json(json!({ "card": card, "returned": b.returned })).into_response())
}

/// `GET /api/v1/invitations/settings?insurer=N`.
async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let s = invite::settings(&state.store, &org)
        .await
        .map_err(invite_error)?;
    Ok(Json(json!(s)).into_response())
}

/// `PUT /api/v1/invitations/settings?insurer=N` (JSON settings; unknown fields refused).
async fn put_settings(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let bytes = read_limited(&headers, body, 256 * 1024).await?;
    let s = invite::parse_settings(&bytes).map_err(invite_error)?;
    invite::save_settings(&state.store, &org, &s, &actor(&caller))
        .await
        .map_err(invite_error)?;
    Ok(Json(json!(s)).into_response())
}

/// `GET /api/v1/invitations/template?insurer=N` → `{"version": v, "template": {…}}`.
async fn get_template(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let (v, t) = invite::template(&state.store, &org)
        .await
        .map_err(invite_error)?;
    Ok(Json(json!({ "version": v, "template": t })).into_response())
}

/// `PUT /api/v1/invitations/template?insurer=N` (JSON template) → the new version.
async fn put_template(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let t: invite::daiko_invite::LetterTemplate =
        parse_json(&read_limited(&headers, body, 256 * 1024).await?)?;
    let v = invite::save_template(&state.store, &org, &t, &actor(&caller))
        .await
        .map_err(invite_error)?;
    Ok(Json(json!({ "version": v, "template": t })).into_response())
}

/// `POST /api/v1/invitations/template/preview?insurer=N[&fiscal_year=Y]` (JSON template) →
/// a one-page PDF for a sample member (no personal data).
async fn preview(
    State(state): State<AppState>,
    Writer(caller): Writer,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q: Q = query(&uri)?;
    let org = target_insurer(&state, &caller, q.insurer.as_deref()).await?;
    let t: invite::daiko_invite::LetterTemplate =
        parse_json(&read_limited(&headers, body, 256 * 1024).await?)?;
    let s = invite::settings(&state.store, &org)
        .await
        .map_err(invite_error)?;
    let today = today_in_japan();
    let fy = q.fiscal_year.unwrap_or_else(|| {
        let y = i64::from(today.year());
        if today.month() < 4 { y - 1 } else { y }
    });
    let pdf = tokio::task::spawn_blocking(move || invite::preview_pdf(&org, &s, &t, fy, today))
        .await
        .map_err(ApiError::internal)?
        .map_err(invite_error)?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
