//! The invitations page (健診案内) for insurer users (and agency operators, who name the
//! insurer with `?insurer=NUMBER`): counts of the fiscal year, the uptake of each reminder
//! variant as an inline SVG bar chart, roster upload, voucher issue, the letter template
//! editor with a PDF preview, and the letters download. The work is done by
//! `daiko_pipeline::invite`, which writes the audit rows.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use daiko_pipeline::invite::daiko_invite::LetterTemplate;
use daiko_pipeline::invite::{self, Actor, Dashboard, InviteError};
use daiko_store::orgs::{Org, OrgKind};
use serde::Deserialize;

use super::{Ctx, Lang, WebError, WebResult, check_csrf, esc, notice};
use crate::AppState;
use crate::caller::Caller;

const ROLES: [&str; 3] = ["insurer", "operator", "emergency"];

/// The page's routes, part of [`super::routes`].
pub(super) fn routes() -> Vec<super::RouteEntry> {
    let r = |path, methods| super::PortalRoute { path, methods };
    vec![
        (r("/invite", super::GET), get(page)),
        (
            r("/invite/roster", super::POST),
            post(roster).layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        ),
        (r("/invite/issue", super::POST), post(issue)),
        (r("/invite/template", super::POST), post(template)),
        (r("/invite/preview", super::POST), post(preview)),
        (r("/invite/letters", super::POST), post(letters)),
        (r("/invite/reminders", super::POST), post(reminders)),
    ]
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    insurer: Option<String>,
    fiscal_year: Option<i64>,
}

/// The current fiscal year in Japan (April–March).
fn current_fy() -> i64 {
    let d = jiff::Timestamp::now()
        .to_zoned(daiko_pipeline::intake::jst())
        .date();
    let y = i64::from(d.year());
    if d.month() < 4 { y - 1 } else { y }
}

fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(daiko_pipeline::intake::jst())
        .date()
}

fn actor(c: &Caller) -> Actor {
    Actor {
        login: c.user.login.clone(),
        role: c.user.role.clone(),
        org: c.org_number().to_string(),
        source: c.source.clone(),
    }
}

/// Why the page cannot show an insurer.
enum NoInsurer {
    /// An operator has not named one yet.
    Choose,
    /// Named but not usable (unknown, not subscribed): the message.
    Refused(String),
}

/// Role check (404 for others, a password change first) and the insurer worked on.
async fn insurer(
    st: &AppState,
    c: &Caller,
    number: Option<&str>,
) -> Result<Result<Org, NoInsurer>, WebError> {
    if !ROLES.contains(&c.role()) {
        return Err(WebError::NotFound);
    }
    let l = Ctx::new(c).l;
    let org = if c.is("insurer") {
        match c.org.clone() {
            Some(o) if o.kind == OrgKind::Insurer => o,
            _ => return Err(WebError::NotFound),
        }
    } else {
        let Some(n) = number.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(Err(NoInsurer::Choose));
        };
        match invite::invite_insurer(&st.store, n).await {
            Ok(o) => return Ok(Ok(o)),
            Err(InviteError::Store(e)) => return Err(e.into()),
            Err(e) => return Ok(Err(NoInsurer::Refused(msg(l, &e)))),
        }
    };
    Ok(match invite::require_subscribed(&org) {
        Ok(()) => Ok(org),
        Err(e) => Err(NoInsurer::Refused(msg(l, &e))),
    })
}

fn msg(l: Lang, e: &InviteError) -> String {
    if l.en { e.en() } else { e.ja() }
}

/// Hidden fields that keep the insurer (for operators) and the year in every form.
fn keep(cx: &Ctx<'_>, org: &Org, fy: i64) -> String {
    let mut s = cx.csrf_field();
    if !cx.c.is("insurer") {
        let _ = write!(
            s,
            "<input type=\"hidden\" name=\"insurer\" value=\"{}\">",
            esc(&org.number)
        );
    }
    let _ = write!(
        s,
        "<input type=\"hidden\" name=\"fiscal_year\" value=\"{fy}\">"
    );
    s
}

