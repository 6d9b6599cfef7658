//! The web portal (ポータル): server-rendered HTML pages in Japanese (English on request),
//! for people. Systems use the JSON API ([`crate::api`]).
//!
//! Pages are plain strings built with [`esc`] around every value that came from a user, a
//! file or the database; there is no template engine and no client-side framework. The one
//! script (`/static/daiko.js`) only adds upload progress.
//!
//! Sessions go through two factors (S2): the password gives a session of stage `password`,
//! which reaches only the TOTP (or enrolment) page; a valid TOTP code gives `full`, or `totp`
//! when the first-login password change is still due (only `/password` accepts that). The
//! session id is replaced at every stage change. Every POST carries the session's CSRF token.

mod billing;
mod contracts;
mod invite;
mod login;
mod pages;
mod reset;

use std::fmt::Write as _;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};

use daiko_store::users::{Session, User};

use crate::AppState;
use crate::auth::{SessionPolicy, hash_token, new_session_id};
use crate::caller::{Caller, SESSION_COOKIE, cookie, source_of};

/// Cookie that carries the language chosen before login.
const LANG_COOKIE: &str = "daiko_lang";
/// Cookie for the login form's CSRF token (double submit: there is no session yet).
const LOGIN_CSRF_COOKIE: &str = "daiko_login_csrf";
/// A half-logged-in session (password only) must finish within this many minutes.
const PRE_SESSION_MINUTES: i64 = 10;

const CSS: &str = include_str!("../static/daiko.css");
const JS: &str = include_str!("../static/daiko.js");

/// One portal route: its path template and the methods it answers. [`routes`] is built
/// from the same table as [`route_list`], so the list is the router (the route walk in
/// `tests/portal_routes.rs` relies on that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalRoute {
    pub path: &'static str,
    pub methods: &'static [&'static str],
}

pub(crate) type RouteEntry = (PortalRoute, MethodRouter<AppState>);

const GET: &[&str] = &["GET"];
const POST: &[&str] = &["POST"];
const GET_POST: &[&str] = &["GET", "POST"];

/// Every portal route with its handlers.
fn table() -> Vec<RouteEntry> {
    let r = |path, methods| PortalRoute { path, methods };
    let mut t: Vec<RouteEntry> = vec![
        (
            r("/static/daiko.css", GET),
            get(|| async { static_file("text/css; charset=utf-8", CSS) }),
        ),
        (
            r("/static/daiko.js", GET),
            get(|| async { static_file("text/javascript; charset=utf-8", JS) }),
        ),
        (
            r("/login", GET_POST),
            get(login::login_page).post(login::login_submit),
        ),
        (
            r("/login/reset", GET_POST),
            get(reset::reset_page).post(reset::reset_submit),
        ),
        (
            r("/login/totp", GET_POST),
            get(login::totp_page).post(login::totp_submit),
        ),
        (
            r("/login/enrol", GET_POST),
            get(login::enrol_page).post(login::enrol_submit),
        ),
        (
            r("/password", GET_POST),
            get(login::password_page).post(login::password_submit),
        ),
        (r("/logout", POST), post(login::logout)),
        (r("/lang", POST), post(login::set_lang)),
        (r("/", GET), get(pages::home)),
        (r("/submissions", GET), get(pages::submissions)),
        (r("/submissions/{id}", GET), get(pages::submission)),
        (
            r("/upload", GET_POST),
            get(pages::upload_page).post(pages::upload_send),
        ),
        (r("/deliveries", GET), get(pages::deliveries)),
        (
            r("/deliveries/{id}/download", GET),
            get(pages::delivery_download),
        ),
        (r("/deliveries/{id}/ack", POST), post(pages::delivery_ack)),
        (
            r("/reference", GET_POST),
            get(pages::reference_page)
                .post(pages::reference_submit)
                .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        ),
        (
            r("/admin/orgs", GET_POST),
            get(pages::orgs_page).post(pages::orgs_add),
        ),
        (
            r("/admin/users", GET_POST),
            get(pages::users_page).post(pages::users_add),
        ),
        (r("/audit", GET), get(pages::audit_page)),
        (r("/contracts", GET), get(contracts::list_page)),
        (
            r("/contracts/{insurer}/{contract_id}", GET_POST),
            get(contracts::detail_page).post(contracts::save),
        ),
    ];
    t.extend(invite::routes());
    t.extend(billing::routes());
    t
}

/// The portal's routes.
pub fn routes() -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |router, (r, m)| router.route(r.path, m))
}

