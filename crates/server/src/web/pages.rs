//! The signed-in pages: home, submissions, upload, deliveries, reference data,
//! organisations and users, audit log.

use std::fmt::Write as _;

use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;

use daiko_store::audit::AuditQuery;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::submissions::{Delivery, Submission};
use daiko_store::users::NewUser;

use super::{
    Ctx, Lang, WebError, WebResult, check_csrf, csrf_header, esc, jst, notice, see_other,
    url_encode,
};
use crate::AppState;
use crate::auth::{TOTP_ISSUER, hash_password, new_totp_secret, otpauth_url};
use crate::caller::Caller;

/// Roles that may list submissions.
const SUBMISSION_ROLES: [&str; 4] = ["institution", "insurer", "operator", "emergency"];
const UPLOAD_ROLES: [&str; 3] = ["institution", "operator", "emergency"];
const DELIVERY_ROLES: [&str; 4] = ["insurer", "institution", "operator", "emergency"];
const REFERENCE_ROLES: [&str; 3] = ["insurer", "operator", "emergency"];
const AUDIT_ROLES: [&str; 2] = ["auditor", "admin"];

/// A full session whose password change is still due goes to `/password` first; a role
/// without business on the page gets 404.
fn admit(c: &Caller, roles: &[&str]) -> Result<(), Box<Response>> {
    if c.user.must_change_password {
        return Err(Box::new(see_other("/password", vec![])));
    }
    if !roles.is_empty() && !roles.contains(&c.role()) {
        return Err(Box::new(WebError::NotFound.into_response()));
    }
    Ok(())
}

macro_rules! admit {
    ($c:expr, $roles:expr) => {
        if let Err(r) = admit(&$c, $roles) {
            return Ok(*r);
        }
    };
}

fn status_label(s: &str, l: Lang) -> String {
    match s {
        "received" => l.t("受領", "received").into(),
        "checking" => l.t("点検中", "checking").into(),
        "done" => l.t("点検済", "checked").into(),
        // S21: the sender learns that the file was infected (or waits for the scanner).
        "quarantined" => l
            .t(
                "隔離(ウイルスを検出したため点検していません。駆除して再送してください)",
                "quarantined (malware found: not checked; clean the file and send it again)",
            )
            .into(),
        "held_scan" => l
            .t(
                "保留(ウイルス検査待ち)",
                "held (waiting for the malware scan)",
            )
            .into(),
        other => esc(other),
    }
}

fn verdict_label(v: Option<&str>, l: Lang) -> String {
    match v {
        Some("accepted") => format!(
            "<span class=\"badge ok\">{}</span>",
            l.t("受付", "accepted")
        ),
        Some("partially_accepted") => format!(
            "<span class=\"badge warn\">{}</span>",
            l.t("一部受付", "partially accepted")
        ),
        Some("rejected") => format!(
            "<span class=\"badge bad\">{}</span>",
            l.t("受付不可", "rejected")
        ),
        Some(other) => esc(other),
        None => "—".into(),
    }
}

fn outcome_label(o: &str, l: Lang) -> String {
    match o {
        "accepted" => l.t("受付", "accepted").into(),
        "returned" => l.t("返戻", "returned").into(),
        "held" => l.t("保留", "held").into(),
        other => esc(other),
    }
}

fn return_reason_label(code: &str, l: Lang) -> String {
    let (ja, en) = match code {
        "01" => ("記録形式不備", "format defect"),
        "02" => ("記録もれ", "missing entries"),
        "03" => ("健診結果異常", "abnormal result"),
        "04" => ("契約対象外", "outside the contract"),
        "05" => ("整理番号不備", "voucher number defect"),
        "06" => ("有効期限外", "outside validity"),
        "07" => ("窓口負担金額不備", "co-payment defect"),
        "08" => ("取下げ依頼", "withdrawal"),
        "09" => ("その他", "other"),
        _ => return esc(code),
    };
    format!("{} {}", esc(code), l.t(ja, en))
}

fn severity_label(s: &str, l: Lang) -> String {
    match s {
        "error" => format!(
            "<span class=\"badge bad\">{}</span>",
            l.t("エラー", "error")
        ),
        "warning" => format!(
            "<span class=\"badge warn\">{}</span>",
            l.t("警告", "warning")
        ),
        "info" => format!("<span class=\"badge\">{}</span>", l.t("参考", "info")),
        other => esc(other),
    }
}

fn delivery_kind_label(k: i64, l: Lang) -> &'static str {
    match k {
        3 => l.t("種別3 健診等データ", "type 3 checkup data"),
        2 => l.t("種別2 返戻", "type 2 returns"),
        11 => l.t("種別11 確認依頼", "type 11 confirmation requests"),
        _ => "?",
    }
}

fn yen(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}", if n < 0 { "-" } else { "" })
}

async fn org_names(st: &AppState) -> Result<std::collections::HashMap<String, Org>, WebError> {
    Ok(st
        .store
        .orgs()
        .await?
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect())
}