/// Uptake per round and variant as horizontal bars (inline SVG, no script).
fn uptake_chart(l: Lang, d: &Dashboard) -> String {
    if d.uptake.is_empty() {
        return format!(
            "<p class=\"empty\">{}</p>",
            l.t(
                "受診勧奨はまだ送付していません。",
                "No reminder round has been sent yet."
            )
        );
    }
    let (label_w, bar_w, row_h) = (180.0_f64, 360.0_f64, 26.0_f64);
    let height = row_h * d.uptake.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg role=\"img\" data-testid=\"uptake-chart\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{title}</title>",
        w = label_w + bar_w + 120.0,
        title = l.t("勧奨文面ごとの受診率", "Uptake per reminder variant"),
    );
    for (i, u) in d.uptake.iter().enumerate() {
        let y = i as f64 * row_h + 5.0;
        let rate = u.rate_percent();
        let w = (bar_w * rate / 100.0).max(1.0);
        let _ = write!(
            svg,
            "<g data-variant=\"{v}\"><text x=\"0\" y=\"{ty}\" font-size=\"13\">{round} {v}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{bar_w}\" height=\"{h}\" fill=\"#eef1f5\"/>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{h}\" fill=\"#2f6db5\"><title>{rate:.1}%</title></rect>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"13\">{rate:.1}% ({resp}/{sent})</text></g>",
            v = esc(&u.variant),
            round = esc(&format!("{}{}", l.t("第", "Round "), u.round)) + l.t("回", ""),
            ty = y + 15.0,
            h = row_h - 8.0,
            tx = label_w + bar_w + 6.0,
            resp = u.responded,
            sent = u.sent,
        );
    }
    svg.push_str("</svg>");
    svg
}