/// Every portal route (path template and methods), in the order of the router.
pub fn route_list() -> Vec<PortalRoute> {
    table().into_iter().map(|(r, _)| r).collect()
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Escaping and language
// ---------------------------------------------------------------------------------------------

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string value.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The page language: Japanese unless the session (or, before login, the cookie) says `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lang {
    en: bool,
}

impl Lang {
    fn from_code(code: &str) -> Lang {
        Lang { en: code == "en" }
    }
    fn code(self) -> &'static str {
        if self.en { "en" } else { "ja" }
    }
    /// Picks the text in this language.
    fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        if self.en { en } else { ja }
    }
}

fn role_label(role: &str, l: Lang) -> &'static str {
    match role {
        "operator" => l.t("運用担当", "Operator"),
        "admin" => l.t("管理者", "Administrator"),
        "auditor" => l.t("監査担当", "Auditor"),
        "insurer" => l.t("保険者", "Insurer"),
        "institution" => l.t("健診・保健指導機関", "Institution"),
        "maintenance" => l.t("保守担当", "Maintenance"),
        "emergency" => l.t("緊急用", "Emergency"),
        _ => "?",
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A page that could not be shown.
#[derive(Debug)]
pub(crate) enum WebError {
    /// Not found — also anything outside the caller's tenancy or role (never 403).
    NotFound,
    /// A request that does not carry the session's CSRF token.
    Csrf,
    Internal(String),
}

impl From<daiko_store::StoreError> for WebError {
    fn from(e: daiko_store::StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<crate::auth::AuthError> for WebError {
    fn from(e: crate::auth::AuthError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, ja, en) = match self {
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "ページが見つかりません。",
                "Page not found.",
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "フォームの有効期限が切れました。ページを開き直してください。",
                "The form has expired. Please reload the page.",
            ),
            WebError::Internal(e) => {
                tracing::error!(error = %e, "portal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "内部エラーが発生しました。時間をおいて再度お試しください。",
                    "An internal error occurred. Please try again later.",
                )
            }
        };
        let body = format!(
            "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>daiko</title>\
             <link rel=\"stylesheet\" href=\"/static/daiko.css\"></head><body><main class=\"narrow\">\
             <h1>{ja}</h1><p lang=\"en\">{en}</p><p><a href=\"/\">ホーム / Home</a></p></main></body></html>"
        );
        (status, Html(body)).into_response()
    }
}

pub(crate) type WebResult = Result<Response, WebError>;

// ---------------------------------------------------------------------------------------------
// Request facts, sessions, cookies, CSRF
// ---------------------------------------------------------------------------------------------

/// What the login pages need from a request without an authenticated caller.
pub(crate) struct Req {
    pub source: String,
    pub session_cookie: Option<String>,
    pub lang_cookie: Option<String>,
    pub login_csrf: Option<String>,
}

impl FromRequestParts<AppState> for Req {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Req {
            source: source_of(parts),
            session_cookie: cookie(parts, SESSION_COOKIE),
            lang_cookie: cookie(parts, LANG_COOKIE),
            login_csrf: cookie(parts, LOGIN_CSRF_COOKIE),
        })
    }
}

impl Req {
    fn lang(&self) -> Lang {
        Lang::from_code(self.lang_cookie.as_deref().unwrap_or("ja"))
    }
}

/// A live session of one of `stages` with its (enabled) user.
pub(crate) async fn live_session(
    st: &AppState,
    sid: Option<&str>,
    stages: &[&str],
) -> Result<Option<(Session, User)>, WebError> {
    let Some(sid) = sid else { return Ok(None) };
    let Some(session) = st.store.session(&hash_token(sid)).await? else {
        return Ok(None);
    };
    if session.ended_at.is_some() || !stages.contains(&session.stage.as_str()) {
        return Ok(None);
    }
    let (Some(created), Some(seen)) = (
        daiko_store::parse_ts(&session.created_at),
        daiko_store::parse_ts(&session.last_seen_at),
    ) else {
        return Ok(None);
    };
    let now = jiff::Timestamp::now();
    let policy = if session.stage == "full" {
        SessionPolicy {
            idle_minutes: st.config.session_idle_minutes,
            absolute_hours: st.config.session_absolute_hours,
        }
    } else {
        SessionPolicy {
            idle_minutes: PRE_SESSION_MINUTES,
            absolute_hours: 1,
        }
    };
    let fresh = policy.session_valid(created, seen, now)
        && (session.stage == "full"
            || now.duration_since(created) < jiff::SignedDuration::from_mins(PRE_SESSION_MINUTES));
    if !fresh {
        st.store.end_session(&session.id_hash).await?;
        return Ok(None);
    }
    let Some(user) = st
        .store
        .user(&session.user_id)
        .await?
        .filter(|u| !u.disabled)
    else {
        return Ok(None);
    };
    Ok(Some((session, user)))
}

/// Creates a session and answers the cookie to set (the plain id goes only to the browser).
pub(crate) async fn start_session(
    st: &AppState,
    user_id: &str,
    stage: &str,
    lang: Lang,
) -> Result<HeaderValue, WebError> {
    let sid = new_session_id()?;
    let csrf = new_session_id()?.plain;
    let now = daiko_store::now();
    st.store
        .add_session(&Session {
            id_hash: sid.hash.clone(),
            user_id: user_id.to_string(),
            stage: stage.to_string(),
            csrf,
            lang: lang.code().to_string(),
            created_at: now.clone(),
            last_seen_at: now,
            ended_at: None,
        })
        .await?;
    session_cookie(st, &sid.plain)
}

fn session_cookie(st: &AppState, value: &str) -> Result<HeaderValue, WebError> {
    let secure = if st.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/{secure}"
    ))
    .map_err(|e| WebError::Internal(e.to_string()))
}

fn expired_cookie(st: &AppState, name: &str) -> HeaderValue {
    let secure = if st.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("daiko_session=; Max-Age=0; Path=/"))
}

/// A redirect (303, so a POST becomes a GET) that also sets cookies.
fn see_other(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut r = Redirect::to(to).into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// Whether `presented` equals the expected CSRF token (constant time).
pub(crate) fn csrf_ok(expected: &str, presented: Option<&str>) -> bool {
    match presented {
        Some(p) if !expected.is_empty() => {
            aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), p.as_bytes())
                .is_ok()
        }
        _ => false,
    }
}

/// Checks the form token of a signed-in caller.
pub(crate) fn check_csrf(c: &Caller, presented: Option<&str>) -> Result<(), WebError> {
    let expected = c.session.as_ref().map(|s| s.csrf.as_str()).unwrap_or("");
    if csrf_ok(expected, presented) {
        Ok(())
    } else {
        Err(WebError::Csrf)
    }
}

/// The `X-CSRF-Token` header of a script request.
pub(crate) fn csrf_header(h: &HeaderMap) -> Option<&str> {
    h.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

/// A signed-in page's context: the caller and the language.
pub(crate) struct Ctx<'a> {
    pub c: &'a Caller,
    pub l: Lang,
}

impl<'a> Ctx<'a> {
    pub fn new(c: &'a Caller) -> Ctx<'a> {
        Ctx {
            c,
            l: Lang::from_code(c.lang()),
        }
    }
    pub fn t<'b>(&self, ja: &'b str, en: &'b str) -> &'b str {
        self.l.t(ja, en)
    }
    pub fn csrf(&self) -> &str {
        self.c
            .session
            .as_ref()
            .map(|s| s.csrf.as_str())
            .unwrap_or("")
    }
    /// The hidden CSRF field of a form.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(self.csrf())
        )
    }
    pub fn any_role(&self, roles: &[&str]) -> bool {
        roles.contains(&self.c.role())
    }

    /// The whole page around `body`.
    pub fn page(&self, path: &str, title: &str, body: &str) -> Response {
        let l = self.l;
        let mut nav = String::new();
        let links: [(&str, &str, &str, &[&str]); 12] = [
            ("/", "ホーム", "Home", &[]),
            (
                "/submissions",
                "提出一覧",
                "Submissions",
                &["institution", "insurer", "operator", "emergency"],
            ),
            (
                "/upload",
                "データ提出",
                "Upload",
                &["institution", "operator", "emergency"],
            ),
            (
                "/deliveries",
                "受取データ",
                "Deliveries",
                &["insurer", "institution", "operator", "emergency"],
            ),
            (
                "/reference",
                "基準データ登録",
                "Reference data",
                &["insurer", "operator", "emergency"],
            ),
            (
                "/contracts",
                "契約",
                "Contracts",
                &["insurer", "operator", "emergency"],
            ),
            (
                "/billing",
                "請求・支払",
                "Billing",
                &["insurer", "institution", "operator", "emergency"],
            ),
            (
                "/invite",
                "健診案内",
                "Invitations",
                &["insurer", "operator", "emergency"],
            ),
            ("/admin/orgs", "組織", "Organisations", &["admin"]),
            ("/admin/users", "利用者", "Users", &["admin"]),
            ("/audit", "監査ログ", "Audit log", &["auditor", "admin"]),
            ("/password", "パスワード変更", "Password", &[]),
        ];
        for (href, ja, en, roles) in links {
            if !roles.is_empty() && !self.any_role(roles) {
                continue;
            }
            let current = if href == path {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(
                nav,
                "<li><a href=\"{href}\"{current}>{}</a></li>",
                l.t(ja, en)
            );
        }
        let other = if l.en {
            ("ja", "日本語")
        } else {
            ("en", "English")
        };
        let org = self
            .c
            .org
            .as_ref()
            .map(|o| format!(" · {}", esc(&o.name)))
            .unwrap_or_default();
        let header = format!(
            "<header class=\"top\"><a class=\"brand\" href=\"/\">daiko <span>代行</span></a>\
             <nav aria-label=\"{nav_label}\"><ul>{nav}</ul></nav>\
             <div class=\"who\"><span class=\"user\" data-testid=\"who\">{login}</span> \
             <span class=\"role\">{role}{org}</span>\
             <form method=\"post\" action=\"/lang\" class=\"inline\">{csrf}\
             <input type=\"hidden\" name=\"lang\" value=\"{other_code}\">\
             <input type=\"hidden\" name=\"back\" value=\"{back}\">\
             <button type=\"submit\" class=\"link\" title=\"言語 / Language\">言語/Language: {other_name}</button></form>\
             <form method=\"post\" action=\"/logout\" class=\"inline\">{csrf}\
             <button type=\"submit\" class=\"link\">{logout}</button></form></div></header>",
            nav_label = l.t("メニュー", "Menu"),
            login = esc(&self.c.user.login),
            role = role_label(self.c.role(), l),
            csrf = self.csrf_field(),
            other_code = other.0,
            other_name = other.1,
            back = esc(path),
            logout = l.t("ログアウト", "Log out"),
        );
        Html(document(l, title, &header, body, self.csrf())).into_response()
    }
}

/// The HTML document: head, header, main.
fn document(l: Lang, title: &str, header: &str, body: &str, csrf: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"csrf-token\" content=\"{csrf}\">\
         <title>{title} — daiko</title><link rel=\"stylesheet\" href=\"/static/daiko.css\"></head>\
         <body>{header}<main id=\"main\"><h1>{title}</h1>{body}</main>\
         <script src=\"/static/daiko.js\" defer></script></body></html>",
        lang = l.code(),
        csrf = esc(csrf),
        title = esc(title),
    )
}

/// A page outside a full session (login steps): no navigation. `session` is the CSRF
/// token and path of a half-signed-in page, whose language switch posts to `/lang`; the
/// login page itself switches with `/login?lang=`.
pub(crate) fn bare_page(l: Lang, title: &str, body: &str) -> Response {
    bare_page_in(l, title, body, None)
}

pub(crate) fn bare_page_in(
    l: Lang,
    title: &str,
    body: &str,
    session: Option<(&str, &str)>,
) -> Response {
    let other = if l.en {
        ("ja", "日本語")
    } else {
        ("en", "English")
    };
    let switch = match session {
        None => format!(
            "<a href=\"/login?lang={}\">言語/Language: {}</a>",
            other.0, other.1
        ),
        Some((csrf, path)) => format!(
            "<form method=\"post\" action=\"/lang\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
             <input type=\"hidden\" name=\"back\" value=\"{}\">\
             <button type=\"submit\" class=\"link\">言語/Language: {}</button></form>",
            esc(csrf),
            other.0,
            esc(path),
            other.1
        ),
    };
    let header = format!(
        "<header class=\"top\"><a class=\"brand\" href=\"/\">daiko <span>代行</span></a>\
         <div class=\"who\">{switch}</div></header>"
    );
    let mut r = Html(document(
        l,
        title,
        &header,
        &format!("<div class=\"narrow\">{body}</div>"),
        "",
    ))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The service-hours or maintenance notice as a portal page (503), for the gate in
/// `lib.rs` to answer on non-API paths instead of JSON.
pub fn closed_page(ja: &str, en: &str) -> Response {
    let mut r = bare_page(
        Lang { en: false },
        "daiko",
        &format!("{}<p lang=\"en\">{}</p>", notice("info", ja), esc(en)),
    );
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("600"));
    r
}

/// A notice box.
pub(crate) fn notice(kind: &str, text: &str) -> String {
    format!(
        "<p class=\"notice {kind}\" role=\"alert\">{}</p>",
        esc(text)
    )
}

/// Formats a stored UTC timestamp as JST `YYYY-MM-DD HH:MM`.
pub(crate) fn jst(ts: &str) -> String {
    daiko_store::parse_ts(ts)
        .map(|t| {
            t.to_zoned(daiko_pipeline::intake::jst())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| ts.to_string())
}
