//! Sign-in (password, then TOTP or TOTP enrolment), the first-login password change,
//! logout and the language switch (S2–S6, S13).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use daiko_store::audit::AuditEntry;
use daiko_store::users::{Session, User};

use super::{
    LANG_COOKIE, LOGIN_CSRF_COOKIE, Lang, Req, WebError, WebResult, bare_page, bare_page_in,
    csrf_ok, esc, expired_cookie, live_session, notice, see_other, start_session,
};
use crate::AppState;
use crate::auth::{
    LockoutPolicy, TOTP_ISSUER, TotpError, check_password_policy, is_locked, new_session_id,
    new_totp_secret, otpauth_url, verify_password, verify_totp,
};
use crate::caller::SESSION_COOKIE;

/// The one message for every failed sign-in: it must not tell whether the login exists,
/// the password was wrong or the account is locked (S5).
const FAILED_JA: &str = "ログインできませんでした。ログインIDとパスワードを確認してください。\
     繰り返し失敗するとしばらくロックされます。";
const FAILED_EN: &str = "Sign-in failed. Check your login ID and password. \
     Repeated failures lock the account for a while.";

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    lang: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
    /// Enrolment only: the secret shown on the page.
    #[serde(default)]
    secret: String,
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub(crate) struct LangForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

fn cookie_value(st: &AppState, name: &str, value: &str, http_only: bool) -> HeaderValue {
    let secure = if st.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let ho = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; SameSite=Strict; Path=/{ho}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("daiko_lang=ja; Path=/"))
}

fn login_form(l: Lang, csrf: &str, login: &str, error: Option<&str>) -> String {
    format!(
        "{err}<form method=\"post\" action=\"/login\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"login\">{login_l}</label>\
         <input id=\"login\" name=\"login\" autocomplete=\"username\" required value=\"{login}\">\
         <label for=\"password\">{pw_l}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">{submit}</button></form>\
         <p class=\"hint\">{hint}</p>\
         <p class=\"hint\"><a href=\"/login/reset\">{reset}</a></p>",
        err = error.map(|e| notice("error", e)).unwrap_or_default(),
        csrf = esc(csrf),
        login_l = l.t("ログインID", "Login ID"),
        login = esc(login),
        pw_l = l.t("パスワード", "Password"),
        submit = l.t("次へ", "Next"),
        hint = l.t(
            "パスワードの次に、認証アプリの6桁のコードを入力します。",
            "After the password you enter the 6-digit code of your authenticator app."
        ),
        reset = l.t(
            "再発行コードをお持ちの方(パスワードの再設定)",
            "I have a reset code (set a new password)"
        ),
    )
}

/// `GET /login`: the password form (and the language switch before login).
pub(crate) async fn login_page(
    State(st): State<AppState>,
    req: Req,
    Query(q): Query<LoginQuery>,
) -> WebResult {
    let mut cookies = Vec::new();
    let l = match q.lang.as_deref() {
        Some(code @ ("ja" | "en")) => {
            cookies.push(cookie_value(&st, LANG_COOKIE, code, false));
            Lang::from_code(code)
        }
        _ => req.lang(),
    };
    let token = new_session_id()?.plain;
    cookies.push(cookie_value(&st, LOGIN_CSRF_COOKIE, &token, true));
    let mut r = bare_page(
        l,
        l.t("ログイン", "Sign in"),
        &login_form(l, &token, "", None),
    );
    for c in cookies {
        r.headers_mut().append(axum::http::header::SET_COOKIE, c);
    }
    Ok(r)
}

fn failed_login_page(st: &AppState, l: Lang, login: &str) -> WebResult {
    let token = new_session_id()?.plain;
    let mut r = bare_page(
        l,
        l.t("ログイン", "Sign in"),
        &login_form(l, &token, login, Some(l.t(FAILED_JA, FAILED_EN))),
    );
    *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    r.headers_mut().append(
        axum::http::header::SET_COOKIE,
        cookie_value(st, LOGIN_CSRF_COOKIE, &token, true),
    );
    Ok(r)
}