async fn body(
    st: &AppState,
    cx: &Ctx<'_>,
    org: &Org,
    fy: i64,
    message: Option<String>,
    template_text: Option<&LetterTemplate>,
) -> Result<String, WebError> {
    let l = cx.l;
    let d = match invite::dashboard(&st.store, org, fy).await {
        Ok(d) => d,
        Err(InviteError::Store(e)) => return Err(e.into()),
        Err(e) => return Ok(notice("error", &msg(l, &e))),
    };
    let (version, stored) = invite::template(&st.store, org)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let t = template_text.unwrap_or(&stored);
    let hidden = keep(cx, org, fy);
    let rate = if d.targets == 0 {
        0.0
    } else {
        d.responded as f64 * 100.0 / d.targets as f64
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "{message}<form method=\"get\" action=\"/invite\" class=\"inline\">{insurer_field}\
         <label for=\"fy\">{fy_l}</label> <input id=\"fy\" name=\"fiscal_year\" type=\"number\" min=\"2008\" max=\"2099\" value=\"{fy}\"> \
         <button type=\"submit\">{show}</button></form>\
         <section><h2>{counts_h} ({org_name})</h2><dl class=\"facts\" data-testid=\"invite-counts\">\
         <dt>{roster_l}</dt><dd>{roster_v}</dd><dt>{members_l}</dt><dd data-testid=\"members\">{members}</dd>\
         <dt>{targets_l}</dt><dd data-testid=\"targets\">{targets}</dd><dt>{issued_l}</dt><dd data-testid=\"issued\">{issued}</dd>\
         <dt>{resp_l}</dt><dd>{responded} ({rate:.1}%)</dd><dt>{ret_l}</dt><dd>{returned}</dd>\
         <dt>{runs_l}</dt><dd>{runs}</dd><dt>{rounds_l}</dt><dd>{rounds}</dd></dl></section>\
         <section><h2>{chart_h}</h2>{chart}</section>",
        message = message.unwrap_or_default(),
        insurer_field = if cx.c.is("insurer") {
            String::new()
        } else {
            format!(
                "<label for=\"ins\">{}</label> <input id=\"ins\" name=\"insurer\" value=\"{}\"> ",
                l.t("保険者番号", "Insurer number"),
                esc(&org.number)
            )
        },
        fy_l = l.t("年度", "Fiscal year"),
        show = l.t("表示", "Show"),
        counts_h = l.t("件数", "Counts"),
        org_name = esc(&org.name),
        roster_l = l.t("名簿の版", "Roster version"),
        roster_v = d
            .roster_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| l.t("未登録", "none").to_string()),
        members_l = l.t("名簿の人数", "Members"),
        members = d.members,
        targets_l = l.t("対象者", "Targets"),
        targets = d.targets,
        issued_l = l.t("受診券発行済", "Vouchers issued"),
        issued = d.issued,
        resp_l = l.t("受診済(対象者)", "Checked up (targets)"),
        responded = d.responded,
        ret_l = l.t("宛所不明", "Returned mail"),
        returned = d.returned_mail,
        runs_l = l.t("案内状の作成回数", "Letter runs"),
        runs = d.letter_runs,
        rounds_l = l.t("受診勧奨の回数", "Reminder rounds"),
        rounds = d.reminder_rounds,
        chart_h = l.t("勧奨文面ごとの受診率", "Uptake per reminder variant"),
        chart = uptake_chart(l, &d),
    );
    let _ = write!(
        out,
        "<section><h2>{roster_h}</h2>\
         <form method=\"post\" action=\"/invite/roster\" enctype=\"multipart/form-data\" class=\"card\">{hidden}\
         <label for=\"roster-file\">{file_l}</label><input id=\"roster-file\" name=\"file\" type=\"file\" accept=\".csv,text/csv\" required>\
         <button type=\"submit\">{import}</button></form><p class=\"help\">{roster_help}</p></section>\
         <section><h2>{issue_h}</h2><form method=\"post\" action=\"/invite/issue\" class=\"card\">{hidden}\
         <button type=\"submit\" data-testid=\"issue\">{issue_b}</button> \
         <button type=\"submit\" name=\"kind\" value=\"guidance\" data-testid=\"issue-guidance\">{issue_g}</button></form>\
         <form method=\"post\" action=\"/invite/letters\" class=\"card\">{hidden}<button type=\"submit\">{letters_b}</button></form>\
         <form method=\"post\" action=\"/invite/reminders\" class=\"card\">{hidden}\
         <label for=\"as-of\">{as_of_l}</label><input id=\"as-of\" name=\"as_of\" type=\"date\" value=\"{today}\" required>\
         <button type=\"submit\" data-testid=\"reminders\">{reminders_b}</button></form>\
         <p class=\"help\">{reminders_help}</p></section>\
         <section><h2>{tpl_h} ({ver_l} {version})</h2>\
         <form method=\"post\" action=\"/invite/template\" class=\"card\">{hidden}\
         <label for=\"t-title\">{title_l}</label><input id=\"t-title\" name=\"title\" value=\"{title}\">\
         <label for=\"t-body\">{body_l}</label><textarea id=\"t-body\" name=\"body\" rows=\"14\" cols=\"60\">{tbody}</textarea>\
         <label for=\"t-vt\">{vt_l}</label><input id=\"t-vt\" name=\"voucher_title\" value=\"{vt}\">\
         <label for=\"t-vn\">{vn_l}</label><textarea id=\"t-vn\" name=\"voucher_note\" rows=\"3\" cols=\"60\">{vn}</textarea>\
         <button type=\"submit\" name=\"action\" value=\"save\">{save}</button> \
         <button type=\"submit\" formaction=\"/invite/preview\" formtarget=\"_blank\">{preview}</button></form>\
         <p class=\"help\">{ph_l}: {placeholders}</p></section>",
        roster_h = l.t("名簿の登録", "Roster upload"),
        file_l = l.t("名簿CSV(UTF-8 または Shift_JIS)", "Roster CSV (UTF-8 or Shift_JIS)"),
        import = l.t("登録", "Import"),
        roster_help = l.t(
            "1行でも誤りがあると何も登録せず、行・列・理由を表示します。登録のたびに新しい版になり、履歴は残ります。",
            "A file with any bad row imports nothing and lists the line, column and reason. Every import is a new version; history is kept."
        ),
        issue_h = l.t("受診券の発行と案内状", "Vouchers and letters"),
        issue_b = l.t("対象者に受診券を発行", "Issue vouchers to targets"),
        letters_b = l.t("案内状と宛名データをダウンロード (ZIP)", "Download letters and mailing list (ZIP)"),
        issue_g = l.t("特定保健指導の利用券を発行", "Issue guidance vouchers (利用券)"),
        as_of_l = l.t("受診勧奨の発送日", "Reminder posting date"),
        today = today(),
        reminders_b = l.t("未受診者への受診勧奨 (ZIP)", "Reminders to non-responders (ZIP)"),
        reminders_help = l.t(
            "今年度の健診記録がなく、宛所不明でない対象者に次の回の勧奨を作ります。文面の種類は対象者ごとに固定です。",
            "Plans the next round for targets with no checkup record this year who were not returned by post. Each member keeps one message variant."
        ),
        tpl_h = l.t("案内文のひな形", "Letter template"),
        ver_l = l.t("版", "version"),
        title_l = l.t("表題", "Title"),
        title = esc(&t.title),
        body_l = l.t("本文(空行で段落を区切る)", "Body (blank lines separate paragraphs)"),
        tbody = esc(&t.body),
        vt_l = l.t("受診券の表題", "Voucher title"),
        vt = esc(&t.voucher_title),
        vn_l = l.t("受診券の注記", "Voucher note"),
        vn = esc(&t.voucher_note),
        save = l.t("保存", "Save"),
        preview = l.t("見本PDF", "Preview PDF"),
        ph_l = l.t("使える差し込み項目", "Placeholders"),
        placeholders = invite::daiko_invite::letters::PLACEHOLDERS
            .iter()
            .map(|p| format!("<code>{{{}}}</code>", esc(p)))
            .collect::<Vec<_>>()
            .join(" "),
    );
    Ok(out)
}

