//! The billing page (請求・支払): the closed months of the caller's tenancy with its totals
//! and its documents as PDF and CSV — an insurer its invoices (請求書), an institution its
//! payment statements (支払明細書), agency staff every document. Operators also close a
//! month (form with the session's CSRF token) and download the month's 全銀 transfer file.
//!
//! * `GET /billing`
//! * `POST /billing/close` — operators; closing a closed month changes nothing.
//! * `GET /billing/{month}/invoices/{insurer}.pdf|.csv`,
//!   `GET /billing/{month}/statements/{institution}.pdf|.csv`,
//!   `GET /billing/{month}/transfer-file` — the same answers and audit rows as the API
//!   (`crate::api::billing`), whose tenancy decides.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Ctx, WebError, WebResult, check_csrf, esc, jst, notice, see_other};
use crate::AppState;
use crate::api::billing::{
    DocFormat, MonthView, Scope, close_for, invoice_document, month_views, scope,
    statement_document, transfer_file_response,
};
use crate::caller::Caller;
use crate::error::ApiError;

/// Roles that open the page (each within its tenancy).
const ROLES: [&str; 4] = ["insurer", "institution", "operator", "emergency"];

/// The routes, part of [`super::routes`].
pub(super) fn routes() -> Vec<super::RouteEntry> {
    let r = |path, methods| super::PortalRoute { path, methods };
    vec![
        (r("/billing", super::GET), get(billing_page)),
        (r("/billing/close", super::POST), post(close_submit)),
        (
            r("/billing/{month}/invoices/{file}", super::GET),
            get(invoice_file),
        ),
        (
            r("/billing/{month}/statements/{file}", super::GET),
            get(statement_file),
        ),
        (
            r("/billing/{month}/transfer-file", super::GET),
            get(transfer_file),
        ),
    ]
}

/// The answer refusing the page, if any: a full session whose password change is due goes
/// to `/password`; other roles get 404.
fn refused(c: &Caller) -> Option<Response> {
    if c.user.must_change_password {
        return Some(see_other("/password", vec![]));
    }
    if !ROLES.contains(&c.role()) {
        return Some(WebError::NotFound.into_response());
    }
    None
}

/// An API answer on a portal path: 404 as the portal's page, other errors as they are
/// (JSON with both languages).
fn portal(r: Result<Response, ApiError>) -> Response {
    match r {
        Ok(r) => r,
        Err(e) if e.status == StatusCode::NOT_FOUND => WebError::NotFound.into_response(),
        Err(e) => e.into_response(),
    }
}

/// 12,345 (negative with a minus sign).
fn yen(n: i64) -> String {
    daiko_billing::documents::yen(n)
}

/// `06139999.pdf` → (number, format); anything else is not a document.
fn split_file(file: &str) -> Option<(&str, DocFormat)> {
    let (n, f) = if let Some(n) = file.strip_suffix(".pdf") {
        (n, DocFormat::Pdf)
    } else {
        (file.strip_suffix(".csv")?, DocFormat::Csv)
    };
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some((n, f))
}

async fn invoice_file(
    State(st): State<AppState>,
    c: Caller,
    Path((month, file)): Path<(String, String)>,
) -> Response {
    if let Some(r) = refused(&c) {
        return r;
    }
    let Some((number, format)) = split_file(&file) else {
        return WebError::NotFound.into_response();
    };
    portal(invoice_document(&st, &c, &month, number, format).await)
}

async fn statement_file(
    State(st): State<AppState>,
    c: Caller,
    Path((month, file)): Path<(String, String)>,
) -> Response {
    if let Some(r) = refused(&c) {
        return r;
    }
    let Some((number, format)) = split_file(&file) else {
        return WebError::NotFound.into_response();
    };
    portal(statement_document(&st, &c, &month, number, format).await)
}

async fn transfer_file(
    State(st): State<AppState>,
    c: Caller,
    Path(month): Path<String>,
) -> Response {
    if let Some(r) = refused(&c) {
        return r;
    }
    portal(transfer_file_response(&st, &c, &month).await)
}

/// `GET /billing`.
async fn billing_page(State(st): State<AppState>, c: Caller) -> WebResult {
    if let Some(r) = refused(&c) {
        return Ok(r);
    }
    render(&st, &c, String::new()).await
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    month: String,
}

