//! `/login/reset`: the user redeems the one-time code of a password reset (S7) and sets a
//! new password that nobody else sees. The second factor is cleared by the reset, so the
//! next sign-in enrols a new authenticator. A wrong code counts towards the lockout (S5).

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use serde::Deserialize;

use daiko_store::audit::AuditEntry;

use super::{
    LOGIN_CSRF_COOKIE, Lang, Req, WebError, WebResult, bare_page, csrf_ok, esc, notice, see_other,
};
use crate::AppState;
use crate::auth::{LockoutPolicy, check_password_policy, hash_token, is_locked, new_session_id};

#[derive(Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    csrf: String,
}

fn csrf_cookie(st: &AppState, value: &str) -> HeaderValue {
    let secure = if st.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={value}; SameSite=Strict; Path=/; HttpOnly{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("daiko_login_csrf=; Path=/"))
}

fn form(l: Lang, csrf: &str, login: &str, error: Option<&str>) -> String {
    format!(
        "{err}<p>{intro}</p><form method=\"post\" action=\"/login/reset\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"login\">{login_l}</label>\
         <input id=\"login\" name=\"login\" autocomplete=\"username\" required value=\"{login}\">\
         <label for=\"code\">{code_l}</label>\
         <input id=\"code\" name=\"code\" autocomplete=\"off\" required>\
         <label for=\"new\">{new_l}</label><input id=\"new\" name=\"new\" type=\"password\" autocomplete=\"new-password\" required>\
         <label for=\"confirm\">{conf_l}</label><input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required>\
         <button type=\"submit\">{submit}</button></form>",
        err = error.map(|e| notice("error", e)).unwrap_or_default(),
        intro = l.t(
            "窓口で本人確認のうえ受け取った再発行コードと、新しいパスワードを入力してください。\
             次回のログインで認証アプリを登録し直します。",
            "Enter the reset code you received after the identity check, and a new password. \
             You will set up your authenticator app again at the next sign-in."
        ),
        csrf = esc(csrf),
        login_l = l.t("ログインID", "Login ID"),
        login = esc(login),
        code_l = l.t("再発行コード", "Reset code"),
        new_l = l.t("新しいパスワード", "New password"),
        conf_l = l.t("新しいパスワード(確認)", "New password (again)"),
        submit = l.t("パスワードを設定する", "Set the password"),
    )
}

fn page(st: &AppState, l: Lang, login: &str, error: Option<&str>, status: StatusCode) -> WebResult {
    let token = new_session_id()?.plain;
    let mut r = bare_page(
        l,
        l.t("パスワードの再設定", "Reset your password"),
        &form(l, &token, login, error),
    );
    *r.status_mut() = status;
    r.headers_mut()
        .append(header::SET_COOKIE, csrf_cookie(st, &token));
    Ok(r)
}

/// `GET /login/reset`.
pub(crate) async fn reset_page(State(st): State<AppState>, req: Req) -> WebResult {
    page(&st, req.lang(), "", None, StatusCode::OK)
}

fn entry(
    login: &str,
    role: &str,
    target: &str,
    action: &str,
    source: &str,
    detail: String,
) -> AuditEntry {
    AuditEntry {
        actor: login.chars().take(64).collect(),
        role: role.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        source: source.to_string(),
        detail,
        ..Default::default()
    }
}

/// `POST /login/reset`.
pub(crate) async fn reset_submit(
    State(st): State<AppState>,
    req: Req,
    Form(f): Form<ResetForm>,
) -> WebResult {
    let l = req.lang();
    let failed = l.t(
        "再設定できませんでした。ログインIDと再発行コード(有効期限・一回限り)を確認してください。",
        "The reset failed. Check your login ID and the reset code (it expires and works once).",
    );
    if !csrf_ok(req.login_csrf.as_deref().unwrap_or(""), Some(&f.csrf)) {
        return page(&st, l, &f.login, Some(failed), StatusCode::UNAUTHORIZED);
    }
    let login = f.login.trim();
    let Some(user) = st.store.user_by_login(login).await?.filter(|u| !u.disabled) else {
        st.store
            .audit(&entry(
                login,
                "",
                "",
                "auth.failure",
                &req.source,
                "reset: unknown or disabled login".into(),
            ))
            .await?;
        return page(&st, l, &f.login, Some(failed), StatusCode::UNAUTHORIZED);
    };
    let now = jiff::Timestamp::now();
    if is_locked(
        user.locked_until.as_deref().and_then(daiko_store::parse_ts),
        now,
    ) {
        st.store
            .audit(&entry(
                &user.login,
                &user.role,
                &user.id,
                "auth.failure",
                &req.source,
                "reset: account locked".into(),
            ))
            .await?;
        return page(&st, l, &f.login, Some(failed), StatusCode::UNAUTHORIZED);
    }
    if f.new != f.confirm {
        let msg = l.t(
            "新しいパスワードが一致しません。",
            "The new passwords do not match.",
        );
        return page(&st, l, &f.login, Some(msg), StatusCode::BAD_REQUEST);
    }
    if let Err(v) = check_password_policy(&f.new, &user.login, &user.display_name, true) {
        let msg = if l.en { v.message_en() } else { v.message_ja() };
        return page(&st, l, &f.login, Some(&msg), StatusCode::BAD_REQUEST);
    }
    let new = f.new.clone();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&new))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    let done = st
        .store
        .redeem_password_reset(
            &user.id,
            &hash_token(f.code.trim()),
            &hash,
            &entry(
                &user.login,
                &user.role,
                &format!("user:{}", user.login),
                "user.reset_redeem",
                &req.source,
                "new password set by the user; second factor to be enrolled again".into(),
            ),
        )
        .await?;
    if done.is_none() {
        let (count, lock) = LockoutPolicy::default().after_failure(user.failed_logins, now);
        let until = lock.map(daiko_store::format_ts);
        st.store
            .set_login_failures(&user.id, count, until.as_deref())
            .await?;
        st.store
            .audit(&entry(
                &user.login,
                &user.role,
                &user.id,
                "auth.failure",
                &req.source,
                format!("reset: wrong, used or expired code; failures={count}"),
            ))
            .await?;
        if let Some(until) = until {
            st.store
                .audit(&entry(
                    &user.login,
                    &user.role,
                    &user.id,
                    "auth.lockout",
                    &req.source,
                    format!("locked until {until}"),
                ))
                .await?;
        }
        return page(&st, l, &f.login, Some(failed), StatusCode::UNAUTHORIZED);
    }
    st.store.end_sessions_of_user(&user.id).await?;
    Ok(see_other("/login", vec![]))
}