fn choose_page(cx: &Ctx<'_>, why: NoInsurer) -> Response {
    let l = cx.l;
    let m = match why {
        NoInsurer::Choose => String::new(),
        NoInsurer::Refused(m) => notice("error", &m),
    };
    let form = if cx.c.is("insurer") {
        String::new()
    } else {
        format!(
            "<form method=\"get\" action=\"/invite\" class=\"card\"><label for=\"ins\">{}</label>\
             <input id=\"ins\" name=\"insurer\" required> <button type=\"submit\">{}</button></form>",
            l.t("保険者番号", "Insurer number"),
            l.t("表示", "Show")
        )
    };
    cx.page(
        "/invite",
        l.t("健診案内", "Invitations"),
        &format!("{m}{form}"),
    )
}

fn title(l: Lang) -> &'static str {
    l.t("健診案内", "Invitations")
}

/// `GET /invite[?insurer=N][&fiscal_year=Y]`.
async fn page(State(st): State<AppState>, c: Caller, Query(q): Query<PageQuery>) -> WebResult {
    if c.user.must_change_password {
        return Ok(super::see_other("/password", vec![]));
    }
    let cx = Ctx::new(&c);
    let org = match insurer(&st, &c, q.insurer.as_deref()).await? {
        Ok(o) => o,
        Err(why) => return Ok(choose_page(&cx, why)),
    };
    let fy = q.fiscal_year.unwrap_or_else(current_fy);
    let b = body(&st, &cx, &org, fy, None, None).await?;
    Ok(cx.page("/invite", title(cx.l), &b))
}

#[derive(Debug, Default, Deserialize)]
struct FormFields {
    #[serde(default)]
    csrf: String,
    insurer: Option<String>,
    fiscal_year: Option<i64>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    voucher_title: String,
    #[serde(default)]
    voucher_note: String,
    /// `guidance` issues 利用券; anything else 受診券.
    kind: Option<String>,
    /// Posting date of a reminder round (YYYY-MM-DD).
    as_of: Option<String>,
}