/// `POST /billing/close` — operators; answers the page with what the close did.
async fn close_submit(
    State(st): State<AppState>,
    c: Caller,
    Form(f): Form<CloseForm>,
) -> WebResult {
    if let Some(r) = refused(&c) {
        return Ok(r);
    }
    if !c.is("operator") {
        return Err(WebError::NotFound);
    }
    check_csrf(&c, Some(&f.csrf))?;
    let cx = Ctx::new(&c);
    let msg = match close_for(&st, &c, f.month.trim()).await {
        Ok(done) if done.already_closed => notice(
            "info",
            &format!(
                "{} {}",
                done.month,
                cx.t(
                    "は締め済みです(何も変更していません)。",
                    "was already closed (nothing changed)."
                )
            ),
        ),
        Ok(done) => {
            let mut text = format!(
                "{} {} {} {} / {} {} {}",
                done.month,
                cx.t("を締めました:", "closed:"),
                done.lines,
                cx.t("件", "records"),
                cx.t("請求額", "claims"),
                yen(done.claim_total),
                cx.t("円", "yen"),
            );
            if !done.excluded.is_empty() {
                let _ = write!(
                    text,
                    " / {} {}",
                    done.excluded.len(),
                    cx.t(
                        "件は支払済みの請求と重複するため除外しました(U-01/U-05)",
                        "records left out as already billed (U-01/U-05)"
                    )
                );
            }
            notice("ok", &text)
        }
        Err(e) if e.status == StatusCode::INTERNAL_SERVER_ERROR => {
            return Err(WebError::Internal(e.message_en));
        }
        Err(e) => notice(
            "error",
            if cx.l.en {
                &e.message_en
            } else {
                &e.message_ja
            },
        ),
    };
    render(&st, &c, msg).await
}

/// The page with an optional notice on top.
async fn render(st: &AppState, c: &Caller, msg: String) -> WebResult {
    let cx = Ctx::new(c);
    let title = cx.t("請求・支払", "Billing");
    let scope = match scope(c) {
        Ok(s) => s,
        Err(e) if e.status == StatusCode::FORBIDDEN => {
            let body = notice(
                "info",
                if cx.l.en {
                    &e.message_en
                } else {
                    &e.message_ja
                },
            );
            return Ok(cx.page("/billing", title, &body));
        }
        Err(_) => return Err(WebError::NotFound),
    };
    let months = month_views(st, &scope)
        .await
        .map_err(|e| WebError::Internal(e.message_en))?;
    let mut body = msg;
    let intro = match &scope {
        Scope::Insurer(_) => cx.t(
            "締めた月ごとの請求書です。明細には被保険者証番号が含まれます(閲覧は記録されます)。",
            "Your invoices per closed month. The details carry card numbers (every download is logged).",
        ),
        Scope::Institution(_) => cx.t(
            "締めた月ごとの支払明細書です。明細には被保険者証番号が含まれます(閲覧は記録されます)。",
            "Your payment statements per closed month. The details carry card numbers (every download is logged).",
        ),
        Scope::All => cx.t(
            "締めた月の請求書・支払明細書と振込データです。",
            "Invoices, payment statements and transfer files of the closed months.",
        ),
    };
    let _ = write!(body, "<p>{intro}</p>");
    if c.is("operator") {
        body.push_str(&close_form(st, &cx).await?);
    }
    if months.is_empty() {
        let _ = write!(
            body,
            "<p class=\"empty\">{}</p>",
            cx.t("締めた月はまだありません。", "No month is closed yet.")
        );
    } else if scope == Scope::All {
        for m in &months {
            body.push_str(&staff_month(&cx, m));
        }
    } else {
        body.push_str(&tenant_table(&cx, &scope, &months));
    }
    Ok(cx.page("/billing", title, &body))
}

/// The operator's close form, suggesting the latest month whose reception window is over.
async fn close_form(st: &AppState, cx: &Ctx<'_>) -> Result<String, WebError> {
    let cal = daiko_pipeline::billing::calendar(&st.store)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let suggested = cal.billing_month_of(jiff::Timestamp::now()).prev();
    Ok(format!(
        "<form method=\"post\" action=\"/billing/close\" class=\"card row\" data-testid=\"close\">{csrf}\
         <div><label for=\"month\">{label}</label>\
         <input id=\"month\" name=\"month\" type=\"month\" required value=\"{suggested}\" pattern=\"[0-9]{{4}}-[0-9]{{2}}\"></div>\
         <div><button type=\"submit\">{button}</button></div>\
         <p class=\"hint\">{hint}</p></form>",
        csrf = cx.csrf_field(),
        label = cx.t("締める月", "Month to close"),
        button = cx.t("月次締め", "Close the month"),
        hint = cx.t(
            "受付期限を過ぎた月だけ締められます。締め済みの月を再度締めても何も変わりません。",
            "Only months whose reception deadline has passed can be closed; closing a closed month changes nothing."
        ),
    ))
}