/// An audit entry about a user who is not (yet) a [`crate::caller::Caller`].
async fn user_audit(
    st: &AppState,
    user: Option<&User>,
    login: &str,
    action: &str,
    source: &str,
    detail: String,
) -> Result<(), WebError> {
    let org = match user.and_then(|u| u.org_id.as_deref()) {
        Some(id) => st
            .store
            .org(id)
            .await?
            .map(|o| o.number)
            .unwrap_or_default(),
        None => String::new(),
    };
    // Bound what an anonymous caller can write into the trail.
    let login: String = login.chars().take(64).collect();
    st.store
        .audit(&AuditEntry {
            actor: login,
            role: user.map(|u| u.role.clone()).unwrap_or_default(),
            org,
            action: action.to_string(),
            target: user.map(|u| u.id.clone()).unwrap_or_default(),
            records: String::new(),
            source: source.to_string(),
            detail,
        })
        .await?;
    Ok(())
}

/// Counts a failed factor; answers whether the account is now locked (S5).
async fn record_failure(
    st: &AppState,
    user: &User,
    source: &str,
    why: &str,
) -> Result<bool, WebError> {
    let now = jiff::Timestamp::now();
    let (count, lock) = LockoutPolicy::default().after_failure(user.failed_logins, now);
    let until = lock.map(daiko_store::format_ts);
    st.store
        .set_login_failures(&user.id, count, until.as_deref())
        .await?;
    user_audit(
        st,
        Some(user),
        &user.login,
        "auth.failure",
        source,
        format!("{why}; failures={count}"),
    )
    .await?;
    if let Some(until) = &until {
        user_audit(
            st,
            Some(user),
            &user.login,
            "auth.lockout",
            source,
            format!("locked until {until}"),
        )
        .await?;
    }
    Ok(until.is_some())
}

fn locked_now(user: &User) -> bool {
    is_locked(
        user.locked_until.as_deref().and_then(daiko_store::parse_ts),
        jiff::Timestamp::now(),
    )
}

/// `POST /login`: the first factor. Success gives a session of stage `password` only.
pub(crate) async fn login_submit(
    State(st): State<AppState>,
    req: Req,
    Form(f): Form<LoginForm>,
) -> WebResult {
    let l = req.lang();
    if !csrf_ok(req.login_csrf.as_deref().unwrap_or(""), Some(&f.csrf)) {
        return failed_login_page(&st, l, &f.login);
    }
    let user = st.store.user_by_login(f.login.trim()).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        // Same time as a real check so that timing does not reveal which logins exist.
        let pw = f.password.clone();
        let _ = tokio::task::spawn_blocking(move || {
            crate::auth::PasswordHasher::default().dummy_verify(&pw)
        })
        .await;
        user_audit(
            &st,
            None,
            f.login.trim(),
            "auth.failure",
            &req.source,
            "unknown or disabled login".into(),
        )
        .await?;
        return failed_login_page(&st, l, &f.login);
    };
    if locked_now(&user) {
        user_audit(
            &st,
            Some(&user),
            &user.login,
            "auth.failure",
            &req.source,
            "account locked".into(),
        )
        .await?;
        return failed_login_page(&st, l, &f.login);
    }
    let (pw, stored) = (f.password.clone(), user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &stored))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    match ok {
        Ok(true) => {}
        Ok(false) => {
            record_failure(&st, &user, &req.source, "wrong password").await?;
            return failed_login_page(&st, l, &f.login);
        }
        Err(e) => {
            tracing::error!(user = %user.login, error = %e, "stored password hash unusable");
            user_audit(
                &st,
                Some(&user),
                &user.login,
                "auth.failure",
                &req.source,
                "unusable password hash".into(),
            )
            .await?;
            return failed_login_page(&st, l, &f.login);
        }
    }
    // S11: a maintenance account signs in only inside an approved ticket's window.
    if user.role == "maintenance" {
        let ticket = st
            .store
            .active_maintenance_ticket(&user.id, &daiko_store::now())
            .await?;
        let (action, detail) = match &ticket {
            Some(t) => ("maintenance.login", format!("ticket={}", t.ticket)),
            None => (
                "maintenance.refused",
                "severity=high; sign-in without an approved ticket for this time".to_string(),
            ),
        };
        user_audit(&st, Some(&user), &user.login, action, &req.source, detail).await?;
        if ticket.is_none() {
            return failed_login_page(&st, l, &f.login);
        }
    }
    let cookie = start_session(&st, &user.id, "password", l).await?;
    let next = if user.totp_secret.is_empty() {
        "/login/enrol"
    } else {
        "/login/totp"
    };
    Ok(see_other(
        next,
        vec![cookie, expired_cookie(&st, LOGIN_CSRF_COOKIE)],
    ))
}