impl FormFields {
    fn template(&self) -> LetterTemplate {
        // Browsers send CRLF in textareas; the template's paragraphs are split on "\n\n".
        let norm = |s: &str| s.replace("\r\n", "\n");
        LetterTemplate {
            title: norm(&self.title),
            body: norm(&self.body),
            voucher_title: norm(&self.voucher_title),
            voucher_note: norm(&self.voucher_note),
        }
    }
}

/// Checks the session, the role and the CSRF token; answers the insurer and the year.
async fn posted(
    st: &AppState,
    c: &Caller,
    f: &FormFields,
) -> Result<Result<(Org, i64), Response>, WebError> {
    check_csrf(c, Some(&f.csrf))?;
    let cx = Ctx::new(c);
    match insurer(st, c, f.insurer.as_deref()).await? {
        Ok(o) => Ok(Ok((o, f.fiscal_year.unwrap_or_else(current_fy)))),
        Err(why) => Ok(Err(choose_page(&cx, why))),
    }
}

async fn show(
    st: &AppState,
    c: &Caller,
    org: &Org,
    fy: i64,
    m: String,
    t: Option<&LetterTemplate>,
) -> WebResult {
    let cx = Ctx::new(c);
    let b = body(st, &cx, org, fy, Some(m), t).await?;
    Ok(cx.page("/invite", title(cx.l), &b))
}

fn outcome<T>(
    l: Lang,
    r: Result<T, InviteError>,
    ok: impl FnOnce(T) -> String,
) -> Result<String, WebError> {
    match r {
        Ok(v) => Ok(notice("ok", &ok(v))),
        Err(InviteError::Store(e)) => Err(e.into()),
        Err(e) => Ok(notice("error", &msg(l, &e))),
    }
}

/// `POST /invite/roster` (multipart: csrf, insurer, fiscal_year, file).
async fn roster(State(st): State<AppState>, c: Caller, mut form: Multipart) -> WebResult {
    let mut f = FormFields::default();
    let (mut file, mut name) = (None, String::new());
    while let Some(field) = form.next_field().await.map_err(|_| WebError::Csrf)? {
        match field.name().unwrap_or("") {
            "csrf" => f.csrf = field.text().await.unwrap_or_default(),
            "insurer" => f.insurer = Some(field.text().await.unwrap_or_default()),
            "fiscal_year" => f.fiscal_year = field.text().await.ok().and_then(|t| t.parse().ok()),
            "file" => {
                name = field.file_name().unwrap_or("").to_string();
                file = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| WebError::Internal(e.to_string()))?,
                );
            }
            _ => {}
        }
    }
    let (org, fy) = match posted(&st, &c, &f).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = Ctx::new(&c).l;
    let m = match file {
        Some(bytes) => {
            match invite::import_roster(&st.store, &org, &bytes, &name, &actor(&c)).await {
                Ok(info) => notice(
                    "ok",
                    &format!(
                        "{} {}: {} {}",
                        l.t("名簿を登録しました。版", "Roster imported: version"),
                        info.version,
                        info.members,
                        l.t("人", "members")
                    ),
                ),
                Err(InviteError::Store(e)) => return Err(e.into()),
                Err(InviteError::Roster(rows)) => {
                    let mut s = notice(
                        "error",
                        l.t(
                            "名簿に誤りがあるため、何も登録していません。",
                            "The roster has errors; nothing was imported.",
                        ),
                    );
                    s.push_str("<ul class=\"errors\" data-testid=\"roster-errors\">");
                    for e in rows.errors.iter().take(100) {
                        let _ = write!(
                            s,
                            "<li>{} {} · {} · {}</li>",
                            l.t("行", "line"),
                            e.line,
                            esc(&e.column),
                            esc(if l.en { &e.en } else { &e.ja })
                        );
                    }
                    s.push_str("</ul>");
                    s
                }
                Err(e) => notice("error", &msg(l, &e)),
            }
        }
        None => notice("error", l.t("ファイルを選んでください。", "Choose a file.")),
    };
    show(&st, &c, &org, fy, m, None).await
}