/// The PDF and CSV links of one document.
fn links(kind: &str, month: &str, number: &str) -> String {
    format!(
        "<a href=\"/billing/{m}/{kind}/{n}.pdf\" download>PDF</a> · \
         <a href=\"/billing/{m}/{kind}/{n}.csv\" download>CSV</a>",
        m = esc(month),
        n = esc(number),
    )
}

/// An insurer's or institution's months: one row per document.
fn tenant_table(cx: &Ctx<'_>, scope: &Scope, months: &[MonthView]) -> String {
    let insurer = matches!(scope, Scope::Insurer(_));
    let mut t = format!(
        "<table data-testid=\"billing\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        cx.t("対象月", "Month"),
        cx.t("締め日時", "Closed at"),
        cx.t("件数", "Records"),
        cx.t("請求金額", "Claims"),
        cx.t("手数料", "Fees"),
        cx.t("過誤調整", "Offsets"),
        if insurer {
            cx.t("ご請求額", "Amount due")
        } else {
            cx.t("お支払額", "Amount paid")
        },
        cx.t("明細", "Details"),
    );
    for m in months {
        for i in &m.invoices {
            let _ = write!(
                t,
                "<tr><td>{month}</td><td>{at}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                i.records,
                yen(i.claim_total),
                yen(i.fee_total),
                yen(i.offset_total),
                yen(i.amount_due),
                links("invoices", &m.month, &i.insurer,),
                month = esc(&m.month),
                at = esc(&jst(&m.closed_at)),
            );
        }
        for s in &m.statements {
            let _ = write!(
                t,
                "<tr><td>{month}</td><td>{at}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                s.records,
                yen(s.claim_total),
                yen(s.fee_total),
                yen(s.offset_total),
                yen(s.amount_paid),
                links("statements", &m.month, &s.institution,),
                month = esc(&m.month),
                at = esc(&jst(&m.closed_at)),
            );
        }
    }
    t.push_str("</tbody></table>");
    t
}

/// One closed month for agency staff: totals, every invoice and statement, the transfer
/// file (operators).
fn staff_month(cx: &Ctx<'_>, m: &MonthView) -> String {
    let mut s = format!(
        "<section class=\"card\" data-testid=\"month-{month}\"><h2>{month}</h2>\
         <p>{closed} {at} · {lines} {records} · {claims} {total} {yen_unit}</p>",
        month = esc(&m.month),
        closed = cx.t("締め日時", "Closed at"),
        at = esc(&jst(&m.closed_at)),
        lines = m.records,
        records = cx.t("件", "records"),
        claims = cx.t("請求金額", "claims"),
        total = yen(m.claim_total),
        yen_unit = cx.t("円", "yen"),
    );
    if cx.c.is("operator") {
        let _ = write!(
            s,
            "<p><a href=\"/billing/{m}/transfer-file\" download>{}</a></p>",
            cx.t(
                "振込データ(全銀)をダウンロード",
                "Download the transfer file (Zengin)"
            ),
            m = esc(&m.month),
        );
    }
    let _ = write!(
        s,
        "<h3>{}</h3><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        cx.t("請求書(保険者)", "Invoices (insurers)"),
        cx.t("保険者", "Insurer"),
        cx.t("件数", "Records"),
        cx.t("請求金額", "Claims"),
        cx.t("ご請求額", "Amount due"),
        cx.t("明細", "Details"),
    );
    for i in &m.invoices {
        let _ = write!(
            s,
            "<tr><td>{} {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&i.insurer),
            esc(&i.insurer_name),
            i.records,
            yen(i.claim_total),
            yen(i.amount_due),
            links("invoices", &m.month, &i.insurer,),
        );
    }
    let _ = write!(
        s,
        "</tbody></table><h3>{}</h3><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        cx.t("支払明細書(健診機関)", "Payment statements (institutions)"),
        cx.t("機関", "Institution"),
        cx.t("件数", "Records"),
        cx.t("請求金額", "Claims"),
        cx.t("お支払額", "Amount paid"),
        cx.t("明細", "Details"),
    );
    for st in &m.statements {
        let _ = write!(
            s,
            "<tr><td>{} {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&st.institution),
            esc(&st.institution_name),
            st.records,
            yen(st.claim_total),
            yen(st.amount_paid),
            links("statements", &m.month, &st.institution,),
        );
    }
    s.push_str("</tbody></table></section>");
    s
}