fn submissions_table(
    cx: &Ctx,
    subs: &[Submission],
    orgs: Option<&std::collections::HashMap<String, Org>>,
) -> String {
    if subs.is_empty() {
        return format!(
            "<p class=\"empty\">{}</p>",
            cx.t("提出はまだありません。", "No submissions yet.")
        );
    }
    let mut t = format!(
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>{}<th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        cx.t("受領番号", "Receipt no."),
        cx.t("ファイル名", "File"),
        if orgs.is_some() {
            format!("<th scope=\"col\">{}</th>", cx.t("提出元", "From"))
        } else {
            String::new()
        },
        cx.t("受領日時", "Received"),
        cx.t("状態", "Status"),
        cx.t("判定", "Verdict"),
    );
    for s in subs {
        let org = orgs
            .map(|m| {
                format!(
                    "<td>{}</td>",
                    m.get(&s.org_id).map(|o| esc(&o.name)).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let _ = write!(
            t,
            "<tr><td><a href=\"/submissions/{id}\">{no}</a></td><td>{name}</td>{org}<td>{at}</td><td>{st}</td><td>{v}</td></tr>",
            id = url_encode(&s.id),
            no = esc(&s.receipt_no),
            name = esc(&s.archive_name),
            at = esc(&jst(&s.received_at)),
            st = status_label(&s.status, cx.l),
            v = verdict_label(s.verdict.as_deref(), cx.l),
        );
    }
    t.push_str("</tbody></table>");
    t
}

/// `GET /`: what is new for the caller's role.
pub(crate) async fn home(State(st): State<AppState>, c: Caller) -> WebResult {
    admit!(c, &[]);
    let cx = Ctx::new(&c);
    let mut body = format!(
        "<p>{} {}</p>",
        esc(&c.user.display_name),
        cx.t("さん、ようこそ。", "— welcome.")
    );
    match c.role() {
        "institution" => {
            let subs = st.store.submissions(c.org_id(), 10).await?;
            let _ = write!(
                body,
                "<section><h2>{}</h2>{}<p><a class=\"button\" href=\"/upload\">{}</a> <a href=\"/submissions\">{}</a></p></section>",
                cx.t("最近の提出", "Recent submissions"),
                submissions_table(&cx, &subs, None),
                cx.t("データを提出する", "Upload data"),
                cx.t("すべての提出", "All submissions"),
            );
        }
        "insurer" => {
            let dels = match c.org_id() {
                Some(org) => st.store.deliveries(Some(org), 500).await?,
                None => Vec::new(),
            };
            let new: Vec<Delivery> = dels
                .into_iter()
                .filter(|d| d.received_at.is_none())
                .collect();
            let _ = write!(
                body,
                "<section><h2>{}</h2><p class=\"big\" data-testid=\"new-deliveries\">{} <strong>{}</strong></p>{}<p><a href=\"/deliveries\">{}</a></p></section>",
                cx.t("新着の受取データ", "New deliveries"),
                cx.t("未確認:", "Unacknowledged:"),
                new.len(),
                deliveries_table(&cx, &new),
                cx.t("受取データ一覧", "All deliveries"),
            );
        }
        "operator" | "admin" | "emergency" => {
            let subs = st.store.submissions(None, 1000).await?;
            let today = daiko_pipeline::intake::jst_yyyymmdd_now();
            let today_count = subs
                .iter()
                .filter(|s| {
                    daiko_store::parse_ts(&s.received_at)
                        .map(|t| {
                            t.to_zoned(daiko_pipeline::intake::jst())
                                .strftime("%Y%m%d")
                                .to_string()
                                == today
                        })
                        .unwrap_or(false)
                })
                .count();
            let jobs = st.store.job_counts().await?;
            // S24: job kinds paused by an administrator (`daiko jobs pause`).
            let paused = st.store.job_pauses().await?;
            if !paused.is_empty() {
                let kinds = paused
                    .iter()
                    .map(|p| {
                        if p.reason.is_empty() {
                            p.kind.clone()
                        } else {
                            format!("{} ({})", p.kind, p.reason)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                body.push_str(&notice(
                    "info",
                    &format!(
                        "{}: {kinds}",
                        cx.t(
                            "一時停止中のジョブ種別(受付と受領書の発行は続いています。`daiko jobs resume` で再開)",
                            "Paused job kinds (intake and receipts go on; resume with `daiko jobs resume`)"
                        )
                    ),
                ));
            }
            let orgs = org_names(&st).await?;
            // Administrators see the counts only (no personal data: S8).
            let recent: Vec<Submission> = if c.is("admin") {
                Vec::new()
            } else {
                subs.into_iter().take(10).collect()
            };
            let _ = write!(
                body,
                "<section><h2>{h}</h2><dl class=\"stats\"><div><dt>{today_l}</dt><dd>{today_count}</dd></div>\
                 <div><dt>{queued_l}</dt><dd>{q}</dd></div><div><dt>{running_l}</dt><dd>{r}</dd></div>\
                 <div><dt>{failed_l}</dt><dd class=\"{fc}\">{f}</dd></div></dl></section>\
                 <section><h2>{recent_l}</h2>{table}</section>",
                h = cx.t("本日の状況", "Today"),
                today_l = cx.t("本日の提出", "Submissions today"),
                queued_l = cx.t("待機中のジョブ", "Jobs queued"),
                running_l = cx.t("実行中のジョブ", "Jobs running"),
                failed_l = cx.t("失敗したジョブ", "Jobs failed"),
                q = jobs.queued,
                r = jobs.running,
                f = jobs.failed,
                fc = if jobs.failed > 0 { "bad" } else { "" },
                recent_l = cx.t("最近の提出", "Recent submissions"),
                table = submissions_table(&cx, &recent, Some(&orgs)),
            );
        }
        "auditor" => {
            let _ = write!(
                body,
                "<p><a class=\"button\" href=\"/audit\">{}</a></p>",
                cx.t("監査ログを検索する", "Search the audit log")
            );
        }
        _ => {}
    }
    Ok(cx.page("/", cx.t("ホーム", "Home"), &body))
}

/// `GET /submissions`.
pub(crate) async fn submissions(State(st): State<AppState>, c: Caller) -> WebResult {
    admit!(c, &SUBMISSION_ROLES);
    let cx = Ctx::new(&c);
    let (subs, orgs) = if c.is_agency_staff() {
        (
            st.store.submissions(None, 500).await?,
            Some(org_names(&st).await?),
        )
    } else {
        match c.org_id() {
            Some(org) => (st.store.submissions(Some(org), 500).await?, None),
            None => (Vec::new(), None),
        }
    };
    let body = submissions_table(&cx, &subs, orgs.as_ref());
    Ok(cx.page("/submissions", cx.t("提出一覧", "Submissions"), &body))
}

/// `GET /submissions/{id}`: the 受付結果 of one archive. Outside the tenancy: 404.
pub(crate) async fn submission(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> WebResult {
    admit!(c, &SUBMISSION_ROLES);
    let cx = Ctx::new(&c);
    let l = cx.l;
    let Some(s) = st
        .store
        .submission(&id)
        .await?
        .filter(|s| c.may_see_org(&s.org_id))
    else {
        return Err(WebError::NotFound);
    };
    let records = st.store.records_of_submission(&s.id).await?;
    st.store
        .audit(&c.audit(
            "submission.read",
            format!("submission:{}", s.id),
            records.len().to_string(),
            "portal",
        ))
        .await?;
    let mut body = format!(
        "<dl class=\"facts\"><dt>{rn_l}</dt><dd data-testid=\"receipt-no\">{rn}</dd><dt>{file_l}</dt><dd>{file}</dd>\
         <dt>{at_l}</dt><dd>{at}</dd><dt>{st_l}</dt><dd data-testid=\"status\">{status}</dd><dt>{v_l}</dt><dd data-testid=\"verdict\">{verdict}</dd>\
         <dt>SHA-256</dt><dd><code class=\"wrap\">{sha}</code></dd></dl>",
        rn_l = l.t("受領番号", "Receipt no."),
        rn = esc(&s.receipt_no),
        file_l = l.t("ファイル名", "File"),
        file = esc(&s.archive_name),
        at_l = l.t("受領日時", "Received"),
        at = esc(&jst(&s.received_at)),
        st_l = l.t("状態", "Status"),
        status = status_label(&s.status, l),
        v_l = l.t("判定", "Verdict"),
        verdict = verdict_label(s.verdict.as_deref(), l),
        sha = esc(&s.sha256),
    );
    if s.status != "done" {
        let _ = write!(
            body,
            "{}",
            notice(
                "info",
                l.t(
                    "点検中です。しばらくしてからページを再読み込みしてください。",
                    "Being checked. Reload the page in a moment."
                )
            )
        );
    }
    if let Some(counts) = s
        .counts_json
        .as_deref()
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
    {
        let names = [
            ("records", "件数", "records"),
            ("accepted", "受付", "accepted"),
            ("returned", "返戻", "returned"),
            ("held", "保留", "held"),
            ("errors", "エラー", "errors"),
            ("warnings", "警告", "warnings"),
        ];
        body.push_str("<dl class=\"stats\">");
        for (key, ja, en) in names {
            if let Some(v) = counts.get(key).and_then(|v| v.as_i64()) {
                let _ = write!(body, "<div><dt>{}</dt><dd>{v}</dd></div>", l.t(ja, en));
            }
        }
        body.push_str("</dl>");
    }
    let id_q = url_encode(&s.id);
    if s.report_key.is_some() {
        let _ = write!(
            body,
            "<p>{}: <a href=\"/api/v1/submissions/{id_q}/report?format=json&amp;lang={lc}\">JSON</a> · \
             <a href=\"/api/v1/submissions/{id_q}/report?format=csv&amp;lang={lc}\">CSV (Excel)</a> · \
             <a href=\"/api/v1/submissions/{id_q}/report?format=pdf&amp;lang={lc}\">PDF</a></p>",
            l.t("点検結果のダウンロード", "Download the report"),
            lc = l.code(),
        );
    }
    // Records
    let _ = write!(body, "<h2>{}</h2>", l.t("レコード", "Records"));
    if records.is_empty() {
        let _ = write!(
            body,
            "<p class=\"empty\">{}</p>",
            l.t("レコードはありません。", "No records.")
        );
    } else {
        let _ = write!(
            body,
            "<table data-testid=\"records\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            l.t("データファイル", "Data file"),
            l.t("保険者番号", "Insurer"),
            l.t("整理番号", "Voucher"),
            l.t("実施日", "Date"),
            l.t("結果", "Outcome"),
            l.t("請求額", "Claim"),
            l.t("返戻理由", "Return reason"),
        );
        for r in &records {
            let _ = write!(
                body,
                "<tr class=\"{cls}\"><td>{seq}</td><td>{df}</td><td>{ins}</td><td>{v}</td><td>{d}</td><td>{o}</td><td class=\"num\">{claim}</td><td>{rr}</td></tr>",
                cls = esc(&r.outcome),
                seq = r.seq,
                df = esc(&r.data_file),
                ins = esc(&r.insurer),
                v = esc(&r.voucher),
                d = esc(&r.service_date),
                o = outcome_label(&r.outcome, l),
                claim = yen(r.claim),
                rr = r
                    .return_reason
                    .as_deref()
                    .map(|c| return_reason_label(c, l))
                    .unwrap_or_default(),
            );
        }
        body.push_str("</tbody></table>");
    }
    // Findings from the stored report
    let _ = write!(body, "<h2>{}</h2>", l.t("点検結果(指摘事項)", "Findings"));
    let report = match &s.report_key {
        Some(key) => st
            .store
            .blobs()
            .get(key)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()),
        None => None,
    };
    let findings = report
        .as_ref()
        .and_then(|r| r.get("findings"))
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    if findings.is_empty() {
        let _ = write!(
            body,
            "<p class=\"empty\">{}</p>",
            l.t("指摘事項はありません。", "No findings.")
        );
    } else {
        let _ = write!(
            body,
            "<table data-testid=\"findings\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            l.t("コード", "Code"),
            l.t("重要度", "Severity"),
            l.t("ファイル", "File"),
            l.t("位置", "Location"),
            l.t("内容", "Message"),
        );
        let field = |f: &serde_json::Value, k: &str| {
            f.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
        };
        for f in &findings {
            let msg = field(f, if l.en { "message_en" } else { "message_ja" });
            let value = field(f, "value");
            let _ = write!(
                body,
                "<tr><td class=\"nowrap\"><code>{}</code></td><td class=\"nowrap\">{}</td><td class=\"long\">{}</td><td class=\"long\"><code class=\"wrap\">{}</code></td><td>{}{}</td></tr>",
                esc(&field(f, "code")),
                severity_label(&field(f, "severity"), l),
                esc(&field(f, "file")),
                esc(&field(f, "location")),
                esc(&msg),
                if value.is_empty() {
                    String::new()
                } else {
                    format!(" <span class=\"value\">({})</span>", esc(&value))
                },
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok(cx.page("/submissions", l.t("受付結果", "Check result"), &body))
}

#[derive(Deserialize)]
pub(crate) struct UploadQuery {
    #[serde(default)]
    name: String,
    /// Agency staff: the institution's org id.
    #[serde(default)]
    org: String,
}

/// A labelled, required `<select>` named `name` of the organisations of `kind` (value: id).
async fn org_select(
    st: &AppState,
    name: &str,
    label: &str,
    kind: OrgKind,
) -> Result<String, WebError> {
    let mut s = format!(
        "<label for=\"{name}\">{}</label><select id=\"{name}\" name=\"{name}\" required>",
        esc(label)
    );
    for o in st
        .store
        .orgs()
        .await?
        .into_iter()
        .filter(|o| o.kind == kind)
    {
        let _ = write!(
            s,
            "<option value=\"{}\">{} {}</option>",
            esc(&o.id),
            esc(&o.number),
            esc(&o.name)
        );
    }
    s.push_str("</select>");
    Ok(s)
}

/// `GET /upload`: file choice and progress; the script posts the file to `POST /upload`.
pub(crate) async fn upload_page(State(st): State<AppState>, c: Caller) -> WebResult {
    admit!(c, &UPLOAD_ROLES);
    let cx = Ctx::new(&c);
    let l = cx.l;
    let org_select = if c.is_agency_staff() {
        org_select(
            &st,
            "org",
            l.t("提出元の機関", "Institution"),
            OrgKind::Institution,
        )
        .await?
    } else {
        String::new()
    };
    let body = format!(
        "<p>{intro}</p>\
         <form id=\"upload-form\" class=\"card\" data-endpoint=\"/upload\" \
          data-msg-done=\"{done}\" data-msg-fail=\"{fail}\" data-msg-receipt=\"{receipt}\" data-msg-open=\"{open}\" data-msg-sending=\"{sending}\">\
         {org_select}<label for=\"file\">{file_l}</label>\
         <input id=\"file\" name=\"file\" type=\"file\" accept=\".zip,application/zip\" required>\
         <button type=\"submit\" id=\"upload-button\">{button}</button>\
         <div class=\"progress-wrap\" hidden><progress id=\"upload-progress\" max=\"100\" value=\"0\"></progress> <span id=\"upload-percent\">0%</span></div>\
         </form><div id=\"upload-result\" aria-live=\"polite\"></div>\
         <noscript>{noscript}</noscript>",
        intro = l.t(
            "特定健診・特定保健指導のデータ(ZIP形式の提出ファイル)を選んで送信してください。受領すると受領番号が表示されます。",
            "Choose the data file (a ZIP archive) and send it. A receipt number is shown once it is received."
        ),
        done = esc(l.t("受領しました", "Received")),
        fail = esc(l.t("送信できませんでした", "Upload failed")),
        receipt = esc(l.t("受領番号", "Receipt no.")),
        open = esc(l.t("受付結果を見る", "Open the check result")),
        sending = esc(l.t("送信中…", "Sending…")),
        file_l = l.t("提出ファイル", "File"),
        button = l.t("送信", "Upload"),
        noscript = l.t("送信には JavaScript が必要です。", "Uploading needs JavaScript."),
    );
    Ok(cx.page("/upload", l.t("データ提出", "Upload data"), &body))
}

fn json_error(status: StatusCode, l: Lang, ja: &str, en: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": status.as_u16(), "message": l.t(ja, en) })),
    )
        .into_response()
}

/// `POST /upload?name=…[&org=…]`: the archive as the request body (streamed to storage by
/// the pipeline's intake); answers the receipt as JSON. Needs the `X-CSRF-Token` header.
pub(crate) async fn upload_send(
    State(st): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> WebResult {
    let l = Ctx::new(&c).l;
    if c.user.must_change_password || !UPLOAD_ROLES.contains(&c.role()) {
        return Err(WebError::NotFound);
    }
    check_csrf(&c, csrf_header(&headers))?;
    let org = if c.is_agency_staff() {
        match st
            .store
            .org(&q.org)
            .await?
            .filter(|o| o.kind == OrgKind::Institution)
        {
            Some(o) => o,
            None => {
                return Ok(json_error(
                    StatusCode::BAD_REQUEST,
                    l,
                    "提出元の機関を選んでください。",
                    "Choose the institution.",
                ));
            }
        }
    } else {
        match &c.org {
            Some(o) => o.clone(),
            None => return Err(WebError::NotFound),
        }
    };
    let up = daiko_pipeline::intake::Upload {
        org: &org,
        uploaded_by: Some(&c.user.login),
        role: c.role(),
        channel: "web",
        archive_name: &q.name,
        source: &c.source,
    };
    let mut pending =
        match daiko_pipeline::intake::begin(&st.store, &up, st.config.max_upload_bytes).await {
            Ok(p) => p,
            Err(daiko_pipeline::intake::IntakeError::BadName(_)) => {
                return Ok(json_error(
                    StatusCode::BAD_REQUEST,
                    l,
                    "ファイル名が使用できません。",
                    "The file name cannot be used.",
                ));
            }
            Err(e) => return Err(WebError::Internal(e.to_string())),
        };
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(_) => {
                pending.abort().await;
                return Ok(json_error(
                    StatusCode::BAD_REQUEST,
                    l,
                    "送信が中断されました。",
                    "The upload was interrupted.",
                ));
            }
        };
        if let Err(e) = pending.write(&chunk).await {
            pending.abort().await;
            return Ok(match e {
                daiko_pipeline::intake::IntakeError::TooLarge { limit } => json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    l,
                    &format!(
                        "ファイルが上限({} MB)を超えています。",
                        limit / (1024 * 1024)
                    ),
                    &format!(
                        "The file exceeds the limit of {} MB.",
                        limit / (1024 * 1024)
                    ),
                ),
                other => return Err(WebError::Internal(other.to_string())),
            });
        }
    }
    let received = pending
        .finish()
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((StatusCode::CREATED, axum::Json(received)).into_response())
}

fn deliveries_table(cx: &Ctx, dels: &[Delivery]) -> String {
    let l = cx.l;
    if dels.is_empty() {
        return format!(
            "<p class=\"empty\">{}</p>",
            l.t("受取データはありません。", "No deliveries.")
        );
    }
    let mut t = format!(
        "<table data-testid=\"deliveries\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.t("作成日時", "Created"),
        l.t("種別", "Kind"),
        l.t("ファイル名", "File"),
        l.t("件数", "Records"),
        l.t("請求額(円)", "Claim (yen)"),
        l.t("ダウンロード", "Download"),
        l.t("受領確認", "Acknowledgement"),
    );
    let may_ack = matches!(cx.c.role(), "insurer" | "institution");
    for d in dels {
        let id = url_encode(&d.id);
        let new = if d.received_at.is_none() {
            format!(" <span class=\"badge new\">{}</span>", l.t("新着", "new"))
        } else {
            String::new()
        };
        let ack = match &d.received_at {
            Some(at) => format!("{} {}", l.t("確認済", "acknowledged"), esc(&jst(at))),
            None if may_ack => format!(
                "<form method=\"post\" action=\"/deliveries/{id}/ack\" class=\"inline\">{}<button type=\"submit\" class=\"small\">{}</button></form>",
                cx.csrf_field(),
                l.t("受領確認", "Acknowledge")
            ),
            None => l.t("未確認", "not yet").to_string(),
        };
        let _ = write!(
            t,
            "<tr><td>{at}{new}</td><td>{kind}</td><td>{name}</td><td class=\"num\">{n}</td><td class=\"num\">{claim}</td>\
             <td><a href=\"/deliveries/{id}/download\" download>{dl}</a></td><td>{ack}</td></tr>",
            at = esc(&jst(&d.created_at)),
            kind = delivery_kind_label(d.kind, l),
            name = esc(&d.archive_name),
            n = d.records,
            claim = yen(d.claim_total),
            dl = l.t("ダウンロード", "Download"),
        );
    }
    t.push_str("</tbody></table>");
    t
}

/// `GET /deliveries`: insurers' 種別3 archives, institutions' returns (種別2).
pub(crate) async fn deliveries(State(st): State<AppState>, c: Caller) -> WebResult {
    admit!(c, &DELIVERY_ROLES);
    let cx = Ctx::new(&c);
    let dels = if c.is_agency_staff() {
        st.store.deliveries(None, 500).await?
    } else {
        match c.org_id() {
            Some(org) => st.store.deliveries(Some(org), 500).await?,
            None => Vec::new(),
        }
    };
    let intro = if c.is("institution") {
        cx.t(
            "返戻(種別2)などのデータです。",
            "Returns (type 2) and other data for you.",
        )
    } else {
        cx.t(
            "受け取ったデータをダウンロードし、受領確認をしてください。",
            "Download the data and acknowledge receipt.",
        )
    };
    let body = format!("<p>{intro}</p>{}", deliveries_table(&cx, &dels));
    Ok(cx.page("/deliveries", cx.t("受取データ", "Deliveries"), &body))
}

async fn visible_delivery(st: &AppState, c: &Caller, id: &str) -> Result<Delivery, WebError> {
    st.store
        .delivery(id)
        .await?
        .filter(|d| c.may_see_org(&d.recipient_id))
        .ok_or(WebError::NotFound)
}

/// `GET /deliveries/{id}/download`: the archive (audited: it carries personal data).
pub(crate) async fn delivery_download(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> WebResult {
    admit!(c, &DELIVERY_ROLES);
    let d = visible_delivery(&st, &c, &id).await?;
    let bytes = st.store.blobs().get(&d.blob_key).await?;
    st.store
        .audit(&c.audit(
            "delivery.download",
            format!("delivery:{}", d.id),
            d.records.to_string(),
            "portal",
        ))
        .await?;
    let name: String = d
        .archive_name
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || "._-".contains(*ch))
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /deliveries/{id}/ack`: 受領確認 by the recipient organisation.
pub(crate) async fn delivery_ack(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult {
    admit!(c, &["insurer", "institution"]);
    check_csrf(&c, Some(&f.csrf))?;
    let d = visible_delivery(&st, &c, &id).await?;
    if st.store.acknowledge_delivery(&d.id, &c.user.login).await? {
        st.store
            .audit(&c.audit(
                "delivery.acknowledge",
                format!("delivery:{}", d.id),
                d.records.to_string(),
                "portal",
            ))
            .await?;
    }
    Ok(see_other("/deliveries", vec![]))
}

/// `GET /reference`: voucher ledgers, coverage and contracts as CSV.
pub(crate) async fn reference_page(State(st): State<AppState>, c: Caller) -> WebResult {
    admit!(c, &REFERENCE_ROLES);
    let cx = Ctx::new(&c);
    let body = reference_body(&st, &cx, None).await?;
    Ok(cx.page(
        "/reference",
        cx.t("基準データ登録", "Reference data"),
        &body,
    ))
}

async fn reference_body(
    st: &AppState,
    cx: &Ctx<'_>,
    msg: Option<String>,
) -> Result<String, WebError> {
    let l = cx.l;
    let insurer_field = if cx.c.is_agency_staff() {
        org_select(st, "insurer", l.t("保険者", "Insurer"), OrgKind::Insurer).await?
    } else {
        String::new()
    };
    Ok(format!(
        "<p>{intro}</p>{msg}<form method=\"post\" action=\"/reference\" enctype=\"multipart/form-data\" class=\"card\">{csrf}\
         {insurer_field}<label for=\"kind\">{kind_l}</label><select id=\"kind\" name=\"kind\">\
         <option value=\"vouchers\">{v}</option><option value=\"coverage\">{cov}</option><option value=\"contracts\">{con}</option></select>\
         <label for=\"ref-file\">{file_l}</label><input id=\"ref-file\" name=\"file\" type=\"file\" accept=\".csv,text/csv\" required>\
         <button type=\"submit\">{button}</button></form>\
         <section class=\"help\"><h2>{fmt_h}</h2><ul>{fmt}</ul><p>{more} <code>docs/reference-data.md</code></p></section>",
        intro = l.t(
            "受付時の点検(受診券・資格・契約)に使う基準データをCSVで登録します。登録すると同じ種類のデータは置き換えられます。",
            "Register the reference data used by the reception checks (vouchers, coverage, contracts) as CSV. A new file replaces the data of the same kind."
        ),
        msg = msg.unwrap_or_default(),
        csrf = cx.csrf_field(),
        kind_l = l.t("種類", "Kind"),
        v = l.t("受診券・利用券発行台帳 (vouchers.csv)", "Voucher ledger (vouchers.csv)"),
        cov = l.t("被保険者マスタ (coverage.csv)", "Coverage (coverage.csv)"),
        con = l.t("健診等契約マスタ (contracts.csv)", "Contracts (contracts.csv)"),
        file_l = l.t("CSVファイル", "CSV file"),
        button = l.t("登録", "Register"),
        fmt_h = l.t("ファイル形式", "File format"),
        fmt = l.t(
            "<li>UTF-8(BOM可)、カンマ区切り、1行目は見出し行。列は見出し名で判別し、順序は自由です。</li>\
             <li>日付は YYYYMMDD または YYYY-MM-DD。空欄は期限なし。</li>\
             <li>保険者番号は6〜8桁(8桁に0埋め)、機関番号は10桁。金額は円単位の整数。</li>\
             <li>誤りがあると、行・列・値と期待される形式を表示し、何も登録しません。</li>",
            "<li>UTF-8 (BOM accepted), comma-separated, one header row. Columns are found by header name; order is free.</li>\
             <li>Dates are YYYYMMDD or YYYY-MM-DD; empty means open-ended.</li>\
             <li>Insurer numbers have 6–8 digits (padded to 8), institution numbers 10. Amounts in whole yen.</li>\
             <li>On an error the line, column, value and what was expected are shown, and nothing is registered.</li>"
        ),
        more = l.t("列の一覧はリポジトリの", "Columns are listed in"),
    ))
}

/// `POST /reference` (multipart: csrf, kind, insurer for agency staff, file): imports with
/// `daiko_pipeline::reference::import_csv`; shows the row count or the error with its line
/// and column.
pub(crate) async fn reference_submit(
    State(st): State<AppState>,
    c: Caller,
    mut form: axum::extract::Multipart,
) -> WebResult {
    admit!(c, &REFERENCE_ROLES);
    let cx = Ctx::new(&c);
    let l = cx.l;
    let (mut csrf, mut kind, mut insurer, mut file) =
        (String::new(), String::new(), String::new(), None);
    while let Some(field) = form.next_field().await.map_err(|_| WebError::Csrf)? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "kind" => kind = field.text().await.unwrap_or_default(),
            "insurer" => insurer = field.text().await.unwrap_or_default(),
            "file" => {
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
    check_csrf(&c, Some(&csrf))?;
    let org = if c.is_agency_staff() {
        st.store.org(&insurer).await?
    } else if c.is("insurer") {
        c.org.clone()
    } else {
        None
    };
    let msg = match (org, daiko_pipeline::reference::RefKind::parse(&kind), file) {
        (Some(org), Some(kind), Some(bytes)) => {
            match daiko_pipeline::reference::import_csv(
                &st.store,
                &org,
                kind,
                &bytes,
                &c.user.login,
            )
            .await
            {
                Ok(rows) => notice(
                    "ok",
                    &format!(
                        "{} ({}): {rows} {}",
                        l.t("登録しました", "Registered"),
                        kind.file_name(),
                        l.t("件", "rows")
                    ),
                ),
                Err(daiko_pipeline::reference::ImportError::Store(e)) => return Err(e.into()),
                Err(e) => notice(
                    "error",
                    &format!("{}: {e}", l.t("登録できませんでした", "Not registered")),
                ),
            }
        }
        _ => notice(
            "error",
            l.t(
                "保険者・種類・ファイルを指定してください。",
                "Choose the insurer, the kind and a file.",
            ),
        ),
    };
    let body = reference_body(&st, &cx, Some(msg)).await?;
    Ok(cx.page("/reference", l.t("基準データ登録", "Reference data"), &body))
}

#[derive(Deserialize)]
pub(crate) struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    svc_check: Option<String>,
    svc_route: Option<String>,
    svc_billing: Option<String>,
    svc_invite: Option<String>,
}

async fn orgs_body(st: &AppState, cx: &Ctx<'_>, msg: Option<String>) -> Result<String, WebError> {
    let l = cx.l;
    let mut body = msg.unwrap_or_default();
    let _ = write!(
        body,
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.t("種類", "Kind"),
        l.t("番号", "Number"),
        l.t("名称", "Name"),
        l.t("契約サービス", "Services"),
    );
    for o in st.store.orgs().await? {
        let kind = match o.kind {
            OrgKind::Agency => l.t("代行機関", "agency"),
            OrgKind::Insurer => l.t("保険者", "insurer"),
            OrgKind::Institution => l.t("健診・保健指導機関", "institution"),
        };
        let _ = write!(
            body,
            "<tr><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&o.number),
            esc(&o.name),
            esc(&o.services.join(", "))
        );
    }
    let _ = write!(
        body,
        "</tbody></table><h2>{add}</h2><form method=\"post\" action=\"/admin/orgs\" class=\"card\">{csrf}\
         <label for=\"kind\">{kind_l}</label><select id=\"kind\" name=\"kind\"><option value=\"insurer\">{ins}</option><option value=\"institution\">{inst}</option></select>\
         <label for=\"number\">{num_l}</label><input id=\"number\" name=\"number\" inputmode=\"numeric\" required>\
         <label for=\"name\">{name_l}</label><input id=\"name\" name=\"name\" required>\
         <fieldset><legend>{svc_l}</legend>\
         <label class=\"check\"><input type=\"checkbox\" name=\"svc_check\" value=\"1\" checked> check</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"svc_route\" value=\"1\" checked> route</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"svc_billing\" value=\"1\"> billing</label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"svc_invite\" value=\"1\"> invite</label></fieldset>\
         <button type=\"submit\">{submit}</button></form>",
        add = l.t("組織の追加", "Add an organisation"),
        csrf = cx.csrf_field(),
        kind_l = l.t("種類", "Kind"),
        ins = l.t("保険者", "Insurer"),
        inst = l.t("健診・保健指導機関", "Institution"),
        num_l = l.t(
            "番号(保険者番号8桁/機関番号10桁)",
            "Number (insurer: 8 digits, institution: 10)"
        ),
        name_l = l.t("名称", "Name"),
        svc_l = l.t("契約サービス(保険者)", "Services (insurers)"),
        submit = l.t("追加", "Add"),
    );
    Ok(body)
}

/// `GET /admin/orgs`.
pub(crate) async fn orgs_page(State(st): State<AppState>, c: Caller) -> WebResult {
    admit!(c, &["admin"]);
    let cx = Ctx::new(&c);
    let body = orgs_body(&st, &cx, None).await?;
    Ok(cx.page("/admin/orgs", cx.t("組織", "Organisations"), &body))
}

/// `POST /admin/orgs`.
pub(crate) async fn orgs_add(
    State(st): State<AppState>,
    c: Caller,
    Form(f): Form<OrgForm>,
) -> WebResult {
    admit!(c, &["admin"]);
    check_csrf(&c, Some(&f.csrf))?;
    let cx = Ctx::new(&c);
    let l = cx.l;
    let number = f.number.trim();
    let name = f.name.trim();
    let (kind, digits) = match f.kind.as_str() {
        "insurer" => (OrgKind::Insurer, 8),
        "institution" => (OrgKind::Institution, 10),
        _ => return Err(WebError::NotFound),
    };
    let msg = if number.len() != digits || !number.bytes().all(|b| b.is_ascii_digit()) {
        notice(
            "error",
            &format!(
                "{} {digits}",
                l.t(
                    "番号の桁数が正しくありません。必要な桁数:",
                    "Wrong number of digits; expected"
                )
            ),
        )
    } else if name.is_empty() || name.chars().count() > 200 {
        notice("error", l.t("名称を入力してください。", "Enter a name."))
    } else {
        let mut services = Vec::new();
        if kind == OrgKind::Insurer {
            for (on, s) in [
                (&f.svc_check, "check"),
                (&f.svc_route, "route"),
                (&f.svc_billing, "billing"),
                (&f.svc_invite, "invite"),
            ] {
                if on.is_some() {
                    services.push(s);
                }
            }
        }
        match st.store.add_org(kind, number, name, &services).await {
            Ok(o) => {
                st.store
                    .audit(&c.audit(
                        "org.add",
                        &o.id,
                        "",
                        format!("{} {}", kind.as_str(), o.number),
                    ))
                    .await?;
                notice(
                    "ok",
                    &format!("{}: {} {}", l.t("追加しました", "Added"), o.number, o.name),
                )
            }
            Err(daiko_store::StoreError::Duplicate { .. }) => notice(
                "error",
                l.t(
                    "この番号の組織はすでに登録されています。",
                    "An organisation with this number exists.",
                ),
            ),
            Err(e) => return Err(e.into()),
        }
    };
    let body = orgs_body(&st, &cx, Some(msg)).await?;
    Ok(cx.page("/admin/orgs", l.t("組織", "Organisations"), &body))
}

#[derive(Deserialize)]
pub(crate) struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    org: String,
}

async fn users_body(st: &AppState, cx: &Ctx<'_>, msg: Option<String>) -> Result<String, WebError> {
    let l = cx.l;
    let orgs = org_names(st).await?;
    let mut body = msg.unwrap_or_default();
    let _ = write!(
        body,
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.t("ログインID", "Login"),
        l.t("氏名", "Name"),
        l.t("役割", "Role"),
        l.t("組織", "Organisation"),
        l.t("状態", "State"),
    );
    let now = jiff::Timestamp::now();
    for u in st.store.users(None).await? {
        let state = if u.disabled {
            l.t("無効", "disabled")
        } else if crate::auth::is_locked(
            u.locked_until.as_deref().and_then(daiko_store::parse_ts),
            now,
        ) {
            l.t("ロック中", "locked")
        } else if u.must_change_password {
            l.t("初回ログイン待ち", "first sign-in pending")
        } else {
            l.t("有効", "active")
        };
        let org = u
            .org_id
            .as_ref()
            .and_then(|id| orgs.get(id))
            .map(|o| esc(&o.name))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{org}</td><td>{state}</td></tr>",
            esc(&u.login),
            esc(&u.display_name),
            super::role_label(&u.role, l),
        );
    }
    let mut roles = String::new();
    for r in daiko_store::users::ROLES {
        let _ = write!(
            roles,
            "<option value=\"{r}\">{}</option>",
            super::role_label(r, l)
        );
    }
    let mut org_opts = format!(
        "<option value=\"\">{}</option>",
        l.t("(代行機関の職員)", "(agency staff)")
    );
    for o in orgs.values().filter(|o| o.kind != OrgKind::Agency) {
        let _ = write!(
            org_opts,
            "<option value=\"{}\">{} {}</option>",
            esc(&o.id),
            esc(&o.number),
            esc(&o.name)
        );
    }
    let _ = write!(
        body,
        "</tbody></table><h2>{add}</h2><form method=\"post\" action=\"/admin/users\" class=\"card\">{csrf}\
         <label for=\"login\">{login_l}</label><input id=\"login\" name=\"login\" required autocomplete=\"off\">\
         <label for=\"display_name\">{name_l}</label><input id=\"display_name\" name=\"display_name\" required>\
         <label for=\"role\">{role_l}</label><select id=\"role\" name=\"role\">{roles}</select>\
         <label for=\"org\">{org_l}</label><select id=\"org\" name=\"org\">{org_opts}</select>\
         <p class=\"hint\">{hint}</p><button type=\"submit\">{submit}</button></form>",
        add = l.t("利用者の追加", "Add a user"),
        csrf = cx.csrf_field(),
        login_l = l.t("ログインID", "Login ID"),
        name_l = l.t("氏名", "Name"),
        role_l = l.t("役割", "Role"),
        org_l = l.t("組織(保険者・機関の利用者)", "Organisation (insurer and institution users)"),
        hint = l.t(
            "初期パスワードと二要素認証のキーは追加直後に一度だけ表示されます。安全な方法で本人に伝えてください。",
            "The initial password and the two-factor key are shown once, right after adding. Hand them over securely."
        ),
        submit = l.t("追加", "Add"),
    );
    Ok(body)
}

/// `GET /admin/users`.
pub(crate) async fn users_page(State(st): State<AppState>, c: Caller) -> WebResult {
    admit!(c, &["admin"]);
    let cx = Ctx::new(&c);
    let body = users_body(&st, &cx, None).await?;
    Ok(cx.page("/admin/users", cx.t("利用者", "Users"), &body))
}

/// A random initial password: 16 characters without look-alikes (about 90 bits).
fn initial_password() -> Result<String, WebError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| WebError::Internal("random".into()))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// `POST /admin/users`: adds a user with a random initial password (to be changed at first
/// sign-in) and a TOTP secret, both shown once.
pub(crate) async fn users_add(
    State(st): State<AppState>,
    c: Caller,
    Form(f): Form<UserForm>,
) -> WebResult {
    admit!(c, &["admin"]);
    check_csrf(&c, Some(&f.csrf))?;
    let cx = Ctx::new(&c);
    let l = cx.l;
    let login = f.login.trim();
    let name = f.display_name.trim();
    let err = |m: &str| notice("error", m);
    let org = if f.org.is_empty() {
        None
    } else {
        st.store.org(&f.org).await?
    };
    let msg = if login.is_empty()
        || login.len() > 128
        || login.contains(':')
        || login.chars().any(char::is_whitespace)
    {
        err(l.t(
            "ログインIDが正しくありません(空白と「:」は使えません)。",
            "Invalid login ID (no spaces or ':').",
        ))
    } else if name.is_empty() {
        err(l.t("氏名を入力してください。", "Enter a name."))
    } else if !daiko_store::users::ROLES.contains(&f.role.as_str()) {
        err(l.t("役割を選んでください。", "Choose a role."))
    } else if matches!(f.role.as_str(), "insurer" | "institution")
        && org.as_ref().map(|o| o.kind.as_str()) != Some(f.role.as_str())
    {
        err(l.t(
            "保険者・機関の利用者には、同じ種類の組織を選んでください。",
            "Insurer and institution users need an organisation of the same kind.",
        ))
    } else if !matches!(f.role.as_str(), "insurer" | "institution") && org.is_some() {
        err(l.t(
            "代行機関の職員には組織を選ばないでください。",
            "Agency staff have no organisation to choose.",
        ))
    } else if crate::governance::PRIVILEGED_ROLES.contains(&f.role.as_str()) {
        // S10: agency roles wait for a second administrator's approval.
        let grant = crate::governance::RoleGrant {
            op: "create".into(),
            login: login.to_string(),
            role: f.role.clone(),
            org: None,
            name: Some(name.to_string()),
        };
        let payload =
            serde_json::to_value(&grant).map_err(|e| WebError::Internal(e.to_string()))?;
        match crate::governance::request(&st.store, &st.agency, "role_grant", &payload, c.audit("", "", "", "")).await {
            Ok(a) => format!(
                "<p class=\"notice ok\" role=\"alert\" data-testid=\"pending-approval\">{} {}</p>",
                esc(l.t(
                    "二者承認の申請をしました。別の管理者が承認すると作成されます。申請ID:",
                    "Filed for four-eyes approval: the account is created when another administrator approves. Request id:",
                )),
                esc(&a.id)
            ),
            Err(crate::governance::GovError::Store(e)) => return Err(e.into()),
            Err(e) => err(&if l.en { e.message_en() } else { e.message_ja() }),
        }
    } else {
        let password = initial_password()?;
        let secret = new_totp_secret().map_err(|e| WebError::Internal(e.to_string()))?;
        let pw = password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
            .await
            .map_err(|e| WebError::Internal(e.to_string()))??;
        let org_id = match &org {
            Some(o) => Some(o.id.clone()),
            None => Some(st.agency.id.clone()),
        };
        let added = st
            .store
            .add_user(&NewUser {
                login,
                display_name: name,
                role: &f.role,
                org_id: org_id.as_deref(),
                password_hash: &hash,
                must_change_password: true,
                totp_secret: &secret,
            })
            .await;
        match added {
            Ok(u) => {
                st.store
                    .audit(&c.audit("user.add", &u.id, "", format!("{} {}", u.login, u.role)))
                    .await?;
                let url = otpauth_url(&secret, TOTP_ISSUER, &u.login).unwrap_or_default();
                format!(
                    "<div class=\"notice ok\" role=\"alert\"><p>{added}: <strong>{login}</strong></p>\
                     <dl class=\"facts\"><dt>{pw_l}</dt><dd><code data-testid=\"initial-password\">{pw}</code></dd>\
                     <dt>{key_l}</dt><dd><code data-testid=\"totp-secret\">{secret}</code></dd>\
                     <dt>otpauth URL</dt><dd><code class=\"wrap\">{url}</code></dd></dl><p>{once}</p></div>",
                    added = l.t("追加しました", "Added"),
                    login = esc(&u.login),
                    pw_l = l.t("初期パスワード", "Initial password"),
                    pw = esc(&password),
                    key_l = l.t("二要素認証のキー", "Two-factor key"),
                    secret = esc(&secret),
                    url = esc(&url),
                    once = l.t(
                        "この画面を閉じると再表示できません。",
                        "This is not shown again."
                    ),
                )
            }
            Err(daiko_store::StoreError::Duplicate { .. }) => err(l.t(
                "このログインIDはすでに使われています。",
                "This login ID is taken.",
            )),
            Err(e) => return Err(e.into()),
        }
    };
    let body = users_body(&st, &cx, Some(msg)).await?;
    let mut r = cx.page("/admin/users", l.t("利用者", "Users"), &body);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize)]
pub(crate) struct AuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    verify: String,
}

/// JST midnight of `YYYY-MM-DD` (plus `days`) as a stored UTC timestamp.
fn jst_day_start(date: &str, days: i64) -> Option<String> {
    let d: jiff::civil::Date = date.trim().parse().ok()?;
    let d = d.checked_add(jiff::Span::new().days(days)).ok()?;
    let z = d.to_zoned(daiko_pipeline::intake::jst()).ok()?;
    Some(daiko_store::format_ts(z.timestamp()))
}

/// `GET /audit`: search the trail and verify its hash chain.
pub(crate) async fn audit_page(
    State(st): State<AppState>,
    c: Caller,
    Query(p): Query<AuditParams>,
) -> WebResult {
    admit!(c, &AUDIT_ROLES);
    let cx = Ctx::new(&c);
    let l = cx.l;
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let q = AuditQuery {
        actor: opt(&p.actor),
        action_prefix: opt(&p.action),
        org: None,
        since: opt(&p.from).and_then(|d| jst_day_start(&d, 0)),
        until: opt(&p.to).and_then(|d| jst_day_start(&d, 1)),
        limit: 200,
    };
    let mut body = format!(
        "<form method=\"get\" action=\"/audit\" class=\"card row\" role=\"search\">\
         <div><label for=\"actor\">{actor_l}</label><input id=\"actor\" name=\"actor\" value=\"{actor}\"></div>\
         <div><label for=\"action\">{action_l}</label><input id=\"action\" name=\"action\" value=\"{action}\" placeholder=\"auth.\"></div>\
         <div><label for=\"from\">{from_l}</label><input id=\"from\" name=\"from\" type=\"date\" value=\"{from}\"></div>\
         <div><label for=\"to\">{to_l}</label><input id=\"to\" name=\"to\" type=\"date\" value=\"{to}\"></div>\
         <div><button type=\"submit\">{search}</button></div></form>\
         <form method=\"get\" action=\"/audit\" class=\"inline\"><input type=\"hidden\" name=\"verify\" value=\"1\">\
         <button type=\"submit\" class=\"secondary\" id=\"verify-chain\">{verify}</button></form>",
        actor_l = l.t("操作者(ログインID)", "Actor (login)"),
        actor = esc(&p.actor),
        action_l = l.t("操作(前方一致)", "Action (prefix)"),
        action = esc(&p.action),
        from_l = l.t("開始日", "From"),
        from = esc(&p.from),
        to_l = l.t("終了日", "To"),
        to = esc(&p.to),
        search = l.t("検索", "Search"),
        verify = l.t("チェーン検証", "Verify chain"),
    );
    if !p.verify.is_empty() {
        let report = st.store.verify_audit().await?;
        st.store
            .audit(&c.audit(
                "audit.verify",
                "",
                "",
                format!("rows={} broken={}", report.rows, report.broken.is_some()),
            ))
            .await?;
        let text = match &report.broken {
            None => format!(
                "{}: {} {}",
                l.t("チェーンは正常です", "The chain is intact"),
                report.rows,
                l.t("件", "rows")
            ),
            Some(b) => format!(
                "{} #{}: {}",
                l.t("チェーンが壊れています", "The chain is broken at"),
                b.seq,
                b.reason
            ),
        };
        let kind = if report.broken.is_none() {
            "ok"
        } else {
            "error"
        };
        let _ = write!(
            body,
            "<p class=\"notice {kind}\" role=\"status\" data-testid=\"chain\">{}</p>",
            esc(&text)
        );
    }
    let rows = st.store.audit_search(&q).await?;
    st.store
        .audit(&c.audit(
            "audit.search",
            "",
            rows.len().to_string(),
            format!(
                "actor={} action={} from={} to={}",
                p.actor, p.action, p.from, p.to
            ),
        ))
        .await?;
    let _ = write!(
        body,
        "<p>{}: {}</p><table data-testid=\"audit\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.t("件数(最新200件まで)", "Rows (latest 200 at most)"),
        rows.len(),
        l.t("日時", "Time"),
        l.t("操作者", "Actor"),
        l.t("役割", "Role"),
        l.t("操作", "Action"),
        l.t("対象", "Target"),
        l.t("接続元", "Source"),
        l.t("詳細", "Detail"),
    );
    for r in &rows {
        let e = &r.entry;
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td><td class=\"nowrap\"><code>{}</code></td><td class=\"long\"><code class=\"wrap\">{}</code></td><td class=\"nowrap\">{}</td><td class=\"long\">{}</td></tr>",
            r.seq,
            esc(&jst(&r.at)),
            esc(&e.actor),
            esc(&e.role),
            esc(&e.action),
            esc(&e.target),
            esc(&e.source),
            esc(&e.detail),
        );
    }
    body.push_str("</tbody></table>");
    Ok(cx.page("/audit", l.t("監査ログ", "Audit log"), &body))
}