fn code_form(
    l: Lang,
    action: &str,
    csrf: &str,
    secret: Option<&str>,
    error: Option<&str>,
) -> String {
    let hidden = secret
        .map(|s| {
            format!(
                "<input type=\"hidden\" name=\"secret\" value=\"{}\">",
                esc(s)
            )
        })
        .unwrap_or_default();
    format!(
        "{err}<form method=\"post\" action=\"{action}\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{hidden}\
         <label for=\"code\">{label}</label>\
         <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         pattern=\"[0-9０-９]{{6}}\" maxlength=\"6\" required autofocus>\
         <button type=\"submit\">{submit}</button></form>",
        err = error.map(|e| notice("error", e)).unwrap_or_default(),
        csrf = esc(csrf),
        label = l.t("確認コード(6桁)", "Verification code (6 digits)"),
        submit = l.t("ログイン", "Sign in"),
    )
}

fn totp_body(l: Lang, csrf: &str, error: Option<&str>) -> String {
    format!(
        "<p>{}</p>{}",
        l.t(
            "認証アプリ(Google Authenticator など)に表示されている6桁のコードを入力してください。",
            "Enter the 6-digit code shown by your authenticator app."
        ),
        code_form(l, "/login/totp", csrf, None, error)
    )
}

/// `GET /login/totp`: the second factor.
pub(crate) async fn totp_page(State(st): State<AppState>, req: Req) -> WebResult {
    let Some((s, user)) = live_session(&st, req.session_cookie.as_deref(), &["password"]).await?
    else {
        return Ok(see_other("/login", vec![]));
    };
    if user.totp_secret.is_empty() {
        return Ok(see_other("/login/enrol", vec![]));
    }
    let l = Lang::from_code(&s.lang);
    Ok(bare_page_in(
        l,
        l.t("確認コード", "Verification code"),
        &totp_body(l, &s.csrf, None),
        Some((&s.csrf, "/login/totp")),
    ))
}

/// Both factors passed: replace the session (new id) with `full`, or with `totp` when the
/// first-login password change is still due.
async fn second_factor_passed(
    st: &AppState,
    old: &Session,
    user: &User,
    source: &str,
) -> WebResult {
    st.store.end_session(&old.id_hash).await?;
    let l = Lang::from_code(&old.lang);
    if user.must_change_password {
        let cookie = start_session(st, &user.id, "totp", l).await?;
        return Ok(see_other("/password", vec![cookie]));
    }
    let cookie = start_session(st, &user.id, "full", l).await?;
    user_audit(
        st,
        Some(user),
        &user.login,
        "auth.login",
        source,
        format!("from {source}"),
    )
    .await?;
    Ok(see_other("/", vec![cookie]))
}