/// `POST /invite/issue`.
async fn issue(State(st): State<AppState>, c: Caller, Form(f): Form<FormFields>) -> WebResult {
    let (org, fy) = match posted(&st, &c, &f).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = Ctx::new(&c).l;
    let issued = if f.kind.as_deref() == Some("guidance") {
        invite::issue_guidance(&st.store, &org, fy, &actor(&c)).await
    } else {
        invite::issue(&st.store, &org, fy, &actor(&c)).await
    };
    let m = outcome(l, issued, |r| {
        format!(
            "{}: {} / {}: {}",
            l.t("発行しました", "Issued"),
            r.issued,
            l.t("発行済み", "already held"),
            r.already
        )
    })?;
    show(&st, &c, &org, fy, m, None).await
}

/// `POST /invite/template`: checks (compiles) and saves a new version.
async fn template(State(st): State<AppState>, c: Caller, Form(f): Form<FormFields>) -> WebResult {
    let (org, fy) = match posted(&st, &c, &f).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = Ctx::new(&c).l;
    let t = f.template();
    let r = invite::save_template(&st.store, &org, &t, &actor(&c)).await;
    let failed = r.is_err();
    let m = outcome(l, r, |v| {
        format!("{} {v}", l.t("保存しました。版", "Saved: version"))
    })?;
    // On an error the edited text stays in the form.
    show(&st, &c, &org, fy, m, failed.then_some(&t)).await
}

/// `POST /invite/preview`: a one-page PDF of the edited template for a sample member.
async fn preview(State(st): State<AppState>, c: Caller, Form(f): Form<FormFields>) -> WebResult {
    let (org, fy) = match posted(&st, &c, &f).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = Ctx::new(&c).l;
    let t = f.template();
    let s = match invite::settings(&st.store, &org).await {
        Ok(s) => s,
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    let r = tokio::task::spawn_blocking(move || invite::preview_pdf(&org, &s, &t, fy, today()))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    match r {
        Ok(pdf) => Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response()),
        Err(InviteError::Store(e)) => Err(e.into()),
        Err(e) => {
            let cx = Ctx::new(&c);
            Ok(cx.page("/invite", title(l), &notice("error", &msg(l, &e))))
        }
    }
}

/// `POST /invite/letters`: the letters and mailing lists as one ZIP download.
async fn letters(State(st): State<AppState>, c: Caller, Form(f): Form<FormFields>) -> WebResult {
    let (org, fy) = match posted(&st, &c, &f).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = Ctx::new(&c).l;
    match invite::letters(&st.store, &org, fy, today(), &actor(&c)).await {
        Ok(o) => {
            let zip = invite::zip_files(&o.files).map_err(|e| WebError::Internal(e.to_string()))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "application/zip".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"letters_{fy}.zip\""),
                    ),
                ],
                zip,
            )
                .into_response())
        }
        Err(InviteError::Store(e)) => Err(e.into()),
        Err(e) => show(&st, &c, &org, fy, notice("error", &msg(l, &e)), None).await,
    }
}

/// `POST /invite/reminders`: the next reminder round as of the posting date, one ZIP download.
async fn reminders(State(st): State<AppState>, c: Caller, Form(f): Form<FormFields>) -> WebResult {
    let (org, fy) = match posted(&st, &c, &f).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let l = Ctx::new(&c).l;
    let Some(as_of) = f
        .as_of
        .as_deref()
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
    else {
        let m = notice(
            "error",
            l.t(
                "発送日を YYYY-MM-DD で入力してください。",
                "Enter the posting date as YYYY-MM-DD.",
            ),
        );
        return show(&st, &c, &org, fy, m, None).await;
    };
    match invite::reminders(&st.store, &org, fy, as_of, &actor(&c)).await {
        Ok(r) => {
            let zip = invite::zip_files(&r.files).map_err(|e| WebError::Internal(e.to_string()))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "application/zip".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"reminders_{fy}_r{}.zip\"", r.round),
                    ),
                ],
                zip,
            )
                .into_response())
        }
        Err(InviteError::Store(e)) => Err(e.into()),
        Err(e) => show(&st, &c, &org, fy, notice("error", &msg(l, &e)), None).await,
    }
}