/// `POST /login/totp`.
pub(crate) async fn totp_submit(
    State(st): State<AppState>,
    req: Req,
    Form(f): Form<CodeForm>,
) -> WebResult {
    let Some((s, user)) = live_session(&st, req.session_cookie.as_deref(), &["password"]).await?
    else {
        return Ok(see_other("/login", vec![]));
    };
    if !csrf_ok(&s.csrf, Some(&f.csrf)) {
        return Err(WebError::Csrf);
    }
    let l = Lang::from_code(&s.lang);
    if locked_now(&user) {
        st.store.end_session(&s.id_hash).await?;
        user_audit(
            &st,
            Some(&user),
            &user.login,
            "auth.failure",
            &req.source,
            "account locked".into(),
        )
        .await?;
        return failed_login_page(&st, l, "");
    }
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    let why = match verify_totp(&user.totp_secret, &f.code, now, user.totp_last_step) {
        Ok(step) => {
            if st.store.use_totp_step(&user.id, step).await? {
                return second_factor_passed(&st, &s, &user, &req.source).await;
            }
            "TOTP code replayed (concurrent use)".to_string()
        }
        Err(e @ TotpError::Replayed { .. }) => format!("TOTP code replayed: {e}"),
        Err(TotpError::InvalidSecret) => "stored TOTP secret unusable".to_string(),
        Err(e) => format!("wrong TOTP code: {e}"),
    };
    if record_failure(&st, &user, &req.source, &why).await? {
        st.store.end_session(&s.id_hash).await?;
        return failed_login_page(&st, l, "");
    }
    let mut r = bare_page_in(
        l,
        l.t("確認コード", "Verification code"),
        &totp_body(
            l,
            &s.csrf,
            Some(l.t(
                "確認コードが正しくないか、すでに使用されています。次のコードを入力してください。",
                "The code is wrong or was already used. Enter the next code.",
            )),
        ),
        Some((&s.csrf, "/login/totp")),
    );
    *r.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    Ok(r)
}

fn enrol_body(l: Lang, csrf: &str, login: &str, secret: &str, error: Option<&str>) -> String {
    let url = otpauth_url(secret, TOTP_ISSUER, login).unwrap_or_default();
    format!(
        "<p>{intro}</p><dl class=\"facts\"><dt>{key_l}</dt><dd><code data-testid=\"totp-secret\">{secret}</code></dd>\
         <dt>otpauth URL</dt><dd><code class=\"wrap\">{url}</code></dd></dl><p>{then}</p>{form}",
        intro = l.t(
            "このアカウントには二要素認証がまだ設定されていません。認証アプリに次のキーを登録してください。",
            "Two-factor authentication is not set up for this account yet. Add this key to your authenticator app."
        ),
        key_l = l.t("キー", "Key"),
        secret = esc(secret),
        url = esc(&url),
        then = l.t(
            "登録後、アプリに表示された6桁のコードを入力してください。",
            "Then enter the 6-digit code the app shows."
        ),
        form = code_form(l, "/login/enrol", csrf, Some(secret), error),
    )
}

/// `GET /login/enrol`: TOTP enrolment for an account without a secret.
pub(crate) async fn enrol_page(State(st): State<AppState>, req: Req) -> WebResult {
    let Some((s, user)) = live_session(&st, req.session_cookie.as_deref(), &["password"]).await?
    else {
        return Ok(see_other("/login", vec![]));
    };
    if !user.totp_secret.is_empty() {
        return Ok(see_other("/login/totp", vec![]));
    }
    let l = Lang::from_code(&s.lang);
    let secret = new_totp_secret().map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(bare_page_in(
        l,
        l.t("二要素認証の設定", "Set up two-factor authentication"),
        &enrol_body(l, &s.csrf, &user.login, &secret, None),
        Some((&s.csrf, "/login/enrol")),
    ))
}

/// `POST /login/enrol`: one valid code for the new secret completes enrolment and sign-in.
pub(crate) async fn enrol_submit(
    State(st): State<AppState>,
    req: Req,
    Form(f): Form<CodeForm>,
) -> WebResult {
    let Some((s, user)) = live_session(&st, req.session_cookie.as_deref(), &["password"]).await?
    else {
        return Ok(see_other("/login", vec![]));
    };
    if !csrf_ok(&s.csrf, Some(&f.csrf)) {
        return Err(WebError::Csrf);
    }
    if !user.totp_secret.is_empty() {
        return Ok(see_other("/login/totp", vec![]));
    }
    let l = Lang::from_code(&s.lang);
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    match verify_totp(&f.secret, &f.code, now, None) {
        Ok(step) => {
            st.store.set_totp_secret(&user.id, &f.secret).await?;
            st.store.use_totp_step(&user.id, step).await?;
            // The account is now a person's: machine tokens issued while it had no device
            // (crate::tokens) stop working (S2).
            let revoked = st.store.revoke_tokens(&user.id).await?;
            user_audit(
                &st,
                Some(&user),
                &user.login,
                "auth.totp_enrol",
                &req.source,
                if revoked > 0 {
                    format!("{revoked} API tokens revoked")
                } else {
                    String::new()
                },
            )
            .await?;
            let user = st.store.user(&user.id).await?.ok_or(WebError::NotFound)?;
            second_factor_passed(&st, &s, &user, &req.source).await
        }
        Err(TotpError::InvalidSecret) => Ok(see_other("/login/enrol", vec![])),
        Err(_) => Ok(bare_page(
            l,
            l.t("二要素認証の設定", "Set up two-factor authentication"),
            &enrol_body(
                l,
                &s.csrf,
                &user.login,
                &f.secret,
                Some(l.t("確認コードが正しくありません。", "The code is wrong.")),
            ),
        )),
    }
}

fn password_body(l: Lang, csrf: &str, forced: bool, error: Option<&str>) -> String {
    let intro = if forced {
        l.t(
            "初回ログインです。続けるには新しいパスワードを設定してください。",
            "This is your first sign-in. Set a new password to continue.",
        )
    } else {
        l.t("パスワードを変更します。", "Change your password.")
    };
    format!(
        "{err}<p>{intro}</p><form method=\"post\" action=\"/password\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"current\">{cur}</label><input id=\"current\" name=\"current\" type=\"password\" autocomplete=\"current-password\" required>\
         <label for=\"new\">{new}</label><input id=\"new\" name=\"new\" type=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm\">{conf}</label><input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required>\
         <p class=\"hint\">{hint}</p><button type=\"submit\">{submit}</button></form>",
        err = error.map(|e| notice("error", e)).unwrap_or_default(),
        csrf = esc(csrf),
        cur = l.t("現在のパスワード", "Current password"),
        new = l.t("新しいパスワード", "New password"),
        conf = l.t("新しいパスワード(確認)", "New password (again)"),
        hint = l.t(
            "8文字以上。ログインIDや氏名、よく使われるパスワード、単純な並びは使えません。",
            "At least 8 characters; not your login or name, not a common password or a simple pattern."
        ),
        submit = l.t("変更する", "Change password"),
    )
}

/// `GET /password`: forced after the first sign-in (stage `totp`), or voluntary.
pub(crate) async fn password_page(State(st): State<AppState>, req: Req) -> WebResult {
    let Some((s, user)) =
        live_session(&st, req.session_cookie.as_deref(), &["totp", "full"]).await?
    else {
        return Ok(see_other("/login", vec![]));
    };
    let l = Lang::from_code(&s.lang);
    let forced = s.stage == "totp" || user.must_change_password;
    Ok(bare_page_in(
        l,
        l.t("パスワード変更", "Change password"),
        &password_body(l, &s.csrf, forced, None),
        Some((&s.csrf, "/password")),
    ))
}

/// `POST /password`.
pub(crate) async fn password_submit(
    State(st): State<AppState>,
    req: Req,
    Form(f): Form<PasswordForm>,
) -> WebResult {
    let Some((s, user)) =
        live_session(&st, req.session_cookie.as_deref(), &["totp", "full"]).await?
    else {
        return Ok(see_other("/login", vec![]));
    };
    if !csrf_ok(&s.csrf, Some(&f.csrf)) {
        return Err(WebError::Csrf);
    }
    let l = Lang::from_code(&s.lang);
    let forced = s.stage == "totp" || user.must_change_password;
    let again = |msg: String| -> WebResult {
        let mut r = bare_page_in(
            l,
            l.t("パスワード変更", "Change password"),
            &password_body(l, &s.csrf, forced, Some(&msg)),
            Some((&s.csrf, "/password")),
        );
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        Ok(r)
    };
    let (cur, stored) = (f.current.clone(), user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&cur, &stored).unwrap_or(false))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    if !ok {
        if record_failure(
            &st,
            &user,
            &req.source,
            "wrong current password at password change",
        )
        .await?
        {
            st.store.end_session(&s.id_hash).await?;
            return failed_login_page(&st, l, "");
        }
        return again(
            l.t(
                "現在のパスワードが正しくありません。",
                "The current password is wrong.",
            )
            .into(),
        );
    }
    if f.new != f.confirm {
        return again(
            l.t(
                "新しいパスワードが一致しません。",
                "The new passwords do not match.",
            )
            .into(),
        );
    }
    if f.new == f.current {
        return again(
            l.t(
                "現在と異なるパスワードにしてください。",
                "Choose a password different from the current one.",
            )
            .into(),
        );
    }
    if let Err(v) = check_password_policy(&f.new, &user.login, &user.display_name, true) {
        return again(if l.en { v.message_en() } else { v.message_ja() });
    }
    let new = f.new.clone();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&new))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    st.store.set_password(&user.id, &hash, false).await?;
    user_audit(
        &st,
        Some(&user),
        &user.login,
        "auth.password_change",
        &req.source,
        if forced {
            "first login".into()
        } else {
            String::new()
        },
    )
    .await?;
    // New credentials, new session id.
    st.store.end_session(&s.id_hash).await?;
    let cookie = start_session(&st, &user.id, "full", l).await?;
    if s.stage == "totp" {
        user_audit(
            &st,
            Some(&user),
            &user.login,
            "auth.login",
            &req.source,
            format!("from {}", req.source),
        )
        .await?;
    }
    Ok(see_other("/", vec![cookie]))
}

/// `POST /logout`: ends the session (any stage); audited with the session's duration.
pub(crate) async fn logout(
    State(st): State<AppState>,
    req: Req,
    Form(f): Form<CsrfForm>,
) -> WebResult {
    let Some((s, user)) = live_session(
        &st,
        req.session_cookie.as_deref(),
        &["password", "totp", "full"],
    )
    .await?
    else {
        return Ok(see_other(
            "/login",
            vec![expired_cookie(&st, SESSION_COOKIE)],
        ));
    };
    if !csrf_ok(&s.csrf, Some(&f.csrf)) {
        return Err(WebError::Csrf);
    }
    st.store.end_session(&s.id_hash).await?;
    let secs = daiko_store::parse_ts(&s.created_at)
        .map(|c| jiff::Timestamp::now().duration_since(c).as_secs())
        .unwrap_or(0);
    user_audit(
        &st,
        Some(&user),
        &user.login,
        "auth.logout",
        &req.source,
        format!("session {secs} s"),
    )
    .await?;
    Ok(see_other(
        "/login",
        vec![expired_cookie(&st, SESSION_COOKIE)],
    ))
}

/// `POST /lang`: switches the session's language (言語/Language).
pub(crate) async fn set_lang(
    State(st): State<AppState>,
    req: Req,
    Form(f): Form<LangForm>,
) -> Result<Response, WebError> {
    let Some((s, _)) = live_session(
        &st,
        req.session_cookie.as_deref(),
        &["password", "totp", "full"],
    )
    .await?
    else {
        return Ok(see_other("/login", vec![]));
    };
    if !csrf_ok(&s.csrf, Some(&f.csrf)) {
        return Err(WebError::Csrf);
    }
    let lang = if f.lang == "en" { "en" } else { "ja" };
    st.store.touch_session(&s.id_hash, None, Some(lang)).await?;
    let back = if f.back.starts_with('/') && !f.back.starts_with("//") && !f.back.contains('\\') {
        f.back.as_str()
    } else {
        "/"
    };
    Ok(see_other(back, vec![cookie_value(&st, LANG_COOKIE, lang, false)]).into_response())
}
